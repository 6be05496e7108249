/*
 * text.c: plain text for the knowledge base and the prompt (see text.h).
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "text.h"
#include "unicode.h"
#include "util.h"

/*
 * Length of the valid UTF-8 sequence at 's' ('n' bytes available), or 0 if
 * it is invalid or cut short.
 */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	size_t k, i;

	if (n == 0)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		k = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		k = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		k = 4;
	else
		return 0;
	if (k > n)
		return 0;
	for (i = 1; i < k; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	/* Overlongs, surrogates and values past U+10FFFF. */
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
		return 0;
	return k;
}

static int
utf8_valid(const unsigned char *s, size_t n)
{
	size_t i, k;

	for (i = 0; i < n; i += k)
		if ((k = utf8_len(s + i, n - i)) == 0)
			return 0;
	return 1;
}

/* Whitespace between words, as text_chunks() sees it. */
static int
is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * A growing string of at most 'max' bytes (plus the NUL). Appending past
 * 'max' or out of memory sets 'err'; later appends do nothing.
 */
struct sbuf {
	char  *p;
	size_t len, cap, max;
	int    err;
};

static void
sb_add(struct sbuf *b, const char *s, size_t n)
{
	size_t ncap;
	char  *np;

	if (b->err)
		return;
	if (n > b->max - b->len) {
		b->err = 1;
		return;
	}
	if (b->len + n + 1 > b->cap) {
		ncap = b->cap ? b->cap : 256;
		while (ncap < b->len + n + 1)
			ncap *= 2;
		if (ncap > b->max + 1)
			ncap = b->max + 1;
		if ((np = realloc(b->p, ncap)) == NULL) {
			b->err = 1;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/*
 * HTML to text. The writer owes line breaks and separators and writes
 * them only in front of the next visible character, so blank elements
 * leave nothing behind and the text never starts or ends with whitespace.
 */
enum ekind {
	E_INLINE, /* text flows through */
	E_SKIP, /* dropped with everything inside */
	E_HEAD, /* dropped, but its <title> is reported */
	E_TITLE, /* reported, not part of the text */
	E_LINE, /* own line */
	E_PARA, /* own paragraph */
	E_LIST, /* ul, ol: paragraph at the top, line when nested */
	E_ITEM, /* li: own line with "- " */
	E_HEADING, /* h1-h6: paragraph with "# " */
	E_PRE, /* paragraph, whitespace kept */
	E_BR, /* line break */
	E_CELL /* td, th: " | " between cells */
};

/* Sorted by name, for bsearch(). */
static const struct element {
	const char *name;
	enum ekind  kind;
} elements[] = {
	{ "a", E_INLINE },
	{ "address", E_PARA },
	{ "applet", E_SKIP },
	{ "article", E_PARA },
	{ "aside", E_PARA },
	{ "audio", E_SKIP },
	{ "blockquote", E_PARA },
	{ "body", E_INLINE },
	{ "br", E_BR },
	{ "canvas", E_SKIP },
	{ "caption", E_LINE },
	{ "center", E_LINE },
	{ "datalist", E_SKIP },
	{ "dd", E_LINE },
	{ "details", E_PARA },
	{ "dialog", E_PARA },
	{ "dir", E_LIST },
	{ "div", E_LINE },
	{ "dl", E_PARA },
	{ "dt", E_LINE },
	{ "embed", E_SKIP },
	{ "fieldset", E_PARA },
	{ "figcaption", E_LINE },
	{ "figure", E_PARA },
	{ "footer", E_PARA },
	{ "form", E_PARA },
	{ "frame", E_SKIP },
	{ "frameset", E_SKIP },
	{ "h1", E_HEADING },
	{ "h2", E_HEADING },
	{ "h3", E_HEADING },
	{ "h4", E_HEADING },
	{ "h5", E_HEADING },
	{ "h6", E_HEADING },
	{ "head", E_HEAD },
	{ "header", E_PARA },
	{ "hgroup", E_PARA },
	{ "hr", E_PARA },
	{ "iframe", E_SKIP },
	{ "legend", E_LINE },
	{ "li", E_ITEM },
	{ "listing", E_PRE },
	{ "main", E_PARA },
	{ "math", E_SKIP },
	{ "menu", E_LIST },
	{ "nav", E_PARA },
	{ "noembed", E_SKIP },
	{ "noframes", E_SKIP },
	{ "noscript", E_SKIP },
	{ "object", E_SKIP },
	{ "ol", E_LIST },
	{ "p", E_PARA },
	{ "plaintext", E_PRE },
	{ "pre", E_PRE },
	{ "script", E_SKIP },
	{ "section", E_PARA },
	{ "select", E_SKIP },
	{ "style", E_SKIP },
	{ "summary", E_LINE },
	{ "svg", E_SKIP },
	{ "table", E_PARA },
	{ "td", E_CELL },
	{ "template", E_SKIP },
	{ "textarea", E_SKIP },
	{ "th", E_CELL },
	{ "title", E_TITLE },
	{ "tr", E_LINE },
	{ "ul", E_LIST },
	{ "video", E_SKIP },
	{ "xmp", E_PRE },
};

#define HW_MAX_WS 64 /* whitespace kept in a row inside pre */
#define HW_MAX_INDENT 8 /* list levels shown by indentation */

struct hw {
	struct sbuf b;
	int	    nl; /* newlines owed, 0-2 */
	const char *sep; /* owed between words: " ", " | " or NULL */
	char	    prefix[2 * HW_MAX_INDENT + 8]; /* owed at line start */
	char	    ws[HW_MAX_WS]; /* whitespace owed inside pre */
	size_t	    nws;
	int	    pre, heading, lists; /* depths */
};

static int
element_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct element *)elem)->name);
}

