// t/fakes/oidc.mjs: an OpenID Provider for the tests: oidc-provider from
// npm (a certified implementation), over https with the suite's
// certificate, on loopback.
//
//   node t/fakes/oidc.mjs PORT CERT KEY CLIENTS_JSON [OPTIONS_JSON]
//
// CLIENTS_JSON: oidc-provider client metadata, e.g.
//   [{"client_id": "parley", "client_secret": "...", "redirect_uris": [...]}]
// The issuer is https://HOST:PORT (HOST 127.0.0.1, or OPTIONS' host).
// Accounts: any login name; its claims are {sub: name, email:
// name@example.com, email_verified: true} (false for names starting
// "unverified"). Prints "ready" on stdout once listening.
//
// OPTIONS_JSON plays a preset's particulars, as the real provider does:
//   {"tenant": GUID}  Microsoft Entra ID: the issuer is
//       https://HOST:PORT/GUID/v2.0, its tokens carry tid, and
//       /common/v2.0/.well-known/openid-configuration is the multi-tenant
//       document, whose issuer is the template .../{tenantid}/v2.0.
//       Like Entra ID, it sends no email_verified.
//   {"apple": {"team_id", "key_id", "public_pem"}}  Apple: the client
//       secret is an ES256 JWT (iss the team, sub the client, aud the
//       issuer, kid the key, at most six months) checked against the
//       public key in file "public_pem"; email_verified is the string
//       "true", as Apple sends it.
//   {"host": "localhost"}  another site than parley's 127.0.0.1.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { createPublicKey, verify } from "node:crypto";
import https from "node:https";

const require = createRequire(new URL("../browser/package.json", import.meta.url));
const { default: Provider } = await import(require.resolve("oidc-provider"));
const [port, cert, key, clientsJson, optionsJson] = process.argv.slice(2);
const opt = optionsJson ? JSON.parse(optionsJson) : {};
const clients = JSON.parse(clientsJson);
const host = opt.host ?? "127.0.0.1";
const base = `https://${host}:${port}`;
const prefix = opt.tenant ? `/${opt.tenant}/v2.0` : "";
const issuer = base + prefix;
const provider = new Provider(issuer, {
	clients,
	pkce: { required: () => true },
	findAccount: async (ctx, sub) => ({
		accountId: sub,
		claims: async () => {
			const verified = !sub.startsWith("unverified");
			const c = { sub, email: `${sub}@example.com`, email_verified: opt.apple ? String(verified) : verified };
			// Entra ID sends no email_verified: its address is
			// the account's to set, not verified.
			if (opt.tenant) {
				c.tid = opt.tenant;
				delete c.email_verified;
			}
			return c;
		},
	}),
	claims: { openid: ["sub", "tid"], email: ["email", "email_verified"] },
	features: { devInteractions: { enabled: true } },
	// The claims in the ID token itself, as Google puts them.
	conformIdTokenClaims: false,
	cookies: { keys: ["parley-tests-only-cookie-key"] },
});
provider.proxy = false;
const app = provider.callback();

// Apple's client secret: an ES256 JWT, not a shared string.
function appleSecretOk(secret, clientId) {
	const a = opt.apple;
	const parts = (secret ?? "").split(".");
	if (parts.length !== 3) return false;
	const dec = (s) => JSON.parse(Buffer.from(s, "base64url").toString());
	const h = dec(parts[0]), c = dec(parts[1]), now = Date.now() / 1000;
	const good = verify("sha256", Buffer.from(`${parts[0]}.${parts[1]}`),
	    { key: createPublicKey(readFileSync(a.public_pem)), dsaEncoding: "ieee-p1363" },
	    Buffer.from(parts[2], "base64url"));
	return good && h.alg === "ES256" && h.kid === a.key_id && c.iss === a.team_id && c.sub === clientId &&
	    c.aud === issuer && c.iat <= now + 60 && c.exp > now && c.exp - c.iat <= 15777000;
}

async function handle(req, res) {
	// Microsoft's multi-tenant document: the tenant's, issuer templated.
	if (opt.tenant && req.url === "/common/v2.0/.well-known/openid-configuration") {
		const doc = await new Promise((ok, no) => https.get(`${issuer}/.well-known/openid-configuration`,
		    { ca: readFileSync(cert), servername: host }, (r) => {
			let b = "";
			r.on("data", (d) => (b += d));
			r.on("end", () => ok(JSON.parse(b)));
		}).on("error", no));
		doc.issuer = `${base}/{tenantid}/v2.0`;
		res.writeHead(200, { "content-type": "application/json" });
		return res.end(JSON.stringify(doc));
	}
	if (prefix) {
		if (!req.url.startsWith(prefix)) {
			res.writeHead(404);
			return res.end();
		}
		req.originalUrl = req.url;
		req.url = req.url.slice(prefix.length) || "/";
	}
	if (opt.apple && req.method === "POST" && req.url === "/token") {
		const chunks = [];
		for await (const c of req) chunks.push(c);
		const form = new URLSearchParams(Buffer.concat(chunks).toString());
		const client = clients.find((x) => x.client_id === form.get("client_id"));
		if (!client || !appleSecretOk(form.get("client_secret"), client.client_id)) {
			res.writeHead(401, { "content-type": "application/json" });
			return res.end(JSON.stringify({ error: "invalid_client" }));
		}
		form.set("client_secret", client.client_secret);
		req.body = form.toString();
	}
	return app(req, res);
}

https.createServer({ cert: readFileSync(cert), key: readFileSync(key) }, (req, res) => {
	handle(req, res).catch((e) => {
		res.writeHead(500);
		res.end(String(e));
	});
}).listen(Number(port), "127.0.0.1", () => process.stdout.write("ready\n"));
