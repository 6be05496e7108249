/*
 * mail.c: one message per connection through libcurl's SMTP.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "conf.h"
#include "crypto.h"
#include "server_keys.h"
#include "log.h"
#include "mail.h"

#define MAIL_MAX 16384

struct msg {
	char   data[MAIL_MAX];
	size_t len, off;
};

static size_t
feed(char *p, size_t size, size_t n, void *arg)
{
	struct msg *m = arg;
	size_t	    want = size * n, left = m->len - m->off;

	if (want > left)
		want = left;
	memcpy(p, m->data + m->off, want);
	m->off += want;
	return want;
}

/* An address we are willing to put in a header: no CR, LF, <, >, spaces. */
static int
address_ok(const char *a)
{
	size_t len = strlen(a);

	return len >= 3 && len <= 254 && strchr(a, '@') != NULL &&
	    strcspn(a, "\r\n<>, \t\"") == len;
}

int
mail_send(const struct conf *cfg, const char *to, const char *subject,
    const char *body, const char *key)
{
	return mail_send_headers(cfg, to, subject, body, key, NULL);
}

int
mail_send_headers(const struct conf *cfg, const char *to, const char *subject,
    const char *body, const char *key, const char *headers)
{
	CURL		  *c = NULL;
	struct curl_slist *rcpt = NULL;
	struct msg	  *m = NULL;
	char		   date[64], id[33], from[260];
	unsigned char	   r[32];
	unsigned int	   rlen = sizeof(r);
	time_t		   now = time(NULL);
	struct tm	   tm;
	CURLcode	   cc;
	long		   code = 0;
	int		   n, rc = -2;
	const char	  *p;

	if (!address_ok(to) || !address_ok(cfg->mail_from) ||
	    strcspn(subject, "\r\n") != strlen(subject))
		return -1;
	/* Extra header lines: each ends in CRLF, none is empty. */
	if (headers != NULL &&
	    (strstr(headers, "\r\n\r\n") != NULL ||
		(headers[0] != '\0' &&
		    (strlen(headers) < 2 ||
			strcmp(headers + strlen(headers) - 2, "\r\n") != 0))))
		return -1;
	if (cfg->smtp_url[0] == '\0')
		return -2;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return -2;
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	if (key != NULL) {
		size_t		     klen;
		const unsigned char *k = keys_names(&klen);
		char		     label[96];

		snprintf(label, sizeof(label), "message-id:%s", key);
		HMAC(EVP_sha256(), k, (int)klen, (const unsigned char *)label,
		    strlen(label), r, &rlen);
	} else
		crypto_random(r, 16);
	crypto_hex(r, 16, id);
	n = snprintf(m->data, sizeof(m->data),
	    "Date: %s\r\nFrom: %s\r\nTo: %s\r\nSubject: %s\r\n"
	    "Message-ID: <%s@%s>\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: 8bit\r\nAuto-Submitted: auto-generated"
	    "\r\n%s\r\n",
	    date, cfg->mail_from, to, subject, id,
	    strchr(cfg->mail_from, '@') + 1, headers != NULL ? headers : "");
	if (n < 0 || (size_t)n >= sizeof(m->data))
		goto out;
	m->len = (size_t)n;
	/* The body with every line ending in CRLF. */
	for (p = body; *p != '\0' && m->len + 2 < sizeof(m->data); p++) {
		if (*p == '\r')
			continue;
		if (*p == '\n')
			m->data[m->len++] = '\r';
		m->data[m->len++] = *p;
	}
	if (*p != '\0')
		goto out;
	snprintf(from, sizeof(from), "<%s>", cfg->mail_from);
	if ((c = curl_easy_init()) == NULL)
		goto out;
	rcpt = curl_slist_append(NULL, to);
	curl_easy_setopt(c, CURLOPT_URL, cfg->smtp_url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, feed);
	curl_easy_setopt(c, CURLOPT_READDATA, m);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, MAIL_TIMEOUT_S * 1000L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (strcmp(cfg->smtp_tls, "required") == 0)
		curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	else if (strcmp(cfg->smtp_tls, "try") == 0)
		curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
	if (cfg->smtp_user[0] != '\0') {
		curl_easy_setopt(c, CURLOPT_USERNAME, cfg->smtp_user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, cfg->smtp_password);
	}
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (cc == CURLE_OK)
		rc = 0;
	else if (code >= 500 && code < 600)
		rc = -1;
	log_event(rc == 0 ? LOG_INFO : LOG_WARN, "mail_sent",
	    LOG_I("status", code), LOG_I("code", (long)cc));
out:
	curl_slist_free_all(rcpt);
	if (c != NULL)
		curl_easy_cleanup(c);
	crypto_wipe(m, sizeof(*m));
	free(m);
	return rc;
}
