/* config_check.c - checks of single configuration values: Okta's org
 * URL, integration and group names, login_format, and a PostgreSQL
 * ledger's URI (no password in it; TLS that verifies the server unless
 * the database is on loopback or a Unix socket). config.c calls them on
 * the values it reads; okta-jit doctor uses the public ones too. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"

int config_check_org_url(const char *url, const char **why)
{
	const char *host, *p;
	size_t hostlen;

	if (strncmp(url, "https://", 8) != 0) {
		*why = "must start with https:// (plain http is never allowed)";
		return -1;
	}
	host = url + 8;
	hostlen = strcspn(host, "/?#");
	if (hostlen == 0) {
		*why = "has no host name";
		return -1;
	}
	for (p = host; p < host + hostlen; p++) {
		if (!(isalnum((unsigned char)*p) || *p == '-' || *p == '.' || *p == ':' ||
		      *p == '[' || *p == ']')) {
			*why = "host name has a character that is not allowed (user info, spaces or non-ASCII)";
			return -1;
		}
	}
	p = host + hostlen;
	if (*p == '/' && p[1] == '\0')
		return 0; /* a single trailing slash is tolerated and dropped */
	if (*p != '\0') {
		*why = "must be just the org address, with no path, query or fragment (e.g. https://example.okta.com)";
		return -1;
	}
	return 0;
}

int config_check_name(const char *name, const char **why)
{
	size_t len = strlen(name), i;

	if (len == 0 || len > CONFIG_NAME_MAX) {
		*why = "must be 1-64 characters";
		return -1;
	}
	for (i = 0; i < len; i++) {
		if (!(isalnum((unsigned char)name[i]) || name[i] == '-')) {
			*why = "may contain only letters, digits and dashes";
			return -1;
		}
	}
	return 0;
}

int config_check_login_format(const char *fmt, const char **why)
{
	int users = 0;
	const char *p;

	for (p = fmt; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x21 || *p == 0x7f || *p == '"' || *p == '\\') {
			*why = "may not contain spaces, quotes, backslashes or control characters";
			return -1;
		}
		if (*p != '%')
			continue;
		p++;
		if (*p == 'u')
			users++;
		else if (*p != '%') {
			*why = "only %u (the local user name) and %% are allowed";
			return -1;
		}
	}
	if (users != 1) {
		*why = "must contain %u exactly once";
		return -1;
	}
	if (strlen(fmt) > 200) {
		*why = "too long (at most 200 characters)";
		return -1;
	}
	return 0;
}

/* A password inside a postgresql:// URI: userinfo with a ':' or a
 * password parameter, however percent-encoded. */
int config_uri_has_password(const char *uri)
{
	const char *rest = strstr(uri, "://");
	const char *at, *slash, *colon;
	char decoded[CONFIG_LINE_MAX];
	size_t i, n = 0;

	for (i = 0; uri[i] != '\0' && n + 1 < sizeof(decoded); i++) {
		if (uri[i] == '%' && isxdigit((unsigned char)uri[i + 1]) && isxdigit((unsigned char)uri[i + 2])) {
			char hex[3] = { uri[i + 1], uri[i + 2], '\0' };

			decoded[n++] = (char)tolower((int)strtol(hex, NULL, 16));
			i += 2;
		} else {
			decoded[n++] = (char)tolower((unsigned char)uri[i]);
		}
	}
	decoded[n] = '\0';
	if (strstr(decoded, "password") != NULL)
		return 1;
	if (rest == NULL)
		return 0;
	rest += 3;
	slash = strchr(rest, '/');
	at = strchr(rest, '@');
	if (at == NULL || (slash != NULL && at > slash))
		return 0;
	colon = memchr(rest, ':', (size_t)(at - rest));
	return colon != NULL;
}

/* One host of a libpq host or hostaddr list: a Unix socket folder or the
 * loopback interface, where no one on the network sits in between. */
static int pg_host_is_local(const char *h, size_t len)
{
	char buf[64];
	unsigned char a[16];
	static const unsigned char v6_loopback[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };

	if (len == 0)
		return 1; /* libpq's default: the Unix socket */
	if (h[0] == '/' || h[0] == '@')
		return 1;
	if (len >= sizeof(buf))
		return 0;
	memcpy(buf, h, len);
	buf[len] = '\0';
	if (strcasecmp(buf, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, buf, a) == 1)
		return a[0] == 127;
	if (inet_pton(AF_INET6, buf, a) == 1)
		return memcmp(a, v6_loopback, 16) == 0;
	return 0;
}

/* Is every host of a comma-separated list local? */
static int pg_hosts_are_local(const char *list, const char **bad, size_t *badlen)
{
	const char *p = list;

	for (;;) {
		const char *c = strchr(p, ',');
		size_t len = c != NULL ? (size_t)(c - p) : strlen(p);

		if (!pg_host_is_local(p, len)) {
			*bad = p;
			*badlen = len;
			return 0;
		}
		if (c == NULL)
			return 1;
		p = c + 1;
	}
}

