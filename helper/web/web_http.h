/* web_http.h - the pure parts of reading a request: cookies, forms, the
 * Origin/Referer check, X-Forwarded-* from the trusted proxy, constant-time
 * comparison. No I/O here; tests/unit/web/test_web.c covers each. */
#ifndef OJIT_WEB_HTTP_H
#define OJIT_WEB_HTTP_H

#include <stddef.h>

#include "util.h"

/* Bodies over this are refused with 413 before they are read whole. */
#define WEB_FORM_MAX 16384
#define WEB_FORM_MAX_FIELDS 32

/* 1 when a and b are the same string. The time taken depends on the
 * lengths only, never on where the first difference is (CSRF tokens,
 * session ids, OIDC state). NULL never matches. */
int web_ct_streq(const char *a, const char *b);

/* Find cookie `name` in a Cookie header. Returns 1 with its value in out,
 * 0 when absent, -1 when the header is malformed, the value does not fit
 * in n, or the name appears twice (a cookie tossed in from a sibling
 * domain beside ours: we cannot tell which is ours, so neither counts). */
int web_cookie_get(const char *header, const char *name, char *out, size_t n);

/* An application/x-www-form-urlencoded body, decoded. */
struct web_form_field {
	char *key, *val;
};
struct web_form {
	size_t n;
	struct web_form_field f[WEB_FORM_MAX_FIELDS];
	char *buf; /* owned: every key and value points into it */
};
enum {
	WEB_FORM_ETOOBIG = -1, /* over WEB_FORM_MAX bytes */
	WEB_FORM_EBAD = -2,    /* bad escape, NUL, too many fields, a key twice */
	WEB_FORM_ENOMEM = -3,
};
int web_form_parse(struct web_form *f, const char *body, size_t len);
/* The value of key, or NULL. */
const char *web_form_get(const struct web_form *f, const char *key);
void web_form_free(struct web_form *f);

/* Append s percent-encoded for a query string (unreserved bytes kept). */
int web_url_encode(struct ojit_buf *b, const char *s);

/* "scheme://host[:port]" of an absolute http(s) URL, lower-cased scheme
 * and host. 0, or -1 when url is not one. */
int web_origin_of(const char *url, char *out, size_t n);

/* The cross-site check of every POST: the Origin header, when present,
 * must be expected (the origin of [web] url) exactly; without one, the
 * Referer must be expected followed by '/'. Neither: refused (browsers
 * send at least one on a form POST; a request with neither is not from
 * our page). 1 allowed, 0 refused. */
int web_origin_ok(const char *origin, const char *referer, const char *expected);

/* Who is asking and over what. peer: the TCP peer's address (text);
 * trusted_proxy: [web] trusted_proxy or NULL. Only when peer is the
 * trusted proxy are X-Forwarded-For (its last entry, the one that proxy
 * appended) and X-Forwarded-Proto ("http"/"https") taken; otherwise they
 * are ignored. *https_out: 1 https (our own TLS, or the proxy says so), 0
 * http (the proxy says so), -1 not known (plain HTTP from anyone else).
 * Returns 0, or -1 when the trusted proxy sent a malformed header
 * (refused: the proxy is ours and broken). */
int web_client_info(const char *peer, const char *trusted_proxy, const char *xff, const char *xfp,
		    int tls, char *ip_out, size_t n, int *https_out);

/* 1 when p is a local path we may redirect to after sign-in: starts with
 * one '/', not "//" or "/\", printable ASCII, at most 256 bytes. */
int web_safe_path(const char *p);

#endif
