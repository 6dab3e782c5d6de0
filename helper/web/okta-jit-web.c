/* okta-jit-web - request and approve okta-jit access from a browser,
 * signed in with Okta (issue 19; man okta-jit-web(8)).
 *
 * An unprivileged service: it holds no Okta API key and links none of
 * that code. It knows who a user is only from the ID token Okta gave it
 * at sign-in, and okta-jitd checks that token again on every request. */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <microhttpd.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "log_journal.h"
#include "util.h"
#include "web_config.h"
#include "web_html.h"
#include "web_http.h"
#include "web_oidc.h"
#include "web_pages.h"
#include "web_session.h"

#define WEB_DEFAULT_CONFIG "/etc/okta-jit/okta-jit.conf"
#define WEB_MAX_LOGINS 4096
#define WEB_CONN_LIMIT 512
#define WEB_CONN_TIMEOUT_S 30
#define WEB_PEM_MAX (64 * 1024)
/* A thread a connection; each needs little (pages are built on the heap). */
#define WEB_STACK_SIZE (512 * 1024)

struct web_state {
	struct web_config cfg;
	char client_secret[512];
	char redirect_uri[300];
	char cookie_session[32], cookie_signin[32];
	int tls;
};

/* One per HTTP request: the body, read in pieces by libmicrohttpd. */
struct web_req {
	struct ojit_buf body;
	int too_big;
};

static struct web_state W;

/* ---- responses ---------------------------------------------------------- */

