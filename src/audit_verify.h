/*
 * audit_verify.h: `parleyctl audit verify` (written by the audit work).
 */
#ifndef PARLEY_AUDIT_VERIFY_H
#define PARLEY_AUDIT_VERIFY_H
/* Runs the command with its arguments; returns the exit status. */
int audit_verify_main(int argc, char *argv[]);
#endif
