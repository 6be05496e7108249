// admin.js: the pages that run the company. Each shows only what the
// role may do (member, admin, owner); the API's 403 stays the real check,
// and a page forced by a member says plainly that the role does not
// allow it. Secrets (API keys, identity and webhook secrets) are shown
// once, with a copy button; deleting asks first.
import { state, el, show, WIDE, api, form, explain, go, reload, confirmButton, secretOnce, table, when, download, upload, providers, reauthSection } from "./lib.js";
import { stopEvents } from "./inbox.js";

const ADMIN = ["admin", "owner"];
const SCOPES = ["conversations:read", "conversations:write", "chatbots:read", "chatbots:write", "documents:read",
	"documents:write", "templates:write", "members:read", "audit:read", "webhooks:write", "analytics:read"];
const EVENTS = ["conversation.created", "conversation.status_changed", "message.created", "member.joined",
	"member.updated", "member.removed", "security.alert"];
const RETENTION = [["30_days", "30 days"], ["60_days", "60 days"], ["90_days", "90 days"], ["6_months", "6 months"],
	["1_year", "1 year"], ["indefinitely", "indefinitely"]];

// The settings pages, who may see each, and the home page's links to them.
const SECTIONS = [
	["/settings/account", "Your account", null],
	["/settings/company", "Company", ADMIN],
	["/settings/sso", "Single sign-on", ADMIN],
	["/settings/teams", "Teams and labels", null],
	["/settings/members", "Members and invitations", null],
	["/settings/chatbots", "Chatbots and knowledge base", null],
	["/settings/templates", "Templates", null],
	["/settings/api-keys", "API keys", ADMIN],
	["/settings/webhooks", "Webhooks", ADMIN],
	["/settings/llm", "LLM provider", ADMIN],
	["/settings/audit-log", "Audit log", ADMIN],
	["/settings/export", "Data export", ADMIN],
	["/settings/privacy", "Privacy requests", ADMIN],
	["/settings/consents", "Consents", ADMIN],
	["/security", "Security alerts", ADMIN],
	["/settings/security-events", "Security events", ADMIN],
	["/settings/billing", "Billing", ["owner"]],
];

export function homeLinks(role) {
	return el("nav", { "aria-label": "Settings" }, el("ul", { class: "links" },
	    SECTIONS.filter(([, , who]) => !who || who.includes(role)).map(([href, label]) => el("li", {}, el("a", { href }, label)))));
}

// Runs a page when signed in and the role allows it; otherwise the login,
// or a plain refusal (what the API would answer anyway).
function page(title, who, fn) {
	return async () => {
		if (!state.tokens) return go("/login");
		state.me = await api("GET", "/api/v1/me");
		if (who && !who.includes(state.me.role))
			return show(title, el("p", { role: "alert", class: "error" }, `Your role (${state.me.role}) does not allow this page.`));
		try {
			await fn();
		} catch (e) {
			if (e.status !== 403) throw e;
			show(title, el("p", { role: "alert", class: "error" }, explain(e)));
		}
	};
}

const isAdmin = () => ADMIN.includes(state.me.role);
const list = (id, items, fn, empty) => (items.length ? el("ul", { id, class: "items" }, items.map(fn)) : el("p", { class: "muted" }, empty));
const lines = (s) => s.split(/[\s,]+/).map((x) => x.trim()).filter(Boolean);
const delButton = (what, path, after = reload) => confirmButton(`Delete ${what}`, `Delete ${what}? This cannot be undone.`, "Delete",
    async () => { await api("DELETE", path); after(); });

async function companyPage() {
	const c = await api("GET", "/api/v1/company");
	const s = c.settings ?? {};
	const saved = el("p", { role: "status", class: "ok" });
	const settings = form([
		{ name: "name", label: "Company name", value: c.name, autocomplete: "organization" },
		{ name: "mfa_required", label: "Every member must use two-factor authentication", type: "checkbox", checked: !!s.mfa_required },
		{ name: "retention_period", label: "Keep conversations for", options: RETENTION, value: s.retention_period ?? "90_days" },
		{ name: "retention_action", label: "After that period", options: [["delete", "delete them"], ["anonymise", "anonymise them"]], value: s.retention_action ?? "delete" },
		{ name: "privacy_policy_url", label: "Your privacy policy (linked from the widget's consent banner)", type: "url", value: s.privacy_policy_url ?? "", required: false },
		{ name: "privacy_policy_version", label: "Its version (stored with every consent; change it when the policy changes, and visitors are asked again)",
		  value: s.privacy_policy_version ?? "1" },
	], "Save", async (v) => {
		await api("PATCH", "/api/v1/company", { name: v.name, settings: {
			mfa_required: v.mfa_required, retention_period: v.retention_period, retention_action: v.retention_action,
			privacy_policy_url: v.privacy_policy_url.trim() || null, privacy_policy_version: v.privacy_policy_version.trim() } });
		saved.textContent = "Saved.";
	});
	const parts = [settings, saved];
	if (state.me.role === "owner") {
		// An owner without a password confirms at the provider instead.
		const has = state.me.user.has_password !== false;
		const mine = has ? [] : (await api("GET", "/api/v1/me/identities")).items;
		if (!has) await providers();
		parts.push(el("section", { "aria-labelledby": "delete-h", class: "danger-zone" }, el("h2", { id: "delete-h" }, "Delete the company"),
		    el("p", {}, "Deletes the company with every chatbot, document, conversation, member and key, at once. Type the company's name to confirm."),
		    reauthSection(mine, "company"),
		    form([
			...(has ? [{ name: "password", label: "Your password", type: "password", autocomplete: "current-password" }] : []),
			{ name: "code", label: "Authenticator code (if two-factor authentication is on)", required: false, autocomplete: "one-time-code" },
			{ name: "confirm_name", label: `Type “${c.name}”` },
		    ], "Delete the company for good", async (v) => {
			const body = { confirm_name: v.confirm_name };
			if (has) body.password = v.password;
			if (v.code) body.code = v.code;
			await api("DELETE", "/api/v1/company", body);
			stopEvents();
			state.tokens = null;
			state.me = null;
			document.getElementById("nav").replaceChildren(el("a", { href: "/signup" }, "Sign up"));
			show("Company deleted", el("p", { role: "status" }, "The company and everything in it are deleted."));
		    })));
	}
	show("Company", ...parts);
}

