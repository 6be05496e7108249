/*
 * validate.c: validators for declared JSON fields. They check the whole
 * value (bounds, characters, no embedded NUL) and allocate nothing.
 */
#include "config.h"

#include <string.h>

#include "db.h"
#include "http.h"
#include "validate.h"

static int
fail(struct verr *err, const char *field, const char *code)
{
	err->field = field;
	err->code = code;
	return -1;
}

static int
check_chars(const char *s, size_t len, enum vkind kind)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		switch (kind) {
		case V_TOKEN:
			if (!((c >= 'a' && c <= 'z') ||
				(c >= '0' && c <= '9') || c == '_' || c == '-'))
				return -1;
			break;
		case V_URI:
		case V_EMAIL:
			if (c <= 0x20 || c >= 0x7f)
				return -1;
			break;
		case V_TEXT:
			/* CR only in CRLF, as text from Windows has it. */
			if ((c < 0x20 && c != '\n' && c != '\t' &&
				!(c == '\r' && i + 1 < len &&
				    s[i + 1] == '\n')) ||
			    c == 0x7f)
				return -1;
			break;
		default:
			if (c < 0x20 || c == 0x7f)
				return -1;
			break;
		}
	}
	return 0;
}

static int
check_email(const char *s, size_t len)
{
	const char *at = memchr(s, '@', len);

	if (at == NULL || at == s || at == s + len - 1)
		return -1;
	if (memchr(at + 1, '@', (size_t)(s + len - at - 1)) != NULL)
		return -1;
	if (memchr(at + 1, '.', (size_t)(s + len - at - 1)) == NULL)
		return -1;
	return 0;
}

int
validate_value(const json_t *v, const struct field *f, struct verr *err)
{
	const char *s;
	size_t	    len;
	json_int_t  i;

	if (json_is_null(v)) {
		if (f->flags & F_NULLABLE)
			return 0;
		return fail(err, f->name, "type");
	}
	switch (f->kind) {
	case V_STRING:
	case V_TEXT:
	case V_TOKEN:
	case V_URI:
	case V_UUID:
	case V_EMAIL:
		if (!json_is_string(v))
			return fail(err, f->name, "type");
		s = json_string_value(v);
		len = json_string_length(v);
		if (strlen(s) != len) /* embedded NUL */
			return fail(err, f->name, "format");
		if (f->kind == V_UUID)
			return db_uuid_valid(s) ? 0
						: fail(err, f->name, "format");
		if ((long long)len < f->min || (long long)len > f->max)
			return fail(err, f->name, "length");
		if (check_chars(s, len, f->kind) == -1)
			return fail(err, f->name, "format");
		if (f->kind == V_EMAIL && check_email(s, len) == -1)
			return fail(err, f->name, "format");
		return 0;
	case V_INT:
		if (!json_is_integer(v))
			return fail(err, f->name, "type");
		i = json_integer_value(v);
		if (i < f->min || i > f->max)
			return fail(err, f->name, "range");
		return 0;
	case V_NUMBER:
		if (!json_is_number(v))
			return fail(err, f->name, "type");
		if (json_number_value(v) < (double)f->min ||
		    json_number_value(v) > (double)f->max)
			return fail(err, f->name, "range");
		return 0;
	case V_BOOL: return json_is_boolean(v) ? 0 : fail(err, f->name, "type");
	case V_OBJECT:
		return json_is_object(v) ? 0 : fail(err, f->name, "type");
	case V_ARRAY:
		if (!json_is_array(v))
			return fail(err, f->name, "type");
		len = json_array_size(v);
		if ((long long)len < f->min || (long long)len > f->max)
			return fail(err, f->name, "length");
		return 0;
	default: return fail(err, f->name, "type");
	}
}

int
validate_object(json_t *o, const struct field *fields, size_t n, unsigned flags,
    struct verr *err)
{
	const char *key;
	json_t	   *v;
	size_t	    i;

	if (!json_is_object(o))
		return fail(err, "", "type");
	json_object_foreach(o, key, v)
	{
		for (i = 0; i < n; i++)
			if (strcmp(fields[i].name, key) == 0)
				break;
		if (i == n) {
			if (flags & VO_ALLOW_UNKNOWN)
				continue;
			/* Report the name only when it is short and plain. */
			return fail(
			    err, strlen(key) <= 64 ? key : "", "unknown");
		}
	}
	for (i = 0; i < n; i++) {
		v = json_object_get(o, fields[i].name);
		if (v == NULL) {
			if (fields[i].flags & F_REQUIRED)
				return fail(err, fields[i].name, "required");
			continue;
		}
		if (validate_value(v, &fields[i], err) == -1)
			return -1;
	}
	return 0;
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
