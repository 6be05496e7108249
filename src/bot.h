/*
 * bot.h: how a chatbot answers. bot_calls() and bot_parse() gather,
 * inside the caller's tenant transaction, everything an answer needs
 * (settings, provider, budget, knowledge-base passages, history); the
 * caller commits, so no transaction stays open while the provider
 * thinks; bot_begin() and bot_end() ask the provider (or the offline
 * responder), check the reply (src/guard.c) and say whether to hand the
 * conversation to a human.
 *
 * Prompt layout and defences: docs/llm.md.
 */
#ifndef PARLEY_BOT_H
#define PARLEY_BOT_H
#include <jansson.h>
struct conf;
struct ctx;

#define BOT_PASSAGES 4 /* knowledge-base chunks given to the model */
#define BOT_HISTORY 12 /* earlier messages given to the model */

/* What bot_parse() found. Free with bot_ctx_free(). */
struct bot_ctx {
	char company_id[37], chatbot_id[37];
	char *template; /* the chatbot's prompt template */
	char	  language[24];
	char	  locale[8]; /* the conversation's ("" : none) */
	char	  model[101];
	double	  temperature;
	int	  max_tokens;
	int	  handoff_on_no_answer;
	json_t	 *keywords; /* handoff keywords */
	json_t	 *hosts; /* hosts the reply may link to */
	char	  base_url[257]; /* "" : offline responder */
	char	  api_key[513]; /* secret: wiped by bot_ctx_free() */
	int	  public_only; /* a tenant's URL: public addresses only */
	long long used_bot, used_company; /* tokens this month */
	long long company_budget; /* the plan's tokens a month; -1: none */
	json_t	 *passages; /* [{chunk_id, document_id, title, source_url,
			      content}] */
	json_t	 *history; /* [{role, content}], oldest first */
};

/* The answer. Free with bot_reply_free(). */
struct bot_reply {
	char	   *content; /* what the visitor sees */
	json_t	   *citations; /* [{document_id, title, source_url}] */
	const char *handoff; /* reason to hand over, or NULL */
	const char *flag; /* output check that failed, or NULL */
	long	    prompt_tokens, completion_tokens; /* -1: none */
	char	    model[101]; /* "" when no model answered */
	long	    provider_us; /* time spent waiting for the provider,
				    microseconds (parley's own work excluded) */
};

/* Receives released reply text while it streams; -1 stops the stream. */
typedef int (*bot_emit_fn)(void *arg, const char *text, size_t len);

#include "db.h"
/* The four reads of an answer's context, for a caller's batch. */
#define BOT_CALLS 4
struct bot_q {
	const char *p[3], *pp[4], *hp[3], *lp[2];
	PGresult   *settings, *passages, *history, *locale;
};
/*
 * Fills 'calls' (BOT_CALLS of them) and 'q' with the reads of the
 * context, so a caller can send them with its own statements; the
 * strings given must outlive the batch. bot_parse() then fills 'b' from the
 * results (0 or -1) and frees what 'q' holds; bot_q_free() when the
 * batch failed.
 */
void bot_calls(struct ctx *ctx, const char *chatbot_id,
    const char *conversation_id, const char *question, const char *upto,
    struct bot_q *q, struct db_call *calls);
int  bot_parse(struct ctx *ctx, const char *chatbot_id, struct bot_q *q,
     struct bot_ctx *b);
void bot_q_free(struct bot_q *q);

/*
 * bot_calls() loads the context of an answer to 'question' in chatbot
 * 'chatbot_id' for conversation 'conversation_id' ('NULL' for none: no
 * history), its history up to message number 'upto' (NULL: all), in the
 * open tenant transaction of ctx->who.company_id.
 */
void bot_ctx_free(struct bot_ctx *b);

/* Returns the handoff keyword 'text' asks for, or NULL. Borrowed. */
const char *bot_wants_human(const struct bot_ctx *b, const char *text);

/*
 * An answer in progress (the answerer, src/answer.c, runs many at once).
 * bot_begin() starts the answer to the newest message of 'b' (borrowed
 * until the turn is freed); 'draft' asks for a draft for a human agent
 * instead of a reply to the visitor; 'emit' (may be NULL) receives the
 * checked text as it streams. Returns 1 with 'out' filled when no
 * provider is needed (the offline responder, a spent budget); 0 with
 * '*turn' set (caller frees with bot_turn_free()) when the provider must
 * be asked: bot_turn_call() makes that exchange (a new llm_call, see
 * llm.h), and bot_end() checks its result 'lr' and fills 'out' (a handoff
 * when the provider failed or the output check refused the reply).
 * Returns -1 on an internal error only.
 */
struct bot_turn;
struct llm_call;
struct llm_result;
int		 bot_begin(const struct conf *cfg, struct bot_ctx *b, int draft,
		 bot_emit_fn emit, void *arg, struct bot_turn **turn, struct bot_reply *out);
struct llm_call *bot_turn_call(struct bot_turn *t, const char **err);
int		 bot_end(
		 struct bot_turn *t, const struct llm_result *lr, struct bot_reply *out);
/* Microseconds spent in parley's own checks of the stream so far. */
long bot_turn_own_us(const struct bot_turn *t);
void bot_turn_free(struct bot_turn *t);
void bot_reply_free(struct bot_reply *r);

#endif
