/*
 * tap.h: a tiny TAP producer for table-driven C unit tests (after Knot DNS).
 * Include once per test program.
 */
#ifndef PARLEY_TAP_H
#define PARLEY_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

static void
tap_ok(int cond, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

#define tap_is_int(got, want, ...)                                             \
	do {                                                                   \
		long long g_ = (got), w_ = (want);                             \
		tap_ok(g_ == w_, __VA_ARGS__);                                 \
		if (g_ != w_)                                                  \
			printf("#   got %lld, want %lld\n", g_, w_);           \
	} while (0)

#define tap_is_str(got, want, ...)                                             \
	do {                                                                   \
		const char *g_ = (got), *w_ = (want);                          \
		int same_ = g_ != NULL && w_ != NULL && strcmp(g_, w_) == 0;   \
		tap_ok(same_, __VA_ARGS__);                                    \
		if (!same_)                                                    \
			printf("#   got '%s', want '%s'\n",                    \
			    g_ ? g_ : "(null)", w_ ? w_ : "(null)");           \
	} while (0)

static int
tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
