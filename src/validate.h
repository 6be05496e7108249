/*
 * validate.h: declared validation of outside input. A route's spec
 * (routes.c) declares its body fields and query parameters once; the
 * dispatcher checks the whole input against the declaration before the
 * handler reads a value, and parleyctl openapi documents the same
 * declaration. Nothing here knows HTTP.
 */
#ifndef PARLEY_VALIDATE_H
#define PARLEY_VALIDATE_H

#include <stddef.h>

#include <jansson.h>

enum vkind {
	V_STRING, /* UTF-8, no control characters, min..max bytes */
	V_TEXT, /* as V_STRING, but newline, tab and CRLF allowed (no lone CR) */
	V_TOKEN, /* [a-z0-9_-], min..max bytes */
	V_URI, /* printable ASCII, no spaces, min..max bytes */
	V_UUID, /* canonical UUID, or one of 'values' when given */
	V_EMAIL, /* local@domain, min..max bytes, one '@', no spaces */
	V_INT, /* integer in min..max */
	V_BOOL,
	V_NUMBER, /* integer or real in min..max */
	V_OBJECT, /* checked further by the caller */
	V_ARRAY, /* min..max elements, each as 'sub' when given */
	V_ENUM, /* a string, one of 'values' */
	V_TIME, /* an RFC 3339 date-time, or a full-date */
	V_CURSOR, /* a keyset cursor "<microseconds>_<uuid>" */
	V_ORIGIN, /* an exact lower-case origin scheme://host[:port] */
	V_HOST, /* a lower-case host name with a dot */
	V_DATE, /* an RFC 3339 full-date "2026-12-24" */
	V_CLOCK, /* a time of day "HH:MM", 00:00 to 24:00 */
	V_COLOR, /* an sRGB colour "#rrggbb" (hex digits in either case) */
	V__MAX
};

#define F_REQUIRED 0x01
#define F_NULLABLE 0x02
#define F_SECRET 0x04 /* a password or code: never echoed, never audited */
#define F_ADVISORY 0x08 /* documented; the handler checks it (its own code) */

struct field {
	const char	   *name;
	enum vkind	    kind;
	long long	    min, max;
	unsigned	    flags;
	const char *const  *values; /* V_ENUM, V_UUID: NULL-terminated */
	const struct field *sub; /* V_OBJECT: its members; V_ARRAY: element */
	size_t		    nsub;
	const char	   *doc; /* one line for the API description, or NULL */
};

/* A field with no enumeration, members or description. */
#define FIELD(name, kind, min, max, flags)                                     \
	{                                                                      \
		name, kind, min, max, flags, NULL, NULL, 0, NULL               \
	}
/* A field with a description. */
#define FIELD_DOC(name, kind, min, max, flags, doc)                            \
	{                                                                      \
		name, kind, min, max, flags, NULL, NULL, 0, doc                \
	}
/* One of the NULL-terminated strings 'values'. */
#define FIELD_ENUM(name, values, flags, doc)                                   \
	{                                                                      \
		name, V_ENUM, 0, 0, flags, values, NULL, 0, doc                \
	}
/* An object with members 'sub' (an array), or an array of 'sub'[0]. */
#define FIELD_SUB(name, kind, min, max, flags, sub, doc)                       \
	{                                                                      \
		name, kind, min, max, flags, NULL, sub,                        \
		    sizeof(sub) / sizeof((sub)[0]), doc                        \
	}

#define VO_ALLOW_UNKNOWN 0x01 /* ignore members not declared */

/* The first failure: field name (borrowed) and a stable code. */
struct verr {
	const char *field; /* "settings.mfa_required" for a nested one */
	/* "required", "type", "length", "range", "format", "unknown" */
	const char *code;
	char	    path[128]; /* where a nested field's name is made */
};

/*
 * Checks one value against 'f', members and elements included. Returns 0
 * or -1 with 'err' filled.
 */
int validate_value(json_t *v, const struct field *f, struct verr *err);

/*
 * Checks a query parameter's decoded text 's' against 'f' (V_STRING,
 * V_TOKEN, V_UUID, V_INT, V_BOOL "true"/"false", V_ENUM, V_TIME,
 * V_DATE, V_CLOCK, V_CURSOR). Returns 0 or -1 with 'err' filled.
 */
int validate_text(const char *s, const struct field *f, struct verr *err);

/* Returns 1 if 's' is an exact lower-case origin scheme://host[:port]. */
int validate_origin(const char *s);

/* Returns 1 if 's' is an RFC 3339 date-time ("2026-12-01T20:10:28Z"). */
int validate_rfc3339(const char *s);

/*
 * The WCAG 2 contrast ratio (1 to 21) of two V_COLOR colours, or 0 when
 * either is not one. WCAG AA wants 4.5 for normal text (CONTRAST_AA).
 */
#define CONTRAST_AA 4.5
double validate_contrast(const char *a, const char *b);

/*
 * Checks that 'o' is an object whose members satisfy 'fields' ('n' of
 * them). Unknown members are refused unless VO_ALLOW_UNKNOWN.
 */
int validate_object(json_t *o, const struct field *fields, size_t n,
    unsigned flags, struct verr *err);

#endif
