// app.js: the parley console's router and its account pages: sign up,
// the pages parley's e-mails link to (confirm-signup, verify-email,
// reset-password, accept-invitation), log in (with a TOTP or recovery
// code), forgot password, your account, log out. The inbox is inbox.js,
// the admin pages admin.js, what they share lib.js. Plain modules, no
// build step, nothing fetched from anywhere but parley's own origin.
// Every text from the API is set as text (textContent): the CSP requires
// Trusted Types and this code never writes HTML.

import { state, el, show, api, linkToken, form, explain, go, refreshSession, when, confirmButton, providers, reauthSection } from "./lib.js";
import { inboxPage, leaveInbox, stopEvents } from "./inbox.js";
import { solveChallenge } from "./pow.js";
import { adminPages, homeLinks } from "./admin.js";

const nav = document.getElementById("nav");

// The TOTP setup's QR code (rows of modules from the API, "1" dark),
// drawn on a canvas with its quiet zone: no image from anywhere, no HTML.
function qrCanvas(rows) {
	const scale = 5, quiet = 4, n = rows.length, size = (n + 2 * quiet) * scale;
	const c = el("canvas", { id: "totp-qr", width: size, height: size, role: "img",
	    "aria-label": "QR code of the secret, for an authenticator app" });
	const g = c.getContext("2d");
	g.fillStyle = "#fff";
	g.fillRect(0, 0, size, size);
	g.fillStyle = "#000";
	rows.forEach((row, y) => {
		for (let x = 0; x < n; x++)
			if (row[x] === "1") g.fillRect((x + quiet) * scale, (y + quiet) * scale, scale, scale);
	});
	return c;
}

// The sign-in providers linked to one's account: listed, unlinked, and
// linked (through the provider, which sends the browser back here).
// Linking proves the account first: its password (and code), or for an
// account without a password, a fresh sign-in at a provider (reauth).
async function identitiesSection(mine) {
	const list = await providers();
	const why = new URLSearchParams(location.search).get("oidc");
	const names = Object.fromEntries(list.map((p) => [p.id, p.name]));
	if (!list.length && !mine.length) return null;
	const link = form([
		...passwordFields(),
		{ name: "provider", label: "Provider", options: list.map((p) => [p.id, p.name]) },
	], "Link the provider", async (v) => {
		const body = { provider: v.provider };
		if (v.password) body.password = v.password;
		if (v.code) body.code = v.code;
		location.assign((await api("POST", "/api/v1/auth/oidc/link", body)).url);
	});
	return el("section", { "aria-labelledby": "idp-h" }, el("h2", { id: "idp-h" }, "Sign-in providers"),
	    why && why !== "reauthed" ? el("p", { role: "status", class: why === "linked" ? "ok" : "error" }, OIDC_WORDS[why] ?? "") : null,
	    el("ul", { id: "identities" }, mine.map((i) => el("li", {}, `${names[i.provider] ?? i.provider}${i.email ? ` (${i.email})` : ""}, linked ${when(i.created_at)} `,
		confirmButton(`Unlink ${names[i.provider] ?? i.provider}`, "Unlink it? You will not be able to sign in with it.", "Unlink",
		    async () => { await api("DELETE", `/api/v1/me/identities/${i.id}`); go("/settings/account"); })))),
	    list.length ? el("h3", {}, "Link another") : null, list.length ? link : null);
}

// What a sensitive step asks for: the password (and the TOTP code when
// on); an account without a password confirms at its provider instead
// (reauthButton), and gives only the code.
function passwordFields() {
	const f = [];
	if (state.me.user.has_password !== false)
		f.push({ name: "password", label: "Your password", type: "password", autocomplete: "current-password" });
	if (state.me.mfa.enabled)
		f.push({ name: "code", label: "Authenticator code or recovery code", autocomplete: "one-time-code" });
	return f;
}


