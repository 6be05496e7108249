/*
 * parleyd: the parley FastCGI application server.
 *
 * usage: parleyd [-c config-file] [-t]
 *   -c  key = value configuration file (default: $PARLEY_CONFIG, if set)
 *   -t  check the configuration and exit
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <curl/curl.h>

#include "conf.h"
#include "server_keys.h"
#include "log.h"
#include "master.h"

static void
usage(void)
{
	fprintf(stderr, "usage: parleyd [-c config-file] [-t] [-V]\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	struct conf    cfg;
	const char    *file = getenv("PARLEY_CONFIG");
	char	       err[512];
	enum log_level lvl;
	int	       ch, test_only = 0;

	while ((ch = getopt(argc, argv, "c:tV")) != -1)
		switch (ch) {
		case 'c': file = optarg; break;
		case 't': test_only = 1; break;
		case 'V': printf("parleyd %s\n", PACKAGE_VERSION); return 0;
		default: usage();
		}
	if (optind != argc)
		usage();
	if (file != NULL && *file == '\0')
		file = NULL;

	log_init(LOG_INFO, "master");
	if (conf_load(&cfg, file, err, sizeof(err)) == -1) {
		fprintf(stderr, "parleyd: configuration error: %s\n", err);
		return 1;
	}
	if (cfg.database_url[0] == '\0') {
		fprintf(stderr,
		    "parleyd: configuration error: database_url is required "
		    "(PARLEY_DATABASE_URL)\n");
		return 1;
	}
	if (keys_load(&cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "parleyd: configuration error: %s\n", err);
		return 1;
	}
	if (test_only) {
		printf("parleyd: configuration ok\n");
		return 0;
	}
	/* Once, before any fork: workers and jobs inherit it. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		fprintf(stderr, "parleyd: libcurl initialisation failed\n");
		return 1;
	}
	if (log_level_parse(cfg.log_level, &lvl) == 0)
		log_init(lvl, "master");
	return master_run(&cfg, file);
}
