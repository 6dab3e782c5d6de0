/* config.c - parse okta-jit.conf with libinih and validate every key.
 *
 * inih (Debian's libinih) does the INI syntax; this file owns the meaning.
 * Debian's build calls handlers without a line number, so the file is fed
 * through a reader that counts lines: when a handler runs, the line it is
 * handling is the last one read (multi-line values are switched off).
 *
 * The checks of single values (URLs, names, login_format, the ledger's
 * URI) are in config_check.c, the questions asked of a loaded
 * configuration in config_lookup.c. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_internal.h"
#include "duration.h"
#include "ledger.h"
#include "names.h"

struct parse_state {
	struct ojit_config *cfg;
	struct ojit_buf *errors;
	FILE *fp;
	int line;
	int nerrors;
	int long_line; /* a line did not fit in the buffer */
	int section_line;  /* line of the last [section] header */
	int cur_flow_line; /* header line of the section being read */
	char cur_section[300];
	struct flow_config *cur_flow;
	char **seen;       /* "section\nkey" already given, for duplicates */
	size_t nseen, capseen;
};

static void add_error(struct parse_state *st, int line, const char *section,
		      const char *key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void add_error(struct parse_state *st, int line, const char *section,
		      const char *key, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ojit_strip_controls(msg);
	st->nerrors++;
	if (line > 0)
		ojit_buf_printf(st->errors, "%s:%d: ", st->cfg->path, line);
	else
		ojit_buf_printf(st->errors, "%s: ", st->cfg->path);
	if (section != NULL && key != NULL)
		ojit_buf_printf(st->errors, "[%s] %s: ", section, key);
	else if (section != NULL)
		ojit_buf_printf(st->errors, "[%s]: ", section);
	else if (key != NULL)
		ojit_buf_printf(st->errors, "%s: ", key);
	ojit_buf_printf(st->errors, "%s\n", msg);
}

/* The fgets-style reader inih calls once per line. */
static char *counting_reader(char *str, int num, void *stream)
{
	struct parse_state *st = stream;
	char *r = fgets(str, num, st->fp);
	size_t len;

	if (r == NULL)
		return NULL;
	st->line++;
	len = strlen(str);
	{
		const char *q = str;

		while (*q == ' ' || *q == '\t')
			q++;
		if (*q == '[')
			st->section_line = st->line;
	}
	if (len > 0 && str[len - 1] != '\n' && !feof(st->fp)) {
		int c;

		/* Swallow the rest of an over-long line and report it. */
		while ((c = fgetc(st->fp)) != EOF && c != '\n')
			;
		st->long_line = st->line;
	}
	return r;
}

static int set_string(struct parse_state *st, const char *section, const char *key,
		      const char *value, char **dst)
{
	char *v;

	if (*dst != NULL) {
		add_error(st, st->line, section, key, "given twice");
		return 0;
	}
	if (*value == '\0') {
		add_error(st, st->line, section, key, "empty value");
		return 0;
	}
	v = strdup(value);
	if (v == NULL) {
		add_error(st, st->line, section, key, "out of memory");
		return 0;
	}
	*dst = v;
	return 1;
}

static int set_duration(struct parse_state *st, const char *section, const char *key,
			const char *value, int64_t *dst, int64_t min)
{
	const char *why = NULL;
	int64_t v;

	if (duration_parse(value, &v, &why) != 0) {
		add_error(st, st->line, section, key, "'%s' is not a duration: %s", value, why);
		return 0;
	}
	if (v < min) {
		add_error(st, st->line, section, key, "must be at least %llds", (long long)min);
		return 0;
	}
	*dst = v;
	return 1;
}

/* Split a comma-separated list; entries are trimmed and must be non-empty. */
static int set_list(struct parse_state *st, const char *section, const char *key,
		    const char *value, char ***dst, size_t *n)
{
	const char *p = value;

	if (*dst != NULL) {
		add_error(st, st->line, section, key, "given twice");
		return 0;
	}
	*dst = calloc(CONFIG_MAX_LIST, sizeof(char *));
	if (*dst == NULL)
		return 0;
	while (*p != '\0') {
		const char *start, *end;
		size_t len;

		while (*p == ' ' || *p == '\t')
			p++;
		start = p;
		while (*p != '\0' && *p != ',')
			p++;
		end = p;
		while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		len = (size_t)(end - start);
		if (len == 0) {
			add_error(st, st->line, section, key, "empty entry in list");
			return 0;
		}
		if (*n >= CONFIG_MAX_LIST) {
			add_error(st, st->line, section, key, "too many entries (at most %d)",
				  CONFIG_MAX_LIST);
			return 0;
		}
		if (len > 255) {
			add_error(st, st->line, section, key, "entry too long (at most 255 characters)");
			return 0;
		}
		(*dst)[*n] = strndup(start, len);
		if ((*dst)[*n] == NULL)
			return 0;
		(*n)++;
		if (*p == ',') {
			p++;
			if (*p == '\0') {
				add_error(st, st->line, section, key, "empty entry in list (trailing comma)");
				return 0;
			}
		}
	}
	if (*n == 0) {
		add_error(st, st->line, section, key, "empty list");
		return 0;
	}
	return 1;
}

static int handle_okta(struct parse_state *st, const char *key, const char *value)
{
	struct ojit_config *c = st->cfg;
	const char *why;

	if (strcmp(key, "org_url") == 0) {
		if (!set_string(st, "okta", key, value, &c->org_url))
			return 0;
		if (config_check_org_url(value, &why) != 0) {
			add_error(st, st->line, "okta", key, "'%s' %s", value, why);
			return 0;
		}
		size_t len = strlen(c->org_url);
		if (len > 0 && c->org_url[len - 1] == '/')
			c->org_url[len - 1] = '\0';
		return 1;
	}
	if (strcmp(key, "client_id") == 0) {
		const char *p;

		if (!set_string(st, "okta", key, value, &c->client_id))
			return 0;
		for (p = value; *p; p++)
			if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_') {
				add_error(st, st->line, "okta", key,
					  "may contain only letters, digits, '-' and '_' (copy it from the app's General tab)");
				return 0;
			}
		return 1;
	}
	if (strcmp(key, "private_key") == 0 || strcmp(key, "next_private_key") == 0) {
		char kwhy[512];
		int next = key[0] == 'n';

		if (!set_string(st, "okta", key, value, next ? &c->next_private_key : &c->private_key))
			return 0;
		if (next)
			c->next_private_key_line = st->line;
		if (config_check_key_spec(value, kwhy, sizeof(kwhy)) != 0) {
			add_error(st, st->line, "okta", key, "%s", kwhy);
			return 0;
		}
		return 1;
	}
	if (strcmp(key, "tpm2_tcti") == 0) {
		const char *p;

		if (!set_string(st, "okta", key, value, &c->tpm2_tcti))
			return 0;
		for (p = value; *p; p++)
			if ((unsigned char)*p < 0x21 || *p == 0x7f) {
				add_error(st, st->line, "okta", key,
					  "may not contain spaces or control characters (e.g. device:/dev/tpmrm0)");
				return 0;
			}
		if (strlen(value) > 255) {
			add_error(st, st->line, "okta", key, "at most 255 characters");
			return 0;
		}
		return 1;
	}
	if (strcmp(key, "key_max_age") == 0)
		return set_duration(st, "okta", key, value, &c->key_max_age, 86400);
	if (strcmp(key, "key_id") == 0 || strcmp(key, "next_key_id") == 0) {
		const char *p;
		int next = key[0] == 'n';

		if (!set_string(st, "okta", key, value, next ? &c->next_key_id : &c->key_id))
			return 0;
		if (next)
			c->next_key_id_line = st->line;
		if (strlen(value) > 255) {
			add_error(st, st->line, "okta", key, "at most 255 characters");
			return 0;
		}
		for (p = value; *p; p++)
			if ((unsigned char)*p < 0x21 || *p == '"' || *p == '\\' || *p == 0x7f) {
				add_error(st, st->line, "okta", key,
					  "may not contain spaces, quotes, backslashes or control characters");
				return 0;
			}
		return 1;
	}
	if (strcmp(key, "ca_file") == 0) {
		if (!set_string(st, "okta", key, value, &c->ca_file))
			return 0;
		if (value[0] != '/') {
			add_error(st, st->line, "okta", key, "must be an absolute path");
			return 0;
		}
		return 1;
	}
	if (strcmp(key, "timeout") == 0) {
		if (!set_duration(st, "okta", key, value, &c->timeout, 1))
			return 0;
		if (c->timeout > 300) {
			add_error(st, st->line, "okta", key, "at most 5m");
			return 0;
		}
		return 1;
	}
	if (strcmp(key, "dpop") == 0) {
		if (strcmp(value, "auto") == 0)
			c->dpop = DPOP_AUTO;
		else if (strcmp(value, "on") == 0)
			c->dpop = DPOP_ON;
		else if (strcmp(value, "off") == 0)
			c->dpop = DPOP_OFF;
		else {
			add_error(st, st->line, "okta", key, "'%s' must be auto, on or off", value);
			return 0;
		}
		return 1;
	}
	add_error(st, st->line, "okta", key, "unknown key");
	return 0;
}

