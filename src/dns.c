/*
 * dns.c: TXT lookups with c-ares (see dns.h). One channel per lookup,
 * driven with poll() until the answer or the deadline: no thread, no
 * signal, and no fd_set (a worker's descriptors may be past
 * FD_SETSIZE).
 */
#include "config.h"

#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <ares.h>

#include "dns.h"

struct lookup {
	struct dns_txt *out;
	int		done, status;
};

static void
on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct lookup	    *l = arg;
	struct ares_txt_ext *txt = NULL, *t;
	struct dns_txt	    *o = l->out;

	(void)timeouts;
	l->done = 1;
	l->status = status;
	if (status != ARES_SUCCESS ||
	    ares_parse_txt_reply_ext(abuf, alen, &txt) != ARES_SUCCESS)
		return;
	for (t = txt; t != NULL; t = t->next) {
		size_t have;

		if (t->record_start) {
			if (o->n == DNS_TXT_MAX)
				break;
			o->rec[o->n++][0] = '\0';
		}
		if (o->n == 0)
			continue;
		have = strlen(o->rec[o->n - 1]);
		/* A string with a NUL, or past the bound: not ours. */
		if (memchr(t->txt, '\0', t->length) != NULL ||
		    have + t->length >= DNS_TXT_LEN)
			continue;
		memcpy(o->rec[o->n - 1] + have, t->txt, t->length);
		o->rec[o->n - 1][have + t->length] = '\0';
	}
	ares_free_data(txt);
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
dns_txt(const char *servers, const char *name, int timeout_ms,
    struct dns_txt *out, const char **why)
{
	static int	    inited;
	struct ares_options opts;
	ares_channel	    ch;
	struct lookup	    l = { out, 0, 0 };
	long long	    deadline = now_ms() + timeout_ms;
	int		    rc = -1;

	memset(out, 0, sizeof(*out));
	*why = "failed";
	if (!inited) {
		if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS)
			return -1;
		inited = 1;
	}
	memset(&opts, 0, sizeof(opts));
	opts.timeout = timeout_ms / 2 > 0 ? timeout_ms / 2 : 1;
	opts.tries = 2;
	if (ares_init_options(&ch, &opts,
		ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES) != ARES_SUCCESS)
		return -1;
	if (servers != NULL && servers[0] != '\0' &&
	    ares_set_servers_ports_csv(ch, servers) != ARES_SUCCESS) {
		*why = "bad_servers";
		goto out;
	}
	ares_query(ch, name, 1 /* IN */, 16 /* TXT */, on_answer, &l);
	while (!l.done) {
		ares_socket_t  socks[ARES_GETSOCK_MAXNUM];
		struct pollfd  pfd[ARES_GETSOCK_MAXNUM];
		struct timeval tv, *tvp, max;
		long long      left = deadline - now_ms();
		unsigned       bits;
		int	       i, n = 0, wait;

		if (left <= 0) {
			ares_cancel(ch); /* calls on_answer with ECANCELLED */
			break;
		}
		/* c-ares's bit macros shift a signed 1 past bit 30. */
		bits = (unsigned)ares_getsock(ch, socks, ARES_GETSOCK_MAXNUM);
		for (i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
			if (!(bits & (1U << i)) &&
			    !(bits & (1U << (i + ARES_GETSOCK_MAXNUM))))
				continue;
			pfd[n].fd = socks[i];
			pfd[n].events = ((bits & (1U << i)) ? POLLIN : 0) |
			    ((bits & (1U << (i + ARES_GETSOCK_MAXNUM)))
				    ? POLLOUT
				    : 0);
			pfd[n].revents = 0;
			n++;
		}
		max.tv_sec = left / 1000;
		max.tv_usec = (left % 1000) * 1000;
		tvp = ares_timeout(ch, &max, &tv);
		wait = (int)(tvp->tv_sec * 1000 + tvp->tv_usec / 1000);
		if (poll(pfd, (nfds_t)n, wait) < 0)
			break;
		if (n == 0) {
			ares_process_fd(ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
			continue;
		}
		for (i = 0; i < n; i++)
			ares_process_fd(ch,
			    pfd[i].revents & (POLLIN | POLLERR | POLLHUP)
				? pfd[i].fd
				: ARES_SOCKET_BAD,
			    pfd[i].revents & POLLOUT ? pfd[i].fd
						     : ARES_SOCKET_BAD);
	}
	switch (l.done ? l.status : ARES_ETIMEOUT) {
	case ARES_SUCCESS:
	case ARES_ENOTFOUND:
	case ARES_ENODATA:
		rc = 0;
		*why = NULL;
		break;
	case ARES_ETIMEOUT:
	case ARES_ECANCELLED: *why = "timeout"; break;
	case ARES_ESERVFAIL: *why = "servfail"; break;
	case ARES_EREFUSED: *why = "refused"; break;
	default: break;
	}
out:
	ares_destroy(ch);
	return rc;
}
