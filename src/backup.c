/*
 * backup.c: encrypted backups and their restore (see backup.h).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <openssl/evp.h>

#include "backup.h"
#include "conf.h"
#include "crypto.h"
#include "db.h"
#include "keys.h"

extern char **environ;

#define MAGIC "PARLEY-BACKUP 1\n"
#define MAGIC_LEN 16
#define IV_LEN 12
#define TAG_LEN 16
#define CHUNK 65536

static int
load(const char *cmd, const char *file, struct conf *cfg, unsigned char key[32])
{
	unsigned char k[64];
	size_t	      len;
	char	      err[512];

	if (file != NULL && *file == '\0')
		file = NULL;
	if (conf_load(cfg, file, err, sizeof(err)) == -1 ||
	    keys_read_file("backup_key_file (PARLEY_BACKUP_KEY_FILE)",
		cfg->backup_key_file, k, sizeof(k), &len, err,
		sizeof(err)) == -1) {
		fprintf(stderr, "parleyctl: %s: %s\n", cmd, err);
		return -1;
	}
	memcpy(key, k, 32);
	crypto_wipe(k, sizeof(k));
	return 0;
}

/* The program 'name' of cfg->pg_bin (or PATH when empty) into 'out'. */
static void
pg_prog(const struct conf *cfg, const char *name, char *out, size_t len)
{
	if (cfg->pg_bin[0] != '\0')
		snprintf(out, len, "%s/%s", cfg->pg_bin, name);
	else
		snprintf(out, len, "%s", name);
}

/* Runs 'argv' with its output on 'out_fd' (-1: inherited); wait status. */
static pid_t
spawn(char *const argv[], int out_fd, int *pipe_rd)
{
	posix_spawn_file_actions_t fa;
	int			   p[2] = { -1, -1 };
	pid_t			   pid;

	posix_spawn_file_actions_init(&fa);
	if (pipe_rd != NULL) {
		if (pipe2(p, O_CLOEXEC) == -1)
			return -1;
		posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
	} else if (out_fd != -1)
		posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO);
	if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) != 0)
		pid = -1;
	posix_spawn_file_actions_destroy(&fa);
	if (pipe_rd != NULL) {
		close(p[1]);
		if (pid == -1)
			close(p[0]);
		else
			*pipe_rd = p[0];
	}
	return pid;
}

