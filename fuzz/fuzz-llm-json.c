/*
 * fuzz-llm-json: the provider's non-streamed reply (llm_parse_reply()):
 * either content or a stable error, never both, never neither.
 */
#include "config.h"

#include "fuzz.h"
#include "llm.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct llm_result r;
	int		  rc;

	memset(&r, 0, sizeof(r));
	rc = llm_parse_reply((const char *)data, size, &r);
	FUZZ_ASSERT(rc == 0 ? r.error == NULL : r.error != NULL,
	    "the result and the error disagree");
	llm_result_free(&r);
	return 0;
}
