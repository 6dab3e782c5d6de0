/* okta_http.h - HTTPS transport to Okta over libcurl: one shared
 * connection and TLS session cache, verified TLS, bounded sizes and time. */
#ifndef OJIT_OKTA_HTTP_H
#define OJIT_OKTA_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define HTTP_MAX_BODY (4 * 1024 * 1024)
#define HTTP_MAX_URL 4096

struct okta_http;

struct http_request {
	const char *method;       /* GET, POST, PUT, DELETE */
	const char *url;
	const char *content_type; /* NULL for none */
	const char *body;         /* NULL: no body; PUT then sends Content-Length: 0 */
	size_t body_len;
	const char *authorization; /* full header value, e.g. "Bearer x"; secret */
	const char *dpop;          /* DPoP proof header value or NULL */
	const char *retry_for;     /* X-Okta-Retry-For value or NULL */
	int retry_count;           /* X-Okta-Retry-Count when > 0 */
};

struct http_response {
	long status;          /* 0 when no HTTP answer came */
	int curl_code;        /* CURLcode of the transfer */
	char curl_error[256]; /* libcurl's explanation when curl_code != 0 */
	int tls_error;        /* the failure was certificate verification */
	int timed_out;
	struct ojit_buf body; /* capped at HTTP_MAX_BODY; body.overflow set past it */
	char link_next[HTTP_MAX_URL];
	int has_next;
	int has_rate;
	int64_t rate_limit, rate_remaining, rate_reset;
	int64_t date; /* response Date header as epoch, 0 if absent */
	char request_id[128];
	char www_authenticate[1024];
	char dpop_nonce[512];
	char retry_after[32];
};

struct okta_http_options {
	const char *ca_file; /* extra trust anchor, may be NULL */
	long connect_timeout_ms;
	long timeout_ms;
	size_t max_body;
};

/* Call once per process before threads start. Also removes environment
 * variables that would make libcurl use a proxy or log TLS secrets. */
int okta_http_global_init(void);

struct okta_http *okta_http_new(const struct okta_http_options *opt);
void okta_http_free(struct okta_http *h);
/* on = 1: this thread keeps one libcurl handle for all its requests (any
 * okta_http); 0 frees it. For long-lived threads; call 0 before the thread
 * ends, and before the okta_http is freed. */
void okta_http_keep_handle(int on);
/* Shutdown: every transfer under way ends at once (libcurl's progress
 * callback aborts it) and later ones fail without connecting. */
void okta_http_abort(struct okta_http *h);
int okta_http_aborted(struct okta_http *h);
/* 0 once no okta_http_perform is under way, -1 if some still is after ms. */
int okta_http_wait_idle(struct okta_http *h, int ms);
/* Perform one request; never retries. Returns 0 when an HTTP answer came
 * (any status), -1 on transport failure (resp->curl_error says why). */
int okta_http_perform(struct okta_http *h, const struct http_request *req,
		      struct http_response *resp);
void http_response_init(struct http_response *r);
void http_response_free(struct http_response *r);

/* Find the rel="next" target in one Link header value. Returns 1 and fills
 * out when found, 0 when absent, -1 when malformed or too long. */
int http_link_next(const char *value, char *out, size_t n);

/* Percent-encode s for use as one URL path segment or query value
 * (RFC 3986 unreserved characters stay). */
int http_url_encode(const char *s, struct ojit_buf *out);

/* Parse an RFC 7231 IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"). */
int64_t http_parse_date(const char *s);

#endif
