/*
 * llm.c: the OpenAI-compatible Chat Completions client. One CURL handle
 * per exchange (struct llm_call), reused across its attempts, driven by
 * the caller (the answerer's multi handle, or llm_chat()); the reply is either an
 * event stream fed to the SSE parser or a JSON body collected whole, and
 * both are capped (llm.h).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <arpa/inet.h>

#include <curl/curl.h>
#include <jansson.h>

#include "crypto.h"
#include "llm.h"
#include "netguard.h"
#include "log.h"

/*
 * A growing buffer with a hard cap, always NUL-terminated once it holds
 * anything. 'p' is owned; free with free().
 */
struct sbuf {
	char  *p;
	size_t len, size;
};

/*
 * Appends 'len' bytes of 'data' to 'b' if the result stays within 'max'
 * bytes. Returns NULL, or "too_large" or "internal" (no memory).
 */
static const char *
sbuf_add(struct sbuf *b, const char *data, size_t len, size_t max)
{
	size_t size;
	char  *np;

	if (len > max || b->len > max - len)
		return "too_large";
	if (b->len + len + 1 > b->size) {
		size = b->size != 0 ? b->size : 256;
		while (size < b->len + len + 1)
			size *= 2;
		if (size > max + 1)
			size = max + 1;
		if ((np = realloc(b->p, size)) == NULL)
			return "internal";
		b->p = np;
		b->size = size;
	}
	if (len > 0)
		memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = '\0';
	return NULL;
}