async function membersPage() {
	const admin = isAdmin();
	const members = (await api("GET", "/api/v1/members")).items;
	const alert = el("p", { class: "error", role: "alert" });
	const roleSelect = (m) => el("select", { "aria-label": `Role of ${m.name}`, onchange: async (ev) => {
		try {
			await api("PATCH", `/api/v1/members/${m.id}`, { role: ev.target.value });
		} catch (e) {
			alert.textContent = explain(e);
			return;
		}
		reload();
	} }, ["member", "admin", "owner"].map((r) => el("option", { value: r, selected: r === m.role }, r)));
	const mine = (m) => m.id === state.me.user.id;
	const parts = [alert, list("members", members, (m) => el("li", {},
	    el("strong", {}, m.name), ` ${m.email} `,
	    admin && !mine(m) ? roleSelect(m) : el("span", {}, m.role), " ",
	    admin && !mine(m) ? confirmButton(`Remove ${m.name}`, `Remove ${m.name} from the company? Their sessions end now.`, "Remove",
		async () => { await api("DELETE", `/api/v1/members/${m.id}`); reload(); }) : null), "")];
	if (admin) {
		const open = (await api("GET", "/api/v1/invitations")).items;
		parts.push(el("h2", {}, "Invitations"),
		    list("invitations", open, (i) => el("li", {}, `${i.email} as ${i.role}, until ${when(i.expires_at)} `,
			el("button", { type: "button", class: "link", onclick: async () => {
				await api("DELETE", `/api/v1/invitations/${i.id}`);
				reload();
			} }, `revoke ${i.email}`)), "No open invitations."),
		    form([{ name: "email", label: "Invite by e-mail", type: "email", autocomplete: "off" },
			{ name: "role", label: "Role", options: [["member", "member"], ["admin", "admin"], ["owner", "owner"]], value: "member" }],
		    "Send invitation", async (v) => {
			await api("POST", "/api/v1/invitations", { email: v.email, role: v.role });
			reload();
		    }));
	}
	show("Members", ...parts);
}

async function apiKeysPage() {
	const made = el("div");
	const f = form([{ name: "name", label: "Name" },
		...SCOPES.map((s) => ({ name: s, label: s, type: "checkbox" })),
		{ name: "expires_at", label: "Expires (optional, YYYY-MM-DD)", required: false }],
	"Create key", async (v) => {
		const scopes = SCOPES.filter((s) => v[s]);
		const body = { name: v.name, scopes };
		if (v.expires_at) body.expires_at = v.expires_at;
		const k = await api("POST", "/api/v1/api-keys", body);
		made.replaceChildren(secretOnce(`The key “${k.name}”`, k.key, "new-key"));
		await refreshList();
	});
	const holder = el("div");
	const refreshList = async () => {
		const items = (await api("GET", "/api/v1/api-keys")).items;
		holder.replaceChildren(list("api-keys", items, (k) => el("li", {},
		    el("strong", {}, k.name), ` ${k.prefix}… · ${k.scopes.join(", ")} · last used ${k.last_used_at ? when(k.last_used_at) : "never"}`,
		    k.expires_at ? ` · expires ${when(k.expires_at)}` : "", " ",
		    confirmButton(`Revoke ${k.name}`, `Revoke the key “${k.name}”? Whatever uses it stops working now.`, "Revoke",
			async () => { await api("DELETE", `/api/v1/api-keys/${k.id}`); await refreshList(); })), "No API keys yet."));
	};
	await refreshList();
	show("API keys", made, holder, el("h2", {}, "New key"), f);
}

function embedSnippet(bot) {
	const code = `<script src="${location.origin}/widget/parley.js" data-bot="${bot.public_key}" async></script>`;
	return el("div", { class: "secret" }, el("p", {}, "Paste this into your site's pages:"),
	    el("pre", {}, el("code", { id: "embed" }, code)), " ",
	    el("button", { type: "button", onclick: async (ev) => {
		try { await navigator.clipboard.writeText(code); ev.target.textContent = "Copied"; } catch { ev.target.textContent = "Select and copy"; }
	    } }, "Copy the snippet"));
}

async function chatbotsPage() {
	const q = new URLSearchParams(location.search).get("id");
	if (q && /^[0-9a-f-]{36}$/.test(q)) return chatbotPage(q);
	const bots = (await api("GET", "/api/v1/chatbots")).items;
	const parts = [list("chatbots", bots, (b) => el("li", {}, el("a", { href: `/settings/chatbots?id=${b.id}` }, b.name),
	    ` · ${b.allowed_origins.length ? b.allowed_origins.join(", ") : "no site allowed yet"}`), "No chatbots yet.")];
	if (isAdmin())
		parts.push(el("h2", {}, "New chatbot"), form([
			{ name: "name", label: "Name" },
			{ name: "welcome_message", label: "Welcome message", required: false },
			{ name: "allowed_origins", label: "Sites that may embed it (origins such as https://shop.example, one per line)", type: "textarea", rows: 2, required: false },
		], "Create chatbot", async (v) => {
			const b = await api("POST", "/api/v1/chatbots", { name: v.name, welcome_message: v.welcome_message || undefined,
				allowed_origins: lines(v.allowed_origins) });
			// Its identity secret is in this answer only: the next page shows it.
			made = b.identity_secret;
			go(`/settings/chatbots?id=${b.id}`);
		}));
	show("Chatbots", ...parts);
}

// Business hours as a person writes them: one range a line ("mon
// 09:00-17:00"), one holiday a line ("2026-12-24 Christmas Eve"); a line
// that is neither says which.
const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
function weeklyText(h) { return h.weekly.map((r) => `${r.day} ${r.opens}-${r.closes}`).join("\n"); }
function holidaysText(h) { return h.holidays.map((d) => `${d.date}${d.name ? ` ${d.name}` : ""}`).join("\n"); }
function parseWeekly(text) {
	return text.split("\n").map((l) => l.trim()).filter(Boolean).map((l, i) => {
		const m = /^([a-z]{3})\s+(\d\d:\d\d)\s*-\s*(\d\d:\d\d)$/i.exec(l);
		if (!m || !DAYS.includes(m[1].toLowerCase()))
			throw new Error(`Opening hours, line ${i + 1}: write a day and a range, like “mon 09:00-17:00”.`);
		return { day: m[1].toLowerCase(), opens: m[2], closes: m[3] };
	});
}
function parseHolidays(text) {
	return text.split("\n").map((l) => l.trim()).filter(Boolean).map((l, i) => {
		const m = /^(\d{4}-\d\d-\d\d)(?:\s+(.+))?$/.exec(l);
		if (!m) throw new Error(`Holidays, line ${i + 1}: write a date and a name, like “2026-12-24 Christmas Eve”.`);
		return m[2] ? { date: m[1], name: m[2] } : { date: m[1] };
	});
}
function hoursNow(h) {
	if (!h.enabled) return "Business hours are off: the widget always offers a person.";
	return h.open ? "Open now." : `Closed now${h.opens_at ? `; opens ${when(h.opens_at)}` : ""}.`;
}
function hoursSection(id, h, admin) {
	const now = el("p", { role: "status", id: "hours-now" }, hoursNow(h));
	if (!admin)
		return [el("h2", {}, "Business hours"), now, el("pre", { class: "doc" }, `${h.timezone}\n${weeklyText(h)}`)];
	return [el("h2", {}, "Business hours"), now, form([
		{ name: "enabled", label: "Use business hours (outside them the widget says nobody can answer now)", type: "checkbox", checked: h.enabled },
		{ name: "timezone", label: "Time zone (an IANA name, such as Europe/Berlin)", value: h.timezone },
		{ name: "weekly", label: "Opening hours, one range a line (mon 09:00-17:00)", type: "textarea", rows: 5, value: weeklyText(h), required: false },
		{ name: "holidays", label: "Holidays, one a line (2026-12-24 Christmas Eve)", type: "textarea", rows: 3, value: holidaysText(h), required: false },
		{ name: "offline_message", label: "What the widget says when nobody can answer", type: "textarea", rows: 2, value: h.offline_message ?? "", required: false },
		{ name: "ask_email", label: "Then offer visitors an answer by e-mail", type: "checkbox", checked: h.ask_email },
	], "Save business hours", async (v) => {
		const body = { enabled: v.enabled, timezone: v.timezone.trim(), weekly: parseWeekly(v.weekly),
			holidays: parseHolidays(v.holidays), offline_message: v.offline_message.trim() || null, ask_email: v.ask_email };
		now.textContent = hoursNow(await api("PUT", `/api/v1/chatbots/${id}/hours`, body));
	})];
}

