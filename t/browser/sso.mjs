// A company's single sign-on in the console (run by t/56-company-sso.t):
// the owner, past the required SSO by password and code (break glass),
// sees the company's SSO page; a member's password is refused and sends
// her to single sign-on; she signs in through the company's SAML IdP, on
// another site (its POST back to parley is cross-site).
//
// Environment: BASE, CHROMIUM, EMAIL, PASSWORD, TOTP_SECRET (the owner),
// MEMBER (a member's address), ACS, OUT.
import { totp } from "./totp.mjs";
import { env, check, launch, newPage as pageIn, finish, axe, shot, atProvider } from "./lib.mjs";

const browser = await launch();
const newPage = () => pageIn(browser);
let step = "start";
try {
	step = "break glass";
	const o = await newPage();
	await o.goto(`${env.BASE}/login`);
	await o.getByLabel("E-mail").fill(env.EMAIL);
	await o.getByLabel("Password").fill(env.PASSWORD);
	await o.getByRole("button", { name: "Log in" }).click();
	await o.getByLabel("Authenticator code or recovery code").fill(totp(env.TOTP_SECRET, Date.now() + 30000));
	await o.getByRole("button", { name: "Log in" }).click();
	await o.locator("h1", { hasText: "Hello," }).waitFor();
	check(true, "the owner signs in by password and code while SSO is required (break glass)");

	step = "sso page";
	await o.getByRole("link", { name: "Single sign-on" }).click();
	await o.locator("h1", { hasText: "Single sign-on" }).waitFor();
	check(/acme\.test/.test(await o.locator("#domains").textContent()) && /verified/.test(await o.locator("#domains").textContent()),
	    "the verified domain is listed", await o.locator("#domains").textContent());
	check(await o.locator("#sp-acs").textContent() === env.ACS, "parley's ACS is shown, to register at the IdP");
	check(/SAML.*on, required/.test(await o.locator("#sso-state").textContent()), "the IdP's state: SAML, on, required",
	    await o.locator("#sso-state").textContent());
	await axe(o, "the single sign-on page");
	await shot(o, "sso");

	step = "member password";
	const m = await newPage();
	await m.goto(`${env.BASE}/login`);
	await m.getByLabel("E-mail").fill(env.MEMBER);
	await m.getByLabel("Password").fill(env.PASSWORD);
	await m.getByRole("button", { name: "Log in" }).click();
	await m.getByRole("alert").filter({ hasText: /single sign-on/ }).waitFor();
	check(true, "a member's password login is refused, pointing at single sign-on");

	step = "member sso";
	await m.getByRole("link", { name: "Sign in with your company's single sign-on" }).click();
	await m.locator("h1", { hasText: "Single sign-on" }).waitFor();
	await m.getByLabel("Work e-mail").fill(env.MEMBER);
	await m.getByRole("button", { name: "Continue to your identity provider" }).click();
	await m.waitForURL((u) => u.href.startsWith("http://localhost:"), { timeout: 15000 });
	check(true, "the identity provider is on another site");
	await Promise.all([m.waitForURL((u) => u.href.startsWith(env.BASE), { timeout: 15000 }),
		m.getByRole("button", { name: "Continue" }).click()]);
	await m.locator("h1", { hasText: "Hello," }).waitFor({ timeout: 15000 });
	check(true, "its cross-site POST to the ACS, then the same-site finish, sign the member in");
	await m.reload();
	await m.locator("h1", { hasText: "Hello," }).waitFor();
	check(true, "... a session like any: a reload keeps it");

	// Company B's IdP is an OpenID Provider (oidc-provider's own login).
	step = "oidc sso";
	const b = await newPage();
	await b.goto(`${env.BASE}/sso`);
	await b.getByLabel("Work e-mail").fill("bob@example.com");
	await b.getByRole("button", { name: "Continue to your identity provider" }).click();
	await atProvider(b, "bob", true);
	await b.locator("h1", { hasText: "Hello," }).waitFor({ timeout: 15000 });
	check(/admin/.test(await b.locator("main").textContent()), "through company B's OpenID Provider: signed in, an admin just in time",
	    await b.locator("main").textContent());
} catch (e) {
	check(false, "the journey ran to its end", `at ${step}: ${String(e?.stack ?? e)}`);
}
await finish(browser);
