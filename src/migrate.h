/*
 * migrate.h: applying sql/NNN-subject.sql migrations in order.
 */
#ifndef PARLEY_MIGRATE_H
#define PARLEY_MIGRATE_H

#include <stdio.h>

#define MIGRATE_MAX_FILES 999
#define MIGRATE_MAX_SIZE (4 * 1024 * 1024)

/*
 * Connects with 'conninfo' (the owner role), and applies the migrations in
 * 'dir' that the database lacks, each in its own transaction, recording
 * version, name and SHA-256. Refuses (returns -1, explaining on 'out'):
 * a database newer than this code, an applied migration whose file is
 * missing or was edited, a gap in the numbering. With 'dry_run', only
 * reports. Returns 0 when the database is current.
 */
int migrate_run(const char *conninfo, const char *dir, int dry_run, FILE *out);

#endif
