/*
 * openapi.c: the OpenAPI document, generated. What a route takes comes
 * from its spec (routes.c), what it gives from its replies and the rows
 * they name (resources.c), who may call it from the route table itself.
 */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "openapi.h"
#include "router.h"
#include "scopes.h"

static const char *const auth_names[AUTH__MAX] = { "public", "user", "key",
	"visitor" };
static const char *const role_names[ROLE__MAX] = { "none", "member", "admin",
	"owner" };

static const char intro[] =
    "parley's REST API, generated from the route table and its specs "
    "(src/routes.c, src/resources.c) by `parleyctl openapi`: every route, "
    "what it takes and what it answers is declared once, checked by the "
    "dispatcher before a handler runs, and documented from the same "
    "declaration. t/11 checks this file is the generator's output, and "
    "the test suite validates every JSON response it receives against the "
    "schema of its route and status.\n"
    "Every error is RFC 9457 application/problem+json with a stable `code` "
    "member and the `request_id` of the request (also in the X-Request-Id "
    "header). Timestamps are RFC 3339 in UTC with milliseconds "
    "(`2026-12-01T20:10:28.173Z`); every documented member is present, "
    "null when empty.\n"
    "A path id that is not a UUID is answered 404, like an unknown one; a "
    "malformed query parameter 400 bad_query; a body member that breaks "
    "its declaration 422 validation_failed, naming it. A route without a "
    "request body accepts an empty one, `{}` or `null` (what most HTTP "
    "clients send with a POST); any other body is 422 body_not_allowed.";

void
openapi_operation_id(
    const char *method, const char *pattern, char *out, size_t outlen)
{
	const char *p = pattern;
	size_t	    n = 0, i;
	int	    up = 0;

	for (i = 0; method[i] != '\0' && n + 1 < outlen; i++)
		out[n++] = (char)tolower((unsigned char)method[i]);
	if (strncmp(p, "/api/v1", 7) == 0)
		p += 7;
	for (; *p != '\0' && n + 1 < outlen; p++) {
		if (strchr("/:_.-", *p) != NULL) {
			up = 1;
			continue;
		}
		out[n++] = up ? (char)toupper((unsigned char)*p) : *p;
		up = 0;
	}
	out[n] = '\0';
}

static json_t *
ref(const char *kind, const char *name)
{
	char buf[128];

	snprintf(buf, sizeof(buf), "#/components/%s/%s", kind, name);
	return json_pack("{s:s}", "$ref", buf);
}

static json_t *field_schema(const struct field *f);
static json_t *row_schema(const struct row *r);

/* The object schema of 'n' members 'f'. */
static json_t *
fields_schema(const struct field *f, size_t n)
{
	json_t *props = json_object(), *req = json_array(), *o;
	size_t	i;

	for (i = 0; i < n; i++) {
		json_object_set_new(props, f[i].name, field_schema(&f[i]));
		if (f[i].flags & F_REQUIRED)
			json_array_append_new(req, json_string(f[i].name));
	}
	o = json_pack("{s:s}", "type", "object");
	if (json_array_size(req) > 0)
		json_object_set(o, "required", req);
	json_object_set(o, "properties", props);
	json_object_set_new(o, "additionalProperties", json_false());
	json_decref(props);
	json_decref(req);
	return o;
}

