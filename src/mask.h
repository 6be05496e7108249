/*
 * mask.h: personal data masked out of free text, for anonymised
 * conversations (the retention sweep, src/retention.c). E-mail addresses
 * become "[email]", card numbers (13 to 19 digits passing the Luhn check,
 * with single spaces or dashes between groups) "[card]", phone numbers (7
 * to 15 digits, an optional leading +, with spaces, dots, dashes, slashes
 * or parentheses between groups, not a date) "[phone]"; every one in a
 * run of digit groups (a card followed by its expiry: the card). Linear
 * in the input, and idempotent: masking masked text changes nothing.
 * Everything else is kept byte for byte. Pure: no global state, no I/O.
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
