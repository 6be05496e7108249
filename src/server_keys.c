/*
 * server_keys.c: secrets from files outside the database.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "conf.h"
#include "crypto.h"
#include "server_keys.h"

/*
 * The access-token keys, one per line of jwt_key_file: the first signs,
 * every one verifies (a rotation across hosts: docs/operations.md). Each
 * has its derived key, for the MACs parleyd hands out and checks later
 * (keys_derived_mac, keys_derived_check).
 */
struct jwt_key {
	unsigned char k[256];
	size_t	      len;
	unsigned char derived[32];
};
static struct jwt_key jwt[KEYS_JWT_MAX];
static int	      njwt;
static struct keyring ring;
/* Names parleyd stores (rate-limit buckets, ...): from the audit key,
 * which never changes, so a rotation of the JWT keys splits no count. */
static unsigned char names_key[32];
static unsigned char audit_key[256];
static size_t	     audit_len;

int
keys_read_file(const char *what, const char *path, unsigned char *out,
    size_t outlen, size_t *len, char *err, size_t errlen)
{
	FILE *f;
	char  line[512], iobuf[1024]; /* stdio's copy of the key, wiped */
	int   n;

	if (path[0] == '\0') {
		snprintf(err, errlen,
		    "%s is required: a file with base64 of at "
		    "least 32 random bytes, e.g. openssl rand -base64 48",
		    what);
		return -1;
	}
	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		return -1;
	}
	(void)setvbuf(f, iobuf, _IOFBF, sizeof(iobuf));
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	crypto_wipe(iobuf, sizeof(iobuf));
	n = crypto_b64_decode(line, out, outlen);
	crypto_wipe(line, sizeof(line));
	if (n < 32) {
		crypto_wipe(out, outlen);
		snprintf(err, errlen,
		    "%s: the key must be base64 of at least 32 "
		    "bytes (256 bits); refusing to start",
		    what);
		return -1;
	}
	*len = (size_t)n;
	return 0;
}

/* HMAC-SHA256 of 'msg' under 'key' into 'out' (32 bytes). */
static void
hmac32(const unsigned char *key, size_t keylen, const char *msg,
    unsigned char out[32])
{
	unsigned int n = 32;

	HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg,
	    strlen(msg), out, &n);
}

/*
 * Reads jwt_key_file into 'keys': one key a line (base64 of 32 to
 * KEYS_JWT_BYTES bytes, blanks around it ignored; blank lines and '#'
 * comments skipped), at most KEYS_JWT_MAX. Returns how many, or -1 with
 * a reason in 'err' (nothing of the file kept).
 */
static int
jwt_read(const char *path, struct jwt_key *keys, char *err, size_t errlen)
{
	FILE *f;
	char  line[512], iobuf[1024]; /* stdio's copy of the keys, wiped */
	int   n = 0, lineno = 0, len, bad = 0;

	if (path[0] == '\0') {
		snprintf(err, errlen,
		    "jwt_key_file is required (PARLEY_JWT_KEY_"
		    "FILE): a file with base64 of at least 32 random bytes, "
		    "e.g. openssl rand -base64 48");
		return -1;
	}
	if ((f = fopen(path, "r")) == NULL) {
		snprintf(
		    err, errlen, "jwt_key_file %s: %s", path, strerror(errno));
		return -1;
	}
	(void)setvbuf(f, iobuf, _IOFBF, sizeof(iobuf));
	while (!bad && fgets(line, sizeof(line), f) != NULL) {
		char *p = line;

		lineno++;
		/* A line longer than the buffer would come back in pieces,
		 * the rest read as a line of its own: refused whole. */
		if (strchr(line, '\n') == NULL && !feof(f)) {
			snprintf(err, errlen,
			    "jwt_key_file: line %d is too long (a key is one "
			    "line of base64 of 32 to %d bytes)",
			    lineno, KEYS_JWT_BYTES);
			bad = 1;
			break;
		}
		line[strcspn(line, "\r\n")] = '\0';
		/* Leading blanks skipped here, trailing ones by the decoder;
		 * anything else on the line makes it no key. */
		p += strspn(p, " \t");
		if (*p == '\0' || *p == '#')
			continue;
		if (n == KEYS_JWT_MAX) {
			snprintf(err, errlen,
			    "jwt_key_file: more than %d keys (line %d)",
			    KEYS_JWT_MAX, lineno);
			bad = 1;
			break;
		}
		len = crypto_b64_decode(p, keys[n].k, sizeof(keys[n].k));
		if (len < 32 || len > KEYS_JWT_BYTES) {
			snprintf(err, errlen,
			    "jwt_key_file: line %d: a key must be base64 of 32 "
			    "to %d bytes (e.g. openssl rand -base64 48)",
			    lineno, KEYS_JWT_BYTES);
			bad = 1;
			break;
		}
		keys[n].len = (size_t)len;
		hmac32(keys[n].k, keys[n].len, "parley/ratelimit/v1",
		    keys[n].derived);
		n++;
	}
	crypto_wipe(line, sizeof(line));
	fclose(f);
	crypto_wipe(iobuf, sizeof(iobuf));
	if (!bad && n == 0) {
		snprintf(err, errlen,
		    "jwt_key_file: no key (base64 of 32 to %d bytes)",
		    KEYS_JWT_BYTES);
		bad = 1;
	}
	if (bad) {
		crypto_wipe(keys, sizeof(*keys) * KEYS_JWT_MAX);
		return -1;
	}
	return n;
}