// How one is told of what waits: a digest by mail of what one has not
// seen in the console, after a quiet delay.
async function notificationsSection() {
	const s = await api("GET", "/api/v1/me/notification-settings");
	const saved = el("p", { role: "status", class: "ok" });
	const delays = [[0, "at once"], [300, "5 minutes"], [600, "10 minutes"], [1800, "30 minutes"], [3600, "an hour"], [14400, "4 hours"]];
	if (!delays.some(([d]) => d === s.email_delay_seconds)) delays.push([s.email_delay_seconds, `${s.email_delay_seconds} seconds`]);
	return el("section", { "aria-labelledby": "notif-h" }, el("h2", { id: "notif-h" }, "Notifications"),
	    el("p", {}, "When a visitor is handed to a person, assigned to you, or writes while waiting, the inbox lists it. What you have not seen there can come by mail too: one digest at a time, never a message's text."),
	    form([
		{ name: "email", label: "Mail me a digest of what I have not seen", type: "checkbox", checked: s.email },
		{ name: "email_delay_seconds", label: "After", options: delays.map(([d, l]) => [String(d), l]), value: String(s.email_delay_seconds) },
	    ], "Save notifications", async (v) => {
		await api("PATCH", "/api/v1/me/notification-settings", { email: v.email, email_delay_seconds: Number(v.email_delay_seconds) });
		saved.textContent = "Saved.";
	    }), saved);
}

// One's own profile: the name the team sees, and the one visitors see on
// one's replies (empty: the first word of the name; never the e-mail).
function profileForm() {
	const saved = el("p", { role: "status", class: "ok" });
	return el("section", { "aria-labelledby": "profile-h" }, el("h2", { id: "profile-h" }, "Profile"),
	    form([{ name: "name", label: "Your name", value: state.me.user.name, autocomplete: "name" },
		{ name: "display_name", label: "Name visitors see on your replies (empty: your first name)", value: state.me.user.display_name ?? "",
		  required: false, autocomplete: "nickname" }], "Save profile", async (v) => {
		state.me = await api("PATCH", "/api/v1/me", { name: v.name, display_name: v.display_name.trim() || null });
		saved.textContent = "Saved.";
	    }), saved);
}

// The captcha of sign-up and forgot-password: the proof of work starts
// as the page opens, while the person types; the form waits for it.
function captcha() {
	const start = () => { const p = solveChallenge(); p.catch(() => {}); return p; };
	let next = start();
	return async (body) => {
		let solved = await next.catch(() => undefined);
		// Solved long ago (the page stayed open): a fresh one.
		if (solved === undefined || (solved && solved.until - Date.now() < 30000)) solved = await start();
		next = start(); // each is spent once: the next try needs another
		if (solved) body.captcha_token = solved.token;
		return body;
	};
}

// The sign-in providers the deployment offers (OpenID Connect), and a
// flow through one: the API answers the provider's URL and sets the
// cookie that binds the flow to this browser.
async function viaProvider(path, id, err) {
	try {
		location.assign((await api("POST", path, { provider: id }, path.endsWith("/link"))).url);
	} catch (e) {
		err.textContent = explain(e);
	}
}
const SSO_WORDS = {
	failed: "Your company's identity provider's answer was refused: start again.",
	expired: "That sign-in is used or expired: start again.",
	replayed: "That answer of your identity provider was used already: start again.",
	no_account: "Your company has no member with this address: ask an admin to invite you.",
	account_elsewhere: "This address belongs to an account of another company.",
	domain_not_verified: "Your identity provider spoke for an address of a domain your company has not verified.",
	not_configured: "Your company's single sign-on is off.",
	idp_initiated_off: "Start the sign-in here, not at your identity provider.",
	no_email: "Your identity provider gave no e-mail address.",
};
const OIDC_WORDS = {
	sso_required: "Your company requires its single sign-on: use it below.",
	unknown_identity: "No account has linked this sign-in, and the provider did not confirm an e-mail address: log in with your password, then link it on your account page.",
	mfa_invalid: "That code was wrong or used: sign in with your provider again.",
	denied: "The sign-in was cancelled at the provider.",
	expired: "That sign-in link is used or expired: start again.",
	failed: "The sign-in could not be completed: start again.",
	linked: "Linked: you can sign in with it from now on.",
	identity_taken: "That identity is linked to another account already.",
};

