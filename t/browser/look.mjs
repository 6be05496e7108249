// The widget's look and its messages' words in a real browser (Debian's
// chromium via playwright-core), run by t/95-widget-look-browser.t: in the
// console an admin is refused an unreadable accent and saves a readable
// one; on a shop's page (another site than parley's) the launcher wears
// it, on the side chosen, and so does the chat, with the logo and the
// bot's name, also when the frame could not read the look at first (it
// reads it again); the offline responder's answer is a few sentences, rendered
// from Markdown, citing every document it used; an agent's reply carries
// their display name, its link shows where it goes, and a javascript:
// link and raw HTML stay text; once a person has the conversation, the
// "Talk to a person" button goes.
//
// Environment: BASE, HOST_URL, EMAIL and PASSWORD (the admin), TOKEN (the
// admin's access token, for the agent's reply), BOT_ID, CHROMIUM; PGHOST,
// PGPORT and PGDATABASE (the test's database, for its superuser).
import { execFileSync } from "node:child_process";
import { env, check, api, launch, newPage, login, frameOf, openChat, waitText, finish } from "./lib.mjs";

const ACCENT = "#0b5fff", ACCENT_RGB = [11, 95, 255];

// The colour of pixel (x, y) of 'page' as the screen shows it: the
// launcher lives in a closed shadow root no script can read, so its look
// is checked the way a person sees it.
async function pixel(page, x, y) {
	const png = (await page.screenshot({ clip: { x, y, width: 1, height: 1 } })).toString("base64");
	return page.evaluate(async (src) => {
		const img = new Image();
		img.src = `data:image/png;base64,${src}`;
		await img.decode();
		const c = document.createElement("canvas");
		c.width = c.height = 1;
		const g = c.getContext("2d");
		g.drawImage(img, 0, 0);
		return [...g.getImageData(0, 0, 1, 1).data.slice(0, 3)];
	}, png);
}
const near = (a, b) => a.every((v, i) => Math.abs(v - b[i]) <= 3);

// 'sql' as PostgreSQL's superuser on the test's database.
const psql = (sql) => execFileSync("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", env.PGHOST, "-p", env.PGPORT,
    "-U", "postgres", "-d", env.PGDATABASE, "-c", sql], { stdio: ["ignore", "ignore", "inherit"] });

