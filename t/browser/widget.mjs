// The chat widget in a real browser (Debian's chromium, headless, driven by
// playwright-core). Run by t/66-widget-browser.t, which starts the stack
// and the host pages and reads one JSON line per check from stdout:
// {"ok": bool, "name": "...", "diag": "..."}.
//
// Environment: BASE (parley), HOST_URL (a page on an allowed origin, on
// another site than parley's, as a shop's is), BAD_URL (the same page on
// an origin not allowed), AGENT_TOKEN, OUT (where screenshots go),
// CHROMIUM (the browser), THIRD_PARTY ("block" or "allow": the profile's
// third-party cookie and storage setting, as a person sets it in
// chromium's settings; the run checks it took effect).
import { chromium } from "playwright-core";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";

const env = process.env;
const REPLY = env.REPLY;
const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
let failed = 0;

function check(ok, name, diag) {
	if (!ok)
		failed++;
	process.stdout.write(JSON.stringify({ ok: !!ok, name, diag: diag ?? "" }) + "\n");
	return ok;
}

async function frameOf(page) {
	for (let i = 0; i < 100; i++) {
		const f = page.frames().find((x) => x.url().includes("/widget/frame"));
		if (f)
			return f;
		await page.waitForTimeout(50);
	}
	throw new Error("no chat frame");
}

// The launcher is in a closed shadow root (the host page cannot reach it,
// and neither can selectors): it is the page's first focusable element.
async function openChat(page) {
	await page.keyboard.press("Tab");
	await page.keyboard.press("Enter");
}

async function agentReply(text) {
	const h = { authorization: `Bearer ${env.AGENT_TOKEN}`, "content-type": "application/json" };
	const list = await (await fetch(`${env.BASE}/api/v1/conversations?limit=1`, { headers: h })).json();
	const id = list.items[0].id;
	const r = await fetch(`${env.BASE}/api/v1/conversations/${id}/messages`, {
		method: "POST", headers: h, body: JSON.stringify({ content: text }),
	});
	return r.status;
}