/* Returns a new NUL-terminated copy of 'len' bytes at 's', or NULL. */
static char *
dup_bytes(const char *s, size_t len)
{
	char *d;

	if ((d = malloc(len + 1)) == NULL)
		return NULL;
	if (len > 0)
		memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

/* A non-negative JSON integer that fits a long, or -1. */
static long
count_value(const json_t *v)
{
	json_int_t i;

	if (!json_is_integer(v))
		return -1;
	i = json_integer_value(v);
	return i >= 0 && (json_int_t)(long)i == i ? (long)i : -1;
}

/* Records the counts of a "usage" object, if 'u' is one. */
static void
read_usage(const json_t *u, long *prompt, long *completion)
{
	long v;

	if (!json_is_object(u))
		return;
	if ((v = count_value(json_object_get(u, "prompt_tokens"))) >= 0)
		*prompt = v;
	if ((v = count_value(json_object_get(u, "completion_tokens"))) >= 0)
		*completion = v;
}

/* Copies a string finish_reason of 'choice' into 'out'; null is skipped. */
static void
read_finish(const json_t *choice, char out[LLM_FINISH_LEN])
{
	const json_t *f = json_object_get(choice, "finish_reason");

	if (json_is_string(f))
		(void)snprintf(out, LLM_FINISH_LEN, "%s", json_string_value(f));
}

/* 1 if 'o' carries an error object (or any non-null "error"). */
static int
has_error(const json_t *o)
{
	const json_t *e = json_object_get(o, "error");

	return e != NULL && !json_is_null(e);
}

/*
 * The SSE parser.
 */
struct llm_sse {
	llm_delta_fn on_delta; /* may be NULL */
	void	    *arg;
	struct sbuf  line; /* the line being read, without its end */
	struct sbuf  data; /* the data of the event being read */
	struct sbuf  content; /* all content so far */
	int	     have_data; /* the event has a data field (maybe empty) */
	int	     skip_lf; /* the last line ended in CR: skip one LF */
	int	     done; /* "[DONE]" seen */
	const char  *error;
	size_t	     delivered;
	long	     prompt_tokens, completion_tokens;
	char	     finish[LLM_FINISH_LEN];
};

struct llm_sse *
llm_sse_new(llm_delta_fn on_delta, void *arg)
{
	struct llm_sse *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->on_delta = on_delta;
	p->arg = arg;
	p->prompt_tokens = p->completion_tokens = -1;
	return p;
}

void
llm_sse_free(struct llm_sse *p)
{
	if (p == NULL)
		return;
	free(p->line.p);
	free(p->data.p);
	free(p->content.p);
	free(p);
}

/* One chat.completion.chunk: 'len' bytes of JSON at 's'. */
static void
sse_chunk(struct llm_sse *p, const char *s, size_t len)
{
	json_t	     *j;
	const json_t *choices, *c0, *text;
	const char   *e;
	size_t	      n;

	if ((j = json_loadb(s, len, 0, NULL)) == NULL || !json_is_object(j)) {
		p->error = "bad_response";
		goto out;
	}
	if (has_error(j)) {
		p->error = "provider_error";
		goto out;
	}
	read_usage(json_object_get(j, "usage"), &p->prompt_tokens,
	    &p->completion_tokens);
	choices = json_object_get(j, "choices");
	if (!json_is_array(choices) || json_array_size(choices) == 0)
		goto out; /* the usage chunk, or a keep-alive */
	if (!json_is_object(c0 = json_array_get(choices, 0))) {
		p->error = "bad_response";
		goto out;
	}
	read_finish(c0, p->finish);
	text = json_object_get(json_object_get(c0, "delta"), "content");
	if (!json_is_string(text) || (n = json_string_length(text)) == 0)
		goto out;
	if ((e = sbuf_add(&p->content, json_string_value(text), n,
		 LLM_MAX_CONTENT)) != NULL) {
		p->error = e;
		goto out;
	}
	if (p->on_delta != NULL) {
		if (p->on_delta(p->arg, json_string_value(text), n) != 0) {
			p->error = "aborted";
			goto out;
		}
		p->delivered += n;
	}
out:
	json_decref(j);
}

/* The blank line: handles the event's data, if any, and forgets it. */
static void
sse_dispatch(struct llm_sse *p)
{
	if (!p->have_data)
		return;
	if (p->data.len == 6 && memcmp(p->data.p, "[DONE]", 6) == 0)
		p->done = 1;
	else
		sse_chunk(p, p->data.p != NULL ? p->data.p : "", p->data.len);
	p->have_data = 0;
	p->data.len = 0;
}

/* One complete line, in p->line. */
static void
sse_line(struct llm_sse *p)
{
	const char *l = p->line.p, *colon, *v;
	size_t	    n = p->line.len, vlen;

	p->line.len = 0;
	if (n == 0) {
		sse_dispatch(p);
		return;
	}
	if (l[0] == ':')
		return; /* a comment */
	if ((colon = memchr(l, ':', n)) == NULL) {
		v = l + n; /* a field name alone: an empty value */
		colon = v;
	} else
		v = colon + 1;
	vlen = (size_t)(l + n - v);
	if (vlen > 0 && *v == ' ') {
		v++;
		vlen--;
	}
	if ((size_t)(colon - l) != 4 || memcmp(l, "data", 4) != 0)
		return; /* event:, id:, retry: and the unknown */
	if (p->have_data &&
	    (p->error = sbuf_add(&p->data, "\n", 1, LLM_MAX_LINE)) != NULL)
		return;
	if ((p->error = sbuf_add(&p->data, v, vlen, LLM_MAX_LINE)) != NULL)
		return;
	p->have_data = 1;
}

int
llm_sse_feed(struct llm_sse *p, const char *buf, size_t len)
{
	size_t i = 0, start;

	while (i < len && p->error == NULL && !p->done) {
		if (p->skip_lf) {
			p->skip_lf = 0;
			if (buf[i] == '\n') {
				i++;
				continue;
			}
		}
		start = i;
		while (i < len && buf[i] != '\n' && buf[i] != '\r')
			i++;
		/* A partial line waits here, capped, for the next read. */
		if ((p->error = sbuf_add(&p->line, buf + start, i - start,
			 LLM_MAX_LINE)) != NULL)
			break;
		if (i == len)
			break;
		p->skip_lf = buf[i] == '\r';
		i++;
		sse_line(p);
	}
	return p->error == NULL ? 0 : -1;
}

int
llm_sse_finish(struct llm_sse *p)
{
	if (p->error == NULL && !p->done) {
		if (p->line.len > 0)
			sse_line(p);
		if (p->error == NULL)
			sse_dispatch(p);
	}
	if (p->error == NULL && !p->done && p->finish[0] == '\0')
		p->error = "bad_response"; /* cut short */
	return p->error == NULL ? 0 : -1;
}

const char *
llm_sse_error(const struct llm_sse *p)
{
	return p->error;
}

int
llm_sse_done(const struct llm_sse *p)
{
	return p->done;
}

const char *
llm_sse_content(const struct llm_sse *p, size_t *len)
{
	if (len != NULL)
		*len = p->content.len;
	return p->content.p != NULL ? p->content.p : "";
}

size_t
llm_sse_delivered(const struct llm_sse *p)
{
	return p->delivered;
}

long
llm_sse_prompt_tokens(const struct llm_sse *p)
{
	return p->prompt_tokens;
}

long
llm_sse_completion_tokens(const struct llm_sse *p)
{
	return p->completion_tokens;
}

const char *
llm_sse_finish_reason(const struct llm_sse *p)
{
	return p->finish;
}

/*
 * The other pure parts.
 */

/* request_json() with the reason for a NULL: "internal" or "too_large". */
static char *
request_json(const struct llm_config *cfg, const struct llm_message *msgs,
    size_t n, int stream, const char **why)
{
	json_t *o = NULL, *arr, *m, *opts;
	char   *s = NULL;
	size_t	i;

	*why = "internal";
	if (cfg == NULL || cfg->model == NULL || msgs == NULL || n == 0)
		goto out;
	if ((o = json_object()) == NULL ||
	    json_object_set_new(o, "model", json_string(cfg->model)) != 0 ||
	    json_object_set_new(o, "messages", arr = json_array()) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		if (msgs[i].role == NULL || msgs[i].content == NULL)
			goto out;
		/* json_string() refuses invalid UTF-8 with NULL. */
		if (json_array_append_new(arr, m = json_object()) != 0 ||
		    json_object_set_new(m, "role", json_string(msgs[i].role)) !=
			0 ||
		    json_object_set_new(
			m, "content", json_string(msgs[i].content)) != 0)
			goto out;
	}
	if (cfg->temperature >= 0 &&
	    json_object_set_new(
		o, "temperature", json_real(cfg->temperature)) != 0)
		goto out;
	if (cfg->max_tokens > 0 &&
	    json_object_set_new(o, "max_tokens",
		json_integer((json_int_t)cfg->max_tokens)) != 0)
		goto out;
	if (json_object_set_new(o, "stream", json_boolean(stream)) != 0)
		goto out;
	if (stream &&
	    (json_object_set_new(o, "stream_options", opts = json_object()) !=
		    0 ||
		json_object_set_new(opts, "include_usage", json_true()) != 0))
		goto out;
	if ((s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6))) == NULL)
		goto out;
	if (strlen(s) > LLM_MAX_REQUEST) {
		*why = "too_large";
		free(s);
		s = NULL;
		goto out;
	}
	*why = NULL;
