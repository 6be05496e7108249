// Attachments in a real browser (Debian's chromium via playwright-core),
// run by t/93-attachments-browser.t against the real stack: on a shop's
// page (another site than parley's) a visitor sends a picture from the
// widget (a file whose name lies is refused, in words), sees it in the
// chat and the bot hand over; the agent sees it in the console and sends
// a PDF from there, which arrives live in the widget as a download.
//
// Environment: BASE, HOST_URL, AGENT_EMAIL, PASSWORD, FILES (a directory
// with photo.png, fake.png, invoice.pdf), OUT, CHROMIUM.
import { env, check, axe, launch, newPage, finish, openChat, waitText, login } from "./lib.mjs";

const browser = await launch();
let step = "start", visitor, agent;
try {
	step = "the visitor opens the chat";
	visitor = await newPage(browser);
	await visitor.goto(env.HOST_URL);
	const frame = await openChat(visitor);
	check(await frame.isVisible("label[for=file]"), "the widget offers to send a picture or a PDF");

	step = "a file whose name lies";
	await frame.setInputFiles("#file", `${env.FILES}/fake.png`);
	await waitText(frame, "#status", "Only pictures");
	check(await frame.locator("li.msg").count() === 0, "HTML named fake.png is refused, in words, and nothing is shown as sent");

	step = "the visitor's picture";
	await frame.setInputFiles("#file", `${env.FILES}/photo.png`);
	const img = frame.locator("li.msg[data-role=visitor] .file img");
	await img.waitFor({ timeout: 10000 });
	await frame.waitForFunction(() => document.querySelector("li.msg[data-role=visitor] .file img")?.naturalWidth > 0, null, { timeout: 10000 });
	check(await img.evaluate((e) => e.naturalWidth) === 40, "the picture is shown in the chat, 40 pixels wide (fetched with the visitor's token)");
	check(/^blob:/.test(await img.getAttribute("src")), "... from a blob: URL (the frame's CSP allows it)");
	await waitText(frame, "li.msg[data-role=bot]", "can't open files");
	check(true, "the bot says it cannot open files and hands over to a person");
	await axe(frame, "the chat with a picture");

	step = "the agent sees it in the console";
	agent = await newPage(browser);
	await login(agent, env.AGENT_EMAIL);
	await agent.goto(`${env.BASE}/inbox?filter=all`);
	await agent.locator("ul.convs li a").first().click();
	await agent.locator("#conv-title").waitFor();
	await agent.waitForFunction(() => document.querySelector("ol.messages .file-image")?.naturalWidth > 0, null, { timeout: 10000 });
	check(await agent.locator("ol.messages .file-image").evaluate((e) => e.naturalWidth) === 40, "the console shows the visitor's picture");
	await axe(agent, "a conversation with a picture");

	step = "the agent sends a PDF";
	await agent.setInputFiles("#reply-file", `${env.FILES}/invoice.pdf`);
	await waitText(agent, "ol.messages li.agent .attachment", "invoice.pdf");
	check(true, "the agent's PDF is in the conversation, named");
	const pdf = frame.locator("li.msg[data-role=agent] .file a", { hasText: "invoice.pdf" });
	await pdf.waitFor({ timeout: 10000 });
	await frame.waitForFunction(() => /^blob:/.test(document.querySelector("li.msg[data-role=agent] .file a")?.href ?? ""), null, { timeout: 10000 });
	check(true, "it arrives live in the widget as a link under its name");
	const [dl] = await Promise.all([visitor.waitForEvent("download", { timeout: 10000 }), pdf.click()]);
	check(dl.suggestedFilename() === "invoice.pdf", "... which downloads invoice.pdf", dl.suggestedFilename());
} catch (e) {
	check(false, `browser run: ${step}`, String(e && e.stack || e));
	if (visitor) await visitor.screenshot({ path: `${env.OUT}/attachments-visitor.png` }).catch(() => {});
	if (agent) await agent.screenshot({ path: `${env.OUT}/attachments-agent.png` }).catch(() => {});
}
await finish(browser);
