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

static unsigned char  jwt_key[256];
static size_t	      jwt_len;
static struct keyring ring;
static unsigned char  rl_key[32];
static unsigned char  audit_key[256];
static size_t	      audit_len;

int
keys_read_file(const char *what, const char *path, unsigned char *out,
    size_t outlen, size_t *len, char *err, size_t errlen)
{
	FILE *f;
	char  line[512];
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
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
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

int
keys_load(const struct conf *cfg, char *err, size_t errlen)
{
	FILE	      *f;
	char	       line[512];
	unsigned char  k[sizeof(jwt_key)];
	struct keyring kr;
	int	       n;

	if (cfg->jwt_key_file[0] == '\0') {
		snprintf(err, errlen,
		    "jwt_key_file is required (PARLEY_JWT_KEY_"
		    "FILE): a file with base64 of at least 32 random bytes, "
		    "e.g. openssl rand -base64 48");
		return -1;
	}
	if ((f = fopen(cfg->jwt_key_file, "r")) == NULL) {
		snprintf(err, errlen, "jwt_key_file %s: %s", cfg->jwt_key_file,
		    strerror(errno));
		return -1;
	}
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	n = crypto_b64_decode(line, k, sizeof(k));
	crypto_wipe(line, sizeof(line));
	if (n < 32) {
		crypto_wipe(k, sizeof(k));
		snprintf(err, errlen,
		    "jwt_key_file: the key must be base64 of "
		    "at least 32 bytes (256 bits); refusing to start");
		return -1;
	}
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
	}
	crypto_wipe(jwt_key, sizeof(jwt_key));
	memcpy(jwt_key, k, (size_t)n);
	jwt_len = (size_t)n;
	crypto_wipe(&ring, sizeof(ring));
	ring = kr;
	{
		unsigned int mdlen = sizeof(rl_key);

		HMAC(EVP_sha256(), jwt_key, (int)jwt_len,
		    (const unsigned char *)"parley/ratelimit/v1", 19, rl_key,
		    &mdlen);
	}
	crypto_wipe(k, sizeof(k));
	crypto_wipe(&kr, sizeof(kr));
	return 0;
}

const unsigned char *
keys_jwt(size_t *len)
{
	*len = jwt_len;
	return jwt_key;
}

const unsigned char *
keys_audit(size_t *len)
{
	*len = audit_len;
	return audit_key;
}

const unsigned char *
keys_ratelimit(size_t *len)
{
	*len = sizeof(rl_key);
	return rl_key;
}

void
keys_derived_mac(const char *purpose, const char *msg, char out[44])
{
	unsigned char key[32], mac[32];
	unsigned int  n = 32;

	HMAC(EVP_sha256(), rl_key, sizeof(rl_key),
	    (const unsigned char *)purpose, strlen(purpose), key, &n);
	n = 32;
	HMAC(EVP_sha256(), key, sizeof(key), (const unsigned char *)msg,
	    strlen(msg), mac, &n);
	crypto_b64url_encode(mac, sizeof(mac), out, 44);
	crypto_wipe(key, sizeof(key));
}

const struct keyring *
keys_ring(void)
{
	return &ring;
}
