/*
 * mask.h: personal data masked out of free text, for anonymised
 * conversations (the retention sweep, src/retention.c). E-mail addresses
 * become "[email]", card-like numbers (13 to 19 digits, with single spaces
 * or dashes between groups) "[card]", phone numbers (7 to 15 digits, an
 * optional leading +, with spaces, dots, dashes or parentheses between
 * groups, not an ISO date) "[phone]". Everything else is kept byte for
 * byte. Pure: no global state, no I/O.
 */
#ifndef PARLEY_MASK_H
#define PARLEY_MASK_H

#include <stddef.h>

/*
 * Returns 'in' masked as a new string (caller frees with free()), and in
 * '*n' (may be NULL) how many spans were masked. NULL when out of memory.
 */
char *mask_pii(const char *in, int *n);

#endif
