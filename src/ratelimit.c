/*
 * ratelimit.c: parley_rate_check() (sql/002-identity.sql) from C.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "crypto.h"
#include "db.h"
#include "keys.h"
#include "ratelimit.h"

static struct db_stmt q_rate = { "rate_check",
	"SELECT parley_rate_check(decode($1, 'hex'), $2::integer, "
	"make_interval(secs => $3::integer), $4::boolean)",
	4, 0, 0 };

static struct db_stmt q_forget = { "rate_forget",
	"DELETE FROM rate_events WHERE ctid = (SELECT ctid FROM rate_events "
	"WHERE bucket = decode($1, 'hex') ORDER BY at DESC LIMIT 1)",
	1, 0, 0 };

/* The stored form of a bucket name: hex HMAC-SHA256. */
static void
bucket_hex(const char *name, char hex[65])
{
	unsigned char	     h[32];
	unsigned int	     n = sizeof(h);
	size_t		     klen;
	const unsigned char *k = keys_ratelimit(&klen);

	HMAC(EVP_sha256(), k, (int)klen, (const unsigned char *)name,
	    strlen(name), h, &n);
	crypto_hex(h, sizeof(h), hex);
}

void
ratelimit_bucket(const char *name, char hex[65])
{
	bucket_hex(name, hex);
}

void
ratelimit_addr(const char *addr, char *out, size_t outlen)
{
	unsigned char a[16];

	if (strchr(addr, ':') != NULL && inet_pton(AF_INET6, addr, a) == 1) {
		char hex[17];

		crypto_hex(a, 8, hex);
		snprintf(out, outlen, "v6/64:%s", hex);
	} else
		snprintf(out, outlen, "%s", addr);
}

int
ratelimit_forget(struct db *db, const char *name)
{
	char	    hex[65];
	const char *p[1] = { hex };
	PGresult   *res;

	bucket_hex(name, hex);
	if ((res = db_exec(db, &q_forget, p)) == NULL)
		return -1;
	PQclear(res);
	return 0;
}

int
ratelimit_hit(struct db *db, const char *name, int max, int window, int record)
{
	char	    hex[65], smax[16], swin[16];
	const char *p[4] = { hex, smax, swin, record ? "true" : "false" };
	PGresult   *res;
	long	    v;

	bucket_hex(name, hex);
	snprintf(smax, sizeof(smax), "%d", max);
	snprintf(swin, sizeof(swin), "%d", window);
	if ((res = db_exec(db, &q_rate, p)) == NULL)
		return -1;
	v = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return v < 0 ? -1 : (int)v;
}
