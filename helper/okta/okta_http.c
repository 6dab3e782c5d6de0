/* okta_http.c - libcurl transport.
 *
 * One CURLSH per process shares the connection pool, TLS sessions and DNS
 * between threads, so a check does not pay a TLS handshake once the pool is
 * warm. Settings that libcurl would otherwise read from the environment
 * (proxies, SSLKEYLOGFILE) are neutralised: this runs as root with the
 * connector secret. */

#include "okta_http.h"

#include <ctype.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct okta_http {
	CURLSH *share;
	pthread_mutex_t locks[CURL_LOCK_DATA_LAST];
	char *ca_file;
	long connect_timeout_ms;
	long timeout_ms;
	size_t max_body;
	atomic_int aborting; /* set once, at shutdown */
	atomic_int inflight; /* okta_http_perform calls under way */
};

int okta_http_global_init(void)
{
	static const char *const unsafe_env[] = {
		"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
		"ALL_PROXY", "no_proxy", "NO_PROXY", "SSLKEYLOGFILE", "CURL_CA_BUNDLE",
		"SSL_CERT_FILE", "SSL_CERT_DIR", "CURL_HOME", "OPENSSL_CONF", NULL
	};
	size_t i;

	for (i = 0; unsafe_env[i] != NULL; i++)
		unsetenv(unsafe_env[i]);
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static void share_lock(CURL *handle, curl_lock_data data, curl_lock_access access, void *userp)
{
	struct okta_http *h = userp;

	(void)handle;
	(void)access;
	if (data >= 0 && data < CURL_LOCK_DATA_LAST)
		pthread_mutex_lock(&h->locks[data]);
}

static void share_unlock(CURL *handle, curl_lock_data data, void *userp)
{
	struct okta_http *h = userp;

	(void)handle;
	if (data >= 0 && data < CURL_LOCK_DATA_LAST)
		pthread_mutex_unlock(&h->locks[data]);
}

struct okta_http *okta_http_new(const struct okta_http_options *opt)
{
	struct okta_http *h = calloc(1, sizeof(*h));
	int i;

	if (h == NULL)
		return NULL;
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&h->locks[i], NULL);
	h->connect_timeout_ms = opt->connect_timeout_ms > 0 ? opt->connect_timeout_ms : 5000;
	h->timeout_ms = opt->timeout_ms > 0 ? opt->timeout_ms : 10000;
	h->max_body = opt->max_body > 0 ? opt->max_body : HTTP_MAX_BODY;
	if (opt->ca_file != NULL && (h->ca_file = strdup(opt->ca_file)) == NULL)
		goto fail;
	h->share = curl_share_init();
	if (h->share == NULL)
		goto fail;
	curl_share_setopt(h->share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(h->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(h->share, CURLSHOPT_USERDATA, h);
	curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	return h;
fail:
	okta_http_free(h);
	return NULL;
}

void okta_http_free(struct okta_http *h)
{
	int i;

	if (h == NULL)
		return;
	if (h->share != NULL)
		curl_share_cleanup(h->share);
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&h->locks[i]);
	free(h->ca_file);
	free(h);
}

/* A thread that keeps its handle (the check pool's) reuses it, and with it
 * libcurl's per-handle state, for every request it makes. */
static __thread CURL *kept_handle;
static __thread int keep_handle;

void okta_http_keep_handle(int on)
{
	keep_handle = on;
	if (!on && kept_handle != NULL) {
		curl_easy_cleanup(kept_handle);
		kept_handle = NULL;
	}
}

void okta_http_abort(struct okta_http *h)
{
	if (h != NULL)
		atomic_store(&h->aborting, 1);
}

int okta_http_aborted(struct okta_http *h)
{
	return h != NULL && atomic_load(&h->aborting);
}

int okta_http_wait_idle(struct okta_http *h, int ms)
{
	for (; ms > 0 && atomic_load(&h->inflight) > 0; ms -= 20)
		ojit_sleep_ms(20);
	return atomic_load(&h->inflight) > 0 ? -1 : 0;
}

/* libcurl calls this often during a transfer, also while it waits. */
static int progress_cb(void *userp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct okta_http *h = userp;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return atomic_load(&h->aborting) ? 1 : 0;
}

void http_response_init(struct http_response *r)
{
	memset(r, 0, sizeof(*r));
	ojit_buf_init(&r->body, HTTP_MAX_BODY);
}

void http_response_free(struct http_response *r)
{
	ojit_buf_free(&r->body);
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct http_response *r = userdata;
	size_t n = size * nmemb;

	if (ojit_buf_append(&r->body, ptr, n) != 0)
		return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
	return n;
}

static void copy_header_value(char *dst, size_t n, const char *v, size_t len)
{
	if (len >= n)
		len = n - 1;
	memcpy(dst, v, len);
	dst[len] = '\0';
	ojit_strip_controls(dst);
}

static int64_t header_int(const char *v, size_t len)
{
	char tmp[32];
	int64_t out = -1;

	if (len == 0 || len >= sizeof(tmp))
		return -1;
	memcpy(tmp, v, len);
	tmp[len] = '\0';
	if (ojit_parse_int64(tmp, 0, INT64_MAX / 2, &out) != 0)
		return -1;
	return out;
}

static size_t header_cb(char *buf, size_t size, size_t nitems, void *userdata)
{
	struct http_response *r = userdata;
	size_t n = size * nitems, namelen, vlen;
	const char *colon, *v;

	/* A new status line (after a 100 Continue, say) starts a new set. */
	if (n >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
		r->has_next = 0;
		r->link_next[0] = '\0';
		return n;
	}
	colon = memchr(buf, ':', n);
	if (colon == NULL)
		return n;
	namelen = (size_t)(colon - buf);
	v = colon + 1;
	vlen = n - namelen - 1;
	while (vlen > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		vlen--;
	}
	while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
		vlen--;
#define IS(name) (namelen == sizeof(name) - 1 && strncasecmp(buf, name, namelen) == 0)
	if (IS("link")) {
		char tmp[HTTP_MAX_URL + 256];
		char next[HTTP_MAX_URL];

		if (vlen < sizeof(tmp)) {
			memcpy(tmp, v, vlen);
			tmp[vlen] = '\0';
			if (http_link_next(tmp, next, sizeof(next)) == 1) {
				memcpy(r->link_next, next, sizeof(next));
				r->has_next = 1;
			}
		}
	} else if (IS("x-rate-limit-limit")) {
		r->rate_limit = header_int(v, vlen);
		r->has_rate = 1;
	} else if (IS("x-rate-limit-remaining")) {
		r->rate_remaining = header_int(v, vlen);
		r->has_rate = 1;
	} else if (IS("x-rate-limit-reset")) {
		r->rate_reset = header_int(v, vlen);
	} else if (IS("date")) {
		char tmp[64];

		copy_header_value(tmp, sizeof(tmp), v, vlen);
		r->date = http_parse_date(tmp);
	} else if (IS("x-okta-request-id")) {
		copy_header_value(r->request_id, sizeof(r->request_id), v, vlen);
	} else if (IS("www-authenticate")) {
		copy_header_value(r->www_authenticate, sizeof(r->www_authenticate), v, vlen);
	} else if (IS("dpop-nonce")) {
		copy_header_value(r->dpop_nonce, sizeof(r->dpop_nonce), v, vlen);
	} else if (IS("retry-after")) {
		copy_header_value(r->retry_after, sizeof(r->retry_after), v, vlen);
	}
#undef IS
	return n;
}

static struct curl_slist *add_header(struct curl_slist *l, const char *name, const char *value,
				     int *failed)
{
	struct ojit_buf b;
	struct curl_slist *n;

	ojit_buf_init(&b, 0);
	if (ojit_buf_printf(&b, "%s: %s", name, value) != 0) {
		*failed = 1;
		ojit_buf_free_secret(&b);
		return l;
	}
	n = curl_slist_append(l, b.data);
	ojit_buf_free_secret(&b);
	if (n == NULL) {
		*failed = 1;
		return l;
	}
	return n;
}

/* curl_slist_free_all does not wipe; the list holds the bearer token. */
static void free_headers_secret(struct curl_slist *l)
{
	struct curl_slist *p;

	for (p = l; p != NULL; p = p->next)
		ojit_wipe(p->data, strlen(p->data));
	curl_slist_free_all(l);
}

static int perform(struct okta_http *h, const struct http_request *req, struct http_response *resp);

int okta_http_perform(struct okta_http *h, const struct http_request *req,
		      struct http_response *resp)
{
	int r;

	atomic_fetch_add(&h->inflight, 1);
	if (atomic_load(&h->aborting)) {
		snprintf(resp->curl_error, sizeof(resp->curl_error), "okta-jitd is stopping");
		r = -1;
	} else {
		r = perform(h, req, resp);
	}
	atomic_fetch_sub(&h->inflight, 1);
	return r;
}

static int perform(struct okta_http *h, const struct http_request *req, struct http_response *resp)
{
	CURL *c = NULL;
	struct curl_slist *hdrs = NULL;
	CURLcode rc;
	char errbuf[CURL_ERROR_SIZE] = "";
	char num[32];
	int failed = 0;
	int r = -1;

	resp->body.limit = h->max_body;
	if (keep_handle && kept_handle != NULL) {
		c = kept_handle;
	} else {
		c = curl_easy_init();
		if (keep_handle)
			kept_handle = c;
	}
	if (c == NULL) {
		snprintf(resp->curl_error, sizeof(resp->curl_error), "cannot create a curl handle");
		return -1;
	}
	hdrs = add_header(hdrs, "Accept", "application/json", &failed);
	if (req->content_type != NULL)
		hdrs = add_header(hdrs, "Content-Type", req->content_type, &failed);
	if (req->authorization != NULL)
		hdrs = add_header(hdrs, "Authorization", req->authorization, &failed);
	if (req->dpop != NULL)
		hdrs = add_header(hdrs, "DPoP", req->dpop, &failed);
	if (req->retry_for != NULL && req->retry_for[0] != '\0') {
		hdrs = add_header(hdrs, "X-Okta-Retry-For", req->retry_for, &failed);
		snprintf(num, sizeof(num), "%d", req->retry_count);
		hdrs = add_header(hdrs, "X-Okta-Retry-Count", num, &failed);
	}
	/* libcurl adds "Expect: 100-continue" to some uploads; Okta needs no
	 * such round trip. */
	hdrs = add_header(hdrs, "Expect", "", &failed);
	if (failed) {
		snprintf(resp->curl_error, sizeof(resp->curl_error), "out of memory");
		goto out;
	}

	curl_easy_setopt(c, CURLOPT_SHARE, h->share);
	curl_easy_setopt(c, CURLOPT_URL, req->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (h->ca_file != NULL) {
		/* ca_file adds a trust anchor: keep the system store too. */
		curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_file);
		curl_easy_setopt(c, CURLOPT_CAPATH, "/etc/ssl/certs");
	}
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, h->connect_timeout_ms);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->timeout_ms);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)h->max_body);
	curl_easy_setopt(c, CURLOPT_USERAGENT, OJIT_USER_AGENT);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, resp);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress_cb);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, h);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);

	if (strcmp(req->method, "GET") == 0) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	} else if (strcmp(req->method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body ? req->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)(req->body ? req->body_len : 0));
	} else if (strcmp(req->method, "PUT") == 0) {
		/* Okta answers 411 to a body-less PUT without Content-Length. */
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body ? req->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)(req->body ? req->body_len : 0));
	} else if (strcmp(req->method, "DELETE") == 0) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
	} else {
		snprintf(resp->curl_error, sizeof(resp->curl_error), "unsupported method");
		goto out;
	}

	rc = curl_easy_perform(c);
	resp->curl_code = (int)rc;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	if (rc != CURLE_OK) {
		if (rc == CURLE_WRITE_ERROR && resp->body.overflow)
			snprintf(resp->curl_error, sizeof(resp->curl_error),
				 "response larger than %zu bytes", h->max_body);
		else if (rc == CURLE_FILESIZE_EXCEEDED) {
			/* Content-Length announced too much: nothing was read, but
			 * it is the same refusal as an overflowing body. */
			resp->body.overflow = 1;
			snprintf(resp->curl_error, sizeof(resp->curl_error),
				 "response larger than %zu bytes", h->max_body);
		}
		else
			snprintf(resp->curl_error, sizeof(resp->curl_error), "%s",
				 errbuf[0] ? errbuf : curl_easy_strerror(rc));
		ojit_strip_controls(resp->curl_error);
		resp->timed_out = rc == CURLE_OPERATION_TIMEDOUT;
		resp->tls_error = rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
				  rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_SSL_CERTPROBLEM;
		resp->status = 0;
		goto out;
	}
	r = 0;
