/*
 * schema.h: the database schema version this build expects: the number of
 * the newest migration in sql/. parleyctl migrate refuses a newer database,
 * /readyz reports not ready unless the database is exactly at this version.
 * t/06-migrate.t checks it equals the highest sql/NNN-*.sql number.
 */
#ifndef PARLEY_SCHEMA_H
#define PARLEY_SCHEMA_H

#define PARLEY_SCHEMA_VERSION 40

#endif
