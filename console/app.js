// app.js: the parley console, account pages first: sign up, the pages
// parley's e-mails link to (confirm-signup, verify-email, reset-password,
// accept-invitation), log in (with a TOTP or recovery code), forgot
// password, log out. Plain modules, no build step, nothing fetched from
// anywhere but parley's own origin. Every text from the API is set as
// text (textContent): the CSP requires Trusted Types and this code never
// writes HTML.
//
// The access token lives in memory only. The console asks for cookie
// mode (X-Parley-Session: cookie): the refresh token is an HttpOnly,
// Secure, SameSite=Strict cookie for /api/v1/auth that no script can
// read, and a reload refreshes from it.

const state = { tokens: null, me: null };
const main = document.getElementById("main");
const nav = document.getElementById("nav");

// el("p", {class: "muted"}, "text", child…): a DOM node, text as text.
function el(tag, attrs = {}, ...children) {
	const n = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs)) {
		if (v === false || v === null || v === undefined) continue;
		if (k.startsWith("on")) n.addEventListener(k.slice(2), v);
		else n.setAttribute(k, v === true ? "" : String(v));
	}
	for (const c of children.flat()) {
		if (c === null || c === undefined || c === false) continue;
		n.append(c instanceof Node ? c : document.createTextNode(String(c)));
	}
	return n;
}

function show(title, ...nodes) {
	document.title = `${title} · parley`;
	main.replaceChildren(el("h1", {}, title), ...nodes);
	main.focus();
}

