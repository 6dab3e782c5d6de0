/* duration.h - human durations: "90s", "15m", "1h30m", "2d". */
#ifndef OJIT_DURATION_H
#define OJIT_DURATION_H

#include <stddef.h>
#include <stdint.h>

/* The longest duration accepted anywhere: one year. */
#define DURATION_MAX_SECONDS (366LL * 24 * 3600)

/* Parse s into seconds. Units d, h, m, s, each at most once and in that
 * order; at least one unit; no sign, no spaces; the total must be > 0 and
 * at most DURATION_MAX_SECONDS. Returns 0, or -1 with *why set to a static
 * explanation. */
int duration_parse(const char *s, int64_t *out, const char **why);

/* Format seconds as "1h30m" ("0s" for 0, negative as "-" prefix). Returns
 * -1 when buf is too small. */
int duration_format(int64_t seconds, char *buf, size_t n);

#endif
