/*
 * test-netguard.c: the SSRF guard's address and URL checks.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "netguard.h"
#include "tap.h"

static const struct {
	const char *ip;
	int	    pub;
} addrs[] = {
	{ "93.184.216.34", 1 },
	{ "8.8.8.8", 1 },
	{ "2606:4700::1111", 1 },
	{ "127.0.0.1", 0 },
	{ "127.8.9.10", 0 },
	{ "10.1.2.3", 0 },
	{ "172.16.0.1", 0 },
	{ "172.31.255.255", 0 },
	{ "172.32.0.1", 1 },
	{ "192.168.1.1", 0 },
	{ "169.254.169.254", 0 },
	{ "100.64.0.1", 0 },
	{ "100.128.0.1", 1 },
	{ "0.0.0.0", 0 },
	{ "224.0.0.1", 0 },
	{ "255.255.255.255", 0 },
	{ "198.18.0.1", 0 },
	{ "192.0.2.1", 0 },
	{ "::1", 0 },
	{ "::", 0 },
	{ "::ffff:127.0.0.1", 0 },
	{ "::ffff:10.0.0.1", 0 },
	{ "::ffff:93.184.216.34", 1 },
	{ "fe80::1", 0 },
	{ "fd00::1", 0 },
	{ "ff02::1", 0 },
	{ "2001:db8::1", 0 },
	{ "64:ff9b::7f00:1", 0 },
	{ "64:ff9b:1::a00:1", 0 }, /* local-use NAT64 */
	{ "2002:7f00:1::1", 0 }, /* 6to4 */
	/* IPv4-compatible beyond ::/120, the SIIT form, site-local, Teredo,
	   discard, ORCHID, documentation, the 6to4 relay. */
	{ "::127.0.0.1", 0 },
	{ "::a00:1", 0 },
	{ "::5db8:d822", 0 }, /* ::93.184.216.34, deprecated form */
	{ "::ffff:0:7f00:1", 0 },
	{ "::ffff:0:5db8:d822", 0 },
	{ "fec0::1", 0 },
	{ "feff::1", 0 },
	{ "2001::1", 0 },
	{ "2001:0:4136:e378:8000:63bf:3fff:fdd2", 0 },
	{ "2001:2::1", 0 },
	{ "2001:20::1", 0 },
	{ "100::1", 0 },
	{ "3fff::1", 0 },
	{ "192.88.99.1", 0 },
	{ "::ffff:192.88.99.1", 0 },
	/* Near them, public. */
	{ "2001:4860:4860::8888", 1 },
	{ "2001:200::1", 1 },
	{ "100:0:0:1::1", 1 },
	{ "192.88.100.1", 1 },
	{ "fdff:ffff::1", 0 },
	{ "localhost", 0 },
	{ "", 0 },
};

static void
test_addrs(void)
{
	size_t i;

	for (i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++)
		tap_ok(netguard_addr_public(addrs[i].ip) == addrs[i].pub,
		    "address %s is %s", addrs[i].ip,
		    addrs[i].pub ? "public" : "refused");
	tap_ok(netguard_addr_public(NULL) == 0, "address NULL refused");
}

