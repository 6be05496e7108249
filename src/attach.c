/*
 * attach.c: conversation attachments, the files (see attach.h).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <magic.h>
#include <vips/vips.h>

#include "attach.h"
#include "conf.h"
#include "crypto.h"
#include "db.h"
#include "log.h"
#include "util.h"

/* The kinds taken: media type, the extension stored, the names' ones. */
static const struct kind {
	const char *type;
	const char *ext;
	const char *exts; /* " png " */
	const char *loader; /* libvips' loader of it, NULL: not an image */
	int	    pixel_share; /* of attachment_max_pixels, in quarters */
} kinds[] = {
	{ "image/png", "png", " png ", "VipsForeignLoadPngBuffer", 4 },
	{ "image/jpeg", "jpg", " jpg jpeg jpe jfif ",
	    "VipsForeignLoadJpegBuffer", 4 },
	/* libnsgif holds a whole frame: a quarter of the bound (measured in
	 * docs/performance.md, "Attachments"). */
	{ "image/gif", "gif", " gif ", "VipsForeignLoadNsgifBuffer", 1 },
	{ "image/webp", "webp", " webp ", "VipsForeignLoadWebpBuffer", 4 },
	{ "application/pdf", "pdf", " pdf ", NULL, 0 },
};
/* Images are kept at most this many pixels wide and high. */
#define ATTACH_SIDE 4096

static magic_t magic_db;
static int     vips_ready;

/* libmagic, once per process (its database loaded on first use). */
static magic_t
magic_get(void)
{
	if (magic_db != NULL)
		return magic_db;
	if ((magic_db = magic_open(MAGIC_MIME_TYPE | MAGIC_ERROR)) == NULL)
		return NULL;
	if (magic_load(magic_db, NULL) == -1) {
		log_event(LOG_ERROR, "attach_magic",
		    LOG_S("reason", magic_error(magic_db)));
		magic_close(magic_db);
		magic_db = NULL;
	}
	return magic_db;
}

/*
 * libvips, once per process, after the fork: no operation cache (each
 * file is decoded once), one thread, and no loader but the ones called by
 * name below.
 */
static void
quiet(const char *domain, GLogLevelFlags level, const char *msg, void *arg)
{
	(void)domain;
	(void)level;
	(void)msg;
	(void)arg;
}

static int
vips_get(void)
{
	if (vips_ready)
		return 0;
	if (VIPS_INIT("parley") != 0)
		return -1;
	/* Its warnings (a file's trouble) are no operator's business: the
	 * refusal is logged, without the library's words. */
	g_log_set_handler("VIPS",
	    G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO |
		G_LOG_LEVEL_DEBUG,
	    quiet, NULL);
	vips_cache_set_max(0);
	vips_cache_set_max_mem(0);
	vips_concurrency_set(1);
	vips_block_untrusted_set(TRUE);
	vips_ready = 1;
	return 0;
}

/*
 * The extension of 'name' (after its last '.', which may be its first
 * character), lower case, or "" when it has none; at most 'len' - 1
 * bytes (a longer one is cut: it then matches no kind).
 */
static void
name_ext(const char *name, char *out, size_t len)
{
	const char *dot = strrchr(name, '.');
	size_t	    i;

	out[0] = '\0';
	if (dot == NULL)
		return;
	for (i = 0; dot[1 + i] != '\0' && i + 1 < len; i++)
		out[i] = (char)(dot[1 + i] >= 'A' && dot[1 + i] <= 'Z'
			? dot[1 + i] - 'A' + 'a'
			: dot[1 + i]);
	out[i] = '\0';
}

/*
 * Image 'buf', checked by libvips' own sniffing against the kind libmagic
 * found and by its header against the pixel bound, then decoded (shrunk
 * while it loads where the format allows: JPEG, WebP), turned upright by
 * its EXIF orientation, at most ATTACH_SIDE on a side, and written again
 * without metadata.
 */
