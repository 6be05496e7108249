/*
 * api_invitations.c: inviting people into the company. An invitation is
 * a single-use token (SHA-256 stored, 7 days) e-mailed by the jobs
 * process; accepting it creates the user with the invited role in that
 * company and starts a session. Creating and revoking are audited (the
 * address itself stays out of the audit log: it is personal data).
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "api.h"
#include "handler.h"
#include "resources.h"
#include "auth.h"
#include "conf.h"
#include "crypto.h"
#include "db.h"
#include "plans.h"
#include "ratelimit.h"
#include "security_events.h"
#include "job_queue.h"
#include "server_keys.h"
#include "password.h"
#include "session.h"
#include "util.h"
#include "validate.h"

#define INVITATION_TTL (7 * 24 * 3600)

static struct db_stmt q_lookup_email_inv = { "inv_lookup_email",
	"SELECT user_id FROM parley_lookup_user_by_email($1)", 1, DB_RETRY_SAFE,
	0 };
/* Row security keeps this to the inviting company's own members. */
static struct db_stmt q_member_email = { "inv_member_email",
	"SELECT 1 FROM users WHERE company_id = $2 AND lower(email) = "
	"lower($1)",
	2, 0, 0 };
static struct db_stmt q_inv_new = { "invitation_new",
	"INSERT INTO invitations (company_id, email, role, token_hash, "
	"invited_by, expires_at) VALUES ($1, $2, $3, decode($4, 'hex'), $5, "
	"now() + make_interval(secs => $6::integer)) RETURNING {{Invitation}}",
	6, 0, 0 };
static struct db_stmt q_inv_list = { "invitation_list",
	"SELECT {{Invitation}} FROM invitations WHERE "
	"company_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND "
	"expires_at > now() ORDER BY created_at DESC LIMIT 500",
	1, 0, 0 };
static struct db_stmt q_inv_revoke = { "invitation_revoke",
	"UPDATE invitations SET revoked_at = now() WHERE company_id = $1 AND "
	"id = $2 AND accepted_at IS NULL AND revoked_at IS NULL",
	2, 0, 0 };
static struct db_stmt q_inv_lookup = { "invitation_lookup",
	"SELECT invitation_id, company_id FROM "
	"parley_lookup_invitation(decode($1, 'hex'))",
	1, DB_RETRY_SAFE, 0 };
static struct db_stmt q_inv_use = { "invitation_use",
	"SELECT email, role, expires_at > now() AND accepted_at IS NULL AND "
	"revoked_at IS NULL AS usable FROM invitations WHERE id = $1 AND "
	"company_id = $2 "
	"FOR UPDATE",
	2, 0, 0 };
static struct db_stmt q_inv_accepted = { "invitation_accepted",
	"UPDATE invitations SET accepted_at = now() WHERE id = $1 AND "
	"company_id = $2",
	2, 0, 0 };
static struct db_stmt q_user_add = { "user_add",
	"INSERT INTO users (company_id, email, name, role, password_hash, "
	"email_verified_at) VALUES ($1, $2, $3, $4, $5, now()) RETURNING id",
	5, 0, 0 };

/*
 * Every invitation is counted, revoked ones included, so no loop of
 * invite and revoke floods a mailbox: on the inviting company's budget
 * and on its budget for the address (429 past either: what this company
 * did, nothing else), and on the address's budget from all companies.
 * Past that one the invitation is made and answered like any other but
 * not mailed: another company's invitations are no business of this one.
 * Returns 1 to mail it, 0 not to, HTTP_ANSWERED after answering 429 (or 503).
 */
static int
invite_budget(struct request *req, struct ctx *ctx, const char *email)
{
	const struct conf *cfg = ctx->conf;
	char   addr[ACCOUNT_EMAIL_MAX + 1], caddr[ACCOUNT_EMAIL_MAX + 40];
	char   name[ACCOUNT_EMAIL_MAX + 64];
	size_t i;
	int    r;

	for (i = 0; i < sizeof(addr) - 1 && email[i] != '\0'; i++)
		addr[i] = (char)tolower((unsigned char)email[i]);
	addr[i] = '\0';
	snprintf(caddr, sizeof(caddr), "%s:%s", ctx->who.company_id, addr);
	if (api_limit(req, ctx, "invite:company", ctx->who.company_id,
		cfg->invite_max_per_company,
		cfg->invite_window) == HTTP_ANSWERED ||
	    api_limit(req, ctx, "invite:caddr", caddr,
		cfg->invite_max_per_address,
		cfg->invite_window) == HTTP_ANSWERED)
		return HTTP_ANSWERED;
	snprintf(name, sizeof(name), "invite:addr:%s", addr);
	if ((r = ratelimit_hit(ctx->db, name, cfg->invite_max_per_address,
		 cfg->invite_window, 1)) < 0) {
		api_unavailable(req); /* fail closed */
		return HTTP_ANSWERED;
	}
	return r == 0;
}

