// Signing in with an OpenID Connect provider in the console (run by
// t/48-oidc-login.t): link the provider on the account page (through its
// login and consent pages), log out, sign in with it; an identity linked
// to another account already, and one nobody linked, are told so.
//
// Environment: BASE, CHROMIUM, EMAIL, PASSWORD (an owner), OUT.
import { totp } from "./totp.mjs";
import { env, check, api, launch, newPage as pageIn, finish } from "./lib.mjs";

const browser = await launch();
const newPage = () => pageIn(browser);
async function login(page, email, pw) {
	await page.goto(`${env.BASE}/login`);
	await page.getByLabel("E-mail").fill(email);
	await page.getByLabel("Password").fill(pw);
	await page.getByRole("button", { name: "Log in" }).click();
	await page.locator("h1", { hasText: "Hello," }).waitFor();
}
// The provider's own pages (oidc-provider's development interactions):
// its login form when it does not know the browser, then its consent.
async function atProvider(page, who) {
	for (let i = 0; i < 4 && !page.url().startsWith(env.BASE); i++) {
		await page.waitForLoadState("domcontentloaded");
		if (page.url().startsWith(env.BASE)) break;
		if (await page.locator("input[name=login]").count()) {
			await page.fill("input[name=login]", who);
			await page.fill("input[name=password]", "any");
		}
		const go = page.locator("button[type=submit]").first();
		if (await go.count()) await Promise.all([page.waitForNavigation(), go.click()]);
	}
	await page.waitForURL((u) => u.href.startsWith(env.BASE), { timeout: 15000 });
}

let step = "start";
try {
	step = "link";
	const p = await newPage();
	await login(p, env.EMAIL, env.PASSWORD);
	await p.goto(`${env.BASE}/settings/account`);
	await p.getByRole("button", { name: "Link Test IdP" }).click();
	await p.waitForURL((u) => !u.href.startsWith(env.BASE), { timeout: 15000 });
	check(true, "Link goes to the provider");
	await atProvider(p, "ada");
	await p.locator("h1", { hasText: "Your account" }).waitFor();
	check(/oidc=linked/.test(p.url()), "back on the account page, linked", p.url());
	check(/Linked/.test(await p.getByRole("status").filter({ hasText: "Linked" }).first().textContent()), "... and told so");
	check(/Test IdP \(ada@example\.com\)/.test(await p.locator("#identities").textContent()), "the linked identity is listed, with the address the provider gave",
	    await p.locator("#identities").textContent());

	step = "sign in";
	await p.getByRole("button", { name: "Log out", exact: true }).click();
	await p.locator("h1", { hasText: "Log in" }).waitFor();
	await p.getByRole("button", { name: "Sign in with Test IdP" }).click();
	await atProvider(p, "ada");
	await p.locator("h1", { hasText: "Hello," }).waitFor({ timeout: 15000 });
	check(await p.locator("h1").textContent() === "Hello, Ada", "signed in with the provider, as the account that linked it");
	await p.reload();
	await p.locator("h1", { hasText: "Hello," }).waitFor();
	check(true, "... a session like a password login's: a reload keeps it (the refresh cookie)");

	// With TOTP on, the provider's sign-in is the first factor: the
	// console asks for the code, one try.
	step = "totp";
	const setup = (await api("POST", "/api/v1/auth/mfa/totp/setup", null, env.TOKEN)).json;
	await api("POST", "/api/v1/auth/mfa/totp/enable", { code: totp(setup.secret) }, env.TOKEN);
	await p.getByRole("button", { name: "Log out", exact: true }).click();
	await p.locator("h1", { hasText: "Log in" }).waitFor();
	await p.getByRole("button", { name: "Sign in with Test IdP" }).click();
	await p.locator("h1", { hasText: "Two-factor authentication" }).waitFor({ timeout: 15000 });
	check(/oidc=mfa/.test(p.url()), "an account with TOTP is asked for its code after the provider");
	await p.getByLabel("Authenticator code or recovery code").fill("000000");
	await p.getByRole("button", { name: "Continue" }).click();
	await p.getByRole("alert").filter({ hasText: /wrong|used/i }).waitFor();
	check(true, "a wrong code is refused");
	await p.getByRole("button", { name: "Continue" }).click();
	await p.getByRole("alert").filter({ hasText: /start again|used or expired/i }).waitFor();
	check(true, "... and the ticket is spent: one try");
	await p.goto(`${env.BASE}/login`);
	await p.getByRole("button", { name: "Sign in with Test IdP" }).click();
	await p.locator("h1", { hasText: "Two-factor authentication" }).waitFor({ timeout: 15000 });
	await p.getByLabel("Authenticator code or recovery code").fill(totp(setup.secret, Date.now() + 30000));
	await p.getByRole("button", { name: "Continue" }).click();
	await p.locator("h1", { hasText: "Hello," }).waitFor();
	check(true, "the right code signs in");

	step = "taken";
	const q = await newPage();
	await login(q, "own@other.example", "another passphrase here");
	await q.goto(`${env.BASE}/settings/account`);
	await q.getByRole("button", { name: "Link Test IdP" }).click();
	await q.waitForURL((u) => !u.href.startsWith(env.BASE), { timeout: 15000 });
	await atProvider(q, "ada");
	await q.locator("h1", { hasText: "Your account" }).waitFor();
	check(/linked to another account/.test(await q.locator("#idp-h ~ p").first().textContent()),
	    "an identity linked to another account is not linked again", q.url());

	step = "unknown";
	const u = await newPage();
	await u.goto(`${env.BASE}/login`);
	await u.getByRole("button", { name: "Sign in with Test IdP" }).click();
	await u.waitForURL((x) => !x.href.startsWith(env.BASE), { timeout: 15000 });
	await atProvider(u, "bob");
	await u.getByRole("alert").filter({ hasText: "No account has linked" }).waitFor();
	check(/oidc=unknown_identity/.test(u.url()), "an identity nobody linked signs nobody in (never by e-mail)", u.url());
} catch (e) {
	check(false, "the journey ran to its end", `at ${step}: ${String(e?.stack ?? e)}`);
}
await finish(browser);
