// inbox.js: the agents' inbox. The list of conversations (the API's
// filters, newest activity first, keyset pages), kept current by the
// company's event stream (GET /api/v1/events: new conversations and
// messages, status and assignee changes, deletions) without polling; an
// unread marker and count in the tab's title; a browser notification
// with a sound when the agent opts in. The conversation: who the visitor
// is, the messages with their roles and citations, the reply box with
// templates ("/" and a name) and the LLM's draft, assignment, resolve and
// reopen, delete (admins). Everything is a link, a button or a field:
// the keyboard reaches all of it.
import { state, el, show, WIDE, api, explain, when, newKey, confirmButton, retitle, refreshSession, blobUrl, upload } from "./lib.js";
import { renderMarkdown } from "/widget/markdown.js";

const FILTERS = [
	["unanswered", "Unanswered", { unanswered: "true" }],
	["mine", "Mine", { assignee: "me" }],
	["unassigned", "Unassigned", { assignee: "none" }],
	["pending", "Waiting for a person", { status: "pending" }],
	["open", "With a person", { status: "open" }],
	["bot", "With the bot", { status: "bot" }],
	["resolved", "Resolved", { status: "resolved" }],
	["all", "All", {}],
];
const STATUS = { bot: "with the bot", pending: "waiting for a person", open: "with a person", resolved: "resolved" };
const MAX_EVENT = 1 << 20;

// What the inbox holds while it is shown (view) and while the agent is
// signed in (the stream, unread, notifications).
let view = null;
state.unread = new Set();
let stream = null;

function me() { return state.me?.user?.id; }

function visitorName(c) {
	return c.visitor?.name || c.visitor?.email || `Visitor ${c.visitor?.id?.slice(0, 8) ?? ""}`;
}

function unanswered(c) {
	return c.status === "pending" || (c.status !== "resolved" && c.last_role === "visitor");
}

// Whether conversation 'c' belongs in the list as filtered now.
function matches(c) {
	if (view.chatbot && c.chatbot_id !== view.chatbot) return false;
	switch (view.filter) {
	case "unanswered": return unanswered(c);
	case "mine": return c.assignee_id === me();
	case "unassigned": return !c.assignee_id;
	case "all": return true;
	default: return c.status === view.filter;
	}
}

function query() {
	const q = new URLSearchParams(FILTERS.find((f) => f[0] === view.filter)[2]);
	if (view.chatbot) q.set("chatbot", view.chatbot);
	if (view.label) q.set("label", view.label);
	q.set("limit", "25");
	if (view.cursor) q.set("cursor", view.cursor);
	return q;
}

function inboxUrl(id) {
	const q = new URLSearchParams();
	if (view.filter !== "unanswered") q.set("filter", view.filter);
	if (view.chatbot) q.set("chatbot", view.chatbot);
	if (view.label) q.set("label", view.label);
	if (id) q.set("c", id);
	const s = q.toString();
	return `/inbox${s ? `?${s}` : ""}`;
}

// ---- the list -----------------------------------------------------------

async function loadPage() {
	const page = await api("GET", `/api/v1/conversations?${query()}`);
	for (const c of page.items) view.items.set(c.id, c);
	view.cursor = page.next_cursor;
	renderList();
}

function sorted() {
	return [...view.items.values()].filter((c) => matches(c) || c.id === view.open)
		.sort((a, b) => (a.last_message_at < b.last_message_at ? 1 : a.last_message_at > b.last_message_at ? -1 : 0));
}

function listItem(c) {
	const unread = state.unread.has(c.id);
	return el("li", { class: `conv${c.id === view.open ? " current" : ""}${unread ? " unread" : ""}`, "data-id": c.id },
	    el("a", { href: inboxUrl(c.id), "aria-current": c.id === view.open ? "true" : null, onclick: (ev) => {
		if (ev.metaKey || ev.ctrlKey || ev.shiftKey) return;
		ev.preventDefault();
		openConversation(c.id, true);
	    } },
		el("span", { class: "who" }, visitorName(c)),
		unread ? el("span", { class: "dot" }, el("span", { class: "sr" }, " unread")) : null,
		el("span", { class: "meta" }, ` ${STATUS[c.status] ?? c.status} · ${when(c.last_message_at)}`)));
}

function renderList() {
	const items = sorted();
	view.list.replaceChildren(...items.map(listItem));
	view.empty.hidden = items.length > 0;
	view.more.hidden = !view.cursor;
}

