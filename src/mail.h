/*
 * mail.h: plain-text e-mail through SMTP (libcurl). Only the jobs worker
 * sends mail, never a request handler.
 */
#ifndef PARLEY_MAIL_H
#define PARLEY_MAIL_H

#include "limits.h" /* MAIL_TIMEOUT_S */

struct conf;

/*
 * Sends 'body' (UTF-8 text) with 'subject' (ASCII) to 'to'. 'key' names
 * the e-mail across tries (the job's id): its Message-ID is the same
 * every time, <HMAC(key)@mail_from's domain>, so a mail system that got
 * it once (a try that died between DATA and the server's 250) drops the
 * copy; NULL gives a random one. Returns 0, -1 for a permanent failure
 * (bad address), -2 for a temporary one (server unreachable, 4xx, not
 * configured: retry later).
 */
int mail_send(const struct conf *cfg, const char *to, const char *subject,
    const char *body, const char *key);
/* mail_send() with more header lines ('headers', each ending in CRLF). */
int mail_send_headers(const struct conf *cfg, const char *to,
    const char *subject, const char *body, const char *key,
    const char *headers);

#endif
