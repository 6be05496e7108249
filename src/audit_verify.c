/*
 * audit_verify.c: `parleyctl audit verify`, which checks every company's
 * audit chain from outside parleyd.
 *
 * usage: parleyctl audit verify [-c FILE] [--company ID] [--log FILE]...
 *
 * The audit key is read the way parleyd reads it (-c FILE or
 * $PARLEY_CONFIG, then PARLEY_* variables); it is the only key needed. The
 * database is read with $PARLEY_AUDIT_DATABASE_URL: a role that sees every
 * company's rows (a superuser, or a role with BYPASSRLS, USAGE on the
 * schema and SELECT on audit_log, audit_heads and companies). Row security
 * is switched off for
 * the session, so a role that row-level security would filter is refused
 * instead of seeing no rows and calling that a clean log.
 *
 * The --log files are read first, then everything else in one read-only
 * REPEATABLE READ transaction: parleyd logs a checkpoint only after its
 * transaction committed, so every checkpoint read names an entry the
 * snapshot can see, and entries and heads are seen at one moment even
 * while parleyd keeps writing. Entries are read through a cursor, so memory
 * stays bounded however long a chain is.
 *
 * For each company, the first broken entry is reported:
 *   1. entries run 1..n; each prev_hmac is the previous entry's hmac (32
 *      zero bytes for the first); each hmac is recomputed from the stored
 *      values with audit_canonical() and audit_mac(), as audit_write()
 *      made it;
 *   2. audit_heads holds the last entry's seq and hmac;
 *   3. the latest audit_checkpoint parleyd logged for the company names an
 *      entry that exists and carries the logged hmac.
 * Exit status: 0 when everything verifies, 1 when anything is broken, 2
 * when the check could not be made (usage, configuration, key, database).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "audit.h"
#include "audit_verify.h"
#include "conf.h"
#include "crypto.h"
#include "db.h"
#include "server_keys.h"
#include "util.h"
#include "limits.h"

#define AV_BATCH 128 /* rows per FETCH */
#define AV_BATCH_SQL "128"
/*
 * Bytes of one stored value. audit_mac() refuses a canonical text over
 * 8192 bytes, and no value's text form is more than twice its share of
 * the canonical text (jsonb adds a space after ':' and ','), so a longer
 * value cannot verify. The query cuts values at AV_MAX_VALUE_SQL
 * characters (at most 4 bytes each), which bounds a batch in memory; an
 * entry with a value over AV_MAX_VALUE bytes is reported, never hashed.
 */
#define AV_MAX_VALUE 16384
#define AV_MAX_VALUE_SQL "16385"
#define AV_MAX_LOGS 64 /* --log options */
/* A log line: parleyd's longest, with room for a syslog-style prefix. */
#define AV_MAX_LINE (PRL_MAX_LOG_LINE + 1024)
#define AV_MAX_COMPANIES 1000000 /* distinct companies in the logs */

enum av_reason {
	AV_OK,
	AV_HMAC,
	AV_LINK,
	AV_GAP,
	AV_HEAD,
	AV_TAIL,
	AV_CHECKPOINT,
	AV__MAX
};

static const char *const av_reasons[AV__MAX] = {
	"ok",
	"hmac mismatch (edited, or chained without the key)",
	"link to previous entry broken",
	"missing entry (gap)",
	"head does not match the last entry",
	"tail deleted", /* printed with the checkpoint's seq */
	"checkpoint mismatch",
};

/* The latest checkpoint logged for one company. */
struct av_cp {
	char	      id[37]; /* lowercase UUID; "" marks a free slot */
	unsigned char digest[32];
	long long     seq;
	int	      conflict; /* two different digests logged for 'seq' */
	int	      done; /* its company was verified */
};

/* Open addressing, linear probing; 'slot' is owned, freed by cp_free(). */
struct av_cps {
	struct av_cp *slot;
	size_t	      cap; /* a power of two, or 0 */
	size_t	      n;
};

/* One company's chain as far as it was read. */
struct av_chain {
	const char    *id; /* borrowed */
	long long      n; /* last good seq (0: none yet) */
	unsigned char  last[32]; /* its hmac; zeros before the first */
	long long      at; /* first broken entry */
	enum av_reason why;
};

