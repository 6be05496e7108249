/*
 * account.h: accounts, without HTTP (account.c). Every function works on
 * the given connection, in the transaction open there unless it says
 * otherwise, and returns what it found; none answers a request.
 */
#ifndef PARLEY_ACCOUNT_H
#define PARLEY_ACCOUNT_H

struct db;

#define ACCOUNT_EMAIL_MAX 254

/*
 * Normalises an e-mail address: trims white space, lower-cases the
 * domain. Returns 0, or -1 if it is not a plausible address.
 */
int account_email_normalize(const char *in, char out[ACCOUNT_EMAIL_MAX + 1]);

/* The account of 'email': fills its ids and returns 1; 0 if none; -1. */
int account_lookup_email(
    struct db *db, const char *email, char uid[37], char cid[37]);

/*
 * In the open tenant transaction of 'cid', creates a single-use token
 * of 'kind' for user 'uid', valid 'ttl' seconds, and queues the e-mail
 * to 'email' carrying it. Returns 0 or -1.
 */
int account_send_link(struct db *db, const char *cid, const char *uid,
    const char *email, const char *kind, int ttl);

/* Hex SHA-256 of a presented 43-character token; -1 if malformed. */
int account_token_hash(const char *tok, char hex[65]);

/*
 * Resolves an e-mailed token of 'kind' to its id and company: 1, or 0
 * for no such token (malformed ones too), -1 on error.
 */
int account_lookup_token(struct db *db, const char *kind, const char *tok,
    char tid[37], char cid[37]);

/*
 * A pending signup of a new address, valid 'ttl' seconds, in a tenant
 * transaction of its own (committed): what the company and owner will
 * be made of ('hash' the password's), and the mailed link that creates
 * them. A newer signup of the address replaces an older one. Returns 0
 * or -1.
 */
int account_signup_put(struct db *db, int ttl, const char *email,
    const char *name, const char *cname, const char *hash);

#endif
