/*
 * resources.h: the resources parley's API reads and writes, each
 * declared once as a row (row.h): its columns, their JSON types and
 * flags. Statements select them with {{Name}}, handlers encode them with
 * row_json(), parleyctl openapi documents them as component schemas.
 */
#ifndef PARLEY_RESOURCES_H
#define PARLEY_RESOURCES_H

#include "row.h"

extern const struct row row_template;
extern const struct row row_chatbot;

#endif
