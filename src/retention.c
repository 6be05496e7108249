/*
 * retention.c: the retention sweep (see retention.h).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "attach.h"
#include "conf.h"
#include "db.h"
#include "export.h"
#include "log.h"
#include "mask.h"
#include "retention.h"
#include "util.h"

static struct db_stmt q_ret_companies = { "retention_companies",
	"SELECT company_id, period, action FROM parley_lookup_retention()", 0,
	DB_RETRY_SAFE, 0 };

/* $1 company, $2 period, $3 batch. Figures kept, then the rows deleted. */
static struct db_stmt q_ret_delete = { "retention_delete",
	"WITH v AS (SELECT id FROM conversations WHERE company_id = $1 AND "
	"last_message_at < now() - parley_retention_interval($2) ORDER BY "
	"last_message_at, id LIMIT $3::integer FOR UPDATE SKIP LOCKED), s AS "
	"(INSERT INTO conversation_stats (company_id, conversation_id, "
	"chatbot_id, created_at, last_message_at, first_visitor_at, "
	"first_response_at, handed_off_at, resolved_at, status, "
	"handoff_reason, flag_reason, message_count, tokens, rating, "
	"assignee_id) SELECT "
	"c.company_id, c.id, c.chatbot_id, c.created_at, c.last_message_at, "
	"c.first_visitor_at, c.first_response_at, c.handed_off_at, "
	"c.resolved_at, c.status, c.handoff_reason, c.flag_reason, "
	"c.message_count, c.tokens, c.rating, c.assignee_id FROM "
	"conversations c JOIN v ON v.id = c.id "
	"WHERE c.company_id = $1 AND NOT EXISTS (SELECT 1 FROM visitors x "
	"WHERE x.company_id = $1 AND x.id = c.visitor_id AND x.restricted) "
	"ON CONFLICT DO NOTHING), d AS (DELETE FROM "
	"conversations c USING v WHERE c.company_id = $1 AND c.id = v.id "
	"RETURNING c.message_count) SELECT count(*), coalesce(sum("
	"message_count), 0) FROM d",
	3, 0, 0 };
/* Visitors with no conversation left, quiet for the period. */
static struct db_stmt q_ret_visitors = { "retention_visitors",
	"WITH v AS (SELECT id FROM visitors x WHERE company_id = $1 AND "
	"last_seen_at < now() - parley_retention_interval($2) AND NOT EXISTS "
	"(SELECT 1 FROM conversations c WHERE c.company_id = $1 AND "
	"c.visitor_id = x.id) LIMIT $3::integer FOR UPDATE SKIP LOCKED) "
	"DELETE FROM visitors x USING v WHERE x.company_id = $1 AND x.id = "
	"v.id",
	3, 0, 0 };
/* The next conversations to anonymise, with their messages. */
/*
 * The next conversations to anonymise (never done, or written to since),
 * with their messages: at most $3 conversations and about 20,000
 * messages (always at least one conversation).
 */
static struct db_stmt q_ret_pick = { "retention_pick",
	"WITH v AS (SELECT id, message_count, last_message_at FROM "
	"conversations WHERE company_id = $1 AND (anonymised_at IS NULL OR "
	"last_message_at > anonymised_at) AND last_message_at < now() - "
	"parley_retention_interval($2) ORDER BY last_message_at, id LIMIT "
	"$3::integer FOR UPDATE SKIP LOCKED), w AS (SELECT id, sum("
	"message_count) OVER (ORDER BY last_message_at, id) AS run, "
	"row_number() OVER (ORDER BY last_message_at, id) AS k FROM v), x AS "
	"(SELECT id FROM w WHERE run <= 20000 OR k = 1) SELECT x.id, m.seq, "
	"m.content FROM x LEFT JOIN messages m ON m.company_id = $1 AND "
	"m.conversation_id = x.id ORDER BY x.id, m.seq",
	3, 0, 0 };
/*
 * $1 company, $2 period, $3 conversations (JSON array of ids), $4 the
 * masked messages (JSON [{conv, seq, content}]). Their attachments go:
 * a file cannot be masked (the files sweep removes them from disk).
 */
static struct db_stmt q_ret_anonymise = { "retention_anonymise",
	"WITH m AS (UPDATE messages x SET content = u.content FROM "
	"jsonb_to_recordset($4::jsonb) AS u(conv uuid, seq integer, content "
	"text) WHERE x.company_id = $1 AND x.conversation_id = u.conv AND "
	"x.seq = u.seq RETURNING 1), a AS (DELETE FROM attachments x WHERE "
	"x.company_id = $1 AND x.conversation_id IN (SELECT "
	"jsonb_array_elements_text($3::jsonb)::uuid) RETURNING 1), c AS "
	"(UPDATE conversations x SET "
	"anonymised_at = now(), rating_comment = NULL WHERE x.company_id = $1 "
	"AND x.id IN (SELECT "
	"jsonb_array_elements_text($3::jsonb)::uuid) AND $2::text IS NOT NULL "
	"RETURNING 1) SELECT (SELECT count(*) FROM c), (SELECT count(*) FROM "
	"m)",
	4, 0, 0 };
