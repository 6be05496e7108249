/*
 * api.h: handlers named in the route table.
 */
#ifndef PARLEY_API_H
#define PARLEY_API_H

#include "router.h"

/* api_meta.c */
int h_healthz(struct request *, struct ctx *);
int h_readyz(struct request *, struct ctx *);
int h_meta(struct request *, struct ctx *);

/* api_csp.c */
int h_csp_report(struct request *, struct ctx *);

/* Media types accepted by h_csp_report. */
extern const char *const csp_report_ctypes[];

#endif
