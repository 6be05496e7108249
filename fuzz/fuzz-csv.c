/*
 * fuzz-csv: CSV export cells (csv_cell()): the line reads back, by RFC
 * 4180, as exactly the cells written, a formula (=, +, -, @, tab or CR
 * first, after spaces) with one leading apostrophe, and nothing else.
 */
#include "config.h"

#include "csv.h"
#include "fuzz.h"

#define MAXCELLS 64

/* Reads cell 'k' of 'line' into a new string; NULL if there is none. */
static char *
cell_at(const char *line, size_t len, int want)
{
	size_t i = 0, o = 0;
	char  *out = malloc(len + 1);
	int    k = 0;

	if (out == NULL)
		return NULL;
	for (;;) {
		int quoted = i < len && line[i] == '"';

		o = 0;
		if (quoted) {
			for (i++;; i++) {
				FUZZ_ASSERT(i < len, "an unterminated quote");
				if (line[i] == '"') {
					if (i + 1 < len && line[i + 1] == '"') {
						out[o++] = '"';
						i++;
						continue;
					}
					i++;
					break;
				}
				out[o++] = line[i];
			}
		} else
			while (i < len && line[i] != ',') {
				FUZZ_ASSERT(line[i] != '"' && line[i] != '\n',
				    "a quote or newline in an unquoted cell");
				out[o++] = line[i++];
			}
		out[o] = '\0';
		if (k == want)
			return out;
		if (i == len) { /* no cell 'want' */
			free(out);
			return NULL;
		}
		FUZZ_ASSERT(line[i] == ',', "junk after a cell");
		i++;
		k++;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct csv_line l = { 0 };
	char	       *in = fuzz_str(data, size), *cells[MAXCELLS], *p, *got;
	int		n = 0, k;

	if (in == NULL)
		return 0;
	for (p = in; n < MAXCELLS; n++) {
		cells[n] = p;
		if ((p = strchr(p, '\x1f')) == NULL) {
			n++;
			break;
		}
		*p++ = '\0';
	}
	for (k = 0; k < n; k++)
		if (csv_cell(&l, cells[k]) == -1)
			goto out;
	if (csv_end(&l) == -1)
		goto out;
	FUZZ_ASSERT(
	    l.len >= 2 && l.p[l.len - 2] == '\r' && l.p[l.len - 1] == '\n',
	    "the line does not end with CRLF");
	for (k = 0; k < n; k++) {
		const char *s = cells[k];
		size_t	    sp = strspn(s, " ");
		int formula = s[sp] != '\0' && strchr("=+-@\t\r", s[sp]);

		got = cell_at(l.p, l.len - 2, k);
		FUZZ_ASSERT(got != NULL, "a cell is missing");
		FUZZ_ASSERT(formula ? got[0] == '\'' && strcmp(got + 1, s) == 0
				    : strcmp(got, s) == 0,
		    "a cell reads back otherwise");
		free(got);
	}
	FUZZ_ASSERT(cell_at(l.p, l.len - 2, n) == NULL, "an extra cell");
out:
	csv_free(&l);
	free(in);
	return 0;
}
