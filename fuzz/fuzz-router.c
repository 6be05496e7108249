/*
 * fuzz-router: request paths and query strings: the path check
 * (http_path_valid()), matching against every route of the table
 * (router_match()) and query parameters (http_query_get()). A matched
 * parameter is one non-empty segment; a decoded value holds no control
 * byte.
 */
#include "config.h"

#include "fuzz.h"
#include "http.h"
#include "limits.h"
#include "router.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct request	 req;
	char			*in = fuzz_str(data, size), *q, out[256];
	size_t			 i, k, j;
	static const char *const names[] = { "cursor", "limit", "status",
		"assignee", "q", "since" };

	if (in == NULL)
		return 0;
	/* "path?query", as nginx hands them over. */
	q = strchr(in, '?');
	if (q != NULL)
		*q++ = '\0';
	if (strlen(in) <= PRL_MAX_PATH && http_path_valid(in, strlen(in)))
		for (i = 0; i < nroutes; i++) {
			memset(&req, 0, sizeof(req));
			if (router_match(routes[i].pattern, in, &req) != 1)
				continue;
			for (k = 0; k < req.nparams; k++) {
				FUZZ_ASSERT(req.param[k][0] != '\0',
				    "an empty parameter");
				FUZZ_ASSERT(strchr(req.param[k], '/') == NULL,
				    "a parameter across segments");
			}
		}
	memset(&req, 0, sizeof(req));
	req.query = q != NULL ? q : "";
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (http_query_get(&req, names[i], out, sizeof(out)) == 1)
			for (j = 0; out[j] != '\0'; j++)
				FUZZ_ASSERT((unsigned char)out[j] >= 0x20 &&
					out[j] != 0x7f,
				    "a control byte in a query value");
	free(in);
	return 0;
}
