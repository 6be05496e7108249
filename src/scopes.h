/*
 * scopes.h: API-key scopes, exactly this list. A key never holds, and is
 * never granted on use, a scope beyond its creator's current role.
 */
#ifndef PARLEY_SCOPES_H
#define PARLEY_SCOPES_H

#include <jansson.h>

#include "ctx.h"

#define SCOPE_CONVERSATIONS_READ 0x001u
#define SCOPE_CONVERSATIONS_WRITE 0x002u
#define SCOPE_CHATBOTS_READ 0x004u
#define SCOPE_CHATBOTS_WRITE 0x008u
#define SCOPE_DOCUMENTS_READ 0x010u
#define SCOPE_DOCUMENTS_WRITE 0x020u
#define SCOPE_TEMPLATES_WRITE 0x040u
#define SCOPE_MEMBERS_READ 0x080u
#define SCOPE_AUDIT_READ 0x100u
#define SCOPE_WEBHOOKS_WRITE 0x200u
#define SCOPE_ANALYTICS_READ 0x400u
#define SCOPE__COUNT 11

/* Every scope's name, in bit order, NULL-terminated. */
extern const char *const scope_names[SCOPE__COUNT + 1];

/* The scope's bit for 'name', or 0 when there is no such scope. */
unsigned scope_parse(const char *name);
/* Every scope role 'r' may hold (members: conversations, knowledge-base
 * read, chatbots read, members read). */
unsigned scope_ceiling(enum role r);
/* The names of 'mask' as a new JSON array. */
json_t *scope_json(unsigned mask);
/* Parses PostgreSQL's text form of a text[] ("{a,b}"); unknown names are
 * ignored (fail closed: they grant nothing). */
unsigned scope_from_pg(const char *arr);

#endif
