/*
 * http.h: one FastCGI request as parley sees it, and the only ways to
 * answer it (JSON, problem+json, empty).
 */
#ifndef PARLEY_HTTP_H
#define PARLEY_HTTP_H

#include <stddef.h>
#include <time.h>

#include <fcgiapp.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "limits.h"

struct route;

enum http_method {
	M_GET,
	M_HEAD,
	M_POST,
	M_PUT,
	M_PATCH,
	M_DELETE,
	M_OPTIONS,
	M__MAX
};

#define PRL_MAX_PARAMS 4
#define PRL_MAX_ARGS 8 /* query parameters a route declares */

struct request {
	FCGX_Request	   *fcgi; /* borrowed */
	enum http_method    method;
	char		    path[PRL_MAX_PATH + 1];
	const char	   *query; /* borrowed from the FastCGI env */
	const char	   *content_type; /* borrowed; may be NULL */
	size_t		    content_length;
	const char	   *remote_addr; /* borrowed; never NULL */
	const char	   *user_agent; /* borrowed; may be NULL */
	const char	   *authorization; /* borrowed; may be NULL */
	const char	   *origin; /* borrowed; may be NULL */
	char		    request_id[PRL_REQUEST_ID_LEN + 1];
	char		   *body; /* owned; NUL-terminated */
	size_t		    body_len;
	json_t		   *json; /* owned; parsed body or NULL */
	const char	   *route; /* pattern that matched, for logs */
	const struct route *route_def; /* the route table entry, or NULL */
	const char	   *param_name[PRL_MAX_PARAMS];
	char		   *param[PRL_MAX_PARAMS]; /* point into 'segbuf' */
	size_t		    nparams;
	char		    segbuf[PRL_MAX_PATH + 1];
	/* The declared query parameters present, checked and decoded. */
	const char     *arg_name[PRL_MAX_ARGS];
	char	       *arg[PRL_MAX_ARGS]; /* point into 'argbuf' */
	size_t		nargs;
	char		argbuf[PRL_MAX_QUERY + 1];
	char		headers[512]; /* extra response header lines */
	int		streaming; /* an event stream has begun */
	struct timespec start;
	long		queued_us; /* waited for a worker (nginx's clock); -1 */
	int		status; /* 0 until a response is sent */
};

/*
 * Fills 'req' from the FastCGI parameters. Returns 0, or -1 after having
 * answered 400 (malformed request line, path or header). Never reads the
 * body: http_read_body() does, once the route's limit is known.
 */
int http_request_init(struct request *req, FCGX_Request *fcgi);
/* Frees what the request owns. */
void http_request_end(struct request *req);

/*
 * Reads the body up to 'max' bytes. Returns 0, or -1 after having answered
 * (413 when larger than 'max', 400 when shorter than announced).
 */
int http_read_body(struct request *req, size_t max);

/*
 * Parses the body as JSON into req->json: depth-capped, duplicate keys and
 * trailing data refused, UTF-8 checked. Returns 0, or -1 after having
 * answered 400.
 */
int http_parse_json(struct request *req);
/*
 * Parses an application/x-www-form-urlencoded body into req->json, an
 * object of strings, so a route's spec validates it as it does JSON:
 * percent-decoding checked, UTF-8 checked, no NUL or control character
 * but tab, CR and LF (base64 of XML may be folded), no name twice, at
 * most 32 names. Returns 0, or -1 after having answered 400
 * malformed_form.
 */
int http_parse_form(struct request *req);
/* The parse of http_parse_form(): a new object, or NULL if malformed. */
json_t *http_form_parse(const char *body, size_t len);

const char *http_method_name(enum http_method);
int	    http_method_parse(const char *s, enum http_method *out);
const char *http_status_text(int status);

/* Sends 'body' (borrowed) as application/json with 'status'. */
int http_send_json(struct request *req, int status, const json_t *body);
/* Answers 'len' bytes of 'body' of media type 'ctype'. */
int http_send_body(struct request *req, int status, const char *ctype,
    const char *body, size_t len);
/*
 * Sends {"items": 'items'} with 200. Takes ownership of 'items'. Returns
 * 0, or -1 (nothing sent) when out of memory.
 */
int http_send_items(struct request *req, json_t *items);
/*
 * Adds header 'name': 'value' to whatever response is sent next. Refuses
 * (-1) a value with a control character or one that does not fit.
 */
int http_add_header(struct request *req, const char *name, const char *value);
/*
 * Starts a 200 answer of type 'ctype' whose body follows in pieces
 * (http_stream_write()); 'extra' header lines may be NULL.
 */
int http_stream_begin(
    struct request *req, const char *ctype, const char *extra);
/* Writes 'len' bytes of body. Returns 0, or -1 once the client is gone. */
int http_stream_write(struct request *req, const char *buf, size_t len);
/* Sends a response with no body (204, or a HEAD answer). */
int http_send_empty(struct request *req, int status);
/*
 * Sends RFC 9457 problem+json: type urn:parley:problem:'code', 'title',
 * optional 'detail' (must not hold internals), 'extra' members (borrowed,
 * may be NULL), and extra header lines 'headers' ("Name: value\r\n"…, may
 * be NULL).
 */
int http_send_problem(struct request *req, int status, const char *code,
    const char *title, const char *detail, json_t *extra, const char *headers);

/*
 * What every helper returns once it has answered the request itself (a
 * 429, a 403, a 422, a replay), whatever else it returns: its caller
 * returns 0 at once. -1 keeps its meaning everywhere: failed without
 * answering (the dispatcher answers 500 and rolls back).
 */
enum { HTTP_ANSWERED = -2 };

/* Request header 'name' ("Idempotency-Key"), or NULL. Borrowed. */
const char *http_header(const struct request *req, const char *name);
/* FastCGI parameter 'name' as nginx set it (not a client's header), or NULL. */
const char *http_param(const struct request *req, const char *name);

struct verr;
/* Answers 422 validation_failed naming the field and code in 'err'. */
int validate_problem(struct request *req, const struct verr *err);

/* Answers 400 bad_query naming parameter 'name', with 'title'. */
int http_bad_query(struct request *req, const char *name, const char *title);
/* Answers 404 not_found with 'title' ("No such conversation"). */
int http_not_found(struct request *req, const char *title);
/*
 * Finds query parameter 'name' and writes its percent-decoded value into
 * 'out' (at most 'outlen' - 1 bytes). Returns 1 if present, 0 if absent,
 * -1 if malformed or too long (bad escape, NUL, control byte).
 */
int http_query_get(
    const struct request *req, const char *name, char *out, size_t outlen);

/* Returns 1 if 's' is exactly 32 lowercase hexadecimal characters. */
int http_request_id_valid(const char *s);
/* Checks a raw path: starts with '/', bounded, only unreserved/sub-delims. */
int http_path_valid(const char *s, size_t len);
/*
 * Returns 0 if 'body' (length 'len') nests arrays and objects no deeper
 * than 'max'; -1 otherwise. Strings are skipped correctly.
 */
int http_json_depth_ok(const char *body, size_t len, int max);

#endif
