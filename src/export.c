/*
 * export.c: the data export job (see export.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "attach.h"
#include "conf.h"
#include "crypto.h"
#include "db.h"
#include "export.h"
#include "log.h"
#include "row.h"
#include "util.h"

#define PAGE 1000
#define MSG_PAGE 5000
#define ZERO_UUID "00000000-0000-0000-0000-000000000000"

static struct db_stmt q_exp_state = { "export_state",
	"UPDATE company_exports SET status = $3, stage = $4, records = "
	"coalesce($5::bigint, records), error = $6, bytes = $7::bigint, sha256 "
	"= $8, finished_at = CASE WHEN $3 IN ('ready', 'failed') THEN now() "
	"END, expires_at = CASE WHEN $3 = 'ready' THEN now() + "
	"make_interval(secs => $9::double precision) END WHERE company_id = $1 "
	"AND id = $2 AND status IN ('queued', 'running') RETURNING id",
	9, 0, 0 };
static struct db_stmt q_exp_company = { "export_company",
	"SELECT json_build_object('id', id, 'name', name, 'plan', plan, "
	"'settings', json_build_object('mfa_required', mfa_required, "
	"'retention_period', retention_period, 'retention_action', "
	"retention_action), 'created_at', parley_time(created_at))::text FROM "
	"companies "
	"WHERE id = $1",
	1, 0, 0 };

/* A file of the archive read in pages: $1 company, $2 after, $3 limit. */
struct table {
	const char    *file;
	struct db_stmt st;
};

static struct table tables[] = {
	{ "members.json",
	    { "export_members",
		"SELECT id::text, json_build_object('id', id, 'email', email, "
		"'name', name, 'role', role, 'email_verified', "
		"email_verified_at IS NOT NULL, 'mfa_enabled', totp_enabled_at "
		"IS NOT NULL, 'created_at', parley_time(created_at))::text "
		"FROM users WHERE "
		"company_id = $1 AND id > $2::uuid ORDER BY id LIMIT "
		"$3::integer",
		3, 0, 0 } },
	{ "chatbots.json",
	    { "export_chatbots",
		"SELECT id::text, json_build_object('id', id, 'name', name, "
		"'prompt_template', prompt_template, 'welcome_message', "
		"welcome_message, 'allowed_origins', allowed_origins, "
		"'link_domains', link_domains, 'language', language, 'model', "
		"model, 'temperature', temperature, 'max_tokens', max_tokens, "
		"'handoff_keywords', handoff_keywords, 'handoff_on_no_answer', "
		"handoff_on_no_answer, 'require_verified', require_verified, "
		"'created_at', parley_time(created_at), 'updated_at', "
		"parley_time(updated_at))::text "
		"FROM chatbots WHERE company_id = $1 AND id > $2::uuid ORDER "
		"BY "
		"id LIMIT $3::integer",
		3, 0, 0 } },
	{ "documents.json",
	    { "export_documents",
		"SELECT id::text, json_build_object('id', id, 'chatbot_id', "
		"chatbot_id, 'title', title, 'content_type', content_type, "
		"'source_url', source_url, 'text', text, 'created_at', "
		"parley_time(created_at))::text FROM kb_documents WHERE "
		"company_id = $1 AND "
		"id > $2::uuid ORDER BY id LIMIT least($3::integer, 50)",
		3, 0, 0 } },
	{ "templates.json",
	    { "export_templates",
		"SELECT id::text, json_build_object('id', id, 'name', name, "
		"'body', body, 'created_at', parley_time(created_at))::text "
		"FROM "
		"response_templates WHERE company_id = $1 AND id > $2::uuid "
		"ORDER BY id LIMIT $3::integer",
		3, 0, 0 } },
	{ "visitors.json",
	    { "export_visitors",
		"SELECT id::text, json_build_object('id', id, 'chatbot_id', "
		"chatbot_id, 'user_id', external_id, 'email', email, 'name', "
		"name, 'verified', verified, 'restricted', restricted, "
		"'created_at', parley_time(created_at), 'last_seen_at', "
		"parley_time(last_seen_at))::text "
		"FROM visitors WHERE company_id = $1 AND id > $2::uuid ORDER "
		"BY "
		"id LIMIT $3::integer",
		3, 0, 0 } },
	{ "consents.json",
	    { "export_consents",
		"SELECT id::text, json_build_object('id', id, 'visitor_id', "
		"visitor_id, 'chatbot_id', chatbot_id, 'categories', "
		"categories, 'policy_version', policy_version, 'created_at', "
		"parley_time(created_at))::text FROM consents WHERE company_id "
		"= $1 AND id "
		"> "
		"$2::uuid ORDER BY id LIMIT $3::integer",
		3, 0, 0 } },
	{ "audit_log.json",
	    { "export_audit",
		"SELECT seq::text, json_build_object('seq', seq, 'created_at', "
		"parley_time(created_at), 'actor_type', actor_type, "
		"'actor_id', actor_id, "
		"'action', action, 'resource_type', resource_type, "
		"'resource_id', resource_id, 'fields', changed_fields, "
		"'changes', changes, 'ip', ip, 'user_agent', user_agent, "
		"'request_id', request_id)::text FROM audit_log WHERE "
		"company_id = $1 AND seq > $2::bigint ORDER BY seq LIMIT "
		"$3::integer",
		3, 0, 0 } },
};