out:
	json_decref(o);
	return s;
}

char *
llm_request_json(const struct llm_config *cfg, const struct llm_message *msgs,
    size_t n, int stream)
{
	const char *why;

	return request_json(cfg, msgs, n, stream, &why);
}

int
llm_parse_reply(const char *body, size_t len, struct llm_result *out)
{
	json_t	     *j = NULL;
	const json_t *choices, *c0, *msg, *text;
	const char   *s = "";
	size_t	      n = 0;

	free(out->content);
	out->content = NULL;
	out->prompt_tokens = out->completion_tokens = -1;
	out->finish_reason[0] = '\0';
	out->error = "bad_response";
	if (len > LLM_MAX_BODY) {
		out->error = "too_large";
		goto out;
	}
	if ((j = json_loadb(body, len, 0, NULL)) == NULL || !json_is_object(j))
		goto out;
	if (has_error(j)) {
		out->error = "provider_error";
		goto out;
	}
	choices = json_object_get(j, "choices");
	if (!json_is_array(choices) || json_array_size(choices) == 0 ||
	    !json_is_object(c0 = json_array_get(choices, 0)) ||
	    !json_is_object(msg = json_object_get(c0, "message")))
		goto out;
	/* A null content (nothing generated) reads as "". */
	text = json_object_get(msg, "content");
	if (json_is_string(text)) {
		s = json_string_value(text);
		n = json_string_length(text);
	} else if (text != NULL && !json_is_null(text))
		goto out;
	if (n > LLM_MAX_CONTENT) {
		out->error = "too_large";
		goto out;
	}
	if ((out->content = dup_bytes(s, n)) == NULL) {
		out->error = "internal";
		goto out;
	}
	read_finish(c0, out->finish_reason);
	read_usage(json_object_get(j, "usage"), &out->prompt_tokens,
	    &out->completion_tokens);
	out->error = NULL;
out:
	json_decref(j);
	return out->error == NULL ? 0 : -1;
}

