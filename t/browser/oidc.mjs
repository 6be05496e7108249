// Signing in with an OpenID Connect provider in the console (run by
// t/48-oidc-login.t): link the provider on the account page (through its
// login and consent pages), log out, sign in with it; an identity linked
// to another account already, and one nobody linked, are told so.
//
// Then identities nobody linked: one whose address the provider did not
// verify, one of an account's address (proved by its password), one of
// a new address (a company signs up, its owner without a password, who
// confirms at the provider before setting one).
//
// Environment: BASE, CHROMIUM, EMAIL, PASSWORD (an owner),
// CAROL_PASSWORD (the owner of carol@example.com), OUT.
import { totp } from "./totp.mjs";
import { env, check, api, launch, newPage as pageIn, finish, atProvider } from "./lib.mjs";

const browser = await launch();
const newPage = () => pageIn(browser);
async function login(page, email, pw) {
	await page.goto(`${env.BASE}/login`);
	await page.getByLabel("E-mail").fill(email);
	await page.getByLabel("Password").fill(pw);
	await page.getByRole("button", { name: "Log in" }).click();
	await page.locator("h1", { hasText: "Hello," }).waitFor();
}

let step = "start";
try {
	step = "link";
	const p = await newPage();
	await login(p, env.EMAIL, env.PASSWORD);
	await p.goto(`${env.BASE}/settings/account`);
	const linkForm = p.locator("form", { has: p.getByRole("button", { name: "Link the provider" }) });
	await linkForm.getByLabel("Your password").fill("not the password at all");
	await p.getByRole("button", { name: "Link the provider" }).click();
	await linkForm.getByRole("alert").filter({ hasText: /wrong password/i }).waitFor();
	check(true, "linking asks for the account's password: a wrong one is refused");
	await linkForm.getByLabel("Your password").fill(env.PASSWORD);
	await p.getByRole("button", { name: "Link the provider" }).click();
	await p.waitForURL((u) => !u.href.startsWith(env.BASE), { timeout: 15000 });
	check(true, "with the password, Link goes to the provider");
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
	await q.getByLabel("Your password").fill("another passphrase here");
	await q.getByRole("button", { name: "Link the provider" }).click();
	await q.waitForURL((u) => !u.href.startsWith(env.BASE), { timeout: 15000 });
	await atProvider(q, "ada");
	await q.locator("h1", { hasText: "Your account" }).waitFor();
	check(/linked to another account/.test(await q.locator("#idp-h ~ p").first().textContent()),
	    "an identity linked to another account is not linked again", q.url());

	// An identity nobody linked, whose address the provider did not
	// verify: nobody is signed in, nothing is made.
	step = "unverified";
	const u = await newPage();
	await u.goto(`${env.BASE}/login`);
	await u.getByRole("button", { name: "Sign in with Test IdP" }).click();
	await u.waitForURL((x) => !x.href.startsWith(env.BASE), { timeout: 15000 });
	await atProvider(u, "unverified-eve");
	await u.getByRole("alert").filter({ hasText: "No account has linked" }).waitFor();
	check(/oidc=unknown_identity/.test(u.url()), "an identity nobody linked, its address unverified, signs nobody in", u.url());

	// An identity nobody linked, its address verified and of an account:
	// the account proves itself with its password (never linked by the
	// address alone), then it is linked and signed in.
	step = "link account";
	const c = await newPage();
	await c.goto(`${env.BASE}/login`);
	await c.getByRole("button", { name: "Sign in with Test IdP" }).click();
	await c.waitForURL((x) => !x.href.startsWith(env.BASE), { timeout: 15000 });
	await atProvider(c, "carol");
	await c.locator("h1", { hasText: "Link Test IdP to your account" }).waitFor({ timeout: 15000 });
	check(/oidc=new/.test(c.url()) && /carol@example\.com/.test(await c.locator("main").textContent()),
	    "an identity whose verified address has an account: asked to prove that account", c.url());
	await c.getByLabel("Password").fill("not carol's password");
	await c.getByRole("button", { name: "Link Test IdP and log in" }).click();
	await c.getByRole("alert").filter({ hasText: /do not match/ }).waitFor();
	check(true, "... a wrong password links nothing");
	await c.getByLabel("Password").fill(env.CAROL_PASSWORD);
	await c.getByRole("button", { name: "Link Test IdP and log in" }).click();
	await c.locator("h1", { hasText: "Hello," }).waitFor();
	check(await c.locator("h1").textContent() === "Hello, Carol", "... the right one links it and signs in as that account");

	// An identity nobody linked, its address verified and of no account:
	// a company and its owner, without a password.
	step = "sign up";
	const b = await newPage();
	await b.goto(`${env.BASE}/login`);
	await b.getByRole("button", { name: "Sign in with Test IdP" }).click();
	await b.waitForURL((x) => !x.href.startsWith(env.BASE), { timeout: 15000 });
	await atProvider(b, "bob");
	await b.locator("h1", { hasText: "Create your company" }).waitFor({ timeout: 15000 });
	check(/bob@example\.com/.test(await b.locator("main").textContent()), "an identity of an address without an account may sign up with it");
	await b.getByLabel("Company").fill("Bob's Bikes");
	await b.getByLabel("Your name").fill("Bob");
	await b.getByRole("button", { name: "Create my company" }).click();
	await b.locator("h1", { hasText: "Hello, Bob" }).waitFor({ timeout: 15000 });
	check(true, "... the company is made and its owner signed in");
	await b.goto(`${env.BASE}/settings/account`);
	await b.locator("h1", { hasText: "Your account" }).waitFor();
	check(/None yet/.test(await b.locator("#pw-h").locator("..").textContent()), "the owner has no password");
	await b.getByRole("button", { name: "Unlink Test IdP" }).click();
	await b.getByRole("button", { name: "Unlink", exact: true }).click();
	await b.getByRole("alert").filter({ hasText: /only way to sign in/ }).waitFor();
	check(true, "the only identity of an account without a password cannot be unlinked");
	const pwForm = b.locator("form", { has: b.getByRole("button", { name: "Set a password" }) });
	await pwForm.getByLabel("New password").fill("bob's first real passphrase");
	await b.getByRole("button", { name: "Set a password" }).click();
	await pwForm.getByRole("alert").filter({ hasText: /Confirm it is you first/ }).waitFor();
	check(true, "setting a password asks for a fresh sign-in at the provider first");
	// Confirming as another account's identity is refused.
	await b.getByRole("button", { name: "Confirm with Test IdP" }).click();
	await b.waitForURL((x) => !x.href.startsWith(env.BASE), { timeout: 15000 });
	await atProvider(b, "ada");
	await b.locator("h1", { hasText: "Your account" }).waitFor();
	check(/oidc=not_yours/.test(b.url()), "... a sign-in as another account's identity confirms nothing", b.url());
	await b.getByRole("button", { name: "Confirm with Test IdP" }).click();
	await b.waitForURL((x) => !x.href.startsWith(env.BASE), { timeout: 15000 });
	await atProvider(b, "bob");
	await b.locator("h1", { hasText: "Your account" }).waitFor();
	check(/oidc=reauthed/.test(b.url()), "... its own identity, signed in afresh, confirms", b.url());
	const pwForm2 = b.locator("form", { has: b.getByRole("button", { name: "Set a password" }) });
	await pwForm2.getByLabel("New password").fill("bob's first real passphrase");
	await b.getByRole("button", { name: "Set a password" }).click();
	await b.getByRole("status").filter({ hasText: /^Set;/ }).waitFor();
	check(true, "... and the password is set");
} catch (e) {
	check(false, "the journey ran to its end", `at ${step}: ${String(e?.stack ?? e)}`);
}
await finish(browser);
