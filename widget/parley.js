/*
 * parley.js: the chat widget loader. It runs on a customer's page, so it
 * touches as little of that page as it can: one element holding a closed
 * shadow root with the launcher button and the chat frame, styled through
 * the CSSOM (the page's CSS and CSP do not reach it). It makes one request,
 * the visitor session (which must carry this page's Origin), and hands the
 * token to the frame by postMessage, checking origins both ways.
 *
 * Embed:
 *   <script src="BASE/widget/parley.js" data-bot="pk_..." async></script>
 * with, for a signed-in visitor, data-user-id, data-user-hmac (64 hex
 * digits, computed by the site's backend) and optionally data-user-email,
 * data-user-name.
 */
(function () {
	"use strict";

	var script = document.currentScript;
	var ONCE = Symbol.for("parley.widget"); /* run once per page */

	if (!script || !script.src || window[ONCE])
		return;
	var bot = script.getAttribute("data-bot") || "";
	if (!/^pk_[0-9a-f]{32}$/.test(bot))
		return;
	Object.defineProperty(window, ONCE, { value: true });

	var BASE = new URL(script.src).origin;
	var identity = readIdentity(script);
	var phone = window.matchMedia("(max-width: 479.98px)");
	var host, button, frame, isOpen = false, asking = false, ready = false;

	/* Sets 'props' on 'el' as inline !important declarations. */
	function css(el, props) {
		Object.keys(props).forEach(function (k) {
			el.style.setProperty(k, props[k], "important");
		});
	}

	/* The verified visitor, or null: user id and HMAC are both needed. */
	function readIdentity(s) {
		var id = s.getAttribute("data-user-id");
		var mac = s.getAttribute("data-user-hmac");
		var email = s.getAttribute("data-user-email");
		var name = s.getAttribute("data-user-name");
		var o;

		if (!id || !mac || !/^[0-9a-f]{64}$/.test(mac))
			return null;
		o = { user_id: id, hmac: mac };
		if (email)
			o.email = email;
		if (name)
			o.name = name;
		return o;
	}

	function icon() {
		var NS = "http://www.w3.org/2000/svg";
		var svg = document.createElementNS(NS, "svg");
		var path = document.createElementNS(NS, "path");

		svg.setAttribute("viewBox", "0 0 24 24");
		svg.setAttribute("width", "28");
		svg.setAttribute("height", "28");
		svg.setAttribute("aria-hidden", "true");
		svg.setAttribute("focusable", "false");
		path.setAttribute("fill", "currentColor");
		path.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 " +
		    "4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm3 6.5a1.5 1.5 0 1 0 0 " +
		    "3 1.5 1.5 0 0 0 0-3zm5 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3" +
		    "zm5 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3z");
		svg.appendChild(path);
		return svg;
	}

	function layout() {
		if (phone.matches)
			css(frame, { top: "0", left: "0", right: "auto",
			    bottom: "auto", width: "100%", height: "100%",
			    "max-height": "none", "border-radius": "0" });
		else
			css(frame, { top: "auto", left: "auto", right: "20px",
			    bottom: "92px", width: "380px", height: "600px",
			    "max-height": "calc(100% - 112px)",
			    "border-radius": "12px" });
	}

	function build() {
		var root;

		host = document.createElement("parley-widget");
		css(host, { all: "initial", display: "block", position: "static" });
		root = host.attachShadow({ mode: "closed" });

		button = document.createElement("button");
		button.type = "button";
		button.setAttribute("aria-label", "Open chat");
		button.setAttribute("aria-expanded", "false");
		button.setAttribute("aria-controls", "parley-frame");
		button.appendChild(icon());
		/* Shown once the frame says it is ready (see onMessage). */
		css(button, { all: "initial", position: "fixed", right: "20px",
		    bottom: "20px", "z-index": "2147483000", width: "56px",
		    height: "56px", "box-sizing": "border-box", display: "none",
		    "align-items": "center", "justify-content": "center",
		    margin: "0", padding: "0", border: "2px solid #ffffff",
		    "border-radius": "50%", background: "#1f2937",
		    color: "#ffffff", cursor: "pointer",
		    "box-shadow": "0 2px 8px rgba(0, 0, 0, 0.35)" });
		button.addEventListener("focus", function () {
			var keyboard = true;

			try {
				keyboard = button.matches(":focus-visible");
			} catch (e) { /* older browser: always show focus */ }
			if (keyboard)
				css(button, { "box-shadow": "0 0 0 3px #ffffff, " +
				    "0 0 0 6px #1d4ed8" });
		});
		button.addEventListener("blur", function () {
			css(button, { "box-shadow": "0 2px 8px rgba(0, 0, 0, 0.35)" });
		});
		button.addEventListener("click", function () {
			setOpen(!isOpen, false);
		});

		frame = document.createElement("iframe");
		frame.id = "parley-frame";
		frame.title = "Chat";
		/* The frame learns this page's origin from the referrer too. */
		frame.referrerPolicy = "origin";
		frame.src = BASE + "/widget/frame?bot=" + bot;
		css(frame, { all: "initial", display: "none", position: "fixed",
		    "z-index": "2147483001", border: "0", margin: "0",
		    padding: "0", background: "#ffffff",
		    "box-shadow": "0 4px 24px rgba(0, 0, 0, 0.3)" });
		/*
		 * A frame that loaded but never said "ready" was refused (its
		 * frame-ancestors do not list this site) or failed: no chat here.
		 */
		frame.addEventListener("load", function () {
			setTimeout(function () {
				if (!ready)
					remove();
			}, 3000);
		});
		layout();
		if (phone.addEventListener)
			phone.addEventListener("change", layout);

		root.appendChild(frame);
		root.appendChild(button);
		(document.body || document.documentElement).appendChild(host);
		window.addEventListener("message", onMessage);
	}

	function post(msg) {
		if (frame.contentWindow)
			frame.contentWindow.postMessage(msg, BASE);
	}

	function setOpen(open, returnFocus) {
		isOpen = open;
		button.setAttribute("aria-expanded", open ? "true" : "false");
		css(frame, { display: open ? "block" : "none" });
		if (open) {
			frame.focus();
			post({ parley: "opened" });
		} else {
			post({ parley: "closed" });
			if (returnFocus)
				button.focus();
		}
	}

	/* This site may not use the widget: leave the page as it was. */
	function remove() {
		window.removeEventListener("message", onMessage);
		if (phone.removeEventListener)
			phone.removeEventListener("change", layout);
		if (host.parentNode)
			host.parentNode.removeChild(host);
	}

	/*
	 * Asks for a visitor session and hands it to the frame. The token
	 * goes nowhere else and is never logged.
	 */
	function session() {
		var body = { bot_key: bot };

		if (asking)
			return;
		asking = true;
		if (identity)
			body.identity = identity;
		fetch(BASE + "/api/v1/widget/sessions", {
			method: "POST",
			headers: { "Content-Type": "application/json" },
			body: JSON.stringify(body),
			credentials: "omit",
			cache: "no-store"
		}).then(function (res) {
			return res.json().catch(function () {
				return {};
			}).then(function (o) {
				if (res.status === 201 && typeof o.token === "string") {
					post({ parley: "session", token: o.token,
					    expires_in: o.expires_in,
					    visitor: o.visitor, chatbot: o.chatbot });
					return;
				}
				post({ parley: "session-error", status: res.status,
				    code: typeof o.code === "string" ? o.code : "" });
				if (res.status === 403 &&
				    o.code === "origin_not_allowed")
					remove();
			});
		}, function () {
			/* Offline, or refused without CORS headers. */
			post({ parley: "session-error", status: 0,
			    code: "network_error" });
		}).then(done, done);

		function done() {
			asking = false;
		}
	}

	function onMessage(ev) {
		var d = ev.data;

		if (ev.origin !== BASE || ev.source !== frame.contentWindow ||
		    !d || typeof d !== "object")
			return;
		if (d.parley === "ready" && !ready) {
			ready = true;
			css(button, { display: "flex" });
		} else if (d.parley === "need-session")
			session();
		else if (d.parley === "close" && isOpen)
			setOpen(false, true);
	}

	if (document.body)
		build();
	else
		document.addEventListener("DOMContentLoaded", build);
})();
