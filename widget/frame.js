/*
 * frame.js: the chat, inside the widget's iframe on parley's own origin.
 *
 * The visitor token comes from the loader on the host page (postMessage,
 * origins checked both ways) and is kept in localStorage with the
 * conversation id, so a conversation survives page loads. All text from
 * the server or the visitor reaches the page through textContent; the
 * only links are citation sources with an http(s) URL.
 */
(function () {
	"use strict";

	var API = "/api/v1/widget";
	var POLICY = "2026-11";		/* consent policy version */
	var MESSAGE_MAX = 2000;		/* bytes, as widget_message_max */
	var STREAM_MAX = 1048576;	/* bytes of one answer stream */
	var PAGE = 200;			/* messages per page, as the server */
	var PAGES_MAX = 10;		/* history pages loaded at most */
	var ASK_WAIT = 30000;		/* ms to wait for the loader's session */

	var TEXT = {
		connecting: "Connecting\u2026",
		offline: "You seem to be offline. Check your connection and " +
		    "try again.",
		tooFast: "You're sending messages too quickly. Please wait a " +
		    "moment and try again.",
		verify: "This chat is for signed-in customers.",
		notHere: "This chat is not available on this website.",
		identity: "We could not confirm that you are signed in. Please " +
		    "reload the page and try again.",
		sessions: "Too many chats were started from your network. " +
		    "Please try again later.",
		down: "The chat is not available right now. Please try again " +
		    "in a moment.",
		failed: "Something went wrong. Please try again.",
		invalid: "Your message could not be sent. Please check it and " +
		    "try again.",
		tooLong: "Your message is too long. Please shorten it.",
		answer: "Something went wrong while answering. Please try " +
		    "again, or ask for a person.",
		cut: "The answer was interrupted. Please try again.",
		pending: "A person from the team will reply here.",
		saved: "Your choices are saved.",
		setup: "This chat is not set up correctly."
	};
	var WHO = { visitor: "You", bot: "AI assistant", agent: "Team" };

	function $(id) {
		return document.getElementById(id);
	}

	var list = $("message-list"), log = $("messages"), input = $("input");
	var sendBtn = $("send"), handoffBtn = $("handoff");
	var statusEl = $("status"), consentEl = $("consent");

	var bot = new URLSearchParams(location.search).get("bot") || "";
	var parentOrigin = findParentOrigin();
	var KEY = "parley:" + bot, CONSENT_KEY = "parley:consent:" + bot;
	/* token, expires_at (ms), conversation_id, chatbot, welcome, visitor */
	var state = load(KEY) || {};
	if (typeof state.conversation_id !== "string")
		state.conversation_id = null;
	var shown = {};			/* seq -> li of every stored message shown */
	var lastSeq = 0;
	var convStatus = "";
	var waiting = [];		/* callers waiting for a session */
	var askTimer = 0, asked = false;
	var isOpen = false, ready = false, starting = false;
	var creating = null, catching = false, busy = {};
	var events = null, retryTimer = 0, retryDelay = 5000;

	function findParentOrigin() {
		var o = null;

		if (window.parent === window)
			return null;
		try {
			if (location.ancestorOrigins &&
			    location.ancestorOrigins.length > 0)
				o = location.ancestorOrigins[0];
			else
				o = new URL(document.referrer).origin;
		} catch (e) {
			return null;
		}
		return o && o !== "null" ? o : null;
	}

	function load(key) {
		try {
			var v = JSON.parse(localStorage.getItem(key));
			return v && typeof v === "object" ? v : null;
		} catch (e) {
			return null;
		}
	}

	function store(key, value) {
		try {
			localStorage.setItem(key, JSON.stringify(value));
		} catch (e) { /* storage blocked: kept for this page only */ }
	}

	function save() {
		store(KEY, state);
	}

	/* An error carrying the words to show the visitor. */
	function problem(text) {
		var e = new Error(text);

		e.say = text;
		return e;
	}

	function say(e) {
		if (e && e.say)
			return e.say;
		return e instanceof TypeError ? TEXT.offline : TEXT.failed;
	}

	function setStatus(text, isError) {
		if (!text && convStatus === "pending")
			text = TEXT.pending;
		statusEl.textContent = text;
		statusEl.classList.toggle("error", !!isError);
	}

	function showConvStatus(s) {
		if (typeof s !== "string")
			return;
		convStatus = s;
		if (s === "pending")
			setStatus(TEXT.pending);
		else if (statusEl.textContent === TEXT.pending)
			setStatus("");
	}

	/* Session: the token, asked of the loader when missing or stale. */

	function tokenValid() {
		return typeof state.token === "string" &&
		    typeof state.expires_at === "number" &&
		    state.expires_at - 60000 > Date.now();
	}

	/* Resolves with a usable token; rejects with words to show. */
	function token() {
		if (tokenValid())
			return Promise.resolve(state.token);
		return new Promise(function (resolve, reject) {
			waiting.push({ resolve: resolve, reject: reject });
			if (asked)
				return;
			if (!parentOrigin) {
				sessionFailed(TEXT.setup);
				return;
			}
			asked = true;
			setStatus(TEXT.connecting);
			askTimer = setTimeout(function () {
				sessionFailed(TEXT.down);
			}, ASK_WAIT);
			window.parent.postMessage({ parley: "need-session" },
			    parentOrigin);
		});
	}

	function forgetToken() {
		state.token = null;
		state.expires_at = 0;
		save();
		closeEvents();
	}

	function onSession(d) {
		var ttl = Number(d.expires_in), w = waiting, visitor = null;
		var c = d.chatbot;

		if (typeof d.token !== "string" || d.token === "")
			return;
		if (!(ttl > 0))
			ttl = 3600;
		if (d.visitor && typeof d.visitor.id === "string")
			visitor = d.visitor.id;
		if (state.visitor && visitor !== state.visitor)
			resetConversation();	/* not this visitor's any more */
		clearTimeout(askTimer);
		asked = false;
		state.token = d.token;
		state.expires_at = Date.now() + Math.min(ttl, 2592000) * 1000;
		state.visitor = visitor;
		if (c && typeof c === "object") {
			state.chatbot = { id: String(c.id || ""),
			    name: String(c.name || ""),
			    welcome_message: String(c.welcome_message || "") };
			state.welcome = state.chatbot.welcome_message;
		}
		save();
		showHeader();
		if (statusEl.textContent === TEXT.connecting)
			setStatus("");
		waiting = [];
		w.forEach(function (x) {
			x.resolve(d.token);
		});
		if (ready)
			listen();	/* the token changed */
	}

	function onSessionError(d) {
		var text = TEXT.down;

		if (d.status === 0)
			text = TEXT.offline;
		else if (d.code === "origin_not_allowed")
			text = TEXT.notHere;
		else if (d.code === "verification_required")
			text = TEXT.verify;
		else if (d.code === "identity_invalid")
			text = TEXT.identity;
		else if (d.status === 429)
			text = TEXT.sessions;
		sessionFailed(text);
	}

	function sessionFailed(text) {
		var w = waiting;

		clearTimeout(askTimer);
		asked = false;
		waiting = [];
		setStatus(text, true);
		w.forEach(function (x) {
			x.reject(problem(text));
		});
	}

	/*
	 * One API call with the visitor token. On 401 the token is dropped
	 * and a new session asked for, once. Resolves with the Response.
	 */
	async function api(method, path, body, accept) {
		for (var i = 0; ; i++) {
			var tok = await token();
			var headers = { Authorization: "Bearer " + tok };
			var init = { method: method, headers: headers,
			    credentials: "omit", cache: "no-store" };
			var res;

			if (accept)
				headers.Accept = accept;
			if (body !== undefined) {
				headers["Content-Type"] = "application/json";
				init.body = JSON.stringify(body);
			}
			res = await fetch(path, init);
			if (res.status !== 401 || i > 0)
				return res;
			if (state.token === tok)
				forgetToken();
		}
	}

	/* The words for a non-2xx answer (problem+json). */
	async function problemText(res) {
		var o = null, s;

		try {
			o = await res.json();
		} catch (e) { /* not JSON */ }
		if (res.status === 429) {
			s = parseInt(res.headers.get("Retry-After"), 10);
			if (s > 0 && s < 3600)
				return TEXT.tooFast + " You can send again in " + s +
				    (s === 1 ? " second." : " seconds.");
			return TEXT.tooFast;
		}
		if (o && o.code === "verification_required")
			return TEXT.verify;
		if (res.status === 400 || res.status === 413 ||
		    res.status === 422)
			return TEXT.invalid;
		if (res.status >= 500)
			return TEXT.down;
		return TEXT.failed;
	}

	function msgsPath(id) {
		return API + "/conversations/" + encodeURIComponent(id) +
		    "/messages";
	}

	/* Messages */

	function atBottom() {
		return log.scrollHeight - log.scrollTop - log.clientHeight < 48;
	}

	function toBottom() {
		log.scrollTop = log.scrollHeight;
	}

	function bubble(role) {
		var li = document.createElement("li");
		var who = document.createElement("p");
		var body = document.createElement("div");

		li.className = "msg";
		who.className = "who";
		body.className = "body";
		li.appendChild(who);
		li.appendChild(body);
		setRole(li, role);
		return li;
	}

	function setRole(li, role) {
		li.setAttribute("data-role", role);
		li.firstChild.textContent = WHO[role];
	}

	function isHttp(url) {
		return typeof url === "string" && /^https?:\/\//i.test(url);
	}

	function citations(items) {
		var ul = document.createElement("ul");

		ul.className = "cites";
		ul.setAttribute("aria-label", "Sources");
		items.slice(0, 20).forEach(function (c) {
			var li = document.createElement("li"), el;

			if (!c || typeof c !== "object")
				return;
			if (isHttp(c.source_url)) {
				el = document.createElement("a");
				el.href = c.source_url;
				el.target = "_blank";
				el.rel = "noopener noreferrer";
			} else
				el = document.createElement("span");
			el.className = "cite";
			el.textContent = typeof c.title === "string" && c.title ?
			    c.title : "Source";
			li.appendChild(el);
			ul.appendChild(li);
		});
		return ul;
	}

	/* Puts stored message 'm' into bubble 'li'. */
	function fill(li, m) {
		var old = li.querySelector(".cites");

		setRole(li, m.role);
		li.querySelector(".body").textContent = m.content;
		if (old)
			li.removeChild(old);
		if (Array.isArray(m.citations) && m.citations.length > 0)
			li.appendChild(citations(m.citations));
		li.setAttribute("data-seq", String(m.seq));
		li.classList.remove("pending");
		li.removeAttribute("aria-busy");
		shown[m.seq] = li;
		if (m.seq > lastSeq)
			lastSeq = m.seq;
	}

	function valid(m) {
		return m && typeof m === "object" && WHO[m.role] &&
		    typeof m.content === "string" && Number.isInteger(m.seq);
	}

	/* Shows stored message 'm' in seq order, unless already shown. */
	function addMessage(m) {
		var li, next = null, near = atBottom(), i, s, item;

		if (!valid(m) || shown[m.seq])
			return;
		li = bubble(m.role);
		fill(li, m);
		for (i = 0; i < list.children.length; i++) {
			item = list.children[i];
			s = item.getAttribute("data-seq");
			if (item.classList.contains("pending") ||
			    (s !== null && Number(s) > m.seq)) {
				next = item;
				break;
			}
		}
		list.insertBefore(li, next);
		if (near)
			toBottom();
	}

	/* The bot's answer while it streams. */
	function pendingBubble() {
		var li = bubble("bot");

		li.classList.add("pending");
		li.setAttribute("aria-busy", "true");
		list.appendChild(li);
		toBottom();
		return li;
	}

	function drop(li) {
		if (li && li.parentNode)
			li.parentNode.removeChild(li);
	}

	function showHeader() {
		var c = state.chatbot;

		$("bot-name").textContent = c && c.name ? c.name : "Chat";
		showWelcome();
	}

	/* The welcome message: first, as the bot's, and never stored. */
	function showWelcome() {
		var old = list.querySelector("[data-welcome]"), li;
		var w = typeof state.welcome === "string" ? state.welcome : "";

		if (old && old.querySelector(".body").textContent === w)
			return;
		drop(old);
		if (w.trim() === "")
			return;
		li = bubble("bot");
		li.setAttribute("data-welcome", "");
		li.querySelector(".body").textContent = w;
		list.insertBefore(li, list.firstChild);
	}

	function resetConversation() {
		closeEvents();
		state.conversation_id = null;
		save();
		while (list.firstChild)
			list.removeChild(list.firstChild);
		shown = {};
		lastSeq = 0;
		convStatus = "";
		showWelcome();
	}

	/* Resolves with the conversation's id, creating it when needed. */
	function conversation() {
		if (state.conversation_id)
			return Promise.resolve(state.conversation_id);
		if (creating === null)
			creating = (async function () {
				var res = await api("POST", API + "/conversations");
				var o;

				if (!res.ok)
					throw problem(await problemText(res));
				o = await res.json();
				if (typeof o.id !== "string" || o.id === "")
					throw problem(TEXT.failed);
				state.conversation_id = o.id;
				save();
				showConvStatus(o.status);
				if (isOpen)
					listen();
				return o.id;
			})().then(function (id) {
				creating = null;
				return id;
			}, function (e) {
				creating = null;
				throw e;
			});
		return creating;
	}

	/* Calls fn(id); when the conversation is gone, once more in a new one. */
	async function inConversation(fn) {
		var res = await fn(await conversation());

		if (res.status === 404) {
			resetConversation();
			res = await fn(await conversation());
		}
		return res;
	}

	/*
	 * Loads the messages after the last one shown. Resolves with the last
	 * HTTP status (200 when all went well).
	 */
	async function catchUp() {
		var page, res, o, items;

		if (!state.conversation_id || catching)
			return 200;
		catching = true;
		try {
			for (page = 0; page < PAGES_MAX; page++) {
				res = await api("GET", msgsPath(state.conversation_id) +
				    "?after=" + lastSeq);
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

	/* Realtime: agent replies (and status) while the chat is open. */

	function closeEvents() {
		clearTimeout(retryTimer);
		if (events) {
			events.close();
			events = null;
		}
	}

	function listen() {
		var es;

		closeEvents();
		if (!isOpen || !state.conversation_id || !tokenValid())
			return;
		es = new EventSource(API + "/conversations/" +
		    encodeURIComponent(state.conversation_id) + "/events?token=" +
		    encodeURIComponent(state.token));
		events = es;
		es.onopen = function () {
			retryDelay = 5000;
			catchUp().catch(function () {});
		};
		es.onmessage = function (ev) {
			var d;

			try {
				d = JSON.parse(ev.data);
			} catch (e) {
				return;
			}
			if (d && d.type === "message")
				addMessage(d.message);
			else if (d && d.type === "status")
				showConvStatus(d.status);
		};
		es.onerror = function () {
			/* CLOSED: refused (401, 403, ...), not a dropped line. */
			if (es === events && es.readyState === EventSource.CLOSED) {
				closeEvents();
				retry();
			}
		};
	}

	/*
	 * After a refused event stream, one API call tells why: a 401 there
	 * brings a new token (and a new stream); 403 or 404 stop.
	 */
	function retry() {
		retryTimer = setTimeout(function () {
			catchUp().then(function (status) {
				if (status === 200)
					listen();
				else if (status >= 500 || status === 429)
					retry();
			}, function (e) {
				if (!e || !e.say)
					retry();	/* offline */
			});
		}, retryDelay);
		retryDelay = Math.min(retryDelay * 2, 60000);
	}

	/* Sending */

	/* Reads the answer stream: "event: NAME" and "data: JSON" lines. */
	async function readStream(res) {
		var reader = res.body.getReader(), dec = new TextDecoder();
		var buf = "", total = 0, name = "message", data = [];
		var ctx = { pending: null, done: false }, r, lines, i, line, c;

		try {
			for (;;) {
				r = await reader.read();
				if (r.done)
					break;
				total += r.value.length;
				if (total > STREAM_MAX) {
					reader.cancel().catch(function () {});
					break;
				}
				buf += dec.decode(r.value, { stream: true });
				lines = buf.split("\n");
				buf = lines.pop();
				for (i = 0; i < lines.length; i++) {
					line = lines[i].replace(/\r$/, "");
					if (line === "") {
						if (data.length > 0)
							onEvent(ctx, name, data.join("\n"));
						name = "message";
						data = [];
						continue;
					}
					c = line.indexOf(":");
					if (c === 0)
						continue;	/* comment */
					if (c < 0)
						c = line.length;
					if (line.slice(0, c) === "event")
						name = line.slice(c + 1).trim();
					else if (line.slice(0, c) === "data")
						data.push(line.slice(c + 1).replace(/^ /, ""));
				}
			}
		} catch (e) { /* the line dropped: as an early end */ }
		if (!ctx.done) {
			drop(ctx.pending);
			setStatus(TEXT.cut, true);
		}
	}

	function onEvent(ctx, name, text) {
		var d;

		try {
			d = JSON.parse(text);
		} catch (e) {
			return;
		}
		if (ctx.done || !d || typeof d !== "object")
			return;
		if (name === "message") {
			addMessage(d);
			if (ctx.pending === null)
				ctx.pending = pendingBubble();
		} else if (name === "delta" && typeof d.text === "string") {
			if (ctx.pending === null)
				ctx.pending = pendingBubble();
			ctx.pending.querySelector(".body").appendChild(
			    document.createTextNode(d.text));
			if (atBottom())
				toBottom();
		} else if (name === "done") {
			ctx.done = true;
			finish(d, ctx.pending);
		} else if (name === "error") {
			ctx.done = true;
			drop(ctx.pending);
			setStatus(TEXT.answer, true);
		}
	}

	/* The answer's end: the stored reply replaces what streamed. */
	function finish(d, pending) {
		var r = d.reply;

		addMessage(d.message);
		if (valid(r) && pending && !shown[r.seq])
			fill(pending, r);
		else {
			drop(pending);
			addMessage(r);
		}
		toBottom();
		showConvStatus(d.status);
	}

	async function send() {
		var text = input.value.trim(), res;

		if (busy.send || text === "")
			return;
		if (new TextEncoder().encode(text).length > MESSAGE_MAX) {
			setStatus(TEXT.tooLong, true);
			return;
		}
		setBusy("send", sendBtn, true);
		setStatus("");
		try {
			res = await inConversation(function (id) {
				return api("POST", msgsPath(id), { content: text },
				    "text/event-stream");
			});
			if (!res.ok) {
				setStatus(await problemText(res), true);
				return;
			}
			/* Stored: the text may go (unless more was typed). */
			if (input.value.trim() === text)
				input.value = "";
			if ((res.headers.get("Content-Type") || "").indexOf(
			    "text/event-stream") === 0)
				await readStream(res);
			else
				finish(await res.json(), null);
		} catch (e) {
			setStatus(say(e), true);
		} finally {
			setBusy("send", sendBtn, false);
		}
	}

	/* Marks 'btn' busy without disabling it (it keeps the focus). */
	function setBusy(what, btn, on) {
		busy[what] = on;
		if (on)
			btn.setAttribute("aria-disabled", "true");
		else
			btn.removeAttribute("aria-disabled");
	}

	async function handoff() {
		var res, o;

		if (busy.handoff)
			return;
		setBusy("handoff", handoffBtn, true);
		setStatus("");
		try {
			res = await inConversation(function (id) {
				return api("POST", API + "/conversations/" +
				    encodeURIComponent(id) + "/handoff");
			});
			if (!res.ok) {
				setStatus(await problemText(res), true);
				return;
			}
			o = await res.json();
			addMessage(o.reply);
			toBottom();
			showConvStatus(o.status);
		} catch (e) {
			setStatus(say(e), true);
		} finally {
			setBusy("handoff", handoffBtn, false);
		}
	}

	/* Consent */

	function showConsent() {
		var c = load(CONSENT_KEY);

		consentEl.hidden = !!(c && c.policy_version === POLICY);
	}

	async function saveConsent() {
		var cats = ["essential"], res;

		if (busy.consent)
			return;
		if ($("consent-analytics").checked)
			cats.push("analytics");
		if ($("consent-marketing").checked)
			cats.push("marketing");
		setBusy("consent", $("consent-save"), true);
		try {
			res = await api("POST", API + "/consent",
			    { categories: cats, policy_version: POLICY });
			if (!res.ok) {
				setStatus(await problemText(res), true);
				return;
			}
			store(CONSENT_KEY, { policy_version: POLICY,
			    categories: cats, saved_at: Date.now() });
			consentEl.hidden = true;
			setStatus(TEXT.saved);
			input.focus();
		} catch (e) {
			setStatus(say(e), true);
		} finally {
			setBusy("consent", $("consent-save"), false);
		}
	}

	/* Start and the parent's messages */

	async function start() {
		var res, o, items, conv = null, i;

		if (starting)
			return;
		starting = true;
		setStatus(TEXT.connecting);
		try {
			res = await api("GET", API + "/conversations");
			if (!res.ok)
				throw problem(await problemText(res));
			o = await res.json();
			items = o && Array.isArray(o.items) ? o.items : [];
			for (i = 0; i < items.length; i++)
				if (items[i] && items[i].id === state.conversation_id)
					conv = items[i];
			if (conv === null && state.conversation_id)
				resetConversation();
			if (conv !== null) {
				if (await catchUp() !== 200)
					throw problem(TEXT.down);
				toBottom();
			}
			ready = true;
			setStatus("");
			if (conv !== null)
				showConvStatus(conv.status);
			listen();
		} catch (e) {
			setStatus(say(e), true);
		} finally {
			starting = false;
		}
	}

	function askClose() {
		if (parentOrigin)
			window.parent.postMessage({ parley: "close" }, parentOrigin);
	}

	function onParent(ev) {
		var d = ev.data;

		if (ev.source !== window.parent || ev.origin !== parentOrigin ||
		    !d || typeof d !== "object")
			return;
		if (d.parley === "session")
			onSession(d);
		else if (d.parley === "session-error")
			onSessionError(d);
		else if (d.parley === "opened") {
			isOpen = true;
			input.focus();
			if (!ready)
				start();
			else
				listen();
		} else if (d.parley === "closed") {
			isOpen = false;
			closeEvents();
		}
	}

	function init() {
		window.addEventListener("message", onParent);
		$("close").addEventListener("click", askClose);
		handoffBtn.addEventListener("click", handoff);
		sendBtn.addEventListener("click", send);
		$("consent-save").addEventListener("click", saveConsent);
		input.addEventListener("keydown", function (ev) {
			if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing &&
			    !ev.altKey && !ev.ctrlKey && !ev.metaKey) {
				ev.preventDefault();
				send();
			}
		});
		document.addEventListener("keydown", function (ev) {
			if (ev.key === "Escape" && !ev.isComposing) {
				ev.preventDefault();
				askClose();
			}
		});
		if (!/^pk_[0-9a-f]{32}$/.test(bot) || !parentOrigin) {
			setStatus(TEXT.setup, true);
			return;
		}
		window.parent.postMessage({ parley: "ready" }, parentOrigin);
		showHeader();
		showConsent();
		start();
	}

	init();
})();
