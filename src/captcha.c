/*
 * captcha.c: POST secret, response and remoteip as a form; read JSON.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "captcha.h"
#include "conf.h"
#include "log.h"

#define CAPTCHA_MAX_REPLY 8192
#define CAPTCHA_MAX_TOKEN 4096

struct buf {
	char   data[CAPTCHA_MAX_REPLY + 1];
	size_t len;
};

static size_t
collect(char *p, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	size_t	    len = size * n;

	if (len > CAPTCHA_MAX_REPLY - b->len)
		return 0; /* too large: abort the transfer */
	memcpy(b->data + b->len, p, len);
	b->len += len;
	return len;
}

int
captcha_enabled(const struct conf *cfg)
{
	return cfg->recaptcha_secret[0] != '\0';
}

int
captcha_verify(const struct conf *cfg, const char *token, const char *ip)
{
	CURL	   *c = NULL;
	struct buf *b = NULL;
	char	   *es = NULL, *et = NULL, *ei = NULL, *form = NULL;
	json_t	   *j = NULL, *score;
	size_t	    flen;
	long	    status = 0;
	int	    rc = -2;

	if (token == NULL || *token == '\0' ||
	    strlen(token) > CAPTCHA_MAX_TOKEN)
		return -1;
	if ((c = curl_easy_init()) == NULL ||
	    (b = calloc(1, sizeof(*b))) == NULL)
		goto out;
	es = curl_easy_escape(c, cfg->recaptcha_secret, 0);
	et = curl_easy_escape(c, token, 0);
	ei = curl_easy_escape(c, ip, 0);
	if (es == NULL || et == NULL || ei == NULL)
		goto out;
	flen = strlen(es) + strlen(et) + strlen(ei) + 40;
	if ((form = malloc(flen)) == NULL)
		goto out;
	snprintf(form, flen, "secret=%s&response=%s&remoteip=%s", es, et, ei);
	curl_easy_setopt(c, CURLOPT_URL, cfg->recaptcha_url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, form);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	if (curl_easy_perform(c) != CURLE_OK) {
		log_msg(LOG_WARN, "captcha_unreachable");
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200 ||
	    (j = json_loadb(b->data, b->len, 0, NULL)) == NULL) {
		log_event(
		    LOG_WARN, "captcha_bad_reply", LOG_I("status", status));
		goto out;
	}
	rc = -1;
	if (!json_is_true(json_object_get(j, "success")))
		goto out;
	score = json_object_get(j, "score");
	if (score != NULL &&
	    (!json_is_number(score) ||
		json_number_value(score) * 100 < cfg->recaptcha_min_score))
		goto out;
	rc = 0;
out:
	json_decref(j);
	if (form != NULL) {
		memset(form, 0, strlen(form));
		free(form);
	}
	curl_free(es);
	curl_free(et);
	curl_free(ei);
	free(b);
	if (c != NULL)
		curl_easy_cleanup(c);
	return rc;
}
