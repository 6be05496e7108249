/*
 * api_security.c: GET /api/v1/security-events for owners and admins:
 * newest first, cursor pagination ("before" = the cursor of the last
 * item seen), at most 200 a page.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "db.h"

/*
 * The cursor is "<microseconds since the epoch>_<id>" of the last item:
 * independent of the session's TimeZone.
 */
static struct db_stmt q_events = { "security_events_list",
	"SELECT id, kind, coalesce(user_id::text, ''), coalesce(ip, ''), "
	"coalesce(user_agent, ''), detail::text, created_at, "
	"(extract(epoch FROM created_at) * 1000000)::bigint || '_' || id "
	"FROM security_events WHERE company_id = $1 AND ($2::text IS NULL OR "
	"(created_at, id) < (to_timestamp(split_part($2, '_', 1)::bigint / "
	"1000000.0), split_part($2, '_', 2)::uuid)) ORDER BY created_at DESC, "
	"id DESC LIMIT $3",
	3, 0, 0 };

/* A cursor is 1 to 18 digits, '_', a UUID. */
static int
cursor_ok(const char *c)
{
	size_t n = strspn(c, "0123456789");

	return n >= 1 && n <= 18 && c[n] == '_' && db_uuid_valid(c + n + 1);
}

int
h_security_events(struct request *req, struct ctx *ctx)
{
	char	    before[64], lim[16];
	const char *p[3];
	PGresult   *res;
	json_t	   *items, *o;
	long	    n = 50;
	int	    i, has_before, r, rc;

	r = http_query_get(req, "limit", lim, sizeof(lim));
	if (r == 1) {
		char *end;

		n = strtol(lim, &end, 10);
		if (*end != '\0' || n < 1 || n > 200)
			r = -1;
	}
	has_before = http_query_get(req, "before", before, sizeof(before));
	if (r == -1 || has_before == -1 || (has_before && !cursor_ok(before)))
		return http_send_problem(req, 400, "bad_query",
		    "limit must be 1 to 200; before must be a cursor from a "
		    "previous page",
		    NULL, NULL, NULL);
	snprintf(lim, sizeof(lim), "%ld", n);
	p[0] = ctx->who.company_id;
	p[1] = has_before ? before : NULL;
	p[2] = lim;
	if ((res = db_exec_commit(ctx->db, &q_events, p)) == NULL)
		return -1;
	items = json_array();
	for (i = 0; i < PQntuples(res); i++) {
		json_t *e = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "id",
		    PQgetvalue(res, i, 0), "kind", PQgetvalue(res, i, 1),
		    "user_id", PQgetvalue(res, i, 2), "ip",
		    PQgetvalue(res, i, 3), "user_agent", PQgetvalue(res, i, 4),
		    "created_at", PQgetvalue(res, i, 6));

		json_object_set_new(
		    e, "detail", json_loads(PQgetvalue(res, i, 5), 0, NULL));
		json_array_append_new(items, e);
	}
	o = json_pack("{s:o,s:o}", "items", items, "next_cursor",
	    PQntuples(res) == n ? json_string(PQgetvalue(res, n - 1, 7))
				: json_null());
	PQclear(res);
	rc = o != NULL ? http_send_json(req, 200, o) : -1;
	json_decref(o);
	return rc;
}
