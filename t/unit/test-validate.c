/* Unit tests: declared validation of src/validate.c. */
#include "config.h"

#include <string.h>

#include "row.h"
#include "tap.h"
#include "util.h"
#include "validate.h"

/* row_expand() needs the declared rows; two of ours. */
static const struct col c_thing[] = {
	COL("id", C_UUID, 0),
	COL_EXPR("tags", C_STRINGS, 0, "array_to_json(tags)"),
	COL("secret", C_STRING, COL_EXTRA),
};
static const struct row r_thing = ROW("Thing", c_thing, NULL);
const struct row *const rows_all[] = { &r_thing, NULL };

static const char *const  colours[] = { "red", "green", NULL };
static const struct field f_el = FIELD("origin", V_ORIGIN, 1, 100, 0);
static const struct field f_inner[] = {
	FIELD("x", V_INT, 0, 9, F_REQUIRED),
};

static const struct field f_test[] = {
	FIELD("name", V_STRING, 1, 10, F_REQUIRED),
	FIELD("note", V_TEXT, 0, 20, F_NULLABLE),
	FIELD("kind", V_TOKEN, 1, 8, 0),
	FIELD("id", V_UUID, 0, 0, 0),
	FIELD("email", V_EMAIL, 3, 254, 0),
	FIELD("n", V_INT, 1, 100, 0),
	FIELD("flag", V_BOOL, 0, 0, 0),
	FIELD("list", V_ARRAY, 0, 2, 0),
	FIELD_ENUM("colour", colours, 0, NULL),
	FIELD("at", V_TIME, 0, 0, 0),
	{ "origins", V_ARRAY, 0, 3, 0, NULL, &f_el, 1, NULL },
	FIELD_SUB("inner", V_OBJECT, 0, 0, 0, f_inner, NULL),
};

static const struct {
	const char *json;
	int	    ok;
	const char *field, *code;
} cases[] = {
	{ "{\"name\":\"ann\"}", 0, NULL, NULL },
	{ "{}", -1, "name", "required" },
	{ "{\"name\":\"\"}", -1, "name", "length" },
	{ "{\"name\":\"abcdefghijk\"}", -1, "name", "length" },
	{ "{\"name\":5}", -1, "name", "type" },
	{ "{\"name\":\"a\\u0000b\"}", -1, "name", "format" },
	{ "{\"name\":\"a\\nb\"}", -1, "name", "format" },
	{ "{\"name\":\"a\",\"note\":\"x\\ny\"}", 0, NULL, NULL },
	{ "{\"name\":\"a\",\"note\":\"x\\r\\ny\\tz\"}", 0, NULL, NULL },
	{ "{\"name\":\"a\",\"note\":\"x\\ry\"}", -1, "note", "format" },
	{ "{\"name\":\"a\",\"note\":\"xy\\r\"}", -1, "note", "format" },
	{ "{\"name\":\"a\",\"note\":\"x\\u000by\"}", -1, "note", "format" },
	{ "{\"name\":\"a\",\"note\":null}", 0, NULL, NULL },
	{ "{\"name\":null}", -1, "name", "type" },
	{ "{\"name\":\"a\",\"kind\":\"Bad\"}", -1, "kind", "format" },
	{ "{\"name\":\"a\",\"kind\":\"good-1\"}", 0, NULL, NULL },
	{ "{\"name\":\"a\",\"id\":\"6f1c2d3e-1111-4a2b-9c3d-0123456789ab\"}", 0,
	    NULL, NULL },
	{ "{\"name\":\"a\",\"id\":\"6f1c2d3e-1111-4a2b-9c3d-0123456789a\"}", -1,
	    "id", "format" },
	{ "{\"name\":\"a\",\"email\":\"a@b.example\"}", 0, NULL, NULL },
	{ "{\"name\":\"a\",\"email\":\"a@@b.example\"}", -1, "email",
	    "format" },
	{ "{\"name\":\"a\",\"email\":\"a b@c.example\"}", -1, "email",
	    "format" },
	{ "{\"name\":\"a\",\"email\":\"ab.example\"}", -1, "email", "format" },
	{ "{\"name\":\"a\",\"n\":0}", -1, "n", "range" },
	{ "{\"name\":\"a\",\"n\":100}", 0, NULL, NULL },
	{ "{\"name\":\"a\",\"n\":1.5}", -1, "n", "type" },
	{ "{\"name\":\"a\",\"flag\":1}", -1, "flag", "type" },
	{ "{\"name\":\"a\",\"list\":[1,2,3]}", -1, "list", "length" },
	{ "{\"name\":\"a\",\"extra\":1}", -1, "extra", "unknown" },
	{ "[]", -1, "", "type" },
	{ "{\"name\":\"a\",\"colour\":\"red\"}", 0, NULL, NULL },
	{ "{\"name\":\"a\",\"colour\":\"blue\"}", -1, "colour", "format" },
	{ "{\"name\":\"a\",\"colour\":1}", -1, "colour", "type" },
	{ "{\"name\":\"a\",\"at\":\"2026-12-01T20:10:28.173Z\"}", 0, NULL,
	    NULL },
	{ "{\"name\":\"a\",\"at\":\"2026-12-01T20:10:28+05:30\"}", 0, NULL,
	    NULL },
	{ "{\"name\":\"a\",\"at\":\"2026-12-01 20:10:28.17+00\"}", -1, "at",
	    "format" },
	{ "{\"name\":\"a\",\"at\":\"2026-13-01T20:10:28Z\"}", -1, "at",
	    "format" },
	{ "{\"name\":\"a\",\"origins\":[\"https://shop.example\"]}", 0, NULL,
	    NULL },
	{ "{\"name\":\"a\",\"origins\":[\"https://shop.example/x\"]}", -1,
	    "origins", "format" },
	{ "{\"name\":\"a\",\"origins\":[null]}", -1, "origins", "type" },
	{ "{\"name\":\"a\",\"inner\":{\"x\":3}}", 0, NULL, NULL },
	{ "{\"name\":\"a\",\"inner\":{}}", -1, "inner.x", "required" },
	{ "{\"name\":\"a\",\"inner\":{\"x\":3,\"y\":1}}", -1, "inner.y",
	    "unknown" },
};