/* Conversations in id order, then their messages in pages. */
static struct db_stmt q_exp_convs = { "export_conversations",
	"SELECT id, json_build_object('id', id, 'chatbot_id', chatbot_id, "
	"'visitor_id', visitor_id, 'status', status, 'handoff_reason', "
	"handoff_reason, 'created_at', parley_time(created_at), "
	"'last_message_at', "
	"parley_time(last_message_at), 'resolved_at', "
	"parley_time(resolved_at), 'rating', rating, 'rating_comment', "
	"rating_comment, 'rated_at', parley_time(rated_at))::text FROM "
	"conversations "
	"WHERE company_id = $1 AND id > $2::uuid ORDER BY id LIMIT $3::integer",
	3, 0, 0 };
/* $2 first, $3 last conversation of the page; $4/$5 the last row seen. */
static struct db_stmt q_exp_msgs = { "export_messages",
	"SELECT conversation_id, json_build_object('seq', seq, 'role', role, "
	"'author_id', author_id, 'content', content, 'created_at', "
	"parley_time(created_at))::text, seq FROM messages WHERE company_id = "
	"$1 AND "
	"(company_id, conversation_id, seq) > ($1, $4::uuid, $5::integer) AND "
	"conversation_id >= $2::uuid AND conversation_id <= $3::uuid ORDER BY "
	"conversation_id, seq LIMIT $6::integer",
	6, 0, 0 };

/* This try of the export: its lease is renewed as it goes. */
struct run {
	const struct conf *cfg;
	struct db	  *db;
	const struct job  *job;
	time_t		   renewed;
	int		   lost; /* another try took the job */
};

/* Renews the job's lease every 20 s; returns -1 once the job is lost. */
static int
keep_alive(struct run *r)
{
	int rc;

	if (r->job == NULL || time(NULL) - r->renewed < 20)
		return r->lost ? -1 : 0;
	if ((rc = jobs_extend(r->cfg, r->db, r->job)) == 0)
		r->lost = 1;
	r->renewed = time(NULL);
	return r->lost ? -1 : 0;
}

/* One temporary file of the archive being written. */
struct part {
	char  path[640];
	FILE *f;
	long  records;
};

static int
part_open(struct part *p, const char *dir, const char *name, const char *tag)
{
	int fd;

	snprintf(p->path, sizeof(p->path), "%s/.%s.%s.tmp", dir, name, tag);
	p->records = 0;
	if ((fd = open(p->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		 0600)) == -1)
		return -1;
	if ((p->f = fdopen(fd, "w")) == NULL) {
		close(fd);
		return -1;
	}
	return fputs("[", p->f) == EOF ? -1 : 0;
}

/* Appends one JSON value (text) to the array of 'p'. */
static int
part_add(struct part *p, const char *json)
{
	if (fputs(p->records++ ? ",\n" : "\n", p->f) == EOF ||
	    fputs(json, p->f) == EOF)
		return -1;
	return 0;
}

static int
part_close(struct part *p)
{
	int rc = fputs(p->records ? "\n]\n" : "]\n", p->f) == EOF ? -1 : 0;

	if (fclose(p->f) != 0)
		rc = -1;
	p->f = NULL;
	return rc;
}

