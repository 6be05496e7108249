// The console's security pages in a real browser (run by
// t/102-alerts-browser.t, one JSON line per check): the new sign-in
// mail's link (LINK) ends that session; the alerts page marks ALERT,
// acknowledges and resolves it, and filters by state.
//
// Environment: BASE, OUT, CHROMIUM, EMAIL and PASSWORD (the owner), LINK,
// ALERT (the id of an open role_granted alert).
import { env, check, axe, launch, watch, login, finish } from "./lib.mjs";

const browser = await launch();
const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, ignoreHTTPSErrors: true });
const page = watch(await ctx.newPage());
const h1 = (text) => page.locator("h1", { hasText: text }).waitFor();
let step = "start";
try {
	step = "the sign-in check";
	await page.goto(env.LINK);
	await h1("Was this you?");
	check(true, "the mail's link opens the sign-in check, without signing in");
	await axe(page, "the sign-in check");
	await page.getByRole("button", { name: "It was not me: end that session" }).click();
	await h1("That session has ended");
	check((await page.getByRole("status").textContent()).includes("signed out"), "it says the session ended");
	check(await page.getByRole("link", { name: "choose a new password" }).count() === 1, "... and offers a new password");
	await page.goto("about:blank");
	await page.goto(env.LINK);
	await h1("Was this you?");
	await page.getByRole("button", { name: "It was not me: end that session" }).click();
	await page.getByRole("alert").filter({ hasText: "already ended" }).waitFor();
	check(true, "the link a second time: the session has already ended");
	await page.goto(`${env.BASE}/sign-in-check#token=forged`);
	await h1("");
	check(!(await page.getByRole("button", { name: "It was not me: end that session" }).count()), "a malformed link offers nothing");

	step = "the alerts page";
	await login(page, env.EMAIL);
	check(await page.getByRole("link", { name: "Security alerts" }).count() === 1, "the home page links to the security alerts");
	await page.goto(`${env.BASE}/security?alert=${env.ALERT}`);
	await h1("Security alerts");
	const text = await page.locator("main").textContent();
	check(text.includes("A member said a sign-in was not theirs and ended it"), "the sign_in_revoked alert is listed, in words");
	check(text.includes("An owner or admin role granted"), "... and role_granted");
	const row = page.locator(`#alert-${env.ALERT}`);
	check(await row.evaluate((r) => r.classList.contains("marked")), "the alert the link names is marked");
	await axe(page, "the security alerts");
	await row.getByRole("button", { name: "Acknowledge" }).click();
	await page.locator(`#alert-${env.ALERT} td:nth-child(6)`, { hasText: "acknowledged" }).waitFor();
	check(true, "acknowledged from the page");
	check(await page.locator(`#alert-${env.ALERT}`).getByRole("button", { name: "Acknowledge" }).count() === 0,
	    "... which leaves only Resolve");
	await page.locator(`#alert-${env.ALERT}`).getByRole("button", { name: "Resolve" }).click();
	await page.locator(`#alert-${env.ALERT} td:nth-child(6)`, { hasText: "resolved" }).waitFor();
	check(true, "then resolved");
	await page.getByLabel("Show").selectOption("open");
	await page.waitForURL(/state=open/);
	// The address changes before the page has drawn the filtered list:
	// wait for the resolved alert's row to go (or fail after 10 s).
	const gone = await page.locator(`#alert-${env.ALERT}`).waitFor({ state: "detached", timeout: 10000 })
	    .then(() => true, () => false);
	check(gone, "showing the open ones: the resolved alert is not among them");
	await page.locator("tbody tr").first().waitFor();
	check((await page.locator("tbody tr").count()) >= 1, "... the sign-in one is");
} catch (e) {
	check(false, `the walk went through (${step})`, String(e));
	await page.screenshot({ path: `${env.OUT}/alerts-failure.png`, fullPage: true }).catch(() => {});
}
await finish(browser);
