/*
 * parleyctl: parley's administration tool.
 *
 * usage: parleyctl migrate [--dry-run] [--dir DIR]
 *        parleyctl routes
 *        parleyctl openapi
 *        parleyctl config-keys
 *
 * migrate connects with $PARLEY_MIGRATE_DATABASE_URL (the owner role).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "conf.h"
#include "migrate.h"
#include "openapi.h"
#include "audit_verify.h"
#include "backup.h"
#include "export.h"
#include "keyring_rotate.h"
#include "oidc.h"
#include "retention.h"
#include "router.h"
#include "scopes.h"

#ifndef PARLEY_SQLDIR
#define PARLEY_SQLDIR "/usr/local/share/parley/sql"
#endif

static const char *const auth_names[AUTH__MAX] = {
	"public",
	"user",
	"key",
	"visitor",
};
static const char *const role_names[ROLE__MAX] = {
	"none",
	"member",
	"admin",
	"owner",
};

#define CTL_ARGS_MAX 63 /* arguments "-c FILE" may be moved in */

static int
usage(void)
{
	fprintf(stderr,
	    /* clang-format off */
	    "usage: parleyctl migrate [--dry-run] [--dir DIR]\n"
	    "       parleyctl routes\n"
	    "       parleyctl openapi\n"
	    "       parleyctl config-keys\n"
	    "       parleyctl permissions\n"
	    "       parleyctl audit verify [--company ID] [--log FILE]...\n"
	    "       parleyctl keys rotate [-c FILE] [--batch N]\n"
	    "       parleyctl secret set [-c FILE] NAME < value (stripe_secret_key, oidc_{google,generic,microsoft}_client_secret, oidc_apple_private_key)\n"
	    "       parleyctl retention run [-c FILE] [--dry-run]\n"
	    "       parleyctl export run [-c FILE] --company ID\n"
	    "       parleyctl backup [-c FILE] [--dir DIR]\n"
	    "       parleyctl restore [-c FILE] --file BACKUP --target CONNINFO\n"
	    "       parleyctl tombstones apply [-c FILE] [--dir DIR] --target CONNINFO\n"
	    "       parleyctl oidc check [-c FILE] ISSUER\n"
	    "-c FILE may also come before the command.\n");
	/* clang-format on */
	return 2;
}

static int
cmd_migrate(int argc, char *argv[])
{
	const char *dir = getenv("PARLEY_SQL_DIR");
	const char *url = getenv("PARLEY_MIGRATE_DATABASE_URL");
	int	    i, dry = 0;

	if (dir == NULL || *dir == '\0')
		dir = PARLEY_SQLDIR;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--dry-run") == 0)
			dry = 1;
		else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			dir = argv[++i];
		else
			return usage();
	}
	if (url == NULL || *url == '\0') {
		fprintf(stderr,
		    "parleyctl: set PARLEY_MIGRATE_DATABASE_URL to a "
		    "connection string of the schema owner role\n");
		return 2;
	}
	return migrate_run(url, dir, dry, stdout) == 0 ? 0 : 1;
}

/* Prints the route table as JSON, for docs and tests. */
static int
cmd_routes(void)
{
	json_t *a = json_array();
	size_t	i;
	char   *s;

	for (i = 0; i < nroutes; i++)
		json_array_append_new(a,
		    json_pack("{s:s,s:s,s:s,s:s,s:s,s:o}", "method",
			http_method_name(routes[i].method), "path",
			routes[i].pattern, "auth", auth_names[routes[i].auth],
			"min_role", role_names[routes[i].min_role], "summary",
			routes[i].summary, "scopes",
			scope_json(routes[i].scope)));
	s = json_dumps(a, JSON_INDENT(1));
	puts(s);
	free(s);
	json_decref(a);
	return 0;
}

