/*
 * Unit tests: src/crypto.c (encodings, keyring), src/token.c (access
 * tokens), src/totp.c and src/password.c policy, without a server.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "password.h"
#include "tap.h"
#include "token.h"
#include "totp.h"
#include "util.h"

static const unsigned char key[40] = "0123456789abcdef0123456789abcdef0123456";

static void
test_b64(void)
{
	unsigned char out[64];
	char	      enc[64];
	int	      n;

	tap_is_int(crypto_b64url_encode(
		       (const unsigned char *)"\xfb\xff", 2, enc, sizeof(enc)),
	    3, "b64url length");
	tap_is_str(enc, "-_8", "b64url uses - and _ without padding");
	n = crypto_b64url_decode("-_8", 3, out, sizeof(out));
	tap_ok(n == 2 && out[0] == 0xfb && out[1] == 0xff, "b64url round trip");
	tap_is_int(crypto_b64url_decode("-_9", 3, out, sizeof(out)), -1,
	    "non-canonical trailing bits refused");
	tap_is_int(crypto_b64url_decode("a", 1, out, sizeof(out)), -1,
	    "impossible length refused");
	tap_is_int(crypto_b64url_decode("ab=c", 4, out, sizeof(out)), -1,
	    "padding inside refused");
	tap_is_int(crypto_b64_decode("+/8=\n", out, sizeof(out)), 2,
	    "standard base64 with padding and newline");
}

static void
test_keyring(void)
{
	struct keyring kr, kr2;
	char	       path[] = "/tmp/parley-kr-XXXXXX", err[256];
	unsigned char  out[64];
	char	      *sealed;
	FILE	      *f;
	int	       fd, n;

	fd = mkstemp(path);
	f = fdopen(fd, "w");
	fprintf(f, "# comment\nk2 %s\nk1 %s\n",
	    "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
	    "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=");
	fclose(f);
	tap_is_int(
	    keyring_load(&kr, path, err, sizeof(err)), 0, "keyring loads");
	tap_is_int(kr.n, 2, "two keys");
	sealed = keyring_encrypt(&kr, "company-a", "secret", 6);
	tap_ok(sealed != NULL && strncmp(sealed, "v1.k2.", 6) == 0,
	    "sealed with the first key, id recorded: %s", sealed);
	n = keyring_decrypt(&kr, "company-a", sealed, out, sizeof(out));
	tap_ok(n == 6 && memcmp(out, "secret", 6) == 0, "decrypts");
	tap_is_int(keyring_decrypt(&kr, "company-b", sealed, out, sizeof(out)),
	    -1, "another company's associated data: refused");
	sealed[strlen(sealed) - 2] ^= 1;
	tap_is_int(keyring_decrypt(&kr, "company-a", sealed, out, sizeof(out)),
	    -1, "tampered ciphertext: refused");
	free(sealed);
	/* Rotation: a ring whose first key is new still opens old values. */
	f = fopen(path, "w");
	fprintf(f, "k1 %s\n", "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=");
	fclose(f);
	keyring_load(&kr2, path, err, sizeof(err));
	sealed = keyring_encrypt(&kr2, "", "x", 1);
	tap_ok(keyring_decrypt(&kr, "", sealed, out, sizeof(out)) == 1,
	    "a value sealed with k1 opens in a ring that has k1 second");
	free(sealed);
	sealed = keyring_encrypt(&kr, "", "x", 1);
	tap_is_int(keyring_decrypt(&kr2, "", sealed, out, sizeof(out)), -1,
	    "a value under an unknown key id is refused");
	free(sealed);
	f = fopen(path, "w");
	fprintf(f, "k1 c2hvcnQ=\n");
	fclose(f);
	tap_is_int(keyring_load(&kr2, path, err, sizeof(err)), -1,
	    "a short key is refused");
	unlink(path);
}

