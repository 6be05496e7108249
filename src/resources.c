/*
 * resources.c: every resource's columns, declared once.
 */
#include "config.h"

#include "resources.h"

static const struct col template_cols[] = {
	COL("id", C_UUID, 0),
	COL("name", C_STRING, 0),
	COL("body", C_STRING, 0),
	COL_DOC("created_by", C_UUID, COL_NULL,
	    "the user who wrote it; null once they left"),
	COL("created_at", C_TIME, 0),
	COL("updated_at", C_TIME, 0),
};
const struct row row_template = ROW("Template", template_cols,
    "A response template: a canned reply agents insert");

static const struct col logo_cols[] = {
	{ "media_type", C_STRING, 0, NULL, NULL,
	    (const char *const[]){
		"image/png", "image/jpeg", "image/webp", NULL },
	    "decided from the bytes" },
	COL_DOC("width", C_INT, 0, "pixels"),
	COL_DOC("height", C_INT, 0, "pixels"),
	COL_SUB("bytes", C_INT, 0, "octet_length(l.content)", NULL,
	    "as stored (decoded and written again)"),
	COL_DOC("sha256", C_STRING, 0, "of the stored bytes"),
};
const struct row row_logo = ROW("Logo", logo_cols,
    "A chatbot's logo: served at GET /api/v1/widget/logo?bot=KEY");

static const struct col chatbot_cols[] = {
	COL("id", C_UUID, 0),
	COL("name", C_STRING, 0),
	COL("prompt_template", C_STRING, 0),
	COL("welcome_message", C_STRING, 0),
	COL_EXPR(
	    "allowed_origins", C_STRINGS, 0, "array_to_json(allowed_origins)"),
	COL_EXPR("link_domains", C_STRINGS, 0, "array_to_json(link_domains)"),
	COL_DOC("language", C_STRING, 0,
	    "the text-search configuration of documents that name none"),
	COL_EXPR("locales", C_STRINGS, 0, "array_to_json(locales)"),
	COL_DOC("welcome_messages", C_JSON, 0, "the welcome per locale"),
	COL_DOC("model", C_STRING, COL_NULL, "null: the default model"),
	COL("temperature", C_NUMBER, 0),
	COL("max_tokens", C_INT, 0),
	COL_EXPR("handoff_keywords", C_STRINGS, 0,
	    "array_to_json(handoff_keywords)"),
	COL("handoff_on_no_answer", C_BOOL, 0),
	COL("require_verified", C_BOOL, 0),
	COL_DOC("team_id", C_UUID, COL_NULL,
	    "the team its handoffs go to; null: every member"),
	COL_DOC("reassign_offline", C_BOOL, 0,
	    "an agent who goes offline hands its conversations back to "
	    "routing"),
	{ "routing", C_STRING, 0, NULL, NULL,
	    (const char *const[]){
		"manual", "round_robin", "least_loaded", NULL },
	    "how a handoff is assigned among the team's online agents "
	    "(within each one's capacity)" },
	COL_DOC("accent_color", C_STRING, 0, "#rrggbb"),
	COL_DOC("accent_text_color", C_STRING, 0,
	    "#rrggbb, readable on the accent (WCAG AA)"),
	{ "launcher_position", C_STRING, 0, NULL, NULL,
	    (const char *const[]){ "right", "left", NULL }, NULL },
	COL_DOC("display_name", C_STRING, COL_NULL,
	    "what the bot's messages are signed with; null: \"AI "
	    "assistant\" in the visitor's language"),
	COL_SUB("logo", C_JSON, COL_NULL,
	    "(SELECT json_build_object('media_type', l.media_type, 'width', "
	    "l.width, 'height', l.height, 'bytes', octet_length(l.content), "
	    "'sha256', l.sha256) FROM chatbot_logos l WHERE l.company_id = "
	    "chatbots.company_id AND l.chatbot_id = chatbots.id)",
	    &row_logo, "the logo, when it has one"),
	COL_DOC("public_key", C_STRING, 0, "the widget's key (data-key)"),
	COL("created_at", C_TIME, 0),
	COL("updated_at", C_TIME, 0),
	COL_DOC("identity_secret", C_STRING, COL_EXTRA,
	    "only when made: the secret that signs visitor identities"),
};
const struct row row_chatbot = ROW("Chatbot", chatbot_cols,
    "A chatbot: its widget settings and how it answers");

static const struct col visitor_brief_cols[] = {
	COL("id", C_UUID, 0),
	COL("name", C_STRING, COL_NULL),
	COL("email", C_STRING, COL_NULL),
	COL_DOC("verified", C_BOOL, 0,
	    "the company's backend signed the visitor's identity"),
	COL_DOC("restricted", C_BOOL, 0,
	    "processing of the visitor's data is restricted (GDPR art. 18)"),
};
const struct row row_visitor_brief =
    ROW("VisitorBrief", visitor_brief_cols, "Who a conversation is with");

static const struct col citation_cols[] = {
	COL("document_id", C_UUID, 0),
	COL("title", C_STRING, 0),
	COL("source_url", C_STRING, COL_NULL),
};
const struct row row_citation = ROW(
    "Citation", citation_cols, "A knowledge-base document an answer drew on");

static const char *const msg_roles[] = { "visitor", "bot", "agent", "system",
	NULL };
/* Selected from messages as m (see conv.h). */
static const char *const attachment_types[] = { "image/png", "image/jpeg",
	"image/gif", "image/webp", "application/pdf", NULL };
static const struct col	 attachment_cols[] = {
	 COL("id", C_UUID, 0),
	 { "media_type", C_STRING, 0, NULL, NULL, attachment_types,
	     "decided from the bytes, never the name" },
	 COL_DOC("filename", C_STRING, 0, "as sent, made safe to show"),
	 COL_DOC("bytes", C_INT, 0, "of the file as stored"),
	 COL_DOC("width", C_INT, COL_NULL, "pixels; null for a PDF"),
	 COL_DOC("height", C_INT, COL_NULL, "pixels; null for a PDF"),
};
const struct row row_attachment = ROW("Attachment", attachment_cols,
    "A file a message carries: download it from the attachment's route");
/* The attachment of message m, as JSON, or NULL. */
#define MESSAGE_ATTACHMENT                                                     \
	"(SELECT json_build_object('id', a.id, 'media_type', a.media_type, "   \
	"'filename', a.filename, 'bytes', a.bytes, 'width', a.width, "         \
	"'height', a.height) FROM attachments a WHERE a.company_id = "         \
	"m.company_id AND a.message_id = m.id)"
/* The name visitors see on an agent's message m (never the e-mail). */
#define MESSAGE_AUTHOR_NAME                                                    \
	COL_SUB("author_name", C_STRING, COL_NULL,                             \
	    "(SELECT coalesce(u.display_name, split_part(u.name, ' ', 1)) "    \
	    "FROM users u WHERE m.role = 'agent' AND u.company_id = "          \
	    "m.company_id AND u.id = m.author_id)",                            \
	    NULL,                                                              \
	    "an agent's message: the display name they chose, else the "       \
	    "first word of their name; null otherwise (and once they left)")
static const struct col message_cols[] = {
	COL_EXPR("id", C_UUID, 0, "m.id"),
	COL_EXPR("seq", C_INT, 0, "m.seq"),
	{ "role", C_STRING, 0, "m.role", NULL, msg_roles, NULL },
	COL_SUB("author_id", C_UUID, COL_NULL, "m.author_id", NULL,
	    "the agent who wrote it"),
	MESSAGE_AUTHOR_NAME,
	COL_EXPR("content", C_STRING, 0, "m.content"),
	COL_SUB("citations", C_ROWS, 0, "coalesce(m.citations, '[]'::jsonb)",
	    &row_citation, NULL),
	COL_EXPR("created_at", C_TIME, 0, "m.created_at"),
	COL_SUB("reply_to", C_UUID, COL_NULL, "m.reply_to", NULL,
	    "the visitor message a bot message answers"),
	COL_SUB("attachment", C_JSON, COL_NULL, MESSAGE_ATTACHMENT,
	    &row_attachment, "the file it carries (its content is the name)"),
};
const struct row row_message =
    ROW("Message", message_cols, "One message of a conversation");

static const char *const conv_statuses[] = { "bot", "pending", "open",
	"resolved", NULL };
