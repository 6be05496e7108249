/*
 * backup.c: encrypted backups and their restore (see backup.h).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
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
#include "server_keys.h"

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

/*
 * Runs 'argv' with environment 'envp'; its standard output goes into a
 * pipe whose read end is '*out_rd' (when not NULL), its standard input
 * comes from a pipe whose write end is '*in_wr' (when not NULL).
 */
static pid_t
spawn(char *const argv[], char *const envp[], int *out_rd, int *in_wr)
{
	posix_spawn_file_actions_t fa;
	int			   o[2] = { -1, -1 }, i[2] = { -1, -1 };
	pid_t			   pid;

	if ((out_rd != NULL && pipe2(o, O_CLOEXEC) == -1) ||
	    (in_wr != NULL && pipe2(i, O_CLOEXEC) == -1))
		return -1;
	posix_spawn_file_actions_init(&fa);
	if (out_rd != NULL)
		posix_spawn_file_actions_adddup2(&fa, o[1], STDOUT_FILENO);
	if (in_wr != NULL)
		posix_spawn_file_actions_adddup2(&fa, i[0], STDIN_FILENO);
	if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, envp) != 0)
		pid = -1;
	posix_spawn_file_actions_destroy(&fa);
	if (out_rd != NULL) {
		close(o[1]);
		if (pid == -1)
			close(o[0]);
		else
			*out_rd = o[0];
	}
	if (in_wr != NULL) {
		close(i[0]);
		if (pid == -1)
			close(i[1]);
		else
			*in_wr = i[1];
	}
	return pid;
}

/* The exit status of child 'pid', or -1 when it did not exit. */
static int
exit_status(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int
exited_ok(pid_t pid)
{
	return exit_status(pid) == 0;
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
 * Decrypts the backup open on 'fi' into 'fo' (-1: only checks it).
 * Returns 0 only when the tag verifies: the plaintext written before
 * that is not to be trusted until then.
 */
static int
decrypt_fd(int fi, const unsigned char key[32], int fo)
{
	unsigned char	head[MAGIC_LEN + IV_LEN], tag[TAG_LEN], buf[CHUNK];
	unsigned char	dec[CHUNK + 32];
	EVP_CIPHER_CTX *c = NULL;
	struct stat	st;
	off_t		off, end;
	ssize_t		n;
	int		len, rc = -1;

	if (fstat(fi, &st) == -1 ||
	    st.st_size < (off_t)(sizeof(head) + TAG_LEN) ||
	    pread(fi, head, sizeof(head), 0) != (ssize_t)sizeof(head) ||
	    memcmp(head, MAGIC, MAGIC_LEN) != 0 ||
	    pread(fi, tag, TAG_LEN, st.st_size - TAG_LEN) != TAG_LEN ||
	    (c = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, IV_LEN, NULL) != 1 ||
	    EVP_DecryptInit_ex(c, NULL, NULL, key, head + MAGIC_LEN) != 1 ||
	    EVP_DecryptUpdate(c, NULL, &len, head, sizeof(head)) != 1)
		goto out;
	end = st.st_size - TAG_LEN;
	for (off = (off_t)sizeof(head); off < end; off += n) {
		size_t want = end - off < (off_t)sizeof(buf)
		    ? (size_t)(end - off)
		    : sizeof(buf);

		if ((n = pread(fi, buf, want, off)) <= 0 ||
		    EVP_DecryptUpdate(c, dec, &len, buf, (int)n) != 1 ||
		    (fo != -1 && write_all(fo, dec, (size_t)len) == -1))
			goto out;
	}
	if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) != 1 ||
	    EVP_DecryptFinal_ex(c, dec, &len) != 1 ||
	    (fo != -1 && write_all(fo, dec, (size_t)len) == -1))
		goto out;
	rc = 0;
out:
	crypto_wipe(dec, sizeof(dec));
	EVP_CIPHER_CTX_free(c);
	return rc;
}

/*
 * A libpq connection string without its password, for a child's command
 * line (which anyone may read in ps), into 'out'; the password, if any,
 * into 'pw' (for the child's PGPASSWORD). Returns 0 or -1.
 */
