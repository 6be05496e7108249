/*
 * test-contact.c: the e-mailed links of offline mode (src/contact.c):
 * signed per purpose, bound to the address a confirmation was sent to,
 * refused once expired, and refused when any part is changed.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "contact.h"
#include "keys.h"
#include "tap.h"

#define CID "11111111-1111-4111-8111-111111111111"
#define CONV "22222222-2222-4222-8222-222222222222"
#define OTHER "33333333-3333-4333-8333-333333333333"

int
main(void)
{
	char   err[256], tok[CONTACT_LINK_MAX], t2[CONTACT_LINK_MAX];
	char   cid[37], conv[37];
	time_t now = time(NULL), exp;

	if (test_keys_load(TEST_JWT_K0 "\n", err, sizeof(err)) == -1)
		return printf("Bail out! keys: %s\n", err), 1;

	contact_link_make(LINK_RESUME, CID, CONV, now + 60, "", tok);
	tap_ok(contact_link_parse(tok, cid, conv, &exp) == 0 &&
		strcmp(cid, CID) == 0 && strcmp(conv, CONV) == 0 &&
		exp == now + 60,
	    "a link names its company, conversation and expiry");
	tap_ok(contact_link_check(LINK_RESUME, tok, "", now) == 0,
	    "a resume link is valid before it expires");
	tap_ok(contact_link_check(LINK_RESUME, tok, "", now + 61) == 1,
	    "... and expired after (1: valid but expired)");
	contact_link_make(LINK_RESUME, CID, CONV, now - 1, "", t2);
	tap_ok(contact_link_check(LINK_RESUME, t2, "", now) == 1,
	    "a link made to expire a second ago is expired");
	tap_ok(contact_link_check(LINK_CONFIRM, tok, "", now) == -1,
	    "a resume link is no confirmation link");
	contact_link_make(
	    LINK_CONFIRM, CID, CONV, now + 60, "vera@visitor.example", t2);
	tap_ok(contact_link_check(
		   LINK_CONFIRM, t2, "vera@visitor.example", now) == 0,
	    "a confirmation link is valid for the address it was sent to");
	tap_ok(contact_link_check(
		   LINK_CONFIRM, t2, "eve@visitor.example", now) == -1,
	    "... and for no other address");
	/* Any part changed: refused. */
	snprintf(t2, sizeof(t2), "%s", tok);
	memcpy(t2 + 37, OTHER, 36);
	tap_ok(contact_link_check(LINK_RESUME, t2, "", now) == -1,
	    "another conversation under the same signature is refused");
	snprintf(t2, sizeof(t2), "%s", tok);
	t2[74] = t2[74] == '9' ? '8' : '9';
	tap_ok(contact_link_check(LINK_RESUME, t2, "", now) == -1,
	    "a changed expiry is refused");
	snprintf(t2, sizeof(t2), "%s", tok);
	t2[strlen(t2) - 1] = t2[strlen(t2) - 1] == 'A' ? 'B' : 'A';
	tap_ok(contact_link_check(LINK_RESUME, t2, "", now) == -1,
	    "a changed signature is refused");
	tap_ok(contact_link_parse("not.a.link", cid, conv, NULL) == -1 &&
		contact_link_parse(NULL, cid, conv, NULL) == -1,
	    "a malformed token is refused before anything else");
	return tap_done();
}
