/*
 * guard.c: checks on an AI reply before it reaches a visitor (see guard.h).
 *
 * The reply is scanned once, byte by byte, as it grows: a KMP automaton
 * for the canary, a rolling hash over the last GUARD_NGRAM normalised
 * bytes looked up in the sorted hashes of the prompt's windows (a hit is
 * confirmed with memcmp), and a small state machine over characters for
 * links. A link is judged as soon as its host is known (and, for an
 * allowed URL, its end); until then it is held back.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"
#include "unicode.h"

#define HASH_P 0x1fffffffffffffffULL /* 2^61 - 1 */
#define HASH_B 0x16a09e667f3bcc9ULL
#define CP_BAD 0xffffffffU /* an invalid UTF-8 sequence */
#define NOWHERE ((size_t)-1)

struct gram {
	uint64_t	     h;
	const unsigned char *w; /* into 'prompt' */
};

enum uphase {
	U_NONE, /* not in a link */
	U_MD, /* after "](", before the target's kind is known */
	U_SLASH, /* after "http:" or "https:", in the slashes */
	U_AUTH, /* in the authority */
	U_PATH /* host not allowed: waiting for the end of the URL */
};

struct guard {
	size_t max_len;

	unsigned char *canary; /* as it reads (unicode.h) */
	size_t	      *kmp;
	size_t	       clen;
	size_t	      *cring; /* raw offsets of the last 'clen' characters */
	size_t	       cfed; /* characters fed to the canary automaton */

	unsigned char *prompt; /* normalised */
	struct gram   *grams; /* sorted, no duplicates */
	size_t	       ngrams, win;
	uint64_t       bw; /* HASH_B^win */

	char  **hosts; /* lower case, no trailing dot */
	size_t *hostlen;
	size_t	nhosts;
	char  **urls;
	size_t *urllen, *urlauth; /* length; case-insensitive prefix */
	size_t	nurls, urlmax;

	/* State. */
	size_t	    pos; /* bytes scanned */
	const char *fail;
	size_t	    fail_at; /* where the failing text starts */
	int	    done; /* the final check passed */
	int	    nonspace; /* saw something visible */

	size_t q; /* canary characters matched */

	uint64_t      h;
	size_t	      ncount; /* normalised bytes */
	int	      space; /* last normalised byte was a space */
	unsigned char ring[GUARD_NGRAM];
	size_t	      ringpos[GUARD_NGRAM]; /* raw offsets */

	uint32_t cp; /* UTF-8 character being assembled */
	int	 need;
	size_t	 cpstart;
	uint32_t prev; /* previous character */

	enum uphase ph;
	int	    md; /* the link is a Markdown target */
	int	    special; /* http or https: "https:host" has a host too */
	int	    mdlt; /* target opened with '<' */
	int	    paren; /* '(' minus ')' in the URL */
	size_t	    hold; /* held back from here while in a link */
	size_t	    ustart; /* start of the URL */
	size_t	    auth; /* start of the authority */
	size_t	    nslash;
	size_t	    mdt; /* start of the Markdown target */
};

static unsigned char
lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int
is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	    c == '\v';
}

/* Equal ignoring ASCII case. */
static int
ci_eq(const char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
			return 0;
	return 1;
}

/*
 * Decodes the character at 's' ('n' bytes available) into '*cp'. Returns
 * its length, or 0 if the bytes are not valid UTF-8.
 */
