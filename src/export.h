/*
 * export.h: a company's full data export (src/export.c), written by the
 * jobs process as a tar.gz with libarchive: manifest.json, company.json,
 * members.json (no password hashes or secrets), chatbots.json (no
 * secrets), documents.json, templates.json, visitors.json, consents.json,
 * conversations.json (each with its messages) and audit_log.json. Every
 * file is read from the database in pages and written to a temporary file
 * before it goes into the archive, so memory stays flat whatever the
 * company's size.
 */
#ifndef PARLEY_EXPORT_H
#define PARLEY_EXPORT_H

#include "job_queue.h"

struct conf;
struct db;

/* The jobs handler of kind "export". */
enum job_result export_run(const struct conf *cfg, struct db *db,
    const struct job *job, const char **err);

/*
 * The archive's path for export 'id' of company 'cid' into 'out'.
 * Returns 0, or -1 if it does not fit.
 */
int export_path(const struct conf *cfg, const char *cid, const char *id,
    char *out, size_t len);

/*
 * `parleyctl export run --company ID`: makes an export in this process
 * (as the jobs process would), printing its file, time and peak memory.
 */
int export_main(int argc, char *argv[]);

#endif
