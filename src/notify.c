/* notify.c: see notify.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "conf.h"
#include "crypto.h"
#include "db.h"
#include "job_queue.h"
#include "log.h"
#include "notify.h"
#include "row.h"
#include "server_keys.h"

#define NOTIFY_BATCH 50 /* agents' digests per pass */
#define DIGEST_ITEMS 20 /* conversations named in one digest */

#define UNSUBSCRIBE "parley unsubscribe v1"

void
notify_unsubscribe_token(const char *cid, const char *uid, char out[160])
{
	char msg[80], m[44];

	snprintf(msg, sizeof(msg), "%s:%s", cid, uid);
	keys_derived_mac(UNSUBSCRIBE, msg, m);
	snprintf(out, 160, "%s.%s.%s", cid, uid, m);
}

int
notify_unsubscribe_check(const char *token, char cid[37], char uid[37])
{
	char msg[80];

	if (token == NULL || strlen(token) != 36 + 1 + 36 + 1 + 43 ||
	    token[36] != '.' || token[73] != '.')
		return -1;
	memcpy(cid, token, 36);
	cid[36] = '\0';
	memcpy(uid, token + 37, 36);
	uid[36] = '\0';
	if (!db_uuid_valid(cid) || !db_uuid_valid(uid))
		return -1;
	snprintf(msg, sizeof(msg), "%s:%s", cid, uid);
	return keys_derived_check(UNSUBSCRIBE, msg, token + 74) ? 0 : -1;
}

static struct db_stmt q_due = { "notify_due",
	"SELECT company_id, user_id FROM parley_lookup_notify_due($1::int)", 1,
	0, 0 };
static struct db_stmt q_agent = { "notify_agent",
	"SELECT email, notify_email AND (notify_digest_at IS NULL OR "
	"notify_digest_at <= now() - make_interval(secs => notify_delay)) AS "
	"due FROM users WHERE company_id = $1 AND id = $2 FOR UPDATE",
	2, 0, 0 };
/* Takes the agent's due notifications (what a digest names: the kind,
 * the chatbot, how many; never a message's text). */
static struct db_stmt q_take = { "notify_take",
	"WITH d AS (UPDATE notifications n SET emailed_at = now() FROM users u "
	"WHERE n.company_id = $1 AND n.user_id = $2 AND u.company_id = "
	"n.company_id AND u.id = n.user_id AND n.read_at IS NULL AND "
	"n.emailed_at IS NULL AND n.updated_at <= now() - make_interval(secs "
	"=> u.notify_delay) RETURNING n.kind, n.count, n.conversation_id, "
	"n.alert_id, n.updated_at) SELECT d.kind, d.count, "
	"d.conversation_id::text AS conversation_id, b.name AS chatbot, "
	"a.id::text AS alert, a.rule, a.severity FROM d LEFT JOIN "
	"conversations c ON c.company_id = $1 AND c.id = d.conversation_id "
	"LEFT JOIN chatbots b ON b.company_id = $1 AND b.id = c.chatbot_id "
	"LEFT JOIN security_alerts a ON a.company_id = $1 AND a.id = "
	"d.alert_id WHERE b.id IS NOT NULL OR a.id IS NOT NULL ORDER BY "
	"d.alert_id IS NULL, d.updated_at DESC",
	2, 0, 0 };
static struct db_stmt q_digested = { "notify_digested",
	"UPDATE users SET notify_digest_at = now() WHERE company_id = $1 AND "
	"id = $2",
	2, 0, 0 };

