/*
 * test-csv.c: the CSV writer: RFC 4180 quoting, formula neutralisation.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "tap.h"

static const struct {
	const char *cells[3];
	const char *line;
} cases[] = {
	{ { "a", "b", "c" }, "a,b,c\r\n" },
	{ { "a,b", "say \"hi\"", "two\nlines" },
	    "\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\"\r\n" },
	{ { "=1+2", "+SUM(A1)", "-2" }, "\"'=1+2\",\"'+SUM(A1)\",\"'-2\"\r\n" },
	{ { "@cmd", "\tx", "\rx" }, "\"'@cmd\",\"'\tx\",\"'\rx\"\r\n" },
	{ { "=HYPERLINK(\"http://x\")", "ok", "" },
	    "\"'=HYPERLINK(\"\"http://x\"\")\",ok,\r\n" },
	{ { " lead", "trail ", "a=b" }, "\" lead\",\"trail \",a=b\r\n" },
	{ { "  =1+1", " @x", "x" }, "\"'  =1+1\",\"' @x\",x\r\n" },
	{ { "caf\xc3\xa9", "\xe2\x82\xac", "x" },
	    "caf\xc3\xa9,\xe2\x82\xac,x\r\n" },
};

int
main(void)
{
	struct csv_line l;
	size_t		i;
	int		j;

	memset(&l, 0, sizeof(l));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		csv_reset(&l);
		for (j = 0; j < 3; j++)
			csv_cell(&l, cases[i].cells[j]);
		csv_end(&l);
		tap_is_str(l.p, cases[i].line, "case %zu", i);
	}
	csv_reset(&l);
	csv_cell(&l, NULL);
	csv_cell(&l, "x");
	csv_end(&l);
	tap_is_str(l.p, ",x\r\n", "a NULL cell is empty");
	csv_free(&l);
	tap_done();
	return 0;
}
