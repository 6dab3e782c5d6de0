/* audit.c - the one escaping rule for audit values (audit.h). */
#include "audit.h"

#include <stdio.h>
#include <string.h>

#define AUDIT_BARE_MAX 200

static int bare_ok(const char *v)
{
	size_t len = strlen(v);

	if (len == 0 || len > AUDIT_BARE_MAX)
		return 0;
	return strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:/@+,-") == len;
}

/* Append the n bytes of s whole, or nothing. */
static int put(char *dst, size_t cap, size_t *len, const char *s, size_t n)
{
	if (*len + n >= cap)
		return -1;
	memcpy(dst + *len, s, n);
	*len += n;
	dst[*len] = '\0';
	return 0;
}

int audit_value(char *dst, size_t n, const char *val)
{
	const unsigned char *p;
	size_t len;
	char esc[5];
	int r = 0;

	if (dst == NULL || n == 0)
		return -1;
	len = strlen(dst);
	if (val == NULL)
		val = "";
	if (bare_ok(val))
		return put(dst, n, &len, val, strlen(val));
	/* Room is kept for the closing quote before anything is written, so
	 * a cut value still ends in a quote: nothing after it can be read as
	 * part of it. */
	if (n < 3 || put(dst, n - 1, &len, "\"", 1) != 0)
		return -1;
	for (p = (const unsigned char *)val; *p != '\0'; p++) {
		size_t k;

		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			k = 2;
		} else if (*p < 0x20 || *p == 0x7f) {
			snprintf(esc, sizeof(esc), "\\x%02x", *p);
			k = 4;
		} else {
			esc[0] = (char)*p;
			k = 1;
		}
		if (put(dst, n - 1, &len, esc, k) != 0) {
			r = -1;
			break;
		}
	}
	dst[len++] = '"';
	dst[len] = '\0';
	return r;
}

int audit_vformat(char *dst, size_t n, const char *fmt, va_list ap)
{
	const char *f;
	size_t len = 0;
	char num[32];
	int r = 0;

	if (dst == NULL || n == 0)
		return -1;
	dst[0] = '\0';
	for (f = fmt; *f != '\0'; f++) {
		if (*f != '%') {
			if (put(dst, n, &len, f, 1) != 0)
				return -1;
			continue;
		}
		f++;
		if (*f == '%') {
			if (put(dst, n, &len, "%", 1) != 0)
				return -1;
		} else if (*f == 's' && f - 2 >= fmt && f[-2] == '=') {
			if (audit_value(dst, n, va_arg(ap, const char *)) != 0)
				r = -1;
			len = strlen(dst);
		} else if (*f == 'd') {
			snprintf(num, sizeof(num), "%d", va_arg(ap, int));
			if (put(dst, n, &len, num, strlen(num)) != 0)
				return -1;
		} else if (strncmp(f, "lld", 3) == 0) {
			snprintf(num, sizeof(num), "%lld", va_arg(ap, long long));
			if (put(dst, n, &len, num, strlen(num)) != 0)
				return -1;
			f += 2;
		} else {
			/* A value not in a key's place, or a conversion this
			 * cannot write safely: stop rather than guess. */
			if (len > 0 && dst[len - 1] != ' ')
				(void)put(dst, n, &len, " ", 1);
			(void)put(dst, n, &len, "format_error=1", 14);
			return -1;
		}
	}
	return r;
}

int audit_format(char *dst, size_t n, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = audit_vformat(dst, n, fmt, ap);
	va_end(ap);
	return r;
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

/* Append byte c to out (size n) at *len, dropping what does not fit. */
static void put_byte(char *out, size_t n, size_t *len, char c)
{
	if (*len + 1 < n)
		out[(*len)++] = c;
}

int audit_next(const char **pos, char *key, size_t kn, char *val, size_t vn)
{
	const char *p = *pos;
	size_t kl = 0, vl = 0;

	if (key == NULL || kn == 0 || val == NULL || vn == 0)
		return -1;
	key[0] = val[0] = '\0';
	while (*p == ' ')
		p++;
	if (*p == '\0') {
		*pos = p;
		return 0;
	}
	for (; *p != '\0' && *p != ' ' && *p != '='; p++)
		put_byte(key, kn, &kl, *p);
	key[kl] = '\0';
	if (*p != '=') {
		*pos = p;
		return 1;
	}
	p++;
	if (*p != '"') {
		for (; *p != '\0' && *p != ' '; p++)
			put_byte(val, vn, &vl, *p);
		val[vl] = '\0';
		*pos = p;
		return 1;
	}
	for (p++; *p != '"'; p++) {
		int hi, lo;

		if (*p == '\0')
			return -1;
		if (*p != '\\') {
			put_byte(val, vn, &vl, *p);
			continue;
		}
		p++;
		if (*p == '"' || *p == '\\') {
			put_byte(val, vn, &vl, *p);
		} else if (*p == 'x' && (hi = hexval(p[1])) >= 0 && (lo = hexval(p[2])) >= 0 && (hi | lo) != 0) {
			put_byte(val, vn, &vl, (char)(hi * 16 + lo));
			p += 2;
		} else {
			return -1;
		}
	}
	val[vl] = '\0';
	*pos = p + 1;
	return 1;
}

int audit_get(const char *line, const char *key, char *val, size_t vn)
{
	const char *p = line != NULL ? line : "";
	char k[64];

	while (audit_next(&p, k, sizeof(k), val, vn) == 1)
		if (strcmp(k, key) == 0)
			return 0;
	if (val != NULL && vn > 0)
		val[0] = '\0';
	return -1;
}

void audit_person(char *out, size_t n, const char *name, const char *login)
{
	if (out == NULL || n == 0)
		return;
	if (name == NULL || name[0] == '\0')
		snprintf(out, n, "%s", login != NULL ? login : "");
	else if (login == NULL || login[0] == '\0' || strcmp(name, login) == 0)
		snprintf(out, n, "%s", name);
	else
		snprintf(out, n, "%s (%s)", name, login);
}