static size_t
utf8_dec(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t	 k, i;
	uint32_t c;

	if (n == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		k = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		k = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		k = 4;
		c = s[0] & 0x07;
	} else
		return 0;
	if (k > n)
		return 0;
	for (i = 1; i < k; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((k == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
	    (k == 4 && (c < 0x10000 || c > 0x10ffff)))
		return 0;
	*cp = c;
	return k;
}

/* (a * b) mod 2^61-1 for a, b < 2^61, without 128-bit integers. */
static uint64_t
mulmod(uint64_t a, uint64_t b)
{
	uint64_t al = a & 0xffffffffU, ah = a >> 32;
	uint64_t bl = b & 0xffffffffU, bh = b >> 32;
	uint64_t lo = al * bl, mid = al * bh + ah * bl, hi = ah * bh, r;

	r = (lo & HASH_P) + (lo >> 61) + ((mid & 0x1fffffffU) << 32) +
	    (mid >> 29) + (hi << 3);
	r = (r & HASH_P) + (r >> 61);
	r = (r & HASH_P) + (r >> 61);
	return r >= HASH_P ? r - HASH_P : r;
}

/* Slides the hash 'h' of a window by one byte: 'out' leaves, 'in' comes. */
static uint64_t
roll(uint64_t h, uint64_t bw, unsigned char out, unsigned char in)
{
	h = mulmod(h, HASH_B) + in;
	h += HASH_P - mulmod(out, bw);
	h = (h & HASH_P) + (h >> 61);
	return h >= HASH_P ? h - HASH_P : h;
}

static int
gram_cmp(const void *a, const void *b)
{
	const struct gram *x = a, *y = b;

	if (x->h != y->h)
		return x->h < y->h ? -1 : 1;
	/* Only sorted when every window is GUARD_NGRAM bytes. */
	return memcmp(x->w, y->w, GUARD_NGRAM);
}

/* Whitespace (including Unicode spaces) or a control: ends a link. */
static int
cp_ends_token(uint32_t cp)
{
	return cp <= 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0xa0) ||
	    cp == '<' || cp == '>' || (cp >= 0x2000 && cp <= 0x200a) ||
	    cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f ||
	    cp == 0x3000;
}

/* Ends the authority of a URL (as browsers read "\" in http URLs). */
static int
cp_ends_auth(uint32_t cp)
{
	return cp == '/' || cp == '\\' || cp == '?' || cp == '#' ||
	    cp_ends_token(cp);
}

/* Invisible: does not make a reply non-empty. */
static int
cp_blank(uint32_t cp)
{
	return cp_ends_token(cp) || (cp >= 0x200b && cp <= 0x200d) ||
	    cp == 0x2060 || cp == 0xfeff;
}

/* Punctuation that may follow a link in prose without being part of it. */
static int
cp_trailing(uint32_t cp)
{
	static const uint32_t u[] = { 0x2019, 0x201d, 0x2026, 0x3001, 0x3002,
		0x300b, 0x300d, 0x300f, 0x3011, 0xff01, 0xff09, 0xff0c, 0xff0e,
		0xff1a, 0xff1b, 0xff1f, 0xff61 };
	size_t		      i;

	if (cp < 0x80)
		return cp != 0 && strchr(".,;:!?)]}'\"*_~`", (int)cp) != NULL;
	for (i = 0; i < sizeof(u) / sizeof(u[0]); i++)
		if (u[i] == cp)
			return 1;
	return 0;
}

/* Length of 's' ('n' bytes) without its trailing punctuation. */
static size_t
trail_len(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t		     i, k, keep = 0;
	uint32_t	     cp;

	for (i = 0; i < n; i += k) {
		if ((k = utf8_dec(p + i, n - i, &cp)) == 0) {
			k = 1;
			cp = CP_BAD;
		}
		if (!cp_trailing(cp))
			keep = i + k;
	}
	return keep;
}

/* Whether a byte before "www." makes it part of something else. */
static int
hostish(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c >= 0x80 ||
	    strchr("._-@/\\%+=&?#~:", c) != NULL;
}

static void
fail(struct guard *g, const char *why, size_t at)
{
	if (g->fail == NULL) {
		g->fail = why;
		g->fail_at = at;
	}
}

static int
host_allowed(const struct guard *g, const char *h, size_t n)
{
	size_t i, al;

	for (i = 0; i < g->nhosts; i++) {
		al = g->hostlen[i];
		if (n == al && memcmp(h, g->hosts[i], n) == 0)
			return 1;
		if (n > al && h[n - al - 1] == '.' &&
		    memcmp(h + n - al, g->hosts[i], al) == 0)
			return 1;
	}
	return 0;
}

/* Whether text [s, e) is an allowed URL, perhaps with punctuation after. */
static int
url_allowed(const struct guard *g, const char *text, size_t s, size_t e)
{
	const char *t = text + s;
	size_t	    i, n = e - s, ul, ua;

	for (i = 0; i < g->nurls; i++) {
		ul = g->urllen[i];
		ua = g->urlauth[i];
		if (n >= ul && ci_eq(t, g->urls[i], ua) &&
		    memcmp(t + ua, g->urls[i] + ua, ul - ua) == 0 &&
		    trail_len(t + ul, n - ul) == 0)
			return 1;
	}
	return 0;
}

/* The URL ended at 'e' with its host not allowed. */
static void
judge_url(struct guard *g, const char *text, size_t e)
{
	if (!url_allowed(g, text, g->ustart, e))
		fail(g, "link", g->hold);
	g->ph = U_NONE;
}

/*
 * The authority [auth, e) is complete; 'tokend': the URL ends there too.
 * Allowed host: done. Otherwise, with allowed URLs, wait for the URL's end.
 */
static void
judge_auth(struct guard *g, const char *text, size_t e, int tokend)
{
	const unsigned char *a = (const unsigned char *)text + g->auth;
	char		     host[GUARD_MAX_HOST + 4];
	size_t		     n = e - g->auth, hl, i, k, o = 0;
	uint32_t	     cp;

	if (memchr(a, '@', n) != NULL) {
		fail(g, "link", g->hold);
		return;
	}
	if (n > 0 && a[0] == '[') {
		for (hl = 1; hl < n && a[hl] != ']'; hl++)
			;
		if (hl < n)
			hl++;
	} else {
		for (hl = 0; hl < n && a[hl] != ':'; hl++)
			;
		if (hl == n && tokend)
			hl = trail_len((const char *)a, n);
	}
	for (i = 0; i < hl; i += k) {
		if ((k = utf8_dec(a + i, hl - i, &cp)) == 0) {
			k = 1;
			cp = CP_BAD;
		}
		if (o + k > GUARD_MAX_HOST) {
			fail(g, "link", g->hold);
			return;
		}
		/* Full stops that IDNA maps to '.'. */
		if (cp == 0x3002 || cp == 0xff0e || cp == 0xff61)
			host[o++] = '.';
		else if (k == 1)
			host[o++] = (char)lower(a[i]);
		else {
			memcpy(host + o, a + i, k);
			o += k;
		}
	}
	while (o > 0 && host[o - 1] == '.')
		o--;
	if (o == 0 || host_allowed(g, host, o)) {
		g->ph = U_NONE;
		return;
	}
	if (g->nurls == 0) {
		fail(g, "link", g->hold);
		return;
	}
	g->ph = U_PATH;
	if (tokend)
		judge_url(g, text, e);
}

/* Whether [s, s + n) is, ignoring case, a prefix of 'word'. */
static int
ci_prefix(const char *s, size_t n, const char *word)
{
	return n <= strlen(word) && ci_eq(s, word, n);
}

/* Length of "https" or "http" right before offset 's', or 0. */
static size_t
scheme_before(const char *text, size_t s)
{
	if (s >= 5 && ci_eq(text + s - 5, "https", 5))
		return 5;
	if (s >= 4 && ci_eq(text + s - 4, "http", 4))
		return 4;
	return 0;
}

/* A character of a URL scheme (RFC 3986). */
static int
scheme_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
}

