/*
 * hello: the bare libfcgi baseline for bench/run. N pre-forked processes
 * accept on one unix socket and answer every request with the same small
 * JSON as parleyd's /healthz. No parsing, no logging, no database.
 *
 * usage: hello SOCKET NPROCS
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <fcgiapp.h>

int
main(int argc, char *argv[])
{
	FCGX_Request	req;
	int		fd, i, n;

	if (argc != 3)
		return 2;
	n = (int)strtol(argv[2], NULL, 10);
	unlink(argv[1]);
	if ((fd = FCGX_OpenSocket(argv[1], 1024)) < 0)
		return 1;
	chmod(argv[1], 0666);
	for (i = 0; i < n; i++) {
		if (fork() != 0)
			continue;
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		FCGX_Init();
		FCGX_InitRequest(&req, fd, 0);
		while (FCGX_Accept_r(&req) >= 0) {
			FCGX_PutS("Status: 200 OK\r\n"
			    "Content-Type: application/json\r\n"
			    "Cache-Control: no-store\r\n\r\n"
			    "{\"status\":\"ok\"}", req.out);
			FCGX_Finish_r(&req);
		}
		_exit(0);
	}
	signal(SIGTERM, SIG_DFL);
	while (wait(NULL) > 0)
		;
	return 0;
}
