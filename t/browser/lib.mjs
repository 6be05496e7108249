// lib.mjs: what the console's browser scripts share (t/browser/console,
// inbox, admin, oidc): one JSON line per check on stdout, which the .t
// file reads; axe-core on a page; the screenshots of docs/console.md;
// a page that records dialogs and errors; the API over fetch; the end.
import { chromium } from "playwright-core";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

export const env = process.env;
const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
let failed = 0;
export const dialogs = [];
export const errors = [];

export function check(ok, name, diag) {
	if (!ok) failed++;
	process.stdout.write(JSON.stringify({ ok: !!ok, name, diag: diag ?? "" }) + "\n");
	return ok;
}

export async function axe(page, what) {
	await page.evaluate(axeSource);
	const v = await page.evaluate(async () => {
		const r = await window.axe.run(document, { resultTypes: ["violations"] });
		return r.violations.filter((x) => x.impact === "serious" || x.impact === "critical").map((x) => `${x.id}: ${x.nodes[0]?.target}`);
	});
	check(v.length === 0, `axe-core: no serious or critical violation on ${what}`, v.join(", "));
}

// make screenshots (dev/screenshots) sets SCREENSHOTS: the pages shown in
// docs/console.md are taken there; otherwise none.
export async function shot(page, name, fullPage = true) {
	if (env.SCREENSHOTS) await page.screenshot({ path: `${env.SCREENSHOTS}/${name}.png`, fullPage });
}

// The API at BASE: {status, json}.
export async function api(method, path, body, token, headers = {}) {
	const h = { "content-type": "application/json", ...headers };
	if (token) h.authorization = `Bearer ${token}`;
	const r = await fetch(env.BASE + path, { method, headers: h, body: body ? JSON.stringify(body) : undefined });
	return { status: r.status, json: await r.json().catch(() => null) };
}

export async function launch(args = []) {
	return chromium.launch({ executablePath: env.CHROMIUM || "/usr/bin/chromium",
		args: ["--no-sandbox", "--disable-dev-shm-usage", ...args], headless: true });
}

// Watches 'page': its dialogs (HTML that ran) and its errors. A refused
// request (a 409 the page explains) is logged by the browser as "Failed
// to load resource": that is no error of the page's.
export function watch(page) {
	page.on("dialog", (d) => { dialogs.push(d.message()); d.dismiss(); });
	page.on("pageerror", (e) => errors.push(String(e)));
	page.on("console", (m) => {
		if (m.type() === "error" && !/^Failed to load resource/.test(m.text())) errors.push(m.text());
	});
	return page;
}

// A page in a context of its own.
export async function newPage(browser, opts = {}) {
	const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, ignoreHTTPSErrors: true, ...opts });
	return watch(await ctx.newPage());
}

// The chat frame the widget's loader put into 'page'.
export async function frameOf(page) {
	for (let i = 0; i < 200; i++) {
		const f = page.frames().find((x) => x.url().includes("/widget/frame"));
		if (f) return f;
		await page.waitForTimeout(50);
	}
	throw new Error("no chat frame");
}

// The chat of a host page 'page' opened as a person does (the launcher is
// the page's first focusable element, in a closed shadow root), its
// privacy choices saved: the frame.
export async function openChat(page) {
	const frame = await frameOf(page);
	await page.keyboard.press("Tab");
	await page.keyboard.press("Enter");
	await frame.waitForSelector("#input", { state: "visible", timeout: 10000 });
	// The banner follows the chatbot's configuration (its policy version).
	await frame.waitForSelector("html[data-config]", { state: "attached", timeout: 10000 });
	if (await frame.isVisible("#consent")) {
		await frame.click("#consent-reject");
		await frame.waitForSelector("#consent", { state: "hidden", timeout: 5000 });
	}
	return frame;
}

// 'page' at 'url' (a shop's page) with its chat opened as a person opens
// it, its configuration and words read; the privacy choices left to the
// caller: the frame.
export async function chatAt(page, url) {
	await page.goto(url);
	const frame = await frameOf(page);
	await page.keyboard.press("Tab");
	await page.keyboard.press("Enter");
	await frame.waitForSelector("#input", { state: "visible", timeout: 10000 });
	await frame.waitForSelector("html[data-config]", { state: "attached", timeout: 10000 });
	return frame;
}

// Until an element matching 'sel' in 'frame' (a page or a frame) holds
// 'text'.
export const waitText = (frame, sel, text, timeout = 10000) => frame.waitForFunction(([s, t]) =>
    [...document.querySelectorAll(s)].some((e) => e.textContent.includes(t)), [sel, text], { timeout });

// The console's login page, as a person uses it (PASSWORD).
export async function login(page, email) {
	await page.goto(`${env.BASE}/login`);
	await page.getByLabel("E-mail").fill(email);
	await page.getByLabel("Password").fill(env.PASSWORD);
	await page.getByRole("button", { name: "Log in" }).click();
	await page.locator("h1", { hasText: "Hello," }).waitFor();
}

// The last checks, then the exit status the .t file sees.
export async function finish(browser) {
	check(dialogs.length === 0, "no dialog opened (HTML stayed text)", dialogs.join(" | "));
	check(errors.length === 0, "no page logged an error", errors.join(" | "));
	await browser.close();
	process.exit(failed ? 1 : 0);
}

// A provider's own pages (oidc-provider's development interactions): its
// login form when it does not know the browser, then its consent, until
// the browser is back at BASE. 'leave': wait for the browser to get
// there first (a provider that knows the browser sends it straight back).
export async function atProvider(page, who, leave = false) {
	if (leave) await page.waitForURL((u) => !u.href.startsWith(env.BASE), { timeout: 15000 });
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