/* Selected from conversations c joined with visitors v. */
static const struct col conversation_cols[] = {
	COL_EXPR("id", C_UUID, 0, "c.id"),
	COL_EXPR("chatbot_id", C_UUID, 0, "c.chatbot_id"),
	COL_SUB("visitor", C_JSON, 0,
	    "json_build_object('id', v.id, 'name', v.name, 'email', v.email, "
	    "'verified', v.verified, 'restricted', v.restricted)",
	    &row_visitor_brief, NULL),
	{ "status", C_STRING, 0, "c.status", NULL, conv_statuses,
	    "bot: the bot answers; pending: waiting for a human; open: a "
	    "human handles it; resolved" },
	COL_EXPR("assignee_id", C_UUID, COL_NULL, "c.assignee_id"),
	COL_SUB("label_ids", C_STRINGS, 0,
	    "(SELECT coalesce(json_agg(l.label_id ORDER BY l.label_id), '[]') "
	    "FROM conversation_labels l WHERE l.company_id = c.company_id AND "
	    "l.conversation_id = c.id)",
	    NULL, "its labels (GET /api/v1/labels names them)"),
	COL_EXPR("handoff_reason", C_STRING, COL_NULL, "c.handoff_reason"),
	COL_EXPR("flag_reason", C_STRING, COL_NULL, "c.flag_reason"),
	COL_EXPR("message_count", C_INT, 0, "c.message_count"),
	COL_EXPR("last_role", C_STRING, COL_NULL, "c.last_role"),
	COL_EXPR("tokens", C_INT, 0, "c.tokens"),
	COL_EXPR("created_at", C_TIME, 0, "c.created_at"),
	COL_EXPR("last_message_at", C_TIME, 0, "c.last_message_at"),
	COL_SUB("unanswered", C_BOOL, 0,
	    "coalesce(c.status = 'pending' OR (c.status <> 'resolved' AND "
	    "c.last_role = 'visitor'), false)",
	    NULL, "waiting for a human, or the visitor spoke last"),
	COL_EXPR("cursor", C_STRING, COL_HIDDEN,
	    "(extract(epoch FROM c.last_message_at) * 1000000)::bigint || '_' "
	    "|| c.id"),
	COL_SUB("messages", C_ROWS, COL_EXTRA, NULL, &row_message,
	    "GET /conversations/{id} only: the last 1000 messages"),
};
const struct row row_conversation = ROW("Conversation", conversation_cols,
    "A conversation of a visitor with a chatbot, as the inbox shows it");

static const char *const draft_statuses[] = { "queued", "done", "refused",
	"failed", NULL };
static const struct col	 draft_cols[] = {
	 COL("id", C_UUID, 0),
	 COL("conversation_id", C_UUID, 0),
	 { "status", C_STRING, 0, NULL, NULL, draft_statuses,
	     "refused: nothing in the knowledge base to draft from" },
	 COL_SUB("draft", C_STRING, COL_NULL, "content", NULL,
	     "the text, once done"),
	 COL_SUB("citations", C_ROWS, 0, "coalesce(citations, '[]'::jsonb)",
	     &row_citation, NULL),
	 { "source", C_STRING, COL_NULL, NULL, NULL,
	     (const char *const[]){ "llm", "knowledge_base", NULL }, NULL },
	 COL("created_at", C_TIME, 0),
	 COL("done_at", C_TIME, COL_NULL),
};
const struct row row_draft =
    ROW("Draft", draft_cols, "An LLM draft reply for an agent");

static const struct col summary_cols[] = {
	COL_EXPR("from", C_TIME, 0, "$2::timestamptz"),
	COL_EXPR("to", C_TIME, 0, "$3::timestamptz"),
	COL_EXPR("conversations", C_INT, 0, "count(*)"),
	COL_EXPR("messages", C_INT, 0, "coalesce(sum(message_count), 0)"),
	COL_SUB("bot_resolved", C_INT, 0,
	    "count(*) FILTER (WHERE handed_off_at IS NULL AND "
	    "first_response_at IS NOT NULL)",
	    NULL, "answered by the bot and never handed off"),
	COL_EXPR("handed_off", C_INT, 0,
	    "count(*) FILTER (WHERE handed_off_at IS NOT NULL)"),
	COL_EXPR("resolved", C_INT, 0,
	    "count(*) FILTER (WHERE status = 'resolved')"),
	COL_SUB("median_first_response_seconds", C_NUMBER, COL_NULL,
	    "percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM "
	    "first_response_at - first_visitor_at))",
	    NULL, "null when nothing was answered"),
	COL_EXPR("tokens", C_INT, 0, "coalesce(sum(tokens), 0)"),
	COL_EXPR("flagged", C_INT, 0,
	    "count(*) FILTER (WHERE flag_reason IS NOT NULL)"),
	COL_SUB("ratings", C_INT, 0, "count(rating)", NULL,
	    "conversations their visitors rated"),
	COL_SUB("rating_average", C_NUMBER, COL_NULL,
	    "round(avg(rating), 2)::float8", NULL,
	    "1 to 5; null when none was rated"),
	COL_SUB("satisfied", C_INT, 0, "count(*) FILTER (WHERE rating >= 4)",
	    NULL, "rated 4 or 5: CSAT is satisfied / ratings"),
};
const struct row row_summary = ROW(
    "AnalyticsSummary", summary_cols, "Conversations created in [from, to)");

static const struct col webhook_cols[] = {
	COL("id", C_UUID, 0),
	COL("url", C_STRING, 0),
	COL("description", C_STRING, 0),
	COL_EXPR("events", C_STRINGS, 0, "array_to_json(events)"),
	COL("enabled", C_BOOL, 0),
	COL_DOC("disabled_reason", C_STRING, COL_NULL,
	    "why parley turned it off (failing for days), or null"),
	COL_DOC("secret_hint", C_STRING, COL_ADDED,
	    "the signing secret's last four characters: whsec_...abcd"),
	COL_DOC("secret", C_STRING, COL_EXTRA,
	    "only when made or rotated: the signing secret, whsec_..."),
	COL("created_at", C_TIME, 0),
	COL("updated_at", C_TIME, 0),
	COL("secret_enc", C_STRING, COL_HIDDEN),
};
const struct row row_webhook = ROW("WebhookEndpoint", webhook_cols,
    "Where parley posts a company's events, signed");

static const struct col attempt_cols[] = {
	COL("n", C_INT, 0),
	COL("started_at", C_TIME, 0),
	COL("finished_at", C_TIME, COL_NULL),
	COL_DOC("status", C_INT, COL_NULL, "the receiver's HTTP status"),
	COL("error", C_STRING, COL_NULL),
	COL_DOC("response", C_STRING, COL_NULL,
	    "the start of the receiver's answer"),
};
const struct row row_attempt = ROW("DeliveryAttempt", attempt_cols, NULL);

static const struct col delivery_cols[] = {
	COL_EXPR("id", C_UUID, 0, "d.id"),
	COL_EXPR("event_id", C_STRING, 0, "d.event_id"),
	COL_EXPR("event_type", C_STRING, 0, "d.event_type"),
	COL_EXPR("attempts", C_INT, 0, "d.attempts"),
	COL_EXPR("created_at", C_TIME, 0, "d.created_at"),
	COL_EXPR("delivered_at", C_TIME, COL_NULL, "d.delivered_at"),
	COL_EXPR("failed_at", C_TIME, COL_NULL, "d.failed_at"),
	COL_SUB("attempt_log", C_ROWS, 0,
	    "(SELECT coalesce(json_agg(json_build_object('n', a.n, "
	    "'started_at', parley_time(a.started_at), 'finished_at', "
	    "parley_time(a.finished_at), 'status', a.status, 'error', "
	    "a.error, 'response', a.response) ORDER BY a.n), '[]') FROM "
	    "webhook_attempts a WHERE a.company_id = d.company_id AND "
	    "a.delivery_id = d.id)",
	    &row_attempt, "every attempt, first first"),
	COL_EXPR("cursor", C_STRING, COL_HIDDEN,
	    "(extract(epoch FROM d.created_at) * 1000000)::bigint || '_' || "
	    "d.id"),
};
const struct row row_delivery = ROW(
    "WebhookDelivery", delivery_cols, "One event's delivery to an endpoint");

static const struct col source_failure_cols[] = {
	COL("url", C_STRING, 0),
	COL_DOC("error", C_STRING, 0,
	    "robots, blocked_address, private_address, https_required, "
	    "timeout, too_large, redirects, connect, gone, http_status, "
	    "unsupported_type, unreadable, zip_bomb, too_many_entries, "
	    "no_text, "
	    "knowledge_base_full"),
};
const struct row row_source_failure = ROW("SourceFailure", source_failure_cols,
    "A page of a source that was not stored, and why");
static const struct col source_cols[] = {
	COL("id", C_UUID, 0),
	COL("chatbot_id", C_UUID, 0),
	{ "kind", C_STRING, 0, NULL, NULL,
	    (const char *const[]){ "url", "sitemap", "file", NULL },
	    "url: one page or file at an address; sitemap: the pages it "
	    "lists; file: an upload (POST .../documents/file)" },
	COL_DOC("url", C_STRING, COL_NULL, "null for an upload"),
	COL_DOC("title", C_STRING, COL_NULL, "an upload's title, as given"),
	COL_DOC("language", C_STRING, COL_NULL,
	    "its pages' text-search configuration; null: the chatbot's"),
	{ "resync", C_STRING, 0, NULL, NULL,
	    (const char *const[]){ "off", "daily", "weekly", NULL },
	    "when it is fetched again: changed pages updated, vanished ones "
	    "removed" },
	{ "status", C_STRING, 0, NULL, NULL,
	    (const char *const[]){
		"queued", "fetching", "done", "failed", NULL },
	    "queued: a fetch is due; fetching: under way; done, failed: the "
	    "last one's outcome" },
	COL_DOC("error", C_STRING, COL_NULL,
	    "why the last fetch failed as a whole (blocked_address, "
	    "https_required, http_status, not_a_sitemap, no_page, ...)"),
	COL_DOC("pages_found", C_INT, 0, "pages of the last fetch"),
	COL_DOC("pages_done", C_INT, 0, "of them, stored (or unchanged)"),
	COL_DOC("pages_failed", C_INT, 0, "of them, not stored"),
	COL_SUB("failures", C_ROWS, 0, NULL, &row_source_failure,
	    "the pages that failed, at most 20"),
	COL_DOC("synced_at", C_TIME, COL_NULL, "the last fetch's end"),
	COL_DOC("next_sync_at", C_TIME, COL_NULL, "the next re-sync"),
	COL("created_at", C_TIME, 0),
};
const struct row row_source = ROW("Source", source_cols,
    "Where knowledge-base documents are fetched from: a page or a sitemap");

