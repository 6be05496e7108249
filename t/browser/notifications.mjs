// An agent's notifications in the console (run by t/57-notifications.t):
// the inbox lists what waits (kept by parley: a reload keeps it), a new
// handoff arrives live, opening the conversation reads it; the account
// page holds the mail preferences; the digest's unsubscribe page.
//
// Environment: BASE, CHROMIUM, EMAIL, PASSWORD (an agent), VISITOR (a
// widget visitor token), UNSUBSCRIBE (a digest's token), OUT.
import { env, check, api, launch, newPage, finish, axe } from "./lib.mjs";

const browser = await launch();
let step = "start";
try {
	step = "login";
	const p = await newPage(browser);
	await p.goto(`${env.BASE}/login`);
	await p.getByLabel("E-mail").fill(env.EMAIL);
	await p.getByLabel("Password").fill(env.PASSWORD);
	await p.getByRole("button", { name: "Log in" }).click();
	await p.locator("h1", { hasText: "Hello," }).waitFor();

	step = "inbox";
	await p.goto(`${env.BASE}/inbox`);
	const summary = p.locator("details.notes summary");
	await summary.filter({ hasText: "1 unread" }).waitFor({ timeout: 10000 });
	check(true, "the inbox says one notification is unread");
	await p.reload();
	await summary.filter({ hasText: "1 unread" }).waitFor({ timeout: 10000 });
	check(true, "... and still after a reload (parley keeps it)");

	step = "live";
	const c = await api("POST", "/api/v1/widget/conversations", {}, env.VISITOR);
	await api("POST", `/api/v1/widget/conversations/${c.json.id}/handoff`, null, env.VISITOR);
	await summary.filter({ hasText: "2 unread" }).waitFor({ timeout: 10000 });
	check(true, "a new handoff arrives live, from the event stream");

	step = "open";
	await summary.click();
	const first = p.locator("#notifications li.unread button").first();
	check(/handed to a person/.test(await first.textContent()), "the notification says what happened", await first.textContent());
	await axe(p, "the inbox with its notifications");
	await first.click();
	await summary.filter({ hasText: "1 unread" }).waitFor({ timeout: 10000 });
	check(true, "opening the conversation reads its notification");

	step = "preferences";
	await p.goto(`${env.BASE}/settings/account`);
	const box = p.getByLabel("Mail me a digest of what I have not seen");
	check(await box.isChecked(), "the account page shows the digest preference, on");
	await box.uncheck();
	await p.getByRole("button", { name: "Save notifications" }).click();
	await p.getByRole("status").filter({ hasText: "Saved." }).first().waitFor();
	await p.reload();
	await p.getByLabel("Mail me a digest of what I have not seen").waitFor();
	check(!(await p.getByLabel("Mail me a digest of what I have not seen").isChecked()), "... turned off, and kept");

	step = "unsubscribe";
	const u = await newPage(browser);
	await u.goto(`${env.BASE}/unsubscribe#token=${env.UNSUBSCRIBE}`);
	await u.getByRole("button", { name: "Stop the digest mails" }).click();
	await u.locator("h1", { hasText: "Stopped" }).waitFor();
	check(true, "the digest's unsubscribe page stops the mails in one click");
} catch (e) {
	check(false, "the journey ran to its end", `at ${step}: ${String(e?.stack ?? e)}`);
}
await finish(browser);
