/*
 * fuzz-validate: declared validation of JSON bodies (validate_object()),
 * behind the depth check (http_json_depth_ok()). What validation accepts
 * has every required member, of the declared type and length.
 */
#include "config.h"

#include <jansson.h>

#include "fuzz.h"
#include "http.h"
#include "limits.h"
#include "validate.h"

static const struct field fields[] = {
	FIELD("name", V_STRING, 1, 20, F_REQUIRED),
	FIELD("note", V_TEXT, 0, 200, F_NULLABLE),
	FIELD("kind", V_TOKEN, 1, 8, 0),
	FIELD("id", V_UUID, 0, 0, 0),
	FIELD("email", V_EMAIL, 3, 254, 0),
	FIELD("url", V_URI, 8, 256, 0),
	FIELD("n", V_INT, 1, 100, 0),
	FIELD("flag", V_BOOL, 0, 0, 0),
	FIELD("list", V_ARRAY, 0, 4, 0),
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t	    *o;
	json_error_t e;
	struct verr  err;
	const char  *s;
	size_t	     i;

	if (http_json_depth_ok((const char *)data, size, PRL_MAX_JSON_DEPTH) !=
	    0)
		return 0;
	if ((o = json_loadb(
		 (const char *)data, size, JSON_REJECT_DUPLICATES, &e)) == NULL)
		return 0;
	if (validate_object(
		o, fields, sizeof(fields) / sizeof(fields[0]), 0, &err) == 0) {
		FUZZ_ASSERT(json_is_object(o), "a non-object accepted");
		s = json_string_value(json_object_get(o, "name"));
		FUZZ_ASSERT(s != NULL, "a required member missing");
		for (i = 0; s[i] != '\0'; i++)
			FUZZ_ASSERT((unsigned char)s[i] >= 0x20 && s[i] != 0x7f,
			    "a control character in a V_STRING");
		if ((s = json_string_value(json_object_get(o, "note"))) != NULL)
			for (i = 0; s[i] != '\0'; i++)
				FUZZ_ASSERT(s[i] != '\r' || s[i + 1] == '\n',
				    "a lone CR in a V_TEXT");
	} else
		FUZZ_ASSERT(err.field != NULL && err.code != NULL,
		    "a refusal without a reason");
	json_decref(o);
	return 0;
}