static int
split_password(const char *url, char *out, size_t len, char *pw, size_t pwlen)
{
	PQconninfoOption *opts, *o;
	size_t		  used = 0;
	int		  rc = 0;

	pw[0] = out[0] = '\0';
	if ((opts = PQconninfoParse(url, NULL)) == NULL)
		return -1;
	for (o = opts; o->keyword != NULL && rc == 0; o++) {
		const char *v;
		int	    w;

		if (o->val == NULL || o->val[0] == '\0')
			continue;
		if (strcmp(o->keyword, "password") == 0) {
			snprintf(pw, pwlen, "%s", o->val);
			continue;
		}
		w = snprintf(out + used, len - used, "%s%s='", used ? " " : "",
		    o->keyword);
		if (w < 0 || (size_t)w >= len - used) {
			rc = -1;
			break;
		}
		used += (size_t)w;
		for (v = o->val; *v != '\0'; v++) {
			if (used + 3 >= len) {
				rc = -1;
				break;
			}
			if (*v == '\'' || *v == '\\')
				out[used++] = '\\';
			out[used++] = *v;
		}
		if (rc == 0 && used + 2 < len)
			out[used++] = '\'';
		else
			rc = -1;
		out[used] = '\0';
	}
	PQconninfoFree(opts);
	return rc;
}

/* The environment with PGPASSWORD set to 'pw' (static storage). */
static char **
child_env(const char *pw)
{
	static char  entry[600];
	static char *env[512];
	size_t	     i, n = 0;

	for (i = 0; environ[i] != NULL && n < 510; i++)
		if (strncmp(environ[i], "PGPASSWORD=", 11) != 0)
			env[n++] = environ[i];
	if (pw[0] != '\0') {
		snprintf(entry, sizeof(entry), "PGPASSWORD=%s", pw);
		env[n++] = entry;
	}
	env[n] = NULL;
	return env;
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
			ends_with(e->d_name, ".backup.sha256") ||
			ends_with(e->d_name, ".backup.files") ||
			ends_with(e->d_name, ".backup.files.sha256")))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st) == 0 && st.st_mtime < cut &&
		    unlink(path) == 0)
			gone++;
	}
	closedir(d);
	return gone;
}

/*
 * The attachments (attachments_dir) beside dump 'path', as 'path'.files:
 * a tar stream encrypted like the dump, its checksum in .files.sha256.
 * Returns 1 written, 0 when there is no directory, -1 failed.
 */