/*
 * Length of a scheme ending right before offset 's' ("ftp" in "ftp:"),
 * starting with a letter at a word's start; 0 if there is none.
 */
static size_t
any_scheme_before(const char *text, size_t s)
{
	size_t k = s;

	while (k > 0 && s - k < 32 && scheme_char((unsigned char)text[k - 1]))
		k--;
	while (k < s &&
	    !((text[k] >= 'a' && text[k] <= 'z') ||
		(text[k] >= 'A' && text[k] <= 'Z')))
		k++;
	if (k == s || (k > 0 && hostish((unsigned char)text[k - 1])))
		return 0;
	return s - k;
}

/* A character of a bare host name and port ("shop.example:8443"). */
static int
bare_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '-' || c == ':';
}

/*
 * The start of a bare host name ending right before offset 's' (before a
 * '/'): at a word's start, two or more labels, the last one letters
 * only, perhaps a port; NOWHERE if there is none.
 */
static size_t
bare_host_before(const char *text, size_t s)
{
	size_t k = s, i, dots = 0, last = 0, end;

	while (k > 0 && s - k < GUARD_MAX_HOST &&
	    bare_char((unsigned char)text[k - 1]))
		k--;
	if (k == s || (k > 0 && hostish((unsigned char)text[k - 1])))
		return NOWHERE;
	for (end = k; end < s && text[end] != ':'; end++)
		;
	for (i = k; i < end; i++)
		if (text[i] == '.') {
			if (i == k || text[i - 1] == '.')
				return NOWHERE;
			dots++;
			last = i + 1;
		}
	if (dots == 0 || end - last < 2)
		return NOWHERE;
	for (i = last; i < end; i++)
		if (!((text[i] >= 'a' && text[i] <= 'z') ||
			(text[i] >= 'A' && text[i] <= 'Z')))
			return NOWHERE;
	return k;
}