static enum MHD_Result send_resp(struct MHD_Connection *conn, struct web_resp *r, int https)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	size_t i;

	static char empty[1];

	resp = MHD_create_response_from_buffer(r->body.len, r->body.data != NULL ? r->body.data : empty,
					       MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	/* No script runs on these pages, none may frame them, and forms
	 * post only to us. */
	MHD_add_response_header(resp, "Content-Type", "text/html; charset=utf-8");
	MHD_add_response_header(resp, "Content-Security-Policy",
				"default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
				"frame-ancestors 'none'; base-uri 'none'");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Referrer-Policy", "same-origin");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	if (https == 1)
		MHD_add_response_header(resp, "Strict-Transport-Security", "max-age=31536000");
	if (r->location[0] != '\0')
		MHD_add_response_header(resp, "Location", r->location);
	for (i = 0; i < r->ncookies; i++)
		MHD_add_response_header(resp, "Set-Cookie", r->cookies[i]);
	ret = MHD_queue_response(conn, r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void redirect(struct web_resp *r, unsigned status, const char *location)
{
	r->status = status;
	ojit_strlcpy(r->location, location, sizeof(r->location));
	r->body.len = 0;
	web_html_lit(&r->body, "<!DOCTYPE html><title>Redirect</title><a href=\"");
	web_html_esc(&r->body, location);
	web_html_lit(&r->body, "\">Continue</a>\n");
}

static void add_cookie(struct web_resp *r, const char *name, const char *value, int max_age)
{
	char age[32] = "";

	if (r->ncookies >= sizeof(r->cookies) / sizeof(r->cookies[0]))
		return;
	if (max_age >= 0)
		ojit_snprintf(age, sizeof(age), "; Max-Age=%d", max_age);
	/* HttpOnly: no script could read it (and none runs); SameSite=Lax:
	 * not sent on another site's POST; Secure unless the documented
	 * loopback-HTTP test setup; __Host- names pin Path=/ and no Domain. */
	ojit_snprintf(r->cookies[r->ncookies++], sizeof(r->cookies[0]), "%s=%s; Path=/; HttpOnly; SameSite=Lax%s%s",
		      name, value, age, W.cfg.secure_cookie ? "; Secure" : "");
}

/* ---- sign-in ------------------------------------------------------------ */

static void do_signin(struct MHD_Connection *conn, struct web_resp *r)
{
	const char *next = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "next");
	struct web_oidc_cfg oc = { W.cfg.org_url, W.cfg.client_id, W.client_secret, W.redirect_uri, NULL };
	struct web_login_view lv;
	struct ojit_buf url;

	ojit_buf_init(&url, 4096);
	if (web_login_begin(next, ojit_now(), &lv) != 0 ||
	    web_oidc_authorize_url(&oc, lv.state, lv.nonce, lv.verifier, &url) != 0) {
		web_page_message(r, 500, "Sign in", NULL, "Cannot start a sign-in.");
		goto out;
	}
	add_cookie(r, W.cookie_signin, lv.binder, WEB_LOGIN_TTL);
	redirect(r, 302, url.data);
out:
	ojit_wipe(&lv, sizeof(lv));
	ojit_buf_free(&url);
}

static void do_callback(struct MHD_Connection *conn, struct web_resp *r, const char *ip)
{
	const char *state = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "state");
	const char *code = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "code");
	const char *error = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "error");
	const char *cookies = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_COOKIE);
	struct web_oidc_cfg oc = { W.cfg.org_url, W.cfg.client_id, W.client_secret, W.redirect_uri,
				   W.cfg.ca_file[0] ? W.cfg.ca_file : NULL };
	struct web_login_view lv;
	struct web_session_view sv;
	struct web_claims cl;
	char binder[WEB_ID_LEN + 8], err[256];
	char *id_token = NULL;
	int64_t now = ojit_now();

	memset(&sv, 0, sizeof(sv));
	/* Without the binder cookie the state is still taken (and so used
	 * up): a state shown to anyone but its browser is good for nothing. */
	if (web_cookie_get(cookies, W.cookie_signin, binder, sizeof(binder)) != 1)
		binder[0] = '\0';
	if (!web_login_take(state, binder, now, &lv)) {
		ojit_log(LOG_WARNING, "sign-in refused from %s: unknown, used or expired state", ip);
		web_page_message(r, 400, "Sign in", NULL,
				 "This sign-in is unknown, was used already or has expired. Sign in again.");
		return;
	}
	add_cookie(r, W.cookie_signin, "", 0);
	if (error != NULL || code == NULL) {
		web_page_message(r, 403, "Sign in", NULL, "Okta did not sign you in.");
		goto out;
	}
	if (web_oidc_exchange(&oc, code, lv.verifier, &id_token, err, sizeof(err)) != 0) {
		ojit_log(LOG_ERR, "sign-in from %s: %s", ip, err);
		web_page_message(r, 502, "Sign in", NULL, "Okta's token endpoint did not give a token.");
		goto out;
	}
	/* The nonce binds the token to this sign-in; issuer, audience and
	 * times keep a token meant for something else out of the session.
	 * (okta-jitd checks the signature, issuer, audience and times again
	 * on every request.) */
	if (web_id_token_claims(id_token, W.cfg.client_id, &cl) != 0 || !web_ct_streq(cl.nonce, lv.nonce) ||
	    !cl.aud_ok || strcmp(cl.iss, W.cfg.org_url) != 0 || cl.exp <= now || cl.iat > now + 300 ||
	    cl.iat < now - W.cfg.session_max) {
		ojit_log(LOG_WARNING, "sign-in from %s refused: ID token nonce, audience, issuer or "
				      "time wrong",
			 ip);
		web_page_message(r, 403, "Sign in", NULL, "The sign-in could not be verified.");
		goto out;
	}
	if (web_session_create(&cl, id_token, now, &sv) != 0) {
		web_page_message(r, 503, "Sign in", NULL, "Cannot start a session.");
		goto out;
	}
	ojit_log(LOG_INFO, "%s (%s) signed in from %s", ojit_strip_controls(cl.login), ojit_strip_controls(cl.sub), ip);
	add_cookie(r, W.cookie_session, sv.id, -1);
	redirect(r, 303, lv.next);
out:
	ojit_free_secret(id_token);
	web_session_view_wipe(&sv);
	ojit_wipe(&lv, sizeof(lv));
	ojit_wipe(binder, sizeof(binder));
}

/* ---- routing ------------------------------------------------------------ */