static int handle_integration(struct parse_state *st, const char *key, const char *value)
{
	struct ojit_config *c = st->cfg;
	const char *why;

	if (strcmp(key, "name") == 0) {
		if (!set_string(st, "integration", key, value, &c->name))
			return 0;
		if (config_check_name(value, &why) != 0) {
			add_error(st, st->line, "integration", key, "'%s' %s", value, why);
			return 0;
		}
		return 1;
	}
	if (strcmp(key, "access_details") == 0) {
		if (!set_string(st, "integration", key, value, &c->access_details))
			return 0;
		if (strlen(value) > CONFIG_ACCESS_DETAILS_MAX) {
			add_error(st, st->line, "integration", key,
				  "is %zu characters; at most %d are allowed", strlen(value),
				  CONFIG_ACCESS_DETAILS_MAX);
			return 0;
		}
		return 1;
	}
	if (strcmp(key, "owner") == 0) {
		if (!set_string(st, "integration", key, value, &c->owner))
			return 0;
		if ((strncmp(value, "group:", 6) != 0 || value[6] == '\0') &&
		    (strncmp(value, "user:", 5) != 0 || value[5] == '\0')) {
			add_error(st, st->line, "integration", key,
				  "'%s' must be group:OKTA_GROUP_NAME or user:OKTA_LOGIN", value);
			return 0;
		}
		return 1;
	}
	add_error(st, st->line, "integration", key, "unknown key");
	return 0;
}

static int handle_users(struct parse_state *st, const char *key, const char *value)
{
	const char *why;

	if (strcmp(key, "login_format") == 0) {
		if (!set_string(st, "users", key, value, &st->cfg->login_format))
			return 0;
		if (config_check_login_format(value, &why) != 0) {
			add_error(st, st->line, "users", key, "'%s' %s", value, why);
			return 0;
		}
		return 1;
	}
	add_error(st, st->line, "users", key, "unknown key");
	return 0;
}

static void free_list(char **l, size_t n);

/* [daemon] revoke_on (issue 20): Okta user statuses, or "none" alone (only
 * a deleted user's grants end). ACTIVE is refused: it would end every
 * grant at the next sweep. */
static int set_revoke_on(struct parse_state *st, struct ojit_config *c, const char *key, const char *value)
{
	char **l = NULL;
	size_t n = 0, i;
	unsigned bits = 0, b;
	int ok = 0;

	if (c->revoke_on_set) {
		add_error(st, st->line, "daemon", key, "given twice");
		return 0;
	}
	if (!set_list(st, "daemon", key, value, &l, &n))
		goto out;
	for (i = 0; i < n; i++) {
		if (strcmp(l[i], "none") == 0 && n == 1)
			break;
		b = config_user_status_bit(l[i]);
		if (b == 0 || b == config_user_status_bit("ACTIVE")) {
			add_error(st, st->line, "daemon", key,
				  "'%s' is not an Okta user status that can end grants (one or more of SUSPENDED, "
				  "DEPROVISIONED, LOCKED_OUT, PASSWORD_EXPIRED, RECOVERY, PROVISIONED, STAGED; or none)",
				  l[i]);
			goto out;
		}
		bits |= b;
	}
	c->revoke_on = bits;
	c->revoke_on_set = 1;
	ok = 1;
out:
	free_list(l, n);
	return ok;
}