/* Whether "//" ending at 's' may begin a scheme-relative URL. */
static int
relative_start(const char *text, size_t s)
{
	unsigned char c;

	if (s < 2)
		return s == 1;
	c = (unsigned char)text[s - 2];
	return !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c >= 0x80 ||
	    strchr(":/\\.-_~%@+", c) != NULL);
}

/* One character [s, e) of the reply, 'cp' (or CP_BAD): the link checks. */
static void
link_char(struct guard *g, const char *text, size_t s, size_t e, uint32_t cp)
{
	const char *t;
	size_t	    n, h = 0;

	switch (g->ph) {
	case U_MD:
		if (g->mdt == NOWHERE) {
			if (cp == ' ' || cp == '\t' || cp == '\n')
				break;
			if (cp == '<' && !g->mdlt) {
				g->mdlt = 1;
				break;
			}
			g->mdt = s;
		}
		t = text + g->mdt;
		n = e - g->mdt;
		g->ustart = g->mdt;
		g->nslash = 0;
		if ((n == 5 && ci_eq(t, "http:", 5)) ||
		    (n == 6 && ci_eq(t, "https:", 6)))
			g->ph = U_SLASH;
		else if (n == 4 && ci_eq(t, "www.", 4)) {
			g->ph = U_AUTH;
			g->auth = g->mdt;
		} else if (n == 2 && (t[0] == '/' || t[0] == '\\') &&
		    (t[1] == '/' || t[1] == '\\')) {
			g->ph = U_SLASH;
			g->nslash = 2;
		} else if (!ci_prefix(t, n, "https:") &&
		    !ci_prefix(t, n, "www.") &&
		    !(n == 1 && (t[0] == '/' || t[0] == '\\')))
			fail(g, "link", g->hold); /* relative, mailto:, ... */
		break;
	case U_SLASH:
		if (cp == '/' || cp == '\\') {
			g->nslash++;
			break;
		}
		/*
		 * "https:host" is https://host to a browser; any other scheme
		 * needs "//" to name a host; "http:" before a space is prose.
		 */
		if (g->nslash < 2 && !g->md &&
		    !(g->special && !cp_ends_auth(cp) && cp != ':' &&
			cp != '.')) {
			g->ph = U_NONE;
			break;
		}
		if (cp_ends_auth(cp) || (g->md && cp == ')')) {
			g->ph = U_NONE; /* no host */
			break;
		}
		g->ph = U_AUTH;
		g->auth = s;
		g->paren = 0;
		break;
	case U_AUTH:
		if (g->md && cp == ')' && g->paren == 0)
			judge_auth(g, text, s, 1);
		else if (cp_ends_auth(cp))
			judge_auth(g, text, s, cp_ends_token(cp));
		else if (e - g->auth > 2 * GUARD_MAX_HOST)
			fail(g, "link", g->hold);
		else if (cp == '(')
			g->paren++;
		else if (cp == ')')
			g->paren--;
		break;
	case U_PATH:
		if (cp_ends_token(cp) || (g->md && cp == ')' && g->paren == 0))
			judge_url(g, text, s);
		else if (e - g->ustart > g->urlmax + 16)
			fail(g, "link", g->hold);
		else if (cp == '(')
			g->paren++;
		else if (cp == ')')
			g->paren--;
		break;
	case U_NONE:
		if (cp == '(' && g->prev == ']') {
			g->ph = U_MD;
			g->md = 1;
			g->mdlt = 0;
			g->hold = s;
			g->mdt = NOWHERE;
			g->paren = 0;
		} else if (cp == ':' &&
		    (n = (h = scheme_before(text, s)) > 0
			    ? h
			    : any_scheme_before(text, s)) > 0) {
			g->ph = U_SLASH;
			g->md = 0;
			g->special = h == n &&
			    (s - n == 0 ||
				!hostish((unsigned char)text[s - n - 1]));
			g->ustart = g->hold = s - n;
			g->nslash = 0;
		} else if (cp == '/' && g->prev == '/' &&
		    relative_start(text, s)) {
			/* "//host": the page's scheme, another host. */
			g->ph = U_SLASH;
			g->md = 0;
			g->special = 0;
			g->ustart = g->hold = s - 1;
			g->nslash = 2;
		} else if (cp == '/' && g->prev != '/' &&
		    (n = bare_host_before(text, s)) != NOWHERE) {
			/* "shop.example/path": a host without a scheme. */
			g->md = 0;
			g->ustart = g->hold = g->auth = n;
			g->paren = 0;
			g->ph = U_AUTH;
			judge_auth(g, text, s, 0);
		} else if (cp == '.' && s >= 3 &&
		    ci_eq(text + s - 3, "www", 3) &&
		    (s == 3 || !hostish((unsigned char)text[s - 4]))) {
			g->ph = U_AUTH;
			g->md = 0;
			g->ustart = g->hold = g->auth = s - 3;
			g->paren = 0;
		}
		break;
	}
	g->prev = cp;
}

