// Consent in a real browser (Debian's chromium via playwright-core), run
// by t/96-consent-browser.t: on a shop's page (another site than
// parley's) the banner sits below the conversation, the welcome in view,
// with "Accept all", "Reject all" and "Choose" of equal weight and the
// company's privacy policy linked; each answer is stored with the
// company's policy version; a reload keeps it (the host page's storage,
// cross-site); the menu's "Privacy choices" changes it; a new policy
// version asks again.
//
// Environment: BASE, HOST_URL, TOKEN (the owner's), POLICY_URL, CHROMIUM.
import { env, check, api, launch, newPage, chatAt, finish } from "./lib.mjs";

async function consents() {
	return (await api("GET", "/api/v1/consents", null, env.TOKEN)).json.items;
}
const opened = (page) => chatAt(page, env.HOST_URL);

const browser = await launch();
let step = "start";
try {
	step = "the banner";
	const page = await newPage(browser);
	let frame = await opened(page);
	await frame.waitForSelector("#consent", { state: "visible", timeout: 10000 });
	const box = await frame.evaluate(() => {
		const r = (id) => document.getElementById(id).getBoundingClientRect();
		const welcome = document.querySelector("[data-welcome]").getBoundingClientRect();
		const log = r("messages"), banner = r("consent");
		const btn = ["consent-accept", "consent-reject", "consent-choose"].map((id) => {
			const e = document.getElementById(id), s = getComputedStyle(e), b = e.getBoundingClientRect();
			return [Math.round(b.width), Math.round(b.height), s.fontWeight, s.backgroundColor, s.color, s.fontSize];
		});
		const a = document.getElementById("consent-policy");
		return { below: banner.top >= log.bottom - 1, welcome: welcome.top >= log.top && welcome.bottom <= log.bottom,
			btn, link: a.hidden ? null : a.href, rel: a.rel };
	});
	check(box.below, "the banner is below the conversation, not over it", JSON.stringify(box));
	check(box.welcome, "... and the welcome stays in view");
	const [a, r, c] = box.btn;
	check(JSON.stringify(a) === JSON.stringify(r) && JSON.stringify(r) === JSON.stringify(c),
	    "Accept all, Reject all and Choose have equal weight (size, type, colours)", JSON.stringify(box.btn));
	check(box.link === env.POLICY_URL && /noopener/.test(box.rel), "the company's privacy policy is linked", String(box.link));

	step = "accept all";
	await frame.click("#consent-accept");
	await frame.waitForSelector("#consent", { state: "hidden", timeout: 5000 });
	let all = await consents();
	check(all.length === 1 && all[0].policy_version === "2026-12" &&
	    JSON.stringify(all[0].categories) === JSON.stringify(["analytics", "essential", "marketing"]),
	    "Accept all is stored with the company's policy version", JSON.stringify(all));

	step = "a reload";
	// The answer is in the shop page's own storage (the loader keeps it).
	await page.waitForFunction(() => Object.keys(localStorage).some((k) =>
	    /"parley:consent:pk_/.test(localStorage.getItem(k) ?? "")), null, { timeout: 5000 });
	frame = await opened(page);
	// The kept state is applied (the welcome shows) before the banner's fate is read.
	await frame.waitForSelector("[data-welcome]", { timeout: 10000 });
	check(!(await frame.isVisible("#consent")), "after a reload the answer holds (the shop page's storage, cross-site)");

	step = "changed from the menu";
	await frame.click("#menu");
	await frame.click("#menu-privacy");
	await frame.waitForSelector("#consent", { state: "visible", timeout: 5000 });
	check(await frame.isChecked("#consent-analytics") && await frame.isChecked("#consent-marketing"),
	    "the menu's Privacy choices shows the choices given");
	await frame.uncheck("#consent-marketing");
	await frame.click("#consent-save");
	await frame.waitForSelector("#consent", { state: "hidden", timeout: 5000 });
	all = await consents();
	check(all.length === 2 && JSON.stringify(all[0].categories) === JSON.stringify(["analytics", "essential"]),
	    "the new choice is stored, the old one kept", JSON.stringify(all.map((x) => x.categories)));

	step = "a new policy";
	const p = await api("PATCH", "/api/v1/company", { settings: { privacy_policy_version: "2027-01" } }, env.TOKEN);
	check(p.status === 200, "the company publishes a new policy version", String(p.status));
	// The configuration may be cached for a minute: a new visit after it.
	await page.context().clearCookies();
	await page.route("**/api/v1/widget/config*", (route) => route.continue({ headers: { ...route.request().headers(), "cache-control": "no-cache" } }));
	frame = await opened(page);
	await frame.waitForSelector("#consent", { state: "visible", timeout: 10000 });
	check(true, "a visitor who answered the old version is asked again");
	await frame.click("#consent-reject");
	await frame.waitForSelector("#consent", { state: "hidden", timeout: 5000 });
	all = await consents();
	check(all[0].policy_version === "2027-01" && JSON.stringify(all[0].categories) === JSON.stringify(["essential"]),
	    "Reject all is stored with the new version", JSON.stringify(all[0]));
} catch (e) {
	check(false, `the browser run ended cleanly (${step})`, String(e && e.stack || e));
}
await finish(browser);