int
h_invitation_create(struct request *req, struct ctx *ctx)
{
	struct plan_refusal refusal;
	struct verr	    err = { .field = "email", .code = "format" };
	char	      email[ACCOUNT_EMAIL_MAX + 1], tok[CRYPTO_TOKEN_LEN + 1];
	char	      hex[65], ttl[16], id[37];
	unsigned char h[32];
	const char   *p[6];
	char	     *sealed = NULL;
	json_t	     *job = NULL, *fields = NULL, *o = NULL;
	PGresult     *res;
	enum role     role;
	int	      mail, rc = -1;

	role = auth_role_parse(api_body_str(req, "role"));
	if (account_email_normalize(api_body_str(req, "email"), email) == -1)
		return validate_problem(req, &err);
	if (role == ROLE_OWNER && ctx->who.role != ROLE_OWNER)
		return api_problem(req, 403, "owner_required",
		    "Only an owner can invite an owner");
	if ((rc = plan_check(ctx, PLAN_MEMBERS, &refusal)) != 0)
		return rc == 1 ? api_plan_refused(req, &refusal) : -1;
	rc = -1;
	if ((mail = invite_budget(req, ctx, email)) == HTTP_ANSWERED)
		return 0;
	/*
	 * Only the company's own members are refused here: whether the
	 * address has an account in another company is not this company's
	 * to learn. The invitee is told at accept time.
	 */
	p[0] = email;
	p[1] = ctx->who.company_id;
	if ((res = db_exec(ctx->db, &q_member_email, p)) == NULL)
		return -1;
	if (PQntuples(res) > 0) {
		PQclear(res);
		return api_problem(req, 409, "already_member",
		    "This address belongs to a member of this company");
	}
	PQclear(res);
	if (crypto_token(tok, h) == -1)
		return -1;
	crypto_hex(h, sizeof(h), hex);
	snprintf(ttl, sizeof(ttl), "%d", INVITATION_TTL);
	p[0] = ctx->who.company_id;
	p[1] = email;
	p[2] = auth_role_name(role);
	p[3] = hex;
	p[4] = ctx->who.user_id;
	p[5] = ttl;
	if ((res = db_exec(ctx->db, &q_inv_new, p)) == NULL) {
		if (strcmp(db_last_sqlstate(ctx->db), "23505") == 0)
			rc = api_problem(req, 409, "already_invited",
			    "An open invitation for this address exists");
		goto out;
	}
	snprintf(id, sizeof(id), "%s", row_get(res, 0, "id"));
	o = row_json(&row_invitation, res, 0);
	PQclear(res);
	if ((sealed = keyring_encrypt(
		 keys_ring(), ctx->who.company_id, tok, strlen(tok))) == NULL)
		goto out;
	/* Who invited is read when the mail goes out (src/jobs.c). */
	job = json_pack("{s:s,s:s,s:s,s:s}", "to", email, "template",
	    "invitation", "token_enc", sealed, "invited_by", ctx->who.user_id);
	fields = json_pack("[s,s]", "email", "role");
	if (job == NULL || o == NULL ||
	    (mail &&
		jobs_enqueue(ctx->db, "email", ctx->who.company_id, job) ==
		    -1) ||
	    api_audit(req, ctx, id, fields, NULL) == -1 ||
	    db_commit(ctx->db) == -1)
		goto out;
	rc = http_send_json(req, 201, o);
out:
	crypto_wipe(tok, sizeof(tok));
	free(sealed);
	json_decref(job);
	json_decref(fields);
	json_decref(o);
	return rc;
}

int
h_invitation_list(struct request *req, struct ctx *ctx)
{
	const char *p[1] = { ctx->who.company_id };

	return api_list(req, ctx, &q_inv_list, p);
}

int
h_invitation_delete(struct request *req, struct ctx *ctx)
{
	const char *p[2] = { ctx->who.company_id, router_param(req, "id") };

	return api_delete(req, ctx, &q_inv_revoke, p);
}

