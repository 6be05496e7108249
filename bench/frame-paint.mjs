// bench/frame-paint.mjs URL N: loads the chat frame N times in a fresh
// headless chromium page each (cold cache) and prints the median and worst
// first contentful paint, from the browser's own paint timing.
import { createRequire } from "node:module";
const require = createRequire(new URL("../t/browser/package.json", import.meta.url));
const { chromium } = require("playwright-core");
const [url, n = "10"] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
const fcp = [];
for (let i = 0; i < Number(n); i++) {
	const context = await browser.newContext({ ignoreHTTPSErrors: true });
	const page = await context.newPage();
	await page.goto(url, { waitUntil: "load" });
	const t = await page.evaluate(() => new Promise((done) => {
		const e = performance.getEntriesByName("first-contentful-paint")[0];
		if (e)
			return done(e.startTime);
		new PerformanceObserver((l) => done(l.getEntries()[0].startTime))
		    .observe({ type: "paint", buffered: true });
	}));
	fcp.push(t);
	await context.close();
}
await browser.close();
fcp.sort((a, b) => a - b);
console.log(`frame first contentful paint over ${fcp.length} cold loads: median ${fcp[fcp.length >> 1].toFixed(0)} ms, worst ${fcp[fcp.length - 1].toFixed(0)} ms`);
