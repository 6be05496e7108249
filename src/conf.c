/*
 * conf.c: declared configuration keys, file and environment parsing.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "limits.h"
#include "log.h"

#define K_STR(n, f, minlen, d, h)                                              \
	{                                                                      \
		n, CK_STR, offsetof(struct conf, f),                           \
		    sizeof(((struct conf *)0)->f), minlen, 0, d, h             \
	}
#define K_INT(n, f, lo, hi, d, h)                                              \
	{                                                                      \
		n, CK_INT, offsetof(struct conf, f), 0, lo, hi, d, h           \
	}

const struct conf_key conf_keys[] = {
	K_STR("listen", listen, 3, "unix:/run/parley/parleyd.sock",
	    "FastCGI socket: unix:/path, or 127.0.0.1:port (loopback only)"),
	{ "socket_mode", CK_OCTAL, offsetof(struct conf, socket_mode), 0, 0,
	    0777, "0660", "permissions of the unix socket (octal)" },
	K_INT("workers", workers, 1, PRL_MAX_WORKERS, "4",
	    "number of pre-forked request workers"),
	K_INT("backlog", backlog, 1, 65535, "1024",
	    "listen(2) backlog of the FastCGI socket"),
	K_INT("shutdown_timeout", shutdown_timeout, 0, 600, "10",
	    "seconds in-flight requests get to finish on stop or reload"),
	K_INT("max_requests", max_requests, 0, 100000000, "0",
	    "a worker exits and is replaced after this many requests; 0 never"),
	K_STR("database_url", database_url, 0, "",
	    "libpq connection string of the runtime role (secret: never "
	    "logged)"),
	K_INT("db_connect_timeout", db_connect_timeout, 1, 60, "5",
	    "seconds to wait when connecting to PostgreSQL"),
	K_STR("log_level", log_level, 4, "info", "debug, info, warn or error"),
	K_STR("instance_name", instance_name, 1, "parley",
	    "name reported by GET /api/v1/meta"),
};
const size_t conf_nkeys = sizeof(conf_keys) / sizeof(conf_keys[0]);

static const struct conf_key *
conf_find(const char *name)
{
	size_t i;

	for (i = 0; i < conf_nkeys; i++)
		if (strcmp(conf_keys[i].name, name) == 0)
			return &conf_keys[i];
	return NULL;
}

/* Parses a whole decimal or octal number; no sign games, no junk. */
static int
parse_long(const char *s, int base, long *out)
{
	char *end;
	long  v;

	if (*s == '\0' || isspace((unsigned char)*s) || *s == '+')
		return -1;
	errno = 0;
	v = strtol(s, &end, base);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

int
conf_set(struct conf *c, const char *key, const char *value, char *err,
    size_t errlen)
{
	const struct conf_key *k;
	char		      *p;
	long		       v;
	size_t		       len;

	if ((k = conf_find(key)) == NULL) {
		snprintf(err, errlen, "unknown configuration key '%s'", key);
		return -1;
	}
	p = (char *)c + k->off;
	switch (k->type) {
	case CK_STR:
		len = strlen(value);
		if (len >= k->size || (long)len < k->min) {
			snprintf(err, errlen, "%s: length must be %ld to %zu",
			    key, k->min, k->size - 1);
			return -1;
		}
		memcpy(p, value, len + 1);
		break;
	case CK_INT:
		if (parse_long(value, 10, &v) == -1 || v < k->min ||
		    v > k->max) {
			snprintf(err, errlen,
			    "%s: must be an integer from %ld to %ld", key,
			    k->min, k->max);
			return -1;
		}
		*(int *)(void *)p = (int)v;
		break;
	case CK_OCTAL:
		if (parse_long(value, 8, &v) == -1 || v < k->min ||
		    v > k->max) {
			snprintf(err, errlen,
			    "%s: must be an octal mode such as 0660", key);
			return -1;
		}
		*(int *)(void *)p = (int)v;
		break;
	}
	return 0;
}

/* Checks relations between keys once all sources are read. */
static int
conf_check(const struct conf *c, char *err, size_t errlen)
{
	enum log_level lvl;

	if (log_level_parse(c->log_level, &lvl) == -1) {
		snprintf(err, errlen,
		    "log_level: must be debug, info, warn or error");
		return -1;
	}
	if (strncmp(c->listen, "unix:/", 6) == 0)
		return 0;
	if (strncmp(c->listen, "127.", 4) == 0 && strchr(c->listen, ':')) {
		long port;

		if (parse_long(strchr(c->listen, ':') + 1, 10, &port) == 0 &&
		    port > 0 && port < 65536)
			return 0;
	}
	snprintf(err, errlen,
	    "listen: must be unix:/absolute/path or 127.x.y.z:port (FastCGI is "
	    "never exposed beyond loopback)");
	return -1;
}

static int
conf_load_file(struct conf *c, const char *file, char *err, size_t errlen)
{
	FILE *f;
	char  line[PRL_MAX_CONFIG_LINE + 2];
	char  sub[256];
	int   lineno = 0, rc = -1;

	if ((f = fopen(file, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char  *k, *v, *eq, *end;
		size_t len;

		lineno++;
		len = strlen(line);
		if (len > PRL_MAX_CONFIG_LINE) {
			snprintf(
			    err, errlen, "%s:%d: line too long", file, lineno);
			goto out;
		}
		while (len > 0 && isspace((unsigned char)line[len - 1]))
			line[--len] = '\0';
		k = line;
		while (isspace((unsigned char)*k))
			k++;
		if (*k == '\0' || *k == '#')
			continue;
		if ((eq = strchr(k, '=')) == NULL) {
			snprintf(err, errlen, "%s:%d: expected key = value",
			    file, lineno);
			goto out;
		}
		end = eq;
		while (end > k && isspace((unsigned char)end[-1]))
			end--;
		*end = '\0';
		v = eq + 1;
		while (isspace((unsigned char)*v))
			v++;
		if (conf_set(c, k, v, sub, sizeof(sub)) == -1) {
			snprintf(err, errlen, "%s:%d: %s", file, lineno, sub);
			goto out;
		}
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error", file);
		goto out;
	}
	rc = 0;
out:
	fclose(f);
	return rc;
}

int
conf_load(struct conf *c, const char *file, char *err, size_t errlen)
{
	char   envname[96];
	size_t i, j;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < conf_nkeys; i++)
		if (conf_set(c, conf_keys[i].name, conf_keys[i].def, err,
			errlen) == -1)
			return -1;
	if (file != NULL && conf_load_file(c, file, err, errlen) == -1)
		return -1;
	for (i = 0; i < conf_nkeys; i++) {
		const char *v;

		snprintf(
		    envname, sizeof(envname), "PARLEY_%s", conf_keys[i].name);
		for (j = 7; envname[j] != '\0'; j++)
			envname[j] = (char)toupper((unsigned char)envname[j]);
		if ((v = getenv(envname)) == NULL)
			continue;
		if (conf_set(c, conf_keys[i].name, v, err, errlen) == -1) {
			char sub[256];

			snprintf(sub, sizeof(sub), "%s", err);
			snprintf(err, errlen, "%s (from %s)", sub, envname);
			return -1;
		}
	}
	return conf_check(c, err, errlen);
}
