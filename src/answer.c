/*
 * answer.c: the answerer (see answer.h, docs/architecture.md).
 *
 * One event loop: libcurl's multi interface drives every provider
 * exchange at once; the loop also waits on a LISTEN connection, so a new
 * job (or a cancellation) wakes it at once, and polls the queue once a
 * second in case a notification was missed or a lease ran out. Database
 * work (taking jobs, loading an answer's context, storing the reply) uses
 * one ordinary connection and is short: local round trips between
 * transfers, never a transaction held open across one.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "answer.h"
#include "bot.h"
#include "bot_text.h"
#include "conf.h"
#include "conv.h"
#include "crypto.h"
#include "db.h"
#include "limits.h"
#include "llm.h"
#include "log.h"
#include "metrics.h"
#include "proc.h"
#include "row.h"
#include "realtime.h"
#include "ctx.h"
#include "util.h"

#define CLAIM_GAP_MS 20 /* claims after a reply ends, at most this often */
#define POLL_MS 1000 /* the queue is looked at this often anyway */
#define CLAIM_MAX PRL_ANSWER_CLAIM

enum reply_kind { KIND_REPLY, KIND_DRAFT };

/*
 * One job in hand, on the 'active' list. Owns 'b' (when 'loaded'),
 * 'turn', 'call' and 'pending'; 'easy' is the call's handle while it is
 * in the multi handle. Freed with reply_end(), which also unlinks it.
 * A reply freed without being stored leaves its job to its lease: once
 * that runs out (renew() renews only replies in hand), another try
 * takes it, up to answer_max_tries.
 */
struct reply {
	struct reply	*next;
	char		 job_id[24], tries[12];
	char		 company_id[37], conversation_id[37];
	char		 message_id[37], draft_id[37], user_id[37];
	enum reply_kind	 kind;
	struct bot_ctx	 b;
	int		 loaded;
	struct bot_turn *turn;
	struct llm_call *call;
	CURL		*easy; /* in the multi handle, or NULL */
	long long	 retry_at, deadline; /* monotonic ms; 0: none */
	char		*pending; /* released text not yet published */
	size_t		 plen;
	long long	 last_pub;
	int		 published; /* deltas sent so far */
	long long	 claimed; /* monotonic ms */
	long		 waited_ms; /* queued before it was taken */
	long		 first_ms; /* from the message to the first delta */
	long long	 lease_end; /* monotonic ms: ours until then */
	int		 held; /* renew(): in the answer */
};

static volatile sig_atomic_t stopping;
static struct reply	    *active;
static int		     nactive;
static CURLM		    *multi;
static char		     owner[64];

static struct db_stmt q_claim = { "answer_claim",
	"WITH running AS (SELECT company_id, count(*) AS n FROM reply_jobs "
	"WHERE state = 'running' AND lease_until >= now() GROUP BY "
	"company_id), cand AS (SELECT j.id, j.company_id FROM reply_jobs j "
	"WHERE (j.state = 'queued' OR j.lease_until < now()) AND (j.kind = "
	"'draft' OR NOT EXISTS (SELECT 1 FROM reply_jobs r WHERE "
	"r.conversation_id = j.conversation_id AND r.kind = 'reply' AND r.id "
	"< j.id))), ranked AS (SELECT c.id, row_number() OVER (PARTITION BY "
	"c.company_id ORDER BY c.id) + coalesce(r.n, 0) AS pos FROM cand c "
	"LEFT JOIN running r USING (company_id)), pick AS (SELECT j.id FROM "
	"reply_jobs j JOIN ranked k ON k.id = j.id WHERE k.pos <= "
	"$4::integer AND (j.state = 'queued' OR j.lease_until < now()) ORDER "
	"BY j.id LIMIT $3::integer FOR UPDATE OF j SKIP LOCKED) UPDATE "
	"reply_jobs j SET state = 'running', tries = j.tries + 1, owner = $1, "
	"lease_until = now() + $2::integer * interval '1 second' FROM pick "
	"WHERE j.id = pick.id AND (j.state = 'queued' OR j.lease_until < "
	"now()) RETURNING j.id, j.company_id, "
	"j.conversation_id, j.kind, j.message_id, j.draft_id, j.tries, "
	"(extract(epoch FROM clock_timestamp() - j.created_at) * 1000)::bigint",
	4, 0, 0 };
static struct db_stmt q_renew = { "answer_renew",
	"UPDATE reply_jobs SET lease_until = now() + $2::integer * interval "
	"'1 second' WHERE owner = $1 AND state = 'running' AND id = "
	"ANY($3::bigint[]) RETURNING id",
	3, 0, 0 };
static struct db_stmt q_hand_back = { "answer_hand_back",
	"WITH u AS (UPDATE reply_jobs SET state = 'queued', owner = NULL, "
	"lease_until = NULL, tries = greatest(tries - 1, 0) WHERE owner = $1 "
	"AND id = ANY($2::bigint[]) RETURNING 1) SELECT count(*), "
	"pg_notify('parley_reply', 'new') FROM u",
	2, 0, 0 };
static struct db_stmt q_gone = { "answer_gone",
	"SELECT id FROM reply_jobs WHERE id = ANY($1::bigint[])", 1, 0, 0 };
/*
 * The job is still this try's: taken (deleted) in the transaction that
 * stores its outcome, which it aborts otherwise (sql/022-answerer.sql).
 */
static struct db_stmt q_take = { "answer_take",
	"SELECT parley_reply_take($1::bigint, $2, $3::integer, $4, $5)", 5, 0,
	0 };
static struct db_stmt q_drop = { "answer_drop",
	"DELETE FROM reply_jobs WHERE id = $1::bigint AND owner = $2", 2, 0,
	0 };
