/* Unit tests: request-line validators of src/http.c. */
#include "config.h"

#include <string.h>

#include "http.h"
#include "tap.h"
#include "util.h"

static const struct {
	const char *path;
	int	    ok;
} paths[] = {
	{ "/", 1 },
	{ "/api/v1/meta", 1 },
	{ "/api/v1/things/0f0e-ab_~.x", 1 },
	{ "/a%20b", 1 },
	{ "", 0 },
	{ "api/v1", 0 },
	{ "/with space", 0 },
	{ "/quote\"", 0 },
	{ "/lt<", 0 },
	{ "/back\\slash", 0 },
	{ "/tab\t", 0 },
	{ "/uni\xc3\xa9", 0 },
	{ "/brace{", 0 },
	{ "/a//b", 0 },
	{ "/a/./b", 0 },
	{ "/a/../b", 0 },
	{ "/a/..", 0 },
	{ "/a/.", 0 },
	{ "/a/%2e%2e/b", 0 },
	{ "/a/%2E/b", 0 },
	{ "/a%2fb", 0 },
	{ "/a%5Cb", 0 },
	{ "/a/.well-known", 1 },
	{ "/a/..b", 1 },
	{ "/a%20b", 1 },
};

static const struct {
	const char *json;
	int	    max;
	int	    ok;
} depths[] = {
	{ "{}", 1, 0 },
	{ "[[1]]", 1, -1 },
	{ "[[1]]", 2, 0 },
	{ "\"[[[[[[\"", 1, 0 }, /* brackets inside a string */
	{ "[\"\\\"[[[\"]", 1, 0 }, /* escaped quote inside a string */
	{ "{\"a\":{\"b\":{\"c\":1}}}", 2, -1 },
	{ "{\"a\":{\"b\":{\"c\":1}}}", 3, 0 },
};

static const struct {
	const char *id;
	int	    ok;
} ids[] = {
	{ "0123456789abcdef0123456789abcdef", 1 },
	{ "0123456789ABCDEF0123456789abcdef", 0 },
	{ "0123456789abcdef0123456789abcde", 0 },
	{ "0123456789abcdef0123456789abcdef0", 0 },
	{ "0123456789abcdef0123456789abcdeg", 0 },
	{ "", 0 },
};

static const struct {
	const char *body, *key, *value; /* value NULL: refused */
} forms[] = {
	{ "state=abc&code=x%2By+z", "code", "x+y z" },
	{ "a=1&&b=2", "b", "2" },
	{ "SAMLResponse=PD94%0D%0AbWw%3D", "SAMLResponse", "PD94\r\nbWw=" },
	{ "empty=", "empty", "" },
	{ "u=%C3%A9", "u", "\xc3\xa9" },
	{ "a=1&a=2", "a", NULL },
	{ "a=%zz", "a", NULL },
	{ "a=%4", "a", NULL },
	{ "a=%00", "a", NULL },
	{ "a=%01", "a", NULL },
	{ "a=%7F", "a", NULL },
	{ "a=%C3", "a", NULL }, /* not UTF-8 */
	{ "=1", "", NULL },
	{ "novalue", "novalue", NULL },
	{ "k%00x=1", "k", NULL },
};

int
main(void)
{
	size_t		 i;
	enum http_method m;

	for (i = 0; i < nitems(paths); i++)
		tap_is_int(
		    http_path_valid(paths[i].path, strlen(paths[i].path)),
		    paths[i].ok, "path '%s'", paths[i].path);
	{
		static char long_path[PRL_MAX_PATH + 2];

		memset(long_path, 'a', sizeof(long_path) - 1);
		long_path[0] = '/';
		tap_is_int(http_path_valid(long_path, strlen(long_path)), 0,
		    "path longer than PRL_MAX_PATH refused");
		tap_is_int(
		    http_path_valid("/a\0b", 4), 0, "embedded NUL refused");
	}
	for (i = 0; i < nitems(depths); i++)
		tap_is_int(http_json_depth_ok(depths[i].json,
			       strlen(depths[i].json), depths[i].max),
		    depths[i].ok, "depth of %s within %d", depths[i].json,
		    depths[i].max);
	for (i = 0; i < nitems(ids); i++)
		tap_is_int(http_request_id_valid(ids[i].id), ids[i].ok,
		    "request id '%s'", ids[i].id);
	tap_is_int(http_method_parse("PATCH", &m), 0, "PATCH parses");
	tap_is_int(m, M_PATCH, "PATCH is M_PATCH");
	tap_is_int(
	    http_method_parse("get", &m), -1, "methods are case-sensitive");
	tap_is_int(http_method_parse("TRACE", &m), -1, "TRACE refused");
	tap_is_str(http_status_text(413), "Content Too Large", "413 text");
	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		json_t *o =
		    http_form_parse(forms[i].body, strlen(forms[i].body));
		const char *v =
		    json_string_value(json_object_get(o, forms[i].key));

		if (forms[i].value == NULL)
			tap_ok(o == NULL, "form %s: refused", forms[i].body);
		else
			tap_ok(v != NULL && strcmp(v, forms[i].value) == 0,
			    "form %s: %s", forms[i].body, forms[i].key);
		json_decref(o);
	}
	{
		char big[33 * 4 + 1] = "";
		int  k;

		for (k = 0; k < 33; k++)
			snprintf(big + strlen(big), sizeof(big) - strlen(big),
			    "%c%02d=", k ? '&' : 'a', k);
		tap_ok(http_form_parse(big, strlen(big)) == NULL,
		    "a form of 33 names: refused");
	}
	return tap_done();
}
