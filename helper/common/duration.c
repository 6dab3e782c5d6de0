/* duration.c - parse and format human durations. */
#include "duration.h"

#include <stdio.h>
#include <string.h>

int duration_parse(const char *s, int64_t *out, const char **why)
{
	static const char units[] = "dhms";
	static const int64_t mult[] = { 86400, 3600, 60, 1 };
	int next_unit = 0; /* index into units that may come next */
	int64_t total = 0;
	const char *p = s;
	const char *dummy;

	if (why == NULL)
		why = &dummy;
	if (s == NULL || *s == '\0') {
		*why = "empty duration";
		return -1;
	}
	while (*p != '\0') {
		int64_t n = 0;
		int digits = 0;
		const char *u;
		int idx;

		while (*p >= '0' && *p <= '9') {
			n = n * 10 + (*p - '0');
			if (n > DURATION_MAX_SECONDS) {
				*why = "duration too long (at most 366d)";
				return -1;
			}
			p++;
			digits++;
		}
		if (digits == 0) {
			*why = "expected a number (durations look like 90s, 15m, 1h30m, 2d)";
			return -1;
		}
		if (*p == '\0') {
			*why = "missing unit after number (use s, m, h or d)";
			return -1;
		}
		u = strchr(units, *p);
		if (u == NULL) {
			*why = "unknown unit (use s, m, h or d)";
			return -1;
		}
		idx = (int)(u - units);
		if (idx < next_unit) {
			*why = "units must appear once each, largest first (e.g. 1h30m)";
			return -1;
		}
		next_unit = idx + 1;
		total += n * mult[idx];
		if (total > DURATION_MAX_SECONDS) {
			*why = "duration too long (at most 366d)";
			return -1;
		}
		p++;
	}
	if (total <= 0) {
		*why = "duration must be greater than zero";
		return -1;
	}
	*out = total;
	return 0;
}

int duration_format(int64_t seconds, char *buf, size_t n)
{
	static const char units[] = "dhms";
	static const int64_t mult[] = { 86400, 3600, 60, 1 };
	size_t off = 0;
	int i, r;
	uint64_t v;

	if (n == 0)
		return -1;
	buf[0] = '\0';
	if (seconds == 0)
		return snprintf(buf, n, "0s") >= (int)n ? -1 : 0;
	if (seconds < 0) {
		if (n < 2)
			return -1;
		buf[off++] = '-';
		buf[off] = '\0';
		v = (uint64_t)(-(seconds + 1)) + 1;
	} else {
		v = (uint64_t)seconds;
	}
	for (i = 0; i < 4; i++) {
		uint64_t q = v / (uint64_t)mult[i];

		if (q == 0)
			continue;
		v -= q * (uint64_t)mult[i];
		r = snprintf(buf + off, n - off, "%llu%c", (unsigned long long)q, units[i]);
		if (r < 0 || (size_t)r >= n - off)
			return -1;
		off += (size_t)r;
	}
	return 0;
}
