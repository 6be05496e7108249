// The console's account pages in a real browser (Debian's chromium,
// headless, playwright-core), against the real stack: sign up and finish
// from the mailed link, join from an invitation's link (and be told
// plainly when the address has an account already), reset a password
// from its link and log in with it, verify an address from its link.
// Every text is text (a name with HTML in it opens no dialog), axe-core
// finds no serious or critical violation, no page logs an error. Run by
// t/89-console-account.t, which reads one JSON line per check:
// {"ok": bool, "name": "...", "diag": "..."}.
//
// Environment: BASE (parley), MAILDIR (the suite's SMTP catcher), OUT
// (screenshots), CHROMIUM, OTHER_EMAIL (an address with an account in
// another company), UNVERIFIED_TOKEN (an access token of a user whose
// address is not verified).
import { totp } from "./totp.mjs";
import { readdirSync, readFileSync, unlinkSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { env, check, axe, shot, api as call, launch, newPage as pageIn, finish } from "./lib.mjs";

// The newest mail to 'to' whose body has 'path'#token=…: that link.
async function mailedLink(to, path, seen = new Set()) {
	for (let i = 0; i < 300; i++) {
		for (const f of readdirSync(env.MAILDIR).filter((n) => n.endsWith(".eml")).sort()) {
			if (seen.has(f)) continue;
			const m = readFileSync(`${env.MAILDIR}/${f}`, "utf8");
			const link = m.match(new RegExp(`https?://[^\\s"]*${path}#token=[A-Za-z0-9_-]{43}`));
			if (link && m.includes(`X-Envelope-To: ${to}`)) {
				seen.add(f);
				return link[0].replace(/^https?:\/\/[^/]+/, env.BASE);
			}
		}
		await new Promise((r) => setTimeout(r, 100));
	}
	throw new Error(`no ${path} mail to ${to}`);
}

// From one client address of its own (per-address limits).
const api = (method, path, body, token) => call(method, path, body, token, { "x-forwarded-for": "198.51.100.89" });

const browser = await launch();
const newPage = () => pageIn(browser, { viewport: { width: 1280, height: 800 } });
const heading = (page) => page.locator("h1").textContent();


const pw = "a console passphrase, long";
const evil = `Eve <img src=x onerror=alert(1)>`;
const owner = `owner-${Date.now()}@console.example`;
try {
	// Sign up and finish from the mailed link.
	const p1 = await newPage();
	await p1.goto(`${env.BASE}/signup`);
	const csp = (await (await fetch(`${env.BASE}/signup`)).headers.get("content-security-policy")) ?? "";
	check(/require-trusted-types-for 'script'/.test(csp) && /script-src 'self'/.test(csp) && !/unsafe/.test(csp),
	    "the console's CSP: own scripts only, Trusted Types required", csp);
	await axe(p1, "sign up");
	await shot(p1, "signup");
	await p1.getByLabel("Company").fill("Console Co");
	await p1.getByLabel("Your name").fill(evil);
	await p1.getByLabel("E-mail").fill(owner);
	await p1.getByLabel(/^Password/).fill(pw);
	await p1.getByRole("button", { name: "Sign up" }).click();
	await p1.getByText("Check your mail").waitFor();
	check(true, "sign up: a link is mailed");
	const confirm = await mailedLink(owner, "/confirm-signup");
	await p1.goto(confirm);
	check((await heading(p1)) === "Finish signing up", "the confirm-signup link opens its page", await heading(p1));
	await axe(p1, "confirm sign-up");
	await p1.getByLabel("Password").fill(pw);
	await p1.getByRole("button", { name: "Create my company" }).click();
	await p1.locator("h1", { hasText: "Hello," }).waitFor();
	check((await heading(p1)) === `Hello, ${evil}`, "signed in as the owner, the name shown as text", await heading(p1));
	check(await p1.getByText("owner").first().isVisible(), "... as owner");
	check(await p1.locator("img").count() === 0, "... and no element made of it");
	check(!/parley_refresh/.test(await p1.evaluate(() => document.cookie)),
	    "the refresh cookie cannot be read by script");
	check((await p1.context().cookies()).some((c) => c.name === "parley_refresh" && c.httpOnly && c.secure && c.sameSite === "Strict"),
	    "... it is HttpOnly, Secure, SameSite=Strict");
	await p1.reload();
	await p1.locator("h1", { hasText: "Hello," }).waitFor();
	check(true, "a reload keeps the session (refreshed from the cookie)");
	const cross = await fetch(`${env.BASE}/api/v1/auth/refresh`, {
		method: "POST",
		headers: { "content-type": "application/json", "x-parley-session": "cookie", origin: "https://evil.example",
			cookie: (await p1.context().cookies()).filter((c) => c.name === "parley_refresh").map((c) => `${c.name}=${c.value}`).join("; ") },
		body: "{}",
	});
	check(cross.status === 403, "a cross-site request with the cookie is refused", String(cross.status));
	// The pages Stripe returns to and the webhook mail names.
	await p1.goto(`${env.BASE}/settings/billing?checkout=success`);
	await p1.locator("h1", { hasText: "Billing" }).waitFor();
	check(/Thank you/.test(await p1.getByRole("status").textContent()), "Stripe's return page answers, after a full load");
	check(await p1.getByText("Plan:").isVisible(), "... with the plan and its limits");
	await axe(p1, "billing");
	await p1.goto(`${env.BASE}/settings/webhooks`);
	await p1.locator("h1", { hasText: "Webhooks" }).waitFor();
	check(await p1.getByText("No webhook endpoints yet.").isVisible(), "the webhooks page the disabled-endpoint mail names answers");

	// Invite two addresses (the API, as an admin's page will): one new,
	// one with an account in another company.
	const login = await api("POST", "/api/v1/auth/login", { email: owner, password: pw });
	const tok = login.json?.access_token;
	const member = `member-${Date.now()}@console.example`;
	check((await api("POST", "/api/v1/invitations", { email: member, role: "member" }, tok)).status === 201, "an invitation is sent");
	check((await api("POST", "/api/v1/invitations", { email: env.OTHER_EMAIL, role: "member" }, tok)).status === 201,
	    "... and one to an address with an account elsewhere");

	const p2 = await newPage();
	await p2.goto(await mailedLink(member, "/accept-invitation"));
	check((await heading(p2)) === "Join your team", "the accept-invitation link opens its page", await heading(p2));
	await axe(p2, "accept an invitation");
	await p2.getByLabel("Your name").fill("Mo Member");
	await p2.getByLabel(/^Password/).fill(pw);
	await p2.getByRole("button", { name: "Join" }).click();
	await p2.locator("h1", { hasText: "Hello," }).waitFor();
	check((await heading(p2)) === "Hello, Mo Member", "the invitee joined from the link, in a context of their own");
	check(await p2.getByText("member", { exact: true }).isVisible(), "... as member");

	const p3 = await newPage();
	await p3.goto(await mailedLink(env.OTHER_EMAIL, "/accept-invitation"));
	await p3.getByLabel("Your name").fill("Otto Other");
	await p3.getByLabel(/^Password/).fill(pw);
	await p3.getByRole("button", { name: "Join" }).click();
	const taken = p3.getByRole("alert");
	await taken.filter({ hasText: "already has an account" }).waitFor();
	check(/already has an account/.test(await taken.textContent()), "an address with an account elsewhere is told so plainly",
	    await taken.textContent());

	// Forgot, reset from the link, log in with the new password.
	const p4 = await newPage();
	await p4.goto(`${env.BASE}/forgot-password`);
	await axe(p4, "forgot password");
	await p4.getByLabel("E-mail").fill(member);
	await p4.getByRole("button", { name: "Send me a link" }).click();
	await p4.getByText("Check your mail").waitFor();
	await p4.goto(await mailedLink(member, "/reset-password"));
	check((await heading(p4)) === "Choose a new password", "the reset-password link opens its page");
	await axe(p4, "reset a password");
	const pw2 = "another console passphrase";
	await p4.getByLabel(/^New password/).fill(pw2);
	await p4.getByRole("button", { name: "Set password" }).click();
	await p4.getByText("Password set").waitFor();
	await p4.locator("main").getByRole("link", { name: "Log in" }).click();
	await p4.getByLabel("E-mail").fill(member);
	await p4.getByLabel("Password").fill(pw2);
	await p4.getByRole("button", { name: "Log in" }).click();
	await p4.locator("h1", { hasText: "Hello," }).waitFor();
	check((await heading(p4)) === "Hello, Mo Member", "logged in with the new password");
	await axe(p4, "the signed-in page");
	// TOTP: set up from the account page, then log in with a code.
	await p4.locator("main").getByRole("link", { name: "Your account" }).click();
	await p4.locator("h1", { hasText: "Your account" }).waitFor();
	await p4.getByLabel("Your name").fill("Mo M. Member");
	await p4.getByLabel(/^Name visitors see/).fill("Mo");
	await p4.getByRole("button", { name: "Save profile" }).click();
	await p4.getByRole("status").filter({ hasText: "Saved." }).waitFor();
	const profile = (await api("GET", "/api/v1/me", null, (await api("POST", "/api/v1/auth/login", { email: member, password: pw2 })).json?.access_token)).json?.user;
	check(profile?.name === "Mo M. Member" && profile?.display_name === "Mo",
	    "one's own name and the name visitors see, changed on the account page, are the API's", JSON.stringify(profile));
	await p4.getByRole("button", { name: "Set up two-factor authentication" }).click();
	// The secret as an app's camera reads it: the QR code's pixels, read
	// by zbarimg (zbar-tools).
	await shot(p4, "account-totp");
	await p4.locator("#totp-qr").screenshot({ path: `${env.OUT}/totp-qr.png` });
	const uri = execFileSync("zbarimg", ["--raw", "-q", `${env.OUT}/totp-qr.png`], { stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
	unlinkSync(`${env.OUT}/totp-qr.png`);
	const secret = new URL(uri).searchParams.get("secret") ?? "";
	check(/^otpauth:\/\/totp\/parley:/.test(uri) && /^[A-Z2-7]{32}$/.test(secret), "TOTP setup shows a QR code of the otpauth URI with a 160-bit secret",
	    uri.replace(/secret=[^&]+/, "secret=…"));
	check(await p4.locator("#totp-secret").textContent() === secret, "... and the same secret as text, to type");
	await p4.getByLabel("Code", { exact: true }).fill(totp(secret));
	await p4.getByRole("button", { name: "Turn on" }).click();
	await p4.locator("#recovery-codes li").first().waitFor();
	check(await p4.locator("#recovery-codes li").count() === 10, "... turned on: ten recovery codes shown once");
	const recovery = await p4.locator("#recovery-codes li").allTextContents();
	await axe(p4, "your account");
	await p4.getByRole("button", { name: "Log out", exact: true }).click();
	await p4.locator("h1", { hasText: "Log in" }).waitFor();
	check(true, "logged out");
	await p4.getByLabel("E-mail").fill(member);
	await p4.getByLabel("Password").fill(pw2);
	await p4.getByRole("button", { name: "Log in" }).click();
	const codeBox = p4.getByLabel("Authenticator code or recovery code");
	await codeBox.waitFor();
	await shot(p4, "login-totp");
	check(true, "with TOTP on, logging in asks for a code");
	// The code of the next step: the one used at enabling may not be reused.
	await codeBox.fill(totp(secret, Date.now() + 30000));
	await p4.getByRole("button", { name: "Log in" }).click();
	await p4.locator("h1", { hasText: "Hello," }).waitFor();
	check((await heading(p4)) === "Hello, Mo M. Member", "... and a code from the app logs in");
	await p4.getByRole("button", { name: "Log out", exact: true }).click();
	await p4.locator("h1", { hasText: "Log in" }).waitFor();
	await p4.getByLabel("E-mail").fill(member);
	await p4.getByLabel("Password").fill(pw2);
	await p4.getByRole("button", { name: "Log in" }).click();
	await p4.getByLabel("Authenticator code or recovery code").fill(recovery[1]);
	await p4.getByRole("button", { name: "Log in" }).click();
	await p4.locator("h1", { hasText: "Hello," }).waitFor();
	check(true, "a recovery code logs in too");
	// The account page: end another session, change the password, turn
	// TOTP off with a recovery code.
	await p4.locator("main").getByRole("link", { name: "Your account" }).click();
	await p4.locator("h1", { hasText: "Your account" }).waitFor();
	const ends = p4.getByRole("button", { name: "end it" });
	const others = await ends.count();
	check(others >= 1, "the account page lists the other sessions", String(others));
	await ends.first().click();
	await p4.waitForFunction((n) => [...document.querySelectorAll("button")].filter((b) => b.textContent.trim() === "end it").length === n - 1, others);
	check(true, "... and ends one");
	const pw3 = "a third console passphrase";
	await p4.getByLabel("Current password").fill(pw2);
	await p4.getByLabel("New password").fill(pw3);
	await p4.getByRole("button", { name: "Change password" }).click();
	await p4.getByRole("status").filter({ hasText: "Changed;" }).waitFor();
	check((await api("POST", "/api/v1/auth/login", { email: member, password: pw2 })).json?.code === "invalid_credentials" &&
	    (await api("POST", "/api/v1/auth/login", { email: member, password: pw3 })).json?.code === "mfa_required",
	    "the password changed on the page is the one that logs in");
	const totpBox = p4.locator("section[aria-labelledby='totp-h']");
	await totpBox.getByLabel("Password").fill(pw3);
	await totpBox.getByLabel("Code or recovery code").fill(recovery[0]);
	await p4.getByRole("button", { name: "Turn two-factor authentication off" }).click();
	await p4.getByRole("button", { name: "Set up two-factor authentication" }).waitFor();
	const elsewhere = await api("POST", "/api/v1/auth/login", { email: member, password: pw3 });
	check(elsewhere.status === 200, "TOTP turned off on the page with a recovery code: a login needs no code");
	// Log out everywhere: that other session ends too.
	await p4.getByRole("button", { name: "Log out everywhere" }).click();
	await p4.locator("h1", { hasText: "Log in" }).waitFor();
	await axe(p4, "log in");
	check((await api("GET", "/api/v1/me", null, elsewhere.json.access_token)).status === 401, "log out everywhere ends every session");

	// Verify an address from the link.
	const me = await api("GET", "/api/v1/me", null, env.UNVERIFIED_TOKEN);
	check((await api("POST", "/api/v1/auth/email/resend", null, env.UNVERIFIED_TOKEN)).status === 202, "a verification link is sent");
	const p5 = await newPage();
	await p5.goto(await mailedLink(me.json.user.email, "/verify-email"));
	await p5.locator("h1", { hasText: "Address verified" }).waitFor();
	check(true, "the verify-email link verifies the address");
	await axe(p5, "verify e-mail");
	const after = await api("GET", "/api/v1/me", null, env.UNVERIFIED_TOKEN);
	check(after.json?.user?.email_verified === true, "... as the API says");

	// A used link says so.
	await p5.goto(p5.url());
	await p5.locator("h1", { hasText: "Address not verified" }).waitFor();
	check(/invalid, used or expired/.test(await p5.getByRole("alert").textContent()), "a used link says it is used");
	// Members: the owner sees the team, invites from the page and revokes.
	await p1.goto(`${env.BASE}/settings/members`);
	await p1.locator("h1", { hasText: "Members" }).waitFor();
	check(/Mo M\. Member/.test(await p1.locator("#members").textContent()), "the members page lists the team");
	const third = `third-${Date.now()}@console.example`;
	await p1.getByLabel("Invite by e-mail").fill(third);
	await p1.getByRole("button", { name: "Send invitation" }).click();
	await p1.locator("#invitations li", { hasText: third }).waitFor();
	check(true, "an invitation sent from the page is listed");
	await mailedLink(third, "/accept-invitation");
	check(true, "... and mailed");
	await axe(p1, "members");
	await shot(p1, "members");
	await p1.getByRole("button", { name: `revoke ${third}` }).click();
	await p1.locator("#invitations li", { hasText: third }).waitFor({ state: "detached" });
	check(true, "... and revoked from the page");
	const memberRole = p1.getByLabel("Role of Mo M. Member");
	await memberRole.selectOption("admin");
	// The page reads the team again once the change is made.
	await p1.locator("#members select[aria-label='Role of Mo M. Member'] option[value='admin']:checked").waitFor({ state: "attached" });
	await p1.waitForFunction(() => document.querySelector("#members") !== null);
	let promoted = false;
	for (let i = 0; i < 50 && !promoted; i++) {
		promoted = (await api("GET", "/api/v1/members", null, tok)).json.items.some((m) => m.name === "Mo M. Member" && m.role === "admin");
		if (!promoted) await p1.waitForTimeout(100);
	}
	check(promoted, "a role changed on the page is the API's");
	// A company that requires TOTP sends its members without it to set it up.
	check((await api("PATCH", "/api/v1/company", { settings: { mfa_required: true } }, tok)).status === 200,
	    "the owner requires TOTP of the company");
	await p1.goto(`${env.BASE}/`);
	await p1.locator("h1", { hasText: "Set up two-factor authentication" }).waitFor();
	check(/requires two-factor authentication/.test(await p1.getByRole("status").textContent()),
	    "a member without TOTP lands on its setup, told why");
} catch (e) {
	check(false, "the journey ran to its end", String(e?.stack ?? e));
}
await finish(browser);
