/*
 * keys.h: for the unit tests and fuzz targets that need parleyd's keys:
 * writes jwt_key_file (the text given), a keyring and an audit key into a
 * fresh directory, loads them with keys_load() (the path parleyd takes),
 * and removes the files. Returns 0, or -1 with the reason in 'err'.
 */
#ifndef PARLEY_TEST_KEYS_H
#define PARLEY_TEST_KEYS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "server_keys.h"

/* Two keys for jwt_key_file: base64 of 48 bytes each. */
#define TEST_JWT_K0                                                            \
	"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVm"
#define TEST_JWT_K1                                                            \
	"Zm9yIGEgcm90YXRpb24sIGEgc2Vjb25kIGtleSBvZiBmb3J0eS1laWdodCBieXQ="

static int
test_keys_file(const char *path, const char *text)
{
	FILE *f;

	if ((f = fopen(path, "w")) == NULL)
		return -1;
	if (fputs(text, f) == EOF) {
		fclose(f);
		return -1;
	}
	return fclose(f) == 0 ? 0 : -1;
}

static int
test_keys_load(const char *jwt_text, char *err, size_t errlen)
{
	static struct conf c;
	char		   dir[] = "/tmp/parley-test-keys-XXXXXX";
	int		   rc = -1;

	if (mkdtemp(dir) == NULL || conf_load(&c, NULL, err, errlen) == -1) {
		snprintf(err, errlen, "setup failed");
		return -1;
	}
	snprintf(c.jwt_key_file, sizeof(c.jwt_key_file), "%s/jwt.key", dir);
	snprintf(c.keyring_file, sizeof(c.keyring_file), "%s/keyring", dir);
	snprintf(
	    c.audit_key_file, sizeof(c.audit_key_file), "%s/audit.key", dir);
	if (test_keys_file(c.jwt_key_file, jwt_text) == 0 &&
	    test_keys_file(c.keyring_file,
		"k1 MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n") == 0 &&
	    test_keys_file(c.audit_key_file,
		"YXVkaXRhdWRpdGF1ZGl0YXVkaXRhdWRpdGF1ZGl0YXVkaXQ=\n") == 0)
		rc = keys_load(&c, err, errlen);
	else
		snprintf(err, errlen, "cannot write the key files");
	unlink(c.jwt_key_file);
	unlink(c.keyring_file);
	unlink(c.audit_key_file);
	rmdir(dir);
	return rc;
}

#endif
