/*
 * migrate.c: the migration runner behind `parleyctl migrate`.
 *
 * Migration files are trusted input from the install directory, not
 * client data: each is sent as one multi-statement script inside a
 * transaction (the simple query protocol, PQsendQuery).
 */
#include "config.h"

#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <openssl/evp.h>

#include "db.h"
#include "migrate.h"
#include "schema.h"

struct mfile {
	int   version;
	char  name[256];
	char *sql; /* owned */
	char  sha[65];
};

/* clang-format off */
static const char q_bootstrap[] =
    "CREATE TABLE IF NOT EXISTS parley_schema_migrations ("
    " version integer PRIMARY KEY CHECK (version > 0),"
    " name text NOT NULL,"
    " sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),"
    " applied_at timestamptz NOT NULL DEFAULT now())";
/* clang-format on */

static void
sha256_hex(const char *data, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int  mdlen = 0, i;

	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
	for (i = 0; i < mdlen && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static char *
read_file(const char *path, size_t *lenp)
{
	FILE	   *f;
	struct stat st;
	char	   *buf = NULL;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	if (fstat(fileno(f), &st) == -1 || st.st_size > MIGRATE_MAX_SIZE)
		goto out;
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
		goto out;
	if (fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[st.st_size] = '\0';
	*lenp = (size_t)st.st_size;
out:
	fclose(f);
	return buf;
}

static int
row_version(const PGresult *res, int row)
{
	long v = strtol(PQgetvalue(res, row, 0), NULL, 10);

	return v > 0 && v < 100000 ? (int)v : 0;
}

static int
cmp_mfile(const void *a, const void *b)
{
	return ((const struct mfile *)a)->version -
	    ((const struct mfile *)b)->version;
}

/* Reads NNN-subject.sql files of 'dir'. Returns count or -1. */
static int
scan(const char *dir, struct mfile *files, FILE *out)
{
	DIR	      *d;
	struct dirent *e;
	int	       n = 0;

	if ((d = opendir(dir)) == NULL) {
		fprintf(out, "migrate: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		const char *s = e->d_name;
		size_t	    len = strlen(s), flen;
		char	    path[4096];

		if (len < 9 || !isdigit((unsigned char)s[0]) ||
		    !isdigit((unsigned char)s[1]) ||
		    !isdigit((unsigned char)s[2]) || s[3] != '-' ||
		    strcmp(s + len - 4, ".sql") != 0)
			continue;
		if (n == MIGRATE_MAX_FILES || len >= sizeof(files[n].name))
			goto fail;
		files[n].version =
		    (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
		memcpy(files[n].name, s, len + 1);
		snprintf(path, sizeof(path), "%s/%s", dir, s);
		if ((files[n].sql = read_file(path, &flen)) == NULL) {
			fprintf(out, "migrate: cannot read %s\n", path);
			goto fail;
		}
		sha256_hex(files[n].sql, flen, files[n].sha);
		n++;
	}
	closedir(d);
	qsort(files, (size_t)n, sizeof(files[0]), cmp_mfile);
	return n;
fail:
	closedir(d);
	while (n-- > 0)
		free(files[n].sql);
	return -1;
}

/* Runs a script; returns 0 if every statement succeeded. */
static int
run_script(PGconn *c, const char *sql, FILE *out)
{
	PGresult *res;
	int	  ok = 1;

	if (PQsendQuery(c, sql) != 1) {
		fprintf(out, "migrate: %s", PQerrorMessage(c));
		return -1;
	}
	while ((res = PQgetResult(c)) != NULL) {
		ExecStatusType s = PQresultStatus(res);

		if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
			if (ok)
				fprintf(out, "migrate: %s",
				    PQresultErrorMessage(res));
			ok = 0;
		}
		PQclear(res);
	}
	return ok ? 0 : -1;
}

static int
apply(PGconn *c, const struct mfile *m, FILE *out)
{
	const char *params[3];
	char	    v[16];
	PGresult   *res;
	int	    ok;

	if (run_script(c, "BEGIN", out) == -1)
		return -1;
	if (run_script(c, m->sql, out) == -1) {
		fprintf(out, "migrate: %s failed; rolled back\n", m->name);
		(void)run_script(c, "ROLLBACK", out);
		return -1;
	}
	snprintf(v, sizeof(v), "%d", m->version);
	params[0] = v;
	params[1] = m->name;
	params[2] = m->sha;
	res = PQexecParams(c,
	    "INSERT INTO parley_schema_migrations (version, name, sha256) "
	    "VALUES ($1, $2, $3)",
	    3, NULL, params, NULL, NULL, 0);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok)
		fprintf(out, "migrate: %s", PQresultErrorMessage(res));
	PQclear(res);
	if (!ok || run_script(c, "COMMIT", out) == -1) {
		(void)run_script(c, "ROLLBACK", out);
		return -1;
	}
	fprintf(out, "applied %s\n", m->name);
	return 0;
}

int
migrate_run(const char *conninfo, const char *dir, int dry_run, FILE *out)
{
	static struct mfile files[MIGRATE_MAX_FILES];
	PGconn		   *c = NULL;
	PGresult	   *res = NULL;
	int		    n, i, j, rows, rc = -1, pending = 0;

	if ((n = scan(dir, files, out)) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (files[i].version != i + 1) {
			fprintf(out,
			    "migrate: %s: expected number %03d (numbers must "
			    "run 001, 002, … without gaps or repeats)\n",
			    files[i].name, i + 1);
			goto out;
		}
	}
	if (n != PARLEY_SCHEMA_VERSION) {
		fprintf(out,
		    "migrate: %s holds %d migrations but this parley expects "
		    "%d: wrong directory or mismatched install\n",
		    dir, n, PARLEY_SCHEMA_VERSION);
		goto out;
	}
	if (!db_conninfo_valid(conninfo)) {
		fprintf(out, "migrate: not a valid libpq connection string\n");
		goto out;
	}
	c = PQconnectdb(conninfo);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(out, "migrate: %s", PQerrorMessage(c));
		goto out;
	}
	/* One migrator at a time; parley's key in the advisory lock space. */
	if (run_script(c, "SET client_min_messages = warning", out) == -1 ||
	    run_script(c, "SELECT pg_advisory_lock(7072617)", out) == -1 ||
	    run_script(c, q_bootstrap, out) == -1)
		goto out;
	res = PQexec(c,
	    "SELECT version, name, sha256 FROM parley_schema_migrations ORDER "
	    "BY version");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(out, "migrate: %s", PQresultErrorMessage(res));
		goto out;
	}
	rows = PQntuples(res);
	for (j = 0; j < rows; j++) {
		int v = row_version(res, j);

		if (v < 1 || v > n) {
			fprintf(out,
			    "migrate: the database is at version %d, newer "
			    "than this parley (%d): refusing; upgrade parley "
			    "instead\n",
			    v, n);
			goto out;
		}
		if (strcmp(PQgetvalue(res, j, 2), files[v - 1].sha) != 0) {
			fprintf(out,
			    "migrate: %s was changed after it was applied "
			    "(sha256 differs): released migrations are never "
			    "edited; add a new one\n",
			    files[v - 1].name);
			goto out;
		}
	}
	for (i = 0; i < n; i++) {
		int applied = 0;

		for (j = 0; j < rows; j++)
			if (row_version(res, j) == files[i].version)
				applied = 1;
		if (applied)
			continue;
		pending++;
		if (dry_run) {
			fprintf(out, "pending %s\n", files[i].name);
			continue;
		}
		if (apply(c, &files[i], out) == -1)
			goto out;
	}
	if (pending == 0)
		fprintf(out, "database is current at version %d\n", n);
	rc = dry_run && pending > 0 ? 1 : 0;
out:
	PQclear(res);
	if (c != NULL)
		PQfinish(c);
	for (i = 0; i < n; i++) {
		free(files[i].sql);
		files[i].sql = NULL;
	}
	return rc;
}
