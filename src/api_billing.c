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
#include "billing.h"
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

static int
bad_event(struct request *req, const char *why)
{
	log_event(LOG_WARN, "stripe_event_refused", LOG_S("reason", why));
	return api_problem(
	    req, 400, "bad_webhook", "The event could not be verified");
}

int
h_stripe_webhook(struct request *req, struct ctx *ctx)
{
	const char *secrets[2] = { ctx->conf->stripe_webhook_secret,
		ctx->conf->stripe_webhook_secret_previous };
	const char *why;

	if (ctx->conf->stripe_webhook_secret[0] == '\0')
		return bad_event(req, "not_configured");
	why = stripe_verify(http_header(req, "Stripe-Signature"), req->body,
	    req->body_len, secrets, 2, time(NULL));
	if (why != NULL)
		return bad_event(req, why);
	switch (billing_event(ctx, req->json)) {
	case BILLING_APPLIED:
	case BILLING_RECORDED: return http_send_empty(req, 200);
	case BILLING_IGNORED: return http_send_empty(req, 204);
	case BILLING_MALFORMED: return bad_event(req, "malformed");
	case BILLING_UNAVAILABLE: return api_unavailable(req);
	default: return -1;
	}
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
