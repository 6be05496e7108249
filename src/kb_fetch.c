/*
 * kb_fetch.c: knowledge from the web (see kb_fetch.h).
 *
 * One job fetches one source. Its pages are fetched one at a time, each
 * stored in its own short tenant transaction, so a source of hundreds of
 * pages never holds a lock or a transaction open across the network, and
 * a job that dies half way keeps what it stored (the next try fetches
 * again; an unchanged page costs a fetch and no write).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "conf.h"
#include "db.h"
#include "job_queue.h"
#include "kb.h"
#include "kb_extract.h"
#include "kb_fetch.h"
#include "log.h"
#include "netguard.h"
#include "row.h"
#include "util.h"

#define AGENT "parley" /* the robots.txt product token */
#define USER_AGENT "parley-kb/1 (knowledge-base fetcher; robots.txt respected)"
#define REDIRECTS_MAX 5
#define ROBOTS_MAX (512 * 1024) /* bytes of a robots.txt */
#define ROBOTS_RULE_MAX 2048 /* bytes of one of its rules */
#define SITEMAP_MAX (10 * 1024 * 1024) /* bytes of a sitemap */
#define SITEMAPS_MAX 10 /* sitemaps of a sitemap index */
#define HOSTS_MAX 16 /* robots.txt kept per run */
#define FAILURES_MAX 20 /* pages' failures kept */

static struct db_stmt q_src_lock = { "kb_source_lock",
	"SELECT kind, coalesce(url, '') AS url, language, chatbot_id, resync, "
	"title FROM kb_sources WHERE company_id = $1 AND id = $2 FOR UPDATE",
	2, 0, 0 };
/* An uploaded file's bytes (hex), until its text is read. */
static struct db_stmt q_src_file = { "kb_source_file",
	"SELECT encode(file, 'hex') AS file, file_type FROM kb_sources WHERE "
	"company_id = $1 AND id = $2 AND file IS NOT NULL",
	2, 0, 0 };
static struct db_stmt q_src_file_done = { "kb_source_file_done",
	"UPDATE kb_sources SET file = NULL WHERE company_id = $1 AND id = $2",
	2, 0, 0 };
static struct db_stmt q_src_start = { "kb_source_start",
	"UPDATE kb_sources SET status = 'fetching', error = NULL, pages_found "
	"= 0, pages_done = 0, pages_failed = 0, failures = '[]' WHERE "
	"company_id = $1 AND id = $2",
	2, 0, 0 };
static struct db_stmt q_src_found = { "kb_source_found",
	"UPDATE kb_sources SET pages_found = $3::integer WHERE company_id = $1 "
	"AND id = $2",
	3, 0, 0 };
/* One page's outcome: done (NULL error) or failed, its failure kept. */
static struct db_stmt q_src_page = { "kb_source_page",
	"UPDATE kb_sources SET pages_done = pages_done + CASE WHEN $3::text IS "
	"NULL THEN 1 ELSE 0 END, pages_failed = pages_failed + CASE WHEN "
	"$3::text IS NULL THEN 0 ELSE 1 END, failures = CASE WHEN $3::text IS "
	"NULL OR jsonb_array_length(failures) >= 20 THEN failures ELSE "
	"failures || jsonb_build_array(jsonb_build_object('url', $4::text, "
	"'error', $3::text)) END WHERE company_id = $1 AND id = $2",
	4, 0, 0 };
static struct db_stmt q_src_end = { "kb_source_end",
	"UPDATE kb_sources SET status = $3, error = $4, synced_at = now(), "
	"next_sync_at = CASE resync WHEN 'daily' THEN now() + interval '1 "
	"day' WHEN 'weekly' THEN now() + interval '7 days' END WHERE "
	"company_id = $1 AND id = $2",
	4, 0, 0 };
/* Pages of the source no longer there: not listed, or 404/410. */
static struct db_stmt q_src_vanished = { "kb_source_vanished",
	"DELETE FROM kb_documents WHERE company_id = $1 AND source_id = $2 AND "
	"NOT (source_url = ANY (ARRAY(SELECT json_array_elements_text("
	"$3::json))))",
	3, 0, 0 };
