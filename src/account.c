/*
 * account.c: accounts, without HTTP: e-mail addresses normalised and
 * looked up, single-use links made and mailed, presented tokens hashed
 * and resolved, pending signups. The handlers of api_auth.c and
 * api_invitations.c answer; this says what is true.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "account.h"
#include "crypto.h"
#include "db.h"
#include "job_queue.h"
#include "server_keys.h"
#include "row.h"

static struct db_stmt q_lookup_email = { "lookup_email",
	"SELECT user_id AS id, company_id FROM "
	"parley_lookup_user_by_email($1)",
	1, DB_RETRY_SAFE, 0 };
static struct db_stmt q_lookup_token = { "lookup_auth_token",
	"SELECT token_id AS id, company_id FROM parley_lookup_auth_token($1, "
	"decode($2, 'hex'))",
	2, DB_RETRY_SAFE, 0 };
static struct db_stmt q_signup_put = { "signup_put",
	"INSERT INTO signups (company_id, email, name, company_name, "
	"password_hash, token_hash, expires_at) VALUES ($1, $2, $3, $4, $5, "
	"decode($6, 'hex'), now() + make_interval(secs => $7::integer)) ON "
	"CONFLICT ((lower(email))) DO UPDATE SET company_id = "
	"EXCLUDED.company_id, email = EXCLUDED.email, name = EXCLUDED.name, "
	"company_name = EXCLUDED.company_name, password_hash = "
	"EXCLUDED.password_hash, token_hash = EXCLUDED.token_hash, expires_at "
	"= "
	"EXCLUDED.expires_at, created_at = now()",
	7, 0, 0 };
static struct db_stmt q_token_new = { "auth_token_new",
	"INSERT INTO auth_tokens (company_id, user_id, kind, token_hash, "
	"expires_at) VALUES ($1, $2, $3, decode($4, 'hex'), now() + "
	"make_interval(secs => $5::integer))",
	5, 0, 0 };

/*
 * Normalises an e-mail address: trims white space, lower-cases the domain.
 * Returns 0, or -1 if it is not a plausible address.
 */
int
account_email_normalize(const char *in, char out[ACCOUNT_EMAIL_MAX + 1])
{
	size_t len, i;
	char  *at;

	while (isspace((unsigned char)*in))
		in++;
	len = strlen(in);
	while (len > 0 && isspace((unsigned char)in[len - 1]))
		len--;
	if (len < 3 || len > ACCOUNT_EMAIL_MAX)
		return -1;
	memcpy(out, in, len);
	out[len] = '\0';
	if ((at = strchr(out, '@')) == NULL || at == out ||
	    strchr(at + 1, '@') != NULL || strchr(at + 1, '.') == NULL ||
	    at[1] == '.' || out[len - 1] == '.')
		return -1;
	for (i = 0; i < len; i++)
		if ((unsigned char)out[i] <= 0x20 || out[i] == 0x7f ||
		    strchr("<>(),;:\\\"[]", out[i]) != NULL)
			return -1;
	for (i = (size_t)(at - out) + 1; i < len; i++)
		out[i] = (char)tolower((unsigned char)out[i]);
	return 0;
}

/*
 * Runs lookup 'st' (credential in, one row of two ids out) and copies the
 * ids into 'id' and 'cid'. Returns 1 if found, 0 if not, -1 on error.
 */
static int
lookup_ids(struct db *db, struct db_stmt *st, const char *const *p, char id[37],
    char cid[37])
{
	PGresult *res;
	int	  found;

	if ((res = db_exec(db, st, p)) == NULL)
		return -1;
	found = PQntuples(res) == 1;
	if (found) {
		snprintf(id, 37, "%s", row_get(res, 0, "id"));
		snprintf(cid, 37, "%s", row_get(res, 0, "company_id"));
	}
	PQclear(res);
	return found;
}

/* Looks an address up; fills ids and returns 1, or 0 if unknown, -1. */
int
account_lookup_email(
    struct db *db, const char *email, char uid[37], char cid[37])
{
	const char *p[1] = { email };

	return lookup_ids(db, &q_lookup_email, p, uid, cid);
}

/*
 * In the open tenant transaction, creates a single-use token of 'kind'
 * and queues the e-mail carrying it. Returns 0 or -1.
 */
