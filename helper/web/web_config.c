/* web_config.c - the [web] section and what the pages need of the rest. */
#include "web_config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "duration.h"
#include "util.h"
#include "web_http.h"

struct web_parse {
	struct web_config *cfg;
	FILE *fp;
	const char *path;
	int line;
	struct ojit_buf *err;
	struct web_flow *flow; /* the [flow NAME] being read */
};

static void perr(struct web_parse *st, const char *section, const char *key, const char *msg)
{
	ojit_buf_printf(st->err, "%s:%d: [%s] %s: %s\n", st->path, st->line, section, key, msg);
}

static char *web_reader(char *str, int num, void *stream)
{
	struct web_parse *st = stream;
	char *r = fgets(str, num, st->fp);

	if (r != NULL)
		st->line++;
	return r;
}

int web_config_is_loopback(const char *host)
{
	unsigned char a[16];

	if (strcasecmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, a) == 1)
		return a[0] == 127;
	if (inet_pton(AF_INET6, host, a) == 1)
		return memcmp(a, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16) == 0;
	return 0;
}

static int set_str(struct web_parse *st, const char *section, const char *key, const char *value, char *dst,
		   size_t n)
{
	if (ojit_strlcpy(dst, value, n) != 0) {
		perr(st, section, key, "too long");
		return -1;
	}
	return 0;
}

static int set_duration(struct web_parse *st, const char *section, const char *key, const char *value,
			int64_t *dst)
{
	const char *why = NULL;

	if (duration_parse(value, dst, &why) != 0) {
		perr(st, section, key, why != NULL ? why : "not a duration");
		return -1;
	}
	return 0;
}

static int parse_listen(struct web_parse *st, const char *value)
{
	struct web_config *cfg = st->cfg;
	const char *colon;
	int64_t port;
	size_t hl;

	if (value[0] == '[') { /* [v6]:port */
		const char *rb = strchr(value, ']');

		if (rb == NULL || rb[1] != ':')
			goto bad;
		hl = (size_t)(rb - value - 1);
		if (hl == 0 || hl >= sizeof(cfg->listen_host))
			goto bad;
		memcpy(cfg->listen_host, value + 1, hl);
		colon = rb + 1;
	} else {
		colon = strrchr(value, ':');
		if (colon == NULL)
			goto bad;
		hl = (size_t)(colon - value);
		if (hl == 0 || hl >= sizeof(cfg->listen_host) || memchr(value, ':', hl) != NULL)
			goto bad;
		memcpy(cfg->listen_host, value, hl);
	}
	cfg->listen_host[hl] = '\0';
	if (ojit_parse_int64(colon + 1, 1, 65535, &port) != 0)
		goto bad;
	cfg->listen_port = (int)port;
	return 0;
bad:
	perr(st, "web", "listen", "want HOST:PORT or [V6ADDR]:PORT");
	return -1;
}

static int web_key(struct web_parse *st, const char *key, const char *value)
{
	struct web_config *cfg = st->cfg;
	unsigned char ip[16];

	if (strcmp(key, "url") == 0) {
		size_t len;

		if (set_str(st, "web", key, value, cfg->url, sizeof(cfg->url)) != 0)
			return -1;
		len = strlen(cfg->url);
		while (len > 0 && cfg->url[len - 1] == '/')
			cfg->url[--len] = '\0';
		if (web_origin_of(cfg->url, cfg->origin, sizeof(cfg->origin)) != 0 ||
		    strcmp(cfg->origin, cfg->url) != 0) {
			/* Paths under a prefix would need every link rewritten:
			 * not offered; the service owns its host name. */
			perr(st, "web", key, "want https://HOST[:PORT] (no path)");
			return -1;
		}
		return 0;
	}
	if (strcmp(key, "client_id") == 0)
		return set_str(st, "web", key, value, cfg->client_id, sizeof(cfg->client_id));
	if (strcmp(key, "client_secret_file") == 0)
		return set_str(st, "web", key, value, cfg->client_secret_file, sizeof(cfg->client_secret_file));
	if (strcmp(key, "listen") == 0)
		return parse_listen(st, value);
	if (strcmp(key, "tls_cert") == 0)
		return set_str(st, "web", key, value, cfg->tls_cert, sizeof(cfg->tls_cert));
	if (strcmp(key, "tls_key") == 0)
		return set_str(st, "web", key, value, cfg->tls_key, sizeof(cfg->tls_key));
	if (strcmp(key, "trusted_proxy") == 0) {
		if (inet_pton(AF_INET, value, ip) != 1 && inet_pton(AF_INET6, value, ip) != 1) {
			perr(st, "web", key, "want one IP address");
			return -1;
		}
		return set_str(st, "web", key, value, cfg->trusted_proxy, sizeof(cfg->trusted_proxy));
	}
	if (strcmp(key, "socket") == 0) {
		if (value[0] != '/') {
			perr(st, "web", key, "want an absolute path");
			return -1;
		}
		return set_str(st, "web", key, value, cfg->socket, sizeof(cfg->socket));
	}
	if (strcmp(key, "session_max") == 0)
		return set_duration(st, "web", key, value, &cfg->session_max);
	if (strcmp(key, "session_idle") == 0)
		return set_duration(st, "web", key, value, &cfg->session_idle);
	if (strcmp(key, "max_sessions") == 0) {
		int64_t v;

		if (ojit_parse_int64(value, 16, 1000000, &v) != 0) {
			perr(st, "web", key, "want a number from 16 to 1000000");
			return -1;
		}
		cfg->max_sessions = (size_t)v;
		return 0;
	}
	perr(st, "web", key, "unknown key");
	return -1;
}