static json_t *
field_schema(const struct field *f)
{
	json_t *s = json_object(), *e;
	size_t	i;

	switch (f->kind) {
	case V_STRING:
	case V_TEXT:
	case V_URI:
	case V_EMAIL:
	case V_TOKEN:
		json_object_set_new(s, "type", json_string("string"));
		if (f->kind == V_EMAIL)
			json_object_set_new(s, "format", json_string("email"));
		if (f->kind == V_TOKEN)
			json_object_set_new(
			    s, "pattern", json_string("^[a-z0-9_-]*$"));
		json_object_set_new(s, "minLength", json_integer(f->min));
		json_object_set_new(s, "maxLength", json_integer(f->max));
		break;
	case V_UUID:
		if (f->values != NULL) {
			e = json_array();
			for (i = 0; f->values[i] != NULL; i++)
				json_array_append_new(
				    e, json_string(f->values[i]));
			json_object_set_new(s, "type", json_string("string"));
			json_object_set_new(s, "anyOf",
			    json_pack(
				"[{s:s},{s:o}]", "format", "uuid", "enum", e));
			break;
		}
		json_object_set_new(s, "type", json_string("string"));
		json_object_set_new(s, "format", json_string("uuid"));
		break;
	case V_INT:
	case V_NUMBER:
		json_object_set_new(s, "type",
		    json_string(f->kind == V_INT ? "integer" : "number"));
		json_object_set_new(s, "minimum", json_integer(f->min));
		json_object_set_new(s, "maximum", json_integer(f->max));
		break;
	case V_BOOL:
		json_object_set_new(s, "type", json_string("boolean"));
		break;
	case V_OBJECT:
		json_decref(s);
		s = f->sub != NULL ? fields_schema(f->sub, f->nsub)
				   : json_pack("{s:s}", "type", "object");
		break;
	case V_ARRAY:
		json_object_set_new(s, "type", json_string("array"));
		json_object_set_new(s, "minItems", json_integer(f->min));
		json_object_set_new(s, "maxItems", json_integer(f->max));
		json_object_set_new(s, "items",
		    f->sub != NULL ? field_schema(f->sub) : json_object());
		break;
	case V_ENUM:
		json_object_set_new(s, "type", json_string("string"));
		e = json_array();
		for (i = 0; f->values != NULL && f->values[i] != NULL; i++)
			json_array_append_new(e, json_string(f->values[i]));
		json_object_set_new(s, "enum", e);
		break;
	case V_TIME:
		json_object_set_new(s, "type", json_string("string"));
		json_object_set_new(s, "anyOf",
		    json_pack("[{s:s},{s:s}]", "format", "date-time", "format",
			"date"));
		break;
	case V_DATE:
		json_object_set_new(s, "type", json_string("string"));
		json_object_set_new(s, "format", json_string("date"));
		break;
	case V_CLOCK:
		json_object_set_new(s, "type", json_string("string"));
		json_object_set_new(s, "pattern",
		    json_string("^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"));
		break;
	case V_COLOR:
		json_object_set_new(s, "type", json_string("string"));
		json_object_set_new(
		    s, "pattern", json_string("^#[0-9A-Fa-f]{6}$"));
		break;
	case V_ORIGIN:
		json_object_set_new(s, "type", json_string("string"));
		json_object_set_new(s, "pattern",
		    json_string("^https?://[a-z0-9.-]+(:[1-9][0-9]{0,4})?$"));
		json_object_set_new(s, "maxLength", json_integer(f->max));
		break;
	case V_HOST:
		json_object_set_new(s, "type", json_string("string"));
		json_object_set_new(s, "pattern", json_string("^[a-z0-9.-]+$"));
		json_object_set_new(s, "maxLength", json_integer(f->max));
		break;
	case V_CURSOR:
		json_object_set_new(s, "type", json_string("string"));
		json_object_set_new(s, "pattern",
		    json_string("^[0-9]{1,18}_[0-9a-fA-F-]{36}$"));
		break;
	default: break;
	}
	if (f->flags & F_NULLABLE)
		json_object_set_new(s, "nullable", json_true());
	if (f->doc != NULL)
		json_object_set_new(s, "description", json_string(f->doc));
	return s;
}