// The chatbot's look in the widget: accent colours (parleyd refuses a pair
// below WCAG AA's 4.5:1 and says the ratio), the launcher's side, the bot's
// name and the logo.
function lookSection(b) {
	const saved = el("p", { role: "status", class: "ok" });
	const logoNote = el("p", { role: "status", class: "ok" });
	const preview = el("img", { class: "logo-preview", alt: "The chatbot's logo", width: 48, height: 48, hidden: !b.logo });
	if (b.logo) preview.src = `/api/v1/widget/logo?bot=${b.public_key}&v=${b.logo.sha256}`;
	return [el("h2", {}, "Look in the widget"), form([
		{ name: "accent_color", label: "Accent colour (launcher, header, the visitor's messages, buttons)", type: "color", value: b.accent_color },
		{ name: "accent_text_color", label: "Text on the accent colour", type: "color", value: b.accent_text_color },
		{ name: "launcher_position", label: "Launcher", options: [["right", "bottom right"], ["left", "bottom left"]], value: b.launcher_position },
		{ name: "display_name", label: "The bot's name on its messages (empty: “AI assistant”)", value: b.display_name ?? "", required: false },
	], "Save look", async (v) => {
		await api("PATCH", `/api/v1/chatbots/${b.id}`, { accent_color: v.accent_color, accent_text_color: v.accent_text_color,
			launcher_position: v.launcher_position, display_name: v.display_name.trim() || null });
		saved.textContent = "Saved.";
	}), saved,
	el("h3", {}, "Logo"), preview, form([
		{ name: "logo", label: "A PNG, JPEG or WebP picture, at most 1024 pixels a side", type: "file", accept: "image/png,image/jpeg,image/webp" },
	], "Upload logo", async (v) => {
		if (!v.logo) throw new Error("Choose a picture first.");
		const l = await upload(`/api/v1/chatbots/${b.id}/logo`, v.logo, "PUT");
		preview.src = `/api/v1/widget/logo?bot=${b.public_key}&v=${l.sha256}`;
		preview.hidden = false;
		logoNote.textContent = "Logo saved.";
	}), logoNote,
	b.logo ? el("p", {}, delButton("the logo", `/api/v1/chatbots/${b.id}/logo`, () => reload())) : null];
}

// The widget's languages (its default first) and a welcome for each; a
// line the page cannot read is named before anything is sent.
// The knowledge base's languages (PostgreSQL text search configurations).
const DOC_LANGUAGES = ["english", "german", "french", "spanish", "danish", "swedish", "estonian", "finnish", "dutch", "italian",
	"portuguese", "norwegian", "arabic", "hebrew", "russian", "hungarian", "romanian", "turkish", "simple"];
const LOCALES = { en: "English", de: "Deutsch", fr: "Français", es: "Español", da: "Dansk", sv: "Svenska", et: "Eesti",
	fi: "Suomi", nl: "Nederlands", it: "Italiano", pt: "Português", nb: "Norsk bokmål", ar: "العربية", he: "עברית" };
function languageSection(b) {
	const saved = el("p", { role: "status", class: "ok" });
	return [el("h2", {}, "Languages"),
	el("p", { class: "muted" }, `The widget speaks the visitor's browser language when the chatbot offers it, else the first one. Offered: ${Object.entries(LOCALES).map(([k, v]) => `${k} (${v})`).join(", ")}.`),
	form([
		{ name: "locales", label: "Languages offered, the default first (for example: en de et)", value: b.locales.join(" ") },
		{ name: "welcomes", label: "A welcome per language, one a line (for example: de: Hallo! Wie können wir helfen?)", type: "textarea", rows: 4,
		  value: Object.entries(b.welcome_messages ?? {}).map(([k, v]) => `${k}: ${v}`).join("\n"), required: false },
	], "Save languages", async (v, err) => {
		const locales = v.locales.trim().split(/[\s,]+/).filter(Boolean);
		const bad = locales.filter((l) => !(l in LOCALES));
		const welcome_messages = {};
		for (const line of v.welcomes.split("\n").map((x) => x.trim()).filter(Boolean)) {
			const m = line.match(/^([a-z]{2}):\s*(.+)$/);
			if (!m || !(m[1] in LOCALES)) bad.push(line);
			else welcome_messages[m[1]] = m[2];
		}
		if (bad.length) {
			err.textContent = `Not understood: ${bad.join(" | ")}`;
			return;
		}
		await api("PATCH", `/api/v1/chatbots/${b.id}`, { locales, welcome_messages });
		saved.textContent = "Saved.";
	}), saved];
}

// Knowledge from the shop's site: a page or a sitemap, fetched by parley in
// the background; each source's progress, its failed pages, sync, delete.
function sourcesSection(id, sources, admin) {
	const progress = (x) => `${x.status}${x.error ? ` (${x.error})` : ""} · ${x.pages_done} of ${x.pages_found} pages stored` +
		`${x.pages_failed ? `, ${x.pages_failed} not` : ""}${x.resync !== "off" ? ` · re-sync ${x.resync}` : ""}` +
		`${x.synced_at ? ` · last ${when(x.synced_at)}` : ""}`;
	const items = list("sources", sources, (x) => el("li", {},
		el("strong", {}, x.kind === "sitemap" ? "Sitemap " : x.kind === "file" ? "Upload " : "Page "),
		x.kind === "file" ? (x.title ?? "") : el("a", { href: x.url, rel: "noopener noreferrer", target: "_blank" }, x.url), ` · ${progress(x)}`,
		x.failures.length ? el("ul", {}, x.failures.map((f) => el("li", { class: "muted" }, `${f.url}: ${f.error}`))) : null,
		admin ? el("span", {}, " ", x.kind === "file" ? null : el("button", { type: "button", onclick: async () => {
			await api("POST", `/api/v1/chatbots/${id}/sources/${x.id}/sync`);
			reload();
		} }, "Sync now"), " ", delButton(`the source and its pages`, `/api/v1/chatbots/${id}/sources/${x.id}`)) : null),
		"No sources yet.");
	const parts = [el("h3", {}, "From your site"), items];
	if (admin) parts.push(form([
		{ name: "kind", label: "What", options: [["sitemap", "a sitemap: every page it lists"], ["url", "one page or file (HTML, PDF, DOCX)"]], value: "sitemap" },
		{ name: "url", label: "Its address (https://…)", type: "url" },
		{ name: "resync", label: "Fetch it again", options: [["off", "never"], ["daily", "daily"], ["weekly", "weekly"]], value: "weekly" },
	], "Fetch", async (v) => {
		await api("POST", `/api/v1/chatbots/${id}/sources`, { kind: v.kind, url: v.url, resync: v.resync });
		reload();
	}));
	return parts;
}

