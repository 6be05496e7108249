/*
 * keyring_rotate.c: `parleyctl keys rotate [-c FILE] [--batch N]`. Every
 * stored secret that must be recovered is keyring ciphertext
 * "v1.KID.…" (src/crypto.c); this re-encrypts each one not under the
 * keyring's first (newest) key with that key, in short transactions of
 * --batch rows, so it runs beside live traffic and can be stopped and
 * run again (it resumes: what is done is skipped). A value changed
 * meanwhile is left for the next run (compare-and-set).
 *
 * Rotation: add the new key as the first line of the keyring file,
 * reload parleyd (it then encrypts with it, and decrypts both), run this,
 * then remove the old key and reload again.
 *
 * It connects with PARLEY_ADMIN_DATABASE_URL: a role that reads and
 * writes every company's rows (a superuser, or one with BYPASSRLS).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "conf.h"
#include "crypto.h"
#include "db.h"
#include "server_keys.h"
#include "keyring_rotate.h"

#define UUID0 "00000000-0000-0000-0000-000000000000"

/*
 * Where secrets are kept: table; key column, its type and a value below
 * every key; the associated data they were sealed with and the secret
 * (SQL expressions); the assignment that stores a new value ($1), NULL
 * for "secret = $1"; which rows count (SQL).
 */
static const struct {
	const char *table, *pk, *pktype, *first, *aad, *col, *set, *where;
} sealed[] = {
	{ "users", "id", "uuid", UUID0, "company_id", "totp_secret_enc", NULL,
	    "true" },
	{ "users", "id", "uuid", UUID0, "company_id", "totp_pending_enc", NULL,
	    "true" },
	{ "chatbots", "id", "uuid", UUID0, "company_id", "identity_secret_enc",
	    NULL, "true" },
	{ "company_llm", "company_id", "uuid", UUID0, "company_id",
	    "api_key_enc", NULL, "true" },
	{ "webhook_endpoints", "id", "uuid", UUID0, "company_id", "secret_enc",
	    NULL, "true" },
	{ "webhook_endpoints", "id", "uuid", UUID0, "company_id",
	    "secret_prev_enc", NULL, "true" },
	{ "operator_secrets", "id", "uuid", UUID0, "'operator:' || name",
	    "value_enc", NULL, "true" },
	/* Links in e-mails still queued. */
	{ "jobs", "id", "bigint", "0",
	    "coalesce(company_id::text, payload->>'seal_id')",
	    "payload->>'token_enc'",
	    "payload = jsonb_set(payload, '{token_enc}', to_jsonb($1::text))",
	    "done_at IS NULL AND failed_at IS NULL" },
};

#define ROTATE_SECRET_MAX 4096

