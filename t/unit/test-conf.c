/* Unit tests: configuration parsing of src/conf.c. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "tap.h"
#include "util.h"

static const struct {
	const char *key, *value;
	int	    ok;
} sets[] = {
	{ "workers", "8", 0 },
	{ "workers", "0", -1 },
	{ "workers", "257", -1 },
	{ "workers", "8x", -1 },
	{ "workers", " 8", -1 },
	{ "workers", "+8", -1 },
	{ "workers", "", -1 },
	{ "workers", "99999999999999999999", -1 },
	{ "socket_mode", "0660", 0 },
	{ "socket_mode", "0999", -1 },
	{ "log_level", "debug", 0 },
	{ "no_such_key", "1", -1 },
	{ "instance_name", "", -1 },
};

static int
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fputs(text, f);
	return fclose(f);
}

int
main(void)
{
	struct conf c;
	char	    err[512], path[] = "/tmp/parley-conf-XXXXXX";
	size_t	    i;
	int	    fd;

	memset(&c, 0, sizeof(c));
	for (i = 0; i < nitems(sets); i++)
		tap_is_int(
		    conf_set(&c, sets[i].key, sets[i].value, err, sizeof(err)),
		    sets[i].ok, "%s = '%s'", sets[i].key, sets[i].value);

	unsetenv("PARLEY_WORKERS");
	unsetenv("PARLEY_LISTEN");
	tap_is_int(conf_load(&c, NULL, err, sizeof(err)), 0, "defaults load");
	tap_is_int(c.workers, 4, "default workers");
	tap_is_int(c.socket_mode, 0660, "default socket mode");

	if ((fd = mkstemp(path)) == -1)
		return 1;
	close(fd);
	write_file(
	    path, "# comment\n\n  workers = 3 \nlisten=unix:/tmp/x.sock\n");
	tap_is_int(conf_load(&c, path, err, sizeof(err)), 0, "file loads");
	tap_is_int(c.workers, 3, "file sets workers");
	tap_is_str(c.listen, "unix:/tmp/x.sock", "file sets listen");

	setenv("PARLEY_WORKERS", "5", 1);
	tap_is_int(conf_load(&c, path, err, sizeof(err)), 0, "env loads");
	tap_is_int(c.workers, 5, "environment wins over file");
	setenv("PARLEY_WORKERS", "many", 1);
	tap_is_int(
	    conf_load(&c, path, err, sizeof(err)), -1, "bad env refused");
	tap_ok(strstr(err, "PARLEY_WORKERS") != NULL,
	    "error names the variable: %s", err);
	unsetenv("PARLEY_WORKERS");

	write_file(path, "workers 3\n");
	tap_is_int(conf_load(&c, path, err, sizeof(err)), -1,
	    "line without = refused");
	tap_ok(strstr(err, ":1:") != NULL, "error names the line: %s", err);
	write_file(path, "bogus = 1\n");
	tap_is_int(
	    conf_load(&c, path, err, sizeof(err)), -1, "unknown key refused");
	write_file(path, "listen = 0.0.0.0:9000\n");
	tap_is_int(conf_load(&c, path, err, sizeof(err)), -1,
	    "non-loopback TCP listen refused");
	write_file(path, "listen = 127.0.0.1:9000\n");
	tap_is_int(conf_load(&c, path, err, sizeof(err)), 0,
	    "loopback TCP listen accepted");
	unlink(path);
	tap_is_int(
	    conf_load(&c, path, err, sizeof(err)), -1, "missing file refused");
	return tap_done();
}