/*
 * One character of the reply, starting at s, to the canary automaton, as
 * it reads (unicode.h): look-alikes as what they look like (U+2010 as
 * '-'), invisible characters skipped, case ignored.
 */
static void
canary_char(struct guard *g, size_t s, uint32_t cp)
{
	char	      as[4] = { (char)0xff, '\0' };
	int	      n = cp == CP_BAD ? -1 : uc_reads(cp, as), k;
	unsigned char c;

	if (n < 0) {
		as[0] = (char)0xff; /* reads as nothing of the canary */
		n = 1;
	}
	/* Each character it reads as ("ﬀ": two), all starting at 's'. */
	for (k = 0; k < n && g->fail == NULL; k++) {
		c = (unsigned char)as[k];
		g->cring[g->cfed % g->clen] = s;
		g->cfed++;
		while (g->q > 0 && g->canary[g->q] != c)
			g->q = g->kmp[g->q - 1];
		if (g->canary[g->q] == c)
			g->q++;
		if (g->q == g->clen)
			fail(g, "canary",
			    g->cring[(g->cfed - g->clen) % g->clen]);
	}
}

static void
char_done(struct guard *g, const char *text, size_t s, size_t e, uint32_t cp)
{
	if (!cp_blank(cp))
		g->nonspace = 1;
	if (g->clen > 0)
		canary_char(g, s, cp);
	if (g->fail == NULL)
		link_char(g, text, s, e, cp);
}