/* A page of 'st' for company 'cid' after key 'after'. */
static PGresult *
page(struct db *db, const char *cid, struct db_stmt *st, const char *after,
    const char *lim)
{
	const char    *p[3] = { cid, after, lim };
	PGresult      *res = NULL;
	struct db_call c = { st, p, &res };

	if (db_tenant_batch(db, cid, &c, 1) == -1)
		return NULL;
	return res;
}

/* Writes table 't' of company 'cid' into 'p'. Returns 0 or -1. */
static int
write_table(struct run *run, const char *cid, struct table *t, struct part *p)
{
	struct db *db = run->db;
	char	   after[48], lim[16];
	PGresult  *res;
	int	   i, n;

	snprintf(after, sizeof(after), "%s",
	    strcmp(t->file, "audit_log.json") == 0 ? "0" : ZERO_UUID);
	snprintf(lim, sizeof(lim), "%d", PAGE);
	do {
		if (keep_alive(run) == -1 ||
		    (res = page(db, cid, &t->st, after, lim)) == NULL)
			return -1;
		n = PQntuples(res);
		for (i = 0; i < n; i++)
			if (part_add(p, PQgetvalue(res, i, 1)) == -1) {
				PQclear(res);
				return -1;
			}
		if (n > 0)
			snprintf(after, sizeof(after), "%s",
			    PQgetvalue(res, n - 1, 0));
		PQclear(res);
	} while (n > 0);
	return 0;
}

/*
 * Writes the conversations of company 'cid', each with its messages, into
 * 'p' ("messages" added to each conversation object as it is written).
 */
static int
write_conversations(
    struct run *run, const char *cid, struct part *p, long *messages)
{
	struct db  *db = run->db;
	char	    after[48] = ZERO_UUID, lim[16], mlim[16], seq[16];
	char	    mconv[48];
	const char *mp[6];
	PGresult   *convs, *msgs = NULL;
	int	    i, n, m = 0, mi = 0, cmp;

	snprintf(lim, sizeof(lim), "%d", PAGE);
	snprintf(mlim, sizeof(mlim), "%d", MSG_PAGE);
	do {
		if (keep_alive(run) == -1 ||
		    (convs = page(db, cid, &q_exp_convs, after, lim)) == NULL)
			return -1;
		n = PQntuples(convs);
		snprintf(mconv, sizeof(mconv), "%s", ZERO_UUID);
		snprintf(seq, sizeof(seq), "0");
		msgs = NULL;
		m = mi = 0;
		for (i = 0; i < n; i++) {
			const char *id = PQgetvalue(convs, i, 0);
			const char *cj = PQgetvalue(convs, i, 1);
			size_t	    len = strlen(cj);
			int	    first = 1;

			/* The object without its closing brace, then the
			 * messages array, then the brace. */
			if (fputs(p->records++ ? ",\n" : "\n", p->f) == EOF ||
			    fwrite(cj, 1, len - 1, p->f) != len - 1 ||
			    fputs(", \"messages\" : [", p->f) == EOF)
				goto fail;
			for (;;) {
				if (mi == m) {
					struct db_call c = { &q_exp_msgs, mp,
						&msgs };

					PQclear(msgs);
					msgs = NULL;
					mp[0] = cid;
					mp[1] = PQgetvalue(convs, 0, 0);
					mp[2] = PQgetvalue(convs, n - 1, 0);
					mp[3] = mconv;
					mp[4] = seq;
					mp[5] = mlim;
					if (db_tenant_batch(db, cid, &c, 1) ==
					    -1)
						goto fail;
					m = PQntuples(msgs);
					mi = 0;
					if (m == 0)
						break;
				}
				/* A conversation begun during the export falls
				 * in the page's range, but is not in it: its
				 * messages are skipped, not taken for the
				 * next conversation's end. */
				if ((cmp = strcmp(
					 PQgetvalue(msgs, mi, 0), id)) < 0) {
					mi++;
					continue;
				}
				if (cmp > 0)
					break;
				if (fputs(first ? "\n" : ",\n", p->f) == EOF ||
				    fputs(PQgetvalue(msgs, mi, 1), p->f) == EOF)
					goto fail;
				first = 0;
				(*messages)++;
				snprintf(mconv, sizeof(mconv), "%s", id);
				snprintf(seq, sizeof(seq), "%s",
				    PQgetvalue(msgs, mi, 2));
				mi++;
			}
			if (fputs("]}", p->f) == EOF)
				goto fail;
		}
		if (n > 0)
			snprintf(after, sizeof(after), "%s",
			    PQgetvalue(convs, n - 1, 0));
		PQclear(msgs);
		msgs = NULL;
		PQclear(convs);
	} while (n > 0);
	return 0;
fail:
	PQclear(msgs);
	PQclear(convs);
	return -1;
}

