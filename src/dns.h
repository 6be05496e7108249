/*
 * dns.h: DNS TXT lookups (c-ares), for proving a company owns an e-mail
 * domain (issue 17): the record the company published is read through a
 * real resolver, the system's or the one dns_servers names (tests point
 * it at a local DNS server).
 */
#ifndef PARLEY_DNS_H
#define PARLEY_DNS_H

#define DNS_TXT_MAX 16 /* records read */
#define DNS_TXT_LEN 512 /* bytes of one record, its strings joined */

struct dns_txt {
	int  n;
	char rec[DNS_TXT_MAX][DNS_TXT_LEN];
};

/*
 * The TXT records of 'name' into 'out' (each record's character strings
 * joined, as RFC 7208 3.3 reads them), through 'servers' ("ip:port,…";
 * "" or NULL: /etc/resolv.conf), within 'timeout_ms'. Returns 0 (out->n
 * may be 0: no such name, or no TXT), or -1 with '*why': timeout,
 * servfail, refused, bad_servers, failed.
 */
int dns_txt(const char *servers, const char *name, int timeout_ms,
    struct dns_txt *out, const char **why);

#endif