// A new chatbot's identity secret, from its creation to its page.
let made = null;

async function chatbotPage(id) {
	const b = await api("GET", `/api/v1/chatbots/${id}`);
	const teams = (await api("GET", "/api/v1/teams")).items;
	const docs = (await api("GET", `/api/v1/chatbots/${id}/documents`)).items;
	const hours = await api("GET", `/api/v1/chatbots/${id}/hours`);
	const sources = (await api("GET", `/api/v1/chatbots/${id}/sources`)).items;
	const admin = isAdmin();
	const shown = el("div");
	if (made) {
		shown.append(secretOnce("The identity secret (your backend signs visitors' identities with it)", made, "identity-secret"));
		made = null;
	}
	const saved = el("p", { role: "status", class: "ok" });
	const parts = [el("p", {}, el("a", { href: "/settings/chatbots" }, "← All chatbots")), shown, embedSnippet(b)];
	if (admin) {
		parts.push(el("h2", {}, "Settings"), form([
			{ name: "name", label: "Name", value: b.name },
			{ name: "welcome_message", label: "Welcome message", value: b.welcome_message ?? "", required: false },
			{ name: "prompt_template", label: "Prompt template", type: "textarea", rows: 4, value: b.prompt_template ?? "", required: false },
			{ name: "allowed_origins", label: "Sites that may embed it (one origin per line)", type: "textarea", rows: 3, value: b.allowed_origins.join("\n"), required: false },
			{ name: "require_verified", label: "Only visitors whose identity your site signed may chat", type: "checkbox", checked: b.require_verified },
			{ name: "team_id", label: "Team its handoffs go to", options: [["", "everyone"], ...teams.map((t) => [t.id, t.name])], value: b.team_id ?? "" },
			{ name: "routing", label: "Assign handoffs", options: [["manual", "by hand"], ["round_robin", "round robin among the team's online agents"],
				["least_loaded", "to the least loaded online agent of the team"]], value: b.routing },
			{ name: "reassign_offline", label: "When an agent goes offline, give their conversations to the others", type: "checkbox", checked: !!b.reassign_offline },
		], "Save chatbot", async (v) => {
			const body = { name: v.name, welcome_message: v.welcome_message, allowed_origins: lines(v.allowed_origins), require_verified: v.require_verified,
				team_id: v.team_id || null, routing: v.routing, reassign_offline: v.reassign_offline };
			if (v.prompt_template) body.prompt_template = v.prompt_template;
			await api("PATCH", `/api/v1/chatbots/${id}`, body);
			saved.textContent = "Saved.";
		}), saved,
		el("h2", {}, "Keys"),
		el("p", {}, el("button", { type: "button", onclick: async () => {
			const n = await api("POST", `/api/v1/chatbots/${id}/rotate-key`);
			shown.replaceChildren(el("p", { class: "ok", role: "status" }, "A new widget key: update the snippet on your site."), embedSnippet(n));
		} }, "Rotate the widget key"), " ",
		el("button", { type: "button", onclick: async () => {
			const n = await api("POST", `/api/v1/chatbots/${id}/rotate-identity-secret`);
			shown.replaceChildren(secretOnce("The identity secret (your backend signs visitors' identities with it)", n.identity_secret, "identity-secret"));
		} }, "Rotate the identity secret")));
	}
	if (admin) parts.push(...lookSection(b), ...languageSection(b));
	parts.push(...hoursSection(id, hours, admin));
	const docList = list("documents", docs, (d) => el("li", {},
	    el("button", { type: "button", class: "link", onclick: async () => {
		const full = await api("GET", `/api/v1/chatbots/${id}/documents/${d.id}`);
		viewer.replaceChildren(el("h3", {}, full.title), el("pre", { class: "doc" }, full.text ?? ""));
	    } }, d.title), ` · ${d.content_type}${d.language ? ` · ${d.language}` : ""} · ${d.bytes} bytes · ${d.chunks} chunks `,
	    admin ? delButton(`“${d.title}”`, `/api/v1/chatbots/${id}/documents/${d.id}`) : null), "No documents yet.");
	const viewer = el("div", { class: "viewer", "aria-live": "polite" });
	parts.push(el("h2", {}, "Knowledge base"), docList, viewer);
	if (admin) {
		parts.push(el("h3", {}, "Add a document"), form([
			{ name: "title", label: "Title" },
			{ name: "content_type", label: "Format", options: [["text/plain", "plain text"], ["text/markdown", "Markdown"], ["text/html", "HTML"]], value: "text/markdown" },
			{ name: "file", label: "From a file (.pdf, .docx, .txt, .md, .html), or paste below", type: "file", accept: ".pdf,.docx,.txt,.md,.markdown,.html,.htm,application/pdf,application/vnd.openxmlformats-officedocument.wordprocessingml.document,text/plain,text/markdown,text/html", required: false },
			{ name: "content", label: "Text", type: "textarea", rows: 6, required: false },
			{ name: "source_url", label: "Where it is on your site (optional URL)", type: "url", required: false },
			{ name: "language", label: "Its language", options: [["", `the chatbot's (${b.language})`], ...DOC_LANGUAGES.map((l) => [l, l])], value: "" },
		], "Add to the knowledge base", async (v) => {
			let content = v.content;
			let type = v.content_type;
			if (v.file && /\.(pdf|docx)$/i.test(v.file.name)) {
				// Read by parleyd from its bytes (poppler, libarchive).
				const q = new URLSearchParams({ title: v.title });
				if (v.language) q.set("language", v.language);
				// Read by the jobs process: wait for it (a minute at most).
				const up = await upload(`/api/v1/chatbots/${id}/documents/file?${q}`, v.file);
				for (let i = 0; i < 120; i++) {
					const x = await api("GET", `/api/v1/chatbots/${id}/sources/${up.id}`);
					if (x.status === "done" || x.status === "failed") break;
					await new Promise((r) => setTimeout(r, 500));
				}
				reload();
				return;
			}
			if (v.file) {
				content = await v.file.text();
				if (/\.html?$/i.test(v.file.name)) type = "text/html";
				else if (/\.(md|markdown)$/i.test(v.file.name)) type = "text/markdown";
				else type = "text/plain";
			}
			const body = { title: v.title, content_type: type, content };
			if (v.source_url) body.source_url = v.source_url;
			if (v.language) body.language = v.language;
			await api("POST", `/api/v1/chatbots/${id}/documents`, body);
			reload();
		}),
		...sourcesSection(id, sources, admin),
		el("h2", {}, "Delete"), delButton(`the chatbot “${b.name}”`, `/api/v1/chatbots/${id}`, () => go("/settings/chatbots")));
	}
	show(b.name, ...parts);
}

