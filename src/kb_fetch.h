/*
 * kb_fetch.h: knowledge from the web, fetched by the jobs process (job
 * kind kb_source): a page, or the pages a sitemap lists, each through the
 * SSRF guard (https only, public addresses only, judged at connect time
 * and again after every redirect), within size and time bounds, as the
 * site's robots.txt allows; each page's text kept as a document of the
 * source, updated when it changes and removed when it vanishes; and the
 * daily or weekly re-sync of sources. docs/widget.md, "Knowledge from the
 * web and from files".
 */
#ifndef PARLEY_KB_FETCH_H
#define PARLEY_KB_FETCH_H

#include "job_queue.h"

struct conf;
struct db;

/* The job: payload {"source_id"}, company_id set. */
enum job_result kb_fetch_run(const struct conf *cfg, struct db *db,
    const struct job *job, const char **err);

/*
 * A kb_source job given up without its handler's word (it kept dying):
 * its source is marked failed (gave_up), never left fetching.
 */
void kb_fetch_give_up(
    const struct conf *cfg, struct db *db, const struct job *job);

/* Queues the re-sync of sources that are due. Returns how many, or -1. */
int kb_resync_sweep(const struct conf *cfg, struct db *db);

/*
 * robots.txt: whether 'path' (with its query) may be fetched by a crawler
 * called 'agent' under the rules of 'robots' (its text, NUL-terminated):
 * the group of 'agent', else of '*'; the longest matching Allow or
 * Disallow wins, Allow on a tie; '*' and a final '$' as Google reads
 * them. Returns 1 (allowed) or 0.
 */
int kb_robots_allowed(const char *robots, const char *agent, const char *path);

#endif
