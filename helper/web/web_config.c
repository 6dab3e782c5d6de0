/* web_config.c - what okta-jit-web takes of /etc/okta-jit/okta-jit.conf.
 *
 * The file has one reader, the config layer's config_load (okta-jitd's):
 * every section and key is checked there, errors name the file, line and
 * key, and a file okta-jitd refuses the web service refuses too (and the
 * other way round, but for config_web_check's need_url: the web service
 * needs [web] url). This file copies what the pages need into struct
 * web_config, the web service's own view. */
#include "web_config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "util.h"
#include "web_http.h"

static int copy(struct ojit_buf *eb, const char *path, const char *what, const char *value, char *dst, size_t n)
{
	if (value == NULL)
		return 0;
	if (ojit_strlcpy(dst, value, n) != 0) {
		ojit_buf_printf(eb, "%s: %s: too long for the web service (at most %zu bytes)\n", path, what, n - 1);
		return -1;
	}
	return 0;
}

static int web_config_from(const struct ojit_config *c, struct web_config *cfg, struct ojit_buf *eb)
{
	const char *p = c->path;

	if (config_web_check(c, 1, eb) != 0)
		return -1;
	if (copy(eb, p, "[okta] org_url", c->org_url, cfg->org_url, sizeof(cfg->org_url)) != 0 ||
	    copy(eb, p, "[okta] ca_file", c->ca_file, cfg->ca_file, sizeof(cfg->ca_file)) != 0 ||
	    copy(eb, p, "[integration] access_details", c->access_details, cfg->access_details,
		 sizeof(cfg->access_details)) != 0 ||
	    copy(eb, p, "[web] url", c->web_url, cfg->url, sizeof(cfg->url)) != 0 ||
	    copy(eb, p, "[web] client_id", c->web_client_id, cfg->client_id, sizeof(cfg->client_id)) != 0 ||
	    copy(eb, p, "[web] client_secret_file", c->web_client_secret_file, cfg->client_secret_file,
		 sizeof(cfg->client_secret_file)) != 0 ||
	    copy(eb, p, "[web] tls_cert", c->web_tls_cert, cfg->tls_cert, sizeof(cfg->tls_cert)) != 0 ||
	    copy(eb, p, "[web] tls_key", c->web_tls_key, cfg->tls_key, sizeof(cfg->tls_key)) != 0 ||
	    copy(eb, p, "[web] trusted_proxy", c->web_trusted_proxy, cfg->trusted_proxy,
		 sizeof(cfg->trusted_proxy)) != 0 ||
	    copy(eb, p, "[web] socket", c->web_socket, cfg->socket, sizeof(cfg->socket)) != 0)
		return -1;
	if (c->web_listen != NULL &&
	    config_web_listen_split(c->web_listen, cfg->listen_host, sizeof(cfg->listen_host), &cfg->listen_port) != 0) {
		ojit_buf_printf(eb, "%s:%d: [web] listen: want HOST:PORT or [V6ADDR]:PORT\n", p, c->web_listen_line);
		return -1;
	}
	/* config_load's url check already wants scheme://host[:port]; the
	 * origin browsers send must be that url as written. */
	if (web_origin_of(cfg->url, cfg->origin, sizeof(cfg->origin)) != 0 || strcmp(cfg->origin, cfg->url) != 0) {
		ojit_buf_printf(eb, "%s:%d: [web] url: want https://HOST[:PORT] (no path)\n", p, c->web_url_line);
		return -1;
	}
	/* An http:// url (a loopback test, config_check_web_url): browsers
	 * drop Secure cookies over http, so the cookies cannot be Secure. */
	cfg->secure_cookie = strncmp(cfg->url, "http://", 7) != 0;
	cfg->session_max = c->web_session_max;
	cfg->session_idle = c->web_session_idle;
	cfg->max_sessions = (size_t)c->web_max_sessions;
	/* The request page asks okta-jitd which flows the user may request
	 * (FLOWS): the [flow] sections are not copied here. */
	return 0;
}

int web_config_load(const char *path, struct web_config *cfg, char *err, size_t errlen)
{
	struct ojit_config *c = NULL;
	struct ojit_buf eb;
	int rc = -1;

	memset(cfg, 0, sizeof(*cfg));
	ojit_strlcpy(cfg->listen_host, OJIT_DEFAULT_WEB_LISTEN_HOST, sizeof(cfg->listen_host));
	cfg->listen_port = OJIT_DEFAULT_WEB_LISTEN_PORT;
	ojit_buf_init(&eb, 8192);
	if (config_load(path, &c, &eb) != 0) {
		if (eb.len == 0)
			ojit_buf_printf(&eb, "%s: cannot load (out of memory)\n", path);
		goto out;
	}
	if (web_config_from(c, cfg, &eb) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		ojit_strlcpy(err, eb.data != NULL ? eb.data : "config errors", errlen);
	config_free(c);
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