const char *
llm_status_error(long status)
{
	if (status == 429)
		return "rate_limited";
	if (status >= 400 && status < 500)
		return "bad_request";
	if (status >= 500 && status < 600)
		return "provider_error";
	return "bad_response";
}

long
llm_backoff_ms(const struct llm_config *cfg, int attempt, long retry_after_s)
{
	long d = cfg->backoff_ms > 0 ? cfg->backoff_ms : 0, ra, most;
	int  i;

	if (d > LLM_BACKOFF_CAP_MS)
		d = LLM_BACKOFF_CAP_MS;
	for (i = 1; i < attempt && d < LLM_BACKOFF_CAP_MS; i++)
		d *= 2;
	if (d > LLM_BACKOFF_CAP_MS)
		d = LLM_BACKOFF_CAP_MS;
	if (retry_after_s > 0) {
		ra = LLM_BACKOFF_CAP_MS;
		if (retry_after_s < LLM_BACKOFF_CAP_MS / 1000)
			ra = retry_after_s * 1000;
		most = d * 4 < LLM_BACKOFF_CAP_MS ? d * 4 : LLM_BACKOFF_CAP_MS;
		if (ra > d)
			d = ra < most ? ra : most;
	}
	return d;
}

/*
 * The exchange.
 */
enum xfer_mode { XFER_UNDECIDED, XFER_SSE, XFER_RAW };

/* One attempt's reply, as the write callback sees it. */
struct xfer {
	CURL	       *c;
	struct llm_sse *sse; /* streaming requests: this attempt's parser */
	struct sbuf	raw; /* otherwise (or an error reply): the body */
	enum xfer_mode	mode;
	size_t		total; /* bytes received, both modes */
	const char     *error; /* why this callback stopped the transfer */
	struct netguard guard; /* public_only: where it may connect */
};

static size_t
xfer_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t	     len = size * nmemb;
	long	     status = 0;
	char	    *ct = NULL;

	if (x->mode == XFER_UNDECIDED) {
		/*
		 * Only a 2xx event stream goes to the parser; an error reply
		 * or a provider that answered a stream request with plain
		 * JSON is collected whole.
		 */
		curl_easy_getinfo(x->c, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(x->c, CURLINFO_CONTENT_TYPE, &ct);
		x->mode = XFER_RAW;
		if (x->sse != NULL && status >= 200 && status < 300 &&
		    ct != NULL && strncasecmp(ct, "text/event-stream", 17) == 0)
			x->mode = XFER_SSE;
	}
	if (len > LLM_MAX_BODY - x->total) {
		x->error = "too_large";
		return 0;
	}
	x->total += len;
	if (x->mode == XFER_SSE) {
		if (llm_sse_feed(x->sse, ptr, len) != 0) {
			x->error = llm_sse_error(x->sse);
			return 0;
		}
	} else if ((x->error = sbuf_add(&x->raw, ptr, len, LLM_MAX_BODY)) !=
	    NULL)
		return 0;
	return len;
}

/* A libcurl failure as one of our codes. */
static const char *
curl_failure(CURL *c, CURLcode cc)
{
	curl_off_t pre = 0;

	switch (cc) {
	case CURLE_OPERATION_TIMEDOUT:
		/* Before the request went out, it is a connect failure. */
		curl_easy_getinfo(c, CURLINFO_PRETRANSFER_TIME_T, &pre);
		return pre > 0 ? "timeout" : "connect";
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE: return "connect";
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_OUT_OF_MEMORY:
	case CURLE_BAD_FUNCTION_ARGUMENT: return "internal";
	/* The SSRF guard (x->guard.refused is checked first). */
	case CURLE_ABORTED_BY_CALLBACK: return "blocked_address";
	default:
		/* Closed early, reset, a broken chunk: the provider's side. */
		return "provider_error";
	}
}

/* Retry-After as whole seconds, or -1 (absent, an HTTP-date, junk). */
static long
retry_after(CURL *c)
{
	struct curl_header *h = NULL;
	char		   *end;
	long		    v;

	if (curl_easy_header(c, "Retry-After", 0, CURLH_HEADER, -1, &h) !=
		CURLHE_OK ||
	    h == NULL || h->value == NULL || h->value[0] < '0' ||
	    h->value[0] > '9')
		return -1;
	errno = 0;
	v = strtol(h->value, &end, 10);
	if (errno != 0 || v < 0 || (*end != '\0' && *end != ' '))
		return -1;
	return v;
}

