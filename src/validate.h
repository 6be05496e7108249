/*
 * validate.h: declared validation of JSON input. A handler declares its
 * fields once; validate_object() checks the whole object against the
 * declaration before the handler reads a value.
 */
#ifndef PARLEY_VALIDATE_H
#define PARLEY_VALIDATE_H

#include <stddef.h>

#include <jansson.h>

struct request;

enum vkind {
	V_STRING, /* UTF-8, no control characters, min..max bytes */
	V_TEXT, /* as V_STRING, but newline, tab and CRLF allowed (no lone CR) */
	V_TOKEN, /* [a-z0-9_-], min..max bytes */
	V_URI, /* printable ASCII, no spaces, min..max bytes */
	V_UUID, /* canonical UUID */
	V_EMAIL, /* local@domain, min..max bytes, one '@', no spaces */
	V_INT, /* integer in min..max */
	V_BOOL,
	V_NUMBER, /* integer or real in min..max */
	V_OBJECT, /* checked further by the caller */
	V_ARRAY, /* min..max elements; elements checked by the caller */
	V__MAX
};

#define F_REQUIRED 0x01
#define F_NULLABLE 0x02

struct field {
	const char *name;
	enum vkind  kind;
	long long   min, max;
	unsigned    flags;
};

#define VO_ALLOW_UNKNOWN 0x01 /* ignore members not declared */

/* The first failure: field name (borrowed) and a stable code. */
struct verr {
	const char *field;
	const char *
	    code; /* "required", "type", "length", "range", "format", "unknown" */
};

/* Checks one value against 'f'. Returns 0 or -1 with 'err' filled. */
int validate_value(const json_t *v, const struct field *f, struct verr *err);

/*
 * Checks that 'o' is an object whose members satisfy 'fields' ('n' of
 * them). Unknown members are refused unless VO_ALLOW_UNKNOWN.
 */
int validate_object(json_t *o, const struct field *fields, size_t n,
    unsigned flags, struct verr *err);

/* Answers 422 problem+json naming the field and code in 'err'. */
int validate_problem(struct request *req, const struct verr *err);

#endif
