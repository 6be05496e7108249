/*
 * csv.c: RFC 4180 cells, quoted when needed, formulas neutralised.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "csv.h"

static int
put(struct csv_line *l, const char *s, size_t n)
{
	if (l->len + n + 1 > CSV_LINE_MAX) {
		l->overflow = 1;
		n = l->len + 1 < CSV_LINE_MAX ? CSV_LINE_MAX - l->len - 1 : 0;
	}
	if (l->len + n + 1 > l->cap) {
		size_t nc = l->cap ? l->cap : 256;
		char  *np;

		while (nc < l->len + n + 1)
			nc *= 2;
		if ((np = realloc(l->p, nc)) == NULL)
			return -1;
		l->p = np;
		l->cap = nc;
	}
	memcpy(l->p + l->len, s, n);
	l->len += n;
	l->p[l->len] = '\0';
	return 0;
}

int
csv_cell(struct csv_line *l, const char *s)
{
	const char *c;
	int	    quote, formula;

	if (l->cells++ > 0 && put(l, ",", 1) == -1)
		return -1;
	if (s == NULL || *s == '\0')
		return 0;
	/*
	 * A formula to a spreadsheet (some importers trim leading spaces
	 * first): made text with a leading apostrophe.
	 */
	formula = strchr("=+-@\t\r", s[strspn(s, " ")]) != NULL &&
	    s[strspn(s, " ")] != '\0';
	quote = formula || strpbrk(s, ",\"\r\n") != NULL || s[0] == ' ' ||
	    s[strlen(s) - 1] == ' ';
	if (quote && put(l, "\"", 1) == -1)
		return -1;
	if (formula && put(l, "'", 1) == -1)
		return -1;
	for (c = s; *c != '\0'; c++)
		if (put(l, c, 1) == -1 || (*c == '"' && put(l, "\"", 1) == -1))
			return -1;
	if (quote && put(l, "\"", 1) == -1)
		return -1;
	return 0;
}

int
csv_end(struct csv_line *l)
{
	/* A line cut short would leave a quote open: refused instead. */
	if (l->overflow)
		return -1;
	return put(l, "\r\n", 2);
}

void
csv_reset(struct csv_line *l)
{
	l->len = 0;
	l->cells = 0;
	l->overflow = 0;
	if (l->p != NULL)
		l->p[0] = '\0';
}

void
csv_free(struct csv_line *l)
{
	free(l->p);
	memset(l, 0, sizeof(*l));
}
