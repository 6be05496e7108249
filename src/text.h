/*
 * text.h: plain text for the knowledge base and the prompt: HTML reduced to
 * text, text normalised, text cut into chunks, untrusted text neutralised
 * before it goes between tags in an LLM prompt. Pure functions: no global
 * state, no I/O.
 */
#ifndef PARLEY_TEXT_H
#define PARLEY_TEXT_H

#include <stddef.h>

#define TEXT_MAX_LEN (16 * 1024 * 1024) /* any input or output, bytes */
#define TEXT_MAX_TITLE 1024 /* title_out, bytes */
#define TEXT_MAX_CHUNKS 10000 /* chunks one text may give */
#define TEXT_CHUNK_MIN 16 /* smallest 'target' text_chunks() accepts */

/*
 * Reduces the HTML document 'html' ('len' bytes, at most TEXT_MAX_LEN) to
 * plain UTF-8 text with libxml2's HTML parser (recovering, no network, no
 * error output). Input that is valid UTF-8 throughout is read as UTF-8;
 * otherwise the encoding comes from a byte order mark or a <meta> charset,
 * and without either the input is read as ISO-8859-1 from the first byte
 * that is not UTF-8. The contents of script, style,
 * noscript, template, iframe, object, svg, math, canvas, embed, applet,
 * audio, video, select, textarea, title and head are dropped, and so are
 * elements marked hidden (the hidden attribute, aria-hidden="true", an
 * inline style with display:none or visibility:hidden). Block elements
 * become line breaks, paragraph-like ones (p, h1-h6, ul, ol, table, pre,
 * blockquote, section, article, ...) blank lines; headings become Markdown
 * heading lines ("## Text") so text_chunks() starts a chunk there; list
 * items start with "- "; table cells are separated by " | ". Whitespace is
 * collapsed to one space within lines (kept as written inside pre),
 * trailing spaces and control characters are dropped, never more than one
 * blank line in a row, no leading or trailing blank lines.
 * If 'title_out' is not NULL, *title_out is set to the document's first
 * <title> (whitespace collapsed, at most TEXT_MAX_TITLE bytes) as a new
 * string, or NULL if it has none; caller frees with free().
 * Returns a new string (possibly ""); caller frees with free(). NULL on
 * failure (memory, oversized input or output, unparseable); *title_out is
 * then NULL.
 */
char *text_from_html(const char *html, size_t len, char **title_out);

/*
 * Normalises text/plain or text/markdown 'in' ('len' bytes, at most
 * TEXT_MAX_LEN): CRLF and CR become LF; NUL, other C0 controls except LF and
 * TAB, DEL and C1 controls (U+0080-U+009F) and a leading byte order mark
 * are dropped; spaces and tabs at the end of lines are trimmed; more than
 * two newlines in a row become two (one blank line); leading and trailing
 * newlines are removed.
 * Returns a new string; caller frees with free(). NULL if 'in' is not valid
 * UTF-8 (an error, not cleaned), too long, or memory ran out.
 */
char *text_normalize(const char *in, size_t len);

/*
 * Called by text_chunks() once per chunk, in order. 'chunk' is 'len' bytes,
 * NUL-terminated; borrowed, valid only during the call. Returns 0 to go on,
 * anything else to stop (text_chunks() then returns -1).
 */
typedef int (*text_chunk_fn)(void *arg, const char *chunk, size_t len);

/*
 * Cuts the valid UTF-8 string 'text' (at most TEXT_MAX_LEN bytes) into
 * chunks for retrieval and calls 'emit' with each.
 * Paragraphs are separated by blank lines. A Markdown heading line (0-3
 * spaces, 1-6 '#', a space, text; not inside ``` or ~~~ fences) is a unit
 * of its own and starts a new chunk, whose first line it is; headings that
 * follow each other directly share the chunk of the text below them.
 * Paragraphs are packed into one chunk, joined by one blank line, while the
 * chunk stays within 'target' bytes (within 'max' for a chunk that so far
 * holds only headings). A paragraph up to 'max' bytes is never split; a
 * longer one is cut into pieces of at most 'target' bytes, at the last
 * sentence end (". ", "? ", "! " or a CJK full stop) in the second half of
 * the piece, else at the last whitespace, else at a character boundary.
 * Chunks carry no leading or trailing whitespace, are never empty, never
 * longer than 'max' bytes and never split a UTF-8 sequence; an empty or
 * blank text gives no chunks.
 * Requires TEXT_CHUNK_MIN <= 'target' <= 'max'. Nothing is emitted unless
 * the whole text fits in TEXT_MAX_CHUNKS chunks.
 * Returns the number of chunks, or -1: bad arguments, invalid UTF-8, too
 * many chunks, memory, or 'emit' asked to stop.
 */
int text_chunks(
    const char *text, size_t target, size_t max, text_chunk_fn emit, void *arg);

/*
 * Makes the string 'in' safe to place between <untrusted_document> tags in
 * a prompt: every '<' becomes "&lt;" and every '>' becomes "&gt;", so the
 * content can neither open nor close a tag, whatever its case or spacing.
 * A look-alike of '<' or '>' (by Unicode's confusables, NFKC or name:
 * fullwidth, small, CJK and mathematical brackets, guillemets, arrowheads)
 * is replaced the same way where it would make a wrapper tag: before what
 * reads as [/]untrusted_document, or after its name, however that is
 * spelt (look-alike letters, invisible characters, spaces). Elsewhere it
 * is kept: « and » are quotation marks in French, German, Danish and
 * Estonian. All other bytes are kept as they are ('&' included).
 * Returns a new string; caller frees with free(). NULL if the result would
 * exceed TEXT_MAX_LEN bytes or memory ran out.
 */
char *text_neutralise(const char *in);

#endif