static json_t *
col_schema(const struct col *c)
{
	json_t *s = json_object(), *e;
	size_t	i;

	switch (c->type) {
	case C_UUID:
		json_object_set_new(s, "type", json_string("string"));
		json_object_set_new(s, "format", json_string("uuid"));
		break;
	case C_TIME:
		json_object_set_new(s, "type", json_string("string"));
		json_object_set_new(s, "format", json_string("date-time"));
		break;
	case C_INT:
		json_object_set_new(s, "type", json_string("integer"));
		break;
	case C_BOOL:
		json_object_set_new(s, "type", json_string("boolean"));
		break;
	case C_NUMBER:
		json_object_set_new(s, "type", json_string("number"));
		break;
	case C_STRINGS:
		json_object_set_new(s, "type", json_string("array"));
		json_object_set_new(
		    s, "items", json_pack("{s:s}", "type", "string"));
		break;
	case C_JSON:
		if (c->sub != NULL && !(c->flags & COL_NULL) &&
		    c->doc == NULL) {
			json_decref(s);
			return ref("schemas", c->sub->name);
		}
		if (c->sub != NULL && (c->flags & COL_NULL)) {
			/* OpenAPI 3.0: nullable holds for a type, not a $ref. */
			json_decref(s);
			s = row_schema(c->sub);
			json_object_del(s, "description");
			break;
		}
		/* A JSON column is an object: its row's, or any. */
		json_object_set_new(s, "type", json_string("object"));
		if (c->sub != NULL)
			json_object_set_new(s, "allOf",
			    json_pack("[o]", ref("schemas", c->sub->name)));
		break;
	case C_ROWS:
		json_object_set_new(s, "type", json_string("array"));
		json_object_set_new(s, "items",
		    c->sub != NULL ? ref("schemas", c->sub->name)
				   : json_object());
		break;
	default:
		json_object_set_new(s, "type", json_string("string"));
		if (c->values != NULL) {
			e = json_array();
			for (i = 0; c->values[i] != NULL; i++)
				json_array_append_new(
				    e, json_string(c->values[i]));
			json_object_set_new(s, "enum", e);
		}
		break;
	}
	if (c->flags & COL_NULL)
		json_object_set_new(s, "nullable", json_true());
	if (c->doc != NULL)
		json_object_set_new(s, "description", json_string(c->doc));
	return s;
}

static json_t *
row_schema(const struct row *r)
{
	json_t *props = json_object(), *req = json_array(), *o;
	size_t	i;

	for (i = 0; i < r->ncols; i++) {
		if (r->cols[i].flags & COL_HIDDEN)
			continue;
		json_object_set_new(
		    props, r->cols[i].name, col_schema(&r->cols[i]));
		if (!(r->cols[i].flags & COL_EXTRA))
			json_array_append_new(
			    req, json_string(r->cols[i].name));
	}
	o = json_pack("{s:s}", "type", "object");
	if (r->doc != NULL)
		json_object_set_new(o, "description", json_string(r->doc));
	json_object_set_new(o, "required", req);
	json_object_set_new(o, "properties", props);
	json_object_set_new(o, "additionalProperties", json_false());
	return o;
}

static json_t *
problem_schema(void)
{
	return json_pack("{s:s,s:[sssss],s:{s:{s:s,s:s},s:{s:s},s:{s:s},s:{s:"
			 "s,s:s},s:{s:s},s:{s:s,s:s},s:{s:s,s:s,s:{s:s,s:{s:"
			 "{s:s},s:{s:s}}}}}}",
	    "type", "object", "required", "type", "title", "status", "code",
	    "request_id", "properties", "type", "type", "string", "description",
	    "urn:parley:problem:<code>", "title", "type", "string", "status",
	    "type", "integer", "code", "type", "string", "description",
	    "stable machine-readable code", "detail", "type", "string",
	    "request_id", "type", "string", "pattern", "^[0-9a-f]{32}$",
	    "errors", "type", "array", "description",
	    "validation failures (422 validation_failed)", "items", "type",
	    "object", "properties", "field", "type", "string", "code", "type",
	    "string");
}

/* The schema of a reply's body, or NULL for none. */
static json_t *
reply_schema(const struct resp *r)
{
	json_t *items;

	switch (r->shape) {
	case R_ONE: return ref("schemas", r->row->name);
	case R_ITEMS:
	case R_PAGE:
		items = json_pack("{s:s,s:o}", "type", "array", "items",
		    ref("schemas", r->row->name));
		if (r->shape == R_ITEMS)
			return json_pack("{s:s,s:[s],s:{s:o},s:b}", "type",
			    "object", "required", "items", "properties",
			    "items", items, "additionalProperties", 0);
		return json_pack("{s:s,s:[ss],s:{s:o,s:{s:s,s:b,s:s}},s:b}",
		    "type", "object", "required", "items", "next_cursor",
		    "properties", "items", items, "next_cursor", "type",
		    "string", "nullable", 1, "description",
		    "give it back for the next page (the route's cursor or "
		    "before parameter); null on the last",
		    "additionalProperties", 0);
	case R_OTHER:
		return json_pack(
		    "{s:s,s:s}", "type", "string", "format", "binary");
	default: return NULL;
	}
}

