/*
 * oidc.c: OpenID Connect providers' documents (see oidc.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "conf.h"
#include "netguard.h"
#include "oidc.h"

#define OIDC_TIMEOUT_MS 10000
#define OIDC_CACHE_MIN 60 /* seconds: a document is kept at least this */
#define OIDC_CACHE_MAX 86400 /* and at most this */
#define OIDC_CACHE_DEF 3600 /* without Cache-Control */

struct body {
	char  *data;
	size_t len;
	int    too_large;
	int    max_age;
};

static size_t
keep(char *p, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	size_t	     len = size * n;
	char	    *np;

	if (len > OIDC_DOC_MAX - b->len) {
		b->too_large = 1;
		return 0;
	}
	if ((np = realloc(b->data, b->len + len + 1)) == NULL)
		return 0;
	b->data = np;
	memcpy(b->data + b->len, p, len);
	b->len += len;
	b->data[b->len] = '\0';
	return len;
}

/* Cache-Control: max-age=N (no-store and no-cache count as 0). */
static size_t
header(char *p, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	size_t	     len = size * n;
	char	     line[256], *m;

	if (len >= sizeof(line) || strncasecmp(p, "cache-control:", 14) != 0)
		return len;
	memcpy(line, p, len);
	line[len] = '\0';
	for (m = line; *m != '\0'; m++)
		*m = (char)(*m >= 'A' && *m <= 'Z' ? *m + 32 : *m);
	if (strstr(line, "no-store") != NULL ||
	    strstr(line, "no-cache") != NULL)
		b->max_age = 0;
	else if ((m = strstr(line, "max-age=")) != NULL) {
		long v = strtol(m + 8, NULL, 10);

		b->max_age = v < 0	 ? 0
		    : v > OIDC_CACHE_MAX ? OIDC_CACHE_MAX
					 : (int)v;
	}
	return len;
}

/*
 * Runs transfer 'c' to 'url' (https only, no redirects, bounded in time,
 * through 'guard'), its body into 'b'; frees 'c'. Returns curl's result
 * and the status in '*status'.
 */
static CURLcode
perform(const struct conf *cfg, CURL *c, const char *url, struct body *b,
    struct netguard *guard, long *status)
{
	CURLcode cc;

	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)OIDC_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "parley-oidc/1");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	if (cfg->oidc_ca_file[0] != '\0')
		curl_easy_setopt(c, CURLOPT_CAINFO, cfg->oidc_ca_file);
	guard->allow_loopback = cfg->oidc_allow_loopback;
	netguard_apply(c, guard);
	cc = curl_easy_perform(c);
	*status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(c);
	return cc;
}

int
oidc_fetch_json(const struct conf *cfg, const char *url, json_t **out,
    int *max_age, const char **why)
{
	struct netguard guard = { 0 };
	struct body	b = { NULL, 0, 0, -1 };
	CURL	       *c;
	CURLcode	cc;
	long		code = 0;
	unsigned flags = cfg->oidc_allow_loopback ? NG_ALLOW_LOOPBACK : 0;

	*out = NULL;
	if ((*why = netguard_url_check(url, flags)) != NULL)
		return -1;
	if ((c = curl_easy_init()) == NULL) {
		*why = "connect";
		return -1;
	}
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &b);
	cc = perform(cfg, c, url, &b, &guard, &code);
	if (cc != CURLE_OK)
		*why = guard.refused		       ? "blocked_address"
		    : b.too_large		       ? "too_large"
		    : cc == CURLE_OPERATION_TIMEDOUT   ? "timeout"
		    : cc == CURLE_UNSUPPORTED_PROTOCOL ? "https_required"
						       : "connect";
	else if (code != 200)
		*why = "http_status";
	else if (b.data == NULL ||
	    (*out = json_loadb(b.data, b.len, JSON_REJECT_DUPLICATES, NULL)) ==
		NULL ||
	    !json_is_object(*out))
		*why = "bad_json";
	free(b.data);
	if (*why != NULL) {
		json_decref(*out);
		*out = NULL;
		return -1;
	}
	*max_age = b.max_age;
	return 0;
}

