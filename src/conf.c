/*
 * conf.c: declared configuration keys, file and environment parsing.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "db.h"
#include "limits.h"
#include "log.h"

#define K_STR(n, f, minlen, d, h)                                              \
	{                                                                      \
		n, CK_STR, offsetof(struct conf, f),                           \
		    sizeof(((struct conf *)0)->f), minlen, 0, d, h             \
	}
#define K_INT(n, f, lo, hi, d, h)                                              \
	{                                                                      \
		n, CK_INT, offsetof(struct conf, f), 0, lo, hi, d, h           \
	}

const struct conf_key conf_keys[] = {
	K_STR("listen", listen, 3, "unix:/run/parley/parleyd.sock",
	    "FastCGI socket: unix:/path, or 127.0.0.1:port (loopback only)"),
	{ "socket_mode", CK_OCTAL, offsetof(struct conf, socket_mode), 0, 0,
	    0777, "0660", "permissions of the unix socket (octal)" },
	K_INT("workers", workers, 1, PRL_MAX_WORKERS, "4",
	    "number of pre-forked request workers"),
	K_INT("backlog", backlog, 1, 65535, "1024",
	    "listen(2) backlog of the FastCGI socket"),
	K_INT("queue_timeout_ms", queue_timeout_ms, 0, 600000, "2000",
	    "a request that waited this long for a worker is answered 503 "
	    "overloaded at once (health checks excepted); 0 never"),
	K_INT("queue_interval_ms", queue_interval_ms, 10, 60000, "100",
	    "how long a queue must stand (every request waiting longer than "
	    "queue_target_ms) before only queue_target_ms is allowed"),
	K_INT("queue_target_ms", queue_target_ms, 0, 600000, "20",
	    "while every request waits longer than this for a worker (a "
	    "standing queue), only this long is allowed; 0 never"),
	K_INT("shutdown_timeout", shutdown_timeout, 0, 600, "10",
	    "seconds in-flight requests get to finish on stop or reload"),
	K_INT("max_requests", max_requests, 0, 100000000, "0",
	    "a worker exits and is replaced after this many requests; 0 never"),
	K_STR("database_url", database_url, 0, "",
	    "libpq connection string of the runtime role (secret: never "
	    "logged)"),
	K_INT("db_connect_timeout", db_connect_timeout, 1, 60, "5",
	    "seconds to wait when connecting to PostgreSQL"),
	K_INT("db_statement_timeout", db_statement_timeout, 0, 3600, "30",
	    "seconds one SQL statement of a request may run (a lock waited "
	    "for included): past it the request is rolled back and answered "
	    "503 database_busy; jobs and answerers are not bound; 0 never"),
	K_STR("log_level", log_level, 4, "info", "debug, info, warn or error"),
	K_STR("instance_name", instance_name, 1, "parley",
	    "name reported by GET /api/v1/meta"),
	K_STR("jwt_key_file", jwt_key_file, 0, "",
	    "file of access-token keys, one a line, each base64 of >= 32 "
	    "random bytes: the first signs, all verify (required)"),
	K_STR("keyring_file", keyring_file, 0, "",
	    "file of 'KID BASE64KEY' lines: AES-256 keys for stored secrets, "
	    "first one encrypts (required)"),
	K_STR("audit_key_file", audit_key_file, 0, "",
	    "file holding the audit-log chain key: base64 of >= 32 random "
	    "bytes, kept apart from the database and its backups (required)"),
	K_STR("jwt_issuer", jwt_issuer, 1, "parley",
	    "iss claim of access tokens"),
	K_INT("bcrypt_cost", bcrypt_cost, 10, 16, "12", "bcrypt work factor"),
	K_INT("access_ttl", access_ttl, 30, 3600, "900",
	    "access token lifetime, seconds"),
	K_INT("refresh_ttl", refresh_ttl, 60, 31536000, "2592000",
	    "absolute session lifetime, seconds (30 days)"),
	K_INT("refresh_idle_ttl", refresh_idle_ttl, 60, 31536000, "604800",
	    "a session unused this long ends, seconds (7 days)"),
	K_INT("reset_ttl", reset_ttl, 60, 86400, "1800",
	    "password reset link lifetime, seconds"),
	K_INT("verify_ttl", verify_ttl, 60, 2592000, "172800",
	    "e-mail verification link lifetime, seconds"),
	K_INT("password_min_bits", password_min_bits, 0, 128, "40",
	    "minimum zxcvbn entropy of a password, bits"),
	K_STR("public_base_url", public_base_url, 8, "https://localhost",
	    "base URL of the app that links in e-mails open"),
	K_INT("login_max_per_ip", login_max_per_ip, 1, 100000, "5",
	    "login attempts per client address per login_window"),
	K_INT("login_max_per_account", login_max_per_account, 1, 100000, "5",
	    "failed logins per account per login_window"),
	K_INT("login_window", login_window, 1, 86400, "900",
	    "login rate-limit window, seconds"),
	K_INT("register_max_per_ip", register_max_per_ip, 1, 100000, "3",
	    "registrations per client address per register_window"),
	K_INT("register_window", register_window, 1, 86400, "1800",
	    "registration rate-limit window, seconds"),
	K_INT("reset_max", reset_max, 1, 100000, "3",
	    "password reset requests per account and per address per "
	    "reset_window"),
	K_INT("reset_window", reset_window, 1, 86400, "3600",
	    "password reset rate-limit window, seconds"),
	K_INT("invite_max_per_address", invite_max_per_address, 1, 100000, "3",
	    "invitations to one address per invite_window, from one company "
	    "and mailed from all (revoked ones count)"),
	K_INT("invite_max_per_company", invite_max_per_company, 1, 1000000,
	    "100",
	    "invitations one company may send per invite_window (revoked "
	    "ones count)"),
	K_INT("invite_window", invite_window, 1, 604800, "86400",
	    "invitation rate-limit window, seconds"),
	K_INT("api_rate_max", api_rate_max, 1, 1000000, "600",
	    "authenticated requests per user and per API key per "
	    "api_rate_window"),
	K_INT("api_rate_window", api_rate_window, 1, 86400, "60",
	    "authenticated request rate-limit window, seconds"),
	K_STR("recaptcha_secret", recaptcha_secret, 0, "",
	    "reCAPTCHA secret; when set, registration and password reset "
	    "require a captcha_token (secret: never logged)"),
	K_STR("recaptcha_url", recaptcha_url, 8,
	    "https://www.google.com/recaptcha/api/siteverify",
	    "reCAPTCHA verification endpoint"),
	K_INT("recaptcha_min_score", recaptcha_min_score, 0, 100, "50",
	    "minimum reCAPTCHA v3 score, percent"),
	K_INT("pow_difficulty", pow_difficulty, 0, 32, "0",
	    "parley's own captcha: leading zero bits of the proof of work "
	    "that registration and password reset require (0: none; 17 takes "
	    "about a second in a browser). The console solves it; nothing "
	    "goes to a third party"),
	K_INT("oidc_allow_loopback", oidc_allow_loopback, 0, 1, "0",
	    "1: OpenID Connect providers may be on loopback addresses "
	    "(development and tests only; private addresses stay refused)"),
	K_STR("oidc_google_issuer", oidc_google_issuer, 8,
	    "https://accounts.google.com",
	    "Google's issuer (the tests point it at a local provider)"),
	K_STR("oidc_google_client_id", oidc_google_client_id, 0, "",
	    "the OAuth client id of \"Sign in with Google\"; empty: not "
	    "offered. Its secret: parleyctl secret set "
	    "oidc_google_client_secret"),
	K_STR("oidc_microsoft_issuer", oidc_microsoft_issuer, 8,
	    "https://login.microsoftonline.com/common/v2.0",
	    "Microsoft Entra ID's issuer: .../common/v2.0 (any work, school "
	    "or personal account: the multi-tenant issuer template, checked "
	    "against each token's tid), .../organizations/v2.0, or one "
	    "tenant's .../TENANT-ID/v2.0"),
	K_STR("oidc_microsoft_client_id", oidc_microsoft_client_id, 0, "",
	    "the application (client) id of \"Sign in with Microsoft\"; "
	    "empty: not offered. Its secret: parleyctl secret set "
	    "oidc_microsoft_client_secret"),
	K_STR("oidc_apple_issuer", oidc_apple_issuer, 8,
	    "https://appleid.apple.com",
	    "Apple's issuer (the tests point it at a local provider)"),
	K_STR("oidc_apple_client_id", oidc_apple_client_id, 0, "",
	    "the Services ID of \"Sign in with Apple\"; empty: not offered. "
	    "Its signing key (the .p8 file): parleyctl secret set "
	    "oidc_apple_private_key"),
	K_STR("oidc_apple_team_id", oidc_apple_team_id, 0, "",
	    "the Apple developer team id (the client secret's iss)"),
	K_STR("oidc_apple_key_id", oidc_apple_key_id, 0, "",
	    "the id of that signing key (the client secret's kid)"),
	K_STR("oidc_generic_issuer", oidc_generic_issuer, 0, "",
	    "any standard OpenID Provider, by its issuer URL (https)"),
	K_STR("oidc_generic_client_id", oidc_generic_client_id, 0, "",
	    "the client id parley has at that provider; empty: not offered. "
	    "Its secret: parleyctl secret set oidc_generic_client_secret"),
	K_STR("oidc_generic_name", oidc_generic_name, 1, "OpenID Connect",
	    "the name its button shows (\"Sign in with NAME\")"),
	K_STR("dns_servers", dns_servers, 0, "",
	    "the DNS resolver that domain verification asks (ip:port, "
	    "comma-separated); empty: /etc/resolv.conf's. The tests point it "
	    "at a local DNS server"),
	K_INT("sso_session_ttl", sso_session_ttl, 300, 2592000, "43200",
	    "seconds a session made by a company's single sign-on lasts at "
	    "most (refreshing does not extend it): then the member signs in "
	    "at the identity provider again, which is when a member removed "
	    "there loses access"),
	K_STR("oidc_ca_file", oidc_ca_file, 0, "",
	    "CA certificates (PEM) to trust for OpenID Connect providers "
	    "instead of the system's (tests with a local provider)"),
	K_INT("pow_ttl", pow_ttl, 30, 3600, "300",
	    "seconds a proof-of-work challenge may be solved and used in "
	    "(each once)"),
	K_STR("smtp_url", smtp_url, 0, "",
	    "SMTP server, smtp://host:port or smtps://host:port; empty: "
	    "e-mail jobs wait"),
	K_STR("smtp_user", smtp_user, 0, "", "SMTP user name"),
	K_STR("smtp_password", smtp_password, 0, "",
	    "SMTP password (secret: never logged)"),
	K_STR("smtp_tls", smtp_tls, 3, "required",
	    "STARTTLS on smtp:// URLs: none, try or required"),
	K_STR("mail_from", mail_from, 3, "parley@localhost",
	    "sender address of e-mail"),
	K_INT("jobs_workers", jobs_workers, 0, 16, "1",
	    "background job processes"),
	K_INT("answer_workers", answer_workers, 0, 16, "1",
	    "answerer processes: they stream the replies to visitors (0: "
	    "replies wait in the queue)"),
	K_INT("answer_streams", answer_streams, 1, 20000, "500",
	    "replies one answerer streams at once"),
	K_INT("answer_company_streams", answer_company_streams, 1, 20000, "100",
	    "replies one company may have streaming at once, over all "
	    "answerers (its fair share)"),
	K_INT("answer_deadline", answer_deadline, 5, 600, "120",
	    "seconds one reply may take, every provider attempt included; "
	    "then the conversation is handed to a person"),
	K_INT("answer_lease", answer_lease, 3, 3600, "30",
	    "seconds a reply in progress is reserved (renewed every third of "
	    "it); when an answerer dies another resumes the reply after this"),
	K_INT("answer_max_tries", answer_max_tries, 1, 10, "3",
	    "answerers a reply may be started by (crashes) before it is "
	    "handed to a person"),
	K_INT("answer_queue_max", answer_queue_max, 1, 10000000, "20000",
	    "queued replies beyond which a new visitor message is refused "
	    "(503)"),
	K_INT("answer_company_queue_max", answer_company_queue_max, 1, 10000000,
	    "2000",
	    "queued replies of one company beyond which its new visitor "
	    "messages are refused (503)"),
	K_INT("answer_queue_age", answer_queue_age, 1, 3600, "60",
	    "seconds a company's oldest queued reply may wait before its new "
	    "visitor messages are refused (503)"),
	K_INT("answer_retry_after", answer_retry_after, 1, 3600, "10",
	    "Retry-After of a visitor message refused for overload, seconds"),
	K_INT("answer_batch_ms", answer_batch_ms, 0, 1000, "50",
	    "milliseconds of reply text gathered into one published delta "
	    "(the first delta goes at once)"),
	K_INT("answer_sweep_age", answer_sweep_age, 1, 86400, "300",
	    "seconds after which a visitor message with neither a reply nor a "
	    "handoff is found by the sweep (queued again once, then handed "
	    "over)"),
	K_INT("notify_sweep_interval", notify_sweep_interval, 1, 3600, "30",
	    "seconds between looks for agents' digests that are due (each "
	    "agent's own quiet delay decides when one is)"),
	K_INT("answer_sweep_interval", answer_sweep_interval, 1, 86400, "60",
	    "seconds between sweeps for unanswered visitor messages"),
	K_INT("idempotency_ttl", idempotency_ttl, 60, 604800, "86400",
	    "seconds an Idempotency-Key of a message post is remembered"),
	K_INT("jobs_poll_ms", jobs_poll_ms, 10, 60000, "1000",
	    "how often an idle jobs process looks for work, milliseconds"),
	K_INT("job_retry_base", job_retry_base, 1, 3600, "30",
	    "first retry delay of a failed job, seconds; doubles each time"),
	K_INT("job_retry_max", job_retry_max, 1, 86400, "28800",
	    "longest retry delay of a failed job, seconds"),
	K_INT("job_lease", job_lease, 1, 3600, "120",
	    "seconds a running job is reserved; after a crash it runs again "
	    "once its lease ends (must exceed webhook_timeout + 30)"),
	K_INT("webhook_timeout", webhook_timeout, 1, 60, "15",
	    "seconds one outgoing webhook request may take"),
	K_INT("webhook_allow_http", webhook_allow_http, 0, 1, "0",
	    "1: webhook endpoints may use http:// (development only)"),
	K_INT("webhook_allow_loopback", webhook_allow_loopback, 0, 1, "0",
	    "1: webhooks may be sent to loopback addresses (development and "
	    "tests only; private and link-local addresses stay refused)"),
	K_STR("export_dir", export_dir, 1, "/var/lib/parley/exports",
	    "where data export archives are written (parleyd's user only); "
	    "exports are deleted when they expire"),
	K_STR("attachments_dir", attachments_dir, 1,
	    "/var/lib/parley/attachments",
	    "where conversation attachments are kept, outside the web root "
	    "(parleyd writes, nginx reads: see docs/operations.md)"),
	K_INT("attachment_max_bytes", attachment_max_bytes, 1024, 52428800,
	    "10485760",
	    "bytes of one attachment as sent, whatever the plan allows"),
	K_INT("attachment_max_pixels", attachment_max_pixels, 1024, 100000000,
	    "40000000",
	    "pixels of one image (width times height); a larger one is "
	    "refused before it is decoded"),
	K_INT("export_ttl", export_ttl, 3600, 2592000, "604800",
	    "seconds an export may be downloaded before it is deleted"),
	K_STR("backup_key_file", backup_key_file, 0, "",
	    "base64 of 32 random bytes: the key of encrypted backups (not the "
	    "keyring; keep a copy away from the backups)"),
	K_STR("backup_dir", backup_dir, 1, "/var/lib/parley/backups",
	    "where parleyctl backup writes"),
	K_INT("backup_keep_days", backup_keep_days, 1, 3650, "30",
	    "backups older than this are removed after each backup"),
	K_STR("tombstone_file", tombstone_file, 0, "",
	    "a file (on the backup volume) where parleyd appends the id of "
	    "each deleted company, read again by parleyctl restore"),
	K_STR("pg_bin", pg_bin, 0, "",
	    "directory of pg_dump and pg_restore; empty: the PATH"),
	K_INT("retention_interval", retention_interval, 0, 604800, "3600",
	    "seconds between retention sweeps by the jobs processes; 0: only "
	    "parleyctl retention run"),
	K_INT("retention_batch", retention_batch, 10, 100000, "1000",
	    "conversations per retention transaction"),
	K_STR("llm_base_url", llm_base_url, 0, "",
	    "OpenAI-compatible API base URL (e.g. https://api.openai.com/v1); "
	    "empty: the offline responder answers from the knowledge base"),
	K_STR("llm_api_key", llm_api_key, 0, "",
	    "LLM provider API key (secret: never logged)"),
	K_STR("llm_model", llm_model, 1, "gpt-4o-mini",
	    "default model; a chatbot or company may name another"),
	K_INT("llm_timeout", llm_timeout, 1, 600, "30",
	    "seconds one provider attempt may take"),
	K_INT("llm_connect_timeout", llm_connect_timeout, 1, 60, "5",
	    "seconds to connect to the provider"),
	K_INT("llm_retries", llm_retries, 0, 5, "2",
	    "extra attempts after 429 or 5xx, before anything was streamed"),
	K_INT("llm_backoff_ms", llm_backoff_ms, 1, 10000, "250",
	    "first retry delay, milliseconds; doubles each time"),
	K_INT("llm_company_base_url", llm_company_base_url, 0, 1, "0",
	    "1: companies may point their chatbots at their own provider URL "
	    "(parleyd then connects where a tenant says: trust them first)"),
	K_INT("llm_chatbot_monthly_tokens", llm_chatbot_monthly_tokens, 0,
	    2000000000, "1000000", "LLM tokens one chatbot may use per month"),
	K_INT("widget_message_max", widget_message_max, 1, 16000, "2000",
	    "bytes of one visitor or agent message"),
	K_INT("widget_message_rate", widget_message_rate, 1, 100000, "20",
	    "messages per visitor per widget_message_window"),
	K_INT("widget_message_window", widget_message_window, 1, 86400, "60",
	    "visitor message rate-limit window, seconds"),
	K_INT("widget_session_rate", widget_session_rate, 1, 100000, "30",
	    "widget sessions per client address per widget_session_window"),
	K_INT("widget_session_window", widget_session_window, 1, 86400, "600",
	    "widget session rate-limit window, seconds"),
	K_INT("visitor_token_ttl", visitor_token_ttl, 60, 2592000, "86400",
	    "lifetime of a widget visitor token, seconds"),
	K_INT("contact_reply_delay", contact_reply_delay, 1, 86400, "300",
	    "seconds an agent's reply waits unseen by the visitor before it is "
	    "e-mailed to their confirmed address (one mail per conversation "
	    "per delay, however many replies)"),
	K_INT("contact_link_ttl", contact_link_ttl, 300, 2592000, "604800",
	    "lifetime of the links in visitors' e-mails (confirm the address, "
	    "open the conversation), seconds"),
	K_INT("contact_rate", contact_rate, 1, 1000, "3",
	    "addresses a visitor may leave (each sends one confirmation "
	    "e-mail) per contact_window; one address gets at most twice as "
	    "many confirmations, from any visitor"),
	K_INT("contact_window", contact_window, 60, 604800, "3600",
	    "contact_rate's window, seconds"),
	K_INT("transcript_rate", transcript_rate, 1, 1000, "3",
	    "transcripts a conversation may have e-mailed per "
	    "transcript_window"),
	K_INT("transcript_window", transcript_window, 60, 604800, "86400",
	    "transcript_rate's window, seconds"),
	K_INT("suggest_rate", suggest_rate, 1, 100000, "10",
	    "LLM drafts per agent per suggest_window"),
	K_INT("suggest_window", suggest_window, 1, 86400, "60",
	    "agent draft rate-limit window, seconds"),
	K_INT("kb_document_max", kb_document_max, 1024, 524288, "262144",
	    "bytes of one knowledge-base document as sent"),
	K_INT("kb_company_max", kb_company_max, 1024, 2000000000, "52428800",
	    "bytes of all of a company's knowledge-base text"),
	K_INT("kb_file_max", kb_file_max, 1024, 52428800, "10485760",
	    "bytes of a PDF or DOCX knowledge-base file, uploaded or fetched"),
	K_INT("kb_pdf_pages", kb_pdf_pages, 1, 2000, "200",
	    "pages of a PDF whose text is read (the rest is left out)"),
	K_INT("kb_fetch_timeout", kb_fetch_timeout, 1, 120, "20",
	    "seconds one knowledge-base page fetch may take"),
	K_INT("kb_sitemap_max", kb_sitemap_max, 1, 10000, "200",
	    "pages one sitemap source may add"),
	K_INT("detect_baseline_weight", detect_baseline_weight, 1, 100, "10",
	    "percent: the weight of the last hour in a detection baseline"),
	K_INT("detect_factor", detect_factor, 1, 1000, "3",
	    "a counted rule fires past this many times its baseline"),
	K_INT("detect_login_failures", detect_login_failures, 1, 100000, "10",
	    "failed logins of one account in an hour that open an alert"),
	K_INT("detect_stuffing_accounts", detect_stuffing_accounts, 2, 100000,
	    "5", "accounts one address fails to log in to that open an alert"),
	K_INT("detect_stuffing_window", detect_stuffing_window, 60, 86400,
	    "3600", "seconds detect_stuffing_accounts are counted over"),
	K_INT("detect_denials", detect_denials, 1, 100000, "20",
	    "unknown ids and denials of one session or key in an hour"),
	K_INT("detect_exports", detect_exports, 1, 100000, "5",
	    "exports of one kind by one company in an hour"),
	K_INT("detect_csp_reports", detect_csp_reports, 1, 1000000, "50",
	    "CSP reports from one chatbot's widget in an hour"),
	K_INT("sign_in_link_ttl", sign_in_link_ttl, 300, 2592000, "259200",
	    "seconds the link of a new sign-in mail can end that session"),
	K_INT("kb_fetch_allow_http", kb_fetch_allow_http, 0, 1, "0",
	    "fetch knowledge-base pages over plain http too (development "
	    "only)"),
	K_INT("kb_fetch_allow_loopback", kb_fetch_allow_loopback, 0, 1, "0",
	    "fetch knowledge-base pages from loopback (development and tests "
	    "only; other private addresses stay refused)"),
	K_STR("realtime_socket", realtime_socket, 0, "",
	    "nginx's nchan publisher socket (unix path); empty: no realtime "
	    "events"),
	K_STR("stripe_webhook_secret", stripe_webhook_secret, 0, "",
	    "Stripe webhook endpoint secret (whsec_…; secret: never logged)"),
	K_STR("stripe_api_url", stripe_api_url, 8, "https://api.stripe.com",
	    "Stripe's API (Checkout, the customer portal, subscriptions); "
	    "the secret key is set with parleyctl secret set "
	    "stripe_secret_key"),
	K_STR("stripe_webhook_secret_previous", stripe_webhook_secret_previous,
	    0, "",
	    "the previous Stripe webhook secret, accepted too while rotating"),
};
const size_t conf_nkeys = sizeof(conf_keys) / sizeof(conf_keys[0]);

static const struct conf_key *
conf_find(const char *name)
{
	size_t i;

	for (i = 0; i < conf_nkeys; i++)
		if (strcmp(conf_keys[i].name, name) == 0)
			return &conf_keys[i];
	return NULL;
}

/* Parses a whole decimal or octal number; no sign games, no junk. */
static int
parse_long(const char *s, int base, long *out)
{
	char *end;
	long  v;

	if (*s == '\0' || isspace((unsigned char)*s) || *s == '+')
		return -1;
	errno = 0;
	v = strtol(s, &end, base);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

int
conf_set(struct conf *c, const char *key, const char *value, char *err,
    size_t errlen)
{
	const struct conf_key *k;
	char		      *p;
	long		       v;
	size_t		       len;

	if ((k = conf_find(key)) == NULL) {
		snprintf(err, errlen, "unknown configuration key '%s'", key);
		return -1;
	}
	p = (char *)c + k->off;
	switch (k->type) {
	case CK_STR:
		len = strlen(value);
		if (len >= k->size || (long)len < k->min) {
			snprintf(err, errlen, "%s: length must be %ld to %zu",
			    key, k->min, k->size - 1);
			return -1;
		}
		memcpy(p, value, len + 1);
		break;
	case CK_INT:
		if (parse_long(value, 10, &v) == -1 || v < k->min ||
		    v > k->max) {
			snprintf(err, errlen,
			    "%s: must be an integer from %ld to %ld", key,
			    k->min, k->max);
			return -1;
		}
		*(int *)(void *)p = (int)v;
		break;
	case CK_OCTAL:
		if (parse_long(value, 8, &v) == -1 || v < k->min ||
		    v > k->max) {
			snprintf(err, errlen,
			    "%s: must be an octal mode such as 0660", key);
			return -1;
		}
		*(int *)(void *)p = (int)v;
		break;
	}
	return 0;
}

/* Checks relations between keys once all sources are read. */
static int
conf_check(const struct conf *c, char *err, size_t errlen)
{
	enum log_level lvl;

	if (log_level_parse(c->log_level, &lvl) == -1) {
		snprintf(err, errlen,
		    "log_level: must be debug, info, warn or error");
		return -1;
	}
	if (c->database_url[0] != '\0' && !db_conninfo_valid(c->database_url)) {
		snprintf(err, errlen,
		    "database_url: not a valid libpq connection "
		    "string (key=value pairs or a postgresql:// URI)");
		return -1;
	}
	if (strcmp(c->smtp_tls, "none") != 0 &&
	    strcmp(c->smtp_tls, "try") != 0 &&
	    strcmp(c->smtp_tls, "required") != 0) {
		snprintf(
		    err, errlen, "smtp_tls: must be none, try or required");
		return -1;
	}
	/* The Stripe key travels to this URL: TLS, but for a local fake. */
	if (strncmp(c->stripe_api_url, "https://", 8) != 0 &&
	    strncmp(c->stripe_api_url, "http://127.0.0.1:", 17) != 0 &&
	    strncmp(c->stripe_api_url, "http://localhost:", 17) != 0) {
		snprintf(err, errlen,
		    "stripe_api_url: must be https:// (http:// only to "
		    "127.0.0.1 or localhost, for tests)");
		return -1;
	}
	/* A job still running when its lease ends may run twice at once. */
	if (c->job_lease <= c->webhook_timeout + MAIL_TIMEOUT_S) {
		snprintf(err, errlen,
		    "job_lease: must exceed the longest job: webhook_timeout "
		    "(%d) + %d s (an e-mail), so more than %d",
		    c->webhook_timeout, MAIL_TIMEOUT_S,
		    c->webhook_timeout + MAIL_TIMEOUT_S);
		return -1;
	}
	/*
	 * A knowledge-base source renews its lease before each page, which
	 * takes at most its robots.txt and itself (kb_fetch_timeout each,
	 * redirects included) and a PDF's reading (KB_PDF_SECONDS).
	 */
	if (c->job_lease <= 2 * c->kb_fetch_timeout + KB_PDF_SECONDS) {
		snprintf(err, errlen,
		    "job_lease: must exceed one knowledge-base page: 2 x "
		    "kb_fetch_timeout (%d) + %d s (a PDF), so more than %d",
		    c->kb_fetch_timeout, KB_PDF_SECONDS,
		    2 * c->kb_fetch_timeout + KB_PDF_SECONDS);
		return -1;
	}
	/* The sweep must not take a reply still within its deadline. */
	if (c->answer_sweep_age <= c->answer_deadline) {
		snprintf(err, errlen,
		    "answer_sweep_age: must exceed answer_deadline (%d)",
		    c->answer_deadline);
		return -1;
	}
	if (strncmp(c->public_base_url, "https://", 8) != 0 &&
	    strncmp(c->public_base_url, "http://", 7) != 0) {
		snprintf(
		    err, errlen, "public_base_url: must be an http(s) URL");
		return -1;
	}
	if (strncmp(c->listen, "unix:/", 6) == 0)
		return 0;
	if (strncmp(c->listen, "127.", 4) == 0 && strchr(c->listen, ':')) {
		long port;

		if (parse_long(strchr(c->listen, ':') + 1, 10, &port) == 0 &&
		    port > 0 && port < 65536)
			return 0;
	}
	snprintf(err, errlen,
	    "listen: must be unix:/absolute/path or 127.x.y.z:port (FastCGI is "
	    "never exposed beyond loopback)");
	return -1;
}

static int
conf_load_file(struct conf *c, const char *file, char *err, size_t errlen)
{
	FILE *f;
	char  line[PRL_MAX_CONFIG_LINE + 2];
	char  sub[256];
	int   lineno = 0, rc = -1;

	if ((f = fopen(file, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char  *k, *v, *eq, *end;
		size_t len;

		lineno++;
		len = strlen(line);
		if (len > PRL_MAX_CONFIG_LINE) {
			snprintf(
			    err, errlen, "%s:%d: line too long", file, lineno);
			goto out;
		}
		while (len > 0 && isspace((unsigned char)line[len - 1]))
			line[--len] = '\0';
		k = line;
		while (isspace((unsigned char)*k))
			k++;
		if (*k == '\0' || *k == '#')
			continue;
		if ((eq = strchr(k, '=')) == NULL) {
			snprintf(err, errlen, "%s:%d: expected key = value",
			    file, lineno);
			goto out;
		}
		end = eq;
		while (end > k && isspace((unsigned char)end[-1]))
			end--;
		*end = '\0';
		v = eq + 1;
		while (isspace((unsigned char)*v))
			v++;
		if (conf_set(c, k, v, sub, sizeof(sub)) == -1) {
			snprintf(err, errlen, "%s:%d: %s", file, lineno, sub);
			goto out;
		}
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error", file);
		goto out;
	}
	rc = 0;
out:
	fclose(f);
	return rc;
}

int
conf_load(struct conf *c, const char *file, char *err, size_t errlen)
{
	char   envname[96];
	size_t i, j;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < conf_nkeys; i++)
		if (conf_set(c, conf_keys[i].name, conf_keys[i].def, err,
			errlen) == -1)
			return -1;
	if (file != NULL && conf_load_file(c, file, err, errlen) == -1)
		return -1;
	for (i = 0; i < conf_nkeys; i++) {
		const char *v;

		snprintf(
		    envname, sizeof(envname), "PARLEY_%s", conf_keys[i].name);
		for (j = 7; envname[j] != '\0'; j++)
			envname[j] = (char)toupper((unsigned char)envname[j]);
		if ((v = getenv(envname)) == NULL)
			continue;
		if (conf_set(c, conf_keys[i].name, v, err, errlen) == -1) {
			char sub[256];

			snprintf(sub, sizeof(sub), "%s", err);
			snprintf(err, errlen, "%s (from %s)", sub, envname);
			return -1;
		}
	}
	return conf_check(c, err, errlen);
}