/* Writes base_url + "/chat/completions" to 'url'. Returns 0 or -1. */
static int
make_url(const char *base, char *url, size_t size)
{
	size_t len, i;
	int    w;

	if (base == NULL || (len = strnlen(base, LLM_MAX_URL)) >= LLM_MAX_URL)
		return -1;
	if (strncasecmp(base, "http://", 7) != 0 &&
	    strncasecmp(base, "https://", 8) != 0)
		return -1;
	for (i = 0; i < len; i++)
		if ((unsigned char)base[i] <= 0x20 ||
		    (unsigned char)base[i] >= 0x7f)
			return -1;
	while (len > 0 && base[len - 1] == '/')
		len--;
	w = snprintf(url, size, "%.*s/chat/completions", (int)len, base);
	return w < 0 || (size_t)w >= size ? -1 : 0;
}

/* 1 if 'key' fits a header value: visible ASCII, no spaces, capped. */
static int
key_ok(const char *key)
{
	size_t i, len = strnlen(key, LLM_MAX_KEY + 1);

	if (len > LLM_MAX_KEY)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)key[i] <= 0x20 ||
		    (unsigned char)key[i] >= 0x7f)
			return 0;
	return 1;
}

/* Sleeps 'ms' milliseconds, through signals. */
static void
sleep_ms(long ms)
{
	struct timespec ts, rem;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &rem) != 0 && errno == EINTR)
		ts = rem;
}

static long
elapsed_ms(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(now.tv_sec - t0->tv_sec) * 1000 +
	    (now.tv_nsec - t0->tv_nsec) / 1000000;
}

static int
retryable(const char *err)
{
	return strcmp(err, "connect") == 0 ||
	    strcmp(err, "rate_limited") == 0 ||
	    strcmp(err, "provider_error") == 0;
}

/* Frees 'l' after erasing every header it holds (one is the API key). */
static void
headers_free(struct curl_slist *l)
{
	struct curl_slist *h;

	for (h = l; h != NULL; h = h->next)
		if (h->data != NULL)
			crypto_wipe(h->data, strlen(h->data));
	curl_slist_free_all(l);
}

/* Appends 'line' to '*l'. Returns 0 or -1; '*l' is kept on failure. */
static int
header_add(struct curl_slist **l, const char *line)
{
	struct curl_slist *n;

	if ((n = curl_slist_append(*l, line)) == NULL)
		return -1;
	*l = n;
	return 0;
}

/*
 * One exchange: the request, built once, and its attempts. The caller
 * performs each attempt's transfer (curl_easy_perform(), or a multi
 * handle's event loop) and reports how it ended.
 */
struct llm_call {
	struct xfer	   x;
	struct llm_config  cfg; /* borrowed strings: the caller's */
	struct curl_slist *hdrs;
	char		  *body;
	llm_delta_fn	   on_delta;
	void		  *arg;
	struct llm_result  out;
	struct timespec	   t0;
	char		   url[LLM_MAX_URL + 32];
	char		   cerr[CURL_ERROR_SIZE];
	const char	  *err;
	CURLcode	   cc;
	int		   retries;
};

