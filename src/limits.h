/*
 * limits.h: every cap parley puts on outside input, in one place.
 * The tests read these names (t/lib/ParleyTest.pm parses this file), so a
 * change here changes what the tests expect.
 */
#ifndef PARLEY_LIMITS_H
#define PARLEY_LIMITS_H

#define PRL_MAX_PATH 2048 /* request path, bytes, without query */
#define PRL_MAX_QUERY 4096 /* query string, bytes */
#define PRL_MAX_HEADER 8192 /* any single header value we read */
#define PRL_MAX_BODY (1024 * 1024) /* absolute body cap; routes set less */
/* A file (BODY_BYTES): attachment_max_bytes is at most this. */
#define PRL_FILE_BODY (50 * 1024 * 1024)
#define PRL_BODY_SMALL (16 * 1024) /* default per-route body limit */
/* A chatbot's logo: the upload, then what is kept (decoded, written again). */
#define PRL_LOGO_BODY (1024 * 1024)
/* A knowledge-base file as sent (kb_file_max, at most 50 MiB, bounds it). */
#define PRL_KB_FILE_BODY (50 * 1024 * 1024)
/* Seconds of CPU and wall time pdftotext may take over one PDF. */
#define KB_PDF_SECONDS 20
#define LOGO_MAX_BYTES (256 * 1024)
#define LOGO_MAX_SIDE 1024 /* pixels */
#define PRL_BODY_EMPTY 64 /* what a body-less route reads: "", {} or null */
#define PRL_MAX_JSON_DEPTH 32 /* nesting of arrays/objects */
#define PRL_MAX_PATH_SEGMENTS 16
#define PRL_REQUEST_ID_LEN 32 /* hex characters */
#define PRL_MAX_LOG_LINE 4096 /* longer log lines are truncated */
#define PRL_MAX_CONFIG_LINE 2048
#define MAIL_TIMEOUT_S 30 /* seconds one e-mail may take, connect included */
#define PRL_MAX_WORKERS 256
#define PRL_MAX_SIDE_PROCS 32 /* jobs processes and answerers, 16 each */
#define PRL_ANSWER_PENDING (64 * 1024) /* unpublished text of one reply */
#define PRL_ANSWER_CLAIM 64 /* reply jobs taken by one claim */
#define PRL_IDEM_KEY_MAX 255 /* Idempotency-Key, bytes */

#endif
