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
	USER(M_GET, "/api/v1/security-events", ROLE_ADMIN, h_security_events,
	    "the company's security events, newest first"),
};
const size_t nroutes = sizeof(routes) / sizeof(routes[0]);
