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
#include "handler.h"
#include "resources.h"
#include "csv.h"
#include "db.h"
#include "log.h"

#define AUDIT_EXPORT_BATCH 1000
#define EXPORT_COLS 14 /* the CSV's columns */

#define ENTRY_COLS                                                             \
	"seq, created_at, actor_type, actor_id, action, resource_type, "       \
	"resource_id, changed_fields, changes, ip, user_agent, request_id"
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
	"SELECT {{AuditEntry}}" ENTRY_WHERE, 9, 0, 0 };
/*
 * The export's rows: the entries, and beside each actor id who that is
 * now (a member's current e-mail and name, "deleted user" once gone; an
 * API key's name), read as the CSV is written. The log itself names ids
 * only, so erasing a person never means rewriting it.
 */
static struct db_stmt q_export_entries = { "audit_export_entries",
	"SELECT e.seq, parley_time(e.created_at) AS created_at, e.actor_type, "
	"e.actor_id, CASE e.actor_type WHEN 'user' THEN coalesce(u.email, '') "
	"END AS actor_email, CASE e.actor_type WHEN 'user' THEN "
	"coalesce(u.name, 'deleted user') WHEN 'api_key' THEN coalesce(k.name, "
	"'deleted API key') END AS actor_name, e.action, e.resource_type, "
	"e.resource_id, e.changed_fields AS fields, e.changes, e.ip, "
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
	"interval '90 days' ELSE '-infinity' END) AS f, "
	"coalesce($2::timestamptz, "
	"'infinity') AS t, coalesce($1::timestamptz, now()) >= now() - "
	"interval "
	"'90 days 1 minute' AS recent",
	3, 0, 0 };

struct filter {
	char	    from[64], to[64], rtype[33], rid[65];
	const char *p[9];
	int	    limit;
};

/*
 * Reads the filters into 'f' and resolves the range in the open
 * transaction. Returns 0, or HTTP_ANSWERED after answering 400.
 */
static int
filters(struct request *req, struct ctx *ctx, struct filter *f, int export)
{
	const char *rp[3], *v, *colon;
	PGresult   *res;
	int	    r;

	memset(f, 0, sizeof(*f));
	f->p[3] = router_arg(req, "actor");
	if ((v = router_arg(req, "action")) != NULL &&
	    strspn(v, "abcdefghijklmnopqrstuvwxyz_.") != strlen(v))
		return http_bad_query(req, "action", "action is malformed"),
		       HTTP_ANSWERED;
	f->p[4] = v;
	/* resource=TYPE or TYPE:ID */
	if ((v = router_arg(req, "resource")) != NULL) {
		size_t n = (colon = strchr(v, ':')) != NULL
		    ? (size_t)(colon - v)
		    : strlen(v);

		if (n == 0 || n >= sizeof(f->rtype) ||
		    strspn(v, "abcdefghijklmnopqrstuvwxyz_") != n)
			return http_bad_query(req, "resource",
				   "resource is TYPE or TYPE:ID"),
			       HTTP_ANSWERED;
		snprintf(f->rtype, sizeof(f->rtype), "%.*s", (int)n, v);
		f->p[5] = f->rtype;
		if (colon != NULL) {
			snprintf(f->rid, sizeof(f->rid), "%s", colon + 1);
			f->p[6] = f->rid;
		}
	}
	f->limit = (int)router_arg_int(req, "limit", 50);
	rp[0] = router_arg(req, "from");
	rp[1] = router_arg(req, "to");
	rp[2] = export ? "t" : "f";
	if ((res = db_exec(ctx->db, &q_range, rp)) == NULL) {
		/* A time PostgreSQL has not (February 31st). */
		db_rollback(ctx->db);
		return http_bad_query(req, rp[0] != NULL ? "from" : "to",
			   "from and to must be timestamps"),
		       HTTP_ANSWERED;
	}
	snprintf(f->from, sizeof(f->from), "%s", row_get(res, 0, "f"));
	snprintf(f->to, sizeof(f->to), "%s", row_get(res, 0, "t"));
	r = row_bool(res, 0, "recent");
	PQclear(res);
	if (export && !r) {
		db_rollback(ctx->db);
		return http_bad_query(req, "from",
			   "The export covers at most the last 90 days"),
		       HTTP_ANSWERED;
	}
	f->p[0] = ctx->who.company_id;
	f->p[1] = f->from;
	f->p[2] = f->to;
	return 0;
}

int
h_audit_list(struct request *req, struct ctx *ctx)
{
	struct filter f;
	char	      lim[8];

	if (filters(req, ctx, &f, 0) == HTTP_ANSWERED)
		return 0;
	f.p[7] = router_arg(req, "cursor");
	snprintf(lim, sizeof(lim), "%d", f.limit);
	f.p[8] = lim;
	return api_page(req, ctx, &q_entries, f.p, f.limit);
}

/* One CSV line of row 'i' into 'l': the columns named 'head'. */
static int
csv_row(struct csv_line *l, PGresult *res, int i, const char *const *head)
{
	int c, rc = 0;

	csv_reset(l);
	for (c = 0; c < EXPORT_COLS && rc == 0; c++)
		rc = csv_cell(l, row_get(res, i, head[c]));
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
	struct csv_line		 l;
	char			 below[24], lim[8];
	json_t			*changes = NULL;
	PGresult		*res = NULL;
	long			 rows = 0;
	int			 i, n, rc = -1;

	memset(&l, 0, sizeof(l));
	if (filters(req, ctx, &f, 1) == HTTP_ANSWERED)
		return 0;
	/* The export is itself an administrative act: audited first. */
	changes = json_pack(
	    "{s:{s:s},s:{s:s}}", "from", "new", f.from, "to", "new", f.to);
	/*
	 * Committed before anything is read: the export is on record, and
	 * the audit chain's lock is not held while it streams.
	 */
	if (changes == NULL || api_audit(req, ctx, NULL, NULL, changes) == -1 ||
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
			if (csv_row(&l, res, i, head) == -1 ||
			    http_stream_write(req, l.p, l.len) == -1)
				goto done;
			rows++;
		}
		if (n < AUDIT_EXPORT_BATCH)
			break;
		snprintf(
		    below, sizeof(below), "%s", row_get(res, n - 1, "seq"));
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