/* The company's knowledge-base bytes, but the page's own earlier copy. */
static struct db_stmt q_src_quota = { "kb_source_quota",
	"SELECT coalesce(sum(octet_length(text)) FILTER (WHERE source_id IS "
	"DISTINCT FROM $2::uuid OR source_url IS DISTINCT FROM $3), 0) AS "
	"used FROM kb_documents WHERE company_id = $1",
	3, 0, 0 };
static struct db_stmt q_due = { "kb_sources_due",
	"SELECT company_id, source_id FROM parley_lookup_sources_due(50)", 0, 0,
	0 };
static struct db_stmt q_requeue = { "kb_source_requeue",
	"UPDATE kb_sources SET status = 'queued' WHERE company_id = $1 AND id "
	"= $2 AND status IN ('done', 'failed') AND resync <> 'off' RETURNING "
	"id",
	2, 0, 0 };

/* --- robots.txt ------------------------------------------------------- */

/*
 * Whether robots pattern 'pat' of 'n' bytes ('*' any run, a final '$'
 * the end) matches a prefix of 'path' (the whole of it with '$').
 * Iterative, going back only to the last '*': O(n * strlen(path)), so no
 * pattern a site writes can take the stack or the clock.
 */
static int
robots_match(const char *pat, size_t n, const char *path)
{
	const char *s = path, *mark = NULL;
	size_t	    p = 0, star = 0;
	int	    anchored = n > 0 && pat[n - 1] == '$', starred = 0;

	if (anchored)
		n--;
	for (;;) {
		if (p == n) {
			if (!anchored || *s == '\0')
				return 1;
		} else if (pat[p] == '*') {
			star = p++;
			mark = s;
			starred = 1;
			continue;
		} else if (*s != '\0' && pat[p] == *s) {
			p++;
			s++;
			continue;
		}
		if (!starred || *mark == '\0')
			return 0;
		p = star + 1;
		s = ++mark;
	}
}

