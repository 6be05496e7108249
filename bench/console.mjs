// bench/console.mjs: run by bench/console (see there). Environment: BASE,
// EMAIL, PASSWORD, LOADS, SECONDS, GO (a file to create when the event
// driver should start).
import { createRequire } from "node:module";
import { writeFileSync, readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
const require = createRequire(new URL("../t/browser/package.json", import.meta.url));
const { chromium } = require("playwright-core");
const env = process.env;
const here = new URL("..", import.meta.url).pathname;

// A refresh cookie for each cold context: the console restores its
// session from it, as after a reload.
async function refreshCookie() {
	const r = await fetch(`${env.BASE}/api/v1/auth/login`, { method: "POST",
		headers: { "content-type": "application/json", "x-parley-session": "cookie" },
		body: JSON.stringify({ email: env.EMAIL, password: env.PASSWORD }) });
	const m = (r.headers.get("set-cookie") ?? "").match(/parley_refresh=([^;]+)/);
	if (!m) throw new Error(`login: ${r.status}`);
	return { name: "parley_refresh", value: m[1], domain: new URL(env.BASE).hostname, path: "/api/v1/auth",
		httpOnly: true, secure: true, sameSite: "Strict" };
}
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const worst = (a) => Math.max(...a);

const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
const fcp = [], ready = [], bytes = [];
let files = null;
for (let i = 0; i < Number(env.LOADS); i++) {
	const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
	await ctx.addCookies([await refreshCookie()]);
	const page = await ctx.newPage();
	const cdp = await ctx.newCDPSession(page);
	await cdp.send("Network.enable");
	let total = 0;
	const seen = [];
	cdp.on("Network.loadingFinished", (e) => { total += e.encodedDataLength; });
	cdp.on("Network.responseReceived", (e) => seen.push(new URL(e.response.url).pathname));
	await page.goto(`${env.BASE}/inbox?filter=all`);
	await page.locator("ul.convs li").nth(24).waitFor({ timeout: 30000 });
	// Interactive: a click on the first conversation is answered.
	const t = await page.evaluate(() => performance.now());
	await page.locator("ul.convs a").first().click();
	await page.locator("#conv-title").waitFor();
	const clicked = await page.evaluate(() => performance.now());
	fcp.push(await page.evaluate(() => performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? NaN));
	ready.push(t);
	bytes.push(total);
	files ??= [...new Set(seen.filter((p) => p.startsWith("/console/")))];
	if (i === 0) console.log(`first load: list drawn at ${t.toFixed(0)} ms, a click answered ${(clicked - t).toFixed(0)} ms later`);
	await ctx.close();
}
const gz = files.map((f) => [f, gzipSync(readFileSync(`${here}console${f.slice("/console".length)}`), { level: 9 }).length]);
const gzTotal = gz.reduce((s, [, n]) => s + n, 0) + gzipSync(readFileSync(`${here}console/index.html`), { level: 9 }).length;
console.log(`console files for the inbox (gzip -9): ${gz.map(([f, n]) => `${f.replace("/console/", "")} ${n}`).join(", ")}, index.html; total ${gzTotal} bytes`);
console.log(`downloaded for the inbox, every response as sent (median of ${bytes.length}): ${median(bytes)} bytes`);
console.log(`first contentful paint, cold: median ${median(fcp).toFixed(0)} ms, worst ${worst(fcp).toFixed(0)} ms`);
console.log(`inbox list drawn (25 conversations), cold: median ${median(ready).toFixed(0)} ms, worst ${worst(ready).toFixed(0)} ms`);

// Live: the inbox open on all 10,000, 100 events a second.
const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
await ctx.addCookies([await refreshCookie()]);
const page = await ctx.newPage();
await page.addInitScript(() => {
	window.__long = [];
	new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__long.push(e.duration); })
	    .observe({ type: "longtask", buffered: true });
	window.__events = 0;
});
const apiCalls = [];
page.on("request", (r) => { if (/\/api\/v1\/conversations/.test(r.url())) apiCalls.push(Date.now()); });
await page.goto(`${env.BASE}/inbox?filter=all`);
await page.locator("ul.convs li").nth(24).waitFor({ timeout: 30000 });
await page.locator("#live", { hasText: "live" }).waitFor({ timeout: 30000 });
await page.evaluate(() => { window.__long.length = 0; });
// Chromium's own trace too: every task of the page's main thread.
await browser.startTracing(page, { categories: ["devtools.timeline", "toplevel"] });
const before = apiCalls.length;
writeFileSync(env.GO, "");
const t0 = Date.now();
const lag = [];
while (Date.now() - t0 < Number(env.SECONDS) * 1000) {
	const s = Date.now();
	await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
	lag.push(Date.now() - s);
	await page.waitForTimeout(100);
}
await page.waitForTimeout(1500);
const trace = JSON.parse((await browser.stopTracing()).toString("utf8"));
const events = trace.traceEvents ?? trace;
const mains = new Set(events.filter((e) => e.name === "thread_name" && e.args?.name === "CrRendererMain").map((e) => `${e.pid}:${e.tid}`));
const tasks = events.filter((e) => (e.name === "RunTask" || e.name === "ThreadControllerImpl::RunTask") && e.dur !== undefined &&
    mains.has(`${e.pid}:${e.tid}`)).map((e) => e.dur / 1000);
if (!tasks.length) console.log(`(trace: ${events.length} events; names: ${[...new Set(events.map((e) => e.name))].slice(0, 30).join(", ")}; main threads ${[...mains].join(" ")})`);
console.log(`Chromium's trace: ${tasks.length} tasks on the page's main threads, longest ${tasks.length ? worst(tasks).toFixed(1) : 0} ms, ` +
    `${tasks.filter((d) => d > 200).length} over 200 ms, ${tasks.filter((d) => d > 50).length} over 50 ms`);
const long = await page.evaluate(() => window.__long);
console.log(`with 100 events/s for ${env.SECONDS} s: ${long.length} long tasks (> 50 ms), longest ${long.length ? worst(long).toFixed(0) : 0} ms; ` +
    `a frame's wait: median ${median(lag)} ms, worst ${worst(lag)} ms; the page's conversation requests: ${apiCalls.length - before}`);
console.log(`the list then holds ${await page.locator("ul.convs li").count()} conversations`);

// The captcha: digests a second in the page, and pow_difficulty 18.
const rate = await page.evaluate(async () => {
	const enc = new TextEncoder();
	const c = "pow1.1796194120.18.9ca5551a53ebea8963528f9937f8e6ef.X4VUsoWJSUE3vM4hhFIXkWlcfziqH4YPUDnbnCyZHLM";
	const t = performance.now();
	let n = 0;
	for (; performance.now() - t < 3000; n++) await crypto.subtle.digest("SHA-256", enc.encode(`${c}.${n}`));
	return n / ((performance.now() - t) / 1000);
});
console.log(`proof of work: ${rate.toFixed(0)} SHA-256 digests/s in the page; pow_difficulty 18 takes 2^18 = 262,144 on average: ${(262144 / rate).toFixed(1)} s`);
await browser.close();
