/*
 * netguard.h: where parleyd may connect on a tenant's say (outgoing
 * webhooks, a company's own LLM URL). The address judged is the one
 * libcurl actually connected to, so a name that resolves (or rebinds) to
 * a private address does not get past it.
 */
#ifndef PARLEY_NETGUARD_H
#define PARLEY_NETGUARD_H

/*
 * Returns 1 if 'ip' (numeric IPv4 or IPv6 text) is a public unicast
 * address: not loopback, private, link-local (cloud metadata), shared,
 * documentation, multicast, reserved or unspecified (IPv4-mapped IPv6
 * judged as IPv4).
 */
int netguard_addr_public(const char *ip);

/* Returns 1 if 'ip' is a loopback address (127/8, ::1, mapped 127/8). */
int netguard_addr_loopback(const char *ip);

/* What one transfer may reach, and whether something was refused. */
struct netguard {
	int allow_loopback; /* development and tests: loopback too */
	int refused; /* set when an address was refused */
};

/*
 * Guards transfer 'c' with 'g' (which must outlive it): the address is
 * judged before the socket is opened (CURLOPT_OPENSOCKETFUNCTION: nothing
 * reaches a refused address, so no port is probed) and again once
 * connected (CURLOPT_PREREQFUNCTION: the address actually used). A refused
 * transfer fails (CURLE_COULDNT_CONNECT or CURLE_ABORTED_BY_CALLBACK) with
 * g->refused set. Environment proxies are ignored.
 */
void netguard_apply(void *c, struct netguard *g);

#define NG_ALLOW_HTTP 0x01 /* http:// as well as https:// */
#define NG_ALLOW_LOOPBACK 0x02 /* localhost and loopback (development) */

/*
 * Checks a URL a tenant gives before it is stored: an absolute http(s)
 * URL (https only without NG_ALLOW_HTTP), a host, no user name or
 * password, no fragment, and, without NG_ALLOW_PRIVATE, a host that is
 * not "localhost" or a non-public address literal. Returns NULL if
 * acceptable, else a stable reason code. The connect-time check
 * (netguard_prereq) still applies: a name is only judged once resolved.
 */
const char *netguard_url_check(const char *url, unsigned flags);

#endif
