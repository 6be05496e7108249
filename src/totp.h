/*
 * totp.h: RFC 6238 one-time codes (liboath), 30-second steps, six digits,
 * one step of drift either way, each step accepted once.
 */
#ifndef PARLEY_TOTP_H
#define PARLEY_TOTP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define TOTP_SECRET_BYTES 20
#define TOTP_B32_LEN 32 /* base32 of 20 bytes */

/* Makes a new secret and its base32 form. Returns 0 or -1. */
int totp_new_secret(
    unsigned char raw[TOTP_SECRET_BYTES], char b32[TOTP_B32_LEN + 1]);
/*
 * Checks six-digit 'code' against 'raw' at 'now'. A step at or before
 * 'last_step' is refused (replay). Returns 0 and the matched step in
 * 'step', or -1.
 */
int totp_check(const unsigned char *raw, size_t rawlen, const char *code,
    time_t now, uint64_t last_step, uint64_t *step);
/* Returns 1 if 'code' is exactly six ASCII digits. */
int totp_code_valid(const char *code);

#endif
