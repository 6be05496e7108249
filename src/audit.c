/*
 * audit.c: append-only, HMAC-chained audit entries.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "audit.h"
#include "detect.h"
#include "crypto.h"
#include "db.h"
#include "server_keys.h"
#include "log.h"
#include "ctx.h"
#include "util.h"

/* Locks the company's chain head (creating it) and reads it with the time. */
static struct db_stmt q_head_lock = { "audit_head",
	"SELECT seq, hmac, now_us FROM parley_audit_head($1)", 1, 0, 0 };
/* Appends an entry that must continue the head (sql/007-audit-guard.sql). */
static struct db_stmt q_entry = { "audit_append",
	"SELECT parley_audit_append($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, "
	"$10::jsonb, $11, $12, $13, decode($14, 'hex'), decode($15, 'hex'))",
	15, 0, 0 };

/* The checkpoint to log once the transaction commits. */
static struct {
	char	  company[37];
	long long seq;
	char	  hmac[65];
} pending;

static void
checkpoint(void *arg)
{
	log_event(LOG_AUDIT, "audit_checkpoint",
	    LOG_S("resource", pending.company), LOG_I("count", pending.seq),
	    LOG_S("digest", pending.hmac));
}

static json_t *
str_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

char *
audit_canonical(const char *company_id, long long seq, long long created_us,
    const char *actor_type, const char *actor_id, const char *action,
    const char *resource_type, const char *resource_id, json_t *fields,
    json_t *changes, const char *ip, const char *user_agent,
    const char *request_id)
{
	json_t *a = json_array();
	char   *s;

	json_array_append_new(a, json_string(company_id));
	json_array_append_new(a, json_integer(seq));
	json_array_append_new(a, json_integer(created_us));
	json_array_append_new(a, json_string(actor_type));
	json_array_append_new(a, str_or_null(actor_id));
	json_array_append_new(a, json_string(action));
	json_array_append_new(a, json_string(resource_type));
	json_array_append_new(a, str_or_null(resource_id));
	if (fields != NULL)
		json_array_append(a, fields);
	else
		json_array_append_new(a, json_array());
	if (changes != NULL)
		json_array_append(a, changes);
	else
		json_array_append_new(a, json_null());
	json_array_append_new(a, str_or_null(ip));
	json_array_append_new(a, str_or_null(user_agent));
	json_array_append_new(a, str_or_null(request_id));
	s = json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	json_decref(a);
	return s;
}

int
audit_mac(const unsigned char *key, size_t keylen, const unsigned char prev[32],
    const char *canonical, unsigned char out[32])
{
	unsigned char buf[32 + 8192];
	size_t	      len = strlen(canonical);
	unsigned int  n = 32;

	if (len > sizeof(buf) - 32)
		return -1; /* never hash less than the whole entry */
	memcpy(buf, prev, 32);
	memcpy(buf + 32, canonical, len);
	HMAC(EVP_sha256(), key, (int)keylen, buf, 32 + len, out, &n);
	return 0;
}

/* 's', or NULL when it is NULL or empty. */
static const char *
nonempty(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : NULL;
}

int
audit_write(struct ctx *ctx, const struct audit_entry *e)
{
	const struct origin *from = &ctx->from;
	const char	    *cid = ctx->who.company_id;
	const char	    *actor_type = ctx->who.kind == AUTH_KEY ? "api_key"
		     : ctx->who.kind == AUTH_USER		    ? "user"
								    : "system";
	const char	    *actor_id = ctx->who.kind == AUTH_KEY
		     ? ctx->who.key_id
		     : (ctx->who.user_id[0] ? ctx->who.user_id : NULL);
	const char	    *p[15];
	const unsigned char *key;
	unsigned char	     prev[32], mac[32];
	char		     seq[24], us[24], prevhex[65], machex[65], ua[513];
	char		    *canon = NULL, *fields = NULL, *changes = NULL;
	char		     rid[37];
	const char	    *resource_id;
	PGresult	    *res;
	long long	     next, created;
	size_t		     keylen;
	int		     rc = -1;

	p[0] = cid;
	if ((res = db_exec(ctx->db, &q_head_lock, p)) == NULL ||
	    PQntuples(res) != 1) {
		PQclear(res);
		return -1;
	}
	next = strtoll(PQgetvalue(res, 0, 0), NULL, 10) + 1;
	snprintf(prevhex, sizeof(prevhex), "%s", PQgetvalue(res, 0, 1));
	created = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
	PQclear(res);
	{
		size_t i;

		for (i = 0; i < 32; i++) {
			unsigned int b;

			if (sscanf(prevhex + 2 * i, "%2x", &b) != 1)
				return -1;
			prev[i] = (unsigned char)b;
		}
	}
	utf8_clean(from->user_agent, ua, sizeof(ua));
	/* Ids as the database writes them (lower case), whatever the URL had. */
	if (e->resource_id != NULL && db_uuid_valid(e->resource_id)) {
		size_t i;

		for (i = 0; i < 36; i++)
			rid[i] =
			    (char)tolower((unsigned char)e->resource_id[i]);
		rid[36] = '\0';
		resource_id = rid;
	} else
		resource_id = e->resource_id;
	if (e->actor_type != NULL) {
		actor_type = e->actor_type;
		actor_id = e->actor_id;
	}
	canon = audit_canonical(cid, next, created, actor_type, actor_id,
	    e->action, e->resource_type, resource_id, e->fields, e->changes,
	    nonempty(from->addr), ua[0] ? ua : NULL,
	    nonempty(from->request_id));
	if (canon == NULL)
		goto out;
	key = keys_audit(&keylen);
	if (audit_mac(key, keylen, prev, canon, mac) == -1)
		goto out;
	crypto_hex(mac, sizeof(mac), machex);
	fields = e->fields != NULL
	    ? json_dumps(e->fields, JSON_COMPACT | JSON_SORT_KEYS)
	    : strdup("[]");
	changes = e->changes != NULL
	    ? json_dumps(e->changes, JSON_COMPACT | JSON_SORT_KEYS)
	    : NULL;
	snprintf(seq, sizeof(seq), "%lld", next);
	snprintf(us, sizeof(us), "%lld", created);
	p[1] = seq;
	p[2] = us;
	p[3] = actor_type;
	p[4] = actor_id;
	p[5] = e->action;
	p[6] = e->resource_type;
	p[7] = resource_id;
	p[8] = fields;
	p[9] = changes;
	p[10] = nonempty(from->addr);
	p[11] = ua[0] ? ua : NULL;
	p[12] = nonempty(from->request_id);
	p[13] = prevhex;
	p[14] = machex;
	if ((res = db_exec(ctx->db, &q_entry, p)) == NULL)
		goto out;
	PQclear(res);
	snprintf(pending.company, sizeof(pending.company), "%s", cid);
	pending.seq = next;
	snprintf(pending.hmac, sizeof(pending.hmac), "%s", machex);
	db_on_commit(ctx->db, checkpoint, NULL);
	/* Judged in the same transaction (src/detect.c). */
	if (detect_guard_begin(ctx) == -1 ||
	    detect_guard_end(ctx,
		detect_audit(ctx, e->action, e->resource_id, e->changes),
		e->action) == -1)
		goto out;
	rc = 0;
out:
	free(canon);
	free(fields);
	free(changes);
	return rc;
}
