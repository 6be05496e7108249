/*
 * master.c: socket, pre-forked workers, respawn, reload and stop.
 *
 * Signals only write a byte to a self-pipe; the loop reads it and acts, so
 * no real work happens in a signal handler.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/socket.h>
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

#include "answer.h"
#include "conf.h"
#include "jobs.h"
#include "server_keys.h"
#include "limits.h"
#include "log.h"
#include "metrics.h"
#include "master.h"
#include "route.h"
#include "proc.h"
#include "util.h"
#include "worker.h"

enum proc_kind { PROC_WORKER, PROC_JOBS, PROC_ANSWER, PROC__MAX };

static const char *const proc_names[PROC__MAX] = { "worker", "jobs",
	"answerer" };

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
	pid_t	 pid, master = getpid();

	/* No signal may reach the child's copy of the master's handlers. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid = fork();
	if (pid == 0) {
		enum log_level lvl = LOG_INFO;

		reset_child_signals();
		/*
		 * A child outlives no master: it is told to stop when the
		 * master dies, even by SIGKILL (and checks, in case the
		 * master died before the request took effect).
		 */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1 ||
		    getppid() != master)
			_exit(0);
		sigprocmask(SIG_SETMASK, &old, NULL);
		(void)log_level_parse(cfg->log_level, &lvl);
		log_init(lvl, proc_names[kind]);
		if (kind != PROC_WORKER)
			close(fd);
		if (kind == PROC_JOBS)
			child_exit(jobs_run(cfg, no));
		if (kind == PROC_ANSWER)
			child_exit(answer_run(cfg, no));
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
	int want[PROC__MAX], have[PROC__MAX] = { 0 }, i, k, missing = 0;

	want[PROC_WORKER] = cfg->workers;
	want[PROC_JOBS] = cfg->jobs_workers;
	want[PROC_ANSWER] = cfg->answer_workers;
	for (i = 0; i < nslots; i++)
		if (slots[i].pid > 0 && !slots[i].retiring &&
		    slots[i].generation == gen)
			have[slots[i].kind]++;
	for (i = 0; i < nslots && budget > 0; i++) {
		if (slots[i].pid != 0)
			continue;
		for (k = 0; k < PROC__MAX && have[k] >= want[k]; k++)
			;
		if (k == PROC__MAX)
			break;
		budget--;
		(*nspawned)++;
		if (spawn(cfg, fd, &slots[i], (enum proc_kind)k, have[k], gen) >
		    0)
			have[k]++;
	}
	for (k = 0; k < PROC__MAX; k++)
		missing += want[k] - have[k];
	return missing;
}

/*
 * On stop, new requests are refused at once instead of waiting for a
 * worker that will never take them: the socket's name goes, and the
 * socket itself is shut for reading, which every process shares (one
 * open file description): connect() is refused, idle accept() calls
 * return, and the connections already queued are closed here at once
 * (nginx answers them 502 straight away, not after its timeout). The
 * requests in hand run to their end. A reload never does this.
 */
static void
refuse(const struct conf *cfg, int fd)
{
	int c, n = 0;

	if (strncmp(cfg->listen, "unix:", 5) == 0)
		unlink(cfg->listen + 5);
	if (shutdown(fd, SHUT_RD) == -1)
		return;
	/* A shut unix socket's accept() fails at once when none queue. */
	while (n < 4096 && (c = accept(fd, NULL, NULL)) >= 0) {
		close(c);
		n++;
	}
	if (n > 0)
		log_event(LOG_INFO, "stop_refused", LOG_I("count", n));
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

int
master_run(struct conf *cfg, const char *config_file)
{
	/* Two generations may overlap during a reload. */
	struct slot slots[2 * (PRL_MAX_WORKERS + PRL_MAX_SIDE_PROCS)];
	const int   nslots = 2 * (PRL_MAX_WORKERS + PRL_MAX_SIDE_PROCS);
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
	/* Before any fork: every child shares the counters (src/metrics.h). */
	if (metrics_init(nroutes) == -1)
		log_msg(LOG_WARN, "metrics_unavailable");
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
					stop_deadline = mono_ms() +
					    cfg->shutdown_timeout * 1000LL;
					log_event(LOG_INFO, "stopping",
					    LOG_I("signal", sigs[i]));
					signal_all(slots, nslots, SIGTERM, 0);
					refuse(cfg, fd);
				}
			}

		if (got_chld)
			while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
				for (i = 0; i < nslots; i++)
					if (slots[i].pid == pid)
						break;
				metrics_forget(pid);
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
				    mono_ms() + cfg->shutdown_timeout * 1000LL;
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

			if (mono_ms() - window_start >= 1000) {
				window_start = mono_ms();
				spawned = 0;
			}
			budget = 2 *
				(cfg->workers + cfg->jobs_workers +
				    cfg->answer_workers) +
			    10 - spawned;
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
			else if (mono_ms() > retire_deadline) {
				log_event(LOG_WARN, "retire_timeout_kill",
				    LOG_I("count", left));
				signal_all(slots, nslots, SIGKILL, 1);
				retire_deadline = 0;
			} else
				/* Repeat: a worker may be between checks. */
				signal_all(slots, nslots, SIGTERM, 1);
		}

		if (stopping) {
			if (count_live(slots, nslots) == 0)
				break;
			if (mono_ms() > stop_deadline) {
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
