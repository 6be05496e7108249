/*
 * api.h: handlers named in the route table.
 */
#ifndef PARLEY_API_H
#define PARLEY_API_H

#include "router.h"

/* api_meta.c */
int h_healthz(struct request *, struct ctx *);
int h_readyz(struct request *, struct ctx *);
int h_meta(struct request *, struct ctx *);

/* api_csp.c */
int h_csp_report(struct request *, struct ctx *);

/* api_auth.c */
int h_register(struct request *, struct ctx *);
int h_register_confirm(struct request *, struct ctx *);
int h_login(struct request *, struct ctx *);
int h_refresh(struct request *, struct ctx *);
int h_logout(struct request *, struct ctx *);
int h_logout_all(struct request *, struct ctx *);
int h_me(struct request *, struct ctx *);
int h_pow_challenge(struct request *, struct ctx *);
int h_oidc_providers(struct request *, struct ctx *);
int h_oidc_start(struct request *, struct ctx *);
int h_oidc_link(struct request *, struct ctx *);
int h_oidc_callback(struct request *, struct ctx *);
int h_oidc_callback_post(struct request *, struct ctx *);
/* A company's SSO through its OpenID Provider: starts the flow. */
int api_oidc_sso_start(struct request *req, struct ctx *ctx, const char *cid);
/* A company's IdP asserted 'claims' {iss, sub, email, mfa}: signs the
 * member in (src/api_sso.c). */
int api_sso_finish(struct request *req, struct ctx *ctx, const char *cid,
    const json_t *claims, const char *binding_hex);
int h_labels(struct request *, struct ctx *);
int h_widget_rating(struct request *, struct ctx *);
/* Attachments (api_attachments.c). */
int h_attachment_upload(struct request *, struct ctx *);
int h_attachment_get(struct request *, struct ctx *);
int h_widget_attachment_upload(struct request *, struct ctx *);
int h_widget_attachment_get(struct request *, struct ctx *);
/*
 * An agent of ctx answered conversation 'id' (a reply, a file): it is
 * open, theirs when nobody had it, and every list is told. In the open
 * tenant transaction; 0 or -1.
 */
int api_agent_answered(struct ctx *ctx, const char *id);
/*
 * A visitor token for claims 'c' (widget sessions, e-mailed links; its
 * jti, iat and exp are set): a new string (caller wipes and frees), or
 * NULL.
 */
struct jwt_claims;
char *widget_token_issue(const struct ctx *ctx, struct jwt_claims *c);
/* api_contact.c */
int h_hours_get(struct request *, struct ctx *);
int h_hours_put(struct request *, struct ctx *);
int h_widget_contact(struct request *, struct ctx *);
int h_widget_seen(struct request *, struct ctx *);
int h_widget_transcript(struct request *, struct ctx *);
int h_widget_link_resume(struct request *, struct ctx *);
int h_widget_link_confirm(struct request *, struct ctx *);
int h_chatbot_logo_put(struct request *, struct ctx *);
int h_chatbot_logo_delete(struct request *, struct ctx *);
int h_widget_config(struct request *, struct ctx *);
int h_widget_logo(struct request *, struct ctx *);
int h_source_create(struct request *, struct ctx *);
int h_source_list(struct request *, struct ctx *);
int h_source_get(struct request *, struct ctx *);
int h_source_sync(struct request *, struct ctx *);
int h_source_delete(struct request *, struct ctx *);
int h_document_upload(struct request *, struct ctx *);
int h_analytics_csat(struct request *, struct ctx *);
int h_label_create(struct request *, struct ctx *);
int h_label_patch(struct request *, struct ctx *);
int h_label_delete(struct request *, struct ctx *);
int h_conversation_labels(struct request *, struct ctx *);
int h_teams(struct request *, struct ctx *);
int h_team_create(struct request *, struct ctx *);
int h_team_patch(struct request *, struct ctx *);
int h_team_delete(struct request *, struct ctx *);
int h_member_capacity(struct request *, struct ctx *);
int h_presence(struct request *, struct ctx *);
int h_notifications(struct request *, struct ctx *);
int h_notifications_read(struct request *, struct ctx *);
int h_notification_settings(struct request *, struct ctx *);
int h_notification_settings_patch(struct request *, struct ctx *);
int h_notifications_unsubscribe(struct request *, struct ctx *);
int h_sso_domains(struct request *, struct ctx *);
int h_sso_domain_add(struct request *, struct ctx *);
int h_sso_domain_verify(struct request *, struct ctx *);
int h_sso_domain_delete(struct request *, struct ctx *);
int h_sso_get(struct request *, struct ctx *);
int h_sso_put(struct request *, struct ctx *);
int h_sso_delete(struct request *, struct ctx *);
int h_sso_start(struct request *, struct ctx *);
int h_saml_metadata(struct request *, struct ctx *);
int h_saml_acs(struct request *, struct ctx *);
int h_oidc_mfa(struct request *, struct ctx *);
int h_oidc_reauth(struct request *, struct ctx *);
int h_oidc_pending(struct request *, struct ctx *);
int h_oidc_signup(struct request *, struct ctx *);
int h_oidc_link_account(struct request *, struct ctx *);
int h_identities(struct request *, struct ctx *);
int h_identity_delete(struct request *, struct ctx *);
int h_me_patch(struct request *, struct ctx *);
int h_password_forgot(struct request *, struct ctx *);
int h_password_reset(struct request *, struct ctx *);
int h_password_change(struct request *, struct ctx *);
int h_email_verify(struct request *, struct ctx *);
int h_email_resend(struct request *, struct ctx *);
int h_sessions_list(struct request *, struct ctx *);
int h_session_delete(struct request *, struct ctx *);