int
kb_robots_allowed(const char *robots, const char *agent, const char *path)
{
	const char *line = robots;
	/* Pass 0 looks for a group naming 'agent', pass 1 for '*'. */
	int pass, best_len = -1, best_allow = 1;

	for (pass = 0; pass < 2 && best_len < 0; pass++) {
		int in_group = 0, rules_seen = 0, found = 0;

		for (line = robots; *line != '\0';) {
			size_t	    len = strcspn(line, "\r\n"), k, vlen;
			const char *v, *end = line + len, *hash;

			hash = memchr(line, '#', len);
			if (hash != NULL)
				end = hash;
			k = strcspn(line, ":");
			if (line + k < end) {
				v = line + k + 1;
				while (v < end && (*v == ' ' || *v == '\t'))
					v++;
				vlen = (size_t)(end - v);
				while (vlen > 0 &&
				    (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
					vlen--;
				if (k == 10 &&
				    strncasecmp(line, "user-agent", 10) == 0) {
					if (rules_seen)
						in_group = 0, rules_seen = 0;
					if (pass == 0 && vlen > 0 &&
					    strncasecmp(v, agent, vlen) == 0 &&
					    vlen == strlen(agent))
						in_group = found = 1;
					if (pass == 1 && vlen == 1 && *v == '*')
						in_group = found = 1;
				} else if ((k == 5 &&
					       strncasecmp(line, "allow", 5) ==
						   0) ||
				    (k == 8 &&
					strncasecmp(line, "disallow", 8) ==
					    0)) {
					rules_seen = 1;
					if (in_group && vlen > 0 &&
					    vlen <= ROBOTS_RULE_MAX &&
					    robots_match(v, vlen, path) &&
					    ((int)vlen > best_len ||
						((int)vlen == best_len &&
						    k == 5))) {
						best_len = (int)vlen;
						best_allow = k == 5;
					}
				}
			}
			line += len;
			while (*line == '\r' || *line == '\n')
				line++;
		}
		if (found && best_len < 0)
			return 1; /* its group, and no rule matched */
	}
	return best_len < 0 ? 1 : best_allow;
}

/* --- one fetch --------------------------------------------------------- */

struct fetched {
	long	       status;
	char	       ctype[128];
	unsigned char *body;
	size_t	       len, cap, max;
	int	       over; /* the answer passed 'max' */
};

static size_t
collect(char *ptr, size_t size, size_t n, void *arg)
{
	struct fetched *f = arg;
	size_t		take = size * n;

	if (f->len + take > f->max) {
		f->over = 1;
		return 0;
	}
	if (f->len + take + 1 > f->cap) {
		size_t	       nc = (f->len + take + 1) * 2;
		unsigned char *nb;

		if (nc > f->max + 1)
			nc = f->max + 1;
		if ((nb = realloc(f->body, nc)) == NULL)
			return 0;
		f->body = nb;
		f->cap = nc;
	}
	memcpy(f->body + f->len, ptr, take);
	f->len += take;
	f->body[f->len] = '\0';
	return take;
}

static void
fetched_free(struct fetched *f)
{
	free(f->body);
	memset(f, 0, sizeof(*f));
}

/* What netguard_url_check() allows besides https to public hosts. */
static unsigned
guard_flags(const struct conf *cfg)
{
	return (cfg->kb_fetch_allow_http ? NG_ALLOW_HTTP : 0) |
	    (cfg->kb_fetch_allow_loopback ? NG_ALLOW_LOOPBACK : 0);
}

/*
 * GETs 'url' into 'f' (at most 'max' bytes), following redirects
 * (REDIRECTS_MAX) by hand so that every address is judged again: the URL
 * by netguard_url_check(), the address connected to by the guard. Returns
 * 0 with f->status set, or -1 with '*err': blocked_address, private_address,
 * https_required, format, timeout, too_large, redirects, connect.
 */
static int
fetch(const struct conf *cfg, const char *url, size_t max, struct fetched *f,
    const char **err)
{
	unsigned flags = guard_flags(cfg);
	char	 cur[2048];
	int	 hop;
	/* One fetch, redirects and all, takes kb_fetch_timeout at most. */
	time_t until = time(NULL) + cfg->kb_fetch_timeout;

	memset(f, 0, sizeof(*f));
	if (strlen(url) >= sizeof(cur)) {
		*err = "format";
		return -1;
	}
	snprintf(cur, sizeof(cur), "%s", url);
	cur[strcspn(cur, "#")] = '\0';
	for (hop = 0; hop <= REDIRECTS_MAX; hop++) {
		struct netguard guard = { cfg->kb_fetch_allow_loopback, 0 };
		long		left = (long)(until - time(NULL));
		CURL	       *c;
		CURLcode	cc;
		char	       *loc = NULL, *ct = NULL;
		const char     *why;

		if (left <= 0) {
			fetched_free(f);
			*err = "timeout";
			return -1;
		}
		if ((why = netguard_url_check(cur, flags)) != NULL) {
			fetched_free(f); /* a redirect's own answer */
			*err = why;
			return -1;
		}
		if ((c = curl_easy_init()) == NULL) {
			fetched_free(f);
			*err = "internal";
			return -1;
		}
		fetched_free(f);
		f->max = max;
		curl_easy_setopt(c, CURLOPT_URL, cur);
		curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR,
		    cfg->kb_fetch_allow_http ? "http,https" : "https");
		curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, left * 1000L);
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
		    (left < 5 ? left : 5) * 1000L);
		curl_easy_setopt(c, CURLOPT_USERAGENT, USER_AGENT);
		/* Compressed answers are bounded once unpacked (collect). */
		curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
		curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
		netguard_apply(c, &guard);
		cc = curl_easy_perform(c);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &f->status);
		if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) ==
			CURLE_OK &&
		    ct != NULL)
			snprintf(f->ctype, sizeof(f->ctype), "%s", ct);
		if (cc == CURLE_OK && f->status >= 300 && f->status < 400 &&
		    curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &loc) ==
			CURLE_OK &&
		    loc != NULL) {
			if (strlen(loc) >= sizeof(cur)) {
				curl_easy_cleanup(c);
				fetched_free(f);
				*err = "format"; /* never a cut address */
				return -1;
			}
			snprintf(cur, sizeof(cur), "%s", loc);
			cur[strcspn(cur, "#")] = '\0';
			curl_easy_cleanup(c);
			continue;
		}
		curl_easy_cleanup(c);
		if (cc == CURLE_OK)
			return 0;
		*err = guard.refused ? "blocked_address"
		    : f->over || cc == CURLE_FILESIZE_EXCEEDED ? "too_large"
		    : cc == CURLE_OPERATION_TIMEDOUT	       ? "timeout"
		    : cc == CURLE_UNSUPPORTED_PROTOCOL ? "https_required"
						       : "connect";
		fetched_free(f);
		return -1;
	}
	fetched_free(f);
	*err = "redirects";
	return -1;
}

