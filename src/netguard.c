/*
 * netguard.c: the SSRF guard (see netguard.h).
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <curl/curl.h>
#include <idn2.h>

#include "netguard.h"

/*
 * Whether IPv6 address 'a' is in a range no public service lives in
 * (IANA's special-purpose registry), or one that embeds an IPv4 address
 * some stack or relay may reach: refused whatever that address is.
 */
static int
v6_special(const unsigned char a[16])
{
	static const unsigned char zero[12] = { 0 };
	static const unsigned char siit[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0xff,
		0xff, 0, 0 };
	static const unsigned char discard[8] = { 1, 0, 0, 0, 0, 0, 0, 0 };

	return memcmp(a, zero, 12) == 0 || /* ::/96: ::, ::1, IPv4-compatible */
	    memcmp(a, siit, 12) == 0 || /* ::ffff:0:0:0/96 SIIT */
	    memcmp(a, discard, 8) == 0 || /* 100::/64 discard */
	    (a[0] & 0xfe) == 0xfc || /* fc00::/7 unique local */
	    (a[0] == 0xfe &&
		(a[1] & 0x80) == 0x80) || /* fe80::/10, fec0::/10 */
	    a[0] == 0xff || /* multicast */
	    (a[0] == 0x20 && a[1] == 0x01 && (a[2] & 0xfe) == 0) ||
	    /* 2001::/23 protocol assignments: Teredo 2001::/32, benchmarking,
	       ORCHID */
	    (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d &&
		a[3] == 0xb8) || /* 2001:db8::/32 documentation */
	    (a[0] == 0x3f && a[1] == 0xff && (a[2] & 0xf0) == 0) ||
	    /* 3fff::/20 documentation */
	    (a[0] == 0x00 && a[1] == 0x64 && a[2] == 0xff &&
		a[3] == 0x9b) || /* 64:ff9b::/32 NAT64, well-known and local */
	    (a[0] == 0x20 && a[1] == 0x02); /* 2002::/16 6to4 */
}

int
netguard_addr_public(const char *ip)
{
	unsigned char	     a[16];
	const unsigned char *v4 = NULL;

	if (ip == NULL)
		return 0;
	if (inet_pton(AF_INET, ip, a) == 1)
		v4 = a;
	else if (inet_pton(AF_INET6, ip, a) == 1) {
		static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0,
			0, 0, 0, 0xff, 0xff };

		if (memcmp(a, mapped, 12) == 0)
			v4 = a + 12;
		else
			return !v6_special(a);
	} else
		return 0;
	return !(v4[0] == 0 || v4[0] == 10 || v4[0] == 127 ||
	    (v4[0] == 100 && (v4[1] & 0xc0) == 64) || /* 100.64/10 */
	    (v4[0] == 169 && v4[1] == 254) || /* link-local, metadata */
	    (v4[0] == 172 && (v4[1] & 0xf0) == 16) ||
	    (v4[0] == 192 && v4[1] == 0 && (v4[2] == 0 || v4[2] == 2)) ||
	    (v4[0] == 192 && v4[1] == 88 && v4[2] == 99) || /* 6to4 relay */
	    (v4[0] == 192 && v4[1] == 168) ||
	    (v4[0] == 198 && (v4[1] & 0xfe) == 18) ||
	    (v4[0] == 198 && v4[1] == 51 && v4[2] == 100) ||
	    (v4[0] == 203 && v4[1] == 0 && v4[2] == 113) || v4[0] >= 224);
}

int
netguard_addr_loopback(const char *ip)
{
	unsigned char		   a[16];
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0xff, 0xff };
	static const unsigned char one[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 1 };

	if (ip == NULL)
		return 0;
	if (inet_pton(AF_INET, ip, a) == 1)
		return a[0] == 127;
	if (inet_pton(AF_INET6, ip, a) == 1)
		return memcmp(a, one, 16) == 0 ||
		    (memcmp(a, mapped, 12) == 0 && a[12] == 127);
	return 0;
}

static int
allowed(const struct netguard *g, const char *ip)
{
	return netguard_addr_public(ip) ||
	    (g->allow_loopback && netguard_addr_loopback(ip));
}

