/*
 * master.c: socket, pre-forked workers, respawn, reload and stop.
 *
 * Signals only write a byte to a self-pipe; the loop reads it and acts, so
 * no real work happens in a signal handler.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>
#endif

#include "conf.h"
#include "jobs.h"
#include "keys.h"
#include "limits.h"
#include "log.h"
#include "master.h"
#include "worker.h"

enum proc_kind { PROC_WORKER, PROC_JOBS };

struct slot {
	pid_t	       pid; /* 0 when empty */
	enum proc_kind kind;
	unsigned       generation;
	int	       retiring; /* told to stop; not to be replaced */
};

static int sigpipe_fds[2] = { -1, -1 };

static void
on_signal(int sig)
{
	unsigned char c = (unsigned char)sig;
	int	      saved = errno;

	if (write(sigpipe_fds[1], &c, 1) < 0) {
		/* Pipe full: the loop has signals to read anyway. */
	}
	errno = saved;
}

static int
setup_signals(void)
{
	struct sigaction sa;

	if (pipe(sigpipe_fds) == -1)
		return -1;
	fcntl(sigpipe_fds[0], F_SETFL, O_NONBLOCK);
	fcntl(sigpipe_fds[1], F_SETFL, O_NONBLOCK);
	fcntl(sigpipe_fds[0], F_SETFD, FD_CLOEXEC);
	fcntl(sigpipe_fds[1], F_SETFD, FD_CLOEXEC);
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	return 0;
}

void
child_signals(void (*on_stop)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
}

