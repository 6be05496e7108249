/*
 * fuzz-mask: anonymisation (mask_pii()): idempotent (masking masked text
 * changes nothing and masks nothing), never longer than its bound, and no
 * card number survives: a run of 13 to 19 digits between spaces (or the
 * ends) that passes the Luhn check is never left in the output.
 */
#include "config.h"

#include "fuzz.h"
#include "mask.h"

static int
luhn_ok(const char *d, size_t n)
{
	size_t k;
	int    sum = 0, v;

	for (k = 0; k < n; k++) {
		v = d[n - 1 - k] - '0';
		if (k % 2 == 1 && (v *= 2) > 9)
			v -= 9;
		sum += v;
	}
	return sum % 10 == 0;
}

static void
no_card_left(const char *s)
{
	size_t i = 0, j;

	while (s[i] != '\0') {
		if (s[i] >= '0' && s[i] <= '9' && (i == 0 || s[i - 1] == ' ')) {
			for (j = i; s[j] >= '0' && s[j] <= '9'; j++)
				;
			FUZZ_ASSERT(!(j - i >= 13 && j - i <= 19 &&
					(s[j] == '\0' || s[j] == ' ') &&
					luhn_ok(s + i, j - i)),
			    "a card number was left");
			i = j;
		} else
			i++;
	}
}

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
		no_card_left(a);
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
