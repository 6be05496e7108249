/*
 * idem.c: Idempotency-Key (see idem.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcgiapp.h>
#include <openssl/evp.h>

#include "conv.h"
#include "crypto.h"
#include "db.h"
#include "http.h"
#include "idem.h"
#include "row.h"
#include "limits.h"
#include "ctx.h"

/*
 * The key goes with the message this request just stored, and only that
 * one: written in this transaction (created_at is the transaction's
 * now()), by this caller (a visitor's own conversation; an agent's
 * message). When the request stored nothing, neither is the key.
 */
static struct db_stmt q_idem_add = { "idempotency_add",
	"INSERT INTO idempotency_keys (company_id, scope, key, body_hash, "
	"conversation_id, message_id) SELECT $1, $3, $4, decode($5, 'hex'), "
	"$2, m.id FROM messages m JOIN conversations c ON c.company_id = "
	"m.company_id AND c.id = m.conversation_id WHERE m.company_id = $1 "
	"AND m.conversation_id = $2 AND m.seq = c.message_count AND m.role = "
	"$6 AND ($7::uuid IS NULL OR c.visitor_id = $7) AND m.created_at = "
	"now()",
	7, 0, 0 };
static struct db_stmt q_idem_get = { "idempotency_get",
	"SELECT encode(k.body_hash, 'hex'), k.message_id, c.status FROM "
	"idempotency_keys k JOIN conversations c ON c.company_id = "
	"k.company_id AND c.id = k.conversation_id WHERE k.company_id = $1 "
	"AND k.scope = $2 AND k.key = $3",
	3, 0, 0 };
static struct db_stmt q_idem_msgs = { "idempotency_messages",
	"SELECT {{Message}} FROM messages m WHERE m.company_id = $1 AND "
	"(m.id = $2 OR m.reply_to = $2) ORDER BY m.seq",
	2, 0, 0 };

int
idem_read(struct request *req, struct ctx *ctx, const char *conv,
    const char *content, struct idem *k)
{
	const char *v = FCGX_GetParam("HTTP_IDEMPOTENCY_KEY", req->fcgi->envp);
	unsigned char h[32];
	EVP_MD_CTX   *md;
	size_t	      n, i;

	memset(k, 0, sizeof(k[0]));
	if (v == NULL)
		return 0;
	n = strnlen(v, PRL_IDEM_KEY_MAX + 1);
	for (i = 0; i < n; i++)
		if ((unsigned char)v[i] <= 0x20 || (unsigned char)v[i] >= 0x7f)
			break;
	if (n == 0 || n > PRL_IDEM_KEY_MAX || i < n) {
		http_send_problem(req, 400, "bad_idempotency_key",
		    "Idempotency-Key must be 1 to 255 visible ASCII characters",
		    NULL, NULL, NULL);
		return HTTP_ANSWERED;
	}
	k->on = 1;
	k->key = v;
	if (ctx->who.visitor_id[0] != '\0')
		snprintf(
		    k->scope, sizeof(k->scope), "v:%s", ctx->who.visitor_id);
	else if (ctx->who.key_id[0] != '\0')
		snprintf(k->scope, sizeof(k->scope), "k:%s", ctx->who.key_id);
	else
		snprintf(k->scope, sizeof(k->scope), "u:%s", ctx->who.user_id);
	/* The body as it matters: where it goes and what it says. */
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(md, conv, strlen(conv)) != 1 ||
	    EVP_DigestUpdate(md, "\n", 1) != 1 ||
	    EVP_DigestUpdate(md, content, strlen(content)) != 1 ||
	    EVP_DigestFinal_ex(md, h, NULL) != 1) {
		EVP_MD_CTX_free(md);
		http_send_problem(req, 503, "unavailable",
		    "Try again in a moment", NULL, NULL, NULL);
		return HTTP_ANSWERED;
	}
	EVP_MD_CTX_free(md);
	crypto_hex(h, sizeof(h), k->hash);
	return 0;
}

void
idem_call(
    struct ctx *ctx, const char *conv, struct idem *k, struct db_call *call)
{
	k->p[0] = ctx->who.company_id;
	k->p[1] = conv;
	k->p[2] = k->scope;
	k->p[3] = k->key;
	k->p[4] = k->hash;
	k->p[5] = ctx->who.visitor_id[0] != '\0' ? "visitor" : "agent";
	k->p[6] = ctx->who.visitor_id[0] != '\0' ? ctx->who.visitor_id : NULL;
	call->st = &q_idem_add;
	call->params = k->p;
	call->out = NULL;
}

int
idem_replay(
    struct request *req, struct ctx *ctx, struct idem *k, idem_send_fn send)
{
	const char *p[3];
	PGresult   *res = NULL, *msgs = NULL;
	json_t	   *msg = NULL, *reply = NULL;
	char	    status[16], mid[37];
	int	    i, rc = -1;

	if (!k->on || strcmp(db_last_sqlstate(ctx->db), "23505") != 0)
		return 0;
	db_rollback(ctx->db);
	p[0] = ctx->who.company_id;
	p[1] = k->scope;
	p[2] = k->key;
	if (db_tenant_begin(
		ctx->db, ctx->who.company_id, &q_idem_get, p, &res) == -1)
		return -1;
	if (res == NULL || PQntuples(res) != 1) {
		rc = 0; /* not the key's conflict, or the key was purged */
		goto out;
	}
	if (!crypto_equal(PQgetvalue(res, 0, 0), k->hash, 64)) {
		db_rollback(ctx->db);
		rc = http_send_problem(req, 422, "idempotency_mismatch",
		    "This Idempotency-Key was used for another message", NULL,
		    NULL, NULL);
		rc = rc == -1 ? -1 : HTTP_ANSWERED;
		goto out;
	}
	snprintf(mid, sizeof(mid), "%s", PQgetvalue(res, 0, 1));
	snprintf(status, sizeof(status), "%s", PQgetvalue(res, 0, 2));
	p[1] = mid;
	if ((msgs = db_exec_commit(ctx->db, &q_idem_msgs, p)) == NULL)
		goto out;
	for (i = 0; i < PQntuples(msgs); i++) {
		if (strcmp(row_get(msgs, i, "id"), mid) == 0)
			msg = conv_msg_json(msgs, i);
		else if (reply == NULL)
			reply = conv_msg_json(msgs, i);
	}
	if (msg == NULL)
		goto out;
	(void)http_add_header(req, "Idempotent-Replayed", "true");
	rc = send(req, msg, reply, status) == -1 ? -1 : HTTP_ANSWERED;
out:
	db_rollback(ctx->db);
	PQclear(res);
	PQclear(msgs);
	json_decref(msg);
	json_decref(reply);
	return rc;
}
