/*
 * Unit tests: src/llm.c without a network: the SSE parser (split at every
 * byte, line endings, comments, usage, [DONE], errors, caps), the
 * non-streaming reply parser, the request body, status codes, backoff.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "llm.h"
#include "netguard.h"
#include "tap.h"
#include "util.h"

/* What on_delta received. */
struct sink {
	char   buf[LLM_MAX_CONTENT + 1];
	size_t len;
	int    calls;
	int    stop_at; /* return -1 on this call (1-based); 0: never */
};

static struct sink sink;

static int
collect(void *arg, const char *text, size_t len)
{
	struct sink *s = arg;

	s->calls++;
	if (len == 0 || len > sizeof(s->buf) - 1 - s->len)
		return -1;
	memcpy(s->buf + s->len, text, len);
	s->len += len;
	s->buf[s->len] = '\0';
	return s->stop_at != 0 && s->calls == s->stop_at ? -1 : 0;
}

/* A stream's outcome, to compare runs fed in different pieces. */
struct outcome {
	char	    content[512];
	const char *error; /* "ok" when none */
	long	    prompt, completion;
	int	    done;
	char	    finish[LLM_FINISH_LEN];
	int	    delivered_same; /* on_delta saw exactly the content */
};

/*
 * Feeds 'in' ('len' bytes) split at 'cut' (0: whole), or one byte at a
 * time if 'cut' is (size_t)-1, then finishes.
 */
static void
run(const char *in, size_t len, size_t cut, struct outcome *o)
{
	struct llm_sse *p;
	const char     *c, *e;
	size_t		i, n;

	memset(o, 0, sizeof(*o));
	memset(&sink, 0, sizeof(sink));
	p = llm_sse_new(collect, &sink);
	if (cut == (size_t)-1) {
		for (i = 0; i < len; i++)
			if (llm_sse_feed(p, in + i, 1) != 0)
				break;
	} else if (llm_sse_feed(p, in, cut) == 0)
		(void)llm_sse_feed(p, in + cut, len - cut);
	(void)llm_sse_finish(p);
	c = llm_sse_content(p, &n);
	snprintf(o->content, sizeof(o->content), "%s", c);
	e = llm_sse_error(p);
	o->error = e != NULL ? e : "ok";
	o->prompt = llm_sse_prompt_tokens(p);
	o->completion = llm_sse_completion_tokens(p);
	o->done = llm_sse_done(p);
	snprintf(o->finish, sizeof(o->finish), "%s", llm_sse_finish_reason(p));
	o->delivered_same = sink.len == n && llm_sse_delivered(p) == n &&
	    memcmp(sink.buf, c, n) == 0;
	llm_sse_free(p);
}

static int
same(const struct outcome *a, const struct outcome *b)
{
	return strcmp(a->content, b->content) == 0 &&
	    strcmp(a->error, b->error) == 0 && a->prompt == b->prompt &&
	    a->completion == b->completion && a->done == b->done &&
	    strcmp(a->finish, b->finish) == 0 &&
	    a->delivered_same == b->delivered_same;
}

#define ROLE                                                                   \
	"data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\","           \
	"\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","         \
	"\"content\":\"\"},\"finish_reason\":null}],\"usage\":null}\n\n"
#define TOK(t)                                                                 \
	"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" t         \
	"\"},\"finish_reason\":null}],\"usage\":null}\n\n"
#define STOP                                                                   \
	"data: {\"choices\":[{\"index\":0,\"delta\":{},"                       \
	"\"finish_reason\":\"stop\"}],\"usage\":null}\n\n"
#define USAGE                                                                  \
	"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":12,"               \
	"\"completion_tokens\":5,\"total_tokens\":17}}\n\n"
#define DONE "data: [DONE]\n\n"
#define CONTENT(t) "data: {\"choices\":[{\"delta\":{\"content\":\"" t "\"}}]}"

/* Inputs too long for one line of the table. */
/* clang-format off */
#define S_OPENAI \
	ROLE TOK("I can") TOK(" help") TOK(" with") TOK(" that.") \
	STOP USAGE DONE