/* "/grants/123" or "/grants/123/approve": 0 with id and action (maybe ""). */
static int parse_grant_path(const char *url, int64_t *id, const char **action)
{
	char num[24];
	size_t n;

	if (strncmp(url, "/grants/", 8) != 0)
		return -1;
	url += 8;
	n = strspn(url, "0123456789");
	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, url, n);
	num[n] = '\0';
	if (ojit_parse_int64(num, 1, INT64_MAX / 2, id) != 0)
		return -1;
	if (url[n] == '\0')
		*action = "";
	else if (url[n] == '/' && url[n + 1] != '\0' && strchr(url + n + 1, '/') == NULL)
		*action = url + n + 1;
	else
		return -1;
	return 0;
}

static void route_get(struct MHD_Connection *conn, const struct web_ctx *c, struct web_resp *r, const char *url)
{
	int64_t id;
	const char *action;

	if (strcmp(url, "/") == 0) {
		const char *all = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "all");

		web_page_home(c, r, all != NULL && strcmp(all, "1") == 0);
	} else if (strcmp(url, "/request") == 0) {
		web_page_request_form(c, r, MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "group"));
	} else if (strcmp(url, "/approvals") == 0) {
		web_page_approvals(c, r);
	} else if (strcmp(url, "/signout") == 0) {
		web_page_signout_form(c, r);
	} else if (parse_grant_path(url, &id, &action) == 0 && action[0] == '\0') {
		web_page_grant(c, r, id);
	} else {
		web_page_message(r, 404, "Not found", c->sess->login, "No such page.");
	}
}

static void route_post(const struct web_ctx *c, struct web_resp *r, const char *url, const struct web_form *f)
{
	int64_t id;
	const char *action;

	if (strcmp(url, "/request") == 0) {
		web_page_request_post(c, r, f);
	} else if (strcmp(url, "/signout") == 0) {
		web_session_end(c->sess->id);
		add_cookie(r, W.cookie_session, "", 0);
		ojit_log(LOG_INFO, "%s signed out", c->sess->login);
		web_page_message(r, 200, "Signed out", NULL, "You are signed out of okta-jit.");
	} else if (parse_grant_path(url, &id, &action) == 0 && action[0] != '\0') {
		web_page_grant_action(c, r, id, action, f);
	} else {
		web_page_message(r, 404, "Not found", c->sess->login, "No such page.");
	}
}

/* The "next" page after sign-in: this one (its group= kept for the PAM
 * hint's link to the request form). */
static void signin_redirect(struct MHD_Connection *conn, struct web_resp *r, const char *url)
{
	const char *group = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "group");
	struct ojit_buf loc, next;

	ojit_buf_init(&loc, 2048);
	ojit_buf_init(&next, 1024);
	ojit_buf_printf(&next, "%s", web_safe_path(url) ? url : "/");
	if (group != NULL && strcmp(url, "/request") == 0) {
		ojit_buf_printf(&next, "?group=");
		web_url_encode(&next, group);
	}
	ojit_buf_printf(&loc, "/signin?next=");
	web_url_encode(&loc, next.data);
	redirect(r, 302, loc.overflow || next.overflow ? "/signin" : loc.data);
	ojit_buf_free(&loc);
	ojit_buf_free(&next);
}

static void peer_ip(struct MHD_Connection *conn, char *out, size_t n)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci != NULL ? ci->client_addr : NULL;
	socklen_t len;

	ojit_strlcpy(out, "?", n);
	if (sa == NULL)
		return;
	len = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	if (getnameinfo(sa, len, out, (socklen_t)n, NULL, 0, NI_NUMERICHOST) != 0)
		ojit_strlcpy(out, "?", n);
}

