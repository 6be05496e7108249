/*
 * bcrypt-bound: the machine's pure bcrypt bound for bench/run. One
 * process per core hashes with crypt_rn ("$2b$", COST) for SECONDS; the
 * total rate is printed as hashes per second.
 *
 * usage: bcrypt-bound COST SECONDS NPROCS
 */
#include <sys/wait.h>

#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

int
main(int argc, char *argv[])
{
	int    cost, procs, i, fds[2];
	double secs, total = 0;

	if (argc != 4)
		return 2;
	cost = (int)strtol(argv[1], NULL, 10);
	secs = strtod(argv[2], NULL);
	procs = (int)strtol(argv[3], NULL, 10);
	if (pipe(fds) == -1)
		return 1;
	for (i = 0; i < procs; i++) {
		if (fork() == 0) {
			struct crypt_data *cd = calloc(1, sizeof(*cd));
			char		   setting[CRYPT_GENSALT_OUTPUT_SIZE];
			double		   t0 = now(), rate;
			long		   n = 0;

			crypt_gensalt_rn("$2b$", (unsigned long)cost,
			    "0123456789abcdef", 16, setting, sizeof(setting));
			while (now() - t0 < secs) {
				crypt_rn("tangerine-orbit-velvet-42", setting, cd,
				    sizeof(*cd));
				n++;
			}
			rate = n / (now() - t0);
			if (write(fds[1], &rate, sizeof(rate)) != sizeof(rate))
				_exit(1);
			_exit(0);
		}
	}
	for (i = 0; i < procs; i++) {
		double r;

		if (read(fds[0], &r, sizeof(r)) == sizeof(r))
			total += r;
	}
	while (wait(NULL) > 0)
		;
	printf("%.2f\n", total);
	return 0;
}
