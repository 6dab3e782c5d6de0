/* web_http.c - cookies, forms, origins and the trusted proxy. */
#include "web_http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int web_ct_streq(const char *a, const char *b)
{
	size_t la, lb, i;
	unsigned char d = 0;

	if (a == NULL || b == NULL)
		return 0;
	la = strlen(a);
	lb = strlen(b);
	if (la != lb || la == 0)
		return 0;
	for (i = 0; i < la; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

static int is_cookie_octet(unsigned char c)
{
	/* RFC 6265 cookie-octet: no CTLs, whitespace, DQUOTE, comma,
	 * semicolon or backslash. */
	return c > 0x20 && c < 0x7f && c != '"' && c != ',' && c != ';' && c != '\\';
}

int web_cookie_get(const char *header, const char *name, char *out, size_t n)
{
	size_t nlen = strlen(name);
	const char *p = header;
	int found = 0;

	if (n == 0)
		return -1;
	out[0] = '\0';
	if (header == NULL)
		return 0;
	while (*p != '\0') {
		const char *k, *v, *e;

		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		if (*p == '\0')
			break;
		k = p;
		while (*p != '\0' && *p != '=' && *p != ';')
			p++;
		if (*p != '=') /* a bare token: skip it, it is not ours */
			continue;
		v = ++p;
		while (*p != '\0' && *p != ';')
			p++;
		e = p;
		while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if ((size_t)(v - 1 - k) != nlen || strncmp(k, name, nlen) != 0)
			continue;
		if (found)
			return -1;
		found = 1;
		if ((size_t)(e - v) >= n)
			return -1;
		for (const char *c = v; c < e; c++)
			if (!is_cookie_octet((unsigned char)*c))
				return -1;
		memcpy(out, v, (size_t)(e - v));
		out[e - v] = '\0';
	}
	if (!found)
		out[0] = '\0';
	return found;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode [s, e) into dst in place-safe order (dst never passes s). */
static int form_decode(char *dst, const char *s, const char *e)
{
	while (s < e) {
		if (*s == '+') {
			*dst++ = ' ';
			s++;
		} else if (*s == '%') {
			int hi, lo;

			if (e - s < 3 || (hi = hexval(s[1])) < 0 || (lo = hexval(s[2])) < 0)
				return -1;
			if (hi == 0 && lo == 0)
				return -1;
			*dst++ = (char)(hi * 16 + lo);
			s += 3;
		} else {
			*dst++ = *s++;
		}
	}
	*dst = '\0';
	return 0;
}

int web_form_parse(struct web_form *f, const char *body, size_t len)
{
	char *p, *end;
	size_t i;

	memset(f, 0, sizeof(*f));
	if (len > WEB_FORM_MAX)
		return WEB_FORM_ETOOBIG;
	if (memchr(body, '\0', len) != NULL)
		return WEB_FORM_EBAD;
	/* Keys and values are decoded in place: decoding only shrinks. */
	f->buf = malloc(len + 1);
	if (f->buf == NULL)
		return WEB_FORM_ENOMEM;
	memcpy(f->buf, body, len);
	f->buf[len] = '\0';
	p = f->buf;
	end = f->buf + len;
	while (p < end) {
		char *amp = memchr(p, '&', (size_t)(end - p));
		char *pe = amp != NULL ? amp : end;
		char *eq = memchr(p, '=', (size_t)(pe - p));

		if (pe == p) { /* "a=1&&b=2": an empty pair, harmless */
			p = pe + 1;
			continue;
		}
		if (f->n == WEB_FORM_MAX_FIELDS)
			goto bad;
		*pe = '\0';
		if (eq == NULL)
			eq = pe; /* "key" alone: an empty value */
		else
			*eq = '\0';
		if (form_decode(p, p, eq) != 0)
			goto bad;
		if (eq != pe && form_decode(eq + 1, eq + 1, pe) != 0)
			goto bad;
		f->f[f->n].key = p;
		f->f[f->n].val = eq != pe ? eq + 1 : pe;
		if (f->f[f->n].key[0] == '\0')
			goto bad;
		/* A key twice would let a page and an attacker's field
		 * disagree about which one counts. */
		for (i = 0; i < f->n; i++)
			if (strcmp(f->f[i].key, f->f[f->n].key) == 0)
				goto bad;
		f->n++;
		p = pe + 1;
	}
	return 0;
bad:
	web_form_free(f);
	return WEB_FORM_EBAD;
}

const char *web_form_get(const struct web_form *f, const char *key)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->f[i].key, key) == 0)
			return f->f[i].val;
	return NULL;
}

