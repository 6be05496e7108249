/*
 * mask.c: e-mail addresses, card-like and phone numbers masked out of
 * text (see mask.h). One pass, left to right over UTF-8 text.
 *
 * Characters are judged as code points: ASCII letters and digits, and
 * non-ASCII letters (anything above U+007F that is not a space or a
 * punctuation mark of the common blocks), may be part of a word; spaces
 * and punctuation, ASCII or not (quotes “”«», …, NBSP, CJK punctuation),
 * end one. Numbers start after anything but an ASCII letter or digit, so
 * digits right after CJK text are found too.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "mask.h"

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
ascii_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* The code point at s (bytes in '*len'); invalid UTF-8 is one byte. */
static unsigned
cp_at(const char *s, size_t *len)
{
	const unsigned char *u = (const unsigned char *)s;

	if (u[0] < 0x80) {
		*len = 1;
		return u[0];
	}
	if ((u[0] & 0xe0) == 0xc0 && (u[1] & 0xc0) == 0x80) {
		*len = 2;
		return (unsigned)(u[0] & 0x1f) << 6 | (u[1] & 0x3f);
	}
	if ((u[0] & 0xf0) == 0xe0 && (u[1] & 0xc0) == 0x80 &&
	    (u[2] & 0xc0) == 0x80) {
		*len = 3;
		return (unsigned)(u[0] & 0x0f) << 12 |
		    (unsigned)(u[1] & 0x3f) << 6 | (u[2] & 0x3f);
	}
	if ((u[0] & 0xf8) == 0xf0 && (u[1] & 0xc0) == 0x80 &&
	    (u[2] & 0xc0) == 0x80 && (u[3] & 0xc0) == 0x80) {
		*len = 4;
		return (unsigned)(u[0] & 0x07) << 18 |
		    (unsigned)(u[1] & 0x3f) << 12 |
		    (unsigned)(u[2] & 0x3f) << 6 | (u[3] & 0x3f);
	}
	*len = 1;
	return 0xfffd;
}

/* A non-ASCII code point that is a letter for our purposes. */
static int
wide_letter(unsigned cp)
{
	return cp >= 0x80 && cp != 0xfffd && cp != 0xa0 && cp != 0xab &&
	    cp != 0xbb && cp != 0xb7 && !(cp >= 0x2000 && cp <= 0x206f) &&
	    !(cp >= 0x3000 && cp <= 0x303f) &&
	    !(cp >= 0xfe30 && cp <= 0xfe4f) &&
	    !(cp >= 0xff01 && cp <= 0xff0f) && !(cp >= 0xff1a && cp <= 0xff20);
}

/* Bytes of the address character at s (local part), 0 if none. */
static size_t
local_char(const char *s)
{
	size_t	 n;
	unsigned cp = cp_at(s, &n);

	if (cp < 0x80)
		return ascii_alnum((char)cp) ||
			(cp != 0 && strchr("._%+-'", (int)cp) != NULL)
		    ? 1
		    : 0;
	return wide_letter(cp) ? n : 0;
}

/* Bytes of the domain character at s, 0 if none. */
static size_t
domain_char(const char *s)
{
	size_t	 n;
	unsigned cp = cp_at(s, &n);

	if (cp < 0x80)
		return ascii_alnum((char)cp) || cp == '-' || cp == '.' ? 1 : 0;
	return wide_letter(cp) ? n : 0;
}

/*
 * The length of an e-mail address whose '@' is at in[at], starting at
 * 'start'; 0 if there is none.
 */
static size_t
email_at(const char *in, size_t start, size_t at)
{
	size_t i = at + 1, end, dot = 0, k, n;

	if (at == start || (n = domain_char(in + i)) == 0 || in[i] == '.' ||
	    in[i] == '-')
		return 0;
	/* A label is never empty: ".." ends the domain ("a@b.io..1"). */
	while ((n = domain_char(in + i)) > 0 &&
	    !(in[i] == '.' && in[i + 1] == '.'))
		i += n;
	/* Dots at the end close the sentence, not the address. */
	for (end = i; end > at + 1 && in[end - 1] == '.'; end--)
		;
	for (k = at + 1; k < end; k++)
		if (in[k] == '.')
			dot = k;
	/* At least one dot, and an ASCII top-level label of 2+ letters. */
	if (dot == 0 || end - dot - 1 < 2 || in[dot - 1] == '.')
		return 0;
	for (k = dot + 1; k < end; k++)
		if (!((in[k] >= 'a' && in[k] <= 'z') ||
			(in[k] >= 'A' && in[k] <= 'Z')))
			return 0;
	return end - start;
}

/* The length of the address starting at in[i] (a word's start), or 0. */
static size_t
email_len(const char *in, size_t i)
{
	size_t k, step;

	for (k = i; (step = local_char(in + k)) > 0; k += step)
		;
	return in[k] == '@' ? email_at(in, i, k) : 0;
}

