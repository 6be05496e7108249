/*
 * routes.c: the route table. Every endpoint parley serves is one line
 * here; t/11-routes.t walks it against docs/openapi.yaml.
 */
#include "config.h"

#include "api.h"
#include "resources.h"
#include "router.h"
#include "scopes.h"

/*
 * Route specs: what each route takes and gives (router.h). Written with
 * designated initializers; these macros fill a member and its count.
 */
#define BODY(...)                                                              \
	.body = (const struct field[]){ __VA_ARGS__ },                         \
	.nbody = sizeof((const struct field[]){ __VA_ARGS__ }) /               \
	    sizeof(struct field)
#define QUERY(...)                                                             \
	.query = (const struct field[]){ __VA_ARGS__ },                        \
	.nquery = sizeof((const struct field[]){ __VA_ARGS__ }) /              \
	    sizeof(struct field)
#define HEADERS(...)                                                           \
	.headers = (const struct field[]){ __VA_ARGS__ },                      \
	.nheaders = sizeof((const struct field[]){ __VA_ARGS__ }) /            \
	    sizeof(struct field)
#define REPLIES(...)                                                           \
	.replies = (const struct resp[]){ __VA_ARGS__ },                       \
	.nreplies =                                                            \
	    sizeof((const struct resp[]){ __VA_ARGS__ }) / sizeof(struct resp)

static const char *const cookie_mode[] = { "cookie", NULL };
/* The console's cookie mode (docs/security.md). */
#define SESSION_MODE                                                           \
	{                                                                      \
		"X-Parley-Session", V_ENUM, 0, 0, F_ADVISORY, cookie_mode,     \
		    NULL, 0,                                                   \
		    "cookie: the refresh token travels as an HttpOnly, "       \
		    "Secure, "                                                 \
		    "SameSite=Strict cookie for /api/v1/auth (Set-Cookie "     \
		    "parley_refresh), never in the JSON; refresh then takes "  \
		    "the "                                                     \
		    "cookie, from public_base_url's Origin only"               \
	}

/* Response templates. */
#define TEMPLATE_NAME_TAKEN PROBLEM(409, "name_taken", "the name is taken")
static const struct spec s_template_create = { .noun = "template",
	BODY(FIELD("name", V_STRING, 1, 100, F_REQUIRED),
	    FIELD("body", V_TEXT, 1, 4000, F_REQUIRED)),
	REPLIES(REPLY(201, R_ONE, &row_template, "the template"),
	    TEMPLATE_NAME_TAKEN),
	.audit = "template.create" };
static const struct spec s_template_list = { .noun = "template",
	REPLIES(REPLY(200, R_ITEMS, &row_template, "by name")) };
static const struct spec s_template_patch = { .noun = "template",
	BODY(FIELD("name", V_STRING, 1, 100, 0),
	    FIELD("body", V_TEXT, 1, 4000, 0)),
	REPLIES(REPLY(200, R_ONE, &row_template, "the template"),
	    TEMPLATE_NAME_TAKEN),
	.audit = "template.update" };
static const struct spec s_template_delete = { .noun = "template",
	REPLIES(REPLY(204, R_EMPTY, NULL, "deleted")),
	.audit = "template.delete" };

/* clang-format off */
#define AUTHN(m, path, fn, rl, sum, sp) \
	{ m, path, AUTH_PUBLIC, ROLE_NONE, 0, rl, BODY_JSON, PRL_BODY_SMALL, \
	    NULL, fn, sum, NULL, sp }
#define USER_JSON(m, path, role, fn, sum, sp) \
	{ m, path, AUTH_USER, role, 0, RL_NONE, BODY_JSON, PRL_BODY_SMALL, \
	    NULL, fn, sum, NULL, sp }
#define USER(m, path, role, fn, sum, sp) \
	{ m, path, AUTH_USER, role, 0, RL_NONE, BODY_NONE, 0, NULL, fn, sum, \
	    NULL, sp }
/* A read-only user route answered in one database round trip. */
#define USER_READ(m, path, role, fn, st, sum, sp) \
	{ m, path, AUTH_USER, role, 0, RL_NONE, BODY_NONE, 0, NULL, fn, sum, \
	    &st, sp }
/* A route for users and for API keys with 'scope'. */
#define KEY(m, path, role, scope, fn, sum, sp) \
	{ m, path, AUTH_KEY, role, scope, RL_NONE, BODY_NONE, 0, NULL, fn, \
	    sum, NULL, sp }
#define KEY_JSON(m, path, role, scope, max, fn, sum, sp) \
	{ m, path, AUTH_KEY, role, scope, RL_NONE, BODY_JSON, max, NULL, fn, \
	    sum, NULL, sp }
/* Widget routes: a visitor token; 'rl' RL_LLM counts visitor messages. */
#define VISITOR(m, path, body, rl, fn, sum, sp) \
	{ m, path, AUTH_VISITOR, ROLE_NONE, 0, rl, body, \
	    (body) == BODY_JSON ? PRL_BODY_SMALL : 0, NULL, fn, sum, NULL, sp }
/* clang-format on */

/* Chatbots. */
static const char *const bot_languages[] = { "simple", "english", "french",
	"german", "spanish", "italian", "portuguese", "dutch", "danish",
	"finnish", "norwegian", "swedish", "russian", "hungarian", "romanian",
	"turkish", "estonian", "arabic", "hebrew", NULL };
/* The widget's languages (sql/037-languages.sql: parley_locale_config). */
static const char *const  widget_locales[] = { "en", "de", "fr", "es", "da",
	 "sv", "et", "fi", "nl", "it", "pt", "nb", "ar", "he", NULL };
static const struct field f_locale =
    FIELD_ENUM("locale", widget_locales, 0, NULL);
static const struct field f_origin = FIELD_DOC("origin", V_ORIGIN, 1, 100, 0,
    "an exact lower-case scheme://host[:port]: http or https, no path, "
    "no wildcard");
static const struct field f_host = FIELD("domain", V_HOST, 1, 253, 0);
static const struct field f_keyword = FIELD("keyword", V_STRING, 1, 50, 0);
static const char *const  routing_ids[] = { "manual", "round_robin",
	 "least_loaded", NULL };
static const char *const  launcher_sides[] = { "right", "left", NULL };
/* The settings of a chatbot; 'name_flags' F_REQUIRED on create. */
#define CHATBOT_BODY(name_flags)                                               \
	BODY(FIELD("name", V_STRING, 1, 100, name_flags),                      \
	    FIELD("prompt_template", V_TEXT, 0, 8000, 0),                      \
	    FIELD("welcome_message", V_TEXT, 0, 1000, 0),                      \
	    { "allowed_origins", V_ARRAY, 0, 20, 0, NULL, &f_origin, 1,        \
		"the sites that may embed the widget" },                       \
	    { "link_domains", V_ARRAY, 0, 20, 0, NULL, &f_host, 1,             \
		"domains the bot may link to besides the allowed origins" },   \
	    { "language", V_ENUM, 0, 0, 0, bot_languages, NULL, 0,             \
		"the text-search configuration of its documents that name "    \
		"none (estonian and hebrew: accents folded, words whole; "     \
		"PostgreSQL has no stemmer for them)" },                       \
	    { "locales", V_ARRAY, 1, 14, 0, NULL, &f_locale, 1,                \
		"the widget's languages (en de fr es da sv et fi nl it pt nb " \
		"ar he), its default first; a visitor gets the first of "      \
		"their "                                                       \
		"browser's languages among them, else the default" },          \
	    FIELD_DOC("welcome_messages", V_OBJECT, 0, 0, 0,                   \
		"the welcome per locale ({\"de\": \"Hallo!\"}), at most 1000 " \
		"bytes each; a locale without one gets welcome_message"),      \
	    FIELD_DOC("model", V_STRING, 1, 100, F_NULLABLE,                   \
		"the LLM model; null for the default"),                        \
	    FIELD("temperature", V_NUMBER, 0, 2, 0),                           \
	    FIELD("max_tokens", V_INT, 16, 4096, 0),                           \
	    { "handoff_keywords", V_ARRAY, 0, 20, 0, NULL, &f_keyword, 1,      \
		"a visitor message with one of these goes to a human" },       \
	    FIELD("handoff_on_no_answer", V_BOOL, 0, 0, 0),                    \
	    FIELD_DOC("require_verified", V_BOOL, 0, 0, 0,                     \
		"only visitors with a signed identity may chat"),              \
	    FIELD_DOC("team_id", V_UUID, 0, 0, F_NULLABLE,                     \
		"the team its handoffs go to (null: every member)"),           \
	    FIELD_ENUM("routing", routing_ids, 0,                              \
		"manual (the default), round_robin or least_loaded: how a "    \
		"handoff is assigned among the team's online agents, within "  \
		"each one's capacity"),                                        \
	    FIELD_DOC("reassign_offline", V_BOOL, 0, 0, 0,                     \
		"an agent who goes offline hands its pending and open "        \
		"conversations back to routing"),                              \
	    FIELD_DOC("accent_color", V_COLOR, 0, 0, 0,                        \
		"the widget's accent (launcher, header, the visitor's "        \
		"messages, buttons): #rrggbb; accent_text_color on it needs "  \
		"a WCAG AA contrast of 4.5:1 (422, code contrast, "            \
		"otherwise)"),                                                 \
	    FIELD_DOC("accent_text_color", V_COLOR, 0, 0, 0,                   \
		"text on the accent colour: #rrggbb (#ffffff by default)"),    \
	    FIELD_ENUM("launcher_position", launcher_sides, 0,                 \
		"the side of the page the launcher sits on: right (the "       \
		"default) or left"),                                           \
	    FIELD_DOC("display_name", V_STRING, 1, 60, F_NULLABLE,             \
		"the name the bot's messages carry in the widget (null: "      \
		"\"AI assistant\", in the visitor's language)"))
static const struct spec s_chatbot_create = { .noun = "chatbot",
	CHATBOT_BODY(F_REQUIRED),
	REPLIES(REPLY(201, R_ONE, &row_chatbot,
		    "the chatbot, with its identity_secret this once"),
	    PROBLEM(402, "plan_limit", "the plan allows no more chatbots")),
	.audit = "chatbot.create",
	.doc = "The answer carries the widget's public_key and, this once, "
	       "the identity_secret with which the company's backend signs "
	       "visitor identities: hex(HMAC-SHA256(key = identity_secret as "
	       "given, message = user_id))." };
static const struct spec s_chatbot_list = { .noun = "chatbot",
	REPLIES(REPLY(200, R_ITEMS, &row_chatbot,
	    "the chatbots, oldest first, without identity secrets")) };
static const struct spec s_chatbot_get = { .noun = "chatbot",
	REPLIES(REPLY(200, R_ONE, &row_chatbot, "the chatbot")) };
static const struct spec s_chatbot_patch = { .noun = "chatbot",
	CHATBOT_BODY(0),
	REPLIES(REPLY(200, R_ONE, &row_chatbot, "the chatbot")),
	.audit = "chatbot.update",
	.doc = "Any member of the create body; absent ones are kept. model "
	       "null returns to the default. A new language re-indexes the "
	       "knowledge base. Changes are audited by field name, settings "
	       "that are not personal data with old and new values." };
static const struct spec s_chatbot_delete = { .noun = "chatbot",
	REPLIES(REPLY(204, R_EMPTY, NULL, "deleted")),
	.audit = "chatbot.delete" };
static const struct spec s_chatbot_rotate_key = { .noun = "chatbot",
	REPLIES(REPLY(
	    200, R_ONE, &row_chatbot, "the chatbot with its new public_key")),
	.audit = "chatbot.rotate_key" };
static const struct spec s_chatbot_rotate_secret = { .noun = "chatbot",
	REPLIES(REPLY(200, R_ONE, &row_chatbot,
	    "the chatbot with its new identity_secret, this once")),
	.audit = "chatbot.rotate_identity_secret" };

/* Business hours and offline mode. */
static const char *const  hours_days[] = { "mon", "tue", "wed", "thu", "fri",
	 "sat", "sun", NULL };
static const struct field f_hours_range[] = {
	FIELD_ENUM("day", hours_days, F_REQUIRED, NULL),
	FIELD_DOC("opens", V_CLOCK, 0, 0, F_REQUIRED, "local time, HH:MM"),
	FIELD_DOC("closes", V_CLOCK, 0, 0, F_REQUIRED,
	    "local time, HH:MM, after opens; 24:00 is midnight"),
};
static const struct field f_hours_item =
    FIELD_SUB("range", V_OBJECT, 0, 0, 0, f_hours_range, NULL);
static const struct field f_holiday[] = {
	FIELD_DOC("date", V_DATE, 0, 0, F_REQUIRED,
	    "closed all day (in the chatbot's time zone)"),
	FIELD("name", V_STRING, 1, 100, F_NULLABLE),
};
static const struct field f_holiday_item =
    FIELD_SUB("holiday", V_OBJECT, 0, 0, 0, f_holiday, NULL);
static const struct spec s_hours_get = { .noun = "chatbot",
	QUERY(FIELD_DOC("at", V_TIME, 0, 0, 0,
	    "evaluate open and opens_at at this instant instead of now")),
	REPLIES(REPLY(200, R_ONE, &row_hours, "the schedule")) };
static const struct spec s_hours_put = { .noun = "chatbot",
	BODY(FIELD_DOC("enabled", V_BOOL, 0, 0, F_REQUIRED,
		 "false: always within hours (the schedule is kept)"),
	    FIELD_DOC("timezone", V_STRING, 1, 64, F_REQUIRED,
		"an IANA time zone name (Europe/Berlin); another is 422 "
		"unknown"),
	    { "weekly", V_ARRAY, 0, 70, F_REQUIRED, NULL, &f_hours_item, 1,
		"opening ranges; a range past midnight is two" },
	    { "holidays", V_ARRAY, 0, 200, 0, NULL, &f_holiday_item, 1,
		"days closed all day; none when absent" },
	    FIELD_DOC("offline_message", V_TEXT, 1, 500, F_NULLABLE,
		"shown by the widget when nobody can answer"),
	    FIELD_DOC("ask_email", V_BOOL, 0, 0, 0,
		"offer visitors to answer by e-mail then (true when "
		"absent)")),
	REPLIES(REPLY(200, R_ONE, &row_hours, "as set"),
	    PROBLEM(422, "validation_failed",
		"errors[0].code range (closes not after opens), duplicate or "
		"unknown (timezone)")),
	.audit = "chatbot.hours",
	.doc = "Replaces the whole schedule. Outside it, or when no agent "
	       "of the chatbot's team (else of the company) is online, the "
	       "widget says so and, with ask_email, offers to answer by "
	       "e-mail (POST /api/v1/widget/conversations/{id}/contact)." };

/* The inbox. */
static const char *const conv_statuses[] = { "bot", "pending", "open",
	"resolved", NULL };
static const char *const me_none[] = { "me", "none", NULL };
static const char *const me[] = { "me", NULL };
#define IDEM_KEY                                                               \
	FIELD_DOC("Idempotency-Key", V_URI, 1, PRL_IDEM_KEY_MAX, F_ADVISORY,   \
	    "a retry with the same key and content answers the first message")
static const struct spec s_conversation_list = { .noun = "conversation",
	QUERY(FIELD_ENUM("status", conv_statuses, 0, NULL),
	    FIELD_DOC("unanswered", V_BOOL, 0, 0, 0,
		"pending, or the visitor spoke last"),
	    { "assignee", V_UUID, 0, 0, 0, me_none, NULL, 0,
		"a member's id, me or none" },
	    FIELD_DOC("chatbot", V_UUID, 0, 0, 0, "a chatbot's id"),
	    FIELD_DOC(
		"label", V_UUID, 0, 0, 0, "a label's id: only those it is on"),
	    FIELD_DOC("limit", V_INT, 1, 100, 0, "page size, 25 by default"),
	    FIELD_DOC("cursor", V_CURSOR, 0, 0, 0,
		"next_cursor of the previous page")),
	REPLIES(REPLY(200, R_PAGE, &row_conversation,
	    "by last activity, newest first")) };
static const struct spec s_conversation_get = { .noun = "conversation",
	REPLIES(REPLY(200, R_ONE, &row_conversation,
	    "the conversation with its messages")) };
static const struct spec s_conversation_reply = { .noun = "conversation",
	BODY(FIELD_DOC("content", V_TEXT, 1, 16000, F_REQUIRED,
	    "at most widget_message_max bytes (2000 by default)")),
	HEADERS(IDEM_KEY),
	REPLIES(REPLY(201, R_ONE, &row_message, "the stored message"),
	    PROBLEM(422, "validation_failed idempotency_mismatch",
		"a bad body, or a key used with other content")),
	.doc = "A reply of the bot streaming at that moment is cancelled (the "
	       "visitor gets reply.cancelled). The first agent to answer "
	       "takes the conversation." };
static const struct spec s_conversation_patch = { .noun = "conversation",
	BODY(FIELD_ENUM("status", conv_statuses, 0, NULL),
	    { "assignee_id", V_UUID, 0, 0, F_NULLABLE, me, NULL, 0,
		"a member's id, \"me\" (users only), or null to unassign" }),
	REPLIES(REPLY(200, R_ONE, &row_conversation, "the conversation")) };
static const struct spec s_conversation_delete = { .noun = "conversation",
	REPLIES(REPLY(204, R_EMPTY, NULL, "deleted")),
	.audit = "conversation.delete",
	.doc = "The company's event streams get {type deleted, "
	       "conversation_id}; the visitor's stream ends." };
static const struct spec s_conversation_suggest = { .noun = "conversation",
	REPLIES(REPLY(202, R_ONE, &row_draft, "queued"),
	    PROBLEM(409, "processing_restricted nothing_to_answer",
		"a restricted visitor, or nothing written yet")),
	.doc =
	    "Answers 202 at once; the answerer writes the draft. It arrives "
	    "on the agent's GET /api/v1/events as {type draft.delta, id, "
	    "text} pieces and {type draft, draft} and stays readable for a "
	    "day at GET .../suggestions/{draft}. refused: nothing in the "
	    "knowledge base to draft from, or the output guard refused it." };
