/*
 * test-mask.c: mask_pii() against the fixture of realistic messages
 * (t/fixtures/mask.txt: "in: TEXT" / "out: EXPECTED" pairs).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mask.h"
#include "tap.h"

/* The text after "in:" or "out:" and one space, newline removed. */
static const char *
value(char *line, const char *tag)
{
	size_t n = strlen(tag);

	if (strncmp(line, tag, n) != 0)
		return NULL;
	line[strcspn(line, "\n")] = '\0';
	line += n;
	return *line == ' ' ? line + 1 : line;
}

int
main(void)
{
	char	    in[4096], out[4096], line[4096], path[1024];
	const char *v, *dir = getenv("PARLEY_SRCDIR");
	char	   *got;
	FILE	   *f;
	int	    cases = 0, have_in = 0, n;

	snprintf(path, sizeof(path), "%s/t/fixtures/mask.txt",
	    dir != NULL ? dir : ".");
	if ((f = fopen(path, "r")) == NULL) {
		tap_ok(0, "open t/fixtures/mask.txt");
		return tap_done();
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if ((v = value(line, "in:")) != NULL) {
			snprintf(in, sizeof(in), "%s", v);
			have_in = 1;
		} else if ((v = value(line, "out:")) != NULL && have_in) {
			snprintf(out, sizeof(out), "%s", v);
			got = mask_pii(in, &n);
			tap_is_str(got, out, "masked: %s", in);
			free(got);
			have_in = 0;
			cases++;
		}
	}
	fclose(f);
	tap_ok(cases >= 15, "the fixture has its cases (%d)", cases);
	got = mask_pii("a@b.io c@d.io +1 202 555 0143", &n);
	tap_ok(got != NULL && n == 3, "three spans counted");
	free(got);
	return tap_done();
}