static int
email_elsewhere(struct request *req)
{
	return http_send_problem(req, 409, "email_taken",
	    "This address already has an account",
	    "The invited address already belongs to an account, in this or "
	    "another company, and an address can belong to one account only. "
	    "Sign in with it, or ask to be invited at another address.",
	    NULL, NULL);
}

int
h_invitation_accept(struct request *req, struct ctx *ctx)
{
	const struct conf *cfg = ctx->conf;
	char		   hex[65], iid[37], cid[37], uid[37], email[255];
	char		   role[8], hash[PASSWORD_HASH_MAX];
	const char	  *name, *pw, *why, *p[5];
	PGresult	  *res;
	json_t		  *tokens = NULL, *none = NULL, *joined = NULL;
	int		   n, rc = -1;

	if (api_addr_limit(req, ctx, "register:ip", cfg->register_max_per_ip,
		cfg->register_window) == HTTP_ANSWERED)
		return 0;
	name = api_body_str(req, "name");
	pw = api_body_str(req, "password");
	if (account_token_hash(api_body_str(req, "token"), hex) == -1)
		goto bad;
	p[0] = hex;
	if ((res = db_exec(ctx->db, &q_inv_lookup, p)) == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		goto bad;
	}
	snprintf(iid, sizeof(iid), "%s", row_get(res, 0, "invitation_id"));
	snprintf(cid, sizeof(cid), "%s", row_get(res, 0, "company_id"));
	PQclear(res);
	if (db_tenant_begin(ctx->db, cid, NULL, NULL, NULL) == -1)
		return api_unavailable(req);
	p[0] = iid;
	p[1] = cid;
	if ((res = db_exec(ctx->db, &q_inv_use, p)) == NULL)
		return -1;
	if (PQntuples(res) != 1 || !row_bool(res, 0, "usable")) {
		PQclear(res);
		db_rollback(ctx->db);
		goto bad;
	}
	snprintf(email, sizeof(email), "%s", row_get(res, 0, "email"));
	snprintf(role, sizeof(role), "%s", row_get(res, 0, "role"));
	PQclear(res);
	/*
	 * The holder of the token reads the address's mail, so telling
	 * them the address is taken reveals nothing they could not learn
	 * by signing in. The invitation stays open.
	 */
	p[0] = email;
	if ((res = db_exec(ctx->db, &q_lookup_email_inv, p)) == NULL)
		return -1;
	n = PQntuples(res);
	PQclear(res);
	if (n > 0) {
		db_rollback(ctx->db);
		return email_elsewhere(req);
	}
	if ((why = password_policy(pw, email, name, cfg->password_min_bits))) {
		db_rollback(ctx->db); /* the invitation stays usable */
		return api_weak_password(req, "password", why);
	}
	if (password_hash(pw, cfg->bcrypt_cost, hash) == -1)
		return -1;
	p[0] = cid;
	p[1] = email;
	p[2] = name;
	p[3] = role;
	p[4] = hash;
	if ((res = db_exec(ctx->db, &q_user_add, p)) == NULL) {
		if (strcmp(db_last_sqlstate(ctx->db), "23505") == 0)
			rc = email_elsewhere(req);
		goto out;
	}
	snprintf(uid, sizeof(uid), "%s", row_get(res, 0, "id"));
	PQclear(res);
	p[0] = iid;
	p[1] = cid;
	if ((res = db_exec(ctx->db, &q_inv_accepted, p)) == NULL)
		goto out;
	PQclear(res);
	/* The new member is the actor of their own joining. */
	ctx->who.kind = AUTH_USER;
	memcpy(ctx->who.company_id, cid, sizeof(cid));
	memcpy(ctx->who.user_id, uid, sizeof(uid));
	/* Who joined, named by the entry's resource: no field names. */
	if ((none = json_array()) == NULL ||
	    (tokens = session_start(ctx, cid, uid, role)) == NULL ||
	    api_audit(req, ctx, uid, none, NULL) == -1 ||
	    (joined = json_pack("{s:s}", "role", role)) == NULL ||
	    event_record(ctx, cid, uid, "invitation_accepted", joined) == -1 ||
	    db_commit(ctx->db) == -1)
		goto out;
	rc = api_send_tokens(req, ctx, 201, tokens);
	tokens = NULL; /* taken */
out:
	crypto_wipe(hash, sizeof(hash));
	json_decref(none);
	json_decref(joined);
	json_decref(tokens);
	return rc;
bad:
	return api_problem(req, 400, "invalid_token",
	    "This invitation is invalid, used, revoked or expired");
}