static const struct spec s_conversation_suggestion_get = { .noun = "draft",
	REPLIES(REPLY(200, R_ONE, &row_draft, "the draft")) };
static const struct spec s_analytics_summary = {
	QUERY(FIELD_DOC("from", V_TIME, 0, 0, 0, "30 days ago by default"),
	    FIELD_DOC("to", V_TIME, 0, 0, 0, "now by default")),
	REPLIES(REPLY(200, R_ONE, &row_summary, "the counts")),
	.doc = "Counted over the conversations created in [from, to): "
	       "messages (all of theirs); bot_resolved (the bot answered and "
	       "no human was ever involved); handed_off (the bot asked for a "
	       "human, the visitor did, or an agent took over); resolved "
	       "(status resolved now); flagged (a reply failed an output "
	       "check); tokens (LLM tokens of their messages); "
	       "median_first_response_seconds (from the visitor's first "
	       "message to the first answer, the bot's or an agent's)."
};

/* Webhook endpoints. */
static const struct field f_event = FIELD_DOC("event", V_STRING, 1, 64, 0,
    "an event type, a family such as member.*, or *");
#define WEBHOOK_BODY(req)                                                      \
	BODY(FIELD_DOC("url", V_URI, 10, 2000, req,                            \
		 "https; no user name or password; a public address"),         \
	    { "events", V_ARRAY, 1, 20, req, NULL, &f_event, 1, NULL },        \
	    FIELD("description", V_STRING, 0, 200, 0),                         \
	    FIELD("enabled", V_BOOL, 0, 0, 0))
static const struct spec s_webhook_create = { .noun = "webhook endpoint",
	WEBHOOK_BODY(F_REQUIRED),
	REPLIES(REPLY(201, R_ONE, &row_webhook,
		    "the endpoint, with its secret this once"),
	    PROBLEM(409, "too_many", "a company has at most 20 endpoints"),
	    PROBLEM(422, "validation_failed",
		"a bad body, event or URL: errors[0].code is unknown_event, "
		"https_required, private_address or a declared field's")),
	.audit = "webhook_endpoint.create",
	.doc =
	    "Body {url, events, description?, enabled?}. url: https (http "
	    "only where webhook_allow_http is set for development), no user "
	    "name or password, not localhost or a non-public address literal "
	    "(422 https_required, private_address, format); names are judged "
	    "again on the address actually connected to. events: 1 to 20 of "
	    "conversation.created, conversation.status_changed, "
	    "message.created, member.joined, member.updated, member.removed, "
	    "security.alert, a family such as \"member.*\", or \"*\" (422 "
	    "unknown_event). At "
	    "most 20 endpoints per company (409 too_many). The answer "
	    "carries the signing secret (\"whsec_\" + base64 of 24 bytes) this "
	    "once; it is stored encrypted and later answers show only "
	    "secret_hint. Deliveries: POST of {type, timestamp, data} with "
	    "the Standard Webhooks headers webhook-id (msg_\u2026, the same on "
	    "every attempt and every endpoint of one event), "
	    "webhook-timestamp and webhook-signature (\"v1,<base64 "
	    "HMAC-SHA256 of '{id}.{timestamp}.{body}'>\"); 15 s timeout, "
	    "redirects not followed, 13 attempts with exponential backoff "
	    "(about a day); a 410 answer, an address refused or the last "
	    "failed attempt turns the endpoint off and e-mails the owners "
	    "and admins." };
static const struct spec s_webhook_list = { .noun = "webhook endpoint",
	REPLIES(REPLY(200, R_ITEMS, &row_webhook, "oldest first")) };
static const struct spec s_webhook_get = { .noun = "webhook endpoint",
	REPLIES(REPLY(200, R_ONE, &row_webhook, "the endpoint")) };
static const struct spec s_webhook_patch = { .noun = "webhook endpoint",
	WEBHOOK_BODY(0),
	REPLIES(REPLY(200, R_ONE, &row_webhook, "the endpoint")),
	.audit = "webhook_endpoint.update",
	.doc = "Turning an endpoint on clears its disabled_reason. Checks as "
	       "for POST." };
static const struct spec s_webhook_delete = { .noun = "webhook endpoint",
	REPLIES(REPLY(204, R_EMPTY, NULL, "deleted")),
	.audit = "webhook_endpoint.delete" };
static const struct spec s_webhook_rotate = { .noun = "webhook endpoint",
	REPLIES(REPLY(200, R_ONE, &row_webhook,
	    "the endpoint with its new secret, this once")),
	.audit = "webhook_endpoint.rotate_secret",
	.doc = "For 24 hours deliveries carry two signatures, under the new "
	       "and the old secret, so a receiver can switch without losing "
	       "any." };
static const struct spec s_webhook_deliveries = { .noun = "webhook endpoint",
	QUERY(FIELD_DOC(
	    "cursor", V_CURSOR, 0, 0, 0, "next_cursor of the previous page")),
	REPLIES(REPLY(200, R_PAGE, &row_delivery,
	    "newest first, 50 a page, each with its attempts")),
	.doc = "An attempt's response is the receiver's answer truncated to "
	       "1 KiB; an attempt without finished_at was interrupted (the "
	       "process stopped mid-request)." };

/* Knowledge-base documents. */
static const struct spec s_document_create = { .noun = "chatbot",
	BODY(FIELD("title", V_STRING, 1, 200, F_REQUIRED),
	    FIELD_DOC("content_type", V_URI, 1, 40, F_REQUIRED,
		"text/plain, text/markdown or text/html"),
	    FIELD_DOC("content", V_TEXT, 1, 524288, F_REQUIRED,
		"at most kb_document_max bytes"),
	    FIELD_DOC("source_url", V_URI, 8, 2000, F_NULLABLE,
		"where it comes from (http or https), for citations"),
	    { "language", V_ENUM, 0, 0, F_NULLABLE, bot_languages, NULL, 0,
		"its text-search configuration; null or absent: the "
		"chatbot's language, followed when that changes" }),
	REPLIES(REPLY(201, R_ONE, &row_document, "the document, indexed"),
	    PROBLEM(402, "plan_limit", "the plan allows no more documents"),
	    PROBLEM(413, "document_too_large knowledge_base_full",
		"over kb_document_max, or the company's kb_company_max"),
	    PROBLEM(415, "unsupported_document_type unsupported_media_type",
		"content_type is none of the three")),
	.audit = "document.create",
	.resource = "document",
	.doc = "HTML is reduced to text by libxml2's parser, dropping "
	       "scripts, styles and hidden parts. The text is split into "
	       "chunks and indexed with PostgreSQL full-text search in the "
	       "chatbot's language." };
static const struct spec s_document_list = { .noun = "chatbot",
	REPLIES(REPLY(
	    200, R_ITEMS, &row_document, "newest first, without their text")) };
static const struct spec s_document_get = { .noun = "document",
	REPLIES(
	    REPLY(200, R_ONE, &row_document, "the document and its text")) };
static const struct spec s_document_delete = { .noun = "document",
	REPLIES(REPLY(204, R_EMPTY, NULL, "deleted, with its chunks")),
	.audit = "document.delete" };

/* Knowledge from the web and from files (src/api_sources.c). */
static const char *const source_kinds[] = { "url", "sitemap", NULL };
static const char *const resyncs[] = { "off", "daily", "weekly", NULL };
static const struct spec s_source_create = { .noun = "chatbot",
	BODY(FIELD_ENUM("kind", source_kinds, F_REQUIRED,
		 "url: one page or file (HTML, PDF, DOCX, text); sitemap: the "
		 "pages it lists (and those of its sitemaps), kb_sitemap_max "
		 "at most"),
	    FIELD_DOC("url", V_URI, 8, 2000, F_REQUIRED,
		"https (kb_fetch_allow_http for development), a public host: "
		"judged now and at every connection and redirect the fetch "
		"makes"),
	    FIELD_ENUM("resync", resyncs, 0,
		"off (the default), daily or weekly: fetched again, changed "
		"pages updated, vanished ones removed"),
	    { "language", V_ENUM, 0, 0, F_NULLABLE, bot_languages, NULL, 0,
		"its pages' text-search configuration; null: the chatbot's" }),
	REPLIES(REPLY(202, R_ONE, &row_source,
		    "queued: the jobs process fetches it; follow status and "
		    "pages_* on GET"),
	    PROBLEM(422, "validation_failed",
		"errors[0] url: https_required, private_address, format")),
	.audit = "kb_source.create",
	.resource = "kb_source",
	.doc = "Fetched by the jobs process with libcurl through the SSRF "
	       "guard (public addresses only, judged at connect time and "
	       "after every redirect), kb_fetch_timeout seconds and "
	       "kb_file_max bytes a page at most, as the host's robots.txt "
	       "allows (user agent parley). Each page becomes a document of "
	       "the source (source_id): HTML reduced to text, PDFs read by "
	       "poppler (kb_pdf_pages), DOCX by libarchive and libxml2." };
static const struct spec s_source_list = { .noun = "chatbot",
	REPLIES(REPLY(200, R_ITEMS, &row_source, "oldest first")) };
static const struct spec s_source_get = { .noun = "source",
	REPLIES(REPLY(200, R_ONE, &row_source, "with its progress")) };
static const struct spec s_source_sync = { .noun = "source",
	REPLIES(REPLY(202, R_ONE, &row_source, "queued"),
	    PROBLEM(409, "sync_under_way",
		"a fetch is due or under way, or the source is an upload")),
	.audit = "kb_source.sync",
	.resource = "kb_source" };
static const struct spec s_source_delete = { .noun = "source",
	REPLIES(REPLY(204, R_EMPTY, NULL, "deleted, with its documents")),
	.audit = "kb_source.delete",
	.resource = "kb_source" };
static const char *const kb_file_ctypes[] = { "application/pdf",
	"application/"
	"vnd.openxmlformats-officedocument.wordprocessingml.document",
	"text/html", "text/plain", "text/markdown", "application/octet-stream",
	NULL };
static const struct spec s_document_upload = { .noun = "chatbot",
	QUERY(FIELD_DOC("title", V_STRING, 1, 200, 0,
		  "its title; else an HTML page's own, else \"Document\""),
	    { "language", V_ENUM, 0, 0, 0, bot_languages, NULL, 0,
		"its text-search configuration; absent: the chatbot's" }),
	REPLIES(REPLY(202, R_ONE, &row_source,
		    "a source of kind file, queued: its document follows when "
		    "the jobs process has read it (status done), or its error "
		    "(unreadable, zip_bomb, too_large, no_text, "
		    "knowledge_base_full)"),
	    PROBLEM(402, "plan_limit", "the plan allows no more documents"),
	    PROBLEM(413, "document_too_large", "over kb_file_max"),
	    PROBLEM(415, "unsupported_document_type",
		"the bytes are none of PDF, DOCX, HTML, text"),
	    PROBLEM(422, "no_text", "an empty file")),
	.audit = "kb_source.create",
	.resource = "kb_source",
	.doc = "The body is the file. A PDF or DOCX is known by its bytes, "
	       "not its name or Content-Type. Its text is read by the jobs "
	       "process, never a request worker: a PDF's by poppler's "
	       "pdftotext (at most kb_pdf_pages pages, bounded in time and "
	       "memory), a DOCX's by libarchive and libxml2 (bounded in "
	       "entries, size and ratio against zip bombs). The file's bytes "
	       "are dropped once read." };
/* API keys. */
static const struct field f_scope = FIELD_ENUM("scope", scope_names, 0, NULL);
static const struct spec  s_api_key_create = { .noun = "key",
	 BODY(FIELD("name", V_STRING, 1, 100, F_REQUIRED),
	     { "scopes", V_ARRAY, 1, SCOPE__COUNT, F_REQUIRED, NULL, &f_scope, 1,
		 NULL },
	     FIELD_DOC("expires_at", V_TIME, 0, 0, F_NULLABLE,
		 "at least a minute ahead; null: never")),
	 REPLIES(REPLY(201, R_ONE, &row_api_key, "the key, shown this once"),
	     PROBLEM(
		 403, "scope_beyond_role", "a scope beyond the creator's role")),
	 .audit = "api_key.create",
	 .resource = "api_key",
	 .doc = "A key cannot hold a scope beyond its creator's role and, on "
		 "each use, is capped by the creator's role at that moment. "
		 "Use it as `Authorization: Bearer prl_<id>_<secret>` on "
		 "routes that accept keys." };
static const struct spec  s_api_key_list = { .noun = "key",
	 REPLIES(REPLY(200, R_ITEMS, &row_api_key,
	     "the keys not revoked, newest first")) };
static const struct spec  s_api_key_delete = { .noun = "key",
	 REPLIES(REPLY(204, R_EMPTY, NULL, "revoked")),
	 .audit = "api_key.revoke",
	 .resource = "api_key" };

/* The team. */
static const char *const roles[] = { "member", "admin", "owner", NULL };
static const struct spec s_members_list = { .noun = "member",
	REPLIES(REPLY(200, R_ITEMS, &row_member, "oldest first")) };
static const struct spec s_member_patch = { .noun = "member",
	BODY(FIELD_ENUM("role", roles, F_REQUIRED, NULL)),
	REPLIES(REPLY(200, R_ONE, &row_member, "the member"),
	    PROBLEM(403, "owner_required last_owner",
		"only an owner grants or takes away owner; the last owner "
		"stays")),
	.audit = "member.role_change",
	.doc = "Another company's id answers 404 like an unknown one." };
static const struct spec s_member_delete = { .noun = "member",
	REPLIES(REPLY(204, R_EMPTY, NULL, "removed; their sessions end"),
	    PROBLEM(403, "owner_required last_owner",
		"only an owner removes an owner; the last owner stays")),
	.audit = "member.remove" };
static const struct spec s_invitation_create = { .noun = "invitation",
	BODY(FIELD("email", V_STRING, 3, 320, F_REQUIRED),
	    FIELD_ENUM("role", roles, F_REQUIRED, NULL)),
	REPLIES(REPLY(201, R_ONE, &row_invitation, "made; the link is mailed"),
	    PROBLEM(402, "plan_limit", "the plan allows no more members"),
	    PROBLEM(403, "owner_required", "only an owner invites an owner"),
	    PROBLEM(409, "already_invited already_member",
		"an open invitation, or a member, has the address")),
	.audit = "invitation.create",
	.doc = "A single-use link valid 7 days is e-mailed by the jobs "
	       "process. An address with an account in another company is "
	       "invited like any other: whether it has one is not the "
	       "inviter's to learn. 429 rate_limited past "
	       "invite_max_per_address invitations to one address or "
	       "invite_max_per_company in all from this company per "
	       "invite_window, revoked ones included. An address invited "
	       "invite_max_per_address times by all companies together gets "
	       "no more mail in the window; the invitation is still made and "
	       "answered alike, so a company learns nothing of others' "
	       "invitations." };
static const struct spec s_invitation_list = { .noun = "invitation",
	REPLIES(REPLY(
	    200, R_ITEMS, &row_invitation, "open invitations, newest first")) };
static const struct spec s_invitation_delete = { .noun = "invitation",
	REPLIES(REPLY(204, R_EMPTY, NULL, "revoked")),
	.audit = "invitation.revoke" };
static const struct spec s_invitation_accept = { .noun = "invitation",
	HEADERS(SESSION_MODE),
	BODY(FIELD_DOC("token", V_STRING, 1, 128, F_REQUIRED | F_SECRET,
		 "from the invitation's link"),
	    FIELD("name", V_STRING, 1, 200, F_REQUIRED),
	    FIELD_DOC("password", V_STRING, 1, 1024, F_REQUIRED | F_SECRET,
		"policy as at registration")),
	REPLIES(REPLY(201, R_ONE, &row_tokens, "joined: a session"),
	    PROBLEM(400, "invalid_token", "unknown, used, revoked or expired"),
	    PROBLEM(409, "email_taken",
		"the address has an account; the invitation stays open"),
	    PROBLEM(422, "weak_password", "the password breaks the policy")),
	.audit = "invitation.accept",
	.resource = "member",
	.doc = "An address belongs to one account, so an address with an "
	       "account in another company cannot join. Limited like "
	       "registration per client address." };

/* The company. */
static const struct field f_company_settings[] = {
	FIELD("mfa_required", V_BOOL, 0, 0, 0),
	FIELD_DOC("privacy_policy_url", V_URI, 8, 2048, F_NULLABLE,
	    "the company's privacy policy (http or https), linked from the "
	    "widget's consent banner; null: none"),
	FIELD_DOC("privacy_policy_version", V_TOKEN, 1, 32, 0,
	    "the policy's version (1 at first), stored with every consent; "
	    "raise it when the policy changes and visitors are asked again"),
	FIELD_DOC("retention_period", V_TOKEN, 1, 16, 0,
	    "30_days, 60_days, 90_days (the default), 6_months, 1_year or "
	    "indefinitely; another value is 422 not_allowed"),
	FIELD_DOC("retention_action", V_TOKEN, 1, 16, 0,
	    "delete (the default) or anonymise; another value is 422 "
	    "not_allowed"),
};
static const struct spec s_company_get = { .noun = "company",
	REPLIES(REPLY(200, R_ONE, &row_company, "the company")) };
static const struct spec s_company_patch = { .noun = "company",
	BODY(FIELD("name", V_STRING, 1, 200, 0),
	    FIELD_SUB("settings", V_OBJECT, 0, 0, 0, f_company_settings, NULL)),
	REPLIES(REPLY(200, R_ONE, &row_company, "the company"),
	    PROBLEM(422, "validation_failed",
		"errors[0].code not_allowed: a retention setting not offered")),
	.audit = "company.update",
	.doc = "A failure names the field as settings.X for settings. With "
	       "mfa_required on, members without TOTP get 403 "
	       "mfa_setup_required on every route but TOTP setup/enable, /me "
	       "and logout. Settings changes are audited with old and new "
	       "values; conversations whose last activity is older than the "
	       "retention period are deleted or anonymised by the retention "
	       "sweep (docs/privacy.md)." };
