/*
 * conf.h: parleyd's configuration.
 *
 * Sources, later ones winning: built-in defaults, the key=value file named
 * by -c or PARLEY_CONFIG, then PARLEY_<KEY> environment variables. Every
 * key is declared once in conf.c with its type and bounds; an unknown key
 * or a value out of bounds is an error (parleyd refuses to start).
 * docs/configuration.md lists the keys; t/05-config.t checks the two agree.
 */
#ifndef PARLEY_CONF_H
#define PARLEY_CONF_H

#include <stddef.h>

struct conf {
	char listen[256]; /* unix:/path or 127.0.0.1:port */
	int  socket_mode; /* octal permissions of a unix socket */
	int  workers;
	int  backlog;
	int  queue_timeout_ms; /* shed a request queued longer; 0 = never */
	int  queue_target_ms; /* ... or this long while the queue stands */
	int  queue_interval_ms; /* ... as judged over this long */
	int  db_statement_timeout; /* seconds a request's statement may run */
	int  shutdown_timeout; /* seconds to let requests finish */
	int  max_requests; /* worker recycles after this many; 0 = never */
	char database_url[1024]; /* libpq conninfo for the runtime role */
	int  db_connect_timeout; /* seconds */
	char log_level[8];
	char instance_name[64];

	/* Identity */
	char jwt_key_file[512]; /* base64 of >= 32 random bytes */
	char keyring_file[512]; /* "KID BASE64KEY" lines, AES-256 */
	char audit_key_file[512]; /* base64 of >= 32 bytes: audit chain */
	char jwt_issuer[128];
	int  bcrypt_cost;
	int  access_ttl; /* seconds */
	int  refresh_ttl; /* absolute session lifetime, seconds */
	int  refresh_idle_ttl; /* seconds without use */
	int  reset_ttl; /* password reset link, seconds */
	int  verify_ttl; /* e-mail verification link, seconds */
	int  password_min_bits; /* zxcvbn entropy */
	char public_base_url[256]; /* where links in e-mails point */
	int  login_max_per_ip, login_max_per_account, login_window;
	int  register_max_per_ip, register_window;
	int  reset_max, reset_window;
	int  invite_max_per_address, invite_max_per_company, invite_window;
	int  api_rate_max, api_rate_window; /* per user and per API key */
	char recaptcha_secret[256];
	char recaptcha_url[256];
	int  recaptcha_min_score; /* percent */
	int  pow_difficulty; /* leading zero bits; 0: no proof of work */
	int  pow_ttl; /* seconds a challenge may be solved in */
	int  oidc_allow_loopback; /* tests: OpenID providers on loopback */
	char oidc_ca_file[256];
	char dns_servers[256]; /* domain verification's resolver; "" system */
	int  sso_session_ttl; /* seconds: an SSO session's bound */
	char oidc_google_issuer[256], oidc_google_client_id[256];
	char oidc_microsoft_issuer[256], oidc_microsoft_client_id[256];
	char oidc_apple_issuer[256], oidc_apple_client_id[256];
	char oidc_apple_team_id[16], oidc_apple_key_id[16];
	char oidc_generic_issuer[256], oidc_generic_client_id[256];
	char oidc_generic_name[64]; /* tests: the local provider's CA */