static const struct {
	const char *url;
	unsigned    flags;
	const char *why; /* NULL: accepted */
} urls[] = {
	{ "https://hooks.example.com/in", 0, NULL },
	{ "https://hooks.example.com:8443/in?x=1", 0, NULL },
	{ "https://93.184.216.34/in", 0, NULL },
	{ "http://hooks.example.com/in", 0, "https_required" },
	{ "http://hooks.example.com/in", NG_ALLOW_HTTP, NULL },
	{ "ftp://hooks.example.com/in", NG_ALLOW_HTTP, "https_required" },
	{ "https://localhost/in", 0, "private_address" },
	{ "https://LOCALHOST/in", 0, "private_address" },
	{ "https://api.localhost/in", 0, "private_address" },
	{ "https://127.0.0.1/in", 0, "private_address" },
	{ "https://127.0.0.1/in", NG_ALLOW_LOOPBACK, NULL },
	{ "https://localhost:8080/in", NG_ALLOW_LOOPBACK, NULL },
	{ "https://[::1]/in", NG_ALLOW_LOOPBACK, NULL },
	{ "https://10.1.2.3/in", NG_ALLOW_LOOPBACK, "private_address" },
	{ "https://169.254.169.254/x", NG_ALLOW_LOOPBACK, "private_address" },
	{ "https://localhost./in", 0, "private_address" },
	{ "https://LocalHost./in", 0, "private_address" },
	{ "https://10.1.2.3/in", 0, "private_address" },
	{ "https://192.168.0.10/in", 0, "private_address" },
	{ "https://169.254.169.254/latest/meta-data/", 0, "private_address" },
	{ "https://[::1]/in", 0, "private_address" },
	{ "https://[fd00:ec2::254]/in", 0, "private_address" },
	{ "https://[::ffff:127.0.0.1]/in", 0, "private_address" },
	{ "https://2130706433/in", 0, "private_address" },
	{ "https://0x7f000001/in", 0, "private_address" },
	{ "https://017700000001/in", 0, "private_address" },
	{ "https://[::127.0.0.1]/in", 0, "private_address" },
	{ "https://[::ffff:0:7f00:1]/in", 0, "private_address" },
	{ "https://[2001::1]/in", 0, "private_address" },
	/* Names IDNA (UTS #46) maps to an address, as libcurl resolves them:
	   ideographic full stops, circled digits, fullwidth forms. */
	{ "https://127\xe3\x80\x82"
	  "0\xe3\x80\x82"
	  "0\xe3\x80\x82"
	  "1/",
	    0, "private_address" },
	{ "https://\xe2\x91\xa0\xe2\x91\xa1\xe2\x91\xa6.0.0.1/", 0,
	    "private_address" },
	{ "https://\xef\xbc\x91\xef\xbc\x90.0.0.1/", 0, "private_address" },
	{ "https://\xef\xbd\x8c\xef\xbd\x8f\xef\xbd\x83\xef\xbd\x81"
	  "\xef\xbd\x8c\xef\xbd\x88\xef\xbd\x8f\xef\xbd\x93\xef\xbd\x94/",
	    0, "private_address" }, /* fullwidth "localhost" */
	{ "https://127.0.0.1%E3%80%82/", 0, "private_address" },
	{ "https://b\xc3\xbc"
	  "cher.example/in",
	    0, NULL },
	{ "https://xn--bcher-kva.example/in", 0, NULL },
	{ "https://user:pw@hooks.example.com/in", 0, "format" },
	{ "https://hooks.example.com/in#frag", 0, "format" },
	{ "hooks.example.com/in", 0, "format" },
	{ "https://", 0, "format" },
	{ "", 0, "format" },
};

static void
test_loopback(void)
{
	tap_ok(netguard_addr_loopback("127.0.0.1"), "127.0.0.1 is loopback");
	tap_ok(netguard_addr_loopback("127.9.8.7"), "127.9.8.7 is loopback");
	tap_ok(netguard_addr_loopback("::1"), "::1 is loopback");
	tap_ok(netguard_addr_loopback("::ffff:127.0.0.1"),
	    "::ffff:127.0.0.1 is loopback");
	tap_ok(!netguard_addr_loopback("10.0.0.1"), "10.0.0.1 is not");
	tap_ok(!netguard_addr_loopback("169.254.169.254"),
	    "169.254.169.254 is not");
	tap_ok(!netguard_addr_loopback("fe80::1"), "fe80::1 is not");
	tap_ok(!netguard_addr_loopback(NULL), "NULL is not");
}

static void
test_urls(void)
{
	size_t	    i;
	const char *why;

	for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		why = netguard_url_check(urls[i].url, urls[i].flags);
		tap_ok(urls[i].why == NULL
			? why == NULL
			: why != NULL && strcmp(why, urls[i].why) == 0,
		    "url \"%s\" (flags %u): %s (got %s)", urls[i].url,
		    urls[i].flags, urls[i].why ? urls[i].why : "accepted",
		    why ? why : "accepted");
	}
}

int
main(void)
{
	test_addrs();
	test_loopback();
	test_urls();
	return tap_done();
}
