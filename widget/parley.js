/*
 * parley.js: the chat widget loader, run on a customer's page:
 *   <script src="BASE/widget/parley.js" data-bot="pk_..." async></script>
 * and, for a signed-in visitor, data-user-id, data-user-hmac (computed by
 * the site's backend), data-user-email, data-user-name.
 *
 * It adds one element whose closed shadow root holds the launcher and the
 * chat frame, styled through the CSSOM so the page's CSS and CSP do not
 * matter. It makes one request, the visitor session (which must carry this
 * page's Origin), and hands the token to the frame by postMessage, with
 * origins checked both ways. It keeps what the frame asks it to keep (the
 * visitor's session and conversation, the consent given) in this page's
 * own localStorage: a third-party frame's storage is blocked or
 * partitioned in many browsers, and the visitor would start over on
 * every page.
 */
(function () {
	"use strict";

	var script = document.currentScript, ONCE = Symbol.for("parley.widget");
	var bot = script && script.getAttribute("data-bot");

	if (!bot || !/^pk_[0-9a-f]{32}$/.test(bot) || window[ONCE])
		return;
	Object.defineProperty(window, ONCE, { value: true });

	var BASE = new URL(script.src).origin;
	var phone = window.matchMedia("(max-width: 479.98px)");
	var SHADOW = "0 2px 8px rgba(0, 0, 0, 0.35)";
	var host, button, frame, isOpen = false, ready = false, asking = false;
	var wanted = false; /* the frame asked for a session before the chat opened */
	var STORE = "parley:" + bot, KEEP = [STORE, "parley:consent:" + bot];
	var STORE_MAX = 16384, memory = {};
	/* The launcher's side and colours: the chatbot's, once the frame says. */
	var side = "right", accent = "#1f2937", accentText = "#ffffff";
	var COLOR = /^#[0-9a-f]{6}$/;

	/* What the frame asked to keep, from this page's storage. */
	function kept() {
		try {
			var v = JSON.parse(localStorage.getItem(STORE));

			return v && typeof v === "object" && !Array.isArray(v) ? v :
			    {};
		} catch (e) {
			return memory;	/* this page's storage is blocked too */
		}
	}

	function keep(key, value) {
		var all = kept(), text;

		if (KEEP.indexOf(key) < 0)
			return;
		all[key] = value;
		text = JSON.stringify(all);
		if (text.length > STORE_MAX)
			return;
		memory = all;
		try {
			localStorage.setItem(STORE, text);
		} catch (e) { /* kept for this page load only */ }
	}

	/* Sets 'props' on 'el' as inline !important declarations. */
	function css(el, props) {
		Object.keys(props).forEach(function (k) {
			el.style.setProperty(k, props[k], "important");
		});
	}

	/* The signed-in visitor, or undefined: id and HMAC are both needed. */
	function identity() {
		var o = {};

		["id", "hmac", "email", "name"].forEach(function (k) {
			var v = script.getAttribute("data-user-" + k);

			if (v)
				o[k === "id" ? "user_id" : k] = v;
		});
		return o.user_id && /^[0-9a-f]{64}$/.test(o.hmac) ? o : undefined;
	}

	function layout() {
		var far = side === "left" ? "right" : "left", p = {};

		css(frame, phone.matches ? { top: "0", left: "0", right: "auto",
		    width: "100%", height: "100%", "max-height": "none",
		    "border-radius": "0" } :
		    { top: "auto", bottom: "92px", width: "380px",
		    height: "600px", "max-height": "calc(100% - 112px)",
		    "border-radius": "12px" });
		if (!phone.matches) {
			p[side] = "20px";
			p[far] = "auto";
			css(frame, p);
		}
		p = {};
		p[side] = "20px";
		p[far] = "auto";
		p.background = accent;
		p.color = accentText;
		if (button)
			css(button, p);
	}

	function build() {
		var svg = document.createElementNS("http://www.w3.org/2000/svg",
		    "svg"), root;

		host = document.createElement("parley-widget");
		css(host, { all: "initial", display: "block" });
		root = host.attachShadow({ mode: "closed" });

		svg.setAttribute("viewBox", "0 0 24 24");
		svg.setAttribute("width", "28");
		svg.setAttribute("height", "28");
		svg.setAttribute("aria-hidden", "true");
		svg.appendChild(document.createElementNS(svg.namespaceURI, "path"))
		    .setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 " +
		    "2H9l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z");
		svg.firstChild.setAttribute("fill", "currentColor");

		button = document.createElement("button");
		button.type = "button";
		button.setAttribute("aria-label", "Open chat");
		button.setAttribute("aria-expanded", "false");
		button.setAttribute("aria-controls", "parley-frame");
		button.appendChild(svg);
		css(button, { all: "initial", display: "flex", position: "fixed",
		    right: "20px", bottom: "20px", "z-index": "2147483000",
		    width: "56px", height: "56px", "box-sizing": "border-box",
		    "align-items": "center", "justify-content": "center",
		    border: "2px solid #ffffff", "border-radius": "50%",
		    background: "#1f2937", color: "#ffffff", cursor: "pointer",
		    "box-shadow": SHADOW });
		button.addEventListener("focus", function () {
			css(button, { "box-shadow": "0 0 0 3px #ffffff, " +
			    "0 0 0 6px #1d4ed8" });
		});
		button.addEventListener("blur", function () {
			css(button, { "box-shadow": SHADOW });
		});
		button.addEventListener("click", function () {
			setOpen(!isOpen, false);
		});

		frame = document.createElement("iframe");
		frame.id = "parley-frame";
		frame.title = "Chat";
		frame.referrerPolicy = "origin";	/* tells the frame our origin */
		frame.src = BASE + "/widget/frame?bot=" + bot;
		css(frame, { all: "initial", display: "none", position: "fixed",
		    "z-index": "2147483001", border: "0", background: "#ffffff",
		    "box-shadow": "0 4px 24px rgba(0, 0, 0, 0.3)" });
		layout();
		phone.addEventListener("change", layout);
		/* A frame that never says "ready" was refused (frame-ancestors). */
		frame.addEventListener("load", function () {
			setTimeout(function () {
				if (!ready)
					remove();
			}, 3000);
		});

		root.appendChild(frame);
		root.appendChild(button);
		document.body.appendChild(host);
		window.addEventListener("message", onMessage);
	}

	function post(msg) {
		frame.contentWindow.postMessage(msg, BASE);
	}

	function setOpen(open, returnFocus) {
		isOpen = open;
		button.setAttribute("aria-expanded", String(open));
		css(frame, { display: open ? "block" : "none" });
		if (open)
			frame.focus();
		else if (returnFocus)
			button.focus();
		post({ parley: open ? "opened" : "closed" });
		if (open && wanted) {
			wanted = false;
			session();
		}
	}

	/* This site may not use the widget: leave the page as it was. */
	function remove() {
		window.removeEventListener("message", onMessage);
		phone.removeEventListener("change", layout);
		if (host.parentNode)
			host.parentNode.removeChild(host);
	}

	/*
	 * Asks for a visitor session for the frame; the token goes nowhere
	 * else. parley busy (503: overloaded, a database failing over) or the
	 * network down is tried again, after Retry-After or 1, 2, 4 s, three
	 * times, before the frame is told.
	 */
	function session() {
		if (asking)
			return;
		asking = true;
		attempt(0);
	}

	function attempt(tries) {
		function again(res) {
			var s = res ? parseInt(res.headers.get("Retry-After"), 10) :
			    NaN;

			if (tries >= 3)
				return false;
			setTimeout(attempt, 1000 * (s > 0 && s <= 10 ? s :
			    Math.pow(2, tries)), tries + 1);
			return true;
		}
		fetch(BASE + "/api/v1/widget/sessions", {
			method: "POST",
			headers: { "Content-Type": "application/json" },
			body: JSON.stringify({ bot_key: bot, identity: identity() }),
			credentials: "omit",
			cache: "no-store"
		}).then(function (res) {
			return res.json().catch(function () {
				return {};
			}).then(function (o) {
				var code = typeof o.code === "string" ? o.code : "";

				if (res.status === 201 && typeof o.token === "string")
					return post({ parley: "session", token: o.token,
					    expires_in: o.expires_in, visitor: o.visitor,
					    chatbot: o.chatbot });
				if (res.status === 503 && again(res))
					return "again";
				post({ parley: "session-error", status: res.status,
				    code: code });
				if (res.status === 403 && code === "origin_not_allowed")
					remove();
			});
		}, function () {
			/* Offline, or refused without CORS headers. */
			if (again(null))
				return "again";
			post({ parley: "session-error", status: 0,
			    code: "network_error" });
		}).then(done, done);

		function done(v) {
			if (v !== "again")
				asking = false;
		}
	}

	function onMessage(ev) {
		var d = ev.data;

		if (ev.origin !== BASE || ev.source !== frame.contentWindow ||
		    !d || typeof d !== "object")
			return;
		if (d.parley === "ready") {
			ready = true;
			post({ parley: "state", store: kept() });
			if (isOpen)	/* opened before the frame could hear it */
				post({ parley: "opened" });
		} else if (d.parley === "need-session") {
			/*
			 * A visitor who never opens the chat gets no session (and
			 * makes no visitor row): the request waits for the launcher.
			 */
			if (isOpen)
				session();
			else
				wanted = true;
		}
		else if (d.parley === "close" && isOpen)
			setOpen(false, true);
		else if (d.parley === "look") {
			/* Checked here too: the page's side of the frame's word. */
			if (d.position === "left" || d.position === "right")
				side = d.position;
			if (COLOR.test(d.accent) && COLOR.test(d.text)) {
				accent = d.accent;
				accentText = d.text;
			}
			/* The launcher's name in the visitor's language. */
			if (typeof d.label === "string" && d.label.length <= 60)
				button.setAttribute("aria-label", d.label);
			if (typeof d.title === "string" && d.title.length <= 60)
				frame.title = d.title;
			layout();
		}
		else if (d.parley === "store" && typeof d.key === "string")
			keep(d.key, d.value);
	}

	if (document.body)
		build();
	else
		document.addEventListener("DOMContentLoaded", build);
})();