#define S_UTF8 \
	ROLE TOK("h\xc3\xa9llo ") TOK("\xe2\x82\xac\xf0\x9f\x98\x80") \
	TOK("\\u00e9\\n\\\"q\\\"") STOP DONE
#define S_CRLF \
	CONTENT("a") "\r\n\r\n" \
	"data: {\"choices\":[{\"delta\":{\"content\":\"b\"}," \
	"\"finish_reason\":\"length\"}]}\r\n\r\n" \
	"data: [DONE]\r\n\r\n"
#define S_CR \
	CONTENT("a") "\r\r" \
	"data: [DONE]\r\r"
#define S_COMMENTS \
	": keep-alive\n\n" \
	"event: message\nid: 7\nretry: 100\n" TOK("x") \
	": ping\n" TOK("y") \
	"foo: bar\n\n" DONE
#define S_NOSPACE \
	"data:{\"choices\":[{\"delta\":{\"content\":\"z\"}}]}\n\n" \
	"data:[DONE]\n\n"
#define S_NULLS \
	"data: {\"choices\":[{\"delta\":{\"content\":null}}]}\n\n" \
	"data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\n" \
	TOK("k") DONE
#define S_LLAMA \
	TOK("hi") \
	"data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]," \
	"\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}}\n\n" DONE
#define S_JOINED \
	"data: {\"choices\":[{\"delta\":\n" \
	"data: {\"content\":\"j\"}}]}\n\n" DONE
#define S_ERROR \
	ROLE "data: {\"error\":{\"message\":\"overloaded\"," \
	"\"type\":\"server_error\",\"code\":null}}\n\n"
#define S_EVENT_ERROR \
	TOK("a") "event: error\n" \
	"data: {\"error\":{\"message\":\"m\"}}\n\n"
/* clang-format on */

static const struct {
	const char *name, *in;
	const char *content, *error, *finish;
	long	    prompt, completion;
	int	    done;
} streams[] = {
	{ "OpenAI with include_usage", S_OPENAI, "I can help with that.", "ok",
	    "stop", 12, 5, 1 },
	{ "multi-byte UTF-8 and escapes", S_UTF8,
	    "h\xc3\xa9llo \xe2\x82\xac\xf0\x9f\x98\x80\xc3\xa9\n\"q\"", "ok",
	    "stop", -1, -1, 1 },
	{ "CRLF line endings", S_CRLF, "ab", "ok", "length", -1, -1, 1 },
	{ "CR line endings", S_CR, "a", "ok", "", -1, -1, 1 },
	{ "comments and other fields ignored", S_COMMENTS, "xy", "ok", "", -1,
	    -1, 1 },
	{ "data: without a space", S_NOSPACE, "z", "ok", "", -1, -1, 1 },
	{ "null and absent content", S_NULLS, "k", "ok", "", -1, -1, 1 },
	{ "llama.cpp: usage beside finish_reason", S_LLAMA, "hi", "ok", "stop",
	    3, 1, 1 },
	{ "an event's data lines joined", S_JOINED, "j", "ok", "", -1, -1, 1 },
	{ "bytes after [DONE] ignored", TOK("a") DONE "data: {broken\n\n", "a",
	    "ok", "", -1, -1, 1 },
	{ "[DONE] without its blank line at the end", TOK("a") "data: [DONE]",
	    "a", "ok", "", -1, -1, 1 },
	{ "no [DONE], but a finish_reason", TOK("a") STOP, "a", "ok", "stop",
	    -1, -1, 0 },
	{ "cut short: no [DONE], no finish_reason", TOK("a") TOK("b"), "ab",
	    "bad_response", "", -1, -1, 0 },
	{ "error object in the stream", S_ERROR, "", "provider_error", "", -1,
	    -1, 0 },
	{ "event: error with an error object", S_EVENT_ERROR, "a",
	    "provider_error", "", -1, -1, 0 },
	{ "unparsable JSON", "data: {\"choices\":[\n\n", "", "bad_response", "",
	    -1, -1, 0 },
	{ "a chunk that is not an object", "data: [1,2]\n\n", "",
	    "bad_response", "", -1, -1, 0 },
	{ "\\u0000 in content refused", CONTENT("a\\u0000b") "\n\n", "",
	    "bad_response", "", -1, -1, 0 },
	{ "empty stream", "", "", "bad_response", "", -1, -1, 0 },
};

