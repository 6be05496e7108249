/*
 * Unit tests: robots.txt as the knowledge-base fetcher reads it
 * (src/kb_fetch.c, RFC 9309 with Google's '*' and '$') and what a file is
 * (src/kb_extract.c: PDF and DOCX by their bytes, never their name).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "kb_extract.h"
#include "kb_fetch.h"
#include "tap.h"
#include "util.h"

static const char robots[] = "# a shop\n"
			     "User-agent: *\n"
			     "Disallow: /private/\n"
			     "Disallow: /*.pdf$\n"
			     "Allow: /private/faq\n"
			     "\n"
			     "User-agent: BadBot\n"
			     "Disallow: /\n"
			     "\n"
			     "User-agent: parley\n"
			     "User-agent: other\n"
			     "Disallow: /drafts\n"
			     "Allow: /drafts/public # open\n";

static const struct {
	const char *text, *agent, *path;
	int	    allowed;
} cases[] = {
	{ "User-agent: *\nDisallow: /private/\n", "parley", "/help", 1 },
	{ "User-agent: *\nDisallow: /private/\n", "parley", "/private/x", 0 },
	{ "User-agent: *\nDisallow: /private/\n", "parley", "/privately", 1 },
	{ "User-agent: *\nDisallow: /*.pdf$\n", "parley", "/a/b.pdf", 0 },
	{ "User-agent: *\nDisallow: /*.pdf$\n", "parley", "/a/b.pdf?x=1", 1 },
	{ "User-agent: *\nDisallow: /private/\nAllow: /private/faq\n", "parley",
	    "/private/faq/1", 1 },
	{ "User-agent: *\nDisallow:\n", "parley", "/anything", 1 },
	{ "User-agent: *\nDisallow: /\n", "parley", "/", 0 },
	{ "", "parley", "/", 1 },
	{ "garbage without colons\n", "parley", "/", 1 },
	{ "User-Agent: *\r\nDISALLOW: /x\r\n", "parley", "/x/y", 0 },
	/* Its own group wins over '*', whatever '*' says. */
	{ robots, "parley", "/private/x", 1 },
	{ robots, "parley", "/drafts/1", 0 },
	{ robots, "parley", "/drafts/public/1", 1 },
	{ robots, "someone", "/private/x", 0 },
	{ robots, "someone", "/private/faq", 1 },
	{ robots, "someone", "/doc.pdf", 0 },
	{ robots, "badbot", "/help", 0 },
	/* Equal lengths: Allow wins. */
	{ "User-agent: *\nDisallow: /page\nAllow: /page\n", "parley", "/page",
	    1 },
};

int
main(void)
{
	size_t i;

	{
		/* A rule that would take a backtracking matcher's stack or
		 * years, against a long path: answered at once. */
		static char rule[4096], path[2100];
		size_t	    k = 0;

		k += (size_t)snprintf(
		    rule, sizeof(rule), "User-agent: *\nDisallow: /");
		while (k < 1800)
			k += (size_t)snprintf(rule + k, sizeof(rule) - k, "*a");
		snprintf(rule + k, sizeof(rule) - k, "*b\n");
		path[0] = '/';
		memset(path + 1, 'a', 2000);
		path[2001] = '\0';
		tap_is_int(kb_robots_allowed(rule, "parley", path), 1,
		    "robots: 900 wildcards against a 2000-byte path");
		memset(rule, 0, sizeof(rule));
		k = (size_t)snprintf(
		    rule, sizeof(rule), "User-agent: *\nDisallow: /");
		memset(rule + k, '*', 3000);
		snprintf(rule + k + 3000, sizeof(rule) - k - 3000, "\n");
		tap_is_int(kb_robots_allowed(rule, "parley", "/x"), 1,
		    "robots: a rule over 2 KiB is no rule");
	}
	for (i = 0; i < nitems(cases); i++)
		tap_is_int(kb_robots_allowed(
			       cases[i].text, cases[i].agent, cases[i].path),
		    cases[i].allowed, "robots: %s %s (%s)", cases[i].agent,
		    cases[i].path, i < 11 ? "one group" : "the shop's");
#define B(s) (const unsigned char *)(s), sizeof(s) - 1
	tap_is_str(kb_type_of(B("%PDF-1.7\n"), "text/html"), KB_TYPE_PDF,
	    "a PDF sent as HTML is a PDF");
	tap_is_str(
	    kb_type_of(B("PK\003\004....word/document.xml"), "application/zip"),
	    KB_TYPE_DOCX, "a zip holding word/document.xml is a DOCX");
	tap_ok(kb_type_of(B("PK\003\004....other.xml"), KB_TYPE_DOCX) == NULL,
	    "a zip without it is nothing, whatever it says");
	tap_ok(kb_type_of(B("\211PNG\r\n\032\n\0\0"), "text/plain") == NULL,
	    "binary bytes are no text");
	tap_is_str(kb_type_of(B("  <html>"), NULL), "text/html",
	    "no type said: HTML when it looks like it");
	tap_is_str(kb_type_of(B("hello"), "text/markdown; charset=utf-8"),
	    "text/markdown", "Markdown as declared");
	tap_ok(kb_type_of(B("hello"), "image/png") == NULL,
	    "a type parley does not read: none");
	return tap_done();
}
