/* ledger_types.c - this host's name, as the backends store it with the
 * rows they write (ledger_types.h; moved out of ledger.c, which the
 * backends may not call). */
#include "ledger_types.h"

#include <pthread.h>
#include <unistd.h>

#include "util.h"

static char host_name[256];
static pthread_once_t host_once = PTHREAD_ONCE_INIT;

static void host_init(void)
{
	if (gethostname(host_name, sizeof(host_name) - 1) != 0 || host_name[0] == '\0')
		ojit_strlcpy(host_name, "localhost", sizeof(host_name));
	host_name[sizeof(host_name) - 1] = '\0';
}

const char *ledger_host(void)
{
	pthread_once(&host_once, host_init);
	return host_name;
}