static void handle(struct MHD_Connection *conn, const char *url, const char *method, struct web_req *req,
		   struct web_resp *r, int *https)
{
	const char *cookies = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_COOKIE);
	int post = strcmp(method, "POST") == 0;
	struct web_session_view *sv = NULL;
	char peer[64], ip[64], sid[WEB_ID_LEN + 8], logpath[128];
	struct web_form form;
	struct web_ctx c;
	int fr;

	memset(&form, 0, sizeof(form));
	/* The path as it reaches the log: no control bytes. */
	ojit_strlcpy(logpath, url, sizeof(logpath));
	ojit_strip_controls(logpath);
	peer_ip(conn, peer, sizeof(peer));
	if (web_client_info(peer, W.cfg.trusted_proxy[0] ? W.cfg.trusted_proxy : NULL,
			    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Forwarded-For"),
			    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Forwarded-Proto"), W.tls, ip,
			    sizeof(ip), https) != 0) {
		web_page_message(r, 400, "Bad request", NULL, "Malformed X-Forwarded-* headers from the proxy.");
		return;
	}
	/* A browser that came over plain HTTP (as the proxy says) while we
	 * are an https service goes to the https address first: its Secure
	 * cookie would not be sent. */
	if (W.cfg.secure_cookie && *https == 0) {
		char loc[1024];

		if (post) {
			web_page_message(r, 400, "Bad request", NULL, "Use https.");
		} else {
			ojit_snprintf(loc, sizeof(loc), "%s%s", W.cfg.url, web_safe_path(url) ? url : "/");
			redirect(r, 301, loc);
		}
		return;
	}
	if (!post && strcmp(url, "/healthz") == 0) {
		web_html_lit(&r->body, "ok\n");
		return;
	}
	if (!post && strcmp(url, "/signin") == 0) {
		do_signin(conn, r);
		return;
	}
	if (!post && strcmp(url, "/callback") == 0) {
		do_callback(conn, r, ip);
		return;
	}
	if (post) {
		const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);

		/* Cross-site POSTs stop here, signed in or not. */
		if (!web_origin_ok(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin"),
				   MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Referer"), W.cfg.origin)) {
			ojit_log(LOG_WARNING, "POST %s from %s refused: Origin/Referer is not %s", logpath, ip,
				 W.cfg.origin);
			web_page_message(r, 403, "Refused", NULL, "This form was not sent from this site.");
			return;
		}
		if (req->too_big) {
			web_page_message(r, 413, "Too large", NULL, "The form is too large.");
			return;
		}
		if (ct == NULL || strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0) {
			web_page_message(r, 415, "Refused", NULL, "Send a form.");
			return;
		}
		fr = web_form_parse(&form, req->body.data != NULL ? req->body.data : "", req->body.len);
		if (fr == WEB_FORM_ETOOBIG) {
			web_page_message(r, 413, "Too large", NULL, "The form is too large.");
			return;
		}
		if (fr != 0) {
			web_page_message(r, 400, "Bad request", NULL, "The form could not be read.");
			return;
		}
	}
	sv = malloc(sizeof(*sv));
	if (sv == NULL) {
		web_page_message(r, 503, "Busy", NULL, "Out of memory.");
		goto out;
	}
	if (web_cookie_get(cookies, W.cookie_session, sid, sizeof(sid)) != 1 || !web_session_find(sid, ojit_now(), sv)) {
		if (post)
			web_page_message(r, 403, "Signed out", NULL,
					 "Your session has ended: nothing was changed. Sign in again.");
		else
			signin_redirect(conn, r, url);
		goto out;
	}
	if (post && !web_ct_streq(web_form_get(&form, "csrf"), sv->csrf)) {
		ojit_log(LOG_WARNING, "POST %s by %s from %s refused: CSRF token missing or wrong", logpath,
			 sv->login, ip);
		web_page_message(r, 403, "Refused", sv->login, "The form is stale or was not ours: nothing was changed.");
		goto out;
	}
	c.cfg = &W.cfg;
	c.sess = sv;
	c.client_ip = ip;
	if (post)
		route_post(&c, r, url, &form);
	else
		route_get(conn, &c, r, url);
