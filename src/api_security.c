/*
 * api_security.c: GET /api/v1/security-events for owners and admins:
 * newest first, cursor pagination ("before" = the cursor of the last
 * item seen), at most 200 a page.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "handler.h"
#include "db.h"

/*
 * The cursor is "<microseconds since the epoch>_<id>" of the last item:
 * independent of the session's TimeZone.
 */
static struct db_stmt q_events = { "security_events_list",
	"SELECT {{SecurityEvent}} FROM security_events WHERE company_id = $1 "
	"AND ($2::text IS NULL OR (created_at, id) < "
	"(to_timestamp(split_part($2, '_', 1)::bigint / 1000000.0), "
	"split_part($2, '_', 2)::uuid)) ORDER BY created_at DESC, id DESC "
	"LIMIT $3",
	3, 0, 0 };

int
h_security_events(struct request *req, struct ctx *ctx)
{
	long long   n = router_arg_int(req, "limit", 50);
	const char *p[3] = { ctx->who.company_id, router_arg(req, "before") };
	char	    lim[24];

	snprintf(lim, sizeof(lim), "%lld", n);
	p[2] = lim;
	return api_page(req, ctx, &q_events, p, (long)n);
}
