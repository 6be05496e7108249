// The console's admin pages in a real browser (run by t/91-console-admin.t,
// which reads one JSON line per check: {"ok", "name", "diag"}): the owner
// creates, changes and deletes each thing once from its page, downloads
// what the pages offer, and deletes the company.
//
// Environment: BASE (parley, https), OUT, CHROMIUM, EMAIL and PASSWORD
// (the owner), COMPANY (its name, with HTML in it), HOOK_URL (a webhook
// receiver), VISITOR_ID (a visitor with a conversation and a consent).
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { env, check, axe, shot, api as call, launch, watch, finish } from "./lib.mjs";

// The owner's token, once logged in: the default of the API calls.
let token = null;
const api = (method, path, body, auth = token) => call(method, path, body, auth);

const browser = await launch();
const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, ignoreHTTPSErrors: true, acceptDownloads: true });
await ctx.grantPermissions(["clipboard-read", "clipboard-write"], { origin: env.BASE });
const page = watch(await ctx.newPage());
const h1 = (text) => page.locator("h1", { hasText: text }).waitFor();
const open = async (path, title) => {
	await page.goto(`${env.BASE}${path}`);
	await h1(title);
};
const status = (text) => page.getByRole("status").filter({ hasText: text }).first().waitFor();
async function downloaded(click) {
	const [d] = await Promise.all([page.waitForEvent("download"), click()]);
	return { name: d.suggestedFilename(), bytes: readFileSync(await d.path()) };
}
const clipboard = () => page.evaluate(() => navigator.clipboard.readText());
const evil = "<img src=x onerror=alert(1)>";

