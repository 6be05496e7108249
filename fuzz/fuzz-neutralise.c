/*
 * fuzz-neutralise: untrusted text for the prompt (text_neutralise()): no
 * ASCII angle bracket survives, nothing but brackets changes, and a
 * second pass changes nothing.
 */
#include "config.h"

#include "fuzz.h"
#include "text.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fuzz_str(data, size), *a, *b;

	if (in == NULL)
		return 0;
	if ((a = text_neutralise(in)) != NULL) {
		FUZZ_ASSERT(
		    strpbrk(a, "<>") == NULL, "an angle bracket is left");
		FUZZ_ASSERT(strlen(a) <= 4 * strlen(in), "output too long");
		if ((b = text_neutralise(a)) != NULL) {
			FUZZ_ASSERT(strcmp(a, b) == 0,
			    "neutralising twice changes more");
			free(b);
		}
		free(a);
	}
	free(in);
	return 0;
}