/* --- the robots.txt of each host -------------------------------------- */

struct robots {
	char  origin[300];
	char *text; /* NULL: everything allowed; "" with deny: nothing */
	int   deny_all;
};

/* "https://host:port" of 'url' into 'out'; -1 when it has none. */
static int
origin_of(const char *url, char *out, size_t len)
{
	const char *h = strstr(url, "://");
	size_t	    n;

	if (h == NULL)
		return -1;
	n = (size_t)(h - url) + 3 + strcspn(h + 3, "/?#");
	if (n >= len)
		return -1;
	memcpy(out, url, n);
	out[n] = '\0';
	return 0;
}

/*
 * Whether 'url' may be fetched, reading (once per host and run) the
 * host's robots.txt: none (4xx) allows everything; one that cannot be
 * read (5xx, no connection) allows nothing (RFC 9309).
 */
static int
robots_allow(
    const struct conf *cfg, struct robots *cache, int *n, const char *url)
{
	char	       origin[300], rurl[320];
	const char    *path, *err;
	struct fetched f;
	struct robots *r = NULL;
	int	       i;

	if (origin_of(url, origin, sizeof(origin)) == -1)
		return 0;
	for (i = 0; i < *n && r == NULL; i++)
		if (strcmp(cache[i].origin, origin) == 0)
			r = &cache[i];
	if (r == NULL) {
		if (*n == HOSTS_MAX)
			return 0;
		r = &cache[(*n)++];
		memset(r, 0, sizeof(*r));
		snprintf(r->origin, sizeof(r->origin), "%s", origin);
		snprintf(rurl, sizeof(rurl), "%s/robots.txt", origin);
		if (fetch(cfg, rurl, ROBOTS_MAX, &f, &err) == -1)
			r->deny_all = 1;
		else if (f.status >= 200 && f.status < 300)
			r->text = f.body != NULL ? (char *)f.body : strdup("");
		else if (f.status >= 500)
			r->deny_all = 1;
		if (r->text == (char *)f.body)
			f.body = NULL;
		fetched_free(&f);
	}
	if (r->deny_all)
		return 0;
	if (r->text == NULL)
		return 1;
	path = url + strlen(origin);
	return kb_robots_allowed(r->text, AGENT, *path != '\0' ? path : "/");
}

/* --- sitemaps ---------------------------------------------------------- */

/*
 * The <loc> of 'xml': pages (<url>) into 'pages', nested sitemaps
 * (<sitemap>) into 'maps', at most 'max' pages. -1 when not XML.
 */