static struct db_stmt q_reply_src = { "answer_reply_source",
	"SELECT m.content, m.seq, c.chatbot_id, c.status, v.restricted FROM "
	"messages m JOIN conversations c ON c.company_id = m.company_id AND "
	"c.id = m.conversation_id JOIN visitors v ON v.company_id = "
	"c.company_id AND v.id = c.visitor_id WHERE m.company_id = $1 AND "
	"m.conversation_id = $2 AND m.id = $3",
	3, 0, 0 };
static struct db_stmt q_draft_src = { "answer_draft_source",
	"SELECT (SELECT content FROM messages WHERE company_id = $1 AND "
	"conversation_id = $2 AND role = 'visitor' ORDER BY seq DESC LIMIT "
	"1), NULL, c.chatbot_id, c.status, v.restricted, d.requested_by FROM "
	"drafts d JOIN conversations c ON c.company_id = d.company_id AND "
	"c.id = d.conversation_id JOIN visitors v ON v.company_id = "
	"c.company_id AND v.id = c.visitor_id WHERE d.company_id = $1 AND "
	"d.conversation_id = $2 AND d.id = $3",
	3, 0, 0 };
static struct db_stmt q_draft_done = { "answer_draft_done",
	"UPDATE drafts SET status = $3, content = $4, citations = $5::jsonb, "
	"source = $6, done_at = now() WHERE company_id = $1 AND id = $2 "
	"RETURNING id, conversation_id, status, content, citations, source, "
	"parley_time(created_at) AS created_at",
	6, 0, 0 };

/*
 * A transaction of its own that commits asynchronously: it holds the
 * notify lock only as long as its commit takes, without an fsync; a
 * wake lost in a crash costs at most the second of the queue's poll.
 */
struct db_stmt answer_wake_stmt = { "answer_wake",
	"SELECT set_config('synchronous_commit', 'off', true), "
	"pg_notify('parley_reply', 'new')",
	0, 0, 0 };

static void
on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

/* A ctx for the shared helpers (bot_calls, conv_*, rt_*) of 'r'. */
static void
ctx_for(struct ctx *ctx, const struct conf *cfg, struct db *db,
    const struct reply *r)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->conf = cfg;
	ctx->db = db;
	snprintf(ctx->who.company_id, sizeof(ctx->who.company_id), "%s",
	    r->company_id);
}

/* Publishes event 'ev' (borrowed) on the channel of 'r': the visitor's
 * conversation for a reply, the requesting agent for a draft. */
static void
publish(struct ctx *ctx, const struct reply *r, json_t *ev)
{
	if (ev == NULL)
		return;
	if (r->kind == KIND_REPLY)
		rt_queue(ctx, "v", r->conversation_id, ev);
	else if (r->user_id[0] != '\0')
		rt_queue(ctx, "u", r->user_id, ev);
}

static void
publish_pending(const struct conf *cfg, struct db *db, struct reply *r)
{
	struct ctx ctx;
	json_t	  *ev;

	if (r->plen == 0)
		return;
	ctx_for(&ctx, cfg, db, r);
	if (r->kind == KIND_REPLY && r->published == 0) {
		/* The visitor's widget starts a new bubble (again, after a
		 * crash: the stream restarts from the beginning). Sent with
		 * the first piece only: a reply written at once is one event,
		 * the stored message. */
		ev = json_pack("{s:s,s:s,s:i}", "type", "reply.start",
		    "reply_to", r->message_id, "attempt",
		    (int)strtol(r->tries, NULL, 10));
		publish(&ctx, r, ev);
		json_decref(ev);
	}
	if (r->kind == KIND_REPLY)
		ev = json_pack("{s:s,s:s,s:s%}", "type", "reply.delta",
		    "reply_to", r->message_id, "text", r->pending, r->plen);
	else
		ev = json_pack("{s:s,s:s,s:s%}", "type", "draft.delta", "id",
		    r->draft_id, "text", r->pending, r->plen);
	publish(&ctx, r, ev);
	json_decref(ev);
	r->plen = 0;
	r->last_pub = mono_ms();
	if (r->published++ == 0)
		r->first_ms = r->waited_ms + (long)(r->last_pub - r->claimed);
}

/* Receives released (checked) text: kept until the next publish. */
static int
on_text(void *arg, const char *text, size_t len)
{
	struct reply *r = arg;
	char	     *np;

	if (r->plen + len > PRL_ANSWER_PENDING)
		return 0; /* the stored reply will say it all */
	if ((np = realloc(r->pending, r->plen + len + 1)) == NULL)
		return 0;
	r->pending = np;
	memcpy(r->pending + r->plen, text, len);
	r->plen += len;
	r->pending[r->plen] = '\0';
	return 0;
}

/* Frees 'r' and all it owns (its handle leaves the multi handle first). */
static void
reply_free(struct reply *r)
{
	if (r->easy != NULL)
		curl_multi_remove_handle(multi, r->easy);
	llm_call_free(r->call);
	bot_turn_free(r->turn);
	if (r->loaded)
		bot_ctx_free(&r->b);
	free(r->pending);
	free(r);
}

/* Unlinks 'r' from the active list and frees it: 'r' is gone after. */
static void
reply_end(struct reply *r)
{
	struct reply **pp;

	for (pp = &active; *pp != NULL; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			nactive--;
			break;
		}
	reply_free(r);
}

/* Drops the job (no reply owed: the conversation left the bot). */
static void
drop_job(struct db *db, const struct reply *r)
{
	const char *p[2] = { r->job_id, owner };

	PQclear(db_exec(db, &q_drop, p));
}

