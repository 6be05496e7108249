/*
 * billing.c: what a verified Stripe event means for a company's billing
 * (billing.h), without HTTP. The event id is stored, unique, in the
 * transaction of its effect, so a redelivery changes nothing; a
 * subscription event older than the last one applied is recorded but
 * not applied (stripe_order()); each effect is audited with Stripe as
 * the actor.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "audit.h"
#include "billing.h"
#include "conf.h"
#include "crypto.h"
#include "ctx.h"
#include "db.h"
#include "log.h"
#include "row.h"
#include "stripe.h"

static struct db_stmt	 q_customer = { "stripe_customer",
	   "SELECT company_id FROM parley_lookup_stripe_customer($1)", 1,
	   DB_RETRY_SAFE, 0 };
static struct db_stmt	 q_event_new = { "stripe_event_new",
	   "INSERT INTO stripe_events (event_id, company_id, type, created, "
	      "applied) VALUES ($1, $2, $3, $4::bigint, $5::boolean) ON CONFLICT "
	      "(event_id) DO NOTHING RETURNING event_id",
	   5, 0, 0 };
static struct db_stmt	 q_company_billing = { "stripe_company",
	   "SELECT billing_event_at, coalesce(stripe_customer_id, '') AS cus, "
	      "coalesce(stripe_subscription_id, '') AS sub, "
	      "coalesce(subscription_status, '') AS status, billing_state_at FROM "
	      "companies WHERE id = $1 FOR UPDATE",
	   1, 0, 0 };
static const char *const statuses[] = { "incomplete", "incomplete_expired",
	"trialing", "active", "past_due", "canceled", "unpaid", "paused" };
/*
 * $2 plan, $3 customer, $4 subscription, $5 status, $6 billing state,
 * $7 subscription event time, $8 checkout or invoice event time; NULL
 * keeps a column. Another subscription restarts its clock.
 */
static struct db_stmt q_company_set = { "stripe_company_set",
	"UPDATE companies SET plan = coalesce((SELECT id FROM plans WHERE id = "
	"$2), plan), stripe_customer_id = coalesce($3, stripe_customer_id), "
	"billing_event_at = CASE WHEN $4 IS DISTINCT FROM "
	"stripe_subscription_id AND $4 IS NOT NULL THEN coalesce($7::bigint, "
	"0) ELSE greatest(billing_event_at, coalesce($7::bigint, 0)) END, "
	"stripe_subscription_id = coalesce($4, stripe_subscription_id), "
	"subscription_status = coalesce($5, subscription_status), "
	"billing_state = coalesce($6, billing_state), billing_state_at = "
	"greatest(billing_state_at, coalesce($8::bigint, 0)), updated_at = "
	"now() WHERE id = $1",
	8, 0, 0 };

/* A string member of 'o', or NULL. Borrowed. */
static const char *
str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* Stripe's ids: prefix_ then letters and digits. */
static int
id_ok(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);

	/* Short enough for the audit log's actor id (64). */
	return s != NULL && strncmp(s, prefix, n) == 0 && strlen(s) > n &&
	    strlen(s) <= 60 &&
	    strspn(s + n,
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ012345678"
		"9") == strlen(s + n);
}

/* A plan name as the metadata carries it, or NULL. */
static const char *
plan_of(json_t *obj)
{
	const char *p = str(json_object_get(obj, "metadata"), "plan");

	if (p == NULL || strlen(p) < 1 || strlen(p) > 32 ||
	    strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(p))
		return NULL;
	return p;
}

/* The company's billing columns, read and locked. */
struct billing_row {
	long long last; /* created of the last subscription event applied */
	long long state_at; /* ... of the last checkout or invoice event */
	char	  cus[112], sub[112];
	int	  canceled;
	int	  ended; /* canceled or incomplete_expired */
};

/*
 * Opens the tenant transaction of ctx->who.company_id and reads 'b'.
 * Returns 1, 0 when there is no such company (no transaction left open),
 * or -1.
 */
static int
company_billing(struct ctx *ctx, struct billing_row *b)
{
	const char *p[1] = { ctx->who.company_id };
	PGresult   *res = NULL;

	if (db_tenant_begin(ctx->db, p[0], &q_company_billing, p, &res) == -1)
		return -1;
	if (res == NULL || PQntuples(res) != 1) {
		PQclear(res);
		db_rollback(ctx->db);
		return 0;
	}
	b->last = row_int(res, 0, "billing_event_at");
	snprintf(b->cus, sizeof(b->cus), "%s", row_get(res, 0, "cus"));
	snprintf(b->sub, sizeof(b->sub), "%s", row_get(res, 0, "sub"));
	b->canceled = strcmp(row_get(res, 0, "status"), "canceled") == 0;
	b->ended = b->canceled ||
	    strcmp(row_get(res, 0, "status"), "incomplete_expired") == 0;
	b->state_at = row_int(res, 0, "billing_state_at");
	PQclear(res);
	return 1;
}