static int
sitemap_locs(const unsigned char *xml, size_t len, json_t *pages, json_t *maps,
    size_t max)
{
	xmlDoc	*doc;
	xmlNode *root, *n, *c;

	doc = xmlReadMemory((const char *)xml, (int)len, "sitemap.xml", NULL,
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL)
		return -1;
	if (doc->intSubset != NULL) {
		/* A sitemap has no DTD: one is only there to expand. */
		xmlFreeDoc(doc);
		return -1;
	}
	root = xmlDocGetRootElement(doc);
	for (n = root != NULL ? root->children : NULL; n != NULL; n = n->next) {
		int page;

		if (n->type != XML_ELEMENT_NODE)
			continue;
		page = xmlStrcmp(n->name, (const xmlChar *)"url") == 0;
		if (!page &&
		    xmlStrcmp(n->name, (const xmlChar *)"sitemap") != 0)
			continue;
		for (c = n->children; c != NULL; c = c->next) {
			xmlChar *loc;

			if (c->type != XML_ELEMENT_NODE ||
			    xmlStrcmp(c->name, (const xmlChar *)"loc") != 0)
				continue;
			if ((loc = xmlNodeGetContent(c)) == NULL)
				continue;
			{
				char  *s = (char *)loc;
				size_t k = strlen(s);

				while (*s == ' ' || *s == '\n' || *s == '\t' ||
				    *s == '\r')
					s++, k--;
				while (k > 0 &&
				    (s[k - 1] == ' ' || s[k - 1] == '\n' ||
					s[k - 1] == '\t' || s[k - 1] == '\r'))
					k--;
				if (k > 0 && k < 2000 &&
				    (page ? json_array_size(pages) < max
					  : json_array_size(maps) <
						SITEMAPS_MAX))
					json_array_append_new(
					    page ? pages : maps,
					    json_stringn(s, k));
			}
			xmlFree(loc);
		}
	}
	xmlFreeDoc(doc);
	return 0;
}

/* The pages of sitemap 'url' (and of an index's sitemaps), or NULL. */
static json_t *
sitemap_pages(
    const struct conf *cfg, const char *url, int *partial, const char **err)
{
	json_t	      *pages = json_array(), *maps = json_array(), *v;
	struct fetched f;
	size_t	       i;

	*partial = 0;
	if (fetch(cfg, url, SITEMAP_MAX, &f, err) == -1)
		goto fail;
	if (f.status < 200 || f.status >= 300) {
		*err = "http_status";
		goto fail;
	}
	if (sitemap_locs(f.body, f.len, pages, maps,
		(size_t)cfg->kb_sitemap_max) == -1) {
		*err = "not_a_sitemap";
		goto fail;
	}
	fetched_free(&f);
	json_array_foreach(maps, i, v)
	{
		json_t *sub = json_array();

		if (i >= SITEMAPS_MAX ||
		    json_array_size(pages) >= (size_t)cfg->kb_sitemap_max)
			break;
		/* A child that fails makes the list partial: nothing is then
		 * taken for gone. */
		if (fetch(cfg, json_string_value(v), SITEMAP_MAX, &f, err) !=
			0 ||
		    f.status < 200 || f.status >= 300 ||
		    sitemap_locs(f.body, f.len, pages, sub,
			(size_t)cfg->kb_sitemap_max) == -1)
			*partial = 1;
		fetched_free(&f);
		json_decref(sub);
	}
	json_decref(maps);
	return pages;
fail:
	fetched_free(&f);
	json_decref(pages);
	json_decref(maps);
	return NULL;
}

/* --- the job ----------------------------------------------------------- */

/* A page's title: the HTML's, else its URL's last part, else its host. */
static void
page_title(const char *url, const char *html_title, char *out, size_t len)
{
	const char *p, *q;
	size_t	    n;

	if (html_title != NULL &&
	    html_title[strspn(html_title, " \n\t")] != '\0') {
		snprintf(out, len, "%.200s", html_title);
		return;
	}
	p = strstr(url, "://");
	p = p != NULL ? p + 3 : url;
	n = strcspn(p, "?#");
	for (q = p + n; q > p && q[-1] == '/'; q--)
		;
	{
		const char *s = q;

		while (s > p && s[-1] != '/')
			s--;
		if (s == p)
			snprintf(out, len, "%.*s",
			    (int)(q - p > 200 ? 200 : q - p), p);
		else
			snprintf(out, len, "%.*s",
			    (int)(q - s > 200 ? 200 : q - s), s);
	}
}

/*
 * Stores 'd' in a tenant transaction of its own, left open for the
 * caller to commit; NULL, or the reason it failed (rolled back).
 */