static int handle_daemon(struct parse_state *st, const char *key, const char *value)
{
	struct ojit_config *c = st->cfg;
	char **dst = NULL;

	if (strcmp(key, "ledger") == 0) {
		if (!set_string(st, "daemon", key, value, &c->ledger))
			return 0;
		if (ledger_spec_kind(value) < 0) {
			add_error(st, st->line, "daemon", key,
				  "must be sqlite:/path, an absolute path, or a postgresql:// URI");
			return 0;
		}
		if (ledger_spec_kind(value) == LEDGER_DIALECT_PG && config_uri_has_password(value)) {
			add_error(st, st->line, "daemon", key,
				  "holds a password; put it in ledger_password_file (root-only) instead");
			return 0;
		}
		if (ledger_spec_kind(value) == LEDGER_DIALECT_PG) {
			char why[512];

			if (config_pg_transport_ok(value, why, sizeof(why)) != 0) {
				add_error(st, st->line, "daemon", key, "%s", why);
				return 0;
			}
		}
		return 1;
	}
	if (strcmp(key, "socket") == 0)
		dst = &c->socket;
	else if (strcmp(key, "pam_socket") == 0)
		dst = &c->pam_socket;
	else if (strcmp(key, "ledger_password_file") == 0)
		dst = &c->ledger_password_file;
	else if (strcmp(key, "fleet_signing_key") == 0) {
		dst = &c->fleet_signing_key;
		c->fleet_signing_key_line = st->line;
	}
	if (dst != NULL) {
		if (!set_string(st, "daemon", key, value, dst))
			return 0;
		if (value[0] != '/') {
			add_error(st, st->line, "daemon", key, "must be an absolute path");
			return 0;
		}
		if ((strcmp(key, "socket") == 0 || strcmp(key, "pam_socket") == 0) && strlen(value) >= 108) {
			add_error(st, st->line, "daemon", key, "path too long for a Unix socket (at most 107 bytes)");
			return 0;
		}
		return 1;
	}
	if (strcmp(key, "metrics_file") == 0) {
		size_t n = strlen(value);

		if (!set_string(st, "daemon", key, value, &c->metrics_file))
			return 0;
		/* node_exporter's textfile collector reads *.prom and nothing
		 * else: another name would be written and never read */
		if (value[0] != '/' || n < 7 || strcmp(value + n - 5, ".prom") != 0 || value[n - 6] == '/' ||
		    n > 1000) {
			add_error(st, st->line, "daemon", key,
				  "'%s' must be an absolute path of a file ending in .prom (node_exporter's textfile "
				  "collector reads only *.prom files)", value);
			return 0;
		}
		return 1;
	}
	if (strcmp(key, "metrics_interval") == 0) {
		if (!set_duration(st, "daemon", key, value, &c->metrics_interval, 1))
			return 0;
		if (c->metrics_interval > 3600) {
			add_error(st, st->line, "daemon", key, "at most 1h");
			return 0;
		}
		return 1;
	}
	if (strcmp(key, "role") == 0) {
		if (strcmp(value, "granter") == 0) {
			c->role_gate = 0;
		} else if (strcmp(value, "gate") == 0) {
			c->role_gate = 1;
		} else {
			add_error(st, st->line, "daemon", key, "must be granter or gate, not '%s'", value);
			return 0;
		}
		return 1;
	}
	if (strcmp(key, "cache_ttl") == 0)
		return set_duration(st, "daemon", key, value, &c->cache_ttl, 1);
	if (strcmp(key, "outage_grace") == 0)
		return set_duration(st, "daemon", key, value, &c->outage_grace, 1);
	if (strcmp(key, "pending_ttl") == 0)
		return set_duration(st, "daemon", key, value, &c->pending_ttl, 1);
	if (strcmp(key, "recheck_after") == 0)
		return set_duration(st, "daemon", key, value, &c->recheck_after, 1);
	if (strcmp(key, "refresh_timeout") == 0) {
		if (!set_duration(st, "daemon", key, value, &c->refresh_timeout, 1))
			return 0;
		/* It is part of the staleness bound (cache_ttl + refresh_timeout):
		 * a long one would make that bound meaningless. */
		if (c->refresh_timeout > 60) {
			add_error(st, st->line, "daemon", key, "at most 1m");
			return 0;
		}
		return 1;
	}
	if (strcmp(key, "revoke_on") == 0)
		return set_revoke_on(st, c, key, value);
	if (strcmp(key, "snapshot_groups") == 0) {
		c->snapshot_groups_line = st->line;
		if (!set_list(st, "daemon", key, value, &c->snapshot_groups, &c->nsnapshot_groups))
			return 0;
		for (size_t i = 0; i < c->nsnapshot_groups; i++)
			if (!jitd_valid_groupname(c->snapshot_groups[i])) {
				add_error(st, st->line, "daemon", key, "'%s' is not a valid group name",
					  c->snapshot_groups[i]);
				return 0;
			}
		return 1;
	}
	if (strcmp(key, "fleet_verify_keys") == 0) {
		c->fleet_verify_keys_line = st->line;
		if (!set_list(st, "daemon", key, value, &c->fleet_verify_keys, &c->nfleet_verify_keys))
			return 0;
		for (size_t i = 0; i < c->nfleet_verify_keys; i++)
			if (c->fleet_verify_keys[i][0] != '/') {
				add_error(st, st->line, "daemon", key, "'%s' is not an absolute path",
					  c->fleet_verify_keys[i]);
				return 0;
			}
		return 1;
	}
	add_error(st, st->line, "daemon", key, "unknown key");
	return 0;
}

/* An Okta profile attribute's name: what Okta's schema allows in a
 * custom attribute's variable name. */
static int nss_attr_ok(const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n > OJIT_NSS_ATTR_MAX || !(isalpha((unsigned char)v[0]) || v[0] == '_'))
		return 0;
	for (; *v != '\0'; v++)
		if (!isalnum((unsigned char)*v) && *v != '_')
			return 0;
	return 1;
}

/* A value that ends up in a passwd line: no ':' (the field separator), no
 * control characters, absolute. */
static int nss_path_ok(const char *v)
{
	if (v[0] != '/' || strlen(v) > 200)
		return 0;
	for (; *v != '\0'; v++)
		if ((unsigned char)*v < 0x21 || *v == 0x7f || *v == ':')
			return 0;
	return 1;
}

/* A template with exactly one %<letter> and otherwise only %%. */
static int nss_template_ok(const char *v, char letter)
{
	int n = 0;

	for (; *v != '\0'; v++) {
		if (*v != '%')
			continue;
		v++;
		if (*v == letter)
			n++;
		else if (*v != '%')
			return 0;
	}
	return n == 1;
}

static int set_yes_no(struct parse_state *st, const char *key, const char *value, int *dst)
{
	if (strcmp(value, "yes") == 0 || strcmp(value, "true") == 0)
		*dst = 1;
	else if (strcmp(value, "no") == 0 || strcmp(value, "false") == 0)
		*dst = 0;
	else {
		add_error(st, st->line, "nss", key, "'%s' must be yes or no", value);
		return 0;
	}
	return 1;
}

static int handle_nss(struct parse_state *st, const char *key, const char *value)
{
	struct ojit_config *c = st->cfg;
	char **dst = NULL;

	if (c->nss_line == 0) {
		c->nss_line = st->line;
		c->nss_enabled = 1;
	}
	if (strcmp(key, "enabled") == 0)
		return set_yes_no(st, key, value, &c->nss_enabled);
	if (strcmp(key, "enumerate") == 0)
		return set_yes_no(st, key, value, &c->nss_enumerate);
	if (strcmp(key, "uid_attribute") == 0)
		dst = &c->nss_uid_attribute;
	else if (strcmp(key, "gecos_attribute") == 0)
		dst = &c->nss_gecos_attribute;
	else if (strcmp(key, "keys_attribute") == 0)
		dst = &c->nss_keys_attribute;
	if (dst != NULL) {
		if (!set_string(st, "nss", key, value, dst))
			return 0;
		if (!nss_attr_ok(value)) {
			add_error(st, st->line, "nss", key,
				  "'%s' is not an Okta profile attribute name (letters, digits and _, at most %d)", value,
				  OJIT_NSS_ATTR_MAX);
			return 0;
		}
		return 1;
	}
	if (strcmp(key, "uid_range") == 0) {
		char *end = NULL, *end2 = NULL;
		long long lo, hi;

		errno = 0;
		lo = strtoll(value, &end, 10);
		hi = end != NULL && *end == '-' ? strtoll(end + 1, &end2, 10) : -1;
		if (errno != 0 || end == value || end2 == NULL || end2 == end + 1 || *end2 != '\0' || lo < 0 || hi < 0) {
			add_error(st, st->line, "nss", key, "'%s' is not FIRST-LAST (e.g. 1879048192-2147483646)", value);
			return 0;
		}
		/* below 1000: system accounts; 65534/65535: nobody and (uid_t)-1
		 * in 16 bits; from 2^31 on, signed uid_t bugs */
		if (lo < 1000 || hi > 2147483646 || lo > hi || (lo <= 65535 && hi >= 65534)) {
			add_error(st, st->line, "nss", key,
				  "'%s' must lie within 1000-2147483646, first <= last, and leave out 65534 and 65535", value);
			return 0;
		}
		c->nss_uid_min = lo;
		c->nss_uid_max = hi;
		return 1;
	}
	if (strcmp(key, "key_options") == 0) {
		if (strcmp(value, "allow") == 0)
			c->nss_key_options_allowed = 1;
		else if (strcmp(value, "refuse") == 0)
			c->nss_key_options_allowed = 0;
		else {
			add_error(st, st->line, "nss", key, "'%s' must be refuse or allow", value);
			return 0;
		}
		return 1;
	}
	if (strcmp(key, "home") == 0 || strcmp(key, "shell") == 0 || strcmp(key, "cache") == 0) {
		int home = strcmp(key, "home") == 0;

		if (!set_string(st, "nss", key, value, home ? &c->nss_home : key[0] == 's' ? &c->nss_shell : &c->nss_cache))
			return 0;
		if (!nss_path_ok(value) || (home && !nss_template_ok(value, 'u'))) {
			add_error(st, st->line, "nss", key, "'%s' must be an absolute path without spaces or ':'%s", value,
				  home ? ", with %u (the user name) once" : "");
			return 0;
		}
		return 1;
	}
	if (strcmp(key, "group_name") == 0) {
		if (!set_string(st, "nss", key, value, &c->nss_group_name))
			return 0;
		if (!nss_template_ok(value, 'g') || strlen(value) > 64 || strchr(value, ':') != NULL ||
		    strchr(value, ' ') != NULL) {
			add_error(st, st->line, "nss", key, "'%s' must contain %%g (the Okta group name) once, and no ':' or spaces",
				  value);
			return 0;
		}
		return 1;
	}
	if (strcmp(key, "keys_user") == 0) {
		if (!set_string(st, "nss", key, value, &c->nss_keys_user))
			return 0;
		if (!jitd_valid_username(value) || strcmp(value, "root") == 0) {
			add_error(st, st->line, "nss", key, "'%s' is not a valid local user name (nor root)", value);
			return 0;
		}
		return 1;
	}
	if (strcmp(key, "groups") == 0) {
		c->nss_groups_line = st->line;
		if (!set_list(st, "nss", key, value, &c->nss_groups, &c->nnss_groups))
			return 0;
		for (size_t i = 0; i < c->nnss_groups; i++)
			if (!jitd_valid_groupname(c->nss_groups[i])) {
				add_error(st, st->line, "nss", key, "'%s' is not a valid group name", c->nss_groups[i]);
				return 0;
			}
		return 1;
	}
	add_error(st, st->line, "nss", key, "unknown key");
	return 0;
}