static int
backup_files(const struct conf *cfg, const char *path, const char *name,
    const unsigned char key[32], char hex[65])
{
	char	    files[1100], part[1110], sum[1120];
	char *const av[] = { "tar", "-C",
		(char *)(uintptr_t)cfg->attachments_dir, "--exclude=*.part",
		"--warning=no-file-changed", "--warning=no-file-removed",
		"--ignore-failed-read", "-cf", "-", ".", NULL };
	struct stat st;
	pid_t	    pid;
	FILE	   *f;
	int	    rd = -1, out, ok, r;

	if (stat(cfg->attachments_dir, &st) == -1 || !S_ISDIR(st.st_mode))
		return 0;
	snprintf(files, sizeof(files), "%s.files", path);
	snprintf(part, sizeof(part), "%s.part", files);
	snprintf(sum, sizeof(sum), "%s.sha256", files);
	if ((out = open(
		 part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) == -1)
		return -1;
	if ((pid = spawn(av, environ, &rd, NULL)) == -1) {
		close(out);
		unlink(part);
		return -1;
	}
	ok = encrypt_stream(rd, out, key) == 0;
	close(rd);
	/*
	 * GNU tar's 1 is "some files differ": an upload or the files sweep
	 * ran meanwhile. What a backup needs is every file whose row it
	 * has; one written after the dump is the next backup's.
	 */
	r = exit_status(pid);
	ok = (r == 0 || r == 1) && ok;
	if (fsync(out) == -1)
		ok = 0;
	if (close(out) == -1)
		ok = 0;
	if (!ok || rename(part, files) == -1 || sha256_file(files, hex) == -1 ||
	    (f = fopen(sum, "we")) == NULL) {
		unlink(part);
		return -1;
	}
	fprintf(f, "%s  %s.files\n", hex, name);
	return fclose(f) == 0 ? 1 : -1;
}

/* Whether file 'path' matches the checksum in 'path'.sha256. */
static int
checksum_ok(const char *path)
{
	char  sum[1200], line[256], want[65] = "", hex[65];
	FILE *f;

	snprintf(sum, sizeof(sum), "%s.sha256", path);
	if ((f = fopen(sum, "re")) != NULL) {
		if (fgets(line, sizeof(line), f) != NULL &&
		    strspn(line, "0123456789abcdef") == 64)
			snprintf(want, sizeof(want), "%.64s", line);
		fclose(f);
	}
	return want[0] != '\0' && sha256_file(path, hex) == 0 &&
	    strcmp(hex, want) == 0;
}

/*
 * The attachments of backup 'in' ('in'.files, when there is one) back
 * into attachments_dir: checked, its tag verified, then unpacked by tar.
 * Returns 1 restored, 0 none in the backup, -1 failed.
 */
static int
restore_files(
    const struct conf *cfg, const char *in, const unsigned char key[32])
{
	char	    files[1100];
	char *const av[] = { "tar", "-C",
		(char *)(uintptr_t)cfg->attachments_dir, "--no-same-owner",
		"--touch", "-xf", "-", NULL };
	pid_t	    pid;
	int	    fi, wr = -1, ok;

	snprintf(files, sizeof(files), "%s.files", in);
	if (access(files, F_OK) == -1)
		return 0;
	if (!checksum_ok(files)) {
		fprintf(stderr,
		    "parleyctl: restore: %s does not match its checksum\n",
		    files);
		return -1;
	}
	if ((fi = open(files, O_RDONLY | O_CLOEXEC)) == -1 ||
	    decrypt_fd(fi, key, -1) == -1) {
		fprintf(stderr,
		    "parleyctl: restore: %s could not be decrypted\n", files);
		if (fi != -1)
			close(fi);
		return -1;
	}
	if ((mkdir(cfg->attachments_dir, 0750) == -1 && errno != EEXIST) ||
	    (pid = spawn(av, environ, NULL, &wr)) == -1) {
		fprintf(stderr, "parleyctl: restore: cannot unpack into %s\n",
		    cfg->attachments_dir);
		close(fi);
		return -1;
	}
	ok = decrypt_fd(fi, key, wr) == 0;
	if (!ok)
		kill(pid, SIGKILL);
	close(wr);
	close(fi);
	return exited_ok(pid) && ok ? 1 : -1;
}

static int save_tombstones(const char *url, const char *dir);

static int mark_backup(const char *url);

int
backup_main(int argc, char *argv[])
{
	static struct conf cfg;
	unsigned char	   key[32];
	const char	  *file = getenv("PARLEY_CONFIG"), *dir = NULL;
	const char	  *url = getenv("PARLEY_BACKUP_DATABASE_URL");
	char		   name[64], path[1024], part[1040], sum[1040];
	char		   prog[600], hex[65], stamp[32], conn[1024], pw[256];
	char		   fhex[65];
	struct tm	   tm;
	time_t		   now = time(NULL);
	pid_t		   pid;
	FILE		  *f;
	int		   a, k, rd = -1, out = -1, rc = 1, gone, ts, fs;

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
	/* Two backups in one second get names of their own: the second
	 * must not replace the first. */
	for (k = 1; k <= 100; k++) {
		if (k == 1)
			snprintf(name, sizeof(name), "parley-%s.backup", stamp);
		else
			snprintf(name, sizeof(name), "parley-%s-%d.backup",
			    stamp, k);
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		snprintf(part, sizeof(part), "%s.part", path);
		if (access(path, F_OK) == -1 && errno == ENOENT &&
		    access(part, F_OK) == -1 && errno == ENOENT)
			break;
	}
	snprintf(sum, sizeof(sum), "%s.sha256", path);
	pg_prog(&cfg, "pg_dump", prog, sizeof(prog));
	/* The password goes by the environment, never the command line. */
	if (split_password(url, conn, sizeof(conn), pw, sizeof(pw)) == -1) {
		fprintf(stderr,
		    "parleyctl: backup: a malformed connection "
		    "string\n");
		goto out;
	}
	{
		char *av[] = { prog, "--format=custom", "--compress=6",
			"--no-password", "-d", conn, NULL };

		if ((out = open(part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			 0600)) == -1 ||
		    (pid = spawn(av, child_env(pw), &rd, NULL)) == -1) {
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
	/* The attachments beside it, encrypted alike. */
	if ((fs = backup_files(&cfg, path, name, key, fhex)) == -1) {
		fprintf(stderr,
		    "parleyctl: backup: the attachments (%s) could "
		    "not be written\n",
		    cfg.attachments_dir);
		goto out;
	}
	/* Outside the dump: deletions that a restore must apply again. */
	ts = save_tombstones(url, dir);
	gone = rotate(dir, cfg.backup_keep_days);
	printf("backup %s\nsha256 %s\n", path, hex);
	if (fs == 1)
		printf("files %s.files\nfiles_sha256 %s\n", path, fhex);
	else
		printf("files none (no %s)\n", cfg.attachments_dir);
	printf("tombstones %d\nremoved %d backup file(s) older than %d "
	       "days\n",
	    ts, gone, cfg.backup_keep_days);
	rc = ts == -1 ? 1 : 0;
	if (rc == 0 && mark_backup(url) == -1)
		fprintf(stderr,
		    "parleyctl: backup: written, but its time could not be "
		    "recorded for monitoring (ops_marks: the backup role "
		    "needs INSERT and UPDATE on it); "
		    "parley_backup_last_success_seconds stays old\n");
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

/* Records that a whole backup was written now (ops_marks "backup"), for
 * the metric parley_backup_last_success_seconds. 0 or -1. */
static int
mark_backup(const char *url)
{
	PGconn	 *c = PQconnectdb(url);
	PGresult *res = NULL;
	int	  rc = -1;

	if (PQstatus(c) == CONNECTION_OK &&
	    (res = PQexec(c,
		 "INSERT INTO ops_marks (name, at) VALUES ('backup', now()) "
		 "ON CONFLICT (name) DO UPDATE SET at = excluded.at")) !=
		NULL &&
	    PQresultStatus(res) == PGRES_COMMAND_OK)
		rc = 0;
	PQclear(res);
	PQfinish(c);
	return rc;
}

/* A set of company ids, kept sorted and without repeats on demand. */
struct ids {
	char (*v)[37];
	size_t n, cap;
};

static int
ids_add(struct ids *s, const char *id)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 256;
		char(*v)[37] = realloc(s->v, cap * sizeof(*v));

		if (v == NULL)
			return -1;
		s->v = v;
		s->cap = cap;
	}
	memcpy(s->v[s->n++], id, 37);
	return 0;
}

static int
cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void
ids_unique(struct ids *s)
{
	size_t i, k = 0;

	if (s->n == 0)
		return;
	qsort(s->v, s->n, sizeof(*s->v), cmp_id);
	for (i = 1; i < s->n; i++)
		if (strcmp(s->v[i], s->v[k]) != 0)
			memcpy(s->v[++k], s->v[i], 37);
	s->n = k + 1;
}

/*
 * Adds the company ids of the tombstone lines in file 'path' ("ID" or
 * "ID TIME"). A missing file adds nothing; one that cannot be read is an
 * error (-1): a restore must not go on without it.
 */
static int
read_tombstones(const char *path, struct ids *s)
{
	char  line[256];
	FILE *f;

	if (path == NULL || path[0] == '\0')
		return 0;
	if ((f = fopen(path, "re")) == NULL)
		return errno == ENOENT ? 0 : -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, " \n")] = '\0';
		if (strlen(line) == 36 && db_uuid_valid(line) &&
		    ids_add(s, line) == -1) {
			fclose(f);
			return -1;
		}
	}
	if (ferror(f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
}

/*
 * Writes 'dir'/tombstones: the ids already there and the database's, each
 * once, replaced atomically. Returns how many, or -1.
 */
static int
save_tombstones(const char *url, const char *dir)
{
	struct ids ids = { NULL, 0, 0 };
	PGconn	  *c = PQconnectdb(url);
	PGresult  *res = NULL;
	char	   path[1024], tmp[1040];
	size_t	   i;
	FILE	  *f;
	int	   rc = -1;

	snprintf(path, sizeof(path), "%s/tombstones", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (PQstatus(c) != CONNECTION_OK || read_tombstones(path, &ids) == -1)
		goto out;
	res = PQexec(c, "SELECT company_id FROM company_tombstones");
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		goto out;
	for (i = 0; i < (size_t)PQntuples(res); i++)
		if (ids_add(&ids, PQgetvalue(res, (int)i, 0)) == -1)
			goto out;
	ids_unique(&ids);
	if ((f = fopen(tmp, "we")) == NULL)
		goto out;
	for (i = 0; i < ids.n; i++)
		fprintf(f, "%s\n", ids.v[i]);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		fclose(f);
		unlink(tmp);
		goto out;
	}
	if (fclose(f) != 0 || rename(tmp, path) == -1) {
		unlink(tmp);
		goto out;
	}
	rc = (int)ids.n;
out:
	PQclear(res);
	PQfinish(c);
	free(ids.v);
	return rc;
}

/*
 * Adds the database's own tombstones to 'ids', then deletes every company
 * they name that is still there, as parleyd deletes one (in its tenant
 * context, through parley_company_delete()). Returns how many were
 * deleted, or -1 (said on standard error).
 */
static int
apply_tombstones(PGconn *c, struct ids *ids)
{
	PGresult *res;
	size_t	  k;
	int	  i, again = 0;

	res = PQexec(c, "SELECT company_id FROM company_tombstones");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		PQclear(res);
		fprintf(stderr,
		    "parleyctl: the tombstones table cannot be "
		    "read\n");
		return -1;
	}
	for (i = 0; i < PQntuples(res); i++)
		if (ids_add(ids, PQgetvalue(res, i, 0)) == -1) {
			PQclear(res);
			return -1;
		}
	PQclear(res);
	ids_unique(ids);
	for (k = 0; k < ids->n; k++) {
		const char *p[1] = { ids->v[k] };
		int	    ok;

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
			fprintf(stderr, "parleyctl: deleting %s again failed\n",
			    ids->v[k]);
			return -1;
		}
		PQclear(res);
	}
	return again;
}

