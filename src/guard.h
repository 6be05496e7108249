/*
 * guard.h: checks on an AI reply before it reaches a visitor: no canary,
 * no piece of the system prompt, no link to a host or page we did not
 * allow, not too long, not empty. Works on a reply as it streams in and
 * says how much of it may be shown so far.
 */
#ifndef PARLEY_GUARD_H
#define PARLEY_GUARD_H

#include <stddef.h>

#define GUARD_NGRAM 40 /* normalised prompt bytes that make a leak */
#define GUARD_MIN_PROMPT 20 /* shorter prompts are not looked for */
#define GUARD_MAX_PROMPT (64 * 1024) /* system prompt, bytes */
#define GUARD_MAX_CANARY 256 /* bytes */
#define GUARD_MAX_LIST 256 /* allowed hosts, allowed URLs: entries each */
#define GUARD_MAX_URL 2048 /* one allowed URL, bytes */
#define GUARD_MAX_HOST 255 /* host part of a link in a reply, bytes */

struct guard;

/*
 * Returns a new guard for one reply; caller frees with guard_free(). All
 * arguments are copied (borrowed only during the call); any may be NULL or
 * empty to switch its check off, 'max_len' 0 means no limit.
 * 'system_prompt': the confidential instructions (not the retrieved
 * documents, which replies may quote). Compared with ASCII case folded and
 * whitespace runs collapsed to one space; a reply holding any GUARD_NGRAM
 * consecutive bytes of it (or all of it, if it is shorter but at least
 * GUARD_MIN_PROMPT bytes) fails with "system_prompt".
 * 'canary' (ASCII): fails with "canary" anywhere in the reply as it reads
 * (unicode.h): case folded, look-alike characters as what they look like
 * (U+2010 as '-', Cyrillic and fullwidth letters), invisible characters
 * (zero-width spaces and joiners) skipped.
 * 'allowed_hosts': NULL-terminated host names; a link may go to one of
 * them or any subdomain ("example.com" allows "docs.example.com", not
 * "evilexample.com" or "example.com.evil.net"). Compared in lower case,
 * without a trailing dot, IDN as given (not converted to punycode).
 * 'allowed_urls': NULL-terminated exact URLs (cited documents) that may be
 * linked although their host is not allowed; trailing punctuation after
 * one (".", ")", ...) does not count, anything else does.
 * 'max_len': bytes.
 * Returns NULL if memory runs out or an argument exceeds the GUARD_MAX_*
 * caps.
 */
struct guard *guard_new(const char *system_prompt, const char *canary,
    const char *const *allowed_hosts, const char *const *allowed_urls,
    size_t max_len);

void guard_free(struct guard *g);

/*
 * Checks the reply so far: 'text', 'len' bytes, not NUL-terminated. Between
 * calls the reply only grows: each call passes the same bytes as before
 * plus new ones, and only the new ones are scanned (linear in the reply as
 * a whole); a shorter 'len' than before is ignored. 'final' is 1 for the
 * complete reply: links that end it are then judged, and a reply that is
 * empty or only whitespace fails.
 * Links are every URL-like token: http:// and https:// URLs (any case;
 * "\" counts as "/"; "https:host" and "https:/host" too, as browsers
 * read them), any other scheme followed by "//" ("ftp://host"),
 * scheme-relative "//host", a bare host with a path ("shop.example/x",
 * two labels or more, the last letters only), hosts starting "www.", and
 * Markdown link targets "[x](target)", which must be http(s) URLs (or
 * "//host"): a relative, mailto: or javascript: target fails. A link fails if it has user information ("user@host"),
 * or if its host, in lower case with IDN full stops read as '.', the port
 * and trailing dots removed, is not allowed and the URL is not an allowed
 * one.
 * Returns NULL while all is well, else the first failure, a static string:
 * "canary", "system_prompt", "link", "too_long" or "empty". A failure is
 * final: later calls return it again.
 */
const char *guard_check(
    struct guard *g, const char *text, size_t len, int final);

/*
 * How many bytes of 'text' may be shown to the visitor now, after
 * guard_check() was called with it: the bytes checked, except a tail held
 * back because it may still turn into a failure (a canary or a prompt
 * window begun, a link whose host or end is not known yet, the start of
 * "https:", "www." or "](") and never in the middle of a UTF-8 sequence.
 * Never beyond the start of a failure found so far; everything once the
 * final check passed.
 */
size_t guard_safe_len(const struct guard *g, const char *text, size_t len);

#endif
