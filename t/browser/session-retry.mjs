// The widget rides through parley being busy, in a real browser (Debian's
// chromium via playwright-core), run by t/109-widget-retry-browser.t: the
// visitors table is locked by another session while a visitor opens the
// chat, so the session request is answered 503 database_busy (the stack's
// db_statement_timeout is 1 s); the loader asks again after Retry-After,
// the lock is gone by then, and the visitor chats as if nothing happened.
// The shop's page is on another site than parley's.
//
// Environment: HOST_URL, CHROMIUM, PGHOST, PGPORT, PGDATABASE.
import { execFileSync, spawn } from "node:child_process";
import { env, check, launch, newPage, frameOf, openChat, finish } from "./lib.mjs";

const psqlArgs = ["-X", "-q", "-h", env.PGHOST, "-p", env.PGPORT, "-U", "postgres", "-d", env.PGDATABASE];
const locked = () => execFileSync("psql", [...psqlArgs, "-At", "-c",
    "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation " +
    "WHERE c.relname = 'visitors' AND l.mode = 'AccessExclusiveLock' AND l.granted"]).toString().trim() === "1";

const browser = await launch();
let step = "start", holder = null;
try {
	step = "the shop's page";
	const page = await newPage(browser);
	const sessions = [];
	page.on("response", (r) => {
		if (r.url().includes("/api/v1/widget/sessions") && r.request().method() === "POST")
			sessions.push(r.status());
	});
	await page.goto(env.HOST_URL);
	const frame0 = await frameOf(page);
	await frame0.waitForSelector("html[data-config]", { state: "attached", timeout: 30000 });

	step = "the visitors table locked for 2.5 s";
	holder = spawn("psql", [...psqlArgs, "-c", "BEGIN", "-c", "LOCK TABLE visitors IN ACCESS EXCLUSIVE MODE",
	    "-c", "SELECT pg_sleep(2.5)", "-c", "COMMIT"], { stdio: "ignore" });
	for (let i = 0; i < 200 && !locked(); i++)
		await page.waitForTimeout(25);
	check(locked(), "another session holds the visitors table");

	step = "the visitor opens the chat";
	const frame = await openChat(page);
	await frame.fill("#input", "Hello, are you there?");
	const posted = page.waitForResponse((r) => /\/messages$/.test(r.url()) && r.request().method() === "POST",
	    { timeout: 30000 });
	await frame.click("#send");
	const res = await posted;
	check(res.status() === 201, "the visitor's first message is stored", String(res.status()));
	check(sessions.length === 2 && sessions[0] === 503 && sessions[1] === 201,
	    "the session was refused 503 while the table was locked, asked again, and given", JSON.stringify(sessions));
	const status = await frame.evaluate(() => document.getElementById("status")?.textContent ?? "");
	check(!/connect|offline|down|wrong/i.test(status), "the visitor saw no error", status);
} catch (e) {
	check(false, `the browser run ended cleanly (${step})`, String(e && e.stack || e));
} finally {
	if (holder && holder.exitCode === null)
		holder.kill();
}
await finish(browser);