/* An Okta login as [flow] standing names it: printable, no spaces or
 * commas (the list's separator), within Okta's length. */
static int standing_login_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (*p == '\0' || strlen(s) > 255)
		return 0;
	for (; *p != '\0'; p++)
		if (*p <= 0x20 || *p == 0x7f || *p == ',')
			return 0;
	return 1;
}

/* standing = allow | deny | group:NAME, user:LOGIN, ... (issue 20). allow
 * (every member of the flow's groups passes, as before) and deny (none,
 * the default) stand alone; a list declares the standing members by Okta
 * group or by Okta login. */
static int set_standing(struct parse_state *st, struct flow_config *f, const char *section, const char *key,
			const char *value)
{
	char **items = NULL;
	size_t n = 0, i;
	int ok = 0;

	if (f->standing_line != 0) {
		add_error(st, st->line, section, key, "given twice");
		return 0;
	}
	f->standing_line = st->line;
	if (strcmp(value, "allow") == 0 || strcmp(value, "deny") == 0) {
		f->standing_allow = value[0] == 'a';
		return 1;
	}
	if (!set_list(st, section, key, value, &items, &n))
		goto out;
	f->standing_groups = calloc(n > 0 ? n : 1, sizeof(char *));
	f->standing_users = calloc(n > 0 ? n : 1, sizeof(char *));
	if (f->standing_groups == NULL || f->standing_users == NULL) {
		add_error(st, st->line, section, key, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		const char *it = items[i];

		if (strncmp(it, "group:", 6) == 0 && jitd_valid_groupname(it + 6)) {
			f->standing_groups[f->nstanding_groups] = strdup(it + 6);
			if (f->standing_groups[f->nstanding_groups] == NULL)
				goto nomem;
			f->nstanding_groups++;
		} else if (strncmp(it, "user:", 5) == 0 && standing_login_ok(it + 5)) {
			f->standing_users[f->nstanding_users] = strdup(it + 5);
			if (f->standing_users[f->nstanding_users] == NULL)
				goto nomem;
			f->nstanding_users++;
		} else {
			add_error(st, st->line, section, key,
				  "'%s' must be allow, deny, or a list of group:OKTA_GROUP and user:OKTA_LOGIN", it);
			goto out;
		}
	}
	ok = 1;
	goto out;
nomem:
	add_error(st, st->line, section, key, "out of memory");
out:
	for (i = 0; i < n; i++)
		free(items[i]);
	free(items);
	return ok;
}

static int handle_flow(struct parse_state *st, const char *section, const char *key,
		       const char *value)
{
	struct flow_config *f = st->cur_flow;

	if (strcmp(key, "groups") == 0)
		return set_list(st, section, key, value, &f->groups, &f->ngroups);
	if (strcmp(key, "requesters") == 0)
		return set_list(st, section, key, value, &f->requesters, &f->nrequesters);
	if (strcmp(key, "default_duration") == 0)
		return set_duration(st, section, key, value, &f->default_duration, 60);
	if (strcmp(key, "max_duration") == 0)
		return set_duration(st, section, key, value, &f->max_duration, 60);
	if (strcmp(key, "warn_before") == 0)
		return set_duration(st, section, key, value, &f->warn_before, 1);
	if (strcmp(key, "approval") == 0) {
		if (strcmp(value, "auto") == 0)
			f->approval = APPROVAL_AUTO;
		else if (strcmp(value, "owners") == 0)
			f->approval = APPROVAL_OWNERS;
		else if (strcmp(value, "owner") == 0)
			f->approval = APPROVAL_OWNER;
		else {
			add_error(st, st->line, section, key, "'%s' must be auto, owners or owner", value);
			return 0;
		}
		return 1;
	}
	if (strcmp(key, "reason") == 0) {
		if (strcmp(value, "required") == 0)
			f->reason_required = 1;
		else if (strcmp(value, "optional") == 0)
			f->reason_required = 0;
		else {
			add_error(st, st->line, section, key, "'%s' must be required or optional", value);
			return 0;
		}
		return 1;
	}
	if (strcmp(key, "standing") == 0)
		return set_standing(st, f, section, key, value);
	if (strcmp(key, "drift") == 0) {
		f->drift_line = st->line;
		if (strcmp(value, "report") == 0)
			f->drift_remove = 0;
		else if (strcmp(value, "remove") == 0)
			f->drift_remove = 1;
		else {
			add_error(st, st->line, section, key, "'%s' must be report or remove", value);
			return 0;
		}
		return 1;
	}
	if (strcmp(key, "ssh_keys") == 0) {
		if (strcmp(value, "grant") == 0)
			f->ssh_keys = FLOW_KEYS_GRANT;
		else if (strcmp(value, "requesters") == 0)
			f->ssh_keys = FLOW_KEYS_REQUESTERS;
		else {
			add_error(st, st->line, section, key, "'%s' must be grant or requesters", value);
			return 0;
		}
		return 1;
	}
	if (strcmp(key, "on_expiry") == 0) {
		if (strcmp(value, "keep") == 0)
			f->on_expiry = ON_EXPIRY_KEEP;
		else if (strcmp(value, "terminate") == 0)
			f->on_expiry = ON_EXPIRY_TERMINATE;
		else {
			add_error(st, st->line, section, key, "'%s' must be keep or terminate", value);
			return 0;
		}
		return 1;
	}
	add_error(st, st->line, section, key, "unknown key");
	return 0;
}

/* Start a new [flow NAME] section, or continue it if inih calls again. */
static struct flow_config *flow_begin(struct parse_state *st, const char *section)
{
	struct ojit_config *c = st->cfg;
	const char *name = section + 5;
	const char *why;
	size_t i;

	while (*name == ' ')
		name++;
	if (st->cur_flow != NULL && strcmp(st->cur_flow->name, name) == 0)
		return st->cur_flow;
	for (i = 0; i < c->nflows; i++) {
		if (strcmp(c->flows[i].name, name) == 0) {
			add_error(st, st->line, section, NULL,
				  "flow '%s' defined twice (first at line %d)", name, c->flows[i].line);
			return NULL;
		}
	}
	if (config_check_name(name, &why) != 0) {
		add_error(st, st->line, section, NULL, "flow name '%s' %s", name, why);
		return NULL;
	}
	if (c->nflows >= CONFIG_MAX_FLOWS) {
		add_error(st, st->line, section, NULL, "too many flows (at most %d)", CONFIG_MAX_FLOWS);
		return NULL;
	}
	struct flow_config *f = &c->flows[c->nflows++];
	memset(f, 0, sizeof(*f));
	f->name = strdup(name);
	if (f->name == NULL) {
		/* a flow without a name would be compared with strcmp above */
		c->nflows--;
		add_error(st, st->line, section, NULL, "out of memory");
		return NULL;
	}
	f->default_duration = 3600;
	f->max_duration = 8 * 3600;
	f->approval = APPROVAL_OWNERS;
	f->reason_required = 1;
	f->on_expiry = ON_EXPIRY_KEEP;
	f->warn_before = 300;
	f->line = st->section_line;
	st->cur_flow = f;
	return f;
}

/* Returns 1 if section/name was given before, else remembers it. */
static int seen_before(struct parse_state *st, const char *section, const char *name)
{
	char key[600];
	size_t i;

	snprintf(key, sizeof(key), "%s\n%s", section, name);
	for (i = 0; i < st->nseen; i++)
		if (strcmp(st->seen[i], key) == 0)
			return 1;
	if (st->nseen == st->capseen) {
		size_t ncap = st->capseen ? st->capseen * 2 : 32;
		char **n = realloc(st->seen, ncap * sizeof(*n));

		if (n == NULL)
			return 0;
		st->seen = n;
		st->capseen = ncap;
	}
	st->seen[st->nseen] = strdup(key);
	if (st->seen[st->nseen] != NULL)
		st->nseen++;
	return 0;
}

/* The [notify NAME] section being read, created at its first key. */
static struct notify_config *notify_begin(struct parse_state *st, const char *section)
{
	struct ojit_config *c = st->cfg;
	const char *name = section + 7;
	const char *why;
	struct notify_config *n;
	size_t i;

	while (*name == ' ')
		name++;
	for (i = 0; i < c->nnotify; i++)
		if (strcmp(c->notify[i].name, name) == 0)
			return &c->notify[i];
	if (config_check_name(name, &why) != 0 || strlen(name) > 64) {
		add_error(st, st->line, section, NULL, "notify name '%s' %s", name, why ? why : "is too long");
		return NULL;
	}
	if (c->nnotify >= CONFIG_MAX_NOTIFY) {
		add_error(st, st->line, section, NULL, "too many notify targets (at most %d)", CONFIG_MAX_NOTIFY);
		return NULL;
	}
	n = &c->notify[c->nnotify];
	memset(n, 0, sizeof(*n));
	n->name = strdup(name);
	if (n->name == NULL) {
		add_error(st, st->line, section, NULL, "out of memory");
		return NULL;
	}
	c->nnotify++;
	n->events = NOTIFY_ALL;
	n->expiring_before = 600;
	n->max_age = 86400;
	n->line = st->section_line;
	return n;
}

static int handle_notify(struct parse_state *st, const char *section, const char *key, const char *value)
{
	struct notify_config *n = notify_begin(st, section);

	if (n == NULL)
		return 0;
	if (strcmp(key, "url") == 0) {
		if (!set_string(st, section, key, value, &n->url))
			return 0;
		if (strncmp(value, "https://", 8) != 0 || value[8] == '\0' || strpbrk(value, " \t\"'<>\\") != NULL) {
			add_error(st, st->line, section, key, "must be an https:// URL");
			return 0;
		}
		return 1;
	}
	if (strcmp(key, "secret_file") == 0 || strcmp(key, "ca_file") == 0) {
		if (!set_string(st, section, key, value, strcmp(key, "ca_file") == 0 ? &n->ca_file : &n->secret_file))
			return 0;
		if (value[0] != '/') {
			add_error(st, st->line, section, key, "must be an absolute path");
			return 0;
		}
		return 1;
	}
	if (strcmp(key, "events") == 0) {
		const char *p = value;
		char tok[32];

		n->events = 0;
		while (*p != '\0') {
			size_t len;
			unsigned bit;

			p += strspn(p, ", ");
			len = strcspn(p, ", ");
			if (len == 0)
				break;
			if (len >= sizeof(tok))
				len = sizeof(tok) - 1; /* too long to be an event: refused below */
			memcpy(tok, p, len);
			tok[len] = '\0';
			p += strcspn(p, ", ");
			bit = config_notify_event(tok);
			if (bit == 0) {
				add_error(st, st->line, section, key,
					  "unknown event '%s' (requested, approved, denied, granted, expiring, expired, "
					  "revoked, failed, breakglass, drift)", tok);
				return 0;
			}
			n->events |= bit;
		}
		if (n->events == 0) {
			add_error(st, st->line, section, key, "name at least one event");
			return 0;
		}
		return 1;
	}
	if (strcmp(key, "format") == 0) {
		if (strcmp(value, "json") == 0 || strcmp(value, "slack") == 0) {
			n->slack = strcmp(value, "slack") == 0;
			return 1;
		}
		add_error(st, st->line, section, key, "must be json or slack, not '%s'", value);
		return 0;
	}
	if (strcmp(key, "expiring_before") == 0)
		return set_duration(st, section, key, value, &n->expiring_before, 1);
	if (strcmp(key, "max_age") == 0)
		return set_duration(st, section, key, value, &n->max_age, 1);
	add_error(st, st->line, section, key, "unknown key");
	return 0;
}

/* A client id as Okta makes them (0oa...): letters and digits. */
static int web_client_id_ok(const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n > 64)
		return 0;
	for (; *v != '\0'; v++)
		if (!isalnum((unsigned char)*v))
			return 0;
	return 1;
}