async function templatesPage() {
	const items = (await api("GET", "/api/v1/templates")).items;
	const admin = isAdmin();
	const parts = [list("templates", items, (t) => el("li", {}, el("strong", {}, t.name), el("p", { class: "pre" }, t.body),
	    admin ? el("details", {}, el("summary", {}, `Edit ${t.name}`), form([
		{ name: "name", label: "Name", value: t.name },
		{ name: "body", label: "Text", type: "textarea", value: t.body },
	    ], "Save template", async (v) => { await api("PATCH", `/api/v1/templates/${t.id}`, v); reload(); })) : null,
	    admin ? delButton(`the template “${t.name}”`, `/api/v1/templates/${t.id}`) : null), "No templates yet.")];
	if (admin)
		parts.push(el("h2", {}, "New template"), form([{ name: "name", label: "Name" }, { name: "body", label: "Text", type: "textarea" }],
		    "Add template", async (v) => { await api("POST", "/api/v1/templates", v); reload(); }));
	show("Templates", ...parts);
}

async function webhooksPage() {
	const hooks = (await api("GET", "/api/v1/webhook-endpoints")).items;
	const shown = el("div");
	const deliveries = el("div", { "aria-live": "polite" });
	const item = (w) => el("li", {}, el("strong", {}, w.url), w.description ? ` (${w.description})` : "", ` · ${w.events.join(", ")} · `, w.enabled ? "on" : "off",
	    w.disabled_reason ? ` (turned off: ${w.disabled_reason})` : "", ` · secret ${w.secret_hint ?? ""} `,
	    el("button", { type: "button", onclick: async () => {
		await api("PATCH", `/api/v1/webhook-endpoints/${w.id}`, { enabled: !w.enabled });
		reload();
	    } }, w.enabled ? `Turn ${w.url} off` : `Turn ${w.url} on again`), " ",
	    el("button", { type: "button", onclick: async () => {
		const n = await api("POST", `/api/v1/webhook-endpoints/${w.id}/rotate-secret`);
		shown.replaceChildren(secretOnce(`The new signing secret of ${w.url}`, n.secret, "webhook-secret"));
	    } }, "Rotate secret"), " ",
	    el("button", { type: "button", onclick: async () => {
		const d = (await api("GET", `/api/v1/webhook-endpoints/${w.id}/deliveries`)).items;
		deliveries.replaceChildren(el("h2", {}, `Deliveries to ${w.url}`), d.length ? table("Deliveries", ["Event", "Made", "Attempts", "Outcome", "Last answer"],
		    d.map((x) => [x.event_type, when(x.created_at), String(x.attempts),
			x.delivered_at ? `delivered ${when(x.delivered_at)}` : x.failed_at ? `failed ${when(x.failed_at)}` : "pending",
			(x.attempt_log ?? []).slice(-1).map((a) => `${a.status ?? a.error ?? ""}`).join("")])) : el("p", { class: "muted" }, "No deliveries yet."));
	    } }, "Deliveries"), " ",
	    delButton(`the endpoint ${w.url}`, `/api/v1/webhook-endpoints/${w.id}`));
	show("Webhooks", WIDE, shown, hooks.length ? el("ul", { id: "webhooks", class: "items" }, hooks.map(item)) : el("p", { class: "muted" }, "No webhook endpoints yet."),
	    deliveries, el("h2", {}, "New endpoint"),
	    form([{ name: "url", label: "URL (https)", type: "url" }, { name: "description", label: "Description", required: false },
		...EVENTS.map((e) => ({ name: e, label: e, type: "checkbox" }))], "Add endpoint", async (v) => {
		const events = EVENTS.filter((e) => v[e]);
		const body = { url: v.url, events: events.length ? events : ["*"] };
		if (v.description) body.description = v.description;
		const w = await api("POST", "/api/v1/webhook-endpoints", body);
		await webhooksPage();
		document.querySelector("main > div").replaceChildren(secretOnce(`The signing secret of ${w.url}`, w.secret, "webhook-secret"));
	    }));
}

async function llmPage() {
	const l = await api("GET", "/api/v1/company/llm");
	const saved = el("p", { role: "status", class: "ok" });
	show("LLM provider", el("p", {}, "Your own OpenAI-compatible provider, instead of the operator's. The key is stored encrypted and never shown again."),
	    el("p", {}, l.api_key_set ? "A key is set." : "No key of your own is set."),
	    form([{ name: "base_url", label: "Base URL (https)", type: "url", value: l.base_url ?? "", required: false },
		{ name: "model", label: "Model", value: l.model ?? "", required: false },
		{ name: "api_key", label: "API key (leave empty to keep the one set)", type: "password", required: false, autocomplete: "off" }],
	    "Save", async (v) => {
		const body = {};
		for (const k of ["base_url", "model", "api_key"]) if (v[k]) body[k] = v[k];
		await api("PUT", "/api/v1/company/llm", body);
		saved.textContent = "Saved.";
	    }), saved);
}

function auditQuery(v) {
	const q = new URLSearchParams();
	for (const k of ["from", "to", "action", "actor"]) if (v[k]) q.set(k, v[k]);
	return q;
}

async function auditPage() {
	const results = el("div", { "aria-live": "polite" });
	let cursor = null, filters = {};
	const more = el("button", { type: "button", class: "link", hidden: true, onclick: () => load(false) }, "Older entries");
	const rows = [];
	const load = async (fresh) => {
		const q = auditQuery(filters);
		q.set("limit", "50");
		if (!fresh && cursor) q.set("cursor", cursor);
		if (fresh) rows.length = 0;
		const p = await api("GET", `/api/v1/audit-log?${q}`);
		for (const a of p.items)
			rows.push([String(a.seq), when(a.created_at), `${a.actor_type}${a.actor_id ? ` ${a.actor_id.slice(0, 8)}` : ""}`, a.action,
				a.resource_type ? `${a.resource_type} ${a.resource_id?.slice(0, 8) ?? ""}` : "", a.ip ?? "",
				JSON.stringify(a.changes ?? a.fields ?? {})]);
		cursor = p.next_cursor;
		more.hidden = !cursor;
		results.replaceChildren(table("Audit log", ["#", "When", "Who", "Action", "Resource", "Address", "Details"], rows));
	};
	const since = new Date(Date.now() - 89 * 86400000).toISOString().slice(0, 10);
	const csvErr = el("span", { class: "error", role: "alert" });
	show("Audit log", WIDE, el("p", {}, "Every change made in the company, chained so that no entry can be altered unseen."),
	    form([{ name: "from", label: "From (YYYY-MM-DD)", required: false, value: since }, { name: "to", label: "To", required: false },
		{ name: "action", label: "Action (such as member.invite)", required: false }], "Show", async (v) => {
		filters = v;
		await load(true);
	    }),
	    el("p", {}, el("button", { type: "button", id: "audit-csv", onclick: async () => {
		// The export covers at most the last 90 days.
		const floor = new Date(Date.now() - 90 * 86400000 + 60000);
		const from = filters.from && new Date(filters.from) > floor ? filters.from : floor.toISOString();
		csvErr.textContent = "";
		try {
			await download(`/api/v1/audit-log/export.csv?${auditQuery({ ...filters, from })}`, "audit-log.csv");
		} catch (e) {
			csvErr.textContent = explain(e);
		}
	    } }, "Download CSV (the last 90 days, or as filtered)"), csvErr),
	    results, more);
	await load(true);
}