/* Rotates one column; returns the number of values rotated, or -1. */
static long
rotate_column(
    PGconn *c, const struct keyring *kr, size_t k, int batch, long *failed)
{
	char	    sel[768], upd[512], set[256], prefix[32], lim[16];
	char	    after[37];
	const char *p[4];
	long	    done = 0;
	int	    i, n;

	snprintf(prefix, sizeof(prefix), "v1.%s.", kr->id[0]);
	snprintf(lim, sizeof(lim), "%d", batch);
	snprintf(after, sizeof(after), "%s", sealed[k].first);
	/* Identifiers from the table above only; values as parameters. */
	snprintf(sel, sizeof(sel),
	    "SELECT %s, %s, %s FROM %s WHERE %s IS NOT NULL AND NOT "
	    "starts_with(%s, $1) AND %s AND %s > $3::%s ORDER BY %s LIMIT "
	    "$2::integer",
	    sealed[k].pk, sealed[k].aad, sealed[k].col, sealed[k].table,
	    sealed[k].col, sealed[k].col, sealed[k].where, sealed[k].pk,
	    sealed[k].pktype, sealed[k].pk);
	if (sealed[k].set != NULL)
		snprintf(set, sizeof(set), "%s", sealed[k].set);
	else
		snprintf(set, sizeof(set), "%s = $1", sealed[k].col);
	snprintf(upd, sizeof(upd),
	    "UPDATE %s SET %s WHERE %s = $2::%s AND %s = $3", sealed[k].table,
	    set, sealed[k].pk, sealed[k].pktype, sealed[k].col);
	for (;;) {
		PGresult *res, *u;

		p[0] = prefix;
		p[1] = lim;
		p[2] = after;
		res = PQexec(c, "BEGIN");
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			PQclear(res);
			return -1;
		}
		PQclear(res);
		res = PQexecParams(c, sel, 3, NULL, p, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			fprintf(stderr, "parleyctl: keys rotate: %s.%s: %s",
			    sealed[k].table, sealed[k].col,
			    PQresultErrorField(res, PG_DIAG_SQLSTATE)
				? PQresultErrorField(res, PG_DIAG_SQLSTATE)
				: "query failed");
			fprintf(stderr, "\n");
			PQclear(res);
			PQclear(PQexec(c, "ROLLBACK"));
			return -1;
		}
		n = PQntuples(res);
		if (n > 0)
			snprintf(after, sizeof(after), "%s",
			    PQgetvalue(res, n - 1, 0));
		for (i = 0; i < n; i++) {
			unsigned char plain[ROTATE_SECRET_MAX];
			const char   *aad = PQgetvalue(res, i, 1);
			char	     *fresh;
			int	      len;

			len = keyring_decrypt(kr, aad, PQgetvalue(res, i, 2),
			    plain, sizeof(plain));
			if (len < 0) {
				/* A key no longer in the keyring, or damage. */
				(*failed)++;
				continue;
			}
			fresh = keyring_encrypt(kr, aad, plain, (size_t)len);
			crypto_wipe(plain, sizeof(plain));
			if (fresh == NULL) {
				(*failed)++;
				continue;
			}
			p[0] = fresh;
			p[1] = PQgetvalue(res, i, 0);
			p[2] = PQgetvalue(res, i, 2);
			u = PQexecParams(c, upd, 3, NULL, p, NULL, NULL, 0);
			if (PQresultStatus(u) != PGRES_COMMAND_OK) {
				/* The batch is lost: say so, stop. */
				PQclear(u);
				free(fresh);
				PQclear(res);
				PQclear(PQexec(c, "ROLLBACK"));
				return -1;
			}
			if (strcmp(PQcmdTuples(u), "1") == 0)
				done++;
			PQclear(u);
			free(fresh);
		}
		PQclear(res);
		res = PQexec(c, "COMMIT");
		if (PQresultStatus(res) != PGRES_COMMAND_OK ||
		    strcmp(PQcmdStatus(res), "COMMIT") != 0) {
			PQclear(res);
			return -1;
		}
		PQclear(res);
		/* Keyset order: undecryptable rows are passed, not retried. */
		if (n < batch)
			break;
	}
	return done;
}

/* Values not under the keyring's first key, counted; -1 on error. */
static long
remaining(PGconn *c, const struct keyring *kr)
{
	char	    q[512], prefix[32];
	const char *p[1] = { prefix };
	long	    total = 0;
	size_t	    k;

	snprintf(prefix, sizeof(prefix), "v1.%s.", kr->id[0]);
	for (k = 0; k < sizeof(sealed) / sizeof(sealed[0]); k++) {
		PGresult *res;

		snprintf(q, sizeof(q),
		    "SELECT count(*) FROM %s WHERE %s IS NOT NULL AND NOT "
		    "starts_with(%s, $1) AND %s",
		    sealed[k].table, sealed[k].col, sealed[k].col,
		    sealed[k].where);
		res = PQexecParams(c, q, 1, NULL, p, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			PQclear(res);
			return -1;
		}
		total += strtol(PQgetvalue(res, 0, 0), NULL, 10);
		PQclear(res);
	}
	return total;
}

/*
 * Loads the configuration ('file' may be NULL or empty) and the keys, and
 * connects with PARLEY_ADMIN_DATABASE_URL. Returns the connection, or NULL
 * having said why on standard error ('cmd' names the command).
 */
