// t/client/flow.ts: a REST client written against the types that
// openapi-typescript generates from docs/openapi.yaml (./api.d.ts, made
// by t/88-typed-client.t). It registers a company, confirms it with the
// mailed link, creates a chatbot and lists the inbox. tsc type-checks it
// against the document; node runs it against the real stack.
import { readdirSync, readFileSync } from "node:fs";
import type { components, paths } from "./api";

type Schemas = components["schemas"];
type RegisterBody =
	paths["/api/v1/auth/register"]["post"]["requestBody"]["content"]["application/json"];
type Confirmation =
	paths["/api/v1/auth/register"]["post"]["responses"]["202"]["content"]["application/json"];
type ConfirmBody =
	paths["/api/v1/auth/register/confirm"]["post"]["requestBody"]["content"]["application/json"];
type SignedUp = Schemas["SignedUp"];
type ChatbotBody =
	paths["/api/v1/chatbots"]["post"]["requestBody"]["content"]["application/json"];
type Chatbot =
	paths["/api/v1/chatbots"]["post"]["responses"]["201"]["content"]["application/json"];
type Inbox =
	paths["/api/v1/conversations"]["get"]["responses"]["200"]["content"]["application/json"];
type Problem = Schemas["Problem"];

const base = process.env.PARLEY_URL ?? "";
const maildir = process.env.PARLEY_MAILDIR ?? "";
const xff = process.env.PARLEY_XFF ?? "";

async function call<Out, In = undefined>(
	method: string,
	path: string,
	body?: In,
	token?: string,
): Promise<Out> {
	const headers: Record<string, string> = { "x-forwarded-for": xff };
	if (body !== undefined) headers["content-type"] = "application/json";
	if (token !== undefined) headers.authorization = `Bearer ${token}`;
	const r = await fetch(base + path, {
		method,
		headers,
		body: body === undefined ? null : JSON.stringify(body),
	});
	const json: unknown = await r.json();
	if (!r.ok) {
		const p = json as Problem;
		throw new Error(`${method} ${path}: ${r.status} ${p.code}`);
	}
	return json as Out;
}

// The link the confirmation mail carries, once it is there.
async function signupToken(address: string): Promise<string> {
	for (let i = 0; i < 300; i++) {
		for (const f of readdirSync(maildir).filter((n) => n.endsWith(".eml"))) {
			const mail = readFileSync(`${maildir}/${f}`, "utf8");
			const m = mail.match(/confirm-signup#token=([A-Za-z0-9_-]{43})/);
			if (m?.[1] && mail.includes(`X-Envelope-To: ${address}`))
				return m[1];
		}
		await new Promise((done) => setTimeout(done, 100));
	}
	throw new Error(`no confirmation mail to ${address}`);
}

async function main(): Promise<void> {
	const email = `typed-${Date.now()}@client.example`;
	const register: RegisterBody = {
		email,
		password: "a typed client's long passphrase",
		name: "Tess Typed",
		company_name: "Typed Client Co",
	};
	const sent = await call<Confirmation, RegisterBody>(
		"POST", "/api/v1/auth/register", register);
	const confirm: ConfirmBody = {
		token: await signupToken(sent.email),
		password: register.password,
	};
	const owner = await call<SignedUp, ConfirmBody>(
		"POST", "/api/v1/auth/register/confirm", confirm);
	const bot: ChatbotBody = {
		name: "Typed bot",
		allowed_origins: ["https://shop.example"],
		temperature: 0.2,
		handoff_on_no_answer: true,
	};
	const made = await call<Chatbot, ChatbotBody>(
		"POST", "/api/v1/chatbots", bot, owner.access_token);
	const inbox = await call<Inbox>(
		"GET", "/api/v1/conversations?limit=10", undefined, owner.access_token);
	const summary = {
		company: owner.company.id,
		role: owner.user.role,
		chatbot: made.id,
		public_key: made.public_key,
		created_at: made.created_at,
		inbox: inbox.items.length,
		next_cursor: inbox.next_cursor,
	};
	console.log(JSON.stringify(summary));
}

main().catch((e: unknown) => {
	console.error(e instanceof Error ? e.message : e);
	process.exit(1);
});