/* [web] (issue 19). The one reader of [web]: okta-jitd uses client_id,
 * session_max and socket; okta-jit-web reads the file through
 * config_load too and uses the rest, checked here in full. */
static int handle_web(struct parse_state *st, const char *key, const char *value)
{
	struct ojit_config *c = st->cfg;
	char **dst = NULL;

	if (c->web_line == 0)
		c->web_line = st->line;
	if (strcmp(key, "client_id") == 0) {
		if (!set_string(st, "web", key, value, &c->web_client_id))
			return 0;
		if (!web_client_id_ok(value)) {
			add_error(st, st->line, "web", key, "'%s' is not an Okta client id (letters and digits, e.g. 0oa...)",
				  value);
			return 0;
		}
		c->web_enabled = 1;
		return 1;
	}
	if (strcmp(key, "session_max") == 0) {
		if (!set_duration(st, "web", key, value, &c->web_session_max, 60))
			return 0;
		if (c->web_session_max > OJIT_WEB_SESSION_MAX_MAX) {
			add_error(st, st->line, "web", key, "must be at most %ds (a day)", OJIT_WEB_SESSION_MAX_MAX);
			return 0;
		}
		return 1;
	}
	if (strcmp(key, "socket") == 0) {
		if (!set_string(st, "web", key, value, &c->web_socket))
			return 0;
		if (value[0] != '/') {
			add_error(st, st->line, "web", key, "must be an absolute path");
			return 0;
		}
		if (strlen(value) >= 108) {
			add_error(st, st->line, "web", key, "path too long for a Unix socket (at most 107 bytes)");
			return 0;
		}
		return 1;
	}
	if (strcmp(key, "url") == 0) {
		const char *why = NULL;
		size_t len;

		if (!set_string(st, "web", key, value, &c->web_url))
			return 0;
		c->web_url_line = st->line;
		if (config_check_web_url(value, &why) != 0) {
			add_error(st, st->line, "web", key, "'%s' %s", value, why);
			return 0;
		}
		/* Links are made as url + "/path". */
		len = strlen(c->web_url);
		if (len > 0 && c->web_url[len - 1] == '/')
			c->web_url[len - 1] = '\0';
		return 1;
	}
	if (strcmp(key, "listen") == 0) {
		char host[256];
		int port;

		if (!set_string(st, "web", key, value, &c->web_listen))
			return 0;
		c->web_listen_line = st->line;
		if (config_web_listen_split(value, host, sizeof(host), &port) != 0) {
			add_error(st, st->line, "web", key, "'%s': want HOST:PORT or [V6ADDR]:PORT", value);
			return 0;
		}
		return 1;
	}
	if (strcmp(key, "trusted_proxy") == 0) {
		unsigned char ip[16];

		if (!set_string(st, "web", key, value, &c->web_trusted_proxy))
			return 0;
		if (inet_pton(AF_INET, value, ip) != 1 && inet_pton(AF_INET6, value, ip) != 1) {
			add_error(st, st->line, "web", key, "'%s': want one IP address (the reverse proxy's)", value);
			return 0;
		}
		return 1;
	}
	if (strcmp(key, "session_idle") == 0)
		return set_duration(st, "web", key, value, &c->web_session_idle, 60);
	if (strcmp(key, "max_sessions") == 0) {
		int64_t v;

		if (ojit_parse_int64(value, 16, 1000000, &v) != 0) {
			add_error(st, st->line, "web", key, "'%s': want a number from 16 to 1000000", value);
			return 0;
		}
		c->web_max_sessions = v;
		return 1;
	}
	if (strcmp(key, "client_secret_file") == 0)
		dst = &c->web_client_secret_file;
	else if (strcmp(key, "private_key") == 0)
		dst = &c->web_private_key;
	else if (strcmp(key, "tls_cert") == 0)
		dst = &c->web_tls_cert;
	else if (strcmp(key, "tls_key") == 0)
		dst = &c->web_tls_key;
	if (dst != NULL) {
		if (!set_string(st, "web", key, value, dst))
			return 0;
		if (dst == &c->web_tls_cert || dst == &c->web_tls_key)
			c->web_tls_line = st->line;
		if (value[0] != '/') {
			add_error(st, st->line, "web", key, "must be an absolute path");
			return 0;
		}
		return 1;
	}
	add_error(st, st->line, "web", key, "unknown key");
	return 0;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse_state *st = user;

	if (st->long_line == st->line) {
		add_error(st, st->line, NULL, NULL, "line longer than %d bytes", CONFIG_LINE_MAX - 3);
		return 0;
	}
	/* A new section header ends the flow being read, so a second
	 * [flow NAME] is caught even right after the first. */
	if (strcmp(section, st->cur_section) != 0 || st->section_line > st->cur_flow_line) {
		st->cur_flow = NULL;
		ojit_strlcpy(st->cur_section, section, sizeof(st->cur_section));
		st->cur_flow_line = st->section_line;
	}
	if (strncmp(section, "flow ", 5) == 0 && flow_begin(st, section) == NULL)
		return 0;
	if (strncmp(section, "notify ", 7) == 0 && notify_begin(st, section) == NULL)
		return 0;
	if (seen_before(st, section, name)) {
		add_error(st, st->line, section[0] ? section : NULL, name, "given twice");
		return 0;
	}
	if (strcmp(section, "okta") == 0)
		return handle_okta(st, name, value);
	if (strcmp(section, "integration") == 0)
		return handle_integration(st, name, value);
	if (strcmp(section, "users") == 0)
		return handle_users(st, name, value);
	if (strcmp(section, "daemon") == 0)
		return handle_daemon(st, name, value);
	if (strcmp(section, "nss") == 0)
		return handle_nss(st, name, value);
	if (strcmp(section, "web") == 0)
		return handle_web(st, name, value);
	if (strncmp(section, "flow ", 5) == 0)
		return handle_flow(st, section, name, value);
	if (strncmp(section, "notify ", 7) == 0)
		return handle_notify(st, section, name, value);
	if (*section == '\0')
		add_error(st, st->line, NULL, name, "key outside any section");
	else
		add_error(st, st->line, section, NULL,
			  "unknown section (expected okta, integration, users, daemon, nss, web, flow NAME or notify NAME)");
	return 0;
}