// Arrow keys move between the conversations of the list.
function listKeys(ev) {
	if (ev.key !== "ArrowDown" && ev.key !== "ArrowUp") return;
	const links = [...view.list.querySelectorAll("a")];
	const i = links.indexOf(document.activeElement);
	if (i < 0) return;
	ev.preventDefault();
	links[Math.max(0, Math.min(links.length - 1, i + (ev.key === "ArrowDown" ? 1 : -1)))].focus();
}

// ---- the conversation ---------------------------------------------------

function authorName(m) {
	if (m.role === "agent") {
		const a = view.members.get(m.author_id);
		return a ? (m.author_id === me() ? `${a.name} (you)` : a.name) : "Agent";
	}
	return { visitor: "Visitor", bot: "Bot", system: "System" }[m.role] ?? m.role;
}

// A file a message carries: images shown, anything else a download
// under its name (fetched with the token, shown from a blob: URL).
const files = new Map(); // attachment id: its blob: URL, fetched once
function fileUrl(id) {
	if (!files.has(id)) files.set(id, blobUrl(`/api/v1/attachments/${id}`).catch((e) => { files.delete(id); throw e; }));
	return files.get(id);
}

function attachmentView(a) {
	const link = el("a", { href: "#", class: "file", download: a.filename }, a.filename);
	const image = a.media_type.startsWith("image/");
	fileUrl(a.id).then((url) => {
		link.href = url;
		if (image) link.replaceChildren(el("img", { src: url, alt: a.filename, class: "file-image" }));
	}, () => link.removeAttribute("href"));
	return el("p", { class: "attachment" }, link, image ? null : ` (${a.media_type === "application/pdf" ? "PDF" : a.media_type}, ${Math.ceil(a.bytes / 1024)} KiB)`);
}

function messageItem(m) {
	const body = el("div", { class: "body" });
	if (m.attachment) body.append(attachmentView(m.attachment));
	else body.append(renderMarkdown(m.content));
	return el("li", { class: `msg ${m.role}`, "data-id": m.id, "data-role": m.role },
	    el("p", { class: "meta" }, el("strong", {}, authorName(m)), ` · ${when(m.created_at)}`),
	    body,
	    m.citations?.length ? el("p", { class: "cites" }, "Sources: ", m.citations.map((c, i) => [i ? ", " : "",
		c.source_url && /^https?:\/\//.test(c.source_url)
		    ? el("a", { href: c.source_url, rel: "noopener noreferrer", target: "_blank", class: "cite" }, c.title)
		    : el("span", { class: "cite" }, c.title)])) : null);
}

// Shows message 'm' of conversation 'conv' if it is the one shown; one
// of the conversation being opened waits until its messages are read.
function addMessage(m, conv) {
	if (view?.open === conv && view.conv?.id !== conv) { view.arrived.push(m); return; }
	if (!view?.conv || view.conv.id !== conv || view.seen.has(m.id)) return;
	view.seen.add(m.id);
	view.messages.append(messageItem(m));
	view.messages.lastElementChild.scrollIntoView?.({ block: "nearest" });
}

function memberOptions(c) {
	const opts = [["", "Nobody"]];
	for (const m of view.members.values()) opts.push([m.id, m.id === me() ? `${m.name} (me)` : m.name]);
	return opts.map(([v, l]) => el("option", { value: v, selected: (c.assignee_id ?? "") === v }, l));
}

function header(c) {
	const v = c.visitor ?? {};
	const err = el("p", { class: "error", role: "alert" });
	const patch = async (body) => {
		err.textContent = "";
		try {
			const n = await api("PATCH", `/api/v1/conversations/${c.id}`, body);
			view.items.set(n.id, { ...view.items.get(n.id), ...n });
			view.conv = { ...view.conv, ...n };
			renderConversationHead();
			renderList();
		} catch (e) {
			err.textContent = explain(e);
		}
	};
	const assignee = el("select", { id: "assignee", onchange: (ev) => patch({ assignee_id: ev.target.value || null }) }, memberOptions(c));
	return el("div", { class: "conv-head" },
	    el("h2", { id: "conv-title" }, visitorName(c)),
	    el("dl", { class: "facts" },
		el("dt", {}, "E-mail"), el("dd", {}, v.email ?? "not given"),
		el("dt", {}, "Identity"), el("dd", {}, v.verified ? "verified by your site" : "not verified"),
		v.restricted ? [el("dt", {}, "Processing"), el("dd", { class: "error" }, "restricted: no drafts, no bot")] : null,
		el("dt", {}, "Status"), el("dd", { id: "conv-status" }, STATUS[c.status] ?? c.status,
		    c.handoff_reason ? ` (handed off: ${c.handoff_reason})` : "")),
	    labelsLine(c, err),
	    el("div", { class: "actions" },
		el("label", { for: "assignee" }, "Assigned to "), assignee, " ",
		c.assignee_id !== me() ? el("button", { type: "button", onclick: () => patch({ assignee_id: "me" }) }, "Assign to me") : null, " ",
		c.status === "resolved"
		    ? el("button", { type: "button", onclick: () => patch({ status: "open" }) }, "Reopen")
		    : el("button", { type: "button", onclick: () => patch({ status: "resolved" }) }, "Resolve"), " ",
		state.me.role !== "member" ? confirmButton("Delete", "Delete this conversation and all its messages, now?", "Delete it", async () => {
			await api("DELETE", `/api/v1/conversations/${c.id}`);
			removed(c.id);
		}) : null),
	    err);
}

