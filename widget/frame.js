/*
 * frame.js: the chat in the widget's iframe, on parley's origin. The token
 * comes from the loader by postMessage (origins checked both ways) and is
 * kept, with the conversation id, in the host page's own storage through
 * the loader: a third-party frame's storage is blocked or partitioned in
 * many browsers, the page's own is not. Text reaches the page only
 * through textContent; the only links are http(s) citation sources.
 */
(function () {
	"use strict";

	var API = "/api/v1/widget";
	var MESSAGE_MAX = 2000;		/* bytes, as widget_message_max */
	var STREAM_MAX = 1048576;	/* bytes of one answer stream */
	var PAGE = 200, PAGES_MAX = 10;	/* history: server page, our cap */
	/*
	 * The words: the visitor's locale's catalogue (widget/i18n/LOCALE.json),
	 * read before anything is shown (boot()). The locale is the first of
	 * the browser's languages the chatbot offers, else its default; a
	 * right-to-left one (ar, he) turns the page with dir="rtl", and has
	 * English words until a catalogue ships for it.
	 */
	var T = {}, locale = "en";
	var SHIPPED = ["en", "de", "fr", "es", "da", "sv", "et"];
	var RTL = ["ar", "he"];
	var FILE_TYPES = ["image/png", "image/jpeg", "image/gif", "image/webp",
	    "application/pdf"];
	var WHO = { visitor: "", bot: "", agent: "" };

	function $(id) {
		return document.getElementById(id);
	}

	var list = $("message-list"), log = $("messages"), input = $("input");
	var fileInput = $("file");
	var statusEl = $("status"), consentEl = $("consent");
	var bot = new URLSearchParams(location.search).get("bot") || "";
	var parent = window.parent, parentOrigin = null;
	var KEY = "parley:" + bot, CONSENT_KEY = "parley:consent:" + bot;
	/* token, expires_at (ms), conversation_id, chatbot, welcome, visitor */
	var state = {}, stored = false, stateTimer = 0;
	var shown = {}, lastSeq = 0;	/* stored messages shown, by seq */
	var convStatus = "", waiting = [], askTimer = 0;
	var isOpen = false, ready = false, starting = false, catching = false;
	var creating = null, busy = {}, events = null, retryTimer = 0;
	var retryDelay = 5000;
	/* Replies being written, by the visitor message they answer. */
	var pending = {}, answered = {}, eventsOpen = null, eventsOpened = null;
	var lastSend = null;	/* {text, key} until its answer arrives */
	/* The chatbot's look (GET /api/v1/widget/config), once loaded. */
	var look = {};

	try {
		parentOrigin = location.ancestorOrigins &&
		    location.ancestorOrigins.length > 0 ?
		    location.ancestorOrigins[0] : new URL(document.referrer).origin;
	} catch (e) { /* no referrer */ }
	if (parent === window || parentOrigin === "null")
		parentOrigin = null;
	/*
	 * The chat page parley serves for e-mailed links (top level, no
	 * loader): /widget/frame?bot=KEY#resume=TOKEN or #confirm=TOKEN. The
	 * token stays in the fragment (never sent to a server) and buys a
	 * visitor token for that one conversation; nothing is stored.
	 */
	var link = parent === window ?
	    /^#(resume|confirm)=([A-Za-z0-9._-]{100,135})$/.exec(location.hash) :
	    null;

	function object(v) {
		return v && typeof v === "object" && !Array.isArray(v) ? v : null;
	}

	/* What this frame kept before it kept things in the page: taken
	 * once, then removed, so it cannot come back later. */
	function legacy(key) {
		try {
			var v = object(JSON.parse(localStorage.getItem(key)));

			localStorage.removeItem(key);
			return v;
		} catch (e) {
			return null;	/* blocked, as third-party storage often is */
		}
	}

	/* Kept in the host page's storage, by the loader. */
	function store(key, value) {
		if (link)
			return;	/* the chat page keeps nothing */
		parent.postMessage({ parley: "store", key: key, value: value },
		    parentOrigin);
	}

	function save() {
		store(KEY, state);
	}

	/* An error that carries the words to show. */
	function problem(text) {
		var e = new Error(text);

		e.say = text;
		return e;
	}

	function setStatus(text, isError) {
		statusEl.textContent = text || (convStatus === "pending" ?
		    T.pending : "");
		statusEl.classList.toggle("error", !!isError);
	}

	function showConvStatus(s) {
		if (typeof s !== "string")
			return;
		convStatus = s;
		/* A person has it: no bot reply is being written any more
		 * (a handoff's own message has arrived before its status). */
		if (s !== "bot")
			Object.keys(pending).forEach(function (id) {
				clearTimeout(pending[id].timer);
				drop(pending[id].li);
				delete pending[id];
			});
		if (s === "pending" || statusEl.textContent === T.pending)
			setStatus("");
		showOffline(s === "pending" ? state.chatbot : null);
		/* A person has it (or will): nobody more to ask for. */
		$("handoff").hidden = s === "pending" || s === "open";
		/* Resolved: the visitor may rate it, once. */
		$("rating").hidden = s !== "resolved" || !!rated[state.conversation_id];
	}

	/* The rating of a resolved conversation: a score, a comment. */
	var rated = {}, score = 0;

	function pickScore(ev) {
		var b = ev.target.closest("button.score");

		if (!b)
			return;
		score = Number(b.getAttribute("data-score"));
		Array.prototype.forEach.call(document.querySelectorAll(
		    "button.score"), function (x) {
			x.setAttribute("aria-pressed",
			    String(x === b));
		});
	}

	function sendRating() {
		if (!score) {
			setStatus(T.pickScore);
			return;
		}
		run("rating", $("rating-send"), async function () {
			var comment = $("rating-comment").value.trim();
			var res = await inConversation(function (id) {
				return api("POST", convPath(id, "rating"),
				    comment ? { score: score, comment: comment } :
				    { score: score });
			});

			if (res.status !== 201 && res.status !== 409)
				await check(res);
			rated[state.conversation_id] = true;
			$("rating").hidden = true;
			setStatus(T.thanks);
		});
	}

	/* Session */

	function tokenValid() {
		return typeof state.token === "string" &&
		    state.expires_at - 60000 > Date.now();
	}

	/* Resolves with a usable token, asking the loader when there is none. */
	function token() {
		if (tokenValid())
			return Promise.resolve(state.token);
		return new Promise(function (resolve, reject) {
			waiting.push([resolve, reject]);
			if (waiting.length > 1)
				return;
			setStatus(T.connecting);
			askTimer = setTimeout(sessionFailed, 30000, T.down);
			if (link)
				redeem();
			else
				parent.postMessage({ parley: "need-session" },
				    parentOrigin);
		});
	}

	function settle(i, value) {
		var w = waiting;

		clearTimeout(askTimer);
		waiting = [];
		w.forEach(function (x) {
			x[i](value);
		});
	}

	function sessionFailed(text) {
		setStatus(text, true);
		settle(1, problem(text));
	}

	function onSession(d) {
		var c = d.chatbot, v = d.visitor && d.visitor.id;

		if (typeof d.token !== "string" || d.token === "")
			return;
		if (state.visitor && v !== state.visitor)
			resetConversation();	/* a new visitor */
		state.token = d.token;
		state.expires_at = Date.now() +
		    Math.min(Number(d.expires_in) || 3600, 2592000) * 1000;
		state.visitor = typeof v === "string" ? v : null;
		if (c && typeof c === "object") {
			state.chatbot = { id: String(c.id || ""),
			    name: String(c.name || ""),
			    welcome_message: String(c.welcome_message || ""),
			    agents_available: c.agents_available !== false,
			    within_hours: c.within_hours !== false,
			    opens_at: typeof c.opens_at === "string" ?
				c.opens_at : null,
			    offline_message: typeof c.offline_message ===
				"string" ? c.offline_message : "",
			    ask_email: c.ask_email === true };
			state.welcome = state.chatbot.welcome_message;
		}
		save();
		showHeader();
		if (statusEl.textContent === T.connecting)
			setStatus("");
		settle(0, d.token);
		if (ready)
			listen();	/* with the new token */
	}

	function onSessionError(d) {
		sessionFailed(d.status === 0 ? T.offline :
		    d.code === "origin_not_allowed" ? T.notHere :
		    d.code === "verification_required" ? T.verify :
		    d.status === 403 ? T.failed : T.down);
	}

	/* An API call with the token; on 401, once more with a new session. */
	async function api(method, path, body, accept, key) {
		for (var i = 0; ; i++) {
			var tok = await token();
			var h = { Authorization: "Bearer " + tok }, res;

			if (accept)
				h.Accept = accept;
			if (key)
				h["Idempotency-Key"] = key;
			if (body !== undefined)
				h["Content-Type"] = "application/json";
			res = await fetch(path, { method: method, headers: h,
			    body: body === undefined ? null : JSON.stringify(body),
			    credentials: "omit", cache: "no-store" });
			if (res.status !== 401 || i > 0)
				return res;
			if (state.token === tok) {
				state.token = null;
				save();
				closeEvents();
			}
		}
	}

	/* Throws the words for a failed answer (problem+json). */
	async function check(res) {
		var o = null, s;

		if (res.ok)
			return res;
		try {
			o = await res.json();
		} catch (e) { /* not JSON */ }
		if (res.status === 429) {
			s = parseInt(res.headers.get("Retry-After"), 10);
			throw problem(T.tooFast + (s > 0 && s < 3600 ?
			    " You can send again in " + s +
			    (s === 1 ? " second." : " seconds.") : ""));
		}
		if (o && o.code === "verification_required")
			throw problem(T.verify);
		/* The company's plan allows no more messages this month. */
		if (res.status === 402)
			throw problem(T.closed);
		/* The answerers (or the workers: overloaded) are behind:
		 * nothing was stored; send again. */
		if (res.status === 503 && o && (o.code === "answers_overloaded" ||
		    o.code === "overloaded")) {
			s = parseInt(res.headers.get("Retry-After"), 10);
			o = problem(T.busy);
			o.retryAfter = s > 0 && s < 120 ? s : 10;
			throw o;
		}
		throw problem(res.status >= 500 ? T.down : T.failed);
	}

	function convPath(id, what) {
		return API + "/conversations/" + encodeURIComponent(id) + "/" + what;
	}

	/* Messages */

	function atBottom() {
		return log.scrollHeight - log.scrollTop - log.clientHeight < 48;
	}

	function toBottom() {
		log.scrollTop = log.scrollHeight;
	}

	function el(tag, cls, text) {
		var e = document.createElement(tag);

		e.className = cls;
		if (text !== undefined)
			e.textContent = text;
		return e;
	}

	function bubble(role) {
		var li = el("li", "msg");

		li.appendChild(el("p", "who"));
		li.appendChild(el("div", "body"));
		setRole(li, role);
		return li;
	}

	/*
	 * Who wrote: the visitor; the bot by its display name; an agent by
	 * the name they show visitors ('name'), else "Team".
	 */
	function setRole(li, role, name) {
		li.setAttribute("data-role", role);
		li.firstChild.textContent = role === "bot" && look.display_name ?
		    look.display_name : role === "agent" &&
		    typeof name === "string" && name ? name : WHO[role];
	}

	/*
	 * A message's words into 'body': the bot's and agents' through the
	 * Markdown subset (DOM nodes, never HTML: markdown.js), the
	 * visitor's as typed.
	 */
	function words(body, role, text) {
		body.textContent = "";
		if (role !== "visitor" && typeof window.parleyMarkdown ===
		    "function")
			body.appendChild(window.parleyMarkdown(text));
		else
			body.textContent = text;
	}

	function citations(items) {
		var ul = el("ul", "cites");

		ul.setAttribute("aria-label", T.sources);
		items.slice(0, 20).forEach(function (c) {
			var url = c && c.source_url, a;

			if (!c || typeof c !== "object")
				return;
			if (typeof url === "string" && /^https?:\/\//i.test(url)) {
				a = el("a", "cite");
				a.href = url;
				a.target = "_blank";
				a.rel = "noopener noreferrer";
			} else
				a = el("span", "cite");
			a.textContent = typeof c.title === "string" && c.title ?
			    c.title : T.source;
			ul.appendChild(el("li", "")).appendChild(a);
		});
		return ul;
	}

	/*
	 * A file of the conversation: fetched with the visitor's token (an
	 * <img> or link cannot send it), shown from a blob: URL. Images
	 * inline, anything else as a download under its name.
	 */
	var files = {};		/* attachment id: its blob: URL, fetched once */

	function fileUrl(id) {
		if (!files[id])
			files[id] = api("GET", API + "/attachments/" +
			    encodeURIComponent(id)).then(check).then(function (res) {
				return res.blob();
			}).then(function (b) {
				return URL.createObjectURL(b);
			}, function (e) {
				delete files[id];
				throw e;
			});
		return files[id];
	}

	function attachment(a) {
		var box = el("div", "file"), link = el("a", "",
		    typeof a.filename === "string" ? a.filename : T.download);
		var image = typeof a.media_type === "string" &&
		    a.media_type.indexOf("image/") === 0;

		link.href = "#";
		link.setAttribute("download", link.textContent);
		box.appendChild(link);
		fileUrl(a.id).then(function (url) {
			var img;

			link.href = url;
			if (image) {
				img = el("img", "");
				img.src = url;
				img.alt = link.textContent;
				link.textContent = "";
				link.appendChild(img);
			}
		}, function () {
			link.removeAttribute("href");
		});
		return box;
	}

	function valid(m) {
		return !!m && typeof m === "object" && WHO.hasOwnProperty(m.role) &&
		    typeof m.content === "string" && Number.isInteger(m.seq);
	}

	/* Puts stored message 'm' into bubble 'li'. */
	function fill(li, m) {
		setRole(li, m.role, m.author_name);
		words(li.childNodes[1], m.role, m.content);
		while (li.childNodes.length > 2)
			li.removeChild(li.lastChild);
		if (Array.isArray(m.citations) && m.citations.length > 0)
			li.appendChild(citations(m.citations));
		if (m.attachment && typeof m.attachment.id === "string")
			li.appendChild(attachment(m.attachment));
		li.setAttribute("data-seq", String(m.seq));
		li.classList.remove("pending");
		li.removeAttribute("aria-busy");
		shown[m.seq] = li;
		lastSeq = Math.max(lastSeq, m.seq);
	}

	/* Shows stored message 'm' in seq order, unless it is shown. */
	function addMessage(m) {
		var li, next = null, near = atBottom(), i, s;

		if (!valid(m) || shown[m.seq])
			return;
		if (typeof m.reply_to === "string")
			answered[m.reply_to] = true;
		if (typeof m.reply_to === "string" && pending[m.reply_to]) {
			/* The stored reply replaces what streamed. */
			li = pending[m.reply_to].li;
			clearTimeout(pending[m.reply_to].timer);
			delete pending[m.reply_to];
			fill(li, m);
			if (near)
				toBottom();
			return;
		}
		li = bubble(m.role);
		fill(li, m);
		for (i = 0; i < list.children.length && next === null; i++) {
			s = list.children[i].getAttribute("data-seq");
			if (list.children[i].classList.contains("pending") ||
			    (s !== null && Number(s) > m.seq))
				next = list.children[i];
		}
		list.insertBefore(li, next);
		if (near)
			toBottom();
		markSeen();
	}

	/*
	 * Tells parley what the visitor has seen (while the chat is shown):
	 * agents' replies seen here are not e-mailed.
	 */
	var seenSent = 0, seenTimer = 0;

	function markSeen() {
		clearTimeout(seenTimer);
		seenTimer = setTimeout(function () {
			var seq = lastSeq;

			if (!isOpen || document.visibilityState !== "visible" ||
			    seq <= seenSent ||
			    typeof state.conversation_id !== "string")
				return;
			seenSent = seq;
			api("POST", convPath(state.conversation_id, "seen"),
			    { seq: seq }).catch(function () {
				seenSent = 0;
			});
		}, 500);
	}

	/* Nobody can answer now ('a' the availability, null: hide). */
	function showOffline(a) {
		var c = state.contact, text, when;

		if (!a || (a.agents_available !== false &&
		    a.within_hours !== false)) {
			$("offline").hidden = true;
			return;
		}
		text = a.offline_message || (a.within_hours === false ?
		    T.closedNow : T.nobody);
		if (a.within_hours === false && a.opens_at) {
			when = new Date(a.opens_at);
			if (!isNaN(when.getTime()))
				text += " " + T.backAt.replace("{when}",
				    when.toLocaleString(locale, { weekday: "long",
				    hour: "2-digit", minute: "2-digit" }));
		}
		if (a.ask_email && !(c && c.confirmed))
			text += " " + (c ? T.checkMail : T.byMail);
		else if (c && c.confirmed)
			text += " " + T.willMail;
		$("offline-text").textContent = text;
		$("contact-ask").hidden = !a.ask_email || !!(c && c.confirmed);
		$("offline").hidden = false;
	}

	function showContact(c) {
		if (c && typeof c.email === "string") {
			state.contact = { email: c.email,
			    confirmed: c.confirmed === true };
			save();
		}
		$("transcript").hidden = !(state.contact &&
		    state.contact.confirmed);
	}

	function sendContact() {
		var email = $("contact-email").value.trim();

		if (email === "" || email.indexOf("@") < 1)
			return;
		run("contact", $("contact-send"), async function () {
			var res = await inConversation(function (id) {
				return api("POST", convPath(id, "contact"),
				    { email: email });
			});

			showContact(await res.json());
			showOffline(state.chatbot);
			setStatus(state.contact.confirmed ? T.willMail :
			    T.checkMail);
		});
	}

	function sendTranscript() {
		run("transcript", $("transcript"), async function () {
			await inConversation(function (id) {
				return api("POST", convPath(id, "transcript"));
			});
			setStatus(T.transcriptSent);
		});
	}

	/* The chat page: the link's token for a session of its own. */
	async function redeem() {
		var res, o = null;

		try {
			res = await fetch(API + "/links/" + link[1], {
			    method: "POST", credentials: "omit",
			    cache: "no-store",
			    headers: { "Content-Type": "application/json" },
			    body: JSON.stringify({ token: link[2] }) });
			o = await res.json();
		} catch (e) {
			return sessionFailed(T.offline);
		}
		if (!res.ok || !o || typeof o.conversation_id !== "string")
			return sessionFailed(res.status === 403 ? T.linkBad :
			    T.down);
		state.conversation_id = o.conversation_id;
		showContact(o.contact);
		onSession(o);
	}

	function drop(li) {
		if (li && li.parentNode)
			li.parentNode.removeChild(li);
	}

	function showHeader() {
		var c = state.chatbot, w = welcome();
		var old = list.querySelector("[data-welcome]"), li;

		$("bot-name").textContent = c && c.name ? c.name : look.name ?
		    look.name : T.title;
		/* The welcome: first, as the bot's, never stored. */
		if (old && old.getAttribute("data-text") === w)
			return;
		drop(old);
		if (w.trim() === "")
			return;
		li = bubble("bot");
		li.setAttribute("data-welcome", "");
		li.setAttribute("data-text", w);
		words(li.childNodes[1], "bot", w);
		list.insertBefore(li, list.firstChild);
	}

	function resetConversation() {
		closeEvents();
		state.conversation_id = null;
		save();
		list.textContent = "";
		shown = {};
		answered = {};
		lastSeq = 0;
		convStatus = "";
		showHeader();
	}

	/* Resolves with the conversation's id, creating it when needed. */
	function conversation() {
		if (typeof state.conversation_id === "string")
			return Promise.resolve(state.conversation_id);
		creating = creating || api("POST", API + "/conversations?locale=" +
		    encodeURIComponent(locale)).then(
		    check).then(function (res) {
			return res.json();
		}).then(function (o) {
			creating = null;
			if (typeof o.id !== "string" || o.id === "")
				throw problem(T.failed);
			state.conversation_id = o.id;
			save();
			showConvStatus(o.status);
			listen();
			return o.id;
		}, function (e) {
			creating = null;
			throw e;
		});
		return creating;
	}

	/* Calls fn(id); if the conversation is gone, once more in a new one. */
	async function inConversation(fn) {
		var res = await fn(await conversation());

		if (res.status === 404) {
			resetConversation();
			res = await fn(await conversation());
		}
		return check(res);
	}

	/* Loads the messages after the last shown; resolves with the status. */
	async function catchUp() {
		var page, res, o, items;

		if (typeof state.conversation_id !== "string" || catching)
			return 200;
		catching = true;
		try {
			for (page = 0; page < PAGES_MAX; page++) {
				res = await api("GET", convPath(state.conversation_id,
				    "messages?after=" + lastSeq));
				if (res.status === 404)
					resetConversation();
				if (!res.ok)
					return res.status;
				o = await res.json();
				items = o && Array.isArray(o.items) ? o.items : [];
				items.forEach(addMessage);
				if (items.length < PAGE)
					break;
			}
			return 200;
		} finally {
			catching = false;
		}
	}

	/* Realtime: agents' replies and status, while the chat is open. */

	function closeEvents() {
		clearTimeout(retryTimer);
		if (events)
			events.abort();
		events = null;
	}

	/*
	 * The conversation's events (server-sent events held by nginx), read
	 * with fetch() so the token goes in the Authorization header, never
	 * in a URL (URLs end up in logs).
	 */
	function listen() {
		var ctl;

		closeEvents();
		if (!isOpen || typeof state.conversation_id !== "string" ||
		    !tokenValid())
			return;
		events = ctl = new AbortController();
		eventsOpen = new Promise(function (resolve) {
			eventsOpened = resolve;
		});
		fetch(convPath(state.conversation_id, "events"), {
			headers: { Authorization: "Bearer " + state.token,
			    Accept: "text/event-stream" },
			cache: "no-store",
			signal: ctl.signal
		}).then(async function (res) {
			eventsOpened();
			if (!res.ok)
				return res.status;
			retryDelay = 5000;
			catchUp().catch(function () {});
			await readEvents(res);
			return 0;	/* ended: re-authorised on reconnect */
		}).then(function (status) {
			relisten(ctl, status);
		}, function () {
			eventsOpened();
			relisten(ctl, -1);
		});
	}

	/*
	 * After the stream ended ('status' 0), was refused (its HTTP status)
	 * or failed (-1): an API call tells why; 401 brings a new session,
	 * 403 and 404 stop, anything else tries again, backing off.
	 */
	function relisten(ctl, status) {
		if (ctl !== events)
			return;	/* closed, or replaced by a newer stream */
		events = null;
		if (status === 403 || status === 404)
			return;
		retryTimer = setTimeout(function () {
			catchUp().then(function (s) {
				if (s === 200 || (s !== 403 && s !== 404))
					listen();
			}, function (e) {
				if (!e.say)
					listen();	/* offline */
			});
		}, (status === 0 ? 1000 : retryDelay) + Math.random() * 4000);
		/* Jitter: every subscriber must not come back in one second. */
		if (status !== 0)
			retryDelay = Math.min(retryDelay * 2, 60000);
	}

	/* Reads "data: JSON" events until the stream ends. */
	async function readEvents(res) {
		var reader = res.body.getReader(), dec = new TextDecoder();
		var buf = "", data = [], r, lines, line;

		while (!(r = await reader.read()).done) {
			lines = (buf + dec.decode(r.value, { stream: true }))
			    .split("\n");
			buf = lines.pop();
			if (buf.length > STREAM_MAX)
				throw new Error("event too large");
			while (lines.length > 0) {
				line = lines.shift().replace(/\r$/, "");
				if (line === "") {
					if (data.length > 0)
						realtimeEvent(data.join("\n"));
					data = [];
				} else if (line.slice(0, 5) === "data:")
					data.push(line.slice(5).replace(/^ /, ""));
			}
		}
	}

	function realtimeEvent(text) {
		var d = null;

		try {
			d = JSON.parse(text);
		} catch (e) { /* ignored */ }
		if (!d || typeof d !== "object")
			return;
		if (d.type === "message")
			addMessage(d.message);
		else if (d.type === "status")
			showConvStatus(d.status);
		else if (d.type === "reply.start" &&
		    typeof d.reply_to === "string" && !answered[d.reply_to])
			writing(d.reply_to, true);	/* (again: from the start) */
		else if (d.type === "reply.interrupted" &&
		    typeof d.reply_to === "string" && pending[d.reply_to])
			writing(d.reply_to, true);	/* it will start again */
		else if (d.type === "reply.delta" && typeof d.text === "string" &&
		    typeof d.reply_to === "string" && !answered[d.reply_to]) {
			writing(d.reply_to, false).childNodes[1].appendChild(
			    document.createTextNode(d.text));
			toBottom();
		} else if (d.type === "reply.cancelled" &&
		    typeof d.reply_to === "string" && pending[d.reply_to]) {
			/* A person took over: their words will follow. */
			clearTimeout(pending[d.reply_to].timer);
			drop(pending[d.reply_to].li);
			delete pending[d.reply_to];
		}
	}

	/* Sending */

	/*
	 * The bubble of the reply to visitor message 'id' while it is
	 * written; 'restart' empties it (a reply started again from the
	 * beginning after an answerer stopped). If no reply comes over the
	 * events, the messages are read again now and then.
	 */
	function writing(id, restart) {
		var p = pending[id];

		if (!p) {
			p = pending[id] = { li: bubble("bot"), timer: 0, tries: 0 };
			p.li.classList.add("pending");
			p.li.setAttribute("aria-busy", "true");
			list.appendChild(p.li);
			toBottom();
		}
		if (restart)
			p.li.childNodes[1].textContent = "";
		clearTimeout(p.timer);
		p.timer = setTimeout(function again() {
			if (pending[id] !== p)
				return;
			if (++p.tries > 12) {
				drop(p.li);
				delete pending[id];
				setStatus(T.answer, true);
				return;
			}
			catchUp().catch(function () {});
			p.timer = setTimeout(again, 10000);
		}, 15000);
		return p.li;
	}

	/* A random Idempotency-Key: 128 bits, hex. */
	function newKey() {
		var b = new Uint8Array(16), out = "", i;

		crypto.getRandomValues(b);
		for (i = 0; i < b.length; i++)
			out += (b[i] < 16 ? "0" : "") + b[i].toString(16);
		return out;
	}

	/* Resolves once the conversation's events are open (or could not
	 * be), at most 'ms' later. */
	function eventsReady(ms) {
		if (!events)
			listen();
		return Promise.race([eventsOpen || Promise.resolve(),
		    new Promise(function (r) { setTimeout(r, ms); })]);
	}

	/*
	 * Runs action 'name' (its button 'btn' marked busy but not disabled,
	 * so it keeps the focus), showing its failure in plain words.
	 */
	async function run(name, btn, fn) {
		if (busy[name])
			return;
		busy[name] = true;
		btn.setAttribute("aria-disabled", "true");
		setStatus("");
		try {
			await fn();
		} catch (e) {
			setStatus(e.say || (e instanceof TypeError ? T.offline :
			    T.failed), true);
		} finally {
			busy[name] = false;
			btn.removeAttribute("aria-disabled");
		}
	}

	function send() {
		var text = input.value.trim();

		if (text === "")
			return;
		if (new TextEncoder().encode(text).length > MESSAGE_MAX)
			return setStatus(T.tooLong, true);
		run("send", $("send"), async function () {
			var res, o, key;

			/* The same text sent again (its answer was lost) goes
			 * with the same key: stored once. */
			if (!lastSend || lastSend.text !== text)
				lastSend = { text: text, key: newKey() };
			key = lastSend.key;

			/* The reply streams over the conversation's events:
			 * they are open before the message goes. One key for
			 * every try of this message: a retry after a lost
			 * answer stores nothing twice. */
			await conversation();
			await eventsReady(3000);
			for (var tries = 0; ; tries++) {
				try {
					res = await inConversation(function (id) {
						return api("POST", convPath(id,
						    "messages"), { content: text },
						    undefined, key);
					});
					break;
				} catch (e) {
					if (!e.retryAfter || tries >= 3)
						throw e;
					setStatus(T.busy);
					await new Promise(function (r) {
						setTimeout(r, e.retryAfter * 1000);
					});
					setStatus("");
				}
			}
			/* Stored: the text may go, unless more was typed. */
			lastSend = null;
			if (input.value.trim() === text)
				input.value = "";
			o = await res.json();
			addMessage(o.message);
			if (o.reply)
				addMessage(o.reply);
			else if (o.reply_status === "queued" && o.message &&
			    !answered[o.message.id])
				writing(o.message.id, false);
			toBottom();
			showConvStatus(o.status);
		});
	}

	/* Sends the file picked: a message of its own. */
	function sendFile() {
		var f = fileInput.files && fileInput.files[0];

		if (!f)
			return;
		fileInput.value = "";
		if (FILE_TYPES.indexOf(f.type) < 0)
			return setStatus(T.fileKind, true);
		run("file", $("send"), async function () {
			var res, o;

			await conversation();
			await eventsReady(3000);
			res = await inConversation(function (id) {
				return upload(convPath(id, "attachments") +
				    "?filename=" + encodeURIComponent(f.name), f);
			});
			o = await res.json();
			addMessage(o.message);
			if (o.reply)
				addMessage(o.reply);
			toBottom();
			showConvStatus(o.status);
		});
	}

	/* POSTs file 'f' with the token; a refusal in the visitor's words. */
	async function upload(path, f) {
		var res, o = null;

		for (var i = 0; i < 2; i++) {
			res = await fetch(path, { method: "POST", body: f,
			    headers: { Authorization: "Bearer " + await token(),
			    "Content-Type": f.type }, credentials: "omit",
			    cache: "no-store" });
			if (res.status !== 401)
				break;
			state.token = null;
			save();
		}
		if (res.ok)
			return res;
		try {
			o = await res.json();
		} catch (e) { /* not JSON */ }
		if (res.status === 415)
			throw problem(T.fileKind);
		if (res.status === 413)
			throw problem(T.fileBig);
		if (res.status === 422 && o && o.code === "unreadable_attachment")
			throw problem(T.fileBad);
		if (res.status === 402 && o &&
		    /^attachment/.test(String(o.limit)))
			throw problem(T.fileLimit);
		return check(res);
	}

	function handoff() {
		run("handoff", $("handoff"), async function () {
			var res = await inConversation(function (id) {
				return api("POST", convPath(id, "handoff"));
			});
			var o = await res.json();

			addMessage(o.reply);
			toBottom();
			showConvStatus(o.status);
			/* Honest: when nobody can answer, say so and offer to
			 * answer by e-mail. */
			if (state.chatbot) {
				["agents_available", "within_hours", "opens_at",
				    "offline_message", "ask_email"].forEach(
				    function (k) {
					if (k in o)
						state.chatbot[k] = o[k];
				});
			}
			showContact(o.contact);
			showOffline(o.status === "pending" ? state.chatbot : null);
		});
	}

	/*
	 * Consent. The banner sits below the conversation (it never covers
	 * it) with "Accept all", "Reject all" and "Choose" of equal weight,
	 * the company's privacy policy linked; the menu's "Privacy choices"
	 * brings it back. An answer is kept (through the loader) with the
	 * policy version it answered, and asked again when the company's
	 * version changes; parleyd stores the version in force.
	 */
	var consentKept = null, consentAsked = false;

	function consentCurrent() {
		return !!consentKept && !!look.policy_version &&
		    consentKept.policy_version === look.policy_version;
	}

	/* Shows the banner when the answer kept is not to this policy. */
	function askConsent(always) {
		var choices = consentKept && Array.isArray(consentKept.categories) ?
		    consentKept.categories : [];

		if (link || (!always && (consentCurrent() || !look.policy_version))) {
			if (!always && consentCurrent())
				consentEl.hidden = true;
			return;
		}
		["analytics", "marketing"].forEach(function (c) {
			$("consent-" + c).checked = choices.indexOf(c) >= 0;
		});
		$("consent-pick").hidden = !always;
		$("consent-choose").setAttribute("aria-expanded", String(!!always));
		consentEl.hidden = false;
		consentAsked = true;
	}

	function saveConsent(cats, btn) {
		run("consent", btn, async function () {
			var res = await api("POST", API + "/consent",
			    { categories: cats, policy_version: look.policy_version });
			var o = await res.json().catch(function () { return {}; });

			if (res.status === 409 && o && typeof o.policy_version ===
			    "string") {
				/* The policy changed meanwhile: show the new one. */
				configure(true);
				throw problem(T.policyChanged);
			}
			if (!res.ok)
				throw problem(T.failed);
			consentKept = { policy_version: o.policy_version,
			    categories: cats, saved_at: Date.now() };
			store(CONSENT_KEY, consentKept);
			consentEl.hidden = true;
			input.focus();
		});
	}

	function chosen() {
		var cats = ["essential"];

		["analytics", "marketing"].forEach(function (c) {
			if ($("consent-" + c).checked)
				cats.push(c);
		});
		return cats;
	}

	function toggleMenu(open) {
		$("menu-list").hidden = !open;
		$("menu").setAttribute("aria-expanded", String(open));
		if (open)
			$("menu-privacy").focus();
	}

	/* The chatbot's look and words, before any session */

	var COLOR = /^#[0-9a-f]{6}$/;

	/*
	 * Applies the chatbot's look: colours as CSS custom properties of
	 * this page (the host page's CSS cannot reach into the frame), the
	 * logo from parley's origin, the bot's name; and tells the loader
	 * the launcher's colours and side.
	 */
	function applyLook(c) {
		var root = document.documentElement.style, logo = $("logo");

		look = c;
		if (COLOR.test(c.accent_color) && COLOR.test(c.accent_text_color)) {
			root.setProperty("--accent", c.accent_color);
			root.setProperty("--accent-text", c.accent_text_color);
		}
		var policy = $("consent-policy");

		if (typeof c.privacy_policy_url === "string" &&
		    /^https?:\/\//i.test(c.privacy_policy_url)) {
			policy.href = c.privacy_policy_url;
			policy.hidden = false;
		}
		if (typeof c.logo_url === "string" &&
		    /^\/api\/v1\/widget\/logo\?/.test(c.logo_url)) {
			logo.src = c.logo_url;
			logo.hidden = false;
		}
		Array.prototype.forEach.call(list.querySelectorAll(
		    "li[data-role=bot] > .who"), function (w) {
			if (c.display_name)
				w.textContent = c.display_name;
		});
	}

	/*
	 * Reads the chatbot's configuration and applies its look; resolves
	 * with it (null when it could not be read). 'fresh': past any cache
	 * (the policy changed under the banner). A read that fails for a
	 * while (offline, 429, 5xx: parley busy or failing over) leaves the
	 * defaults and is tried again 2, 4, 8 ... 60 s later, until the look
	 * arrives; a 404 (no such chatbot) is final.
	 */
	var lookRetry = 0, lookDelay = 2000;

	function configure(fresh) {
		return fetch(API + "/config?bot=" + encodeURIComponent(bot), {
			credentials: "omit", cache: fresh ? "no-cache" : "default"
		}).then(function (res) {
			if (res.status === 429 || res.status >= 500)
				throw new Error("config " + res.status);
			return res.ok ? res.json() : {};
		}).then(function (c) {
			if (!object(c))
				return null;
			lookDelay = 2000;
			applyLook(c);
			/* The policy changed under the banner: ask again. (The
			 * first time, begin() asks, once the kept answer is in.) */
			if (fresh && stored)
				askConsent(true);
			return c;
		}, function () {
			if (!lookRetry) {
				lookRetry = setTimeout(lookAgain, lookDelay);
				lookDelay = Math.min(lookDelay * 2, 60000);
			}
			return null;	/* the defaults stay, for now */
		});
	}

	/* The look, late: in the locale it offers, and to the loader. */
	function lookAgain() {
		lookRetry = 0;
		configure(false).then(function (c) {
			if (c === null)
				return null;
			return booted.then(function () {
				var l = pickLocale(c.locales);

				if (l === locale)
					return null;
				locale = l;
				return strings(l);
			}).then(tellLoader);
		});
	}

	/* The first of the browser's languages in 'offered', else its first. */
	function pickLocale(offered) {
		var want = navigator.languages && navigator.languages.length ?
		    navigator.languages : [navigator.language || ""], i, l;

		if (!Array.isArray(offered) || offered.length === 0)
			return "en";
		for (i = 0; i < want.length; i++) {
			l = String(want[i]).toLowerCase().split("-")[0];
			if (l === "no" || l === "nn")
				l = "nb";
			if (offered.indexOf(l) >= 0)
				return l;
		}
		return offered[0];
	}

	/* Puts catalogue 'cat' into the page; names missing keys (tests). */
	function applyStrings(cat) {
		var missing = [], root = document.documentElement;

		T = cat;
		function word(k) {
			if (typeof T[k] !== "string") {
				missing.push(k);
				return null;
			}
			return T[k];
		}
		Array.prototype.forEach.call(document.querySelectorAll(
		    "[data-i18n]"), function (e) {
			var w = word(e.getAttribute("data-i18n"));

			if (w !== null)
				e.textContent = w;
		});
		[["data-i18n-aria", "aria-label"], ["data-i18n-title", "title"]]
		    .forEach(function (a) {
			Array.prototype.forEach.call(document.querySelectorAll(
			    "[" + a[0] + "]"), function (e) {
				var w = word(e.getAttribute(a[0]));

				if (w !== null)
					e.setAttribute(a[1], w);
			});
		});
		WHO = { visitor: T.whoVisitor, bot: T.whoBot, agent: T.whoAgent };
		root.lang = locale;
		root.dir = RTL.indexOf(locale) >= 0 ? "rtl" : "ltr";
		root.setAttribute("data-missing", missing.join(" "));
	}

	function strings(l) {
		var file = SHIPPED.indexOf(l) >= 0 ? l : "en";

		return fetch("/widget/i18n/" + file + ".json").then(function (r) {
			if (!r.ok)
				throw new Error("catalogue " + r.status);
			return r.json();
		}).catch(function () {
			return file === "en" ? {} : fetch("/widget/i18n/en.json")
			    .then(function (r) { return r.json(); });
		}).then(function (cat) {
			applyStrings(object(cat) || {});
		});
	}

	/*
	 * Configuration, then the locale's words; then the loader hears the
	 * launcher's colours, side and label. Everything shown waits for it.
	 */
	function boot() {
		return configure().then(function (c) {
			locale = pickLocale(c && c.locales);
			return strings(locale);
		}).then(function () {
			tellLoader();
			/* Read (or given up): tests wait for this mark. */
			document.documentElement.setAttribute("data-config", "");
		});
	}

	/* The loader draws the launcher: its colours, side and label. */
	function tellLoader() {
		if (parentOrigin !== null && !link)
			parent.postMessage({ parley: "look",
			    accent: look.accent_color,
			    text: look.accent_text_color,
			    position: look.launcher_position,
			    label: T.openChat, title: T.title }, parentOrigin);
	}

	/* The welcome in the visitor's locale, else the chatbot's own. */
	function welcome() {
		var w = object(look.welcome_messages);

		if (w && typeof w[locale] === "string" && w[locale].trim())
			return w[locale];
		return typeof look.welcome_message === "string" ?
		    look.welcome_message : String(state.welcome || "");
	}

	/* Start, and the loader's messages */

	async function start() {
		var o, conv = null;

		if (starting)
			return;
		starting = true;
		setStatus(T.connecting);
		try {
			if (link) {
				await token();
				o = { items: [{ id: state.conversation_id,
				    status: "" }] };
			} else
				o = await (await check(await api("GET",
				    API + "/conversations"))).json();
			(o && Array.isArray(o.items) ? o.items : []).forEach(
			    function (c) {
				if (c && c.id === state.conversation_id)
					conv = c;
			});
			if (conv === null)
				resetConversation();
			else if (await catchUp() !== 200)
				throw problem(T.down);
			ready = true;
			setStatus("");
			if (conv !== null && conv.status)
				showConvStatus(conv.status);
			toBottom();
			listen();
		} catch (e) {
			setStatus(e.say || T.offline, true);
		} finally {
			starting = false;
		}
	}

	function askClose() {
		parent.postMessage({ parley: "close" }, parentOrigin);
	}

	function onParent(ev) {
		var d = ev.data, p = d && d.parley;

		if (ev.source !== parent || ev.origin !== parentOrigin ||
		    typeof p !== "string")
			return;
		/*
		 * Only an answer to our own request: a script on the host page
		 * must not push a session of its choosing into the frame.
		 */
		if ((p === "session" || p === "session-error") &&
		    waiting.length === 0)
			return;
		if (p === "state") {
			/* Once, in answer to our "ready". */
			if (!stored)
				begin(object(d.store) || {});
			return;
		}
		if (p === "session")
			onSession(d);
		else if (p === "session-error")
			onSessionError(d);
		else if (p === "opened") {
			isOpen = true;
			toBottom();	/* loaded while hidden: no height then */
			input.focus();
			if (ready)
				listen();
			else
				booted.then(start);
		} else if (p === "closed") {
			isOpen = false;
			closeEvents();
		}
	}

	if (!/^pk_[0-9a-f]{32}$/.test(bot) || (parentOrigin === null && !link)) {
		strings(pickLocale(SHIPPED)).then(function () {
			setStatus(T.down, true);
		});
		return;
	}
	var booted = boot();
	$("contact-send").addEventListener("click", sendContact);
	$("transcript").addEventListener("click", sendTranscript);
	document.addEventListener("visibilitychange", markSeen);
	if (link) {
		document.body.classList.add("page");
		consentEl.hidden = true;
		$("menu").hidden = true;
		stored = true;
		isOpen = true;
		$("handoff").addEventListener("click", handoff);
		$("send").addEventListener("click", send);
		fileInput.addEventListener("change", sendFile);
		input.addEventListener("keydown", function (ev) {
			if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
				ev.preventDefault();
				send();
			}
		});
		$("rating").addEventListener("click", pickScore);
		$("rating-send").addEventListener("click", sendRating);
		booted.then(function () {
			if (link[1] === "confirm") {
				$("confirm").hidden = false;
				$("confirm-send").addEventListener("click",
				    function () {
					$("confirm").hidden = true;
					start();
				});
			} else
				start();
		});
		return;
	}
	window.addEventListener("message", onParent);
	$("close").addEventListener("click", askClose);
	$("handoff").addEventListener("click", handoff);
	$("rating").addEventListener("click", pickScore);
	$("rating-send").addEventListener("click", sendRating);
	$("send").addEventListener("click", send);
	fileInput.addEventListener("change", sendFile);
	$("consent-accept").addEventListener("click", function () {
		saveConsent(["essential", "analytics", "marketing"],
		    $("consent-accept"));
	});
	$("consent-reject").addEventListener("click", function () {
		saveConsent(["essential"], $("consent-reject"));
	});
	$("consent-choose").addEventListener("click", function () {
		var open = $("consent-pick").hidden;

		$("consent-pick").hidden = !open;
		$("consent-choose").setAttribute("aria-expanded", String(open));
	});
	$("consent-save").addEventListener("click", function () {
		saveConsent(chosen(), $("consent-save"));
	});
	$("menu").addEventListener("click", function () {
		toggleMenu($("menu-list").hidden);
	});
	$("menu-privacy").addEventListener("click", function () {
		toggleMenu(false);
		askConsent(true);
		$("consent-accept").focus();
	});
	input.addEventListener("keydown", function (ev) {
		if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing &&
		    !ev.altKey && !ev.ctrlKey && !ev.metaKey) {
			ev.preventDefault();
			send();
		}
	});
	document.addEventListener("keydown", function (ev) {
		if (ev.key !== "Escape" || ev.isComposing)
			return;
		if (!$("menu-list").hidden) {
			toggleMenu(false);
			$("menu").focus();
		} else
			askClose();
	});
	/* What the page kept for us arrives in answer to "ready". */
	function begin(kept) {
		stored = true;
		clearTimeout(stateTimer);
		booted.then(function () {
			var old = legacy(KEY), oldConsent = legacy(CONSENT_KEY);

			state = object(kept[KEY]) || old || {};
			consentKept = object(kept[CONSENT_KEY]) || oldConsent;
			askConsent(false);
			/* Moved into the page's storage. */
			if (!kept[KEY] && old)
				save();
			if (!kept[CONSENT_KEY] && oldConsent)
				store(CONSENT_KEY, oldConsent);
			showHeader();
			start();
		});
	}

	parent.postMessage({ parley: "ready" }, parentOrigin);
	/* A loader that keeps nothing (an old one): start without. */
	stateTimer = setTimeout(function () {
		if (!stored)
			begin({});
	}, 2000);
})();
