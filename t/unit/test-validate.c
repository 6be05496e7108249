/* Unit tests: declared validation of src/validate.c. */
#include "config.h"

#include <string.h>

#include "tap.h"
#include "util.h"
#include "validate.h"

static const struct field f_test[] = {
	{ "name", V_STRING, 1, 10, F_REQUIRED },
	{ "note", V_TEXT, 0, 20, F_NULLABLE },
	{ "kind", V_TOKEN, 1, 8, 0 },
	{ "id", V_UUID, 0, 0, 0 },
	{ "email", V_EMAIL, 3, 254, 0 },
	{ "n", V_INT, 1, 100, 0 },
	{ "flag", V_BOOL, 0, 0, 0 },
	{ "list", V_ARRAY, 0, 2, 0 },
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
};

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
	return tap_done();
}
