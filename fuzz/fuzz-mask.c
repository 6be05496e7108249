/*
 * fuzz-mask: anonymisation (mask_pii()): idempotent (masking masked text
 * changes nothing and masks nothing), never longer than its bound.
 */
#include "config.h"

#include "fuzz.h"
#include "mask.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fuzz_str(data, size), *a, *b;
	int   n;

	if (in == NULL)
		return 0;
	if ((a = mask_pii(in, NULL)) != NULL) {
		FUZZ_ASSERT(
		    strlen(a) <= size + size / 6 + 1, "output too long");
		if ((b = mask_pii(a, &n)) != NULL) {
			FUZZ_ASSERT(strcmp(a, b) == 0 && n == 0,
			    "masking twice masks more");
			free(b);
		}
		free(a);
	}
	free(in);
	return 0;
}