#define CAPTCHA_TOKEN                                                          \
	FIELD_DOC("captcha_token", V_STRING, 0, 4096, F_NULLABLE | F_SECRET,   \
	    "when the deployment asks for a captcha: a solved proof of work "  \
	    "(GET /api/v1/auth/challenge) or a reCAPTCHA token")
#define PASSWORD_PROOF                                                         \
	FIELD_DOC("password", V_STRING, 1, 1024, F_SECRET,                     \
	    "required, but of an account without a password (made through a "  \
	    "provider): a sign-in at the provider within five minutes (POST "  \
	    "/api/v1/auth/oidc/reauth) stands in for it")
#define REAUTH_REQUIRED                                                        \
	PROBLEM(403, "reauth_required",                                        \
	    "an account without a password, not re-authenticated at its "      \
	    "provider within five minutes")
static const struct spec s_company_delete = { .noun = "company",
	BODY(PASSWORD_PROOF,
	    FIELD_DOC("code", V_STRING, 1, 64, F_SECRET,
		"a TOTP or recovery code, when TOTP is on"),
	    FIELD_DOC("confirm_name", V_STRING, 1, 200, F_REQUIRED,
		"the company's name, exactly")),
	REPLIES(REPLY(204, R_EMPTY, NULL, "deleted, everything of it"),
	    PROBLEM(403, "reauth_failed mfa_code_required",
		"a wrong password or code, or a code missing"),
	    REAUTH_REQUIRED,
	    PROBLEM(409, "subscription_active",
		"a live subscription and no Stripe key to cancel it"),
	    PROBLEM(422, "validation_failed",
		"errors[0].code mismatch: confirm_name is not the name"),
	    PROBLEM(502, "payment_provider_error",
		"Stripe did not cancel; nothing went")),
	.doc =
	    "The owner's password, a "
	    "TOTP or recovery code when two-factor authentication is on (403 "
	    "mfa_code_required without one; 403 reauth_failed for a wrong "
	    "one; each try counts against the account's guess budget), and "
	    "the company's name exactly (422 mismatch). A live Stripe "
	    "subscription is cancelled through Stripe's API first (409 "
	    "subscription_active when no Stripe key is set; 502 when Stripe "
	    "fails, and nothing is deleted). Then every row of the company "
	    "in every table goes in one transaction \u2014 members, sessions "
	    "(every token stops working at once), API keys, chatbots, "
	    "documents, conversations, messages, visitors, consents, webhook "
	    "endpoints, usage, the audit log and every encrypted secret \u2014 "
	    "leaving only a tombstone (the company id and the time). parleyd "
	    "logs company_deleted with the id." };
static const struct spec s_security_events = { .noun = "event",
	QUERY(FIELD_DOC("limit", V_INT, 1, 200, 0, "50 by default"),
	    FIELD_DOC("before", V_CURSOR, 0, 0, 0,
		"next_cursor of the previous page")),
	REPLIES(REPLY(200, R_PAGE, &row_security_event, "newest first")),
	.doc = "Kinds: register, login_success, login_failure, login_locked, "
	       "refresh_reuse, logout, logout_all, session_ended, "
	       "password_reset_requested, password_reset, password_change, "
	       "email_verified, mfa_enabled, mfa_disabled, and more. Never a "
	       "secret." };
static const char *const alert_state_values[] = { "open", "acknowledged",
	"resolved", NULL };
static const char *const alert_state_moves[] = { "acknowledged", "resolved",
	NULL };
static const struct spec s_alerts = { .noun = "alert",
	QUERY(FIELD_ENUM("state", alert_state_values, 0, "only those in it"),
	    FIELD_DOC("limit", V_INT, 1, 200, 0, "50 by default"),
	    FIELD_DOC("before", V_CURSOR, 0, 0, 0,
		"next_cursor of the previous page")),
	REPLIES(REPLY(200, R_PAGE, &row_security_alert,
	    "by last activity, newest first")),
	.doc = "Detection rules judge security events and audit entries as "
	       "they are written; a rule that fires opens an alert, or adds "
	       "to the count of the one still open for the same rule and "
	       "subject (one alert per incident). Opening one notifies every "
	       "owner and admin (the console; the digest mail) and emits the "
	       "webhook event security.alert. Rules and thresholds: "
	       "docs/security.md, Detection." };
static const struct spec s_alert_get = { .noun = "alert",
	REPLIES(REPLY(200, R_ONE, &row_security_alert, "the alert")) };
static const struct spec s_alert_patch = { .noun = "alert",
	.resource = "security alert",
	.audit = "security_alert.update",
	BODY(FIELD_ENUM("state", alert_state_moves, F_REQUIRED,
	    "acknowledged: someone is on it; resolved: over (a later event "
	    "opens a new alert)")),
	REPLIES(REPLY(200, R_ONE, &row_security_alert, "as it is now"),
	    PROBLEM(409, "alert_state",
		"a resolved alert stays resolved; none goes back to open")),
	.doc = "Audited with the old and new state. Setting the state it "
	       "already has changes nothing." };
static const struct spec s_sign_in_revoke = {
	BODY(FIELD_DOC("token", V_STRING, 1, 160, F_REQUIRED | F_SECRET,
	    "from the new sign-in mail's link")),
	REPLIES(REPLY(200, R_ONE, &row_link_ended, "that session is over"),
	    PROBLEM(400, "invalid_token", "not parley's, or expired"),
	    PROBLEM(410, "link_used", "that session had already ended")),
	.doc = "A member is mailed when they sign in from a network (/24, /48) "
	       "and browser family they never used; the mail's link (valid "
	       "sign_in_link_ttl, 3 days) lands on the console's "
	       "/sign-in-check page, which posts its token here. Only that "
	       "session ends; the event opens the sign_in_revoked alert for "
	       "the company's owners and admins."
};
static const struct spec s_company_llm_get = { .noun = "company",
	REPLIES(REPLY(200, R_ONE, &row_company_llm, "the settings")) };
static const struct spec s_company_llm_put = { .noun = "company",
	BODY(FIELD_DOC("base_url", V_URI, 12, 256, F_NULLABLE,
		 "where llm_company_base_url allows: https, a public host"),
	    FIELD("model", V_STRING, 1, 100, F_NULLABLE),
	    FIELD_DOC("api_key", V_URI, 1, 512, F_NULLABLE,
		"stored encrypted, never shown again")),
	REPLIES(REPLY(200, R_ONE, &row_company_llm, "the settings"),
	    PROBLEM(403, "base_url_not_allowed",
		"this deployment keeps the provider URL"),
	    PROBLEM(422, "validation_failed",
		"a bad body or base_url: errors[0].code https_required, "
		"private_address or format")),
	.audit = "company.llm_update",
	.doc =
	    "Body {api_key?, model?, base_url?}; an absent member is kept, "
	    "null clears it. The key is stored AES-256-GCM encrypted and "
	    "never shown again. base_url is refused (403 "
	    "base_url_not_allowed) unless the deployment sets "
	    "llm_company_base_url = 1, and is judged as webhook URLs are "
	    "(422 with errors[0].code https_required, format or "
	    "private_address). Audited by field name (the model's value too; "
	    "never the key or the URL)." };

/* The audit log. */
#define AUDIT_QUERY(...)                                                       \
	QUERY(FIELD_DOC("from", V_TIME, 0, 0, 0, "from this time on"),         \
	    FIELD_DOC("to", V_TIME, 0, 0, 0, "before this time"),              \
	    FIELD_DOC("actor", V_STRING, 1, 64, 0, "a user's or key's id"),    \
	    FIELD_DOC("action", V_STRING, 1, 64, 0, "chatbot.update, ..."),    \
	    FIELD_DOC("resource", V_STRING, 1, 99, 0, "TYPE or TYPE:ID"),      \
	    FIELD_DOC("limit", V_INT, 1, 200, 0, "50 by default"),             \
	    __VA_ARGS__)
static const struct spec s_audit_list = { .noun = "entry",
	AUDIT_QUERY(FIELD_DOC("cursor", V_INT, 1, 9223372036854775807LL, 0,
	    "next_cursor of the previous page")),
	REPLIES(REPLY(200, R_PAGE, &row_audit_entry, "newest first")),
	.doc = "Entries name the fields that changed and, for non-personal "
	       "settings only, old and new values." };
static const struct spec s_audit_export = { .noun = "entry",
	QUERY(FIELD_DOC("from", V_TIME, 0, 0, 0, "90 days ago by default"),
	    FIELD_DOC("to", V_TIME, 0, 0, 0, "now by default"),
	    FIELD("actor", V_STRING, 1, 64, 0),
	    FIELD("action", V_STRING, 1, 64, 0),
	    FIELD("resource", V_STRING, 1, 99, 0)),
	REPLIES({ 200, R_OTHER, NULL, "the entries, newest first", NULL,
		    "text/csv" },
	    PROBLEM(400, "bad_query", "older than 90 days, or malformed")),
	.audit = "audit_log.export",
	.resource = "audit_log",
	.doc =
	    "The last 90 days by default; from and to may narrow it but not "
	    "reach further back (400). Streamed, RFC 4180 (CRLF lines, "
	    "quoted cells where needed); a cell that begins with =, +, -, @, "
	    "a tab or a carriage return is prefixed with an apostrophe so no "
	    "spreadsheet runs it as a formula. Same filters as the listing. "
	    "Columns: seq, created_at, actor_type, actor_id, actor_email, "
	    "actor_name, action, resource_type, resource_id, fields, "
	    "changes, ip, user_agent, request_id. actor_email and actor_name "
	    "are who the actor is when the CSV is written (a member's "
	    "current address and name, \"deleted user\" once removed; an API "
	    "key's name): the log itself holds ids only." };

/* Data exports. */
static const struct spec s_export_create = { .noun = "export",
	REPLIES(REPLY(202, R_ONE, &row_export, "queued"),
	    PROBLEM(409, "export_in_progress", "one export at a time")),
	.audit = "company.export",
	.doc =
	    "Answers 202 with the export {id, status queued, ...}; 409 "
	    "export_in_progress while another is queued or running. The jobs "
	    "process writes a tar.gz (libarchive) into export_dir: "
	    "manifest.json (format, company, each file's record count and "
	    "SHA-256), company.json, members.json (no password hashes or "
	    "secrets), chatbots.json (no keys or secrets), documents.json "
	    "(with their text), templates.json, visitors.json, "
	    "consents.json, conversations.json (each with its messages) and "
	    "audit_log.json." };
static const struct spec s_export_list = { .noun = "export",
	REPLIES(
	    REPLY(200, R_ITEMS, &row_export, "the last 20, newest first")) };
static const struct spec s_export_get = { .noun = "export",
	REPLIES(REPLY(200, R_ONE, &row_export, "the export")) };
static const struct spec s_export_download = { .noun = "export",
	REPLIES({ 200, R_OTHER, NULL, "the archive, as an attachment", NULL,
		    "application/gzip" },
	    PROBLEM(409, "export_not_ready",
		"not ready yet, or expired (export_ttl, 7 days by default)"),
	    PROBLEM(410, "export_gone", "the file is missing")),
	.audit = "company.export_download" };

/* Data-subject requests. */
#define SUBJECT_BODY                                                           \
	BODY(FIELD("visitor_id", V_UUID, 0, 0, 0),                             \
	    FIELD_DOC("user_id", V_STRING, 1, 200, 0,                          \
		"the company's own id, as its backend vouched for it"),        \
	    FIELD_DOC(                                                         \
		"email", V_EMAIL, 3, 254, 0, "matched whatever its case"))
static const struct spec s_privacy_export = { .noun = "visitor",
	SUBJECT_BODY,
	REPLIES(REPLY(200, R_ONE, &row_subject_export, "the subject's data"),
	    PROBLEM(422, "validation_failed",
		"errors[0].code one_of_visitor_id_user_id_email: exactly one "
		"identifier")),
	.audit = "privacy.subject_export",
	.doc = "Exactly one of visitor_id, user_id or email. The audit entry "
	       "names which identifier was used and how many records were "
	       "found, never the identifier. The answer is streamed "
	       "(conversations 100 and messages 1000 at a time), so memory "
	       "stays small however much the person wrote; at most 1000 "
	       "visitor records match." };
static const struct spec s_privacy_erase = { .noun = "visitor",
	SUBJECT_BODY,
	REPLIES(REPLY(200, R_ONE, &row_erasure, "what was deleted"),
	    PROBLEM(422, "validation_failed",
		"errors[0].code one_of_visitor_id_user_id_email: exactly one "
		"identifier")),
	.audit = "privacy.subject_erasure",
	.doc = "Deletes, at once, every matching visitor record with its "
	       "conversations, messages and consent records, and the copies "
	       "of those conversations in webhook deliveries. The audit entry "
	       "keeps the identifier's kind and the counts, never the data." };
static const struct spec s_visitor_patch = { .noun = "visitor",
	BODY(FIELD("name", V_STRING, 1, 200, F_NULLABLE),
	    FIELD("email", V_EMAIL, 3, 254, F_NULLABLE),
	    FIELD_DOC("restricted", V_BOOL, 0, 0, 0,
		"restrict processing (Art. 18, 21)")),
	REPLIES(REPLY(200, R_ONE, &row_visitor, "the visitor record")),
	.audit = "visitor.update",
	.doc =
	    "name and email may be null "
	    "(cleared). restricted true (GDPR Art. 18, or an objection under "
	    "Art. 21): the bot and the LLM no longer process the visitor's "
	    "messages (each new message hands the conversation to a human, "
	    "handoff_reason restricted; agents get 409 processing_restricted "
	    "for drafts) and their conversations are left out of analytics." };

/* Ratings. */
static const struct spec s_widget_rating = { .noun = "conversation",
	BODY(FIELD_DOC("score", V_INT, 1, 5, F_REQUIRED,
		 "1 (bad) to 5 (good); thumbs are 1 and 5"),
	    FIELD_DOC("comment", V_TEXT, 0, 1000, 0, "optional")),
	REPLIES(REPLY(201, R_ONE, &row_rating, "kept"),
	    PROBLEM(409, "not_resolved already_rated",
		"not resolved yet, or rated already")),
	.doc = "Once a conversation is resolved the widget asks its visitor "
	       "for a rating, once. It counts in GET /api/v1/analytics/summary "
	       "(ratings, rating_average, satisfied) and GET "
	       "/api/v1/analytics/csat (by chatbot, by agent), and is in the "
	       "company's export." };
static const struct spec s_analytics_csat = { .noun = "company",
	QUERY(FIELD_DOC(
		  "from", V_TIME, 0, 0, 0, "since (30 days ago by default)"),
	    FIELD_DOC("to", V_TIME, 0, 0, 0, "until (now by default)")),
	REPLIES(REPLY(200, R_ONE, &row_csat, "CSAT by chatbot and by agent")) };
/* Labels. */
static const struct field f_label_id = FIELD("label_id", V_UUID, 0, 0, 0);
#define LABEL_BODY(name_flags)                                                 \
	BODY(FIELD("name", V_STRING, 1, 50, name_flags),                       \
	    FIELD_DOC("colour", V_STRING, 7, 7, 0,                             \
		"#rrggbb, lower case (grey by default)"))
static const struct spec s_labels = { .noun = "label",
	REPLIES(REPLY(200, R_ITEMS, &row_label, "by name")) };
static const struct spec s_label_create = { .noun = "label",
	.audit = "label.create",
	LABEL_BODY(F_REQUIRED),
	REPLIES(REPLY(201, R_ONE, &row_label, "made"),
	    PROBLEM(409, "name_taken", "a label of this name exists")) };
static const struct spec s_label_patch = { .noun = "label",
	.audit = "label.update",
	LABEL_BODY(0),
	REPLIES(REPLY(200, R_ONE, &row_label, "as changed"),
	    PROBLEM(409, "name_taken", "a label of this name exists")) };
static const struct spec s_label_delete = { .noun = "label",
	.audit = "label.delete",
	REPLIES(
	    REPLY(204, R_EMPTY, NULL, "deleted, from every conversation")) };
static const struct spec s_conversation_labels = { .noun = "conversation",
	BODY({ "label_ids", V_ARRAY, 0, 20, F_REQUIRED, NULL, &f_label_id, 1,
	    "all its labels: the list replaces them" }),
	REPLIES(REPLY(200, R_ONE, &row_label_ids, "its labels now"),
	    PROBLEM(422, "validation_failed",
		"errors[0].code unknown: no such label")),
	.doc = "Any member labels conversations; GET /api/v1/conversations "
	       "?label= filters by one." };
/* Teams, capacity, presence. */
static const struct field f_member_id = FIELD("user_id", V_UUID, 0, 0, 0);
#define TEAM_BODY(name_flags)                                                  \
	BODY(FIELD("name", V_STRING, 1, 100, name_flags),                      \
	    { "member_ids", V_ARRAY, 0, 200, 0, NULL, &f_member_id, 1,         \
		"the team's agents (all of them: the list replaces it)" })
static const struct spec s_teams = { .noun = "team",
	REPLIES(REPLY(200, R_ITEMS, &row_team, "by name")) };
static const struct spec s_team_create = { .noun = "team",
	.audit = "team.create",
	TEAM_BODY(F_REQUIRED),
	REPLIES(REPLY(201, R_ONE, &row_team, "made"),
	    PROBLEM(409, "name_taken", "a team of this name exists"),
	    PROBLEM(422, "validation_failed",
		"errors[0].code unknown: a member_ids entry is no member")),
	.doc = "A chatbot's handoffs go to its team (PATCH "
	       "/api/v1/chatbots/{id} {team_id, routing}): its notifications, "
	       "and with routing round_robin or least_loaded, the assignment "
	       "itself among its online agents, within each one's capacity." };
