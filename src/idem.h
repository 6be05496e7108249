/*
 * idem.h: Idempotency-Key on message posts (a visitor's message, an
 * agent's reply). A retry with the same key and the same body returns the
 * message first stored and stores nothing; the same key with another body
 * is 422. Keys are scoped to the caller ("v:" visitor, "u:" user, "k:" API
 * key) and kept idempotency_ttl seconds (sql/022-answerer.sql).
 *
 * The key's row is inserted by the statement batch that stores the
 * message, after it: a concurrent or later retry fails on the primary key
 * (SQLSTATE 23505), which rolls back everything it would have stored, and
 * idem_replay() then answers with what the first request stored.
 */
#ifndef PARLEY_IDEM_H
#define PARLEY_IDEM_H
#include <jansson.h>
struct request;
struct ctx;
struct db_call;

struct idem {
	int	    on; /* a key was sent */
	char	    scope[48];
	const char *key; /* borrowed from the request */
	char	    hash[65]; /* hex SHA-256 of conversation and content */
	const char *p[7];
};

/*
 * Reads the Idempotency-Key header of 'req' for a message 'content' to
 * conversation 'conv' by the caller of 'ctx'. Returns 0 (with k->on 0
 * when there is none), or HTTP_ANSWERED after answering: 400 for a malformed key,
 * 503 when the body could not be hashed.
 */
int idem_read(struct request *req, struct ctx *ctx, const char *conv,
    const char *content, struct idem *k);
/* Prepares the key's insert for a batch, after the message's insert. */
void idem_call(
    struct ctx *ctx, const char *conv, struct idem *k, struct db_call *call);

/*
 * Answers a replay: 'send' receives the stored message, its reply (or
 * NULL) and the conversation's status. 'send' answers 'req' and returns 0
 * or -1.
 */
typedef int (*idem_send_fn)(
    struct request *req, json_t *msg, json_t *reply, const char *status);
/*
 * After a failed batch: if the failure was the key's (a retry), rolls
 * back and answers the replay (or 422 idempotency_mismatch for another
 * body). Returns HTTP_ANSWERED when it answered, 0 when the failure was not the key's,
 * -1 on error.
 */
int idem_replay(
    struct request *req, struct ctx *ctx, struct idem *k, idem_send_fn send);
#endif
