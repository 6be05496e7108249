/*
 * security_events.h: security events (login, logout, refresh reuse, password and
 * MFA changes), written in the caller's tenant transaction. Never a
 * password, token or secret: the kind, who, when, from where.
 */
#ifndef PARLEY_SECURITY_EVENTS_H
#define PARLEY_SECURITY_EVENTS_H

#include <jansson.h>

struct ctx;

/*
 * Records event 'kind' for 'user_id' (may be NULL) in the open tenant
 * transaction of 'company_id', with the request's address and user agent
 * (ctx->from) and 'detail' (borrowed, may be NULL; ids and codes only).
 * Also logs and counts it, and judges it (src/detect.c), which may open
 * an alert in the same transaction. Returns 0 or -1.
 */
int event_record(struct ctx *ctx, const char *company_id, const char *user_id,
    const char *kind, json_t *detail);

#endif
