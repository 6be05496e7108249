/*
 * fuzz.h: shared by the libFuzzer targets in fuzz/ (see fuzz/README.md).
 * Each target checks invariants, not just the absence of crashes: a
 * broken invariant calls FUZZ_ASSERT, which aborts with the reason, so
 * libFuzzer keeps the input.
 */
#ifndef PARLEY_FUZZ_H
#define PARLEY_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_ASSERT(cond, why)                                                 \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "invariant broken: %s (%s:%d)\n", why, \
			    __FILE__, __LINE__);                               \
			abort();                                               \
		}                                                              \
	} while (0)

/* A NUL-terminated copy of the input (caller frees), NULL if it has NUL. */
static inline char *
fuzz_str(const uint8_t *data, size_t size)
{
	char *s;

	if (memchr(data, 0, size) != NULL || (s = malloc(size + 1)) == NULL)
		return NULL;
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