static const struct spec s_team_patch = { .noun = "team",
	.audit = "team.update",
	TEAM_BODY(0),
	REPLIES(REPLY(200, R_ONE, &row_team, "as changed"),
	    PROBLEM(409, "name_taken", "a team of this name exists")) };
static const struct spec s_team_delete = { .noun = "team",
	.audit = "team.delete",
	REPLIES(REPLY(204, R_EMPTY, NULL, "deleted: its chatbots have none")) };
static const struct spec s_member_capacity = { .noun = "member",
	.audit = "member.capacity",
	BODY(FIELD_DOC("capacity", V_INT, 0, 100, F_REQUIRED,
	    "conversations (pending or open) the agent may be assigned at "
	    "once by routing; 5 by default")),
	REPLIES(REPLY(200, R_ONE, &row_capacity, "set")) };
static const char *const presence_ids[] = { "online", "away", "offline", NULL };
static const struct spec s_presence = { .noun = "user",
	BODY(FIELD_ENUM("status", presence_ids, F_REQUIRED, NULL)),
	REPLIES(REPLY(200, R_ONE, &row_presence, "as set")),
	.doc = "Set by the console (online while it is open and used, away "
	       "when idle) and renewed by its heartbeat: without one for two "
	       "minutes an agent is offline. Routing assigns handoffs to "
	       "online agents only; the widget tells its visitor whether a "
	       "person is available (agents_available)." };
/* An agent's notifications. */
static const struct field f_notification_id = FIELD("id", V_UUID, 0, 0, 0);
static const struct spec  s_notifications = { .noun = "notification",
	 QUERY(FIELD_DOC("unread", V_BOOL, 0, 0, 0, "only the unread ones")),
	 REPLIES(REPLY(200, R_ONE, &row_notification_list, "newest first")),
	 .doc = "What the agent should know of, made whatever made the change "
		 "(an agent, the bot, the reply sweep): a conversation handed "
		 "to a person (to its assignee, else to every member), one "
		 "assigned to them, a visitor who wrote while a person is "
		 "wanted. One row per conversation and kind while unread; "
		 "repeats add to its count. The agent who made a change is not "
		 "told of it." };
static const struct spec  s_notifications_read = { .noun = "notification",
	 BODY(
	     { "ids", V_ARRAY, 1, 100, 0, NULL, &f_notification_id, 1, "these" },
	     FIELD_DOC("conversation_id", V_UUID, 0, 0, 0,
		 "all of a conversation's (opening it in the console)"),
	     FIELD_DOC("all", V_BOOL, 0, 0, 0, "every one")),
	 REPLIES(REPLY(200, R_ONE, &row_read_count, "marked read")) };
static const struct spec  s_notification_settings = { .noun = "user",
	 REPLIES(REPLY(200, R_ONE, &row_notification_settings, "as set")) };
static const struct spec  s_notification_settings_patch = { .noun = "user",
	 BODY(FIELD_DOC("email", V_BOOL, 0, 0, 0,
		  "mail a digest of what one has not seen in the console"),
	     FIELD_DOC("email_delay_seconds", V_INT, 0, 86400, 0,
		 "the quiet delay: a notification unseen this long goes into "
		  "the next digest; at most one digest per this long")),
	 REPLIES(REPLY(200, R_ONE, &row_notification_settings, "as changed")) };
static const struct spec  s_notifications_unsubscribe = {
	 QUERY(FIELD_DOC("token", V_STRING, 1, 160, F_REQUIRED | F_SECRET,
	     "from the digest's List-Unsubscribe header")),
	 BODY(FIELD_DOC("List-Unsubscribe", V_STRING, 1, 32, 0,
	     "One-Click, as RFC 8058 has mail clients send it")),
	 REPLIES(REPLY(204, R_EMPTY, NULL, "no more digests by mail"),
	     PROBLEM(400, "invalid_token", "not a token parley made")),
	 .doc = "RFC 8058 one-click unsubscribe: the digests carry "
		 "List-Unsubscribe with this URL and List-Unsubscribe-Post; "
		 "the token proves the address's account, and does only this. "
		 "Turn mail on again under Your account."
};
/* A company's single sign-on. */
static const char *const sso_protocol_ids[] = { "saml", "oidc", NULL };
static const char *const sso_role_ids[] = { "member", "admin", NULL };
static const struct spec s_sso_domains = { .noun = "domain",
	REPLIES(REPLY(200, R_ITEMS, &row_company_domain, "by name")) };
static const struct spec s_sso_domain_add = { .noun = "domain",
	.resource = "company_domain",
	.audit = "sso.domain_add",
	BODY(FIELD_DOC("domain", V_STRING, 4, 253, F_REQUIRED,
	    "an e-mail domain, e.g. acme.com")),
	REPLIES(REPLY(201, R_ONE, &row_company_domain,
		    "claimed: publish txt_value at txt_name, then verify"),
	    PROBLEM(409, "domain_exists", "claimed already")),
	.doc = "Claims an e-mail domain for the company's single sign-on. "
	       "Several companies may claim one; the first to verify it has "
	       "it." };
static const struct spec s_sso_domain_verify = { .noun = "domain",
	.resource = "company_domain",
	.audit = "sso.domain_verify",
	REPLIES(REPLY(200, R_ONE, &row_company_domain, "verified"),
	    PROBLEM(409, "domain_verified domain_taken",
		"verified already, or by another company"),
	    PROBLEM(422, "dns_record_missing",
		"the TXT record is not there (txt_name, txt_value say which)"),
	    PROBLEM(503, "dns_unavailable", "the DNS did not answer")),
	.doc = "Reads the TXT records of _parley-verification.DOMAIN "
	       "through a resolver (dns_servers, else the system's); one must "
	       "be parley-verification=TOKEN. No transaction is held while "
	       "the DNS answers (five seconds at most)." };
static const struct spec s_sso_domain_delete = { .noun = "domain",
	.resource = "company_domain",
	.audit = "sso.domain_delete",
	REPLIES(REPLY(204, R_EMPTY, NULL, "no longer claimed")) };
static const struct spec s_sso_get = { .noun = "company",
	REPLIES(REPLY(200, R_ONE, &row_company_sso,
	    "the configuration (protocol null: none yet)")) };
static const struct spec s_sso_put = { .noun = "company",
	.resource = "company_sso",
	.audit = "sso.update",
	BODY(FIELD_ENUM("protocol", sso_protocol_ids, F_REQUIRED, NULL),
	    FIELD_DOC("enabled", V_BOOL, 0, 0, 0,
		"members may sign in through it (false by default)"),
	    FIELD_DOC("saml_metadata", V_STRING, 1, 200000, 0,
		"SAML: the IdP's metadata XML (required for SAML): its "
		"entity id, HTTP-Redirect sign-on URL and signing "
		"certificates (several during a rollover)"),
	    FIELD_DOC("allow_idp_initiated", V_BOOL, 0, 0, 0,
		"SAML: take responses the IdP sends unasked (false by "
		"default: they are open to login CSRF)"),
	    FIELD_DOC("oidc_issuer", V_URI, 8, 512, 0,
		"OpenID Connect: the issuer (https; required for OIDC)"),
	    FIELD_DOC("oidc_client_id", V_STRING, 1, 256, 0,
		"OpenID Connect: parley's client id (required for OIDC)"),
	    FIELD_DOC("oidc_client_secret", V_STRING, 1, 1024, F_SECRET,
		"OpenID Connect: its secret, stored encrypted; absent: kept"),
	    FIELD_DOC("required", V_BOOL, 0, 0, 0,
		"verified-domain members sign in only through the IdP"),
	    FIELD_DOC("jit", V_BOOL, 0, 0, 0,
		"just-in-time membership for verified-domain users"),
	    FIELD_ENUM(
		"jit_role", sso_role_ids, 0, "their role (member by default)"),
	    FIELD_DOC("idp_mfa", V_BOOL, 0, 0, 0,
		"the IdP's multi-factor authentication stands in for TOTP")),
	REPLIES(REPLY(200, R_ONE, &row_company_sso, "set"),
	    PROBLEM(409, "no_verified_domain break_glass_needs_totp",
		"required without a verified domain, or by an owner without "
		"TOTP (the break-glass path needs it)"),
	    PROBLEM(422, "bad_metadata provider_unusable",
		"the SAML metadata or the OpenID issuer is not usable")),
	.doc = "Sets the company's identity provider and policy as a whole. "
	       "Audited with the names of the fields sent (a secret's name, "
	       "never its value). parley's SAML entity id and ACS, and the "
	       "OpenID redirect URI, are in the answer." };
static const struct spec s_sso_delete = { .noun = "company",
	.resource = "company_sso",
	.audit = "sso.delete",
	REPLIES(REPLY(204, R_EMPTY, NULL,
	    "removed (or none was): password sign-in again")) };
static const struct spec s_sso_start = {
	BODY(FIELD("email", V_STRING, 3, 320, F_REQUIRED)),
	REPLIES(REPLY(200, R_ONE, &row_oidc_start,
		    "go to url; the IdP returns to parley"),
	    PROBLEM(404, "sso_not_configured",
		"no company verified the address's domain, or its SSO is off"),
	    PROBLEM(502, "provider_unavailable",
		"the company's OpenID Provider could not be read")),
	.doc = "Single sign-on through the identity provider of the company "
	       "that verified the address's domain: SAML (an AuthnRequest "
	       "by HTTP-Redirect, answered at the company's ACS) or OpenID "
	       "Connect (as the other providers, answered at GET "
	       "/api/v1/auth/oidc/callback). The flow is bound to this "
	       "browser. Counts against login_max_per_ip."
};
static const struct spec s_saml_metadata = {
	REPLIES({ 200, R_OTHER, NULL, "parley's SP metadata", NULL,
	    "application/samlmetadata+xml" }),
	.doc = "The company's service provider metadata for its IdP: entity "
	       "id (this URL), the ACS (HTTP-POST), NameID format "
	       "emailAddress, signed assertions wanted. 404 unless the "
	       "company configured SAML."
};
static const struct spec s_saml_acs = {
	BODY(FIELD_DOC("SAMLResponse", V_STRING, 1, 262144, F_REQUIRED,
		 "base64 of the IdP's Response"),
	    FIELD_DOC("RelayState", V_STRING, 1, 80, 0,
		"the flow's state, as parley sent it")),
	REPLIES({ 303, R_OTHER, NULL,
	    "to GET /api/v1/auth/oidc/callback?state=…, which finishes in "
	    "the browser that started the flow; or to /login?sso=REASON "
	    "(failed, expired, replayed, idp_initiated_off, not_configured)",
	    NULL, NULL }),
	.doc = "The Assertion Consumer Service (HTTP-POST binding). The "
	       "Response or its Assertion must be signed by a certificate of "
	       "the IdP's metadata (Lasso verifies it); then the assertion "
	       "Lasso verified is checked: Issuer, Destination and Recipient "
	       "this URL, Audience parley's entity id, NotBefore and "
	       "NotOnOrAfter (two minutes of skew), InResponseTo the flow's "
	       "request, its id not seen before. The member is then signed "
	       "in as the company's policy says."
};
/* Health and metadata. */
static const struct spec s_healthz = { REPLIES(
    REPLY(200, R_ONE, &row_health, "alive")) };
static const struct spec s_readyz = { REPLIES(
    REPLY(200, R_ONE, &row_ready, "ready"),
    PROBLEM(503,
	"database_unavailable migrations_pending "
	"schema_newer_than_code",
	"not ready")) };
static const struct spec s_meta = { REPLIES(
    REPLY(200, R_ONE, &row_meta, "metadata")) };
static const char *const oidc_ids[] = { "google", "microsoft", "apple",
	"generic", NULL };
static const char *const form_ctypes[] = { "application/x-www-form-urlencoded",
	NULL };
static const struct spec s_oidc_providers = { .noun = "provider",
	REPLIES(REPLY(200, R_ITEMS, &row_oidc_provider, "those configured")) };
