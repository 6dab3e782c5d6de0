/* fuzz_config.c - libFuzzer harness for the configuration parser.
 *
 * config_load reads a path, so the input goes to a memfd opened through
 * /proc/self/fd. config_load sets inih's global options (ini_*) itself on
 * every call, so no state carries over from one input to the next. A file
 * that loads must have passed validation: check the promises the rest of
 * okta-jit relies on. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "duration.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fd = -1;
static char path[64];

static void check_loaded(const struct ojit_config *c)
{
	size_t i, j;
	const char *why;
	char login[512];

	if (c->org_url == NULL || c->client_id == NULL || c->private_key == NULL || c->name == NULL)
		abort();
	if (config_check_org_url(c->org_url, &why) != 0 || config_check_name(c->name, &why) != 0)
		abort();
	if (c->nflows > CONFIG_MAX_FLOWS)
		abort();
	for (i = 0; i < c->nflows; i++) {
		const struct flow_config *f = &c->flows[i];

		if (f->name == NULL || f->ngroups > CONFIG_MAX_LIST || f->nrequesters > CONFIG_MAX_LIST)
			abort();
		if (f->default_duration <= 0 || f->max_duration > DURATION_MAX_SECONDS ||
		    f->default_duration > f->max_duration)
			abort();
		for (j = 0; j < f->ngroups; j++)
			if (config_flow_for_group(c, f->groups[j]) == NULL)
				abort();
	}
	(void)config_map_login(c, "alice", login, sizeof(login));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ojit_config *cfg = NULL;
	struct ojit_buf errors;

	if (fd < 0) {
		fd = memfd_create("ojit-fuzz-config", MFD_CLOEXEC);
		if (fd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	ojit_buf_init(&errors, 64 * 1024);
	if (config_load(path, &cfg, &errors) == 0) {
		check_loaded(cfg);
		config_free(cfg);
	} else if (cfg != NULL) {
		abort();
	}
	ojit_buf_free(&errors);
	return 0;
}