struct llm_call *
llm_call_new(const struct llm_config *cfg, const struct llm_message *msgs,
    size_t n, llm_delta_fn on_delta, void *arg, const char **err)
{
	struct llm_call *c;
	char		 auth[LLM_MAX_KEY + 32];
	long		 conn_ms, total_ms;
	int		 w;

	*err = "internal";
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->out.prompt_tokens = c->out.completion_tokens = -1;
	if (cfg == NULL || make_url(cfg->base_url, c->url, sizeof(c->url)) != 0)
		goto fail;
	c->cfg = *cfg;
	c->on_delta = on_delta;
	c->arg = arg;
	if ((c->body = request_json(cfg, msgs, n, on_delta != NULL, err)) ==
	    NULL)
		goto fail;
	*err = "internal";
	if (header_add(&c->hdrs, "Content-Type: application/json") != 0 ||
	    header_add(&c->hdrs,
		on_delta != NULL ? "Accept: text/event-stream"
				 : "Accept: application/json") != 0 ||
	    header_add(&c->hdrs, "Expect:") != 0) /* no 100-continue wait */
		goto fail;
	if (cfg->api_key != NULL && cfg->api_key[0] != '\0') {
		if (!key_ok(cfg->api_key))
			goto fail;
		w = snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
		    cfg->api_key);
		/* curl_slist_append() copies; headers_free() wipes the copy. */
		if (w < 0 || (size_t)w >= sizeof(auth) ||
		    header_add(&c->hdrs, auth) != 0) {
			crypto_wipe(auth, sizeof(auth));
			goto fail;
		}
		crypto_wipe(auth, sizeof(auth));
	}
	if ((c->x.c = curl_easy_init()) == NULL)
		goto fail;
	conn_ms = cfg->connect_timeout_ms;
	if (conn_ms <= 0)
		conn_ms = LLM_DEFAULT_CONNECT_MS;
	total_ms = cfg->timeout_ms;
	if (total_ms <= 0)
		total_ms = LLM_DEFAULT_TIMEOUT_MS;
	c->retries = cfg->max_retries;
	if (c->retries < 0)
		c->retries = 0;
	else if (c->retries > LLM_MAX_RETRIES)
		c->retries = LLM_MAX_RETRIES;
	curl_easy_setopt(c->x.c, CURLOPT_URL, c->url);
	curl_easy_setopt(c->x.c, CURLOPT_PROTOCOLS_STR,
	    cfg->public_only ? "https" : "http,https");
	if (cfg->public_only)
		netguard_apply(c->x.c, &c->x.guard);
	curl_easy_setopt(c->x.c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c->x.c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c->x.c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->x.c, CURLOPT_CONNECTTIMEOUT_MS, conn_ms);
	curl_easy_setopt(c->x.c, CURLOPT_TIMEOUT_MS, total_ms);
	curl_easy_setopt(c->x.c, CURLOPT_USERAGENT, "parley");
	curl_easy_setopt(c->x.c, CURLOPT_HTTPHEADER, c->hdrs);
	curl_easy_setopt(c->x.c, CURLOPT_POSTFIELDS, c->body);
	curl_easy_setopt(
	    c->x.c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(c->body));
	curl_easy_setopt(c->x.c, CURLOPT_WRITEFUNCTION, xfer_write);
	curl_easy_setopt(c->x.c, CURLOPT_WRITEDATA, &c->x);
	curl_easy_setopt(c->x.c, CURLOPT_PRIVATE, c);
	/*
	 * The message may name the URL, and a URL may hold credentials:
	 * it is never logged (only the number in 'cc') and wiped below.
	 */
	curl_easy_setopt(c->x.c, CURLOPT_ERRORBUFFER, c->cerr);
	clock_gettime(CLOCK_MONOTONIC, &c->t0);
	*err = NULL;
	return c;
fail:
	c->err = *err;
	llm_call_free(c);
	return NULL;
}

CURL *
llm_call_attempt(struct llm_call *c)
{
	struct xfer *x = &c->x;

	x->mode = XFER_UNDECIDED;
	x->total = 0;
	x->error = NULL;
	x->raw.len = 0;
	llm_sse_free(x->sse);
	x->sse = NULL;
	free(c->out.content);
	c->out.content = NULL;
	if (c->on_delta != NULL &&
	    (x->sse = llm_sse_new(c->on_delta, c->arg)) == NULL)
		return NULL;
	c->out.attempts++;
	return x->c;
}

/* How the attempt on c->x ended: NULL or an error code; '*delivered' is
 * the content passed to on_delta, '*ra' the Retry-After seconds or -1. */
