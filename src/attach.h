/*
 * attach.h: conversation attachments, the files (see docs/architecture.md,
 * "Attachments"). What a file is comes from its bytes (libmagic), never
 * its name; an image is decoded and written again by libvips (its own
 * loader only, under a pixel bound) with its metadata left out; a PDF is
 * kept as sent. Files live under attachments_dir/COMPANY/KEY, outside the
 * web root; nginx serves them after parleyd authorised the request. Nothing
 * here knows HTTP.
 */
#ifndef PARLEY_ATTACH_H
#define PARLEY_ATTACH_H

#include <stddef.h>

#include <libpq-fe.h>

struct conf;
struct db;

/* Why a file was refused. */
enum attach_refusal {
	ATT_OK,
	ATT_TYPE, /* the bytes are none of the kinds taken (SVG among them) */
	ATT_NAME, /* the name's extension says another kind than the bytes */
	ATT_PIXELS, /* an image larger than attachment_max_pixels */
	ATT_BROKEN, /* an image its decoder refuses */
};

/* A file checked and ready to store: what is kept, not what was sent. */
struct attach_file {
	char	       media_type[24]; /* "image/png", ..., "application/pdf" */
	char	       name[208]; /* the name kept: with the kind's extension */
	char	       sent_type[64]; /* what libmagic said of the bytes */
	unsigned char *data; /* malloc'd (or libvips'): what is stored */
	size_t	       len;
	int	       width, height; /* images; 0 for a PDF */
	char	       sha256[65]; /* of 'data' */
	char	       key[40]; /* the file's name: 32 hex, '.', extension */
	int	       vips_owned; /* 'data' is g_free()d */
};

/*
 * Checks 'len' bytes at 'buf' named 'name' (made safe by attach_name())
 * and fills 'out' with what would be stored. A name with an extension
 * must have one of the kind's (ATT_NAME otherwise); one without gets it. Returns ATT_OK, a refusal, or -1 (out of memory, or a
 * library that would not start).
 */
int  attach_check(const struct conf *cfg, const unsigned char *buf, size_t len,
     const char *name, struct attach_file *out);
void attach_free(struct attach_file *f);

/*
 * Writes 'f' as attachments_dir/'company'/'f->key' (a temporary file,
 * fsync, rename: never half a file under its name). Returns 0 or -1.
 */
int attach_store(
    const struct conf *cfg, const char *company, const struct attach_file *f);
/* Removes a stored file (a transaction that did not commit). */
void attach_unlink(
    const struct conf *cfg, const char *company, const char *key);
/* The path of a stored file into 'out'; 0, or -1 when it does not fit. */
int attach_path(const struct conf *cfg, const char *company, const char *key,
    char *out, size_t len);

/*
 * 'name' as kept and shown: its last path component, valid UTF-8, control
 * characters and quotes replaced by '_', at most 200 bytes (whole UTF-8
 * characters). Writes at most 'len' bytes into 'out'; returns its length.
 */
size_t attach_name(const char *name, char *out, size_t len);

/*
 * The files sweep (jobs process, with the retention sweep): in each
 * living company's directory, files older than ten minutes that no row
 * names go (their conversation, message, visitor or company went, or the
 * request that wrote them died before it committed); the directory of a
 * company that no longer exists goes whole. 'companies' lists the living
 * ones (column 0). Returns the number of files removed, or -1.
 */
long attach_sweep(
    const struct conf *cfg, struct db *db, const PGresult *companies);

#endif