static enum ekind
classify(const xmlNode *n)
{
	const struct element *e;

	e = bsearch(n->name, elements, sizeof(elements) / sizeof(elements[0]),
	    sizeof(elements[0]), element_cmp);
	return e != NULL ? e->kind : E_INLINE;
}

/* Whether a CSS declaration, lower case without spaces, hides. */
static int
hiding(const char *decl)
{
	return strcmp(decl, "display:none") == 0 ||
	    strcmp(decl, "display:none!important") == 0 ||
	    strcmp(decl, "visibility:hidden") == 0 ||
	    strcmp(decl, "visibility:hidden!important") == 0;
}

/*
 * Whether the element 'n' is marked as not displayed: the hidden
 * attribute, aria-hidden="true" or an inline style that hides it. Classes
 * and style sheets are not looked at.
 */
static int
hidden(xmlNode *n)
{
	xmlChar *v;
	char	 decl[64];
	size_t	 i, o = 0;
	int	 rc = 0;

	if (xmlHasProp(n, (const xmlChar *)"hidden") != NULL)
		return 1;
	if ((v = xmlGetProp(n, (const xmlChar *)"aria-hidden")) != NULL) {
		rc = strcmp((const char *)v, "true") == 0;
		xmlFree(v);
		if (rc)
			return 1;
	}
	if ((v = xmlGetProp(n, (const xmlChar *)"style")) == NULL)
		return 0;
	/* Declaration by declaration, so "Display : none" hides. */
	for (i = 0; !rc; i++) {
		if (v[i] == ';' || v[i] == '\0') {
			decl[o] = '\0';
			rc = hiding(decl);
			o = 0;
			if (v[i] == '\0')
				break;
		} else if (v[i] != ' ' && v[i] != '\t' && v[i] != '\n' &&
		    v[i] != '\r' && o + 1 < sizeof(decl))
			decl[o++] =
			    (char)((v[i] >= 'A' && v[i] <= 'Z') ? v[i] + 32
								: v[i]);
	}
	xmlFree(v);
	return rc;
}

/* Owes at least 'n' newlines; what was owed on the line is dropped. */
static void
hw_break(struct hw *hw, int n)
{
	if (hw->nl < n)
		hw->nl = n;
	hw->sep = NULL;
	hw->nws = 0;
}

