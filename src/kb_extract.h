/*
 * kb_extract.h: the text of a knowledge-base document, from what was
 * uploaded or fetched: HTML (libxml2, as text.c does it), plain text and
 * Markdown, PDF (poppler's pdftotext, in a child process bounded in
 * pages, time, memory and output) and DOCX (libarchive and libxml2,
 * bounded in entries, bytes and ratio against zip bombs). What a file is
 * comes from its bytes for PDF and DOCX, never its name.
 */
#ifndef PARLEY_KB_EXTRACT_H
#define PARLEY_KB_EXTRACT_H

#include <stddef.h>

struct conf;

#define KB_TYPE_PDF "application/pdf"
#define KB_TYPE_DOCX                                                           \
	"application/vnd.openxmlformats-officedocument.wordprocessingml."      \
	"document"

/*
 * What 'len' bytes at 'buf' are, given 'declared' (a Content-Type, its
 * parameters ignored; may be NULL): KB_TYPE_PDF or KB_TYPE_DOCX from
 * their signatures, else text/html, text/markdown or text/plain as
 * declared (text/html when the bytes start like HTML). NULL: none of
 * those (an image, an archive that is no DOCX).
 */
const char *kb_type_of(
    const unsigned char *buf, size_t len, const char *declared);

/*
 * The text of 'len' bytes of type 'type' (kb_type_of()'s), normalised;
 * '*title' receives an HTML page's <title> or NULL (caller frees). Returns
 * a new string (caller frees), or NULL with '*err' a stable reason:
 * unreadable, too_large, too_many_entries, zip_bomb, no_text, internal.
 */
char *kb_extract(const struct conf *cfg, const char *type,
    const unsigned char *buf, size_t len, char **title, const char **err);

#endif
