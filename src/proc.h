/*
 * proc.h: what every child process of parleyd (workers, jobs processes,
 * answerers) does alike, apart from the master that runs them.
 */
#ifndef PARLEY_PROC_H
#define PARLEY_PROC_H

/*
 * Sets the signals of a child: SIGTERM and SIGINT call 'on_stop' (which
 * asks the process's loop to stop), SIGHUP and SIGPIPE are ignored.
 */
void child_signals(void (*on_stop)(int));

#endif