/* Read statements of read-only routes ($1 user id, $2 company id). */
extern struct db_stmt q_me;
extern struct db_stmt q_sessions;

/*
 * api_auth.c: the per-account guess budget ("login:acct:KEY", KEY "u:"
 * and a user id): acct_limit() counts a guess (0, or HTTP_ANSWERED after answering
 * 429/503; call it outside any transaction), acct_forget() takes one
 * back once the guess proved right.
 */
int  acct_limit(struct request *req, struct ctx *ctx, const char *key);
void acct_forget(struct ctx *ctx, const char *key);

/* Helpers of api_auth.c shared with other handlers. */
/* The per-address limit 'kind'; 0, or HTTP_ANSWERED after answering 429/503. */
int api_addr_limit(struct request *req, struct ctx *ctx, const char *kind,
    int max, int window);
/* Limit 'kind' on 'subject' (counted); 0, or HTTP_ANSWERED after answering. */
int api_limit(struct request *req, struct ctx *ctx, const char *kind,
    const char *subject, int max, int window);
/* Answers 422 weak_password for 'field' with the policy's reason. */
int api_weak_password(
    struct request *req, const char *field, const char *reason);
/* Answers 503 with Retry-After. */
int api_unavailable(struct request *req);
/* Records a failed login of a known account ('reason': password, mfa, …). */
void api_login_failed(struct request *req, struct ctx *ctx, const char *cid,
    const char *uid, const char *reason);

/* api_mfa.c */
/*
 * Re-authentication before a destructive action: the caller's password
 * and, when TOTP is on, a code or recovery code ('code' may be NULL).
 * Counts a guess on the account's budget (so it cannot be used to guess
 * passwords), then leaves a fresh tenant transaction open. Returns 1 if
 * accepted; HTTP_ANSWERED after answering (403 reauth_failed or mfa_code_required,
 * 429); -1 on error.
 */
int api_reauth(struct request *req, struct ctx *ctx, const char *password,
    const char *code);
/*
 * The caller proves their account: 'password' against the stored 'hash',
 * or for an account without one ('hash' ""), a sign-in at its provider
 * within five minutes (POST /api/v1/auth/oidc/reauth stamps the session;
 * this spends the stamp, inside the caller's tenant transaction). 1
 * proven, 0 a wrong password, HTTP_ANSWERED after answering 403
 * reauth_required (the transaction rolled back), -1 on error.
 */
/* A company and its owner about to be made. */
struct new_company {
	const char *cid, *company_name, *email, *name;
	const char *password_hash; /* NULL: none (made through a provider) */
};
/* Registration's captcha and limits (per client address, per 'email'):
 * 0 passed, HTTP_ANSWERED after answering. */
int api_signup_gate(struct request *req, struct ctx *ctx, const char *email);
/* Inserts the company and its owner, in the tenant transaction of
 * nc->cid: 0 (uid set), HTTP_ANSWERED after 409 email_taken (rolled
 * back), -1. */
int api_company_create(struct request *req, struct ctx *ctx,
    const struct new_company *nc, char uid[37]);
/* Answers 201 with the new company, its owner and 'tokens' (kept). */
int api_send_signed_up(struct request *req, struct ctx *ctx,
    const struct new_company *nc, const char *uid, json_t *tokens);
/* A verified password login (api_password_login). */
struct login_ok {
	char uid[37], cid[37], role[8];
	int  mfa, recovery;
	int  break_glass; /* an owner past the company's required SSO */
};
int api_password_login(struct request *req, struct ctx *ctx, const char *email,
    const char *pw, const char *code, struct login_ok *r);
int api_password_proof(struct request *req, struct ctx *ctx, const char *hash,
    const char *password);
int h_mfa_setup(struct request *, struct ctx *);
int h_mfa_enable(struct request *, struct ctx *);
int h_mfa_disable(struct request *, struct ctx *);

/* api_company.c */
extern struct db_stmt q_company;
int		      h_company_get(struct request *, struct ctx *);
int		      h_company_patch(struct request *, struct ctx *);
int		      h_company_delete(struct request *, struct ctx *);

