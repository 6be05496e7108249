/*
 * demo.js: adds the widget's embed tag to the demo page, with the bot key
 * that dev/up writes to bot.json ({"bot": "pk_..."}, optionally
 * "user_id", "user_email", "user_name", "user_hmac" for a verified
 * visitor), so the page itself stays static.
 */
(function () {
	"use strict";

	fetch("bot.json", { cache: "no-store" }).then(function (res) {
		if (!res.ok)
			throw new Error("bot.json: HTTP " + res.status);
		return res.json();
	}).then(function (o) {
		var s = document.createElement("script");

		if (!o || typeof o.bot !== "string")
			throw new Error("bot.json: no bot key");
		s.src = "/widget/parley.js";
		s.async = true;
		s.setAttribute("data-bot", o.bot);
		["user_id", "user_email", "user_name", "user_hmac"].forEach(
		    function (k) {
			if (typeof o[k] === "string")
				s.setAttribute("data-" + k.replace("_", "-"), o[k]);
		});
		document.body.appendChild(s);
	}).catch(function (e) {
		var p = document.createElement("p");

		p.textContent = "The chat could not be added (" + e.message +
		    "). Run dev/up to write widget/demo/bot.json.";
		document.querySelector("main").appendChild(p);
	});
})();
