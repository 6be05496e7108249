/*
 * auth.h: authentication of a request against its route's auth kind.
 */
#ifndef PARLEY_AUTH_H
#define PARLEY_AUTH_H

#include "route.h"

/*
 * Establishes ctx->who for route 'r'. Returns 0, or -1 after having
 * answered 401/403. Fails closed: a route whose auth kind has no verifier
 * yet is refused.
 */
/* Role names as stored: "member", "admin", "owner". */
enum role   auth_role_parse(const char *s);
const char *auth_role_name(enum role r);

/*
 * Records a security event 'kind' ("access_denied", "unknown_id") for the
 * authenticated caller of route 'r', with route, method, user, key and
 * address, in a transaction of its own (any open one is rolled back).
 */
void auth_record_denial(struct request *req, struct ctx *ctx,
    const struct route *r, const char *kind);

int auth_authenticate(
    struct request *req, struct ctx *ctx, const struct route *r);

#endif