/* Adds file 'path' as 'name' to archive 'a'; its SHA-256 into 'hex'. */
static int
add_file(struct archive *a, const char *path, const char *name, char hex[65])
{
	struct archive_entry *e;
	struct stat	      st;
	unsigned char	      md[32];
	char		      buf[65536];
	EVP_MD_CTX	     *h = NULL;
	size_t		      got;
	FILE		     *f;
	int		      rc = -1;

	if ((f = fopen(path, "re")) == NULL)
		return -1;
	if (fstat(fileno(f), &st) == -1 || (e = archive_entry_new()) == NULL) {
		fclose(f);
		return -1;
	}
	archive_entry_set_pathname(e, name);
	archive_entry_set_size(e, st.st_size);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0600);
	archive_entry_set_mtime(e, time(NULL), 0);
	if (archive_write_header(a, e) != ARCHIVE_OK ||
	    (h = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(h, EVP_sha256(), NULL) != 1)
		goto out;
	while ((got = fread(buf, 1, sizeof(buf), f)) > 0) {
		if (archive_write_data(a, buf, got) != (la_ssize_t)got ||
		    EVP_DigestUpdate(h, buf, got) != 1)
			goto out;
	}
	if (ferror(f) || EVP_DigestFinal_ex(h, md, NULL) != 1)
		goto out;
	crypto_hex(md, sizeof(md), hex);
	rc = 0;
out:
	EVP_MD_CTX_free(h);
	archive_entry_free(e);
	fclose(f);
	return rc;
}

/* A company's attachments, 200 at a time after id $2. */
static struct db_stmt q_exp_attachments = { "export_attachments",
	"SELECT id::text, storage_key, filename FROM attachments WHERE "
	"company_id = $1 AND id > $2::uuid ORDER BY id LIMIT 200",
	2, DB_RETRY_SAFE, 0 };

/*
 * Adds every attachment file of 'cid' to 'a' as attachments/ID-NAME,
 * listed in 'files' with its digest. A file the sweep removed meanwhile
 * (its row went) is left out. 0, -1 (database) or 1 (write).
 */
static int
write_attachments(
    struct run *run, const char *cid, struct archive *a, json_t *files)
{
	char	  after[37] = "00000000-0000-0000-0000-000000000000";
	char	  path[700], name[300], hex[65];
	PGresult *res;
	int	  i, n;

	do {
		const char    *p[2] = { cid, after };
		struct db_call c = { &q_exp_attachments, p, &res };

		if (keep_alive(run) == -1 ||
		    db_tenant_batch(run->db, cid, &c, 1) == -1)
			return -1;
		n = PQntuples(res);
		for (i = 0; i < n; i++) {
			snprintf(
			    after, sizeof(after), "%s", row_get(res, i, "id"));
			if (attach_path(run->cfg, cid,
				row_get(res, i, "storage_key"), path,
				sizeof(path)) == -1 ||
			    access(path, R_OK) == -1)
				continue;
			snprintf(name, sizeof(name), "attachments/%s-%s", after,
			    row_get(res, i, "filename"));
			/* Removed since (its row went): left out. */
			if (add_file(a, path, name, hex) == -1) {
				if (errno == ENOENT)
					continue;
				PQclear(res);
				return 1;
			}
			json_array_append_new(files,
			    json_pack("{s:s,s:i,s:s}", "name", name, "records",
				1, "sha256", hex));
		}
		PQclear(res);
	} while (n == 200);
	return 0;
}

