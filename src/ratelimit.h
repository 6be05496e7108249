/*
 * ratelimit.h: limits kept in PostgreSQL, so they hold across every
 * worker and host. A bucket is a name such as "login:ip:192.0.2.1"; only
 * its SHA-256 is stored.
 */
#ifndef PARLEY_RATELIMIT_H
#define PARLEY_RATELIMIT_H

struct db;

/*
 * Checks bucket 'name' (at most 'max' events per 'window' seconds) and,
 * if allowed and 'record', counts this one. Returns 0 when allowed, the
 * seconds to wait when not, or -1 when the check itself failed (callers
 * fail closed). Runs in its own short transaction: call it outside any.
 */
int ratelimit_hit(
    struct db *db, const char *name, int max, int window, int record);

#endif
