/*
 * keys_rotate.c: `parleyctl keys rotate [-c FILE] [--batch N]`. Every
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

#include "conf.h"
#include "crypto.h"
#include "db.h"
#include "keys.h"
#include "keys_rotate.h"

/* Where secrets are kept: table, key column, secret column. */
static const struct {
	const char *table, *pk, *col;
} sealed[] = {
	{ "users", "id", "totp_secret_enc" },
	{ "users", "id", "totp_pending_enc" },
	{ "chatbots", "id", "identity_secret_enc" },
	{ "company_llm", "company_id", "api_key_enc" },
	{ "webhook_endpoints", "id", "secret_enc" },
	{ "webhook_endpoints", "id", "secret_prev_enc" },
};

#define ROTATE_SECRET_MAX 4096

/* Rotates one column; returns the number of values rotated, or -1. */
static long
rotate_column(
    PGconn *c, const struct keyring *kr, size_t k, int batch, long *failed)
{
	char	    sel[512], upd[512], prefix[32], lim[16];
	char	    after[37] = "00000000-0000-0000-0000-000000000000";
	const char *p[4];
	long	    done = 0;
	int	    i, n;

	snprintf(prefix, sizeof(prefix), "v1.%s.", kr->id[0]);
	snprintf(lim, sizeof(lim), "%d", batch);
	/* Identifiers from the table above only; values as parameters. */
	snprintf(sel, sizeof(sel),
	    "SELECT %s, company_id, %s FROM %s WHERE %s IS NOT NULL AND NOT "
	    "starts_with(%s, $1) AND %s > $3::uuid ORDER BY %s LIMIT "
	    "$2::integer",
	    sealed[k].pk, sealed[k].col, sealed[k].table, sealed[k].col,
	    sealed[k].col, sealed[k].pk, sealed[k].pk);
	snprintf(upd, sizeof(upd),
	    "UPDATE %s SET %s = $1 WHERE %s = $2 AND %s = $3", sealed[k].table,
	    sealed[k].col, sealed[k].pk, sealed[k].col);
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
		    "starts_with(%s, $1)",
		    sealed[k].table, sealed[k].col, sealed[k].col);
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

int
keys_rotate_main(int argc, char *argv[])
{
	static struct conf    cfg;
	const char	     *file = getenv("PARLEY_CONFIG");
	const char	     *url = getenv("PARLEY_ADMIN_DATABASE_URL");
	const struct keyring *kr;
	char		      err[512];
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
	if (file != NULL && *file == '\0')
		file = NULL;
	if (conf_load(&cfg, file, err, sizeof(err)) == -1 ||
	    keys_load(&cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "parleyctl: keys rotate: %s\n", err);
		return 2;
	}
	kr = keys_ring();
	if (url == NULL || *url == '\0' || !db_conninfo_valid(url)) {
		fprintf(stderr,
		    "parleyctl: keys rotate: set PARLEY_ADMIN_DATABASE_URL to "
		    "the connection string of a role that reads and writes "
		    "every company's rows (a superuser, or one with "
		    "BYPASSRLS)\n");
		return 2;
	}
	c = PQconnectdb(url);
	if (c == NULL || PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "parleyctl: keys rotate: %s",
		    c != NULL ? PQerrorMessage(c) : "out of memory\n");
		goto out;
	}
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
