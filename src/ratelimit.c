/*
 * ratelimit.c: parley_rate_check() (sql/002-identity.sql) from C.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "crypto.h"
#include "db.h"
#include "server_keys.h"
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
	const unsigned char *k = keys_names(&klen);

	HMAC(EVP_sha256(), k, (int)klen, (const unsigned char *)name,
	    strlen(name), h, &n);
	crypto_hex(h, sizeof(h), hex);
}

static struct db_stmt q_recount = { "rate_recount",
	"SELECT parley_rate_add(decode($1, 'hex'), $2::integer, $3::integer)",
	3, 0, 0 };

int
ratelimit_recount(struct db *db, const char *bucket_hex, int n, int window)
{
	char	    sn[16], sw[16];
	const char *p[3] = { bucket_hex, sn, sw };
	PGresult   *res;

	snprintf(sn, sizeof(sn), "%d", n);
	snprintf(sw, sizeof(sw), "%d", window);
	if ((res = db_exec(db, &q_recount, p)) == NULL)
		return -1;
	PQclear(res);
	return 0;
}

void
ratelimit_bucket(const char *name, char hex[65])
{
	bucket_hex(name, hex);
}

void
ratelimit_addr(const char *addr, char *out, size_t outlen)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0xff, 0xff };
	unsigned char		   a[16];

	if (strchr(addr, ':') != NULL && inet_pton(AF_INET6, addr, a) == 1) {
		char hex[17];

		/*
		 * An IPv4-mapped address (::ffff:a.b.c.d, what a dual-stack
		 * listener or a proxy may write) is that IPv4 client: its /64
		 * would put every IPv4 client in one bucket.
		 */
		if (memcmp(a, mapped, sizeof(mapped)) == 0) {
			snprintf(out, outlen, "%u.%u.%u.%u", a[12], a[13],
			    a[14], a[15]);
			return;
		}
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

#define RL_SLOTS 64

struct rl_slot {
	char	  bucket[65];
	long long window; /* window number the counts belong to */
	int	  total; /* the shared total as last seen */
	int	  pending; /* counted here, not yet sent */
	int	  sending; /* in flight with this request */
	long long last_ms; /* last time counts were sent */
};

static struct rl_slot rl_slots[RL_SLOTS];

static long long
rl_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

struct rl_slot *
ratelimit_take(const char *bucket_hex, int max, int window, int *send)
{
	long long	now = rl_now_ms(), w = now / 1000 / window;
	struct rl_slot *s = NULL, *oldest = &rl_slots[0];
	int		i;

	for (i = 0; i < RL_SLOTS; i++) {
		if (strcmp(rl_slots[i].bucket, bucket_hex) == 0) {
			s = &rl_slots[i];
			break;
		}
		if (rl_slots[i].last_ms < oldest->last_ms)
			oldest = &rl_slots[i];
	}
	if (s == NULL) {
		/* Unsent counts of an evicted bucket are lost (at most 19). */
		s = oldest;
		memset(s, 0, sizeof(*s));
		snprintf(s->bucket, sizeof(s->bucket), "%s", bucket_hex);
	}
	if (s->window != w) {
		s->window = w;
		s->total = 0;
		s->pending = 0;
	}
	s->pending++;
	if (max <= 100 || 2 * (s->total + s->pending) > max ||
	    s->pending >= 20 || now - s->last_ms >= 100) {
		s->sending = s->pending;
		s->pending = 0;
		s->last_ms = now;
	} else
		s->sending = 0;
	*send = s->sending;
	return s;
}

int
ratelimit_settle(struct rl_slot *s, int total, int max, int window)
{
	long long now = rl_now_ms();
	int	  wait;

	if (s->sending > 0 && total >= 0)
		s->total = total;
	else if (s->sending > 0)
		s->pending += s->sending; /* not counted: try again later */
	s->sending = 0;
	if (s->total + s->pending <= max)
		return 0;
	wait = (int)(window - (now / 1000) % window);
	return wait > 0 ? wait : 1;
}
