/*
 * api_billing.c: Stripe's webhook. The raw body is verified against the
 * Stripe-Signature header (src/whsig.c: current and previous secret, 300 s
 * either way, constant time); anything else is 400 and changes nothing.
 * The event id is stored, unique, in the transaction of its effect, so a
 * redelivery answers 200 and changes nothing; a subscription event older
 * than the last one applied is recorded but not applied. Each effect is
 * audited with Stripe as the actor.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "handler.h"
#include "resources.h"
#include "audit.h"
#include "conf.h"
#include "db.h"
#include "crypto.h"
#include "log.h"
#include "stripe.h"
#include "validate.h"
#include "whsig.h"

const char *const stripe_ctypes[] = { "application/json", NULL };

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

static int
bad_event(struct request *req, const char *why)
{
	log_event(LOG_WARN, "stripe_event_refused", LOG_S("reason", why));
	return api_problem(
	    req, 400, "bad_webhook", "The event could not be verified");
}

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

int
h_stripe_webhook(struct request *req, struct ctx *ctx)
{
	const char *secrets[2] = { ctx->conf->stripe_webhook_secret,
		ctx->conf->stripe_webhook_secret_previous };
	const char *why, *id, *type, *cid = NULL, *p[8] = { NULL };
	const char *cust, *sub, *status = NULL, *state = NULL, *plan = NULL;
	char	    company[37], created[24], evat[24] = "";
	struct billing_row b;
	size_t		   k;
	int		   known;
	struct audit_entry e = { 0 };
	json_t		  *obj, *changes = NULL, *fetched = NULL;
	PGresult	  *res = NULL;
	long long	   ts;
	int		   subscription_event, other_sub, apply = 1, rc = -1;
	enum stripe_order  order;

	if (ctx->conf->stripe_webhook_secret[0] == '\0')
		return bad_event(req, "not_configured");
	why = stripe_verify(
	    FCGX_GetParam("HTTP_STRIPE_SIGNATURE", req->fcgi->envp), req->body,
	    req->body_len, secrets, 2, time(NULL));
	if (why != NULL)
		return bad_event(req, why);
	id = str(req->json, "id");
	type = str(req->json, "type");
	obj = json_object_get(json_object_get(req->json, "data"), "object");
	ts = json_integer_value(json_object_get(req->json, "created"));
	if (!id_ok(id, "evt_") || type == NULL || strlen(type) > 100 ||
	    !json_is_object(obj) || ts <= 0)
		return bad_event(req, "malformed");
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
			return api_unavailable(req);
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
		return http_send_empty(req, 204);
	}
	snprintf(ctx->who.company_id, sizeof(ctx->who.company_id), "%s", cid);
	if ((known = company_billing(ctx, &b)) != 1) {
		if (known == -1)
			return api_unavailable(req);
		log_event(LOG_INFO, "stripe_event_ignored",
		    LOG_S("reason", "unknown_company"));
		return http_send_empty(req, 204);
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
			rc = api_unavailable(req); /* Stripe delivers again */
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
		rc = http_send_empty(req, 200);
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
	rc = http_send_empty(req, 200);
out:
	PQclear(res);
	json_decref(changes);
	json_decref(fetched);
	return rc;
}

static struct db_stmt q_billing = { "billing_get",
	"SELECT {{Billing}} FROM companies c JOIN plans p ON p.id = c.plan "
	"WHERE c.id = $1",
	1, 0, 0 };

int
h_billing_get(struct request *req, struct ctx *ctx)
{
	const char *p[1] = { ctx->who.company_id };

	return api_get_one(req, ctx, &q_billing, p);
}

/* What Checkout and the portal need, read in the owner's transaction. */
static struct db_stmt q_checkout_info = { "billing_checkout_info",
	"SELECT coalesce(c.stripe_customer_id, '') AS cus, "
	"coalesce(c.subscription_status, '') AS status, (SELECT "
	"stripe_price_id FROM plans WHERE id = $2) AS price, EXISTS (SELECT 1 "
	"FROM plans WHERE id = $2) AS have_plan, (SELECT email FROM users "
	"WHERE company_id = c.id AND id = $3) AS email, "
	"c.stripe_subscription_id IS NOT NULL AS has_sub FROM companies c "
	"WHERE c.id = $1 FOR UPDATE",
	3, 0, 0 };

/* Answers the outcome of a Stripe call that failed with 'err'. */
static int
stripe_failed(struct request *req, const char *err)
{
	if (strcmp(err, "not_configured") == 0)
		return api_problem(req, 503, "billing_not_configured",
		    "Online payment is not set up on this server");
	return api_problem(req, 502, "payment_provider_error",
	    "The payment provider could not be reached; try again shortly");
}

/*
 * Audits 'action' ("billing.checkout", "billing.portal") in a
 * transaction of its own, after Stripe answered, and commits.
 */
static int
billing_audit(
    struct request *req, struct ctx *ctx, const char *action, const char *plan)
{
	json_t *changes = NULL, *none = json_array();
	int	rc;

	(void)action; /* the route's spec names it */
	if (db_tenant_begin(ctx->db, ctx->who.company_id, NULL, NULL, NULL) ==
	    -1) {
		json_decref(none);
		return -1;
	}
	if (plan != NULL)
		changes = json_pack("{s:{s:s}}", "plan", "requested", plan);
	/* No field names: the request's plan is in the changes. */
	rc = api_audit(req, ctx, ctx->who.company_id, none, changes) == 0 &&
		db_commit(ctx->db) == 0
	    ? 0
	    : -1;
	json_decref(none);
	json_decref(changes);
	return rc;
}