/* Reads 'dir'/tombstones and 'tombstone_file' into 'ids'; 0 or -1. */
static int
outside_tombstones(const struct conf *cfg, const char *dir, struct ids *ids)
{
	char tomb[1100];

	snprintf(tomb, sizeof(tomb), "%s/tombstones", dir);
	if (read_tombstones(tomb, ids) == -1 ||
	    read_tombstones(cfg->tombstone_file, ids) == -1) {
		fprintf(stderr,
		    "parleyctl: a tombstone file cannot be read: deleted "
		    "companies could come back; not going on\n");
		return -1;
	}
	return 0;
}

int
tombstones_main(int argc, char *argv[])
{
	static struct conf cfg;
	struct ids	   ids = { NULL, 0, 0 };
	const char	  *file = getenv("PARLEY_CONFIG"), *dir = NULL;
	const char	  *target = NULL;
	char		   err[512];
	PGconn		  *c = NULL;
	int		   a, again, rc = 1;

	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "-c") == 0 && a + 1 < argc)
			file = argv[++a];
		else if (strcmp(argv[a], "--dir") == 0 && a + 1 < argc)
			dir = argv[++a];
		else if (strcmp(argv[a], "--target") == 0 && a + 1 < argc)
			target = argv[++a];
		else
			break;
	}
	if (a < argc || strcmp(argv[0], "apply") != 0 || target == NULL ||
	    !db_conninfo_valid(target)) {
		fprintf(stderr,
		    "usage: parleyctl tombstones apply [-c FILE] "
		    "[--dir BACKUPDIR] --target CONNINFO\n");
		return 2;
	}
	if (file != NULL && *file == '\0')
		file = NULL;
	if (conf_load(&cfg, file, err, sizeof(err)) == -1) {
		fprintf(stderr, "parleyctl: tombstones apply: %s\n", err);
		return 2;
	}
	if (outside_tombstones(
		&cfg, dir != NULL ? dir : cfg.backup_dir, &ids) == -1)
		goto out;
	c = PQconnectdb(target);
	if (PQstatus(c) != CONNECTION_OK ||
	    (again = apply_tombstones(c, &ids)) == -1)
		goto out;
	printf("deleted again: %d compan%s (of %zu tombstones)\n", again,
	    again == 1 ? "y" : "ies", ids.n);
	rc = 0;
