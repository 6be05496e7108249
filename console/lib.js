// lib.js: what every page of the console uses: building DOM nodes (text is
// always text: the CSP requires Trusted Types and nothing here writes
// HTML), the API client, forms, and the words for failures.
//
// The access token lives in memory only (state.tokens). The console asks
// for cookie mode (X-Parley-Session: cookie): the refresh token is an
// HttpOnly, Secure, SameSite=Strict cookie for /api/v1/auth that no
// script can read, and a reload refreshes from it.

export const state = { tokens: null, me: null };
const main = document.getElementById("main");

// el("p", {class: "muted"}, "text", child…): a DOM node, text as text.
// Attributes named on… are listeners; false, null and undefined are left
// out; children may be nodes, strings, numbers or arrays of them.
export function el(tag, attrs = {}, ...children) {
	const n = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs)) {
		if (v === false || v === null || v === undefined) continue;
		if (k.startsWith("on")) n.addEventListener(k.slice(2), v);
		else n.setAttribute(k, v === true ? "" : String(v));
	}
	for (const c of children.flat(Infinity)) {
		if (c === null || c === undefined || c === false) continue;
		n.append(c instanceof Node ? c : document.createTextNode(String(c)));
	}
	return n;
}

// A page: its title (also the tab's) and its content. 'wide' pages (the
// inbox, tables) use the whole width.
export function show(title, ...nodes) {
	let wide = false;
	if (nodes[0] === WIDE) { wide = true; nodes.shift(); }
	state.title = title;
	retitle();
	main.className = wide ? "wide" : "";
	main.replaceChildren(el("h1", {}, title), ...nodes);
	main.focus();
}
export const WIDE = Symbol("wide");

// The tab's title: the page's, after the inbox's unread count.
export function retitle() {
	const n = state.unread?.size ?? 0;
	document.title = `${n ? `(${n}) ` : ""}${state.title ?? "parley"} · parley`;
}

// Moves to 'path' within the console (app.js routes on this event).
export function go(path) {
	history.pushState(null, "", path);
	window.dispatchEvent(new Event("parley:route"));
}
export function reload() {
	window.dispatchEvent(new Event("parley:route"));
}

