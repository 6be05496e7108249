/*
 * mfa.h: the TOTP second factor and recovery codes, without HTTP
 * (mfa.c). Database functions work in the open tenant transaction of
 * company 'cid'.
 */
#ifndef PARLEY_MFA_H
#define PARLEY_MFA_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct db;

#define MFA_RECOVERY_CODES 10
#define MFA_RECOVERY_LEN 20 /* "abcd-efgh-ijkm-npqr" and its NUL */

/*
 * Checks a second factor for user 'uid': a six-digit TOTP code against
 * 'secret_enc' (each time step once, after 'last_step') or an unused
 * recovery code, which it spends. Returns 1 if accepted, 0 if not, -1
 * on error; sets '*recovery'.
 */
int mfa_verify(struct db *db, const char *cid, const char *uid,
    const char *secret_enc, const char *last_step, const char *code,
    int *recovery);

/*
 * Checks TOTP 'code' against the sealed secret of company 'cid' after
 * step 'last'; fills 'step'. Returns 1 if right, 0 if not, -1 on error.
 */
int mfa_totp_ok(const char *cid, const char *sealed, const char *last,
    const char *code, uint64_t *step);

/* The otpauth:// URI of secret 'b32' for 'account', into 'out'. */
void mfa_otpauth_uri(
    const char *account, const char *b32, char *out, size_t len);

/*
 * 'text' as a QR code (libqrencode, error correction level M): a JSON
 * array with one string per row of modules, "1" dark and "0" light, no
 * quiet zone. Returns a new array (caller json_decref()s), or NULL on
 * failure. libqrencode's modules are wiped before they are freed (the
 * text is a secret).
 */
json_t *mfa_qr_rows(const char *text);

/* Deletes the user's recovery codes. Returns 0 or -1. */
int mfa_recovery_clear(struct db *db, const char *cid, const char *uid);

/*
 * Replaces the user's recovery codes with ten new ones, written into
 * 'codes' to be shown once. Returns 0 or -1.
 */
int mfa_recovery_new(struct db *db, const char *cid, const char *uid,
    char codes[MFA_RECOVERY_CODES][MFA_RECOVERY_LEN]);

#endif
