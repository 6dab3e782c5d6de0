/* ledger_types.c - this host's name, as the backends store it with the
 * rows they write (ledger_types.h; moved out of ledger.c, which the
 * backends may not call). */
#include "ledger_types.h"

#include <pthread.h>
#include <string.h>
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

int snapshot_member_parse(char *line, struct snapshot_member *m)
{
	char *f[7];
	int n = 0;
	char *p = line;

	memset(m, 0, sizeof(*m));
	f[n++] = p;
	for (; *p != '\0'; p++) {
		if (*p != '\t')
			continue;
		if (n == 7)
			return -1;
		*p = '\0';
		f[n++] = p + 1;
	}
	if (n != 3 && n != 6)
		return -1;
	m->id = f[0];
	m->status = f[1];
	m->login = f[2];
	m->nfields = n;
	m->uid_attr = m->gecos = m->keys = p; /* the line's end: "" */
	if (n == 6) {
		m->uid_attr = f[3];
		m->gecos = f[4];
		m->keys = f[5];
		/* encoded fields: printable, no ':' or ',' (the encoding's) */
		for (p = f[3]; p < f[5] + strlen(f[5]); p++)
			if (*p != '\0' && ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f))
				return -1;
	}
	return 0;
}

/* Here, not in ledger.c, so that a reader of the config (okta-jit-web)
 * links it without the ledger backends. */
int ledger_spec_kind(const char *spec)
{
	if (spec == NULL || spec[0] == '\0')
		return -1;
	if (strncmp(spec, "postgresql://", 13) == 0 || strncmp(spec, "postgres://", 11) == 0)
		return LEDGER_DIALECT_PG;
	if (strncmp(spec, "sqlite:", 7) == 0)
		return spec[7] == '/' ? LEDGER_DIALECT_SQLITE : -1;
	return spec[0] == '/' ? LEDGER_DIALECT_SQLITE : -1;
}