/*
 * Checkout ('plan' set) or the customer portal ('plan' NULL): reads what
 * is needed, ends the transaction, calls Stripe, audits, answers 201
 * {id, url}.
 */
static int
billing_session(struct request *req, struct ctx *ctx, const char *plan)
{
	const char *p[3] = { ctx->who.company_id, plan, ctx->who.user_id };
	const char *err;
	char	    sealed[1024] = "", cus[112], status[32], price[112] = "";
	char	    email[256] = "", form[2048] = "", back[600];
	PGresult   *res;
	json_t	   *s = NULL, *o = NULL;
	int	    have_plan, has_sub, rc = -1;

	if ((res = db_exec(ctx->db, &q_checkout_info, p)) == NULL ||
	    PQntuples(res) != 1) {
		PQclear(res);
		return -1;
	}
	snprintf(cus, sizeof(cus), "%s", row_get(res, 0, "cus"));
	snprintf(status, sizeof(status), "%s", row_get(res, 0, "status"));
	if (row_opt(res, 0, "price") != NULL)
		snprintf(price, sizeof(price), "%s", row_get(res, 0, "price"));
	have_plan = row_bool(res, 0, "have_plan");
	if (row_opt(res, 0, "email") != NULL)
		snprintf(email, sizeof(email), "%s", row_get(res, 0, "email"));
	has_sub = row_bool(res, 0, "has_sub");
	PQclear(res);
	if (stripe_key_sealed(ctx->db, sealed, sizeof(sealed)) == -1)
		return -1;
	/* No transaction stays open while Stripe answers. */
	if (db_commit(ctx->db) == -1)
		return -1;
	if (sealed[0] == '\0')
		return stripe_failed(req, "not_configured");
	if (plan != NULL && (!have_plan || price[0] == '\0')) {
		struct verr v = { .field = "plan",
			.code = have_plan ? "not_for_sale" : "unknown" };

		return validate_problem(req, &v);
	}
	/* One subscription at a time: while one exists at Stripe (whatever
	 * its state but ended), plans change in the portal. */
	if (plan != NULL && has_sub && strcmp(status, "canceled") != 0 &&
	    strcmp(status, "incomplete_expired") != 0)
		return api_problem(req, 409, "subscription_exists",
		    "The company has a subscription: change its plan in the "
		    "billing portal");
	if (plan == NULL && cus[0] == '\0')
		return api_problem(req, 409, "no_customer",
		    "The company has no billing account yet: subscribe first");
	snprintf(back, sizeof(back), "%s/settings/billing",
	    ctx->conf->public_base_url);
	if (plan != NULL) {
		char ok[640], cancel[640];

		snprintf(ok, sizeof(ok), "%s?checkout=success", back);
		snprintf(cancel, sizeof(cancel), "%s?checkout=canceled", back);
		if (stripe_form_add(
			form, sizeof(form), "mode", "subscription") ||
		    stripe_form_add(
			form, sizeof(form), "line_items[0][price]", price) ||
		    stripe_form_add(
			form, sizeof(form), "line_items[0][quantity]", "1") ||
		    stripe_form_add(form, sizeof(form), "client_reference_id",
			ctx->who.company_id) ||
		    stripe_form_add(
			form, sizeof(form), "metadata[plan]", plan) ||
		    stripe_form_add(form, sizeof(form),
			"subscription_data[metadata][plan]", plan) ||
		    stripe_form_add(form, sizeof(form),
			"subscription_data[metadata][company_id]",
			ctx->who.company_id) ||
		    stripe_form_add(form, sizeof(form), "success_url", ok) ||
		    stripe_form_add(form, sizeof(form), "cancel_url", cancel) ||
		    (cus[0] != '\0' ? stripe_form_add(
					  form, sizeof(form), "customer", cus)
			    : email[0] != '\0'
			    ? stripe_form_add(
				  form, sizeof(form), "customer_email", email)
			    : 0))
			goto out;
	} else if (stripe_form_add(form, sizeof(form), "customer", cus) ||
	    stripe_form_add(form, sizeof(form), "return_url", back))
		goto out;
	s = stripe_call(ctx->conf, sealed, "POST",
	    plan != NULL ? "/v1/checkout/sessions"
			 : "/v1/billing_portal/sessions",
	    form, &err);
	crypto_wipe(sealed, sizeof(sealed));
	if (s == NULL) {
		rc = stripe_failed(req, err);
		goto out;
	}
	if (json_string_value(json_object_get(s, "url")) == NULL ||
	    strncmp(json_string_value(json_object_get(s, "url")), "https://",
		8) != 0) {
		rc = stripe_failed(req, "bad_answer");
		goto out;
	}
	if (billing_audit(req, ctx,
		plan != NULL ? "billing.checkout" : "billing.portal",
		plan) == -1)
		goto out;
	o = json_pack("{s:O,s:O}", "id", json_object_get(s, "id"), "url",
	    json_object_get(s, "url"));
	rc = o != NULL ? http_send_json(req, 201, o) : -1;
out:
	crypto_wipe(sealed, sizeof(sealed));
	json_decref(s);
	json_decref(o);
	return rc;
}

int
h_billing_checkout(struct request *req, struct ctx *ctx)
{
	return billing_session(req, ctx, api_body_str(req, "plan"));
}

int
h_billing_portal(struct request *req, struct ctx *ctx)
{
	return billing_session(req, ctx, NULL);
}