/* api_members.c */
extern struct db_stmt q_members;
int		      h_members_list(struct request *, struct ctx *);
int		      h_member_patch(struct request *, struct ctx *);
int		      h_member_delete(struct request *, struct ctx *);

/* api_invitations.c */
int h_invitation_create(struct request *, struct ctx *);
int h_invitation_list(struct request *, struct ctx *);
int h_invitation_delete(struct request *, struct ctx *);
int h_invitation_accept(struct request *, struct ctx *);

/* api_keys.c */
int h_api_key_create(struct request *, struct ctx *);
int h_api_key_list(struct request *, struct ctx *);
int h_api_key_delete(struct request *, struct ctx *);

/* api_security.c */
int h_security_events(struct request *, struct ctx *);
/* api_alerts.c */
int h_alerts(struct request *, struct ctx *);
int h_alert_get(struct request *, struct ctx *);
int h_alert_patch(struct request *, struct ctx *);
int h_sign_in_revoke(struct request *, struct ctx *);

/* api_chatbots.c */
json_t *chatbot_json(PGresult *res, int row);
int	h_chatbot_create(struct request *, struct ctx *);
int	h_chatbot_list(struct request *, struct ctx *);
int	h_chatbot_get(struct request *, struct ctx *);
int	h_chatbot_patch(struct request *, struct ctx *);
int	h_chatbot_delete(struct request *, struct ctx *);
int	h_chatbot_rotate_key(struct request *, struct ctx *);
int	h_chatbot_rotate_secret(struct request *, struct ctx *);
/* api_audit.c */
int h_audit_list(struct request *, struct ctx *);
int h_audit_export(struct request *, struct ctx *);
/* api_billing.c */
extern const char *const stripe_ctypes[];
int			 h_stripe_webhook(struct request *, struct ctx *);
int			 h_billing_get(struct request *, struct ctx *);
int			 h_billing_checkout(struct request *, struct ctx *);
int			 h_billing_portal(struct request *, struct ctx *);
/* api_llm.c */
int h_company_llm_get(struct request *, struct ctx *);
int h_company_llm_put(struct request *, struct ctx *);
/* api_templates.c */
int h_template_create(struct request *, struct ctx *);
int h_template_list(struct request *, struct ctx *);
int h_template_patch(struct request *, struct ctx *);
int h_template_delete(struct request *, struct ctx *);
/* api_documents.c */
int h_document_create(struct request *, struct ctx *);
int h_document_list(struct request *, struct ctx *);
int h_document_get(struct request *, struct ctx *);
int h_document_delete(struct request *, struct ctx *);
/* api_widget.c */
int h_widget_preflight(struct request *, struct ctx *);
int h_widget_session(struct request *, struct ctx *);
int h_widget_conversation_create(struct request *, struct ctx *);
int h_widget_conversation_list(struct request *, struct ctx *);
int h_widget_messages(struct request *, struct ctx *);
int h_widget_message_post(struct request *, struct ctx *);
int h_widget_handoff(struct request *, struct ctx *);
int h_widget_frame(struct request *, struct ctx *);
int h_widget_events_auth(struct request *, struct ctx *);
int h_widget_consent(struct request *, struct ctx *);
int h_consent_list(struct request *, struct ctx *);
int h_events_auth(struct request *, struct ctx *);
/* api_conversations.c */
int h_conversation_list(struct request *, struct ctx *);
int h_conversation_get(struct request *, struct ctx *);
int h_conversation_reply(struct request *, struct ctx *);
int h_conversation_patch(struct request *, struct ctx *);
int h_conversation_delete(struct request *, struct ctx *);
int h_conversation_suggest(struct request *, struct ctx *);
int h_conversation_suggestion_get(struct request *, struct ctx *);
int h_analytics_summary(struct request *, struct ctx *);
/* api_webhooks.c */
int h_webhook_create(struct request *, struct ctx *);
int h_webhook_list(struct request *, struct ctx *);
int h_webhook_get(struct request *, struct ctx *);
int h_webhook_patch(struct request *, struct ctx *);
int h_webhook_delete(struct request *, struct ctx *);
int h_webhook_rotate(struct request *, struct ctx *);
int h_webhook_deliveries(struct request *, struct ctx *);
/* api_exports.c */
int h_export_create(struct request *, struct ctx *);
int h_export_list(struct request *, struct ctx *);
int h_export_get(struct request *, struct ctx *);
int h_export_download(struct request *, struct ctx *);
/* api_privacy.c */
int h_privacy_export(struct request *, struct ctx *);
int h_privacy_erase(struct request *, struct ctx *);
int h_visitor_patch(struct request *, struct ctx *);
/* Media types accepted by h_csp_report. */
extern const char *const csp_report_ctypes[];

#endif
