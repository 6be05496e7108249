/*
 * validate.c: validators for declared JSON fields. They check the whole
 * value (bounds, characters, no embedded NUL) and allocate nothing.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "util.h"
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
validate_value(json_t *v, const struct field *f, struct verr *err)
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
			return validate_text(s, f, err);
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
		if (!json_is_object(v))
			return fail(err, f->name, "type");
		if (f->sub == NULL)
			return 0;
		if (validate_object(v, f->sub, f->nsub, 0, err) == -1) {
			char name[sizeof(err->path)];

			/* Name it from the top: settings.mfa_required. */
			snprintf(
			    name, sizeof(name), "%s.%s", f->name, err->field);
			memcpy(err->path, name, sizeof(name));
			err->field = err->path;
			return -1;
		}
		return 0;
	case V_ARRAY: {
		size_t	k;
		json_t *e;

		if (!json_is_array(v))
			return fail(err, f->name, "type");
		len = json_array_size(v);
		if ((long long)len < f->min || (long long)len > f->max)
			return fail(err, f->name, "length");
		if (f->sub == NULL)
			return 0;
		json_array_foreach(v, k, e)
		{
			if (json_is_null(e) ||
			    validate_value(e, f->sub, err) == -1)
				return fail(err, f->name,
				    json_is_null(e) ? "type" : err->code);
		}
		return 0;
	}
	case V_ENUM:
	case V_TIME:
	case V_DATE:
	case V_CLOCK:
	case V_COLOR:
	case V_CURSOR:
	case V_ORIGIN:
	case V_HOST:
		if (!json_is_string(v))
			return fail(err, f->name, "type");
		if (strlen(json_string_value(v)) != json_string_length(v))
			return fail(err, f->name, "format");
		return validate_text(json_string_value(v), f, err);
	default: return fail(err, f->name, "type");
	}
}

static int
digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

int
validate_origin(const char *s)
{
	const char *h, *colon;
	size_t	    n;

	if (strncmp(s, "https://", 8) == 0)
		h = s + 8;
	else if (strncmp(s, "http://", 7) == 0)
		h = s + 7;
	else
		return 0;
	n = strspn(h, "abcdefghijklmnopqrstuvwxyz0123456789.-");
	if (n == 0 || n > 253 || h[0] == '.' || h[0] == '-' || h[n - 1] == '.')
		return 0;
	colon = h + n;
	if (*colon == '\0')
		return 1;
	if (*colon != ':')
		return 0;
	n = strspn(colon + 1, "0123456789");
	if (n == 0 || n > 5 || colon[1 + n] != '\0' || colon[1] == '0' ||
	    strtol(colon + 1, NULL, 10) > 65535)
		return 0;
	return 1;
}

/* A host name: lower-case letters, digits, dots and hyphens, a dot. */
static int
host_valid(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789.-");

	return n > 0 && n <= 253 && s[n] == '\0' && s[0] != '.' &&
	    s[0] != '-' && s[n - 1] != '.' && strchr(s, '.') != NULL;
}

/* The two digits at 's' as a number. */
static int
num2(const char *s)
{
	return (s[0] - '0') * 10 + (s[1] - '0');
}

int
validate_rfc3339(const char *s)
{
	size_t n = strlen(s);

	/* YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM) */
	if (n < 20 || n > 40 || !digits(s, 4) || s[4] != '-' ||
	    !digits(s + 5, 2) || s[7] != '-' || !digits(s + 8, 2) ||
	    (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2) ||
	    s[13] != ':' || !digits(s + 14, 2) || s[16] != ':' ||
	    !digits(s + 17, 2))
		return 0;
	if (num2(s + 5) < 1 || num2(s + 5) > 12 || num2(s + 8) < 1 ||
	    num2(s + 8) > 31 || num2(s + 11) > 23 || num2(s + 14) > 59 ||
	    num2(s + 17) > 60)
		return 0;
	s += 19;
	if (*s == '.') {
		size_t f = strspn(s + 1, "0123456789");

		if (f == 0 || f > 9)
			return 0;
		s += 1 + f;
	}
	if ((*s == 'Z' || *s == 'z') && s[1] == '\0')
		return 1;
	return (*s == '+' || *s == '-') && digits(s + 1, 2) && s[3] == ':' &&
	    digits(s + 4, 2) && s[6] == '\0' && num2(s + 1) <= 23 &&
	    num2(s + 4) <= 59;
}

