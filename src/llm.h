/*
 * llm.h: one client for the OpenAI-compatible Chat Completions API
 * (POST {base_url}/chat/completions), streaming and not, over libcurl.
 * OpenAI, Ollama and the llama.cpp server speak the same wire format.
 *
 * Nothing here logs the API key, the prompt or the reply: message text is
 * personal data. llm_chat() logs one line per exchange with the HTTP
 * status, the number of attempts, the error code and the duration.
 */
#ifndef PARLEY_LLM_H
#define PARLEY_LLM_H

#include <stddef.h>

#include <curl/curl.h>

/* Caps on what a provider may send us, and on what we send. */
#define LLM_MAX_CONTENT (64 * 1024) /* reply text, bytes */
#define LLM_MAX_BODY (1024 * 1024) /* raw response bytes, either mode */
#define LLM_MAX_LINE (128 * 1024) /* one SSE line or one event's data */
#define LLM_MAX_REQUEST (1024 * 1024) /* the request JSON we build */
#define LLM_MAX_URL 2048 /* base_url */
#define LLM_MAX_KEY 1024 /* api_key */
#define LLM_BACKOFF_CAP_MS 5000 /* no single backoff sleep is longer */
#define LLM_MAX_RETRIES 5 /* max_retries above this counts as this */
#define LLM_DEFAULT_CONNECT_MS 5000L /* connect_timeout_ms <= 0 */
#define LLM_DEFAULT_TIMEOUT_MS 60000L /* timeout_ms <= 0 */
#define LLM_FINISH_LEN 24

struct llm_config {
	const char *base_url; /* without trailing "/chat/completions" */
	const char *api_key; /* may be NULL or "": no Authorization header */
	const char *model;
	double	    temperature; /* negative: not sent (provider default) */
	int	    max_tokens; /* 0 or negative: not sent */
	long	    connect_timeout_ms; /* <= 0: LLM_DEFAULT_CONNECT_MS */
	long	    timeout_ms; /* whole exchange, per attempt; <= 0: default */
	int	    max_retries; /* extra attempts, see llm_chat(); capped */
	long	    backoff_ms; /* first backoff; doubles per retry */
	int	    public_only; /* a tenant's server: https to public
				    addresses only ("blocked_address") */
};

struct llm_message {
	const char *role; /* "system", "user", "assistant" */
	const char *content;
};

/*
 * Called for each piece of streamed content ('len' > 0; 'text' is not
 * NUL-terminated and is borrowed for the call only). Return 0 to go on,
 * -1 to abort the exchange (llm_chat() then fails with "aborted").
 */
typedef int (*llm_delta_fn)(void *arg, const char *text, size_t len);

struct llm_result {
	char *content; /* owned: the whole reply (NUL-terminated), or NULL */
	long  prompt_tokens, completion_tokens; /* -1: provider sent none */
	int   http_status; /* last HTTP status, 0 if none */
	/*
	 * NULL on success, else a stable code (static storage):
	 * "timeout", "connect", "rate_limited", "provider_error" (5xx, an
	 * error object, a broken stream), "bad_request" (4xx other than
	 * 429), "bad_response" (unparsable, truncated), "too_large",
	 * "aborted" (on_delta said stop), "internal" (bad arguments,
	 * out of memory).
	 */
	const char *error;
	long	    provider_ms; /* wall time of all attempts and backoff */
	int	    attempts;
	char finish_reason[LLM_FINISH_LEN]; /* "stop", "length"… or "" */
};

/*
 * Sends 'n' messages 'msgs' (borrowed) to the provider described by 'cfg'
 * (borrowed). With 'on_delta' NULL the request is non-streaming; else it
 * streams and 'on_delta' receives each piece of content as it arrives,
 * with 'arg'.
 *
 * A failed attempt is retried, up to cfg->max_retries times, when it
 * ended in "connect", "rate_limited" or "provider_error" and nothing was
 * delivered to 'on_delta' yet. "timeout" is not retried: the attempt
 * already used its whole budget. Between attempts it sleeps
 * llm_backoff_ms().
 *
 * Returns 0 on success, -1 with out->error set. Always fills 'out'
 * (out->content is set on success only); caller frees with
 * llm_result_free(). Needs curl_global_init() done by main().
 */
int llm_chat(const struct llm_config *cfg, const struct llm_message *msgs,
    size_t n, llm_delta_fn on_delta, void *arg, struct llm_result *out);
/*
 * The same exchange, driven by the caller: src/answer.c runs hundreds at
 * once on one libcurl multi handle. llm_call_new() builds the request
 * ('cfg' and 'msgs' are copied into the request; 'cfg->api_key' is
 * borrowed until llm_call_free()); NULL with '*err' set ("internal",
 * "too_large") when it cannot be made. Then, for each attempt:
 * llm_call_attempt() returns the easy handle to perform (NULL: out of
 * memory), and llm_call_done() takes the transfer's CURLcode and returns
 * 0 when the exchange is over, or the milliseconds to wait before the
 * next attempt (same retry rules as llm_chat()). llm_call_abort() ends it
 * early with error 'why' (static storage). llm_call_result() moves the
 * outcome into 'out' (free with llm_result_free()) and logs the exchange.
 * The easy handle's CURLOPT_PRIVATE is the call.
 */
