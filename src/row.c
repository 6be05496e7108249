/*
 * row.c: row codecs: SELECT lists from declarations, JSON from rows read
 * by column name, timestamps as RFC 3339 UTC.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "row.h"

static const struct row *
row_find(const char *name, size_t len)
{
	size_t i;

	for (i = 0; rows_all[i] != NULL; i++)
		if (strlen(rows_all[i]->name) == len &&
		    strncmp(rows_all[i]->name, name, len) == 0)
			return rows_all[i];
	return NULL;
}

/* Appends 's' to 'out' at '*pos'; -1 when it does not fit. */
static int
put(char *out, size_t outlen, size_t *pos, const char *s, size_t n)
{
	if (*pos + n + 1 > outlen)
		return -1;
	memcpy(out + *pos, s, n);
	*pos += n;
	out[*pos] = '\0';
	return 0;
}

/* The SELECT list of 'r', columns qualified by 'alias' (may be ""). */
static int
put_list(const struct row *r, const char *alias, size_t alen, char *out,
    size_t outlen, size_t *pos)
{
	size_t i, n = 0;

	for (i = 0; i < r->ncols; i++) {
		const struct col *c = &r->cols[i];

		if (c->flags & (COL_EXTRA | COL_ADDED))
			continue;
		if (n++ > 0 && put(out, outlen, pos, ", ", 2) == -1)
			return -1;
		if (c->expr != NULL) {
			if (put(out, outlen, pos, c->expr, strlen(c->expr)) ==
				-1 ||
			    put(out, outlen, pos, " AS \"", 5) == -1 ||
			    put(out, outlen, pos, c->name, strlen(c->name)) ==
				-1 ||
			    put(out, outlen, pos, "\"", 1) == -1)
				return -1;
			continue;
		}
		if (alen > 0 &&
		    (put(out, outlen, pos, alias, alen) == -1 ||
			put(out, outlen, pos, ".", 1) == -1))
			return -1;
		if (put(out, outlen, pos, c->name, strlen(c->name)) == -1)
			return -1;
	}
	return 0;
}

int
row_expand(const char *sql, char *out, size_t outlen)
{
	const char *p = sql, *open, *close, *sp;
	size_t	    pos = 0;

	if (outlen == 0)
		return -1;
	out[0] = '\0';
	while ((open = strstr(p, "{{")) != NULL) {
		const struct row *r;

		if (put(out, outlen, &pos, p, (size_t)(open - p)) == -1 ||
		    (close = strstr(open, "}}")) == NULL)
			return -1;
		open += 2;
		sp = memchr(open, ' ', (size_t)(close - open));
		r = row_find(open, (size_t)((sp != NULL ? sp : close) - open));
		if (r == NULL ||
		    put_list(r, sp != NULL ? sp + 1 : "",
			sp != NULL ? (size_t)(close - sp - 1) : 0, out, outlen,
			&pos) == -1)
			return -1;
		p = close + 2;
	}
	return put(out, outlen, &pos, p, strlen(p));
}

/* Column 'name' of 'res', or -1 (logged: a statement and its row differ). */
static int
col_number(const PGresult *res, const char *name)
{
	int n = PQfnumber(res, name);

	if (n < 0)
		log_event(
		    LOG_ERROR, "row_column_missing", LOG_S("column", name));
	return n;
}

const char *
row_opt(const PGresult *res, int i, const char *name)
{
	int n = col_number(res, name);

	if (n < 0 || PQgetisnull(res, i, n))
		return NULL;
	return PQgetvalue(res, i, n);
}

const char *
row_get(const PGresult *res, int i, const char *name)
{
	const char *v = row_opt(res, i, name);

	return v != NULL ? v : "";
}

int
row_bool(const PGresult *res, int i, const char *name)
{
	return row_get(res, i, name)[0] == 't';
}

long long
row_int(const PGresult *res, int i, const char *name)
{
	return strtoll(row_get(res, i, name), NULL, 10);
}

int
row_time_rfc3339(const char *pg, char out[64])
{
	struct tm tm;
	char	  frac[4] = "000";
	int	  y, mo, d, h, mi, s, oh = 0, om = 0, sign = 1, n = 0;
	size_t	  f;
	time_t	  t;

	/* "2026-12-01 20:10:28.173302+00", "+05:30", or already "…T…Z" */
	if (sscanf(pg, "%4d-%2d-%2d%*1[ T]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi,
		&s, &n) != 6)
		return -1;
	pg += n;
	if (*pg == '.') {
		f = strspn(pg + 1, "0123456789");
		memcpy(frac, pg + 1, f < 3 ? f : 3);
		pg += 1 + f;
	}
	if (*pg == 'Z')
		pg++;
	else if (*pg == '+' || *pg == '-') {
		sign = *pg == '-' ? -1 : 1;
		n = 0;
		if (sscanf(pg + 1, "%2d%n", &oh, &n) != 1)
			return -1;
		pg += 1 + n;
		if (*pg == ':' && sscanf(pg + 1, "%2d%n", &om, &n) == 1)
			pg += 1 + n;
	} else
		return -1;
	if (*pg != '\0')
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	t = timegm(&tm) - sign * (oh * 3600 + om * 60);
	if (gmtime_r(&t, &tm) == NULL)
		return -1;
	snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%sZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, frac);
	return 0;
}

/* The JSON value of text 'v' as column 'c' says, or NULL. */
static json_t *
col_value(const struct col *c, const char *v)
{
	char	     ts[64];
	json_error_t e;

	switch (c->type) {
	case C_TIME:
		return row_time_rfc3339(v, ts) == 0 ? json_string(ts) : NULL;
	case C_INT: return json_integer(strtoll(v, NULL, 10));
	case C_BOOL: return json_boolean(v[0] == 't');
	case C_NUMBER: return json_real(strtod(v, NULL));
	case C_STRINGS:
	case C_JSON:
	case C_ROWS: return json_loads(v, JSON_DECODE_ANY, &e);
	default: return json_string(v);
	}
}

json_t *
row_json(const struct row *r, const PGresult *res, int i)
{
	json_t *o = json_object(), *v;
	size_t	k;

	if (o == NULL)
		return NULL;
	for (k = 0; k < r->ncols; k++) {
		const struct col *c = &r->cols[k];
		int		  n;

		if (c->flags & (COL_ADDED | COL_HIDDEN))
			continue;
		/* A sometimes column: there when the statement selected it. */
		if ((c->flags & COL_EXTRA) && PQfnumber(res, c->name) < 0)
			continue;
		if ((n = col_number(res, c->name)) < 0)
			goto fail;
		if (PQgetisnull(res, i, n))
			v = json_null();
		else if ((v = col_value(c, PQgetvalue(res, i, n))) == NULL) {
			log_event(LOG_ERROR, "row_column_unreadable",
			    LOG_S("column", c->name));
			goto fail;
		}
		if (json_object_set_new(o, c->name, v) == -1)
			goto fail;
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}

json_t *
row_json_all(const struct row *r, const PGresult *res)
{
	json_t *a = json_array(), *o;
	int	i;

	if (a == NULL)
		return NULL;
	for (i = 0; i < PQntuples(res); i++)
		if ((o = row_json(r, res, i)) == NULL ||
		    json_array_append_new(a, o) == -1) {
			json_decref(a);
			return NULL;
		}
	return a;
}
