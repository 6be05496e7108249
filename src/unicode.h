/*
 * unicode.h: text read as a person reads it, for the checks that must not
 * be fooled by look-alike characters (the prompt wrapper's tags in
 * src/text.c, the canary in src/guard.c). The data is Unicode's
 * (confusables, NFKC, character names), compiled by dev/gen-confusables
 * into src/confusables.inc.
 */
#ifndef PARLEY_UNICODE_H
#define PARLEY_UNICODE_H

#include <stddef.h>

/*
 * What code point 'cp' reads as: one to three ASCII characters written to
 * 'out' (NUL-terminated; letters in lower case, '0' as 'o' and '1' as 'l':
 * "ﬀ" reads as "ff", "⑩" as "lo"), and their number; 0 for a character
 * nobody sees (zero-width spaces and joiners, soft hyphen, BOM); -1 for
 * any other.
 */
int uc_reads(unsigned int cp, char out[4]);

/* As uc_reads(), for one character: it, 0, or -1 (also for several). */
int uc_reads_as(unsigned int cp);

/*
 * Decodes the code point at s[i] ('len' bytes in all) and stores its
 * length in '*n'; an invalid or cut sequence is U+FFFD of length 1.
 */
unsigned int uc_decode(const char *s, size_t len, size_t i, size_t *n);

#endif