/*
 * Runs the 'n' 'calls' in one tenant transaction of 'r''s company, in
 * one round trip. Returns 1 when committed, 0 when the job is no longer
 * this try's (nothing kept), -1 on error.
 */
static int
store_batch(struct db *db, struct reply *r, struct db_call *calls, int n)
{
	if (db_tenant_batch(db, r->company_id, calls, n) == 0)
		return 1;
	return strcmp(db_last_sqlstate(db), "PL409") == 0 ? 0 : -1;
}

/*
 * Stores the outcome 'out' of reply 'r' in one tenant transaction: the
 * job's deletion, fenced on this try (a later try or a cancellation wins),
 * the usage, the bot message (only while the conversation is the bot's)
 * and, for a handoff, the new status. Then publishes it. Returns 0 (also
 * when nothing was stored because the reply is no longer owed) or -1.
 */
static int
store_reply(const struct conf *cfg, struct db *db, struct reply *r,
    const struct bot_reply *out)
{
	struct db_call	    calls[4];
	struct conv_q	    q;
	struct conv_usage_q uq;
	struct conv_msg	    m;
	struct ctx	    ctx;
	const char	   *tp[5] = { r->job_id, owner, r->tries, r->company_id,
			r->conversation_id },
		   *sp[6];
	json_t	 *msg = NULL, *ev;
	PGresult *sres = NULL;
	char	  assignee[37] = "";
	int	  n = 0, rc = -1, got;

	ctx_for(&ctx, cfg, db, r);
	memset(&m, 0, sizeof(m));
	m.role = "bot";
	m.content = out->content;
	m.citations = out->citations;
	m.prompt_tokens = out->prompt_tokens;
	m.completion_tokens = out->completion_tokens;
	m.model = out->model;
	m.only_status = "bot";
	m.reply_to = r->message_id;
	/*
	 * One round trip. Lock order, as every deletion takes it: the
	 * company, the chatbot, the conversation and the job
	 * (parley_reply_take()), then the usage and the message.
	 */
	calls[n].st = &q_take;
	calls[n].params = tp;
	calls[n++].out = NULL;
	n += conv_usage_call(&ctx, r->b.chatbot_id, out->prompt_tokens,
	    out->completion_tokens, &uq, &calls[n]);
	conv_add_call(&ctx, r->conversation_id, &m, &q, &calls[n++]);
	if (out->handoff != NULL) {
		conv_status_call(&ctx, r->conversation_id, "pending",
		    out->handoff, out->flag, "bot", sp, &calls[n]);
		calls[n++].out = &sres;
	}
	if (m.citations != NULL && q.cj == NULL)
		goto out;
	if ((got = store_batch(db, r, calls, n)) != 1) {
		/* 0: cancelled, or a later try has it: not ours to store. */
		rc = got;
		goto out;
	}
	rc = 0;
	if ((msg = conv_add_result(&q, NULL)) == NULL) {
		/* An agent took over meanwhile: the reply is not kept. */
		ev = json_pack("{s:s,s:s,s:s}", "type", "reply.cancelled",
		    "reply_to", r->message_id, "reason", "agent");
		publish(&ctx, r, ev);
		json_decref(ev);
		goto out;
	}
	rt_message(&ctx, r->conversation_id, msg);
	if (out->handoff != NULL) {
		conv_status_assignee(sres, assignee);
		rt_status(&ctx, r->conversation_id, "pending", assignee);
	}
out:
	PQclear(sres);
	conv_q_free(&q);
	json_decref(msg);
	return rc;
}

/* The same for a draft: its row filled, and the agent told. */
static int
store_draft(const struct conf *cfg, struct db *db, struct reply *r,
    const struct bot_reply *out, const char *status)
{
	struct ctx	    ctx;
	struct db_call	    calls[3];
	struct conv_usage_q uq;
	const char	   *tp[5] = { r->job_id, owner, r->tries, r->company_id,
			r->conversation_id },
		   *dp[6];
	char	 *cj = NULL;
	PGresult *row = NULL;
	json_t	 *d, *ev;
	int	  n = 0, rc = -1, got;

	ctx_for(&ctx, cfg, db, r);
	if (out->citations != NULL &&
	    (cj = json_dumps(out->citations, JSON_COMPACT)) == NULL)
		goto out;
	dp[0] = r->company_id;
	dp[1] = r->draft_id;
	dp[2] = status;
	dp[3] = out->content != NULL ? out->content : "";
	dp[4] = cj;
	dp[5] = strcmp(status, "failed") == 0 ? NULL
	    : r->b.base_url[0] == '\0'	      ? "knowledge_base"
					      : "llm";
	/* The job (and the parents' locks) first, as in store_reply(). */
	calls[n].st = &q_take;
	calls[n].params = tp;
	calls[n++].out = NULL;
	if (r->loaded)
		n += conv_usage_call(&ctx, r->b.chatbot_id, out->prompt_tokens,
		    out->completion_tokens, &uq, &calls[n]);
	calls[n].st = &q_draft_done;
	calls[n].params = dp;
	calls[n++].out = &row;
	if ((got = store_batch(db, r, calls, n)) != 1) {
		rc = got;
		goto out;
	}
	if (PQntuples(row) == 1) {
		d = json_pack("{s:s,s:s,s:s,s:s,s:o,s:s?,s:s}", "id",
		    row_get(row, 0, "id"), "conversation_id",
		    row_get(row, 0, "conversation_id"), "status",
		    row_get(row, 0, "status"), "content",
		    row_get(row, 0, "content"), "citations",
		    row_opt(row, 0, "citations") == NULL
			? json_array()
			: json_loads(row_get(row, 0, "citations"), 0, NULL),
		    "source", row_opt(row, 0, "source"), "created_at",
		    row_get(row, 0, "created_at"));
		ev = json_pack("{s:s,s:o}", "type", "draft", "draft", d);
		publish(&ctx, r, ev);
		json_decref(ev);
	}
	rc = 0;
out:
	PQclear(row);
	free(cj);
	return rc;
}

