/* test_web.c - the pure parts of okta-jit-web: HTML escaping, constant-time
 * comparison, PKCE, base64url, cookies, forms and their limits, the
 * Origin/Referer check, X-Forwarded-* from the trusted proxy only, ID token
 * claims, the session and sign-in tables, the [web] config reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "util.h"
#include "web_config.h"
#include "web_html.h"
#include "web_http.h"
#include "web_oidc.h"
#include "web_session.h"

static char *esc(const char *s)
{
	static char out[1024];
	struct ojit_buf b;

	ojit_buf_init(&b, 0);
	assert_int_equal(web_html_esc(&b, s), 0);
	ojit_strlcpy(out, b.data != NULL ? b.data : "", sizeof(out));
	ojit_buf_free(&b);
	return out;
}

static void test_html_escape(void **state)
{
	(void)state;
	assert_string_equal(esc("<script>alert(\"x\")</script>&'"),
			    "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;");
	assert_string_equal(esc("plain text"), "plain text");
	assert_string_equal(esc("a\x01" "b\x7f" "c\td\ne"), "a?b?c\td\ne");
	assert_string_equal(esc(""), "");
	assert_string_equal(esc("\"onmouseover=\"x"), "&quot;onmouseover=&quot;x");
	assert_string_equal(esc(NULL), "");
}

static void test_html_head_escapes_title_and_user(void **state)
{
	struct ojit_buf b;

	(void)state;
	ojit_buf_init(&b, 0);
	assert_int_equal(web_html_head(&b, "<b>t</b>", "<i>u</i>"), 0);
	assert_null(strstr(b.data, "<b>t"));
	assert_null(strstr(b.data, "<i>u"));
	assert_non_null(strstr(b.data, "&lt;i&gt;u&lt;/i&gt;"));
	assert_null(strstr(b.data, "<script"));
	ojit_buf_free(&b);
}

static void test_ct_streq(void **state)
{
	(void)state;
	assert_true(web_ct_streq("abcdef", "abcdef"));
	assert_false(web_ct_streq("abcdef", "abcdeg"));
	assert_false(web_ct_streq("abcdef", "Abcdef"));
	assert_false(web_ct_streq("abcdef", "abcde"));
	assert_false(web_ct_streq("abcde", "abcdef"));
	assert_false(web_ct_streq("", ""));
	assert_false(web_ct_streq(NULL, "a"));
	assert_false(web_ct_streq("a", NULL));
}

static void test_pkce_rfc7636_vector(void **state)
{
	char out[64];

	(void)state;
	/* RFC 7636, Appendix B. */
	assert_int_equal(web_pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", out, sizeof(out)), 0);
	assert_string_equal(out, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
	/* Too short, or a character outside the unreserved set. */
	assert_int_equal(web_pkce_challenge("short", out, sizeof(out)), -1);
	assert_int_equal(web_pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjX+", out, sizeof(out)), -1);
}

static void test_b64url(void **state)
{
	unsigned char raw[32], back[32];
	char txt[64];
	int i;

	(void)state;
	for (i = 0; i < 32; i++)
		raw[i] = (unsigned char)(i * 37 + 250);
	assert_int_equal(web_b64url_encode(raw, 32, txt, sizeof(txt)), 0);
	assert_int_equal(strlen(txt), 43);
	assert_null(strpbrk(txt, "+/="));
	assert_int_equal(web_b64url_decode(txt, strlen(txt), back, sizeof(back)), 32);
	assert_memory_equal(raw, back, 32);
	assert_int_equal(web_b64url_decode("ab+c", 4, back, sizeof(back)), -1);
	assert_int_equal(web_b64url_decode("abcde", 5, back, sizeof(back)), -1);
	assert_int_equal(web_b64url_encode(raw, 32, txt, 43), -1);
}

static void test_authorize_url(void **state)
{
	struct web_oidc_cfg cfg = { "https://org.example", "0oa WEB", "secret", "https://jit.example.com/callback",
				    NULL };
	struct ojit_buf b;

	(void)state;
	ojit_buf_init(&b, 4096);
	assert_int_equal(web_oidc_authorize_url(&cfg, "st&ate", "no=nce", "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
						&b),
			 0);
	assert_non_null(strstr(b.data, "https://org.example/oauth2/v1/authorize?response_type=code&"));
	assert_non_null(strstr(b.data, "&client_id=0oa%20WEB&"));
	assert_non_null(strstr(b.data, "&redirect_uri=https%3A%2F%2Fjit.example.com%2Fcallback&"));
	assert_non_null(strstr(b.data, "&state=st%26ate&nonce=no%3Dnce&"));
	assert_non_null(strstr(b.data, "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
				       "&code_challenge_method=S256"));
	/* The verifier itself never goes to the browser. */
	assert_null(strstr(b.data, "dBjftJeZ4CVP"));
	ojit_buf_free(&b);
}

static void test_random_tokens_differ(void **state)
{
	char a[64], b[64];

	(void)state;
	assert_int_equal(web_random_token(a, sizeof(a)), 0);
	assert_int_equal(web_random_token(b, sizeof(b)), 0);
	assert_int_equal(strlen(a), WEB_TOKEN_LEN);
	assert_string_not_equal(a, b);
}

static void test_cookie_get(void **state)
{
	char v[64];

	(void)state;
	assert_int_equal(web_cookie_get("ojit=abc", "ojit", v, sizeof(v)), 1);
	assert_string_equal(v, "abc");
	assert_int_equal(web_cookie_get("a=1; ojit-signin=zz;  ojit=abc ", "ojit", v, sizeof(v)), 1);
	assert_string_equal(v, "abc");
	assert_int_equal(web_cookie_get("a=1; ojit-signin=zz", "ojit", v, sizeof(v)), 0);
	assert_int_equal(web_cookie_get("xojit=1", "ojit", v, sizeof(v)), 0);
	assert_int_equal(web_cookie_get(NULL, "ojit", v, sizeof(v)), 0);
	assert_int_equal(web_cookie_get("", "ojit", v, sizeof(v)), 0);
	/* Two of ours: one was tossed in by someone else; neither counts. */
	assert_int_equal(web_cookie_get("ojit=abc; ojit=evil", "ojit", v, sizeof(v)), -1);
	/* Too long for the buffer, or characters no cookie-octet allows. */
	assert_int_equal(web_cookie_get("ojit=0123456789", "ojit", v, 8), -1);
	assert_int_equal(web_cookie_get("ojit=a\"b", "ojit", v, sizeof(v)), -1);
	assert_int_equal(web_cookie_get("ojit=a\\b", "ojit", v, sizeof(v)), -1);
	assert_int_equal(web_cookie_get("bare; ojit=ok", "ojit", v, sizeof(v)), 1);
	assert_string_equal(v, "ok");
}

static void test_form_parse(void **state)
{
	struct web_form f;
	const char *body = "csrf=tok&reason=a+b%20c%26d%3D&group=prod-db-ssh&empty=&alone";

	(void)state;
	assert_int_equal(web_form_parse(&f, body, strlen(body)), 0);
	assert_int_equal(f.n, 5);
	assert_string_equal(web_form_get(&f, "csrf"), "tok");
	assert_string_equal(web_form_get(&f, "reason"), "a b c&d=");
	assert_string_equal(web_form_get(&f, "group"), "prod-db-ssh");
	assert_string_equal(web_form_get(&f, "empty"), "");
	assert_string_equal(web_form_get(&f, "alone"), "");
	assert_null(web_form_get(&f, "missing"));
	web_form_free(&f);
	assert_int_equal(web_form_parse(&f, "", 0), 0);
	assert_int_equal(f.n, 0);
	web_form_free(&f);
}

static void test_form_refusals(void **state)
{
	struct web_form f;
	char *big;
	size_t i;

	(void)state;
	assert_int_equal(web_form_parse(&f, "a=%4", 4), WEB_FORM_EBAD);
	assert_int_equal(web_form_parse(&f, "a=%zz", 5), WEB_FORM_EBAD);
	assert_int_equal(web_form_parse(&f, "a=%00", 5), WEB_FORM_EBAD);
	assert_int_equal(web_form_parse(&f, "a=x\0y", 5), WEB_FORM_EBAD);
	/* A second csrf would let an attacker's field and the page's disagree. */
	assert_int_equal(web_form_parse(&f, "csrf=a&csrf=b", 13), WEB_FORM_EBAD);
	assert_int_equal(web_form_parse(&f, "=v", 2), WEB_FORM_EBAD);
	/* The size bound: 16 KiB passes, one byte more does not. */
	big = malloc(WEB_FORM_MAX + 2);
	assert_non_null(big);
	memcpy(big, "reason=", 7);
	memset(big + 7, 'x', WEB_FORM_MAX + 1 - 7);
	assert_int_equal(web_form_parse(&f, big, WEB_FORM_MAX), 0);
	assert_int_equal(strlen(web_form_get(&f, "reason")), WEB_FORM_MAX - 7);
	web_form_free(&f);
	assert_int_equal(web_form_parse(&f, big, WEB_FORM_MAX + 1), WEB_FORM_ETOOBIG);
	free(big);
	/* At most WEB_FORM_MAX_FIELDS fields. */
	{
		struct ojit_buf b;

		ojit_buf_init(&b, 0);
		for (i = 0; i < WEB_FORM_MAX_FIELDS; i++)
			ojit_buf_printf(&b, "%sk%zu=v", i ? "&" : "", i);
		assert_int_equal(web_form_parse(&f, b.data, b.len), 0);
		web_form_free(&f);
		ojit_buf_printf(&b, "&one=more");
		assert_int_equal(web_form_parse(&f, b.data, b.len), WEB_FORM_EBAD);
		ojit_buf_free(&b);
	}
}

static void test_origin_of(void **state)
{
	char o[128];

	(void)state;
	assert_int_equal(web_origin_of("https://JIT.Example.com:8443/x?y", o, sizeof(o)), 0);
	assert_string_equal(o, "https://jit.example.com:8443");
	assert_int_equal(web_origin_of("http://127.0.0.1:8080", o, sizeof(o)), 0);
	assert_string_equal(o, "http://127.0.0.1:8080");
	assert_int_equal(web_origin_of("ftp://x", o, sizeof(o)), -1);
	assert_int_equal(web_origin_of("https://user@evil.com", o, sizeof(o)), -1);
	assert_int_equal(web_origin_of("https://", o, sizeof(o)), -1);
}

static void test_origin_check(void **state)
{
	const char *me = "https://jit.example.com";

	(void)state;
	assert_true(web_origin_ok("https://jit.example.com", NULL, me));
	assert_true(web_origin_ok(NULL, "https://jit.example.com/request", me));
	assert_true(web_origin_ok("", "https://jit.example.com/", me));
	/* A cross-site form, an opaque origin, a look-alike host. */
	assert_false(web_origin_ok("https://evil.example.net", "https://jit.example.com/", me));
	assert_false(web_origin_ok("null", NULL, me));
	assert_false(web_origin_ok(NULL, "https://jit.example.com.evil.net/", me));
	assert_false(web_origin_ok(NULL, "https://jit.example.com", me));
	assert_false(web_origin_ok("http://jit.example.com", NULL, me));
	assert_false(web_origin_ok(NULL, NULL, me));
}

static void test_forwarded_only_from_trusted_proxy(void **state)
{
	char ip[64];
	int https;

	(void)state;
	/* No proxy configured: the headers are ignored. */
	assert_int_equal(web_client_info("192.0.2.7", NULL, "10.9.9.9", "https", 0, ip, sizeof(ip), &https), 0);
	assert_string_equal(ip, "192.0.2.7");
	assert_int_equal(https, -1);
	/* From someone other than the proxy: ignored too. */
	assert_int_equal(web_client_info("192.0.2.7", "127.0.0.1", "10.9.9.9", "https", 0, ip, sizeof(ip), &https), 0);
	assert_string_equal(ip, "192.0.2.7");
	assert_int_equal(https, -1);
	assert_int_equal(web_client_info("192.0.2.7", "127.0.0.1", "10.9.9.9", "http", 1, ip, sizeof(ip), &https), 0);
	assert_int_equal(https, 1);
	/* From the proxy: its (last) entry, whatever the client put before. */
	assert_int_equal(web_client_info("127.0.0.1", "127.0.0.1", "6.6.6.6, 198.51.100.4", "https", 0, ip,
					 sizeof(ip), &https),
			 0);
	assert_string_equal(ip, "198.51.100.4");
	assert_int_equal(https, 1);
	assert_int_equal(web_client_info("::ffff:127.0.0.1", "127.0.0.1", "2001:db8::1", "http", 1, ip, sizeof(ip),
					 &https),
			 0);
	assert_string_equal(ip, "2001:db8::1");
	assert_int_equal(https, 0);
	/* The proxy without headers: the peer and our own scheme. */
	assert_int_equal(web_client_info("127.0.0.1", "127.0.0.1", NULL, NULL, 1, ip, sizeof(ip), &https), 0);
	assert_string_equal(ip, "127.0.0.1");
	assert_int_equal(https, 1);
	/* Malformed from the proxy: refused. */
	assert_int_equal(web_client_info("127.0.0.1", "127.0.0.1", "not-an-ip", NULL, 0, ip, sizeof(ip), &https), -1);
	assert_int_equal(web_client_info("127.0.0.1", "127.0.0.1", "1.2.3.4,", NULL, 0, ip, sizeof(ip), &https), -1);
	assert_int_equal(web_client_info("127.0.0.1", "127.0.0.1", NULL, "gopher", 0, ip, sizeof(ip), &https), -1);
}

static void test_safe_path(void **state)
{
	(void)state;
	assert_true(web_safe_path("/"));
	assert_true(web_safe_path("/grants/12"));
	assert_true(web_safe_path("/request?group=prod-db-ssh"));
	assert_false(web_safe_path("//evil.example.net/"));
	assert_false(web_safe_path("/\\evil.example.net"));
	assert_false(web_safe_path("https://evil.example.net/"));
	assert_false(web_safe_path("/a b"));
	assert_false(web_safe_path(""));
	assert_false(web_safe_path(NULL));
}

/* A compact JWS with this payload and a dummy signature. */
static char *make_jwt(const char *payload)
{
	static char out[4096];
	char p[2048];

	assert_int_equal(web_b64url_encode((const unsigned char *)payload, strlen(payload), p, sizeof(p)), 0);
	ojit_snprintf(out, sizeof(out), "eyJhbGciOiJSUzI1NiJ9.%s.c2ln", p);
	return out;
}

static void test_id_token_claims(void **state)
{
	struct web_claims c;

	(void)state;
	assert_int_equal(web_id_token_claims(make_jwt("{\"sub\":\"00u1\",\"nonce\":\"n1\",\"iss\":\"https://o.example\","
						      "\"aud\":\"0oaWEB\",\"exp\":2000,\"iat\":1000,"
						      "\"preferred_username\":\"alice@example.com\"}"),
					 "0oaWEB", &c),
			 0);
	assert_string_equal(c.sub, "00u1");
	assert_string_equal(c.nonce, "n1");
	assert_string_equal(c.login, "alice@example.com");
	assert_true(c.aud_ok);
	assert_int_equal(c.exp, 2000);
	assert_int_equal(c.iat, 1000);
	/* Another audience, also in an array. */
	assert_int_equal(web_id_token_claims(make_jwt("{\"sub\":\"00u1\",\"nonce\":\"n1\",\"iss\":\"i\","
						      "\"aud\":[\"other\"],\"exp\":2000,\"iat\":1000}"),
					 "0oaWEB", &c),
			 0);
	assert_false(c.aud_ok);
	/* No nonce, no exp, not a JWT. */
	assert_int_equal(web_id_token_claims(make_jwt("{\"sub\":\"00u1\",\"iss\":\"i\",\"aud\":\"0oaWEB\",\"exp\":2000,"
						      "\"iat\":1000}"),
					 "0oaWEB", &c),
			 -1);
	assert_int_equal(web_id_token_claims(make_jwt("{\"sub\":\"00u1\",\"nonce\":\"n\",\"iss\":\"i\",\"iat\":1}"),
					 "0oaWEB", &c),
			 -1);
	assert_int_equal(web_id_token_claims("a.b", "0oaWEB", &c), -1);
	assert_int_equal(web_id_token_claims("a.b.c.d", "0oaWEB", &c), -1);
}

static struct web_claims claims(const char *sub, int64_t exp)
{
	struct web_claims c;

	memset(&c, 0, sizeof(c));
	ojit_strlcpy(c.sub, sub, sizeof(c.sub));
	ojit_strlcpy(c.login, sub, sizeof(c.login));
	c.exp = exp;
	return c;
}

static void test_sessions(void **state)
{
	struct web_session_view a, b, v;
	struct web_claims c = claims("00uA", 100000);

	(void)state;
	assert_int_equal(web_sessions_init(16, 4, 900, 3600), 0);
	assert_int_equal(web_session_create(&c, "tok.A.sig", 1000, &a), 0);
	assert_int_equal(strlen(a.id), WEB_TOKEN_LEN);
	assert_int_equal(strlen(a.csrf), WEB_TOKEN_LEN);
	assert_string_not_equal(a.id, a.csrf);
	assert_int_equal(web_session_find(a.id, 1001, &v), 1);
	assert_string_equal(v.id_token, "tok.A.sig");
	assert_string_equal(v.csrf, a.csrf);
	/* A wrong id (one character off) finds nothing. */
	ojit_strlcpy(b.id, a.id, sizeof(b.id));
	b.id[5] = b.id[5] == 'A' ? 'B' : 'A';
	assert_int_equal(web_session_find(b.id, 1001, &v), 0);
	assert_int_equal(web_session_find("short", 1001, &v), 0);
	/* Idle for 900 s: gone. */
	assert_int_equal(web_session_find(a.id, 1001 + 900, &v), 0);
	/* Absolute end: max_age (3600) even when used all along. */
	assert_int_equal(web_session_create(&c, "tok.A.sig", 1000, &a), 0);
	assert_int_equal(web_session_find(a.id, 1800, &v), 1);
	assert_int_equal(web_session_find(a.id, 2600, &v), 1);
	assert_int_equal(web_session_find(a.id, 3400, &v), 1);
	assert_int_equal(web_session_find(a.id, 4200, &v), 1);
	assert_int_equal(web_session_find(a.id, 4599, &v), 1);
	assert_int_equal(web_session_find(a.id, 4600, &v), 0);
	/* ... or the ID token's expiry when that comes first. */
	c = claims("00uB", 1500);
	assert_int_equal(web_session_create(&c, "tok.B.sig", 1000, &b), 0);
	assert_int_equal(web_session_find(b.id, 1499, &v), 1);
	assert_int_equal(web_session_find(b.id, 1500, &v), 0);
	/* Sign-out. */
	c = claims("00uA", 100000);
	assert_int_equal(web_session_create(&c, "tok.A.sig", 1000, &a), 0);
	web_session_end(a.id);
	assert_int_equal(web_session_find(a.id, 1001, &v), 0);
	web_sessions_free();
}

static void test_sessions_bounded(void **state)
{
	struct web_session_view first, v;
	struct web_claims c = claims("00uA", 100000);
	int i;

	(void)state;
	assert_int_equal(web_sessions_init(16, 4, 900, 3600), 0);
	assert_int_equal(web_session_create(&c, "t.0.s", 1000, &first), 0);
	for (i = 1; i < 16; i++)
		assert_int_equal(web_session_create(&c, "t.i.s", 1000 + i, &v), 0);
	assert_int_equal(web_session_count() <= 16, 1);
	/* The 17th pushes out the least recently used: the first. */
	assert_int_equal(web_session_create(&c, "t.17.s", 1100, &v), 0);
	assert_int_equal(web_session_find(first.id, 1101, &v), 0);
	web_sessions_free();
}

static void test_login_state_once(void **state)
{
	struct web_login_view l, got, other;
	int64_t now = 5000;

	(void)state;
	assert_int_equal(web_sessions_init(16, 4, 900, 3600), 0);
	assert_int_equal(web_login_begin("/grants/7", now, &l), 0);
	assert_string_equal(l.next, "/grants/7");
	assert_string_not_equal(l.state, l.nonce);
	assert_string_not_equal(l.verifier, l.binder);
	assert_int_equal(web_login_take(l.state, l.binder, now + 1, &got), 1);
	assert_string_equal(got.nonce, l.nonce);
	assert_string_equal(got.verifier, l.verifier);
	/* Replayed: gone. */
	assert_int_equal(web_login_take(l.state, l.binder, now + 2, &got), 0);
	/* Brought by another browser (wrong binder): refused, and gone. */
	assert_int_equal(web_login_begin("//evil.example.net", now, &l), 0);
	assert_string_equal(l.next, "/");
	assert_int_equal(web_login_take(l.state, "someone-elses-binder", now + 1, &got), 0);
	assert_int_equal(web_login_take(l.state, l.binder, now + 1, &got), 0);
	/* Expired after WEB_LOGIN_TTL. */
	assert_int_equal(web_login_begin("/", now, &l), 0);
	assert_int_equal(web_login_take(l.state, l.binder, now + WEB_LOGIN_TTL, &got), 0);
	/* A flood of sign-ins pushes out the oldest unfinished one only. */
	assert_int_equal(web_login_begin("/", now, &other), 0);
	assert_int_equal(web_login_begin("/", now + 1, &l), 0);
	assert_int_equal(web_login_begin("/", now + 2, &l), 0);
	assert_int_equal(web_login_begin("/", now + 3, &l), 0);
	assert_int_equal(web_login_begin("/", now + 4, &l), 0);
	assert_int_equal(web_login_take(other.state, other.binder, now + 5, &got), 0);
	assert_int_equal(web_login_take(l.state, l.binder, now + 5, &got), 1);
	web_sessions_free();
}

static const char *write_conf(const char *text)
{
	static char path[] = "/tmp/test_web_conf_XXXXXX";
	int fd;

	memcpy(path + strlen(path) - 6, "XXXXXX", 6);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

#define CONF_HEAD "[okta]\norg_url = https://org.example\nclient_id = api\nprivate_key = /k.pem\n" \
	"[integration]\nname = t\n"

static void test_config(void **state)
{
	struct web_config *cfg = malloc(sizeof(*cfg));
	char err[2048];
	const char *p;

	(void)state;
	assert_non_null(cfg);
	/* The whole file, as okta-jitd reads it: one reader (config_load). */
	p = write_conf("[okta]\norg_url = https://org.example/\nclient_id = api\nprivate_key = /k.pem\n"
		       "[integration]\nname = t\n[daemon]\nsocket = /run/x.sock\n"
		       "[web]\nurl = https://jit.example.com/\nclient_id = 0oaWEB\nlisten = 127.0.0.1:9443\n"
		       "trusted_proxy = 127.0.0.1\nsession_max = 30m\n"
		       "[flow prod-db]\ngroups = prod-db-ssh, prod-db-admin\nmax_duration = 4h\nreason = required\n");
	assert_int_equal(web_config_load(p, cfg, err, sizeof(err)), 0);
	unlink(p);
	assert_string_equal(cfg->url, "https://jit.example.com");
	assert_string_equal(cfg->org_url, "https://org.example");
	assert_string_equal(cfg->origin, "https://jit.example.com");
	assert_string_equal(cfg->listen_host, "127.0.0.1");
	assert_int_equal(cfg->listen_port, 9443);
	assert_int_equal(cfg->session_max, 1800);
	assert_true(cfg->session_idle <= 1800);
	assert_string_equal(cfg->socket, WEB_DEFAULT_SOCKET);
	assert_true(cfg->secure_cookie);

	/* An unknown [web] key: file, line and key named. */
	p = write_conf(CONF_HEAD "[web]\nurl = https://jit.example.com\n"
		       "client_id = x\nlisten_on = 0.0.0.0:80\n");
	assert_int_equal(web_config_load(p, cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":10: [web] listen_on: unknown key"));
	assert_non_null(strstr(err, p));
	unlink(p);

	/* Plain HTTP off loopback is refused; so is a half TLS setup. */
	p = write_conf(CONF_HEAD "[web]\nurl = https://jit.example.com\n"
		       "client_id = x\nlisten = 0.0.0.0:8080\n");
	assert_int_equal(web_config_load(p, cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "plain HTTP only on a loopback address"));
	unlink(p);
	p = write_conf(CONF_HEAD "[web]\nurl = https://jit.example.com\n"
		       "client_id = x\nlisten = 0.0.0.0:8443\ntls_cert = /c.pem\n");
	assert_int_equal(web_config_load(p, cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "give tls_cert and tls_key both, or neither"));
	unlink(p);

	/* The loopback-HTTP test setup: no Secure cookie; elsewhere http:// is refused. */
	p = write_conf(CONF_HEAD "[web]\nurl = http://127.0.0.1:8080\n"
		       "client_id = x\n");
	assert_int_equal(web_config_load(p, cfg, err, sizeof(err)), 0);
	assert_false(cfg->secure_cookie);
	unlink(p);
	p = write_conf(CONF_HEAD "[web]\nurl = http://jit.example.com\n"
		       "client_id = x\n");
	assert_int_equal(web_config_load(p, cfg, err, sizeof(err)), -1);
	unlink(p);
	/* A url with a path, a bad trusted_proxy. */
	p = write_conf(CONF_HEAD "[web]\nurl = https://jit.example.com/jit\n"
		       "client_id = x\ntrusted_proxy = proxy.example\n");
	assert_int_equal(web_config_load(p, cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "[web] url"));
	assert_non_null(strstr(err, "[web] trusted_proxy"));
	unlink(p);
	free(cfg);
}

/* Two readers of one file once disagreed (okta-jitd refused session_idle,
 * okta-jit-web took an http:// url okta-jitd refused): each [web] line
 * below is accepted by both readers or refused by both. */
static void test_config_readers_agree(void **state)
{
	static const struct {
		const char *lines;
		int ok;
	} cases[] = {
		{ "url = https://jit.example.com\n", 1 },
		{ "url = https://jit.example.com:8443/\n", 1 },
		{ "url = http://127.0.0.1:8080\n", 1 },
		{ "url = http://localhost:8080\n", 1 },
		{ "url = http://[::1]:8080\n", 1 },
		{ "url = http://jit.example.com\n", 0 },
		{ "url = https://jit.example.com/jit\n", 0 },
		{ "url = https://JIT.example.com\n", 0 },
		{ "url = https://jit.example.com\nsession_idle = 10m\nmax_sessions = 64\n", 1 },
		{ "url = https://jit.example.com\nsession_max = 30m\n", 1 },
		{ "url = https://jit.example.com\nmax_sessions = 3\n", 0 },
		{ "url = https://jit.example.com\nlisten = 127.0.0.1:9000\ntrusted_proxy = 127.0.0.1\n", 1 },
		{ "url = https://jit.example.com\nlisten = [::1]:9000\ntrusted_proxy = ::1\n", 1 },
		{ "url = https://jit.example.com\nlisten = 0.0.0.0:9000\n", 0 },
		{ "url = https://jit.example.com\nlisten = 0.0.0.0:8443\ntls_cert = /c.pem\ntls_key = /k.pem\n", 1 },
		{ "url = https://jit.example.com\ntls_cert = /c.pem\n", 0 },
		{ "url = https://jit.example.com\ntrusted_proxy = proxy.example\n", 0 },
		{ "url = https://jit.example.com\nclient_secret_file = /etc/okta-jit/web-client-secret\n", 1 },
		{ "url = https://jit.example.com\nsocket = /run/t/web.sock\n", 1 },
		{ "url = https://jit.example.com\nsocket = web.sock\n", 0 },
		{ "url = https://jit.example.com\nlisten_on = 0.0.0.0:80\n", 0 },
	};
	struct web_config *wc = malloc(sizeof(*wc));
	size_t i;

	(void)state;
	assert_non_null(wc);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ojit_config *c = NULL;
		struct ojit_buf eb;
		char text[1024], err[2048];
		const char *p;
		int a, b;

		snprintf(text, sizeof(text), CONF_HEAD "[web]\nclient_id = 0oaWEB\n%s", cases[i].lines);
		p = write_conf(text);
		ojit_buf_init(&eb, 8192);
		a = config_load(p, &c, &eb) == 0;
		b = web_config_load(p, wc, err, sizeof(err)) == 0;
		if (a != cases[i].ok || b != cases[i].ok)
			fail_msg("case %zu (%s): okta-jitd %s, okta-jit-web %s: %s%s", i, cases[i].lines,
				 a ? "accepts" : "refuses", b ? "accepts" : "refuses", eb.data != NULL ? eb.data : "",
				 b ? "" : err);
		config_free(c);
		ojit_buf_free(&eb);
		unlink(p);
	}
	free(wc);
}

static void test_secret_file(void **state)
{
	char out[64], err[256];
	const char *p;

	(void)state;
	p = write_conf("s3cret\n");
	chmod(p, 0600);
	assert_int_equal(web_config_read_secret(p, out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "s3cret");
	chmod(p, 0644);
	assert_int_equal(web_config_read_secret(p, out, sizeof(out), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no group or other"));
	unlink(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_html_escape),
		cmocka_unit_test(test_html_head_escapes_title_and_user),
		cmocka_unit_test(test_ct_streq),
		cmocka_unit_test(test_pkce_rfc7636_vector),
		cmocka_unit_test(test_b64url),
		cmocka_unit_test(test_authorize_url),
		cmocka_unit_test(test_random_tokens_differ),
		cmocka_unit_test(test_cookie_get),
		cmocka_unit_test(test_form_parse),
		cmocka_unit_test(test_form_refusals),
		cmocka_unit_test(test_origin_of),
		cmocka_unit_test(test_origin_check),
		cmocka_unit_test(test_forwarded_only_from_trusted_proxy),
		cmocka_unit_test(test_safe_path),
		cmocka_unit_test(test_id_token_claims),
		cmocka_unit_test(test_sessions),
		cmocka_unit_test(test_sessions_bounded),
		cmocka_unit_test(test_login_state_once),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_config_readers_agree),
		cmocka_unit_test(test_secret_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
