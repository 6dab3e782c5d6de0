/* fuzz_sshkey.c - libFuzzer harness for sshkey_normalise (issue 18: an
 * authorized_keys line from an Okta profile, attacker-written). The input,
 * as a string, is checked with options refused and allowed; what is
 * accepted must be one line without control characters, fit its buffer,
 * and be accepted again unchanged (the normal form is a fixed point), and
 * with options refused it must start with a known key type. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sshkey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const char *in, int allow)
{
	static char out[SSHKEY_LINE_MAX + 1], again[SSHKEY_LINE_MAX + 1];
	const char *why = NULL;
	size_t i;

	if (sshkey_normalise(in, allow, out, sizeof(out), &why) != 0) {
		if (why == NULL || why[0] == '\0' || out[0] != '\0')
			abort(); /* a refusal says why and leaves nothing */
		return;
	}
	for (i = 0; out[i] != '\0'; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			abort();
	if (!allow && strncmp(out, "ssh-", 4) != 0 && strncmp(out, "ecdsa-", 6) != 0 && strncmp(out, "sk-", 3) != 0)
		abort();
	if (sshkey_normalise(out, allow, again, sizeof(again), &why) != 0 || strcmp(out, again) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size > SSHKEY_LINE_MAX + 64)
		return 0;
	s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	check(s, 0);
	check(s, 1);
	free(s);
	return 0;
}
