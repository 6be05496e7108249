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
	while ((n = domain_char(in + i)) > 0)
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

/* Returns 1 if the character before in[i] belongs to an address. */
static int
after_local(const char *in, size_t i)
{
	size_t j = i;

	if (i == 0)
		return 0;
	do
		j--;
	while (j > 0 && ((unsigned char)in[j] & 0xc0) == 0x80);
	return local_char(in + j) > 0;
}

/*
 * Returns 1 if a number may start at in[i]: not right after an ASCII
 * letter or digit, nor inside a token such as "ABC-1234567" or "v1.2".
 */
static int
number_start(const char *in, size_t i)
{
	if (i == 0)
		return 1;
	if (ascii_alnum(in[i - 1]))
		return 0;
	return !(i >= 2 && strchr("-./_#", in[i - 1]) != NULL &&
	    ascii_alnum(in[i - 2]));
}

/*
 * A run of digits with single separators from 'seps' between them,
 * starting at in[i] (a digit, or '+' or '(' when 'phone'). Returns its
 * length (without a trailing separator) and the digits in '*digits'.
 */
static size_t
number_run(const char *in, size_t i, const char *seps, int phone, int *digits)
{
	size_t start = i, end = i;
	int    d = 0, open = 0;

	if (phone && in[i] == '+')
		i++;
	for (;;) {
		if (phone && in[i] == '(' && !open) {
			open = 1;
			i++;
			continue;
		}
		if (!is_digit(in[i]))
			break;
		while (is_digit(in[i])) {
			i++;
			d++;
		}
		end = i;
		if (phone && in[i] == ')' && open) {
			open = 0;
			i++;
			end = i;
		}
		/* One separator (a space after ')' too), then digits again. */
		if (in[i] != '\0' && strchr(seps, in[i]) != NULL &&
		    (is_digit(in[i + 1]) || (phone && in[i + 1] == '(')))
			i++;
		else if (phone && in[i] == ' ' && in[i - 1] == ')' &&
		    is_digit(in[i + 1]))
			i++;
		else
			break;
	}
	*digits = d;
	return end - start;
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

char *
mask_pii(const char *in, int *n)
{
	size_t len = strlen(in), i = 0, o = 0, k, step;
	char  *out;
	int    count = 0;

	/* "[phone]" (7) is never longer than what it replaces (7+ digits),
	 * "[card]" than 13 digits, "[email]" than an address but by one byte
	 * (a@b.cd): at most len / 6 more. */
	if ((out = malloc(len + len / 6 + 2)) == NULL)
		return NULL;
	while (i < len) {
		size_t run, skip = 0;
		int    digits;

		/* E-mail: from a word's start, look ahead for '@'. */
		if (local_char(in + i) > 0 && !after_local(in, i)) {
			for (k = i; (step = local_char(in + k)) > 0; k += step)
				;
			if (in[k] == '@' && (run = email_at(in, i, k)) > 0) {
				memcpy(out + o, "[email]", 7);
				o += 7;
				i += run;
				count++;
				continue;
			}
		}
		/* Numbers, phone or card. */
		if ((is_digit(in[i]) || in[i] == '+' || in[i] == '(') &&
		    number_start(in, i)) {
			if (is_digit(in[i])) {
				run = number_run(in, i, " -", 0, &digits);
				if (digits >= 13 && digits <= 19 &&
				    !ascii_alnum(in[i + run])) {
					memcpy(out + o, "[card]", 6);
					o += 6;
					i += run;
					count++;
					continue;
				}
			}
			run = number_run(in, i, " -./", 1, &digits);
			if (digits >= 7 && digits <= 15 &&
			    !ascii_alnum(in[i + run]) && !a_date(in + i, run)) {
				memcpy(out + o, "[phone]", 7);
				o += 7;
				i += run;
				count++;
				continue;
			}
			/* Not a number to mask: its digits are copied, so
			 * its tail is not read as a number of its own. */
			if (is_digit(in[i]))
				while (is_digit(in[i + skip]))
					skip++;
		}
		if (skip == 0)
			skip = 1;
		memcpy(out + o, in + i, skip);
		o += skip;
		i += skip;
	}
	out[o] = '\0';
	if (n != NULL)
		*n = count;
	return out;
}
