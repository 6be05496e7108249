/*
 * handler.h: what handlers repeat, written once: get one row, list rows,
 * delete one, answer a write, and the audit entry a route's spec names.
 * Each answers the request itself and returns 0, or -1 without answering
 * (the dispatcher answers 500 and rolls back), as handlers do.
 */
#ifndef PARLEY_HANDLER_H
#define PARLEY_HANDLER_H

#include "router.h"

/*
 * Runs 'st' with 'p' and COMMIT; answers 200 with its one row encoded as
 * the route's first reply declares, or 404 when there is none.
 */
int api_get_one(struct request *req, struct ctx *ctx, struct db_stmt *st,
    const char *const *p);
/* Runs 'st' with 'p' and COMMIT; answers 200 {items: […]}. */
int api_list(struct request *req, struct ctx *ctx, struct db_stmt *st,
    const char *const *p);
/*
 * api_list() of the children of a parent that 'parent' (run with the same
 * 'p') finds: 404 when it finds no row, so an unknown parent is not an
 * empty list.
 */
int api_list_of(struct request *req, struct ctx *ctx, struct db_stmt *parent,
    struct db_stmt *st, const char *const *p);
/*
 * Runs 'st' with 'p' and COMMIT; answers 200 {items, next_cursor} for a
 * keyset page of at most 'limit' rows: a full page's next_cursor is
 * its last row's hidden column "cursor", else null.
 */
int api_page(struct request *req, struct ctx *ctx, struct db_stmt *st,
    const char *const *p, long limit);
/*
 * Splits the checked query parameter "cursor" into 'us' and 'id';
 * returns 1, or 0 when absent.
 */
int api_cursor(const struct request *req, char us[20], char id[37]);
/*
 * Runs the DELETE 'st' with 'p'; 404 when it deleted nothing; otherwise
 * writes the route's audit entry for path parameter "id", commits and
 * answers 204.
 */
int api_delete(struct request *req, struct ctx *ctx, struct db_stmt *st,
    const char *const *p);
/*
 * Answers a write whose RETURNING row is 'res' (borrowed): 404 when it
 * has no row; otherwise the route's audit entry (the body's field names)
 * for the row's id, COMMIT, and 'status' with the row encoded.
 */
int api_written(
    struct request *req, struct ctx *ctx, const PGresult *res, int status);
/* Sends row 0 of 'res' (borrowed) encoded as the route's row, with
 * 'status'. Returns 0 or -1. */
int api_send_row(struct request *req, const PGresult *res, int status);
/*
 * Writes the route's audit entry for resource 'id' in the open
 * transaction: the field names 'fields' (borrowed; NULL: those of the
 * body but secrets), and 'changes' (borrowed, may be NULL). Returns 0
 * or -1.
 */
int api_audit(struct request *req, struct ctx *ctx, const char *id,
    json_t *fields, json_t *changes);
/* The row the route's first reply declares, or NULL. */
const struct row *api_row(const struct request *req);
/* Member 'name' of the checked JSON body as a string, or NULL. */
const char *api_body_str(const struct request *req, const char *name);
/* Answers problem 'status' 'code' with 'title', no detail. */
int api_problem(
    struct request *req, int status, const char *code, const char *title);
/*
 * Sends 'o' (taken, may be NULL: then nothing is sent and -1 returned)
 * as JSON with 'status'.
 */
int api_send(struct request *req, int status, json_t *o);
/*
 * A PostgreSQL array literal ("{…}") of the uuids in JSON array 'ids',
 * which the route's spec has validated as uuids (nothing else reaches
 * it). A new string (caller frees), or NULL.
 */
char *api_uuid_array(const json_t *ids);
/*
 * The console's cookie mode: a request with "X-Parley-Session: cookie"
 * gets its refresh token as an HttpOnly, Secure, SameSite=Strict cookie
 * for /api/v1/auth, never in the JSON, and gives it back the same way.
 */
#define API_REFRESH_COOKIE "parley_refresh"
/* Cookie 'name' of the request into 'buf' (at most 'len' - 1 bytes), or NULL. */
const char *api_cookie(
    struct request *req, const char *name, char *buf, size_t len);
/* Sets the refresh cookie to refresh token 'rt'. Returns 0 or -1. */
int api_set_refresh_cookie(
    struct request *req, struct ctx *ctx, const char *rt);
/* Whether 'req' asks for cookie mode. */
int api_cookie_mode(const struct request *req);
/*
 * Sends 'tokens' (taken) with 'status': in cookie mode without
 * refresh_token, which goes into the cookie instead.
 */
int api_send_tokens(
    struct request *req, struct ctx *ctx, int status, json_t *tokens);
/*
 * In cookie mode: the refresh cookie's value, or NULL; answers 403
 * origin_not_allowed (returning NULL with '*answered' set) when the
 * request's Origin is not public_base_url's. 'buf' holds the value.
 */
const char *api_refresh_cookie(
    struct request *req, struct ctx *ctx, char *buf, size_t len, int *answered);
/* Ends the refresh cookie (logout). */
void api_clear_cookie(struct request *req);

struct plan_refusal;
/* Answers 402 plan_limit naming the limit, its maximum and the plan. */
int api_plan_refused(struct request *req, const struct plan_refusal *r);
/* Answers 409 'code' with 'title'. */
int api_conflict(struct request *req, const char *code, const char *title);

#endif