// The conversation's labels: each removable, one more to add.
function labelsLine(c, err) {
	const names = new Map((view.labels ?? []).map((l) => [l.id, l]));
	const ids = c.label_ids ?? [];
	const set = async (next) => {
		err.textContent = "";
		try {
			const r = await api("PUT", `/api/v1/conversations/${c.id}/labels`, { label_ids: next });
			view.conv = { ...view.conv, label_ids: r.label_ids };
			view.items.set(c.id, { ...view.items.get(c.id), label_ids: r.label_ids });
			renderConversationHead();
		} catch (e) {
			err.textContent = explain(e);
		}
	};
	const add = el("select", { id: "add-label", "aria-label": "Add a label", onchange: (ev) => { if (ev.target.value) set([...ids, ev.target.value]); } },
	    el("option", { value: "" }, "Add a label…"),
	    (view.labels ?? []).filter((l) => !ids.includes(l.id)).map((l) => el("option", { value: l.id }, l.name)));
	// The label's colour through the CSSOM (the CSP allows no inline
	// style attribute), as a custom property the stylesheet reads.
	const chip = (id) => {
		const c = el("span", { class: "label" }, names.get(id)?.name ?? "a label", " ",
		    el("button", { type: "button", class: "link", "aria-label": `Remove label ${names.get(id)?.name ?? ""}`,
			onclick: () => set(ids.filter((x) => x !== id)) }, "×"));
		if (/^#[0-9a-f]{6}$/.test(names.get(id)?.colour ?? "")) c.style.setProperty("--label", names.get(id).colour);
		return [c, " "];
	};
	return el("p", { class: "labels", id: "conv-labels" }, "Labels: ",
	    ids.length ? ids.map(chip) : "none ", view.labels?.length ? add : null);
}

// One's presence: online while the console is open and used (renewed
// every minute), away after five idle minutes, or as chosen.
let presenceTimer = 0, idleTimer = 0, presenceChoice = null;
async function sendPresence(status) {
	try { await api("PUT", "/api/v1/me/presence", { status }); } catch { /* the next beat tries again */ }
}
function presenceControl() {
	const sel = el("select", { id: "presence", onchange: (ev) => { presenceChoice = ev.target.value; sendPresence(presenceChoice); } },
	    [["online", "Online"], ["away", "Away"], ["offline", "Offline"]].map(([v, l]) => el("option", { value: v }, l)));
	presenceChoice = "online";
	sendPresence("online");
	clearInterval(presenceTimer);
	presenceTimer = setInterval(() => { if (view && presenceChoice !== "offline") sendPresence(presenceChoice); }, 60000);
	const active = () => {
		clearTimeout(idleTimer);
		if (presenceChoice === "away" && sel.value === "online") { presenceChoice = "online"; sendPresence("online"); }
		idleTimer = setTimeout(() => { if (presenceChoice === "online") { presenceChoice = "away"; sendPresence("away"); } }, 300000);
	};
	document.addEventListener("keydown", active);
	document.addEventListener("pointerdown", active);
	active();
	return el("p", { class: "check" }, el("label", { for: "presence" }, "You are "), sel);
}

function renderConversationHead() {
	view.head.replaceChildren(header(view.conv));
}

function removed(id) {
	view.items.delete(id);
	state.unread.delete(id);
	retitle();
	if (view.open === id) {
		view.open = null;
		view.conv = null;
		view.pane.replaceChildren(el("p", { role: "status" }, "This conversation was deleted."));
		view.root.classList.remove("has-open");
		history.replaceState(null, "", inboxUrl(null));
	}
	renderList();
}

// The reply box: "/" and a template's name offers the templates; the
// draft button asks the LLM for a draft, which streams into the box for
// the agent to edit before sending.
function replyBox(c) {
	const text = el("textarea", { id: "reply", rows: 4, maxlength: 16000, "aria-describedby": "reply-help",
	    "aria-autocomplete": "list", "aria-controls": "template-options" });
	const help = el("p", { id: "reply-help", class: "muted" }, "Type / and a template's name to insert it. Ctrl+Enter sends.");
	const options = el("ul", { id: "template-options", role: "listbox", "aria-label": "Templates", hidden: true });
	const note = el("p", { id: "draft-note", role: "status", class: "muted" });
	const err = el("p", { class: "error", role: "alert" });
	let choices = [], active = 0, key = null, sentText = null;

	const closeOptions = () => { options.hidden = true; text.removeAttribute("aria-activedescendant"); };
	const insert = (t) => {
		text.value = t.body;
		closeOptions();
		text.focus();
	};
	const offer = () => {
		const m = text.value.match(/^\/([^\n]{0,64})$/);
		if (!m || !view.templates.length) return closeOptions();
		const q = m[1].toLowerCase();
		choices = view.templates.filter((t) => t.name.toLowerCase().includes(q)).slice(0, 8);
		active = 0;
		if (!choices.length) return closeOptions();
		options.replaceChildren(...choices.map((t, i) => el("li", { role: "option", id: `tpl-${i}`, "aria-selected": i === active ? "true" : "false",
		    onmousedown: (ev) => { ev.preventDefault(); insert(t); } }, el("strong", {}, t.name), " ", el("span", { class: "muted" }, t.body.slice(0, 60)))));
		options.hidden = false;
		text.setAttribute("aria-activedescendant", "tpl-0");
	};
	const move = (d) => {
		active = (active + d + choices.length) % choices.length;
		[...options.children].forEach((li, i) => li.setAttribute("aria-selected", i === active ? "true" : "false"));
		text.setAttribute("aria-activedescendant", `tpl-${active}`);
	};
	text.addEventListener("input", () => { view.draft = view.draft && { ...view.draft, edited: true }; offer(); });
	text.addEventListener("keydown", (ev) => {
		if (!options.hidden) {
			if (ev.key === "ArrowDown" || ev.key === "ArrowUp") { ev.preventDefault(); move(ev.key === "ArrowDown" ? 1 : -1); return; }
			if (ev.key === "Enter" || ev.key === "Tab") { ev.preventDefault(); insert(choices[active]); return; }
			if (ev.key === "Escape") { ev.preventDefault(); closeOptions(); return; }
		}
		if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); f.requestSubmit(); }
	});

	const pick = el("select", { id: "template-pick", onchange: (ev) => {
		const t = view.templates.find((x) => x.id === ev.target.value);
		if (t) insert(t);
		ev.target.value = "";
	} }, el("option", { value: "" }, view.templates.length ? "Insert a template…" : "No templates yet"),
	    view.templates.map((t) => el("option", { value: t.id }, t.name)));

	const draftBtn = el("button", { type: "button", id: "draft", disabled: c.visitor?.restricted, onclick: async () => {
		err.textContent = "";
		note.textContent = "Drafting…";
		try {
			const d = await api("POST", `/api/v1/conversations/${c.id}/suggest`);
			view.draft = { id: d.id, text: "", edited: false, conv: c.id };
			// Its events may have come before this answer: take them.
			const early = earlyDrafts.get(d.id);
			earlyDrafts.delete(d.id);
			if (d.status !== "queued") draftDone(d);
			else if (early?.done) draftDone(early.done);
			else {
				if (early?.text) draftPiece(d.id, early.text);
				// Without the stream (reconnecting), the draft is read once.
				setTimeout(() => draftFallback(c.id, d.id), 20000);
			}
		} catch (e) {
			note.textContent = "";
			err.textContent = explain(e);
		}
	} }, "Draft a reply");

	// A file: a reply of its own (an image or a PDF).
	const file = el("input", { type: "file", id: "reply-file", class: "sr",
	    accept: "image/png,image/jpeg,image/gif,image/webp,application/pdf", onchange: async () => {
		const picked = file.files[0];
		file.value = "";
		if (!picked) return;
		err.textContent = "";
		try {
			const path = `/api/v1/conversations/${c.id}/attachments?filename=${encodeURIComponent(picked.name)}`;
			addMessage(await upload(path, picked), c.id);
		} catch (e) {
			err.textContent = explain(e);
		}
	} });

	const f = el("form", { class: "reply", onsubmit: async (ev) => {
		ev.preventDefault();
		const content = text.value.trim();
		if (!content) return;
		if (content !== sentText) { key = newKey(); sentText = content; }
		err.textContent = "";
		try {
			const m = await api("POST", `/api/v1/conversations/${c.id}/messages`, { content }, true, { "idempotency-key": key });
			sentText = null;
			if (text.value.trim() === content) text.value = "";
			view.draft = null;
			note.textContent = "";
			addMessage(m, c.id);
		} catch (e) {
			err.textContent = explain(e);
		}
	} },
	el("label", { for: "reply" }, "Reply to the visitor"), text, options, help,
	el("div", { class: "actions" }, el("label", { for: "template-pick", class: "sr" }, "Template"), pick, " ", draftBtn, " ",
	    el("label", { for: "reply-file", class: "button secondary" }, "Attach a file"), file, " ",
	    el("button", { type: "submit", id: "send" }, "Send")),
	note, err);
	view.replyText = text;
	view.draftNote = note;
	return f;
}