static void
test_token(void)
{
	struct jwt_claims c, got;
	const char	 *why;
	char		 *tok;
	time_t		  now = 1800000000;

	memset(&c, 0, sizeof(c));
	snprintf(c.sub, sizeof(c.sub), "6f1c2d3e-1111-4a2b-9c3d-0123456789ab");
	snprintf(c.cid, sizeof(c.cid), "7f1c2d3e-1111-4a2b-9c3d-0123456789ab");
	snprintf(c.sid, sizeof(c.sid), "8f1c2d3e-1111-4a2b-9c3d-0123456789ab");
	snprintf(c.role, sizeof(c.role), "admin");
	tap_ok(ptok_issue(key, 16, "parley", "parley-api", "access", now, 900,
		   &c) == NULL,
	    "a key under 32 bytes signs nothing");
	tok =
	    ptok_issue(key, 32, "parley", "parley-api", "access", now, 900, &c);
	tap_ok(tok != NULL, "issued");
	why = ptok_verify(
	    key, 32, tok, "parley", "parley-api", "access", now, &got);
	tap_ok(why == NULL, "verifies (%s)", why ? why : "ok");
	tap_is_str(got.role, "admin", "claims read back");
	tap_is_int(got.exp, now + 900, "exp = iat + ttl");
	tap_is_str(ptok_verify(key, 32, tok, "parley", "parley-api", "access",
		       now + 900, &got),
	    "expired", "at exp: expired");
	tap_is_str(ptok_verify(key, 32, tok, "parley", "parley-widget",
		       "access", now, &got),
	    "wrong_audience", "another audience refused");
	tap_is_str(ptok_verify(key, 32, tok, "parley", "parley-api", "visitor",
		       now, &got),
	    "wrong_type", "another type refused");
	tap_is_str(ptok_verify(key + 1, 32, tok, "parley", "parley-api",
		       "access", now, &got),
	    "bad_signature", "another key refused");
	tap_is_str(ptok_verify(key, 0, tok, "parley", "parley-api", "access",
		       now, &got),
	    "bad_signature", "an empty key verifies nothing");
	tap_is_str(ptok_verify(key, 32, "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
		       "parley", "parley-api", "access", now, &got),
	    "bad_algorithm", "alg none refused before libjwt sees it");
	tap_is_str(ptok_verify(key, 32, "not a token", "parley", "parley-api",
		       "access", now, &got),
	    "bad_algorithm", "garbage refused");
	free(tok);
}

static void
test_totp(void)
{
	/* RFC 6238 test secret "12345678901234567890", SHA-1 vectors. */
	const unsigned char *s = (const unsigned char *)"12345678901234567890";
	uint64_t	     step = 0;

	tap_is_int(totp_check(s, 20, "287082", 59, 0, &step), 0,
	    "RFC 6238 vector at T=59 (8 digits 94287082, 6 digits 287082)");
	tap_is_int(step, 1, "matched step 1");
	tap_is_int(totp_check(s, 20, "287082", 59, 1, &step), -1,
	    "the same step again: refused");
	tap_is_int(totp_check(s, 20, "94287082", 59, 0, &step), -1,
	    "eight digits refused");
	tap_is_int(totp_check(s, 20, "28708", 59, 0, &step), -1,
	    "five digits refused");
	tap_is_int(totp_check(s, 20, "081804", 1111111109, 0, &step), 0,
	    "RFC 6238 vector at T=1111111109");
	tap_is_int(totp_check(s, 20, "081804", 1111111109 + 90, 0, &step), -1,
	    "three steps later: outside the window");
	tap_is_int(totp_code_valid("12a456"), 0, "letters refused");
}

static const struct {
	const char *pw, *email, *name, *why;
} policy[] = {
	{ "tangerine-orbit-velvet-42", "a@b.example", "Ann", NULL },
	{ "correct horse battery staple", NULL, NULL, NULL },
	{ "short", NULL, NULL, "too_short" },
	{ "password1234", NULL, NULL, "too_common" },
	{ "iloveyou12345", NULL, NULL, "too_common" },
	{ "zebrafinch1970", "zebrafinch@x.example", NULL,
	    "contains_personal_data" },
	{ "ümlaut-straße-größe", NULL, NULL, NULL },
	{ "ééééééééééé", NULL, NULL, "too_short" },
	{ "tangerine-orbit-velvet-42-tangerine-orbit-velvet-42-tangerine-orbit-"
	  "ve"
	  "lvet",
	    NULL, NULL, "too_long" }, /* 73 bytes: bcrypt would cut it */
};

int
main(void)
{
	size_t i;

	test_b64();
	test_keyring();
	test_token();
	test_totp();
	for (i = 0; i < nitems(policy); i++) {
		const char *why = password_policy(
		    policy[i].pw, policy[i].email, policy[i].name, 40);

		tap_is_str(why ? why : "ok",
		    policy[i].why ? policy[i].why : "ok", "policy: '%s'",
		    policy[i].pw);
	}
	return tap_done();
}
