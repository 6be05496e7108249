/*
 * worker.h: a request worker: accepts FastCGI requests on the listening
 * socket inherited from the master and answers them one at a time.
 */
#ifndef PARLEY_WORKER_H
#define PARLEY_WORKER_H

struct conf;

/*
 * Runs until SIGTERM (finishing the request in hand) or until
 * 'cfg->max_requests' requests were served. Returns the exit status.
 */
int worker_run(const struct conf *cfg, int listen_fd, int worker_no);

#endif