// A one-page PDF saying 'text' (what poppler reads).
function pdf(text) {
	const objs = ["<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>"];
	const stream = `BT /F1 12 Tf 72 720 Td (${text}) Tj ET`;
	objs.push(`<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>");
	let out = "%PDF-1.4\n";
	const at = objs.map((o, i) => { const n = out.length; out += `${i + 1} 0 obj\n${o}\nendobj\n`; return n; });
	const xref = out.length;
	out += `xref\n0 ${objs.length + 1}\n0000000000 65535 f \n` + at.map((n) => `${String(n).padStart(10, "0")} 00000 n \n`).join("");
	out += `trailer\n<< /Size ${objs.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
	return Buffer.from(out, "latin1");
}

let step = "start";
try {
	step = "log in";
	await page.goto(`${env.BASE}/login`);
	await page.getByLabel("E-mail").fill(env.EMAIL);
	await page.getByLabel("Password").fill(env.PASSWORD);
	await page.getByRole("button", { name: "Log in" }).click();
	await h1("Hello,");
	token = (await api("POST", "/api/v1/auth/login", { email: env.EMAIL, password: env.PASSWORD }, null)).json.access_token;
	const links = await page.locator("main nav a").allTextContents();
	check(["Company", "API keys", "Webhooks", "Audit log", "Data export", "Privacy requests", "Billing"].every((l) => links.includes(l)),
	    "the owner is offered every settings page", links.join(", "));
	check((await page.locator("main").textContent()).includes(env.COMPANY), "the company's name is shown as text");
	await shot(page, "settings");

	step = "company";
	await open("/settings/company", "Company");
	check(await page.getByLabel("Company name").inputValue() === env.COMPANY, "the company page has the company's name");
	await page.getByLabel("Keep conversations for").selectOption("30_days");
	await page.getByLabel("After that period").selectOption("anonymise");
	await page.getByRole("button", { name: "Save", exact: true }).click();
	await status("Saved.");
	const co = (await api("GET", "/api/v1/company")).json;
	check(co.settings.retention_period === "30_days" && co.settings.retention_action === "anonymise",
	    "retention set on the page is the API's", JSON.stringify(co.settings));
	await axe(page, "company");

	step = "members";
	await open("/settings/members", "Members");
	await page.getByRole("button", { name: "Remove Pe Rson" }).click();
	await page.getByRole("button", { name: "Remove", exact: true }).click();
	await page.locator("#members li", { hasText: "Pe Rson" }).waitFor({ state: "detached" });
	check(!(await api("GET", "/api/v1/members")).json.items.some((m) => m.name === "Pe Rson"), "a member removed on the page (asked first) is gone");

	step = "API keys";
	await open("/settings/api-keys", "API keys");
	await page.getByLabel("Name").fill(`CI ${evil}`);
	await page.getByLabel("conversations:read").check();
	await page.getByRole("button", { name: "Create key" }).click();
	const key = await page.locator("#new-key").textContent();
	check(key.length > 20, "a new API key is shown once", key.slice(0, 6));
	await page.getByRole("button", { name: "Copy" }).click();
	check(await clipboard() === key, "... its copy button copies it");
	check((await api("GET", "/api/v1/conversations", null, key)).status === 200, "... and it works");
	check((await page.locator("#api-keys").textContent()).includes(`CI ${evil}`), "the key is listed, its name as text");
	await axe(page, "API keys");
	await page.getByRole("button", { name: `Revoke CI ${evil}` }).click();
	await page.getByRole("button", { name: "Revoke", exact: true }).click();
	await page.getByText("No API keys yet.").waitFor();
	check((await api("GET", "/api/v1/conversations", null, key)).status === 401, "a key revoked on the page no longer works");

	step = "chatbots";
	await open("/settings/chatbots", "Chatbots");
	await axe(page, "chatbots");
	await page.getByLabel("Name").fill(`Help ${evil}`);
	await page.getByLabel(/^Sites that may embed it/).fill("https://shop.example");
	await page.getByRole("button", { name: "Create chatbot" }).click();
	await h1(`Help ${evil}`);
	check(true, "a chatbot created on the page opens, its name as text");
	const firstSecret = await page.locator("#identity-secret").textContent();
	check(firstSecret.length >= 32, "... with its identity secret, shown once");
	const snippet = await page.locator("#embed").textContent();
	check(/^<script src="https:\/\/[^"]+\/widget\/parley\.js" data-bot="[^"]+" async><\/script>$/.test(snippet), "the embed snippet is shown", snippet);
	await page.getByRole("button", { name: "Copy the snippet" }).click();
	check(await clipboard() === snippet, "... with a copy button");
	const botId = new URL(page.url()).searchParams.get("id");
	await page.getByLabel("Welcome message").fill(`Welcome ${evil}`);
	await page.getByLabel("Only visitors whose identity your site signed may chat").check();
	await page.getByRole("button", { name: "Save chatbot" }).click();
	await status("Saved.");
	let b = (await api("GET", `/api/v1/chatbots/${botId}`)).json;
	check(b.welcome_message === `Welcome ${evil}` && b.require_verified === true, "the chatbot's settings saved on the page are the API's");
	await page.getByRole("button", { name: "Rotate the widget key" }).click();
	await status("A new widget key");
	const snippet2 = await page.locator("#embed").first().textContent();
	b = (await api("GET", `/api/v1/chatbots/${botId}`)).json;
	check(snippet2 !== snippet && snippet2.includes(b.public_key), "rotating the widget key shows the new snippet");
	await page.getByRole("button", { name: "Rotate the identity secret" }).click();
	await page.locator("#identity-secret").filter({ hasNotText: firstSecret }).waitFor();
	const secret = await page.locator("#identity-secret").textContent();
	check(secret.length >= 32 && secret !== firstSecret, "rotating the identity secret shows the new one once");
	// Business hours, as a person writes them.
	const hoursForm = page.locator("form", { has: page.getByRole("button", { name: "Save business hours" }) });
	check(/Business hours are off/.test(await page.locator("#hours-now").textContent()), "a new chatbot has no business hours: it says so");
	await page.getByLabel(/^Use business hours/).check();
	await page.getByLabel(/^Time zone/).fill("Europe/Berlin");
	await page.getByLabel(/^Opening hours/).fill("monday 9 to 5");
	await page.getByRole("button", { name: "Save business hours" }).click();
	await hoursForm.getByRole("alert").filter({ hasText: "line 1" }).waitFor();
	check(true, "an opening-hours line the page cannot read is named, and nothing is sent");
	check((await api("GET", `/api/v1/chatbots/${botId}/hours`)).json.enabled === false, "... the schedule is unchanged");
	await page.getByLabel(/^Time zone/).fill("Mars/Olympus");
	await page.getByLabel(/^Opening hours/).fill("mon 09:00-17:00");
	await page.getByRole("button", { name: "Save business hours" }).click();
	await hoursForm.getByRole("alert").filter({ hasText: "timezone" }).waitFor();
	check(true, "an unknown time zone: the API's refusal is shown");
	await page.getByLabel(/^Time zone/).fill("Europe/Berlin");
	await page.getByLabel(/^Opening hours/).fill("mon 09:00-17:00\ntue 09:00-12:00\ntue 13:00-17:00");
	await page.getByLabel(/^Holidays/).fill(`2026-12-24 Christmas ${evil}`);
	await page.getByLabel("What the widget says when nobody can answer").fill("We answer on working days.");
	await page.getByRole("button", { name: "Save business hours" }).click();
	await page.locator("#hours-now").filter({ hasText: /^(Open|Closed) now/ }).waitFor();
	const hrs = (await api("GET", `/api/v1/chatbots/${botId}/hours`)).json;
	check(hrs.enabled && hrs.timezone === "Europe/Berlin" && hrs.weekly.length === 3 && hrs.weekly[2].opens === "13:00"
	    && hrs.holidays[0].name === `Christmas ${evil}` && hrs.offline_message === "We answer on working days.",
	    "business hours saved on the page are the API's", JSON.stringify(hrs));
	await axe(page, "a chatbot's business hours");
	// The knowledge base: pasted Markdown, an uploaded HTML file.
	await page.getByLabel("Title").fill(`Returns ${evil}`);
	await page.getByLabel("Text", { exact: true }).fill("# Returns\n\nReturn within **30 days**.");
	await page.getByRole("button", { name: "Add to the knowledge base" }).click();
	await page.locator("#documents li", { hasText: "Returns" }).waitFor();
	check(true, "a pasted document is added and listed, its title as text");
	await page.getByLabel("Title").fill("FAQ");
	await page.getByLabel(/^From a file/).setInputFiles({ name: "faq.html", mimeType: "text/html",
		buffer: Buffer.from("<html><body><h1>FAQ</h1><p>We answer within a day.</p><script>alert(1)</script></body></html>") });
	await page.getByRole("button", { name: "Add to the knowledge base" }).click();
	await page.locator("#documents li", { hasText: "FAQ" }).waitFor();
	check(/text\/html/.test(await page.locator("#documents li", { hasText: "FAQ" }).textContent()), "an uploaded HTML file is added as HTML");
	// A PDF, read by parleyd (poppler): one page with one line of text.
	await page.getByLabel("Title").fill("Care guide");
	await page.getByLabel(/^From a file/).setInputFiles({ name: "care.pdf", mimeType: "application/pdf", buffer: pdf("Wax the boots monthly.") });
	await page.getByRole("button", { name: "Add to the knowledge base" }).click();
	await page.locator("#documents li", { hasText: "Care guide" }).waitFor();
	check(/application\/pdf/.test(await page.locator("#documents li", { hasText: "Care guide" }).textContent()), "an uploaded PDF is added");
	// A sitemap of the shop's site, fetched in the background.
	await page.getByLabel("Its address (https://…)").fill("https://docs.example/sitemap.xml");
	await page.getByRole("button", { name: "Fetch" }).click();
	await page.locator("#sources li", { hasText: "https://docs.example/sitemap.xml" }).waitFor();
	const listed = await page.locator("#sources li", { hasText: "Sitemap" }).first().textContent();
	check(/Sitemap .*(queued|fetching|failed|done).* · \d+ of \d+ pages stored.* · re-sync weekly/.test(listed),
	    "a sitemap source is listed with its progress", listed);
	await page.getByRole("button", { name: "FAQ", exact: true }).click();
	await page.locator(".viewer pre").waitFor();
	const text = await page.locator(".viewer pre").textContent();
	check(/We answer within a day/.test(text) && !/alert/.test(text), "a document is viewed as its extracted text", text);
	await axe(page, "a chatbot");
	await shot(page, "chatbot");
	await page.getByRole("button", { name: `Delete “Returns ${evil}”` }).click();
	await page.getByRole("button", { name: "Delete", exact: true }).click();
	await page.locator("#documents li", { hasText: "Returns" }).waitFor({ state: "detached" });
	check((await api("GET", `/api/v1/chatbots/${botId}/documents`)).json.items.length === 2, "a document deleted on the page is gone");
	await page.getByRole("button", { name: `Delete the chatbot “Help ${evil}”` }).click();
	await page.getByRole("button", { name: "Delete", exact: true }).click();
	await h1("Chatbots");
	check((await api("GET", `/api/v1/chatbots/${botId}`)).status === 404, "a chatbot deleted on the page is gone");

	step = "templates";
	await open("/settings/templates", "Templates");
	await page.getByLabel("Name").fill("greet");
	await page.getByLabel("Text").fill(`Hello ${evil}`);
	await page.getByRole("button", { name: "Add template" }).click();
	await page.locator("#templates li", { hasText: "greet" }).waitFor();
	check((await page.locator("#templates").textContent()).includes(`Hello ${evil}`), "a template is added, its text as text");
	await page.getByText("Edit greet").click();
	await page.locator("#templates details").getByLabel("Text").fill("Hello there!");
	await page.getByRole("button", { name: "Save template" }).click();
	await page.locator("#templates li", { hasText: "Hello there!" }).waitFor();
	check((await api("GET", "/api/v1/templates")).json.items[0].body === "Hello there!", "a template edited on the page is the API's");
	await axe(page, "templates");
	await page.getByRole("button", { name: "Delete the template “greet”" }).click();
	await page.getByRole("button", { name: "Delete", exact: true }).click();
	await page.getByText("No templates yet.").waitFor();
	check((await api("GET", "/api/v1/templates")).json.items.length === 0, "... and deleted");

	step = "webhooks";
	await open("/settings/webhooks", "Webhooks");
	await page.getByLabel("URL (https)").fill(env.HOOK_URL);
	await page.getByLabel("Description").fill(`Ops ${evil}`);
	await page.getByLabel("message.created").check();
	await page.getByRole("button", { name: "Add endpoint" }).click();
	const whsec = await page.locator("#webhook-secret").textContent();
	check((await page.locator("#webhooks").textContent()).includes(`Ops ${evil}`), "the endpoint is listed, its description as text");
	check(/^whsec_/.test(whsec) || whsec.length >= 32, "a new endpoint's signing secret is shown once", whsec.slice(0, 6));
	await page.getByRole("button", { name: `Turn ${env.HOOK_URL} off` }).click();
	await page.getByRole("button", { name: `Turn ${env.HOOK_URL} on again` }).waitFor();
	let w = (await api("GET", "/api/v1/webhook-endpoints")).json.items[0];
	check(w.enabled === false, "turned off on the page");
	await page.getByRole("button", { name: `Turn ${env.HOOK_URL} on again` }).click();
	await page.getByRole("button", { name: `Turn ${env.HOOK_URL} off` }).waitFor();
	w = (await api("GET", "/api/v1/webhook-endpoints")).json.items[0];
	check(w.enabled === true, "... and on again");
	await page.getByRole("button", { name: "Rotate secret" }).click();
	await page.locator("#webhook-secret").waitFor();
	check(await page.locator("#webhook-secret").textContent() !== whsec, "rotating shows a new secret once");
	// A message makes a delivery; the page lists it with its attempts.
	const s = await fetch(`${env.BASE}/api/v1/widget/sessions`, { method: "POST", headers: { "content-type": "application/json", origin: "https://shop.example" },
		body: JSON.stringify({ bot_key: (await api("GET", "/api/v1/chatbots")).json.items[0].public_key }) });
	const vt = (await s.json()).token;
	const vh = { "content-type": "application/json", origin: "https://shop.example", authorization: `Bearer ${vt}` };
	const conv = await (await fetch(`${env.BASE}/api/v1/widget/conversations`, { method: "POST", headers: vh })).json();
	await fetch(`${env.BASE}/api/v1/widget/conversations/${conv.id}/messages`, { method: "POST", headers: vh, body: JSON.stringify({ content: "a delivery" }) });
	let delivered = false;
	for (let i = 0; i < 50 && !delivered; i++) {
		await page.getByRole("button", { name: "Deliveries" }).click();
		await page.locator("h2", { hasText: "Deliveries to" }).waitFor();
		delivered = /message\.created/.test(await page.locator("main").textContent()) && /delivered/.test(await page.locator("table").textContent().catch(() => ""));
		if (!delivered) await page.waitForTimeout(200);
	}
	check(delivered, "the endpoint's deliveries are listed, delivered", await page.locator("main").textContent());
	await axe(page, "webhooks");
	await shot(page, "webhooks");
	await page.getByRole("button", { name: `Delete the endpoint ${env.HOOK_URL}` }).click();
	await page.getByRole("button", { name: "Delete", exact: true }).click();
	await page.getByText("No webhook endpoints yet.").waitFor();
	check((await api("GET", "/api/v1/webhook-endpoints")).json.items.length === 0, "an endpoint deleted on the page is gone");

	step = "LLM";
	await open("/settings/llm", "LLM provider");
	await page.getByLabel("Base URL (https)").fill("https://llm.example/v1");
	await page.getByLabel("Model").fill("gpt-4o-mini");
	await page.getByLabel(/^API key/).fill("sk-a-test-key-of-the-company-0123456789");
	await page.getByRole("button", { name: "Save", exact: true }).click();
	// This deployment keeps the provider's URL (llm_company_base_url 0).
	await page.getByRole("alert").filter({ hasText: "keeps the provider's URL" }).waitFor();
	check(true, "a base URL the deployment does not allow is refused, in words");
	await page.getByLabel("Base URL (https)").fill("");
	await page.getByRole("button", { name: "Save", exact: true }).click();
	await status("Saved.");
	const llm = (await api("GET", "/api/v1/company/llm")).json;
	check(llm.model === "gpt-4o-mini" && llm.api_key_set === true,
	    "the LLM settings saved on the page are the API's (the key set, not shown)", JSON.stringify(llm));
	await page.reload();
	await h1("LLM provider");
	check(await page.getByText("A key is set.").isVisible() && !(await page.content()).includes("sk-a-test-key"), "... and the key is never shown again");
	await axe(page, "LLM provider");

	step = "consents";
	await open("/settings/consents", "Consents");
	check((await page.locator("table").textContent()).includes(env.VISITOR_ID), "the visitor's consent is listed");
	await axe(page, "consents");

	step = "security events";
	await open("/settings/security-events", "Security events");
	check(/login|register/.test(await page.locator("table").textContent()), "security events are listed");
	await axe(page, "security events");

	step = "privacy";
	await open("/settings/privacy", "Privacy requests");
	const forms = page.locator("main form");
	await forms.nth(0).getByLabel("Identify the person by").selectOption("visitor_id");
	await forms.nth(0).getByLabel("Value").fill(env.VISITOR_ID);
	const sub = await downloaded(() => forms.nth(0).getByRole("button", { name: "Download their data" }).click());
	const subj = JSON.parse(sub.bytes.toString("utf8"));
	check(sub.name === "subject-export.json" && subj.visitors?.length === 1, "a subject export downloads as JSON with the visitor's data", sub.name);
	await forms.nth(2).getByLabel("Visitor id").fill(env.VISITOR_ID);
	await forms.nth(2).getByLabel("Correct name").fill(`Vera ${evil}`);
	await forms.nth(2).getByLabel(/Restrict processing/).selectOption("true");
	await forms.nth(2).getByRole("button", { name: "Save visitor" }).click();
	await status("Saved:");
	check(/restricted/.test(await page.getByRole("status").last().textContent()), "a visitor is corrected and restricted from the page");
	await forms.nth(1).getByLabel("Identify the person by").selectOption("visitor_id");
	await forms.nth(1).getByLabel("Value").fill(env.VISITOR_ID);
	await forms.nth(1).getByRole("button", { name: "Erase their data" }).click();
	await forms.nth(1).getByRole("alert").filter({ hasText: "Tick the box" }).waitFor();
	check(true, "an erasure asks for the confirmation that says what is deleted");
	await forms.nth(1).getByLabel(/I understand/).check();
	await forms.nth(1).getByRole("button", { name: "Erase their data" }).click();
	await status("Erased:");
	check(/Erased: 1 visitor/.test(await page.getByRole("status").last().textContent()), "... then erases the visitor");
	await axe(page, "privacy requests");
	await shot(page, "privacy");

	step = "audit log";
	await open("/settings/audit-log", "Audit log");
	await page.locator("table").waitFor();
	const audit = await page.locator("table").textContent();
	check(/api_key\.create|apikey|chatbot\.create/.test(audit), "the audit log lists what was done", audit.slice(0, 300));
	await page.getByLabel(/^Action/).fill("template.create");
	await page.getByRole("button", { name: "Show", exact: true }).click();
	await page.waitForFunction(() => [...document.querySelectorAll("tbody tr td:nth-child(4)")].every((td) => td.textContent === "template.create"));
	check(await page.locator("tbody tr").count() === 1, "the audit log filtered by action", String(await page.locator("tbody tr").count()));
	const csv = await downloaded(() => page.getByRole("button", { name: /Download CSV/ }).click());
	const head = csv.bytes.toString("utf8").split("\n")[0];
	check(csv.name === "audit-log.csv" && /seq/.test(head) && /action/.test(head), "the audit CSV downloads and opens", head);
	const rows = csv.bytes.toString("utf8").trim().split("\n").slice(1);
	check(rows.length === 1 && /template\.create/.test(rows[0]), "... with the entries as filtered", String(rows.length));
	await axe(page, "the audit log");
	await shot(page, "audit-log", false);

	step = "export";
	await open("/settings/export", "Data export");
	await page.getByRole("button", { name: "Start an export" }).click();
	await page.getByRole("button", { name: "Download" }).waitFor({ timeout: 30000 });
	check(true, "a data export is started and its progress followed until done");
	const arc = await downloaded(() => page.getByRole("button", { name: "Download" }).click());
	const tar = gunzipSync(arc.bytes).toString("latin1");
	check(/\.tar\.gz$/.test(arc.name) && tar.includes("conversations.json") && tar.includes("ustar"),
	    "the export downloads as a tar.gz archive that opens, with the conversations", arc.name);
	await axe(page, "data export");

	step = "billing";
	await open("/settings/billing?checkout=canceled", "Billing");
	check(/cancelled: nothing changed/.test(await page.getByRole("status").first().textContent()), "Stripe's cancel return page says nothing changed");
	await open("/settings/billing", "Billing");
	let checkout = null;
	await page.route("https://checkout.stripe.com/**", (r) => { checkout = r.request().url(); r.fulfill({ status: 200, contentType: "text/html", body: "<title>Stripe</title>" }); });
	await page.getByRole("button", { name: "Go to checkout at Stripe" }).click();
	await page.waitForURL(/checkout\.stripe\.com/);
	check(/^https:\/\/checkout\.stripe\.com\/c\/pay\/cs_test_/.test(checkout ?? ""), "the checkout button goes to Stripe's checkout", checkout);

	step = "delete the company";
	await open("/settings/company", "Company");
	await axe(page, "company, with the delete form");
	await page.getByLabel("Your password").fill(env.PASSWORD);
	await page.getByLabel(/^Type/).fill("not the name");
	await page.getByRole("button", { name: "Delete the company for good" }).click();
	await page.getByRole("alert").filter({ hasText: /confirm|name/i }).first().waitFor();
	check((await api("GET", "/api/v1/company")).status === 200, "a wrong name deletes nothing");
	await page.getByLabel(/^Type/).fill(env.COMPANY);
	await page.getByRole("button", { name: "Delete the company for good" }).click();
	await h1("Company deleted");
	check((await api("GET", "/api/v1/company")).status === 401, "the company deleted on the page is gone (its sessions too)");
} catch (e) {
	check(false, "the journey ran to its end", `at ${step}: ${String(e?.stack ?? e)}`);
	await page.screenshot({ path: `${env.OUT}/admin-failure.png` }).catch(() => {});
}
await finish(browser);