static void check_required(struct parse_state *st)
{
	struct ojit_config *c = st->cfg;
	size_t i, j, k, l;

	/* A gate answers from the shared ledger alone and holds no Okta
	 * credential (issue 17): its [okta] section may be left out; a key
	 * given anyway is ignored (okta-jitd warns, doctor flags it). */
	if (c->org_url == NULL && !c->role_gate)
		add_error(st, 0, "okta", "org_url", "required key missing (e.g. https://example.okta.com)");
	if (c->client_id == NULL && !c->role_gate)
		add_error(st, 0, "okta", "client_id", "required key missing (the API Services app's client id)");
	if (c->private_key == NULL && !c->role_gate)
		add_error(st, 0, "okta", "private_key", "required key missing (path to the app's private key, PEM)");
	/* A rotation needs both halves: the key and the kid Okta knows it by
	 * (with two keys on the app Okta requires the kid). */
	if (c->next_private_key != NULL && c->next_key_id == NULL)
		add_error(st, c->next_private_key_line, "okta", "next_key_id",
			  "required with next_private_key (the kid of the next key on the Okta app; okta-jit key new "
			  "prints it)");
	if (c->next_key_id != NULL && c->next_private_key == NULL)
		add_error(st, c->next_key_id_line, "okta", "next_private_key",
			  "required with next_key_id (the next key; make it with okta-jit key new)");
	if (c->next_private_key != NULL && c->key_id == NULL)
		add_error(st, c->next_private_key_line, "okta", "key_id",
			  "required with next_private_key (with two keys on the app, Okta needs the kid of each)");
	if (c->next_key_id != NULL && c->key_id != NULL && strcmp(c->next_key_id, c->key_id) == 0)
		add_error(st, c->next_key_id_line, "okta", "next_key_id",
			  "'%s' is key_id too: the next key needs a kid of its own", c->next_key_id);
	if (c->next_private_key != NULL && c->private_key != NULL && strcmp(c->next_private_key, c->private_key) == 0)
		add_error(st, c->next_private_key_line, "okta", "next_private_key",
			  "names the same key as private_key: make a new one with okta-jit key new");
	if (c->name == NULL)
		add_error(st, 0, "integration", "name", "required key missing");
	for (i = 0; i < c->nnotify; i++) {
		char sect[80];

		snprintf(sect, sizeof(sect), "notify %s", c->notify[i].name);
		if (c->notify[i].url == NULL)
			add_error(st, c->notify[i].line, sect, "url", "required key missing (an https:// URL)");
	}
	if (c->role_gate && (c->ledger == NULL || ledger_spec_kind(c->ledger) != LEDGER_DIALECT_PG))
		add_error(st, 0, "daemon", "role",
			  "a gate answers from a shared ledger: set [daemon] ledger to a postgresql:// URI");
	/* Snapshots live in the shared ledger for the gates; a single host
	 * asks Okta itself, so the key would silently do nothing there. */
	if (c->nsnapshot_groups > 0 && (c->ledger == NULL || ledger_spec_kind(c->ledger) != LEDGER_DIALECT_PG))
		add_error(st, c->snapshot_groups_line, "daemon", "snapshot_groups",
			  "snapshots are kept in a shared ledger for the gates: set [daemon] ledger to a postgresql:// URI, "
			  "or remove this key");
	/* Fleet signatures (issue 17 follow-up): a gate uses only the rows a
	 * granter signed, so that a database writer lets no one in. A gate
	 * without a verify key would trust the database again: refused. */
	if (c->role_gate && c->nfleet_verify_keys == 0 && c->ledger != NULL &&
	    ledger_spec_kind(c->ledger) == LEDGER_DIALECT_PG)
		add_error(st, 0, "daemon", "fleet_verify_keys",
			  "required key missing on a gate (the fleet's Ed25519 public key(s), e.g. "
			  "/etc/okta-jit/fleet-verify.pub: a gate uses only grants and snapshots a granter signed)");
	if (c->role_gate && c->fleet_signing_key != NULL)
		add_error(st, c->fleet_signing_key_line, "daemon", "fleet_signing_key",
			  "a gate holds no signing key (whoever holds it can let anyone in): remove it and the file; "
			  "give the gate fleet_verify_keys");
	if ((c->fleet_signing_key != NULL || c->nfleet_verify_keys > 0) &&
	    (c->ledger == NULL || ledger_spec_kind(c->ledger) != LEDGER_DIALECT_PG))
		add_error(st, c->fleet_signing_key != NULL ? c->fleet_signing_key_line : c->fleet_verify_keys_line,
			  "daemon", c->fleet_signing_key != NULL ? "fleet_signing_key" : "fleet_verify_keys",
			  "fleet keys sign the shared ledger's rows for the gates: set [daemon] ledger to a "
			  "postgresql:// URI, or remove this key");
	/* [nss] groups: a JIT group's local members are its grant holders,
	 * so each must be a group some flow grants; and its local name must
	 * be one a group may have. */
	for (i = 0; i < c->nnss_groups; i++) {
		char local[300];

		if (config_flow_for_group(c, c->nss_groups[i]) == NULL)
			add_error(st, c->nss_groups_line, "nss", "groups", "'%s' is not a group of any [flow]", c->nss_groups[i]);
		else if (config_nss_group_name(c, c->nss_groups[i], local, sizeof(local)) != 0 || strlen(local) > 32 ||
			 !jitd_valid_groupname(local))
			add_error(st, c->nss_groups_line, "nss", "groups",
				  "'%s' makes the local group name '%s' (group_name), which is not a valid group name "
				  "(at most 32 characters)", c->nss_groups[i], local);
	}
	/* [web]: okta-jitd accepts ID tokens for one Okta app alone. */
	if (c->web_line != 0 && c->web_client_id == NULL)
		add_error(st, c->web_line, "web", "client_id",
			  "required key missing (the Okta Web app's client id: the audience of the ID tokens okta-jitd accepts)");
	if (c->web_enabled && c->role_gate)
		add_error(st, c->web_line, "web", "client_id",
			  "a gate changes nothing in Okta: run the web service beside a granter (role = granter)");
	/* The rules between the web service's keys, the same for both
	 * readers of this file (okta-jitd and okta-jit-web). */
	st->nerrors += config_web_check(c, 0, st->errors);
	if (c->nnss_groups > 0 && !c->nss_enabled)
		add_error(st, c->nss_groups_line, "nss", "groups", "has no effect with enabled = no");
	for (i = 0; i < c->nflows; i++) {
		struct flow_config *f = &c->flows[i];
		char sect[80];

		snprintf(sect, sizeof(sect), "flow %s", f->name);
		if (f->ngroups == 0)
			add_error(st, f->line, sect, "groups", "required key missing");
		if (f->default_duration > f->max_duration)
			add_error(st, f->line, sect, "default_duration",
				  "is longer than max_duration");
		/* Under standing = allow every member is standing: there is no
		 * drift to remove, and a removal asked for would never happen. */
		if (f->drift_remove && f->standing_allow)
			add_error(st, f->drift_line, sect, "drift",
				  "'remove' has no effect with standing = allow (every member is standing); declare the "
				  "standing members instead (standing = group:NAME, user:LOGIN)");
		if (f->approval != APPROVAL_AUTO && c->owner == NULL && f->approval == APPROVAL_OWNER)
			add_error(st, f->line, sect, "approval",
				  "'owner' needs [integration] owner to be set");
		/* A group granted by two flows would make the rules ambiguous. */
		for (j = 0; j < f->ngroups; j++)
			for (k = 0; k < i; k++)
				for (l = 0; l < c->flows[k].ngroups; l++)
					if (strcmp(f->groups[j], c->flows[k].groups[l]) == 0)
						add_error(st, f->line, sect, "groups",
							  "group '%s' is already granted by flow '%s'",
							  f->groups[j], c->flows[k].name);
	}
}

