/*
 * notify.h: agents' notifications (issue 18, item 1). The database makes
 * them (sql/028-notifications.sql: a handoff, an assignment, a visitor
 * writing while a person is wanted); the console lists them; this mails
 * an agent one digest of those unseen past their quiet delay, at most
 * one per delay, with an RFC 8058 one-click unsubscribe.
 */
#ifndef PARLEY_NOTIFY_H
#define PARLEY_NOTIFY_H

struct conf;
struct db;
struct db_stmt;

/* One pass of the digest sweep (the jobs process): queues the due
 * digests' mails. Returns how many, or -1. */
int notify_sweep(const struct conf *cfg, struct db *db);

/* One pass over agents whose console stopped beating: offline now, their
 * conversations handed back where the chatbot says so. How many, or -1. */
int presence_sweep(const struct conf *cfg, struct db *db);

/*
 * Runs 'fn' for each (company, id) pair that lookup 'st' answers ($1 a
 * batch size, $2 'arg' when the lookup takes one), each call in its own
 * company's transactions; the sum of what the calls return (those that
 * fail count nothing), or -1. The sweeps of agents and conversations.
 */
int notify_each(const struct conf *cfg, struct db *db, struct db_stmt *st,
    const char *arg,
    int (*fn)(const struct conf *, struct db *, const char *, const char *));

/* The unsubscribe token of (cid, uid), base64url, into 'out'. */
void notify_unsubscribe_token(const char *cid, const char *uid, char out[160]);

/* The (cid, uid) of a token: 0, or -1 if it is not one parley made. */
int notify_unsubscribe_check(const char *token, char cid[37], char uid[37]);

#endif