static int
exited_ok(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return 0;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static int
write_all(int fd, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	ssize_t		     n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* SHA-256 of file 'path' as hex. */
static int
sha256_file(const char *path, char hex[65])
{
	unsigned char md[32], buf[CHUNK];
	EVP_MD_CTX   *h = EVP_MD_CTX_new();
	ssize_t	      n;
	int	      fd, rc = -1;

	if (h == NULL || (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		EVP_MD_CTX_free(h);
		return -1;
	}
	if (EVP_DigestInit_ex(h, EVP_sha256(), NULL) == 1) {
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			EVP_DigestUpdate(h, buf, (size_t)n);
		if (n == 0 && EVP_DigestFinal_ex(h, md, NULL) == 1) {
			crypto_hex(md, sizeof(md), hex);
			rc = 0;
		}
	}
	close(fd);
	EVP_MD_CTX_free(h);
	return rc;
}

/* Reads pg_dump's output from 'in' into 'out', encrypted. */
static int
encrypt_stream(int in, int out, const unsigned char key[32])
{
	unsigned char	iv[IV_LEN], tag[TAG_LEN], buf[CHUNK], enc[CHUNK + 32];
	unsigned char	head[MAGIC_LEN + IV_LEN];
	EVP_CIPHER_CTX *c;
	ssize_t		n;
	int		len, rc = -1;

	if (crypto_random(iv, sizeof(iv)) == -1 ||
	    (c = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	memcpy(head, MAGIC, MAGIC_LEN);
	memcpy(head + MAGIC_LEN, iv, IV_LEN);
	if (EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, IV_LEN, NULL) != 1 ||
	    EVP_EncryptInit_ex(c, NULL, NULL, key, iv) != 1 ||
	    EVP_EncryptUpdate(c, NULL, &len, head, sizeof(head)) != 1 ||
	    write_all(out, head, sizeof(head)) == -1)
		goto out;
	for (;;) {
		if ((n = read(in, buf, sizeof(buf))) == -1) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		if (n == 0)
			break;
		if (EVP_EncryptUpdate(c, enc, &len, buf, (int)n) != 1 ||
		    write_all(out, enc, (size_t)len) == -1)
			goto out;
	}
	if (EVP_EncryptFinal_ex(c, enc, &len) != 1 ||
	    write_all(out, enc, (size_t)len) == -1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) != 1 ||
	    write_all(out, tag, TAG_LEN) == -1)
		goto out;
	rc = 0;
out:
	crypto_wipe(buf, sizeof(buf));
	EVP_CIPHER_CTX_free(c);
	return rc;
}

/*
 * Decrypts backup 'in' into 'out' (a new file, 0600). Returns 0 only when
 * the tag verifies; the caller deletes 'out' otherwise.
 */
static int
decrypt_file(const char *in, const char *out, const unsigned char key[32])
{
	unsigned char	head[MAGIC_LEN + IV_LEN], tag[TAG_LEN], buf[CHUNK];
	unsigned char	dec[CHUNK + 32];
	EVP_CIPHER_CTX *c = NULL;
	struct stat	st;
	off_t		left;
	ssize_t		n;
	int		fi, fo = -1, len, rc = -1;

	if ((fi = open(in, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fi, &st) == -1 ||
	    st.st_size < (off_t)(sizeof(head) + TAG_LEN) ||
	    read(fi, head, sizeof(head)) != (ssize_t)sizeof(head) ||
	    memcmp(head, MAGIC, MAGIC_LEN) != 0 ||
	    pread(fi, tag, TAG_LEN, st.st_size - TAG_LEN) != TAG_LEN ||
	    (fo = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) ==
		-1 ||
	    (c = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, IV_LEN, NULL) != 1 ||
	    EVP_DecryptInit_ex(c, NULL, NULL, key, head + MAGIC_LEN) != 1 ||
	    EVP_DecryptUpdate(c, NULL, &len, head, sizeof(head)) != 1)
		goto out;
	left = st.st_size - (off_t)sizeof(head) - TAG_LEN;
	while (left > 0) {
		size_t want =
		    left < (off_t)sizeof(buf) ? (size_t)left : sizeof(buf);

		if ((n = read(fi, buf, want)) <= 0)
			goto out;
		left -= n;
		if (EVP_DecryptUpdate(c, dec, &len, buf, (int)n) != 1 ||
		    write_all(fo, dec, (size_t)len) == -1)
			goto out;
	}
	if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) != 1 ||
	    EVP_DecryptFinal_ex(c, dec, &len) != 1 ||
	    write_all(fo, dec, (size_t)len) == -1 || fsync(fo) == -1)
		goto out;
	rc = 0;
out:
	crypto_wipe(dec, sizeof(dec));
	EVP_CIPHER_CTX_free(c);
	close(fi);
	if (fo != -1)
		close(fo);
	return rc;
}

static int
ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);

	return n > t && strcmp(s + n - t, tail) == 0;
}

/* Deletes backups in 'dir' last changed more than 'days' ago. */
static int
rotate(const char *dir, int days)
{
	DIR	      *d;
	struct dirent *e;
	struct stat    st;
	char	       path[1024];
	time_t	       cut = time(NULL) - (time_t)days * 86400;
	int	       gone = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "parley-", 7) != 0 ||
		    !(ends_with(e->d_name, ".backup") ||
			ends_with(e->d_name, ".backup.sha256")))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st) == 0 && st.st_mtime < cut &&
		    unlink(path) == 0)
			gone++;
	}
	closedir(d);
	return gone;
}

