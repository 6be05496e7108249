// The console's inbox in a real browser (run by t/90-console-inbox.t,
// which reads one JSON line per check: {"ok", "name", "diag"}). Two
// contexts: the agent in the console over HTTPS, the visitor in the
// widget on a shop page of another site (http://localhost:PORT).
//
// Environment: BASE (parley, https), HOST_URL (the shop page), OUT,
// CHROMIUM, AGENT_EMAIL and MEMBER_EMAIL (accounts, PASSWORD for both).
import { env, check, axe, shot, api, launch, newPage as pageIn, finish, openChat, waitText, login } from "./lib.mjs";

const browser = await launch(["--autoplay-policy=no-user-gesture-required"]);
const newPage = (opts) => pageIn(browser, opts);
let step = "start";
try {
	// The agent: notifications allowed for parley's origin, and every
	// notification the page makes recorded (the browser shows none
	// headless).
	step = "the agent logs in";
	const agent = await newPage();
	await agent.context().grantPermissions(["notifications"], { origin: env.BASE });
	await agent.addInitScript(() => {
		window.__notes = [];
		const N = window.Notification;
		window.Notification = class extends N {
			constructor(title, o) { super(title, o); window.__notes.push([title, o?.body ?? ""]); }
			static get permission() { return N.permission; }
			static requestPermission() { return N.requestPermission(); }
		};
	});
	await login(agent, env.AGENT_EMAIL);
	await agent.getByRole("link", { name: "Open the inbox" }).click();
	await agent.locator("h1", { hasText: "Inbox" }).waitFor();
	await agent.locator("#live", { hasText: "live" }).waitFor({ timeout: 15000 });
	check(true, "the inbox opens and holds the company's event stream");
	await agent.getByLabel(/Notify me/).check();
	await agent.waitForFunction(() => localStorage.getItem("parley.notify") === "1", null, { timeout: 5000 }).catch(() => {});
	check(await agent.evaluate(() => localStorage.getItem("parley.notify")) === "1", "the agent opts in to notifications");
	await agent.getByLabel("Show").selectOption("all");
	await agent.locator("#live", { hasText: "live" }).waitFor({ timeout: 15000 });
	await agent.locator("ul.convs li").first().waitFor();
	// The other chatbot's thirty: 25 a page, then the older ones.
	// A filter draws the page anew: the old list goes first.
	const refilter = async (label, option) => {
		const old = await agent.$("ul.convs");
		await agent.getByLabel(label).selectOption(option);
		await agent.waitForFunction((o) => o && !o.isConnected, old);
	};
	await refilter("Chatbot", { label: "Other bot" });
	await agent.locator("ul.convs li").nth(24).waitFor();
	check(await agent.locator("ul.convs li").count() === 25, "one chatbot's conversations, 25 a page",
	    String(await agent.locator("ul.convs li").count()));
	await agent.getByRole("button", { name: "Older conversations" }).click();
	await agent.locator("ul.convs li").nth(29).waitFor();
	check(await agent.locator("ul.convs li").count() === 30 && !(await agent.getByRole("button", { name: "Older conversations" }).isVisible()),
	    "... and the older ones on the next page (the API's cursor), to the end");
	await refilter("Chatbot", { label: "Shop helper" });
	await agent.getByText("No conversations here.").waitFor();
	check(await agent.getByText("No conversations here.").isVisible(), "an empty inbox says so");
	await axe(agent, "the inbox");

	// The visitor writes in the widget, on a page of another site.
	step = "the visitor writes";
	const visitor = await newPage({ viewport: { width: 1000, height: 800 } });
	await visitor.goto(env.HOST_URL);
	const frame = await openChat(visitor);
	await frame.fill("#input", "Do you ship to Norway? <img src=x onerror=alert(1)>");
	await frame.press("#input", "Enter");
	await waitText(frame, "li.msg[data-role='bot'] .body", "Norway");

	step = "the conversation arrives live";
	const item = agent.locator("ul.convs li").first();
	await item.waitFor({ timeout: 10000 });
	check(await agent.locator("ul.convs li").count() === 1, "the new conversation appears in the list, without a reload");

	step = "handoff";
	await frame.click("#handoff");
	await frame.waitForFunction(() => /person from (the|our) team/i.test(document.body.textContent), null, { timeout: 10000 });
	await agent.locator("ul.convs li.unread").waitFor({ timeout: 10000 });
	check(/waiting for a person/.test(await item.textContent()), "the handoff shows live: waiting for a person", await item.textContent());
	check(/^\(1\) /.test(await agent.title()), "the unread count is in the tab's title", await agent.title());
	await agent.waitForFunction(() => window.__notes.length > 0, null, { timeout: 5000 }).catch(() => {});
	const notes = await agent.evaluate(() => window.__notes);
	check(notes.some(([t]) => /waiting for a person/.test(t)), "a browser notification tells the agent", JSON.stringify(notes));

	// A visitor's name with HTML in it (as an admin may correct it, or a
	// shop's backend sign it).
	const tok = (await api("POST", "/api/v1/auth/login", { email: env.AGENT_EMAIL, password: env.PASSWORD })).json.access_token;
	const first = (await api("GET", "/api/v1/conversations?limit=1", null, tok)).json.items[0];
	const vname = "Vic <img src=x onerror=alert(2)>";
	check((await api("PATCH", `/api/v1/visitors/${first.visitor.id}`, { name: vname }, tok)).status === 200, "the visitor's name is set");

	// The keyboard alone: to the list, open the conversation.
	step = "open with the keyboard";
	await agent.locator("ul.convs a").first().focus();
	await agent.keyboard.press("Enter");
	await agent.locator("#conv-title").waitFor();
	check(await agent.evaluate(() => document.activeElement?.id) === "conv-title", "Enter opens the conversation and moves the focus to it");
	check(!/^\(\d+\)/.test(await agent.title()), "... and it is no longer unread", await agent.title());
	check(await agent.locator("#conv-title").textContent() === vname, "the visitor's name is shown as text", await agent.locator("#conv-title").textContent());
	const roles = await agent.$$eval("ol.messages li", (els) => els.map((e) => e.dataset.role));
	check(roles.includes("visitor") && roles.includes("bot"), "the messages are shown with their roles", roles.join(","));
	check(await agent.locator("ol.messages li.visitor .body").first().textContent() === "Do you ship to Norway? <img src=x onerror=alert(1)>",
	    "the visitor's HTML is shown as text");
	check(await agent.locator("ol.messages img").count() === 0, "... and no element is made of it");
	check(await agent.locator("ol.messages li.bot .body strong").textContent() === "Norway", "the bot's Markdown is rendered (bold)");
	check(await agent.locator("ol.messages a.cite").count() === 1 && await agent.locator("ol.messages a.cite").textContent() === "Shipping",
	    "the bot's citation is shown", await agent.locator("ol.messages").innerHTML());
	check(/not verified/.test(await agent.locator("dl.facts").textContent()), "the visitor is shown as not verified");
	await axe(agent, "a conversation");

	// A template, by "/" and its name, with the keyboard.
	step = "a template";
	await agent.locator("#reply").focus();
	await agent.keyboard.type("/tha");
	await agent.locator("#template-options li").first().waitFor();
	check(await agent.locator("#template-options li").count() === 1, "typing / and a name offers the matching template");
	await agent.keyboard.press("Enter");
	check(await agent.locator("#reply").inputValue() === "Thank you for writing to us!", "Enter inserts it");

	// The draft: asked for, streamed in, edited, sent.
	step = "the draft";
	await agent.locator("#reply").fill("");
	await agent.getByRole("button", { name: "Draft a reply" }).click();
	await agent.locator("#draft-note", { hasText: "Draft ready" }).waitFor({ timeout: 15000 });
	const draft = await agent.locator("#reply").inputValue();
	check(draft === "Yes, we ship to Norway: parcels arrive within five working days.", "the LLM's draft lands in the reply box, unsent", draft);
	await agent.locator("#reply").focus();
	await agent.keyboard.press("End");
	await agent.keyboard.type(" Ada");
	await shot(agent, "inbox");
	await agent.keyboard.press("Control+Enter");
	const sent = `${draft} Ada`;
	await waitText(agent, "ol.messages li.agent .body", sent);
	check(true, "the edited draft is sent (Ctrl+Enter) and shown as the agent's");
	await waitText(frame, "li.msg[data-role='agent'] .body", sent);
	check(true, "the visitor sees the agent's reply in the widget");

	// The visitor writes again: live in the open conversation, and a
	// notification (the conversation is the agent's now).
	step = "the visitor again";
	await agent.evaluate(() => { window.__notes.length = 0; });
	await frame.fill("#input", "Great, thanks!");
	await frame.press("#input", "Enter");
	await waitText(agent, "ol.messages li.visitor .body", "Great, thanks!");
	check(true, "the visitor's next message appears in the open conversation, live");
	// Not looking at it: a visitor writing to the agent notifies them.
	await agent.goto(`${env.BASE}/inbox?filter=all`);
	await agent.locator("#live", { hasText: "live" }).waitFor({ timeout: 15000 });
	await agent.locator("ul.convs li").first().waitFor();
	await frame.fill("#input", "Are you still there?");
	await frame.press("#input", "Enter");
	await agent.waitForFunction(() => window.__notes.some(([t]) => /wrote/.test(t)), null, { timeout: 10000 }).catch(() => {});
	const wroteNotes = await agent.evaluate(() => window.__notes);
	check(wroteNotes.some(([t]) => /wrote/.test(t)), "a visitor writing in a conversation assigned to the agent notifies them", JSON.stringify(wroteNotes));
	await agent.locator("ul.convs li", { hasText: vname }).locator("a").click();
	await agent.locator("#conv-title").waitFor();

	// Assignment, resolve, reopen, as the API has them.
	step = "assign, resolve, reopen";
	const convs = (await api("GET", "/api/v1/conversations?limit=5", null, tok)).json.items;
	const id = convs[0].id;
	check((await api("GET", `/api/v1/conversations/${id}`, null, tok)).json.assignee_id !== null, "the agent who answered holds the conversation");
	await agent.getByLabel("Assigned to").selectOption({ label: "Nobody" });
	await agent.locator("#conv-title").waitFor();
	for (let i = 0; i < 50 && (await api("GET", `/api/v1/conversations/${id}`, null, tok)).json.assignee_id !== null; i++) await agent.waitForTimeout(100);
	check((await api("GET", `/api/v1/conversations/${id}`, null, tok)).json.assignee_id === null, "assigned to nobody from the page");
	await agent.getByLabel("Assigned to").selectOption({ label: "Pe Rson" });
	await agent.getByRole("button", { name: "Assign to me" }).waitFor();
	let held = null;
	for (let i = 0; i < 50 && !held; i++) {
		held = (await api("GET", `/api/v1/conversations/${id}`, null, tok)).json.assignee_id;
		if (!held) await agent.waitForTimeout(100);
	}
	const team = (await api("GET", "/api/v1/members", null, tok)).json.items;
	check(team.some((m) => m.id === held && m.name === "Pe Rson"), "assigned to someone else from the page");
	// The keyboard alone, for the buttons too.
	await agent.getByRole("button", { name: "Assign to me" }).focus();
	await agent.keyboard.press("Enter");
	await agent.getByRole("button", { name: "Assign to me" }).waitFor({ state: "detached" });
	check((await api("GET", `/api/v1/conversations/${id}`, null, tok)).json.assignee_id !== held, "... and to me again (Enter)");
	await agent.getByRole("button", { name: "Resolve" }).focus();
	await agent.keyboard.press("Enter");
	await agent.getByRole("button", { name: "Reopen" }).waitFor();
	check((await api("GET", `/api/v1/conversations/${id}`, null, tok)).json.status === "resolved", "resolved from the page");
	await agent.getByRole("button", { name: "Reopen" }).click();
	await agent.getByRole("button", { name: "Resolve" }).waitFor();
	check((await api("GET", `/api/v1/conversations/${id}`, null, tok)).json.status === "open", "... and reopened");

	// A phone: the list, then the conversation alone, nothing wider.
	step = "360 px";
	const phone = await newPage({ viewport: { width: 360, height: 740 } });
	await login(phone, env.AGENT_EMAIL);
	await phone.goto(`${env.BASE}/inbox?filter=all&chatbot=${env.BOT_ID}`);
	await phone.locator("ul.convs li").first().waitFor();
	const wide = () => phone.evaluate(() => document.documentElement.scrollWidth);
	check(await wide() <= 360, "at 360 px the inbox list fits the width", String(await wide()));
	await phone.locator("ul.convs a").first().click();
	await phone.locator("#conv-title").waitFor();
	check(!(await phone.locator("ul.convs").isVisible()) && await phone.getByRole("link", { name: /All conversations/ }).isVisible(),
	    "at 360 px the conversation is shown alone, with a way back");
	check(await wide() <= 360, "... and fits the width", String(await wide()));
	await axe(phone, "a conversation at 360 px");
	await shot(phone, "inbox-phone");
	await phone.getByRole("link", { name: /All conversations/ }).click();
	check(await phone.locator("ul.convs").isVisible(), "... and back to the list");

	// Delete (an admin's), asked first; the list follows.
	step = "delete";
	await agent.getByRole("button", { name: "Delete", exact: true }).click();
	await agent.getByRole("button", { name: "Delete it" }).click();
	await agent.getByText("This conversation was deleted.").waitFor();
	check((await api("GET", `/api/v1/conversations/${id}`, null, tok)).status === 404, "a conversation deleted from the page is gone from the API");
	await phone.locator("ul.convs li").first().waitFor({ state: "detached", timeout: 10000 });
	check(true, "... and from another agent's open inbox, live");

	// A member: no admin page offered; a forced one refused, by the page
	// and by the API.
	step = "a member";
	const mo = await newPage();
	await login(mo, env.MEMBER_EMAIL);
	const links = await mo.locator("main nav a").allTextContents();
	check(links.includes("Templates") && !links.includes("API keys") && !links.includes("Audit log") && !links.includes("Company"),
	    "a member is offered no admin page", links.join(", "));
	await mo.goto(`${env.BASE}/settings/api-keys`);
	await mo.getByRole("alert").filter({ hasText: "does not allow" }).waitFor();
	check(true, "a member who opens an admin page is told the role does not allow it");
	const mtok = (await api("POST", "/api/v1/auth/login", { email: env.MEMBER_EMAIL, password: env.PASSWORD })).json.access_token;
	check((await api("GET", "/api/v1/api-keys", null, mtok)).status === 403, "... and the API refuses it (403)");
	check((await api("DELETE", `/api/v1/conversations/${convs[0].id}`, null, mtok)).status === 403, "... as it refuses a member's delete");
	await mo.goto(`${env.BASE}/inbox?filter=all`);
	await mo.locator("h1", { hasText: "Inbox" }).waitFor();
	check(await mo.getByRole("button", { name: "Delete", exact: true }).count() === 0, "a member's inbox offers no delete");
} catch (e) {
	check(false, "the journey ran to its end", `at ${step}: ${String(e?.stack ?? e)}`);
}
await finish(browser);