// The API: JSON in and out; a problem's code and title on failure.
async function api(method, path, body, auth = true) {
	const headers = { accept: "application/json", "x-parley-session": "cookie" };
	if (body !== undefined) headers["content-type"] = "application/json";
	if (auth && state.tokens) headers.authorization = `Bearer ${state.tokens.access_token}`;
	const r = await fetch(path, {
		method, headers, credentials: "same-origin",
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	const text = await r.text();
	let json = null;
	try { json = text ? JSON.parse(text) : null; } catch { json = null; }
	if (!r.ok) {
		const e = new Error(json?.title ?? `HTTP ${r.status}`);
		e.status = r.status;
		e.code = json?.code ?? "";
		e.detail = json?.detail ?? "";
		e.field = json?.errors?.[0]?.field ?? "";
		e.reason = json?.errors?.[0]?.code ?? "";
		throw e;
	}
	return json;
}

// The token a mailed link carries after '#token=' (never sent to a server
// by the browser: it is a fragment).
function linkToken() {
	const m = location.hash.match(/^#token=([A-Za-z0-9_-]{43})$/);
	return m ? m[1] : null;
}

// A form: fields [{name, label, type, autocomplete, required}], a button,
// and what to do with the values; its errors are shown in it, as text.
function form(fields, button, submit) {
	const err = el("p", { class: "error", role: "alert" });
	const inputs = fields.map((f) => el("input", {
		name: f.name, id: `f-${f.name}`, type: f.type ?? "text",
		autocomplete: f.autocomplete ?? "off", required: f.required !== false,
		inputmode: f.inputmode, value: f.value,
	}));
	const btn = el("button", { type: "submit" }, button);
	const f = el("form", {
		novalidate: true,
		onsubmit: async (ev) => {
			ev.preventDefault();
			err.textContent = "";
			btn.disabled = true;
			const values = Object.fromEntries(inputs.map((i) => [i.name, i.value]));
			try {
				await submit(values, err);
			} catch (e) {
				err.textContent = explain(e);
			} finally {
				btn.disabled = false;
			}
		},
	},
	fields.map((fd, i) => el("label", { for: `f-${fd.name}` }, fd.label, inputs[i])),
	err, btn);
	return f;
}

// What a failure means, in words a person can act on.
function explain(e) {
	const words = {
		invalid_credentials: "That e-mail address and password do not match.",
		mfa_required: "Enter the code from your authenticator app (or a recovery code).",
		mfa_invalid: "That code is wrong or used: check the time on your device.",
		invalid_token: "This link is invalid, used or expired. Ask for a new one.",
		password_mismatch: "That is not the password you chose when you signed up.",
		email_taken: "This address already has an account. Log in with it, or ask to be invited at another address.",
		weak_password: "Choose a stronger password: at least 12 characters, not a common one, not built on your name or address.",
		rate_limited: "Too many tries: wait a little and try again.",
		captcha_failed: "The captcha check failed.",
	};
	if (e.code === "validation_failed" && e.field) return `Check ${e.field.replace(/_/g, " ")}.`;
	return words[e.code] ?? e.message;
}

function signedIn(tokens) {
	state.tokens = tokens;
	history.replaceState(null, "", "/");
	route();
}

const pages = {
	"/login": () => {
		let mfa = false;
		const extra = el("div");
		const f = form([
			{ name: "email", label: "E-mail", type: "email", autocomplete: "username" },
			{ name: "password", label: "Password", type: "password", autocomplete: "current-password" },
		], "Log in", async (v) => {
			const body = { email: v.email, password: v.password };
			const code = f.querySelector("[name=totp_code]");
			if (code) body.totp_code = code.value;
			try {
				signedIn(await api("POST", "/api/v1/auth/login", body, false));
			} catch (e) {
				if (e.code === "mfa_required" && !mfa) {
					mfa = true;
					const i = el("input", { name: "totp_code", id: "f-totp_code", autocomplete: "one-time-code", inputmode: "numeric" });
					f.insertBefore(el("label", { for: "f-totp_code" }, "Authenticator code or recovery code", i), f.querySelector(".error"));
					i.focus();
				}
				throw e;
			}
		});
		show("Log in", f, extra,
		    el("p", {}, el("a", { href: "/forgot-password" }, "Forgot your password?")),
		    el("p", {}, "New to parley? ", el("a", { href: "/signup" }, "Create a company")));
	},
	"/signup": () => {
		show("Create your company", form([
			{ name: "company_name", label: "Company", autocomplete: "organization" },
			{ name: "name", label: "Your name", autocomplete: "name" },
			{ name: "email", label: "E-mail", type: "email", autocomplete: "email" },
			{ name: "password", label: "Password (12 characters or more)", type: "password", autocomplete: "new-password" },
		], "Sign up", async (v) => {
			const r = await api("POST", "/api/v1/auth/register", v, false);
			show("Check your mail", el("p", {}, "We sent a link to ", el("strong", {}, r.email),
			    ". Open it to finish signing up."));
		}));
	},
	"/confirm-signup": () => {
		const token = linkToken();
		if (!token) return bad();
		show("Finish signing up", el("p", {}, "Enter the password you chose to create your company."),
		    form([{ name: "password", label: "Password", type: "password", autocomplete: "current-password" }],
			"Create my company", async (v) => {
				signedIn(await api("POST", "/api/v1/auth/register/confirm", { token, password: v.password }, false));
			}));
	},
	"/verify-email": async () => {
		const token = linkToken();
		if (!token) return bad();
		show("Verifying your address", el("p", { class: "muted" }, "One moment…"));
		try {
			await api("POST", "/api/v1/auth/email/verify", { token }, false);
			show("Address verified", el("p", { class: "ok", role: "status" }, "Your e-mail address is verified."),
			    el("p", {}, el("a", { href: "/login" }, "Log in")));
		} catch (e) {
			show("Address not verified", el("p", { class: "error", role: "alert" }, explain(e)));
		}
	},
	"/reset-password": () => {
		const token = linkToken();
		if (!token) return bad();
		show("Choose a new password", form([
			{ name: "password", label: "New password (12 characters or more)", type: "password", autocomplete: "new-password" },
		], "Set password", async (v) => {
			await api("POST", "/api/v1/auth/password/reset", { token, password: v.password }, false);
			show("Password set", el("p", { class: "ok", role: "status" },
			    "Your password is set and every session of yours has ended."),
			    el("p", {}, el("a", { href: "/login" }, "Log in")));
		}));
	},
	"/forgot-password": () => {
		show("Forgot your password?", form([
			{ name: "email", label: "E-mail", type: "email", autocomplete: "email" },
		], "Send me a link", async (v) => {
			await api("POST", "/api/v1/auth/password/forgot", { email: v.email }, false);
			show("Check your mail", el("p", {},
			    "If the address has an account, a link to choose a new password is on its way."));
		}));
	},
	"/accept-invitation": () => {
		const token = linkToken();
		if (!token) return bad();
		show("Join your team", form([
			{ name: "name", label: "Your name", autocomplete: "name" },
			{ name: "password", label: "Password (12 characters or more)", type: "password", autocomplete: "new-password" },
		], "Join", async (v) => {
			signedIn(await api("POST", "/api/v1/invitations/accept", { token, name: v.name, password: v.password }, false));
		}));
	},
	"/settings/billing": async () => {
		if (!state.tokens) return go("/login");
		const q = new URLSearchParams(location.search).get("checkout");
		const note = q === "success"
			? el("p", { class: "ok", role: "status" }, "Thank you: Stripe confirms the payment, and the plan changes as soon as it tells parley.")
			: q === "canceled" ? el("p", { role: "status" }, "The checkout was cancelled: nothing changed.") : null;
		let b;
		try {
			b = await api("GET", "/api/v1/billing");
		} catch (e) {
			if (e.status !== 403) throw e;
			return show("Billing", note, el("p", {}, "Only the company's owner sees and changes billing."));
		}
		const lim = (v) => (v === null ? "no limit" : String(v));
		const rows = [["Chatbots", b.usage.chatbots, b.plan.limits.chatbots],
			["Members and invitations", b.usage.members, b.plan.limits.members],
			["Documents", b.usage.documents, b.plan.limits.documents],
			["Messages this month", b.usage.messages_this_month, b.plan.limits.monthly_messages],
			["LLM tokens this month", b.usage.llm_tokens_this_month, b.plan.limits.monthly_llm_tokens]];
		show("Billing", note,
		    el("p", {}, "Plan: ", el("strong", {}, b.plan.name), `, billing ${b.billing_state}`,
			b.subscription_status ? ` (subscription ${b.subscription_status})` : ""),
		    el("table", {}, el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Used"), el("th", { scope: "col" }, "Now"), el("th", { scope: "col" }, "Limit"))),
			el("tbody", {}, rows.map(([n, u, l]) => el("tr", {}, el("th", { scope: "row" }, n), el("td", {}, String(u)), el("td", {}, lim(l)))))),
		    b.stripe_customer
			? el("button", { type: "button", onclick: async () => { location.assign((await api("POST", "/api/v1/billing/portal", {})).url); } }, "Manage billing at Stripe")
			: null);
	},
	"/settings/webhooks": async () => {
		if (!state.tokens) return go("/login");
		let list;
		try {
			list = (await api("GET", "/api/v1/webhook-endpoints")).items;
		} catch (e) {
			if (e.status !== 403) throw e;
			return show("Webhooks", el("p", {}, "Only admins and owners manage webhook endpoints."));
		}
		const item = (w) => el("li", {}, el("strong", {}, w.url), " — ", w.enabled ? "on" : "off",
		    w.disabled_reason ? ` (turned off: ${w.disabled_reason})` : "", " ",
		    w.enabled ? null : el("button", { type: "button", onclick: async () => {
			await api("PATCH", `/api/v1/webhook-endpoints/${w.id}`, { enabled: true });
			route();
		    } }, `Turn ${w.url} on again`));
		show("Webhooks", list.length ? el("ul", {}, list.map(item)) : el("p", { class: "muted" }, "No webhook endpoints yet."));
	},
	"/settings/members": async () => {
		if (!state.tokens) return go("/login");
		state.me = await api("GET", "/api/v1/me");
		const admin = state.me.role !== "member";
		const members = (await api("GET", "/api/v1/members")).items;
		const roleSelect = (m) => {
			const s = el("select", { "aria-label": `Role of ${m.name}`, onchange: async (ev) => {
				try {
					await api("PATCH", `/api/v1/members/${m.id}`, { role: ev.target.value });
				} catch (e) {
					alert.textContent = explain(e);
				}
				route();
			} }, ["member", "admin", "owner"].map((r) => el("option", { value: r, selected: r === m.role }, r)));
			return s;
		};
		const alert = el("p", { class: "error", role: "alert" });
		const list = el("ul", { id: "members" }, members.map((m) => el("li", {},
		    el("strong", {}, m.name), ` ${m.email} `,
		    admin && m.id !== state.me.user.id ? roleSelect(m) : el("span", {}, m.role),
		    admin && m.id !== state.me.user.id ? el("button", { type: "button", class: "link", onclick: async () => {
			try {
				await api("DELETE", `/api/v1/members/${m.id}`);
			} catch (e) {
				alert.textContent = explain(e);
				return;
			}
			route();
		    } }, ` remove ${m.name}`) : null)));
		const parts = [alert, list];
		if (admin) {
			const open = (await api("GET", "/api/v1/invitations")).items;
			parts.push(el("h2", {}, "Invitations"),
			    open.length ? el("ul", { id: "invitations" }, open.map((i) => el("li", {}, `${i.email} as ${i.role}, until ${i.expires_at} `,
				el("button", { type: "button", class: "link", onclick: async () => {
					await api("DELETE", `/api/v1/invitations/${i.id}`);
					route();
				} }, `revoke ${i.email}`)))) : el("p", { class: "muted" }, "No open invitations."),
			    form([{ name: "email", label: "Invite by e-mail", type: "email", autocomplete: "off" },
				{ name: "role", label: "Role (member, admin or owner)", value: "member" }], "Send invitation", async (v) => {
				await api("POST", "/api/v1/invitations", { email: v.email, role: v.role });
				route();
			}));
		}
		show("Members", ...parts);
	},
	"/settings/account": async () => {
		if (!state.tokens) return go("/login");
		state.me = await api("GET", "/api/v1/me");
		// A company that requires TOTP lets a member without it do only this.
		let sessions = [], required = false;
		try {
			sessions = (await api("GET", "/api/v1/auth/sessions")).items;
		} catch (e) {
			if (e.code !== "mfa_setup_required") throw e;
			required = true;
		}
		const totp = el("section", { "aria-labelledby": "totp-h" }, el("h2", { id: "totp-h" }, "Two-factor authentication"));
		if (state.me.mfa.enabled) {
			totp.append(el("p", {}, "On: logging in asks for a code from your authenticator app."),
			    form([{ name: "password", label: "Password", type: "password", autocomplete: "current-password" },
				{ name: "code", label: "Code or recovery code", autocomplete: "one-time-code" }],
			    "Turn two-factor authentication off", async (v) => {
				await api("POST", "/api/v1/auth/mfa/totp/disable", v);
				route();
			    }));
		} else {
			totp.append(el("p", {}, "Off."), el("button", { type: "button", onclick: async () => {
				const s = await api("POST", "/api/v1/auth/mfa/totp/setup", {});
				totp.replaceChildren(el("h2", { id: "totp-h" }, "Two-factor authentication"),
				    el("p", {}, "Add this secret to your authenticator app, then enter the code it shows."),
				    el("p", {}, "Secret: ", el("code", { id: "totp-secret" }, s.secret)),
				    el("p", { class: "muted" }, el("a", { href: s.otpauth_uri }, "Open in an authenticator app")),
				    form([{ name: "code", label: "Code", autocomplete: "one-time-code", inputmode: "numeric" }], "Turn on", async (v) => {
					const r = await api("POST", "/api/v1/auth/mfa/totp/enable", { code: v.code });
					totp.replaceChildren(el("h2", { id: "totp-h" }, "Two-factor authentication"),
					    el("p", { class: "ok", role: "status" }, "On. Keep these recovery codes somewhere safe: each works once, and they are shown only now."),
					    el("ul", { id: "recovery-codes" }, r.recovery_codes.map((c) => el("li", {}, el("code", {}, c)))));
				    }));
			} }, "Set up two-factor authentication"));
		}
		const sess = el("section", { "aria-labelledby": "sess-h" }, el("h2", { id: "sess-h" }, "Sessions"),
		    el("ul", {}, sessions.map((x) => el("li", {}, `${x.user_agent ?? "unknown browser"} from ${x.ip ?? "somewhere"}, last used ${x.last_used_at}`,
			x.current ? " (this one)" : el("button", { type: "button", class: "link", onclick: async () => {
				await api("DELETE", `/api/v1/auth/sessions/${x.id}`);
				route();
			} }, " end it")))));
		const pw = el("section", { "aria-labelledby": "pw-h" }, el("h2", { id: "pw-h" }, "Password"),
		    form([{ name: "current_password", label: "Current password", type: "password", autocomplete: "current-password" },
			{ name: "new_password", label: "New password", type: "password", autocomplete: "new-password" }],
		    "Change password", async (v, err) => {
			const r = await api("POST", "/api/v1/auth/password/change", v);
			err.textContent = "";
			pw.append(el("p", { class: "ok", role: "status" }, `Changed; ${r.sessions_ended} other session(s) ended.`));
		    }));
		if (required)
			return show("Set up two-factor authentication",
			    el("p", { role: "status" }, "Your company requires two-factor authentication: set it up to continue."), totp);
		show("Your account", el("p", {}, state.me.user.name, " · ", state.me.user.email), totp, sess, pw);
	},
	"/": async () => {
		if (!state.tokens) return go("/login");
		state.me = await api("GET", "/api/v1/me");
		try {
			await api("GET", "/api/v1/company");
		} catch (e) {
			if (e.code === "mfa_setup_required") return go("/settings/account");
			throw e;
		}
		show(`Hello, ${state.me.user.name}`,
		    el("p", {}, "You are ", el("strong", {}, state.me.role), " of ", el("strong", {}, state.me.company.name), "."),
		    el("p", {}, el("a", { href: "/settings/account" }, "Your account"), " · ",
			el("a", { href: "/settings/members" }, "Members"), " · ",
			el("a", { href: "/settings/billing" }, "Billing"), " · ",
			el("a", { href: "/settings/webhooks" }, "Webhooks")),
		    el("p", { class: "muted" }, "The inbox and the other admin pages come next (issue 16)."));
	},
};

function bad() {
	show("This link is incomplete", el("p", { class: "error", role: "alert" },
	    "Open the link from the e-mail again, whole."));
}

function go(path) {
	history.pushState(null, "", path);
	route();
}

function renderNav() {
	nav.replaceChildren(...(state.tokens
		? [el("button", { class: "link", type: "button", onclick: () => logout(false) }, "Log out"),
		   el("button", { class: "link", type: "button", onclick: () => logout(true) }, "Log out everywhere")]
		: [el("a", { href: "/login" }, "Log in"), el("a", { href: "/signup" }, "Sign up")]));
}

async function logout(everywhere) {
	try {
		await api("POST", everywhere ? "/api/v1/auth/logout-all" : "/api/v1/auth/logout");
	} catch { /* the session may be gone already */ }
	state.tokens = null;
	state.me = null;
	go("/login");
}

async function route() {
	renderNav();
	const page = pages[location.pathname] ?? (() => show("Not found", el("p", {}, el("a", { href: "/" }, "Go home"))));
	try {
		await page();
	} catch (e) {
		if (e.status === 401) { state.tokens = null; return go("/login"); }
		show("Something went wrong", el("p", { class: "error", role: "alert" }, explain(e)));
	}
}

// In-app links without a page load (the tokens are in memory).
document.addEventListener("click", (ev) => {
	const a = ev.target.closest?.("a[href^='/']");
	if (!a || ev.metaKey || ev.ctrlKey || ev.shiftKey || a.target) return;
	if (!(a.getAttribute("href") in pages)) return;
	ev.preventDefault();
	go(a.getAttribute("href"));
});
window.addEventListener("popstate", route);

// A reload keeps the session: the refresh cookie gives a new access token.
async function restore() {
	if (/^\/(login|signup|confirm-signup|verify-email|reset-password|forgot-password|accept-invitation)$/.test(location.pathname))
		return;
	try {
		state.tokens = await api("POST", "/api/v1/auth/refresh", {}, false);
	} catch {
		state.tokens = null;
	}
}
restore().then(route);
