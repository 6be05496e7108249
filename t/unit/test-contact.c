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

#include "conf.h"
#include "contact.h"
#include "server_keys.h"
#include "tap.h"

#define CID "11111111-1111-4111-8111-111111111111"
#define CONV "22222222-2222-4222-8222-222222222222"
#define OTHER "33333333-3333-4333-8333-333333333333"

/* File 'name' in 'dir' holding 'text'; its path in 'out'. */
static void
key_file(
    const char *dir, const char *name, const char *text, char *out, size_t len)
{
	FILE *f;

	snprintf(out, len, "%s/%s", dir, name);
	if ((f = fopen(out, "w")) == NULL || fputs(text, f) == EOF ||
	    fclose(f) != 0) {
		printf("Bail out! cannot write %s\n", out);
		exit(1);
	}
}

int
main(void)
{
	static struct conf c;
	char		   dir[] = "/tmp/parley-test-contact-XXXXXX", err[256];
	char		   tok[CONTACT_LINK_MAX], t2[CONTACT_LINK_MAX];
	char		   cid[37], conv[37];
	time_t		   now = time(NULL), exp;

	if (mkdtemp(dir) == NULL || conf_load(&c, NULL, err, sizeof(err)) == -1)
		return printf("Bail out! setup: %s\n", err), 1;
	key_file(dir, "jwt.key",
	    "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVm"
	    "\n",
	    c.jwt_key_file, sizeof(c.jwt_key_file));
	key_file(dir, "keyring",
	    "k1 MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n", c.keyring_file,
	    sizeof(c.keyring_file));
	key_file(dir, "audit.key",
	    "YXVkaXRhdWRpdGF1ZGl0YXVkaXRhdWRpdGF1ZGl0YXVkaXQ=\n",
	    c.audit_key_file, sizeof(c.audit_key_file));
	if (keys_load(&c, err, sizeof(err)) == -1)
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
	unlink(c.jwt_key_file);
	unlink(c.keyring_file);
	unlink(c.audit_key_file);
	rmdir(dir);
	return tap_done();
}