static void
add_response(json_t *resps, int status, const char *desc, json_t *schema,
    const char *ctype)
{
	char	key[8];
	json_t *o;

	snprintf(key, sizeof(key), "%d", status);
	if (json_object_get(resps, key) != NULL) {
		json_decref(schema);
		return;
	}
	o = json_pack("{s:s}", "description", desc);
	if (schema != NULL)
		json_object_set_new(o, "content",
		    json_pack("{s:{s:o}}", ctype, "schema", schema));
	json_object_set_new(resps, key, o);
}

/*
 * What the dispatcher and the layers under it (http.c, auth.c) answer
 * for any route of a kind, with their problem codes: a route's own
 * problem of the same status adds its codes to these.
 */
static const struct common {
	int	    status;
	const char *name, *desc, *codes;
} commons[] = {
	{ 400, "BadRequest", "a malformed request, JSON body, query or header",
	    "bad_content_length bad_method bad_path bad_query bad_uri "
	    "body_incomplete body_required json_too_deep malformed_json "
	    "malformed_form "
	    "bad_header" },
	{ 401, "Unauthorized", "no valid credentials",
	    "unauthenticated invalid_token token_expired session_revoked" },
	{ 403, "Forbidden",
	    "the role, scope or account state does not allow it",
	    "forbidden insufficient_scope mfa_setup_required "
	    "verification_required" },
	{ 404, "NotFound", "no such resource (or not the caller's)",
	    "not_found" },
	{ 413, "TooLarge", "the body is larger than the route takes",
	    "body_too_large" },
	{ 415, "UnsupportedMediaType", "a Content-Type the route does not take",
	    "unsupported_media_type" },
	{ 422, "Invalid", "the input breaks its declaration",
	    "validation_failed body_not_allowed" },
};

/* Appends the space-separated 'codes' to array 'e'. */
static void
add_codes(json_t *e, const char *codes)
{
	const char *p = codes;

	while (*p != '\0') {
		size_t	n = strcspn(p, " "), i;
		json_t *v;
		int	seen = 0;

		json_array_foreach(e, i, v) if (json_string_length(v) == n &&
		    strncmp(json_string_value(v), p, n) == 0) seen = 1;
		if (!seen)
			json_array_append_new(e, json_stringn(p, n));
		p += n + strspn(p + n, " ");
	}
}

/* A problem body whose code is in 'e' (taken). */
static json_t *
problem_of(json_t *e)
{
	return json_pack("{s:[o,{s:{s:{s:o}}}]}", "allOf",
	    ref("schemas", "Problem"), "properties", "code", "enum", e);
}

/* The responses 'commons' names. */
static json_t *
common_responses(void)
{
	json_t *o = json_object(), *e;
	size_t	i;

	for (i = 0; i < sizeof(commons) / sizeof(commons[0]); i++) {
		add_codes(e = json_array(), commons[i].codes);
		json_object_set_new(o, commons[i].name,
		    json_pack("{s:s,s:{s:{s:o}}}", "description",
			commons[i].desc, "content", "application/problem+json",
			"schema", problem_of(e)));
	}
	json_object_set_new(o, "Error",
	    json_pack("{s:s,s:{s:{s:o}}}", "description",
		"an error any route may give: rate_limited (429, with "
		"Retry-After), database_unavailable, database_busy or "
		"overloaded (503, with Retry-After), "
		"internal_error (500)",
		"content", "application/problem+json", "schema",
		ref("schemas", "Problem")));
	json_object_set_new(json_object_get(o, "Error"), "headers",
	    json_pack("{s:{s:s,s:{s:s}}}", "Retry-After", "description",
		"seconds to wait before trying again (429, 503)", "schema",
		"type", "integer"));
	return o;
}

