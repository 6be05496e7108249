/*
 * test-keys.c: jwt_key_file's lines (src/server_keys.c): the first key
 * signs, every key verifies, so a rotation across hosts refuses nothing
 * made under either key; what the file may hold, and what it may not.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "contact.h"
#include "keys.h"
#include "server_keys.h"
#include "tap.h"

#define CID "11111111-1111-4111-8111-111111111111"
#define CONV "22222222-2222-4222-8222-222222222222"

/* keys_load() of 'text' as jwt_key_file refused, with 'why' in the reason. */
static int
refused(const char *text, const char *why)
{
	char err[256];

	return test_keys_load(text, err, sizeof(err)) == -1 &&
	    strstr(err, why) != NULL;
}

int
main(void)
{
	char   err[256], m0[44], m1[44], link0[CONTACT_LINK_MAX];
	char   link1[CONTACT_LINK_MAX];
	size_t len;
	time_t now = time(NULL);

	/* Before: K0 alone. */
	if (test_keys_load(TEST_JWT_K0 "\n", err, sizeof(err)) == -1)
		return printf("Bail out! keys: %s\n", err), 1;
	keys_derived_mac("parley test v1", "msg", m0);
	contact_link_make(LINK_RESUME, CID, CONV, now + 60, "", link0);
	tap_ok(
	    strlen(m0) == 43 && keys_derived_check("parley test v1", "msg", m0),
	    "one key: its MAC checks");
	tap_ok(!keys_derived_check("parley other v1", "msg", m0) &&
		!keys_derived_check("parley test v1", "msh", m0),
	    "... for its purpose and message only");
	tap_ok(keys_jwt_at(0, &len) != NULL && keys_jwt_at(1, &len) == NULL,
	    "one key: one to verify with");

	/* Step 1 of a rotation: K1 added second (verifies, signs nothing). */
	if (test_keys_load(
		TEST_JWT_K0 "\n" TEST_JWT_K1 "\n", err, sizeof(err)) == -1)
		return printf("Bail out! keys: %s\n", err), 1;
	keys_derived_mac("parley test v1", "msg", m1);
	tap_ok(strcmp(m0, m1) == 0, "K1 second: K0 still signs");

	/* Step 2: K1 first, K0 second: K1 signs, both verify. */
	if (test_keys_load("# rotated 2026-12-04\n" TEST_JWT_K1
			   "\n\n" TEST_JWT_K0 "\n",
		err, sizeof(err)) == -1)
		return printf("Bail out! keys: %s\n", err), 1;
	keys_derived_mac("parley test v1", "msg", m1);
	contact_link_make(LINK_RESUME, CID, CONV, now + 60, "", link1);
	tap_ok(strcmp(m0, m1) != 0,
	    "K1 first: K1 signs (comments and blank lines skipped)");
	tap_ok(keys_derived_check("parley test v1", "msg", m0) &&
		keys_derived_check("parley test v1", "msg", m1),
	    "... and what either key made checks");
	tap_ok(contact_link_check(LINK_RESUME, link0, "", now) == 0 &&
		contact_link_check(LINK_RESUME, link1, "", now) == 0,
	    "... a mailed link made under K0 still opens, and one under K1");
	tap_ok(keys_jwt_at(1, &len) != NULL && keys_jwt_at(2, &len) == NULL,
	    "two keys to verify with");

	/* Step 3: K0 removed: what it made is refused. */
	if (test_keys_load(TEST_JWT_K1 "\n", err, sizeof(err)) == -1)
		return printf("Bail out! keys: %s\n", err), 1;
	tap_ok(!keys_derived_check("parley test v1", "msg", m0) &&
		keys_derived_check("parley test v1", "msg", m1),
	    "K0 removed: its MAC is refused, K1's checks");
	tap_ok(contact_link_check(LINK_RESUME, link0, "", now) == -1 &&
		contact_link_check(LINK_RESUME, link1, "", now) == 0,
	    "... a link made under K0 no longer opens");
	tap_ok(!keys_derived_check("parley test v1", "msg", NULL) &&
		!keys_derived_check("parley test v1", "msg", "short"),
	    "a missing or short MAC is refused");

	/* What the file may not hold: parleyd refuses to start (or reload). */
	tap_ok(refused("", "no key"), "an empty file is refused");
	tap_ok(refused("# only a comment\n\n", "no key"),
	    "... and one of comments only");
	tap_ok(refused(TEST_JWT_K0 "\nMTIzNDU2Nzg5MDEyMzQ1Ng==\n", "line 2"),
	    "a key under 32 bytes is refused, naming its line");
	tap_ok(refused(TEST_JWT_K0 "\n" TEST_JWT_K1 "\n" TEST_JWT_K0
				   "\n" TEST_JWT_K1 "\n" TEST_JWT_K0 "\n",
		   "more than 4"),
	    "a fifth key is refused");
	tap_ok(refused(TEST_JWT_K0 "\nnot base64\n", "line 2"),
	    "a file whose first key is good and second bad is refused whole");
	tap_ok(keys_derived_check("parley test v1", "msg", m1) &&
		!keys_derived_check("parley test v1", "msg", m0),
	    "... and changes nothing loaded before (K0 of it was not taken)");
	{
		/* A comment longer than a line buffer, ending in what looks
		 * like a key: never a key. */
		char long_line[1200];

		snprintf(long_line, sizeof(long_line), "#%600s%s", "",
		    TEST_JWT_K1 "\n" TEST_JWT_K0 "\n");
		tap_ok(refused(long_line, "line 1 is too long"),
		    "a line over 511 characters is refused, not read in "
		    "pieces");
	}
	tap_ok(test_keys_load("  " TEST_JWT_K1 " \r\n\t" TEST_JWT_K0 "\r\n",
		   err, sizeof(err)) == 0,
	    "blanks around a key and CRLF line ends are taken");
	keys_derived_mac("parley test v1", "msg", m0);
	tap_ok(strcmp(m0, m1) == 0, "... the keys read as written");
	tap_ok(refused("c2hvcnQ=\n", "32 to 191 bytes"),
	    "a short key's refusal says the bounds");
	tap_ok(refused(TEST_JWT_K0 " trailing words\n", "line 1"),
	    "a key line with more than the key on it is refused");
	return tap_done();
}