// After a provider's sign-in that no account has linked (its address
// verified): sign up with it, or link it to the account of that address,
// which its password proves. Never linked by the address alone.
async function pendingPage(ticket) {
	let p;
	try {
		p = await api("POST", "/api/v1/auth/oidc/pending", { ticket }, false);
	} catch (e) {
		return show("Sign in", el("p", { class: "error", role: "alert" }, explain(e)), el("p", {}, el("a", { href: "/login" }, "Log in")));
	}
	if (p.account_exists) {
		const f = form([{ name: "password", label: "Password", type: "password", autocomplete: "current-password" }],
		    `Link ${p.provider_name} and log in`, (v) => passwordLogin(f, "/api/v1/auth/oidc/link-account", { ticket, password: v.password }));
		return show(`Link ${p.provider_name} to your account`,
		    el("p", {}, "An account uses ", el("strong", {}, p.email), `. Enter its password to sign in with ${p.provider_name} from now on.`), f);
	}
	const withCaptcha = captcha();
	show("Create your company", el("p", {}, `Signed in with ${p.provider_name} as `, el("strong", {}, p.email),
	    `. No account uses this address yet: create your company, and sign in with ${p.provider_name} from now on.`),
	    form([
		{ name: "company_name", label: "Company", autocomplete: "organization" },
		{ name: "name", label: "Your name", autocomplete: "name" },
	    ], "Create my company", async (v) => {
		signedIn(await api("POST", "/api/v1/auth/oidc/signup", await withCaptcha({ ticket, ...v }), false));
	    }),
	    el("p", {}, "Have an account at another address? ", el("a", { href: "/login" }, "Log in"), " and link the provider on your account page."));
}

// A password login ('path': the login, or linking a provider's identity
// to the account it proves): when TOTP is on, the form grows a code field
// at the first mfa_required, and the next submit sends the code too.
async function passwordLogin(f, path, body) {
	const code = f.querySelector("[name=totp_code]");
	if (code) body.totp_code = code.value;
	try {
		signedIn(await api("POST", path, body, false));
	} catch (e) {
		if (e.code === "mfa_required" && !code) {
			const i = el("input", { name: "totp_code", id: "f-totp_code", autocomplete: "one-time-code", inputmode: "numeric" });
			f.insertBefore(el("label", { for: "f-totp_code" }, "Authenticator code or recovery code", i), f.querySelector(".error"));
			i.focus();
		}
		throw e;
	}
}

function signedIn(tokens) {
	state.tokens = tokens;
	history.replaceState(null, "", "/");
	route();
}