static const struct common *
common_of(int status)
{
	size_t i;

	for (i = 0; i < sizeof(commons) / sizeof(commons[0]); i++)
		if (commons[i].status == status)
			return &commons[i];
	return NULL;
}

/* Whether the dispatcher may answer 'status' for route 'r'. */
static int
common_applies(const struct route *r, int status)
{
	const struct spec *sp = r->spec;

	switch (status) {
	case 400:
		return r->body == BODY_JSON ||
		    (sp != NULL && (sp->nquery > 0 || sp->nheaders > 0));
	case 401: return r->auth != AUTH_PUBLIC;
	case 403: return r->auth != AUTH_PUBLIC;
	case 404: return strchr(r->pattern, ':') != NULL;
	case 413:
	case 415: return r->body == BODY_JSON || r->body == BODY_BYTES;
	case 422: return 1;
	default: return 0;
	}
}

/* The code enum of the problem response of 'status' in 'o', or NULL. */
static json_t *
problem_codes(json_t *o, int status)
{
	char	key[8];
	json_t *sch;

	snprintf(key, sizeof(key), "%d", status);
	sch = json_object_get(
	    json_object_get(
		json_object_get(
		    json_object_get(json_object_get(o, key), "content"),
		    "application/problem+json"),
		"schema"),
	    "allOf");
	return json_object_get(
	    json_object_get(
		json_object_get(json_array_get(sch, 1), "properties"), "code"),
	    "enum");
}

static json_t *
responses(const struct route *r)
{
	const struct spec *sp = r->spec;
	json_t		  *o = json_object(), *e;
	size_t		   i;

	for (i = 0; sp != NULL && i < sp->nreplies; i++) {
		const struct resp   *rp = &sp->replies[i];
		const struct common *c = common_of(rp->status);

		if (rp->shape != R_PROBLEM) {
			add_response(o, rp->status, rp->desc, reply_schema(rp),
			    rp->ctype != NULL ? rp->ctype : "application/json");
			continue;
		}
		if (rp->codes == NULL) {
			add_response(o, rp->status, rp->desc,
			    ref("schemas", "Problem"),
			    "application/problem+json");
			continue;
		}
		/* Another problem of this status already: one response,
		 * both codes, both descriptions. */
		if ((e = problem_codes(o, rp->status)) != NULL) {
			char	key[8];
			json_t *prev;

			snprintf(key, sizeof(key), "%d", rp->status);
			prev = json_object_get(
			    json_object_get(o, key), "description");
			add_codes(e, rp->codes);
			json_object_set_new(json_object_get(o, key),
			    "description",
			    json_sprintf(
				"%s; %s", json_string_value(prev), rp->desc));
			continue;
		}
		add_codes(e = json_array(), rp->codes);
		if (c != NULL && common_applies(r, rp->status))
			add_codes(e, c->codes);
		/* A route that declares a status of its own still gives the
		 * errors any route may (the default response): one schema
		 * must name both, or a 503 during a failover breaks it. */
		if (rp->status == 503)
			add_codes(
			    e, "database_unavailable database_busy overloaded");
		else if (rp->status == 429)
			add_codes(e, "rate_limited");
		add_response(o, rp->status, rp->desc, problem_of(e),
		    "application/problem+json");
	}
	for (i = 0; i < sizeof(commons) / sizeof(commons[0]); i++) {
		char key[8];

		snprintf(key, sizeof(key), "%d", commons[i].status);
		if (common_applies(r, commons[i].status) &&
		    json_object_get(o, key) == NULL)
			json_object_set_new(
			    o, key, ref("responses", commons[i].name));
	}
	json_object_set_new(o, "default", ref("responses", "Error"));
	return o;
}