/* The PAM module's socket: pam_socket, else "pam.sock" in the directory
 * of socket (so /run/okta-jit/pam.sock, the module's default, with the
 * default socket). It must be a socket of its own. */
static void derive_pam_socket(struct parse_state *st)
{
	struct ojit_config *c = st->cfg;
	const char *pub = c->socket != NULL ? c->socket : OJIT_DEFAULT_SOCKET;
	const char *slash = strrchr(pub, '/');

	if (c->pam_socket == NULL) {
		int dirlen = slash != NULL ? (int)(slash - pub) : 0;

		if (asprintf(&c->pam_socket, "%.*s/%s", dirlen, pub, OJIT_PAM_SOCKET_NAME) < 0) {
			c->pam_socket = NULL;
			add_error(st, 0, "daemon", "pam_socket", "out of memory");
			return;
		}
		if (strlen(c->pam_socket) >= 108)
			add_error(st, 0, "daemon", "pam_socket",
				  "the default %s (beside socket) is too long for a Unix socket; set pam_socket",
				  c->pam_socket);
	}
	if (strcmp(c->pam_socket, pub) == 0)
		add_error(st, 0, "daemon", "pam_socket",
			  "must differ from socket (the PAM module's socket is root's alone)");
}

/* The web service's socket is one of its own: its requests carry an ID
 * token, the others' a peer's credentials. */
