/*
 * openapi.h: the OpenAPI 3.0.3 document of parley's API, generated from
 * the route table, its specs and the declared rows; docs/openapi.yaml is
 * this output (t/11 compares them byte for byte).
 */
#ifndef PARLEY_OPENAPI_H
#define PARLEY_OPENAPI_H

#include <stdio.h>

#include <jansson.h>

/* The whole document, or NULL when out of memory. Caller decrefs. */
json_t *openapi_document(void);

/*
 * Writes 'v' to 'f' as YAML: block maps and sequences, every string
 * double-quoted (JSON escapes are YAML escapes), members in order.
 */
int openapi_write_yaml(FILE *f, const json_t *v);

/* The operationId of 'method' on 'pattern': "getChatbotsId". */
void openapi_operation_id(
    const char *method, const char *pattern, char *out, size_t outlen);

#endif
