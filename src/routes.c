/*
 * routes.c: the route table. Every endpoint parley serves is one line
 * here; t/11-routes.t walks it against docs/openapi.yaml.
 */
#include "config.h"

#include "api.h"
#include "router.h"
#include "scopes.h"

/* clang-format off */
#define AUTHN(m, path, fn, rl, sum) \
	{ m, path, AUTH_PUBLIC, ROLE_NONE, 0, rl, BODY_JSON, PRL_BODY_SMALL, \
	    NULL, fn, sum, NULL }
#define USER_JSON(m, path, role, fn, sum) \
	{ m, path, AUTH_USER, role, 0, RL_NONE, BODY_JSON, PRL_BODY_SMALL, \
	    NULL, fn, sum, NULL }
#define USER(m, path, role, fn, sum) \
	{ m, path, AUTH_USER, role, 0, RL_NONE, BODY_NONE, 0, NULL, fn, sum, \
	    NULL }
/* A read-only user route answered in one database round trip. */
#define USER_READ(m, path, role, fn, st, sum) \
	{ m, path, AUTH_USER, role, 0, RL_NONE, BODY_NONE, 0, NULL, fn, sum, \
	    &st }
/* A route for users and for API keys with 'scope'. */
#define KEY(m, path, role, scope, fn, sum) \
	{ m, path, AUTH_KEY, role, scope, RL_NONE, BODY_NONE, 0, NULL, fn, \
	    sum, NULL }
#define KEY_JSON(m, path, role, scope, max, fn, sum) \
	{ m, path, AUTH_KEY, role, scope, RL_NONE, BODY_JSON, max, NULL, fn, \
	    sum, NULL }
/* Widget routes: a visitor token; 'rl' RL_LLM counts visitor messages. */
#define VISITOR(m, path, body, rl, fn, sum) \
	{ m, path, AUTH_VISITOR, ROLE_NONE, 0, rl, body, \
	    (body) == BODY_JSON ? PRL_BODY_SMALL : 0, NULL, fn, sum, NULL }
/* clang-format on */

