/*
 * retention.h: the retention sweep. For each company whose
 * retention_period is not "indefinitely", conversations whose last
 * activity is older than the period are deleted (with their messages,
 * leaving a non-personal conversation_stats row so analytics stay right;
 * then visitors left with no conversation and quiet as long, with their
 * consent records) or anonymised (message text kept with e-mail
 * addresses, phone and card numbers masked, src/mask.c; the identity of
 * visitors quiet that long removed), as the company's retention_action
 * says. Finished webhook deliveries older than 30 days (or the period,
 * if shorter) and export archives past export_ttl are deleted for every
 * company.
 *
 * Work is done in short tenant transactions of at most retention_batch
 * conversations, rows locked with SKIP LOCKED (a conversation in use is
 * left for the next run): no long locks, no table-wide transaction. A run
 * can stop at any point and the next goes on from there (idempotent).
 */
#ifndef PARLEY_RETENTION_H
#define PARLEY_RETENTION_H

#include <time.h>

struct conf;
struct db;

struct retention_counts {
	long companies; /* with a finite period */
	long conversations_deleted, messages_deleted, visitors_deleted;
	long conversations_anonymised, messages_masked, visitors_anonymised;
	long deliveries_deleted;
	long exports_deleted; /* archives past export_ttl */
};

/*
 * Runs the sweep (with 'dry_run', counts what it would do and changes
 * nothing) until done or until 'deadline' (0: none). Adds to 'out'.
 * Returns 0 when done, 1 when stopped by the deadline, -1 on error.
 */
int retention_run(const struct conf *cfg, struct db *db, int dry_run,
    time_t deadline, struct retention_counts *out);

/* `parleyctl retention run [-c FILE] [--dry-run]`; argv[0] is "run". */
int retention_main(int argc, char *argv[]);

#endif
