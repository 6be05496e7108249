/*
 * kb_extract.c: a document's text (see kb_extract.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "conf.h"
#include "kb_extract.h"
#include "limits.h"
#include "text.h"

#define DOCX_ENTRIES_MAX 2000 /* entries of a DOCX archive */
#define DOCX_XML_MAX (20 * 1024 * 1024) /* bytes of word/document.xml */
#define DOCX_RATIO_MAX 100 /* unpacked bytes per packed byte */
#define PDF_SECONDS KB_PDF_SECONDS
#define PDF_MEMORY (512L * 1024 * 1024) /* its address space */
#ifndef PDFTOTEXT
#define PDFTOTEXT "/usr/bin/pdftotext"
#endif

const char *
kb_type_of(const unsigned char *buf, size_t len, const char *declared)
{
	size_t n = declared != NULL ? strcspn(declared, "; ") : 0;

	if (len >= 5 && memcmp(buf, "%PDF-", 5) == 0)
		return KB_TYPE_PDF;
	if (len >= 4 && memcmp(buf, "PK\003\004", 4) == 0)
		return memmem(buf, len, "word/document.xml", 17) != NULL
		    ? KB_TYPE_DOCX
		    : NULL;
	if (memchr(buf, '\0', len) != NULL)
		return NULL; /* binary: no text type */
	if (n == 13 && strncasecmp(declared, "text/markdown", 13) == 0)
		return "text/markdown";
	if (n == 10 && strncasecmp(declared, "text/plain", 10) == 0)
		return "text/plain";
	if ((n == 9 && strncasecmp(declared, "text/html", 9) == 0) ||
	    (n == 21 &&
		strncasecmp(declared, "application/xhtml+xml", 21) == 0))
		return "text/html";
	/* No type said: HTML when it starts like it. */
	if (n == 0) {
		size_t i = 0;

		while (i < len &&
		    (buf[i] == ' ' || buf[i] == '\n' || buf[i] == '\r' ||
			buf[i] == '\t'))
			i++;
		return i < len && buf[i] == '<' ? "text/html" : "text/plain";
	}
	return NULL;
}