// Draft events that came before the 202 that names their draft: kept a
// little while, by id.
const earlyDrafts = new Map();
function early(id) {
	if (!earlyDrafts.has(id)) {
		earlyDrafts.set(id, { text: "", done: null });
		setTimeout(() => earlyDrafts.delete(id), 60000);
	}
	return earlyDrafts.get(id);
}

async function draftFallback(conv, id) {
	if (!view?.draft || view.draft.id !== id || view.draft.finished) return;
	try {
		draftDone(await api("GET", `/api/v1/conversations/${conv}/suggestions/${id}`));
	} catch { /* gone with the conversation */ }
}

// The draft's pieces and its end (from the agent's events, or the 202).
function draftPiece(id, piece) {
	if (!view?.draft || view.draft.id !== id) { early(id).text += piece; return; }
	if (view.draft.edited) return;
	view.draft.text += piece;
	view.replyText.value = view.draft.text;
	view.draftNote.textContent = "Draft (streaming): edit it before you send it.";
}

function draftDone(d) {
	if (!view?.draft || view.draft.id !== d.id) { early(d.id).done = d; return; }
	if (d.status === "queued" || view.draft.finished) return;
	view.draft.finished = true;
	const content = d.content ?? d.draft;
	if (d.status === "done" && content) {
		if (!view.draft.edited) view.replyText.value = content;
		view.draftNote.textContent = "Draft ready: edit it, then send it. Nothing is sent until you do.";
		view.replyText.focus();
	} else {
		view.draftNote.textContent = d.status === "refused"
			? "No draft: the knowledge base has nothing to answer this from."
			: "No draft: the LLM did not answer. Try again later.";
	}
}

