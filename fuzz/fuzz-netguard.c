/*
 * fuzz-netguard: the SSRF guard's URL check (netguard_url_check()) and
 * address judgement. A URL it accepts has a host libcurl reads the same
 * way, and when that host is an address literal, a public one.
 */
#include "config.h"

#include <arpa/inet.h>
#include <curl/curl.h>

#include "fuzz.h"
#include "netguard.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *in = fuzz_str(data, size), *host = NULL;
	const char *why;
	CURLU	   *u;

	if (in == NULL)
		return 0;
	(void)netguard_addr_public(in);
	(void)netguard_addr_loopback(in);
	why = netguard_url_check(in, 0);
	if (why == NULL && (u = curl_url()) != NULL) {
		unsigned char a[16];
		char	      h[300];
		size_t	      n;

		FUZZ_ASSERT(
		    curl_url_set(u, CURLUPART_URL, in, 0) == CURLUE_OK &&
			curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK,
		    "an accepted URL libcurl cannot read");
		snprintf(h, sizeof(h), "%s", host);
		n = strlen(h);
		if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
			memmove(h, h + 1, n - 2);
			h[n - 2] = '\0';
		}
		if (inet_pton(AF_INET, h, a) == 1 ||
		    inet_pton(AF_INET6, h, a) == 1)
			FUZZ_ASSERT(netguard_addr_public(h),
			    "an accepted URL with a private address");
		FUZZ_ASSERT(strncmp(in, "https:", 6) == 0 ||
			strncmp(in, "HTTPS:", 6) == 0 ||
			strcasestr(in, "https:"),
		    "an accepted URL that is not https");
		curl_free(host);
		curl_url_cleanup(u);
	}
	free(in);
	return 0;
}