/* Appends 'n' bytes to the growing buffer; -1 past 'max' or on ENOMEM. */
static int
grow(char **buf, size_t *len, size_t *cap, const char *s, size_t n, size_t max)
{
	if (*len + n + 1 > max)
		return -1;
	if (*len + n + 1 > *cap) {
		size_t nc = (*len + n + 1) * 2;
		char  *nb;

		if (nc > max)
			nc = max;
		if ((nb = realloc(*buf, nc)) == NULL)
			return -1;
		*buf = nb;
		*cap = nc;
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
	return 0;
}

/*
 * PDF: pdftotext in a child with rlimits (CPU, address space, no files
 * written, no more processes), reading a private temporary file, its
 * output bounded by kb_document_max and its time by PDF_SECONDS.
 */
static char *
pdf_text(const struct conf *cfg, const unsigned char *buf, size_t len,
    const char **err)
{
	char	path[] = "/tmp/parley-pdf-XXXXXX", pages[16], chunk[8192];
	char   *out = NULL;
	size_t	olen = 0, cap = 0, max = (size_t)cfg->kb_document_max;
	int	fd, pipefd[2] = { -1, -1 }, status = 0, over = 0;
	pid_t	pid = -1;
	time_t	until = time(NULL) + PDF_SECONDS;
	ssize_t w;
	size_t	off = 0;

	*err = "internal";
	if ((fd = mkstemp(path)) == -1)
		return NULL;
	while (off < len && (w = write(fd, buf + off, len - off)) > 0)
		off += (size_t)w;
	close(fd);
	if (off < len || pipe(pipefd) == -1)
		goto out;
	snprintf(pages, sizeof(pages), "%d", cfg->kb_pdf_pages);
	if ((pid = fork()) == -1)
		goto out;
	if (pid == 0) {
		struct rlimit cpu = { PDF_SECONDS, PDF_SECONDS };
		struct rlimit as = { PDF_MEMORY, PDF_MEMORY };
		struct rlimit none = { 0, 0 };
		int	      nul = open("/dev/null", O_RDWR);

		setrlimit(RLIMIT_CPU, &cpu);
		setrlimit(RLIMIT_AS, &as);
		setrlimit(RLIMIT_FSIZE, &none);
		setrlimit(RLIMIT_NPROC, &none);
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 2);
		}
		dup2(pipefd[1], 1);
		/* Nothing of the parent's but the three it was given. */
		closefrom(3);
		execl(PDFTOTEXT, "pdftotext", "-q", "-enc", "UTF-8", "-l",
		    pages, path, "-", (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	pipefd[1] = -1;
	for (;;) {
		struct pollfd pfd = { pipefd[0], POLLIN, 0 };
		int	      left = (int)(until - time(NULL));
		ssize_t	      n;

		int r;

		if (left <= 0) {
			over = 1; /* too slow */
			break;
		}
		if ((r = poll(&pfd, 1, left * 1000)) == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			over = 1;
			break;
		}
		if ((n = read(pipefd[0], chunk, sizeof(chunk))) <= 0)
			break;
		if (grow(&out, &olen, &cap, chunk, (size_t)n, max + 1) == -1) {
			over = 2; /* too much text */
			break;
		}
	}
	if (over)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	pid = -1;
	if (over == 1 || (WIFSIGNALED(status) && !over)) {
		/* Out of time, or killed by its CPU or memory limit. */
		*err = over == 1 ||
			(WIFSIGNALED(status) && WTERMSIG(status) == SIGXCPU)
		    ? "timeout"
		    : "unreadable";
		goto fail;
	}
	if (over == 2) {
		*err = "too_large";
		goto fail;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		*err = "unreadable";
		goto fail;
	}
	goto out;
fail:
	free(out);
	out = NULL;
out:
	if (pipefd[0] != -1)
		close(pipefd[0]);
	if (pipefd[1] != -1)
		close(pipefd[1]);
	unlink(path);
	return out;
}

/* The text of a WordprocessingML body: w:t runs, w:p lines, w:tab tabs. */
static void
docx_walk(
    xmlNode *n, char **buf, size_t *len, size_t *cap, size_t max, int *full)
{
	for (; n != NULL && !*full; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (xmlStrcmp(n->name, (const xmlChar *)"t") == 0) {
			xmlChar *c = xmlNodeGetContent(n);

			if (c != NULL &&
			    grow(buf, len, cap, (const char *)c,
				strlen((const char *)c), max) == -1)
				*full = 1;
			xmlFree(c);
			continue;
		}
		if (xmlStrcmp(n->name, (const xmlChar *)"tab") == 0 &&
		    grow(buf, len, cap, "\t", 1, max) == -1)
			*full = 1;
		if (xmlStrcmp(n->name, (const xmlChar *)"br") == 0 &&
		    grow(buf, len, cap, "\n", 1, max) == -1)
			*full = 1;
		docx_walk(n->children, buf, len, cap, max, full);
		if (xmlStrcmp(n->name, (const xmlChar *)"p") == 0 &&
		    grow(buf, len, cap, "\n", 1, max) == -1)
			*full = 1;
	}
}

/*
 * DOCX: word/document.xml out of the zip (libarchive), bounded in
 * entries, in its unpacked size and in its ratio to the file, then its
 * text (libxml2: no network, no DTD, no entities substituted).
 */
static char *
docx_text(const struct conf *cfg, const unsigned char *buf, size_t len,
    const char **err)
{
	struct archive	     *a;
	struct archive_entry *e;
	char		     *xml = NULL, *text = NULL, chunk[16384];
	size_t		      xlen = 0, xcap = 0, tlen = 0, tcap = 0;
	size_t		      limit = DOCX_XML_MAX;
	int		      entries = 0, found = 0, full = 0;
	xmlDoc		     *doc = NULL;

	*err = "unreadable";
	if ((size_t)len * DOCX_RATIO_MAX < limit)
		limit = len * DOCX_RATIO_MAX;
	if ((a = archive_read_new()) == NULL) {
		*err = "internal";
		return NULL;
	}
	archive_read_support_format_zip(a);
	if (archive_read_open_memory(a, buf, len) != ARCHIVE_OK)
		goto out;
	while (!found && archive_read_next_header(a, &e) == ARCHIVE_OK) {
		ssize_t n;

		if (++entries > DOCX_ENTRIES_MAX) {
			*err = "too_many_entries";
			goto out;
		}
		if (strcmp(archive_entry_pathname(e), "word/document.xml") != 0)
			continue;
		found = 1;
		while ((n = archive_read_data(a, chunk, sizeof(chunk))) > 0)
			if (grow(&xml, &xlen, &xcap, chunk, (size_t)n,
				limit + 1) == -1) {
				*err = limit < DOCX_XML_MAX ? "zip_bomb"
							    : "too_large";
				goto out;
			}
		if (n < 0)
			goto out;
	}
	if (!found || xml == NULL)
		goto out;
	doc = xmlReadMemory(xml, (int)xlen, "document.xml", NULL,
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
		XML_PARSE_COMPACT);
	if (doc == NULL || doc->intSubset != NULL) /* no DTD in a DOCX */
		goto out;
	docx_walk(xmlDocGetRootElement(doc), &text, &tlen, &tcap,
	    (size_t)cfg->kb_document_max + 1, &full);
	if (full) {
		*err = "too_large";
		free(text);
		text = NULL;
	}
out:
	xmlFreeDoc(doc);
	free(xml);
	archive_read_free(a);
	return text;
}

char *
kb_extract(const struct conf *cfg, const char *type, const unsigned char *buf,
    size_t len, char **title, const char **err)
{
	char *raw = NULL, *text;

	*title = NULL;
	*err = "internal";
	if (strcmp(type, KB_TYPE_PDF) == 0 || strcmp(type, KB_TYPE_DOCX) == 0) {
		if (len > (size_t)cfg->kb_file_max) {
			*err = "too_large";
			return NULL;
		}
		raw = strcmp(type, KB_TYPE_PDF) == 0
		    ? pdf_text(cfg, buf, len, err)
		    : docx_text(cfg, buf, len, err);
		if (raw == NULL)
			return NULL;
		text = text_normalize(raw, strlen(raw));
		free(raw);
	} else if (len > (size_t)cfg->kb_file_max) {
		/* A page as sent (markup and all); its text is bounded below. */
		*err = "too_large";
		return NULL;
	} else if (strcmp(type, "text/html") == 0)
		text = text_from_html((const char *)buf, len, title);
	else
		text = text_normalize((const char *)buf, len);
	if (text == NULL) {
		*err = "unreadable";
		return NULL;
	}
	if (strlen(text) > (size_t)cfg->kb_document_max) {
		free(text);
		free(*title);
		*title = NULL;
		*err = "too_large";
		return NULL;
	}
	if (text[strspn(text, " \n\t")] == '\0') {
		free(text);
		free(*title);
		*title = NULL;
		*err = "no_text";
		return NULL;
	}
	return text;
}
