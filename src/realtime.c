/*
 * realtime.c: publishing to nchan (see realtime.h). Events are queued in
 * the process and sent by a commit hook, so a rolled-back change never
 * reaches a subscriber; a publish that fails is logged and dropped (the
 * data is in the database; clients catch up with ?after=).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "conf.h"
#include "db.h"
#include "log.h"
#include "realtime.h"
#include "ctx.h"

struct rt_item {
	char	      path[64]; /* "/pub/c-<uuid>" */
	char	     *body; /* NULL: delete the channel */
	unsigned long tx; /* db_txn() of the transaction that queued it */
};

static struct rt_item queue[RT_QUEUE_MAX];
static int	      nqueue;
static const char    *sock_path; /* borrowed from the configuration */
static CURL	     *handle;

static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

/* Sends one item; failures are logged, never retried. */
static void
send_item(const struct rt_item *it)
{
	char	 url[96];
	CURLcode cc;
	long	 code = 0;

	if (handle == NULL)
		handle = curl_easy_init();
	else
		curl_easy_reset(handle);
	if (handle == NULL)
		return;
	snprintf(url, sizeof(url), "http://localhost%s", it->path);
	curl_easy_setopt(handle, CURLOPT_UNIX_SOCKET_PATH, sock_path);
	curl_easy_setopt(handle, CURLOPT_URL, url);
	curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, 500L);
	curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, discard);
	if (it->body != NULL) {
		curl_easy_setopt(handle, CURLOPT_POSTFIELDS, it->body);
		curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)strlen(it->body));
	} else
		curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, "DELETE");
	cc = curl_easy_perform(handle);
	curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &code);
	/* nchan: 201/202 published, 200 deleted, 404 no such channel. */
	if (cc != CURLE_OK || (code >= 300 && code != 404))
		log_event(LOG_WARN, "realtime_publish_failed",
		    LOG_I("status", code), LOG_I("code", (long)cc));
	curl_easy_setopt(handle, CURLOPT_POSTFIELDS, NULL);
}

/* The commit hook: sends what this transaction queued. */
static void
flush(void *arg)
{
	struct db    *db = arg;
	unsigned long now = db_txn(db);
	int	      i;

	for (i = 0; i < nqueue; i++) {
		if (queue[i].tx == now)
			send_item(&queue[i]);
		free(queue[i].body);
		queue[i].body = NULL;
	}
	nqueue = 0;
}

/* Appends an item for the open (or next) transaction of ctx->db. */
static void
enqueue(struct ctx *ctx, const char *channel, char *body)
{
	unsigned long tx = db_txn(ctx->db);
	int	      i, j;

	sock_path = ctx->conf->realtime_socket;
	/* After the commit already: send it now. */
	if (!db_in_tx(ctx->db)) {
		struct rt_item now;

		snprintf(now.path, sizeof(now.path), "/pub/%s", channel);
		now.body = body;
		send_item(&now);
		free(body);
		return;
	}
	/* Items of a transaction that rolled back are dropped here. */
	for (i = j = 0; i < nqueue; i++)
		if (queue[i].tx == tx)
			queue[j++] = queue[i];
		else
			free(queue[i].body);
	nqueue = j;
	if (nqueue == RT_QUEUE_MAX ||
	    db_on_commit(ctx->db, flush, ctx->db) == -1) {
		log_event(LOG_WARN, "realtime_queue_full");
		free(body);
		return;
	}
	snprintf(
	    queue[nqueue].path, sizeof(queue[nqueue].path), "/pub/%s", channel);
	queue[nqueue].body = body;
	queue[nqueue].tx = tx;
	nqueue++;
}

void
rt_queue(struct ctx *ctx, const char *prefix, const char *id, const json_t *ev)
{
	char  channel[48];
	char *body;

	if (ctx->conf->realtime_socket[0] == '\0' || id == NULL ||
	    !db_uuid_valid(id))
		return;
	if ((body = json_dumps(ev, JSON_COMPACT)) == NULL)
		return;
	snprintf(channel, sizeof(channel), "%s-%s", prefix, id);
	enqueue(ctx, channel, body);
}

void
rt_end_sessions(struct ctx *ctx, PGresult *ids)
{
	char channel[48];
	int  i;

	if (ctx->conf->realtime_socket[0] == '\0' || ids == NULL)
		return;
	for (i = 0; i < PQntuples(ids); i++) {
		if (!db_uuid_valid(PQgetvalue(ids, i, 0)))
			continue;
		snprintf(
		    channel, sizeof(channel), "s-%s", PQgetvalue(ids, i, 0));
		enqueue(ctx, channel, NULL);
	}
}

void
rt_end_user(struct ctx *ctx, const char *user_id)
{
	char channel[48];

	if (ctx->conf->realtime_socket[0] == '\0' || !db_uuid_valid(user_id))
		return;
	snprintf(channel, sizeof(channel), "u-%s", user_id);
	enqueue(ctx, channel, NULL);
}

void
rt_message(struct ctx *ctx, const char *conv, const json_t *msg)
{
	json_t *ev, *vmsg;

	if (ctx->conf->realtime_socket[0] == '\0' || msg == NULL)
		return;
	ev = json_pack("{s:s,s:s,s:O}", "type", "message", "conversation_id",
	    conv, "message", msg);
	rt_queue(ctx, "c", ctx->who.company_id, ev);
	json_decref(ev);
	/*
	 * The visitor sees who answered: the bot, or an agent by the name
	 * they show visitors (author_name), never their id.
	 */
	vmsg = json_deep_copy(msg);
	json_object_del(vmsg, "author_id");
	ev = json_pack("{s:s,s:o}", "type", "message", "message", vmsg);
	rt_queue(ctx, "v", conv, ev);
	json_decref(ev);
}

void
rt_status(
    struct ctx *ctx, const char *conv, const char *status, const char *assignee)
{
	json_t *ev;

	if (ctx->conf->realtime_socket[0] == '\0')
		return;
	/* Always who holds it: null is "nobody", never "unchanged". */
	ev = json_pack("{s:s,s:s,s:s,s:s?}", "type", "status",
	    "conversation_id", conv, "status", status, "assignee_id",
	    assignee != NULL && assignee[0] != '\0' ? assignee : NULL);
	rt_queue(ctx, "c", ctx->who.company_id, ev);
	json_object_del(ev, "assignee_id");
	rt_queue(ctx, "v", conv, ev);
	json_decref(ev);
}

void
rt_conversation_deleted(struct ctx *ctx, const char *conv)
{
	char	channel[48];
	json_t *ev;

	if (ctx->conf->realtime_socket[0] == '\0' || !db_uuid_valid(conv))
		return;
	ev = json_pack("{s:s,s:s}", "type", "deleted", "conversation_id", conv);
	rt_queue(ctx, "c", ctx->who.company_id, ev);
	json_decref(ev);
	snprintf(channel, sizeof(channel), "v-%s", conv);
	enqueue(ctx, channel, NULL);
}