static const struct col document_cols[] = {
	COL("id", C_UUID, 0),
	COL("chatbot_id", C_UUID, 0),
	COL("title", C_STRING, 0),
	{ "content_type", C_STRING, 0, NULL, NULL,
	    (const char *const[]){ "text/plain", "text/markdown", "text/html",
		"application/pdf",
		"application/"
		"vnd.openxmlformats-officedocument.wordprocessingml.document",
		NULL },
	    NULL },
	COL("source_url", C_STRING, COL_NULL),
	COL_DOC("language", C_STRING, COL_NULL,
	    "its text-search configuration; null: its chatbot's"),
	COL_DOC("source_id", C_UUID, COL_NULL,
	    "the source it was fetched from (a page of a sitemap, ...)"),
	COL_DOC("fetched_at", C_TIME, COL_NULL,
	    "a fetched page: when it was last fetched (changed or not)"),
	COL_DOC("bytes", C_INT, 0, "the size of the content as sent"),
	COL_DOC("chunks", C_INT, 0, "the parts it is indexed in"),
	COL("created_at", C_TIME, 0),
	COL_DOC("text", C_STRING, COL_EXTRA,
	    "GET of one document only: the text as indexed"),
};
const struct row row_document =
    ROW("Document", document_cols, "A knowledge-base document of a chatbot");

static const struct col api_key_cols[] = {
	COL("id", C_UUID, 0),
	COL("name", C_STRING, 0),
	COL_SUB("prefix", C_STRING, 0, "'prl_' || left(id::text, 8)", NULL,
	    "what identifies the key in lists and logs; no secret"),
	COL_EXPR("scopes", C_STRINGS, 0, "array_to_json(scopes)"),
	COL("created_at", C_TIME, 0),
	COL("last_used_at", C_TIME, COL_NULL),
	COL("expires_at", C_TIME, COL_NULL),
	COL_DOC("created_by", C_UUID, COL_NULL, "the admin who made it"),
	COL_DOC("key", C_STRING, COL_EXTRA,
	    "only when made: prl_<id>_<secret>, shown this once"),
};
const struct row row_api_key = ROW("ApiKey", api_key_cols,
    "A scoped API key of the company, without its secret");

static const char *const roles[] = { "member", "admin", "owner", NULL };
static const struct col	 invitation_cols[] = {
	 COL("id", C_UUID, 0),
	 COL("email", C_STRING, 0),
	 { "role", C_STRING, 0, NULL, NULL, roles, NULL },
	 COL("created_at", C_TIME, 0),
	 COL("expires_at", C_TIME, 0),
};
const struct row row_invitation =
    ROW("Invitation", invitation_cols, "An open invitation into the company");

/* Selected as {{Member u}} or plain. */
static const struct col member_cols[] = {
	COL("id", C_UUID, 0),
	COL("email", C_STRING, 0),
	COL("name", C_STRING, 0),
	{ "role", C_STRING, 0, NULL, NULL, roles, NULL },
	COL_SUB("mfa_enabled", C_BOOL, 0, "totp_enabled_at IS NOT NULL", NULL,
	    "the member has TOTP on"),
	COL_DOC(
	    "capacity", C_INT, 0, "conversations routing assigns them at once"),
	COL_SUB("presence", C_STRING, 0,
	    "parley_presence(presence, presence_at)", NULL,
	    "online, away or offline (no heartbeat for two minutes)"),
	COL("created_at", C_TIME, 0),
};
const struct row row_member =
    ROW("Member", member_cols, "A user of the company");

static const struct col tokens_cols[] = {
	COL_DOC("access_token", C_STRING, 0, "a JWT for Authorization: Bearer"),
	{ "token_type", C_STRING, 0, NULL, NULL,
	    (const char *const[]){ "Bearer", NULL }, NULL },
	COL_DOC("expires_in", C_INT, 0, "seconds the access token is good for"),
	COL_DOC("refresh_token", C_STRING, COL_EXTRA,
	    "single use: POST /api/v1/auth/refresh for a new pair; absent in "
	    "cookie mode (X-Parley-Session: cookie), where a cookie holds it"),
	COL("session_id", C_UUID, 0),
};
const struct row row_tokens = ROW("Tokens", tokens_cols, "A session's tokens");

static const char *const retention_periods[] = { "30_days", "60_days",
	"90_days", "6_months", "1_year", "indefinitely", NULL };
static const struct col	 company_settings_cols[] = {
	 COL_DOC("mfa_required", C_BOOL, 0,
	     "members without TOTP may only set it up"),
	 { "retention_period", C_STRING, 0, NULL, NULL, retention_periods,
	     "how long conversations are kept after their last activity" },
	 { "retention_action", C_STRING, 0, NULL, NULL,
	     (const char *const[]){ "delete", "anonymise", NULL }, NULL },
	 COL_DOC("privacy_policy_url", C_STRING, COL_NULL,
	     "linked from the widget's consent banner"),
	 COL_DOC(
	     "privacy_policy_version", C_STRING, 0, "stored with every consent"),
};
const struct row row_company_settings =
    ROW("CompanySettings", company_settings_cols, NULL);

/* Selected from companies as c. */
static const struct col company_cols[] = {
	COL("id", C_UUID, 0),
	COL("name", C_STRING, 0),
	COL_SUB("settings", C_JSON, 0,
	    "json_build_object('mfa_required', c.mfa_required, "
	    "'retention_period', c.retention_period, 'retention_action', "
	    "c.retention_action, 'privacy_policy_url', c.privacy_policy_url, "
	    "'privacy_policy_version', c.privacy_policy_version)",
	    &row_company_settings, NULL),
	COL("created_at", C_TIME, 0),
};
const struct row row_company =
    ROW("Company", company_cols, "The company: the tenant");

/* Selected from company_llm as l, which may have no row. */
static const struct col company_llm_cols[] = {
	COL_DOC("base_url", C_STRING, COL_NULL,
	    "the company's own provider; null: the deployment's"),
	COL_DOC("model", C_STRING, COL_NULL, "null: the deployment's default"),
	COL_SUB("api_key_set", C_BOOL, 0, "l.api_key_enc IS NOT NULL", NULL,
	    "the company gave its own key (never shown)"),
	COL("updated_at", C_TIME, COL_NULL),
};
const struct row row_company_llm = ROW(
    "CompanyLlm", company_llm_cols, "The company's own LLM provider settings");

static const struct col security_event_cols[] = {
	COL("id", C_UUID, 0),
	COL_DOC("kind", C_STRING, 0, "login_success, login_failure, ..."),
	COL("user_id", C_UUID, COL_NULL),
	COL("ip", C_STRING, COL_NULL),
	COL("user_agent", C_STRING, COL_NULL),
	COL_SUB("detail", C_JSON, 0, "coalesce(detail, '{}'::jsonb)", NULL,
	    "what else is known, never a secret"),
	COL("created_at", C_TIME, 0),
	COL_EXPR("cursor", C_STRING, COL_HIDDEN,
	    "(extract(epoch FROM created_at) * 1000000)::bigint || '_' || id"),
};
const struct row row_security_event = ROW("SecurityEvent", security_event_cols,
    "Something that happened to an account");
static const char *const alert_states[] = { "open", "acknowledged", "resolved",
	NULL };
