/*
 * stripe.c: Stripe's API over libcurl (see stripe.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "conf.h"
#include "crypto.h"
#include "db.h"
#include "server_keys.h"
#include "log.h"
#include "stripe.h"

#define STRIPE_ANSWER_MAX (256 * 1024)
#define STRIPE_KEY_AAD "operator:stripe_secret_key"

static struct db_stmt q_stripe_key = { "stripe_key",
	"SELECT value_enc FROM operator_secrets WHERE name = "
	"'stripe_secret_key'",
	0, DB_RETRY_SAFE, 0 };

int
stripe_key_sealed(struct db *db, char *sealed, size_t len)
{
	PGresult *res;
	int	  rc = 0;

	if ((res = db_exec(db, &q_stripe_key, NULL)) == NULL)
		return -1;
	if (PQntuples(res) == 1 && strlen(PQgetvalue(res, 0, 0)) < len) {
		snprintf(sealed, len, "%s", PQgetvalue(res, 0, 0));
		rc = 1;
	}
	PQclear(res);
	return rc;
}

struct buf {
	char  *data;
	size_t len;
	int    over;
};

static size_t
collect(char *ptr, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	size_t	    take = size * n;
	char	   *p;

	if (b->len + take > STRIPE_ANSWER_MAX) {
		b->over = 1;
		return 0;
	}
	if ((p = realloc(b->data, b->len + take + 1)) == NULL)
		return 0;
	b->data = p;
	memcpy(b->data + b->len, ptr, take);
	b->len += take;
	b->data[b->len] = '\0';
	return take;
}

json_t *
stripe_call(const struct conf *cfg, const char *sealed, const char *method,
    const char *path, const char *form, const char **err)
{
	char		   key[256], url[512], auth[300];
	struct curl_slist *h = NULL, *x;
	struct buf	   b = { NULL, 0, 0 };
	json_t		  *o = NULL;
	CURL		  *c;
	CURLcode	   cc;
	long		   code = 0;
	int		   n;

	*err = "not_configured";
	if (sealed == NULL || sealed[0] == '\0')
		return NULL;
	n = keyring_decrypt(keys_ring(), STRIPE_KEY_AAD, sealed,
	    (unsigned char *)key, sizeof(key) - 1);
	if (n <= 0)
		return NULL;
	key[n] = '\0';
	*err = "unavailable";
	snprintf(url, sizeof(url), "%s%s", cfg->stripe_api_url, path);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", key);
	crypto_wipe(key, sizeof(key));
	if ((c = curl_easy_init()) == NULL) {
		crypto_wipe(auth, sizeof(auth));
		return NULL;
	}
	h = curl_slist_append(h, auth);
	crypto_wipe(auth, sizeof(auth));
	h = (x = curl_slist_append(h, "Stripe-Version: 2024-06-20")) != NULL
	    ? x
	    : h;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "parley");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	if (strcmp(method, "POST") == 0)
		curl_easy_setopt(
		    c, CURLOPT_POSTFIELDS, form != NULL ? form : "");
	else if (strcmp(method, "DELETE") == 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	/* The header list holds the key: cleared before it is freed. */
	for (x = h; x != NULL; x = x->next)
		crypto_wipe(x->data, strlen(x->data));
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (cc == CURLE_OK && code >= 200 && code < 300) {
		o = b.data != NULL ? json_loads(b.data, 0, NULL) : NULL;
		if (!json_is_object(o)) {
			json_decref(o);
			o = NULL;
			*err = "bad_answer";
		} else
			*err = NULL;
	} else if (cc == CURLE_OK && code >= 400 && code < 500 && code != 429)
		*err = code == 404 ? "not_found" : "refused";
	log_event(*err == NULL ? LOG_INFO : LOG_WARN, "stripe_call",
	    LOG_S("method", method), LOG_I("status", code),
	    LOG_S("reason", *err));
	free(b.data);
	return o;
}

int
stripe_form_add(char *form, size_t len, const char *key, const char *value)
{
	char  *k, *v;
	size_t used = strlen(form);
	int    n;

	k = curl_easy_escape(NULL, key, 0);
	v = curl_easy_escape(NULL, value, 0);
	n = k != NULL && v != NULL ? snprintf(form + used, len - used,
					 "%s%s=%s", used ? "&" : "", k, v)
				   : -1;
	curl_free(k);
	curl_free(v);
	if (n < 0 || (size_t)n >= len - used) {
		form[used] = '\0';
		return -1;
	}
	return 0;
}

enum stripe_order
stripe_order(int subscription, int other_sub, long long ts, long long state_at,
    long long last, int canceled)
{
	long long clock = !subscription ? state_at : other_sub ? 0 : last;

	if (ts < clock || (subscription && ts == clock && canceled))
		return STRIPE_RECORD;
	if (subscription && ts == clock && clock > 0)
		return STRIPE_ASK;
	return STRIPE_APPLY;
}