async function openConversation(id, push) {
	if (push) history.pushState(null, "", inboxUrl(id));
	// Seen now: its notifications are read.
	api("POST", "/api/v1/notifications/read", { conversation_id: id }).then(() => refreshNotes()).catch(() => {});
	view.open = id;
	view.conv = null;
	view.arrived = [];
	state.unread.delete(id);
	retitle();
	renderList();
	view.root.classList.add("has-open");
	view.pane.replaceChildren(el("p", { class: "muted" }, "Loading…"));
	let c;
	try {
		c = await api("GET", `/api/v1/conversations/${id}`);
	} catch (e) {
		view.pane.replaceChildren(el("p", { class: "error", role: "alert" }, e.status === 404 ? "No such conversation." : explain(e)));
		return;
	}
	if (view.open !== id) return;
	const { messages, ...rest } = c;
	view.items.set(id, rest);
	view.conv = rest;
	view.seen = new Set();
	view.draft = null;
	view.head = el("div");
	view.messages = el("ol", { class: "messages", "aria-label": "Messages", "aria-live": "polite", tabindex: "0" });
	renderConversationHead();
	view.pane.replaceChildren(
	    el("p", { class: "back" }, el("a", { href: inboxUrl(null), onclick: (ev) => {
		ev.preventDefault();
		view.open = null;
		view.root.classList.remove("has-open");
		history.pushState(null, "", inboxUrl(null));
		renderList();
		view.list.querySelector("a")?.focus();
	    } }, "← All conversations")),
	    view.head, view.messages, replyBox(rest));
	for (const m of [...(messages ?? []), ...view.arrived]) addMessage(m, id);
	view.arrived = [];
	renderList();
	view.head.querySelector("h2").setAttribute("tabindex", "-1");
	if (push) view.head.querySelector("h2").focus();
}