/* Before connect(): the address about to be used, as text. */
static curl_socket_t
opensocket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct netguard *g = clientp;
	char		 ip[INET6_ADDRSTRLEN] = "";

	(void)purpose;
	if (a->family == AF_INET)
		inet_ntop(AF_INET,
		    &((const struct sockaddr_in *)(const void *)&a->addr)
			 ->sin_addr,
		    ip, sizeof(ip));
	else if (a->family == AF_INET6)
		inet_ntop(AF_INET6,
		    &((const struct sockaddr_in6 *)(const void *)&a->addr)
			 ->sin6_addr,
		    ip, sizeof(ip));
	if (!allowed(g, ip)) {
		g->refused = 1;
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype, a->protocol);
}

/* Once connected, before anything is sent: the address actually used. */
static int
prereq(void *clientp, char *primary_ip, char *local_ip, int primary_port,
    int local_port)
{
	struct netguard *g = clientp;

	(void)local_ip;
	(void)primary_port;
	(void)local_port;
	if (allowed(g, primary_ip))
		return CURL_PREREQFUNC_OK;
	g->refused = 1;
	return CURL_PREREQFUNC_ABORT;
}

void
netguard_apply(void *c, struct netguard *g)
{
	g->refused = 0;
	curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, opensocket);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, g);
	curl_easy_setopt(c, CURLOPT_PREREQFUNCTION, prereq);
	curl_easy_setopt(c, CURLOPT_PREREQDATA, g);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
}

/*
 * Returns "private_address" if 'host' names this machine (unless
 * 'loopback' is allowed) or is a non-public literal, else NULL.
 */
static const char *
host_refused(const char *host, int loopback)
{
	char   h[256];
	size_t len = strlen(host), i;

	if (len == 0 || len >= sizeof(h))
		return "format";
	memcpy(h, host, len + 1);
	/*
	 * A name that is not all ASCII is judged as libcurl will resolve it:
	 * after IDNA (UTS #46, with libcurl's flags), which maps
	 * "127\u3002\u0030..." and "\u2460\u2461\u2466.0.0.1" to 127.0.0.1.
	 */
	for (i = 0; i < len && (unsigned char)h[i] < 0x80; i++)
		;
	if (i < len) {
		char *ascii = NULL;
		int   rc = idn2_lookup_u8((const uint8_t *)host,
		      (uint8_t **)&ascii, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);

		if (rc == IDN2_DISALLOWED)
			rc = idn2_lookup_u8((const uint8_t *)host,
			    (uint8_t **)&ascii,
			    IDN2_NFC_INPUT | IDN2_TRANSITIONAL);
		if (rc != IDN2_OK || ascii == NULL ||
		    (len = strlen(ascii)) == 0 || len >= sizeof(h)) {
			idn2_free(ascii);
			return "format";
		}
		memcpy(h, ascii, len + 1);
		idn2_free(ascii);
	}
	/* "localhost." is "localhost". */
	if (h[len - 1] == '.')
		h[--len] = '\0';
	if (strcasecmp(h, "localhost") == 0 ||
	    (len > 10 && strcasecmp(h + len - 10, ".localhost") == 0))
		return loopback ? NULL : "private_address";
	/* curl gives an IPv6 literal with its brackets. */
	if (h[0] == '[' && len >= 2) {
		memmove(h, h + 1, len - 2);
		h[len - 2] = '\0';
	}
	{
		unsigned char a[16];

		if (inet_pton(AF_INET, h, a) == 1 ||
		    inet_pton(AF_INET6, h, a) == 1)
			return netguard_addr_public(h) ||
				(loopback && netguard_addr_loopback(h))
			    ? NULL
			    : "private_address";
	}
	/* Anything made only of digits, dots and "0x" is a number to libc
	 * (http://2130706433/ is 127.0.0.1): refuse rather than guess. */
	return strspn(h, "0123456789.xX") == len ? "private_address" : NULL;
}

const char *
netguard_url_check(const char *url, unsigned flags)
{
	CURLU	   *u;
	char	   *scheme = NULL, *host = NULL, *user = NULL, *frag = NULL;
	const char *why = NULL;

	if ((u = curl_url()) == NULL)
		return "internal";
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		why = "format";
	else if (strcmp(scheme, "https") != 0 &&
	    !(strcmp(scheme, "http") == 0 && (flags & NG_ALLOW_HTTP)))
		why = "https_required";
	else if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0) == CURLUE_OK)
		why = "format";
	else
		why = host_refused(host, (flags & NG_ALLOW_LOOPBACK) != 0);
	curl_free(scheme);
	curl_free(host);
	curl_free(user);
	curl_free(frag);
	curl_url_cleanup(u);
	return why;
}