static void
test_streams(void)
{
	struct outcome whole, part;
	size_t	       i, len, cut, bad_cut;
	int	       ok;

	for (i = 0; i < nitems(streams); i++) {
		len = strlen(streams[i].in);
		run(streams[i].in, len, len, &whole);
		ok = strcmp(whole.content, streams[i].content) == 0 &&
		    strcmp(whole.error, streams[i].error) == 0 &&
		    strcmp(whole.finish, streams[i].finish) == 0 &&
		    whole.prompt == streams[i].prompt &&
		    whole.completion == streams[i].completion &&
		    whole.done == streams[i].done;
		tap_ok(ok, "stream: %s", streams[i].name);
		if (!ok)
			printf("#   '%s' %s '%s' %ld/%ld done %d\n",
			    whole.content, whole.error, whole.finish,
			    whole.prompt, whole.completion, whole.done);
		tap_ok(
		    whole.delivered_same || strcmp(streams[i].error, "ok") != 0,
		    "stream: %s: on_delta saw the content", streams[i].name);
		bad_cut = (size_t)-2;
		for (cut = 0; cut <= len && bad_cut == (size_t)-2; cut++) {
			run(streams[i].in, len, cut, &part);
			if (!same(&whole, &part))
				bad_cut = cut;
		}
		tap_ok(bad_cut == (size_t)-2,
		    "stream: %s: split at each of %zu places, same outcome",
		    streams[i].name, len + 1);
		if (bad_cut != (size_t)-2)
			printf("#   differs when cut at %zu\n", bad_cut);
		run(streams[i].in, len, (size_t)-1, &part);
		tap_ok(same(&whole, &part), "stream: %s: byte by byte",
		    streams[i].name);
	}
}

/* Content over LLM_MAX_CONTENT, a line over LLM_MAX_LINE. */
static void
test_caps(void)
{
	struct llm_sse *p;
	char		chunk[1200], *big;
	size_t		total = 0, n;
	int		rc = 0;

	memset(&sink, 0, sizeof(sink));
	p = llm_sse_new(collect, &sink);
	memset(chunk, 0, sizeof(chunk));
	while (rc == 0 && total <= LLM_MAX_CONTENT + 2048) {
		/* 1000 bytes of content per event. */
		n = (size_t)snprintf(chunk, sizeof(chunk),
		    "data: "
		    "{\"choices\":[{\"delta\":{\"content\":\"%01000d\"}}]}"
		    "\n\n",
		    0);
		rc = llm_sse_feed(p, chunk, n);
		total += 1000;
	}
	tap_is_int(rc, -1, "content past LLM_MAX_CONTENT: refused");
	tap_is_str(llm_sse_error(p), "too_large", "... as too_large");
	tap_ok(llm_sse_delivered(p) <= LLM_MAX_CONTENT &&
		llm_sse_delivered(p) == sink.len,
	    "nothing past the cap was delivered (%zu)", llm_sse_delivered(p));
	tap_is_int(llm_sse_feed(p, "data: [DONE]\n\n", 14), -1,
	    "a failed parser refuses more input");
	llm_sse_free(p);

	big = malloc(LLM_MAX_LINE + 16);
	memcpy(big, "data: ", 6);
	memset(big + 6, 'x', LLM_MAX_LINE + 10);
	p = llm_sse_new(NULL, NULL);
	tap_is_int(llm_sse_feed(p, big, 6 + LLM_MAX_LINE / 2), 0,
	    "half a long line: buffered");
	tap_is_int(
	    llm_sse_feed(p, big + 6 + LLM_MAX_LINE / 2, LLM_MAX_LINE / 2 + 10),
	    -1, "a partial line past LLM_MAX_LINE: refused");
	tap_is_str(llm_sse_error(p), "too_large", "... as too_large");
	llm_sse_free(p);

	/* Many short data lines in one event hit the same cap. */
	p = llm_sse_new(NULL, NULL);
	memset(big, 'y', LLM_MAX_LINE + 16);
	for (n = 0, rc = 0; rc == 0 && n < LLM_MAX_LINE / 100 + 2; n++) {
		memcpy(chunk, "data: ", 6);
		memcpy(chunk + 6, big, 100);
		chunk[106] = '\n';
		rc = llm_sse_feed(p, chunk, 107);
	}
	tap_is_str(llm_sse_error(p), "too_large",
	    "an event's data past LLM_MAX_LINE: too_large");
	llm_sse_free(p);
	free(big);
}