static int
reencode(const struct conf *cfg, const struct kind *k, const unsigned char *buf,
    size_t len, struct attach_file *out)
{
	/* libvips takes the buffer as void * but only reads it. */
	void	   *bytes = (void *)(uintptr_t)buf;
	const char *loader;
	VipsImage  *in = NULL;
	void	   *data = NULL;
	size_t	    n = 0;
	long long   pixels;
	int	    r, rc = ATT_BROKEN;

	if (vips_get() == -1)
		return -1;
	if ((loader = vips_foreign_find_load_buffer(bytes, len)) == NULL ||
	    strcmp(loader, k->loader) != 0) {
		rc = ATT_TYPE;
		goto out;
	}
	/* The header only: no pixel is decoded before the bound. */
	if ((in = vips_image_new_from_buffer(bytes, len, "", "access",
		 VIPS_ACCESS_SEQUENTIAL, NULL)) == NULL)
		goto out;
	pixels =
	    (long long)vips_image_get_width(in) * vips_image_get_height(in);
	g_object_unref(in);
	in = NULL;
	if (pixels >
	    (long long)cfg->attachment_max_pixels * k->pixel_share / 4) {
		rc = ATT_PIXELS;
		goto out;
	}
	if (vips_thumbnail_buffer(bytes, len, &in, ATTACH_SIDE, "height",
		ATTACH_SIDE, "size", VIPS_SIZE_DOWN, "option_string",
		"fail_on=error", NULL) != 0)
		goto out;
	if (strcmp(k->ext, "png") == 0)
		r = vips_pngsave_buffer(in, &data, &n, "strip", TRUE, NULL);
	else if (strcmp(k->ext, "jpg") == 0)
		r = vips_jpegsave_buffer(
		    in, &data, &n, "strip", TRUE, "Q", 90, NULL);
	else if (strcmp(k->ext, "gif") == 0)
		r = vips_gifsave_buffer(in, &data, &n, "strip", TRUE, NULL);
	else
		r = vips_webpsave_buffer(in, &data, &n, "strip", TRUE, NULL);
	if (r != 0)
		goto out;
	out->data = data;
	out->len = n;
	out->vips_owned = 1;
	out->width = vips_image_get_width(in);
	out->height = vips_image_get_height(in);
	data = NULL;
	rc = ATT_OK;
out:
	if (rc != ATT_OK)
		log_event(LOG_INFO, "attachment_refused",
		    LOG_S("reason",
			rc == ATT_TYPE	       ? "kind"
			    : rc == ATT_PIXELS ? "pixels"
					       : "broken"),
		    LOG_S("kind", k->type));
	vips_error_clear();
	g_free(data);
	if (in != NULL)
		g_object_unref(in);
	return rc;
}

int
attach_check(const struct conf *cfg, const unsigned char *buf, size_t len,
    const char *name, struct attach_file *out)
{
	const struct kind *k = NULL;
	const char	  *said;
	unsigned char	   md[32], rnd[16];
	char		   ext[16], want[20];
	magic_t		   m;
	size_t		   i;
	int		   rc;

	memset(out, 0, sizeof(*out));
	if ((m = magic_get()) == NULL)
		return -1;
	if ((said = magic_buffer(m, buf, len)) == NULL)
		said = "application/octet-stream";
	snprintf(out->sent_type, sizeof(out->sent_type), "%s", said);
	for (i = 0; i < nitems(kinds); i++)
		if (strcmp(said, kinds[i].type) == 0)
			k = &kinds[i];
	if (k == NULL)
		return ATT_TYPE;
	/*
	 * A name with an extension must name this kind; one without gets
	 * the kind's, so the file never downloads under another.
	 */
	name_ext(name, ext, sizeof(ext));
	snprintf(want, sizeof(want), " %s ", ext);
	if (strchr(name, '.') != NULL &&
	    (ext[0] == '\0' || strstr(k->exts, want) == NULL))
		return ATT_NAME;
	if (strchr(name, '.') != NULL)
		snprintf(out->name, sizeof(out->name), "%s", name);
	else if (snprintf(out->name, sizeof(out->name), "%s.%s", name,
		     k->ext) >= (int)sizeof(out->name))
		return ATT_NAME;
	snprintf(out->media_type, sizeof(out->media_type), "%s", k->type);
	if (strcmp(k->ext, "pdf") == 0) {
		if ((out->data = malloc(len)) == NULL)
			return -1;
		memcpy(out->data, buf, len);
		out->len = len;
	} else if ((rc = reencode(cfg, k, buf, len, out)) != ATT_OK)
		return rc;
	crypto_sha256(out->data, out->len, md);
	crypto_hex(md, sizeof(md), out->sha256);
	if (crypto_random(rnd, sizeof(rnd)) == -1) {
		attach_free(out);
		return -1;
	}
	crypto_hex(rnd, sizeof(rnd), out->key);
	snprintf(out->key + 32, sizeof(out->key) - 32, ".%s", k->ext);
	return ATT_OK;
}

void
attach_free(struct attach_file *f)
{
	if (f->vips_owned)
		g_free(f->data);
	else
		free(f->data);
	f->data = NULL;
	f->len = 0;
}

int
attach_path(const struct conf *cfg, const char *company, const char *key,
    char *out, size_t len)
{
	int n = snprintf(out, len, "%s/%s/%s", cfg->attachments_dir, company,
	    key != NULL ? key : "");

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int
attach_store(
    const struct conf *cfg, const char *company, const struct attach_file *f)
{
	char	dir[600], path[700], tmp[720];
	size_t	done = 0;
	ssize_t n;
	int	fd, rc = -1;

	if (attach_path(cfg, company, NULL, dir, sizeof(dir)) == -1 ||
	    attach_path(cfg, company, f->key, path, sizeof(path)) == -1)
		return -1;
	snprintf(tmp, sizeof(tmp), "%s.part", path);
	/* Group-readable: nginx (its group) serves the files. */
	if ((mkdir(cfg->attachments_dir, 0750) == -1 && errno != EEXIST) ||
	    (mkdir(dir, 0750) == -1 && errno != EEXIST)) {
		log_event(LOG_ERROR, "attachment_store",
		    LOG_S("reason", "attachments_dir"));
		return -1;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640)) ==
	    -1)
		return -1;
	while (done < f->len) {
		if ((n = write(fd, f->data + done, f->len - done)) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		done += (size_t)n;
	}
	if (done == f->len && fsync(fd) == 0)
		rc = 0;
	if (close(fd) == -1)
		rc = -1;
	if (rc == 0 && rename(tmp, path) == -1)
		rc = -1;
	if (rc == -1) {
		log_event(LOG_ERROR, "attachment_store",
		    LOG_S("reason", strerror(errno)));
		(void)unlink(tmp);
	}
	return rc;
}