static const char *const alert_severities[] = { "low", "medium", "high", NULL };
static const struct col	 security_alert_cols[] = {
	 COL("id", C_UUID, 0),
	 COL_DOC("rule", C_STRING, 0,
	     "the detection rule that fired (docs/security.md, Detection): "
	      "login_failures, credential_stuffing, sign_in_revoked, "
	      "refresh_reuse, mfa_disabled, recovery_code_used, role_granted, "
	      "id_walking, unusual_export, api_key_new_network, "
	      "webhook_disabled, csp_spike"),
	 { "severity", C_STRING, 0, NULL, NULL, alert_severities, NULL },
	 COL_DOC("subject", C_STRING, 0,
	     "what the incident is about: user:<id>, session:<id>, key:<id>, "
	      "chatbot:<id>, endpoint:<id>, address:<ip> or company:<action>"),
	 COL_DOC("user_id", C_UUID, COL_NULL, "the account concerned, if one"),
	 { "state", C_STRING, 0, NULL, NULL, alert_states,
	     "open, acknowledged (someone is on it) or resolved" },
	 COL_DOC("count", C_INT, 0,
	     "events of this incident: more of the same add here instead of "
	      "opening another alert"),
	 COL_DOC(
	     "detail", C_JSON, 0, "counts, thresholds and ids; never a secret"),
	 COL("first_seen", C_TIME, 0),
	 COL("last_seen", C_TIME, 0),
	 COL("acknowledged_at", C_TIME, COL_NULL),
	 COL("acknowledged_by", C_UUID, COL_NULL),
	 COL("resolved_at", C_TIME, COL_NULL),
	 COL("resolved_by", C_UUID, COL_NULL),
	 COL_EXPR("cursor", C_STRING, COL_HIDDEN,
	     "(extract(epoch FROM last_seen) * 1000000)::bigint || '_' || id"),
};
const struct row row_security_alert = ROW("SecurityAlert", security_alert_cols,
    "A detection rule that fired: one incident");
static const struct col link_ended_cols[] = {
	COL_DOC("ended", C_BOOL, 0, "the session is over"),
};
const struct row row_link_ended =
    ROW("SessionEnded", link_ended_cols, "A session ended by its link");

static const struct col audit_entry_cols[] = {
	COL_DOC("seq", C_INT, 0, "the entry's place in the company's chain"),
	COL("created_at", C_TIME, 0),
	{ "actor_type", C_STRING, 0, NULL, NULL,
	    (const char *const[]){
		"user", "api_key", "stripe", "system", NULL },
	    NULL },
	COL("actor_id", C_STRING, COL_NULL),
	COL_DOC("action", C_STRING, 0, "chatbot.update, member.remove, ..."),
	COL("resource_type", C_STRING, 0),
	COL("resource_id", C_STRING, COL_NULL),
	COL_SUB("fields", C_STRINGS, 0, "changed_fields", NULL,
	    "the names of what changed"),
	COL_SUB("changes", C_JSON, COL_NULL, NULL, NULL,
	    "old and new values of settings that are not personal data"),
	COL("ip", C_STRING, COL_NULL),
	COL("user_agent", C_STRING, COL_NULL),
	COL("request_id", C_STRING, COL_NULL),
	COL_EXPR("cursor", C_STRING, COL_HIDDEN, "seq::text"),
};
const struct row row_audit_entry = ROW(
    "AuditEntry", audit_entry_cols, "One entry of the hash-chained audit log");

static const struct col export_cols[] = {
	COL("id", C_UUID, 0),
	{ "status", C_STRING, 0, NULL, NULL,
	    (const char *const[]){
		"queued", "running", "ready", "failed", "expired", NULL },
	    NULL },
	COL_DOC("stage", C_STRING, COL_NULL, "what is being written now"),
	COL_DOC("records", C_INT, 0, "rows written so far"),
	COL_DOC("bytes", C_INT, COL_NULL, "the archive's size, once ready"),
	COL_DOC("sha256", C_STRING, COL_NULL, "the archive's SHA-256, hex"),
	COL("error", C_STRING, COL_NULL),
	COL("created_at", C_TIME, 0),
	COL("finished_at", C_TIME, COL_NULL),
	COL("expires_at", C_TIME, COL_NULL),
	COL_SUB("download", C_STRING, COL_NULL,
	    "CASE WHEN status = 'ready' AND expires_at > now() THEN "
	    "'/api/v1/company/exports/' || id || '/download' END",
	    NULL, "the archive's path while it can be downloaded, else null"),
};
const struct row row_export =
    ROW("Export", export_cols, "A full data export of the company");

static const struct col erasure_cols[] = {
	COL_EXPR("visitors", C_INT, 0, "(SELECT count(*) FROM dv)"),
	COL_EXPR("conversations", C_INT, 0, "(SELECT count(*) FROM c)"),
	COL_EXPR("messages", C_INT, 0, "(SELECT n FROM m)"),
	COL_EXPR("webhook_deliveries", C_INT, 0, "(SELECT count(*) FROM w)"),
};
const struct row row_erasure =
    ROW("Erasure", erasure_cols, "What an erasure deleted");

static const struct col visitor_cols[] = {
	COL("id", C_UUID, 0),
	COL("chatbot_id", C_UUID, 0),
	COL_SUB("user_id", C_STRING, COL_NULL, "external_id", NULL,
	    "the company's own id of the person, as its backend signed it"),
	COL("email", C_STRING, COL_NULL),
	COL("name", C_STRING, COL_NULL),
	COL("verified", C_BOOL, 0),
	COL_DOC("restricted", C_BOOL, 0,
	    "processing restricted: no bot, no LLM, out of analytics"),
	COL("created_at", C_TIME, 0),
	COL("last_seen_at", C_TIME, 0),
};
const struct row row_visitor =
    ROW("Visitor", visitor_cols, "A visitor record of one chatbot");

/* The subject export's parts, built as JSON by SQL (api_privacy.c). */
static const struct col subject_message_cols[] = {
	COL("seq", C_INT, 0),
	{ "role", C_STRING, 0, NULL, NULL,
	    (const char *const[]){ "visitor", "bot", "agent", NULL }, NULL },
	COL("content", C_STRING, 0),
	COL("created_at", C_TIME, 0),
	COL_SUB("attachment", C_JSON, COL_NULL, NULL, &row_attachment,
	    "the file it carries (GET /api/v1/attachments/{id} downloads it)"),
};
const struct row row_subject_message =
    ROW("SubjectMessage", subject_message_cols, NULL);
static const struct col subject_conversation_cols[] = {
	COL("id", C_UUID, 0),
	COL("chatbot_id", C_UUID, 0),
	COL("status", C_STRING, 0),
	COL("created_at", C_TIME, 0),
	COL_DOC("rating", C_INT, COL_NULL, "the visitor's, 1 to 5"),
	COL_DOC("rating_comment", C_STRING, COL_NULL, "the visitor's"),
	COL_SUB("messages", C_ROWS, 0, NULL, &row_subject_message, NULL),
};
const struct row row_subject_conversation =
    ROW("SubjectConversation", subject_conversation_cols, NULL);
static const struct col subject_consent_cols[] = {
	COL("categories", C_STRINGS, 0),
	COL("policy_version", C_STRING, 0),
	COL("created_at", C_TIME, 0),
};
const struct row row_subject_consent =
    ROW("SubjectConsent", subject_consent_cols, NULL);
static const struct col subject_visitor_cols[] = {
	COL("id", C_UUID, 0),
	COL("chatbot_id", C_UUID, 0),
	COL("user_id", C_STRING, COL_NULL),
	COL("email", C_STRING, COL_NULL),
	COL_DOC("contact_email", C_STRING, COL_NULL,
	    "the address the visitor left in the widget for replies"),
	COL_DOC("contact_confirmed_at", C_TIME, COL_NULL,
	    "when the visitor confirmed it"),
	COL("name", C_STRING, COL_NULL),
	COL("verified", C_BOOL, 0),
	COL("restricted", C_BOOL, 0),
	COL("created_at", C_TIME, 0),
	COL("last_seen_at", C_TIME, 0),
	COL_SUB("consents", C_ROWS, 0, NULL, &row_subject_consent, NULL),
	COL_SUB(
	    "conversations", C_ROWS, 0, NULL, &row_subject_conversation, NULL),
};
const struct row row_subject_visitor =
    ROW("SubjectVisitor", subject_visitor_cols, NULL);
static const struct col subject_by_cols[] = {
	{ "by", C_STRING, 0, NULL, NULL,
	    (const char *const[]){ "visitor_id", "user_id", "email", NULL },
	    "which identifier found them" },
};
const struct row row_subject_by = ROW("SubjectBy", subject_by_cols, NULL);
static const struct col subject_export_cols[] = {
	COL_SUB("subject", C_JSON, 0, NULL, &row_subject_by, NULL),
	COL_SUB("visitors", C_ROWS, 0, NULL, &row_subject_visitor, NULL),
};
const struct row row_subject_export = ROW("SubjectExport", subject_export_cols,
    "Everything about one person (GDPR Art. 15, 20)");

static const struct col health_cols[] = {
	{ "status", C_STRING, 0, NULL, NULL,
	    (const char *const[]){ "ok", NULL }, NULL },
};
const struct row	row_health = ROW("Health", health_cols, NULL);
static const struct col ready_cols[] = {
	{ "status", C_STRING, 0, NULL, NULL,
	    (const char *const[]){ "ready", NULL }, NULL },
	COL("schema_version", C_INT, 0),
};
const struct row	row_ready = ROW("Ready", ready_cols, NULL);
static const struct col meta_cols[] = {
	COL("name", C_STRING, 0),
	COL_DOC("instance", C_STRING, 0, "this deployment's instance_name"),
	COL("version", C_STRING, 0),
	{ "api_version", C_STRING, 0, NULL, NULL,
	    (const char *const[]){ "v1", NULL }, NULL },
	COL("schema_version", C_INT, 0),
};
const struct row	row_meta = ROW("Meta", meta_cols, NULL);
static const struct col oidc_provider_cols[] = {
	COL_DOC(
	    "id", C_STRING, 0, "google, or generic (any standard provider)"),
	COL_DOC("name", C_STRING, 0, "what its button says"),
};
const struct row row_oidc_provider = ROW("OidcProvider", oidc_provider_cols,
    "A sign-in provider this deployment offers");
