/*
 * http.c: reading FastCGI requests within bounds and writing responses.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/rand.h>

#include "db.h"
#include "http.h"
#include "validate.h"
#include "util.h"
#include "log.h"

static const char *const method_names[M__MAX] = {
	"GET",
	"HEAD",
	"POST",
	"PUT",
	"PATCH",
	"DELETE",
	"OPTIONS",
};

const char *
http_method_name(enum http_method m)
{
	return m < M__MAX ? method_names[m] : "?";
}

int
http_method_parse(const char *s, enum http_method *out)
{
	int i;

	for (i = 0; i < M__MAX; i++)
		if (strcmp(s, method_names[i]) == 0) {
			*out = (enum http_method)i;
			return 0;
		}
	return -1;
}

const char *
http_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 402: return "Payment Required";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}

int
http_request_id_valid(const char *s)
{
	size_t i;

	for (i = 0; i < PRL_REQUEST_ID_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
			(s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[i] == '\0';
}

int
http_path_valid(const char *s, size_t len)
{
	static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRS"
				 "TUVWXYZ0123456789-._~!$&'()*+,;=:@%/";
	size_t		  i;

	if (len == 0 || len > PRL_MAX_PATH || s[0] != '/')
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] == '\0' || strchr(ok, s[i]) == NULL)
			return 0;
		/*
		 * Only normalised paths: nginx picks its location from the
		 * normalised URI, so parleyd must route the same path. No
		 * empty, "." or ".." segment; no encoded '.', '/' or '\'.
		 */
		if (s[i] == '/' && i + 1 < len && s[i + 1] == '/')
			return 0;
		if (s[i] == '/' && i + 1 < len && s[i + 1] == '.' &&
		    (i + 2 == len || s[i + 2] == '/' ||
			(s[i + 2] == '.' && (i + 3 == len || s[i + 3] == '/'))))
			return 0;
		if (s[i] == '%' && i + 2 < len &&
		    ((s[i + 1] == '2' &&
			 (s[i + 2] == 'e' || s[i + 2] == 'E' ||
			     s[i + 2] == 'f' || s[i + 2] == 'F')) ||
			(s[i + 1] == '5' &&
			    (s[i + 2] == 'c' || s[i + 2] == 'C'))))
			return 0;
	}
	return 1;
}

int
http_json_depth_ok(const char *b, size_t len, int max)
{
	size_t i;
	int    depth = 0, in_str = 0;

	for (i = 0; i < len; i++) {
		char c = b[i];

		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
			continue;
		}
		if (c == '"')
			in_str = 1;
		else if (c == '[' || c == '{') {
			if (++depth > max)
				return -1;
		} else if (c == ']' || c == '}')
			depth--;
	}
	return 0;
}

int
http_query_get(
    const struct request *req, const char *name, char *out, size_t outlen)
{
	const char *q = req->query;
	size_t	    nlen = strlen(name);

	while (*q != '\0') {
		const char *end = q + strcspn(q, "&");

		if ((size_t)(end - q) > nlen && strncmp(q, name, nlen) == 0 &&
		    q[nlen] == '=') {
			const char *v = q + nlen + 1;
			size_t	    o = 0;

			while (v < end) {
				int c = (unsigned char)*v;

				if (c == '%') {
					int hi, lo;

					if (end - v < 3 ||
					    (hi = hex_digit(v[1])) < 0 ||
					    (lo = hex_digit(v[2])) < 0)
						return -1;
					c = hi * 16 + lo;
					v += 3;
				} else {
					if (c == '+')
						c = ' ';
					v++;
				}
				if (c < 0x20 || c == 0x7f || o + 1 >= outlen)
					return -1;
				out[o++] = (char)c;
			}
			out[o] = '\0';
			return 1;
		}
		q = *end == '&' ? end + 1 : end;
	}
	return 0;
}

/* Returns a FastCGI parameter if present and shorter than 'max'. */
static const char *
param(struct request *req, const char *name, size_t max)
{
	const char *v = FCGX_GetParam(name, req->fcgi->envp);

	if (v == NULL || strnlen(v, max + 1) > max)
		return NULL;
	return v;
}

