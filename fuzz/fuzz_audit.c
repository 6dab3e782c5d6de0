/* fuzz_audit.c - libFuzzer harness for the audit line's writer and reader
 * (helper/common/audit.c; issue 22: syslog and stderr lines, and the
 * details `okta-jit audit` and okta-jit-web read back, are parsed with
 * audit_next). The input, split at its first NUL byte, is two values:
 * written by audit_format as user= and group= of a line, each must come
 * back byte for byte as the one value of its key (unless cut: then the
 * line still parses to its end). The whole input, as text, goes to
 * audit_next and audit_get with small buffers: they never read or write
 * out of bounds and always end. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void read_any(const char *text)
{
	const char *p = text;
	char key[8], val[16];
	size_t guard = 0;
	int r;

	while ((r = audit_next(&p, key, sizeof(key), val, sizeof(val))) == 1) {
		if (strlen(key) >= sizeof(key) || strlen(val) >= sizeof(val))
			abort();
		if (++guard > strlen(text) + 1)
			abort(); /* a pair read without moving on */
	}
	if (r == 0 && *p != '\0')
		abort();
	(void)audit_get(text, "user", val, sizeof(val));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, line[AUDIT_DETAIL_MAX], key[64], val[AUDIT_DETAIL_MAX];
	const char *a, *b, *p;
	int cut, users = 0, groups = 0;

	s = malloc(size + 2);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	s[size + 1] = '\0';
	read_any(s);
	a = s;
	b = s + strlen(s) + 1 <= s + size ? s + strlen(s) + 1 : s + size;
	cut = audit_format(line, sizeof(line), "event=x user=%s group=%s n=%d", a, b, 7) != 0;
	p = line;
	while (audit_next(&p, key, sizeof(key), val, sizeof(val)) == 1) {
		if (strcmp(key, "user") == 0) {
			users++;
			if (!cut && strcmp(val, a) != 0)
				abort();
		} else if (strcmp(key, "group") == 0) {
			groups++;
			if (!cut && strcmp(val, b) != 0)
				abort();
		} else if (strcmp(key, "event") != 0 && strcmp(key, "n") != 0 && !cut) {
			abort(); /* a key no one wrote */
		}
	}
	if (*p != '\0' || users != 1 || (!cut && groups != 1))
		abort();
	free(s);
	return 0;
}