int
keys_load(const struct conf *cfg, char *err, size_t errlen)
{
	struct jwt_key k[KEYS_JWT_MAX];
	struct keyring kr;
	int	       n;

	memset(k, 0, sizeof(k));
	if ((n = jwt_read(cfg->jwt_key_file, k, err, errlen)) == -1)
		return -1;
	if (cfg->keyring_file[0] == '\0') {
		crypto_wipe(k, sizeof(k));
		snprintf(err, errlen,
		    "keyring_file is required (PARLEY_KEYRING_"
		    "FILE): lines 'KID BASE64KEY', e.g. 'k1 '$(openssl rand "
		    "-base64 32)");
		return -1;
	}
	if (keyring_load(&kr, cfg->keyring_file, err, errlen) == -1) {
		crypto_wipe(k, sizeof(k));
		return -1;
	}
	{
		unsigned char a[sizeof(audit_key)];
		size_t	      alen;

		if (keys_read_file("audit_key_file (PARLEY_AUDIT_KEY_FILE)",
			cfg->audit_key_file, a, sizeof(a), &alen, err,
			errlen) == -1) {
			crypto_wipe(k, sizeof(k));
			crypto_wipe(&kr, sizeof(kr));
			return -1;
		}
		crypto_wipe(audit_key, sizeof(audit_key));
		memcpy(audit_key, a, alen);
		audit_len = alen;
		crypto_wipe(a, sizeof(a));
		hmac32(audit_key, audit_len, "parley/names/v1", names_key);
	}
	crypto_wipe(jwt, sizeof(jwt));
	memcpy(jwt, k, sizeof(jwt));
	njwt = n;
	crypto_wipe(&ring, sizeof(ring));
	ring = kr;
	crypto_wipe(k, sizeof(k));
	crypto_wipe(&kr, sizeof(kr));
	return 0;
}

const unsigned char *
keys_jwt(size_t *len)
{
	*len = jwt[0].len;
	return jwt[0].k;
}

const unsigned char *
keys_jwt_at(int i, size_t *len)
{
	if (i < 0 || i >= njwt)
		return NULL;
	*len = jwt[i].len;
	return jwt[i].k;
}

const unsigned char *
keys_audit(size_t *len)
{
	*len = audit_len;
	return audit_key;
}

const unsigned char *
keys_names(size_t *len)
{
	*len = sizeof(names_key);
	return names_key;
}

/* base64url(HMAC(HMAC(root, 'purpose'), 'msg')) into 'out'. */
static void
derived_mac(const unsigned char root[32], const char *purpose, const char *msg,
    char out[44])
{
	unsigned char key[32], mac[32];

	hmac32(root, 32, purpose, key);
	hmac32(key, sizeof(key), msg, mac);
	crypto_b64url_encode(mac, sizeof(mac), out, 44);
	crypto_wipe(key, sizeof(key));
	crypto_wipe(mac, sizeof(mac));
}

void
keys_derived_mac(const char *purpose, const char *msg, char out[44])
{
	derived_mac(jwt[0].derived, purpose, msg, out);
}

void
keys_name_mac(const char *purpose, const char *msg, char out[44])
{
	derived_mac(names_key, purpose, msg, out);
}

int
keys_derived_check(const char *purpose, const char *msg, const char *mac)
{
	char m[44];
	int  i, ok = 0;

	if (mac == NULL || strlen(mac) != 43)
		return 0;
	for (i = 0; i < njwt; i++) {
		derived_mac(jwt[i].derived, purpose, msg, m);
		ok |= crypto_equal(m, mac, 43);
	}
	crypto_wipe(m, sizeof(m));
	return ok;
}

const struct keyring *
keys_ring(void)
{
	return &ring;
}
