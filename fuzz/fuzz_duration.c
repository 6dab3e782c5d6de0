/* fuzz_duration.c - libFuzzer harness for duration_parse and
 * duration_format. The input, as a string, goes to duration_parse; what it
 * accepts must be in (0, DURATION_MAX_SECONDS] and survive a round trip
 * through duration_format. The first 8 bytes, as any int64 (negative and
 * INT64_MIN included), also go to duration_format with buffers of every
 * small size. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void format_any(int64_t v)
{
	char buf[64], *small;
	size_t n;

	if (duration_format(v, buf, sizeof(buf)) != 0)
		abort(); /* 64 bytes hold any int64 in d/h/m/s */
	if (memchr(buf, '\0', sizeof(buf)) == NULL)
		abort();
	for (n = 1; n <= strlen(buf) + 1; n++) {
		small = malloc(n); /* exact size: a write past it is an ASan report */
		if (small == NULL)
			abort();
		if (duration_format(v, small, n) == 0 && strcmp(small, buf) != 0)
			abort();
		free(small);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, buf[64];
	int64_t v, again;
	const char *why = NULL;

	s = malloc(size + 1);
	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	if (duration_parse(s, &v, &why) == 0) {
		if (v <= 0 || v > DURATION_MAX_SECONDS)
			abort();
		if (duration_format(v, buf, sizeof(buf)) != 0 || duration_parse(buf, &again, &why) != 0 ||
		    again != v)
			abort();
	} else if (why == NULL) {
		abort();
	}
	if (size >= 8) {
		memcpy(&v, data, sizeof(v));
		format_any(v);
	}
	free(s);
	return 0;
}
