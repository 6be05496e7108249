/*
 * api_audit.c: reading the audit log (admin+, API-key scope audit:read):
 * a filtered, paginated listing, and a CSV export of at most the last 90
 * days, streamed, its cells neutralised against formula injection. The
 * export is itself audited.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "audit.h"
#include "csv.h"
#include "db.h"
#include "log.h"

#define AUDIT_PAGE_MAX 200
#define AUDIT_EXPORT_BATCH 1000
#define EXPORT_COLS 14 /* the CSV's columns */

#define ENTRY_COLS                                                             \
	"seq, created_at, actor_type, actor_id, action, resource_type, "       \
	"resource_id, changed_fields::text, changes::text, ip, user_agent, "   \
	"request_id"
/* $2 from, $3 to, $4 actor, $5 action, $6 resource type, $7 id, $8 below. */
#define ENTRY_WHERE                                                            \
	" FROM audit_log WHERE company_id = $1 AND created_at >= "             \
	"$2::timestamptz "                                                     \
	"AND created_at < $3::timestamptz AND ($4::text IS NULL OR actor_id "  \
	"= "                                                                   \
	"$4) AND ($5::text IS NULL OR action = $5) AND ($6::text IS NULL OR "  \
	"resource_type = $6) AND ($7::text IS NULL OR resource_id = $7) AND "  \
	"($8::bigint IS NULL OR seq < $8) ORDER BY seq DESC LIMIT $9::integer"

static struct db_stmt q_entries = { "audit_entries",
	"SELECT " ENTRY_COLS ENTRY_WHERE, 9, 0, 0 };
/*
 * The export's rows: the entries, and beside each actor id who that is
 * now (a member's current e-mail and name, "deleted user" once gone; an
 * API key's name), read as the CSV is written. The log itself names ids
 * only, so erasing a person never means rewriting it.
 */
static struct db_stmt q_export_entries = { "audit_export_entries",
	"SELECT e.seq, e.created_at, e.actor_type, e.actor_id, CASE "
	"e.actor_type WHEN 'user' THEN coalesce(u.email, '') END, CASE "
	"e.actor_type WHEN 'user' THEN coalesce(u.name, 'deleted user') WHEN "
	"'api_key' THEN coalesce(k.name, 'deleted API key') END, e.action, "
	"e.resource_type, e.resource_id, e.changed_fields, e.changes, e.ip, "
	"e.user_agent, e.request_id FROM (SELECT " ENTRY_COLS ENTRY_WHERE
	") e LEFT JOIN users u ON u.company_id = $1 AND e.actor_type = 'user' "
	"AND u.id::text = e.actor_id LEFT JOIN api_keys k ON k.company_id = "
	"$1 AND e.actor_type = 'api_key' AND k.id::text = e.actor_id ORDER BY "
	"e.seq DESC",
	9, 0, 0 };
/*
 * The range: from (default: the start of time for the listing, 90 days
 * ago for the export), to (default now); whether it is within the last
 * 90 days (plus a minute of clock slack).
 */
static struct db_stmt q_range = { "audit_range",
	"SELECT coalesce($1::timestamptz, CASE WHEN $3::boolean THEN now() - "
	"interval '90 days' ELSE '-infinity' END), coalesce($2::timestamptz, "
	"'infinity'), coalesce($1::timestamptz, now()) >= now() - interval "
	"'90 days 1 minute'",
	3, 0, 0 };

struct filter {
	char	    from[64], to[64], actor[65], action[65], rtype[33], rid[65];
	const char *p[9];
	int	    limit;
};

/*
 * Reads the filters into 'f' and resolves the range in the open
 * transaction. Returns 0, or -1 after answering 400.
 */
