/*
 * ratelimit.c: parley_rate_check() (sql/002-identity.sql) from C.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "db.h"
#include "ratelimit.h"

static struct db_stmt q_rate = { "rate_check",
	"SELECT parley_rate_check(decode($1, 'hex'), $2::integer, "
	"make_interval(secs => $3::integer), $4::boolean)",
	4, 0, 0 };

int
ratelimit_hit(struct db *db, const char *name, int max, int window, int record)
{
	unsigned char h[32];
	char	      hex[65], smax[16], swin[16];
	const char   *p[4] = { hex, smax, swin, record ? "true" : "false" };
	PGresult     *res;
	long	      v;

	crypto_sha256(name, strlen(name), h);
	crypto_hex(h, sizeof(h), hex);
	snprintf(smax, sizeof(smax), "%d", max);
	snprintf(swin, sizeof(swin), "%d", window);
	if ((res = db_exec(db, &q_rate, p)) == NULL)
		return -1;
	v = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return v < 0 ? -1 : (int)v;
}