/* Ends 'r' with 'out': stored, published, freed. */
static void
finish(const struct conf *cfg, struct db *db, struct reply *r,
    struct bot_reply *out)
{
	int rc;

	/* The rest of a stream under way; a reply that never streamed
	 * arrives whole, as the stored message. */
	if (r->published > 0)
		publish_pending(cfg, db, r);
	if (r->kind == KIND_REPLY)
		rc = store_reply(cfg, db, r, out);
	else
		/* Nothing to suggest from the knowledge base: refused, as a
		 * flagged draft is; a provider that said nothing: failed. */
		rc = store_draft(cfg, db, r, out,
		    out->flag != NULL			     ? "refused"
			: !r->loaded || out->content == NULL ? "failed"
			: *out->content != '\0'		     ? "done"
			: r->b.base_url[0] != '\0'	     ? "failed"
							     : "refused");
	if (rc == -1)
		/* The job is left to its lease: another try starts from
		 * scratch when it runs out. Nothing lost, nothing doubled. */
		log_event(LOG_WARN, "reply_store_failed",
		    LOG_S("reason", "database"));
	/* One line a reply: how long it waited, streamed and took. */
	{
		long dur = r->waited_ms + (long)(mono_ms() - r->claimed);

		log_event(LOG_INFO, "reply",
		    LOG_S("status",
			r->kind == KIND_DRAFT	   ? "draft"
			    : out->handoff != NULL ? out->handoff
						   : "answered"),
		    LOG_I("attempt", strtol(r->tries, NULL, 10)),
		    LOG_I("wait_ms", r->waited_ms),
		    LOG_I("first_ms", r->published > 0 ? r->first_ms : dur),
		    LOG_I("dur_ms", dur));
	}
	bot_reply_free(out);
	reply_end(r);
}

/* A handoff (or an empty draft) without asking the provider. */
static void
finish_handoff(
    const struct conf *cfg, struct db *db, struct reply *r, const char *reason)
{
	struct bot_reply out;

	memset(&out, 0, sizeof(out));
	out.prompt_tokens = out.completion_tokens = -1;
	if (r->kind == KIND_DRAFT) {
		out.content = strdup("");
		out.flag =
		    strcmp(reason, "restricted") == 0 ? "restricted" : NULL;
	} else {
		out.handoff = reason;
		/* In the conversation's language once its context loaded. */
		out.content = strdup(
		    bot_handoff_text(reason, r->loaded ? r->b.locale : NULL));
	}
	if (out.content == NULL) {
		reply_end(r);
		return;
	}
	finish(cfg, db, r, &out);
}

/* Starts the provider's next attempt of 'r'. Returns 0 or -1. */
static int
start_attempt(struct reply *r)
{
	CURL *h;

	r->retry_at = 0;
	if ((h = llm_call_attempt(r->call)) == NULL ||
	    curl_multi_add_handle(multi, h) != CURLM_OK)
		return -1;
	r->easy = h;
	return 0;
}

/* The provider's exchange of 'r' is over: check, store, publish. */
static void
exchange_over(const struct conf *cfg, struct db *db, struct reply *r)
{
	struct llm_result lr;
	struct bot_reply  out;

	memset(&out, 0, sizeof(out));
	out.prompt_tokens = out.completion_tokens = -1;
	llm_call_result(r->call, &lr);
	metrics_count(MET_LLM_CALLS, lr.error == NULL ? "ok" : "error", 1);
	if (lr.error != NULL)
		metrics_count(MET_LLM_ERRORS, lr.error, 1);
	if (lr.prompt_tokens > 0)
		metrics_count(
		    MET_LLM_TOKENS, "prompt", (uint64_t)lr.prompt_tokens);
	if (lr.completion_tokens > 0)
		metrics_count(MET_LLM_TOKENS, "completion",
		    (uint64_t)lr.completion_tokens);
	metrics_observe(MH_LLM, lr.provider_ms * 1000L);
	if (bot_end(r->turn, &lr, &out) == -1) {
		bot_reply_free(&out);
		llm_result_free(&lr);
		finish_handoff(cfg, db, r, "provider_error");
		return;
	}
	llm_result_free(&lr);
	finish(cfg, db, r, &out);
}

/*
 * Takes a job just claimed: loads what the answer needs (one tenant
 * transaction, committed before the provider is asked), then answers at
 * once (offline, handoffs) or starts the provider's exchange.
 */