/* Appends the database's tombstones to 'dir'/tombstones (one id a line). */
static int
save_tombstones(const char *url, const char *dir)
{
	PGconn	 *c = PQconnectdb(url);
	PGresult *res;
	char	  path[1024];
	FILE	 *f;
	int	  i, rc = -1;

	if (PQstatus(c) != CONNECTION_OK) {
		PQfinish(c);
		return -1;
	}
	res = PQexec(c,
	    "SELECT company_id, deleted_at FROM company_tombstones "
	    "ORDER BY deleted_at");
	snprintf(path, sizeof(path), "%s/tombstones", dir);
	if (PQresultStatus(res) == PGRES_TUPLES_OK &&
	    (f = fopen(path, "ae")) != NULL) {
		for (i = 0; i < PQntuples(res); i++)
			fprintf(f, "%s %s\n", PQgetvalue(res, i, 0),
			    PQgetvalue(res, i, 1));
		rc = fclose(f) == 0 ? PQntuples(res) : -1;
	}
	PQclear(res);
	PQfinish(c);
	return rc;
}

int
backup_main(int argc, char *argv[])
{
	static struct conf cfg;
	unsigned char	   key[32];
	const char	  *file = getenv("PARLEY_CONFIG"), *dir = NULL;
	const char	  *url = getenv("PARLEY_BACKUP_DATABASE_URL");
	char		   name[64], path[1024], part[1040], sum[1040];
	char		   prog[600], hex[65], stamp[32], conn[1024];
	struct tm	   tm;
	time_t		   now = time(NULL);
	pid_t		   pid;
	FILE		  *f;
	int		   a, rd = -1, out = -1, rc = 1, gone, ts;

	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "-c") == 0 && a + 1 < argc)
			file = argv[++a];
		else if (strcmp(argv[a], "--dir") == 0 && a + 1 < argc)
			dir = argv[++a];
		else {
			fprintf(stderr,
			    "usage: parleyctl backup [-c FILE] "
			    "[--dir DIR]\n");
			return 2;
		}
	}
	if (load("backup", file, &cfg, key) == -1)
		return 2;
	if (dir == NULL)
		dir = cfg.backup_dir;
	if (url == NULL || !db_conninfo_valid(url)) {
		fprintf(stderr,
		    "parleyctl: backup: set PARLEY_BACKUP_DATABASE_URL to a "
		    "role that reads every row (a superuser, or BYPASSRLS and "
		    "pg_read_all_data)\n");
		crypto_wipe(key, sizeof(key));
		return 2;
	}
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		fprintf(stderr, "parleyctl: backup: %s: %s\n", dir,
		    strerror(errno));
		crypto_wipe(key, sizeof(key));
		return 2;
	}
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(name, sizeof(name), "parley-%s.backup", stamp);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(part, sizeof(part), "%s.part", path);
	snprintf(sum, sizeof(sum), "%s.sha256", path);
	pg_prog(&cfg, "pg_dump", prog, sizeof(prog));
	snprintf(conn, sizeof(conn), "%s", url);
	{
		char *av[] = { prog, "--format=custom", "--compress=6",
			"--no-password", "-d", conn, NULL };

		if ((out = open(part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			 0600)) == -1 ||
		    (pid = spawn(av, -1, &rd)) == -1) {
			fprintf(
			    stderr, "parleyctl: backup: cannot run %s\n", prog);
			goto out;
		}
	}
	if (encrypt_stream(rd, out, key) == -1) {
		close(rd);
		rd = -1;
		exited_ok(pid);
		fprintf(stderr, "parleyctl: backup: writing %s failed\n", part);
		goto out;
	}
	close(rd);
	rd = -1;
	if (!exited_ok(pid)) {
		fprintf(stderr, "parleyctl: backup: pg_dump failed\n");
		goto out;
	}
	if (fsync(out) == -1 || close(out) == -1) {
		out = -1;
		goto out;
	}
	out = -1;
	if (rename(part, path) == -1 || sha256_file(path, hex) == -1 ||
	    (f = fopen(sum, "we")) == NULL)
		goto out;
	fprintf(f, "%s  %s\n", hex, name);
	if (fclose(f) != 0)
		goto out;
	/* Outside the dump: deletions that a restore must apply again. */
	ts = save_tombstones(url, dir);
	gone = rotate(dir, cfg.backup_keep_days);
	printf("backup %s\nsha256 %s\ntombstones %d\nremoved %d backup "
	       "file(s) older than %d days\n",
	    path, hex, ts, gone, cfg.backup_keep_days);
	rc = ts == -1 ? 1 : 0;
