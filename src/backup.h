/*
 * backup.h: encrypted backups and their restore (src/backup.c).
 *
 * `parleyctl backup` runs pg_dump (custom format, compressed) and encrypts
 * its output as it comes with AES-256-GCM under backup_key_file (a key of
 * its own, not the secrets keyring): the file is "PARLEY-BACKUP 1\n", a
 * 12-byte IV, the ciphertext and the 16-byte tag, with the header and IV
 * as associated data; a sha256sum-style checksum file sits beside it. It
 * then copies the database's deletion tombstones to a file in the backup
 * directory (outside the dumps) and removes backups older than
 * backup_keep_days.
 *
 * `parleyctl restore` checks the checksum, decrypts into a temporary file
 * (nothing is restored unless the tag verifies), runs pg_restore into an
 * empty database, then deletes again every company named in a tombstone
 * (the restored table, the backup directory's file and tombstone_file),
 * so a company deleted after the backup was made does not come back; it
 * prints each table's row count.
 */
#ifndef PARLEY_BACKUP_H
#define PARLEY_BACKUP_H

/* `parleyctl backup [-c FILE] [--dir DIR]`; argv[0] is "backup". */
int backup_main(int argc, char *argv[]);
/* `parleyctl restore [-c FILE] --file BACKUP --target URL`. */
int restore_main(int argc, char *argv[]);
/*
 * `parleyctl tombstones apply [-c FILE] [--dir DIR] --target URL`: the
 * deletions of the tombstones (backup_dir's file, tombstone_file and the
 * database's table) applied to a database recovered some other way (a
 * point-in-time recovery).
 */
int tombstones_main(int argc, char *argv[]);

#endif