static void
test_abort(void)
{
	static const char in[] = TOK("one") TOK(" two") TOK(" three") DONE;
	struct llm_sse	 *p;

	memset(&sink, 0, sizeof(sink));
	sink.stop_at = 2;
	p = llm_sse_new(collect, &sink);
	tap_is_int(llm_sse_feed(p, in, sizeof(in) - 1), -1,
	    "on_delta returning -1 stops the parser");
	tap_is_str(llm_sse_error(p), "aborted", "... as aborted");
	tap_is_int(sink.calls, 2, "no call after the refusal");
	llm_sse_free(p);

	p = llm_sse_new(NULL, NULL);
	tap_is_int(llm_sse_feed(p, in, sizeof(in) - 1), 0,
	    "no on_delta: accumulates only");
	tap_is_int(llm_sse_delivered(p), 0, "... and delivers nothing");
	tap_is_str(llm_sse_content(p, NULL), "one two three", "... content");
	tap_is_int(llm_sse_finish(p), 0, "... finishes");
	llm_sse_free(p);
}

static const struct {
	const char *name, *body, *error, *content, *finish;
	long	    prompt, completion;
} replies[] = {
	{ "OpenAI reply",
	    "{\"id\":\"c\",\"object\":\"chat.completion\",\"choices\":[{"
	    "\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":"
	    "\"Hi \\u00e9\"},\"finish_reason\":\"stop\"}],\"usage\":{"
	    "\"prompt_tokens\":9,\"completion_tokens\":2,\"total_tokens\":11}}",
	    NULL, "Hi \xc3\xa9", "stop", 9, 2 },
	{ "no usage",
	    "{\"choices\":[{\"message\":{\"content\":\"x\"},"
	    "\"finish_reason\":\"length\"}]}",
	    NULL, "x", "length", -1, -1 },
	{ "null content reads as empty",
	    "{\"choices\":[{\"message\":{\"content\":null}}]}", NULL, "", "",
	    -1, -1 },
	{ "error object",
	    "{\"error\":{\"message\":\"m\",\"type\":\"server_error\","
	    "\"code\":null}}",
	    "provider_error", NULL, "", -1, -1 },
	{ "no choices", "{\"choices\":[]}", "bad_response", NULL, "", -1, -1 },
	{ "no message", "{\"choices\":[{\"delta\":{}}]}", "bad_response", NULL,
	    "", -1, -1 },
	{ "content not a string",
	    "{\"choices\":[{\"message\":{\"content\":[1]}}]}", "bad_response",
	    NULL, "", -1, -1 },
	{ "not JSON", "<html>Bad Gateway</html>", "bad_response", NULL, "", -1,
	    -1 },
	{ "negative usage ignored",
	    "{\"choices\":[{\"message\":{\"content\":\"\"}}],\"usage\":{"
	    "\"prompt_tokens\":-4,\"completion_tokens\":\"5\"}}",
	    NULL, "", "", -1, -1 },
};

