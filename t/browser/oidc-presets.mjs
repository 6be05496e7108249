// The presets in the console (run by t/49-oidc-presets.t): an owner
// links Microsoft (multi-tenant) on the account page and signs in with
// it; an Entra identity nobody linked is not signed up with (Entra does
// not verify addresses); a new person signs up with Apple, whose answer
// is a cross-site form_post from another site.
//
// Environment: BASE, CHROMIUM, EMAIL, PASSWORD (an owner), OUT.
import { env, check, launch, newPage as pageIn, finish, atProvider } from "./lib.mjs";

const browser = await launch();
const newPage = () => pageIn(browser);

let step = "start";
try {
	step = "microsoft link";
	const p = await newPage();
	await p.goto(`${env.BASE}/login`);
	await p.getByLabel("E-mail").fill(env.EMAIL);
	await p.getByLabel("Password").fill(env.PASSWORD);
	await p.getByRole("button", { name: "Log in" }).click();
	await p.locator("h1", { hasText: "Hello," }).waitFor();
	await p.goto(`${env.BASE}/settings/account`);
	await p.getByLabel("Your password").fill(env.PASSWORD);
	await p.locator("select[name=provider]").selectOption({ label: "Microsoft" });
	await p.getByRole("button", { name: "Link the provider" }).click();
	await atProvider(p, "ada", true);
	await p.locator("h1", { hasText: "Your account" }).waitFor();
	check(/oidc=linked/.test(p.url()), "Microsoft (multi-tenant) is linked from the account page", p.url());

	step = "microsoft sign in";
	await p.getByRole("button", { name: "Log out", exact: true }).click();
	await p.locator("h1", { hasText: "Log in" }).waitFor();
	await p.getByRole("button", { name: "Sign in with Microsoft" }).click();
	await atProvider(p, "ada");
	await p.locator("h1", { hasText: "Hello," }).waitFor({ timeout: 15000 });
	check(await p.locator("h1").textContent() === "Hello, Ada", "signed in with Microsoft: the token's tenant issuer matched the template");

	step = "microsoft unknown";
	const m = await newPage();
	await m.goto(`${env.BASE}/login`);
	await m.getByRole("button", { name: "Sign in with Microsoft" }).click();
	await atProvider(m, "mallory", true);
	await m.getByRole("alert").filter({ hasText: "No account has linked" }).waitFor();
	check(/oidc=unknown_identity/.test(m.url()), "an Entra identity nobody linked: no sign-up, its address is unverified", m.url());

	step = "apple sign up";
	const a = await newPage();
	await a.goto(`${env.BASE}/login`);
	await a.getByRole("button", { name: "Sign in with Apple" }).click();
	await a.waitForURL((u) => u.href.startsWith("https://localhost:"), { timeout: 15000 });
	check(true, "Apple's sign-in is on another site");
	await atProvider(a, "zoe", true);
	await a.locator("h1", { hasText: "Create your company" }).waitFor({ timeout: 15000 });
	check(/oidc=new/.test(a.url()), "the cross-site form_post came back, and the same-site GET finished the flow in this browser", a.url());
	await a.getByLabel("Company").fill("Zoe's Zines");
	await a.getByLabel("Your name").fill("Zoe");
	await a.getByRole("button", { name: "Create my company" }).click();
	await a.locator("h1", { hasText: "Hello, Zoe" }).waitFor({ timeout: 15000 });
	check(true, "... and the company is made: Apple's \"true\" string counts as a verified address");

	step = "apple sign in";
	await a.getByRole("button", { name: "Log out", exact: true }).click();
	await a.locator("h1", { hasText: "Log in" }).waitFor();
	await a.getByRole("button", { name: "Sign in with Apple" }).click();
	await atProvider(a, "zoe");
	await a.locator("h1", { hasText: "Hello, Zoe" }).waitFor({ timeout: 15000 });
	check(true, "signing in with Apple again: the identity's account");

	step = "google sign up";
	const g = await newPage();
	await g.goto(`${env.BASE}/login`);
	await g.getByRole("button", { name: "Sign in with Google" }).click();
	await atProvider(g, "gina", true);
	await g.locator("h1", { hasText: "Create your company" }).waitFor({ timeout: 15000 });
	await g.getByLabel("Company").fill("Gina's Garden");
	await g.getByLabel("Your name").fill("Gina");
	await g.getByRole("button", { name: "Create my company" }).click();
	await g.locator("h1", { hasText: "Hello, Gina" }).waitFor({ timeout: 15000 });
	check(true, "signing up with Google: the company is made, its owner signed in");
} catch (e) {
	check(false, "the journey ran to its end", `at ${step}: ${String(e?.stack ?? e)}`);
}
await finish(browser);