/* clang-format off */
static const char q_companies[] =
    "DECLARE av_companies NO SCROLL CURSOR FOR "
    "SELECT company_id::text FROM audit_log GROUP BY company_id "
    "UNION SELECT company_id::text FROM audit_heads WHERE seq > 0 "
    "ORDER BY 1";
static const char q_entries[] =
    "DECLARE av_entries NO SCROLL CURSOR FOR "
    "SELECT seq, created_us, left(actor_type, " AV_MAX_VALUE_SQL "), "
    "left(actor_id, " AV_MAX_VALUE_SQL "), "
    "left(action, " AV_MAX_VALUE_SQL "), "
    "left(resource_type, " AV_MAX_VALUE_SQL "), "
    "left(resource_id, " AV_MAX_VALUE_SQL "), "
    "left(changed_fields::text, " AV_MAX_VALUE_SQL "), "
    "left(changes::text, " AV_MAX_VALUE_SQL "), "
    "left(ip, " AV_MAX_VALUE_SQL "), "
    "left(user_agent, " AV_MAX_VALUE_SQL "), "
    "left(request_id, " AV_MAX_VALUE_SQL "), "
    "encode(substr(prev_hmac, 1, 33), 'hex'), "
    "encode(substr(hmac, 1, 33), 'hex') "
    "FROM audit_log WHERE company_id = $1::uuid ORDER BY seq";
static const char q_head[] =
    "SELECT seq, encode(substr(hmac, 1, 33), 'hex') FROM audit_heads "
    "WHERE company_id = $1::uuid";
static const char q_known[] =
    "SELECT EXISTS (SELECT 1 FROM companies WHERE id = $1::uuid) "
    "OR EXISTS (SELECT 1 FROM audit_log WHERE company_id = $1::uuid) "
    "OR EXISTS (SELECT 1 FROM audit_heads WHERE company_id = $1::uuid)";
/* clang-format on */

static int
usage(void)
{
	fprintf(stderr,
	    "usage: parleyctl audit verify [-c FILE] [--company ID] "
	    "[--log FILE]...\n");
	return 2;
}