static void check_web_socket(struct parse_state *st)
{
	struct ojit_config *c = st->cfg;
	const char *web = c->web_socket != NULL ? c->web_socket : OJIT_DEFAULT_WEB_SOCKET;

	if (!c->web_enabled)
		return;
	if (strcmp(web, c->socket != NULL ? c->socket : OJIT_DEFAULT_SOCKET) == 0 ||
	    (c->pam_socket != NULL && strcmp(web, c->pam_socket) == 0))
		add_error(st, c->web_line, "web", "socket",
			  "'%s' must differ from [daemon] socket and pam_socket (each socket has its own rules)", web);
}

static void apply_defaults(struct ojit_config *c)
{
	if (c->timeout == 0)
		c->timeout = 10;
	if (c->key_max_age == 0)
		c->key_max_age = 365 * 86400;
	if (c->login_format == NULL)
		c->login_format = strdup("%u");
	if (c->socket == NULL)
		c->socket = strdup(OJIT_DEFAULT_SOCKET);
	if (c->ledger == NULL)
		c->ledger = strdup(OJIT_DEFAULT_LEDGER);
	if (c->cache_ttl == 0)
		c->cache_ttl = 30;
	if (c->outage_grace == 0)
		c->outage_grace = 300;
	if (c->pending_ttl == 0)
		c->pending_ttl = 3600;
	if (c->recheck_after == 0)
		c->recheck_after = 120;
	if (c->refresh_timeout == 0)
		c->refresh_timeout = 5;
	if (c->metrics_interval == 0)
		c->metrics_interval = 15;
	if (!c->revoke_on_set)
		c->revoke_on = config_user_status_bit("SUSPENDED") | config_user_status_bit("DEPROVISIONED") |
			       config_user_status_bit("LOCKED_OUT");
	if (c->nss_uid_min == 0) {
		c->nss_uid_min = OJIT_DEFAULT_NSS_UID_MIN;
		c->nss_uid_max = OJIT_DEFAULT_NSS_UID_MAX;
	}
	if (c->nss_home == NULL)
		c->nss_home = strdup("/home/%u");
	if (c->nss_shell == NULL)
		c->nss_shell = strdup("/bin/bash");
	if (c->nss_group_name == NULL)
		c->nss_group_name = strdup("okta-%g");
	if (c->nss_keys_user == NULL)
		c->nss_keys_user = strdup("okta-jit-keys");
	if (c->nss_cache == NULL)
		c->nss_cache = strdup(OJIT_DEFAULT_NSS_CACHE);
	if (c->web_session_max == 0)
		c->web_session_max = OJIT_DEFAULT_WEB_SESSION_MAX;
	if (c->web_socket == NULL)
		c->web_socket = strdup(OJIT_DEFAULT_WEB_SOCKET);
	if (c->web_session_idle == 0)
		c->web_session_idle = OJIT_DEFAULT_WEB_SESSION_IDLE;
	/* Idle sign-out never outlives the sign-in itself. */
	if (c->web_session_idle > c->web_session_max)
		c->web_session_idle = c->web_session_max;
	if (c->web_max_sessions == 0)
		c->web_max_sessions = OJIT_DEFAULT_WEB_MAX_SESSIONS;
}

int config_load(const char *path, struct ojit_config **out, struct ojit_buf *errors)
{
	struct parse_state st;
	struct ojit_config *c;
	int r;

	*out = NULL;
	memset(&st, 0, sizeof(st));
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -1;
	c->path = strdup(path);
	c->flows = calloc(CONFIG_MAX_FLOWS, sizeof(*c->flows));
	if (c->path == NULL || c->flows == NULL) {
		config_free(c);
		return -1;
	}
	st.cfg = c;
	st.errors = errors;
	st.fp = fopen(path, "re");
	if (st.fp == NULL) {
		ojit_buf_printf(errors, "%s: cannot open: %s\n", path, strerror(errno));
		config_free(c);
		return -1;
	}
	/* Values such as access_details may contain ';' and be long, and a
	 * continued line would hide where a mistake is. */
	ini_allow_inline_comments = false;
	ini_allow_multiline = false;
	ini_use_stack = false;
	ini_max_line = CONFIG_LINE_MAX;
	/* Debian's build sizes the heap line buffer from ini_initial_alloc
	 * and does not grow it. */
	ini_initial_alloc = CONFIG_LINE_MAX;
	r = ini_parse_stream(counting_reader, &st, handler, &st);
	fclose(st.fp);
	for (size_t i = 0; i < st.nseen; i++)
		free(st.seen[i]);
	free(st.seen);
	if (r > 0 && st.nerrors == 0)
		add_error(&st, r, NULL, NULL,
			  "syntax error (expected [section], key = value, or a comment)");
	else if (r < 0 && st.nerrors == 0)
		add_error(&st, 0, NULL, NULL, "cannot parse (out of memory)");
	if (st.nerrors == 0)
		check_required(&st);
	if (st.nerrors == 0)
		derive_pam_socket(&st);
	if (st.nerrors == 0)
		check_web_socket(&st);
	if (st.nerrors != 0) {
		config_free(c);
		return -1;
	}
	apply_defaults(c);
	*out = c;
	return 0;
}

static void free_list(char **l, size_t n)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < n; i++)
		free(l[i]);
	free(l);
}

void config_free(struct ojit_config *c)
{
	size_t i;

	if (c == NULL)
		return;
	free(c->path);
	free(c->org_url);
	free(c->client_id);
	free(c->private_key);
	free(c->key_id);
	free(c->next_private_key);
	free(c->next_key_id);
	free(c->tpm2_tcti);
	free(c->ca_file);
	free(c->name);
	free(c->access_details);
	free(c->owner);
	free(c->login_format);
	free(c->socket);
	free(c->pam_socket);
	free(c->ledger);
	free(c->ledger_password_file);
	free(c->metrics_file);
	free_list(c->snapshot_groups, c->nsnapshot_groups);
	free(c->fleet_signing_key);
	free_list(c->fleet_verify_keys, c->nfleet_verify_keys);
	free(c->nss_uid_attribute);
	free(c->nss_gecos_attribute);
	free(c->nss_keys_attribute);
	free(c->nss_home);
	free(c->nss_shell);
	free_list(c->nss_groups, c->nnss_groups);
	free(c->nss_group_name);
	free(c->nss_keys_user);
	free(c->nss_cache);
	free(c->web_client_id);
	free(c->web_socket);
	free(c->web_url);
	free(c->web_listen);
	free(c->web_client_secret_file);
	free(c->web_private_key);
	free(c->web_tls_cert);
	free(c->web_tls_key);
	free(c->web_trusted_proxy);
	for (i = 0; i < c->nnotify; i++) {
		free(c->notify[i].name);
		free(c->notify[i].url);
		free(c->notify[i].secret_file);
		free(c->notify[i].ca_file);
	}
	if (c->flows != NULL) {
		for (i = 0; i < c->nflows; i++) {
			free(c->flows[i].name);
			free_list(c->flows[i].groups, c->flows[i].ngroups);
			free_list(c->flows[i].requesters, c->flows[i].nrequesters);
			free_list(c->flows[i].standing_groups, c->flows[i].nstanding_groups);
			free_list(c->flows[i].standing_users, c->flows[i].nstanding_users);
		}
		free(c->flows);
	}
	free(c);
}