/* Assembles UTF-8 characters one byte at a time. */
static void
utf8_byte(struct guard *g, const char *text, size_t i)
{
	unsigned char c = (unsigned char)text[i];

	if (g->need > 0) {
		if ((c & 0xc0) == 0x80) {
			g->cp = (g->cp << 6) | (c & 0x3f);
			if (--g->need > 0)
				return;
			if (g->cp < 0x80 ||
			    (g->cp < 0x800 && i - g->cpstart > 1) ||
			    (g->cp < 0x10000 && i - g->cpstart > 2) ||
			    (g->cp >= 0xd800 && g->cp <= 0xdfff) ||
			    g->cp > 0x10ffff)
				g->cp = CP_BAD;
			char_done(g, text, g->cpstart, i + 1, g->cp);
			return;
		}
		/* Cut short: the bytes so far are one bad character. */
		g->need = 0;
		char_done(g, text, g->cpstart, i, CP_BAD);
		if (g->fail != NULL)
			return;
	}
	g->cpstart = i;
	if (c < 0x80)
		char_done(g, text, i, i + 1, c);
	else if (c >= 0xc2 && c <= 0xdf) {
		g->cp = c & 0x1f;
		g->need = 1;
	} else if (c >= 0xe0 && c <= 0xef) {
		g->cp = c & 0x0f;
		g->need = 2;
	} else if (c >= 0xf0 && c <= 0xf4) {
		g->cp = c & 0x07;
		g->need = 3;
	} else
		char_done(g, text, i, i + 1, CP_BAD);
}

/* Feeds one byte to the prompt window. */
static void
prompt_byte(struct guard *g, size_t i, unsigned char c)
{
	unsigned char w[GUARD_NGRAM], out;
	size_t	      slot, lo, hi, mid, j;

	if (is_space(c)) {
		if (g->space)
			return;
		g->space = 1;
		c = ' ';
	} else {
		g->space = 0;
		c = lower(c);
	}
	slot = g->ncount % g->win;
	out = g->ncount >= g->win ? g->ring[slot] : 0;
	g->ring[slot] = c;
	g->ringpos[slot] = i;
	g->ncount++;
	g->h = roll(g->h, g->bw, out, c);
	if (g->ncount < g->win)
		return;
	lo = 0;
	hi = g->ngrams;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (g->grams[mid].h < g->h)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == g->ngrams || g->grams[lo].h != g->h)
		return;
	for (j = 0; j < g->win; j++)
		w[j] = g->ring[(g->ncount + j) % g->win];
	for (; lo < g->ngrams && g->grams[lo].h == g->h; lo++)
		if (memcmp(w, g->grams[lo].w, g->win) == 0) {
			fail(
			    g, "system_prompt", g->ringpos[g->ncount % g->win]);
			return;
		}
}

const char *
guard_check(struct guard *g, const char *text, size_t len, int final)
{
	size_t	      i;
	unsigned char c;

	if (g->fail != NULL || g->done || len < g->pos)
		return g->fail;
	for (i = g->pos; i < len && g->fail == NULL; i++) {
		if (g->max_len > 0 && i >= g->max_len) {
			fail(g, "too_long", g->max_len);
			break;
		}
		c = (unsigned char)text[i];
		g->pos = i + 1;
		if (g->ngrams > 0)
			prompt_byte(g, i, c);
		if (g->fail == NULL)
			utf8_byte(g, text, i);
	}
	if (g->fail != NULL || !final || g->pos < len)
		return g->fail;
	if (g->need > 0) {
		g->need = 0;
		char_done(g, text, g->cpstart, len, CP_BAD);
	}
	if (g->fail == NULL) {
		if (g->ph == U_AUTH)
			judge_auth(g, text, len, 1);
		else if (g->ph == U_PATH)
			judge_url(g, text, len);
	}
	if (g->fail == NULL && !g->nonspace)
		fail(g, "empty", 0);
	if (g->fail == NULL)
		g->done = 1;
	return g->fail;
}

