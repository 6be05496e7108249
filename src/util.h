/*
 * util.h: small helpers with no better home.
 */
#ifndef PARLEY_UTIL_H
#define PARLEY_UTIL_H

#include <stddef.h>

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Copies 'in' to 'out' (at most 'outlen' - 1 bytes, NUL-terminated) as
 * valid UTF-8 without control characters: invalid or control bytes become
 * '?', and the cut never splits a character. For header values such as
 * User-Agent that are stored or echoed. 'in' may be NULL ("").
 */
void utf8_clean(const char *in, char *out, size_t outlen);

/* Milliseconds on the monotonic clock (for intervals, not dates). */
long long mono_ms(void);

/* The value of hexadecimal digit 'c' (either case), or -1. */
int hex_digit(char c);

/*
 * Removes directory 'dir' with the files in it (one level). Returns the
 * number of files removed.
 */
long util_remove_dir(const char *dir);

#endif
