/*
 * test-ratelimit.c: the bucket form of client addresses.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "ratelimit.h"
#include "tap.h"

static const struct {
	const char *addr, *want;
} cases[] = {
	{ "192.0.2.1", "192.0.2.1" },
	{ "::ffff:192.0.2.1", "192.0.2.1" },
	{ "::FFFF:198.51.100.7", "198.51.100.7" },
	{ "::ffff:c000:201", "192.0.2.1" },
	{ "::ffff:0:c000:201",
	    "v6/64:0000000000000000" }, /* SIIT, not mapped */
	{ "2001:db8:1:2:3:4:5:6", "v6/64:20010db800010002" },
	{ "2001:db8:1:2::9", "v6/64:20010db800010002" },
	{ "::1", "v6/64:0000000000000000" },
};

int
main(void)
{
	char   out[64];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ratelimit_addr(cases[i].addr, out, sizeof(out));
		tap_ok(strcmp(out, cases[i].want) == 0, "%s -> %s (got %s)",
		    cases[i].addr, cases[i].want, out);
	}
	/* Two IPv4 clients behind mapped addresses are two buckets. */
	{
		char a[64], b[64];

		ratelimit_addr("::ffff:192.0.2.1", a, sizeof(a));
		ratelimit_addr("::ffff:192.0.2.2", b, sizeof(b));
		tap_ok(strcmp(a, b) != 0,
		    "two mapped IPv4 clients do not share a bucket");
	}
	return tap_done();
}