static const struct col oidc_start_cols[] = {
	COL_DOC("url", C_STRING, 0,
	    "the provider's authorization URL: go there (a binding cookie "
	    "for the callback is set with this answer)"),
};
const struct row row_oidc_start =
    ROW("OidcStart", oidc_start_cols, "A sign-in or link through a provider");
static const char *const notification_kinds[] = { "handoff", "assigned",
	"visitor_message", "security_alert", NULL };
static const struct col	 notification_cols[] = {
	 COL("id", C_UUID, 0),
	 { "kind", C_STRING, 0, NULL, NULL, notification_kinds,
	     "handoff: handed to a person; assigned: to you; visitor_message: "
	      "the visitor wrote while a person is wanted; security_alert: a "
	      "detection rule fired (owners and admins)" },
	 COL_DOC(
	     "conversation_id", C_UUID, COL_NULL, "null for a security alert"),
	 COL_EXPR("chatbot_id", C_UUID, COL_NULL, "c.chatbot_id"),
	 COL_DOC("alert_id", C_UUID, COL_NULL, "a security alert's id"),
	 COL_DOC("count", C_INT, 0, "how many times, since it was read"),
	 COL("created_at", C_TIME, 0),
	 COL("updated_at", C_TIME, 0),
	 COL_DOC("read_at", C_TIME, COL_NULL, "null: unread"),
};
const struct row row_notification = ROW("Notification", notification_cols,
    "Something an agent should know of: a handoff, an assignment, a "
    "visitor who wrote");
static const struct col notification_settings_cols[] = {
	COL_DOC("email", C_BOOL, 0,
	    "a digest by mail of what one has not seen in the console"),
	COL_DOC("email_delay_seconds", C_INT, 0,
	    "how long a notification may stay unseen before a digest names "
	    "it; at most one digest per this long (600 by default)"),
};
const struct row	row_notification_settings = ROW("NotificationSettings",
	   notification_settings_cols, "One's notification preferences");
static const struct col notification_list_cols[] = {
	COL_SUB("items", C_ROWS, 0, NULL, &row_notification,
	    "newest first, 100 at most"),
	COL_DOC("unread", C_INT, 0, "how many are unread"),
};
const struct row row_notification_list =
    ROW("NotificationList", notification_list_cols, "One's notifications");
static const struct col read_count_cols[] = {
	COL_DOC("read", C_INT, 0, "how many were marked read"),
};
const struct row row_read_count = ROW("ReadCount", read_count_cols, NULL);
static const struct col csat_group_cols[] = {
	COL_DOC("id", C_UUID, COL_NULL,
	    "the chatbot's, or the agent's (null: nobody was assigned)"),
	COL("ratings", C_INT, 0),
	COL_DOC("average", C_NUMBER, 0, "1 to 5"),
	COL_DOC("satisfied", C_INT, 0, "rated 4 or 5"),
};
const struct row row_csat_group = ROW("CsatGroup", csat_group_cols, NULL);
static const struct col csat_cols[] = {
	COL_SUB("by_chatbot", C_ROWS, 0,
	    "(SELECT coalesce(json_agg(json_build_object('id', g.k, 'ratings', "
	    "g.n, 'average', g.a, 'satisfied', g.s) ORDER BY g.k), '[]') FROM "
	    "(SELECT chatbot_id AS k, count(*) AS n, round(avg(rating), "
	    "2)::float8 AS a, count(*) FILTER (WHERE rating >= 4) AS s FROM r "
	    "GROUP BY chatbot_id) g)",
	    &row_csat_group, NULL),
	COL_SUB("by_agent", C_ROWS, 0,
	    "(SELECT coalesce(json_agg(json_build_object('id', g.k, 'ratings', "
	    "g.n, 'average', g.a, 'satisfied', g.s) ORDER BY g.k NULLS LAST), "
	    "'[]') FROM (SELECT assignee_id AS k, count(*) AS n, "
	    "round(avg(rating), 2)::float8 AS a, count(*) FILTER (WHERE rating "
	    ">= 4) AS s FROM r GROUP BY assignee_id) g)",
	    &row_csat_group, NULL),
};
const struct row	row_csat = ROW("Csat", csat_cols,
	   "Visitors' ratings of resolved conversations, by chatbot and by agent");
static const struct col rating_cols[] = {
	COL("score", C_INT, 0),
	COL("comment", C_STRING, COL_NULL),
};
const struct row	row_rating = ROW("Rating", rating_cols, NULL);
static const struct col label_cols[] = {
	COL("id", C_UUID, 0),
	COL("name", C_STRING, 0),
	COL_DOC("colour", C_STRING, 0, "#rrggbb"),
	COL("created_at", C_TIME, 0),
};
const struct row row_label =
    ROW("Label", label_cols, "A company's label for conversations");
static const struct col label_ids_cols[] = {
	COL_DOC("label_ids", C_STRINGS, 0, "the conversation's labels now"),
};
const struct row row_label_ids =
    ROW("ConversationLabels", label_ids_cols, NULL);
static const struct col team_cols[] = {
	COL("id", C_UUID, 0),
	COL("name", C_STRING, 0),
	COL_EXPR("member_ids", C_STRINGS, 0,
	    "(SELECT coalesce(json_agg(m.user_id ORDER BY m.user_id), '[]') "
	    "FROM team_members m WHERE m.company_id = t.company_id AND "
	    "m.team_id = t.id)"),
	COL("created_at", C_TIME, 0),
};
const struct row row_team =
    ROW("Team", team_cols, "Agents a chatbot's handoffs go to");
static const struct col presence_cols[] = {
	{ "status", C_STRING, 0, NULL, NULL,
	    (const char *const[]){ "online", "away", "offline", NULL },
	    "as set" },
	{ "effective", C_STRING, 0, NULL, NULL,
	    (const char *const[]){ "online", "away", "offline", NULL },
	    "offline when no heartbeat came for two minutes" },
	COL_DOC("capacity", C_INT, 0,
	    "conversations (pending or open) one may be assigned at once"),
	COL_DOC("reassigned", C_INT, COL_EXTRA,
	    "going offline: how many of one's conversations went back to "
	    "routing (their chatbots' reassign_offline)"),
};
const struct row row_presence =
    ROW("Presence", presence_cols, "One's presence, as routing sees it");
static const struct col capacity_cols[] = {
	COL("id", C_UUID, 0),
	COL("capacity", C_INT, 0),
};
const struct row	row_capacity = ROW("Capacity", capacity_cols, NULL);
static const struct col company_domain_cols[] = {
	COL("id", C_UUID, 0),
	COL_DOC("domain", C_STRING, 0, "lower case"),
	COL_EXPR("verified", C_BOOL, 0, "verified_at IS NOT NULL"),
	COL("verified_at", C_TIME, COL_NULL),
	{ "txt_name", C_STRING, 0, "'_parley-verification.' || domain", NULL,
	    NULL, "the DNS name to publish a TXT record at" },
	{ "txt_value", C_STRING, 0, "'parley-verification=' || token", NULL,
	    NULL, "the TXT record's value" },
	COL("created_at", C_TIME, 0),
};
const struct row row_company_domain = ROW("CompanyDomain", company_domain_cols,
    "An e-mail domain the company claims; verified by a DNS TXT record");
static const char *const sso_protocols[] = { "saml", "oidc", NULL };
static const char *const sso_roles[] = { "member", "admin", NULL };
static const struct col	 company_sso_cols[] = {
	 { "protocol", C_STRING, COL_NULL, NULL, NULL, sso_protocols,
	     "null: no identity provider configured yet" },
	 COL_DOC("enabled", C_BOOL, 0, "members may sign in through the IdP"),
	 COL_DOC("required", C_BOOL, 0,
	     "members with a verified domain sign in only through the IdP "
	      "(owners keep a break-glass password + TOTP path)"),
	 COL_DOC("jit", C_BOOL, 0,
	     "a verified-domain user the company does not have yet becomes a "
	      "member at their first sign-in"),
	 { "jit_role", C_STRING, 0, NULL, NULL, sso_roles,
	     "the role such a member gets" },
	 COL_DOC("idp_mfa", C_BOOL, 0,
	     "the IdP's multi-factor authentication (amr mfa, a multi-factor "
	      "AuthnContext) stands in for TOTP"),
	 COL_DOC("allow_idp_initiated", C_BOOL, 0,
	     "SAML: accept responses the IdP sends unasked"),
	 COL_DOC("saml_idp_entity_id", C_STRING, COL_NULL,
	     "SAML: the IdP's entity id, from its metadata"),
	 COL_DOC(
	     "oidc_issuer", C_STRING, COL_NULL, "OpenID Connect: the issuer"),
	 COL_DOC("oidc_client_id", C_STRING, COL_NULL,
	     "OpenID Connect: parley's client id there"),
	 COL_EXPR("has_client_secret", C_BOOL, 0,
	     "oidc_client_secret_enc IS NOT NULL"),
	 COL_DOC("sp_entity_id", C_STRING, COL_ADDED,
	     "SAML: parley's entity id (its metadata's URL)"),
	 COL_DOC("sp_acs_url", C_STRING, COL_ADDED,
	     "SAML: parley's Assertion Consumer Service (HTTP-POST)"),
	 COL_DOC("oidc_redirect_uri", C_STRING, COL_ADDED,
	     "OpenID Connect: the redirect URI to register at the IdP"),
	 COL("updated_at", C_TIME, COL_NULL),
};
const struct row	row_company_sso = ROW("CompanySso", company_sso_cols,
	   "The company's own identity provider and its sign-in policy");