const struct route routes[] = {
	{ M_GET, "/healthz", AUTH_PUBLIC, ROLE_NONE, 0, RL_NONE, BODY_NONE, 0,
	    NULL, h_healthz, "liveness: the process answers", NULL },
	{ M_GET, "/readyz", AUTH_PUBLIC, ROLE_NONE, 0, RL_NONE, BODY_NONE, 0,
	    NULL, h_readyz, "readiness: database reachable, schema current",
	    NULL },
	{ M_GET, "/api/v1/meta", AUTH_PUBLIC, ROLE_NONE, 0, RL_NONE, BODY_NONE,
	    0, NULL, h_meta, "service name and versions", NULL },
	{ M_POST, "/api/v1/csp-report", AUTH_PUBLIC, ROLE_NONE, 0, RL_NONE,
	    BODY_JSON, PRL_BODY_SMALL, csp_report_ctypes, h_csp_report,
	    "Content-Security-Policy violation reports", NULL },
	AUTHN(M_POST, "/api/v1/auth/register", h_register, RL_REGISTER,
	    "create a company and its owner; returns tokens"),
	AUTHN(M_POST, "/api/v1/auth/login", h_login, RL_LOGIN,
	    "log in with e-mail, password and, if enabled, a TOTP code"),
	AUTHN(M_POST, "/api/v1/auth/refresh", h_refresh, RL_NONE,
	    "rotate the refresh token; returns a new pair"),
	USER(M_POST, "/api/v1/auth/logout", ROLE_MEMBER, h_logout,
	    "end this session now"),
	USER(M_POST, "/api/v1/auth/logout-all", ROLE_MEMBER, h_logout_all,
	    "end every session of the user"),
	AUTHN(M_POST, "/api/v1/auth/password/forgot", h_password_forgot,
	    RL_RESET, "e-mail a single-use reset link (always 202)"),
	AUTHN(M_POST, "/api/v1/auth/password/reset", h_password_reset, RL_RESET,
	    "set a new password with a reset link token"),
	USER_JSON(M_POST, "/api/v1/auth/password/change", ROLE_MEMBER,
	    h_password_change, "change the password, ending other sessions"),
	AUTHN(M_POST, "/api/v1/auth/email/verify", h_email_verify, RL_NONE,
	    "confirm the e-mail address with a link token"),
	USER(M_POST, "/api/v1/auth/email/resend", ROLE_MEMBER, h_email_resend,
	    "send the verification link again"),
	USER_READ(M_GET, "/api/v1/auth/sessions", ROLE_MEMBER, h_sessions_list,
	    q_sessions, "the user's active sessions"),
	USER(M_DELETE, "/api/v1/auth/sessions/:id", ROLE_MEMBER,
	    h_session_delete, "end one of the user's sessions"),
	USER(M_POST, "/api/v1/auth/mfa/totp/setup", ROLE_MEMBER, h_mfa_setup,
	    "start TOTP enrolment: secret and otpauth URI"),
	USER_JSON(M_POST, "/api/v1/auth/mfa/totp/enable", ROLE_MEMBER,
	    h_mfa_enable, "confirm a code; returns ten recovery codes"),
	USER_JSON(M_POST, "/api/v1/auth/mfa/totp/disable", ROLE_MEMBER,
	    h_mfa_disable, "turn TOTP off with password and a code"),
	USER_READ(M_GET, "/api/v1/me", ROLE_MEMBER, h_me, q_me,
	    "the current user, company, role and MFA state"),
	USER_READ(M_GET, "/api/v1/company", ROLE_MEMBER, h_company_get,
	    q_company, "the company and its settings"),
	USER_JSON(M_PATCH, "/api/v1/company", ROLE_ADMIN, h_company_patch,
	    "change the company's name and settings (audited)"),
	{ M_GET, "/api/v1/members", AUTH_KEY, ROLE_MEMBER, SCOPE_MEMBERS_READ,
	    RL_NONE, BODY_NONE, 0, NULL, h_members_list,
	    "the company's members (users, or API keys with members:read)",
	    &q_members },
	USER_JSON(M_PATCH, "/api/v1/members/:id", ROLE_ADMIN, h_member_patch,
	    "change a member's role (owner rules apply; audited)"),
	USER(M_DELETE, "/api/v1/members/:id", ROLE_ADMIN, h_member_delete,
	    "remove a member, ending their sessions at once (audited)"),
	USER_JSON(M_POST, "/api/v1/invitations", ROLE_ADMIN,
	    h_invitation_create, "invite someone by e-mail (audited)"),
	USER(M_GET, "/api/v1/invitations", ROLE_ADMIN, h_invitation_list,
	    "open invitations"),
	USER(M_DELETE, "/api/v1/invitations/:id", ROLE_ADMIN,
	    h_invitation_delete, "revoke an invitation (audited)"),
	AUTHN(M_POST, "/api/v1/invitations/accept", h_invitation_accept,
	    RL_REGISTER, "join with an invitation token; returns tokens"),
	USER_JSON(M_POST, "/api/v1/api-keys", ROLE_ADMIN, h_api_key_create,
	    "create a scoped API key; the key is shown once (audited)"),
	USER(M_GET, "/api/v1/api-keys", ROLE_ADMIN, h_api_key_list,
	    "the company's API keys, without secrets"),
	USER(M_DELETE, "/api/v1/api-keys/:id", ROLE_ADMIN, h_api_key_delete,
	    "revoke an API key (audited)"),
	USER(M_GET, "/api/v1/billing", ROLE_OWNER, h_billing_get,
	    "the plan, its limits, what is used, the billing state (owner)"),
	{ M_POST, "/api/v1/webhooks/stripe", AUTH_PUBLIC, ROLE_NONE, 0, RL_NONE,
	    BODY_JSON, PRL_MAX_BODY, stripe_ctypes, h_stripe_webhook,
	    "Stripe events, verified by their signature (Stripe-Signature)",
	    NULL },
	KEY(M_GET, "/api/v1/audit-log", ROLE_ADMIN, SCOPE_AUDIT_READ,
	    h_audit_list,
	    "the audit log, newest first: filters from, to, actor, action, "
	    "resource; cursor pagination"),
	KEY(M_GET, "/api/v1/audit-log/export.csv", ROLE_ADMIN, SCOPE_AUDIT_READ,
	    h_audit_export,
	    "the audit log as CSV, at most the last 90 days (audited)"),
	USER(M_GET, "/api/v1/security-events", ROLE_ADMIN, h_security_events,
	    "the company's security events, newest first"),
	USER(M_GET, "/api/v1/company/llm", ROLE_ADMIN, h_company_llm_get,
	    "the company's own LLM provider settings (no key shown)"),
	USER_JSON(M_PUT, "/api/v1/company/llm", ROLE_ADMIN, h_company_llm_put,
	    "set the company's LLM key, model (and URL where allowed; "
	    "audited)"),
	KEY_JSON(M_POST, "/api/v1/chatbots", ROLE_ADMIN, SCOPE_CHATBOTS_WRITE,
	    PRL_BODY_SMALL, h_chatbot_create,
	    "create a chatbot; the identity secret is shown once (audited)"),
	KEY(M_GET, "/api/v1/chatbots", ROLE_MEMBER, SCOPE_CHATBOTS_READ,
	    h_chatbot_list, "the company's chatbots"),
	KEY(M_GET, "/api/v1/chatbots/:id", ROLE_MEMBER, SCOPE_CHATBOTS_READ,
	    h_chatbot_get, "one chatbot"),
	KEY_JSON(M_PATCH, "/api/v1/chatbots/:id", ROLE_ADMIN,
	    SCOPE_CHATBOTS_WRITE, PRL_BODY_SMALL, h_chatbot_patch,
	    "change a chatbot's settings (audited)"),
	KEY(M_DELETE, "/api/v1/chatbots/:id", ROLE_ADMIN, SCOPE_CHATBOTS_WRITE,
	    h_chatbot_delete,
	    "delete a chatbot with its knowledge base and conversations "
	    "(audited)"),
	KEY(M_POST, "/api/v1/chatbots/:id/rotate-key", ROLE_ADMIN,
	    SCOPE_CHATBOTS_WRITE, h_chatbot_rotate_key,
	    "replace the widget's public key (audited)"),
	KEY(M_POST, "/api/v1/chatbots/:id/rotate-identity-secret", ROLE_ADMIN,
	    SCOPE_CHATBOTS_WRITE, h_chatbot_rotate_secret,
	    "replace the identity secret; shown once (audited)"),
	KEY_JSON(M_POST, "/api/v1/chatbots/:id/documents", ROLE_ADMIN,
	    SCOPE_DOCUMENTS_WRITE, PRL_MAX_BODY, h_document_create,
	    "add a knowledge-base document (audited)"),
	KEY(M_GET, "/api/v1/chatbots/:id/documents", ROLE_MEMBER,
	    SCOPE_DOCUMENTS_READ, h_document_list,
	    "the chatbot's knowledge-base documents"),
	KEY(M_GET, "/api/v1/chatbots/:id/documents/:doc", ROLE_MEMBER,
	    SCOPE_DOCUMENTS_READ, h_document_get, "one document with its text"),
	KEY(M_DELETE, "/api/v1/chatbots/:id/documents/:doc", ROLE_ADMIN,
	    SCOPE_DOCUMENTS_WRITE, h_document_delete,
	    "delete a document and its chunks (audited)"),
	KEY_JSON(M_POST, "/api/v1/templates", ROLE_ADMIN, SCOPE_TEMPLATES_WRITE,
	    PRL_BODY_SMALL, h_template_create,
	    "create a response template (audited)"),
	USER(M_GET, "/api/v1/templates", ROLE_MEMBER, h_template_list,
	    "the company's response templates"),
	KEY_JSON(M_PATCH, "/api/v1/templates/:id", ROLE_ADMIN,
	    SCOPE_TEMPLATES_WRITE, PRL_BODY_SMALL, h_template_patch,
	    "change a response template (audited)"),
	KEY(M_DELETE, "/api/v1/templates/:id", ROLE_ADMIN,
	    SCOPE_TEMPLATES_WRITE, h_template_delete,
	    "delete a response template (audited)"),
	{ M_OPTIONS, "/api/v1/widget/sessions", AUTH_PUBLIC, ROLE_NONE, 0,
	    RL_NONE, BODY_NONE, 0, NULL, h_widget_preflight,
	    "CORS preflight: only origins some chatbot allows", NULL },
	{ M_POST, "/api/v1/widget/sessions", AUTH_PUBLIC, ROLE_NONE, 0, RL_NONE,
	    BODY_JSON, PRL_BODY_SMALL, NULL, h_widget_session,
	    "a visitor token for a chatbot, from an allowed Origin only",
	    NULL },
	VISITOR(M_POST, "/api/v1/widget/conversations", BODY_NONE, RL_NONE,
	    h_widget_conversation_create, "start a conversation"),
	VISITOR(M_GET, "/api/v1/widget/conversations", BODY_NONE, RL_NONE,
	    h_widget_conversation_list, "the visitor's conversations"),
	VISITOR(M_GET, "/api/v1/widget/conversations/:id/messages", BODY_NONE,
	    RL_NONE, h_widget_messages,
	    "the conversation's messages after ?after=SEQ"),
	VISITOR(M_POST, "/api/v1/widget/conversations/:id/messages", BODY_JSON,
	    RL_LLM, h_widget_message_post,
	    "send a message; the bot's reply (SSE with Accept: "
	    "text/event-stream)"),
	VISITOR(M_POST, "/api/v1/widget/conversations/:id/handoff", BODY_NONE,
	    RL_NONE, h_widget_handoff, "ask for a human"),
	{ M_GET, "/api/v1/widget/conversations/:id/events", AUTH_VISITOR,
	    ROLE_NONE, 0, RL_NONE, BODY_NONE, 0, NULL, h_widget_events_auth,
	    "the conversation's events (SSE through nginx)", NULL },
	VISITOR(M_POST, "/api/v1/widget/consent", BODY_JSON, RL_LLM,
	    h_widget_consent, "record the visitor's cookie consent"),
	{ M_GET, "/widget/frame", AUTH_PUBLIC, ROLE_NONE, 0, RL_NONE, BODY_NONE,
	    0, NULL, h_widget_frame,
	    "the chat frame (nginx asks for its per-chatbot CSP)", NULL },
	USER(M_GET, "/api/v1/events", ROLE_MEMBER, h_events_auth,
	    "the company's events (SSE or WebSocket through nginx)"),
	USER(M_GET, "/api/v1/consents", ROLE_ADMIN, h_consent_list,
	    "visitors' consent records (?visitor_id=)"),
	KEY(M_GET, "/api/v1/conversations", ROLE_MEMBER,
	    SCOPE_CONVERSATIONS_READ, h_conversation_list,
	    "the inbox: filters status, unanswered, assignee, chatbot; "
	    "cursor pagination"),
	KEY(M_GET, "/api/v1/conversations/:id", ROLE_MEMBER,
	    SCOPE_CONVERSATIONS_READ, h_conversation_get,
	    "one conversation with its messages"),
	KEY_JSON(M_POST, "/api/v1/conversations/:id/messages", ROLE_MEMBER,
	    SCOPE_CONVERSATIONS_WRITE, PRL_BODY_SMALL, h_conversation_reply,
	    "an agent's reply: a human handles it from now on"),
	KEY_JSON(M_PATCH, "/api/v1/conversations/:id", ROLE_MEMBER,
	    SCOPE_CONVERSATIONS_WRITE, PRL_BODY_SMALL, h_conversation_patch,
	    "change status or assignee"),
	{ M_POST, "/api/v1/conversations/:id/suggest", AUTH_KEY, ROLE_MEMBER,
	    SCOPE_CONVERSATIONS_WRITE, RL_LLM, BODY_NONE, 0, NULL,
	    h_conversation_suggest,
	    "an LLM draft reply for the agent (rate-limited per user)", NULL },
	KEY(M_GET, "/api/v1/analytics/summary", ROLE_MEMBER,
	    SCOPE_ANALYTICS_READ, h_analytics_summary,
	    "conversations, messages, bot-resolved vs handed off, median "
	    "first response, tokens"),
};
const size_t nroutes = sizeof(routes) / sizeof(routes[0]);
