/* config_lookup.c - questions asked of a loaded configuration: a local
 * user's Okta login, the flow of a group, a notify event's bit, and the
 * names of the DPoP and approval settings. */
#include "config.h"

#include <ctype.h>
#include <strings.h>
#include <string.h>

/* The format's literal text before and after %u ("%%" made "%"). */
static int format_split(const char *fmt, char *pre, size_t npre, char *post, size_t npost)
{
	char *dst = pre;
	size_t cap = npre, len = 0;
	const char *p;
	int seen = 0;

	for (p = fmt; *p != '\0'; p++) {
		char ch = *p;

		if (*p == '%' && p[1] == 'u') {
			if (seen++)
				return -1;
			dst[len] = '\0';
			dst = post;
			cap = npost;
			len = 0;
			p++;
			continue;
		}
		if (*p == '%' && p[1] == '%')
			p++;
		if (len + 1 >= cap)
			return -1;
		dst[len++] = ch;
	}
	dst[len] = '\0';
	return seen == 1 ? 0 : -1;
}

int config_unmap_login(const struct ojit_config *cfg, const char *login, char *out, size_t n)
{
	char pre[256], post[256];
	size_t l = strlen(login), lp, ls, i;

	if (format_split(cfg->login_format ? cfg->login_format : "%u", pre, sizeof(pre), post, sizeof(post)) != 0)
		return -1;
	lp = strlen(pre);
	ls = strlen(post);
	/* Okta compares logins without regard to case */
	if (l <= lp + ls || strncasecmp(login, pre, lp) != 0 || strcasecmp(login + l - ls, post) != 0)
		return -1;
	if (l - lp - ls >= n)
		return -1;
	/* Local names are lower case (Okta cannot hold two logins that
	 * differ only in case, so nothing is merged). */
	for (i = 0; i < l - lp - ls; i++)
		out[i] = (char)tolower((unsigned char)login[lp + i]);
	out[i] = '\0';
	return 0;
}

/* fmt with %<letter> replaced by value and %% by %; -1 when it does not fit. */
static int template_fill(const char *fmt, char letter, const char *value, char *out, size_t n)
{
	struct ojit_buf b;
	const char *p;
	int r = -1;

	ojit_buf_init(&b, n > 0 ? n - 1 : 0);
	for (p = fmt; *p != '\0'; p++) {
		if (*p == '%' && p[1] == letter) {
			if (ojit_buf_append(&b, value, strlen(value)) != 0)
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

int config_map_login(const struct ojit_config *cfg, const char *user, char *out, size_t n)
{
	return template_fill(cfg->login_format ? cfg->login_format : "%u", 'u', user, out, n);
}

int config_nss_group_name(const struct ojit_config *cfg, const char *grp, char *out, size_t n)
{
	return template_fill(cfg->nss_group_name != NULL ? cfg->nss_group_name : "okta-%g", 'g', grp, out, n);
}

int config_nss_home(const struct ojit_config *cfg, const char *user, char *out, size_t n)
{
	return template_fill(cfg->nss_home != NULL ? cfg->nss_home : "/home/%u", 'u', user, out, n);
}

static const struct {
	const char *name;
	unsigned bit;
} notify_events[] = {
	{ "requested", NOTIFY_REQUESTED }, { "approved", NOTIFY_APPROVED }, { "denied", NOTIFY_DENIED },
	{ "granted", NOTIFY_GRANTED },     { "expiring", NOTIFY_EXPIRING }, { "expired", NOTIFY_EXPIRED },
	{ "revoked", NOTIFY_REVOKED },     { "failed", NOTIFY_FAILED },     { "breakglass", NOTIFY_BREAKGLASS }, { "drift", NOTIFY_DRIFT },
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

int64_t config_stale_bound(const struct ojit_config *cfg)
{
	return cfg->cache_ttl + cfg->refresh_timeout;
}

int64_t config_snapshot_fresh(const struct ojit_config *cfg)
{
	int64_t b = config_stale_bound(cfg);

	return b < 2 * cfg->cache_ttl ? b : 2 * cfg->cache_ttl;
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

unsigned config_user_status_bit(const char *status)
{
	/* Okta's UserStatus values, in its reference's order. */
	static const char *const names[] = { "ACTIVE", "DEPROVISIONED", "LOCKED_OUT", "PASSWORD_EXPIRED",
					     "PROVISIONED", "RECOVERY", "STAGED", "SUSPENDED" };
	size_t i;

	for (i = 0; status != NULL && i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(status, names[i]) == 0)
			return 1u << i;
	return 0;
}
