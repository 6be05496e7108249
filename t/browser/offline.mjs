// Offline mode in a real browser (Debian's chromium via playwright-core),
// run by t/68-offline-browser.t against the real stack: at night a
// visitor on a shop's page (another site than parley's) asks for a
// person, is told honestly that nobody can answer and leaves an address;
// the confirmation mail's link opens parley's chat page, which confirms
// it; the agent answers next morning while the visitor is gone; the reply
// mail's link opens the same conversation with the reply in it.
//
// Environment: BASE, HOST_URL, AGENT_TOKEN, MAIL_DIR (the SMTP catcher's
// files), VISITOR (the address), OUT, CHROMIUM.
import { readdirSync, readFileSync } from "node:fs";
import { env, check, openChat, launch, finish } from "./lib.mjs";

// The first mail to VISITOR whose subject matches 're', as text.
async function mailLink(re, kind) {
	for (let i = 0; i < 600; i++) {
		for (const f of readdirSync(env.MAIL_DIR).filter((x) => x.endsWith(".eml")).sort()) {
			const raw = readFileSync(`${env.MAIL_DIR}/${f}`, "utf8");
			const to = /^X-Envelope-To: (.*?)\r?$/m.exec(raw);
			const subject = /^Subject: (.*?)\r?$/m.exec(raw);
			const link = new RegExp(`(https?://\\S+/widget/frame\\?bot=pk_[0-9a-f]{32}#${kind}=\\S+)`).exec(raw);
			if (to && to[1] === env.VISITOR && subject && re.test(subject[1]) && link)
				return link[1].replace(/^https:\/\/[^/]+/, env.BASE);
		}
		await new Promise((r) => setTimeout(r, 50));
	}
	throw new Error(`no ${kind} mail`);
}

const browser = await launch();
let step = "start", page;
try {
	step = "at night, the visitor asks for a person";
	let context = await browser.newContext();
	page = await context.newPage();
	await page.goto(env.HOST_URL);
	const frame = await openChat(page);
	await frame.click("#handoff");
	await frame.waitForSelector("#offline", { state: "visible", timeout: 10000 });
	const said = await frame.textContent("#offline-text");
	check(/closed right now/i.test(said), "outside hours the widget says honestly that nobody can answer", said);
	check(/e-mail/i.test(said) && await frame.isVisible("#contact-email"),
	    "... and offers to answer by e-mail", said);

	step = "the visitor leaves an address";
	await frame.fill("#contact-email", env.VISITOR);
	await frame.click("#contact-send");
	await frame.waitForSelector("#status:has-text('Check your mail')", { timeout: 10000 });
	check(true, "the widget asks the visitor to confirm it by mail");
	const conv = await frame.evaluate(() => document.querySelector("#message-list").children.length);
	await context.close();	// the visitor is gone

	step = "the confirmation link";
	const confirm = await mailLink(/Confirm your address/, "confirm");
	check(confirm.startsWith(env.BASE), "the confirmation mail links to parley's own chat page", confirm.slice(0, 60));
	context = await browser.newContext();
	page = await context.newPage();
	await page.goto(confirm);
	await page.waitForSelector("#confirm", { state: "visible", timeout: 10000 });
	check(true, "the chat page asks the visitor to confirm (a click, not the link alone)");
	await page.click("#confirm-send");
	await page.waitForSelector("#transcript", { state: "visible", timeout: 10000 });
	check(true, "... confirmed: the conversation opens, with a transcript button");
	// The transcript button shows with the conversation; its messages
	// arrive with the next read.
	await page.waitForFunction((c) => document.querySelector("#message-list").children.length >= c,
	    conv, { timeout: 10000 }).catch(() => {});
	const n = await page.evaluate(() => document.querySelector("#message-list").children.length);
	check(n >= conv && n > 0, "... the same conversation, its messages shown", `${n} vs ${conv}`);
	await context.close();

	step = "next morning, the agent answers";
	const h = { authorization: `Bearer ${env.AGENT_TOKEN}`, "content-type": "application/json" };
	const list = await (await fetch(`${env.BASE}/api/v1/conversations?limit=1`, { headers: h })).json();
	const r = await fetch(`${env.BASE}/api/v1/conversations/${list.items[0].id}/messages`, {
		method: "POST", headers: h, body: JSON.stringify({ content: env.REPLY }),
	});
	check(r.status === 201, "the agent replies", String(r.status));

	step = "the reply mail's link";
	const resume = await mailLink(/A reply to your chat/, "resume");
	check(true, "the reply is mailed to the confirmed address, with a link");
	context = await browser.newContext();
	page = await context.newPage();
	await page.goto(resume);
	await page.waitForSelector(`li.msg[data-role='agent']:has-text("${env.REPLY}")`, { timeout: 10000 });
	check(true, "the link opens the same conversation, with the agent's reply");
	check(await page.isHidden("#close"), "... on a page of its own (no close button)");
	await context.close();
} catch (e) {
	check(false, `browser run: ${step}`, String(e && e.stack || e));
	if (page)
		await page.screenshot({ path: `${env.OUT}/offline-failure.png` }).catch(() => {});
}
await finish(browser);