/* Query parameters: decoded text against a declaration. */
static const struct {
	struct field f;
	const char  *text;
	int	     ok;
} texts[] = {
	{ FIELD("limit", V_INT, 1, 200, 0), "50", 0 },
	{ FIELD("limit", V_INT, 1, 200, 0), "0", -1 },
	{ FIELD("limit", V_INT, 1, 200, 0), "5x", -1 },
	{ FIELD("limit", V_INT, 1, 200, 0), "", -1 },
	{ FIELD("flag", V_BOOL, 0, 0, 0), "true", 0 },
	{ FIELD("flag", V_BOOL, 0, 0, 0), "1", -1 },
	{ FIELD("cursor", V_CURSOR, 0, 0, 0),
	    "1764620000000000_6f1c2d3e-1111-4a2b-9c3d-0123456789ab", 0 },
	{ FIELD("cursor", V_CURSOR, 0, 0, 0), "_6f1c2d3e", -1 },
	{ FIELD("id", V_UUID, 0, 0, 0), "6f1c2d3e-1111-4a2b-9c3d-0123456789ab",
	    0 },
	{ FIELD("id", V_UUID, 0, 0, 0), "me", -1 },
	{ FIELD("opens", V_CLOCK, 0, 0, 0), "09:30", 0 },
	{ FIELD("opens", V_CLOCK, 0, 0, 0), "00:00", 0 },
	{ FIELD("opens", V_CLOCK, 0, 0, 0), "24:00", 0 },
	{ FIELD("opens", V_CLOCK, 0, 0, 0), "24:01", -1 },
	{ FIELD("opens", V_CLOCK, 0, 0, 0), "9:30", -1 },
	{ FIELD("opens", V_CLOCK, 0, 0, 0), "12:60", -1 },
	{ FIELD("opens", V_CLOCK, 0, 0, 0), "12:30:00", -1 },
	{ FIELD("accent", V_COLOR, 0, 0, 0), "#1f2937", 0 },
	{ FIELD("accent", V_COLOR, 0, 0, 0), "#1F2937", 0 },
	{ FIELD("accent", V_COLOR, 0, 0, 0), "#1f293", -1 },
	{ FIELD("accent", V_COLOR, 0, 0, 0), "1f29370", -1 },
	{ FIELD("accent", V_COLOR, 0, 0, 0), "#1g2937", -1 },
	{ FIELD("accent", V_COLOR, 0, 0, 0), "red", -1 },
	{ FIELD("day", V_DATE, 0, 0, 0), "2026-12-24", 0 },
	{ FIELD("day", V_DATE, 0, 0, 0), "2026-13-24", -1 },
	{ FIELD("day", V_DATE, 0, 0, 0), "2026-12-24T00:00:00Z", -1 },
};