size_t
guard_safe_len(const struct guard *g, const char *text, size_t len)
{
	/* Prefixes of these may become "https:", "www." or "](". */
	static const char *const partial[] = { "https", "www", "]" };
	size_t			 lim, k, j, n;

	if (g->done)
		return len;
	lim = g->pos < len ? g->pos : len;
	if (g->fail != NULL && g->fail_at < lim)
		lim = g->fail_at;
	if (!g->nonspace)
		lim = 0;
	if (g->need > 0 && g->cpstart < lim)
		lim = g->cpstart;
	if (g->q > 0 && g->cring[(g->cfed - g->q) % g->clen] < lim)
		lim = g->cring[(g->cfed - g->q) % g->clen];
	if (g->ngrams > 0 && g->ncount > 0) {
		k = g->ncount < g->win - 1 ? g->ncount : g->win - 1;
		if (k > 0 && g->ringpos[(g->ncount - k) % g->win] < lim)
			lim = g->ringpos[(g->ncount - k) % g->win];
	}
	if (g->ph != U_NONE && g->hold < lim)
		lim = g->hold;
	/* The start of something that may become a link: the last word,
	 * which may grow into a bare host or a scheme ("shop" into
	 * "shop.example/", "ftp" into "ftp://"), and a last '/'. */
	n = g->pos < len ? g->pos : len;
	for (k = n; k > 0 && n - k < GUARD_MAX_HOST &&
	     (scheme_char((unsigned char)text[k - 1]) || text[k - 1] == ':');
	     k--)
		;
	if (k < n && k < lim)
		lim = k;
	if (n > 0 && (text[n - 1] == '/' || text[n - 1] == '\\') && n - 1 < lim)
		lim = n - 1;
	for (j = 0; j < sizeof(partial) / sizeof(partial[0]); j++)
		for (k = strlen(partial[j]); k > 0; k--)
			if (k <= n && ci_eq(text + n - k, partial[j], k)) {
				if (n - k < lim)
					lim = n - k;
				break;
			}
	while (
	    lim > 0 && lim < len && ((unsigned char)text[lim] & 0xc0) == 0x80)
		lim--;
	return lim;
}

/*
 * Normalises 's' into 'out' (at least strlen(s) bytes): ASCII lower case,
 * whitespace runs as one space, none at either end. Returns the length.
 */
static size_t
normalise(const char *s, unsigned char *out)
{
	size_t o = 0;
	int    space = 1;

	for (; *s != '\0'; s++) {
		if (is_space((unsigned char)*s)) {
			if (!space)
				out[o++] = ' ';
			space = 1;
			continue;
		}
		out[o++] = lower((unsigned char)*s);
		space = 0;
	}
	if (o > 0 && out[o - 1] == ' ')
		o--;
	return o;
}

static int
setup_prompt(struct guard *g, const char *prompt)
{
	size_t	 len = strlen(prompt), m, i, j;
	uint64_t h = 0;

	if (len > GUARD_MAX_PROMPT)
		return -1;
	if ((g->prompt = malloc(len + 1)) == NULL)
		return -1;
	m = normalise(prompt, g->prompt);
	if (m < GUARD_MIN_PROMPT)
		return 0;
	g->win = m < GUARD_NGRAM ? m : GUARD_NGRAM;
	g->bw = 1;
	for (i = 0; i < g->win; i++)
		g->bw = mulmod(g->bw, HASH_B);
	if ((g->grams = calloc(m - g->win + 1, sizeof(*g->grams))) == NULL)
		return -1;
	for (i = 0; i < m; i++) {
		h = roll(h, g->bw, i >= g->win ? g->prompt[i - g->win] : 0,
		    g->prompt[i]);
		if (i + 1 >= g->win) {
			g->grams[i + 1 - g->win].h = h;
			g->grams[i + 1 - g->win].w = g->prompt + i + 1 - g->win;
		}
	}
	g->ngrams = m - g->win + 1;
	if (g->ngrams > 1) {
		qsort(g->grams, g->ngrams, sizeof(*g->grams), gram_cmp);
		for (i = j = 1; i < g->ngrams; i++)
			if (gram_cmp(&g->grams[i], &g->grams[j - 1]) != 0)
				g->grams[j++] = g->grams[i];
		g->ngrams = j;
	}
	return 0;
}