static const struct col oidc_pending_cols[] = {
	COL_DOC("provider", C_STRING, 0, "the provider's id"),
	COL_DOC("provider_name", C_STRING, 0, "its name, to show"),
	COL_DOC("email", C_STRING, 0, "the address the provider verified"),
	COL_DOC("account_exists", C_BOOL, 0,
	    "an account has this address: link the identity to it (POST "
	    "/api/v1/auth/oidc/link-account, its password), else sign up "
	    "(POST /api/v1/auth/oidc/signup)"),
};
const struct row	row_oidc_pending = ROW("OidcPending", oidc_pending_cols,
	   "An identity at a provider that no account has linked yet");
static const struct col identity_cols[] = {
	COL("id", C_UUID, 0),
	COL("provider", C_STRING, 0),
	COL_DOC("email", C_STRING, COL_NULL, "as the provider said"),
	COL("created_at", C_TIME, 0),
	COL("last_used_at", C_TIME, COL_NULL),
};
const struct row	row_identity = ROW("Identity", identity_cols,
	   "An identity at a provider linked to one's account");
static const struct col pow_cols[] = {
	COL_DOC("challenge", C_STRING, 0, "signed by parleyd; used once"),
	COL_DOC("difficulty", C_INT, 0,
	    "leading zero bits SHA-256(challenge + \".\" + nonce) must have"),
	COL_DOC("expires_in", C_INT, 0, "seconds it may be solved and used in"),
};
const struct row	row_pow_challenge = ROW("PowChallenge", pow_cols,
	   "parley's own captcha: a proof of work; captcha_token is "
		  "challenge.nonce, the nonce in decimal");
static const struct col totp_setup_cols[] = {
	COL_DOC("secret", C_STRING, 0, "base32, for apps that take it typed"),
	COL_DOC(
	    "otpauth_uri", C_STRING, 0, "otpauth://totp/..., for a QR code"),
	COL_DOC("qr", C_STRINGS, 0,
	    "otpauth_uri as a QR code (libqrencode, level M): one string "
	    "per row of modules, \"1\" dark, without the quiet zone"),
};
const struct row row_totp_setup = ROW("TotpSetup", totp_setup_cols, NULL);
static const struct col recovery_cols[] = {
	COL_DOC("recovery_codes", C_STRINGS, 0,
	    "ten single-use codes, shown this once"),
};
const struct row row_recovery = ROW("RecoveryCodes", recovery_cols, NULL);

static const struct col plan_limits_cols[] = {
	COL("chatbots", C_INT, COL_NULL),
	COL("members", C_INT, COL_NULL),
	COL("documents", C_INT, COL_NULL),
	COL("monthly_messages", C_INT, COL_NULL),
	COL("monthly_llm_tokens", C_INT, COL_NULL),
	COL_DOC("attachment_max_bytes", C_INT, COL_NULL,
	    "bytes of one attachment (attachment_max_bytes of the "
	    "configuration bounds it too)"),
	COL_DOC("attachment_storage_bytes", C_INT, COL_NULL,
	    "bytes of all of the company's attachments"),
	COL("attachments_per_conversation", C_INT, COL_NULL),
};
const struct row row_plan_limits =
    ROW("PlanLimits", plan_limits_cols, "What the plan allows; null: no limit");
static const struct col plan_cols[] = {
	COL("id", C_STRING, 0),
	COL("name", C_STRING, 0),
	COL_SUB("limits", C_JSON, 0, NULL, &row_plan_limits, NULL),
};
const struct row	row_plan = ROW("Plan", plan_cols, NULL);
static const struct col usage_cols[] = {
	COL("chatbots", C_INT, 0),
	COL("members", C_INT, 0),
	COL("documents", C_INT, 0),
	COL("llm_tokens_this_month", C_INT, 0),
	COL("messages_this_month", C_INT, 0),
	COL_DOC("attachment_bytes", C_INT, 0, "of every attachment kept"),
};
const struct row row_usage = ROW("Usage", usage_cols, NULL);
#define THIS_MONTH "date_trunc('month', now() AT TIME ZONE 'UTC')::date"
/* Selected from companies c joined with its plan p. */
static const struct col billing_cols[] = {
	COL_SUB("plan", C_JSON, 0,
	    "json_build_object('id', p.id, 'name', p.name, 'limits', "
	    "json_build_object('chatbots', p.max_chatbots, 'members', "
	    "p.max_members, 'documents', p.max_documents, "
	    "'monthly_messages', p.monthly_messages, 'monthly_llm_tokens', "
	    "p.monthly_llm_tokens, 'attachment_max_bytes', "
	    "p.attachment_max_bytes, 'attachment_storage_bytes', "
	    "p.attachment_storage_bytes, 'attachments_per_conversation', "
	    "p.attachments_per_conversation))",
	    &row_plan, NULL),
	COL_SUB("subscription_status", C_STRING, COL_NULL,
	    "c.subscription_status", NULL, "Stripe's, once subscribed"),
	COL_EXPR("billing_state", C_STRING, 0, "c.billing_state"),
	COL_SUB("stripe_customer", C_BOOL, 0,
	    "c.stripe_customer_id IS NOT NULL", NULL,
	    "the company is a Stripe customer (the portal works)"),
	COL_SUB("usage", C_JSON, 0,
	    "json_build_object('chatbots', (SELECT count(*) FROM chatbots "
	    "WHERE company_id = c.id), 'members', (SELECT count(*) FROM users "
	    "WHERE company_id = c.id), 'documents', (SELECT count(*) FROM "
	    "kb_documents WHERE company_id = c.id), 'llm_tokens_this_month', "
	    "(SELECT coalesce(sum(tokens), 0) FROM llm_usage WHERE company_id "
	    "= c.id AND month = " THIS_MONTH "), 'messages_this_month', "
	    "(SELECT coalesce(sum(messages), 0) FROM message_usage WHERE "
	    "company_id = c.id AND month = " THIS_MONTH "), "
	    "'attachment_bytes', (SELECT coalesce(sum(bytes), 0) FROM "
	    "attachments WHERE company_id = c.id))",
	    &row_usage, NULL),
};
const struct row	row_billing = ROW("Billing", billing_cols,
	   "The plan, its limits, what is used, the billing state");
static const struct col stripe_session_cols[] = {
	COL("id", C_STRING, 0),
	COL_DOC("url", C_STRING, 0, "where to send the owner: Stripe's page"),
};
const struct row row_stripe_session = ROW("StripeSession", stripe_session_cols,
    "A Stripe Checkout or billing portal session");

static const struct col me_user_cols[] = {
	COL("id", C_UUID, 0),
	COL("email", C_STRING, 0),
	COL("name", C_STRING, 0),
	COL_DOC("display_name", C_STRING, COL_NULL,
	    "what visitors see on one's replies; null: the first word of "
	    "name"),
	COL("email_verified", C_BOOL, 0),
	COL_DOC("has_password", C_BOOL, 0,
	    "false for an account made through a sign-in provider, until it "
	    "sets one"),
	COL("created_at", C_TIME, 0),
};
const struct row	row_me_user = ROW("MeUser", me_user_cols, NULL);
static const struct col company_brief_cols[] = {
	COL("id", C_UUID, 0),
	COL("name", C_STRING, 0),
};
const struct row row_company_brief =
    ROW("CompanyBrief", company_brief_cols, NULL);
static const struct col mfa_state_cols[] = {
	COL("enabled", C_BOOL, 0),
};
const struct row row_mfa_state = ROW("MfaState", mfa_state_cols, NULL);
/* Selected from users u joined with companies c. */
static const struct col me_cols[] = {
	COL_SUB("user", C_JSON, 0,
	    "json_build_object('id', u.id, 'email', u.email, 'name', u.name, "
	    "'display_name', u.display_name, 'email_verified', "
	    "u.email_verified_at IS NOT NULL, "
	    "'has_password', "
	    "u.password_hash IS NOT NULL, 'created_at', "
	    "parley_time(u.created_at))",
	    &row_me_user, NULL),
	COL_SUB("company", C_JSON, 0,
	    "json_build_object('id', c.id, 'name', c.name)", &row_company_brief,
	    NULL),
	{ "role", C_STRING, 0, "u.role", NULL, roles,
	    "read from the database, not the token" },
	COL_SUB("mfa", C_JSON, 0,
	    "json_build_object('enabled', u.totp_enabled_at IS NOT NULL)",
	    &row_mfa_state, NULL),
	COL("session_id", C_UUID, COL_ADDED),
};
const struct row row_me =
    ROW("Me", me_cols, "The current user, company, role and MFA state");

