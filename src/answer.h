/*
 * answer.h: the answerer, a process of parleyd's family that writes the
 * bot's replies (and agents' drafts) so that no request worker ever waits
 * for an LLM provider.
 *
 * A worker stores a visitor's message and its reply job (reply_jobs,
 * sql/022-answerer.sql) in one short transaction and returns. Answerers
 * take jobs with FOR UPDATE SKIP LOCKED under a lease, each company at
 * most answer_company_streams at once, and run up to answer_streams
 * provider exchanges at once on one libcurl multi handle. Released text
 * goes to the visitor's nchan channel in batches ("reply.delta"); the
 * final reply is stored exactly once (the job's deletion is fenced on the
 * try, and messages_reply_once allows one bot message per visitor
 * message) and published as a "message" event. An answerer that dies
 * leaves its jobs to be taken again when their leases end; one that is
 * told to stop finishes what it can before shutdown_timeout and hands the
 * rest back to the queue.
 */
#ifndef PARLEY_ANSWER_H
#define PARLEY_ANSWER_H

#include "db.h"
struct conf;

/*
 * Wakes the answerers: run by db_exec_many_then() after the COMMIT that
 * queued a job, in a transaction of its own (see sql/022-answerer.sql).
 * A lost wake is harmless: they look at the queue once a second anyway.
 */
extern struct db_stmt answer_wake_stmt;

/* The answerer process: runs until SIGTERM. Returns the exit status. */
int answer_run(const struct conf *cfg, int no);

/*
 * The sweep (run by the jobs processes): visitor messages older than
 * answer_sweep_age with neither a reply nor a handoff nor a reply job are
 * queued again once, then handed to a person. Returns how many it found
 * (logged as reply_sweep), or -1 on a database error.
 */
int answer_sweep(const struct conf *cfg, struct db *db);

#endif