out:
	web_form_free(&form);
	if (sv != NULL) {
		web_session_view_wipe(sv);
		free(sv);
	}
	ojit_wipe(sid, sizeof(sid));
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
	struct web_req *req = *con_cls;
	struct web_resp r;
	enum MHD_Result ret;
	int https = W.tls ? 1 : -1;

	if (req == NULL) {
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		int64_t len;

		if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 && strcmp(method, "POST") != 0) {
			web_resp_init(&r);
			web_page_message(&r, 405, "Refused", NULL, "Method not allowed.");
			ret = send_resp(conn, &r, https);
			web_resp_free(&r);
			return ret;
		}
		/* A body announced over the bound is refused before it is
		 * read (and the connection closed after the answer). */
		if (cl != NULL && (ojit_parse_int64(cl, 0, INT64_MAX / 2, &len) != 0 || len > WEB_FORM_MAX)) {
			web_resp_init(&r);
			web_page_message(&r, 413, "Too large", NULL, "The form is too large.");
			ret = send_resp(conn, &r, https);
			web_resp_free(&r);
			return ret;
		}
		req = calloc(1, sizeof(*req));
		if (req == NULL)
			return MHD_NO;
		ojit_buf_init(&req->body, WEB_FORM_MAX);
		*con_cls = req;
		return MHD_YES;
	}
	if (*upload_size != 0) {
		/* A chunked body that grows over the bound: drop the
		 * connection rather than read on (libmicrohttpd 0.9.75 takes
		 * no response in the middle of a body, so no 413 here). */
		if (ojit_buf_append(&req->body, upload_data, *upload_size) != 0)
			return MHD_NO;
		*upload_size = 0;
		return MHD_YES;
	}
	web_resp_init(&r);
	handle(conn, url, method, req, &r, &https);
	ret = send_resp(conn, &r, https);
	web_resp_free(&r);
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct web_req *req = *con_cls;

	if (req == NULL)
		return;
	/* Bodies hold CSRF tokens and reasons. */
	ojit_buf_free_secret(&req->body);
	free(req);
	*con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];

	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	ojit_log(LOG_WARNING, "libmicrohttpd: %s", ojit_strip_controls(line));
}

/* ---- start -------------------------------------------------------------- */