	/* E-mail and jobs */
	char smtp_url[256];
	char smtp_user[128];
	char smtp_password[256];
	char smtp_tls[16]; /* none, try, required */
	char mail_from[254];
	int  jobs_workers;
	int  answer_workers; /* answerer processes */
	int  answer_streams; /* concurrent replies per answerer */
	int  answer_company_streams; /* one company's share, all answerers */
	int  answer_deadline; /* seconds one reply may take */
	int  answer_lease; /* seconds a running reply is reserved */
	int  answer_max_tries; /* tries of one reply before the handoff */
	int  answer_queue_max, answer_company_queue_max, answer_queue_age;
	int  answer_retry_after; /* Retry-After of a refused message */
	int  answer_batch_ms; /* deltas gathered before one publish */
	int  answer_sweep_age, answer_sweep_interval;
	int  notify_sweep_interval; /* seconds between digest sweeps */
	int  idempotency_ttl; /* seconds an Idempotency-Key is kept */
	int  jobs_poll_ms;
	int  job_retry_base; /* seconds; doubles per attempt */
	int  job_retry_max; /* seconds: the longest delay */
	int  job_lease; /* seconds a taken job is reserved */
	int  webhook_timeout; /* seconds per delivery attempt */
	int  webhook_allow_http; /* development only */
	int  webhook_allow_loopback; /* development and tests only */
	char export_dir[512]; /* data export archives */
	char attachments_dir[512]; /* conversation attachments */
	int  attachment_max_bytes; /* one file as sent */
	int  attachment_max_pixels; /* one image, decoded */
	char backup_key_file[512]; /* AES-256 key of backups */
	char backup_dir[512];
	int  backup_keep_days;
	char tombstone_file[512]; /* deleted companies, outside the database */
	char pg_bin[512]; /* pg_dump, pg_restore; "" = PATH */
	int  export_ttl; /* seconds until an export is deleted */
	int  retention_interval; /* seconds; 0: no scheduled sweep */
	int  retention_batch; /* conversations per transaction */
	/* Conversations and AI */
	char llm_base_url[256]; /* OpenAI-compatible API; "" = offline */
	char llm_api_key[256]; /* secret: never logged */
	char llm_model[101];
	int  llm_timeout; /* seconds per attempt */
	int  llm_connect_timeout; /* seconds */
	int  llm_retries;
	int  llm_backoff_ms;
	int  llm_company_base_url; /* 1: companies may set their own URL */
	int  llm_chatbot_monthly_tokens;
	int  widget_message_max; /* bytes of one visitor message */
	int  widget_message_rate, widget_message_window; /* per visitor */
	int  widget_session_rate, widget_session_window; /* per address */
	int  contact_reply_delay, contact_link_ttl; /* visitors' e-mails */
	int  contact_rate, contact_window; /* addresses left per visitor */
	int  transcript_rate, transcript_window; /* per conversation */
	int  visitor_token_ttl; /* seconds */
	int  suggest_rate, suggest_window; /* agent drafts per user */
	int  kb_document_max; /* bytes of one document as sent */
	int  kb_company_max; /* bytes of all of a company's documents */
	int  kb_file_max; /* bytes of a PDF or DOCX, uploaded or fetched */
	int  kb_pdf_pages; /* pages of a PDF whose text is read */
	int  kb_fetch_timeout; /* seconds one page fetch may take */
	int  kb_sitemap_max; /* pages one sitemap source may add */

	/* Detection (src/detect.c): per hour, per company and subject */
	int detect_baseline_weight; /* percent: an hour's weight in the mean */
	int detect_factor; /* fires past this many times the baseline */
	int detect_login_failures; /* one account's failed logins */
	int detect_stuffing_accounts; /* accounts one address fails against */
	int detect_stuffing_window; /* seconds */
	int detect_denials; /* 404 unknown_id / 403 of one session or key */
	int detect_exports; /* exports (of one kind) of one company */
	int detect_csp_reports; /* CSP reports of one chatbot's widget */
	int sign_in_link_ttl; /* seconds the "not me" link works */
	int kb_fetch_allow_http; /* development and tests only */
	int kb_fetch_allow_loopback; /* development and tests only */
	/* Realtime */
	char realtime_socket[256]; /* nchan publisher socket; "" = off */
	/* Billing */
	char stripe_webhook_secret[256]; /* whsec_…; secret */
	char stripe_webhook_secret_previous[256]; /* during rotation */
	char stripe_api_url[256];
};

/* One declared key, for docs and tests. */
struct conf_key {
	const char *name;
	enum { CK_STR, CK_INT, CK_OCTAL } type;
	size_t	    off;
	size_t	    size; /* CK_STR: buffer size */
	long	    min, max; /* CK_INT: bounds; CK_STR: min length */
	const char *def;
	const char *help;
};

extern const struct conf_key conf_keys[];
extern const size_t	     conf_nkeys;

/*
 * Fills 'c' from defaults, 'file' (may be NULL) and the environment.
 * Returns 0, or -1 with a message naming the key in 'err'.
 */
int conf_load(struct conf *c, const char *file, char *err, size_t errlen);

/* Sets one key from its string form; returns 0 or -1 with 'err' filled. */
int conf_set(struct conf *c, const char *key, const char *value, char *err,
    size_t errlen);

#endif