// A random key for Idempotency-Key: a retry is stored once.
export function newKey() {
	const b = crypto.getRandomValues(new Uint8Array(16));
	return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function failure(r, json) {
	const e = new Error(json?.title ?? `HTTP ${r.status}`);
	e.status = r.status;
	e.code = json?.code ?? "";
	e.detail = json?.detail ?? "";
	e.field = json?.errors?.[0]?.field ?? "";
	e.reason = json?.errors?.[0]?.code ?? "";
	return e;
}

function headers(body, auth, extra) {
	const h = { accept: "application/json", "x-parley-session": "cookie", ...extra };
	if (body !== undefined) h["content-type"] = "application/json";
	if (auth && state.tokens) h.authorization = `Bearer ${state.tokens.access_token}`;
	return h;
}

// A new access token from the refresh cookie. One request at a time, in
// this tab and across the console's tabs (a Web Lock): the refresh token
// rotates, and the same one presented twice is taken for a stolen one
// and ends the session. Resolves to whether there is a session.
let refreshing = null;
export function refreshSession() {
	const once = () => api("POST", "/api/v1/auth/refresh", {}, false)
		.then((t) => { state.tokens = t; return true; }, () => { state.tokens = null; return false; });
	refreshing ??= (navigator.locks ? navigator.locks.request("parley-refresh", once) : once())
		.finally(() => { refreshing = null; });
	return refreshing;
}

// The API: JSON in and out; a problem's code and title on failure. An
// access token that expired (15 minutes) is renewed once, then the
// request is made again.
export async function api(method, path, body, auth = true, extra = {}) {
	const send = () => fetch(path, {
		method, headers: headers(body, auth, extra), credentials: "same-origin",
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	let r = await send();
	if (r.status === 401 && auth && state.tokens && await refreshSession())
		r = await send();
	const text = await r.text();
	let json = null;
	try { json = text ? JSON.parse(text) : null; } catch { json = null; }
	if (!r.ok) throw failure(r, json);
	return json;
}

// Downloads 'path' (with the access token, which a plain link cannot
// carry) as the file 'name'.
export async function download(path, name) {
	const url = await blobUrl(path);
	const a = el("a", { href: url, download: name });
	document.body.append(a);
	a.click();
	a.remove();
	setTimeout(() => URL.revokeObjectURL(url), 60000);
}

// 'path' fetched with the access token, as a blob: URL (an <img> or a
// link cannot carry the token).
export async function blobUrl(path) {
	const get = () => fetch(path, { headers: headers(undefined, true, { accept: "*/*" }), credentials: "same-origin" });
	let r = await get();
	if (r.status === 401 && state.tokens && await refreshSession()) r = await get();
	if (!r.ok) throw failure(r, await r.json().catch(() => null));
	return URL.createObjectURL(await r.blob());
}

// Sends file 'file' as the body of 'path' (its bytes, not JSON).
export async function upload(path, file, method = "POST") {
	const send = () => fetch(path, { method, body: file, credentials: "same-origin",
	    headers: { ...headers(undefined, true, {}), "content-type": file.type || "application/octet-stream" } });
	let r = await send();
	if (r.status === 401 && state.tokens && await refreshSession()) r = await send();
	const json = await r.json().catch(() => null);
	if (!r.ok) throw failure(r, json);
	return json;
}

// The token a mailed link carries after '#token=' (never sent to a server
// by the browser: it is a fragment).
export function linkToken() {
	const m = location.hash.match(/^#token=([A-Za-z0-9_-]{43})$/);
	return m ? m[1] : null;
}

let formSerial = 0;

// A form: fields [{name, label, type, autocomplete, required, value,
// options: [[value, label]…] for a select, rows for a textarea,
// checked for a checkbox}], a button, and what to do with the values;
// its errors are shown in it, as text.
export function form(fields, button, submit) {
	const id = `f${++formSerial}`;
	const err = el("p", { class: "error", role: "alert" });
	const inputs = fields.map((f) => {
		const common = { name: f.name, id: `${id}-${f.name}`, required: f.required !== false && f.type !== "checkbox" };
		if (f.options)
			return el("select", common, f.options.map(([v, l]) => el("option", { value: v, selected: v === f.value }, l)));
		if (f.type === "textarea")
			return el("textarea", { ...common, rows: f.rows ?? 4, maxlength: f.maxlength }, f.value ?? "");
		return el("input", {
			...common, type: f.type ?? "text", autocomplete: f.autocomplete ?? "off",
			inputmode: f.inputmode, value: f.value, checked: f.type === "checkbox" && f.checked,
			accept: f.accept,
		});
	});
	const btn = el("button", { type: "submit" }, button);
	const f = el("form", {
		novalidate: true,
		onsubmit: async (ev) => {
			ev.preventDefault();
			err.textContent = "";
			btn.disabled = true;
			const values = {};
			for (const i of inputs)
				values[i.name] = i.type === "checkbox" ? i.checked : i.type === "file" ? i.files[0] : i.value;
			try {
				await submit(values, err, f);
			} catch (e) {
				err.textContent = explain(e);
			} finally {
				btn.disabled = false;
			}
		},
	},
	fields.map((fd, i) => el("label", { for: inputs[i].id, class: fd.type === "checkbox" ? "check" : null },
	    fd.type === "checkbox" ? [inputs[i], fd.label] : [fd.label, inputs[i]])),
	err, btn);
	return f;
}

// A button that asks first: 'question' and a confirming button in place
// of it; Escape or "Cancel" puts it back.
export function confirmButton(label, question, confirmLabel, action) {
	const box = el("span", { class: "confirm" });
	const err = el("span", { class: "error", role: "alert" });
	const start = el("button", { type: "button", class: "danger", onclick: () => {
		const yes = el("button", { type: "button", class: "danger", onclick: async () => {
			yes.disabled = true;
			try {
				await action();
			} catch (e) {
				err.textContent = explain(e);
				yes.disabled = false;
			}
		} }, confirmLabel);
		const no = el("button", { type: "button", class: "link", onclick: () => { box.replaceChildren(start); start.focus(); } }, "Cancel");
		box.replaceChildren(el("span", { role: "alert" }, question, " "), yes, " ", no, err);
		yes.focus();
	} }, label);
	box.addEventListener("keydown", (ev) => {
		if (ev.key === "Escape" && !box.contains(start)) { box.replaceChildren(start); start.focus(); }
	});
	box.append(start);
	return box;
}

// A secret shown this once, with a button that copies it.
export function secretOnce(label, value, id) {
	const status = el("span", { role: "status", class: "muted" });
	return el("div", { class: "secret" },
	    el("p", { class: "ok" }, `${label} — shown only now: copy it somewhere safe.`),
	    el("code", { id }, value), " ",
	    el("button", { type: "button", onclick: async () => {
		try {
			await navigator.clipboard.writeText(value);
			status.textContent = " Copied.";
		} catch {
			status.textContent = " Select the text and copy it.";
		}
	    } }, "Copy"), status);
}

// A table: column headings and rows of cells (text or nodes).
export function table(label, heads, rows) {
	return el("div", { class: "scroll", tabindex: "0", role: "region", "aria-label": label }, el("table", {},
	    el("thead", {}, el("tr", {}, heads.map((h) => el("th", { scope: "col" }, h)))),
	    el("tbody", {}, rows.map((r) => el("tr", {}, r.map((c) => el("td", {}, c)))))));
}

// A time from the API (RFC 3339) as the reader's local time.
export function when(t) {
	if (!t) return "";
	const d = new Date(t);
	return isNaN(d) ? t : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

// What a failure means, in words a person can act on.
export function explain(e) {
	const words = {
		invalid_credentials: "That e-mail address and password do not match.",
		mfa_required: "Enter the code from your authenticator app (or a recovery code).",
		mfa_invalid: "That code is wrong or used: check the time on your device.",
		invalid_token: "This link or sign-in is invalid, used or expired: start again.",
		password_mismatch: "That is not the password you chose when you signed up.",
		email_taken: "This address already has an account. Log in with it, or ask to be invited at another address.",
		weak_password: "Choose a stronger password: at least 12 characters, not a common one, not built on your name or address.",
		rate_limited: "Too many tries: wait a little and try again.",
		captcha_failed: "The check that you are a person failed: reload the page and try again. (If this deployment uses reCAPTCHA, the console cannot show it: its operator should set pow_difficulty instead.)",
		access_denied: "Your role does not allow this.",
		forbidden: "Your role does not allow this.",
		plan_limit: "Your plan's limit is reached: see Billing.",
		processing_restricted: "This visitor restricted processing of their data: no draft is made for them.",
		nothing_to_answer: "The visitor has not written anything to answer yet.",
		unknown_provider: "This sign-in provider is not offered here.",
		provider_unavailable: "The sign-in provider cannot be reached right now: try again later.",
		base_url_not_allowed: "This deployment keeps the provider's URL: set only the model and the key.",
		reauth_required: "Confirm it is you first: use the “Confirm it is you” button, then try again within five minutes.",
		reauth_failed: "Wrong password or code.",
		mfa_code_required: "Enter the code from your authenticator app too.",
		last_sign_in_method: "This is your only way to sign in: set a password or link another provider first.",
		identity_taken: "That identity is linked to another account already.",
		sso_required: "Your company requires its single sign-on: use “Sign in with single sign-on”.",
		sso_not_configured: "No single sign-on for this address.",
		dns_record_missing: "The TXT record is not in the DNS yet: publish it, wait a little, and verify again.",
		domain_taken: "Another company verified this domain.",
		no_verified_domain: "Verify a domain first.",
		break_glass_needs_totp: "Turn on two-factor authentication for yourself first: when the identity provider fails, owners sign in with password and code.",
		bad_metadata: "The identity provider's metadata is not usable: paste its whole metadata XML.",
		provider_unusable: "The issuer's discovery document could not be read.",
		unsupported_attachment_type: "Only pictures (PNG, JPEG, GIF, WebP) and PDF files can be sent.",
		attachment_name_mismatch: "The file's name says another kind of file than it is: rename it with its own extension.",
		attachment_too_large: "This file is larger than your plan allows.",
		image_too_large: "This picture has too many pixels: send a smaller one.",
		unreadable_attachment: "This picture cannot be read.",
		empty_attachment: "This file is empty.",
		unsupported_logo_type: "A logo must be a PNG, JPEG or WebP picture (not SVG or GIF).",
		logo_too_large: "This logo is too large: at most 256 KiB.",
		unreadable_logo: "This picture cannot be read.",
		empty_logo: "This file is empty.",
		unsupported_document_type: "Only PDF, DOCX, HTML, Markdown and plain text files can be added.",
		unreadable_document: "This file cannot be read.",
		no_text: "This file has no text to read (a scanned PDF needs OCR first).",
		document_too_large: "This document is too large.",
		knowledge_base_full: "The knowledge base is full: delete documents first.",
		sync_under_way: "A fetch of this source is already due or under way.",
	};
	if (e.code === "validation_failed" && e.field) return `Check ${e.field.replace(/_/g, " ")}${e.detail ? `: ${e.detail}` : "."}`;
	return words[e.code] ?? (e.detail || e.message);
}

// The sign-in providers the deployment offers (OpenID Connect).
export async function providers() {
	try {
		const list = (await api("GET", "/api/v1/auth/oidc/providers", undefined, false)).items;
		providerNames = Object.fromEntries(list.map((p) => [p.id, p.name]));
		return list;
	} catch {
		return [];
	}
}

// For an account without a password: sign in at a linked provider again,
// which stands in for the password at the next sensitive step within
// five minutes; the provider sends the browser back to 'page'.
export function reauthSection(mine, page) {
	if (state.me.user.has_password !== false || !mine.length) return null;
	const err = el("p", { class: "error", role: "alert" });
	const done = new URLSearchParams(location.search).get("oidc");
	const words = { reauthed: "Confirmed: for five minutes, the steps below need no password.",
		not_yours: "That sign-in is not one linked to your account.",
		failed: "The confirmation did not complete: try again.", denied: "The confirmation was cancelled." };
	return el("section", { "aria-labelledby": "reauth-h" }, el("h2", { id: "reauth-h" }, "Confirm it is you"),
	    el("p", {}, "Your account has no password: confirm at your provider before a sensitive step."),
	    words[done] ? el("p", { role: "status", class: done === "reauthed" ? "ok" : "error" }, words[done]) : null,
	    [...new Set(mine.map((i) => i.provider))].map((id) => el("button", { type: "button", onclick: async () => {
		try {
			location.assign((await api("POST", "/api/v1/auth/oidc/reauth", { provider: id, return_to: page })).url);
		} catch (e) {
			err.textContent = explain(e);
		}
	    } }, `Confirm with ${providerName(id)}`)), err);
}
let providerNames = {};
const providerName = (id) => providerNames[id] ?? id;
