/*
 * security_events.c: the security_events table.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "security_events.h"
#include "ctx.h"
#include "detect.h"
#include "metrics.h"
#include "log.h"
#include "util.h"

static struct db_stmt q_event = { "event_insert",
	"INSERT INTO security_events (company_id, user_id, kind, ip, "
	"user_agent, detail) VALUES ($1, $2, $3, nullif($4, ''), $5, "
	"coalesce($6::jsonb, '{}'))",
	6, 0, 0 };

int
event_record(struct ctx *ctx, const char *company_id, const char *user_id,
    const char *kind, json_t *detail)
{
	const struct origin *from = &ctx->from;
	char		     ua[513];
	char		    *d = NULL;
	PGresult	    *res;
	const char	    *p[6];

	utf8_clean(from->user_agent, ua, sizeof(ua));
	if (detail != NULL)
		d = json_dumps(detail, JSON_COMPACT);
	p[0] = company_id;
	p[1] = user_id;
	p[2] = kind;
	p[3] = from->addr != NULL ? from->addr : "";
	p[4] = ua[0] != '\0' ? ua : NULL;
	p[5] = d;
	res = db_exec(ctx->db, &q_event, p);
	free(d);
	log_event(LOG_INFO, "security_event", LOG_S("code", kind));
	if (res == NULL)
		return -1;
	PQclear(res);
	metrics_count(MET_EVENTS, kind, 1);
	/* Judged now, in the same transaction: an alert exists exactly
	 * when what caused it is committed; a rule that fails is undone,
	 * never the event. */
	if (detect_guard_begin(ctx) == -1)
		return -1;
	return detect_guard_end(
	    ctx, detect_event(ctx, company_id, user_id, kind, detail), kind);
}