static char *read_pem(const char *path, int secret, char *err, size_t errlen)
{
	struct ojit_buf b;
	char chunk[4096];
	FILE *fp = fopen(path, "re");
	size_t n;

	ojit_buf_init(&b, WEB_PEM_MAX);
	if (fp == NULL) {
		ojit_snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (secret) {
		struct stat sb;

		if (fstat(fileno(fp), &sb) != 0 || (sb.st_mode & 077) != 0) {
			ojit_snprintf(err, errlen, "%s: must have no group or other permissions", path);
			fclose(fp);
			return NULL;
		}
	}
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		if (ojit_buf_append(&b, chunk, n) != 0)
			break;
	ojit_wipe(chunk, sizeof(chunk));
	if (ferror(fp) || b.overflow || b.len == 0) {
		ojit_snprintf(err, errlen, "%s: unreadable, empty or too large", path);
		fclose(fp);
		ojit_buf_free_secret(&b);
		return NULL;
	}
	fclose(fp);
	return b.data;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: okta-jit-web [--config FILE] [--client-secret FILE] [--tls-key FILE] [--check] [--debug]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "client-secret", required_argument, NULL, 's' },
		{ "tls-key", required_argument, NULL, 'k' }, { "check", no_argument, NULL, 'C' },
		{ "debug", no_argument, NULL, 'd' },	     { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = WEB_DEFAULT_CONFIG, *secret_file = NULL, *tls_key_file = NULL;
	struct MHD_Daemon *d = NULL;
	struct addrinfo hints, *ai = NULL;
	char err[4096], port[16];
	char *cert = NULL, *key = NULL;
	unsigned int flags;
	int opt, check = 0, debug = 0, rc = 1, sig;
	sigset_t set;

	while ((opt = getopt_long(argc, argv, "c:s:k:Cdh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': config = optarg; break;
		case 's': secret_file = optarg; break;
		case 'k': tls_key_file = optarg; break;
		case 'C': check = 1; break;
		case 'd': debug = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	log_journal_offer();
	ojit_log_init("okta-jit-web", OJIT_LOG_STDERR, debug);
	/* before the client secret is read: never in a core file */
	if (ojit_no_core_dumps() != 0) {
		ojit_log(LOG_ERR, "cannot turn core dumps off: %s", strerror(errno));
		return 1;
	}
	if (web_config_load(config, &W.cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "okta-jit-web: %s", err);
		if (err[0] != '\0' && err[strlen(err) - 1] != '\n')
			fputc('\n', stderr);
		return 1;
	}
	if (secret_file == NULL)
		secret_file = W.cfg.client_secret_file[0] ? W.cfg.client_secret_file : NULL;
	if (secret_file == NULL) {
		fprintf(stderr, "okta-jit-web: %s: [web] client_secret_file: required (or --client-secret)\n", config);
		return 1;
	}
	if (web_config_read_secret(secret_file, W.client_secret, sizeof(W.client_secret), err, sizeof(err)) != 0) {
		fprintf(stderr, "okta-jit-web: client secret: %s\n", err);
		return 1;
	}
	if (tls_key_file != NULL)
		ojit_strlcpy(W.cfg.tls_key, tls_key_file, sizeof(W.cfg.tls_key));
	W.tls = W.cfg.tls_cert[0] != '\0';
	if (W.tls) {
		cert = read_pem(W.cfg.tls_cert, 0, err, sizeof(err));
		key = cert != NULL ? read_pem(W.cfg.tls_key, 1, err, sizeof(err)) : NULL;
		if (key == NULL) {
			fprintf(stderr, "okta-jit-web: TLS: %s\n", err);
			goto out;
		}
	}
	ojit_snprintf(W.redirect_uri, sizeof(W.redirect_uri), "%s/callback", W.cfg.url);
	/* __Host- cookies: a sibling host cannot set or shadow them. Browsers
	 * take that prefix only with Secure, so the loopback-HTTP test setup
	 * uses plain names. */
	ojit_strlcpy(W.cookie_session, W.cfg.secure_cookie ? "__Host-ojit" : "ojit", sizeof(W.cookie_session));
	ojit_strlcpy(W.cookie_signin, W.cfg.secure_cookie ? "__Host-ojit-signin" : "ojit-signin",
		     sizeof(W.cookie_signin));
	if (check) {
		printf("%s: OK\n", config);
		rc = 0;
		goto out;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    web_sessions_init(W.cfg.max_sessions, WEB_MAX_LOGINS, W.cfg.session_idle, W.cfg.session_max) != 0) {
		fprintf(stderr, "okta-jit-web: cannot initialise\n");
		goto out;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	ojit_snprintf(port, sizeof(port), "%d", W.cfg.listen_port);
	if (getaddrinfo(W.cfg.listen_host, port, &hints, &ai) != 0 || ai == NULL) {
		fprintf(stderr, "okta-jit-web: [web] listen: cannot resolve %s\n", W.cfg.listen_host);
		goto out;
	}
	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG;
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (W.tls)
		flags |= MHD_USE_TLS;
	/* The signals that stop us are taken by sigwait below, in every
	 * thread libmicrohttpd starts too. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, NULL, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
			     MHD_OPTION_SOCK_ADDR, ai->ai_addr,
			     MHD_OPTION_THREAD_STACK_SIZE, (size_t)WEB_STACK_SIZE,
			     MHD_OPTION_CONNECTION_LIMIT, (unsigned int)WEB_CONN_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
			     (unsigned int)WEB_CONN_TIMEOUT_S, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
			     W.tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, cert, MHD_OPTION_HTTPS_MEM_KEY, key,
			     MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "okta-jit-web: cannot listen on %s:%d\n", W.cfg.listen_host, W.cfg.listen_port);
		goto out;
	}
	ojit_log(LOG_INFO, "serving %s on %s:%d (%s)", W.cfg.url, W.cfg.listen_host, W.cfg.listen_port,
		 W.tls ? "https" : "http");
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGTERM || sig == SIGINT)
			break;
	}
	ojit_log(LOG_INFO, "stopping");
	rc = 0;
out:
	if (d != NULL)
		MHD_stop_daemon(d);
	if (ai != NULL)
		freeaddrinfo(ai);
	web_sessions_free();
	ojit_wipe(W.client_secret, sizeof(W.client_secret));
	free(cert);
	if (key != NULL)
		ojit_free_secret(key);
	return rc;
}