/* A break inside a heading only separates words. */
static void
hw_soft_break(struct hw *hw, int n)
{
	if (hw->heading > 0 && hw->pre == 0) {
		if (hw->sep == NULL)
			hw->sep = " ";
	} else
		hw_break(hw, n);
}

static int
hw_at_bol(const struct hw *hw)
{
	return hw->b.len == 0 || hw->nl > 0 || hw->b.p[hw->b.len - 1] == '\n';
}

/* Writes one visible character after what is owed. */
static void
hw_put(struct hw *hw, const char *s, size_t n)
{
	static const char nls[] = "\n\n";

	if (hw_at_bol(hw)) {
		if (hw->b.len > 0 && hw->nl > 0)
			sb_add(&hw->b, nls, (size_t)hw->nl);
		sb_add(&hw->b, hw->prefix, strlen(hw->prefix));
	} else if (hw->sep != NULL)
		sb_add(&hw->b, hw->sep, strlen(hw->sep));
	sb_add(&hw->b, hw->ws, hw->nws);
	hw->nl = 0;
	hw->sep = NULL;
	hw->nws = 0;
	hw->prefix[0] = '\0';
	sb_add(&hw->b, s, n);
}

static void
hw_text(struct hw *hw, const unsigned char *s)
{
	static const char fffd[] = "\xef\xbf\xbd";
	size_t		  n = strlen((const char *)s), i, k;
	unsigned char	  c;

	for (i = 0; i < n; i += k) {
		c = s[i];
		if ((k = utf8_len(s + i, n - i)) == 0) {
			k = 1;
			hw_put(hw, fffd, 3);
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
		    c == '\f' || c == '\v' ||
		    (k == 2 && c == 0xc2 && s[i + 1] == 0xa0)) {
			if (hw->pre == 0) {
				if (hw->sep == NULL && !hw_at_bol(hw))
					hw->sep = " ";
			} else if (c == '\n') {
				/* Blank lines inside pre count too. */
				hw_break(hw, hw->nl < 2 ? hw->nl + 1 : 2);
			} else if (c != '\r' && hw->nws < sizeof(hw->ws))
				hw->ws[hw->nws++] = c == '\t' ? '\t' : ' ';
			continue;
		}
		/* C0, DEL and C1 controls. */
		if (c < 0x20 || c == 0x7f || (c == 0xc2 && s[i + 1] < 0xa0))
			continue;
		hw_put(hw, (const char *)s + i, k);
	}
}

static void
hw_enter(struct hw *hw, const xmlNode *n, enum ekind kind)
{
	int lvl, i;

	switch (kind) {
	case E_LINE: hw_soft_break(hw, 1); break;
	case E_PARA: hw_soft_break(hw, 2); break;
	case E_BR: hw_soft_break(hw, 1); break;
	case E_PRE:
		hw_break(hw, 2);
		hw->pre++;
		break;
	case E_LIST:
		hw_break(hw, hw->lists > 0 ? 1 : 2);
		hw->lists++;
		break;
	case E_ITEM:
		hw_break(hw, 1);
		lvl = hw->lists > 0 ? hw->lists - 1 : 0;
		if (lvl > HW_MAX_INDENT)
			lvl = HW_MAX_INDENT;
		for (i = 0; i < 2 * lvl; i++)
			hw->prefix[i] = ' ';
		hw->prefix[i++] = '-';
		hw->prefix[i++] = ' ';
		hw->prefix[i] = '\0';
		break;
	case E_HEADING:
		hw_break(hw, 2);
		lvl = n->name[1] - '0';
		for (i = 0; i < lvl; i++)
			hw->prefix[i] = '#';
		hw->prefix[i++] = ' ';
		hw->prefix[i] = '\0';
		hw->heading++;
		break;
	case E_CELL:
		if (!hw_at_bol(hw))
			hw->sep = " | ";
		break;
	default: break;
	}
}