static void
test_replies(void)
{
	static const char head[] = "{\"choices\":[{\"message\":{\"content\":\"";
	struct llm_result r;
	char		 *big;
	size_t		  i, n, pre;
	int		  rc;

	for (i = 0; i < nitems(replies); i++) {
		memset(&r, 0, sizeof(r));
		rc = llm_parse_reply(
		    replies[i].body, strlen(replies[i].body), &r);
		tap_is_str(r.error ? r.error : "ok",
		    replies[i].error ? replies[i].error : "ok", "reply: %s",
		    replies[i].name);
		tap_is_int(rc, replies[i].error ? -1 : 0, "reply: %s: rc",
		    replies[i].name);
		if (replies[i].content != NULL)
			tap_is_str(r.content, replies[i].content,
			    "reply: %s: content", replies[i].name);
		else
			tap_ok(r.content == NULL, "reply: %s: no content",
			    replies[i].name);
		tap_ok(strcmp(r.finish_reason, replies[i].finish) == 0 &&
			r.prompt_tokens == replies[i].prompt &&
			r.completion_tokens == replies[i].completion,
		    "reply: %s: finish '%s', usage %ld/%ld", replies[i].name,
		    r.finish_reason, r.prompt_tokens, r.completion_tokens);
		llm_result_free(&r);
	}

	/* Content one byte past the cap. */
	n = LLM_MAX_CONTENT + 1;
	pre = strlen(head);
	big = malloc(pre + n + 64);
	memcpy(big, head, pre);
	memset(big + pre, 'a', n);
	memcpy(big + pre + n, "\"}}]}", 6);
	memset(&r, 0, sizeof(r));
	tap_is_int(llm_parse_reply(big, strlen(big), &r), -1,
	    "reply content past LLM_MAX_CONTENT: refused");
	tap_is_str(r.error, "too_large", "... as too_large");
	llm_result_free(&r);
	/* And at the cap. */
	memcpy(big + pre + n - 1, "\"}}]}", 6);
	tap_is_int(llm_parse_reply(big, strlen(big), &r), 0,
	    "reply content of exactly LLM_MAX_CONTENT: accepted");
	tap_is_int(r.content ? (long long)strlen(r.content) : -1,
	    LLM_MAX_CONTENT, "... whole");
	llm_result_free(&r);
	free(big);
}

static void
test_request(void)
{
	struct llm_config  cfg;
	struct llm_message m[2] = { { "system", "Be brief." },
		{ "user", "Hall\xc3\xb6 \"there\"\n" } };
	json_t		  *j, *v;
	char		  *s;

	memset(&cfg, 0, sizeof(cfg));
	cfg.model = "gpt-4o-mini";
	cfg.temperature = 0.7;
	cfg.max_tokens = 300;
	s = llm_request_json(&cfg, m, 2, 0);
	j = s ? json_loads(s, 0, NULL) : NULL;
	tap_ok(j != NULL, "request: valid JSON");
	tap_is_str(json_string_value(json_object_get(j, "model")),
	    "gpt-4o-mini", "request: model");
	v = json_object_get(j, "messages");
	tap_ok(json_array_size(v) == 2 &&
		strcmp(json_string_value(
			   json_object_get(json_array_get(v, 1), "content")),
		    m[1].content) == 0 &&
		strcmp(json_string_value(
			   json_object_get(json_array_get(v, 0), "role")),
		    "system") == 0,
	    "request: messages in order, text intact");
	tap_ok(json_real_value(json_object_get(j, "temperature")) == 0.7,
	    "request: temperature");
	tap_is_int(json_integer_value(json_object_get(j, "max_tokens")), 300,
	    "request: max_tokens");
	tap_ok(json_is_false(json_object_get(j, "stream")) &&
		json_object_get(j, "stream_options") == NULL,
	    "request: stream false, no stream_options");
	json_decref(j);
	free(s);

	cfg.temperature = -1;
	cfg.max_tokens = 0;
	s = llm_request_json(&cfg, m, 1, 1);
	j = s ? json_loads(s, 0, NULL) : NULL;
	tap_ok(json_is_true(json_object_get(j, "stream")) &&
		json_is_true(json_object_get(
		    json_object_get(j, "stream_options"), "include_usage")),
	    "request: stream true with include_usage");
	tap_ok(json_object_get(j, "temperature") == NULL &&
		json_object_get(j, "max_tokens") == NULL,
	    "request: negative temperature and zero max_tokens left out");
	json_decref(j);
	free(s);

	m[1].content = "bad \xc3\x28 utf-8";
	tap_ok(llm_request_json(&cfg, m, 2, 0) == NULL,
	    "request: invalid UTF-8 refused");
	m[1].content = NULL;
	tap_ok(llm_request_json(&cfg, m, 2, 0) == NULL,
	    "request: NULL content refused");
	tap_ok(llm_request_json(&cfg, m, 0, 0) == NULL,
	    "request: no messages refused");
	cfg.model = NULL;
	tap_ok(llm_request_json(&cfg, m, 1, 0) == NULL,
	    "request: no model refused");
}