out:
	crypto_wipe(key, sizeof(key));
	if (rd != -1)
		close(rd);
	if (out != -1)
		close(out);
	if (rc != 0)
		unlink(part);
	return rc;
}

/* Company ids of the tombstone lines in file 'path' added to 'ids'. */
static void
read_tombstones(const char *path, char ids[][37], int *n, int max)
{
	char  line[256];
	FILE *f;

	if (path == NULL || path[0] == '\0' || (f = fopen(path, "re")) == NULL)
		return;
	while (*n < max && fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, " \n")] = '\0';
		if (strlen(line) == 36 && db_uuid_valid(line))
			memcpy(ids[(*n)++], line, 37);
	}
	fclose(f);
}

#define TOMBSTONES_MAX 100000

int
restore_main(int argc, char *argv[])
{
	static struct conf cfg;
	static char	   ids[TOMBSTONES_MAX][37];
	unsigned char	   key[32];
	const char	  *file = getenv("PARLEY_CONFIG"), *in = NULL;
	const char	  *target = NULL;
	char		   sum[1040], want[65] = "", hex[65], tmp[1040];
	char		   prog[600], dir[1024], tomb[1100], line[256];
	char		   conn[1024];
	PGconn		  *c = NULL;
	PGresult	  *res;
	pid_t		   pid;
	FILE		  *f;
	int		   a, i, n = 0, again = 0, rc = 1;

	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "-c") == 0 && a + 1 < argc)
			file = argv[++a];
		else if (strcmp(argv[a], "--file") == 0 && a + 1 < argc)
			in = argv[++a];
		else if (strcmp(argv[a], "--target") == 0 && a + 1 < argc)
			target = argv[++a];
		else
			break;
	}
	if (a < argc || in == NULL || target == NULL ||
	    !db_conninfo_valid(target)) {
		fprintf(stderr,
		    "usage: parleyctl restore [-c FILE] --file "
		    "BACKUP --target CONNINFO\n");
		return 2;
	}
	if (load("restore", file, &cfg, key) == -1)
		return 2;
	/* The checksum first: a damaged file is not even decrypted. */
	snprintf(sum, sizeof(sum), "%s.sha256", in);
	if ((f = fopen(sum, "re")) != NULL) {
		if (fgets(line, sizeof(line), f) != NULL &&
		    strspn(line, "0123456789abcdef") == 64)
			snprintf(want, sizeof(want), "%.64s", line);
		fclose(f);
	}
	if (want[0] == '\0' || sha256_file(in, hex) == -1 ||
	    strcmp(hex, want) != 0) {
		fprintf(stderr,
		    "parleyctl: restore: %s does not match its "
		    "checksum (%s)\n",
		    in, sum);
		crypto_wipe(key, sizeof(key));
		return 1;
	}
	snprintf(tmp, sizeof(tmp), "%s.restore-%d", in, (int)getpid());
	if (decrypt_file(in, tmp, key) == -1) {
		fprintf(stderr,
		    "parleyctl: restore: %s could not be "
		    "decrypted (damaged, or another key)\n",
		    in);
		unlink(tmp);
		crypto_wipe(key, sizeof(key));
		return 1;
	}
	crypto_wipe(key, sizeof(key));
	pg_prog(&cfg, "pg_restore", prog, sizeof(prog));
	snprintf(conn, sizeof(conn), "%s", target);
	{
		char *av[] = { prog, "--exit-on-error", "--single-transaction",
			"--no-password", "-d", conn, tmp, NULL };

		pid = spawn(av, -1, NULL);
		if (pid == -1 || !exited_ok(pid)) {
			fprintf(stderr,
			    "parleyctl: restore: pg_restore "
			    "failed\n");
			unlink(tmp);
			return 1;
		}
	}
	unlink(tmp);
	/* Deleted since the backup: deleted again. */
	snprintf(dir, sizeof(dir), "%s", in);
	if (strrchr(dir, '/') != NULL)
		*strrchr(dir, '/') = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	snprintf(tomb, sizeof(tomb), "%s/tombstones", dir);
	read_tombstones(tomb, ids, &n, TOMBSTONES_MAX);
	read_tombstones(cfg.tombstone_file, ids, &n, TOMBSTONES_MAX);
	c = PQconnectdb(target);
	if (PQstatus(c) != CONNECTION_OK)
		goto out;
	res = PQexec(c, "SELECT company_id FROM company_tombstones");
	for (i = 0; PQresultStatus(res) == PGRES_TUPLES_OK &&
	     i < PQntuples(res) && n < TOMBSTONES_MAX;
	     i++)
		snprintf(ids[n++], 37, "%s", PQgetvalue(res, i, 0));
	PQclear(res);
	for (i = 0; i < n; i++) {
		const char *p[1] = { ids[i] };
		int	    ok;

		/* As parleyd deletes a company: in its tenant context. */
		PQclear(PQexec(c, "BEGIN"));
		PQclear(PQexecParams(c,
		    "SELECT set_config('app.company_id', $1, true)", 1, NULL, p,
		    NULL, NULL, 0));
		PQclear(PQexecParams(c,
		    "INSERT INTO company_tombstones (company_id) VALUES "
		    "($1::uuid) ON CONFLICT DO NOTHING",
		    1, NULL, p, NULL, NULL, 0));
		res = PQexecParams(c, "SELECT parley_company_delete($1::uuid)",
		    1, NULL, p, NULL, NULL, 0);
		ok = PQresultStatus(res) == PGRES_TUPLES_OK;
		if (ok && strcmp(PQgetvalue(res, 0, 0), "t") == 0)
			again++;
		PQclear(res);
		res = ok ? PQexec(c, "COMMIT") : PQexec(c, "ROLLBACK");
		if (!ok || PQresultStatus(res) != PGRES_COMMAND_OK) {
			PQclear(res);
			fprintf(stderr,
			    "parleyctl: restore: deleting %s "
			    "again failed\n",
			    ids[i]);
			goto out;
		}
		PQclear(res);
	}
	printf("restored %s\ndeleted again: %d compan%s (of %d "
	       "tombstones)\n",
	    in, again, again == 1 ? "y" : "ies", n);
	/* Row counts, to compare with the source. */
	res = PQexec(c,
	    "SELECT relname, n FROM (SELECT c.relname, (xpath('/row/n/text()', "
	    "query_to_xml(format('SELECT count(*) AS n FROM %I', c.relname), "
	    "false, true, '')))[1]::text::bigint AS n FROM pg_class c JOIN "
	    "pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname = "
	    "'public' AND c.relkind = 'r') x ORDER BY relname");
	for (i = 0;
	     PQresultStatus(res) == PGRES_TUPLES_OK && i < PQntuples(res); i++)
		printf("rows %s %s\n", PQgetvalue(res, i, 0),
		    PQgetvalue(res, i, 1));
	rc = PQresultStatus(res) == PGRES_TUPLES_OK ? 0 : 1;
	PQclear(res);
out:
	PQfinish(c);
	return rc;
}
