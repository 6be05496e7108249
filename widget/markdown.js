// markdown.js: the Markdown subset of bot and agent messages, rendered as
// DOM nodes, so text stays text: paragraphs (a blank line between), "- "
// and "1. " lists, "#" headings (shown as strong lines, never as page
// headings), **strong**, *emphasis*, `code`, and [links](https://...) to
// http(s) only, each shown with where it goes. Anything else, HTML
// included, is shown as the characters it is: nothing here writes HTML.
// One module for the widget (frame.html loads it before frame.js, which
// finds it as globalThis.parleyMarkdown) and the console (imported).

const INLINE = /(\*\*([^*\n]+)\*\*|\*([^*\s][^*\n]*)\*|`([^`\n]+)`|\[([^\]\n]{1,200})\]\((https?:\/\/[^\s)]{1,2000})\))/;

// The inline marks of one line, appended to 'parent'.
function inline(parent, text) {
	let rest = text;
	for (let guard = 0; rest && guard < 1000; guard++) {
		const m = INLINE.exec(rest);
		if (!m) break;
		if (m.index) parent.append(document.createTextNode(rest.slice(0, m.index)));
		let n;
		if (m[2] !== undefined) { n = document.createElement("strong"); n.textContent = m[2]; }
		else if (m[3] !== undefined) { n = document.createElement("em"); n.textContent = m[3]; }
		else if (m[4] !== undefined) { n = document.createElement("code"); n.textContent = m[4]; }
		else {
			n = document.createElement("a");
			n.textContent = m[5];
			n.href = m[6];
			n.rel = "noopener noreferrer nofollow";
			n.target = "_blank";
		}
		parent.append(n);
		// Where a link goes, unless its text says so already.
		if (n.nodeName === "A" && n.host && m[5].indexOf(n.host) < 0) {
			const d = document.createElement("span");
			d.className = "link-host";
			d.textContent = " (" + n.host + ")";
			parent.append(d);
		}
		rest = rest.slice(m.index + m[0].length);
	}
	if (rest) parent.append(document.createTextNode(rest));
}

// Text → a DocumentFragment of block elements.
export function renderMarkdown(text) {
	const out = document.createDocumentFragment();
	let list = null, para = null;
	for (const raw of String(text).split("\n")) {
		const line = raw.replace(/\s+$/, "");
		const item = line.match(/^\s*(?:[-*]|(\d{1,3})[.)])\s+(.*)$/);
		const head = line.match(/^#{1,6}\s+(.*)$/);
		if (line === "") { list = para = null; continue; }
		if (item) {
			const kind = item[1] ? "OL" : "UL";
			if (!list || list.nodeName !== kind) { list = document.createElement(kind); out.append(list); }
			const li = document.createElement("li");
			inline(li, item[2]);
			list.append(li);
			para = null;
		} else if (head) {
			const p = document.createElement("p");
			const s = document.createElement("strong");
			inline(s, head[1]);
			p.append(s);
			out.append(p);
			list = para = null;
		} else {
			if (!para) { para = document.createElement("p"); out.append(para); list = null; }
			else para.append(document.createElement("br"));
			inline(para, line);
		}
	}
	return out;
}

globalThis.parleyMarkdown = renderMarkdown;