static int flow_key(struct web_parse *st, const char *section, const char *key, const char *value)
{
	struct web_flow *f = st->flow;

	if (f == NULL)
		return 0;
	if (strcmp(key, "groups") == 0)
		return set_str(st, section, key, value, f->groups, sizeof(f->groups));
	if (strcmp(key, "default_duration") == 0)
		return set_duration(st, section, key, value, &f->default_duration);
	if (strcmp(key, "max_duration") == 0)
		return set_duration(st, section, key, value, &f->max_duration);
	if (strcmp(key, "reason") == 0)
		f->reason_required = strcmp(value, "required") == 0;
	return 0;
}

static int web_handler(void *user, const char *section, const char *key, const char *value)
{
	struct web_parse *st = user;
	struct web_config *cfg = st->cfg;

	if (strcmp(section, "web") == 0)
		return web_key(st, key, value) == 0 ? 1 : 0;
	if (strcmp(section, "okta") == 0 && strcmp(key, "org_url") == 0) {
		size_t len;

		if (set_str(st, section, key, value, cfg->org_url, sizeof(cfg->org_url)) != 0)
			return 0;
		/* The ID token's iss is the org URL without a trailing '/'. */
		len = strlen(cfg->org_url);
		while (len > 0 && cfg->org_url[len - 1] == '/')
			cfg->org_url[--len] = '\0';
		return 1;
	}
	if (strcmp(section, "okta") == 0 && strcmp(key, "ca_file") == 0)
		return set_str(st, section, key, value, cfg->ca_file, sizeof(cfg->ca_file)) == 0;
	if (strcmp(section, "integration") == 0 && strcmp(key, "access_details") == 0)
		return set_str(st, section, key, value, cfg->access_details, sizeof(cfg->access_details)) == 0;
	if (strncmp(section, "flow ", 5) == 0) {
		const char *name = section + 5;

		if (st->flow == NULL || strcmp(st->flow->name, name) != 0) {
			size_t i;

			st->flow = NULL;
			for (i = 0; i < cfg->nflows; i++)
				if (strcmp(cfg->flows[i].name, name) == 0)
					st->flow = &cfg->flows[i];
			if (st->flow == NULL) {
				if (cfg->nflows == WEB_MAX_FLOWS) {
					perr(st, section, key, "too many flows for the web pages");
					return 0;
				}
				st->flow = &cfg->flows[cfg->nflows++];
				if (set_str(st, section, "name", name, st->flow->name, sizeof(st->flow->name)) != 0)
					return 0;
			}
		}
		return flow_key(st, section, key, value) == 0;
	}
	return 1;
}