static void
hw_leave(struct hw *hw, enum ekind kind)
{
	switch (kind) {
	case E_LINE: hw_soft_break(hw, 1); break;
	case E_PARA: hw_soft_break(hw, 2); break;
	case E_PRE:
		hw->pre--;
		hw_break(hw, 2);
		break;
	case E_LIST:
		hw->lists--;
		hw_break(hw, hw->lists > 0 ? 1 : 2);
		break;
	case E_ITEM:
		hw->prefix[0] = '\0';
		hw_break(hw, 1);
		break;
	case E_HEADING:
		hw->heading--;
		hw->prefix[0] = '\0';
		hw_break(hw, 2);
		break;
	default: break;
	}
}

/*
 * Returns the text of the element 'n' with whitespace collapsed, controls
 * dropped, at most TEXT_MAX_TITLE bytes cut at a character boundary, or
 * NULL if it is blank. A new string; caller frees with free().
 */
static char *
title_text(xmlNode *n)
{
	xmlChar		    *v;
	const unsigned char *s;
	char		    *out = NULL;
	size_t		     len, i, k, o = 0;
	int		     space = 0;

	if ((v = xmlNodeGetContent(n)) == NULL)
		return NULL;
	if ((out = malloc(TEXT_MAX_TITLE + 1)) == NULL)
		goto out;
	s = v;
	len = strlen((const char *)s);
	for (i = 0; i < len; i += k) {
		if ((k = utf8_len(s + i, len - i)) == 0) {
			k = 1;
			continue;
		}
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' ||
		    s[i] == '\r' || s[i] == '\f' ||
		    (k == 2 && s[i] == 0xc2 && s[i + 1] == 0xa0)) {
			space = o > 0;
			continue;
		}
		if (s[i] < 0x20 || s[i] == 0x7f ||
		    (s[i] == 0xc2 && s[i + 1] < 0xa0))
			continue;
		if (o + space + k > TEXT_MAX_TITLE)
			break;
		if (space)
			out[o++] = ' ';
		space = 0;
		memcpy(out + o, s + i, k);
		o += k;
	}
	out[o] = '\0';
	if (o == 0) {
		free(out);
		out = NULL;
	}
out:
	xmlFree(v);
	return out;
}

/* The first <title> under 'head', or NULL. Iterative. */
static xmlNode *
find_title(xmlNode *head)
{
	xmlNode *n = head->children;
	int	 depth = 0;

	while (n != NULL) {
		if (n->type == XML_ELEMENT_NODE &&
		    strcmp((const char *)n->name, "title") == 0)
			return n;
		if (n->type == XML_ELEMENT_NODE && n->children != NULL) {
			n = n->children;
			depth++;
			continue;
		}
		while (n->next == NULL && depth > 0) {
			n = n->parent;
			depth--;
		}
		n = n->next;
	}
	return NULL;
}

/*
 * Walks the tree without recursion (the depth of a document is not ours
 * to trust), writing text into 'hw' and the first title into '*title'.
 */
static void
walk(struct hw *hw, xmlDoc *doc, char **title)
{
	xmlNode	  *n = doc->children, *t;
	enum ekind kind;
	int	   depth = 0, down;

	while (n != NULL && !hw->b.err) {
		down = 0;
		if (n->type == XML_ELEMENT_NODE) {
			kind = classify(n);
			if (kind == E_HEAD) {
				if (*title == NULL &&
				    (t = find_title(n)) != NULL)
					*title = title_text(t);
			} else if (kind == E_TITLE) {
				if (*title == NULL)
					*title = title_text(n);
			} else if (kind != E_SKIP && !hidden(n)) {
				hw_enter(hw, n, kind);
				if (n->children != NULL)
					down = 1;
				else
					hw_leave(hw, kind);
			}
		} else if (n->type == XML_TEXT_NODE && n->content != NULL)
			hw_text(hw, n->content);
		if (down) {
			n = n->children;
			depth++;
			continue;
		}
		while (n->next == NULL && depth > 0) {
			n = n->parent;
			depth--;
			hw_leave(hw, classify(n));
		}
		n = n->next;
	}
}