static void
start_reply(const struct conf *cfg, struct db *db, struct reply *r)
{
	const char	*p[3] = { r->company_id, r->conversation_id,
		     r->kind == KIND_REPLY ? r->message_id : r->draft_id };
	struct ctx	 ctx;
	struct bot_reply out;
	struct bot_q	 bq;
	struct db_call	 bc[BOT_CALLS];
	PGresult	*res = NULL;
	const char	*why, *err;
	char		*question = NULL, seq[12] = "", bot[37], status[16];
	int		 restricted, b;

	ctx_for(&ctx, cfg, db, r);
	if (strtol(r->tries, NULL, 10) > cfg->answer_max_tries) {
		/* Answerers kept failing on it (crashes, a key that cannot be
		 * read, the database): a person takes it. */
		finish_handoff(cfg, db, r, "provider_error");
		return;
	}
	if (db_tenant_begin(db, r->company_id,
		r->kind == KIND_REPLY ? &q_reply_src : &q_draft_src, p,
		&res) == -1)
		goto lost;
	if (r->kind == KIND_DRAFT && res != NULL && PQntuples(res) == 1 &&
	    PQgetisnull(res, 0, 0)) {
		/* Nothing of the visitor's to draft a reply to. */
		PQclear(res);
		db_rollback(db);
		finish_handoff(cfg, db, r, "provider_error");
		return;
	}
	if (res == NULL || PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
		/* The message or conversation is gone (deleted, erased). */
		PQclear(res);
		db_rollback(db);
		drop_job(db, r);
		reply_end(r);
		return;
	}
	question = strdup(PQgetvalue(res, 0, 0));
	if (!PQgetisnull(res, 0, 1))
		snprintf(seq, sizeof(seq), "%s", PQgetvalue(res, 0, 1));
	snprintf(bot, sizeof(bot), "%s", PQgetvalue(res, 0, 2));
	snprintf(status, sizeof(status), "%s", PQgetvalue(res, 0, 3));
	restricted = strcmp(PQgetvalue(res, 0, 4), "t") == 0;
	if (r->kind == KIND_DRAFT && !PQgetisnull(res, 0, 5))
		snprintf(r->user_id, sizeof(r->user_id), "%s",
		    PQgetvalue(res, 0, 5));
	PQclear(res);
	if (question == NULL) {
		db_rollback(db);
		goto lost;
	}
	if (r->kind == KIND_REPLY && strcmp(status, "bot") != 0) {
		/* A person has it now: the bot stays quiet. */
		db_rollback(db);
		drop_job(db, r);
		reply_end(r);
		free(question);
		return;
	}
	/* What the answer needs, and COMMIT, in the same round trip. */
	bot_calls(&ctx, bot, r->conversation_id, question,
	    seq[0] != '\0' ? seq : NULL, &bq, bc);
	if (db_exec_many(db, bc, BOT_CALLS, 1) == -1) {
		bot_q_free(&bq);
		db_rollback(db);
		free(question);
		goto lost;
	}
	if (bot_parse(&ctx, bot, &bq, &r->b) == -1) {
		free(question);
		goto lost;
	}
	r->loaded = 1;
	why = restricted ? "restricted"
	    : r->kind == KIND_REPLY && bot_wants_human(&r->b, question) != NULL
	    ? "visitor_request"
	    : NULL;
	free(question);
	if (why != NULL) {
		finish_handoff(cfg, db, r, why);
		return;
	}
	b = bot_begin(
	    cfg, &r->b, r->kind == KIND_DRAFT, on_text, r, &r->turn, &out);
	if (b == 1) {
		finish(cfg, db, r, &out);
		return;
	}
	if (b == -1 || (r->call = bot_turn_call(r->turn, &err)) == NULL ||
	    start_attempt(r) == -1) {
		log_event(
		    LOG_WARN, "reply_failed", LOG_S("reason", "internal"));
		finish_handoff(cfg, db, r, "provider_error");
		return;
	}
	return;
lost:
	/* The job is left to its lease: when it runs out, another try (up
	 * to answer_max_tries, then a person). */
	log_event(LOG_WARN, "reply_load_failed", LOG_S("reason", "database"));
	reply_end(r);
}

/* Takes up to 'n' jobs. Returns how many, or -1. */
static int
claim(const struct conf *cfg, struct db *db, int n)
{
	struct reply *fresh[CLAIM_MAX];
	char	      lease[12], want[12], share[12];
	const char   *p[4] = { owner, lease, want, share };
	PGresult     *res;
	int	      i, got;

	snprintf(lease, sizeof(lease), "%d", cfg->answer_lease);
	snprintf(want, sizeof(want), "%d", n);
	snprintf(share, sizeof(share), "%d", cfg->answer_company_streams);
	if ((res = db_exec(db, &q_claim, p)) == NULL)
		return -1;
	got = PQntuples(res);
	if (got > CLAIM_MAX)
		got = CLAIM_MAX; /* not reached: the claim asks for fewer */
	for (i = 0; i < got; i++) {
		struct reply *r = calloc(1, sizeof(*r));

		if ((fresh[i] = r) == NULL)
			continue; /* the lease runs out; taken again later */
		snprintf(
		    r->job_id, sizeof(r->job_id), "%s", PQgetvalue(res, i, 0));
		snprintf(r->company_id, sizeof(r->company_id), "%s",
		    PQgetvalue(res, i, 1));
		snprintf(r->conversation_id, sizeof(r->conversation_id), "%s",
		    PQgetvalue(res, i, 2));
		r->kind = strcmp(PQgetvalue(res, i, 3), "draft") == 0
		    ? KIND_DRAFT
		    : KIND_REPLY;
		snprintf(r->message_id, sizeof(r->message_id), "%s",
		    PQgetvalue(res, i, 4));
		snprintf(r->draft_id, sizeof(r->draft_id), "%s",
		    PQgetvalue(res, i, 5));
		snprintf(
		    r->tries, sizeof(r->tries), "%s", PQgetvalue(res, i, 6));
		r->claimed = mono_ms();
		r->lease_end = r->claimed + cfg->answer_lease * 1000LL;
		r->waited_ms = strtol(PQgetvalue(res, i, 7), NULL, 10);
		r->deadline = r->claimed + cfg->answer_deadline * 1000LL;
		r->next = active;
		active = r;
		nactive++;
	}
	PQclear(res);
	/* Each is started now, in the order taken. */
	for (i = 0; i < got; i++)
		if (fresh[i] != NULL)
			start_reply(cfg, db, fresh[i]);
	return got;
}

/*
 * Renews the leases of every job held; a job no longer held (cancelled
 * because a person took the conversation, or deleted) is stopped, and the
 * visitor told. Returns 0 or -1.
 */