// ---- live events --------------------------------------------------------

let audio = null;
function notifyOn() { return localStorage.getItem("parley.notify") === "1" && "Notification" in window && Notification.permission === "granted"; }

function ding() {
	try {
		audio ??= new AudioContext();
		const o = audio.createOscillator(), g = audio.createGain();
		o.frequency.value = 880;
		g.gain.value = 0.08;
		o.connect(g).connect(audio.destination);
		o.start();
		o.stop(audio.currentTime + 0.15);
	} catch { /* no sound here */ }
}

function notify(title, body, id) {
	if (!notifyOn()) return;
	try {
		const n = new Notification(title, { body, tag: id });
		n.onclick = () => { window.focus(); if (view) openConversation(id, true); };
	} catch { /* not allowed here */ }
	ding();
}

// Events about conversations the list does not hold yet (new ones, or
// older ones that came back to life) are not fetched one by one: at most
// once a second the first page is read again, which holds them, newest
// activity first. A busy company's hundred events a second cost one
// request a second.
let topTimer = 0;
function refreshTop() {
	if (topTimer || !view) return;
	topTimer = setTimeout(async () => {
		topTimer = 0;
		if (!view) return;
		const q = query();
		q.delete("cursor");
		try {
			const page = await api("GET", `/api/v1/conversations?${q}`);
			for (const c of page.items) view.items.set(c.id, { ...view.items.get(c.id), ...c });
			if (!view.cursor && page.next_cursor) view.cursor = page.next_cursor;
			renderList();
		} catch { /* the next event tries again */ }
	}, 1000);
}

// The conversation 'id' as the list holds it, or null (then the first
// page is read again soon).
function known(id) {
	const c = view?.items.get(id);
	if (!c) refreshTop();
	return c ?? null;
}

function onMessage(id, m) {
	if (m.role === "visitor" && !(view?.open === id && document.visibilityState === "visible")) {
		state.unread.add(id);
		retitle();
	}
	const c = known(id);
	if (!c) return;
	if (m.created_at && (!c.last_message_at || m.created_at > c.last_message_at)) c.last_message_at = m.created_at;
	c.last_role = m.role;
	c.unanswered = unanswered(c);
	if (view.open === id) addMessage(m, id);
	scheduleRender();
}

function onStatus(d) {
	const c = known(d.conversation_id);
	if (d.status === "pending" && c?.status !== "pending" && view?.open !== d.conversation_id) {
		state.unread.add(d.conversation_id);
		retitle();
	}
	if (!c) return;
	c.status = d.status;
	c.assignee_id = d.assignee_id ?? null;
	c.unanswered = unanswered(c);
	if (view.open === c.id) { view.conv = { ...view.conv, status: c.status, assignee_id: c.assignee_id }; renderConversationHead(); }
	scheduleRender();
}

// The list is drawn again at most once a frame, however many events came.
let renderPending = false;
function scheduleRender() {
	if (renderPending) return;
	renderPending = true;
	requestAnimationFrame(() => { renderPending = false; if (view) renderList(); });
}

// The agent's notifications, kept by parley (so a reload keeps them):
// read again, at most once a second, when an event may have made one.
let noteTimer = 0;
const KIND_WORDS = { handoff: "handed to a person", assigned: "assigned to you", visitor_message: "the visitor wrote",
	security_alert: "a security alert" };
function refreshNotes() {
	if (noteTimer || !view) return;
	noteTimer = setTimeout(async () => {
		noteTimer = 0;
		if (!view?.notes) return;
		try {
			renderNotes(await api("GET", "/api/v1/notifications"));
		} catch { /* the next event tries again */ }
	}, 1000);
}
// The browser's notifications follow parley's: a notification that is
// new (or counts more) since the page loaded is shown, unless its
// conversation is the one open and in view (then it is read at once).
const NOTE_TITLES = { handoff: "A visitor is waiting for a person", assigned: "A conversation was assigned to you",
	visitor_message: "A visitor wrote", security_alert: "A security alert" };