/*
 * Subscription 'sub' as Stripe has it now, or NULL with '*err' (see
 * stripe_call(); "database" too), logged.
 */
static json_t *
current_subscription(struct ctx *ctx, const char *sub, const char **err)
{
	char	sealed[1024] = "", path[160];
	json_t *o = NULL;

	*err = "database";
	if (stripe_key_sealed(ctx->db, sealed, sizeof(sealed)) != -1) {
		snprintf(path, sizeof(path), "/v1/subscriptions/%s", sub);
		o = stripe_call(ctx->conf, sealed, "GET", path, NULL, err);
		if (o != NULL &&
		    (json_string_value(json_object_get(o, "id")) == NULL ||
			strcmp(json_string_value(json_object_get(o, "id")),
			    sub) != 0)) {
			json_decref(o);
			o = NULL;
			*err = "bad_answer";
		}
	}
	crypto_wipe(sealed, sizeof(sealed));
	if (o == NULL)
		log_event(
		    LOG_WARN, "stripe_tie_unresolved", LOG_S("reason", *err));
	return o;
}

enum billing_outcome
billing_event(struct ctx *ctx, json_t *event)
{
	const char *id, *type, *cid = NULL, *p[8] = { NULL };
	const char *cust, *sub, *status = NULL, *state = NULL, *plan = NULL;
	char	    company[37], created[24], evat[24] = "";
	struct billing_row   b;
	size_t		     k;
	int		     known;
	struct audit_entry   e = { 0 };
	json_t		    *obj, *changes = NULL, *fetched = NULL;
	PGresult	    *res = NULL;
	long long	     ts;
	int		     subscription_event, other_sub, apply = 1;
	enum billing_outcome rc = BILLING_ERROR;
	enum stripe_order    order;

	id = str(event, "id");
	type = str(event, "type");
	obj = json_object_get(json_object_get(event, "data"), "object");
	ts = json_integer_value(json_object_get(event, "created"));
	if (!id_ok(id, "evt_") || type == NULL || strlen(type) > 100 ||
	    !json_is_object(obj) || ts <= 0)
		return BILLING_MALFORMED;
	cust = str(obj, "customer");
	sub = strcmp(type, "checkout.session.completed") == 0
	    ? str(obj, "subscription")
	    : str(obj, "id");
	/* Whose event: our own reference on checkout, else the customer. */
	if (strcmp(type, "checkout.session.completed") == 0 &&
	    db_uuid_valid(str(obj, "client_reference_id")))
		cid = str(obj, "client_reference_id");
	else if (id_ok(cust, "cus_")) {
		p[0] = cust;
		if ((res = db_exec(ctx->db, &q_customer, p)) == NULL)
			return BILLING_UNAVAILABLE;
		if (PQntuples(res) == 1) {
			snprintf(company, sizeof(company), "%s",
			    row_get(res, 0, "company_id"));
			cid = company;
		}
		PQclear(res);
		res = NULL;
	}
	/*
	 * A subscription made through parley's Checkout names its company
	 * in metadata parley set (customers cannot edit it), so its first
	 * events may come before the checkout's; the customer is bound then.
	 */
	if (cid == NULL && strncmp(type, "customer.subscription.", 22) == 0 &&
	    db_uuid_valid(str(json_object_get(obj, "metadata"), "company_id")))
		cid = str(json_object_get(obj, "metadata"), "company_id");
	if (cid == NULL) {
		/* Not ours to act on: acknowledged, so Stripe stops. */
		log_event(LOG_INFO, "stripe_event_ignored",
		    LOG_S("reason", "unknown_customer"));
		return BILLING_IGNORED;
	}
	snprintf(ctx->who.company_id, sizeof(ctx->who.company_id), "%s", cid);
	if ((known = company_billing(ctx, &b)) != 1) {
		if (known == -1)
			return BILLING_UNAVAILABLE;
		log_event(LOG_INFO, "stripe_event_ignored",
		    LOG_S("reason", "unknown_company"));
		return BILLING_IGNORED;
	}
	subscription_event = strncmp(type, "customer.subscription.", 22) == 0;
	if (strcmp(type, "checkout.session.completed") == 0) {
		plan = plan_of(obj);
		state = "active";
		/* Checkout completes once the subscription is paid for (or in
		 * its trial); its own events say more, and may follow. */
		status = "active";
	} else if (subscription_event) {
		status = str(obj, "status");
		plan = strcmp(type, "customer.subscription.deleted") == 0
		    ? "free"
		    : plan_of(obj);
		if (strcmp(type, "customer.subscription.deleted") == 0) {
			status = "canceled";
			state = "canceled";
		}
	} else if (strcmp(type, "invoice.paid") == 0)
		state = "active";
	else if (strcmp(type, "invoice.payment_failed") == 0)
		state = "past_due";
	else
		apply = 0; /* not an event parley acts on */
	/*
	 * Only the company's own: a checkout may not take over a company
	 * billed to another customer; another subscription's events count
	 * only once the company's subscription has ended, and only when
	 * parley's Checkout made it for this company (its metadata); it then
	 * replaces the old one.
	 */
	other_sub = subscription_event && b.sub[0] != '\0' &&
	    id_ok(sub, "sub_") && strcmp(b.sub, sub) != 0;
	if (b.cus[0] != '\0' && id_ok(cust, "cus_") && strcmp(b.cus, cust) != 0)
		apply = 0;
	if (other_sub &&
	    !(b.ended &&
		str(json_object_get(obj, "metadata"), "company_id") != NULL &&
		strcmp(str(json_object_get(obj, "metadata"), "company_id"),
		    cid) == 0))
		apply = 0;
	/* In order (stripe_order(), src/stripe.h). */
	order = stripe_order(
	    subscription_event, other_sub, ts, b.state_at, b.last, b.canceled);
	if (order == STRIPE_RECORD)
		apply = 0;
	/*
	 * A tie: two events of one second, whose order Stripe does not
	 * promise. The subscription as Stripe has it now decides.
	 */
	if (apply && order == STRIPE_ASK && id_ok(sub, "sub_")) {
		const char *miss = NULL;

		db_rollback(ctx->db); /* no lock held while Stripe answers */
		fetched = current_subscription(ctx, sub, &miss);
		/* Without a key to ask with, the order of arrival decides. */
		if ((fetched == NULL && strcmp(miss, "not_configured") != 0) ||
		    company_billing(ctx, &b) != 1) {
			db_rollback(ctx->db);
			rc = BILLING_UNAVAILABLE; /* Stripe delivers again */
			goto out;
		}
		if (ts < b.last || strcmp(b.sub, sub) != 0)
			apply = 0;
		if (fetched != NULL) {
			status = str(fetched, "status");
			if (status != NULL && strcmp(status, "canceled") == 0) {
				plan = "free";
				state = "canceled";
			} else
				plan = plan_of(fetched);
		}
	}
	if (status != NULL) {
		for (known = 0, k = 0; k < sizeof(statuses) / sizeof(*statuses);
		     k++)
			known |= strcmp(status, statuses[k]) == 0;
		if (!known)
			status = NULL;
	}
	if (apply)
		snprintf(evat, sizeof(evat), "%lld", ts);
	snprintf(created, sizeof(created), "%lld", ts);
	p[0] = id;
	p[1] = cid;
	p[2] = type;
	p[3] = created;
	p[4] = apply ? "t" : "f";
	if ((res = db_exec(ctx->db, &q_event_new, p)) == NULL)
		goto out;
	if (PQntuples(res) == 0) {
		/* Delivered before: 200, and nothing changes. */
		db_rollback(ctx->db);
		rc = BILLING_RECORDED;
		goto out;
	}
	PQclear(res);
	res = NULL;
	if (apply) {
		p[0] = cid;
		p[1] = plan;
		p[2] = id_ok(cust, "cus_") ? cust : NULL;
		p[3] = id_ok(sub, "sub_") ? sub : NULL;
		p[4] = status;
		p[5] = state;
		p[6] = subscription_event && evat[0] ? evat : NULL;
		p[7] = !subscription_event && evat[0] ? evat : NULL;
		if ((res = db_exec(ctx->db, &q_company_set, p)) == NULL)
			goto out;
		PQclear(res);
		res = NULL;
		changes = json_pack("{s:{s:s*},s:{s:s*},s:{s:s*}}", "plan",
		    "new", plan, "subscription_status", "new", status,
		    "billing_state", "new", state);
		memset(&e, 0, sizeof(e));
		e.action = "billing.update";
		e.resource_type = "company";
		e.resource_id = cid;
		e.changes = changes;
		e.actor_type = "stripe";
		e.actor_id = id;
		if (audit_write(ctx, &e) == -1)
			goto out;
	}
	if (db_commit(ctx->db) == -1)
		goto out;
	rc = BILLING_APPLIED;
out:
	PQclear(res);
	json_decref(changes);
	json_decref(fetched);
	return rc;
}
