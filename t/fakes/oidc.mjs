// t/fakes/oidc.mjs: an OpenID Provider for the tests: oidc-provider from
// npm (a certified implementation), over https with the suite's
// certificate, on loopback.
//
//   node t/fakes/oidc.mjs PORT CERT KEY CLIENTS_JSON
//
// CLIENTS_JSON: oidc-provider client metadata, e.g.
//   [{"client_id": "parley", "client_secret": "...", "redirect_uris": [...]}]
// The issuer is https://127.0.0.1:PORT. Accounts: any login name; its
// claims are {sub: name, email: name@example.com, email_verified: true}
// (false for names starting "unverified").
// Prints "ready" on stdout once listening.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import https from "node:https";

const require = createRequire(new URL("../browser/package.json", import.meta.url));
const { default: Provider } = await import(require.resolve("oidc-provider"));
const [port, cert, key, clients] = process.argv.slice(2);
const issuer = `https://127.0.0.1:${port}`;
const provider = new Provider(issuer, {
	clients: JSON.parse(clients),
	pkce: { required: () => true },
	findAccount: async (ctx, sub) => ({
		accountId: sub,
		// A name starting "unverified" has an address the provider
		// did not verify.
		claims: async () => ({ sub, email: `${sub}@example.com`, email_verified: !sub.startsWith("unverified") }),
	}),
	claims: { openid: ["sub"], email: ["email", "email_verified"] },
	features: { devInteractions: { enabled: true } },
	// The claims in the ID token itself, as Google puts them.
	conformIdTokenClaims: false,
	cookies: { keys: ["parley-tests-only-cookie-key"] },
});
provider.proxy = false;
https.createServer({ cert: readFileSync(cert), key: readFileSync(key) }, provider.callback())
	.listen(Number(port), "127.0.0.1", () => process.stdout.write("ready\n"));