function announce(items) {
	const before = view.knownNotes;
	view.knownNotes = new Map(items.map((x) => [x.id, x.count]));
	if (!before) return;
	for (const x of items) {
		if (x.read_at || (before.get(x.id) ?? 0) >= x.count) continue;
		if (view.open === x.conversation_id && document.visibilityState === "visible") {
			api("POST", "/api/v1/notifications/read", { conversation_id: x.conversation_id }).catch(() => {});
			continue;
		}
		if (x.alert_id) continue; /* told in the list; the alerts page has it */
		const c = view.items.get(x.conversation_id);
		notify(NOTE_TITLES[x.kind] ?? "parley", c ? `${visitorName(c)}` : "Open the inbox to see it.", x.conversation_id);
	}
}
function renderNotes(n) {
	announce(n.items);
	const bots = new Map((view.chatbots ?? []).map((b) => [b.id, b.name]));
	view.notes.summary.textContent = n.unread ? `Notifications (${n.unread} unread)` : "Notifications";
	view.notes.list.replaceChildren(...(n.items.length ? n.items.map((x) => el("li", { class: x.read_at ? "read" : "unread" },
	    x.alert_id
		? el("a", { href: `/security?alert=${x.alert_id}` }, "Security alert: open the alerts page")
		: el("button", { type: "button", class: "link", onclick: () => { view.notes.box.open = false; openConversation(x.conversation_id, true); } },
		`${bots.get(x.chatbot_id) ?? "A chatbot"}: ${KIND_WORDS[x.kind] ?? x.kind}${x.count > 1 ? ` (${x.count}×)` : ""}`),
	    ` ${when(x.updated_at)}${x.read_at ? "" : " · unread"}`))
	    : [el("li", { class: "muted" }, "Nothing yet.")]));
}
function notesPanel() {
	const summary = el("summary", {}, "Notifications");
	const list = el("ul", { id: "notifications", class: "items" });
	const box = el("details", { class: "notes" }, summary, list,
	    el("button", { type: "button", class: "link", onclick: async () => {
		await api("POST", "/api/v1/notifications/read", { all: true });
		renderNotes(await api("GET", "/api/v1/notifications"));
	    } }, "Mark all read"));
	view.notes = { box, summary, list };
	api("GET", "/api/v1/notifications").then(renderNotes).catch(() => {});
	return box;
}

function onEvent(text) {
	let d;
	try { d = JSON.parse(text); } catch { return; }
	if (!d || typeof d !== "object") return;
	if (d.type === "message" || d.type === "status") refreshNotes();
	if (d.type === "message" && typeof d.conversation_id === "string" && d.message) onMessage(d.conversation_id, d.message);
	else if (d.type === "status" && typeof d.conversation_id === "string") onStatus(d);
	else if (d.type === "deleted" && view) removed(d.conversation_id);
	else if (d.type === "draft.delta" && typeof d.text === "string") draftPiece(d.id, d.text);
	else if (d.type === "draft" && d.draft) draftDone(d.draft);
}

async function readEvents(res) {
	const reader = res.body.getReader(), dec = new TextDecoder();
	let buf = "", data = [];
	for (;;) {
		const r = await reader.read();
		if (r.done) return;
		const lines = (buf + dec.decode(r.value, { stream: true })).split("\n");
		buf = lines.pop();
		if (buf.length > MAX_EVENT) throw new Error("event too large");
		for (const raw of lines) {
			const line = raw.replace(/\r$/, "");
			if (line === "") { if (data.length) onEvent(data.join("\n")); data = []; }
			else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
		}
	}
}

// The company's events, read with fetch() so the token goes in the
// Authorization header, never in a URL. After it ends (nginx ends it at
// least every 15 minutes) or fails, it comes back, backing off, and the
// list is read again: what happened meanwhile is not missed.
export function startEvents() {
	if (stream || !state.tokens) return;
	const ctl = stream = new AbortController();
	let delay = 1000;
	const connect = async () => {
		let status = -1;
		try {
			const res = await fetch("/api/v1/events", { headers: { authorization: `Bearer ${state.tokens?.access_token}`,
			    accept: "text/event-stream" }, cache: "no-store", signal: ctl.signal });
			status = res.status;
			if (res.ok) {
				delay = 1000;
				state.eventsOpen = true;
				window.dispatchEvent(new Event("parley:events"));
				await readEvents(res);
			}
		} catch { /* offline, or stopped */ }
		state.eventsOpen = false;
		if (stream !== ctl) return;
		if (status === 401 || status === 403) {
			if (!(await refreshSession())) return stopEvents();
		}
		setTimeout(async () => {
			if (stream !== ctl) return;
			if (view) { view.cursor = null; view.items.clear(); await loadPage().catch(() => {}); }
			connect();
		}, (status === 200 ? 500 : delay) + Math.random() * 1000);
		if (status !== 200) delay = Math.min(delay * 2, 60000);
	};
	connect();
}