static int
setup_canary(struct guard *g, const char *canary)
{
	size_t n = strlen(canary), i, k = 0;

	if (n == 0)
		return 0;
	if (n > GUARD_MAX_CANARY)
		return -1;
	if ((g->canary = malloc(n + 1)) == NULL ||
	    (g->kmp = calloc(n, sizeof(*g->kmp))) == NULL ||
	    (g->cring = calloc(n, sizeof(*g->cring))) == NULL)
		return -1;
	/* An ASCII canary, as it reads; anything else reads as itself. */
	for (i = 0; i < n; i++) {
		int r = (unsigned char)canary[i] < 0x80
		    ? uc_reads_as((unsigned char)canary[i])
		    : -1;

		g->canary[i] = r <= 0 ? 0xff : (unsigned char)r;
	}
	g->canary[n] = '\0';
	for (i = 1; i < n; i++) {
		while (k > 0 && g->canary[i] != g->canary[k])
			k = g->kmp[k - 1];
		if (g->canary[i] == g->canary[k])
			k++;
		g->kmp[i] = k;
	}
	g->clen = n;
	return 0;
}

static int
setup_hosts(struct guard *g, const char *const *hosts)
{
	size_t n = 0, i, k, len;

	while (hosts[n] != NULL)
		n++;
	if (n > GUARD_MAX_LIST)
		return -1;
	if ((g->hosts = calloc(n + 1, sizeof(*g->hosts))) == NULL ||
	    (g->hostlen = calloc(n + 1, sizeof(*g->hostlen))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		len = strlen(hosts[i]);
		if (len > GUARD_MAX_HOST)
			return -1;
		while (len > 0 && hosts[i][len - 1] == '.')
			len--;
		if (len == 0)
			continue;
		if ((g->hosts[g->nhosts] = malloc(len + 1)) == NULL)
			return -1;
		for (k = 0; k < len; k++)
			g->hosts[g->nhosts][k] = (char)lower(hosts[i][k]);
		g->hosts[g->nhosts][len] = '\0';
		g->hostlen[g->nhosts++] = len;
	}
	return 0;
}

static int
setup_urls(struct guard *g, const char *const *urls)
{
	size_t	    n = 0, i, len, a;
	const char *p;

	while (urls[n] != NULL)
		n++;
	if (n > GUARD_MAX_LIST)
		return -1;
	if ((g->urls = calloc(n + 1, sizeof(*g->urls))) == NULL ||
	    (g->urllen = calloc(n + 1, sizeof(*g->urllen))) == NULL ||
	    (g->urlauth = calloc(n + 1, sizeof(*g->urlauth))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		len = strlen(urls[i]);
		if (len > GUARD_MAX_URL)
			return -1;
		if (len == 0)
			continue;
		if ((g->urls[g->nurls] = strdup(urls[i])) == NULL)
			return -1;
		/* Scheme and authority compare without case. */
		a = 0;
		if ((p = strstr(urls[i], "://")) != NULL) {
			a = (size_t)(p - urls[i]) + 3;
			a += strcspn(urls[i] + a, "/?#");
		}
		g->urllen[g->nurls] = len;
		g->urlauth[g->nurls++] = a;
		if (len > g->urlmax)
			g->urlmax = len;
	}
	return 0;
}

struct guard *
guard_new(const char *system_prompt, const char *canary,
    const char *const *allowed_hosts, const char *const *allowed_urls,
    size_t max_len)
{
	struct guard *g;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return NULL;
	g->max_len = max_len;
	g->space = 1;
	g->win = 1;
	if ((system_prompt != NULL && setup_prompt(g, system_prompt) == -1) ||
	    (canary != NULL && setup_canary(g, canary) == -1) ||
	    (allowed_hosts != NULL && setup_hosts(g, allowed_hosts) == -1) ||
	    (allowed_urls != NULL && setup_urls(g, allowed_urls) == -1)) {
		guard_free(g);
		return NULL;
	}
	return g;
}

void
guard_free(struct guard *g)
{
	size_t i;

	if (g == NULL)
		return;
	free(g->canary);
	free(g->kmp);
	free(g->cring);
	free(g->prompt);
	free(g->grams);
	if (g->hosts != NULL)
		for (i = 0; g->hosts[i] != NULL; i++)
			free(g->hosts[i]);
	free(g->hosts);
	free(g->hostlen);
	if (g->urls != NULL)
		for (i = 0; g->urls[i] != NULL; i++)
			free(g->urls[i]);
	free(g->urls);
	free(g->urllen);
	free(g->urlauth);
	free(g);
}
