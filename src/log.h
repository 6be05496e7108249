/*
 * log.h: structured JSON-line logging to stderr.
 *
 * The logger takes only a fixed set of field names (see log.c); anything
 * else is dropped, so a secret cannot reach the log by a new key. Values
 * are never secrets: callers log ids, counts, codes and route patterns,
 * never passwords, tokens, message text or connection strings.
 */
#ifndef PARLEY_LOG_H
#define PARLEY_LOG_H

#include <stddef.h>

enum log_level {
	LOG_DEBUG,
	LOG_INFO,
	LOG_WARN,
	LOG_ERROR,
	LOG_AUDIT, /* never filtered out: audit checkpoints */
	LOG_LEVEL__MAX
};

enum log_kv_type { LOG_KV_STR, LOG_KV_INT };

struct log_kv {
	const char	*key;
	enum log_kv_type type;
	const char	*s;
	long long	 i;
};

#define LOG_S(k, v) ((struct log_kv){ (k), LOG_KV_STR, (v), 0 })
#define LOG_I(k, v) ((struct log_kv){ (k), LOG_KV_INT, NULL, (long long)(v) })

/* Sets the minimum level and the process role ("master", "worker", …). */
void log_init(enum log_level min, const char *role);
/* Parses "debug", "info", "warn" or "error"; returns -1 otherwise. */
int log_level_parse(const char *s, enum log_level *out);
/* Sets the request id added to every line until cleared with NULL. */
void log_set_request_id(const char *id);
void log_kv_write(
    enum log_level, const char *event, const struct log_kv *kv, size_t n);
/* Returns 1 if 'key' may be logged. */
int log_key_allowed(const char *key);

#define log_event(lvl, ev, ...)                                                \
	log_kv_write((lvl), (ev), (const struct log_kv[]){ __VA_ARGS__ },      \
	    sizeof((const struct log_kv[]){ __VA_ARGS__ }) /                   \
		sizeof(struct log_kv))
#define log_msg(lvl, ev) log_kv_write((lvl), (ev), NULL, 0)

#endif