async function exportPage() {
	const status = el("p", { role: "status" });
	const holder = el("div", { "aria-live": "polite" });
	const err = el("p", { class: "error", role: "alert" });
	// The list, read again every two seconds while an export runs, in
	// place: the focus stays where it is.
	const refresh = async () => {
		const items = (await api("GET", "/api/v1/company/exports")).items;
		holder.replaceChildren(list("exports", items, (x) => el("li", {}, `${when(x.created_at)} · ${x.status}${x.stage ? ` (${x.stage})` : ""}`,
		    x.records ? ` · ${x.records} records` : "", x.bytes ? ` · ${x.bytes} bytes` : "", x.error ? ` · ${x.error}` : "", " ",
		    x.status === "ready" ? el("button", { type: "button", onclick: async () => {
			err.textContent = "";
			try {
				await download(`/api/v1/company/exports/${x.id}/download`, `parley-export-${x.id}.tar.gz`);
			} catch (e) {
				err.textContent = explain(e);
			}
		    } }, "Download") : null,
		    x.sha256 ? el("span", { class: "muted" }, ` sha256 ${x.sha256}`) : null), "No exports yet."));
		if (items.some((x) => x.status === "queued" || x.status === "running"))
			setTimeout(() => { if (holder.isConnected) refresh().catch(() => {}); }, 2000);
	};
	await refresh();
	show("Data export", el("p", {}, "Everything of the company's as one archive: members, chatbots, documents, conversations, consents, the audit log."),
	    el("button", { type: "button", id: "export-start", onclick: async () => {
		err.textContent = "";
		try {
			await api("POST", "/api/v1/company/export");
			status.textContent = "Export started.";
			await refresh();
		} catch (e) {
			err.textContent = explain(e);
		}
	    } }, "Start an export"), status, err, holder);
}

function subjectFields() {
	return [{ name: "kind", label: "Identify the person by", options: [["email", "e-mail address"], ["visitor_id", "visitor id"], ["user_id", "their user id in your site"]], value: "email" },
		{ name: "value", label: "Value" }];
}

async function privacyPage() {
	const out = el("div", { "aria-live": "polite" });
	show("Privacy requests", el("p", {}, "Requests of the people you hold data about (GDPR articles 15 to 18)."),
	    el("h2", {}, "Access: export a person's data"),
	    form(subjectFields(), "Download their data", async (v) => {
		const r = await api("POST", "/api/v1/privacy/subject-export", { [v.kind]: v.value });
		const url = URL.createObjectURL(new Blob([JSON.stringify(r, null, 2)], { type: "application/json" }));
		const a = el("a", { href: url, download: "subject-export.json" });
		document.body.append(a);
		a.click();
		a.remove();
		out.replaceChildren(el("p", { role: "status" }, `Exported ${r.visitors?.length ?? 0} visitor record(s).`));
	    }),
	    el("h2", {}, "Erasure"),
	    form([...subjectFields(), { name: "sure", label: "I understand: every matching visitor record, with its conversations, messages and consent records and their copies in webhook deliveries, is deleted now and cannot be restored", type: "checkbox" }],
	    "Erase their data", async (v, err) => {
		if (!v.sure) { err.textContent = "Tick the box to confirm what will be deleted."; return; }
		const r = await api("POST", "/api/v1/privacy/subject-erasure", { [v.kind]: v.value });
		out.replaceChildren(el("p", { role: "status" }, `Erased: ${r.visitors} visitor(s), ${r.conversations} conversation(s), ${r.messages} message(s), ${r.webhook_deliveries} webhook deliveries.`));
	    }),
	    el("h2", {}, "Rectify or restrict a visitor"),
	    form([{ name: "id", label: "Visitor id" }, { name: "name", label: "Correct name", required: false },
		{ name: "email", label: "Correct e-mail", type: "email", required: false },
		{ name: "restricted", label: "Restrict processing (no bot, no drafts)", options: [["", "leave as is"], ["true", "restrict"], ["false", "lift the restriction"]], value: "" }],
	    "Save visitor", async (v) => {
		const body = {};
		if (v.name) body.name = v.name;
		if (v.email) body.email = v.email;
		if (v.restricted) body.restricted = v.restricted === "true";
		const r = await api("PATCH", `/api/v1/visitors/${encodeURIComponent(v.id)}`, body);
		out.replaceChildren(el("p", { role: "status" }, `Saved: ${r.name ?? "no name"}, ${r.email ?? "no e-mail"}, ${r.restricted ? "restricted" : "not restricted"}.`));
	    }),
	    out);
}

async function consentsPage() {
	const items = (await api("GET", "/api/v1/consents")).items;
	show("Consents", WIDE, items.length ? table("Consents", ["When", "Visitor", "Chatbot", "Categories", "Policy"], items.map((c) =>
	    [when(c.created_at), c.visitor_id, c.chatbot_id, (c.categories ?? []).map((x) => (typeof x === "string" ? x : `${x.name}: ${x.granted ? "yes" : "no"}`)).join(", "), c.policy_version ?? "none (given before policy versions)"]))
	    : el("p", { class: "muted" }, "No consent records yet."));
}

async function securityEventsPage() {
	const items = (await api("GET", "/api/v1/security-events")).items;
	show("Security events", WIDE, items.length ? table("Security events", ["When", "What", "User", "Address", "Browser", "Detail"], items.map((x) =>
	    [when(x.created_at), x.kind, x.user_id ?? "", x.ip ?? "", x.user_agent ?? "", typeof x.detail === "string" ? x.detail : JSON.stringify(x.detail ?? "")]))
	    : el("p", { class: "muted" }, "No security events."));
}

// What each detection rule means (src/detect.c names them).
const RULES = {
	login_failures: "Many failed logins for one account",
	credential_stuffing: "One address failing to log in to many accounts",
	sign_in_revoked: "A member said a sign-in was not theirs and ended it",
	refresh_reuse: "A refresh token came back after use: its session was ended",
	mfa_disabled: "Two-factor authentication turned off",
	recovery_code_used: "A recovery code used to log in",
	role_granted: "An owner or admin role granted",
	id_walking: "Many unknown ids or denials for one session or API key",
	unusual_export: "Exports or erasures beyond the company's usual pattern",
	api_key_new_network: "An API key used from a network it never used",
	webhook_disabled: "A webhook endpoint turned off",
	csp_spike: "A spike in CSP reports from a chatbot's widget",
};