/* Decodes 64 hex digits into 'out'. Returns 0, or -1 for anything else. */
static int
hex32(const char *s, unsigned char out[32])
{
	size_t i;
	int    hi, lo;

	if (s == NULL || strlen(s) != 64)
		return -1;
	for (i = 0; i < 32; i++) {
		if ((hi = hex_digit(s[2 * i])) == -1 ||
		    (lo = hex_digit(s[2 * i + 1])) == -1)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

/* Parses a whole decimal number. Returns 0, or -1 for anything else. */
static int
parse_ll(const char *s, long long *out)
{
	char	 *end;
	long long v;

	if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

static size_t
cp_hash(const char *id)
{
	size_t h = 2166136261u;

	while (*id != '\0')
		h = (h ^ (unsigned char)*id++) * 16777619u;
	return h;
}

/* The slot of 'id' (lowercase), or the free slot where it would go. */
static struct av_cp *
cp_slot(struct av_cp *slot, size_t cap, const char *id)
{
	size_t i = cp_hash(id) & (cap - 1);

	while (slot[i].id[0] != '\0' && strcmp(slot[i].id, id) != 0)
		i = (i + 1) & (cap - 1);
	return &slot[i];
}

/* Returns the checkpoint of 'id' (lowercase), or NULL if none was read. */
static struct av_cp *
cp_find(const struct av_cps *t, const char *id)
{
	struct av_cp *p;

	if (t->cap == 0)
		return NULL;
	p = cp_slot(t->slot, t->cap, id);
	return p->id[0] != '\0' ? p : NULL;
}

/*
 * Returns the checkpoint of 'id' (lowercase), adding an empty one (seq 0)
 * if needed. NULL when AV_MAX_COMPANIES are held or memory ran out.
 */
static struct av_cp *
cp_get(struct av_cps *t, const char *id)
{
	struct av_cp *p;

	if ((p = cp_find(t, id)) != NULL)
		return p;
	if (t->n == AV_MAX_COMPANIES)
		return NULL;
	if ((t->n + 1) * 4 > t->cap * 3) {
		size_t	      cap = t->cap == 0 ? 1024 : t->cap * 2, i;
		struct av_cp *s;

		if ((s = calloc(cap, sizeof(*s))) == NULL)
			return NULL;
		for (i = 0; i < t->cap; i++)
			if (t->slot[i].id[0] != '\0')
				*cp_slot(s, cap, t->slot[i].id) = t->slot[i];
		free(t->slot);
		t->slot = s;
		t->cap = cap;
	}
	p = cp_slot(t->slot, t->cap, id);
	memcpy(p->id, id, sizeof(p->id));
	t->n++;
	return p;
}

static void
cp_free(struct av_cps *t)
{
	free(t->slot);
	t->slot = NULL;
	t->cap = t->n = 0;
}

/* Copies UUID 's' in lower case into 'out'. Returns 0, or -1 if invalid. */
static int
uuid_lower(const char *s, char out[37])
{
	size_t i;

	if (!db_uuid_valid(s))
		return -1;
	for (i = 0; i < 36; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	out[36] = '\0';
	return 0;
}

/*
 * Takes the checkpoint in one log 'line', if it holds one, keeping the
 * highest count per company. Returns 1 if taken, 0 if the line is no
 * checkpoint, 2 if it names itself one but is malformed, -1 when the table
 * is full.
 */
static int
log_line(struct av_cps *t, const char *line)
{
	json_t	     *o = NULL, *count;
	json_error_t  jerr;
	const char   *ev, *start;
	char	      id[37];
	unsigned char digest[32];
	struct av_cp *p;
	int	      rc = 0;

	/* parleyd's lines are one JSON object; a prefix (syslog) may precede. */
	if (strstr(line, "audit_checkpoint") == NULL ||
	    (start = strchr(line, '{')) == NULL)
		return 0;
	if ((o = json_loads(start, JSON_REJECT_DUPLICATES, &jerr)) == NULL ||
	    !json_is_object(o))
		goto out;
	ev = json_string_value(json_object_get(o, "event"));
	if (ev == NULL || strcmp(ev, "audit_checkpoint") != 0)
		goto out;
	rc = 2;
	count = json_object_get(o, "count");
	if (uuid_lower(json_string_value(json_object_get(o, "resource")), id) ==
		-1 ||
	    !json_is_integer(count) || json_integer_value(count) < 1 ||
	    hex32(json_string_value(json_object_get(o, "digest")), digest) ==
		-1)
		goto out;
	if ((p = cp_get(t, id)) == NULL) {
		rc = -1;
		goto out;
	}
	if (json_integer_value(count) > p->seq) {
		p->seq = json_integer_value(count);
		memcpy(p->digest, digest, sizeof(digest));
		p->conflict = 0;
	} else if (json_integer_value(count) == p->seq &&
	    !crypto_equal(p->digest, digest, sizeof(digest)))
		p->conflict = 1;
	rc = 1;
out:
	json_decref(o);
	return rc;
}

/*
 * Reads parleyd's log 'path' ("-": standard input) into 't'. Returns the
 * number of checkpoints taken, or -1 with a message on stderr.
 */
static long
log_read(struct av_cps *t, const char *path)
{
	static char line[AV_MAX_LINE];
	FILE	   *f;
	long	    taken = 0, bad = 0, lineno = 0;
	int	    r;

	if (strcmp(path, "-") == 0)
		f = stdin;
	else if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "parleyctl: audit verify: %s: %s\n", path,
		    strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t len = strlen(line);

		lineno++;
		if (len == sizeof(line) - 1 && line[len - 1] != '\n') {
			int ch;

			/* Longer than any line parleyd writes: skip it. */
			while ((ch = getc(f)) != EOF && ch != '\n')
				continue;
			bad++;
			continue;
		}
		if ((r = log_line(t, line)) == -1) {
			fprintf(stderr,
			    "parleyctl: audit verify: %s:%ld: more than %d "
			    "companies in the logs\n",
			    path, lineno, AV_MAX_COMPANIES);
			taken = -1;
			goto out;
		}
		if (r == 1)
			taken++;
		else if (r == 2)
			bad++;
	}
	if (ferror(f)) {
		fprintf(
		    stderr, "parleyctl: audit verify: %s: read error\n", path);
		taken = -1;
		goto out;
	}
	if (bad > 0)
		fprintf(stderr,
		    "parleyctl: audit verify: %s: %ld overlong or malformed "
		    "checkpoint lines ignored\n",
		    path, bad);
out:
	if (f != stdin)
		fclose(f);
	return taken;
}

/* Prints a database error; always returns -1. */
static int
db_fail(const char *what, const PGconn *c, const PGresult *res)
{
	const char *state =
	    res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	fprintf(stderr, "parleyctl: audit verify: %s: %s", what,
	    res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(c));
	/* Refused by row security or privileges, or the schema is hidden. */
	if (state != NULL &&
	    (strcmp(state, "42501") == 0 || strcmp(state, "42P01") == 0))
		fprintf(stderr,
		    "parleyctl: audit verify: PARLEY_AUDIT_DATABASE_URL must "
		    "name a role that reads every company's rows: a superuser, "
		    "or a role with BYPASSRLS, USAGE on the schema and SELECT "
		    "on audit_log, audit_heads and companies\n");
	return -1;
}

/* Runs a literal statement that returns no rows. Returns 0 or -1. */
static int
run(PGconn *c, const char *what, PGresult *res)
{
	int rc = 0;

	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		rc = db_fail(what, c, res);
	PQclear(res);
	return rc;
}

/* Marks entry 'at' as the first broken one, for 'why'. */
static void
broken(struct av_chain *ch, long long at, enum av_reason why)
{
	ch->at = at;
	ch->why = why;
}

/*
 * Checks the entry in 'row' of 'res' (columns as q_entries) against the
 * chain so far under 'key', and the checkpoint 'cp' (may be NULL).
 * Advances the chain, or marks it broken. Returns 0, or -1 when out of
 * memory.
 */
static int
entry_check(struct av_chain *ch, const PGresult *res, int row,
    const unsigned char *key, size_t keylen, const struct av_cp *cp)
{
	const char   *v[14];
	json_t	     *fields = NULL, *changes = NULL;
	char	     *canon = NULL;
	unsigned char prev[32], mac[32], want[32];
	long long     seq, created;
	int	      i, cut = 0, rc = 0;

	for (i = 0; i < 14; i++) {
		v[i] =
		    PQgetisnull(res, row, i) ? NULL : PQgetvalue(res, row, i);
		if (PQgetlength(res, row, i) > AV_MAX_VALUE)
			cut = 1; /* cannot verify: see AV_MAX_VALUE */
	}
	if (parse_ll(v[0], &seq) == -1) {
		broken(ch, ch->n + 1, AV_GAP);
		goto out;
	}
	if (seq <= ch->n) {
		broken(ch, seq, AV_LINK); /* a repeated number */
		goto out;
	}
	if (seq != ch->n + 1) {
		broken(ch, ch->n + 1, AV_GAP);
		goto out;
	}
	if (hex32(v[12], prev) == -1 ||
	    !crypto_equal(prev, ch->last, sizeof(prev))) {
		broken(ch, seq, AV_LINK);
		goto out;
	}
	/* The JSON values as audit_write() stored them, parsed back. */
	if (cut || parse_ll(v[1], &created) == -1 || v[7] == NULL ||
	    (fields = json_loads(v[7], JSON_DECODE_ANY, NULL)) == NULL ||
	    (v[8] != NULL &&
		(changes = json_loads(v[8], JSON_DECODE_ANY, NULL)) == NULL) ||
	    hex32(v[13], want) == -1) {
		broken(ch, seq, AV_HMAC);
		goto out;
	}
	if ((canon = audit_canonical(ch->id, seq, created, v[2], v[3], v[4],
		 v[5], v[6], fields, changes, v[9], v[10], v[11])) == NULL) {
		rc = -1;
		goto out;
	}
	if (audit_mac(key, keylen, prev, canon, mac) == -1 ||
	    !crypto_equal(mac, want, sizeof(mac))) {
		broken(ch, seq, AV_HMAC);
		goto out;
	}
	if (cp != NULL && cp->seq == seq &&
	    (cp->conflict || !crypto_equal(cp->digest, want, sizeof(want)))) {
		broken(ch, seq, AV_CHECKPOINT);
		goto out;
	}
	ch->n = seq;
	memcpy(ch->last, want, sizeof(want));
out:
	free(canon);
	json_decref(fields);
	json_decref(changes);
	return rc;
}

/* Compares the head row in 'res' (q_head) with the chain's last entry. */
static void
head_check(struct av_chain *ch, const PGresult *res)
{
	unsigned char h[32];
	long long     seq;

	if (PQntuples(res) == 0) {
		if (ch->n != 0)
			broken(ch, ch->n, AV_HEAD);
	} else if (parse_ll(PQgetvalue(res, 0, 0), &seq) == -1 ||
	    hex32(PQgetvalue(res, 0, 1), h) == -1)
		broken(ch, ch->n > 0 ? ch->n : 1, AV_HEAD);
	else if (seq > ch->n)
		broken(ch, ch->n + 1, AV_HEAD); /* entries missing after n */
	else if (seq < ch->n)
		broken(ch, seq + 1, AV_HEAD); /* entries beyond the head */
	else if (!crypto_equal(h, ch->last, sizeof(h)))
		broken(ch, ch->n > 0 ? ch->n : 1, AV_HEAD);
}

/*
 * Verifies company 'id' (lowercase) and prints its line. 'cp' (may be
 * NULL) is its latest logged checkpoint. Returns 0 if it verifies, 1 if it
 * is broken, -1 on a database error (the transaction is then aborted).
 */
static int
company_verify(PGconn *c, const char *id, const struct av_cp *cp,
    const unsigned char *key, size_t keylen)
{
	struct av_chain ch;
	PGresult       *res = NULL;
	const char     *p[1] = { id };
	int		i, rows, rc = -1;

	memset(&ch, 0, sizeof(ch));
	ch.id = id;
	res = PQexecParams(c, q_entries, 1, NULL, p, NULL, NULL, 0);
	if (run(c, "reading entries", res) == -1)
		return -1;
	do {
		res = PQexec(c, "FETCH " AV_BATCH_SQL " FROM av_entries");
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			db_fail("reading entries", c, res);
			goto out;
		}
		rows = PQntuples(res);
		for (i = 0; i < rows && ch.why == AV_OK; i++)
			if (entry_check(&ch, res, i, key, keylen, cp) == -1) {
				fprintf(stderr,
				    "parleyctl: audit verify: out of memory\n");
				goto out;
			}
		PQclear(res);
		res = NULL;
	} while (rows == AV_BATCH && ch.why == AV_OK);
	if (run(c, "reading entries", PQexec(c, "CLOSE av_entries")) == -1)
		goto out;

	res = PQexecParams(c, q_head, 1, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		db_fail("reading the head", c, res);
		goto out;
	}
	/* A checkpoint beyond the end says more than a head that is too. */
	if (ch.why == AV_OK && cp != NULL && cp->seq > ch.n)
		broken(&ch, ch.n + 1, AV_TAIL);
	else if (ch.why == AV_OK)
		head_check(&ch, res);

	if (ch.why == AV_OK && cp != NULL)
		printf("ok %s %lld entries, head %lld, checkpoint %lld\n", id,
		    ch.n, ch.n, cp->seq);
	else if (ch.why == AV_OK)
		printf("ok %s %lld entries, head %lld, checkpoint none\n", id,
		    ch.n, ch.n);
	else if (ch.why == AV_TAIL)
		printf("BROKEN %s at entry %lld: %s: checkpoint %lld is beyond "
		       "the last entry\n",
		    id, ch.at, av_reasons[AV_TAIL], cp->seq);
	else
		printf("BROKEN %s at entry %lld: %s\n", id, ch.at,
		    av_reasons[ch.why]);
	fflush(stdout);
	rc = ch.why == AV_OK ? 0 : 1;
out:
	PQclear(res);
	return rc;
}

static int
cmp_cp(const void *a, const void *b)
{
	return strcmp((*(const struct av_cp *const *)a)->id,
	    (*(const struct av_cp *const *)b)->id);
}

/*
 * Returns 1 (saying so) if company 'id' was deleted (a tombstone), 0 if
 * not, -1 on a database error.
 */
static int
tombstoned(PGconn *c, const char *id)
{
	const char *p[1] = { id };
	PGresult   *res;
	int	    rc;

	res = PQexecParams(c,
	    "SELECT deleted_at FROM company_tombstones WHERE company_id = "
	    "$1::uuid",
	    1, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = db_fail("reading the tombstones", c, res);
	else if ((rc = PQntuples(res) == 1))
		printf("ok %s deleted at %s (its log went with it)\n", id,
		    PQgetvalue(res, 0, 0));
	PQclear(res);
	return rc;
}

/*
 * Verifies every company with entries or a moved head, then those known
 * only from a checkpoint (all of whose entries are gone), unless deleted. Returns the
 * number of broken companies, or -1 on a database error.
 */
static int
verify_all(PGconn *c, struct av_cps *t, const unsigned char *key, size_t keylen)
{
	PGresult      *res = NULL;
	struct av_cp **rest = NULL;
	size_t	       i, n = 0;
	int	       j, rows, r, nbroken = 0, rc = -1;

	res = PQexecParams(c, q_companies, 0, NULL, NULL, NULL, NULL, 0);
	if (run(c, "listing companies", res) == -1)
		return -1;
	res = NULL;
	do {
		res = PQexec(c, "FETCH " AV_BATCH_SQL " FROM av_companies");
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			db_fail("listing companies", c, res);
			goto out;
		}
		rows = PQntuples(res);
		for (j = 0; j < rows; j++) {
			const char   *id = PQgetvalue(res, j, 0);
			struct av_cp *cp = cp_find(t, id);

			if (cp != NULL)
				cp->done = 1;
			if ((r = company_verify(c, id, cp, key, keylen)) == -1)
				goto out;
			nbroken += r;
		}
		PQclear(res);
		res = NULL;
	} while (rows == AV_BATCH);
	if (run(c, "listing companies", PQexec(c, "CLOSE av_companies")) == -1)
		goto out;

	if (t->n > 0 && (rest = calloc(t->n, sizeof(*rest))) == NULL) {
		fprintf(stderr, "parleyctl: audit verify: out of memory\n");
		goto out;
	}
	for (i = 0; i < t->cap; i++)
		if (t->slot[i].id[0] != '\0' && !t->slot[i].done)
			rest[n++] = &t->slot[i];
	if (n > 0)
		qsort(rest, n, sizeof(*rest), cmp_cp);
	for (i = 0; i < n; i++) {
		/* A company deleted on purpose took its log along. */
		if ((r = tombstoned(c, rest[i]->id)) == 1)
			continue;
		if (r == -1 ||
		    (r = company_verify(
			 c, rest[i]->id, rest[i], key, keylen)) == -1)
			goto out;
		nbroken += r;
	}
	rc = nbroken;
out:
	PQclear(res);
	free(rest);
	return rc;
}

/* Returns 1 if 'id' is a company or has audit rows, 0 if not, -1. */
static int
company_known(PGconn *c, const char *id)
{
	const char *p[1] = { id };
	PGresult   *res;
	int	    rc;

	res = PQexecParams(c, q_known, 1, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		rc = db_fail("looking up the company", c, res);
	else
		rc = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return rc;
}

/* Connects with 'url' and opens the read-only snapshot. NULL on failure. */
static PGconn *
connect_db(const char *url, int timeout)
{
	const char *keys[] = { "dbname", "connect_timeout", "application_name",
		"client_encoding", NULL };
	const char *vals[5];
	char	    t[16];
	PGconn	   *c;

	snprintf(t, sizeof(t), "%d", timeout);
	vals[0] = url;
	vals[1] = t;
	vals[2] = "parleyctl-audit-verify";
	vals[3] = "UTF8"; /* what parleyd sends */
	vals[4] = NULL;
	if ((c = PQconnectdbParams(keys, vals, 1)) == NULL) {
		fprintf(stderr, "parleyctl: audit verify: out of memory\n");
		return NULL;
	}
	if (PQstatus(c) != CONNECTION_OK) {
		/* libpq's message names host and user, never the password. */
		fprintf(
		    stderr, "parleyctl: audit verify: %s", PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	if (run(c, "starting",
		PQexec(
		    c, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")) ==
		-1 ||
	    /* Refuse rather than read a filtered, clean-looking log. */
	    run(c, "starting", PQexec(c, "SET LOCAL row_security = off")) ==
		-1) {
		PQfinish(c);
		return NULL;
	}
	return c;
}

int
audit_verify_main(int argc, char *argv[])
{
	static struct conf   cfg;
	struct av_cps	     cps = { NULL, 0, 0 };
	const char	    *file = getenv("PARLEY_CONFIG");
	const char	    *url = getenv("PARLEY_AUDIT_DATABASE_URL");
	const char	    *logs[AV_MAX_LOGS];
	const unsigned char *key;
	static unsigned char akey[256];
	char		     err[512], company[37] = "";
	PGconn		    *c = NULL;
	size_t		     keylen, nlogs = 0, i;
	long		     taken = 0, n;
	int		     a, r, rc = 2;

	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "-c") == 0 && a + 1 < argc)
			file = argv[++a];
		else if (strcmp(argv[a], "--company") == 0 && a + 1 < argc &&
		    company[0] == '\0') {
			if (uuid_lower(argv[++a], company) == -1) {
				fprintf(stderr,
				    "parleyctl: audit verify: --company takes "
				    "a company id (a UUID)\n");
				return 2;
			}
		} else if (strcmp(argv[a], "--log") == 0 && a + 1 < argc) {
			if (nlogs == AV_MAX_LOGS) {
				fprintf(stderr,
				    "parleyctl: audit verify: at most %d "
				    "--log files\n",
				    AV_MAX_LOGS);
				return 2;
			}
			logs[nlogs++] = argv[++a];
		} else
			return usage();
	}
	if (file != NULL && *file == '\0')
		file = NULL;
	/* The audit key alone: the machine that verifies needs no other. */
	if (conf_load(&cfg, file, err, sizeof(err)) == -1 ||
	    keys_read_file("audit_key_file (PARLEY_AUDIT_KEY_FILE)",
		cfg.audit_key_file, akey, sizeof(akey), &keylen, err,
		sizeof(err)) == -1) {
		fprintf(stderr, "parleyctl: audit verify: %s\n", err);
		goto out;
	}
	key = akey;
	if (url == NULL || *url == '\0') {
		fprintf(stderr,
		    "parleyctl: audit verify: set PARLEY_AUDIT_DATABASE_URL to "
		    "a connection string of a role that reads every company's "
		    "audit rows (a superuser, or a role with BYPASSRLS)\n");
		goto out;
	}
	if (!db_conninfo_valid(url)) {
		/* Never echoed: it may hold a password. */
		fprintf(stderr,
		    "parleyctl: audit verify: PARLEY_AUDIT_DATABASE_URL is not "
		    "a valid libpq connection string\n");
		goto out;
	}

	/* The logs first: see the comment at the top of the file. */
	for (i = 0; i < nlogs; i++) {
		if ((n = log_read(&cps, logs[i])) == -1)
			goto out;
		taken += n;
	}
	if (nlogs == 0)
		fprintf(stderr,
		    "parleyctl: audit verify: no --log: a deleted tail cannot "
		    "be detected without parleyd's audit_checkpoint lines\n");
	else if (taken == 0)
		fprintf(stderr,
		    "parleyctl: audit verify: no audit_checkpoint lines in the "
		    "logs\n");

	if ((c = connect_db(url, cfg.db_connect_timeout)) == NULL)
		goto out;
	if (company[0] != '\0') {
		struct av_cp *cp = cp_find(&cps, company);

		if ((r = company_known(c, company)) == -1)
			goto out;
		if (r == 0 && cp == NULL) {
			fprintf(stderr,
			    "parleyctl: audit verify: no company %s\n",
			    company);
			goto out;
		}
		r = company_verify(c, company, cp, key, keylen);
	} else
		r = verify_all(c, &cps, key, keylen);
	if (r == -1)
		goto out;
	rc = r > 0 ? 1 : 0;
out:
	if (c != NULL)
		PQfinish(c);
	cp_free(&cps);
	crypto_wipe(&cfg, sizeof(cfg));
	crypto_wipe(akey, sizeof(akey));
	return rc;
}