/*
 * Says nothing. HTML_PARSE_NOERROR does not cover encoding errors, which
 * libxml2 reports through its generic handler (stderr by default), so a
 * page with a false <meta charset> could fill our log.
 */
static void
quiet(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

/*
 * Parses with libxml2's error handlers silenced, restoring the calling
 * thread's handlers afterwards (libxml2 keeps them per thread).
 */
static xmlDoc *
parse_quietly(const char *html, size_t len)
{
	xmlGenericErrorFunc    gen = xmlGenericError;
	void		      *genctx = xmlGenericErrorContext;
	xmlStructuredErrorFunc st = xmlStructuredError;
	void		      *stctx = xmlStructuredErrorContext;
	xmlDoc		      *doc;

	xmlSetGenericErrorFunc(NULL, quiet);
	xmlSetStructuredErrorFunc(NULL, NULL);
	/* TEXT_MAX_LEN is well below INT_MAX. */
	/*
	 * Text that is valid UTF-8 throughout is read as UTF-8 whatever a
	 * <meta charset> claims (documents reach us through JSON, which is
	 * UTF-8); other bytes are left to libxml2's detection.
	 */
	doc = htmlReadMemory(html, (int)len, NULL,
	    utf8_valid((const unsigned char *)html, len) ? "UTF-8" : NULL,
	    HTML_PARSE_NONET | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
		HTML_PARSE_RECOVER);
	xmlSetGenericErrorFunc(genctx, gen);
	xmlSetStructuredErrorFunc(stctx, st);
	return doc;
}

char *
text_from_html(const char *html, size_t len, char **title_out)
{
	xmlDoc	 *doc = NULL;
	struct hw hw;
	char	 *title = NULL, *rc = NULL;
	size_t	  i;

	memset(&hw, 0, sizeof(hw));
	hw.b.max = TEXT_MAX_LEN;
	if (title_out != NULL)
		*title_out = NULL;
	if (html == NULL || len > TEXT_MAX_LEN)
		goto out;
	if ((doc = parse_quietly(html, len)) == NULL) {
		/* libxml2 gives no document for blank input. */
		for (i = 0; i < len; i++)
			if (!is_ws((unsigned char)html[i]))
				goto out;
		rc = strdup("");
		goto out;
	}
	walk(&hw, doc, &title);
	if (hw.b.err)
		goto out;
	if (hw.b.p == NULL)
		rc = strdup("");
	else {
		rc = hw.b.p;
		hw.b.p = NULL;
	}
	if (rc != NULL && title_out != NULL) {
		*title_out = title;
		title = NULL;
	}
out:
	xmlFreeDoc(doc);
	free(hw.b.p);
	free(title);
	return rc;
}

char *
text_normalize(const char *in, size_t len)
{
	const unsigned char *s = (const unsigned char *)in;
	char		    *out;
	size_t		     i = 0, k, o = 0, keep = 0;
	int		     nls = 0;

	if (in == NULL || len > TEXT_MAX_LEN || !utf8_valid(s, len))
		return NULL;
	if ((out = malloc(len + 1)) == NULL)
		return NULL;
	if (len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	/*
	 * 'keep' is the length to keep if the line ended here: up to its
	 * last character that is not a space or tab.
	 */
	for (; i < len; i += k) {
		k = utf8_len(s + i, len - i);
		if (s[i] == '\r' || s[i] == '\n') {
			if (s[i] == '\r' && i + 1 < len && s[i + 1] == '\n')
				k = 2;
			o = keep;
			if (o == 0)
				continue;
			if (nls < 2) {
				out[o++] = '\n';
				nls++;
			}
			keep = o;
			continue;
		}
		if (k == 1 && ((s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f))
			continue;
		if (k == 2 && s[i] == 0xc2 && s[i + 1] < 0xa0)
			continue;
		memcpy(out + o, s + i, k);
		o += k;
		if (s[i] != ' ' && s[i] != '\t') {
			keep = o;
			nls = 0;
		}
	}
	o = keep;
	while (o > 0 && out[o - 1] == '\n')
		o--;
	out[o] = '\0';
	return out;
}

/* The tags the prompt wraps untrusted text in (src/bot.c). */
static const char *const wrapper_tags[] = { "untrusted_document" };

/* Characters skipped between a bracket and the tag name, at most. */
#define NEUT_SKIP_MAX 8

/* The start of the code point that ends before s[i] (i > 0). */
static size_t
utf8_back(const char *s, size_t i)
{
	size_t k = i - 1;

	while (k > 0 && i - k < 4 && ((unsigned char)s[k] & 0xc0) == 0x80)
		k--;
	return k;
}

/* Whether what a character reads as ('as', 'n' long) sits unseen in a tag. */
static int
skippable(const char *as, int n)
{
	return n == 0 ||
	    (n == 1 && (as[0] == ' ' || as[0] == '\t' || as[0] == '\n'));
}

/*
 * Whether an opening bracket before s[i] would open a wrapper tag: what
 * follows reads as an optional '/' and a wrapper tag's name, however it
 * is spelt (look-alike letters, "ﬀ" for "ff", invisible characters,
 * spaces).
 */
static int
opens_wrapper(const char *s, size_t len, size_t i)
{
	size_t t, k, n, skip, nl;
	char   as[4];
	int    r;

	for (t = 0; t < nitems(wrapper_tags); t++) {
		const char *name = wrapper_tags[t];
		size_t	    j = i;
		int	    slash = 0;

		nl = strlen(name);
		for (k = 0, skip = 0; k < nl && j < len; j += n) {
			r = uc_reads(uc_decode(s, len, j, &n), as);
			if (r > 0 && (size_t)r <= nl - k &&
			    memcmp(name + k, as, (size_t)r) == 0)
				k += (size_t)r;
			else if (k == 0 && r == 1 && as[0] == '/' && !slash)
				slash = 1;
			else if (r < 0 || !skippable(as, r) ||
			    ++skip > NEUT_SKIP_MAX)
				break;
		}
		if (k == nl)
			return 1;
	}
	return 0;
}

/* Whether a closing bracket at s[i] would close a wrapper tag's name. */
static int
closes_wrapper(const char *s, size_t len, size_t i)
{
	size_t t, k, n, skip;
	char   as[4];
	int    r;

	for (t = 0; t < nitems(wrapper_tags); t++) {
		const char *name = wrapper_tags[t];
		size_t	    j = i;

		k = strlen(name);
		for (skip = 0; k > 0 && j > 0;) {
			j = utf8_back(s, j);
			r = uc_reads(uc_decode(s, len, j, &n), as);
			if (r > 0 && (size_t)r <= k &&
			    memcmp(name + k - (size_t)r, as, (size_t)r) == 0)
				k -= (size_t)r;
			else if (r < 0 || !skippable(as, r) ||
			    ++skip > NEUT_SKIP_MAX)
				break;
		}
		if (k == 0)
			return 1;
	}
	return 0;
}

char *
text_neutralise(const char *in)
{
	size_t i, n, len, o = 0;
	char  *out;

	if (in == NULL)
		return NULL;
	len = strlen(in);
	/* Each replaced character becomes at most 4 bytes: '<' grows most. */
	if (len > TEXT_MAX_LEN / 4)
		return NULL;
	if ((out = malloc(4 * len + 1)) == NULL)
		return NULL;
	for (i = 0; i < len; i += n) {
		unsigned int cp = uc_decode(in, len, i, &n);
		const char  *rep = NULL;
		int	     r = -1;

		if (cp == '<')
			rep = "&lt;";
		else if (cp == '>')
			rep = "&gt;";
		else if (cp >= 0x80 && (r = uc_reads_as(cp)) == '<' &&
		    opens_wrapper(in, len, i + n))
			rep = "&lt;";
		else if (cp >= 0x80 && r == '>' && closes_wrapper(in, len, i))
			rep = "&gt;";
		if (rep != NULL) {
			memcpy(out + o, rep, 4);
			o += 4;
		} else {
			memcpy(out + o, in + i, n);
			o += n;
		}
	}
	out[o] = '\0';
	return out;
}

/*
 * Chunking. Units (paragraphs and heading lines) come in order and are
 * packed into 'cur', at most 'max' bytes; a full chunk is emitted.
 */
struct chunker {
	text_chunk_fn emit; /* NULL: only count */
	void	     *arg;
	size_t	      target, max;
	char	     *cur; /* 'cap' + 1 bytes */
	size_t	      len, cap;
	int	      headings; /* 'cur' holds only headings */
	int	      count;
};

static int
ck_flush(struct chunker *ck)
{
	if (ck->len == 0)
		return 0;
	if (++ck->count > TEXT_MAX_CHUNKS)
		return -1;
	ck->cur[ck->len] = '\0';
	if (ck->emit != NULL && ck->emit(ck->arg, ck->cur, ck->len) != 0)
		return -1;
	ck->len = 0;
	ck->headings = 0;
	return 0;
}

/* Appends 'n' bytes at 'p' after a blank line if 'cur' is not empty. */
static int
ck_add(struct chunker *ck, const char *p, size_t n, int heading)
{
	size_t need = n + (ck->len > 0 ? 2 : 0);

	if (need > ck->cap - ck->len)
		return -1;
	if (ck->len > 0) {
		ck->cur[ck->len++] = '\n';
		ck->cur[ck->len++] = '\n';
	} else
		ck->headings = heading;
	if (!heading)
		ck->headings = 0;
	memcpy(ck->cur + ck->len, p, n);
	ck->len += n;
	return 0;
}

/*
 * Where to cut the paragraph 'p' ('n' bytes, more than 'lim'; starts and
 * ends with non-whitespace). Returns the length of the piece (trailing
 * whitespace left out) and sets '*next' to where the rest begins.
 */
static size_t
find_cut(const char *p, size_t n, size_t lim, size_t *next)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t		     i, cut = 0, sentence = 0, space = 0;

	for (i = 0; i < lim; i++) {
		if ((s[i] == '.' || s[i] == '?' || s[i] == '!') && i + 1 < n &&
		    is_ws(s[i + 1]) && i + 1 >= lim / 2)
			sentence = i + 1;
		if (s[i] == 0xe3 && i + 3 <= lim && s[i + 1] == 0x80 &&
		    s[i + 2] == 0x82 && i + 3 >= lim / 2)
			sentence = i + 3; /* U+3002 */
		if (s[i] == 0xef && i + 3 <= lim && s[i + 1] == 0xbc &&
		    (s[i + 2] == 0x81 || s[i + 2] == 0x9f) && i + 3 >= lim / 2)
			sentence = i + 3; /* U+FF01, U+FF1F */
		if (i > 0 && is_ws(s[i]))
			space = i;
	}
	if (is_ws(s[lim]))
		space = lim;
	if (sentence > 0)
		cut = sentence;
	else if (space > 0)
		cut = space;
	else {
		cut = lim;
		while (cut > 0 && (s[cut] & 0xc0) == 0x80)
			cut--;
	}
	*next = cut;
	while (*next < n && is_ws(s[*next]))
		(*next)++;
	while (cut > 0 && is_ws(s[cut - 1]))
		cut--;
	return cut;
}

static int
ck_body(struct chunker *ck, const char *p, size_t n)
{
	size_t lim, piece, next;

	if (ck->len > 0) {
		lim = ck->headings ? ck->max : ck->target;
		if (ck->len + 2 + n <= lim)
			return ck_add(ck, p, n, 0);
		if (!ck->headings && ck_flush(ck) == -1)
			return -1;
	}
	if (n <= ck->max) {
		if (ck_flush(ck) == -1)
			return -1;
		return ck_add(ck, p, n, 0);
	}
	while (n > ck->max) {
		lim = ck->target;
		if (ck->len > 0) {
			/* Headings only: the first piece goes below them. */
			if (ck->len + 2 + ck->target / 2 <= ck->max) {
				if (lim > ck->max - ck->len - 2)
					lim = ck->max - ck->len - 2;
			} else if (ck_flush(ck) == -1)
				return -1;
		}
		piece = find_cut(p, n, lim, &next);
		if (ck_add(ck, p, piece, 0) == -1 || ck_flush(ck) == -1)
			return -1;
		p += next;
		n -= next;
	}
	return n > 0 ? ck_add(ck, p, n, 0) : 0;
}

static int
ck_heading(struct chunker *ck, const char *p, size_t n)
{
	if (n > ck->max)
		return ck_body(ck, p, n);
	if (ck->len > 0 && (!ck->headings || ck->len + 2 + n > ck->max) &&
	    ck_flush(ck) == -1)
		return -1;
	return ck_add(ck, p, n, 1);
}

/* "# text": 0-3 spaces, 1-6 '#', a space or tab, something visible. */
static int
is_heading(const char *s, size_t n)
{
	size_t i = 0, h;

	while (i < n && i < 3 && s[i] == ' ')
		i++;
	for (h = 0; i < n && s[i] == '#'; i++)
		h++;
	if (h < 1 || h > 6 || i >= n || (s[i] != ' ' && s[i] != '\t'))
		return 0;
	for (; i < n; i++)
		if (!is_ws((unsigned char)s[i]))
			return 1;
	return 0;
}

static int
is_fence(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && i < 3 && s[i] == ' ')
		i++;
	return n - i >= 3 &&
	    (memcmp(s + i, "```", 3) == 0 || memcmp(s + i, "~~~", 3) == 0);
}

static int
chunk_pass(struct chunker *ck, const char *text, size_t n)
{
	const char *eol;
	size_t	    i = 0, end, ls, le, ps = 0, pe = 0;
	int	    para = 0, fence = 0, rc;

	while (i < n) {
		eol = memchr(text + i, '\n', n - i);
		end = eol != NULL ? (size_t)(eol - text) : n;
		for (ls = i; ls < end && is_ws((unsigned char)text[ls]); ls++)
			;
		for (le = end; le > ls && is_ws((unsigned char)text[le - 1]);
		     le--)
			;
		rc = 0;
		if (ls == le) {
			if (para)
				rc = ck_body(ck, text + ps, pe - ps);
			para = 0;
		} else if (!fence && is_heading(text + i, end - i)) {
			if (para)
				rc = ck_body(ck, text + ps, pe - ps);
			para = 0;
			if (rc == 0)
				rc = ck_heading(ck, text + ls, le - ls);
		} else {
			if (is_fence(text + i, end - i))
				fence = !fence;
			if (!para)
				ps = ls;
			pe = le;
			para = 1;
		}
		if (rc == -1)
			return -1;
		i = end + 1;
	}
	if (para && ck_body(ck, text + ps, pe - ps) == -1)
		return -1;
	return ck_flush(ck);
}

int
text_chunks(
    const char *text, size_t target, size_t max, text_chunk_fn emit, void *arg)
{
	struct chunker ck;
	size_t	       n;
	int	       rc = -1;

	memset(&ck, 0, sizeof(ck));
	if (text == NULL || emit == NULL || target < TEXT_CHUNK_MIN ||
	    target > max)
		return -1;
	n = strlen(text);
	if (n > TEXT_MAX_LEN || !utf8_valid((const unsigned char *)text, n))
		return -1;
	/* A chunk is never longer than the text plus one byte a join. */
	ck.cap = max < 2 * n + 2 ? max : 2 * n + 2;
	if ((ck.cur = malloc(ck.cap + 1)) == NULL)
		return -1;
	ck.target = target;
	ck.max = max;
	/* Count first, so that nothing is emitted for a text with too many. */
	if (chunk_pass(&ck, text, n) == -1)
		goto out;
	ck.count = 0;
	ck.len = 0;
	ck.headings = 0;
	ck.emit = emit;
	ck.arg = arg;
	if (chunk_pass(&ck, text, n) == -1)
		goto out;
	rc = ck.count;
out:
	free(ck.cur);
	return rc;
}