/* SHA-256 of file 'path' as hex; its size in '*size'. */
static int
file_sha256(const char *path, char hex[65], long long *size)
{
	unsigned char md[32];
	char	      buf[65536];
	EVP_MD_CTX   *h;
	size_t	      got;
	FILE	     *f;
	int	      rc = -1;

	if ((f = fopen(path, "re")) == NULL)
		return -1;
	*size = 0;
	if ((h = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestInit_ex(h, EVP_sha256(), NULL) == 1) {
		while ((got = fread(buf, 1, sizeof(buf), f)) > 0) {
			EVP_DigestUpdate(h, buf, got);
			*size += (long long)got;
		}
		if (!ferror(f) && EVP_DigestFinal_ex(h, md, NULL) == 1) {
			crypto_hex(md, sizeof(md), hex);
			rc = 0;
		}
	}
	EVP_MD_CTX_free(h);
	fclose(f);
	return rc;
}

int
export_path(const struct conf *cfg, const char *cid, const char *id, char *out,
    size_t len)
{
	int n;

	if (!db_uuid_valid(cid) || !db_uuid_valid(id))
		return -1;
	n = snprintf(out, len, "%s/%s/%s.tar.gz", cfg->export_dir, cid, id);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* Records the export's state; returns 1 if the row was still open. */
static int
set_state(const struct conf *cfg, struct db *db, const char *cid,
    const char *id, const char *status, const char *stage, long records,
    const char *err, long long bytes, const char *sha)
{
	char	       rec[24], b[24], ttl[16];
	const char    *p[9];
	PGresult      *res = NULL;
	struct db_call c = { &q_exp_state, p, &res };
	int	       open_row;

	snprintf(rec, sizeof(rec), "%ld", records);
	snprintf(b, sizeof(b), "%lld", bytes);
	snprintf(ttl, sizeof(ttl), "%d", cfg->export_ttl);
	p[0] = cid;
	p[1] = id;
	p[2] = status;
	p[3] = stage;
	p[4] = records >= 0 ? rec : NULL;
	p[5] = err;
	p[6] = bytes >= 0 ? b : NULL;
	p[7] = sha;
	p[8] = ttl;
	if (db_tenant_batch(db, cid, &c, 1) == -1)
		return -1;
	open_row = PQntuples(res) == 1;
	PQclear(res);
	return open_row;
}

/*
 * Whether the failure at hand ('err', with 'e' the errno of the call that
 * failed) is a full disk: a write that failed with ENOSPC or EDQUOT, or a
 * table's rows that could not be written into the part file 'f'.
 */
static int
disk_full(const char *err, int e, FILE *f)
{
	if (e != ENOSPC && e != EDQUOT)
		return 0;
	return strcmp(err, "write") == 0 || strcmp(err, "export_dir") == 0 ||
	    (strcmp(err, "database") == 0 && f != NULL && ferror(f));
}

enum job_result
export_run(const struct conf *cfg, struct db *db, const struct job *job,
    const char **err)
{
	const char *id =
	    json_string_value(json_object_get(job->payload, "export"));
	const char *cid = job->company_id;
	char	    dir[560], final[640], tmp[680] = "", hex[65], tag[32];
	struct part p = { "", NULL, 0 };
	/* parleyctl export run has no job row to renew. */
	struct run	run = { cfg, db, job->id != NULL ? job : NULL, 0, 0 };
	struct archive *a = NULL;
	json_t	       *manifest = NULL, *files = NULL;
	PGresult       *res = NULL;
	char	       *mj = NULL;
	long		total = 0, messages = 0;
	long long	size;
	size_t		i;
	int		r, fd = -1;

	*err = "bad_payload";
	if (cid == NULL || !db_uuid_valid(id) ||
	    export_path(cfg, cid, id, final, sizeof(final)) == -1)
		return JOB_FAIL;
	*err = "database";
	if ((r = set_state(cfg, db, cid, id, "running", "company", 0, NULL, -1,
		 NULL)) != 1)
		return r == 0 ? JOB_OK : JOB_RETRY; /* done or gone already */
	snprintf(dir, sizeof(dir), "%s/%s", cfg->export_dir, cid);
	*err = "export_dir";
	if ((mkdir(cfg->export_dir, 0700) == -1 && errno != EEXIST) ||
	    (mkdir(dir, 0700) == -1 && errno != EEXIST))
		goto failed;
	/* Names of this try's own: a try whose lease ran out and was taken
	 * again cannot write into the next one's files. */
	snprintf(tag, sizeof(tag), "%d-%d", job->attempt, (int)getpid());
	snprintf(tmp, sizeof(tmp), "%s.part-%s", final, tag);
	/* Readable by parleyd's user only, from the first byte. */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) ==
		-1 ||
	    (a = archive_write_new()) == NULL ||
	    archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
	    archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_open_fd(a, fd) != ARCHIVE_OK)
		goto failed;
	files = json_array();
	/* company.json: one object. */
	*err = "database";
	{
		const char    *cp[1] = { cid };
		struct db_call c = { &q_exp_company, cp, &res };

		if (db_tenant_batch(db, cid, &c, 1) == -1 ||
		    PQntuples(res) != 1)
			goto failed;
	}
	*err = "write";
	if (part_open(&p, dir, "company.json", tag) == -1 ||
	    fputs(PQgetvalue(res, 0, 0), p.f) == EOF ||
	    fputs("\n", p.f) == EOF || part_close(&p) == -1 ||
	    add_file(a, p.path, "company.json", hex) == -1)
		goto failed;
	PQclear(res);
	res = NULL;
	unlink(p.path);
	json_array_append_new(files,
	    json_pack("{s:s,s:i,s:s}", "name", "company.json", "records", 1,
		"sha256", hex));
	for (i = 0; i <= nitems(tables); i++) {
		const char *name =
		    i < nitems(tables) ? tables[i].file : "conversations.json";

		/* Gone meanwhile (the export, or the company): stop. */
		*err = "gone";
		if (set_state(cfg, db, cid, id, "running", name, total, NULL,
			-1, NULL) != 1)
			goto failed;
		run.renewed = time(NULL);
		*err = "write";
		if (part_open(&p, dir, name, tag) == -1)
			goto failed;
		*err = "database";
		r = i < nitems(tables)
		    ? write_table(&run, cid, &tables[i], &p)
		    : write_conversations(&run, cid, &p, &messages);
		if (r == -1) {
			if (run.lost)
				*err = "lease_lost";
			goto failed;
		}
		*err = "write";
		if (part_close(&p) == -1 ||
		    add_file(a, p.path, name, hex) == -1)
			goto failed;
		unlink(p.path);
		total += p.records;
		json_array_append_new(files,
		    json_pack("{s:s,s:I,s:s}", "name", name, "records",
			(json_int_t)p.records, "sha256", hex));
	}
	/* The attachments' files as they are kept (their rows are in the
	 * messages of conversations.json). */
	*err = "database";
	if ((r = write_attachments(&run, cid, a, files)) != 0) {
		if (r == 1)
			*err = "write";
		goto failed;
	}
	/* The manifest last: it knows every file's count and digest. */
	manifest = json_pack("{s:s,s:i,s:s,s:s,s:I,s:O}", "format",
	    "parley-export", "version", 1, "company_id", cid, "export_id", id,
	    "messages", (json_int_t)messages, "files", files);
	snprintf(p.path, sizeof(p.path), "%s/.manifest.json.%s.tmp", dir, tag);
	if (manifest == NULL ||
	    (mj = json_dumps(manifest, JSON_INDENT(2))) == NULL ||
	    (p.f = fopen(p.path, "we")) == NULL)
		goto failed;
	r = fputs(mj, p.f) == EOF || fputs("\n", p.f) == EOF;
	if (fclose(p.f) != 0)
		r = 1;
	p.f = NULL;
	if (r || add_file(a, p.path, "manifest.json", hex) == -1)
		goto failed;
	unlink(p.path);
	p.path[0] = '\0';
	if (archive_write_close(a) != ARCHIVE_OK)
		goto failed;
	archive_write_free(a);
	a = NULL;
	r = fsync(fd);
	if (close(fd) == -1 || r == -1) {
		fd = -1;
		goto failed;
	}
	fd = -1;
	if (file_sha256(tmp, hex, &size) == -1 || rename(tmp, final) == -1)
		goto failed;
	*err = "database";
	if ((r = set_state(cfg, db, cid, id, "ready", "done", total, NULL, size,
		 hex)) != 1) {
		/* Not recorded, or no one's any more: no file either. */
		unlink(final);
		if (r == 0) {
			*err = "gone";
			json_decref(manifest);
			json_decref(files);
			free(mj);
			return JOB_FAIL;
		}
		goto retry;
	}
	log_event(LOG_INFO, "export_ready", LOG_I("count", total),
	    LOG_I("messages", messages));
	json_decref(manifest);
	json_decref(files);
	free(mj);
	*err = NULL;
	return JOB_OK;
failed:
	/*
	 * A write that failed for want of space is no database trouble and
	 * no later try will fare better: said plainly, once.
	 */
	if (disk_full(*err, errno, p.f))
		*err = "disk_full";
	log_event(strcmp(*err, "disk_full") == 0 ? LOG_ERROR : LOG_WARN,
	    "export_failed", LOG_S("reason", *err),
	    LOG_S("export_dir", cfg->export_dir));
	if (p.f != NULL)
		fclose(p.f);
	if (p.path[0] != '\0')
		unlink(p.path);
	if (a != NULL)
		archive_write_free(a);
	if (fd != -1)
		close(fd);
	if (tmp[0] != '\0')
		unlink(tmp);
	PQclear(res);
	json_decref(manifest);
	json_decref(files);
	free(mj);
	/* A database that is away may come back; anything else will not. */
	if (strcmp(*err, "database") == 0 && !job->last)
		return JOB_RETRY;
	/* Another try has it, or nothing is left to export for. */
	if (strcmp(*err, "lease_lost") == 0 || strcmp(*err, "gone") == 0)
		return JOB_FAIL;
	set_state(cfg, db, cid, id, "failed", "failed", -1, *err, -1, NULL);
	return JOB_FAIL;
retry:
	json_decref(manifest);
	json_decref(files);
	free(mj);
	return JOB_RETRY;
}