/*
 * Visitors quiet for the period, with none of their conversations
 * recent: their name, address and user id go.
 */
static struct db_stmt q_ret_anon_visitors = { "retention_anon_visitors",
	"WITH v AS (SELECT id FROM visitors x WHERE company_id = $1 AND "
	"last_seen_at < now() - parley_retention_interval($2) AND (name IS NOT "
	"NULL OR email IS NOT NULL OR external_id IS NOT NULL OR contact_email "
	"IS NOT NULL) AND NOT EXISTS "
	"(SELECT 1 FROM conversations c WHERE c.company_id = $1 AND "
	"c.visitor_id = x.id AND c.last_message_at >= now() - "
	"parley_retention_interval($2)) LIMIT $3::integer FOR UPDATE SKIP "
	"LOCKED) UPDATE visitors x SET name = NULL, email = NULL, external_id "
	"= NULL, verified = false, contact_email = NULL, contact_confirmed_at "
	"= NULL FROM v WHERE x.company_id = $1 AND x.id = v.id",
	3, 0, 0 };
/* Finished deliveries (they hold message text) after 30 days at most. */
static struct db_stmt q_ret_deliveries = { "retention_deliveries",
	"DELETE FROM webhook_deliveries x WHERE company_id = $1 AND id IN "
	"(SELECT id FROM webhook_deliveries WHERE company_id = $1 AND "
	"(delivered_at IS NOT NULL OR failed_at IS NOT NULL) AND created_at < "
	"now() - least(interval '30 days', coalesce(parley_retention_"
	"interval($2), interval '30 days')) LIMIT $3::integer)",
	3, 0, 0 };
/* Exports past their time: marked, then their files deleted. */
static struct db_stmt q_ret_exports = { "retention_exports",
	"SELECT id FROM company_exports WHERE company_id = $1 AND status = "
	"'ready' AND expires_at <= now() LIMIT 1000",
	1, 0, 0 };
static struct db_stmt q_ret_export_gone = { "retention_export_gone",
	"UPDATE company_exports SET status = 'expired' WHERE company_id = $1 "
	"AND id = $2",
	2, 0, 0 };
/* Dry run: what the sweep would touch now. */
static struct db_stmt q_ret_count = { "retention_count",
	"SELECT count(*), coalesce(sum(message_count), 0), (SELECT count(*) "
	"FROM visitors x WHERE company_id = $1 AND last_seen_at < now() - "
	"parley_retention_interval($2) AND ($3 = 'delete' OR name IS NOT NULL "
	"OR email IS NOT NULL OR external_id IS NOT NULL OR contact_email IS "
	"NOT NULL) AND NOT EXISTS "
	"(SELECT 1 FROM conversations c WHERE c.company_id = $1 AND "
	"c.visitor_id = x.id AND c.last_message_at >= now() - "
	"parley_retention_interval($2))) FROM conversations WHERE company_id "
	"= $1 AND last_message_at < now() - parley_retention_interval($2) "
	"AND ($3 = 'delete' OR anonymised_at IS NULL OR last_message_at > "
	"anonymised_at)",
	3, 0, 0 };

static long
num(PGresult *res, int col)
{
	return strtol(PQgetvalue(res, 0, col), NULL, 10);
}

/* One statement of 'st' in its own tenant transaction; its first row. */
static PGresult *
once(struct db *db, const char *cid, struct db_stmt *st, const char **p)
{
	PGresult      *res = NULL;
	struct db_call c = { st, p, &res };

	if (db_tenant_batch(db, cid, &c, 1) == -1)
		return NULL;
	return res;
}

