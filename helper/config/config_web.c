/* config_web.c - the [web] rules (issue 19) that okta-jitd's config_load
 * and okta-jit-web share. okta-jit-web reads the file through config_load
 * too, so one reader decides what [web] may hold; the web service adds
 * only that url must be set (config_web_check's need_url). */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

int config_web_is_loopback(const char *host)
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

/* HOST of HOST[:PORT] or [V6]:PORT in out (brackets dropped); -1 when
 * the shape is wrong. port is 0 when none is given. */
static int split_host_port(const char *hp, size_t len, char *out, size_t n, int *port)
{
	const char *colon = NULL, *h = hp;
	size_t hl;

	*port = 0;
	if (len > 0 && hp[0] == '[') {
		const char *rb = memchr(hp, ']', len);

		if (rb == NULL)
			return -1;
		h = hp + 1;
		hl = (size_t)(rb - h);
		if (rb + 1 < hp + len) {
			if (rb[1] != ':')
				return -1;
			colon = rb + 1;
		}
	} else {
		colon = memchr(hp, ':', len);
		hl = colon != NULL ? (size_t)(colon - hp) : len;
	}
	if (hl == 0 || hl >= n)
		return -1;
	memcpy(out, h, hl);
	out[hl] = '\0';
	if (colon != NULL) {
		const char *p = colon + 1, *end = hp + len;
		long v = 0;

		if (p == end || end - p > 5)
			return -1;
		for (; p < end; p++) {
			if (!isdigit((unsigned char)*p))
				return -1;
			v = v * 10 + (*p - '0');
		}
		if (v < 1 || v > 65535)
			return -1;
		*port = (int)v;
	}
	return 0;
}

int config_check_web_url(const char *url, const char **why)
{
	const char *host, *p;
	char name[256];
	size_t hostlen;
	int port, plain = 0;

	if (strncmp(url, "https://", 8) == 0)
		host = url + 8;
	else if (strncmp(url, "http://", 7) == 0) {
		host = url + 7;
		plain = 1;
	} else {
		*why = "must start with https:// (http:// only for a loopback test)";
		return -1;
	}
	hostlen = strcspn(host, "/?#");
	for (p = host; p < host + hostlen; p++) {
		/* Lower case: browsers send the Origin in lower case, and the
		 * web service compares it with this url as written. */
		if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '-' || *p == '.' ||
		      *p == ':' || *p == '[' || *p == ']')) {
			*why = "host has a character that is not allowed (upper case, user info, spaces or non-ASCII)";
			return -1;
		}
	}
	if (split_host_port(host, hostlen, name, sizeof(name), &port) != 0) {
		*why = "want https://HOST or https://HOST:PORT";
		return -1;
	}
	p = host + hostlen;
	if (!(*p == '\0' || (*p == '/' && p[1] == '\0'))) {
		/* Pages under a path prefix would need every link rewritten:
		 * not offered; the service owns its host name. */
		*why = "must be just the address, with no path, query or fragment (e.g. https://jit.example.com)";
		return -1;
	}
	if (plain && !config_web_is_loopback(name)) {
		*why = "http:// only for a loopback host (a test on this host); people need https://";
		return -1;
	}
	return 0;
}

int config_web_listen_split(const char *listen, char *host, size_t n, int *port)
{
	if (split_host_port(listen, strlen(listen), host, n, port) != 0 || *port == 0)
		return -1;
	/* A bare v6 address needs its brackets (else its colons are ambiguous). */
	if (listen[0] != '[' && strchr(host, ':') != NULL)
		return -1;
	return 0;
}

static void web_error(const struct ojit_config *c, int line, const char *key, const char *msg, int *n,
		      struct ojit_buf *errors)
{
	(*n)++;
	if (line > 0)
		ojit_buf_printf(errors, "%s:%d: [web] %s: %s\n", c->path, line, key, msg);
	else
		ojit_buf_printf(errors, "%s: [web] %s: %s\n", c->path, key, msg);
}

int config_web_check(const struct ojit_config *c, int need_url, struct ojit_buf *errors)
{
	int tls = c->web_tls_cert != NULL || c->web_tls_key != NULL;
	char host[256];
	int port, n = 0;

	if (c->web_line == 0) {
		if (need_url)
			web_error(c, 0, "url", "required: a [web] section with url and client_id (man okta-jit-web(8))",
				  &n, errors);
		return n;
	}
	if (need_url && c->web_url == NULL)
		web_error(c, c->web_line, "url", "required key missing (the https:// address people open)", &n, errors);
	if ((c->web_tls_cert == NULL) != (c->web_tls_key == NULL))
		web_error(c, c->web_tls_line, c->web_tls_cert == NULL ? "tls_cert" : "tls_key",
			  "give tls_cert and tls_key both, or neither (behind a proxy)", &n, errors);
	/* Without TLS of its own the service speaks plain HTTP: only on
	 * loopback, for a reverse proxy on the same host. */
	if (c->web_listen != NULL && !tls &&
	    config_web_listen_split(c->web_listen, host, sizeof(host), &port) == 0 && !config_web_is_loopback(host))
		web_error(c, c->web_listen_line, "listen",
			  "plain HTTP only on a loopback address (behind a proxy); set tls_cert and tls_key to listen "
			  "on another", &n, errors);
	/* An http:// url: browsers talk plain HTTP to the service, so it
	 * must not also serve TLS (the cookies could not be Secure). */
	if (c->web_url != NULL && strncmp(c->web_url, "http://", 7) == 0 && tls)
		web_error(c, c->web_url_line, "url", "http:// only for a loopback test without TLS", &n, errors);
	return n;
}
