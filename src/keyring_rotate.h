/*
 * keyring_rotate.h: `parleyctl keys rotate` (see keyring_rotate.c).
 */
#ifndef PARLEY_KEYRING_ROTATE_H
#define PARLEY_KEYRING_ROTATE_H
/* Runs the command with its arguments (argv[0] "rotate"). */
int keys_rotate_main(int argc, char *argv[]);
/*
 * `parleyctl secret set NAME < value`: stores an operator secret (today
 * stripe_secret_key) as keyring ciphertext in operator_secrets. Runs the
 * command with its arguments (argv[0] "set").
 */
int keys_secret_main(int argc, char *argv[]);
#endif