/*
 * The ids of the replies in hand, as a PostgreSQL array literal
 * "{1,2,3}" (each id at most 19 digits). Returns a new string; caller
 * frees with free(). NULL if out of memory.
 */
static char *
held_ids(void)
{
	struct reply *r;
	char	     *ids;
	size_t	      len = 1;

	if ((ids = malloc((size_t)nactive * 24 + 3)) == NULL)
		return NULL;
	ids[0] = '{';
	for (r = active; r != NULL; r = r->next)
		len += (size_t)snprintf(
		    ids + len, 24, "%s%s", r == active ? "" : ",", r->job_id);
	snprintf(ids + len, 2, "}");
	return ids;
}

static int
cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

/*
 * Column 0 of 'res' as sorted numbers, in a new array (caller frees with
 * free(); NULL when empty or out of memory), their count in '*n'.
 */
static long long *
sorted_ids(PGresult *res, int *n)
{
	long long *v;
	int	   i;

	*n = PQntuples(res);
	if (*n == 0 || (v = malloc((size_t)*n * sizeof(*v))) == NULL) {
		*n = 0;
		return NULL;
	}
	for (i = 0; i < *n; i++)
		v[i] = strtoll(PQgetvalue(res, i, 0), NULL, 10);
	qsort(v, (size_t)*n, sizeof(*v), cmp_ll);
	return v;
}

static int
has_id(const long long *v, int n, const struct reply *r)
{
	long long id = strtoll(r->job_id, NULL, 10);

	return v != NULL && bsearch(&id, v, (size_t)n, sizeof(*v), cmp_ll);
}

/*
 * Renews the leases of the jobs in hand. A job no longer held is
 * stopped: when it is gone (a person took the conversation, or it was
 * deleted) its visitor is told; when another try has it (our lease ran
 * out) nothing is said: that try streams now. Returns 0 or -1.
 */
static int
renew(const struct conf *cfg, struct db *db)
{
	char	      lease[12];
	const char   *p[3] = { owner, lease, NULL };
	PGresult     *res;
	struct reply *r, *next;
	long long    *v, until;
	char	     *ids;
	int	      n, lost = 0;

	if (active == NULL)
		return 0;
	if ((ids = held_ids()) == NULL)
		return -1;
	snprintf(lease, sizeof(lease), "%d", cfg->answer_lease);
	p[2] = ids;
	until = mono_ms() + cfg->answer_lease * 1000LL;
	res = db_exec(db, &q_renew, p);
	if (res == NULL) {
		free(ids);
		return -1;
	}
	v = sorted_ids(res, &n);
	PQclear(res);
	for (r = active; r != NULL; r = r->next) {
		if ((r->held = has_id(v, n, r)))
			r->lease_end = until;
		else
			lost++;
	}
	free(v);
	if (lost == 0) {
		free(ids);
		return 0;
	}
	/* Of those not held, which are gone (not merely taken)? */
	p[0] = ids;
	res = db_exec(db, &q_gone, p);
	free(ids);
	if (res == NULL)
		return -1;
	v = sorted_ids(res, &n);
	PQclear(res);
	for (r = active; r != NULL; r = next) {
		next = r->next;
		if (r->held)
			continue;
		if (!has_id(v, n, r) && r->kind == KIND_REPLY) {
			struct ctx ctx;
			json_t	  *ev = json_pack("{s:s,s:s,s:s}", "type",
			       "reply.cancelled", "reply_to", r->message_id,
			       "reason", "agent");

			ctx_for(&ctx, cfg, db, r);
			publish(&ctx, r, ev);
			json_decref(ev);
		}
		reply_end(r);
	}
	free(v);
	return 0;
}

/* The LISTEN connection, or NULL while the database is away. */
static PGconn *
listen_open(const struct conf *cfg)
{
	const char *keys[3] = { "dbname", "connect_timeout", NULL };
	const char *vals[3];
	char	    timeout[12];
	PGconn	   *c;
	PGresult   *res;

	snprintf(timeout, sizeof(timeout), "%d", cfg->db_connect_timeout);
	vals[0] = cfg->database_url; /* expanded as a connection string */
	vals[1] = timeout;
	vals[2] = NULL;
	c = PQconnectdbParams(keys, vals, 1);

	if (PQstatus(c) != CONNECTION_OK) {
		PQfinish(c);
		return NULL;
	}
	res = PQexec(c, "LISTEN parley_reply");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		PQclear(res);
		PQfinish(c);
		return NULL;
	}
	PQclear(res);
	PQsetnonblocking(c, 1);
	return c;
}

/* Reads the notifications; sets '*woken', and '*cancel' for cancels. */
static void
listen_read(PGconn **lc, int *woken, int *cancel)
{
	PGnotify *n;

	if (PQconsumeInput(*lc) == 0) {
		PQfinish(*lc);
		*lc = NULL;
		*woken = 1;
		return;
	}
	while ((n = PQnotifies(*lc)) != NULL) {
		*woken = 1;
		if (strcmp(n->extra, "cancel") == 0)
			*cancel = 1;
		PQfreemem(n);
	}
}