/* WCAG 2 contrast ratios, against values WebAIM's checker gives. */
static void
contrast(void)
{
	static const struct {
		const char *a, *b;
		double	    ratio;
	} c[] = {
		{ "#000000", "#ffffff", 21.0 },
		{ "#ffffff", "#ffffff", 1.0 },
		{ "#1f2937", "#ffffff", 14.68 },
		{ "#767676", "#ffffff", 4.54 },
		{ "#777777", "#ffffff", 4.48 },
		{ "#ffff00", "#ffffff", 1.07 },
		{ "#FFFFFF", "#0000FF", 8.59 },
	};
	size_t i;

	for (i = 0; i < nitems(c); i++) {
		double r = validate_contrast(c[i].a, c[i].b);

		tap_ok(r > c[i].ratio - 0.01 && r < c[i].ratio + 0.01,
		    "contrast %s on %s is %.2f (%.2f)", c[i].a, c[i].b,
		    c[i].ratio, r);
	}
	tap_ok(validate_contrast("#ffffff", "white") == 0,
	    "contrast of a non-colour: 0");
	tap_ok(validate_contrast("#767676", "#ffffff") >= CONTRAST_AA &&
		validate_contrast("#777777", "#ffffff") < CONTRAST_AA,
	    "AA: #767676 passes on white, #777777 does not");
}

static void
rows(void)
{
	char out[256], ts[64];

	tap_is_int(row_expand("SELECT {{Thing}} FROM t", out, sizeof(out)), 0,
	    "row_expand: a declared row");
	tap_is_str(out, "SELECT id, array_to_json(tags) AS \"tags\" FROM t",
	    "  its SELECT list, without the handler's columns");
	tap_is_int(row_expand("RETURNING {{Thing x}}", out, sizeof(out)), 0,
	    "row_expand: with an alias");
	tap_is_str(out, "RETURNING x.id, array_to_json(tags) AS \"tags\"",
	    "  columns qualified");
	tap_is_int(row_expand("SELECT {{Nope}}", out, sizeof(out)), -1,
	    "row_expand: an unknown row is refused");
	tap_is_int(row_expand("SELECT {{Thing}}", out, 12), -1,
	    "row_expand: refuses what does not fit");
	tap_is_int(row_time_rfc3339("2026-12-01 20:10:28.173302+00", ts), 0,
	    "PostgreSQL timestamptz text converts");
	tap_is_str(ts, "2026-12-01T20:10:28.173Z", "  to RFC 3339 UTC, ms");
	tap_is_int(row_time_rfc3339("2026-12-01 01:10:28+05:30", ts), 0,
	    "an offset converts");
	tap_is_str(ts, "2026-11-30T19:40:28.000Z", "  to UTC");
	tap_is_int(row_time_rfc3339("yesterday", ts), -1, "garbage is refused");
}

int
main(void)
{
	struct verr err;
	json_t	   *j;
	size_t	    i;

	for (i = 0; i < nitems(cases); i++) {
		int rc;

		j = json_loads(
		    cases[i].json, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
		if (j == NULL) {
			tap_ok(0, "fixture %s parses", cases[i].json);
			continue;
		}
		memset(&err, 0, sizeof(err));
		rc = validate_object(j, f_test, nitems(f_test), 0, &err);
		tap_is_int(rc, cases[i].ok, "%s", cases[i].json);
		if (cases[i].ok == -1) {
			tap_is_str(err.field, cases[i].field, "  field");
			tap_is_str(err.code, cases[i].code, "  code");
		}
		json_decref(j);
	}
	j = json_loads("{\"name\":\"a\",\"extra\":1}", 0, NULL);
	tap_is_int(
	    validate_object(j, f_test, nitems(f_test), VO_ALLOW_UNKNOWN, &err),
	    0, "unknown allowed when declared so");
	json_decref(j);
	for (i = 0; i < nitems(texts); i++) {
		tap_is_int(validate_text(texts[i].text, &texts[i].f, &err),
		    texts[i].ok, "query %s=%s", texts[i].f.name, texts[i].text);
	}
	rows();
	contrast();
	return tap_done();
}