/*
 * The context checks below read what comes before position 'o' in the
 * output so far ('out', NUL-terminated at 'o'), not the input: a mask tag
 * there stands where a second pass will find it, so both passes judge
 * what follows a masked span alike, and masking is idempotent.
 */

/* Returns 1 if the character before out[o] belongs to an address. */
static int
after_local(const char *out, size_t o)
{
	size_t j = o;

	if (o == 0)
		return 0;
	do
		j--;
	while (j > 0 && ((unsigned char)out[j] & 0xc0) == 0x80);
	return local_char(out + j) > 0;
}

/*
 * Returns 1 if a number may start after out[o]: not right after an ASCII
 * letter or digit, nor inside a token such as "ABC-1234567" or "v1.2".
 */
static int
number_start(const char *out, size_t o)
{
	if (o == 0)
		return 1;
	if (ascii_alnum(out[o - 1]))
		return 0;
	return !(o >= 2 && strchr("-./_#", out[o - 1]) != NULL &&
	    ascii_alnum(out[o - 2]));
}

/*
 * Numbers. A run is digit groups with one separator between each two: a
 * space or dash (which a card may use too), or a dot, slash or the
 * parentheses of an area code (phones only), the first group perhaps
 * after '+'. A run is parsed once, then its groups are taken left to
 * right: from each, the longest card (13 to 19 digits, Luhn) made of the
 * groups that follow it, else the longest phone (7 to 15 digits, not a
 * date), else the group is kept. A look-ahead never passes 19 digits, so
 * this is linear in the run; and what is kept is what a second pass would
 * keep, so masking twice masks nothing more.
 */
struct group {
	size_t start, end; /* bytes, '(' ... ')' and a leading '+' included */
	int    digits;
	int    plus; /* starts with '+' */
	int    card_gap,
	    phone_gap; /* may the next group continue a card, a phone */
};

struct groups {
	struct group *v;
	size_t	      n, cap;
};

/* Parses the run at in[i]; returns the number of groups, -1 on ENOMEM. */
static int
parse_run(const char *in, size_t i, struct groups *g)
{
	g->n = 0;
	for (;;) {
		struct group x = { i, i, 0, 0, 0, 0 };
		int	     open = 0;

		if (g->n == 0 && in[i] == '+') {
			x.plus = 1;
			i++;
		}
		if (in[i] == '(' && is_digit(in[i + 1])) {
			open = 1;
			i++;
		}
		if (!is_digit(in[i]))
			break;
		while (is_digit(in[i])) {
			i++;
			x.digits++;
		}
		if (open && in[i] == ')')
			i++;
		x.end = i;
		if (g->n == g->cap) {
			size_t	      cap = g->cap ? 2 * g->cap : 16;
			struct group *v = realloc(g->v, cap * sizeof(*v));

			if (v == NULL)
				return -1;
			g->v = v;
			g->cap = cap;
		}
		/* The gap to the next group, if there is one. */
		if (in[i] != '\0' && strchr(" -./", in[i]) != NULL &&
		    (is_digit(in[i + 1]) ||
			(in[i + 1] == '(' && is_digit(in[i + 2])))) {
			x.phone_gap = 1;
			x.card_gap = (in[i] == ' ' || in[i] == '-') &&
			    is_digit(in[i + 1]);
			g->v[g->n++] = x;
			i++;
		} else if ((in[i - 1] == ')' && is_digit(in[i])) ||
		    (in[i] == '(' && is_digit(in[i + 1]))) {
			x.phone_gap = 1;
			g->v[g->n++] = x;
		} else {
			g->v[g->n++] = x;
			break;
		}
	}
	return (int)g->n;
}

/* The Luhn check of the 'n' digits in 'd'. */
static int
luhn(const char *d, int n)
{
	int sum = 0, k, v;

	for (k = 0; k < n; k++) {
		v = d[n - 1 - k] - '0';
		if (k % 2 == 1 && (v *= 2) > 9)
			v -= 9;
		sum += v;
	}
	return sum % 10 == 0;
}

/* Returns 1 if the 'len' bytes at 's' read as a date: YYYY-MM-DD or
 * YYYY/MM/DD or DD/MM/YYYY. */
static int
a_date(const char *s, size_t len)
{
	if (len != 10)
		return 0;
	if (is_digit(s[0]) && is_digit(s[3]) && (s[4] == '-' || s[4] == '/') &&
	    s[7] == s[4] && is_digit(s[5]) && is_digit(s[8]))
		return 1;
	return is_digit(s[0]) && s[2] == '/' && s[5] == '/' && is_digit(s[9]);
}

/*
 * The last group of the longest card starting at group 'a', or -1. A card
 * is digits with single spaces or dashes, no parentheses nor '+'.
 */
static long
card_at(const char *in, const struct groups *g, size_t a, int tail_ok)
{
	char   d[19];
	int    total = 0;
	long   best = -1;
	size_t h, k;

	for (h = a; h < g->n; h++) {
		const struct group *x = &g->v[h];

		if ((h > a && !g->v[h - 1].card_gap) || x->plus ||
		    in[x->start] == '(' || total + x->digits > 19)
			break;
		for (k = x->start; k < x->end; k++)
			d[total++] = in[k];
		if (total >= 13 && (h + 1 < g->n || tail_ok) && luhn(d, total))
			best = (long)h;
	}
	return best;
}