/* 'max_age' (-1: none) as a bounded time to read the document again. */
static long long
until(int max_age)
{
	int s = max_age < 0 ? OIDC_CACHE_DEF : max_age;

	if (s < OIDC_CACHE_MIN)
		s = OIDC_CACHE_MIN;
	return (long long)time(NULL) + s;
}

/* String member 'k' of 'o' into 'out' when it is an https URL. */
static int
https_member(const json_t *o, const char *k, char out[OIDC_URL_MAX])
{
	const char *v = json_string_value(json_object_get(o, k));

	if (v == NULL || strncmp(v, "https://", 8) != 0 ||
	    strlen(v) >= OIDC_URL_MAX)
		return -1;
	snprintf(out, OIDC_URL_MAX, "%s", v);
	return 0;
}

/*
 * Whether document issuer 'doc' is the multi-tenant template of 'asked':
 * Microsoft's .../common/v2.0 (and .../organizations/v2.0) say
 * .../{tenantid}/v2.0, for each token's tid to fill.
 */
static int
tenant_template(const char *doc, const char *asked)
{
	static const char *const multi[] = { "common", "organizations" };
	const char		*t = strstr(doc, "{tenantid}");
	size_t			 pre, post, i;

	if (t == NULL || strstr(t + 1, "{tenantid}") != NULL)
		return 0;
	pre = (size_t)(t - doc);
	post = strlen(t + 10);
	if (strncmp(doc, asked, pre) != 0 || strlen(asked) < pre + post ||
	    strcmp(asked + strlen(asked) - post, t + 10) != 0)
		return 0;
	for (i = 0; i < sizeof(multi) / sizeof(multi[0]); i++)
		if (strlen(asked) - pre - post == strlen(multi[i]) &&
		    strncmp(asked + pre, multi[i], strlen(multi[i])) == 0)
			return 1;
	return 0;
}

int
oidc_discover(const struct conf *cfg, const char *issuer, struct oidc_meta *m,
    const char **why)
{
	static const char *const ours[] = { "RS256", "ES256" };
	char			 url[OIDC_URL_MAX + 40];
	json_t			*d, *a, *v;
	const char		*iss;
	size_t			 i, j, len = strlen(issuer);
	int			 max_age, n = 0;

	memset(m, 0, sizeof(*m));
	if (len >= OIDC_URL_MAX) {
		*why = "bad_endpoint";
		return -1;
	}
	/* OpenID Connect Discovery 1.0, 4: the issuer without its trailing
	 * slash, then the well-known path. */
	if (len > 0 && issuer[len - 1] == '/')
		len--;
	snprintf(url, sizeof(url), "%.*s/.well-known/openid-configuration",
	    (int)len, issuer);
	if (oidc_fetch_json(cfg, url, &d, &max_age, why) == -1)
		return -1;
	iss = json_string_value(json_object_get(d, "issuer"));
	*why = "wrong_issuer";
	if (iss == NULL ||
	    (strcmp(iss, issuer) != 0 && !tenant_template(iss, issuer)))
		goto fail;
	snprintf(m->issuer, sizeof(m->issuer), "%s", iss);
	snprintf(m->asked, sizeof(m->asked), "%s", issuer);
	m->tenant_template = strcmp(iss, issuer) != 0;
	*why = "bad_endpoint";
	if (https_member(
		d, "authorization_endpoint", m->authorization_endpoint) == -1 ||
	    https_member(d, "token_endpoint", m->token_endpoint) == -1 ||
	    https_member(d, "jwks_uri", m->jwks_uri) == -1)
		goto fail;
	/* parley's algorithms that the provider signs ID tokens with. */
	a = json_object_get(d, "id_token_signing_alg_values_supported");
	for (j = 0; j < sizeof(ours) / sizeof(ours[0]); j++)
		json_array_foreach(a, i, v)
		{
			if (json_is_string(v) &&
			    strcmp(json_string_value(v), ours[j]) == 0 &&
			    n < OIDC_ALGS_MAX) {
				snprintf(m->alg_buf[n], sizeof(m->alg_buf[n]),
				    "%s", ours[j]);
				m->algs[n] = m->alg_buf[n];
				n++;
			}
		}
	m->algs[n] = NULL;
	*why = "no_algorithm";
	if (n == 0)
		goto fail;
	a = json_object_get(d, "code_challenge_methods_supported");
	json_array_foreach(a, i, v)
	{
		if (json_is_string(v) &&
		    strcmp(json_string_value(v), "S256") == 0)
			m->pkce_s256 = 1;
	}
	m->expires = until(max_age);
	json_decref(d);
	*why = NULL;
	return 0;
fail:
	json_decref(d);
	return -1;
}