int
account_send_link(struct db *db, const char *cid, const char *uid,
    const char *email, const char *kind, int ttl)
{
	char	      tok[CRYPTO_TOKEN_LEN + 1], hex[65], sttl[16];
	unsigned char h[32];
	const char   *p[5];
	char	     *sealed = NULL;
	json_t	     *job = NULL;
	PGresult     *res;
	int	      rc = -1;

	if (crypto_token(tok, h) == -1)
		return -1;
	crypto_hex(h, sizeof(h), hex);
	snprintf(sttl, sizeof(sttl), "%d", ttl);
	p[0] = cid;
	p[1] = uid;
	p[2] = kind;
	p[3] = hex;
	p[4] = sttl;
	if ((res = db_exec(db, &q_token_new, p)) == NULL)
		goto out;
	PQclear(res);
	/* The job carries the token encrypted; it is erased once sent. */
	if ((sealed = keyring_encrypt(keys_ring(), cid, tok, strlen(tok))) ==
	    NULL)
		goto out;
	job = json_pack("{s:s,s:s,s:s}", "to", email, "template", kind,
	    "token_enc", sealed);
	if (job == NULL || jobs_enqueue(db, "email", cid, job) == -1)
		goto out;
	rc = 0;
out:
	json_decref(job);
	free(sealed);
	crypto_wipe(tok, sizeof(tok));
	return rc;
}

/* Hex SHA-256 of a presented token, after checking its shape. */
int
account_token_hash(const char *tok, char hex[65])
{
	unsigned char h[32];
	size_t	      i;

	if (strlen(tok) != CRYPTO_TOKEN_LEN)
		return -1;
	for (i = 0; i < CRYPTO_TOKEN_LEN; i++)
		if (!isalnum((unsigned char)tok[i]) && tok[i] != '-' &&
		    tok[i] != '_')
			return -1;
	crypto_sha256(tok, CRYPTO_TOKEN_LEN, h);
	crypto_hex(h, sizeof(h), hex);
	return 0;
}

/* Resolves an e-mailed token of 'kind' to its id and company. */
int
account_lookup_token(struct db *db, const char *kind, const char *tok,
    char tid[37], char cid[37])
{
	char	    hex[65];
	const char *p[2] = { kind, hex };

	if (account_token_hash(tok, hex) == -1)
		return 0;
	return lookup_ids(db, &q_lookup_token, p, tid, cid);
}

/*
 * A pending signup for a new address: what the company and owner will be
 * made of, and the link (sealed under the company id it will have) that
 * creates them. A newer signup of the address replaces an older one.
 */
int
account_signup_put(struct db *db, int ttl_s, const char *email,
    const char *name, const char *cname, const char *hash)
{
	char	      tok[CRYPTO_TOKEN_LEN + 1], hex[65], ttl[16], cid[37];
	unsigned char h[32];
	const char   *p[7];
	char	     *sealed = NULL;
	json_t	     *job = NULL;
	PGresult     *res;
	int	      rc = -1;

	if (crypto_uuid(cid) == -1 || crypto_token(tok, h) == -1)
		return -1;
	crypto_hex(h, sizeof(h), hex);
	snprintf(ttl, sizeof(ttl), "%d", ttl_s);
	if ((sealed = keyring_encrypt(keys_ring(), cid, tok, strlen(tok))) ==
	    NULL)
		goto out;
	job = json_pack("{s:s,s:s,s:s,s:s}", "to", email, "template",
	    "signup_confirm", "token_enc", sealed, "seal_id", cid);
	if (job == NULL || db_tenant_begin(db, cid, NULL, NULL, NULL) == -1)
		goto out;
	p[0] = cid;
	p[1] = email;
	p[2] = name;
	p[3] = cname;
	p[4] = hash;
	p[5] = hex;
	p[6] = ttl;
	if ((res = db_exec(db, &q_signup_put, p)) == NULL)
		goto out;
	PQclear(res);
	if (jobs_enqueue(db, "email", NULL, job) == -1 || db_commit(db) == -1)
		goto out;
	rc = 0;
out:
	crypto_wipe(tok, sizeof(tok));
	free(sealed);
	json_decref(job);
	return rc;
}