static const char *
outcome(struct llm_call *c, size_t *delivered, long *ra)
{
	struct xfer	  *x = &c->x;
	struct llm_result *out = &c->out;
	const char	  *content;
	size_t		   n;
	long		   status = 0;

	*delivered = 0;
	*ra = -1;
	curl_easy_getinfo(x->c, CURLINFO_RESPONSE_CODE, &status);
	out->http_status = status > 0 && status < 1000 ? (int)status : 0;
	if (x->sse != NULL)
		*delivered = llm_sse_delivered(x->sse);
	if (x->error != NULL)
		return x->error;
	if (c->cc != CURLE_OK)
		return x->guard.refused ? "blocked_address"
					: curl_failure(x->c, c->cc);
	if (status < 200 || status >= 300) {
		*ra = retry_after(x->c);
		return llm_status_error(status);
	}
	if (x->mode == XFER_SSE) {
		if (llm_sse_finish(x->sse) != 0)
			return llm_sse_error(x->sse);
		content = llm_sse_content(x->sse, &n);
		if ((out->content = dup_bytes(content, n)) == NULL)
			return "internal";
		out->prompt_tokens = llm_sse_prompt_tokens(x->sse);
		out->completion_tokens = llm_sse_completion_tokens(x->sse);
		(void)snprintf(out->finish_reason, sizeof(out->finish_reason),
		    "%s", llm_sse_finish_reason(x->sse));
		return NULL;
	}
	if (llm_parse_reply(
		x->raw.p != NULL ? x->raw.p : "", x->raw.len, out) != 0)
		return out->error;
	/* A stream request answered in one piece: deliver it in one. */
	n = strlen(out->content);
	if (c->on_delta != NULL && n > 0) {
		if (c->on_delta(c->arg, out->content, n) != 0)
			return "aborted";
		*delivered = n;
	}
	return NULL;
}

long
llm_call_done(struct llm_call *c, CURLcode cc)
{
	size_t delivered;
	long   ra, wait;

	c->cc = cc;
	c->err = outcome(c, &delivered, &ra);
	if (c->err == NULL || !retryable(c->err) || delivered > 0 ||
	    c->out.attempts > c->retries)
		return 0;
	wait = llm_backoff_ms(&c->cfg, c->out.attempts, ra);
	log_event(LOG_WARN, "llm_retry", LOG_I("status", c->out.http_status),
	    LOG_I("attempts", c->out.attempts), LOG_S("error", c->err),
	    LOG_I("code", (long)cc), LOG_I("wait_ms", wait));
	return wait > 0 ? wait : 1;
}

void
llm_call_abort(struct llm_call *c, const char *why)
{
	c->err = why;
	c->cc = CURLE_OK;
}

void
llm_call_result(struct llm_call *c, struct llm_result *out)
{
	c->out.provider_ms = elapsed_ms(&c->t0);
	log_event(c->err == NULL ? LOG_INFO : LOG_WARN, "llm_chat",
	    LOG_I("status", c->out.http_status),
	    LOG_I("attempts", c->out.attempts), LOG_S("error", c->err),
	    LOG_I("code", (long)c->cc), LOG_I("dur_ms", c->out.provider_ms));
	if (c->err != NULL) {
		free(c->out.content);
		c->out.content = NULL;
	}
	c->out.error = c->err;
	*out = c->out;
	memset(&c->out, 0, sizeof(c->out));
	c->out.prompt_tokens = c->out.completion_tokens = -1;
}

void
llm_call_free(struct llm_call *c)
{
	if (c == NULL)
		return;
	if (c->x.c != NULL)
		curl_easy_cleanup(c->x.c);
	llm_sse_free(c->x.sse);
	free(c->x.raw.p);
	headers_free(c->hdrs);
	crypto_wipe(c->cerr, sizeof(c->cerr));
	free(c->body);
	free(c->out.content);
	free(c);
}

int
llm_chat(const struct llm_config *cfg, const struct llm_message *msgs, size_t n,
    llm_delta_fn on_delta, void *arg, struct llm_result *out)
{
	struct llm_call *c;
	const char	*err;
	CURL		*h;
	long		 wait;

	if ((c = llm_call_new(cfg, msgs, n, on_delta, arg, &err)) == NULL) {
		memset(out, 0, sizeof(*out));
		out->prompt_tokens = out->completion_tokens = -1;
		out->error = err;
		log_event(LOG_WARN, "llm_chat", LOG_S("error", err));
		return -1;
	}
	for (;;) {
		if ((h = llm_call_attempt(c)) == NULL) {
			llm_call_abort(c, "internal");
			break;
		}
		if ((wait = llm_call_done(c, curl_easy_perform(h))) == 0)
			break;
		sleep_ms(wait);
	}
	llm_call_result(c, out);
	llm_call_free(c);
	return out->error == NULL ? 0 : -1;
}

void
llm_result_free(struct llm_result *r)
{
	if (r == NULL)
		return;
	free(r->content);
	memset(r, 0, sizeof(*r));
	r->prompt_tokens = r->completion_tokens = -1;
}
