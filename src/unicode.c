/*
 * unicode.c: text read as a person reads it (see unicode.h).
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>

#include "unicode.h"
#include "util.h"

/*
 * What each non-ASCII character reads as: an ASCII character, or 0 for
 * one a reader does not see. Sorted by code point.
 */
static const struct confusable {
	unsigned int cp;
	char	     as[4];
} confusables[] = {
#include "confusables.inc"
};

static int
confusable_cmp(const void *k, const void *e)
{
	unsigned int cp = *(const unsigned int *)k;
	unsigned int ecp = ((const struct confusable *)e)->cp;

	return cp < ecp ? -1 : cp > ecp;
}

/* The digits that read as letters. */
static int
fold(int c)
{
	return c == '0' ? 'o' : c == '1' ? 'l' : c;
}

int
uc_reads(unsigned int cp, char out[4])
{
	const struct confusable *c;
	int			 n;

	if (cp < 0x80) {
		out[0] = (char)fold(tolower((int)cp));
		out[1] = '\0';
		return 1;
	}
	c = bsearch(&cp, confusables, nitems(confusables),
	    sizeof(confusables[0]), confusable_cmp);
	if (c == NULL)
		return -1;
	for (n = 0; c->as[n] != '\0'; n++)
		out[n] = (char)fold((unsigned char)c->as[n]);
	out[n] = '\0';
	return n;
}

int
uc_reads_as(unsigned int cp)
{
	char s[4];
	int  n = uc_reads(cp, s);

	return n == 1 ? (unsigned char)s[0] : n == 0 ? 0 : -1;
}

unsigned int
uc_decode(const char *s, size_t len, size_t i, size_t *n)
{
	const unsigned char *p = (const unsigned char *)s + i;
	size_t		     k, want;
	unsigned int	     cp;

	*n = 1;
	if (p[0] < 0x80)
		return p[0];
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		want = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		want = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		want = 4, cp = p[0] & 0x07;
	else
		return 0xfffd;
	if (i + want > len)
		return 0xfffd;
	for (k = 1; k < want; k++) {
		if ((p[k] & 0xc0) != 0x80)
			return 0xfffd;
		cp = cp << 6 | (p[k] & 0x3f);
	}
	if ((want == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (want == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0xfffd;
	*n = want;
	return cp;
}