export function stopEvents() {
	stream?.abort();
	stream = null;
	state.eventsOpen = false;
	state.unread.clear();
}

// The conversation shown is read once the tab is seen again.
document.addEventListener("visibilitychange", () => {
	if (document.visibilityState === "visible" && view?.open && state.unread.delete(view.open)) {
		retitle();
		scheduleRender();
	}
});

// ---- the page -----------------------------------------------------------

function notifyToggle() {
	const supported = "Notification" in window;
	const box = el("input", { type: "checkbox", id: "notify", checked: notifyOn(), disabled: !supported, onchange: async (ev) => {
		if (!ev.target.checked) { localStorage.removeItem("parley.notify"); return; }
		const p = await Notification.requestPermission();
		if (p === "granted") { localStorage.setItem("parley.notify", "1"); audio ??= new AudioContext(); }
		else { ev.target.checked = false; status.textContent = "Notifications are blocked for this site in your browser."; }
	} });
	const status = el("span", { role: "status", class: "muted" });
	return el("p", { class: "check" }, el("label", { for: "notify" }, box, " Notify me, with a sound, when a visitor is handed to a person or writes to me"), status);
}

export async function inboxPage() {
	const q = new URLSearchParams(location.search);
	const filter = FILTERS.some((f) => f[0] === q.get("filter")) ? q.get("filter") : "unanswered";
	const [members, templates, chatbots, labels] = await Promise.all([
		api("GET", "/api/v1/members").then((r) => r.items),
		api("GET", "/api/v1/templates").then((r) => r.items).catch(() => []),
		api("GET", "/api/v1/chatbots").then((r) => r.items),
		api("GET", "/api/v1/labels").then((r) => r.items).catch(() => []),
	]);
	const chatbot = chatbots.some((b) => b.id === q.get("chatbot")) ? q.get("chatbot") : "";
	const label = labels.some((l) => l.id === q.get("label")) ? q.get("label") : "";
	view = { filter, chatbot, label, labels, chatbots, items: new Map(), cursor: null, open: null, conv: null,
		members: new Map(members.map((m) => [m.id, m])), templates, seen: new Set() };
	view.list = el("ul", { class: "convs", "aria-label": "Conversations", onkeydown: listKeys });
	view.empty = el("p", { class: "muted" }, "No conversations here.");
	view.more = el("button", { type: "button", class: "link", onclick: () => loadPage().catch(() => {}) }, "Older conversations");
	view.pane = el("section", { class: "pane", "aria-label": "Conversation" },
	    el("p", { class: "muted" }, "Pick a conversation."));
	const change = () => { history.replaceState(null, "", inboxUrl(null)); inboxPage().catch(() => {}); };
	const filterSel = el("select", { id: "filter", onchange: (ev) => { view.filter = ev.target.value; change(); } },
	    FILTERS.map(([v, l]) => el("option", { value: v, selected: v === filter }, l)));
	const botSel = el("select", { id: "chatbot-filter", onchange: (ev) => { view.chatbot = ev.target.value; change(); } },
	    el("option", { value: "" }, "All chatbots"), chatbots.map((b) => el("option", { value: b.id, selected: b.id === chatbot }, b.name)));
	const labelSel = el("select", { id: "label-filter", onchange: (ev) => { view.label = ev.target.value; change(); } },
	    el("option", { value: "" }, "Any label"), labels.map((l) => el("option", { value: l.id, selected: l.id === label }, l.name)));
	const live = el("span", { id: "live", class: "muted", role: "status" }, state.eventsOpen ? "live" : "connecting…");
	view.root = el("div", { class: "inbox" },
	    el("section", { class: "side", "aria-label": "Conversation list" },
		el("div", { class: "filters" },
		    el("label", { for: "filter" }, "Show"), filterSel,
		    el("label", { for: "chatbot-filter" }, "Chatbot"), botSel,
		    el("label", { for: "label-filter" }, "Label"), labelSel, live),
		view.list, view.empty, view.more),
	    view.pane);
	show("Inbox", WIDE, presenceControl(), notifyToggle(), notesPanel(), view.root);
	window.addEventListener("parley:events", () => { live.textContent = "live"; }, { once: true });
	startEvents();
	await loadPage();
	const open = q.get("c");
	if (open && /^[0-9a-f-]{36}$/.test(open)) await openConversation(open, false);
}

// Called by app.js when another page is shown.
export function leaveInbox() {
	view = null;
}