static json_t *
operation(const struct route *r)
{
	const struct spec *sp = r->spec;
	json_t		  *op = json_object(), *params, *scopes;
	char		   id[128];
	size_t		   i;
	const char	  *scheme = r->auth == AUTH_VISITOR ? "visitor"
		   : r->auth == AUTH_PUBLIC		    ? NULL
							    : "bearer";

	openapi_operation_id(
	    http_method_name(r->method), r->pattern, id, sizeof(id));
	json_object_set_new(op, "operationId", json_string(id));
	json_object_set_new(op, "summary", json_string(r->summary));
	if (sp != NULL && sp->doc != NULL)
		json_object_set_new(op, "description", json_string(sp->doc));
	json_object_set_new(op, "x-auth", json_string(auth_names[r->auth]));
	json_object_set_new(op, "x-role", json_string(role_names[r->min_role]));
	scopes = scope_json(r->scope);
	json_object_set_new(op, "x-scopes", scopes);
	if (scheme == NULL)
		json_object_set_new(op, "security", json_array());
	else if (r->auth == AUTH_KEY)
		json_object_set_new(op, "security",
		    json_pack("[{s:[]},{s:O}]", "bearer", "apiKey", scopes));
	else
		json_object_set_new(
		    op, "security", json_pack("[{s:[]}]", scheme));
	params = json_array();
	for (i = 0; sp != NULL && i < sp->nquery; i++) {
		json_t *q =
		    json_pack("{s:s,s:s,s:o}", "name", sp->query[i].name, "in",
			"query", "schema", field_schema(&sp->query[i]));

		if (sp->query[i].doc != NULL)
			json_object_set_new(
			    q, "description", json_string(sp->query[i].doc));
		if (sp->query[i].flags & F_REQUIRED)
			json_object_set_new(q, "required", json_true());
		json_array_append_new(params, q);
	}
	for (i = 0; sp != NULL && i < sp->nheaders; i++) {
		json_t *q = json_pack("{s:s,s:s,s:o}", "name",
		    sp->headers[i].name, "in", "header", "schema",
		    field_schema(&sp->headers[i]));

		if (sp->headers[i].doc != NULL)
			json_object_set_new(
			    q, "description", json_string(sp->headers[i].doc));
		json_array_append_new(params, q);
	}
	if (json_array_size(params) > 0)
		json_object_set_new(op, "parameters", params);
	else
		json_decref(params);
	if (r->body != BODY_NONE) {
		json_t		  *schema = sp != NULL && sp->body != NULL
			       ? fields_schema(sp->body, sp->nbody)
			       : r->body == BODY_BYTES ? json_pack("{s:s,s:s}", "type",
							     "string", "format", "binary")
			       : r->ctypes != NULL ? json_object() /* a foreign format */
						   : json_pack("{s:s}", "type", "object");
		json_t		  *content = json_object();
		const char *const *ct = r->ctypes;

		if (ct == NULL)
			json_object_set_new(content, "application/json",
			    json_pack("{s:O}", "schema", schema));
		for (i = 0; ct != NULL && ct[i] != NULL; i++)
			json_object_set_new(content, ct[i],
			    json_pack("{s:O}", "schema", schema));
		json_decref(schema);
		json_object_set_new(op, "requestBody",
		    json_pack("{s:b,s:o}", "required", 1, "content", content));
	}
	json_object_set_new(op, "responses", responses(r));
	return op;
}

/* "/api/v1/things/:id" as OpenAPI writes it: "/api/v1/things/{id}". */
static void
oa_path(const char *pattern, char *out, size_t outlen)
{
	size_t n = 0;
	int    in = 0;

	for (; *pattern != '\0' && n + 2 < outlen; pattern++) {
		if (*pattern == ':') {
			out[n++] = '{';
			in = 1;
			continue;
		}
		if (*pattern == '/' && in) {
			out[n++] = '}';
			in = 0;
		}
		out[n++] = *pattern;
	}
	if (in)
		out[n++] = '}';
	out[n] = '\0';
}

static json_t *
path_params(const char *pattern)
{
	json_t	   *a = json_array();
	const char *p = pattern;

	while ((p = strchr(p, ':')) != NULL) {
		size_t n = strcspn(p + 1, "/");

		json_array_append_new(a,
		    json_pack("{s:s%,s:s,s:b,s:{s:s,s:s}}", "name", p + 1, n,
			"in", "path", "required", 1, "schema", "type", "string",
			"format", "uuid"));
		p += 1 + n;
	}
	return a;
}

