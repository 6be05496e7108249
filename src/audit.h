/*
 * audit.h: the audit log core. One call writes one entry in the caller's
 * tenant transaction, chained to the company's previous entry with
 * HMAC-SHA256 under the audit key (kept outside the database). The chain
 * head is written to the log once the transaction commits
 * ("audit_checkpoint"), so a deleted tail can be detected too.
 *
 * Entries name what changed, never personal data or secrets: field names
 * always; old and new values only for non-personal settings.
 */
#ifndef PARLEY_AUDIT_H
#define PARLEY_AUDIT_H

#include <jansson.h>

struct ctx;

struct audit_entry {
	const char *action; /* "member.role_change" */
	const char *resource_type; /* "member" */
	const char *resource_id; /* may be NULL */
	json_t	   *fields; /* borrowed: array of field names, or NULL */
	json_t	   *changes; /* borrowed: {field: {old, new}} of
				      non-personal settings, or NULL */
	const char *actor_type; /* NULL: the caller (user or API key); or
				   "stripe", "system" */
	const char *actor_id; /* with actor_type: its id, may be NULL */
};

/*
 * Appends 'e' for the caller (ctx->who: a user or an API key; ctx->from:
 * where the request came from) in the open tenant transaction of
 * ctx->who.company_id. Returns 0 or -1.
 */
int audit_write(struct ctx *ctx, const struct audit_entry *e);

/*
 * The canonical text an entry's HMAC covers, given its stored values
 * (NULLs as NULL). Returns a new string; caller frees with free().
 * Shared with the verifier so both hash exactly the same bytes.
 */
char *audit_canonical(const char *company_id, long long seq,
    long long created_us, const char *actor_type, const char *actor_id,
    const char *action, const char *resource_type, const char *resource_id,
    json_t *fields, json_t *changes, const char *ip, const char *user_agent,
    const char *request_id);

/*
 * HMAC-SHA256 of 'prev' (32 bytes) and 'canonical' under the audit key.
 * Returns 0, or -1 if the entry is too large to hash whole.
 */
int audit_mac(const unsigned char *key, size_t keylen,
    const unsigned char prev[32], const char *canonical, unsigned char out[32]);

#endif
