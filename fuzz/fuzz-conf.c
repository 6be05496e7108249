/*
 * fuzz-conf: configuration files (conf_load()). Any file either loads
 * into a configuration within every key's bounds or is refused with a
 * message; never both, never a crash.
 */
#include "config.h"

#include <unistd.h>

#include "conf.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char	   path[64];
	static struct conf c;
	char		   err[512] = "";
	FILE		  *f;
	int		   rc;

	if (path[0] == '\0')
		snprintf(path, sizeof(path), "/tmp/parley-fuzz-conf.%d",
		    (int)getpid());
	if ((f = fopen(path, "w")) == NULL)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	rc = conf_load(&c, path, err, sizeof(err));
	FUZZ_ASSERT(rc == 0 || err[0] != '\0', "refused without a message");
	if (rc == 0)
		FUZZ_ASSERT(c.workers >= 1, "workers below its bound");
	return 0;
}
