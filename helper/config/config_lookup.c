/* config_lookup.c - questions asked of a loaded configuration: a local
 * user's Okta login, the flow of a group, a notify event's bit, and the
 * names of the DPoP and approval settings. */
#include "config.h"

#include <string.h>

int config_map_login(const struct ojit_config *cfg, const char *user, char *out, size_t n)
{
	const char *fmt = cfg->login_format ? cfg->login_format : "%u";
	struct ojit_buf b;
	const char *p;
	int r = -1;

	ojit_buf_init(&b, n > 0 ? n - 1 : 0);
	for (p = fmt; *p != '\0'; p++) {
		if (*p == '%' && p[1] == 'u') {
			if (ojit_buf_append(&b, user, strlen(user)) != 0)
				goto out;
			p++;
		} else if (*p == '%' && p[1] == '%') {
			if (ojit_buf_append(&b, "%", 1) != 0)
				goto out;
			p++;
		} else if (ojit_buf_append(&b, p, 1) != 0) {
			goto out;
		}
	}
	if (b.data == NULL || ojit_strlcpy(out, b.data, n) != 0)
		goto out;
	r = 0;
out:
	ojit_buf_free(&b);
	return r;
}

static const struct {
	const char *name;
	unsigned bit;
} notify_events[] = {
	{ "requested", NOTIFY_REQUESTED }, { "approved", NOTIFY_APPROVED }, { "denied", NOTIFY_DENIED },
	{ "granted", NOTIFY_GRANTED },     { "expiring", NOTIFY_EXPIRING }, { "expired", NOTIFY_EXPIRED },
	{ "revoked", NOTIFY_REVOKED },     { "failed", NOTIFY_FAILED },     { "breakglass", NOTIFY_BREAKGLASS },
};

unsigned config_notify_event(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(notify_events) / sizeof(notify_events[0]); i++)
		if (strcmp(notify_events[i].name, name) == 0)
			return notify_events[i].bit;
	return 0;
}

const struct flow_config *config_flow_for_group(const struct ojit_config *cfg, const char *group)
{
	size_t i, j;

	for (i = 0; i < cfg->nflows; i++)
		for (j = 0; j < cfg->flows[i].ngroups; j++)
			if (strcmp(cfg->flows[i].groups[j], group) == 0)
				return &cfg->flows[i];
	return NULL;
}

const char *config_dpop_name(enum dpop_mode m)
{
	switch (m) {
	case DPOP_ON:
		return "on";
	case DPOP_OFF:
		return "off";
	default:
		return "auto";
	}
}

const char *config_approval_name(enum approval_rule a)
{
	switch (a) {
	case APPROVAL_AUTO:
		return "auto";
	case APPROVAL_OWNER:
		return "owner";
	default:
		return "owners";
	}
}
