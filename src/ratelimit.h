/*
 * ratelimit.h: limits kept in PostgreSQL, so they hold across every
 * worker and host. A bucket is a name such as "login:ip:192.0.2.1"; only
 * its HMAC-SHA256 under a key derived from the signing key is stored, so
 * the table does not give addresses or e-mail addresses away.
 */
#ifndef PARLEY_RATELIMIT_H
#define PARLEY_RATELIMIT_H

#include <stddef.h>

struct db;

/*
 * Writes the bucket form of client address 'addr': IPv4 as is (and an
 * IPv4-mapped IPv6 address as its IPv4), IPv6 as its /64 (one subscriber
 * holds a whole /64), into 'out'.
 */
void ratelimit_addr(const char *addr, char *out, size_t outlen);

/*
 * Checks bucket 'name' (at most 'max' events per 'window' seconds) and,
 * if allowed and 'record', counts this one. Returns 0 when allowed, the
 * seconds to wait when not, or -1 when the check itself failed (callers
 * fail closed). Runs in its own short transaction: call it outside any.
 */
int ratelimit_hit(
    struct db *db, const char *name, int max, int window, int record);

/* Writes the stored form (hex HMAC) of bucket 'name' into 'hex'. */
void ratelimit_bucket(const char *name, char hex[65]);

/*
 * Batched fixed-window counting for high-volume limits (per user, per
 * key). Each process counts locally and adds its count to PostgreSQL's
 * shared counter in batches: always when the budget is small (<= 100) or
 * half spent, else at most every 100 ms or 20 requests. A process can
 * therefore let through at most 20 requests past the shared total before
 * it learns of it; small budgets are exact.
 */
struct rl_slot;
/*
 * Counts one request for 'bucket_hex' and sets '*send' to how many to add
 * to the shared counter now (0: none this time). Returns the slot to pass
 * to ratelimit_settle().
 */
struct rl_slot *ratelimit_take(
    const char *bucket_hex, int max, int window, int *send);
/*
 * Records the shared 'total' returned by the database (-1 if nothing was
 * sent) and returns 0 when the request may go on, else the seconds until
 * the window ends.
 */
int ratelimit_settle(struct rl_slot *slot, int total, int max, int window);

/*
 * Adds 'n' to the shared fixed-window counter of 'bucket_hex' in its own
 * statement (for counts whose transaction rolled back). Returns 0 or -1.
 */
int ratelimit_recount(struct db *db, const char *bucket_hex, int n, int window);

/*
 * Takes back one counted event of bucket 'name' (an attempt counted
 * before its outcome was known, that turned out right). Returns 0 or -1.
 */
int ratelimit_forget(struct db *db, const char *name);

#endif