void
attach_unlink(const struct conf *cfg, const char *company, const char *key)
{
	char path[700];

	if (attach_path(cfg, company, key, path, sizeof(path)) == 0)
		(void)unlink(path);
}

size_t
attach_name(const char *name, char *out, size_t len)
{
	const char *base = name;
	size_t	    i, n;

	for (i = 0; name[i] != '\0'; i++)
		if (name[i] == '/' || name[i] == '\\')
			base = name + i + 1;
	/* Valid UTF-8, no control character, never a character cut. */
	utf8_clean(base, out, len < 201 ? len : 201);
	for (n = 0; out[n] != '\0'; n++)
		if (out[n] == '"' || out[n] == '?')
			out[n] = '_';
	if (n == 0 && len > 4)
		n = (size_t)snprintf(out, len, "file");
	return n;
}

/* Which of 'names' (a JSON array) no attachment row of 'cid' names. */
static struct db_stmt q_att_unknown = { "attachment_unknown",
	"SELECT k FROM jsonb_array_elements_text($2::jsonb) AS k WHERE NOT "
	"EXISTS (SELECT 1 FROM attachments WHERE company_id = $1 AND "
	"storage_key = k)",
	2, DB_RETRY_SAFE, 0 };

/* Removes the files of 'names' no row of 'cid' names; the count. */
static long
sweep_batch(
    const struct conf *cfg, struct db *db, const char *cid, json_t *names)
{
	const char *p[2] = { cid, NULL };
	char	   *j = json_dumps(names, JSON_COMPACT);
	PGresult   *res = NULL;
	long	    gone = 0;
	int	    i;

	p[1] = j;
	if (j == NULL || db_tenant_begin(db, cid, NULL, NULL, NULL) == -1) {
		free(j);
		return -1;
	}
	if ((res = db_exec_commit(db, &q_att_unknown, p)) == NULL) {
		db_rollback(db);
		free(j);
		return -1;
	}
	for (i = 0; i < PQntuples(res); i++) {
		attach_unlink(cfg, cid, PQgetvalue(res, i, 0));
		gone++;
	}
	PQclear(res);
	free(j);
	return gone;
}

/* Every file of company 'cid' older than ten minutes, in batches. */
static long
sweep_company(const struct conf *cfg, struct db *db, const char *cid)
{
	DIR	      *d;
	struct dirent *e;
	struct stat    st;
	char	       dir[600], path[900];
	json_t	      *names = json_array();
	long	       gone = 0, r;

	if (names == NULL ||
	    attach_path(cfg, cid, NULL, dir, sizeof(dir)) == -1 ||
	    (d = opendir(dir)) == NULL) {
		json_decref(names);
		return 0;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s%s", dir, e->d_name);
		if (lstat(path, &st) == -1 || !S_ISREG(st.st_mode) ||
		    st.st_mtime > time(NULL) - 600)
			continue;
		/* A try that died: its partial file. */
		if (strstr(e->d_name, ".part") != NULL) {
			(void)unlink(path);
			gone++;
			continue;
		}
		json_array_append_new(names, json_string(e->d_name));
		if (json_array_size(names) == 500) {
			if ((r = sweep_batch(cfg, db, cid, names)) == -1)
				break;
			gone += r;
			json_array_clear(names);
		}
	}
	closedir(d);
	if (json_array_size(names) > 0 &&
	    (r = sweep_batch(cfg, db, cid, names)) > 0)
		gone += r;
	json_decref(names);
	return gone;
}

long
attach_sweep(const struct conf *cfg, struct db *db, const PGresult *list)
{
	DIR	      *d;
	struct dirent *e;
	struct stat    st;
	char	       dir[600];
	long	       gone = 0;
	int	       i, known;

	if ((d = opendir(cfg->attachments_dir)) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (!db_uuid_valid(e->d_name))
			continue;
		for (known = 0, i = 0; i < PQntuples(list) && !known; i++)
			known = strcmp(PQgetvalue(list, i, 0), e->d_name) == 0;
		if (known) {
			gone += sweep_company(cfg, db, e->d_name);
			continue;
		}
		/*
		 * The company is gone (its deletion removed the directory;
		 * this is one it could not): it goes whole, once a day old,
		 * since the list of companies was read before this one may
		 * have signed up.
		 */
		if (attach_path(cfg, e->d_name, NULL, dir, sizeof(dir)) == 0 &&
		    stat(dir, &st) == 0 && st.st_mtime < time(NULL) - 86400)
			gone += util_remove_dir(dir);
	}
	closedir(d);
	if (gone > 0)
		log_event(LOG_INFO, "attachments_swept", LOG_I("count", gone));
	return gone;
}