static const char *
store_text(const struct conf *cfg, struct db *db, const struct kb_doc *d)
{
	const char *p[3] = { d->company_id, d->source_id, d->source_url };
	PGresult   *res;

	if (db_tenant_begin(db, d->company_id, &q_src_quota, p, &res) == -1 ||
	    res == NULL)
		return "database";
	if (row_int(res, 0, "used") + (long long)strlen(d->text) >
	    cfg->kb_company_max) {
		PQclear(res);
		db_rollback(db);
		return "knowledge_base_full";
	}
	PQclear(res);
	if (kb_store(db, d, NULL) == -1) {
		db_rollback(db);
		return "too_large"; /* too many parts, or the database */
	}
	return NULL;
}

/*
 * An uploaded file's text read and stored (the transaction left open for
 * the caller), its bytes then dropped; NULL, or the reason it failed.
 */
static const char *
one_file(const struct conf *cfg, struct db *db, const char *cid,
    const char *sid, const char *bot, const char *lang, const char *title)
{
	const char    *p[2] = { cid, sid }, *err = NULL, *hex;
	unsigned char *bytes = NULL;
	char	      *text = NULL, *html_title = NULL, type[128];
	struct kb_doc  d;
	PGresult      *res = NULL;
	size_t	       n, i;

	if (db_tenant_begin(db, cid, &q_src_file, p, &res) == -1)
		return "database";
	db_rollback(db);
	if (res == NULL || PQntuples(res) != 1) {
		PQclear(res);
		return "gone"; /* read already, by an earlier try */
	}
	hex = row_get(res, 0, "file");
	snprintf(type, sizeof(type), "%s", row_get(res, 0, "file_type"));
	n = strlen(hex) / 2;
	if ((bytes = malloc(n + 1)) == NULL) {
		PQclear(res);
		return "internal";
	}
	for (i = 0; i < n; i++)
		bytes[i] = (unsigned char)(hex_digit(hex[2 * i]) * 16 +
		    hex_digit(hex[2 * i + 1]));
	PQclear(res);
	res = NULL;
	text = kb_extract(cfg, type, bytes, n, &html_title, &err);
	free(bytes);
	if (text == NULL)
		return err;
	memset(&d, 0, sizeof(d));
	d.company_id = cid;
	d.chatbot_id = bot;
	d.title = title != NULL	 ? title
	    : html_title != NULL ? html_title
				 : "Document";
	d.content_type = type;
	d.language = lang;
	d.source_id = sid;
	d.text = text;
	d.bytes = n;
	err = store_text(cfg, db, &d);
	if (err == NULL && (res = db_exec(db, &q_src_file_done, p)) == NULL) {
		db_rollback(db);
		err = "database";
	}
	PQclear(res);
	free(text);
	free(html_title);
	return err;
}

/* One page fetched and stored; NULL, or the reason it failed. */
static const char *
one_page(const struct conf *cfg, struct db *db, const char *cid,
    const char *sid, const char *bot, const char *lang, const char *url,
    struct robots *robots, int *nrobots, int *gone)
{
	struct fetched f;
	struct kb_doc  d;
	const char    *err = NULL, *type;
	char	      *text = NULL, *title = NULL, t[256];
	size_t	       max = (size_t)(cfg->kb_file_max > cfg->kb_document_max
			? cfg->kb_file_max
			: cfg->kb_document_max);

