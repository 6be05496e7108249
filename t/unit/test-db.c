/*
 * Unit tests: the parts of src/db.c that need no server: UUID checks, and
 * the tenant transaction helper refusing to start without a company id
 * (before it ever connects: the conninfo here points nowhere).
 */
#include "config.h"

#include "db.h"
#include "tap.h"
#include "util.h"

static const struct {
	const char *s;
	int	    ok;
} uuids[] = {
	{ "6f1c2d3e-1111-4a2b-9c3d-0123456789ab", 1 },
	{ "6F1C2D3E-1111-4A2B-9C3D-0123456789AB", 1 },
	{ "6f1c2d3e11114a2b9c3d0123456789ab", 0 },
	{ "6f1c2d3e-1111-4a2b-9c3d-0123456789ab ", 0 },
	{ "6f1c2d3e-1111-4a2b-9c3d-0123456789a", 0 },
	{ "6f1c2d3e-1111-4a2b-9c3d_0123456789ab", 0 },
	{ "zf1c2d3e-1111-4a2b-9c3d-0123456789ab", 0 },
	{ "", 0 },
	{ "' OR 1=1 --", 0 },
};

int
main(void)
{
	struct db *db;
	size_t	   i;

	for (i = 0; i < nitems(uuids); i++)
		tap_is_int(db_uuid_valid(uuids[i].s), uuids[i].ok, "uuid '%s'",
		    uuids[i].s);
	tap_is_int(db_uuid_valid(NULL), 0, "NULL is no uuid");

	db = db_new("host=/nonexistent-parley-test port=1", 1);
	tap_ok(db != NULL, "db_new");
	tap_is_int(db_tenant_begin(db, NULL, NULL, NULL, NULL), -1,
	    "tenant transaction refused without a company id");
	tap_is_int(db_tenant_begin(db, "", NULL, NULL, NULL), -1,
	    "tenant transaction refused with an empty company id");
	tap_is_int(db_tenant_begin(db, "x' OR true --", NULL, NULL, NULL), -1,
	    "tenant transaction refused with a malformed company id");
	tap_is_int(db_in_tx(db), 0, "no transaction left open");
	db_free(db);
	return tap_done();
}
