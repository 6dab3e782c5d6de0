/* web_config.h - what okta-jit-web takes of /etc/okta-jit/okta-jit.conf:
 * [web] (its own section), [okta] org_url and ca_file, [integration]
 * access_details. The request page's flows come from okta-jitd (FLOWS:
 * those the signed-in user may request), not from here. The file is read
 * and checked in full by the config layer's config_load, the same reader
 * as okta-jitd's (issue 19): errors name the file, line and key. */
#ifndef OJIT_WEB_CONFIG_H
#define OJIT_WEB_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define WEB_DEFAULT_SOCKET "/run/okta-jit/web.sock"
#define WEB_DEFAULT_LISTEN "127.0.0.1:8080"

struct web_config {
	char org_url[256];
	char ca_file[512];
	char access_details[512];
	char url[256];      /* [web] url: the public address, no trailing '/' */
	char origin[256];   /* scheme://host[:port] of url */
	char client_id[128];
	char client_secret_file[512];
	char listen_host[64];
	int listen_port;
	char tls_cert[512], tls_key[512];
	char trusted_proxy[64];
	char socket[108];
	int64_t session_max;  /* absolute session life (and okta-jitd's iat bound) */
	int64_t session_idle;
	size_t max_sessions;
	int secure_cookie;    /* 0 only when url is http:// on loopback */
};

/* Read and check path. 0, or -1 with the reasons (one a line) in err. */
int web_config_load(const char *path, struct web_config *cfg, char *err, size_t errlen);

/* Read a secret file: a regular file, no group or other permission bits,
 * one line (trailing newline dropped), at most n - 1 bytes. */
int web_config_read_secret(const char *path, char *out, size_t n, char *err, size_t errlen);

#endif