out:
	PQfinish(c);
	free(ids.v);
	return rc;
}

int
restore_main(int argc, char *argv[])
{
	static struct conf cfg;
	struct ids	   ids = { NULL, 0, 0 };
	unsigned char	   key[32];
	const char	  *file = getenv("PARLEY_CONFIG"), *in = NULL;
	const char	  *target = NULL;
	char		   pw[256], prog[600], dir[1024], conn[1024];
	PGconn		  *c = NULL;
	PGresult	  *res;
	pid_t		   pid;
	int		   a, i, fi = -1, again = 0, rc = 1, fs;

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
	if (!checksum_ok(in)) {
		fprintf(stderr,
		    "parleyctl: restore: %s does not match its "
		    "checksum (%s.sha256)\n",
		    in, in);
		crypto_wipe(key, sizeof(key));
		return 1;
	}
	/* The tombstones outside the dumps, read before anything is
	 * restored: without them, deleted companies could come back. */
	snprintf(dir, sizeof(dir), "%s", in);
	if (strrchr(dir, '/') != NULL)
		*strrchr(dir, '/') = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	if (outside_tombstones(&cfg, dir, &ids) == -1) {
		crypto_wipe(key, sizeof(key));
		free(ids.v);
		return 1;
	}
	/*
	 * Two passes over the same open file: the first only checks the tag,
	 * the second decrypts into pg_restore's standard input. No plaintext
	 * ever touches a disk.
	 */
	if ((fi = open(in, O_RDONLY | O_CLOEXEC)) == -1 ||
	    decrypt_fd(fi, key, -1) == -1) {
		fprintf(stderr,
		    "parleyctl: restore: %s could not be "
		    "decrypted (damaged, or another key)\n",
		    in);
		if (fi != -1)
			close(fi);
		crypto_wipe(key, sizeof(key));
		free(ids.v);
		return 1;
	}
	/*
	 * The attachments first (a failed database restore leaves only files
	 * no row names, which the files sweep removes).
	 */
	if ((fs = restore_files(&cfg, in, key)) == -1) {
		close(fi);
		crypto_wipe(key, sizeof(key));
		free(ids.v);
		return 1;
	}
	pg_prog(&cfg, "pg_restore", prog, sizeof(prog));
	if (split_password(target, conn, sizeof(conn), pw, sizeof(pw)) == -1) {
		close(fi);
		crypto_wipe(key, sizeof(key));
		free(ids.v);
		return 2;
	}
	{
		char *av[] = { prog, "--exit-on-error", "--single-transaction",
			"--no-password", "-d", conn, NULL };
		int   wr = -1, ok;

		if ((pid = spawn(av, child_env(pw), NULL, &wr)) == -1) {
			fprintf(stderr, "parleyctl: restore: cannot run %s\n",
			    prog);
			close(fi);
			crypto_wipe(key, sizeof(key));
			free(ids.v);
			return 1;
		}
		ok = decrypt_fd(fi, key, wr) == 0;
		/* Changed since the first pass: pg_restore never sees the
		 * end of its input, so its one transaction never commits. */
		if (!ok)
			kill(pid, SIGKILL);
		close(wr);
		close(fi);
		crypto_wipe(key, sizeof(key));
		if (!exited_ok(pid) || !ok) {
			fprintf(
			    stderr, "parleyctl: restore: pg_restore failed\n");
			return 1;
		}
	}
	/* Deleted since the backup: deleted again. */
	c = PQconnectdb(target);
	if (PQstatus(c) != CONNECTION_OK ||
	    (again = apply_tombstones(c, &ids)) == -1)
		goto out;
	printf("restored %s\n", in);
	if (fs == 1)
		printf("files restored into %s\n", cfg.attachments_dir);
	printf("deleted again: %d compan%s (of %zu tombstones)\n", again,
	    again == 1 ? "y" : "ies", ids.n);
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
	free(ids.v);
	return rc;
}