/* The last group of the longest phone number starting at group 'a'. */
static long
phone_at(const char *in, const struct groups *g, size_t a, int tail_ok)
{
	int    total = 0;
	long   best = -1;
	size_t h;

	for (h = a; h < g->n; h++) {
		if ((h > a && !g->v[h - 1].phone_gap) ||
		    (total += g->v[h].digits) > 15)
			break;
		if (total >= 7 && (h + 1 < g->n || tail_ok) &&
		    !a_date(in + g->v[a].start, g->v[h].end - g->v[a].start))
			best = (long)h;
	}
	return best;
}

/*
 * Masks the run of 'g' into out + *o; returns where the run ends. The
 * run's last group may end a number only if no ASCII letter or digit
 * follows it ('tail_ok').
 */
static size_t
mask_run(
    const char *in, const struct groups *g, char *out, size_t *o, int *count)
{
	size_t pos = g->v[0].start, a = 0;
	/* An address may follow the last group; no other word. */
	int tail_ok = !ascii_alnum(in[g->v[g->n - 1].end]) ||
	    in[g->v[g->n - 1].end - 1] == ')';
	long h;

	while (a < g->n) {
		const char *tag = "[card]";

		memcpy(out + *o, in + pos, g->v[a].start - pos);
		*o += g->v[a].start - pos;
		if ((h = card_at(in, g, a, tail_ok)) < 0) {
			tag = "[phone]";
			h = phone_at(in, g, a, tail_ok);
		}
		if (h < 0) { /* kept */
			memcpy(out + *o, in + g->v[a].start,
			    g->v[a].end - g->v[a].start);
			*o += g->v[a].end - g->v[a].start;
			pos = g->v[a].end;
			a++;
			continue;
		}
		memcpy(out + *o, tag, strlen(tag));
		*o += strlen(tag);
		(*count)++;
		pos = g->v[h].end;
		a = (size_t)h + 1;
		/*
		 * After a tag, a second pass reads on from a fresh start,
		 * where an address may begin ("[phone] 1234.jo@x.io"): so
		 * does this one.
		 */
		if (a < g->n) {
			if (email_len(in, pos) >
			    0) /* from the gap: "-1.j@x.io" */
				return pos;
			memcpy(out + *o, in + pos, g->v[a].start - pos);
			*o += g->v[a].start - pos;
			pos = g->v[a].start;
			out[*o] = '\0';
			if (!after_local(out, *o) && email_len(in, pos) > 0)
				return pos;
		}
	}
	return pos;
}

char *
mask_pii(const char *in, int *n)
{
	struct groups g = { NULL, 0, 0 };
	size_t	      len = strlen(in), i = 0, o = 0;
	char	     *out;
	int	      count = 0;

	/* "[phone]" (7) is never longer than what it replaces (7+ digits),
	 * "[card]" than 13 digits, "[email]" than an address but by one byte
	 * (a@b.cd): at most len / 6 more. */
	if ((out = malloc(len + len / 6 + 2)) == NULL)
		return NULL;
	while (i < len) {
		size_t run, skip = 0;

		/* E-mail: from a word's start, look ahead for '@'. */
		out[o] = '\0';
		if (local_char(in + i) > 0 && !after_local(out, o)) {
			if ((run = email_len(in, i)) > 0) {
				memcpy(out + o, "[email]", 7);
				o += 7;
				i += run;
				count++;
				continue;
			}
		}
		/* Numbers: a run of digit groups, phones and cards in it. */
		if ((is_digit(in[i]) ||
			((in[i] == '+' || in[i] == '(') &&
			    (is_digit(in[i + 1]) ||
				(in[i + 1] == '(' && is_digit(in[i + 2]))))) &&
		    number_start(out, o)) {
			int ng = parse_run(in, i, &g);

			if (ng < 0) {
				free(out);
				free(g.v);
				return NULL;
			}
			/*
			 * A last group glued to a word ("1jane@...") is left
			 * to the loop, which reads it as the word it starts,
			 * as a second pass would; unless that word is an
			 * address ("(555)jo@x.io"): masked, it is no word a
			 * second pass would see.
			 */
			if (ng > 0 && ascii_alnum(in[g.v[ng - 1].end]) &&
			    !(in[g.v[ng - 1].end - 1] == ')' &&
				email_len(in, g.v[ng - 1].end) > 0))
				g.n = (size_t)--ng;
			if (ng > 0) {
				i = mask_run(in, &g, out, &o, &count);
				continue;
			}
		}
		if (skip == 0)
			skip = 1;
		memcpy(out + o, in + i, skip);
		o += skip;
		i += skip;
	}
	out[o] = '\0';
	free(g.v);
	if (n != NULL)
		*n = count;
	return out;
}