/* Anonymises one batch; returns the conversations done, or -1. */
static long
anonymise_batch(struct db *db, const char *cid, const char *period,
    const char *batch, struct retention_counts *out)
{
	const char *p[4] = { cid, period, batch, NULL };
	PGresult   *res = NULL, *w = NULL;
	json_t	   *convs = json_array(), *msgs = json_array();
	char	   *cj = NULL, *mj = NULL, *masked;
	long	    done = -1;
	int	    i, spans;

	if (db_tenant_begin(db, cid, &q_ret_pick, p, &res) == -1)
		goto out;
	for (i = 0; i < PQntuples(res); i++) {
		const char *conv = PQgetvalue(res, i, 0);

		if (i == 0 || strcmp(conv, PQgetvalue(res, i - 1, 0)) != 0)
			json_array_append_new(convs, json_string(conv));
		if (PQgetisnull(res, i, 2))
			continue;
		if ((masked = mask_pii(PQgetvalue(res, i, 2), &spans)) == NULL)
			goto out;
		/* "[email]" may be a byte longer than a short address: keep
		 * within the column's 16000, at a character's start. */
		if (strlen(masked) > 16000) {
			size_t cut = 16000;

			while (cut > 0 &&
			    ((unsigned char)masked[cut] & 0xc0) == 0x80)
				cut--;
			masked[cut] = '\0';
		}
		/* Only what changed is written back. */
		if (spans > 0)
			json_array_append_new(msgs,
			    json_pack("{s:s,s:i,s:s}", "conv", conv, "seq",
				(int)strtol(PQgetvalue(res, i, 1), NULL, 10),
				"content", masked));
		out->messages_masked += spans;
		free(masked);
	}
	if (json_array_size(convs) == 0) {
		done = 0;
		goto out;
	}
	if ((cj = json_dumps(convs, JSON_COMPACT)) == NULL ||
	    (mj = json_dumps(msgs, JSON_COMPACT)) == NULL)
		goto out;
	p[2] = cj;
	p[3] = mj;
	if ((w = db_exec_commit(db, &q_ret_anonymise, p)) == NULL)
		goto out;
	done = num(w, 0);
	out->conversations_anonymised += done;
out:
	db_rollback(db);
	PQclear(res);
	PQclear(w);
	json_decref(convs);
	json_decref(msgs);
	free(cj);
	free(mj);
	return done;
}

/* Sweeps one company until done or 'deadline'; 0, 1 or -1. */
static int
sweep_company(const struct conf *cfg, struct db *db, const char *cid,
    const char *period, const char *action, int dry_run, time_t deadline,
    struct retention_counts *out)
{
	char	    batch[16];
	const char *p[3] = { cid, period, batch };
	PGresult   *res;
	long	    n, size = cfg->retention_batch;
	int	    finite = strcmp(period, "indefinitely") != 0;

	snprintf(batch, sizeof(batch), "%ld", size);
	if (dry_run) {
		if (!finite)
			return 0;
		p[2] = action;
		if ((res = once(db, cid, &q_ret_count, p)) == NULL)
			return -1;
		if (strcmp(action, "delete") == 0) {
			out->conversations_deleted += num(res, 0);
			out->messages_deleted += num(res, 1);
			out->visitors_deleted += num(res, 2);
		} else {
			out->conversations_anonymised += num(res, 0);
			out->visitors_anonymised += num(res, 2);
		}
		PQclear(res);
		return 0;
	}
	/* Expired exports, for every company. */
	if ((res = once(db, cid, &q_ret_exports, p)) == NULL)
		return -1;
	/* The file first: marked expired only once it is gone. */
	for (n = 0; n < PQntuples(res); n++) {
		const char *gp[2] = { cid, PQgetvalue(res, (int)n, 0) };
		char	    path[640];
		PGresult   *g;

		if (export_path(cfg, cid, gp[1], path, sizeof(path)) == -1 ||
		    (unlink(path) == -1 && errno != ENOENT) ||
		    (g = once(db, cid, &q_ret_export_gone, gp)) == NULL)
			continue;
		PQclear(g);
		out->exports_deleted++;
	}
	PQclear(res);
	/* Finished webhook deliveries, for every company. */
	do {
		if (deadline && time(NULL) >= deadline)
			return 1;
		if ((res = once(db, cid, &q_ret_deliveries, p)) == NULL)
			return -1;
		n = strtol(PQcmdTuples(res), NULL, 10);
		out->deliveries_deleted += n;
		PQclear(res);
	} while (n == size);
	if (!finite)
		return 0;
	if (strcmp(action, "anonymise") == 0) {
		do {
			if (deadline && time(NULL) >= deadline)
				return 1;
			if ((n = anonymise_batch(
				 db, cid, period, batch, out)) == -1)
				return -1;
		} while (n > 0);
		do {
			if (deadline && time(NULL) >= deadline)
				return 1;
			if ((res = once(db, cid, &q_ret_anon_visitors, p)) ==
			    NULL)
				return -1;
			n = strtol(PQcmdTuples(res), NULL, 10);
			out->visitors_anonymised += n;
			PQclear(res);
		} while (n == size);
		return 0;
	}
	do {
		if (deadline && time(NULL) >= deadline)
			return 1;
		if ((res = once(db, cid, &q_ret_delete, p)) == NULL)
			return -1;
		n = num(res, 0);
		out->conversations_deleted += n;
		out->messages_deleted += num(res, 1);
		PQclear(res);
	} while (n == size);
	do {
		if (deadline && time(NULL) >= deadline)
			return 1;
		if ((res = once(db, cid, &q_ret_visitors, p)) == NULL)
			return -1;
		n = strtol(PQcmdTuples(res), NULL, 10);
		out->visitors_deleted += n;
		PQclear(res);
	} while (n == size);
	return 0;
}

