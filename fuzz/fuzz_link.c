/* fuzz_link.c - libFuzzer harness for the Link header parser
 * (http_link_next). Byte 0 picks the size of the output buffer (small
 * sizes exercise truncation); the rest is the header value. A found target
 * must be NUL-terminated inside the buffer and come from the input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "okta_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *value, *out;
	size_t n;
	int r;

	if (size < 1)
		return 0;
	n = data[0] < 128 ? (size_t)data[0] + 1 : HTTP_MAX_URL;
	value = malloc(size);
	out = malloc(n);
	if (value == NULL || out == NULL)
		abort();
	memcpy(value, data + 1, size - 1);
	value[size - 1] = '\0';
	memset(out, 'X', n);
	r = http_link_next(value, out, n);
	if (r < -1 || r > 1)
		abort();
	if (r == 1) {
		size_t len;

		if (memchr(out, '\0', n) == NULL)
			abort();
		len = strlen(out);
		if (len > 0 && memmem(value, size - 1, out, len) == NULL)
			abort();
	}
	free(out);
	free(value);
	return 0;
}
