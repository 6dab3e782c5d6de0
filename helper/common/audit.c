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
