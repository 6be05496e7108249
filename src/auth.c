/*
 * auth.c: the authentication step of the request pipeline.
 *
 * Public routes pass. Verifiers for user tokens, API keys and visitor
 * tokens belong to the identity work; until one exists for an auth kind,
 * every request to such a route is refused with 401 (fail closed).
 */
#include "config.h"

#include <string.h>

#include "auth.h"
#include "http.h"

int
auth_authenticate(struct request *req, struct ctx *ctx, const struct route *r)
{
	memset(&ctx->who, 0, sizeof(ctx->who));
	ctx->who.kind = AUTH_PUBLIC;
	if (r->auth == AUTH_PUBLIC)
		return 0;
	http_send_problem(req, 401, "unauthenticated",
	    "Authentication required", NULL, NULL,
	    "WWW-Authenticate: Bearer\r\n");
	return -1;
}
