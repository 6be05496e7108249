/*
 * mask.c: e-mail addresses, card-like and phone numbers masked out of
 * text (see mask.h). One pass, left to right; at each position the
 * longest match wins, e-mail first.
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

/* A letter or digit; bytes of UTF-8 sequences count as letters. */
static int
is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') || (unsigned char)c >= 0x80;
}

/* A character of an address's local part (RFC 5322 atext, less the rare). */
static int
is_local(char c)
{
	return is_alnum(c) || (c != '\0' && strchr("._%+-'", c) != NULL);
}

/*
 * Returns 1 if a number may start at in[i]: not inside a word, nor a
 * token such as "ABC-1234567" or "v1.2".
 */
static int
number_start(const char *in, size_t i)
{
	if (i == 0)
		return 1;
	if (is_alnum(in[i - 1]))
		return 0;
	return !(i >= 2 && strchr("-./_#", in[i - 1]) != NULL &&
	    is_alnum(in[i - 2]));
}

/*
 * The length of an e-mail address whose '@' is at in[at], starting at
 * 'start' (the first local-part character); 0 if there is none.
 */
static size_t
email_at(const char *in, size_t start, size_t at)
{
	size_t i = at + 1, end, dot = 0, k;

	if (at == start || !is_alnum(in[i]))
		return 0;
	while (is_alnum(in[i]) || in[i] == '-' || in[i] == '.')
		i++;
	/* Dots at the end close the sentence, not the address. */
	for (end = i; end > at + 1 && in[end - 1] == '.'; end--)
		;
	for (k = at + 1; k < end; k++)
		if (in[k] == '.')
			dot = k;
	/* At least one dot, and a top-level label of two letters or more. */
	if (dot == 0 || end - dot - 1 < 2 || in[dot - 1] == '.')
		return 0;
	for (k = dot + 1; k < end; k++)
		if (!((in[k] >= 'a' && in[k] <= 'z') ||
			(in[k] >= 'A' && in[k] <= 'Z')))
			return 0;
	return end - start;
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

/* Returns 1 if the 'len' bytes at 's' read as an ISO date (YYYY-MM-DD). */
static int
iso_date(const char *s, size_t len)
{
	return len == 10 && is_digit(s[0]) && is_digit(s[3]) && s[4] == '-' &&
	    is_digit(s[5]) && is_digit(s[6]) && s[7] == '-' && is_digit(s[8]) &&
	    is_digit(s[9]);
}

char *
mask_pii(const char *in, int *n)
{
	size_t len = strlen(in), i = 0, o = 0, k;
	char  *out;
	int    count = 0;

	/* "[phone]" (7) is never longer than what it replaces (7+ digits),
	 * "[card]" than 13 digits, "[email]" than an address (a@b.cd is 6,
	 * so allow 1 more byte per match: at most len/6 of them). */
	if ((out = malloc(len + len / 6 + 2)) == NULL)
		return NULL;
	while (i < len) {
		size_t run, skip = 0;
		int    digits;

		/* E-mail: look ahead from a word start for '@'. */
		if (is_local(in[i]) && (i == 0 || !is_local(in[i - 1]))) {
			for (k = i; is_local(in[k]); k++)
				;
			if (in[k] == '@' && (run = email_at(in, i, k)) > 0) {
				memcpy(out + o, "[email]", 7);
				o += 7;
				i += run;
				count++;
				continue;
			}
		}
		/* Numbers start after something that is not part of a word. */
		if ((is_digit(in[i]) || in[i] == '+' || in[i] == '(') &&
		    number_start(in, i)) {
			if (is_digit(in[i])) {
				run = number_run(in, i, " -", 0, &digits);
				if (digits >= 13 && digits <= 19 &&
				    !is_alnum(in[i + run])) {
					memcpy(out + o, "[card]", 6);
					o += 6;
					i += run;
					count++;
					continue;
				}
			}
			run = number_run(in, i, " -.", 1, &digits);
			if (digits >= 7 && digits <= 15 &&
			    !is_alnum(in[i + run]) && !iso_date(in + i, run)) {
				memcpy(out + o, "[phone]", 7);
				o += 7;
				i += run;
				count++;
				continue;
			}
			/* Not a number to mask: copy the digits as they are,
			 * so its tail is not read as a number of its own. */
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