out:
	if (c == kept_handle)
		curl_easy_reset(c); /* drops every pointer into this call (headers, buffers); keeps the connection */
	else
		curl_easy_cleanup(c);
	free_headers_secret(hdrs);
	return r;
}

/* Link: <url>; rel="next", <url>; rel="self"  (RFC 8288). Parameters may
 * be quoted or bare, rel may hold several space-separated types. */
int http_link_next(const char *value, char *out, size_t n)
{
	const char *p = value;

	while (*p != '\0') {
		const char *ustart, *uend;
		int is_next = 0;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		if (*p != '<')
			return -1;
		ustart = ++p;
		uend = strchr(p, '>');
		if (uend == NULL)
			return -1;
		p = uend + 1;
		/* parameters up to the next top-level comma */
		while (*p != '\0' && *p != ',') {
			const char *pname, *pval;
			size_t pnlen, pvlen;
			int quoted = 0;

			while (*p == ' ' || *p == '\t')
				p++;
			if (*p != ';')
				return -1;
			p++;
			while (*p == ' ' || *p == '\t')
				p++;
			pname = p;
			while (*p != '\0' && *p != '=' && *p != ';' && *p != ',' && *p != ' ')
				p++;
			pnlen = (size_t)(p - pname);
			while (*p == ' ')
				p++;
			pval = "";
			pvlen = 0;
			if (*p == '=') {
				p++;
				while (*p == ' ')
					p++;
				if (*p == '"') {
					quoted = 1;
					pval = ++p;
					while (*p != '\0' && *p != '"')
						p++;
					if (*p != '"')
						return -1;
					pvlen = (size_t)(p - pval);
					p++;
				} else {
					pval = p;
					while (*p != '\0' && *p != ';' && *p != ',' && *p != ' ')
						p++;
					pvlen = (size_t)(p - pval);
				}
			}
			(void)quoted;
			if (pnlen == 3 && strncasecmp(pname, "rel", 3) == 0) {
				const char *t = pval, *end = pval + pvlen;

				while (t < end) {
					const char *ts = t;

					while (t < end && *t != ' ')
						t++;
					if (t - ts == 4 && strncasecmp(ts, "next", 4) == 0)
						is_next = 1;
					while (t < end && *t == ' ')
						t++;
				}
			}
			while (*p == ' ' || *p == '\t')
				p++;
		}
		if (is_next) {
			size_t len = (size_t)(uend - ustart);

			if (len == 0 || len >= n)
				return -1;
			memcpy(out, ustart, len);
			out[len] = '\0';
			return 1;
		}
	}
	return 0;
}

int http_url_encode(const char *s, struct ojit_buf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	char e[3];

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
			if (ojit_buf_append(out, p, 1) != 0)
				return -1;
			continue;
		}
		e[0] = '%';
		e[1] = hex[*p >> 4];
		e[2] = hex[*p & 15];
		if (ojit_buf_append(out, e, 3) != 0)
			return -1;
	}
	if (out->data == NULL)
		return ojit_buf_append(out, "", 0);
	return 0;
}

int64_t http_parse_date(const char *s)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (end == NULL || *end != '\0')
		return 0;
	return (int64_t)timegm(&tm);
}