static const struct col session_cols[] = {
	COL("id", C_UUID, 0),
	COL("created_at", C_TIME, 0),
	COL("last_used_at", C_TIME, 0),
	COL("ip", C_STRING, COL_NULL),
	COL("user_agent", C_STRING, COL_NULL),
	COL_DOC("current", C_BOOL, COL_ADDED, "the session asking"),
};
const struct row row_session =
    ROW("Session", session_cols, "A signed-in session of the user");

static const struct col new_user_cols[] = {
	COL("id", C_UUID, 0),
	COL("email", C_STRING, 0),
	COL("name", C_STRING, 0),
	{ "role", C_STRING, 0, NULL, NULL, roles, NULL },
	COL("email_verified", C_BOOL, 0),
	COL("mfa_enabled", C_BOOL, 0),
};
const struct row row_new_user = ROW("NewUser", new_user_cols, NULL);
/* Built by the handler: the new owner, their company and tokens. */
static const struct col signed_up_cols[] = {
	COL_SUB("user", C_JSON, 0, NULL, &row_new_user, NULL),
	COL_SUB("company", C_JSON, 0, NULL, &row_company_brief, NULL),
	COL("access_token", C_STRING, 0),
	{ "token_type", C_STRING, 0, NULL, NULL,
	    (const char *const[]){ "Bearer", NULL }, NULL },
	COL("expires_in", C_INT, 0),
	COL_DOC("refresh_token", C_STRING, COL_EXTRA, "absent in cookie mode"),
	COL("session_id", C_UUID, 0),
};
const struct row row_signed_up =
    ROW("SignedUp", signed_up_cols, "A new company and its owner, signed in");
static const struct col confirmation_cols[] = {
	{ "status", C_STRING, 0, NULL, NULL,
	    (const char *const[]){ "confirmation_sent", NULL }, NULL },
	COL_DOC("email", C_STRING, 0, "the address, as normalised"),
};
const struct row row_confirmation = ROW("ConfirmationSent", confirmation_cols,
    "A link was mailed (or a notice, if taken)");
static const struct col accepted_cols[] = {
	{ "status", C_STRING, 0, NULL, NULL,
	    (const char *const[]){ "accepted", NULL }, NULL },
};
const struct row row_accepted =
    ROW("Accepted", accepted_cols, "Taken in; a mail follows when it applies");
static const struct col password_changed_cols[] = {
	COL_DOC("sessions_ended", C_INT, 0, "the other sessions ended"),
};
const struct row row_password_changed =
    ROW("PasswordChanged", password_changed_cols, NULL);

static const struct col widget_conversation_cols[] = {
	COL("id", C_UUID, 0),
	{ "status", C_STRING, 0, NULL, NULL, conv_statuses, NULL },
	COL("created_at", C_TIME, 0),
	COL("last_message_at", C_TIME, 0),
	COL("message_count", C_INT, 0),
	COL_DOC("locale", C_STRING, COL_NULL,
	    "its language (null: started before conversations had one)"),
};
const struct row row_widget_conversation = ROW("WidgetConversation",
    widget_conversation_cols, "A conversation as its visitor sees it");
/*
 * A message as its visitor sees it: an agent's by the name they show
 * visitors, never by id or e-mail.
 */
static const struct col widget_message_cols[] = {
	COL_EXPR("id", C_UUID, 0, "m.id"),
	COL_EXPR("seq", C_INT, 0, "m.seq"),
	{ "role", C_STRING, 0, "m.role", NULL, msg_roles, NULL },
	MESSAGE_AUTHOR_NAME,
	COL_EXPR("content", C_STRING, 0, "m.content"),
	COL_SUB("citations", C_ROWS, 0, "coalesce(m.citations, '[]'::jsonb)",
	    &row_citation, NULL),
	COL_EXPR("created_at", C_TIME, 0, "m.created_at"),
	COL_EXPR("reply_to", C_UUID, COL_NULL, "m.reply_to"),
	COL_SUB("attachment", C_JSON, COL_NULL, MESSAGE_ATTACHMENT,
	    &row_attachment, "the file it carries (its content is the name)"),
};
const struct row row_widget_message = ROW(
    "WidgetMessage", widget_message_cols, "A message as its visitor sees it");
static const struct col consent_cols[] = {
	COL("id", C_UUID, 0),
	COL("chatbot_id", C_UUID, 0),
	COL("visitor_id", C_UUID, 0),
	COL_EXPR("categories", C_STRINGS, 0, "array_to_json(categories)"),
	COL_DOC("policy_version", C_STRING, COL_NULL,
	    "the company's privacy policy version in force when it was "
	    "given; null: given before companies had versions"),
	COL("created_at", C_TIME, 0),
};
const struct row row_consent =
    ROW("Consent", consent_cols, "A visitor's cookie consent, as given");
static const struct col widget_visitor_cols[] = {
	COL("id", C_UUID, 0),
	COL("verified", C_BOOL, 0),
};
const struct row row_widget_visitor =
    ROW("WidgetVisitor", widget_visitor_cols, NULL);
/*
 * Whether the visitor of chatbot b can have a person now, and what the
 * widget says when not: selected with chatbots as b.
 */
#define AVAILABILITY_COLS                                                      \
	COL_SUB("agents_available", C_BOOL, 0,                                 \
	    "EXISTS (SELECT 1 FROM users u WHERE u.company_id = b.company_id " \
	    "AND parley_presence(u.presence, u.presence_at) = 'online' AND "   \
	    "(b.team_id IS NULL OR u.id IN (SELECT m.user_id FROM "            \
	    "team_members m WHERE m.company_id = b.company_id AND m.team_id "  \
	    "= b.team_id)))",                                                  \
	    NULL,                                                              \
	    "a person (of the chatbot's team, else any member) is online "     \
	    "now"),                                                            \
	    COL_SUB("within_hours", C_BOOL, 0,                                 \
		"parley_chatbot_open(b.company_id, b.id, now())", NULL,        \
		"within the chatbot's business hours now (always, when it "    \
		"has none)"),                                                  \
	    COL_SUB("opens_at", C_TIME, COL_NULL,                              \
		"parley_chatbot_opens_at(b.company_id, b.id, now())", NULL,    \
		"outside hours: when they next begin (within two weeks)"),     \
	    COL_SUB("offline_message", C_STRING, COL_NULL,                     \
		"b.offline_message", NULL,                                     \
		"the company's words for when nobody can answer"),             \
	    COL_SUB("ask_email", C_BOOL, 0, "b.ask_email", NULL,               \
		"when nobody can answer, offer to answer by e-mail")
/* A chatbot's look, selected from chatbots as b. */
static const struct col widget_config_cols[] = {
	COL_EXPR("name", C_STRING, 0, "b.name"),
	COL_SUB("display_name", C_STRING, COL_NULL, "b.display_name", NULL,
	    "what the bot's messages are signed with; null: \"AI "
	    "assistant\" in the visitor's language"),
	COL_EXPR("accent_color", C_STRING, 0, "b.accent_color"),
	COL_EXPR("accent_text_color", C_STRING, 0, "b.accent_text_color"),
	{ "launcher_position", C_STRING, 0, "b.launcher_position", NULL,
	    (const char *const[]){ "right", "left", NULL }, NULL },
	COL_SUB("logo_url", C_STRING, COL_NULL,
	    "(SELECT '/api/v1/widget/logo?bot=' || b.public_key || '&v=' || "
	    "l.sha256 FROM chatbot_logos l WHERE l.company_id = b.company_id "
	    "AND l.chatbot_id = b.id)",
	    NULL, "the logo on parley's origin (versioned: cache it)"),
	COL_EXPR("locales", C_STRINGS, 0, "array_to_json(b.locales)"),
	COL_SUB("welcome_message", C_STRING, 0, "b.welcome_message", NULL,
	    "the welcome in the default locale, and any without its own"),
	COL_SUB("welcome_messages", C_JSON, 0, "b.welcome_messages", NULL,
	    "the welcome per locale"),
	COL_SUB("privacy_policy_url", C_STRING, COL_NULL,
	    "(SELECT c.privacy_policy_url FROM companies c WHERE c.id = "
	    "b.company_id)",
	    NULL, "the company's privacy policy, linked from the banner"),
	COL_SUB("policy_version", C_STRING, 0,
	    "(SELECT c.privacy_policy_version FROM companies c WHERE c.id = "
	    "b.company_id)",
	    NULL,
	    "the policy version in force: a visitor who answered another is "
	    "asked again"),
};
const struct row row_widget_config = ROW("WidgetConfig", widget_config_cols,
    "What the widget looks like, before any visitor session");