json_t *
openapi_document(void)
{
	json_t *doc, *paths, *schemas;
	size_t	i;
	char	path[256], method[16];

	schemas = json_object();
	json_object_set_new(schemas, "Problem", problem_schema());
	for (i = 0; rows_all[i] != NULL; i++)
		json_object_set_new(
		    schemas, rows_all[i]->name, row_schema(rows_all[i]));
	paths = json_object();
	for (i = 0; i < nroutes; i++) {
		const struct route *r = &routes[i];
		json_t		   *item;
		size_t		    k;

		oa_path(r->pattern, path, sizeof(path));
		if ((item = json_object_get(paths, path)) == NULL) {
			item = json_object();
			if (strchr(r->pattern, ':') != NULL)
				json_object_set_new(item, "parameters",
				    path_params(r->pattern));
			json_object_set_new(paths, path, item);
		}
		snprintf(
		    method, sizeof(method), "%s", http_method_name(r->method));
		for (k = 0; method[k] != '\0'; k++)
			method[k] = (char)tolower((unsigned char)method[k]);
		json_object_set_new(item, method, operation(r));
	}
	doc = json_pack("{s:s,s:{s:s,s:s,s:s},s:[{s:s}]}", "openapi", "3.0.3",
	    "info", "title", "parley API", "version", PACKAGE_VERSION,
	    "description", intro, "servers", "url", "https://parley.example");
	json_object_set_new(doc, "paths", paths);
	json_object_set_new(doc, "components",
	    json_pack("{s:{s:{s:s,s:s,s:s,s:s},s:{s:s,s:s,s:s},s:{s:s,s:s,"
		      "s:s}},s:o}",
		"securitySchemes", "bearer", "type", "http", "scheme", "bearer",
		"bearerFormat", "JWT", "description",
		"a user's access token (POST /api/v1/auth/login)", "apiKey",
		"type", "http", "scheme", "bearer", "description",
		"a company's API key (POST /api/v1/api-keys), its scopes "
		"named per operation",
		"visitor", "type", "http", "scheme", "bearer", "description",
		"a widget visitor token (POST /api/v1/widget/sessions)",
		"schemas", schemas));
	json_object_set_new(json_object_get(doc, "components"), "responses",
	    common_responses());
	return doc;
}

/* YAML output. */

static int
plain_key(const char *k)
{
	size_t i;

	if (!isalpha((unsigned char)k[0]) && strchr("_$/", k[0]) == NULL)
		return 0;
	for (i = 0; k[i] != '\0'; i++)
		if (!isalnum((unsigned char)k[i]) &&
		    strchr("_-$/+.", k[i]) == NULL)
			return 0;
	return strcmp(k, "y") != 0 && strcmp(k, "n") != 0 &&
	    strcmp(k, "yes") != 0 && strcmp(k, "no") != 0 &&
	    strcmp(k, "on") != 0 && strcmp(k, "off") != 0 &&
	    strcmp(k, "true") != 0 && strcmp(k, "false") != 0 &&
	    strcmp(k, "null") != 0;
}

static void
put_string(FILE *f, const char *s)
{
	json_t *j = json_string(s);
	char   *t = json_dumps(j, JSON_ENCODE_ANY);

	fputs(t != NULL ? t : "\"\"", f);
	free(t);
	json_decref(j);
}

/*
 * Whether 's' can be a folded block scalar (">-"): printable text whose
 * lines (paragraphs) neither begin nor end with a space.
 */
static int
foldable(const char *s)
{
	const char *p;

	if (strlen(s) < 60 || s[0] == ' ' || s[0] == '\n')
		return 0;
	for (p = s; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 && *p != '\n')
			return 0;
		if (*p == '\n' &&
		    (p[1] == ' ' || p[1] == '\n' || p[1] == '\0' ||
			p[-1] == ' '))
			return 0;
	}
	return p[-1] != ' ';
}

/*
 * Writes 's' folded at about 76 columns after 'indent' spaces: one line
 * break inside a paragraph reads as a space, an empty line as the
 * paragraph's end.
 */