/* Prints the permission matrix as a Markdown table (docs/security.md). */
static int
cmd_permissions(void)
{
	static const char *const who[ROLE__MAX] = { "anyone",
		"member, admin, "
		"owner",
		"admin, owner", "owner" };
	size_t			 i;

	printf("| method | path | users | API keys |\n|---|---|---|---|\n");
	for (i = 0; i < nroutes; i++) {
		const struct route *r = &routes[i];
		json_t		   *sc = scope_json(r->scope), *v;
		char		    s[256] = "";
		size_t		    j;

		json_array_foreach(sc, j, v)
		{
			size_t len = strlen(s);

			snprintf(s + len, sizeof(s) - len, "%s`%s`",
			    j > 0 ? ", " : "", json_string_value(v));
		}
		printf("| %s | `%s` | %s | %s |\n", http_method_name(r->method),
		    r->pattern,
		    r->auth == AUTH_PUBLIC ? "anyone" : who[r->min_role],
		    r->auth == AUTH_KEY ? s : "—");
		json_decref(sc);
	}
	return 0;
}

/* The OpenAPI document, as docs/openapi.yaml has it. */
static int
cmd_openapi(void)
{
	json_t *doc = openapi_document();
	int	rc;

	if (doc == NULL)
		return 1;
	rc =
	    openapi_write_yaml(stdout, doc) == 0 && fflush(stdout) == 0 ? 0 : 1;
	json_decref(doc);
	return rc;
}

static int
cmd_config_keys(void)
{
	size_t i;

	for (i = 0; i < conf_nkeys; i++)
		printf("%s\t%s\t%s\n", conf_keys[i].name, conf_keys[i].def,
		    conf_keys[i].help);
	return 0;
}

int
main(int argc, char *argv[])
{
	char *moved[CTL_ARGS_MAX + 1];
	int   i;

	/*
	 * "-c FILE" before the subcommand works as it does after it: it is
	 * moved to the end, where every subcommand that reads a
	 * configuration looks for it.
	 */
	if (argc >= 4 && argc <= CTL_ARGS_MAX && strcmp(argv[1], "-c") == 0) {
		moved[0] = argv[0];
		for (i = 3; i < argc; i++)
			moved[i - 2] = argv[i];
		moved[argc - 2] = argv[1];
		moved[argc - 1] = argv[2];
		moved[argc] = NULL;
		argv = moved;
	}
	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "migrate") == 0)
		return cmd_migrate(argc - 1, argv + 1);
	if (strcmp(argv[1], "routes") == 0 && argc == 2)
		return cmd_routes();
	if (strcmp(argv[1], "openapi") == 0 && argc == 2)
		return cmd_openapi();
	if (strcmp(argv[1], "config-keys") == 0 && argc == 2)
		return cmd_config_keys();
	if (strcmp(argv[1], "permissions") == 0 && argc == 2)
		return cmd_permissions();
	if (strcmp(argv[1], "keys") == 0 && argc >= 3 &&
	    strcmp(argv[2], "rotate") == 0)
		return keys_rotate_main(argc - 2, argv + 2);
	if (strcmp(argv[1], "export") == 0 && argc >= 3)
		return export_main(argc - 2, argv + 2);
	if (strcmp(argv[1], "backup") == 0)
		return backup_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "tombstones") == 0 && argc >= 3)
		return tombstones_main(argc - 2, argv + 2);
	if (strcmp(argv[1], "restore") == 0)
		return restore_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "retention") == 0 && argc >= 3)
		return retention_main(argc - 2, argv + 2);
	if (strcmp(argv[1], "oidc") == 0 && argc >= 3)
		return oidc_check_main(argc - 2, argv + 2);
	if (strcmp(argv[1], "secret") == 0 && argc >= 3)
		return keys_secret_main(argc - 2, argv + 2);
	if (strcmp(argv[1], "audit") == 0 && argc >= 3 &&
	    strcmp(argv[2], "verify") == 0)
		return audit_verify_main(argc - 2, argv + 2);
	return usage();
}