void web_form_free(struct web_form *f)
{
	if (f->buf != NULL) {
		/* Forms carry CSRF tokens and reasons: no copies left about. */
		ojit_wipe(f->buf, strlen(f->buf));
		free(f->buf);
	}
	memset(f, 0, sizeof(*f));
}

int web_url_encode(struct ojit_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
			if (ojit_buf_append(b, s, 1) != 0)
				return -1;
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };

			if (ojit_buf_append(b, e, 3) != 0)
				return -1;
		}
	}
	return 0;
}

int web_origin_of(const char *url, char *out, size_t n)
{
	const char *host, *end;
	size_t i, len;

	if (strncasecmp(url, "https://", 8) == 0)
		host = url + 8;
	else if (strncasecmp(url, "http://", 7) == 0)
		host = url + 7;
	else
		return -1;
	end = host + strcspn(host, "/?#");
	if (end == host || memchr(host, '@', (size_t)(end - host)) != NULL)
		return -1;
	len = (size_t)(end - url);
	if (len >= n)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)url[i];

		if (c <= 0x20 || c >= 0x7f)
			return -1;
		out[i] = (char)tolower(c);
	}
	out[len] = '\0';
	return 0;
}

int web_origin_ok(const char *origin, const char *referer, const char *expected)
{
	size_t el = strlen(expected);

	if (origin != NULL && origin[0] != '\0')
		return strcmp(origin, expected) == 0;
	if (referer != NULL && strncmp(referer, expected, el) == 0 && referer[el] == '/')
		return 1;
	return 0;
}

/* Same address, whatever its spelling (::ffff:127.0.0.1 is 127.0.0.1). */
static int same_ip(const char *a, const char *b)
{
	unsigned char ba[16], bb[16];
	static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (inet_pton(AF_INET6, a, ba) != 1) {
		memcpy(ba, v4mapped, 12);
		if (inet_pton(AF_INET, a, ba + 12) != 1)
			return 0;
	}
	if (inet_pton(AF_INET6, b, bb) != 1) {
		memcpy(bb, v4mapped, 12);
		if (inet_pton(AF_INET, b, bb + 12) != 1)
			return 0;
	}
	return memcmp(ba, bb, 16) == 0;
}

int web_client_info(const char *peer, const char *trusted_proxy, const char *xff, const char *xfp,
		    int tls, char *ip_out, size_t n, int *https_out)
{
	unsigned char tmp[16];
	const char *last;
	char ip[64];
	size_t len;

	*https_out = tls ? 1 : -1;
	if (ojit_strlcpy(ip_out, peer != NULL ? peer : "?", n) != 0)
		return -1;
	if (trusted_proxy == NULL || peer == NULL || !same_ip(peer, trusted_proxy))
		return 0;
	if (xfp != NULL) {
		if (strcasecmp(xfp, "https") == 0)
			*https_out = 1;
		else if (strcasecmp(xfp, "http") == 0)
			*https_out = 0;
		else
			return -1;
	}
	if (xff == NULL)
		return 0;
	/* The last entry is the one our proxy wrote; earlier ones are what
	 * the client claimed and prove nothing. */
	last = strrchr(xff, ',');
	last = last != NULL ? last + 1 : xff;
	while (*last == ' ' || *last == '\t')
		last++;
	len = strcspn(last, " \t");
	if (len == 0 || len >= sizeof(ip) || last[len + strspn(last + len, " \t")] != '\0')
		return -1;
	memcpy(ip, last, len);
	ip[len] = '\0';
	if (inet_pton(AF_INET, ip, tmp) != 1 && inet_pton(AF_INET6, ip, tmp) != 1)
		return -1;
	return ojit_strlcpy(ip_out, ip, n);
}

int web_safe_path(const char *p)
{
	size_t i;

	if (p == NULL || p[0] != '/' || p[1] == '/' || p[1] == '\\')
		return 0;
	for (i = 0; p[i] != '\0'; i++)
		if (i >= 256 || (unsigned char)p[i] <= 0x20 || (unsigned char)p[i] >= 0x7f || p[i] == '\\')
			return 0;
	return 1;
}