const browser = await launch();
let step = "start";
try {
	step = "the console refuses an unreadable accent";
	const admin = await newPage(browser);
	await login(admin, env.EMAIL);
	await admin.goto(`${env.BASE}/settings/chatbots?id=${env.BOT_ID}`);
	const accent = admin.getByLabel(/^Accent colour/);
	await accent.waitFor({ timeout: 10000 }).catch(async (e) => { throw new Error(`${e}: ${(await admin.textContent("main")).slice(0, 3000)}`); });
	await accent.fill("#ffff00");
	await admin.getByRole("button", { name: "Save look" }).click();
	await waitText(admin, "p.error", "contrast");
	const said = await admin.locator("p.error", { hasText: "contrast" }).first().textContent();
	check(/1\.07:1/.test(said) && /4\.5:1/.test(said), "yellow under white text is refused, with its ratio and the one needed", said);
	check((await api("GET", `/api/v1/chatbots/${env.BOT_ID}`, null, env.TOKEN)).json.accent_color === "#1f2937",
	    "... and nothing was saved");
	await accent.fill(ACCENT);
	await admin.locator("select[name=launcher_position]").selectOption("left");
	await admin.getByLabel(/^The bot's name/).fill("Shoppy");
	await admin.getByRole("button", { name: "Save look" }).click();
	await waitText(admin, "p.ok", "Saved.");
	const b = (await api("GET", `/api/v1/chatbots/${env.BOT_ID}`, null, env.TOKEN)).json;
	check(b.accent_color === ACCENT && b.launcher_position === "left" && b.display_name === "Shoppy",
	    "a readable accent, the left side and a name are saved", JSON.stringify([b.accent_color, b.launcher_position, b.display_name]));

	step = "the shop's page, while parley cannot read the look";
	// parleyd answers 503 for the configuration while its database role
	// may not read logos (the frame itself still loads): the frame keeps
	// the default look, then wears the chatbot's once the read works again.
	psql("REVOKE SELECT ON chatbot_logos FROM parley_runtime");
	const page = await newPage(browser);
	// What the page fetched of parley's, for the message should the frame
	// not wear the accent.
	const fetched = [];
	page.on("response", async (r) => {
		if (r.url().startsWith(env.BASE))
			fetched.push(`${r.status()} ${r.url().slice(env.BASE.length)}` +
			    (r.url().includes("/widget/config") ? ` ${await r.text().catch((e) => String(e))}` : ""));
	});
	page.on("requestfailed", (r) => fetched.push(`failed ${r.url()}: ${r.failure()?.errorText}`));
	await page.goto(env.HOST_URL);
	const frame0 = await frameOf(page);
	try {
		await frame0.waitForSelector("html[data-config]", { state: "attached", timeout: 30000 });
		check(!fetched.some((f) => f.startsWith("200 /api/v1/widget/config")) &&
		    await frame0.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue("--accent").trim()) !== ACCENT,
		    "a frame that could not read the look boots with the default one", fetched.join("\n"));
	} finally {
		psql("GRANT SELECT ON chatbot_logos TO parley_runtime");
	}
	step = "the shop's page";
	// The frame reads the look again 2 s after it failed. It is hidden
	// until the chat opens, and a hidden frame draws no animation frames:
	// poll by the clock, not by requestAnimationFrame (Playwright's
	// default, which would wait for ever once the first try was false).
	await frame0.waitForFunction(() => getComputedStyle(document.documentElement).getPropertyValue("--accent").trim() === "#0b5fff",
	    null, { timeout: 30000, polling: 100 }).catch(async (e) => {
		const seen = await frame0.evaluate(() => [location.href, getComputedStyle(document.documentElement).getPropertyValue("--accent"),
		    document.documentElement.hasAttribute("data-config")]).catch((x) => String(x));
		throw new Error(`${e}\nthe frame: ${JSON.stringify(seen)} (detached: ${frame0.isDetached()})\nfetched: ${fetched.join("\n")}`);
	});
	const vh = page.viewportSize().height;
	// The launcher: 56 px, 20 px from the left and bottom edges; a point
	// inside its ring, clear of its icon.
	let launcher = [];
	for (let i = 0; i < 50 && !near(launcher, ACCENT_RGB); i++) {
		launcher = await pixel(page, 28, vh - 48);
		if (!near(launcher, ACCENT_RGB)) await page.waitForTimeout(100);
	}
	check(near(launcher, ACCENT_RGB), "the launcher wears the accent, bottom left", JSON.stringify(launcher));
	check(!near(await pixel(page, page.viewportSize().width - 28, vh - 48), ACCENT_RGB), "... not on the right");

	const frame = await openChat(page);
	await frame.waitForFunction(() => { const l = document.getElementById("logo"); return !l.hidden && l.complete; },
	    null, { timeout: 10000 }).catch(() => {});
	const look = await frame.evaluate(() => {
		const logo = document.getElementById("logo");
		return { bar: getComputedStyle(document.querySelector(".bar")).backgroundColor,
			logo: !logo.hidden && logo.complete ? logo.naturalWidth : 0,
			fromParley: logo.src.startsWith(location.origin + "/api/v1/widget/logo?") };
	});
	check(look.bar === "rgb(11, 95, 255)", "the chat's header wears it too", look.bar);
	check(look.logo === 64 && look.fromParley, "the logo shows, from parley's origin", JSON.stringify(look));

	step = "the offline responder";
	await frame.fill("#input", "Are returns free, and how much does express shipping cost?");
	await frame.click("#send");
	await frame.waitForSelector("li.msg[data-role=bot][data-seq] .cites", { timeout: 15000 });
	const bot = await frame.evaluate(() => {
		const li = [...document.querySelectorAll("li.msg[data-role=bot][data-seq]")].pop();
		return { who: li.querySelector(".who").textContent, text: li.querySelector(".body").textContent,
			strong: [...li.querySelectorAll(".body strong")].map((s) => s.textContent),
			cites: [...li.querySelectorAll(".cites li")].map((c) => [c.textContent, c.querySelector("a")?.href ?? null]),
			visitor: getComputedStyle(document.querySelector("li.msg[data-role=visitor]")).backgroundColor };
	});
	check(bot.who === "Shoppy", "the bot's answer is signed with its name", bot.who);
	check(/free/.test(bot.text) && /9 euros/.test(bot.text), "it answers both questions from the knowledge base", bot.text);
	check(!/[#*]/.test(bot.text) && !/Here is what I found/.test(bot.text), "... in sentences, no raw Markdown, no pasted chunk", bot.text);
	check(bot.text.length < 700, "... and briefly", String(bot.text.length));
	check(bot.strong.includes("free"), "... its bold text bold", JSON.stringify(bot.strong));
	check(bot.cites.length === 2 && bot.cites.some(([t, h]) => t === "Returns policy" && h === "https://shop.example/returns")
	    && bot.cites.some(([t, h]) => t === "Shipping" && h === null), "both documents cited, the one with a page by its link", JSON.stringify([bot.cites, bot.text]));
	check(bot.visitor === "rgb(11, 95, 255)", "the visitor's message wears the accent", bot.visitor);
	check(await frame.isVisible("#handoff"), "while the bot has it, the visitor may ask for a person");

	step = "an agent's reply";
	const list = await api("GET", "/api/v1/conversations?limit=1", null, env.TOKEN);
	const conv = list.json.items[0].id;
	const reply = await api("POST", `/api/v1/conversations/${conv}/messages`, { content:
	    "Hello! See [our returns page](https://shop.example/returns) and **keep the receipt**.\n\n" +
	    "- [click me](javascript:alert(1))\n- <img src=x onerror=alert(2)>" }, env.TOKEN);
	check(reply.status === 201, "the agent replies", String(reply.status));
	await frame.waitForSelector("li.msg[data-role=agent] .body strong", { timeout: 15000 });
	const agent = await frame.evaluate(() => {
		const li = document.querySelector("li.msg[data-role=agent]");
		const body = li.querySelector(".body");
		return { who: li.querySelector(".who").textContent, links: [...body.querySelectorAll("a")].map((a) => [a.textContent, a.href]),
			host: body.querySelector(".link-host")?.textContent ?? "", imgs: body.querySelectorAll("img").length,
			items: body.querySelectorAll("li").length, text: body.textContent };
	});
	check(agent.who === "Ines", "the agent's reply carries their display name", agent.who);
	check(agent.links.length === 1 && agent.links[0][1] === "https://shop.example/returns", "... its one http(s) link is a link",
	    JSON.stringify(agent.links));
	check(agent.host === " (shop.example)", "... shown with where it goes", agent.host);
	check(agent.text.includes("[click me](javascript:alert(1))"), "a javascript: link stays text", agent.text);
	check(agent.imgs === 0 && agent.text.includes("<img src=x onerror=alert(2)>"), "raw HTML stays text", agent.text);
	check(agent.items === 2, "the list is a list", String(agent.items));
	await frame.waitForSelector("#handoff", { state: "hidden", timeout: 10000 });
	check(true, "once a person has the conversation, \"Talk to a person\" goes");
} catch (e) {
	check(false, `the browser run ended cleanly (${step})`, String(e && e.stack || e));
}
await finish(browser);
