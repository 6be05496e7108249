/*
 * row.h: row codecs. A resource declares its columns once (struct row, in
 * resources.c): the SELECT list of every statement that reads it, the
 * JSON a client gets, and the schema parleyctl openapi documents all
 * come from that declaration. Results are read by column name, never by
 * position. Nothing here knows HTTP.
 */
#ifndef PARLEY_ROW_H
#define PARLEY_ROW_H

#include <stddef.h>

#include <jansson.h>
#include <libpq-fe.h>

enum col_type {
	C_STRING,
	C_UUID,
	C_TIME, /* RFC 3339 UTC, milliseconds: 2026-12-01T20:10:28.173Z */
	C_INT,
	C_BOOL,
	C_NUMBER,
	C_STRINGS, /* an array of strings (SQL: an array, as JSON) */
	C_JSON, /* a json or jsonb value: 'sub' is its object, when one */
	C_ROWS, /* json array of 'sub' objects */
	C__MAX
};

#define COL_NULL 0x01 /* null when empty (still present) */
#define COL_EXTRA                                                              \
	0x02 /* sometimes: when a statement selects it, or the handler adds it */
#define COL_HIDDEN 0x08 /* selected for the handler, never encoded */
#define COL_ADDED 0x10 /* not selected: the handler adds it, always */

struct row;

struct col {
	const char	  *name; /* JSON member and result column */
	enum col_type	   type;
	unsigned	   flags;
	const char	  *expr; /* SQL expression when not the column */
	const struct row  *sub; /* C_JSON and C_ROWS: the object's row */
	const char *const *values; /* C_STRING: its only values, or NULL */
	const char	  *doc;
};

#define COL(name, type, flags)                                                 \
	{                                                                      \
		name, type, flags, NULL, NULL, NULL, NULL                      \
	}
#define COL_EXPR(name, type, flags, expr)                                      \
	{                                                                      \
		name, type, flags, expr, NULL, NULL, NULL                      \
	}
#define COL_DOC(name, type, flags, doc)                                        \
	{                                                                      \
		name, type, flags, NULL, NULL, NULL, doc                       \
	}
#define COL_SUB(name, type, flags, expr, sub, doc)                             \
	{                                                                      \
		name, type, flags, expr, sub, NULL, doc                        \
	}

struct row {
	const char	 *name; /* the schema's name: "Template" */
	const struct col *cols;
	size_t		  ncols;
	const char	 *doc;
};

#define ROW(name, cols, doc)                                                   \
	{                                                                      \
		name, cols, sizeof(cols) / sizeof((cols)[0]), doc              \
	}

/* Every declared row (resources.c), NULL-terminated, for SQL and docs. */
extern const struct row *const rows_all[];

/*
 * Writes 'sql' into 'out' (at most 'outlen' bytes) with each "{{Name}}"
 * replaced by row Name's SELECT list, or "{{Name a}}" by the list with
 * its columns qualified by alias 'a' (expressions are used as written).
 * Returns 0, or -1 for an unknown row or when it does not fit.
 */
int row_expand(const char *sql, char *out, size_t outlen);

/*
 * Returns row 'i' of 'res' as a JSON object with every column of 'r'
 * but COL_EXTRA ones, null for SQL NULL; NULL when a column is missing
 * from 'res' (a programming error, logged) or out of memory.
 */
json_t *row_json(const struct row *r, const PGresult *res, int i);

/* Every row of 'res' as row_json() objects in an array, or NULL. */
json_t *row_json_all(const struct row *r, const PGresult *res);

/*
 * The value of column 'name' in row 'i' of 'res'; "" for SQL NULL, as
 * PQgetvalue() has it. A column 'res' does not have is logged and read
 * as "".
 */
const char *row_get(const PGresult *res, int i, const char *name);
/* row_get(), but NULL for SQL NULL (and for a missing column). */
const char *row_opt(const PGresult *res, int i, const char *name);

/* row_get() as a boolean ('t'), and as a long long (0 when NULL). */
int	  row_bool(const PGresult *res, int i, const char *name);
long long row_int(const PGresult *res, int i, const char *name);

/* Converts PostgreSQL's timestamptz text to RFC 3339 UTC ("…Z"); 0 or -1. */
int row_time_rfc3339(const char *pg, char out[64]);

#endif