/* The fleet's database connection carries the ledger every grant and
 * check trusts, and the password: anything short of sslmode=verify-full
 * (libpq's default is prefer) lets a man in the middle read or change it.
 * Only a loopback host or a Unix socket may go without. What libpq would
 * take from PG* variables counts too. 0, or -1 with the reason in why. */
int config_pg_transport_ok(const char *uri, char *why, size_t n)
{
	PQconninfoOption *opts, *o;
	const char *host = NULL, *hostaddr = NULL, *sslmode = NULL, *requiressl = NULL, *bad = NULL;
	char *msg = NULL;
	size_t badlen = 0;
	int r = -1;

	opts = PQconninfoParse(uri, &msg);
	if (opts == NULL) {
		PQfreemem(msg);
		snprintf(why, n, "is not a valid PostgreSQL connection URI");
		return -1;
	}
	for (o = opts; o->keyword != NULL; o++) {
		if (o->val == NULL || o->val[0] == '\0')
			continue;
		if (strcmp(o->keyword, "host") == 0)
			host = o->val;
		else if (strcmp(o->keyword, "hostaddr") == 0)
			hostaddr = o->val;
		else if (strcmp(o->keyword, "sslmode") == 0)
			sslmode = o->val;
		else if (strcmp(o->keyword, "requiressl") == 0)
			requiressl = o->val;
	}
	if (host == NULL)
		host = getenv("PGHOST");
	if (hostaddr == NULL)
		hostaddr = getenv("PGHOSTADDR");
	if (sslmode == NULL)
		sslmode = getenv("PGSSLMODE");
	if (sslmode == NULL)
		sslmode = requiressl != NULL && strcmp(requiressl, "1") == 0 ? "require" : "prefer";
	if (strcmp(sslmode, "verify-full") == 0) {
		r = 0;
		goto out;
	}
	/* With hostaddr, libpq connects there and host only names it. */
	if (hostaddr != NULL && hostaddr[0] != '\0' ? pg_hosts_are_local(hostaddr, &bad, &badlen)
						 : pg_hosts_are_local(host != NULL ? host : "", &bad, &badlen)) {
		r = 0;
		goto out;
	}
	snprintf(why, n,
		 "connects to %.*s with sslmode=%s; a database that is not on loopback or a Unix socket needs "
		 "sslmode=verify-full (and sslrootcert=...), or a man in the middle can read and change the ledger",
		 (int)(badlen > 200 ? 200 : badlen), bad != NULL ? bad : "?", sslmode);
out:
	PQconninfoFree(opts);
	return r;
}

/* Key specs (issue 21). */
static int valid_credential_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 255 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return 0;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

/* A persistent handle is 0x81 followed by six hex digits (TPM 2.0 part 1,
 * 29.3: the persistent range). */
static int valid_handle(const char *s)
{
	size_t i;

	if (strncmp(s, "0x81", 4) != 0 || strlen(s) != 10)
		return 0;
	for (i = 4; i < 10; i++)
		if (strchr("0123456789abcdefABCDEF", s[i]) == NULL)
			return 0;
	return 1;
}

int config_check_key_spec(const char *spec, char *err, size_t errlen)
{
	static const char forms[] =
	    "use an absolute path to a PEM key file, tpm2:handle:0x81XXXXXX (a persistent TPM key), "
	    "tpm2:/path/key.tss2 (a TPM key file), pkcs11:URI or credential:NAME (a systemd credential)";

	if (strlen(spec) >= CONFIG_KEY_SPEC_MAX) {
		snprintf(err, errlen, "longer than %d characters", CONFIG_KEY_SPEC_MAX - 1);
		return -1;
	}
	if (spec[0] == '/')
		return 0;
	if (strncmp(spec, "tpm2:", 5) == 0) {
		const char *r = spec + 5;

		if (r[0] == '/' || (strncmp(r, "handle:", 7) == 0 && valid_handle(r + 7)))
			return 0;
		snprintf(err, errlen, "'%s' names no TPM key: use tpm2:handle:0x81XXXXXX or tpm2:/path/key.tss2", spec);
		return -1;
	}
	if (strncmp(spec, "pkcs11:", 7) == 0) {
		if (spec[7] == '\0' || strpbrk(spec, " \t\"\\") != NULL) {
			snprintf(err, errlen, "'%s' is not a PKCS#11 URI (RFC 7512: pkcs11:token=...;object=...)", spec);
			return -1;
		}
		return 0;
	}
	if (strncmp(spec, "credential:", 11) == 0) {
		if (!valid_credential_name(spec + 11)) {
			snprintf(err, errlen, "'%s': a credential name is 1-255 of A-Z a-z 0-9 _ . -", spec);
			return -1;
		}
		return 0;
	}
	snprintf(err, errlen, "'%s' is not a key: %s", spec, forms);
	return -1;
}