/* One agent's digest, in its company's transaction: 1 queued, 0 none. */
static int
digest(const struct conf *cfg, struct db *db, const char *cid, const char *uid)
{
	const char *params[2] = { cid, uid };
	char	    email[321], token[160];
	PGresult   *res;
	json_t	   *items = NULL, *job;
	int	    i, n, due;

	(void)cfg;
	if (db_tenant_begin(db, cid, NULL, NULL, NULL) == -1)
		return -1;
	if ((res = db_exec(db, &q_agent, params)) == NULL)
		goto fail;
	due = PQntuples(res) == 1 && row_bool(res, 0, "due");
	if (due)
		snprintf(email, sizeof(email), "%s", row_get(res, 0, "email"));
	PQclear(res);
	if (!due) {
		db_rollback(db);
		return 0;
	}
	if ((res = db_exec(db, &q_take, params)) == NULL)
		goto fail;
	n = PQntuples(res);
	items = json_array();
	for (i = 0; items != NULL && i < n && i < DIGEST_ITEMS; i++)
		json_array_append_new(items,
		    json_pack("{s:s,s:i,s:s*,s:s*,s:s*,s:s*,s:s*}", "kind",
			row_get(res, i, "kind"), "count",
			(int)row_int(res, i, "count"), "conversation_id",
			row_opt(res, i, "conversation_id"), "chatbot",
			row_opt(res, i, "chatbot"), "alert",
			row_opt(res, i, "alert"), "rule",
			row_opt(res, i, "rule"), "severity",
			row_opt(res, i, "severity")));
	PQclear(res);
	if (items == NULL || n == 0) {
		json_decref(items);
		db_rollback(db);
		return 0;
	}
	notify_unsubscribe_token(cid, uid, token);
	job = json_pack("{s:s,s:s,s:o,s:i,s:s}", "to", email, "template",
	    "digest", "items", items, "more",
	    n > DIGEST_ITEMS ? n - DIGEST_ITEMS : 0, "unsubscribe", token);
	if (job == NULL || (res = db_exec(db, &q_digested, params)) == NULL) {
		json_decref(job);
		goto fail;
	}
	PQclear(res);
	if (jobs_enqueue(db, "email", cid, job) == -1 || db_commit(db) == -1) {
		json_decref(job);
		goto fail;
	}
	json_decref(job);
	return 1;
fail:
	db_rollback(db);
	return -1;
}

int
notify_each(const struct conf *cfg, struct db *db, struct db_stmt *st,
    const char *arg,
    int (*fn)(const struct conf *, struct db *, const char *, const char *))
{
	const char *params[2];
	char	    lim[12], (*ids)[2][37] = NULL;
	PGresult   *res;
	int	    i, n, sum = 0;

	snprintf(lim, sizeof(lim), "%d", NOTIFY_BATCH);
	params[0] = lim;
	params[1] = arg;
	if ((res = db_exec(db, st, params)) == NULL)
		return -1;
	n = PQntuples(res);
	if (n > 0 && (ids = calloc((size_t)n, sizeof(*ids))) == NULL) {
		PQclear(res);
		return -1;
	}
	for (i = 0; i < n; i++) {
		snprintf(ids[i][0], 37, "%s", PQgetvalue(res, i, 0));
		snprintf(ids[i][1], 37, "%s", PQgetvalue(res, i, 1));
	}
	PQclear(res);
	for (i = 0; i < n; i++) {
		int r = fn(cfg, db, ids[i][0], ids[i][1]);

		if (r > 0)
			sum += r;
	}
	free(ids);
	return sum;
}

int
notify_sweep(const struct conf *cfg, struct db *db)
{
	int sent = notify_each(cfg, db, &q_due, NULL, digest);

	if (sent > 0)
		log_event(LOG_INFO, "notify_digests", LOG_I("queued", sent));
	return sent;
}

static struct db_stmt q_lapsed = { "presence_lapsed",
	"SELECT company_id, user_id FROM "
	"parley_lookup_presence_lapsed($1::int)",
	1, 0, 0 };
static struct db_stmt q_lapse = { "presence_lapse",
	"WITH o AS (UPDATE users SET presence = 'offline' WHERE company_id = "
	"$1 AND id = $2 AND presence <> 'offline' AND presence_at < now() - "
	"interval '2 minutes' RETURNING id) SELECT CASE WHEN EXISTS (SELECT 1 "
	"FROM o) THEN parley_reassign($1, $2) ELSE 0 END AS n",
	2, 0, 0 };

/* One lapsed agent: offline, their conversations handed back. */
static int
lapse(const struct conf *cfg, struct db *db, const char *cid, const char *uid)
{
	const char *params[2] = { cid, uid };
	PGresult   *res;
	int	    moved;

	(void)cfg;
	if (db_tenant_begin(db, cid, NULL, NULL, NULL) == -1)
		return -1;
	if ((res = db_exec(db, &q_lapse, params)) == NULL) {
		db_rollback(db);
		return -1;
	}
	moved = (int)row_int(res, 0, "n");
	PQclear(res);
	if (db_commit(db) == -1) {
		db_rollback(db);
		return -1;
	}
	return moved;
}

int
presence_sweep(const struct conf *cfg, struct db *db)
{
	int moved = notify_each(cfg, db, &q_lapsed, NULL, lapse);

	if (moved > 0)
		log_event(
		    LOG_INFO, "presence_lapsed", LOG_I("reassigned", moved));
	return moved;
}
