/*
 * log.c: one JSON object per line on stderr, written with a single write(2)
 * so lines from many workers sharing the file do not interleave.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "limits.h"
#include "log.h"

static enum log_level min_level = LOG_INFO;
static const char    *log_role = "parley";
static char	      log_req_id[PRL_REQUEST_ID_LEN + 1];

static const char *const level_names[LOG_LEVEL__MAX] = {
	"debug",
	"info",
	"warn",
	"error",
};

/*
 * The only field names that reach the log. Values under these keys are
 * ids, counts, codes and route patterns. Adding a key is a reviewed change.
 */
static const char *const allowed_keys[] = {
	/* A credential-stuffing source's address only (src/detect.c): the
	 * operator must be able to block it; nginx logs addresses anyway. */
	"addr",
	"alert",
	"attempt",
	"attempts",
	"blocked",
	"code",
	"company",
	"constraint",
	"conversations_anonymised",
	"conversations_deleted",
	"count",
	"deliveries_deleted",
	"digest",
	"directive",
	"document",
	"dur_ms",
	"dur_us",
	"endpoint",
	"error",
	"exit",
	"finished",
	"first_ms",
	"found",
	"handed_back",
	"handed_off",
	"file",
	"generation",
	"listen",
	"messages_deleted",
	"messages",
	"method",
	"path",
	"pid",
	"reason",
	"requeued",
	"resource",
	"route",
	"rule",
	"schema",
	"severity",
	"signal",
	"sqlstate",
	"status",
	"streams",
	"version",
	"visitors_anonymised",
	"visitors_deleted",
	"wait_ms",
	"worker",
	"workers",
};

int
log_key_allowed(const char *key)
{
	size_t i;

	for (i = 0; i < sizeof(allowed_keys) / sizeof(allowed_keys[0]); i++)
		if (strcmp(key, allowed_keys[i]) == 0)
			return 1;
	return 0;
}

void
log_init(enum log_level min, const char *role)
{
	min_level = min;
	log_role = role;
}

int
log_level_parse(const char *s, enum log_level *out)
{
	int i;

	for (i = 0; i < LOG_AUDIT; i++)
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	return -1;
}

void
log_set_request_id(const char *id)
{
	if (id == NULL)
		log_req_id[0] = '\0';
	else
		(void)snprintf(log_req_id, sizeof(log_req_id), "%s", id);
}

void
log_kv_write(
    enum log_level lvl, const char *event, const struct log_kv *kv, size_t n)
{
	json_t	       *o = NULL;
	char	       *line = NULL;
	char		ts[40];
	struct timespec now;
	struct tm	tm;
	size_t		i, len;
	int		saved_errno = errno;

	if ((lvl < min_level && lvl != LOG_AUDIT) || lvl >= LOG_LEVEL__MAX)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	len = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	(void)snprintf(
	    ts + len, sizeof(ts) - len, ".%03ldZ", now.tv_nsec / 1000000);

	if ((o = json_object()) == NULL)
		goto out;
	json_object_set_new(o, "ts", json_string(ts));
	json_object_set_new(o, "level", json_string(level_names[lvl]));
	json_object_set_new(o, "role", json_string(log_role));
	json_object_set_new(o, "pid", json_integer((json_int_t)getpid()));
	json_object_set_new(o, "event", json_string(event));
	if (log_req_id[0] != '\0')
		json_object_set_new(o, "req_id", json_string(log_req_id));
	for (i = 0; i < n; i++) {
		if (kv[i].key == NULL || !log_key_allowed(kv[i].key))
			continue;
		if (kv[i].type == LOG_KV_INT)
			json_object_set_new(
			    o, kv[i].key, json_integer((json_int_t)kv[i].i));
		else if (kv[i].s != NULL)
			/* Invalid UTF-8 yields NULL and the field is dropped. */
			json_object_set_new(o, kv[i].key,
			    json_stringn(kv[i].s, strnlen(kv[i].s, 512)));
	}
	if ((line = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII)) == NULL)
		goto out;
	len = strlen(line);
	if (len > PRL_MAX_LOG_LINE - 1)
		len = PRL_MAX_LOG_LINE - 1;
	line[len] = '\n';
	/* Nothing sensible to do if stderr is gone. */
	if (write(STDERR_FILENO, line, len + 1) < 0)
		errno = saved_errno;
out:
	free(line);
	json_decref(o);
	errno = saved_errno;
}