static void
put_folded(FILE *f, const char *s, int indent)
{
	fputs(">-\n", f);
	while (*s != '\0') {
		size_t len = strcspn(s, "\n"), col = 0;

		while (len > 0) {
			size_t take = len, sp;

			if ((int)len + indent > 76) {
				for (sp = (size_t)(76 - indent); sp > 0; sp--)
					if (s[sp] == ' ' && s[sp - 1] != ' ')
						break;
				if (sp > 0)
					take = sp;
			}
			fprintf(f, "%*s%.*s\n", indent, "", (int)take, s);
			col++;
			s += take;
			len -= take;
			if (len > 0 && *s == ' ') {
				s++;
				len--;
			}
		}
		if (*s == '\n') {
			s++;
			fputc('\n', f);
		}
	}
}

/* Whether 's' may stand unquoted: a word YAML reads as a string. */
static int
plain_value(const char *s)
{
	size_t i;

	if (!isalpha((unsigned char)s[0]))
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!isalnum((unsigned char)s[i]) &&
		    strchr("_-/.", s[i]) == NULL)
			return 0;
	return plain_key(s);
}

static void
put_key(FILE *f, const char *k)
{
	if (plain_key(k))
		fputs(k, f);
	else
		put_string(f, k);
	fputc(':', f);
}

static int
is_empty_container(const json_t *v)
{
	return (json_is_object(v) && json_object_size(v) == 0) ||
	    (json_is_array(v) && json_array_size(v) == 0);
}

static void
put_scalar(FILE *f, const json_t *v, int indent)
{
	char *t;

	if (json_is_string(v)) {
		const char *s = json_string_value(v);

		if (plain_value(s))
			fputs(s, f);
		else if (foldable(s))
			put_folded(f, s, indent + 2);
		else
			put_string(f, s);
		return;
	}
	if (json_is_object(v)) {
		fputs("{}", f);
		return;
	}
	if (json_is_array(v)) {
		fputs("[]", f);
		return;
	}
	t = json_dumps(v, JSON_ENCODE_ANY);
	fputs(t != NULL ? t : "null", f);
	free(t);
}

static void put_node(FILE *f, const json_t *v, int indent);

static void
put_members(FILE *f, const json_t *o, int indent, int first_inline)
{
	const char *k;
	json_t	   *v;
	int	    first = 1;

	json_object_foreach((json_t *)(uintptr_t)o, k, v)
	{
		if (!(first && first_inline))
			fprintf(f, "%*s", indent, "");
		first = 0;
		put_key(f, k);
		if ((json_is_object(v) || json_is_array(v)) &&
		    !is_empty_container(v)) {
			fputc('\n', f);
			put_node(f, v, indent + 2);
		} else {
			fputc(' ', f);
			put_scalar(f, v, indent);
			if (!json_is_string(v) ||
			    plain_value(json_string_value(v)) ||
			    !foldable(json_string_value(v)))
				fputc('\n', f);
		}
	}
}

static void
put_node(FILE *f, const json_t *v, int indent)
{
	size_t	i;
	json_t *e;

	if (json_is_object(v)) {
		put_members(f, v, indent, 0);
		return;
	}
	json_array_foreach((json_t *)(uintptr_t)v, i, e)
	{
		fprintf(f, "%*s- ", indent, "");
		if (json_is_object(e) && !is_empty_container(e))
			put_members(f, e, indent + 2, 1);
		else if (json_is_array(e) && !is_empty_container(e)) {
			fputc('\n', f);
			put_node(f, e, indent + 2);
		} else {
			put_scalar(f, e, indent);
			if (!json_is_string(e) ||
			    plain_value(json_string_value(e)) ||
			    !foldable(json_string_value(e)))
				fputc('\n', f);
		}
	}
}

int
openapi_write_yaml(FILE *f, const json_t *v)
{
	fputs("# Generated by `parleyctl openapi` from src/routes.c and "
	      "src/resources.c:\n# do not edit; change the specs and run "
	      "`make openapi`.\n",
	    f);
	put_node(f, v, 0);
	return ferror(f) ? -1 : 0;
}