// Security alerts: what fired, how often, and who is on it. A mail's
// link (?alert=id) marks its alert.
async function alertsPage() {
	const q = new URLSearchParams(location.search);
	const want = q.get("state") ?? "";
	const mark = q.get("alert");
	const items = (await api("GET", `/api/v1/security-alerts${want ? `?state=${encodeURIComponent(want)}` : ""}`)).items;
	const filter = el("select", { id: "alert-state", "aria-label": "Show", onchange: () => go(`/security${filter.value ? `?state=${filter.value}` : ""}`) },
	    [["", "All"], ["open", "Open"], ["acknowledged", "Acknowledged"], ["resolved", "Resolved"]].map(([v, l]) =>
		el("option", { value: v, ...(v === want ? { selected: "" } : {}) }, l)));
	const out = el("p", { role: "status" });
	const move = (a, state, label) => el("button", { type: "button", onclick: async () => {
		try {
			await api("PATCH", `/api/v1/security-alerts/${a.id}`, { state });
			reload();
		} catch (e) { out.textContent = explain(e); }
	} }, label);
	const rows = items.map((a) => {
		const tr = el("tr", { id: `alert-${a.id}`, class: `${a.severity}${a.id === mark ? " marked" : ""}` },
		    el("td", {}, when(a.last_seen)),
		    el("td", {}, el("strong", {}, a.severity)),
		    el("td", {}, RULES[a.rule] ?? a.rule),
		    el("td", {}, el("code", {}, a.subject)),
		    el("td", {}, String(a.count)),
		    el("td", {}, a.state),
		    el("td", {}, a.state === "open" ? move(a, "acknowledged", "Acknowledge") : null,
			a.state !== "resolved" ? move(a, "resolved", "Resolve") : null));
		return tr;
	});
	show("Security alerts", WIDE,
	    el("p", {}, "parley judges sign-ins, sessions, keys, exports and the widget as they happen. Each alert is one incident: more of the same add to its count. Resolve it when it is over; the next one opens a new alert."),
	    el("label", {}, "Show ", filter), out,
	    items.length
		? el("div", { class: "scroll", tabindex: "0", role: "region", "aria-label": "Security alerts" }, el("table", {},
		    el("thead", {}, el("tr", {}, ["Last seen", "Severity", "What", "About", "Count", "State", ""].map((h) => el("th", { scope: "col" }, h)))),
		    el("tbody", {}, rows)))
		: el("p", { class: "muted" }, "No alerts."));
	if (mark) document.getElementById(`alert-${mark}`)?.scrollIntoView({ block: "center" });
}

async function billingPage() {
	const q = new URLSearchParams(location.search).get("checkout");
	const note = q === "success"
		? el("p", { class: "ok", role: "status" }, "Thank you: Stripe confirms the payment, and the plan changes as soon as it tells parley.")
		: q === "canceled" ? el("p", { role: "status" }, "The checkout was cancelled: nothing changed.") : null;
	const b = await api("GET", "/api/v1/billing");
	const lim = (v) => (v === null ? "no limit" : String(v));
	const mb = (v) => (v === null ? null : (v / 1048576).toFixed(1));
	const rows = [["Chatbots", b.usage.chatbots, b.plan.limits.chatbots],
		["Members and invitations", b.usage.members, b.plan.limits.members],
		["Documents", b.usage.documents, b.plan.limits.documents],
		["Messages this month", b.usage.messages_this_month, b.plan.limits.monthly_messages],
		["LLM tokens this month", b.usage.llm_tokens_this_month, b.plan.limits.monthly_llm_tokens],
		["Attachments kept (MB)", mb(b.usage.attachment_bytes), mb(b.plan.limits.attachment_storage_bytes)],
		["Largest attachment (MB)", "", mb(b.plan.limits.attachment_max_bytes)],
		["Attachments per conversation", "", b.plan.limits.attachments_per_conversation]];
	show("Billing", note,
	    el("p", {}, "Plan: ", el("strong", {}, b.plan.name), `, billing ${b.billing_state}`,
		b.subscription_status ? ` (subscription ${b.subscription_status})` : ""),
	    table("Usage and limits", ["", "Now", "Limit"], rows.map(([n, u, l]) => [n, String(u), lim(l)])),
	    b.stripe_customer
		? el("button", { type: "button", onclick: async () => { location.assign((await api("POST", "/api/v1/billing/portal", {})).url); } }, "Manage billing at Stripe")
		: form([{ name: "plan", label: "Upgrade to", options: [["pro", "Pro"], ["enterprise", "Enterprise"]], value: "pro" }], "Go to checkout at Stripe",
		    async (v) => { location.assign((await api("POST", "/api/v1/billing/checkout", { plan: v.plan })).url); }));
}

// Who takes the handoffs, and how conversations are sorted: teams (with
// their agents), each agent's capacity, the company's labels. Admins
// change them; members see them.
async function teamsPage() {
	const admin = isAdmin();
	const [teams, members, labels] = await Promise.all([api("GET", "/api/v1/teams"), api("GET", "/api/v1/members"), api("GET", "/api/v1/labels")])
	    .then((r) => r.map((x) => x.items));
	const name = new Map(members.map((m) => [m.id, m.name]));
	const memberBoxes = (t) => members.map((m) => ({ name: `m-${m.id}`, label: m.name, type: "checkbox", checked: !!t?.member_ids.includes(m.id) }));
	const chosen = (v) => members.filter((m) => v[`m-${m.id}`]).map((m) => m.id);
	const teamItem = (t) => el("li", {}, el("strong", {}, t.name), `: ${t.member_ids.map((i) => name.get(i) ?? "someone").join(", ") || "nobody yet"} `,
	    admin ? el("details", {}, el("summary", {}, `Change ${t.name}`),
		form([{ name: "name", label: "Name", value: t.name }, ...memberBoxes(t)], `Save ${t.name}`, async (v) => {
			await api("PATCH", `/api/v1/teams/${t.id}`, { name: v.name, member_ids: chosen(v) });
			reload();
		}), delButton(t.name, `/api/v1/teams/${t.id}`)) : null);
	const parts = [el("h2", {}, "Teams"),
	    el("p", {}, "A chatbot's handoffs go to its team (set on the chatbot's page): its agents are told, and with round robin or least loaded, one online agent of it gets each, within their capacity."),
	    list("teams", teams, teamItem, "No team yet: handoffs go to everyone.")];
	if (admin)
		parts.push(form([{ name: "name", label: "New team's name" }, ...memberBoxes(null)], "Make the team", async (v) => {
			await api("POST", "/api/v1/teams", { name: v.name, member_ids: chosen(v) });
			reload();
		}));
	parts.push(el("h2", {}, "Capacity"), el("p", {}, "How many conversations (waiting or open) routing assigns to an agent at once."),
	    list("capacities", members, (m) => el("li", {}, `${m.name}: `, admin
		? el("input", { type: "number", min: 0, max: 100, value: m.capacity ?? 5, "aria-label": `Capacity of ${m.name}`, onchange: async (ev) => {
			await api("PUT", `/api/v1/members/${m.id}/capacity`, { capacity: Number(ev.target.value) });
		    } })
		: String(m.capacity ?? 5)), ""));
	parts.push(el("h2", {}, "Labels"), list("labels", labels, (l) => el("li", {}, el("strong", {}, l.name), ` ${l.colour} `,
	    admin ? delButton(`label ${l.name}`, `/api/v1/labels/${l.id}`) : null), "No label yet."));
	if (admin)
		parts.push(form([{ name: "name", label: "New label" }, { name: "colour", label: "Colour (#rrggbb)", value: "#6b7280", required: false }],
		    "Make the label", async (v) => {
			await api("POST", "/api/v1/labels", { name: v.name, colour: v.colour || undefined });
			reload();
		    }));
	show("Teams and labels", ...parts);
}

