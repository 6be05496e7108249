/*
 * util.h: small helpers with no better home.
 */
#ifndef PARLEY_UTIL_H
#define PARLEY_UTIL_H

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

#endif