	*gone = 0;
	memset(&f, 0, sizeof(f));
	/* Judged before its host's robots.txt is asked for anything. */
	if ((err = netguard_url_check(url, guard_flags(cfg))) != NULL)
		return err;
	if (!robots_allow(cfg, robots, nrobots, url))
		return "robots";
	if (fetch(cfg, url, max, &f, &err) == -1)
		return err;
	if (f.status == 404 || f.status == 410) {
		*gone = 1;
		fetched_free(&f);
		return "gone";
	}
	if (f.status < 200 || f.status >= 300) {
		fetched_free(&f);
		return "http_status";
	}
	if ((type = kb_type_of(
		 f.body != NULL ? f.body : (const unsigned char *)"", f.len,
		 f.ctype[0] != '\0' ? f.ctype : NULL)) == NULL) {
		fetched_free(&f);
		return "unsupported_type";
	}
	text = kb_extract(cfg, type,
	    f.body != NULL ? f.body : (const unsigned char *)"", f.len, &title,
	    &err);
	if (text == NULL) {
		fetched_free(&f);
		return err;
	}
	page_title(url, title, t, sizeof(t));
	memset(&d, 0, sizeof(d));
	d.company_id = cid;
	d.chatbot_id = bot;
	d.title = t;
	d.content_type = type;
	d.source_url = url;
	d.language = lang;
	d.source_id = sid;
	d.text = text;
	d.bytes = f.len;
	err = store_text(cfg, db, &d);
	free(text);
	free(title);
	fetched_free(&f);
	return err;
}

/* Runs 'st' with (cid, sid, a, b) in a tenant transaction of its own. */
static int
note(struct db *db, struct db_stmt *st, const char *cid, const char *sid,
    const char *a, const char *b)
{
	const char *p[4] = { cid, sid, a, b };
	PGresult   *res;

	if (db_tenant_begin(db, cid, st, p, &res) == -1)
		return -1;
	PQclear(res);
	return db_commit(db);
}

enum job_result
kb_fetch_run(const struct conf *cfg, struct db *db, const struct job *job,
    const char **err)
{
	const char *cid = job->company_id;
	const char *sid =
	    json_string_value(json_object_get(job->payload, "source_id"));
	const char     *p[2] = { cid, sid };
	char		kind[16], url[2048], bot[37], lang[24] = "", n[16];
	char		title[256] = "";
	struct robots	robots[HOSTS_MAX];
	int		nrobots = 0, failed = 0, partial = 0, i;
	json_t	       *pages = NULL, *keep = NULL, *v;
	char	       *kj = NULL;
	PGresult       *res = NULL;
	size_t		k;
	enum job_result out = JOB_RETRY;

	*err = "database";
	if (cid == NULL || sid == NULL || !db_uuid_valid(sid)) {
		*err = "bad_payload";
		return JOB_FAIL;
	}
	if (db_tenant_begin(db, cid, &q_src_lock, p, &res) == -1)
		return JOB_RETRY;
	if (res == NULL || PQntuples(res) != 1) {
		/* The source went (or its company): nothing to do. */
		PQclear(res);
		db_rollback(db);
		return JOB_OK;
	}
	snprintf(kind, sizeof(kind), "%s", row_get(res, 0, "kind"));
	snprintf(url, sizeof(url), "%s", row_get(res, 0, "url"));
	snprintf(bot, sizeof(bot), "%s", row_get(res, 0, "chatbot_id"));
	if (row_opt(res, 0, "language") != NULL)
		snprintf(lang, sizeof(lang), "%s", row_get(res, 0, "language"));
	if (row_opt(res, 0, "title") != NULL)
		snprintf(title, sizeof(title), "%s", row_get(res, 0, "title"));
	PQclear(res);
	res = db_exec(db, &q_src_start, p);
	if (res == NULL || db_commit(db) == -1)
		goto out;
	PQclear(res);
	res = NULL;
	memset(robots, 0, sizeof(robots));
	if (strcmp(kind, "file") == 0) {
		const char *why = one_file(cfg, db, cid, sid, bot,
		    lang[0] != '\0' ? lang : NULL,
		    title[0] != '\0' ? title : NULL);

		if (why != NULL && strcmp(why, "database") == 0)
			goto out;
		if (why == NULL && db_commit(db) == -1)
			goto out;
		if (why != NULL && strcmp(why, "gone") == 0)
			why = NULL; /* an earlier try read it */
		if (note(db, &q_src_found, cid, sid, "1", NULL) == -1 ||
		    note(db, &q_src_page, cid, sid, why, "upload") == -1 ||
		    note(db, &q_src_end, cid, sid,
			why != NULL ? "failed" : "done", why) == -1)
			goto out;
		out = JOB_OK;
		*err = NULL;
		goto out;
	}
	if (strcmp(kind, "sitemap") == 0) {
		const char *why = NULL;

		if ((pages = sitemap_pages(cfg, url, &partial, &why)) == NULL) {
			(void)note(db, &q_src_end, cid, sid, "failed", why);
			out = JOB_OK;
			goto out;
		}
	} else
		pages = json_pack("[s]", url);
	snprintf(n, sizeof(n), "%zu", json_array_size(pages));
	if (note(db, &q_src_found, cid, sid, n, NULL) == -1)
		goto out;
	keep = json_array();
	json_array_foreach(pages, k, v)
	{
		const char *page = json_string_value(v), *why;
		int	    gone;

		why = one_page(cfg, db, cid, sid, bot,
		    lang[0] != '\0' ? lang : NULL, page, robots, &nrobots,
		    &gone);
		if (strcmp(why != NULL ? why : "", "database") == 0)
			goto out;
		if (!gone)
			json_array_append(keep, v);
		if (why == NULL) {
			if (db_commit(db) == -1)
				goto out;
		} else
			failed++;
		if (note(db, &q_src_page, cid, sid, why, page) == -1)
			goto out;
		/* A page may take a while: the lease is renewed for each. */
		if (jobs_extend(cfg, db, job) == 0) {
			out = JOB_OK; /* a later try has it */
			goto out;
		}
	}
	/*
	 * What the source no longer has goes from the knowledge base: only
	 * when the list is whole (no child sitemap failed, and not empty,
	 * which a broken site gives more often than an emptied one).
	 */
	if ((kj = json_dumps(keep, JSON_COMPACT)) == NULL)
		goto out;
	if (!partial && json_array_size(pages) > 0) {
		const char *q[3] = { cid, sid, kj };

		if (db_tenant_begin(db, cid, &q_src_vanished, q, &res) == -1)
			goto out;
		PQclear(res);
		res = NULL;
		if (db_commit(db) == -1)
			goto out;
	}
	i = failed > 0 && (size_t)failed == json_array_size(pages);
	if (note(db, &q_src_end, cid, sid, i ? "failed" : "done",
		i ? "no_page" : NULL) == -1)
		goto out;
	log_event(LOG_INFO, "kb_source_synced",
	    LOG_I("pages", (long long)json_array_size(pages)),
	    LOG_I("failed", failed));
	out = JOB_OK;
	*err = NULL;
out:
	if (out != JOB_OK)
		db_rollback(db);
	for (i = 0; i < nrobots; i++)
		free(robots[i].text);
	PQclear(res);
	free(kj);
	json_decref(pages);
	json_decref(keep);
	return out;
}

