/*
 * mfa.c: the TOTP second factor and its recovery codes, without HTTP:
 * checking a code (each time step once) or spending a recovery code,
 * making ten new recovery codes (stored as SHA-256), the otpauth URI.
 * The secret is stored AES-256-GCM encrypted with the company id as
 * associated data (keys.h).
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <qrencode.h>

#include "crypto.h"
#include "db.h"
#include "server_keys.h"
#include "mfa.h"
#include "totp.h"

static struct db_stmt q_codes_clear = { "recovery_clear",
	"DELETE FROM mfa_recovery_codes WHERE company_id = $2 AND user_id = $1",
	2, 0, 0 };
static struct db_stmt q_code_new = { "recovery_new",
	"INSERT INTO mfa_recovery_codes (company_id, user_id, code_hash) "
	"VALUES ($2, $1, decode($3, 'hex'))",
	3, 0, 0 };
static struct db_stmt q_totp_step = { "user_totp_step",
	"UPDATE users SET totp_last_step = $3 WHERE id = $1 AND company_id = "
	"$2 AND totp_last_step < $3",
	3, 0, 0 };
static struct db_stmt q_recovery_use = { "recovery_use",
	"UPDATE mfa_recovery_codes SET used_at = now() WHERE company_id = $1 "
	"AND user_id = $2 AND code_hash = decode($3, 'hex') AND used_at IS "
	"NULL RETURNING id",
	3, 0, 0 };
/*
 * Checks a second factor for the user in the open tenant transaction:
 * a six-digit TOTP code (each time step once) or an unused recovery
 * code. Returns 1 if accepted, 0 if not, -1 on error. Sets '*recovery'.
 */
int
mfa_verify(struct db *db, const char *cid, const char *uid,
    const char *secret_enc, const char *last_step, const char *code,
    int *recovery)
{
	unsigned char raw[64];
	uint64_t      step;
	int	      n;

	*recovery = 0;
	if (totp_code_valid(code)) {
		char	    s[24];
		const char *p[3] = { uid, cid, s };
		PGresult   *res;

		n = keyring_decrypt(
		    keys_ring(), cid, secret_enc, raw, sizeof(raw));
		if (n <= 0)
			return -1;
		if (totp_check(raw, (size_t)n, code, time(NULL),
			strtoull(last_step, NULL, 10), &step) == -1) {
			crypto_wipe(raw, sizeof(raw));
			return 0;
		}
		crypto_wipe(raw, sizeof(raw));
		snprintf(s, sizeof(s), "%llu", (unsigned long long)step);
		/* Only moves forward: a concurrent use of the step loses. */
		if ((res = db_exec(db, &q_totp_step, p)) == NULL)
			return -1;
		n = (int)strtol(PQcmdTuples(res), NULL, 10);
		PQclear(res);
		return n == 1;
	} else {
		char	      norm[32], hex[65];
		unsigned char h[32];
		const char   *p[3] = { cid, uid, hex };
		PGresult     *res;
		size_t	      i, o = 0;

		for (i = 0; code[i] != '\0' && o + 1 < sizeof(norm); i++)
			if (code[i] != '-' && code[i] != ' ')
				norm[o++] =
				    (char)tolower((unsigned char)code[i]);
		norm[o] = '\0';
		if (o != 16)
			return 0;
		crypto_sha256(norm, o, h);
		crypto_hex(h, sizeof(h), hex);
		if ((res = db_exec(db, &q_recovery_use, p)) == NULL)
			return -1;
		n = PQntuples(res);
		PQclear(res);
		*recovery = n == 1;
		return n == 1;
	}
}

int
mfa_totp_ok(const char *cid, const char *sealed, const char *last,
    const char *code, uint64_t *step)
{
	unsigned char raw[64];
	int	      n, ok;

	if (!totp_code_valid(code))
		return 0;
	n = keyring_decrypt(keys_ring(), cid, sealed, raw, sizeof(raw));
	if (n <= 0)
		return -1;
	ok = totp_check(raw, (size_t)n, code, time(NULL),
		 strtoull(last, NULL, 10), step) == 0;
	crypto_wipe(raw, sizeof(raw));
	return ok;
}

/* Percent-encodes 's' for an otpauth URI label. */
static void
uri_escape(const char *s, char *out, size_t outlen)
{
	static const char hx[] = "0123456789ABCDEF";
	size_t		  o = 0;

	for (; *s != '\0' && o + 4 < outlen; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || c == '.' || c == '-' || c == '_' ||
		    c == '@') {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hx[c >> 4];
			out[o++] = hx[c & 15];
		}
	}
	out[o] = '\0';
}

void
mfa_otpauth_uri(const char *account, const char *b32, char *out, size_t len)
{
	char label[800];

	uri_escape(account, label, sizeof(label));
	snprintf(out, len,
	    "otpauth://totp/parley:%s?secret=%s&issuer=parley&algorithm=SHA1&"
	    "digits=6&period=30",
	    label, b32);
}

/* The width of a version 40 symbol, the largest. */
#define QR_WIDTH_MAX (17 + 4 * QRSPEC_VERSION_MAX)

json_t *
mfa_qr_rows(const char *text)
{
	QRcode *q;
	json_t *rows;
	char	line[QR_WIDTH_MAX + 1];
	int	x, y;

	if ((q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1)) ==
		NULL ||
	    q->width <= 0 || q->width > QR_WIDTH_MAX) {
		QRcode_free(q);
		return NULL;
	}
	rows = json_array();
	for (y = 0; rows != NULL && y < q->width; y++) {
		for (x = 0; x < q->width; x++)
			line[x] = (q->data[y * q->width + x] & 1) ? '1' : '0';
		line[q->width] = '\0';
		if (json_array_append_new(rows, json_string(line)) == -1) {
			json_decref(rows);
			rows = NULL;
		}
	}
	crypto_wipe(line, sizeof(line));
	crypto_wipe(q->data, (size_t)q->width * (size_t)q->width);
	QRcode_free(q);
	return rows;
}

int
mfa_recovery_clear(struct db *db, const char *cid, const char *uid)
{
	const char *p[2] = { uid, cid };
	PGresult   *res = db_exec(db, &q_codes_clear, p);

	PQclear(res);
	return res != NULL ? 0 : -1;
}

int
mfa_recovery_new(struct db *db, const char *cid, const char *uid,
    char codes[MFA_RECOVERY_CODES][MFA_RECOVERY_LEN])
{
	char	    hex[65];
	const char *p[3] = { uid, cid, hex };
	PGresult   *res;
	int	    i;

	if (mfa_recovery_clear(db, cid, uid) == -1)
		return -1;
	for (i = 0; i < MFA_RECOVERY_CODES; i++) {
		/* 16 symbols of 32 (no l, o): 80 bits, unbiased. */
		static const char alpha[] = "abcdefghijkmnpqrstuvwxyz23456789";
		unsigned char	  r[16], h[32];
		char		  norm[16];
		int		  j, n = 0;

		if (crypto_random(r, sizeof(r)) == -1)
			return -1;
		for (j = 0; j < 16; j++) {
			norm[j] = alpha[r[j] & 31];
			if (j > 0 && j % 4 == 0)
				codes[i][n++] = '-';
			codes[i][n++] = norm[j];
		}
		codes[i][n] = '\0';
		crypto_sha256(norm, 16, h);
		crypto_wipe(norm, sizeof(norm));
		crypto_hex(h, sizeof(h), hex);
		if ((res = db_exec(db, &q_code_new, p)) == NULL)
			return -1;
		PQclear(res);
	}
	return 0;
}