static struct db_stmt q_exp_start = { "export_start",
	"INSERT INTO company_exports (company_id) VALUES ($1) RETURNING id", 1,
	0, 0 };

int
export_main(int argc, char *argv[])
{
	static struct conf cfg;
	const char	  *file = getenv("PARLEY_CONFIG"), *cid = NULL, *err;
	const char	  *p[1];
	char		   msg[512], id[37], path[640];
	struct job	   job;
	struct db	  *db;
	struct rusage	   ru;
	struct timespec	   t0, t1;
	PGresult	  *res = NULL;
	struct db_call	   c = { &q_exp_start, p, &res };
	enum job_result	   out;
	int		   a;

	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "-c") == 0 && a + 1 < argc)
			file = argv[++a];
		else if (strcmp(argv[a], "--company") == 0 && a + 1 < argc)
			cid = argv[++a];
		else
			break;
	}
	if (a < argc || strcmp(argv[0], "run") != 0 || !db_uuid_valid(cid)) {
		fprintf(stderr,
		    "usage: parleyctl export run [-c FILE] "
		    "--company ID\n");
		return 2;
	}
	if (file != NULL && *file == '\0')
		file = NULL;
	if (conf_load(&cfg, file, msg, sizeof(msg)) == -1 ||
	    cfg.database_url[0] == '\0' ||
	    (db = db_new(cfg.database_url, cfg.db_connect_timeout)) == NULL) {
		fprintf(stderr, "parleyctl: export run: %s\n",
		    cfg.database_url[0] == '\0' ? "database_url is required"
						: msg);
		return 2;
	}
	p[0] = cid;
	if (db_tenant_batch(db, cid, &c, 1) == -1 || PQntuples(res) != 1) {
		fprintf(stderr, "parleyctl: export run: no such company\n");
		PQclear(res);
		db_free(db);
		return 1;
	}
	snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	memset(&job, 0, sizeof(job));
	job.kind = "export";
	job.company_id = cid;
	job.payload = json_pack("{s:s}", "export", id);
	job.attempt = 1;
	job.last = 1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	out = export_run(&cfg, db, &job, &err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	json_decref(job.payload);
	db_free(db);
	getrusage(RUSAGE_SELF, &ru);
	if (out != JOB_OK) {
		fprintf(stderr, "parleyctl: export run: failed (%s)\n",
		    err != NULL ? err : "?");
		return 1;
	}
	export_path(&cfg, cid, id, path, sizeof(path));
	printf("export %s\nfile %s\nseconds %.3f\npeak_rss_kb %ld\n", id, path,
	    (double)(t1.tv_sec - t0.tv_sec) +
		(double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
	    ru.ru_maxrss);
	return 0;
}
