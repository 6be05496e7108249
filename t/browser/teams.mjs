// Teams, labels and presence in the console (run by t/58-routing.t): an
// admin sees the team and capacities, makes a label, labels a
// conversation in the inbox and filters by it; opening the inbox makes
// them online.
//
// Environment: BASE, CHROMIUM, EMAIL, PASSWORD (an admin), CONV (a
// conversation's id), OUT.
import { env, check, launch, newPage, finish, axe } from "./lib.mjs";

const browser = await launch();
let step = "start";
try {
	const p = await newPage(browser);
	await p.goto(`${env.BASE}/login`);
	await p.getByLabel("E-mail").fill(env.EMAIL);
	await p.getByLabel("Password").fill(env.PASSWORD);
	await p.getByRole("button", { name: "Log in" }).click();
	await p.locator("h1", { hasText: "Hello," }).waitFor();

	step = "teams";
	await p.getByRole("link", { name: "Teams and labels" }).click();
	await p.locator("h1", { hasText: "Teams and labels" }).waitFor();
	check(/Front desk/.test(await p.locator("#teams").textContent()), "the team is listed with its agents", await p.locator("#teams").textContent());
	check(await p.getByLabel("Capacity of Pe Rson").count() >= 1, "each agent's capacity can be set");
	await p.getByLabel("New label").fill("Urgent");
	await p.getByLabel("Colour (#rrggbb)").fill("#dc2626");
	await p.getByRole("button", { name: "Make the label" }).click();
	await p.locator("#labels", { hasText: "Urgent" }).waitFor();
	check(true, "an admin makes a label");
	await axe(p, "the teams and labels page");

	step = "inbox";
	await p.goto(`${env.BASE}/inbox?filter=all&c=${env.CONV}`);
	await p.locator("#conv-labels").waitFor();
	await p.getByLabel("Add a label").selectOption({ label: "Urgent" });
	await p.locator("#conv-labels", { hasText: "Urgent" }).waitFor();
	check(true, "a conversation is labelled in the inbox");
	const colour = await p.locator("#conv-labels .label").first().evaluate((e) => getComputedStyle(e).borderLeftColor);
	check(colour === "rgb(220, 38, 38)", "... its chip in the label's colour (through the CSSOM, no inline style)", colour);
	check(await p.locator("#presence").inputValue() === "online", "the inbox sets its agent online");
	await p.locator("#label-filter").selectOption({ label: "Urgent" });
	await p.waitForURL((u) => /label=/.test(u.search), { timeout: 10000 });
	const one = await p.waitForFunction(() => document.querySelectorAll("ul.convs li").length === 1, null, { timeout: 10000 })
	    .then(() => true, () => false);
	check(one, "the inbox filters by label", String(await p.locator("ul.convs li").count()));
} catch (e) {
	check(false, "the journey ran to its end", `at ${step}: ${String(e?.stack ?? e)}`);
}
await finish(browser);