int
answer_run(const struct conf *cfg, int no)
{
	struct db    *db;
	PGconn	     *lc = NULL;
	struct reply *r, *next;
	unsigned char rnd[8];
	char	      hex[17];
	long long     last_claim = 0, last_renew, last_listen = 0, now;
	long long     stop_at = 0;
	int	      woken = 1, cancel = 0, want = 0, running, finished = 0;
	int	      timeout, rc = 0;

	child_signals(on_term);
	if ((db = db_new(cfg->database_url, cfg->db_connect_timeout)) == NULL)
		return 1;
	if (crypto_random(rnd, sizeof(rnd)) == -1 ||
	    (multi = curl_multi_init()) == NULL) {
		db_free(db);
		return 1;
	}
	crypto_hex(rnd, sizeof(rnd), hex);
	snprintf(owner, sizeof(owner), "%ld-%s", (long)getpid(), hex);
	last_renew = mono_ms();
	log_event(LOG_INFO, "answerer_started", LOG_I("worker", no),
	    LOG_I("streams", cfg->answer_streams));
	for (;;) {
		struct curl_waitfd wfd;
		CURLMsg		  *msg;
		int		   left, nfd = 0;

		now = mono_ms();
		if (stopping && stop_at == 0) {
			/* Finish what can finish before the master's limit;
			 * hand the rest back. */
			stop_at = now +
			    (cfg->shutdown_timeout > 2
				    ? (cfg->shutdown_timeout - 1) * 1000LL
				    : 500);
			log_event(LOG_INFO, "answerer_stopping",
			    LOG_I("streams", nactive));
		}
		if (stopping && (nactive == 0 || now >= stop_at))
			break;
		if (lc == NULL && now - last_listen >= 1000) {
			last_listen = now;
			if ((lc = listen_open(cfg)) != NULL)
				woken = 1;
		}
		if (!stopping && nactive < cfg->answer_streams &&
		    (woken || now - last_claim >= POLL_MS ||
			(want && now - last_claim >= CLAIM_GAP_MS))) {
			int n = cfg->answer_streams - nactive;

			if (n > CLAIM_MAX)
				n = CLAIM_MAX;
			woken = want = 0;
			last_claim = now;
			/* A full batch: more may be waiting. */
			if (claim(cfg, db, n) == n)
				want = 1;
		}
		if (cancel ||
		    (nactive > 0 &&
			now - last_renew >= cfg->answer_lease * 1000LL / 3)) {
			cancel = 0;
			last_renew = now;
			(void)renew(cfg, db);
		}
		curl_multi_perform(multi, &running);
		while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
			struct llm_call *call = NULL;
			CURL		*easy = msg->easy_handle;
			CURLcode	 result = msg->data.result;
			long		 wait;

			/* 'msg' is not valid once its handle is removed. */
			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(
			    easy, CURLINFO_PRIVATE, (char **)&call);
			for (r = active; r != NULL; r = r->next)
				if (r->call == call)
					break;
			curl_multi_remove_handle(multi, easy);
			if (r == NULL)
				continue;
			r->easy = NULL;
			wait = llm_call_done(r->call, result);
			if (wait > 0 && mono_ms() + wait < r->deadline) {
				r->retry_at = mono_ms() + wait;
				continue;
			}
			if (wait > 0)
				llm_call_abort(r->call, "timeout");
			exchange_over(cfg, db, r);
			finished++;
			want = 1;
		}
		now = mono_ms();
		timeout = POLL_MS;
		for (r = active; r != NULL; r = next) {
			next = r->next;
			if (now >= r->lease_end) {
				/* Renewals failed until the lease ran out: the
				 * job may be another try's now. Stop, quietly. */
				log_event(LOG_WARN, "reply_lease_lost",
				    LOG_S("reason", "renew"));
				reply_end(r);
				continue;
			}
			if (r->call == NULL)
				continue;
			if (now >= r->deadline) {
				/* Out of time: the visitor gets the handoff. */
				if (r->easy != NULL) {
					curl_multi_remove_handle(
					    multi, r->easy);
					r->easy = NULL;
				}
				llm_call_abort(r->call, "timeout");
				exchange_over(cfg, db, r);
				finished++;
				want = 1;
				continue;
			}
			if (r->retry_at != 0 && now >= r->retry_at &&
			    start_attempt(r) == -1) {
				llm_call_abort(r->call, "internal");
				exchange_over(cfg, db, r);
				finished++;
				want = 1;
				continue;
			}
			if (r->plen > 0 &&
			    (r->published == 0 ||
				now - r->last_pub >= cfg->answer_batch_ms))
				publish_pending(cfg, db, r);
			else if (r->plen > 0 &&
			    r->last_pub + cfg->answer_batch_ms - now < timeout)
				timeout = (int)(r->last_pub +
				    cfg->answer_batch_ms - now);
			if (r->retry_at != 0 && r->retry_at - now < timeout)
				timeout = (int)(r->retry_at - now);
			if (r->deadline - now < timeout)
				timeout = (int)(r->deadline - now);
		}
		if (want && timeout > CLAIM_GAP_MS)
			timeout = CLAIM_GAP_MS;
		if (stopping && timeout > 100)
			timeout = 100;
		if (timeout < 0)
			timeout = 0;
		if (lc != NULL) {
			wfd.fd = PQsocket(lc);
			wfd.events = CURL_WAIT_POLLIN;
			wfd.revents = 0;
			nfd = 1;
		}
		curl_multi_poll(
		    multi, nfd ? &wfd : NULL, (unsigned)nfd, timeout, NULL);
		if (lc != NULL)
			listen_read(&lc, &woken, &cancel);
	}
	/* What did not finish goes back to the queue, for the next
	 * generation (a reload) or the next start; its visitors are told
	 * (the reply starts again, "reply.start", when it is taken). */
	for (r = active; r != NULL; r = r->next)
		if (r->kind == KIND_REPLY && r->published > 0) {
			struct ctx ctx;
			json_t	  *ev = json_pack("{s:s,s:s}", "type",
			       "reply.interrupted", "reply_to", r->message_id);

			ctx_for(&ctx, cfg, db, r);
			publish(&ctx, r, ev);
			json_decref(ev);
		}
	{
		char	   *ids = held_ids();
		const char *p[2] = { owner, ids };
		PGresult   *res =
		      ids != NULL ? db_exec(db, &q_hand_back, p) : NULL;
		long back = res != NULL && PQntuples(res) == 1
		    ? strtol(PQgetvalue(res, 0, 0), NULL, 10)
		    : -1;

		free(ids);
		PQclear(res);
		log_event(back < 0 ? LOG_WARN : LOG_INFO, "answerer_stopped",
		    LOG_I("worker", no), LOG_I("finished", finished),
		    LOG_I("handed_back", back));
		if (back < 0)
			rc = 0; /* their leases run out instead */
	}
	while (active != NULL)
		reply_end(active);
	curl_multi_cleanup(multi);
	if (lc != NULL)
		PQfinish(lc);
	db_free(db);
	return rc;
}

