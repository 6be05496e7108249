/*
 * mail.h: plain-text e-mail through SMTP (libcurl). Only the jobs worker
 * sends mail, never a request handler.
 */
#ifndef PARLEY_MAIL_H
#define PARLEY_MAIL_H

/* Seconds one message may take (connect included). */
#define MAIL_TIMEOUT_S 30

struct conf;

/*
 * Sends 'body' (UTF-8 text) with 'subject' (ASCII) to 'to'. Returns 0,
 * -1 for a permanent failure (bad address), -2 for a temporary one
 * (server unreachable, 4xx, not configured: retry later).
 */
int mail_send(const struct conf *cfg, const char *to, const char *subject,
    const char *body);

#endif
