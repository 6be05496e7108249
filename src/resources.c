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

static const struct col chatbot_cols[] = {
	COL("id", C_UUID, 0),
	COL("name", C_STRING, 0),
	COL("prompt_template", C_STRING, 0),
	COL("welcome_message", C_STRING, 0),
	COL_EXPR(
	    "allowed_origins", C_STRINGS, 0, "array_to_json(allowed_origins)"),
	COL_EXPR("link_domains", C_STRINGS, 0, "array_to_json(link_domains)"),
	COL("language", C_STRING, 0),
	COL_DOC("model", C_STRING, COL_NULL, "null: the default model"),
	COL("temperature", C_NUMBER, 0),
	COL("max_tokens", C_INT, 0),
	COL_EXPR("handoff_keywords", C_STRINGS, 0,
	    "array_to_json(handoff_keywords)"),
	COL("handoff_on_no_answer", C_BOOL, 0),
	COL("require_verified", C_BOOL, 0),
	COL_DOC("public_key", C_STRING, 0, "the widget's key (data-key)"),
	COL("created_at", C_TIME, 0),
	COL("updated_at", C_TIME, 0),
	COL_DOC("identity_secret", C_STRING, COL_EXTRA,
	    "only when made: the secret that signs visitor identities"),
};
const struct row row_chatbot = ROW("Chatbot", chatbot_cols,
    "A chatbot: its widget settings and how it answers");

const struct row *const rows_all[] = {
	&row_template,
	&row_chatbot,
	NULL,
};