// A regular persistent profile, its third-party setting written where
// chromium keeps it (Preferences: cookie_controls_mode 1 blocks them).
const blocked = env.THIRD_PARTY !== "allow";
const profile = mkdtempSync(`${env.OUT}/profile-`);
mkdirSync(`${profile}/Default`);
writeFileSync(`${profile}/Default/Preferences`, JSON.stringify({
	profile: { cookie_controls_mode: blocked ? 1 : 0, block_third_party_cookies: blocked },
}));
const context = await chromium.launchPersistentContext(profile, {
	executablePath: env.CHROMIUM || "/usr/bin/chromium",
	args: ["--no-sandbox", "--disable-dev-shm-usage"],
	headless: true,
	viewport: { width: 1280, height: 800 },
});
const browser = { close: () => context.close() };
const page = await context.newPage();
const dialogs = [];
const streams = [];
page.on("response", (r) => { if (/\/events$/.test(new URL(r.url()).pathname)) streams.push(r.status()); });
page.on("dialog", (d) => { dialogs.push(d.message()); d.dismiss(); });
let step = "start";
try {
	step = "load the host page";
	await page.goto(env.HOST_URL);
	const frame = await frameOf(page);
	const access = await frame.evaluate(() => {
		try {
			localStorage.getItem("x");
			return "allowed";
		} catch (e) {
			return "denied";
		}
	});
	check(access === (blocked ? "denied" : "allowed"),
	    `third-party storage is ${blocked ? "blocked" : "allowed"} in this profile, as set`, access);
	await openChat(page);
	step = "the frame shows the chat";
	await frame.waitForSelector("#input", { state: "visible", timeout: 10000 });
	check(true, "the launcher opens the chat frame (keyboard)");
	const disclosure = await frame.textContent("#disclosure");
	check(/AI assistant/i.test(disclosure) && /person/i.test(disclosure),
	    "the widget says it is an AI assistant and how to reach a person", disclosure);
	await frame.waitForSelector("#bot-name:has-text('Garden helper')", { timeout: 10000 });
	check(true, "the chatbot's name is shown");

	step = "consent";
	await frame.waitForSelector("html[data-config]", { state: "attached", timeout: 10000 });
	if (await frame.isVisible("#consent")) {
		await frame.click("#consent-choose");
		await frame.check("#consent-analytics");
		await frame.click("#consent-save");
		await frame.waitForSelector("#consent", { state: "hidden", timeout: 5000 });
	}
	check(true, "the consent banner is answered");

	step = "accessibility";
	// Evaluated through DevTools, which the frame's CSP does not govern
	// (an injected <script> would be refused, as it should be).
	await frame.evaluate(axeSource);
	const axe = await frame.evaluate(async () => {
		const r = await window.axe.run(document, { resultTypes: ["violations"] });
		return r.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
		    .map((v) => `${v.id}: ${v.nodes.length}`);
	});
	check(axe.length === 0, "axe-core: no serious or critical violation in the frame", axe.join(", "));

	step = "send a message and see the streamed reply";
	await frame.fill("#input", "When are you open?");
	const sentAt = Date.now();
	await frame.press("#input", "Enter");
	const botSel = "li.msg[data-role='bot']";
	// The provider holds the reply until the frame's event stream is
	// open and the request has reached it: on two busy cores the stream
	// may open after the widget stopped waiting for it (3 s), and a
	// reply that ended before would be caught up whole, not streamed.
	for (let i = 0; i < 500; i++) {
		const held = await (await fetch(`${env.LLM_CONTROL}/_held`)).json();
		if (held.held > 0 && streams.includes(200))
			break;
		await page.waitForTimeout(20);
	}
	await fetch(`${env.LLM_CONTROL}/_release`, { method: "POST", body: "" });
	// The reply streams: part of it is on screen before the whole of it
	// (the output guard holds back the last 40 bytes, so the reply is
	// long enough for its start to be shown while the rest comes).
	let partial = "";
	for (let i = 0; i < 1000 && !partial; i++) {
		const texts = await frame.$$eval(`${botSel} .body`, (els) => els.map((e) => e.textContent));
		const last = texts[texts.length - 1] || "";
		if (last && last !== REPLY)
			partial = last;
		else
			await page.waitForTimeout(20);
	}
	// The time to the first words on screen is reported (bench/ has the
	// targets): the provider's first word comes 300 ms after the request.
	check(partial.length > 0, "the reply appears while it streams, from the conversation's events",
	    `${partial} (first words on screen ${Date.now() - sentAt} ms after Enter, at most)`);
	check(await frame.$$eval("li.msg.pending", (els) => els.length) <= 1, "one bubble is written at a time");
	await frame.waitForFunction((r) => [...document.querySelectorAll("li.msg[data-role='bot'] .body")]
	    .some((e) => e.textContent === r), REPLY, { timeout: 10000 });
	check(true, "the whole reply is shown");
	// The streamed text can be whole a moment before the stored message
	// arrives and takes its place: wait for that, within a bound.
	check(await frame.waitForFunction(() => document.querySelectorAll("li.msg.pending").length === 0, null, { timeout: 10000 })
	    .then(() => true, () => false), "... in place of what streamed, no longer pending");
	check(await frame.$$eval(`${botSel} .body`, (els, r) => els.filter((e) => e.textContent === r).length, REPLY) === 1,
	    "... once");
	const cite = await frame.$eval(`${botSel}:last-child a.cite`, (a) => [a.textContent, a.href]).catch(() => null);
	check(cite && cite[0] === "Opening hours" && cite[1] === "https://garden.example/hours",
	    "the reply cites its knowledge-base source", JSON.stringify(cite));

	step = "text is text";
	const evil = "<img src=x onerror=alert(1)>";
	await frame.fill("#input", evil);
	await frame.press("#input", "Enter");
	await frame.waitForFunction((s) => [...document.querySelectorAll("li.msg[data-role='visitor'] .body")]
	    .some((e) => e.textContent === s), evil, { timeout: 10000 });
	const imgs = await frame.$$eval("#message-list img", (els) => els.length);
	check(imgs === 0, "a message with HTML is shown as text: no element made of it");
	await page.waitForTimeout(300);
	check(dialogs.length === 0, "and no script ran", dialogs.join(", "));

	step = "ask for a person";
	await frame.click("#handoff");
	await frame.waitForFunction(() => /person from (the|our) team/i.test(document.body.textContent), null, { timeout: 10000 });
	check(true, "asking for a person says one will reply");

	step = "an agent's reply arrives";
	check(streams.includes(200), "the frame holds the conversation's event stream", streams.join(","));
	check(await agentReply("Hello, this is Sam from the garden shop.") === 201, "an agent replies through the API");
	// Within 3 s: sooner than any catching up by polling would bring it.
	await frame.waitForFunction(() => [...document.querySelectorAll("li.msg[data-role='agent'] .body")]
	    .some((e) => e.textContent === "Hello, this is Sam from the garden shop."), null, { timeout: 3000 });
	check(true, "the agent's reply arrives in the open widget, through the event stream");

	step = "rate";
	{
		const h = { authorization: `Bearer ${env.AGENT_TOKEN}`, "content-type": "application/json" };
		const list = await (await fetch(`${env.BASE}/api/v1/conversations?limit=1`, { headers: h })).json();
		const id = list.items[0].id;
		await fetch(`${env.BASE}/api/v1/conversations/${id}`, { method: "PATCH", headers: h, body: JSON.stringify({ status: "resolved" }) });
		await frame.waitForSelector("#rating:not([hidden])", { timeout: 5000 });
		check(true, "once resolved, the widget asks for a rating");
		await frame.click("button.score[data-score='5']");
		await frame.fill("#rating-comment", "Quick and kind.");
		await frame.click("#rating-send");
		await frame.waitForFunction(() => /Thank you for your rating/.test(document.body.textContent), null, { timeout: 5000 });
		check(await frame.$eval("#rating", (e) => e.hidden), "... and thanks the visitor, once");
		const c = await (await fetch(`${env.BASE}/api/v1/analytics/summary`, { headers: h })).json();
		check(c.ratings >= 1 && c.rating_average > 0, "the rating counts in the analytics summary", JSON.stringify(c));
		await fetch(`${env.BASE}/api/v1/conversations/${id}`, { method: "PATCH", headers: h, body: JSON.stringify({ status: "open" }) });
	}

	step = "reload";
	await page.reload();
	const frame2 = await frameOf(page);
	await openChat(page);
	await frame2.waitForFunction(() => [...document.querySelectorAll("li.msg .body")]
	    .some((e) => e.textContent === "Hello, this is Sam from the garden shop."), null, { timeout: 10000 });
	const n = await frame2.$$eval("li.msg[data-role='visitor']", (els) => els.length);
	check(n >= 2, `after a reload the conversation is still there (third-party storage ${blocked ? "blocked" : "allowed"})`,
	    `${n} visitor messages`);
	const keptHere = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith("parley:")));
	check(keptHere.length >= 1, "the visitor's session is kept in the shop page's own storage", keptHere.join(","));

	step = "a narrow phone screen";
	await page.setViewportSize({ width: 360, height: 640 });
	// The layout follows the new viewport on a later frame: wait for it.
	const el = await frame2.frameElement();
	let box = await el.boundingBox();
	for (let i = 0; i < 100 && box && box.width > 360; i++) {
		await page.waitForTimeout(20);
		box = await el.boundingBox();
	}
	check(box && box.width <= 360 && box.width >= 300, "on a 360 px screen the chat fits the width", JSON.stringify(box));

	step = "an origin not allowed";
	const bad = await context.newPage();
	const sessions = [];
	bad.on("response", (r) => { if (r.url().includes("/api/v1/widget/sessions")) sessions.push(r.status()); });
	await bad.goto(env.BAD_URL);
	await bad.waitForTimeout(300);
	await bad.keyboard.press("Tab");
	await bad.keyboard.press("Enter");
	await bad.waitForTimeout(4000);
	const badFrame = bad.frames().find((x) => x.url().includes("/widget/frame"));
	let hasToken = await bad.evaluate(() => Object.keys(localStorage).some((k) =>
	    /"token"/.test(localStorage.getItem(k) || ""))).catch(() => false);
	if (badFrame && !hasToken)
		hasToken = await badFrame.evaluate(() => Object.keys(localStorage).some((k) =>
		    /"token"/.test(localStorage.getItem(k) || ""))).catch(() => false);
	check(!sessions.includes(201) && !hasToken, "on an origin not allowed the frame is refused and no session is made",
	    `session answers: ${sessions.join(",")}`);
	check(await bad.evaluate(() => document.querySelector("parley-widget") === null),
	    "and the widget removes itself from that page (its frame was refused)");
	await bad.close();
} catch (e) {
	check(false, `browser flow (${step})`, String(e && e.stack || e));
	try {
		await page.screenshot({ path: `${env.OUT}/failure.png`, fullPage: true });
	} catch (_) { /* the page may be gone */ }
}
if (failed > 0) {
	try {
		await page.screenshot({ path: `${env.OUT}/final.png`, fullPage: true });
	} catch (_) { /* ignore */ }
}
await browser.close();
process.exit(0);
