/*
 * audit_verify.c: placeholder until the verifier lands.
 */
#include "config.h"

#include <stdio.h>

#include "audit_verify.h"

int
audit_verify_main(int argc, char *argv[])
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "parleyctl: audit verify is not built yet\n");
	return 2;
}
