/*
 * metrics_expo.h: the metrics exposition. nginx's metrics listener
 * (parley-site.conf: its own loopback address, an allow list) passes
 * PARLEY_METRICS=1, which no client can set; a worker answers such a
 * request here instead of through the route table, so /metrics exists
 * on no public server and is not part of the API.
 */
#ifndef PARLEY_METRICS_EXPO_H
#define PARLEY_METRICS_EXPO_H

struct ctx;
struct request;

/* Whether 'req' came through the metrics listener. */
int metrics_listener(const struct request *req);

/* Answers 'req' from the metrics listener: GET /metrics, else 404. */
void metrics_answer(struct request *req, struct ctx *ctx);

#endif