void
kb_fetch_give_up(const struct conf *cfg, struct db *db, const struct job *job)
{
	const char *sid =
	    json_string_value(json_object_get(job->payload, "source_id"));

	(void)cfg;
	/* Never left "fetching": re-syncs and Sync now would wait for ever. */
	if (job->company_id != NULL && sid != NULL && db_uuid_valid(sid))
		(void)note(
		    db, &q_src_end, job->company_id, sid, "failed", "gave_up");
}

int
kb_resync_sweep(const struct conf *cfg, struct db *db)
{
	PGresult *due, *res;
	int	  i, n = 0;

	(void)cfg;
	if ((due = db_exec(db, &q_due, NULL)) == NULL)
		return -1;
	for (i = 0; i < PQntuples(due); i++) {
		const char *p[2] = { PQgetvalue(due, i, 0),
			PQgetvalue(due, i, 1) };
		json_t	   *payload = json_pack("{s:s}", "source_id", p[1]);

		if (db_tenant_begin(db, p[0], &q_requeue, p, &res) == -1) {
			json_decref(payload);
			continue;
		}
		if (res != NULL && PQntuples(res) == 1 &&
		    jobs_enqueue(db, "kb_source", p[0], payload) == 0 &&
		    db_commit(db) == 0)
			n++;
		else
			db_rollback(db);
		PQclear(res);
		json_decref(payload);
	}
	PQclear(due);
	return n;
}