/*
 * The sweep.
 */
static struct db_stmt q_unanswered = { "answer_unanswered",
	"SELECT company_id, conversation_id, message_id FROM "
	"parley_lookup_unanswered($1::integer, 100)",
	1, 0, 0 };
/* The message, still owed, locked: is it swept already? */
static struct db_stmt q_swept = { "answer_swept",
	"SELECT m.swept, coalesce(c.locale, '') AS locale FROM messages m "
	"JOIN conversations c ON c.company_id "
	"= m.company_id AND c.id = m.conversation_id WHERE m.company_id = $1 "
	"AND m.conversation_id = $2 AND m.id = $3 AND m.reply_owed AND "
	"c.status = 'bot' AND NOT EXISTS (SELECT 1 FROM reply_jobs j WHERE "
	"j.message_id = m.id) FOR UPDATE OF c, m",
	3, 0, 0 };
static struct db_stmt q_requeue = { "answer_requeue",
	"WITH s AS (UPDATE messages SET swept = true WHERE company_id = $1 "
	"AND conversation_id = $2 AND id = $3) INSERT INTO reply_jobs "
	"(company_id, conversation_id, kind, message_id) VALUES ($1, $2, "
	"'reply', $3) ON CONFLICT DO NOTHING",
	3, 0, 0 };
/* One sweeper at a time (two generations overlap during a reload). */
static struct db_stmt q_sweep_try = { "answer_sweep_lock",
	"SELECT pg_try_advisory_lock(7238911)", 0, 0, 0 };
static struct db_stmt q_sweep_done = { "answer_sweep_unlock",
	"SELECT pg_advisory_unlock(7238911)", 0, 0, 0 };

int
answer_sweep(const struct conf *cfg, struct db *db)
{
	char	    age[12];
	const char *p[3] = { age };
	PGresult   *list, *res;
	int	    i, requeued = 0, handed = 0, found;

	snprintf(age, sizeof(age), "%d", cfg->answer_sweep_age);
	if ((res = db_exec(db, &q_sweep_try, NULL)) == NULL)
		return -1;
	i = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (!i)
		return 0; /* another process is sweeping */
	if ((list = db_exec(db, &q_unanswered, p)) == NULL) {
		PQclear(db_exec(db, &q_sweep_done, NULL));
		return -1;
	}
	found = PQntuples(list);
	for (i = 0; i < found; i++) {
		struct ctx	ctx;
		struct conv_msg m;
		json_t	       *msg;
		char		assignee[37], locale[8];
		int		first;

		memset(&ctx, 0, sizeof(ctx));
		ctx.conf = cfg;
		ctx.db = db;
		snprintf(ctx.who.company_id, sizeof(ctx.who.company_id), "%s",
		    PQgetvalue(list, i, 0));
		p[0] = PQgetvalue(list, i, 0);
		p[1] = PQgetvalue(list, i, 1);
		p[2] = PQgetvalue(list, i, 2);
		if (db_tenant_begin(db, p[0], &q_swept, p, &res) == -1)
			continue;
		if (res == NULL || PQntuples(res) != 1) {
			/* Answered, queued or taken by a person meanwhile. */
			PQclear(res);
			db_rollback(db);
			continue;
		}
		first = strcmp(PQgetvalue(res, 0, 0), "f") == 0;
		snprintf(locale, sizeof(locale), "%s", PQgetvalue(res, 0, 1));
		PQclear(res);
		if (first) {
			/* Once more through the answerers, woken at once. */
			struct db_call rq = { &q_requeue, p, NULL };

			if (db_exec_many_then(db, &rq, 1, &answer_wake_stmt) ==
			    -1) {
				db_rollback(db);
				continue;
			}
			requeued++;
			continue;
		}
		/* Swept before and still unanswered: a person takes it. */
		memset(&m, 0, sizeof(m));
		m.role = "bot";
		m.content = bot_handoff_text("provider_error", locale);
		m.prompt_tokens = m.completion_tokens = -1;
		m.only_status = "bot";
		m.reply_to = p[2];
		if ((msg = conv_add(&ctx, p[1], &m)) == NULL ||
		    conv_set_status(&ctx, p[1], "pending", "provider_error",
			NULL, assignee) == -1) {
			json_decref(msg);
			db_rollback(db);
			continue;
		}
		rt_message(&ctx, p[1], msg);
		rt_status(&ctx, p[1], "pending", assignee);
		json_decref(msg);
		if (db_commit(db) == -1) {
			db_rollback(db);
			continue;
		}
		handed++;
	}
	PQclear(list);
	PQclear(db_exec(db, &q_sweep_done, NULL));
	log_event(found > 0 ? LOG_WARN : LOG_INFO, "reply_sweep",
	    LOG_I("found", found), LOG_I("requeued", requeued),
	    LOG_I("handed_off", handed));
	return found;
}