/*
 * export_dir tidied: the directory of a company that no longer exists
 * goes whole; a try's temporary files older than a day (it died) go.
 */
static void
exports_tidy(const struct conf *cfg, PGresult *companies)
{
	DIR	      *d, *cd;
	struct dirent *e, *f;
	struct stat    st;
	char	       dir[1024], path[1400];
	int	       i, known;

	if ((d = opendir(cfg->export_dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (!db_uuid_valid(e->d_name))
			continue;
		for (known = 0, i = 0; i < PQntuples(companies) && !known; i++)
			known =
			    strcmp(PQgetvalue(companies, i, 0), e->d_name) == 0;
		snprintf(dir, sizeof(dir), "%s/%s", cfg->export_dir, e->d_name);
		if (!known) {
			(void)util_remove_dir(dir);
			continue;
		}
		if ((cd = opendir(dir)) == NULL)
			continue;
		while ((f = readdir(cd)) != NULL) {
			if (f->d_name[0] != '.' &&
			    strstr(f->d_name, ".part-") == NULL)
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, f->d_name);
			if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
			    st.st_mtime < time(NULL) - 86400)
				(void)unlink(path);
		}
		closedir(cd);
	}
	closedir(d);
}

int
retention_run(const struct conf *cfg, struct db *db, int dry_run,
    time_t deadline, struct retention_counts *out)
{
	PGresult *list;
	int	  i, rc = 0;

	if ((list = db_exec(db, &q_ret_companies, NULL)) == NULL)
		return -1;
	for (i = 0; i < PQntuples(list) && rc != 1; i++) {
		const char *period = PQgetvalue(list, i, 1);
		int	    r;

		if (strcmp(period, "indefinitely") != 0)
			out->companies++;
		r = sweep_company(cfg, db, PQgetvalue(list, i, 0), period,
		    PQgetvalue(list, i, 2), dry_run, deadline, out);
		/* One company's trouble does not hold back the others. */
		if (r == -1) {
			db_rollback(db);
			log_event(LOG_WARN, "retention_company_failed",
			    LOG_S("resource", PQgetvalue(list, i, 0)));
			rc = -1;
		} else if (r == 1)
			rc = 1;
	}
	if (!dry_run && rc != 1) {
		exports_tidy(cfg, list);
		(void)attach_sweep(cfg, db, list);
	}
	PQclear(list);
	return rc;
}

int
retention_main(int argc, char *argv[])
{
	static struct conf	cfg;
	struct retention_counts c;
	const char	       *file = getenv("PARLEY_CONFIG");
	char			err[512];
	struct db	       *db;
	struct timespec		t0, t1;
	double			s;
	int			a, dry = 0, rc;

	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "-c") == 0 && a + 1 < argc)
			file = argv[++a];
		else if (strcmp(argv[a], "--dry-run") == 0)
			dry = 1;
		else
			break;
	}
	if (a < argc || strcmp(argv[0], "run") != 0) {
		fprintf(stderr,
		    "usage: parleyctl retention run [-c FILE] [--dry-run]\n");
		return 2;
	}
	if (file != NULL && *file == '\0')
		file = NULL;
	if (conf_load(&cfg, file, err, sizeof(err)) == -1) {
		fprintf(stderr, "parleyctl: retention run: %s\n", err);
		return 2;
	}
	if (cfg.database_url[0] == '\0' ||
	    (db = db_new(cfg.database_url, cfg.db_connect_timeout)) == NULL) {
		fprintf(stderr,
		    "parleyctl: retention run: database_url is "
		    "required (PARLEY_DATABASE_URL)\n");
		return 2;
	}
	memset(&c, 0, sizeof(c));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = retention_run(&cfg, db, dry, 0, &c);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	db_free(db);
	s = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("%s%ld companies with a retention period\n"
	       "conversations deleted: %ld\nmessages deleted: %ld\n"
	       "visitors deleted: %ld\nconversations anonymised: %ld\n"
	       "masked spans: %ld\nvisitors anonymised: %ld\n"
	       "webhook deliveries deleted: %ld\nexports deleted: %ld\n"
	       "seconds: %.3f\n",
	    dry ? "dry run (nothing changed): " : "", c.companies,
	    c.conversations_deleted, c.messages_deleted, c.visitors_deleted,
	    c.conversations_anonymised, c.messages_masked,
	    c.visitors_anonymised, c.deliveries_deleted, c.exports_deleted, s);
	if (rc == -1) {
		fprintf(stderr,
		    "parleyctl: retention run: a database error "
		    "stopped the sweep (see the log); run it again\n");
		return 1;
	}
	return 0;
}