int
validate_text(const char *s, const struct field *f, struct verr *err)
{
	size_t	  len = strlen(s), i;
	char	 *end;
	long long n;

	switch (f->kind) {
	case V_UUID:
		/* A UUID, or one of the words 'values' allows ("me"). */
		for (i = 0; f->values != NULL && f->values[i] != NULL; i++)
			if (strcmp(s, f->values[i]) == 0)
				return 0;
		return db_uuid_valid(s) ? 0 : fail(err, f->name, "format");
	case V_INT:
		if (len == 0 || len > 19 || strspn(s, "-0123456789") != len)
			return fail(err, f->name, "format");
		errno = 0;
		n = strtoll(s, &end, 10);
		if (*end != '\0' || end == s)
			return fail(err, f->name, "format");
		if (errno == ERANGE)
			return fail(err, f->name, "range");
		if (n < f->min || n > f->max)
			return fail(err, f->name, "range");
		return 0;
	case V_BOOL:
		return strcmp(s, "true") == 0 || strcmp(s, "false") == 0
		    ? 0
		    : fail(err, f->name, "format");
	case V_ENUM:
		for (i = 0; f->values != NULL && f->values[i] != NULL; i++)
			if (strcmp(s, f->values[i]) == 0)
				return 0;
		return fail(err, f->name, "format");
	case V_TIME:
	case V_DATE:
		/* A date-time, or a full-date (midnight UTC). */
		if (len == 10 && digits(s, 4) && s[4] == '-' &&
		    digits(s + 5, 2) && s[7] == '-' && digits(s + 8, 2) &&
		    num2(s + 5) >= 1 && num2(s + 5) <= 12 && num2(s + 8) >= 1 &&
		    num2(s + 8) <= 31)
			return 0;
		return f->kind == V_TIME && validate_rfc3339(s)
		    ? 0
		    : fail(err, f->name, "format");
	case V_CLOCK:
		/* HH:MM, where 24:00 is the end of a day. */
		if (len == 5 && digits(s, 2) && s[2] == ':' &&
		    digits(s + 3, 2) && num2(s + 3) <= 59 &&
		    (num2(s) <= 23 || (num2(s) == 24 && num2(s + 3) == 0)))
			return 0;
		return fail(err, f->name, "format");
	case V_COLOR:
		return validate_contrast(s, s) > 0
		    ? 0
		    : fail(err, f->name, "format");
	case V_CURSOR: {
		const char *us = s, *id = strchr(s, '_');

		/* 18 digits: always a bigint (microseconds to year 33658). */
		if (id == NULL || id == us || (size_t)(id - us) > 18 ||
		    !digits(us, (size_t)(id - us)) || !db_uuid_valid(id + 1))
			return fail(err, f->name, "format");
		return 0;
	}
	case V_ORIGIN:
		if (len == 0 || (long long)len > f->max)
			return fail(err, f->name, "length");
		return validate_origin(s) ? 0 : fail(err, f->name, "format");
	case V_HOST:
		if (len == 0 || (long long)len > f->max)
			return fail(err, f->name, "length");
		return host_valid(s) ? 0 : fail(err, f->name, "format");
	case V_STRING:
	case V_TEXT:
	case V_URI:
	case V_TOKEN:
	case V_EMAIL:
		if ((long long)len < f->min || (long long)len > f->max)
			return fail(err, f->name, "length");
		if (check_chars(s, len, f->kind) == -1 ||
		    (f->kind == V_EMAIL && check_email(s, len) == -1))
			return fail(err, f->name, "format");
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

/* One sRGB channel (two hex digits) as linear light, or -1. */
static double
channel(const char *h)
{
	unsigned v = 0;
	int	 i;
	double	 c;

	for (i = 0; i < 2; i++) {
		int d = hex_digit(h[i]);

		if (d < 0)
			return -1;
		v = v * 16 + (unsigned)d;
	}
	c = v / 255.0;
	return c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4);
}

/* The relative luminance of "#rrggbb", or -1. */
static double
luminance(const char *s)
{
	double r, g, b;

	if (s == NULL || strlen(s) != 7 || s[0] != '#' ||
	    (r = channel(s + 1)) < 0 || (g = channel(s + 3)) < 0 ||
	    (b = channel(s + 5)) < 0)
		return -1;
	return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

double
validate_contrast(const char *a, const char *b)
{
	double x = luminance(a), y = luminance(b);

	if (x < 0 || y < 0)
		return 0;
	return x > y ? (x + 0.05) / (y + 0.05) : (y + 0.05) / (x + 0.05);
}
