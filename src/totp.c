/*
 * totp.c: liboath's TOTP, with the checks it leaves to us: exactly six
 * digits (it takes the digit count from strlen) and step replay.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <liboath/oath.h>

#include "crypto.h"
#include "totp.h"

int
totp_code_valid(const char *code)
{
	int i;

	if (code == NULL)
		return 0;
	for (i = 0; i < 6; i++)
		if (code[i] < '0' || code[i] > '9')
			return 0;
	return code[6] == '\0';
}

int
totp_new_secret(
    unsigned char raw[TOTP_SECRET_BYTES], char b32[TOTP_B32_LEN + 1])
{
	char  *out = NULL;
	size_t outlen = 0;

	if (oath_init() != OATH_OK || crypto_random(raw, TOTP_SECRET_BYTES))
		return -1;
	if (oath_base32_encode((const char *)raw, TOTP_SECRET_BYTES, &out,
		&outlen) != OATH_OK ||
	    outlen != TOTP_B32_LEN) {
		free(out);
		return -1;
	}
	memcpy(b32, out, TOTP_B32_LEN);
	b32[TOTP_B32_LEN] = '\0';
	crypto_wipe(out, outlen);
	free(out);
	return 0;
}

int
totp_check(const unsigned char *raw, size_t rawlen, const char *code,
    time_t now, uint64_t last_step, uint64_t *step)
{
	uint64_t counter = 0;
	int	 pos = 0, rc;

	if (!totp_code_valid(code) || oath_init() != OATH_OK)
		return -1;
	rc = oath_totp_validate3((const char *)raw, rawlen, now,
	    OATH_TOTP_DEFAULT_TIME_STEP_SIZE, OATH_TOTP_DEFAULT_START_TIME, 1,
	    &pos, &counter, code);
	if (rc < 0 || counter <= last_step)
		return -1;
	*step = counter;
	return 0;
}