static PGconn *
admin_connect(const char *cmd, const char *file)
{
	static struct conf cfg;
	const char	  *url = getenv("PARLEY_ADMIN_DATABASE_URL");
	char		   err[512];
	PGconn		  *c;

	if (file != NULL && *file == '\0')
		file = NULL;
	if (conf_load(&cfg, file, err, sizeof(err)) == -1 ||
	    keys_load(&cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "parleyctl: %s: %s\n", cmd, err);
		return NULL;
	}
	if (url == NULL || *url == '\0' || !db_conninfo_valid(url)) {
		fprintf(stderr,
		    "parleyctl: %s: set PARLEY_ADMIN_DATABASE_URL to the "
		    "connection string of a role that reads and writes every "
		    "company's rows (a superuser, or one with BYPASSRLS)\n",
		    cmd);
		return NULL;
	}
	c = PQconnectdb(url);
	if (c == NULL || PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "parleyctl: %s: %s", cmd,
		    c != NULL ? PQerrorMessage(c) : "out of memory\n");
		PQfinish(c);
		return NULL;
	}
	return c;
}

int
keys_rotate_main(int argc, char *argv[])
{
	const char	     *file = getenv("PARLEY_CONFIG");
	const struct keyring *kr;
	PGconn		     *c = NULL;
	long		      total = 0, failed = 0, n;
	size_t		      k;
	int		      a, batch = 100, rc = 2;

	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "-c") == 0 && a + 1 < argc)
			file = argv[++a];
		else if (strcmp(argv[a], "--batch") == 0 && a + 1 < argc) {
			char *end;
			long  b = strtol(argv[++a], &end, 10);

			if (*end != '\0' || b < 1 || b > 10000) {
				fprintf(stderr,
				    "parleyctl: keys rotate: "
				    "--batch is 1 to 10000\n");
				return 2;
			}
			batch = (int)b;
		} else {
			fprintf(stderr,
			    "usage: parleyctl keys rotate [-c FILE] "
			    "[--batch N]\n");
			return 2;
		}
	}
	if ((c = admin_connect("keys rotate", file)) == NULL)
		goto out;
	kr = keys_ring();
	for (k = 0; k < sizeof(sealed) / sizeof(sealed[0]); k++) {
		long f = 0;

		if ((n = rotate_column(c, kr, k, batch, &f)) == -1)
			goto out;
		printf("%s.%s: %ld re-encrypted under key %s%s\n",
		    sealed[k].table, sealed[k].col, n, kr->id[0],
		    f > 0 ? " (some could not be read: see below)" : "");
		total += n;
		failed += f;
	}
	printf("rotated %ld secret(s)", total);
	if (failed > 0)
		printf(
		    "; %ld could not be decrypted with this keyring", failed);
	printf("\n");
	/*
	 * The proof, counted afresh: nothing may remain under another key
	 * before the old one is removed (a value changed meanwhile, or a
	 * batch that failed, shows here).
	 */
	if ((n = remaining(c, kr)) != 0) {
		if (n > 0)
			printf(
			    "%ld secret(s) are still under an older key: run "
			    "again before removing it\n",
			    n);
		rc = 1;
		goto out;
	}
	rc = failed > 0 ? 1 : 0;
out:
	PQfinish(c);
	return rc;
}

/* A Stripe secret or restricted key: sk_/rk_, test or live. */
static int
stripe_key_ok(const char *v)
{
	size_t n = strlen(v);

	return n >= 20 && n <= 255 &&
	    (strncmp(v, "sk_test_", 8) == 0 || strncmp(v, "sk_live_", 8) == 0 ||
		strncmp(v, "rk_test_", 8) == 0 ||
		strncmp(v, "rk_live_", 8) == 0) &&
	    strspn(v + 8,
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ012345678"
		"9") == n - 8;
}

/* The operator's secrets parleyctl secret set takes, and their forms. */
enum secret_form { SF_STRIPE, SF_CLIENT, SF_EC_KEY };
static const struct {
	const char	*name;
	enum secret_form form;
} secret_names[] = {
	{ "stripe_secret_key", SF_STRIPE },
	{ "oidc_google_client_secret", SF_CLIENT },
	{ "oidc_generic_client_secret", SF_CLIENT },
	{ "oidc_microsoft_client_secret", SF_CLIENT },
	{ "oidc_apple_private_key", SF_EC_KEY },
};

