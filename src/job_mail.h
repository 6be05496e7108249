/*
 * job_mail.h: the "email" jobs: one mail of a template (signup_confirm,
 * signup_existing, email_verify, password_reset, invitation, notices)
 * to one address.
 */
#ifndef PARLEY_JOB_MAIL_H
#define PARLEY_JOB_MAIL_H

#include "job_queue.h"

/* Sends the mail of 'job'; '*err' names a failure. */
enum job_result job_mail(const struct conf *cfg, struct db *db,
    const struct job *job, const char **err);

#endif