int
oidc_jwks(const struct conf *cfg, const struct oidc_meta *m, json_t **jwks,
    long long *expires, const char **why)
{
	int max_age;

	if (oidc_fetch_json(cfg, m->jwks_uri, jwks, &max_age, why) == -1)
		return -1;
	if (!json_is_array(json_object_get(*jwks, "keys"))) {
		json_decref(*jwks);
		*jwks = NULL;
		*why = "bad_json";
		return -1;
	}
	*expires = until(max_age);
	return 0;
}

/* This process's providers: a few, each read again when it expires. */
#define OIDC_CACHE_N 8
static struct cached {
	struct oidc_meta m;
	json_t		*jwks;
	long long	 jwks_expires, jwks_read;
} cache[OIDC_CACHE_N];

int
oidc_provider_keys(const struct conf *cfg, const char *issuer, int refresh,
    const struct oidc_meta **m, const json_t **jwks, const char **why)
{
	long long      now = (long long)time(NULL);
	size_t	       i, slot = 0;
	struct cached *c = NULL;

	for (i = 0; i < OIDC_CACHE_N; i++) {
		if (strcmp(cache[i].m.asked, issuer) == 0) {
			c = &cache[i];
			break;
		}
		if (cache[i].m.expires < cache[slot].m.expires)
			slot = i;
	}
	if (c == NULL || c->m.expires <= now) {
		struct oidc_meta fresh;

		if (oidc_discover(cfg, issuer, &fresh, why) == -1)
			return -1;
		if (c == NULL) {
			c = &cache[slot];
			json_decref(c->jwks);
			memset(c, 0, sizeof(*c));
		}
		c->m = fresh;
		/* The copy's algorithm names are its own. */
		for (i = 0; fresh.algs[i] != NULL; i++)
			c->m.algs[i] = c->m.alg_buf[i];
		c->m.algs[i] = NULL;
	}
	/* An unknown kid reads the key set again, at most once a minute. */
	if (c->jwks == NULL || c->jwks_expires <= now ||
	    (refresh && c->jwks_read + OIDC_CACHE_MIN <= now)) {
		json_t	 *k;
		long long exp;

		if (oidc_jwks(cfg, &c->m, &k, &exp, why) == -1)
			return -1;
		json_decref(c->jwks);
		c->jwks = k;
		c->jwks_expires = exp;
		c->jwks_read = now;
	}
	*m = &c->m;
	*jwks = c->jwks;
	return 0;
}

/* 'k'=url-escaped 'v', appended to 'out' (with '&' after the first). */
static int
form_add(CURL *c, char *out, size_t len, const char *k, const char *v)
{
	char  *e = curl_easy_escape(c, v, 0);
	size_t n = strlen(out);
	int    w;

	if (e == NULL)
		return -1;
	w = snprintf(out + n, len - n, "%s%s=%s", n > 0 ? "&" : "", k, e);
	curl_free(e);
	return w < 0 || (size_t)w >= len - n ? -1 : 0;
}

