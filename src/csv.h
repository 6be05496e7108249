/*
 * csv.h: the one CSV writer (RFC 4180). Cells are quoted when they must
 * be, and a cell that a spreadsheet would read as a formula (it begins
 * with =, +, -, @, a tab or a carriage return) is neutralised with a
 * leading apostrophe, so an exported audit log cannot run anything.
 */
#ifndef PARLEY_CSV_H
#define PARLEY_CSV_H
#include <stddef.h>

/* A growing line buffer, capped at CSV_LINE_MAX bytes. */
#define CSV_LINE_MAX (64 * 1024)
struct csv_line {
	char  *p; /* owned; NUL-terminated */
	size_t len, cap;
	int    cells; /* cells in this line so far */
	int    overflow; /* the line hit CSV_LINE_MAX: cells were cut */
};

/* Appends cell 's' (NULL: an empty cell). Returns 0, or -1 (no memory). */
int csv_cell(struct csv_line *l, const char *s);
/*
 * Ends the line with CRLF; the text is l->p, l->len bytes. -1 when the
 * line overflowed CSV_LINE_MAX (it must not be sent).
 */
int csv_end(struct csv_line *l);
/* Empties 'l' for the next line (keeps its memory). */
void csv_reset(struct csv_line *l);
void csv_free(struct csv_line *l);
#endif
