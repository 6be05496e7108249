#!/bin/sh
# lint/banned.sh FILE...: refuse functions parley does not use (after curl's
# checksrc): unbounded copies and formats, non-cryptographic randomness,
# unchecked conversions, shell escapes.
set -u
pattern='\<(sprintf|vsprintf|strcpy|strcat|strncpy|gets|atoi|atol|atoll|strtok|system|popen|rand|srand|random|srandom|drand48|mktemp|tmpnam|alloca)[[:space:]]*\('
bad=$(grep -nE "$pattern" "$@" /dev/null | grep -vE ':[0-9]+:[[:space:]]*(\*|/\*)')
if [ -n "$bad" ]; then
	printf '%s\n' "$bad"
	echo "lint: banned functions used (see lint/banned.sh)" >&2
	exit 1
fi
# SQL only through parameters: PQexec takes literals only (a migration
# script goes through PQsendQuery in src/migrate.c, its one reviewed use).
bad=$(grep -nE 'PQexec[[:space:]]*\([^,]+,[[:space:]]*[A-Za-z_]' "$@" /dev/null)
if [ -n "$bad" ]; then
	printf '%s\n' "$bad"
	echo "lint: PQexec with a non-literal query (use PQexecParams/prepared statements)" >&2
	exit 1
fi
# Handlers read results by column name (row_get, row.h), never by
# position: a literal column index in src/api_*.c is refused.
api=$(printf '%s\n' "$@" | grep -E '(^|/)src/api_[a-z_]+\.c$')
if [ -n "$api" ]; then
	bad=$(grep -nE 'PQgetvalue[[:space:]]*\([^,]+,[^,]+,[[:space:]]*[0-9]' $api /dev/null)
	if [ -n "$bad" ]; then
		printf '%s\n' "$bad"
		echo "lint: result read by column position in a handler (use row_get)" >&2
		exit 1
	fi
fi
echo "lint: no banned functions"