int
oidc_exchange(const struct conf *cfg, const struct oidc_meta *m,
    const char *client_id, const char *secret, const char *code,
    const char *redirect_uri, const char *verifier, char **id_token,
    const char **why)
{
	struct netguard	   guard = { 0 };
	struct body	   b = { NULL, 0, 0, -1 };
	struct curl_slist *h = NULL;
	char		   form[8192] = "";
	json_t		  *o = NULL;
	const char	  *t;
	CURL		  *c;
	CURLcode	   cc;
	long		   status = 0;

	*id_token = NULL;
	*why = "connect";
	if ((c = curl_easy_init()) == NULL)
		return -1;
	if (form_add(c, form, sizeof(form), "grant_type",
		"authorization_code") == -1 ||
	    form_add(c, form, sizeof(form), "code", code) == -1 ||
	    form_add(c, form, sizeof(form), "redirect_uri", redirect_uri) ==
		-1 ||
	    form_add(c, form, sizeof(form), "code_verifier", verifier) == -1 ||
	    form_add(c, form, sizeof(form), "client_id", client_id) == -1 ||
	    form_add(c, form, sizeof(form), "client_secret", secret) == -1) {
		curl_easy_cleanup(c);
		*why = "token_refused";
		return -1;
	}
	h = curl_slist_append(h, "Accept: application/json");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, form);
	cc = perform(cfg, c, m->token_endpoint, &b, &guard, &status);
	curl_slist_free_all(h);
	/* The form held the client's secret and the code. */
	memset(form, 0, sizeof(form));
	*why = NULL;
	if (cc != CURLE_OK)
		*why = guard.refused ? "blocked_address"
		    : b.too_large    ? "too_large"
				     : "connect";
	else if (status != 200)
		*why = "token_refused";
	else if (b.data == NULL ||
	    (o = json_loadb(b.data, b.len, 0, NULL)) == NULL)
		*why = "bad_json";
	else if ((t = json_string_value(json_object_get(o, "id_token"))) ==
		NULL ||
	    (*id_token = strdup(t)) == NULL)
		*why = "no_id_token";
	json_decref(o);
	free(b.data);
	return *why == NULL ? 0 : -1;
}

int
oidc_check_main(int argc, char *argv[])
{
	static struct conf cfg;
	struct oidc_meta   m;
	const char	  *file = getenv("PARLEY_CONFIG"), *why, *issuer = NULL;
	char		   err[512];
	json_t		  *jwks, *k;
	long long	   exp;
	size_t		   i;
	int		   a;

	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "-c") == 0 && a + 1 < argc)
			file = argv[++a];
		else if (issuer == NULL)
			issuer = argv[a];
		else
			break;
	}
	if (a < argc || issuer == NULL || strcmp(argv[0], "check") != 0) {
		fprintf(
		    stderr, "usage: parleyctl oidc check [-c FILE] ISSUER\n");
		return 2;
	}
	if (file != NULL && *file == '\0')
		file = NULL;
	if (conf_load(&cfg, file, err, sizeof(err)) == -1) {
		fprintf(stderr, "parleyctl: oidc check: %s\n", err);
		return 2;
	}
	if (oidc_discover(&cfg, issuer, &m, &why) == -1) {
		fprintf(stderr, "parleyctl: oidc check: discovery: %s\n", why);
		return 1;
	}
	printf("issuer %s\nauthorization_endpoint %s\ntoken_endpoint %s\n"
	       "jwks_uri %s\npkce_s256 %s\nalgorithms",
	    m.issuer, m.authorization_endpoint, m.token_endpoint, m.jwks_uri,
	    m.pkce_s256 ? "yes" : "no");
	for (i = 0; m.algs[i] != NULL; i++)
		printf(" %s", m.algs[i]);
	printf("\n");
	if (oidc_jwks(&cfg, &m, &jwks, &exp, &why) == -1) {
		fprintf(stderr, "parleyctl: oidc check: key set: %s\n", why);
		return 1;
	}
	json_array_foreach(json_object_get(jwks, "keys"), i, k)
	{
		const char *kid = json_string_value(json_object_get(k, "kid"));
		const char *kty = json_string_value(json_object_get(k, "kty"));

		printf("key %s %s\n", kid != NULL ? kid : "-",
		    kty != NULL ? kty : "-");
	}
	json_decref(jwks);
	return m.pkce_s256 ? 0 : 1;
}