#define OIDC_START_REPLIES(what, ...)                                          \
	REPLIES(REPLY(200, R_ONE, &row_oidc_start, what),                      \
	    PROBLEM(404, "unknown_provider", "not configured here"),           \
	    PROBLEM(502, "provider_unavailable",                               \
		"its discovery document or keys could not be read"),           \
	    ##__VA_ARGS__)
#define OIDC_START_SPEC(what)                                                  \
	BODY(FIELD_ENUM("provider", oidc_ids, F_REQUIRED, NULL)),              \
	    OIDC_START_REPLIES(what)
#define OIDC_TICKET                                                            \
	FIELD_DOC("ticket", V_URI, 43, 43, F_REQUIRED | F_SECRET,              \
	    "from the console's /login?oidc=new#ticket=")
#define OIDC_TICKET_USED                                                       \
	PROBLEM(400, "invalid_token",                                          \
	    "the ticket is used, expired, or of another browser")
static const struct spec s_oidc_start = {
	OIDC_START_SPEC("go to url; the provider returns to GET "
			"/api/v1/auth/oidc/callback"),
	.doc = "The authorization code flow with PKCE (S256), state and "
	       "nonce. Signs in the account that has linked this identity "
	       "(the ID token's iss and sub), never one with the same "
	       "e-mail address. A browser cookie binds the flow: the "
	       "callback works once, in the browser that started it, within "
	       "ten minutes. Counts against login_max_per_ip (429)."
};
static const struct spec s_oidc_link = { .audit = "user.identity_link",
	BODY(FIELD_ENUM("provider", oidc_ids, F_REQUIRED, NULL), PASSWORD_PROOF,
	    FIELD_DOC("code", V_STRING, 1, 64, F_SECRET,
		"a TOTP or recovery code, when TOTP is on")),
	OIDC_START_REPLIES("go to url; the identity is linked on return",
	    PROBLEM(403, "reauth_failed mfa_code_required reauth_required",
		"the account not proven")),
	.doc = "Links an identity at the provider to the signed-in account, "
	       "which proves itself as for other sensitive steps: its "
	       "password and TOTP code, or (an account without a password) a "
	       "sign-in at a provider within five minutes. An identity linked "
	       "to another account is not moved (the callback answers "
	       "/settings/account?oidc=identity_taken)." };
static const char *const reauth_pages[] = { "account", "company", NULL };
static const struct spec s_oidc_reauth = {
	BODY(FIELD_ENUM("provider", oidc_ids, F_REQUIRED, NULL),
	    FIELD_ENUM("return_to", reauth_pages, 0,
		"the console page to come back to: /settings/account (the "
		"default) or /settings/company")),
	OIDC_START_REPLIES("go to url; the provider authenticates afresh"),
	.doc = "For an account without a password: sign in at a provider it "
	       "has linked again (prompt=login, max_age=0; the ID token's "
	       "auth_time must be after the flow began), which stands in for "
	       "the password at the next sensitive step within five minutes "
	       "(deleting the company, turning TOTP off, linking another "
	       "identity, setting a password). The callback answers "
	       "/settings/PAGE?oidc=reauthed, or oidc=not_yours for an "
	       "identity of another account."
};
static const struct spec s_oidc_pending = { BODY(OIDC_TICKET),
	REPLIES(REPLY(200, R_ONE, &row_oidc_pending, "the identity"),
	    OIDC_TICKET_USED),
	.doc = "An identity no account has linked, after a sign-in whose "
	       "provider verified the address (the callback answers "
	       "/login?oidc=new#ticket=…; ten minutes, this browser only). "
	       "Nothing is linked by the address alone: its holder signs up "
	       "with it or proves the account of that address." };
static const struct spec s_oidc_signup = { HEADERS(SESSION_MODE),
	BODY(OIDC_TICKET, FIELD("name", V_STRING, 1, 200, F_REQUIRED),
	    FIELD("company_name", V_STRING, 1, 200, F_REQUIRED), CAPTCHA_TOKEN),
	REPLIES(REPLY(201, R_ONE, &row_signed_up, "made, and signed in"),
	    OIDC_TICKET_USED,
	    PROBLEM(400, "captcha_failed", "the captcha check failed"),
	    PROBLEM(409, "email_taken identity_taken",
		"the address has an account (link it instead), or the "
		"identity was linked since"),
	    PROBLEM(503, "unavailable", "the captcha provider is unreachable")),
	.doc = "Creates a company and its owner from a pending identity, as "
	       "registration does (its captcha, and its limits per client "
	       "address and per e-mail address, 429), with the address the "
	       "provider verified and no password: the owner signs in "
	       "through the provider, may set a password later (POST "
	       "/api/v1/auth/password/change after POST "
	       "/api/v1/auth/oidc/reauth) and re-authenticates at the "
	       "provider where others give their password." };
static const struct spec s_oidc_link_account = { HEADERS(SESSION_MODE),
	BODY(OIDC_TICKET,
	    FIELD("password", V_STRING, 1, 1024, F_REQUIRED | F_SECRET),
	    FIELD_DOC("totp_code", V_STRING, 0, 64, F_NULLABLE | F_SECRET,
		"a TOTP or recovery code, when TOTP is on")),
	REPLIES(REPLY(200, R_ONE, &row_tokens, "linked, and signed in"),
	    OIDC_TICKET_USED,
	    PROBLEM(401, "invalid_credentials mfa_required mfa_invalid",
		"the account not proven"),
	    PROBLEM(409, "identity_taken", "the identity was linked since")),
	.doc = "Links a pending identity to the account of the address the "
	       "provider verified, which proves itself as at a login "
	       "(password, and a TOTP or recovery code when on; the login "
	       "limits count), and signs in." };
static const struct spec s_oidc_callback = {
	QUERY(FIELD_DOC("state", V_URI, 43, 43, 0, "the flow's"),
	    FIELD_DOC("code", V_STRING, 1, 2048, 0, "the authorization code"),
	    FIELD_DOC("error", V_STRING, 1, 128, 0, "the provider's refusal")),
	REPLIES({ 303, R_OTHER, NULL,
	    "to the console: / when signed in (the refresh cookie set), "
	    "/settings/account?oidc=linked, /login?oidc=mfa#ticket=… (TOTP "
	    "next: POST /api/v1/auth/oidc/mfa), or /login?oidc=REASON "
	    "(unknown_identity, denied, expired, failed)",
	    NULL, NULL }),
	.doc = "Where the provider sends the browser back. The code is "
	       "exchanged with the PKCE verifier; the ID token is verified "
	       "(RS256 or ES256 as the provider's metadata allows; iss, aud, "
	       "azp, exp, iat, nonce). An account with TOTP on gives its code "
	       "next (POST /api/v1/auth/oidc/mfa)."
};
static const struct spec s_oidc_callback_post = {
	BODY(FIELD_DOC("state", V_URI, 43, 43, F_REQUIRED, "the flow's"),
	    FIELD_DOC("code", V_STRING, 1, 2048, 0, "the authorization code"),
	    FIELD_DOC("error", V_STRING, 1, 128, 0, "the provider's refusal"),
	    FIELD_DOC("id_token", V_STRING, 1, 16384, F_SECRET,
		"ignored: the code's exchange gives the one parley verifies"),
	    FIELD_DOC("user", V_STRING, 1, 2048, 0,
		"Apple's, on a first sign-in: ignored")),
	REPLIES({ 303, R_OTHER, NULL,
	    "to GET /api/v1/auth/oidc/callback?state=…, which finishes in "
	    "the browser that started the flow; or to /login?oidc=REASON "
	    "(expired, failed)",
	    NULL, NULL }),
	.doc = "Where a provider that answers with response_mode=form_post "
	       "(Apple) sends the browser back: a cross-site POST, which "
	       "carries no SameSite=Lax cookie, so the flow's state is kept "
	       "server-side: the code is exchanged and the ID token verified "
	       "here, its claims kept in the flow, and the GET that follows "
	       "(same-site, with the binding cookie) uses the flow, once. "
	       "Members the provider adds are ignored."
};
static const struct spec s_oidc_mfa = { HEADERS(SESSION_MODE),
	BODY(FIELD_DOC("ticket", V_URI, 43, 43, F_REQUIRED | F_SECRET,
		 "from the console's /login#ticket="),
	    FIELD_DOC("totp_code", V_STRING, 1, 32, F_REQUIRED | F_SECRET,
		"a code of the authenticator app, or a recovery code")),
	REPLIES(REPLY(200, R_ONE, &row_tokens, "signed in"),
	    PROBLEM(400, "invalid_token", "the ticket is used or expired"),
	    PROBLEM(401, "mfa_invalid", "a wrong code: sign in again")),
	.doc = "The second factor of an account with TOTP that signed in "
	       "through a provider: the callback sends the browser to "
	       "/login?oidc=mfa#ticket=…, good for one try within five "
	       "minutes, in the same browser." };
static const struct spec s_identities = { .noun = "identity",
	REPLIES(
	    REPLY(200, R_ITEMS, &row_identity, "one's linked identities")) };
static const struct spec s_identity_delete = { .noun = "identity",
	.resource = "user_identity",
	.audit = "user.identity_unlink",
	REPLIES(REPLY(204, R_EMPTY, NULL, "unlinked")) };
static const struct spec s_pow_challenge = {
	REPLIES(REPLY(200, R_ONE, &row_pow_challenge, "a new challenge"),
	    PROBLEM(404, "captcha_off",
		"this deployment asks for no proof of work")),
	.doc = "parley's own captcha, for registration and password reset "
	       "when pow_difficulty is set: find a decimal nonce such that "
	       "SHA-256(challenge + \".\" + nonce) starts with difficulty "
	       "zero bits, and send challenge.nonce as captcha_token before "
	       "expires_in seconds pass. Each challenge is accepted once. "
	       "Nothing is asked of a third party."
};
static const struct spec s_csp_report = {
	REPLIES(REPLY(204, R_EMPTY, NULL, "accepted"),
	    PROBLEM(422, "validation_failed", "not a report")),
	.doc =
	    "Accepts the report-uri format (application/csp-report, an "
	    "object with a \"csp-report\" member) and the Reporting API format "
	    "(application/reports+json, an array of at most 16 reports). "
	    "Body at most 16 KiB. Each csp-violation is logged with "
	    "directive, blocked origin and document origin+path; never query "
	    "strings or samples."
};

/* TOTP. */
static const struct spec s_mfa_setup = { REPLIES(
    REPLY(200, R_ONE, &row_totp_setup, "a secret, pending until enabled"),
    PROBLEM(409, "mfa_already_enabled", "TOTP is on already")) };
static const struct spec s_mfa_enable = {
	BODY(FIELD_DOC("code", V_STRING, 1, 16, F_REQUIRED | F_SECRET,
	    "six digits from the authenticator app")),
	REPLIES(REPLY(200, R_ONE, &row_recovery, "on; the recovery codes"),
	    PROBLEM(400, "mfa_invalid", "a wrong code"),
	    PROBLEM(409, "mfa_setup_required", "no secret pending"))
};
static const struct spec s_mfa_disable = { BODY(PASSWORD_PROOF,
					       FIELD_DOC("code", V_STRING, 1,
						   32, F_REQUIRED | F_SECRET,
						   "a TOTP or recovery code")),
	REPLIES(REPLY(204, R_EMPTY, NULL, "off"),
	    PROBLEM(403, "mfa_invalid", "a wrong password or code"),
	    REAUTH_REQUIRED, PROBLEM(409, "mfa_not_enabled", "TOTP is off")) };

/* Billing. */
#define STRIPE_FAILURES                                                        \
	PROBLEM(502, "payment_provider_error", "Stripe failed"),               \
	    PROBLEM(503, "billing_not_configured", "no Stripe key is set")
static const struct spec s_billing_get = { .noun = "company",
	REPLIES(REPLY(200, R_ONE, &row_billing, "the billing state")) };
static const struct spec s_billing_checkout = { .noun = "company",
	BODY(FIELD("plan", V_TOKEN, 1, 32, F_REQUIRED)),
	REPLIES(REPLY(201, R_ONE, &row_stripe_session, "a Checkout session"),
	    PROBLEM(409, "subscription_exists", "use the portal"),
	    PROBLEM(422, "validation_failed",
		"errors[0].code unknown or not_for_sale: no such plan on sale"),
	    STRIPE_FAILURES),
	.audit = "billing.checkout",
	.doc = "A plan with a Stripe price (plans.stripe_price_id; "
	       "422 unknown or not_for_sale otherwise). parley creates a "
	       "subscription-mode Checkout session through Stripe's API "
	       "(stripe_api_url) with the company as client_reference_id and "
	       "the plan in metadata, and answers its id and url; the plan "
	       "changes when Stripe's webhook reports the completed checkout. "
	       "409 subscription_exists while a subscription is active, "
	       "trialing or past due (use the portal); 503 "
	       "billing_not_configured without a Stripe key; 502 "
	       "payment_provider_error when Stripe fails." };
static const struct spec s_billing_portal = { .noun = "company",
	REPLIES(REPLY(201, R_ONE, &row_stripe_session, "a portal session"),
	    PROBLEM(409, "no_customer", "no subscription yet"),
	    STRIPE_FAILURES),
	.audit = "billing.portal",
	.doc =
	    "Answers {id, url} of a billing portal session for the company's "
	    "Stripe customer, returning to /settings/billing. 409 "
	    "no_customer before a first subscription; 502 and 503 as for "
	    "checkout." };
static const struct spec s_stripe_webhook = {
	REPLIES(REPLY(200, R_EMPTY, NULL, "applied, or recorded"),
	    REPLY(204, R_EMPTY, NULL, "not a customer of this deployment"),
	    PROBLEM(400, "bad_webhook", "not verified")),
	.doc =
	    "The raw body is verified against Stripe-Signature exactly as "
	    "Stripe documents: the signed payload is \"{t}.{raw body}\", "
	    "HMAC-SHA256 keyed by the endpoint secret as given (whsec_ "
	    "prefix included), hex; any v1 may match; v0 and other schemes "
	    "are ignored; the comparison is constant-time; timestamps more "
	    "than 300 s off either way are refused; the previous secret is "
	    "accepted while rotating. Anything else: 400 and nothing "
	    "changes. The event id is stored, unique, with its effect: a "
	    "redelivery answers 200 and changes nothing. "
	    "checkout.session.completed (client_reference_id = the company), "
	    "customer.subscription.created/updated/deleted, invoice.paid and "
	    "invoice.payment_failed update the company's plan (from the "
	    "metadata's plan), subscription status and billing state; a "
	    "subscription event older than the last applied is recorded but "
	    "not applied. Effects are audited with Stripe as the actor. An "
	    "event of an unknown customer answers 204."
};

/* Accounts and sessions. */
static const struct spec s_register = {
	BODY(FIELD("email", V_STRING, 3, 320, F_REQUIRED),
	    FIELD_DOC("password", V_STRING, 1, 1024, F_REQUIRED | F_SECRET,
		"12+ characters, at most 72 bytes, not common, not built on "
		"the name or address"),
	    FIELD("name", V_STRING, 1, 200, F_REQUIRED),
	    FIELD("company_name", V_STRING, 1, 200, F_REQUIRED), CAPTCHA_TOKEN),
	REPLIES(REPLY(202, R_ONE, &row_confirmation,
		    "the same whether or not the address has an account"),
	    PROBLEM(400, "captcha_failed", "the captcha check failed"),
	    PROBLEM(422, "weak_password", "the password breaks the policy"),
	    PROBLEM(503, "unavailable", "the captcha provider is unreachable")),
	.doc =
	    "The "
	    "address is trimmed and its domain lower-cased. Password policy: "
	    "12+ characters, at most 72 bytes, not common or built on the "
	    "name/address (422 weak_password with errors[0].code too_short, "
	    "too_long, too_common or contains_personal_data). 3 per 30 "
	    "minutes per client address and per e-mail address (429). When the "
	    "deployment asks for a captcha (pow_difficulty, recaptcha_secret), "
	    "captcha_token is verified: a proof of work from GET "
	    "/api/v1/auth/challenge, each used once, or a reCAPTCHA token "
	    "(400 captcha_failed, 503 when reCAPTCHA is unreachable).\n"
	    "The answer is the same whether or not the address has an "
	    "account, so registration tells nobody which addresses do: 202 "
	    "{status: \"confirmation_sent\", email}. A new address is mailed a "
	    "link (valid verify_ttl, 48 hours by default; a newer "
	    "registration of the address replaces it) to POST "
	    "/api/v1/auth/register/confirm; nothing exists until then. An "
	    "address with an account is mailed a notice that someone tried "
	    "to sign up with it, and nothing else changes. Registration "
	    "needs outgoing mail (smtp_url)."
};
static const struct spec s_register_confirm = { HEADERS(SESSION_MODE),
	BODY(FIELD_DOC("token", V_STRING, 1, 128, F_REQUIRED | F_SECRET,
		 "from the link's #token="),
	    FIELD_DOC("password", V_STRING, 1, 1024, F_REQUIRED | F_SECRET,
		"the one chosen at registration")),
	REPLIES(REPLY(201, R_ONE, &row_signed_up, "made, and signed in"),
	    PROBLEM(400, "invalid_token", "unknown, used or expired"),
	    PROBLEM(403, "password_mismatch", "not the password chosen"),
	    PROBLEM(409, "email_taken", "the address got an account since")),
	.doc =
	    "the token from the link's #token=, and "
	    "the password chosen at registration (403 password_mismatch "
	    "otherwise: anyone may register an address again, which mails it "
	    "a new link, and the account must not be made with a stranger's "
	    "password). Creates the company and its owner, whose address is "
	    "verified by the link, and starts the first session. The link "
	    "works once. 400 invalid_token when unknown, used, replaced or "
	    "expired; 409 email_taken if the address got an account since." };
static const struct spec s_login = { HEADERS(SESSION_MODE),
	BODY(FIELD("email", V_STRING, 1, 320, F_REQUIRED),
	    FIELD("password", V_STRING, 1, 1024, F_REQUIRED | F_SECRET),
	    FIELD_DOC("totp_code", V_STRING, 0, 64, F_NULLABLE | F_SECRET,
		"a TOTP or recovery code, when TOTP is on")),
	REPLIES(REPLY(200, R_ONE, &row_tokens, "signed in"),
	    PROBLEM(401, "invalid_credentials mfa_required mfa_invalid",
		"wrong address or password, or a code wanted or wrong")),
	.doc = "Wrong address and wrong "
	       "password answer the same 401 invalid_credentials in about the "
	       "same time. With MFA on: 401 mfa_required without a code, "
	       "mfa_invalid for a wrong or reused one; a recovery code may "
	       "stand in for a TOTP code. 5 attempts per 15 minutes per client "
	       "address and 5 failures per account (429 with Retry-After)." };
static const struct spec s_refresh = {
	BODY(FIELD_DOC("refresh_token", V_STRING, 1, 128, F_SECRET,
	    "required, but in cookie mode (the cookie carries it)")),
	HEADERS(SESSION_MODE),
	REPLIES(REPLY(200, R_ONE, &row_tokens,
		    "a new pair (in cookie mode without refresh_token)"),
	    PROBLEM(403, "origin_not_allowed",
		"cookie mode from another origin than public_base_url's"),
	    PROBLEM(401, "invalid_token refresh_reused session_revoked",
		"unknown, reused (the session ends), or the session ended")),
	.doc =
	    "The presented token is dead afterwards. "
	    "Presenting an already-rotated token revokes the whole session "
	    "(401 refresh_reused). No grace period: two concurrent refreshes "
	    "of one token count as reuse."
};
static const struct spec s_logout = { HEADERS(SESSION_MODE),
	REPLIES(REPLY(204, R_EMPTY, NULL, "this session ended")) };
static const struct spec s_logout_all = { HEADERS(SESSION_MODE),
	REPLIES(REPLY(204, R_EMPTY, NULL, "every session of the user ended")) };
static const struct spec s_password_forgot = {
	BODY(FIELD("email", V_STRING, 1, 320, F_REQUIRED), CAPTCHA_TOKEN),
	REPLIES(REPLY(202, R_ONE, &row_accepted,
		    "the same whether or not the address has an account"),
	    PROBLEM(400, "captcha_failed", "the captcha check failed"),
	    PROBLEM(503, "unavailable", "the captcha provider is unreachable")),
	.doc = "3 per hour per account and per address."
};
static const struct spec s_password_reset = {
	BODY(FIELD_DOC("token", V_STRING, 1, 128, F_REQUIRED | F_SECRET,
		 "from the link"),
	    FIELD("password", V_STRING, 1, 1024, F_REQUIRED | F_SECRET)),
	REPLIES(REPLY(204, R_EMPTY, NULL, "set; every session ended"),
	    PROBLEM(400, "invalid_token", "unknown, used or expired"),
	    PROBLEM(422, "weak_password", "the password breaks the policy"))
};
static const struct spec s_password_change = {
	BODY(FIELD_DOC("current_password", V_STRING, 1, 1024, F_SECRET,
		 "required, but of an account without a password (made "
		 "through a provider), which sets its first one after a "
		 "sign-in at the provider within five minutes (POST "
		 "/api/v1/auth/oidc/reauth)"),
	    FIELD("new_password", V_STRING, 1, 1024, F_REQUIRED | F_SECRET),
	    FIELD_DOC(
		"end_other_sessions", V_BOOL, 0, 0, 0, "true by default")),
	REPLIES(REPLY(200, R_ONE, &row_password_changed, "changed"),
	    PROBLEM(403, "wrong_password", "the current password is wrong"),
	    REAUTH_REQUIRED,
	    PROBLEM(422, "weak_password", "the password breaks the policy"))
};
static const struct spec s_email_verify = { BODY(FIELD_DOC("token", V_STRING, 1,
						128, F_REQUIRED | F_SECRET,
						"from the link")),
	REPLIES(REPLY(204, R_EMPTY, NULL, "verified"),
	    PROBLEM(400, "invalid_token", "unknown, used or expired")) };
static const struct spec s_email_resend = { REPLIES(
    REPLY(202, R_ONE, &row_accepted, "a new link is mailed"),
    PROBLEM(409, "already_verified", "nothing to verify")) };
static const struct spec s_sessions_list = { .noun = "session",
	REPLIES(REPLY(200, R_ITEMS, &row_session, "newest first")) };
static const struct spec s_session_delete = { .noun = "session",
	REPLIES(REPLY(204, R_EMPTY, NULL, "ended")) };
static const struct spec s_me = { REPLIES(
    REPLY(200, R_ONE, &row_me, "who is asking")) };
static const struct spec s_me_patch = { .noun = "user",
	BODY(FIELD_DOC("name", V_STRING, 1, 200, 0,
		 "the name the team sees (the inbox, the member list)"),
	    FIELD_DOC("display_name", V_STRING, 1, 60, F_NULLABLE,
		"the name visitors see on one's replies (never the e-mail); "
		"null: the first word of name")),
	REPLIES(REPLY(200, R_ONE, &row_me, "who is asking, as changed")),
	.audit = "user.profile_update",
	.doc = "One's own profile. The audit entry names the changed field, "
	       "never its value." };

/* The widget: a visitor's side. */
#define ORIGIN_HEADER                                                          \
	FIELD_DOC("Origin", V_STRING, 1, 300, F_ADVISORY,                      \
	    "the host page's origin, as the browser sends it; one no "         \
	    "chatbot allows is 403 origin_not_allowed")
static const char *const  consent_categories[] = { "essential", "analytics",
	 "marketing", NULL };
static const struct field f_category =
    FIELD_ENUM("category", consent_categories, 0, NULL);
static const struct field f_identity[] = {
	FIELD_DOC("user_id", V_STRING, 1, 200, F_REQUIRED,
	    "the company's own id of the person"),
	FIELD("email", V_EMAIL, 3, 254, F_NULLABLE),
	FIELD("name", V_STRING, 1, 200, F_NULLABLE),
	FIELD_DOC("hmac", V_TOKEN, 64, 64, F_REQUIRED | F_SECRET,
	    "hex HMAC-SHA256 of user_id under the identity secret"),
};
static const struct spec s_widget_preflight = { HEADERS(ORIGIN_HEADER),
	REPLIES(REPLY(204, R_EMPTY, NULL, "allowed, with the CORS headers"),
	    PROBLEM(
		403, "origin_not_allowed", "no chatbot allows the origin")) };
static const struct spec s_widget_session = { .noun = "chatbot",
	BODY(FIELD_DOC("bot_key", V_TOKEN, 35, 35, F_REQUIRED,
		 "the chatbot's public_key (data-key)"),
	    FIELD_SUB("identity", V_OBJECT, 0, 0, F_NULLABLE, f_identity,
		"a signed-in customer, vouched for by the company's backend")),
	HEADERS(ORIGIN_HEADER),
	REPLIES(REPLY(201, R_ONE, &row_widget_session, "a visitor token"),
	    PROBLEM(403,
		"origin_not_allowed identity_invalid verification_required",
		"the origin, the identity or its absence is refused")),
	.doc =
	    "Called by the widget's loader on the host page, so the request "
	    "carries the host site's Origin; it must be in the chatbot's "
	    "allowed_origins exactly (403 origin_not_allowed otherwise, with "
	    "no CORS header, so the browser hides the answer). A valid "
	    "hmac (64 hex, HMAC-SHA256 of user_id under the identity secret, "
	    "compared in constant time) makes a verified visitor; a wrong "
	    "one is refused (403 identity_invalid). A chatbot with "
	    "require_verified refuses anonymous visitors here (403 "
	    "verification_required) and on every other widget route. "
	    "Rate-limited per address (widget_session_rate)." };
static const struct spec s_widget_conversation_create = { .noun =
							      "conversation",
	QUERY(FIELD_ENUM("locale", widget_locales, 0,
	    "the widget's language: the bot answers in it where the "
	    "knowledge base has it; one the chatbot does not offer gives its "
	    "default")),
	REPLIES(REPLY(201, R_ONE, &row_widget_conversation, "started")) };
static const struct spec s_widget_conversation_list = { .noun = "conversation",
	REPLIES(REPLY(200, R_ITEMS, &row_widget_conversation,
	    "the visitor's last 20, newest first")) };
static const struct spec s_widget_messages = { .noun = "conversation",
	QUERY(FIELD_DOC("after", V_INT, 0, 1000000000, 0,
	    "the last seq seen: only later ones come")),
	REPLIES(REPLY(200, R_ITEMS, &row_widget_message, "200 at most")) };
static const struct spec s_widget_message_post = { .noun = "conversation",
	BODY(FIELD_DOC("content", V_TEXT, 1, 16000, F_REQUIRED,
	    "at most widget_message_max bytes (2000 by default)")),
	HEADERS(IDEM_KEY),
	REPLIES(REPLY(201, R_ONE, &row_message_accepted, "taken"),
	    PROBLEM(402, "plan_limit", "the month's messages are used up"),
	    PROBLEM(
		422, "idempotency_mismatch", "a key used with other content"),
	    PROBLEM(503, "answers_overloaded",
		"too many messages wait for answers: Retry-After")),
	.doc =
	    "One short "
	    "transaction stores the message and, while the bot has the "
	    "conversation, its reply job; no worker waits for the LLM. "
	    "Answer (201): {message, reply, status, reply_status}: "
	    "reply_status is \"queued\" (the reply arrives on GET .../events "
	    "as reply.start, reply.delta\u2026 and the stored reply as a "
	    "message "
	    "event whose message.reply_to is this message's id), \"none\" (a "
	    "person has the conversation) or \"sent\" (a replay whose reply is "
	    "stored: reply holds it). Changed in 0.2: the reply is no longer "
	    "in this answer and the endpoint no longer streams. Optional "
	    "header Idempotency-Key (1-255 visible ASCII): a retry with the "
	    "same key and body returns the first message (header "
	    "Idempotent-Replayed: true) and stores nothing; another body "
	    "under the key is 422 idempotency_mismatch; keys belong to the "
	    "visitor and last idempotency_ttl seconds. Refused before "
	    "anything is stored: 402 plan_limit (the plan's monthly_messages "
	    "used up), 429 (the visitor's widget_message_rate), 503 "
	    "answers_overloaded with Retry-After (answer_queue_max, "
	    "answer_company_queue_max or answer_queue_age exceeded; never "
	    "for a conversation a person has)." };
/* Attachments (src/attach.c, src/api_attachments.c). */
static const char *const attach_ctypes[] = { "image/png", "image/jpeg",
	"image/gif", "image/webp", "application/pdf",
	"application/octet-stream", NULL };
#define ATTACH_FILENAME                                                        \
	FIELD_DOC("filename", V_STRING, 1, 255, F_REQUIRED,                    \
	    "the file's name as the sender had it: its extension, if any, "    \
	    "must be one of the kind its bytes are")
#define ATTACH_REFUSALS                                                        \
	PROBLEM(402, "plan_limit",                                             \
	    "attachments_per_conversation or attachment_storage_bytes of "     \
	    "the plan reached"),                                               \
	    PROBLEM(413, "attachment_too_large image_too_large",               \
		"over attachment_max_bytes (the plan's or the "                \
		"configuration's), or an image over attachment_max_pixels"),   \
	    PROBLEM(415,                                                       \
		"unsupported_attachment_type attachment_name_mismatch",        \
		"the bytes are no PNG, JPEG, GIF, WebP or PDF (SVG is "        \
		"refused), or the name's extension says another kind"),        \
	    PROBLEM(422, "empty_attachment unreadable_attachment",             \
		"no bytes, or an image its decoder refuses")
#define ATTACH_DOC                                                             \
	"The body is the file's bytes (Content-Type is not trusted: the kind " \
	"is decided from the bytes by libmagic). Images are decoded and "      \
	"written again by libvips, without their metadata (EXIF, GPS, "        \
	"comments; a JPEG is turned upright first; an animated GIF keeps its " \
	"first frame); a PDF is kept as sent. The file becomes a message of "  \
	"its own whose content is its name and whose attachment describes "    \
	"it."
static const struct spec s_attachment_upload = { .noun = "conversation",
	QUERY(ATTACH_FILENAME),
	REPLIES(REPLY(201, R_ONE, &row_message,
		    "the message that carries the file"),
	    ATTACH_REFUSALS),
	.doc = ATTACH_DOC " An agent's file is a reply: the conversation is "
			  "open and theirs when nobody had it." };
static const struct spec s_widget_attachment_upload = { .noun = "conversation",
	QUERY(ATTACH_FILENAME),
	REPLIES(REPLY(201, R_ONE, &row_message_accepted,
		    "the message that carries the file and, when the bot had "
		    "the conversation, its handoff message"),
	    ATTACH_REFUSALS),
	.doc = ATTACH_DOC " The bot cannot read files: in a conversation it "
			  "has, the visitor's file hands the conversation to "
			  "a person (handoff_reason attachment), which is its "
			  "one answer. Counted like a message (the plan's "
			  "monthly_messages, widget_message_rate)." };
#define ATTACH_GET_DOC                                                         \
	"parleyd authorises the request; nginx sends the file (X-Accel-"       \
	"Redirect to an internal location over attachments_dir) with "         \
	"Content-Type its media_type, Content-Disposition attachment (inline " \
	"for images), X-Content-Type-Options: nosniff, Cache-Control: "        \
	"no-store and a sandboxing Content-Security-Policy."
static const struct spec s_attachment_get = { .noun = "attachment",
	REPLIES({ 200, R_OTHER, NULL, "the file", NULL,
	    "application/octet-stream" }),
	.doc = ATTACH_GET_DOC };
static const struct spec s_widget_attachment_get = { .noun = "attachment",
	REPLIES({ 200, R_OTHER, NULL, "the file", NULL,
	    "application/octet-stream" }),
	.doc = ATTACH_GET_DOC " Only attachments of the visitor's own "
			      "conversations." };
static const char *const logo_ctypes[] = { "image/png", "image/jpeg",
	"image/webp", "application/octet-stream", NULL };
static const struct spec s_chatbot_logo_put = {
	.noun = "chatbot",
	REPLIES(REPLY(200, R_ONE, &row_logo, "the logo as kept"),
	    PROBLEM(
		413, "image_too_large", "more than 1024 pixels wide or high"),
	    PROBLEM(413, "logo_too_large",
		"over 1 MiB sent, or over 256 KiB once written again"),
	    PROBLEM(415, "unsupported_logo_type",
		"the bytes are not a PNG, JPEG or WebP image (SVG and GIF "
		"are refused); detected says what they are"),
	    PROBLEM(422, "unreadable_logo", "the image cannot be decoded"),
	    PROBLEM(422, "empty_logo", "no bytes")),
	.audit = "chatbot.logo_update",
	.doc =
	    "The body is the image itself. What it is comes from its "
	    "bytes, never the Content-Type; it is decoded and written "
	    "again (no metadata kept) and served from parley's origin at "
	    "the widget configuration's logo_url. A new logo replaces the old."
};
static const struct spec s_chatbot_logo_delete = { .noun = "chatbot",
	REPLIES(REPLY(204, R_EMPTY, NULL, "removed")),
	.audit = "chatbot.logo_delete" };
#define BOT_KEY_QUERY                                                          \
	FIELD_DOC("bot", V_TOKEN, 35, 35, F_REQUIRED,                          \
	    "the chatbot's public_key (pk_...)")
static const struct spec s_widget_config = { .noun = "chatbot",
	QUERY(BOT_KEY_QUERY),
	REPLIES(REPLY(200, R_ONE, &row_widget_config, "the widget's look")),
	.doc = "Public, for the widget before any visitor session (the "
	       "launcher is drawn before anyone opens the chat): what the "
	       "company shows every visitor anyway. Cache-Control: public, "
	       "max-age=60." };
static const struct spec s_widget_logo = { .noun = "chatbot",
	QUERY(BOT_KEY_QUERY,
	    FIELD_DOC("v", V_TOKEN, 64, 64, 0,
		"the logo's sha256: with it the answer is "
		"cached for a year")),
	REPLIES({ 200, R_OTHER, NULL, "the image", NULL, "image/png" }),
	.doc = "The chatbot's logo (404 when it has none), with "
	       "Content-Type its media_type." };
static const struct spec s_widget_handoff = { .noun = "conversation",
	REPLIES(REPLY(200, R_ONE, &row_handoff, "a person will answer")) };
static const struct spec s_widget_events_auth = { .noun = "conversation",
	.refuse = "forbidden",
	REPLIES(
	    { 200, R_OTHER, NULL, "server-sent events, or a long-polled event",
		NULL, "text/event-stream" }),
	.doc =
	    "nginx asks parleyd (auth_request) whether the visitor owns the "
	    "conversation (403 otherwise), then subscribes: server-sent "
	    "events with Accept text/event-stream, otherwise long-polling "
	    "(each request returns the next event). Each event's data is one "
	    "of {\"type\": \"message\", \"message\": {id, seq, role, content, "
	    "citations, created_at, reply_to}}, {\"type\": \"status\", "
	    "\"status\"}, {\"type\": \"reply.start\", \"reply_to\", "
	    "\"attempt\"} (a "
	    "reply streams: sent with its first piece; attempt > 1: started "
	    "again after an answerer stopped, so forget what streamed; a "
	    "reply written at once is only its message event), {\"type\": "
	    "\"reply.delta\", \"reply_to\", \"text\"} (checked pieces of it), "
	    "{\"type\": \"reply.cancelled\", \"reply_to\", \"reason\": "
	    "\"agent\"} (an "
	    "agent took over; no bot reply follows), {\"type\": "
	    "\"reply.interrupted\", \"reply_to\"} (parleyd is stopping or "
	    "reloading: the reply starts again with reply.start). The stored "
	    "reply (or handoff) is the message event whose reply_to names "
	    "the visitor's message. New subscribers start with the next "
	    "event; a reconnecting EventSource resumes from its "
	    "Last-Event-ID. Subscriptions are re-authorised at least every "
	    "15 minutes." };
static const struct spec s_widget_consent = {
	BODY({ "categories", V_ARRAY, 1, 3, F_REQUIRED, NULL, &f_category, 1,
		 NULL },
	    FIELD_DOC("policy_version", V_TOKEN, 1, 32, 0,
		"the version of the company's privacy policy the visitor was "
		"shown (GET /api/v1/widget/config); when given, it must be the "
		"one in force")),
	REPLIES(REPLY(201, R_ONE, &row_consent, "recorded"),
	    PROBLEM(409, "policy_changed",
		"policy_version is no longer the company's: policy_version "
		"says the one in force")),
	.doc = "essential is required; analytics and marketing are optional. "
	       "Each answer is kept with its time and the company's policy "
	       "version in force (parleyd's, not the widget's); the latest is "
	       "in force. Counts against the visitor's message rate "
	       "(widget_message_rate). **Changed in 0.3**: policy_version is "
	       "optional, and checked against the company's."
};
static const struct spec s_widget_contact = { .noun = "conversation",
	BODY(FIELD_DOC("email", V_EMAIL, 3, 254, F_REQUIRED,
	    "where replies go once confirmed")),
	REPLIES(REPLY(202, R_ONE, &row_contact,
		    "kept; a confirmation e-mail is on its way"),
	    REPLY(200, R_ONE, &row_contact, "confirmed already"),
	    PROBLEM(403, "contact_not_offered",
		"the chatbot does not answer by e-mail (ask_email false)")),
	.doc = "The visitor's own address (one per visitor: a new one "
	       "replaces it, unconfirmed). Nothing but one confirmation "
	       "e-mail goes to it until its link is opened and confirmed "
	       "(POST /api/v1/widget/links/confirm), so the widget cannot "
	       "mail strangers. Then agents' replies the widget has not "
	       "shown are mailed after contact_reply_delay, one mail per "
	       "conversation per delay, with a link that opens the "
	       "conversation on parley's chat page. 429 past contact_rate "
	       "addresses per visitor, or twice that to one address, per "
	       "contact_window. Kept with the visitor: found by a "
	       "data-subject request by e-mail, erased with them, "
	       "anonymised by retention." };
static const struct spec s_widget_seen = { .noun = "conversation",
	BODY(FIELD_DOC("seq", V_INT, 0, 1000000000, F_REQUIRED,
	    "the last message the widget showed its visitor")),
	REPLIES(REPLY(200, R_ONE, &row_seen, "as kept")),
	.doc = "Sent by the widget while it is shown: agents' replies up to "
	       "seq are not e-mailed." };
static const struct spec s_widget_transcript = { .noun = "conversation",
	REPLIES(REPLY(202, R_ONE, &row_contact,
		    "the transcript is on its way to this address"),
	    PROBLEM(409, "contact_unconfirmed",
		"no confirmed address: leave one first")),
	.doc = "The whole conversation by e-mail, to the visitor's "
	       "confirmed address only; transcript_rate per conversation per "
	       "transcript_window (429 past it)." };
#define LINK_BODY                                                              \
	BODY(FIELD_DOC("token", V_STRING, 100, 135, F_REQUIRED | F_SECRET,     \
	    "from the link's fragment"))
static const struct spec s_widget_link_resume = { .noun = "conversation",
	LINK_BODY,
	REPLIES(REPLY(201, R_ONE, &row_link_session,
		    "a visitor token for this conversation"),
	    PROBLEM(403, "link_invalid link_expired",
		"not a link parley made, or past contact_link_ttl")),
	.doc =
	    "The chat page (/widget/frame?bot=KEY#resume=TOKEN, linked "
	    "from reply and transcript e-mails) exchanges the link for a "
	    "visitor token that opens this conversation only (403 "
	    "link_scope on every other widget route). The link proves "
	    "nothing else. Rate-limited per address (widget_session_rate)." };
static const struct spec s_widget_link_confirm = { .noun = "conversation",
	LINK_BODY,
	REPLIES(REPLY(201, R_ONE, &row_link_session,
		    "confirmed; a visitor token for this conversation"),
	    PROBLEM(403, "link_invalid link_expired",
		"not a link parley made for the visitor's current address, or "
		"past contact_link_ttl")),
	.doc = "The chat page (/widget/frame?bot=KEY#confirm=TOKEN, from the "
	       "confirmation e-mail) asks the visitor to confirm, then posts "
	       "the token: the address is confirmed (replies waiting unseen "
	       "are mailed after contact_reply_delay) and the conversation "
	       "opens as with resume. A link made for an address the visitor "
	       "has replaced is invalid." };
static const struct spec s_widget_frame = { .refuse = "unknown_chatbot",
	QUERY(FIELD_DOC("bot", V_STRING, 1, 40, 0, "the chatbot's public_key")),
	REPLIES({ 200, R_OTHER, NULL,
		    "the frame, its CSP allowing only the chatbot's origins",
		    NULL, "text/html" },
	    PROBLEM(403, "unknown_chatbot forbidden",
		"no such chatbot (nginx answers forbidden)")) };
static const struct spec s_events_auth = {
	REPLIES({ 200, R_OTHER, NULL, "server-sent events, or a WebSocket",
	    NULL, "text/event-stream" }),
	.doc =
	    "nginx asks parleyd (auth_request) who the caller is; parleyd's "
	    "answer names the channels (the caller's company, session and "
	    "user; nothing in the query is used). The stream multiplexes "
	    "them: logout or revocation of the session deletes the session's "
	    "channel, logout-all, a password change or reset and removal of "
	    "the member delete the user's, and either ends the stream at "
	    "once; nchan_subscriber_timeout makes clients reconnect, and so "
	    "be authorised again, at least every 15 minutes. Events: "
	    "{\"type\": \"message\", \"conversation_id\", \"message\"}, "
	    "{\"type\": "
	    "\"status\", \"conversation_id\", \"status\", \"assignee_id\"}."
};
static const struct spec s_consent_list = { .noun = "consent",
	QUERY(FIELD_DOC("visitor_id", V_UUID, 0, 0, 0, "one visitor's only")),
	REPLIES(
	    REPLY(200, R_ITEMS, &row_consent, "newest first, 500 at most")) };

const struct route routes[] = {
	{ M_GET, "/healthz", AUTH_PUBLIC, ROLE_NONE, 0, RL_NONE, BODY_NONE, 0,
	    NULL, h_healthz, "liveness: the process answers", NULL,
	    &s_healthz },
	{ M_GET, "/readyz", AUTH_PUBLIC, ROLE_NONE, 0, RL_NONE, BODY_NONE, 0,
	    NULL, h_readyz, "readiness: database reachable, schema current",
	    NULL, &s_readyz },
	{ M_GET, "/api/v1/meta", AUTH_PUBLIC, ROLE_NONE, 0, RL_NONE, BODY_NONE,
	    0, NULL, h_meta, "service name and versions", NULL, &s_meta },
	{ M_GET, "/api/v1/auth/oidc/providers", AUTH_PUBLIC, ROLE_NONE, 0,
	    RL_NONE, BODY_NONE, 0, NULL, h_oidc_providers,
	    "the sign-in providers this deployment offers", NULL,
	    &s_oidc_providers },
	AUTHN(M_POST, "/api/v1/auth/oidc/start", h_oidc_start, RL_NONE,
	    "sign in through a provider", &s_oidc_start),
	{ M_GET, "/api/v1/auth/oidc/callback", AUTH_PUBLIC, ROLE_NONE, 0,
	    RL_NONE, BODY_NONE, 0, NULL, h_oidc_callback,
	    "the provider's return (a browser redirect)", NULL,
	    &s_oidc_callback },
	{ M_POST, "/api/v1/auth/oidc/callback", AUTH_PUBLIC, ROLE_NONE, 0,
	    RL_NONE, BODY_FORM, PRL_BODY_SMALL, form_ctypes,
	    h_oidc_callback_post,
	    "a provider's form_post return (a cross-site browser POST)", NULL,
	    &s_oidc_callback_post },
	AUTHN(M_POST, "/api/v1/auth/oidc/mfa", h_oidc_mfa, RL_NONE,
	    "the TOTP code after a provider's sign-in", &s_oidc_mfa),
	USER_JSON(M_POST, "/api/v1/auth/oidc/link", ROLE_MEMBER, h_oidc_link,
	    "link an identity at a provider to one's account", &s_oidc_link),
	USER_JSON(M_POST, "/api/v1/auth/oidc/reauth", ROLE_MEMBER,
	    h_oidc_reauth, "confirm it is you, at a provider", &s_oidc_reauth),
	AUTHN(M_POST, "/api/v1/auth/oidc/pending", h_oidc_pending, RL_NONE,
	    "an identity no account has linked yet", &s_oidc_pending),
	AUTHN(M_POST, "/api/v1/auth/oidc/signup", h_oidc_signup, RL_NONE,
	    "sign up with a provider's identity", &s_oidc_signup),
	AUTHN(M_POST, "/api/v1/auth/oidc/link-account", h_oidc_link_account,
	    RL_NONE, "link a provider's identity to one's account, and sign in",
	    &s_oidc_link_account),
	USER(M_GET, "/api/v1/me/identities", ROLE_MEMBER, h_identities,
	    "one's linked identities", &s_identities),
	USER(M_DELETE, "/api/v1/me/identities/:id", ROLE_MEMBER,
	    h_identity_delete, "unlink an identity", &s_identity_delete),
	{ M_GET, "/api/v1/auth/challenge", AUTH_PUBLIC, ROLE_NONE, 0, RL_NONE,
	    BODY_NONE, 0, NULL, h_pow_challenge,
	    "a proof-of-work challenge (the captcha)", NULL, &s_pow_challenge },
	{ M_POST, "/api/v1/csp-report", AUTH_PUBLIC, ROLE_NONE, 0, RL_NONE,
	    BODY_JSON, PRL_BODY_SMALL, csp_report_ctypes, h_csp_report,
	    "Content-Security-Policy violation reports", NULL, &s_csp_report },
	AUTHN(M_POST, "/api/v1/auth/register", h_register, RL_NONE,
	    "e-mail a link that creates a company and its owner (always 202)",
	    &s_register),
	AUTHN(M_POST, "/api/v1/auth/register/confirm", h_register_confirm,
	    RL_NONE,
	    "create the company and its owner with the link; returns tokens",
	    &s_register_confirm),
	AUTHN(M_POST, "/api/v1/auth/login", h_login, RL_NONE,
	    "log in with e-mail, password and, if enabled, a TOTP code",
	    &s_login),
	AUTHN(M_POST, "/api/v1/auth/refresh", h_refresh, RL_NONE,
	    "rotate the refresh token; returns a new pair", &s_refresh),
	USER(M_POST, "/api/v1/auth/logout", ROLE_MEMBER, h_logout,
	    "end this session now", &s_logout),
	USER(M_POST, "/api/v1/auth/logout-all", ROLE_MEMBER, h_logout_all,
	    "end every session of the user", &s_logout_all),
	AUTHN(M_POST, "/api/v1/auth/sign-in-revoke", h_sign_in_revoke, RL_NONE,
	    "end the one session a new sign-in mail named", &s_sign_in_revoke),
	AUTHN(M_POST, "/api/v1/auth/password/forgot", h_password_forgot,
	    RL_NONE, "e-mail a single-use reset link (always 202)",
	    &s_password_forgot),
	AUTHN(M_POST, "/api/v1/auth/password/reset", h_password_reset, RL_NONE,
	    "set a new password with a reset link token", &s_password_reset),
	USER_JSON(M_POST, "/api/v1/auth/password/change", ROLE_MEMBER,
	    h_password_change, "change the password, ending other sessions",
	    &s_password_change),
	AUTHN(M_POST, "/api/v1/auth/email/verify", h_email_verify, RL_NONE,
	    "confirm the e-mail address with a link token", &s_email_verify),
	USER(M_POST, "/api/v1/auth/email/resend", ROLE_MEMBER, h_email_resend,
	    "send the verification link again", &s_email_resend),
	USER_READ(M_GET, "/api/v1/auth/sessions", ROLE_MEMBER, h_sessions_list,
	    q_sessions, "the user's active sessions", &s_sessions_list),
	USER(M_DELETE, "/api/v1/auth/sessions/:id", ROLE_MEMBER,
	    h_session_delete, "end one of the user's sessions",
	    &s_session_delete),
	USER(M_POST, "/api/v1/auth/mfa/totp/setup", ROLE_MEMBER, h_mfa_setup,
	    "start TOTP enrolment: secret and otpauth URI", &s_mfa_setup),
	USER_JSON(M_POST, "/api/v1/auth/mfa/totp/enable", ROLE_MEMBER,
	    h_mfa_enable, "confirm a code; returns ten recovery codes",
	    &s_mfa_enable),
	USER_JSON(M_POST, "/api/v1/auth/mfa/totp/disable", ROLE_MEMBER,
	    h_mfa_disable, "turn TOTP off with password and a code",
	    &s_mfa_disable),
	USER_READ(M_GET, "/api/v1/me", ROLE_MEMBER, h_me, q_me,
	    "the current user, company, role and MFA state", &s_me),
	USER_JSON(M_PATCH, "/api/v1/me", ROLE_MEMBER, h_me_patch,
	    "change one's own profile (name)", &s_me_patch),
	USER_READ(M_GET, "/api/v1/company", ROLE_MEMBER, h_company_get,
	    q_company, "the company and its settings", &s_company_get),
	USER_JSON(M_PATCH, "/api/v1/company", ROLE_ADMIN, h_company_patch,
	    "change the company's name and settings (audited)",
	    &s_company_patch),
	USER(M_GET, "/api/v1/labels", ROLE_MEMBER, h_labels, "the labels",
	    &s_labels),
	USER_JSON(M_POST, "/api/v1/labels", ROLE_ADMIN, h_label_create,
	    "make a label (audited)", &s_label_create),
	USER_JSON(M_PATCH, "/api/v1/labels/:id", ROLE_ADMIN, h_label_patch,
	    "rename or recolour a label (audited)", &s_label_patch),
	USER(M_DELETE, "/api/v1/labels/:id", ROLE_ADMIN, h_label_delete,
	    "delete a label (audited)", &s_label_delete),
	USER_JSON(M_PUT, "/api/v1/conversations/:id/labels", ROLE_MEMBER,
	    h_conversation_labels, "set a conversation's labels",
	    &s_conversation_labels),
	USER(M_GET, "/api/v1/teams", ROLE_MEMBER, h_teams, "the teams",
	    &s_teams),
	USER_JSON(M_POST, "/api/v1/teams", ROLE_ADMIN, h_team_create,
	    "make a team (audited)", &s_team_create),
	USER_JSON(M_PATCH, "/api/v1/teams/:id", ROLE_ADMIN, h_team_patch,
	    "rename a team or set its agents (audited)", &s_team_patch),
	USER(M_DELETE, "/api/v1/teams/:id", ROLE_ADMIN, h_team_delete,
	    "delete a team (audited)", &s_team_delete),
	USER_JSON(M_PUT, "/api/v1/members/:id/capacity", ROLE_ADMIN,
	    h_member_capacity, "set an agent's capacity (audited)",
	    &s_member_capacity),
	USER_JSON(M_PUT, "/api/v1/me/presence", ROLE_MEMBER, h_presence,
	    "one's presence: online, away, offline", &s_presence),
	USER(M_GET, "/api/v1/notifications", ROLE_MEMBER, h_notifications,
	    "one's notifications", &s_notifications),
	USER_JSON(M_POST, "/api/v1/notifications/read", ROLE_MEMBER,
	    h_notifications_read, "mark notifications read",
	    &s_notifications_read),
	USER(M_GET, "/api/v1/me/notification-settings", ROLE_MEMBER,
	    h_notification_settings, "one's notification preferences",
	    &s_notification_settings),
	USER_JSON(M_PATCH, "/api/v1/me/notification-settings", ROLE_MEMBER,
	    h_notification_settings_patch,
	    "change one's notification preferences",
	    &s_notification_settings_patch),
	{ M_POST, "/api/v1/notifications/unsubscribe", AUTH_PUBLIC, ROLE_NONE,
	    0, RL_NONE, BODY_FORM, PRL_BODY_EMPTY * 4, form_ctypes,
	    h_notifications_unsubscribe,
	    "stop the digest mails (RFC 8058 one-click)", NULL,
	    &s_notifications_unsubscribe },
	USER(M_GET, "/api/v1/company/sso/domains", ROLE_ADMIN, h_sso_domains,
	    "the e-mail domains the company claims", &s_sso_domains),
	USER_JSON(M_POST, "/api/v1/company/sso/domains", ROLE_OWNER,
	    h_sso_domain_add, "claim an e-mail domain (audited)",
	    &s_sso_domain_add),
	USER(M_POST, "/api/v1/company/sso/domains/:id/verify", ROLE_OWNER,
	    h_sso_domain_verify,
	    "verify a claimed domain by its DNS TXT "
	    "record (audited)",
	    &s_sso_domain_verify),
	USER(M_DELETE, "/api/v1/company/sso/domains/:id", ROLE_OWNER,
	    h_sso_domain_delete, "give a domain up (audited)",
	    &s_sso_domain_delete),
	USER(M_GET, "/api/v1/company/sso", ROLE_ADMIN, h_sso_get,
	    "the company's identity provider and policy", &s_sso_get),
	{ M_PUT, "/api/v1/company/sso", AUTH_USER, ROLE_OWNER, 0, RL_NONE,
	    BODY_JSON, 256 * 1024, NULL, h_sso_put,
	    "set the company's identity provider and policy (audited)", NULL,
	    &s_sso_put },
	USER(M_DELETE, "/api/v1/company/sso", ROLE_OWNER, h_sso_delete,
	    "remove the company's identity provider (audited)", &s_sso_delete),
	AUTHN(M_POST, "/api/v1/auth/sso/start", h_sso_start, RL_NONE,
	    "single sign-on by the address's company", &s_sso_start),
	{ M_GET, "/api/v1/sso/saml/:id/metadata", AUTH_PUBLIC, ROLE_NONE, 0,
	    RL_NONE, BODY_NONE, 0, NULL, h_saml_metadata,
	    "a company's SAML service provider metadata", NULL,
	    &s_saml_metadata },
	{ M_POST, "/api/v1/sso/saml/:id/acs", AUTH_PUBLIC, ROLE_NONE, 0,
	    RL_NONE, BODY_FORM, 384 * 1024, form_ctypes, h_saml_acs,
	    "a company's SAML Assertion Consumer Service (a cross-site "
	    "browser POST)",
	    NULL, &s_saml_acs },
	USER_JSON(M_DELETE, "/api/v1/company", ROLE_OWNER, h_company_delete,
	    "delete the company and everything of it, now (owner; password, "
	    "TOTP and the company's name)",
	    &s_company_delete),
	{ M_GET, "/api/v1/members", AUTH_KEY, ROLE_MEMBER, SCOPE_MEMBERS_READ,
	    RL_NONE, BODY_NONE, 0, NULL, h_members_list,
	    "the company's members (users, or API keys with members:read)",
	    &q_members, &s_members_list },
	USER_JSON(M_PATCH, "/api/v1/members/:id", ROLE_ADMIN, h_member_patch,
	    "change a member's role (owner rules apply; audited)",
	    &s_member_patch),
	USER(M_DELETE, "/api/v1/members/:id", ROLE_ADMIN, h_member_delete,
	    "remove a member, ending their sessions at once (audited)",
	    &s_member_delete),
	USER_JSON(M_POST, "/api/v1/invitations", ROLE_ADMIN,
	    h_invitation_create, "invite someone by e-mail (audited)",
	    &s_invitation_create),
	USER(M_GET, "/api/v1/invitations", ROLE_ADMIN, h_invitation_list,
	    "open invitations", &s_invitation_list),
	USER(M_DELETE, "/api/v1/invitations/:id", ROLE_ADMIN,
	    h_invitation_delete, "revoke an invitation (audited)",
	    &s_invitation_delete),
	AUTHN(M_POST, "/api/v1/invitations/accept", h_invitation_accept,
	    RL_NONE, "join with an invitation token; returns tokens",
	    &s_invitation_accept),
	USER_JSON(M_POST, "/api/v1/api-keys", ROLE_ADMIN, h_api_key_create,
	    "create a scoped API key; the key is shown once (audited)",
	    &s_api_key_create),
	USER(M_GET, "/api/v1/api-keys", ROLE_ADMIN, h_api_key_list,
	    "the company's API keys, without secrets", &s_api_key_list),
	USER(M_DELETE, "/api/v1/api-keys/:id", ROLE_ADMIN, h_api_key_delete,
	    "revoke an API key (audited)", &s_api_key_delete),
	USER(M_GET, "/api/v1/billing", ROLE_OWNER, h_billing_get,
	    "the plan, its limits, what is used, the billing state (owner)",
	    &s_billing_get),
	USER_JSON(M_POST, "/api/v1/billing/checkout", ROLE_OWNER,
	    h_billing_checkout,
	    "a Stripe Checkout session for a plan: {id, url} (audited)",
	    &s_billing_checkout),
	USER(M_POST, "/api/v1/billing/portal", ROLE_OWNER, h_billing_portal,
	    "a Stripe customer portal session: {id, url} (audited)",
	    &s_billing_portal),
	{ M_POST, "/api/v1/webhooks/stripe", AUTH_PUBLIC, ROLE_NONE, 0, RL_NONE,
	    BODY_JSON, PRL_MAX_BODY, stripe_ctypes, h_stripe_webhook,
	    "Stripe events, verified by their signature (Stripe-Signature)",
	    NULL, &s_stripe_webhook },
	KEY(M_GET, "/api/v1/audit-log", ROLE_ADMIN, SCOPE_AUDIT_READ,
	    h_audit_list,
	    "the audit log, newest first: filters from, to, actor, action, "
	    "resource; cursor pagination",
	    &s_audit_list),
	KEY(M_GET, "/api/v1/audit-log/export.csv", ROLE_ADMIN, SCOPE_AUDIT_READ,
	    h_audit_export,
	    "the audit log as CSV, at most the last 90 days (audited)",
	    &s_audit_export),
	USER(M_GET, "/api/v1/security-events", ROLE_ADMIN, h_security_events,
	    "the company's security events, newest first", &s_security_events),
	USER(M_GET, "/api/v1/security-alerts", ROLE_ADMIN, h_alerts,
	    "the company's security alerts, by last activity", &s_alerts),
	USER(M_GET, "/api/v1/security-alerts/:id", ROLE_ADMIN, h_alert_get,
	    "one security alert", &s_alert_get),
	USER_JSON(M_PATCH, "/api/v1/security-alerts/:id", ROLE_ADMIN,
	    h_alert_patch, "acknowledge or resolve an alert (audited)",
	    &s_alert_patch),
	USER(M_GET, "/api/v1/company/llm", ROLE_ADMIN, h_company_llm_get,
	    "the company's own LLM provider settings (no key shown)",
	    &s_company_llm_get),
	USER_JSON(M_PUT, "/api/v1/company/llm", ROLE_ADMIN, h_company_llm_put,
	    "set the company's LLM key, model (and URL where allowed; "
	    "audited)",
	    &s_company_llm_put),
	KEY_JSON(M_POST, "/api/v1/chatbots", ROLE_ADMIN, SCOPE_CHATBOTS_WRITE,
	    PRL_BODY_SMALL, h_chatbot_create,
	    "create a chatbot; the identity secret is shown once (audited)",
	    &s_chatbot_create),
	KEY(M_GET, "/api/v1/chatbots", ROLE_MEMBER, SCOPE_CHATBOTS_READ,
	    h_chatbot_list, "the company's chatbots", &s_chatbot_list),
	KEY(M_GET, "/api/v1/chatbots/:id", ROLE_MEMBER, SCOPE_CHATBOTS_READ,
	    h_chatbot_get, "one chatbot", &s_chatbot_get),
	KEY_JSON(M_PATCH, "/api/v1/chatbots/:id", ROLE_ADMIN,
	    SCOPE_CHATBOTS_WRITE, PRL_BODY_SMALL, h_chatbot_patch,
	    "change a chatbot's settings (audited)", &s_chatbot_patch),
	{ M_PUT, "/api/v1/chatbots/:id/logo", AUTH_KEY, ROLE_ADMIN,
	    SCOPE_CHATBOTS_WRITE, RL_NONE, BODY_BYTES, PRL_LOGO_BODY,
	    logo_ctypes, h_chatbot_logo_put,
	    "set the chatbot's logo (PNG, JPEG or WebP; audited)", NULL,
	    &s_chatbot_logo_put },
	KEY(M_DELETE, "/api/v1/chatbots/:id/logo", ROLE_ADMIN,
	    SCOPE_CHATBOTS_WRITE, h_chatbot_logo_delete,
	    "remove the chatbot's logo (audited)", &s_chatbot_logo_delete),
	KEY(M_DELETE, "/api/v1/chatbots/:id", ROLE_ADMIN, SCOPE_CHATBOTS_WRITE,
	    h_chatbot_delete,
	    "delete a chatbot with its knowledge base and conversations "
	    "(audited)",
	    &s_chatbot_delete),
	KEY(M_GET, "/api/v1/chatbots/:id/hours", ROLE_MEMBER,
	    SCOPE_CHATBOTS_READ, h_hours_get, "business hours and offline mode",
	    &s_hours_get),
	KEY_JSON(M_PUT, "/api/v1/chatbots/:id/hours", ROLE_ADMIN,
	    SCOPE_CHATBOTS_WRITE, PRL_BODY_SMALL, h_hours_put,
	    "set business hours and offline mode (audited)", &s_hours_put),
	KEY(M_POST, "/api/v1/chatbots/:id/rotate-key", ROLE_ADMIN,
	    SCOPE_CHATBOTS_WRITE, h_chatbot_rotate_key,
	    "replace the widget's public key (audited)", &s_chatbot_rotate_key),
	KEY(M_POST, "/api/v1/chatbots/:id/rotate-identity-secret", ROLE_ADMIN,
	    SCOPE_CHATBOTS_WRITE, h_chatbot_rotate_secret,
	    "replace the identity secret; shown once (audited)",
	    &s_chatbot_rotate_secret),
	KEY_JSON(M_POST, "/api/v1/chatbots/:id/documents", ROLE_ADMIN,
	    SCOPE_DOCUMENTS_WRITE, PRL_MAX_BODY, h_document_create,
	    "add a knowledge-base document (audited)", &s_document_create),
	{ M_POST, "/api/v1/chatbots/:id/documents/file", AUTH_KEY, ROLE_ADMIN,
	    SCOPE_DOCUMENTS_WRITE, RL_NONE, BODY_BYTES, PRL_KB_FILE_BODY,
	    kb_file_ctypes, h_document_upload,
	    "add a knowledge-base document from a file: PDF, DOCX, HTML, text "
	    "(audited)",
	    NULL, &s_document_upload },
	KEY_JSON(M_POST, "/api/v1/chatbots/:id/sources", ROLE_ADMIN,
	    SCOPE_DOCUMENTS_WRITE, PRL_BODY_SMALL, h_source_create,
	    "add knowledge from a page or a sitemap, fetched in the background "
	    "(audited)",
	    &s_source_create),
	KEY(M_GET, "/api/v1/chatbots/:id/sources", ROLE_MEMBER,
	    SCOPE_DOCUMENTS_READ, h_source_list,
	    "the chatbot's knowledge-base sources, with their progress",
	    &s_source_list),
	KEY(M_GET, "/api/v1/chatbots/:id/sources/:source", ROLE_MEMBER,
	    SCOPE_DOCUMENTS_READ, h_source_get, "one source and its progress",
	    &s_source_get),
	{ M_POST, "/api/v1/chatbots/:id/sources/:source/sync", AUTH_KEY,
	    ROLE_ADMIN, SCOPE_DOCUMENTS_WRITE, RL_NONE, BODY_NONE, 0, NULL,
	    h_source_sync, "fetch a source again now (audited)", NULL,
	    &s_source_sync },
	KEY(M_DELETE, "/api/v1/chatbots/:id/sources/:source", ROLE_ADMIN,
	    SCOPE_DOCUMENTS_WRITE, h_source_delete,
	    "delete a source and its documents (audited)", &s_source_delete),
	KEY(M_GET, "/api/v1/chatbots/:id/documents", ROLE_MEMBER,
	    SCOPE_DOCUMENTS_READ, h_document_list,
	    "the chatbot's knowledge-base documents", &s_document_list),
	KEY(M_GET, "/api/v1/chatbots/:id/documents/:doc", ROLE_MEMBER,
	    SCOPE_DOCUMENTS_READ, h_document_get, "one document with its text",
	    &s_document_get),
	KEY(M_DELETE, "/api/v1/chatbots/:id/documents/:doc", ROLE_ADMIN,
	    SCOPE_DOCUMENTS_WRITE, h_document_delete,
	    "delete a document and its chunks (audited)", &s_document_delete),
	USER(M_POST, "/api/v1/company/export", ROLE_ADMIN, h_export_create,
	    "start a full data export of the company (audited)",
	    &s_export_create),
	USER(M_GET, "/api/v1/company/exports", ROLE_ADMIN, h_export_list,
	    "the company's recent exports", &s_export_list),
	USER(M_GET, "/api/v1/company/exports/:id", ROLE_ADMIN, h_export_get,
	    "an export's progress, and its download once ready", &s_export_get),
	USER(M_GET, "/api/v1/company/exports/:id/download", ROLE_ADMIN,
	    h_export_download,
	    "the export archive (tar.gz) until it expires (audited)",
	    &s_export_download),
	USER_JSON(M_POST, "/api/v1/privacy/subject-export", ROLE_ADMIN,
	    h_privacy_export,
	    "everything about one visitor (by visitor id, user id or e-mail), "
	    "as JSON (audited)",
	    &s_privacy_export),
	USER_JSON(M_POST, "/api/v1/privacy/subject-erasure", ROLE_ADMIN,
	    h_privacy_erase,
	    "erase one visitor: their records, conversations and consents "
	    "(audited, without the data)",
	    &s_privacy_erase),
	USER_JSON(M_PATCH, "/api/v1/visitors/:id", ROLE_ADMIN, h_visitor_patch,
	    "rectify a visitor's name or e-mail, restrict their processing "
	    "(audited)",
	    &s_visitor_patch),
	KEY_JSON(M_POST, "/api/v1/webhook-endpoints", ROLE_ADMIN,
	    SCOPE_WEBHOOKS_WRITE, PRL_BODY_SMALL, h_webhook_create,
	    "add a webhook endpoint; its signing secret is shown once "
	    "(audited)",
	    &s_webhook_create),
	KEY(M_GET, "/api/v1/webhook-endpoints", ROLE_ADMIN,
	    SCOPE_WEBHOOKS_WRITE, h_webhook_list,
	    "the company's webhook endpoints", &s_webhook_list),
	KEY(M_GET, "/api/v1/webhook-endpoints/:id", ROLE_ADMIN,
	    SCOPE_WEBHOOKS_WRITE, h_webhook_get, "one webhook endpoint",
	    &s_webhook_get),
	KEY_JSON(M_PATCH, "/api/v1/webhook-endpoints/:id", ROLE_ADMIN,
	    SCOPE_WEBHOOKS_WRITE, PRL_BODY_SMALL, h_webhook_patch,
	    "change, enable or disable a webhook endpoint (audited)",
	    &s_webhook_patch),
	KEY(M_DELETE, "/api/v1/webhook-endpoints/:id", ROLE_ADMIN,
	    SCOPE_WEBHOOKS_WRITE, h_webhook_delete,
	    "delete a webhook endpoint and its deliveries (audited)",
	    &s_webhook_delete),
	KEY(M_POST, "/api/v1/webhook-endpoints/:id/rotate-secret", ROLE_ADMIN,
	    SCOPE_WEBHOOKS_WRITE, h_webhook_rotate,
	    "a new signing secret, shown once; the old one signs too for 24 "
	    "hours (audited)",
	    &s_webhook_rotate),
	KEY(M_GET, "/api/v1/webhook-endpoints/:id/deliveries", ROLE_ADMIN,
	    SCOPE_WEBHOOKS_WRITE, h_webhook_deliveries,
	    "an endpoint's deliveries, newest first, with their attempts",
	    &s_webhook_deliveries),
	KEY_JSON(M_POST, "/api/v1/templates", ROLE_ADMIN, SCOPE_TEMPLATES_WRITE,
	    PRL_BODY_SMALL, h_template_create,
	    "create a response template (audited)", &s_template_create),
	USER(M_GET, "/api/v1/templates", ROLE_MEMBER, h_template_list,
	    "the company's response templates", &s_template_list),
	KEY_JSON(M_PATCH, "/api/v1/templates/:id", ROLE_ADMIN,
	    SCOPE_TEMPLATES_WRITE, PRL_BODY_SMALL, h_template_patch,
	    "change a response template (audited)", &s_template_patch),
	KEY(M_DELETE, "/api/v1/templates/:id", ROLE_ADMIN,
	    SCOPE_TEMPLATES_WRITE, h_template_delete,
	    "delete a response template (audited)", &s_template_delete),
	{ M_OPTIONS, "/api/v1/widget/sessions", AUTH_PUBLIC, ROLE_NONE, 0,
	    RL_NONE, BODY_NONE, 0, NULL, h_widget_preflight,
	    "CORS preflight: only origins some chatbot allows", NULL,
	    &s_widget_preflight },
	{ M_POST, "/api/v1/widget/sessions", AUTH_PUBLIC, ROLE_NONE, 0, RL_NONE,
	    BODY_JSON, PRL_BODY_SMALL, NULL, h_widget_session,
	    "a visitor token for a chatbot, from an allowed Origin only", NULL,
	    &s_widget_session },
	{ M_GET, "/api/v1/widget/config", AUTH_PUBLIC, ROLE_NONE, 0, RL_NONE,
	    BODY_NONE, 0, NULL, h_widget_config,
	    "a chatbot's look in the widget, by its public key", NULL,
	    &s_widget_config },
	{ M_GET, "/api/v1/widget/logo", AUTH_PUBLIC, ROLE_NONE, 0, RL_NONE,
	    BODY_NONE, 0, NULL, h_widget_logo, "a chatbot's logo", NULL,
	    &s_widget_logo },
	VISITOR(M_POST, "/api/v1/widget/conversations", BODY_NONE, RL_NONE,
	    h_widget_conversation_create, "start a conversation",
	    &s_widget_conversation_create),
	VISITOR(M_GET, "/api/v1/widget/conversations", BODY_NONE, RL_NONE,
	    h_widget_conversation_list, "the visitor's conversations",
	    &s_widget_conversation_list),
	VISITOR(M_GET, "/api/v1/widget/conversations/:id/messages", BODY_NONE,
	    RL_NONE, h_widget_messages,
	    "the conversation's messages after ?after=SEQ", &s_widget_messages),
	VISITOR(M_POST, "/api/v1/widget/conversations/:id/messages", BODY_JSON,
	    RL_LLM, h_widget_message_post,
	    "send a message; the bot's reply follows on the conversation's "
	    "events",
	    &s_widget_message_post),
	{ M_POST, "/api/v1/widget/conversations/:id/attachments", AUTH_VISITOR,
	    ROLE_NONE, 0, RL_LLM, BODY_BYTES, PRL_FILE_BODY, attach_ctypes,
	    h_widget_attachment_upload, "send a file (an image or a PDF)", NULL,
	    &s_widget_attachment_upload },
	VISITOR(M_GET, "/api/v1/widget/attachments/:id", BODY_NONE, RL_NONE,
	    h_widget_attachment_get, "download a file of the conversation",
	    &s_widget_attachment_get),
	VISITOR(M_POST, "/api/v1/widget/conversations/:id/handoff", BODY_NONE,
	    RL_NONE, h_widget_handoff, "ask for a human", &s_widget_handoff),
	VISITOR(M_POST, "/api/v1/widget/conversations/:id/rating", BODY_JSON,
	    RL_NONE, h_widget_rating, "rate a resolved conversation",
	    &s_widget_rating),
	VISITOR(M_POST, "/api/v1/widget/conversations/:id/contact", BODY_JSON,
	    RL_LLM, h_widget_contact, "leave an address for replies",
	    &s_widget_contact),
	VISITOR(M_POST, "/api/v1/widget/conversations/:id/seen", BODY_JSON,
	    RL_NONE, h_widget_seen, "what the widget has shown",
	    &s_widget_seen),
	VISITOR(M_POST, "/api/v1/widget/conversations/:id/transcript",
	    BODY_NONE, RL_LLM, h_widget_transcript,
	    "e-mail the conversation to the confirmed address",
	    &s_widget_transcript),
	{ M_POST, "/api/v1/widget/links/resume", AUTH_PUBLIC, ROLE_NONE, 0,
	    RL_NONE, BODY_JSON, PRL_BODY_SMALL, NULL, h_widget_link_resume,
	    "an e-mailed link: open its conversation", NULL,
	    &s_widget_link_resume },
	{ M_POST, "/api/v1/widget/links/confirm", AUTH_PUBLIC, ROLE_NONE, 0,
	    RL_NONE, BODY_JSON, PRL_BODY_SMALL, NULL, h_widget_link_confirm,
	    "an e-mailed link: confirm the address, open the conversation",
	    NULL, &s_widget_link_confirm },
	{ M_GET, "/api/v1/widget/conversations/:id/events", AUTH_VISITOR,
	    ROLE_NONE, 0, RL_NONE, BODY_NONE, 0, NULL, h_widget_events_auth,
	    "the conversation's events (SSE or long-polling through nginx)",
	    NULL, &s_widget_events_auth },
	VISITOR(M_POST, "/api/v1/widget/consent", BODY_JSON, RL_LLM,
	    h_widget_consent, "record the visitor's cookie consent",
	    &s_widget_consent),
	{ M_GET, "/widget/frame", AUTH_PUBLIC, ROLE_NONE, 0, RL_NONE, BODY_NONE,
	    0, NULL, h_widget_frame,
	    "the chat frame (nginx asks for its per-chatbot CSP)", NULL,
	    &s_widget_frame },
	USER(M_GET, "/api/v1/events", ROLE_MEMBER, h_events_auth,
	    "the company's events (SSE or WebSocket through nginx)",
	    &s_events_auth),
	USER(M_GET, "/api/v1/consents", ROLE_ADMIN, h_consent_list,
	    "visitors' consent records (?visitor_id=)", &s_consent_list),
	KEY(M_GET, "/api/v1/conversations", ROLE_MEMBER,
	    SCOPE_CONVERSATIONS_READ, h_conversation_list,
	    "the inbox: filters status, unanswered, assignee, chatbot; "
	    "cursor pagination",
	    &s_conversation_list),
	KEY(M_GET, "/api/v1/conversations/:id", ROLE_MEMBER,
	    SCOPE_CONVERSATIONS_READ, h_conversation_get,
	    "one conversation with its messages", &s_conversation_get),
	KEY_JSON(M_POST, "/api/v1/conversations/:id/messages", ROLE_MEMBER,
	    SCOPE_CONVERSATIONS_WRITE, PRL_BODY_SMALL, h_conversation_reply,
	    "an agent's reply: a human handles it from now on",
	    &s_conversation_reply),
	KEY_JSON(M_PATCH, "/api/v1/conversations/:id", ROLE_MEMBER,
	    SCOPE_CONVERSATIONS_WRITE, PRL_BODY_SMALL, h_conversation_patch,
	    "change status or assignee", &s_conversation_patch),
	{ M_POST, "/api/v1/conversations/:id/attachments", AUTH_KEY,
	    ROLE_MEMBER, SCOPE_CONVERSATIONS_WRITE, RL_NONE, BODY_BYTES,
	    PRL_FILE_BODY, attach_ctypes, h_attachment_upload,
	    "an agent's file (an image or a PDF): a reply", NULL,
	    &s_attachment_upload },
	KEY(M_GET, "/api/v1/attachments/:id", ROLE_MEMBER,
	    SCOPE_CONVERSATIONS_READ, h_attachment_get,
	    "download a file of a conversation", &s_attachment_get),
	KEY(M_DELETE, "/api/v1/conversations/:id", ROLE_ADMIN,
	    SCOPE_CONVERSATIONS_WRITE, h_conversation_delete,
	    "delete a conversation and its messages, now (audited)",
	    &s_conversation_delete),
	{ M_POST, "/api/v1/conversations/:id/suggest", AUTH_KEY, ROLE_MEMBER,
	    SCOPE_CONVERSATIONS_WRITE, RL_LLM, BODY_NONE, 0, NULL,
	    h_conversation_suggest,
	    "queue an LLM draft reply for the agent (rate-limited per user); "
	    "it arrives on the agent's events and at GET "
	    ".../suggestions/{draft}",
	    NULL, &s_conversation_suggest },
	KEY(M_GET, "/api/v1/conversations/:id/suggestions/:draft", ROLE_MEMBER,
	    SCOPE_CONVERSATIONS_WRITE, h_conversation_suggestion_get,
	    "a queued or written draft", &s_conversation_suggestion_get),
	KEY(M_GET, "/api/v1/analytics/csat", ROLE_MEMBER, SCOPE_ANALYTICS_READ,
	    h_analytics_csat, "visitors' ratings by chatbot and by agent",
	    &s_analytics_csat),
	KEY(M_GET, "/api/v1/analytics/summary", ROLE_MEMBER,
	    SCOPE_ANALYTICS_READ, h_analytics_summary,
	    "conversations, messages, bot-resolved vs handed off, median "
	    "first response, tokens",
	    &s_analytics_summary),
};
const size_t nroutes = sizeof(routes) / sizeof(routes[0]);