// The company's own single sign-on: the domains it proves by DNS, its
// identity provider (SAML metadata, or an OpenID issuer and client), and
// its policy. Owners change it; admins see it.
async function ssoPage() {
	const owner = state.me.role === "owner";
	const domains = (await api("GET", "/api/v1/company/sso/domains")).items;
	let c = await api("GET", "/api/v1/company/sso");
	if (!c.protocol) c = null; /* none yet */
	const dom = el("section", { "aria-labelledby": "dom-h" }, el("h2", { id: "dom-h" }, "Domains"),
	    el("p", {}, "Single sign-on applies to the members whose address is at a domain the company verified. Verify one by publishing a DNS TXT record."),
	    list("domains", domains, (d) => el("li", {}, el("strong", {}, d.domain), d.verified ? ` verified ${when(d.verified_at)} ` : " not verified yet: publish ",
		d.verified ? null : el("code", {}, `${d.txt_name} TXT "${d.txt_value}"`), " ",
		owner && !d.verified ? el("button", { type: "button", onclick: async (ev) => {
			const err = ev.target.parentNode.querySelector(".error");
			try {
				await api("POST", `/api/v1/company/sso/domains/${d.id}/verify`);
				reload();
			} catch (e) {
				err.textContent = explain(e);
			}
		} }, `Verify ${d.domain}`) : null,
		owner ? delButton(d.domain, `/api/v1/company/sso/domains/${d.id}`) : null,
		el("span", { class: "error", role: "alert" })), "No domain yet."),
	    owner ? form([{ name: "domain", label: "Domain (e.g. acme.com)" }], "Add the domain", async (v) => {
		await api("POST", "/api/v1/company/sso/domains", { domain: v.domain });
		reload();
	    }) : null);
	const f = form([
		{ name: "protocol", label: "Protocol", options: [["saml", "SAML 2.0"], ["oidc", "OpenID Connect"]], value: c?.protocol ?? "saml" },
		{ name: "saml_metadata", label: "SAML: the identity provider's metadata XML", type: "textarea", rows: 6, required: false,
		  value: "" },
		{ name: "allow_idp_initiated", label: "SAML: accept sign-ins the identity provider starts (open to login CSRF)", type: "checkbox", checked: !!c?.allow_idp_initiated },
		{ name: "oidc_issuer", label: "OpenID Connect: issuer URL", required: false, value: c?.oidc_issuer ?? "" },
		{ name: "oidc_client_id", label: "OpenID Connect: client id", required: false, value: c?.oidc_client_id ?? "" },
		{ name: "oidc_client_secret", label: c?.has_client_secret ? "OpenID Connect: client secret (leave empty to keep the one set)" : "OpenID Connect: client secret",
		  type: "password", required: false, autocomplete: "off" },
		{ name: "enabled", label: "Members may sign in through it", type: "checkbox", checked: !!c?.enabled },
		{ name: "required", label: "Require it for members of the verified domains (owners keep password and code)", type: "checkbox", checked: !!c?.required },
		{ name: "jit", label: "Make a member of anyone of a verified domain who signs in", type: "checkbox", checked: !!c?.jit },
		{ name: "jit_role", label: "Their role", options: [["member", "member"], ["admin", "admin"]], value: c?.jit_role ?? "member" },
		{ name: "idp_mfa", label: "The identity provider's multi-factor authentication counts for two-factor authentication", type: "checkbox", checked: !!c?.idp_mfa },
	], "Save single sign-on", async (v) => {
		const body = { protocol: v.protocol, enabled: v.enabled, required: v.required, jit: v.jit, jit_role: v.jit_role,
			idp_mfa: v.idp_mfa, allow_idp_initiated: v.allow_idp_initiated };
		if (v.protocol === "saml") {
			if (v.saml_metadata) body.saml_metadata = v.saml_metadata;
			else if (c?.protocol === "saml") return saveErr("Paste the metadata again to change SAML settings.");
		} else {
			body.oidc_issuer = v.oidc_issuer;
			body.oidc_client_id = v.oidc_client_id;
			if (v.oidc_client_secret) body.oidc_client_secret = v.oidc_client_secret;
		}
		await api("PUT", "/api/v1/company/sso", body);
		reload();
	});
	const saveErr = (m) => { f.querySelector(".error").textContent = m; };
	if (!owner) f.querySelectorAll("input, select, textarea, button").forEach((i) => { i.disabled = true; });
	const idp = el("section", { "aria-labelledby": "idp-h" }, el("h2", { id: "idp-h" }, "Identity provider"),
	    c ? el("p", { id: "sso-state" }, `${c.protocol === "saml" ? "SAML" : "OpenID Connect"}${c.saml_idp_entity_id ? ` (${c.saml_idp_entity_id})` : ""}${c.oidc_issuer ? ` (${c.oidc_issuer})` : ""}: `,
		c.enabled ? "on" : "off", c.required ? ", required" : "", c.jit ? `, new members as ${c.jit_role}` : "", ".") : el("p", { class: "muted" }, "None yet."),
	    el("p", {}, "At your identity provider, register parley as:"),
	    el("ul", {}, el("li", {}, "SAML entity id (and metadata URL): ", el("code", { id: "sp-entity" }, c?.sp_entity_id ?? `${location.origin}/api/v1/sso/saml/${state.me.company.id}/metadata`)),
		el("li", {}, "SAML Assertion Consumer Service (HTTP-POST): ", el("code", { id: "sp-acs" }, c?.sp_acs_url ?? `${location.origin}/api/v1/sso/saml/${state.me.company.id}/acs`)),
		el("li", {}, "OpenID Connect redirect URI: ", el("code", {}, c?.oidc_redirect_uri ?? `${location.origin}/api/v1/auth/oidc/callback`))),
	    f, owner && c ? delButton("the single sign-on settings", "/api/v1/company/sso") : null);
	show("Single sign-on", dom, idp);
}

export const adminPages = {
	"/settings/company": page("Company", ADMIN, companyPage),
	"/settings/sso": page("Single sign-on", ADMIN, ssoPage),
	"/settings/teams": page("Teams and labels", null, teamsPage),
	"/settings/members": page("Members", null, membersPage),
	"/settings/api-keys": page("API keys", ADMIN, apiKeysPage),
	"/settings/chatbots": page("Chatbots", null, chatbotsPage),
	"/settings/templates": page("Templates", null, templatesPage),
	"/settings/webhooks": page("Webhooks", ADMIN, webhooksPage),
	"/settings/llm": page("LLM provider", ADMIN, llmPage),
	"/settings/audit-log": page("Audit log", ADMIN, auditPage),
	"/settings/export": page("Data export", ADMIN, exportPage),
	"/settings/privacy": page("Privacy requests", ADMIN, privacyPage),
	"/settings/consents": page("Consents", ADMIN, consentsPage),
	"/settings/security-events": page("Security events", ADMIN, securityEventsPage),
	"/security": page("Security alerts", ADMIN, alertsPage),
	"/settings/billing": page("Billing", ["owner"], billingPage),
};