/* NULL when 'v' (n bytes) has the form, else what is wrong. */
static const char *
secret_form_check(enum secret_form f, const char *v, size_t n)
{
	EVP_PKEY *k;
	BIO	 *b;
	int	  ok;

	switch (f) {
	case SF_STRIPE:
		return stripe_key_ok(v)
		    ? NULL
		    : "not a Stripe secret key (sk_live_…, sk_test_…, rk_…)";
	case SF_CLIENT:
		return n >= 8 && n <= 500 && strchr(v, '\n') == NULL
		    ? NULL
		    : "a client secret is one line of 8 to 500 bytes";
	case SF_EC_KEY:
		if ((b = BIO_new_mem_buf(v, (int)n)) == NULL)
			return "out of memory";
		k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
		ok = k != NULL && EVP_PKEY_is_a(k, "EC") &&
		    EVP_PKEY_get_bits(k) == 256;
		EVP_PKEY_free(k);
		BIO_free(b);
		return ok ? NULL
			  : "not a PEM private key on P-256 (Apple's .p8 file)";
	}
	return "unknown";
}

int
keys_secret_main(int argc, char *argv[])
{
	const char *file = getenv("PARLEY_CONFIG"), *name = NULL, *p[2], *why;
	char	    value[4096], aad[64], *sealed_v = NULL;
	PGconn	   *c = NULL;
	PGresult   *res;
	size_t	    n, i;
	int	    a, rc = 2;

	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "-c") == 0 && a + 1 < argc)
			file = argv[++a];
		else if (name == NULL && argv[a][0] != '-')
			name = argv[a];
		else
			name = NULL, a = argc;
	}
	for (i = 0;
	     name != NULL && i < sizeof(secret_names) / sizeof(secret_names[0]);
	     i++)
		if (strcmp(name, secret_names[i].name) == 0)
			break;
	if (strcmp(argv[0], "set") != 0 || name == NULL ||
	    i == sizeof(secret_names) / sizeof(secret_names[0])) {
		fprintf(stderr,
		    "usage: parleyctl secret set [-c FILE] NAME < "
		    "value\nNAME:");
		for (i = 0; i < sizeof(secret_names) / sizeof(secret_names[0]);
		     i++)
			fprintf(stderr, " %s", secret_names[i].name);
		fputc('\n', stderr);
		return 2;
	}
	/* From standard input, so it shows in no process list or history. */
	n = fread(value, 1, sizeof(value) - 1, stdin);
	value[n] = '\0';
	if (n == 0 || !feof(stdin)) {
		fprintf(stderr, "parleyctl: secret set: %s\n",
		    n == 0 ? "no value on stdin" : "too long (4 KB at most)");
		goto out;
	}
	while (n > 0 && (value[n - 1] == '\n' || value[n - 1] == '\r'))
		value[--n] = '\0';
	if ((why = secret_form_check(secret_names[i].form, value, n)) != NULL) {
		fprintf(stderr, "parleyctl: secret set: %s\n", why);
		goto out;
	}
	if ((c = admin_connect("secret set", file)) == NULL)
		goto out;
	snprintf(aad, sizeof(aad), "operator:%s", name);
	if ((sealed_v = keyring_encrypt(keys_ring(), aad, value, n)) == NULL)
		goto out;
	p[0] = name;
	p[1] = sealed_v;
	res = PQexecParams(c,
	    "INSERT INTO operator_secrets (name, value_enc) VALUES ($1, $2) "
	    "ON CONFLICT (name) DO UPDATE SET value_enc = EXCLUDED.value_enc, "
	    "updated_at = now()",
	    2, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_COMMAND_OK) {
		printf("%s stored, encrypted under key %s\n", name,
		    keys_ring()->id[0]);
		rc = 0;
	} else
		fprintf(stderr, "parleyctl: secret set: %s\n",
		    PQresultErrorField(res, PG_DIAG_SQLSTATE)
			? PQresultErrorField(res, PG_DIAG_SQLSTATE)
			: "failed");
	PQclear(res);
out:
	crypto_wipe(value, sizeof(value));
	free(sealed_v);
	PQfinish(c);
	return rc;
}