const pages = {
	"/login": () => {
		// After a provider's sign-in, an account with TOTP gives its code.
		const ticket = location.hash.match(/^#ticket=([A-Za-z0-9_-]{43})$/)?.[1];
		if (new URLSearchParams(location.search).get("oidc") === "mfa" && ticket)
			return show("Two-factor authentication", el("p", {}, "Signed in with your provider. Now the code from your authenticator app (or a recovery code)."),
			    form([{ name: "totp_code", label: "Authenticator code or recovery code", autocomplete: "one-time-code", inputmode: "numeric" }],
				"Continue", async (v) => {
				signedIn(await api("POST", "/api/v1/auth/oidc/mfa", { ticket, totp_code: v.totp_code }, false));
			    }));
		if (new URLSearchParams(location.search).get("oidc") === "new" && ticket)
			return pendingPage(ticket);
		const extra = el("div");
		const f = form([
			{ name: "email", label: "E-mail", type: "email", autocomplete: "username" },
			{ name: "password", label: "Password", type: "password", autocomplete: "current-password" },
		], "Log in", (v) => passwordLogin(f, "/api/v1/auth/login", { email: v.email, password: v.password }));
		const q = new URLSearchParams(location.search);
		const why = q.get("oidc");
		const perr = el("p", { class: "error", role: "alert" }, OIDC_WORDS[why] ?? SSO_WORDS[q.get("sso")] ?? "");

		providers().then((list) => extra.replaceChildren(...list.map((pr) => el("p", {},
		    el("button", { type: "button", class: "secondary", onclick: () => viaProvider("/api/v1/auth/oidc/start", pr.id, perr) },
			`Sign in with ${pr.name}`))), perr));
		show("Log in", f, extra, el("p", {}, el("a", { href: "/sso" }, "Sign in with your company's single sign-on")),
		    el("p", {}, el("a", { href: "/forgot-password" }, "Forgot your password?")),
		    el("p", {}, "New to parley? ", el("a", { href: "/signup" }, "Create a company")));
	},
	// A company's single sign-on: by the address's verified domain.
	"/sso": () => {
		const err = SSO_WORDS[new URLSearchParams(location.search).get("sso")];
		show("Single sign-on", err ? el("p", { class: "error", role: "alert" }, err) : null,
		    el("p", {}, "Your company's identity provider signs you in: enter your work address."),
		    form([{ name: "email", label: "Work e-mail", type: "email", autocomplete: "username" }],
			"Continue to your identity provider", async (v) => {
			location.assign((await api("POST", "/api/v1/auth/sso/start", { email: v.email }, false)).url);
		    }),
		    el("p", {}, el("a", { href: "/login" }, "Log in with a password instead")));
	},
	// The digest mail's link: its one-click unsubscribe, for a person.
	"/unsubscribe": () => {
		const token = location.hash.match(/^#token=([0-9a-f-]{36}\.[0-9a-f-]{36}\.[A-Za-z0-9_-]{43})$/)?.[1];
		if (!token) return bad();
		const err = el("p", { class: "error", role: "alert" });
		show("Stop the digest mails", el("p", {}, "parley mails you a digest of what waits for you in the inbox. Stop it?"),
		    el("button", { type: "button", onclick: async () => {
			const r = await fetch(`/api/v1/notifications/unsubscribe?token=${encodeURIComponent(token)}`, { method: "POST",
			    headers: { "content-type": "application/x-www-form-urlencoded" }, body: "List-Unsubscribe=One-Click" });
			if (r.status === 204)
				show("Stopped", el("p", { class: "ok", role: "status" }, "No more digest mails. Turn them on again under Your account."));
			else err.textContent = "This link is not valid.";
		    } }, "Stop the digest mails"), err);
	},
	// The new sign-in mail's link: ends that one session, without signing in.
	"/sign-in-check": () => {
		const token = location.hash.match(/^#token=([0-9a-f-]{36}\.[0-9a-f-]{36}\.[0-9]{1,12}\.[A-Za-z0-9_-]{43})$/)?.[1];
		if (!token) return bad();
		const err = el("p", { class: "error", role: "alert" });
		show("Was this you?", el("p", {}, "Your account was signed in to from a network and browser it had not used before (the mail says which). If it was you, close this page: nothing changes."),
		    el("button", { type: "button", id: "end-session", onclick: async () => {
			try {
				await api("POST", "/api/v1/auth/sign-in-revoke", { token }, false);
				show("That session has ended", el("p", { class: "ok", role: "status" }, "Whoever signed in there is signed out. Your company's admins have been told."),
				    el("p", {}, "Now change your password, and check your two-factor settings: ", el("a", { href: "/forgot-password" }, "choose a new password"), "."));
			} catch (e) {
				err.textContent = e.status === 410 ? "That session has already ended: nothing more to do."
				    : "This link is invalid or expired.";
			}
		    } }, "It was not me: end that session"), err);
	},
	"/signup": () => {
		const withCaptcha = captcha();
		show("Create your company", form([
			{ name: "company_name", label: "Company", autocomplete: "organization" },
			{ name: "name", label: "Your name", autocomplete: "name" },
			{ name: "email", label: "E-mail", type: "email", autocomplete: "email" },
			{ name: "password", label: "Password (12 characters or more)", type: "password", autocomplete: "new-password" },
		], "Sign up", async (v) => {
			const r = await api("POST", "/api/v1/auth/register", await withCaptcha({ ...v }), false);
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
		const withCaptcha = captcha();
		show("Forgot your password?", form([
			{ name: "email", label: "E-mail", type: "email", autocomplete: "email" },
		], "Send me a link", async (v) => {
			await api("POST", "/api/v1/auth/password/forgot", await withCaptcha({ email: v.email }), false);
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
			    form([...(state.me.user.has_password !== false ? [{ name: "password", label: "Password", type: "password", autocomplete: "current-password" }] : []),
				{ name: "code", label: "Code or recovery code", autocomplete: "one-time-code" }],
			    "Turn two-factor authentication off", async (v) => {
				await api("POST", "/api/v1/auth/mfa/totp/disable", v);
				route();
			    }));
		} else {
			totp.append(el("p", {}, "Off."), el("button", { type: "button", onclick: async () => {
				const s = await api("POST", "/api/v1/auth/mfa/totp/setup", {});
				totp.replaceChildren(el("h2", { id: "totp-h" }, "Two-factor authentication"),
				    el("p", {}, "Scan this code with your authenticator app (or type the secret), then enter the code it shows."),
				    qrCanvas(s.qr),
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
		    el("ul", {}, sessions.map((x) => el("li", {}, `${x.user_agent ?? "unknown browser"} from ${x.ip ?? "somewhere"}, last used ${when(x.last_used_at)}`,
			x.current ? " (this one)" : el("button", { type: "button", class: "link", onclick: async () => {
				await api("DELETE", `/api/v1/auth/sessions/${x.id}`);
				route();
			} }, " end it")))));
		// An account made through a provider sets its first password
		// after confirming at the provider.
		const has = state.me.user.has_password !== false;
		const pw = el("section", { "aria-labelledby": "pw-h" }, el("h2", { id: "pw-h" }, "Password"),
		    has ? null : el("p", {}, "None yet: you sign in with your provider. You may set one too."),
		    form([...(has ? [{ name: "current_password", label: "Current password", type: "password", autocomplete: "current-password" }] : []),
			{ name: "new_password", label: "New password", type: "password", autocomplete: "new-password" }],
		    has ? "Change password" : "Set a password", async (v, err) => {
			const r = await api("POST", "/api/v1/auth/password/change", v);
			err.textContent = "";
			pw.append(el("p", { class: "ok", role: "status" }, `${has ? "Changed" : "Set"}; ${r.sessions_ended} other session(s) ended.`));
		    }));
		if (required)
			return show("Set up two-factor authentication",
			    el("p", { role: "status" }, "Your company requires two-factor authentication: set it up to continue."), totp);
		const mine = (await api("GET", "/api/v1/me/identities")).items;
		await providers();
		show("Your account", el("p", {}, state.me.user.name, " · ", state.me.user.email), profileForm(),
		    reauthSection(mine, "account"), await notificationsSection(), totp, await identitiesSection(mine), sess, pw);
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
		    el("p", {}, el("a", { href: "/inbox", class: "big" }, "Open the inbox")),
		    homeLinks(state.me.role));
	},
	"/inbox": async () => {
		if (!state.tokens) return go("/login");
		state.me ??= await api("GET", "/api/v1/me");
		await inboxPage();
	},
	...adminPages,
};

function bad() {
	show("This link is incomplete", el("p", { class: "error", role: "alert" },
	    "Open the link from the e-mail again, whole."));
}

function renderNav() {
	nav.replaceChildren(...(state.tokens
		? [el("a", { href: "/inbox" }, "Inbox"), el("a", { href: "/" }, "Settings"), el("a", { href: "/settings/account" }, "Your account"),
		   el("button", { class: "link", type: "button", onclick: () => logout(false) }, "Log out"),
		   el("button", { class: "link", type: "button", onclick: () => logout(true) }, "Log out everywhere")]
		: [el("a", { href: "/login" }, "Log in"), el("a", { href: "/signup" }, "Sign up")]));
}

async function logout(everywhere) {
	try {
		await api("POST", everywhere ? "/api/v1/auth/logout-all" : "/api/v1/auth/logout");
	} catch { /* the session may be gone already */ }
	stopEvents();
	state.tokens = null;
	state.me = null;
	go("/login");
}

async function route() {
	leaveInbox();
	renderNav();
	const page = pages[location.pathname] ?? (() => show("Not found", el("p", {}, el("a", { href: "/" }, "Go home"))));
	try {
		await page();
	} catch (e) {
		if (e.status === 401) { stopEvents(); state.tokens = null; return go("/login"); }
		show("Something went wrong", el("p", { class: "error", role: "alert" }, explain(e)));
	}
}

// In-app links without a page load (the tokens are in memory).
document.addEventListener("click", (ev) => {
	const a = ev.target.closest?.("a[href^='/']");
	if (!a || ev.metaKey || ev.ctrlKey || ev.shiftKey || a.target) return;
	const url = new URL(a.href);
	if (url.origin !== location.origin || !(url.pathname in pages) || ev.defaultPrevented) return;
	ev.preventDefault();
	go(url.pathname + url.search);
});
window.addEventListener("popstate", route);
window.addEventListener("parley:route", route);

// A reload keeps the session: the refresh cookie gives a new access token.
async function restore() {
	if (/^\/(login|signup|confirm-signup|verify-email|reset-password|forgot-password|accept-invitation|sign-in-check)$/.test(location.pathname))
		return;
	await refreshSession();
}
restore().then(route);