static void web_config_check(struct web_parse *st)
{
	struct web_config *cfg = st->cfg;
	int tls = cfg->tls_cert[0] != '\0' || cfg->tls_key[0] != '\0';

	st->line = 0;
	if (strncmp(cfg->org_url, "https://", 8) != 0)
		ojit_buf_printf(st->err, "%s: [okta] org_url: required, https://\n", st->path);
	if (cfg->url[0] == '\0')
		ojit_buf_printf(st->err, "%s: [web] url: required (the address people open)\n", st->path);
	if (cfg->client_id[0] == '\0')
		ojit_buf_printf(st->err, "%s: [web] client_id: required (the Okta Web app's)\n", st->path);
	if ((cfg->tls_cert[0] == '\0') != (cfg->tls_key[0] == '\0'))
		ojit_buf_printf(st->err, "%s: [web] tls_cert, tls_key: give both or neither\n", st->path);
	/* Without TLS of its own the service speaks plain HTTP: only on
	 * loopback, for a reverse proxy on the same host. */
	if (!tls && !web_config_is_loopback(cfg->listen_host))
		ojit_buf_printf(st->err, "%s: [web] listen: plain HTTP only on a loopback address "
					 "(behind a proxy); set tls_cert and tls_key to listen on %s\n",
				st->path, cfg->listen_host);
	if (strncmp(cfg->url, "http://", 7) == 0) {
		/* An http:// url means browsers talk plain HTTP to us: only
		 * for a test on this host, and then the cookie cannot be
		 * Secure (browsers drop Secure cookies over http). */
		char host[256];
		const char *h = cfg->url + 7;
		size_t hl = strcspn(h, ":/");

		if (hl >= sizeof(host))
			hl = sizeof(host) - 1;
		memcpy(host, h, hl);
		host[hl] = '\0';
		if (!web_config_is_loopback(host) || tls)
			ojit_buf_printf(st->err, "%s: [web] url: http:// only for a loopback test without TLS\n",
					st->path);
		cfg->secure_cookie = 0;
	}
	if (cfg->session_idle > cfg->session_max)
		cfg->session_idle = cfg->session_max;
}

int web_config_load(const char *path, struct web_config *cfg, char *err, size_t errlen)
{
	struct ojit_buf eb;
	struct web_parse st;
	int r, rc = -1;

	memset(cfg, 0, sizeof(*cfg));
	ojit_strlcpy(cfg->socket, WEB_DEFAULT_SOCKET, sizeof(cfg->socket));
	ojit_strlcpy(cfg->listen_host, "127.0.0.1", sizeof(cfg->listen_host));
	cfg->listen_port = 8080;
	cfg->session_max = 3600;
	cfg->session_idle = 900;
	cfg->max_sessions = 4096;
	cfg->secure_cookie = 1;
	ojit_buf_init(&eb, 8192);
	memset(&st, 0, sizeof(st));
	st.cfg = cfg;
	st.path = path;
	st.err = &eb;
	st.fp = fopen(path, "re");
	if (st.fp == NULL) {
		ojit_snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	r = ini_parse_stream(web_reader, &st, web_handler, &st);
	if (r < 0)
		ojit_buf_printf(&eb, "%s: cannot read\n", path);
	else if (r > 0 && eb.len == 0)
		ojit_buf_printf(&eb, "%s:%d: syntax error\n", path, r);
	if (eb.len == 0)
		web_config_check(&st);
	if (eb.len > 0 || eb.overflow) {
		ojit_strlcpy(err, eb.data != NULL ? eb.data : "config errors", errlen);
		goto out;
	}
	rc = 0;
out:
	if (st.fp != NULL)
		fclose(st.fp);
	ojit_buf_free(&eb);
	return rc;
}

int web_config_read_secret(const char *path, char *out, size_t n, char *err, size_t errlen)
{
	struct stat sb;
	ssize_t got;
	size_t len;
	int fd, rc = -1;

	out[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		ojit_snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || (sb.st_mode & 077) != 0) {
		ojit_snprintf(err, errlen, "%s: must be a regular file with no group or other permissions", path);
		goto out;
	}
	got = read(fd, out, n - 1);
	if (got < 0 || (size_t)got == n - 1) {
		ojit_snprintf(err, errlen, "%s: unreadable or too long", path);
		goto out;
	}
	out[got] = '\0';
	len = strcspn(out, "\r\n");
	out[len] = '\0';
	if (len == 0) {
		ojit_snprintf(err, errlen, "%s: empty", path);
		goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		ojit_wipe(out, n);
	close(fd);
	return rc;
}