static int
filters(struct request *req, struct ctx *ctx, struct filter *f, int export)
{
	char	    res_q[100], lim[8] = "50", *colon, *end;
	const char *rp[3];
	PGresult   *res;
	int	    rf, rt, r;
	long	    n;

	memset(f, 0, sizeof(*f));
	if ((rf = http_query_get(req, "from", f->from, sizeof(f->from))) == -1)
		return http_bad_query(req, "from", "from is malformed"), -1;
	if ((rt = http_query_get(req, "to", f->to, sizeof(f->to))) == -1)
		return http_bad_query(req, "to", "to is malformed"), -1;
	if ((r = http_query_get(req, "actor", f->actor, sizeof(f->actor))) ==
	    -1)
		return http_bad_query(req, "actor", "actor is malformed"), -1;
	f->p[3] = r == 1 ? f->actor : NULL;
	if ((r = http_query_get(req, "action", f->action, sizeof(f->action))) ==
		-1 ||
	    (r == 1 &&
		strspn(f->action, "abcdefghijklmnopqrstuvwxyz_.") !=
		    strlen(f->action)))
		return http_bad_query(req, "action", "action is malformed"), -1;
	f->p[4] = r == 1 ? f->action : NULL;
	/* resource=TYPE or TYPE:ID */
	if ((r = http_query_get(req, "resource", res_q, sizeof(res_q))) == -1)
		return http_bad_query(req, "resource", "resource is malformed"),
		       -1;
	if (r == 1) {
		if ((colon = strchr(res_q, ':')) != NULL) {
			*colon = '\0';
			snprintf(f->rid, sizeof(f->rid), "%s", colon + 1);
			f->p[6] = f->rid;
		}
		if (strlen(res_q) == 0 || strlen(res_q) >= sizeof(f->rtype) ||
		    strspn(res_q, "abcdefghijklmnopqrstuvwxyz_") !=
			strlen(res_q))
			return http_bad_query(req, "resource",
				   "resource is TYPE or TYPE:ID"),
			       -1;
		snprintf(f->rtype, sizeof(f->rtype), "%s", res_q);
		f->p[5] = f->rtype;
	}
	if ((r = http_query_get(req, "limit", lim, sizeof(lim))) == -1 ||
	    (n = strtol(lim, &end, 10)) < 1 || n > AUDIT_PAGE_MAX ||
	    *end != '\0')
		return http_bad_query(req, "limit", "limit is 1 to 200"), -1;
	f->limit = (int)n;
	rp[0] = rf == 1 ? f->from : NULL;
	rp[1] = rt == 1 ? f->to : NULL;
	rp[2] = export ? "t" : "f";
	if ((res = db_exec(ctx->db, &q_range, rp)) == NULL) {
		/* An unparsable time aborted the transaction. */
		db_rollback(ctx->db);
		return http_bad_query(req, rf == 1 ? "from" : "to",
			   "from and to must be timestamps"),
		       -1;
	}
	snprintf(f->from, sizeof(f->from), "%s", PQgetvalue(res, 0, 0));
	snprintf(f->to, sizeof(f->to), "%s", PQgetvalue(res, 0, 1));
	r = strcmp(PQgetvalue(res, 0, 2), "t") == 0;
	PQclear(res);
	if (export && !r) {
		db_rollback(ctx->db);
		return http_bad_query(req, "from",
			   "The export covers at most the last 90 days"),
		       -1;
	}
	f->p[0] = ctx->who.company_id;
	f->p[1] = f->from;
	f->p[2] = f->to;
	return 0;
}

static json_t *
entry_json(PGresult *res, int i)
{
#define S(c) (PQgetisnull(res, i, c) ? NULL : PQgetvalue(res, i, c))
#define V(c) PQgetvalue(res, i, c)
	json_t *o = json_pack("{s:I,s:s,s:s,s:s*,s:s,s:s,s:s*,s:s*,s:s*,s:s*}",
	    "seq", (json_int_t)strtoll(V(0), NULL, 10), "created_at", V(1),
	    "actor_type", V(2), "actor_id", S(3), "action", V(4),
	    "resource_type", V(5), "resource_id", S(6), "ip", S(9),
	    "user_agent", S(10), "request_id", S(11));

	if (o != NULL) {
		json_object_set_new(
		    o, "fields", json_loads(PQgetvalue(res, i, 7), 0, NULL));
		json_object_set_new(o, "changes",
		    PQgetisnull(res, i, 8) ? json_null()
					   : json_loads(V(8), 0, NULL));
	}
	return o;
#undef S
#undef V
}

