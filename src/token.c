/*
 * token.c: HS256 access tokens over libjwt 1.10, every claim checked here.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <jwt.h>

#include "crypto.h"
#include "db.h"
#include "token.h"

char *
ptok_issue(const unsigned char *key, size_t keylen, const char *iss,
    const char *aud, const char *typ, time_t now, long ttl,
    struct jwt_claims *c)
{
	jwt_t	     *j = NULL;
	char	     *out = NULL;
	unsigned char r[16];

	if (keylen < JWT_MIN_KEY || crypto_random(r, sizeof(r)) == -1)
		return NULL;
	crypto_hex(r, sizeof(r), c->jti);
	c->iat = (long)now;
	c->exp = (long)now + ttl;
	if (jwt_new(&j) != 0)
		return NULL;
	if (jwt_add_grant(j, "iss", iss) == 0 &&
	    jwt_add_grant(j, "aud", aud) == 0 &&
	    jwt_add_grant(j, "typ", typ) == 0 &&
	    jwt_add_grant(j, "sub", c->sub) == 0 &&
	    jwt_add_grant(j, "cid", c->cid) == 0 &&
	    jwt_add_grant(j, "sid", c->sid) == 0 &&
	    jwt_add_grant(j, "role", c->role) == 0 &&
	    jwt_add_grant(j, "jti", c->jti) == 0 &&
	    (c->cnv[0] == '\0' || jwt_add_grant(j, "cnv", c->cnv) == 0) &&
	    jwt_add_grant_int(j, "iat", c->iat) == 0 &&
	    jwt_add_grant_int(j, "exp", c->exp) == 0 &&
	    jwt_set_alg(j, JWT_ALG_HS256, key, (int)keylen) == 0)
		out = jwt_encode_str(j);
	jwt_free(j);
	return out;
}

/* Checks the header segment says exactly HS256 before libjwt sees it. */
static int
header_is_hs256(const char *token)
{
	unsigned char buf[256];
	const char   *dot = strchr(token, '.');
	json_t	     *h;
	int	      n, ok = 0;

	if (dot == NULL)
		return 0;
	n = crypto_b64url_decode(
	    token, (size_t)(dot - token), buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	if ((h = json_loadb((const char *)buf, (size_t)n,
		 JSON_REJECT_DUPLICATES, NULL)) == NULL)
		return 0;
	ok = json_is_string(json_object_get(h, "alg")) &&
	    strcmp(json_string_value(json_object_get(h, "alg")), "HS256") == 0;
	json_decref(h);
	return ok;
}

/* Decodes the middle segment of 'token' as a JSON object, or NULL. */
static json_t *
payload_json(const char *token)
{
	unsigned char buf[JWT_MAX_TOKEN];
	const char   *a = strchr(token, '.'), *b;
	json_t	     *j;
	int	      n;

	if (a == NULL || (b = strchr(a + 1, '.')) == NULL)
		return NULL;
	n = crypto_b64url_decode(a + 1, (size_t)(b - a - 1), buf, sizeof(buf));
	if (n <= 0)
		return NULL;
	j = json_loadb(
	    (const char *)buf, (size_t)n, JSON_REJECT_DUPLICATES, NULL);
	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static int
copy_str(json_t *g, const char *k, char *out, size_t outlen)
{
	json_t *v = json_object_get(g, k);

	if (!json_is_string(v) || json_string_length(v) >= outlen ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return -1;
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

static int
str_is(json_t *g, const char *k, const char *want)
{
	json_t *v = json_object_get(g, k);

	return json_is_string(v) && strcmp(json_string_value(v), want) == 0;
}

const char *
ptok_verify(const unsigned char *key, size_t keylen, const char *token,
    const char *iss, const char *aud, const char *typ, time_t now,
    struct jwt_claims *c)
{
	jwt_t	   *j = NULL;
	json_t	   *g = NULL, *v;
	const char *why = "bad_claims";
	size_t	    len;

	memset(c, 0, sizeof(*c));
	if (keylen < JWT_MIN_KEY)
		return "bad_signature"; /* never verify with a weak key */
	len = strnlen(token, JWT_MAX_TOKEN + 1);
	if (len == 0 || len > JWT_MAX_TOKEN)
		return "malformed";
	if (!header_is_hs256(token))
		return "bad_algorithm";
	if (jwt_decode(&j, token, key, (int)keylen) != 0 || j == NULL)
		return "bad_signature";
	if (jwt_get_alg(j) != JWT_ALG_HS256) {
		why = "bad_algorithm";
		goto out;
	}
	/*
	 * The signature is good: read the claims from the payload segment
	 * ourselves (strict JSON, duplicates refused) rather than through
	 * libjwt's re-serialisation.
	 */
	if ((g = payload_json(token)) == NULL)
		goto out;
	if (copy_str(g, "sub", c->sub, sizeof(c->sub)) == -1 ||
	    copy_str(g, "cid", c->cid, sizeof(c->cid)) == -1 ||
	    copy_str(g, "sid", c->sid, sizeof(c->sid)) == -1 ||
	    copy_str(g, "role", c->role, sizeof(c->role)) == -1 ||
	    copy_str(g, "jti", c->jti, sizeof(c->jti)) == -1 ||
	    !db_uuid_valid(c->sub) || !db_uuid_valid(c->cid) ||
	    !db_uuid_valid(c->sid))
		goto out;
	/* Optional: a token that opens one conversation only. */
	if (json_object_get(g, "cnv") != NULL &&
	    (copy_str(g, "cnv", c->cnv, sizeof(c->cnv)) == -1 ||
		!db_uuid_valid(c->cnv)))
		goto out;
	if (!json_is_integer(v = json_object_get(g, "iat")))
		goto out;
	c->iat = (long)json_integer_value(v);
	if (!json_is_integer(v = json_object_get(g, "exp")))
		goto out;
	c->exp = (long)json_integer_value(v);
	if ((v = json_object_get(g, "nbf")) != NULL &&
	    (!json_is_integer(v) || json_integer_value(v) > now + JWT_LEEWAY)) {
		why = "not_yet_valid";
		goto out;
	}
	if (!str_is(g, "iss", iss)) {
		why = "wrong_issuer";
		goto out;
	}
	if (!str_is(g, "aud", aud)) {
		why = "wrong_audience";
		goto out;
	}
	if (!str_is(g, "typ", typ)) {
		why = "wrong_type";
		goto out;
	}
	if (c->iat > now + JWT_LEEWAY) {
		why = "not_yet_valid";
		goto out;
	}
	if (c->exp <= now) {
		why = "expired";
		goto out;
	}
	why = NULL;
out:
	json_decref(g);

	jwt_free(j);
	if (why != NULL)
		memset(c, 0, sizeof(*c));
	return why;
}
