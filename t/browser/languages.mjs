// The widget in each shipped language and in a right-to-left one, in a
// real browser (Debian's chromium via playwright-core), run by
// t/98-languages-browser.t: a visitor whose browser speaks a language the
// chatbot offers gets the widget in it (every string from its catalogue,
// none missing), the welcome written for it, dates in its format; an
// Arabic visitor gets the page mirrored (dir="rtl"). The host page is on
// another site than parley's.
//
// Environment: BASE, HOST_URL, TOKEN, BOT_ID, CHROMIUM.
import { env, check, api, launch, newPage, chatAt, finish } from "./lib.mjs";

const SHIPPED = ["en", "de", "fr", "es", "da", "sv", "et"];
const REGION = { en: "en-GB", de: "de-DE", fr: "fr-FR", es: "es-ES", da: "da-DK", sv: "sv-SE", et: "et-EE", ar: "ar-EG" };
const cat = {};
for (const l of SHIPPED) cat[l] = await (await fetch(`${env.BASE}/widget/i18n/${l}.json`)).json();

async function opened(locale) {
	const page = await newPage(browser, { locale: REGION[locale] });
	return { page, frame: await chatAt(page, env.HOST_URL) };
}

const browser = await launch();
let step = "start";
try {
	for (const l of SHIPPED) {
		step = `the widget in ${l}`;
		const { page, frame } = await opened(l);
		const seen = await frame.evaluate(() => ({
			lang: document.documentElement.lang, dir: document.documentElement.dir,
			missing: document.documentElement.getAttribute("data-missing"),
			handoff: document.getElementById("handoff").textContent,
			disclosure: document.getElementById("disclosure").textContent,
			consent: document.getElementById("consent-title").textContent,
			accept: document.getElementById("consent-accept").textContent,
			hint: document.getElementById("hint").textContent,
			send: document.getElementById("send").textContent,
			welcome: document.querySelector("[data-welcome] .body")?.textContent ?? "",
			who: document.querySelector("[data-welcome] .who")?.textContent ?? "",
			all: [...document.querySelectorAll("[data-i18n]")].map((e) => [e.getAttribute("data-i18n"), e.textContent]),
		}));
		const c = cat[l];
		check(seen.lang === l && seen.dir === "ltr", `${l}: the browser's language is the widget's`, JSON.stringify([seen.lang, seen.dir]));
		check(seen.missing === "", `${l}: no string missing`, seen.missing);
		const wrong = seen.all.filter(([k, t]) => t !== c[k]);
		check(wrong.length === 0 && seen.handoff === c.handoff && seen.disclosure === c.disclosure && seen.consent === c.consentTitle
		    && seen.accept === c.acceptAll && seen.hint === c.hint && seen.send === c.send, `${l}: every string of the page from its catalogue`,
		    JSON.stringify(wrong.slice(0, 3)));
		check(seen.who === c.whoBot, `${l}: the bot is named in it`, seen.who);
		const welcome = l === "de" ? "Hallo! Wie können wir helfen?" : l === "et" ? "Tere! Kuidas saame aidata?" : "Hello! How can we help?";
		check(seen.welcome === welcome, `${l}: the welcome written for it (or the default)`, seen.welcome);
		await page.context().close();
	}

	step = "dates in the visitor's format";
	const hours = await api("PUT", `/api/v1/chatbots/${env.BOT_ID}/hours`, { enabled: true, timezone: "Europe/Berlin",
		weekly: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].map((day) => ({ day, opens: "23:59", closes: "24:00" })) }, env.TOKEN);
	check(hours.status === 200, "the shop opens for one minute a day (closed now, almost surely)", String(hours.status));
	{
		const { page, frame } = await opened("de");
		if (await frame.isVisible("#consent")) await frame.click("#consent-reject");
		await frame.click("#handoff");
		await frame.waitForSelector("#offline", { state: "visible", timeout: 10000 });
		const text = await frame.textContent("#offline-text");
		check(/Wir sind wieder da: (Montag|Dienstag|Mittwoch|Donnerstag|Freitag|Samstag|Sonntag)/.test(text) || /Wir haben gerade geschlossen/.test(text),
		    "when the shop opens again is said in German, with a German weekday", text);
		check(/Wir sind wieder da: \S+ \d{2}:\d{2}\./.test(text) && !/[AP]M/.test(text),
		    "... and a 24-hour time (the visitor's own clock)", text);
		await page.context().close();
	}
	await api("PUT", `/api/v1/chatbots/${env.BOT_ID}/hours`, { enabled: false, timezone: "UTC", weekly: [] }, env.TOKEN);

	step = "right to left";
	const { page, frame } = await opened("ar");
	const rtl = await frame.evaluate(() => ({ dir: document.documentElement.dir, lang: document.documentElement.lang,
		missing: document.documentElement.getAttribute("data-missing"),
		welcome: document.querySelector("[data-welcome] .body")?.textContent ?? "" }));
	check(rtl.dir === "rtl" && rtl.lang === "ar", "an Arabic visitor gets the page right to left", JSON.stringify(rtl));
	check(rtl.missing === "", "... with every string (English, until an Arabic catalogue ships)", rtl.missing);
	check(rtl.welcome === "مرحبا! كيف يمكننا المساعدة؟", "... and the Arabic welcome", rtl.welcome);
	if (await frame.isVisible("#consent")) await frame.click("#consent-reject");
	await frame.fill("#input", "مرحبا");
	await frame.click("#send");
	await frame.waitForSelector("li.msg[data-role=visitor]", { timeout: 10000 });
	const box = await frame.evaluate(() => {
		const r = (e) => e.getBoundingClientRect();
		const log = r(document.getElementById("messages")), mine = r(document.querySelector("li.msg[data-role=visitor]"));
		const bot = r(document.querySelector("li.msg[data-role=bot]"));
		return { mineLeft: mine.left - log.left, mineRight: log.right - mine.right, botRight: log.right - bot.right,
			close: r(document.getElementById("close")).left, title: r(document.getElementById("bot-name")).left,
			send: r(document.getElementById("send")).left, input: r(document.getElementById("input")).left };
	});
	check(box.mineLeft < 30 && box.mineRight > 40, "the visitor's message sits on the left", JSON.stringify(box));
	check(box.botRight < 30, "... the bot's on the right", JSON.stringify(box));
	check(box.close < box.title, "the close button is at the left end of the header", JSON.stringify(box));
	check(box.send < box.input, "the send button is left of the text box", JSON.stringify(box));
	await page.context().close();
} catch (e) {
	check(false, `the browser run ended cleanly (${step})`, String(e && e.stack || e));
}
await finish(browser);