static void
new_request_id(char *out)
{
	unsigned char raw[PRL_REQUEST_ID_LEN / 2];
	size_t	      i;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		memset(raw, 0, sizeof(raw));
	for (i = 0; i < sizeof(raw); i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
}

int
http_request_init(struct request *req, FCGX_Request *fcgi)
{
	const char *m, *uri, *id, *cl, *q;
	size_t	    plen;

	memset(req, 0, sizeof(*req));
	req->fcgi = fcgi;
	clock_gettime(CLOCK_MONOTONIC, &req->start);
	req->queued_us = -1;
	req->route = "(none)";

	/* nginx's $request_id, so its access log and ours share one id. */
	id = param(req, "REQUEST_ID", PRL_REQUEST_ID_LEN);
	if (id != NULL && http_request_id_valid(id))
		memcpy(req->request_id, id, PRL_REQUEST_ID_LEN + 1);
	else
		new_request_id(req->request_id);
	log_set_request_id(req->request_id);

	req->remote_addr = param(req, "REMOTE_ADDR", 64);
	if (req->remote_addr == NULL)
		req->remote_addr = "";
	req->user_agent = param(req, "HTTP_USER_AGENT", 512);
	req->authorization = param(req, "HTTP_AUTHORIZATION", PRL_MAX_HEADER);
	req->origin = param(req, "HTTP_ORIGIN", 512);
	req->content_type = param(req, "CONTENT_TYPE", 256);

	m = param(req, "REQUEST_METHOD", 16);
	uri = param(req, "REQUEST_URI", PRL_MAX_PATH + PRL_MAX_QUERY + 1);
	if (m == NULL || http_method_parse(m, &req->method) == -1) {
		http_send_problem(req, 400, "bad_method",
		    "Unsupported request method", NULL, NULL, NULL);
		return -1;
	}
	if (uri == NULL) {
		http_send_problem(req, 400, "bad_uri",
		    "Request URI too long or missing", NULL, NULL, NULL);
		return -1;
	}
	q = strchr(uri, '?');
	plen = q != NULL ? (size_t)(q - uri) : strlen(uri);
	if (!http_path_valid(uri, plen)) {
		http_send_problem(req, 400, "bad_path",
		    "Malformed request path", NULL, NULL, NULL);
		return -1;
	}
	memcpy(req->path, uri, plen);
	req->path[plen] = '\0';
	req->query = q != NULL ? q + 1 : "";
	if (strlen(req->query) > PRL_MAX_QUERY) {
		http_send_problem(req, 400, "bad_query",
		    "Query string too long", NULL, NULL, NULL);
		return -1;
	}

	cl = FCGX_GetParam("CONTENT_LENGTH", req->fcgi->envp);
	if (cl != NULL && strnlen(cl, 21) > 20) {
		http_send_problem(req, 400, "bad_content_length",
		    "Malformed Content-Length", NULL, NULL, NULL);
		return -1;
	}
	if (cl != NULL && *cl != '\0') {
		char		  *end;
		unsigned long long v;

		errno = 0;
		v = strtoull(cl, &end, 10);
		if (errno != 0 || *end != '\0' || *cl < '0' || *cl > '9') {
			http_send_problem(req, 400, "bad_content_length",
			    "Malformed Content-Length", NULL, NULL, NULL);
			return -1;
		}
		req->content_length =
		    v > PRL_MAX_BODY + 1 ? PRL_MAX_BODY + 1 : (size_t)v;
	}
	return 0;
}

void
http_request_end(struct request *req)
{
	free(req->body);
	req->body = NULL;
	json_decref(req->json);
	req->json = NULL;
	log_set_request_id(NULL);
}

int
http_read_body(struct request *req, size_t max)
{
	size_t got = 0;
	int    n;

	if (req->content_length > max) {
		json_t *x = json_pack("{s:I}", "max_bytes", (json_int_t)max);

		http_send_problem(req, 413, "body_too_large",
		    "Request body too large", NULL, x, NULL);
		json_decref(x);
		return -1;
	}
	if ((req->body = malloc(req->content_length + 1)) == NULL) {
		http_send_problem(req, 503, "overloaded", "Try again later",
		    NULL, NULL, NULL);
		return -1;
	}
	while (got < req->content_length) {
		n = FCGX_GetStr(req->body + got,
		    (int)(req->content_length - got), req->fcgi->in);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	req->body[got] = '\0';
	req->body_len = got;
	if (got != req->content_length) {
		http_send_problem(req, 400, "body_incomplete",
		    "Request body shorter than Content-Length", NULL, NULL,
		    NULL);
		return -1;
	}
	return 0;
}

int
http_parse_json(struct request *req)
{
	json_error_t err;

	if (req->body_len == 0) {
		http_send_problem(req, 400, "body_required",
		    "A JSON body is required", NULL, NULL, NULL);
		return -1;
	}
	if (http_json_depth_ok(req->body, req->body_len, PRL_MAX_JSON_DEPTH) ==
	    -1) {
		http_send_problem(req, 400, "json_too_deep",
		    "JSON nested too deeply", NULL, NULL, NULL);
		return -1;
	}
	req->json = json_loadb(req->body, req->body_len,
	    JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
	if (req->json == NULL) {
		json_t *x = json_pack(
		    "{s:i,s:i}", "line", err.line, "column", err.column);

		http_send_problem(req, 400, "malformed_json",
		    "Request body is not valid JSON", NULL, x, NULL);
		json_decref(x);
		return -1;
	}
	return 0;
}

/* Percent-decodes s[0..n) ('+' a space) into a new string; NULL if it
 * is malformed or holds a character forms have no business sending. */
static char *
form_decode(const char *s, size_t n, size_t *outlen)
{
	char  *out = malloc(n + 1);
	size_t i, o = 0;

	if (out == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		int c = (unsigned char)s[i], hi, lo;

		if (c == '%') {
			if (n - i < 3 || (hi = hex_digit(s[i + 1])) < 0 ||
			    (lo = hex_digit(s[i + 2])) < 0)
				goto bad;
			c = hi * 16 + lo;
			i += 2;
		} else if (c == '+')
			c = ' ';
		if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') ||
		    c == 0x7f)
			goto bad;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	*outlen = o;
	return out;
bad:
	free(out);
	return NULL;
}

json_t *
http_form_parse(const char *body, size_t len)
{
	const char *p = body, *end = body + len;
	json_t	   *o = json_object();
	int	    n = 0;

	while (o != NULL && p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *stop = amp != NULL ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(stop - p));
		char	   *k = NULL, *v = NULL;
		size_t	    kl, vl;
		json_t	   *js;

		if (stop > p) {
			if (eq == NULL || ++n > 32 ||
			    (k = form_decode(p, (size_t)(eq - p), &kl)) ==
				NULL ||
			    (v = form_decode(eq + 1, (size_t)(stop - eq - 1),
				 &vl)) == NULL ||
			    kl == 0 || strlen(k) != kl ||
			    json_object_get(o, k) != NULL ||
			    (js = json_stringn(v, vl)) == NULL ||
			    json_object_set_new(o, k, js) == -1) {
				free(k);
				free(v);
				json_decref(o);
				return NULL;
			}
			free(k);
			free(v);
		}
		p = amp != NULL ? amp + 1 : end;
	}
	return o;
}

int
http_parse_form(struct request *req)
{
	if ((req->json = http_form_parse(req->body, req->body_len)) == NULL) {
		http_send_problem(req, 400, "malformed_form",
		    "Request body is not a valid form", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

/* Writes status line, common headers, 'extra' and the body. */
static int
send_raw(struct request *req, int status, const char *ctype, const char *extra,
    const char *body, size_t len)
{
	FCGX_Stream *out = req->fcgi->out;

	req->status = status;
	FCGX_FPrintF(
	    out, "Status: %d %s\r\n", status, http_status_text(status));
	if (ctype != NULL)
		FCGX_FPrintF(out, "Content-Type: %s\r\n", ctype);
	/* no-store, unless the handler said how long its answer keeps. */
	if (strncasecmp(req->headers, "Cache-Control:", 14) != 0 &&
	    strcasestr(req->headers, "\nCache-Control:") == NULL)
		FCGX_PutS("Cache-Control: no-store\r\n", out);
	FCGX_FPrintF(out, "X-Request-Id: %s\r\n", req->request_id);
	if (req->headers[0] != '\0')
		FCGX_PutS(req->headers, out);
	if (extra != NULL)
		FCGX_PutS(extra, out);
	FCGX_PutS("\r\n", out);
	if (len > 0 && req->method != M_HEAD)
		FCGX_PutStr(body, (int)len, out);
	return 0;
}

int
http_add_header(struct request *req, const char *name, const char *value)
{
	size_t	    used = strlen(req->headers), need;
	const char *c;

	for (c = value; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return -1;
	need = strlen(name) + 2 + strlen(value) + 2;
	if (used + need >= sizeof(req->headers))
		return -1;
	snprintf(req->headers + used, sizeof(req->headers) - used, "%s: %s\r\n",
	    name, value);
	return 0;
}

int
http_stream_begin(struct request *req, const char *ctype, const char *extra)
{
	send_raw(req, 200, ctype, extra, NULL, 0);
	req->streaming = 1;
	return 0;
}

int
http_stream_write(struct request *req, const char *buf, size_t len)
{
	if (req->method == M_HEAD)
		return 0;
	return FCGX_PutStr(buf, (int)len, req->fcgi->out) == (int)len ? 0 : -1;
}

int
http_send_body(struct request *req, int status, const char *ctype,
    const char *body, size_t len)
{
	return send_raw(req, status, ctype, NULL, body, len);
}

int
http_send_json(struct request *req, int status, const json_t *body)
{
	char *s;
	int   rc;

	if ((s = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15))) ==
	    NULL)
		return send_raw(req, 500, NULL, NULL, NULL, 0);
	rc = send_raw(req, status, "application/json", NULL, s, strlen(s));
	free(s);
	return rc;
}

int
http_send_items(struct request *req, json_t *items)
{
	json_t *o = json_pack("{s:o}", "items", items);
	int	rc = o != NULL ? http_send_json(req, 200, o) : -1;

	json_decref(o);
	return rc;
}

int
http_send_empty(struct request *req, int status)
{
	return send_raw(req, status, NULL, NULL, NULL, 0);
}

const char *
http_header(const struct request *req, const char *name)
{
	char   env[80] = "HTTP_";
	size_t i, n = 5;

	for (i = 0; name[i] != '\0' && n + 1 < sizeof(env); i++)
		env[n++] = name[i] == '-'
		    ? '_'
		    : (char)toupper((unsigned char)name[i]);
	env[n] = '\0';
	return req->fcgi != NULL ? FCGX_GetParam(env, req->fcgi->envp) : NULL;
}

const char *
http_param(const struct request *req, const char *name)
{
	return req->fcgi != NULL ? FCGX_GetParam(name, req->fcgi->envp) : NULL;
}

int
validate_problem(struct request *req, const struct verr *err)
{
	json_t *x;
	int	rc;

	x = json_pack("{s:[{s:s,s:s}]}", "errors", "field", err->field, "code",
	    err->code);
	rc = http_send_problem(
	    req, 422, "validation_failed", "Invalid input", NULL, x, NULL);
	json_decref(x);
	return rc;
}

int
http_bad_query(struct request *req, const char *name, const char *title)
{
	json_t *x = json_pack("{s:s}", "parameter", name);
	int rc = http_send_problem(req, 400, "bad_query", title, NULL, x, NULL);

	json_decref(x);
	return rc;
}

int
http_not_found(struct request *req, const char *title)
{
	return http_send_problem(
	    req, 404, "not_found", title, NULL, NULL, NULL);
}

int
http_send_problem(struct request *req, int status, const char *code,
    const char *title, const char *detail, json_t *extra, const char *headers)
{
	json_t *p;
	char	type[96];
	char   *s = NULL;
	int	rc;

	snprintf(type, sizeof(type), "urn:parley:problem:%s", code);
	p = json_pack("{s:s,s:s,s:i,s:s,s:s}", "type", type, "title", title,
	    "status", status, "code", code, "request_id", req->request_id);
	if (p != NULL && detail != NULL)
		json_object_set_new(p, "detail", json_string(detail));
	if (p != NULL && extra != NULL)
		json_object_update(p, extra);
	if (p != NULL)
		s = json_dumps(p, JSON_COMPACT);
	rc = send_raw(req, status, "application/problem+json", headers,
	    s != NULL ? s : "{}", s != NULL ? strlen(s) : 2);
	free(s);
	json_decref(p);
	return rc;
}
