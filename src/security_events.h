/*
 * security_events.h: security events (login, logout, refresh reuse, password and
 * MFA changes), written in the caller's tenant transaction. Never a
 * password, token or secret: the kind, who, when, from where.
 */
#ifndef PARLEY_SECURITY_EVENTS_H
#define PARLEY_SECURITY_EVENTS_H

#include <jansson.h>

struct db;
struct origin;

/*
 * Records event 'kind' for 'user_id' (may be NULL) in the open tenant
 * transaction of 'company_id', with the request's address and user agent
 * and 'detail' (borrowed, may be NULL; ids and codes only). Also logs it.
 * Returns 0 or -1.
 */
int event_record(struct db *db, const struct origin *from,
    const char *company_id, const char *user_id, const char *kind,
    json_t *detail);

#endif