struct llm_call;
struct llm_call *llm_call_new(const struct llm_config *cfg,
    const struct llm_message *msgs, size_t n, llm_delta_fn on_delta, void *arg,
    const char **err);
CURL		*llm_call_attempt(struct llm_call *c);
long		 llm_call_done(struct llm_call *c, CURLcode cc);
void		 llm_call_abort(struct llm_call *c, const char *why);
void		 llm_call_result(struct llm_call *c, struct llm_result *out);
void		 llm_call_free(struct llm_call *c);

/* Frees what 'r' owns and resets it; 'r' itself is the caller's. */
void llm_result_free(struct llm_result *r);

/*
 * The pure parts, exposed for t/unit/test-llm.c.
 */

/*
 * Returns the request body for 'msgs' as a new string; caller frees with
 * free(). 'stream' adds "stream_options":{"include_usage":true}. NULL on
 * bad arguments (NULL role or content, invalid UTF-8), no memory, or a
 * body over LLM_MAX_REQUEST.
 */
char *llm_request_json(const struct llm_config *cfg,
    const struct llm_message *msgs, size_t n, int stream);

/*
 * Parses a non-streaming reply 'body' ('len' bytes) into 'out' (content,
 * usage, finish_reason; out->content is a new string the caller frees
 * through llm_result_free()). Returns 0, or -1 with out->error set to
 * "provider_error" (an error object), "bad_response" or "too_large".
 */
int llm_parse_reply(const char *body, size_t len, struct llm_result *out);

/*
 * Maps an HTTP status of 300 and above to an error code: 429
 * "rate_limited", other 4xx "bad_request", 5xx "provider_error",
 * anything else "bad_response".
 */
const char *llm_status_error(long status);

/*
 * Milliseconds to sleep before attempt 'attempt' + 1 (the first retry
 * follows attempt 1): cfg->backoff_ms doubled per retry, capped at
 * LLM_BACKOFF_CAP_MS. A 'retry_after_s' >= 0 (the provider's Retry-After
 * seconds) lengthens the sleep, up to 4 times the computed backoff and
 * never past LLM_BACKOFF_CAP_MS; -1 means none was sent.
 */
long llm_backoff_ms(
    const struct llm_config *cfg, int attempt, long retry_after_s);

/*
 * The streaming parser: Server-Sent Events carrying chat.completion.chunk
 * objects. Feed it bytes as they arrive, split anywhere (a line, or a
 * UTF-8 character, cut across two reads is buffered until its end). Lines
 * end in LF, CRLF or CR; ':' lines are comments; fields other than
 * "data" are ignored; an event's data lines are joined with LF and
 * handled at the blank line that ends the event. "[DONE]" ends the
 * stream: later bytes are ignored. In each chunk, choices[0].delta.content
 * (absent or null allowed) is appended and passed to 'on_delta',
 * choices[0].finish_reason and "usage" are recorded; an "error" member
 * fails the stream with "provider_error".
 */
struct llm_sse;

/*
 * Returns a new parser; caller frees with llm_sse_free(). 'on_delta' may
 * be NULL (content is only accumulated). NULL if out of memory.
 */
struct llm_sse *llm_sse_new(llm_delta_fn on_delta, void *arg);
/*
 * Feeds 'len' bytes of 'buf'. Returns 0, or -1 once the stream has
 * failed (see llm_sse_error()); a failed parser refuses further input.
 */
int llm_sse_feed(struct llm_sse *p, const char *buf, size_t len);
/*
 * Ends the input: handles an event left without its blank line, then
 * returns 0 if the stream is complete ("[DONE]" seen, or a finish_reason
 * received), else -1 with llm_sse_error() "bad_response" if it was not.
 */
int llm_sse_finish(struct llm_sse *p);
/* NULL, or the stable error code (as in struct llm_result). */
const char *llm_sse_error(const struct llm_sse *p);
/* 1 once "data: [DONE]" was seen. */
int llm_sse_done(const struct llm_sse *p);
/*
 * The content so far, NUL-terminated, its length in '*len' if 'len' is not
 * NULL. Borrowed; valid until the next feed or llm_sse_free().
 */
const char *llm_sse_content(const struct llm_sse *p, size_t *len);
/* Bytes of content passed to 'on_delta' so far. */
size_t llm_sse_delivered(const struct llm_sse *p);
/* Usage from the stream, -1 for a count not sent. */
long llm_sse_prompt_tokens(const struct llm_sse *p);
long llm_sse_completion_tokens(const struct llm_sse *p);
/* The last finish_reason seen, or "". Borrowed, like the content. */
const char *llm_sse_finish_reason(const struct llm_sse *p);
void	    llm_sse_free(struct llm_sse *p);

#endif
