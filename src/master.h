/*
 * master.h: the parleyd master process in the php-fpm mould: it binds the
 * FastCGI socket, pre-forks workers, replaces workers that die, reloads on
 * SIGHUP and stops on SIGTERM/SIGINT once in-flight requests are done.
 */
#ifndef PARLEY_MASTER_H
#define PARLEY_MASTER_H

struct conf;

/*
 * Runs the master until stopped. 'cfg' is replaced on reload by reading
 * 'config_file' (may be NULL) and the environment again. Returns the exit
 * status for main().
 */
int master_run(struct conf *cfg, const char *config_file);

#endif