int
h_audit_list(struct request *req, struct ctx *ctx)
{
	struct filter f;
	char	      cursor[24], lim[8], *end;
	PGresult     *res;
	json_t	     *items, *o;
	int	      i, r, rc;

	if (filters(req, ctx, &f, 0) == -1)
		return 0;
	if ((r = http_query_get(req, "cursor", cursor, sizeof(cursor))) == -1 ||
	    (r == 1 && (strtoll(cursor, &end, 10) < 1 || *end != '\0')))
		return http_bad_query(req, "cursor", "cursor is malformed");
	f.p[7] = r == 1 ? cursor : NULL;
	snprintf(lim, sizeof(lim), "%d", f.limit);
	f.p[8] = lim;
	if ((res = db_exec_commit(ctx->db, &q_entries, f.p)) == NULL)
		return -1;
	items = json_array();
	for (i = 0; i < PQntuples(res); i++)
		json_array_append_new(items, entry_json(res, i));
	o = json_pack("{s:o}", "items", items);
	if (o != NULL)
		json_object_set_new(o, "next_cursor",
		    PQntuples(res) == f.limit
			? json_string(PQgetvalue(res, f.limit - 1, 0))
			: json_null());
	PQclear(res);
	rc = o != NULL ? http_send_json(req, 200, o) : -1;
	json_decref(o);
	return rc;
}

/* One CSV line of row 'i' into 'l'. */
static int
csv_row(struct csv_line *l, PGresult *res, int i)
{
	int c, rc = 0;

	csv_reset(l);
	for (c = 0; c < EXPORT_COLS && rc == 0; c++)
		rc = csv_cell(
		    l, PQgetisnull(res, i, c) ? NULL : PQgetvalue(res, i, c));
	return rc == 0 ? csv_end(l) : -1;
}

int
h_audit_export(struct request *req, struct ctx *ctx)
{
	static const char *const head[EXPORT_COLS] = { "seq", "created_at",
		"actor_type", "actor_id", "actor_email", "actor_name", "action",
		"resource_type", "resource_id", "fields", "changes", "ip",
		"user_agent", "request_id" };
	struct filter		 f;
	struct audit_entry	 e = { 0 };
	struct csv_line		 l;
	char			 below[24], lim[8];
	json_t			*changes = NULL;
	PGresult		*res = NULL;
	long			 rows = 0;
	int			 i, n, rc = -1;

	memset(&l, 0, sizeof(l));
	if (filters(req, ctx, &f, 1) == -1)
		return 0;
	/* The export is itself an administrative act: audited first. */
	changes = json_pack(
	    "{s:{s:s},s:{s:s}}", "from", "new", f.from, "to", "new", f.to);
	memset(&e, 0, sizeof(e));
	e.action = "audit_log.export";
	e.resource_type = "audit_log";
	e.changes = changes;
	/*
	 * Committed before anything is read: the export is on record, and
	 * the audit chain's lock is not held while it streams.
	 */
	if (changes == NULL || audit_write(ctx, req, &e) == -1 ||
	    db_commit(ctx->db) == -1 ||
	    db_tenant_begin(ctx->db, ctx->who.company_id, NULL, NULL, NULL) ==
		-1)
		goto out;
	snprintf(lim, sizeof(lim), "%d", AUDIT_EXPORT_BATCH);
	f.p[7] = NULL;
	f.p[8] = lim;
	/* The first batch before any byte goes out: errors are still 500s. */
	if ((res = db_exec(ctx->db, &q_export_entries, f.p)) == NULL)
		goto out;
	http_stream_begin(req, "text/csv; charset=utf-8",
	    "Content-Disposition: attachment; filename=\"audit-log.csv\"\r\n");
	for (i = 0; i < EXPORT_COLS; i++)
		csv_cell(&l, head[i]);
	csv_end(&l);
	if (http_stream_write(req, l.p, l.len) == -1)
		goto done;
	for (;;) {
		n = PQntuples(res);
		for (i = 0; i < n; i++) {
			if (csv_row(&l, res, i) == -1 ||
			    http_stream_write(req, l.p, l.len) == -1)
				goto done;
			rows++;
		}
		if (n < AUDIT_EXPORT_BATCH)
			break;
		snprintf(below, sizeof(below), "%s", PQgetvalue(res, n - 1, 0));
		PQclear(res);
		f.p[7] = below;
		if ((res = db_exec(ctx->db, &q_export_entries, f.p)) == NULL)
			goto done;
	}
done:
	/* A read-only transaction: nothing to keep. */
	db_rollback(ctx->db);
	log_event(LOG_INFO, "audit_export", LOG_I("count", rows));
	rc = 0;
out:
	PQclear(res);
	csv_free(&l);
	json_decref(changes);
	return rc;
}