static const struct {
	long	    status;
	const char *error;
} statuses[] = {
	{ 429, "rate_limited" },
	{ 400, "bad_request" },
	{ 401, "bad_request" },
	{ 404, "bad_request" },
	{ 500, "provider_error" },
	{ 503, "provider_error" },
	{ 302, "bad_response" },
	{ 600, "bad_response" },
};

static const struct {
	long backoff;
	int  attempt;
	long retry_after, want;
} backoffs[] = {
	{ 200, 1, -1, 200 },
	{ 200, 2, -1, 400 },
	{ 200, 3, -1, 800 },
	{ 200, 10, -1, LLM_BACKOFF_CAP_MS },
	{ 200, 40, -1, LLM_BACKOFF_CAP_MS },
	{ 9000, 1, -1, LLM_BACKOFF_CAP_MS },
	{ 500, 1, 1, 1000 }, /* Retry-After lengthens */
	{ 500, 1, 3, 2000 }, /* up to 4 times the backoff */
	{ 2000, 1, 60, 5000 }, /* and never past the cap */
	{ 500, 1, 0, 500 }, /* Retry-After: 0 */
	{ 800, 1, 0, 800 },
	{ 0, 1, 2, 0 }, /* no backoff configured */
	{ -5, 3, -1, 0 },
};

static void
test_codes(void)
{
	struct llm_config  cfg;
	struct llm_result  r;
	struct llm_message m = { "user", "hi" };
	size_t		   i;

	for (i = 0; i < nitems(statuses); i++)
		tap_is_str(llm_status_error(statuses[i].status),
		    statuses[i].error, "status %ld", statuses[i].status);
	memset(&cfg, 0, sizeof(cfg));
	for (i = 0; i < nitems(backoffs); i++) {
		cfg.backoff_ms = backoffs[i].backoff;
		tap_is_int(llm_backoff_ms(&cfg, backoffs[i].attempt,
			       backoffs[i].retry_after),
		    backoffs[i].want,
		    "backoff %ld, attempt %d, Retry-After %ld",
		    backoffs[i].backoff, backoffs[i].attempt,
		    backoffs[i].retry_after);
	}

	/* Refused before any connection is made. */
	cfg.model = "m";
	cfg.base_url = "ftp://127.0.0.1/v1";
	tap_is_int(llm_chat(&cfg, &m, 1, NULL, NULL, &r), -1,
	    "llm_chat: an ftp base_url refused");
	tap_ok(r.error != NULL && strcmp(r.error, "internal") == 0 &&
		r.attempts == 0 && r.content == NULL && r.prompt_tokens == -1,
	    "... internal, no attempt, result filled");
	llm_result_free(&r);
	cfg.base_url = "http://127.0.0.1:1/v1";
	cfg.api_key = "sk-abc\r\nX-Injected: 1";
	tap_is_int(llm_chat(&cfg, &m, 1, NULL, NULL, &r), -1,
	    "llm_chat: a key with CR LF refused");
	tap_ok(r.error != NULL && strcmp(r.error, "internal") == 0 &&
		r.attempts == 0,
	    "... before any attempt");
	llm_result_free(&r);
}

int
main(void)
{
	test_streams();
	test_caps();
	test_abort();
	test_replies();
	test_request();
	test_codes();
	return tap_done();
}