/* Restores default dispositions in a new worker before it sets its own. */
static void
reset_child_signals(void)
{
	signal(SIGCHLD, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	close(sigpipe_fds[0]);
	close(sigpipe_fds[1]);
}

static int
open_listener(const struct conf *cfg)
{
	const char *addr = cfg->listen;
	struct stat st;
	int	    fd;

	if (strncmp(addr, "unix:", 5) == 0) {
		addr += 5;
		/* Replace a stale socket, never a regular file. */
		if (lstat(addr, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(addr);
	}
	if ((fd = FCGX_OpenSocket(addr, cfg->backlog)) < 0) {
		log_event(LOG_ERROR, "listen_failed",
		    LOG_S("listen", cfg->listen),
		    LOG_S("error", strerror(errno)));
		return -1;
	}
	if (addr != cfg->listen &&
	    chmod(addr, (mode_t)cfg->socket_mode) == -1) {
		log_event(LOG_ERROR, "listen_failed",
		    LOG_S("listen", cfg->listen),
		    LOG_S("error", strerror(errno)));
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Ends a child. Sanitizer builds first run LeakSanitizer's check, which
 * _exit() would skip, so a leak in a worker fails the tests.
 */
static void
child_exit(int status)
{
#ifdef __SANITIZE_ADDRESS__
	__lsan_do_leak_check();
#endif
	_exit(status);
}

static pid_t
spawn(const struct conf *cfg, int fd, struct slot *s, enum proc_kind kind,
    int no, unsigned gen)
{
	sigset_t all, old;
	pid_t	 pid;

	/* No signal may reach the child's copy of the master's handlers. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid = fork();
	if (pid == 0) {
		enum log_level lvl = LOG_INFO;

		reset_child_signals();
		sigprocmask(SIG_SETMASK, &old, NULL);
		(void)log_level_parse(cfg->log_level, &lvl);
		if (kind == PROC_JOBS) {
			close(fd);
			log_init(lvl, "jobs");
			child_exit(jobs_run(cfg, no));
		}
		log_init(lvl, "worker");
		child_exit(worker_run(cfg, fd, no));
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid == -1) {
		log_event(
		    LOG_ERROR, "fork_failed", LOG_S("error", strerror(errno)));
		return -1;
	}
	s->pid = pid;
	s->kind = kind;
	s->generation = gen;
	s->retiring = 0;
	return pid;
}

/*
 * Brings generation 'gen' up to the configured number of workers and jobs
 * processes, in empty slots. Called on every pass of the loop, so a
 * crashed, recycled or unforkable process is replaced as soon as it can
 * be. Returns how many processes are still missing.
 */
static int
top_up(const struct conf *cfg, int fd, struct slot *slots, int nslots,
    unsigned gen, int budget, int *nspawned)
{
	int i, w = 0, j = 0;

	for (i = 0; i < nslots; i++)
		if (slots[i].pid > 0 && !slots[i].retiring &&
		    slots[i].generation == gen) {
			if (slots[i].kind == PROC_WORKER)
				w++;
			else
				j++;
		}
	for (i = 0; i < nslots && budget > 0 &&
	     (w < cfg->workers || j < cfg->jobs_workers);
	     i++) {
		if (slots[i].pid != 0)
			continue;
		budget--;
		(*nspawned)++;
		if (w < cfg->workers) {
			if (spawn(cfg, fd, &slots[i], PROC_WORKER, w, gen) > 0)
				w++;
		} else if (spawn(cfg, fd, &slots[i], PROC_JOBS, j, gen) > 0)
			j++;
	}
	return (cfg->workers - w) + (cfg->jobs_workers - j);
}

static int
count_live(const struct slot *slots, int n)
{
	int i, c = 0;

	for (i = 0; i < n; i++)
		if (slots[i].pid > 0)
			c++;
	return c;
}

static void
signal_all(struct slot *slots, int n, int sig, int only_retiring)
{
	int i;

	for (i = 0; i < n; i++)
		if (slots[i].pid > 0 && (!only_retiring || slots[i].retiring))
			kill(slots[i].pid, sig);
}

static long long
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int
master_run(struct conf *cfg, const char *config_file)
{
	/* Two generations may overlap during a reload. */
	struct slot slots[2 * (PRL_MAX_WORKERS + 16)];
	const int   nslots = 2 * (PRL_MAX_WORKERS + 16);
	unsigned    gen = 1;
	int	    fd, i, stopping = 0, status;
	long long   stop_deadline = 0, retire_deadline = 0;
	long long   window_start = 0;
	int	    spawned = 0, missing = 0;
	pid_t	    pid;

	memset(slots, 0, sizeof(slots));
	if (setup_signals() == -1)
		return 1;
	if ((fd = open_listener(cfg)) == -1)
		return 1;
	log_event(LOG_INFO, "master_started", LOG_S("listen", cfg->listen),
	    LOG_I("workers", cfg->workers), LOG_S("version", PACKAGE_VERSION));
	missing = top_up(cfg, fd, slots, nslots, gen, nslots, &spawned);

	for (;;) {
		struct pollfd p = { sigpipe_fds[0], POLLIN, 0 };
		unsigned char sigs[64];
		ssize_t	      n;
		int	      timeout = -1, got_chld = 0, got_hup = 0;

		if (stopping || retire_deadline || missing > 0)
			timeout = 100;
		if (poll(&p, 1, timeout) == -1 && errno != EINTR)
			break;
		while ((n = read(sigpipe_fds[0], sigs, sizeof(sigs))) > 0)
			for (i = 0; i < n; i++) {
				if (sigs[i] == SIGCHLD)
					got_chld = 1;
				else if (sigs[i] == SIGHUP)
					got_hup = 1;
				else if ((sigs[i] == SIGTERM ||
					     sigs[i] == SIGINT) &&
				    !stopping) {
					stopping = 1;
					stop_deadline = now_ms() +
					    cfg->shutdown_timeout * 1000LL;
					log_event(LOG_INFO, "stopping",
					    LOG_I("signal", sigs[i]));
				}
			}

		if (got_chld)
			while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
				for (i = 0; i < nslots; i++)
					if (slots[i].pid == pid)
						break;
				if (i == nslots)
					continue;
				slots[i].pid = 0;
				if (WIFSIGNALED(status) && !slots[i].retiring &&
				    !stopping)
					log_event(LOG_WARN, "worker_died",
					    LOG_I("pid", pid),
					    LOG_I("signal", WTERMSIG(status)));
				else if (WIFEXITED(status) &&
				    WEXITSTATUS(status) != 0)
					log_event(LOG_WARN, "worker_exited",
					    LOG_I("pid", pid),
					    LOG_I("exit", WEXITSTATUS(status)));
			}

		if (got_hup && !stopping) {
			struct conf next;
			char	    err[512];

			if (conf_load(&next, config_file, err, sizeof(err)) ==
				-1 ||
			    keys_load(&next, err, sizeof(err)) == -1) {
				log_event(LOG_ERROR, "reload_refused",
				    LOG_S("reason", err));
			} else {
				if (strcmp(next.listen, cfg->listen) != 0)
					log_event(LOG_WARN,
					    "reload_listen_unchanged",
					    LOG_S("listen", cfg->listen));
				memcpy(next.listen, cfg->listen,
				    sizeof(next.listen));
				if (next.workers > PRL_MAX_WORKERS)
					next.workers = PRL_MAX_WORKERS;
				*cfg = next;
				for (i = 0; i < nslots; i++)
					if (slots[i].pid > 0)
						slots[i].retiring = 1;
				gen++;
				/* New generation first, so no request waits. */
				(void)top_up(cfg, fd, slots, nslots, gen,
				    nslots, &spawned);
				signal_all(slots, nslots, SIGTERM, 1);
				retire_deadline =
				    now_ms() + cfg->shutdown_timeout * 1000LL;
				log_event(LOG_INFO, "reloaded",
				    LOG_I("generation", gen),
				    LOG_I("workers", cfg->workers));
			}
		}

		/*
		 * Replace what died. Crash-loop guard: at most twice the pool
		 * (plus ten) forks a second; the rest waits for the next pass.
		 */
		if (!stopping) {
			int budget;

			if (now_ms() - window_start >= 1000) {
				window_start = now_ms();
				spawned = 0;
			}
			budget = 2 * (cfg->workers + cfg->jobs_workers) + 10 -
			    spawned;
			if (budget <= 0) {
				if (missing > 0)
					log_msg(LOG_WARN, "respawn_throttled");
				budget = 0;
			}
			missing = top_up(
			    cfg, fd, slots, nslots, gen, budget, &spawned);
		}

		if (retire_deadline) {
			int left = 0;

			for (i = 0; i < nslots; i++)
				if (slots[i].pid > 0 && slots[i].retiring)
					left++;
			if (left == 0)
				retire_deadline = 0;
			else if (now_ms() > retire_deadline) {
				signal_all(slots, nslots, SIGKILL, 1);
				retire_deadline = 0;
			} else
				/* Repeat: a worker may be between checks. */
				signal_all(slots, nslots, SIGTERM, 1);
		}

		if (stopping) {
			if (count_live(slots, nslots) == 0)
				break;
			if (now_ms() > stop_deadline) {
				log_msg(LOG_WARN, "stop_timeout_kill");
				signal_all(slots, nslots, SIGKILL, 0);
			} else
				signal_all(slots, nslots, SIGTERM, 0);
		}
	}
	close(fd);
	if (strncmp(cfg->listen, "unix:", 5) == 0)
		unlink(cfg->listen + 5);
	log_msg(LOG_INFO, "master_stopped");
	return 0;
}
