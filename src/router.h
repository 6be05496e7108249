/*
 * router.h: routing is data. One table (routes.c) says, per route, the
 * method, path pattern, who may call it, its rate-limit class and its body
 * rules; router_dispatch() checks all of that before a handler runs.
 */
#ifndef PARLEY_ROUTER_H
#define PARLEY_ROUTER_H

#include "route.h"

/*
 * Matches 'pattern' against 'path'; on a match fills req->param* and
 * returns 1. Segments ":name" match one non-empty segment.
 */
int router_match(const char *pattern, const char *path, struct request *req);

/* Routes, checks and runs the handler; always answers 'req'. */
void router_dispatch(struct request *req, struct ctx *ctx);

/* The route 'req' was dispatched to, or NULL. */
const struct route *router_current(const struct request *req);

/*
 * Returns the value of path parameter 'name' (a checked UUID), or NULL.
 * Borrowed.
 */
const char *router_param(const struct request *req, const char *name);

/*
 * Returns the decoded value of declared query parameter 'name' once the
 * dispatcher checked it, or NULL when absent. Borrowed.
 */
const char *router_arg(const struct request *req, const char *name);
/* router_arg() as an integer, or 'dflt' when absent. */
long long router_arg_int(
    const struct request *req, const char *name, long long dflt);

/* Answers 404 "No such <noun>" for the current route's noun. */
int router_not_found(struct request *req);

/* Returns 0 if 'ctype' names one of 'accepted' (NULL: application/json). */
int router_ctype_ok(const char *ctype, const char *const *accepted);

#endif
