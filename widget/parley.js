/* parley widget loader. The chat itself arrives with the widget work;
 * for now the loader only announces itself, and does nothing on the page. */
(function () {
	"use strict";
	var s = document.currentScript;
	if (s && s.dataset) {
		s.dataset.parleyLoaded = "1";
	}
})();
