/*
 * token.h: access tokens. The only file that talks to libjwt (1.10 on
 * Debian 12), so a move to libjwt 3 touches nothing else.
 *
 * libjwt 1.10 takes the algorithm from the token header, accepts anything
 * with an empty key and checks no registered claim; so this module pins
 * HS256 before and after decoding, refuses short keys, and checks every
 * claim (presence, JSON type, iss, aud, typ, iat, nbf, exp) itself.
 */
#ifndef PARLEY_TOKEN_H
#define PARLEY_TOKEN_H

#include <stddef.h>
#include <time.h>

#define JWT_MIN_KEY 32
#define JWT_MAX_TOKEN 2048
#define JWT_LEEWAY 30 /* seconds of clock skew allowed on iat/nbf */

struct jwt_claims {
	char sub[37]; /* user id */
	char cid[37]; /* company id */
	char sid[37]; /* session id */
	char role[8];
	char jti[33];
	char cnv[37]; /* visitor tokens from a link: the one conversation */
	long iat, exp;
};

/*
 * Signs 'c' (sub, cid, sid, role, and cnv when not empty; iat/exp/jti are
 * set here from 'now' and 'ttl') as an HS256 JWT with iss 'iss', aud 'aud' and typ 'typ'. Returns
 * a new string; caller frees with free(). NULL on failure.
 */
char *ptok_issue(const unsigned char *key, size_t keylen, const char *iss,
    const char *aud, const char *typ, time_t now, long ttl,
    struct jwt_claims *c);

/*
 * Verifies 'token' and fills 'c'. Returns NULL when valid, else a stable
 * reason: "malformed", "bad_algorithm", "bad_signature", "bad_claims",
 * "wrong_audience", "wrong_issuer", "wrong_type", "expired",
 * "not_yet_valid".
 */
const char *ptok_verify(const unsigned char *key, size_t keylen,
    const char *token, const char *iss, const char *aud, const char *typ,
    time_t now, struct jwt_claims *c);

#endif
