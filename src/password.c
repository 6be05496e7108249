/*
 * password.c: bcrypt via crypt_rn() and the zxcvbn-based policy.
 *
 * libxcrypt prefers yescrypt, so the "$2b$" prefix is always asked for
 * explicitly. struct crypt_data is ~32 KiB: it lives on the heap.
 */
#include "config.h"

#include <crypt.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zxcvbn.h>

#include "crypto.h"
#include "password.h"

int
password_hash(const char *pw, int cost, char out[PASSWORD_HASH_MAX])
{
	struct crypt_data *cd;
	unsigned char	   rnd[16];
	char		   setting[CRYPT_GENSALT_OUTPUT_SIZE];
	const char	  *h;
	int		   rc = -1;

	if (strlen(pw) > PASSWORD_MAX_BYTES || cost < BCRYPT_MIN_COST)
		return -1;
	if ((cd = calloc(1, sizeof(*cd))) == NULL)
		return -1;
	if (crypto_random(rnd, sizeof(rnd)) == -1 ||
	    crypt_gensalt_rn("$2b$", (unsigned long)cost, (const char *)rnd,
		sizeof(rnd), setting, sizeof(setting)) == NULL)
		goto out;
	h = crypt_rn(pw, setting, cd, sizeof(*cd));
	if (h == NULL || h[0] == '*' || strlen(h) >= PASSWORD_HASH_MAX)
		goto out;
	memcpy(out, h, strlen(h) + 1);
	rc = 0;
out:
	crypto_wipe(cd, sizeof(*cd));
	free(cd);
	return rc;
}

int
password_verify(const char *pw, const char *hash)
{
	struct crypt_data *cd;
	const char	  *h;
	size_t		   len = strlen(hash);
	int		   ok = 0;

	if (strncmp(hash, "$2a$", 4) != 0 && strncmp(hash, "$2b$", 4) != 0 &&
	    strncmp(hash, "$2y$", 4) != 0)
		return 0;
	if ((cd = calloc(1, sizeof(*cd))) == NULL)
		return 0;
	h = crypt_rn(pw, hash, cd, sizeof(*cd));
	if (h != NULL && strlen(h) == len)
		ok = crypto_equal(h, hash, len);
	crypto_wipe(cd, sizeof(*cd));
	free(cd);
	return ok;
}

void
password_verify_dummy(const char *pw, int cost)
{
	static char dummy[PASSWORD_HASH_MAX];
	static int  dummy_cost;

	if (dummy_cost != cost) {
		unsigned char r[16];
		char	      rp[33];

		crypto_random(r, sizeof(r));
		crypto_hex(r, sizeof(r), rp);
		if (password_hash(rp, cost, dummy) == -1)
			return;
		dummy_cost = cost;
	}
	(void)password_verify(pw, dummy);
}

/* Counts UTF-8 code points. */
static size_t
utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* Lower-case copy of at most 'outlen' - 1 bytes. */
static void
lower(const char *in, size_t len, char *out, size_t outlen)
{
	size_t i;

	for (i = 0; i < len && i + 1 < outlen; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	out[i] = '\0';
}

const char *
password_policy(
    const char *pw, const char *email, const char *name, double min_bits)
{
	char	    words[6][128], pwl[PASSWORD_MAX_BYTES + 1];
	const char *dict[7];
	size_t	    n = 0, i;
	double	    bits;

	if (utf8_chars(pw) < PASSWORD_MIN_CHARS)
		return "too_short";
	if (strlen(pw) > PASSWORD_MAX_BYTES)
		return "too_long";
	lower(pw, strlen(pw), pwl, sizeof(pwl));
	/* Known words: the address, its parts, the name and its words. */
	if (email != NULL) {
		const char *at = strchr(email, '@');

		lower(email, strlen(email), words[n++], sizeof(words[0]));
		if (at != NULL) {
			lower(email, (size_t)(at - email), words[n++],
			    sizeof(words[0]));
			lower(at + 1, strcspn(at + 1, "."), words[n++],
			    sizeof(words[0]));
		}
	}
	if (name != NULL) {
		const char *p = name;

		while (*p != '\0' && n < 5) {
			size_t w = strcspn(p, " -.'");

			if (w >= 3)
				lower(p, w, words[n++], sizeof(words[0]));
			p += w;
			p += strspn(p, " -.'");
		}
	}
	snprintf(words[n++], sizeof(words[0]), "parley");
	for (i = 0; i < n; i++)
		dict[i] = words[i];
	dict[n] = NULL;
	/* The whole password built around a known word is refused outright. */
	for (i = 0; i + 1 < n; i++)
		if (strlen(words[i]) >= 4 && strstr(pwl, words[i]) != NULL &&
		    strlen(pwl) < strlen(words[i]) + 8) {
			crypto_wipe(pwl, sizeof(pwl));
			return "contains_personal_data";
		}
	bits = ZxcvbnMatch(pw, dict, NULL);
	crypto_wipe(pwl, sizeof(pwl));
	return bits < min_bits ? "too_common" : NULL;
}

const char *
password_policy_text(const char *reason)
{
	if (strcmp(reason, "too_short") == 0)
		return "Use at least 12 characters.";
	if (strcmp(reason, "too_long") == 0)
		return "Use at most 72 bytes: longer passwords would be cut "
		       "silently by bcrypt, so they are refused.";
	if (strcmp(reason, "contains_personal_data") == 0)
		return "The password is built on your name or e-mail address.";
	return "The password is common or easy to guess: try a few unrelated "
	       "words.";
}