static const struct col widget_chatbot_cols[] = {
	COL("id", C_UUID, 0),
	COL("name", C_STRING, 0),
	COL("welcome_message", C_STRING, 0),
	AVAILABILITY_COLS,
};
static const struct col availability_cols[] = { AVAILABILITY_COLS };
const struct row row_availability = ROW("Availability", availability_cols,
    "Whether a person can answer a chatbot's visitor now");
const struct row row_widget_chatbot =
    ROW("WidgetChatbot", widget_chatbot_cols, NULL);
static const struct col widget_session_cols[] = {
	COL_DOC(
	    "token", C_STRING, 0, "the visitor token: Authorization: Bearer"),
	{ "token_type", C_STRING, 0, NULL, NULL,
	    (const char *const[]){ "Bearer", NULL }, NULL },
	COL("expires_in", C_INT, 0),
	COL_SUB("visitor", C_JSON, 0, NULL, &row_widget_visitor, NULL),
	COL_SUB("chatbot", C_JSON, 0, NULL, &row_widget_chatbot, NULL),
};
const struct row row_widget_session =
    ROW("WidgetSession", widget_session_cols, "A visitor's chat session");
static const struct col message_accepted_cols[] = {
	COL_SUB("message", C_JSON, 0, NULL, &row_message, "the stored message"),
	COL_SUB("reply", C_JSON, COL_NULL, NULL, &row_message,
	    "the bot's reply when it is stored already (a retry)"),
	{ "status", C_STRING, 0, NULL, NULL, conv_statuses,
	    "the conversation's" },
	{ "reply_status", C_STRING, 0, NULL, NULL,
	    (const char *const[]){ "queued", "sent", "none", NULL },
	    "queued: the reply follows on the conversation's events; none: a "
	    "person has the conversation" },
};
const struct row row_message_accepted =
    ROW("MessageAccepted", message_accepted_cols, "A visitor's message, taken");
static const struct col contact_cols[] = {
	COL("email", C_STRING, 0),
	COL_DOC("confirmed", C_BOOL, 0,
	    "replies are mailed only once the visitor confirmed it"),
};
const struct row row_contact = ROW(
    "ContactAddress", contact_cols, "The address a visitor left for replies");
static const struct col seen_cols[] = {
	COL_DOC("seen_seq", C_INT, 0, "the last message the visitor saw"),
};
const struct row	row_seen = ROW("SeenMark", seen_cols, NULL);
static const struct col handoff_cols[] = {
	{ "status", C_STRING, 0, NULL, NULL, conv_statuses, NULL },
	COL_SUB("reply", C_JSON, COL_NULL, NULL, &row_message,
	    "the bot's word that a person will answer"),
	AVAILABILITY_COLS,
	COL_SUB("contact", C_JSON, COL_NULL | COL_ADDED, NULL, &row_contact,
	    "the address the visitor left for replies, if any"),
};
const struct row	row_handoff = ROW("Handoff", handoff_cols,
	   "When nobody can answer now (agents_available or within_hours "
		  "false), the widget says so and, with ask_email, offers to answer by "
		  "e-mail");
static const struct col link_session_cols[] = {
	COL_DOC("token", C_STRING, 0,
	    "a visitor token for this conversation only: Authorization: "
	    "Bearer"),
	{ "token_type", C_STRING, 0, NULL, NULL,
	    (const char *const[]){ "Bearer", NULL }, NULL },
	COL("expires_in", C_INT, 0),
	COL("conversation_id", C_UUID, 0),
	COL_SUB("visitor", C_JSON, 0, NULL, &row_widget_visitor, NULL),
	COL_SUB("chatbot", C_JSON, 0, NULL, &row_widget_chatbot, NULL),
	COL_SUB("contact", C_JSON, COL_NULL, NULL, &row_contact,
	    "the visitor's address for replies"),
};
const struct row row_link_session = ROW("LinkSession", link_session_cols,
    "The chat page's session, from an e-mailed link");
static const char *const weekdays[] = { "mon", "tue", "wed", "thu", "fri",
	"sat", "sun", NULL };
static const struct col	 hours_range_cols[] = {
	 { "day", C_STRING, 0, NULL, NULL, weekdays, NULL },
	 COL_DOC("opens", C_STRING, 0, "local time, HH:MM"),
	 COL_DOC("closes", C_STRING, 0, "local time, HH:MM; 24:00 is midnight"),
};
const struct row row_hours_range =
    ROW("HoursRange", hours_range_cols, "An opening range of one weekday");
static const struct col holiday_cols[] = {
	COL_DOC("date", C_STRING, 0, "YYYY-MM-DD, in the chatbot's time zone"),
	COL("name", C_STRING, COL_NULL),
};
const struct row row_holiday =
    ROW("Holiday", holiday_cols, "A day closed all day");
static const struct col hours_cols[] = {
	COL_EXPR("enabled", C_BOOL, 0, "b.hours_enabled"),
	COL_DOC("timezone", C_STRING, 0, "an IANA time zone name"),
	COL_SUB("weekly", C_ROWS, 0,
	    "(SELECT coalesce(json_agg(json_build_object('day', (ARRAY['mon', "
	    "'tue', 'wed', 'thu', 'fri', 'sat', 'sun'])[w.dow], 'opens', "
	    "to_char(w.opens, 'HH24:MI'), 'closes', to_char(w.closes, "
	    "'HH24:MI')) ORDER BY w.dow, w.opens), '[]') FROM chatbot_hours w "
	    "WHERE w.company_id = b.company_id AND w.chatbot_id = b.id)",
	    &row_hours_range, "the opening ranges, by day"),
	COL_SUB("holidays", C_ROWS, 0,
	    "(SELECT coalesce(json_agg(json_build_object('date', "
	    "to_char(h.day, 'YYYY-MM-DD'), 'name', h.name) ORDER BY h.day), "
	    "'[]') FROM chatbot_holidays h WHERE h.company_id = b.company_id "
	    "AND h.chatbot_id = b.id)",
	    &row_holiday, NULL),
	COL_SUB("offline_message", C_STRING, COL_NULL, "b.offline_message",
	    NULL, NULL),
	COL_SUB("ask_email", C_BOOL, 0, "b.ask_email", NULL, NULL),
	COL_SUB("open", C_BOOL, 0,
	    "parley_chatbot_open(b.company_id, b.id, coalesce($3::timestamptz, "
	    "now()))",
	    NULL, "within the hours now (or at ?at=)"),
	COL_SUB("opens_at", C_TIME, COL_NULL,
	    "parley_chatbot_opens_at(b.company_id, b.id, "
	    "coalesce($3::timestamptz, now()))",
	    NULL, "when closed: when the hours next begin, within two weeks"),
};
const struct row row_hours = ROW("BusinessHours", hours_cols,
    "A chatbot's business hours: a weekly schedule in its time zone, "
    "with holidays");

const struct row *const rows_all[] = {
	&row_widget_conversation,
	&row_widget_message,
	&row_consent,
	&row_widget_visitor,
	&row_widget_chatbot,
	&row_widget_session,
	&row_message_accepted,
	&row_handoff,
	&row_availability,
	&row_contact,
	&row_seen,
	&row_link_session,
	&row_hours_range,
	&row_holiday,
	&row_hours,
	&row_me_user,
	&row_company_brief,
	&row_mfa_state,
	&row_me,
	&row_session,
	&row_new_user,
	&row_signed_up,
	&row_confirmation,
	&row_accepted,
	&row_password_changed,
	&row_plan_limits,
	&row_plan,
	&row_usage,
	&row_billing,
	&row_stripe_session,
	&row_health,
	&row_ready,
	&row_meta,
	&row_pow_challenge,
	&row_oidc_provider,
	&row_oidc_start,
	&row_oidc_pending,
	&row_company_domain,
	&row_attachment,
	&row_team,
	&row_label,
	&row_csat_group,
	&row_csat,
	&row_rating,
	&row_label_ids,
	&row_presence,
	&row_capacity,
	&row_notification,
	&row_notification_settings,
	&row_notification_list,
	&row_read_count,
	&row_company_sso,
	&row_identity,
	&row_totp_setup,
	&row_recovery,
	&row_erasure,
	&row_visitor,
	&row_subject_message,
	&row_subject_conversation,
	&row_subject_consent,
	&row_subject_visitor,
	&row_subject_by,
	&row_subject_export,
	&row_export,
	&row_audit_entry,
	&row_company_settings,
	&row_company,
	&row_company_llm,
	&row_security_event,
	&row_security_alert,
	&row_link_ended,
	&row_invitation,
	&row_member,
	&row_tokens,
	&row_api_key,
	&row_document,
	&row_webhook,
	&row_attempt,
	&row_delivery,
	&row_visitor_brief,
	&row_citation,
	&row_message,
	&row_conversation,
	&row_draft,
	&row_summary,
	&row_template,
	&row_chatbot,
	&row_logo,
	&row_source,
	&row_source_failure,
	&row_widget_config,
	NULL,
};
