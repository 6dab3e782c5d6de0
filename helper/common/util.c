/* util.c - logging, secret wiping and bounded string helpers. */
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"

static enum ojit_log_target log_target = OJIT_LOG_STDERR;
static int log_debug;
static const char *log_ident = "okta-jit";
static int log_stderr_is_journal;
static ojit_journal_fn log_journal_fn;
static int log_journal;

static const struct {
	const char *journal, *text;
} log_keys[OJIT_LK_COUNT] = {
	[OJIT_LK_EVENT] = { "OKTA_JIT_EVENT", "event" },
	[OJIT_LK_USER] = { "OKTA_JIT_USER", "user" },
	[OJIT_LK_LOGIN] = { "OKTA_JIT_LOGIN", "user_login" },
	[OJIT_LK_GROUP] = { "OKTA_JIT_GROUP", "group" },
	[OJIT_LK_ACTOR] = { "OKTA_JIT_ACTOR", "actor" },
	[OJIT_LK_ACTOR_LOGIN] = { "OKTA_JIT_ACTOR_LOGIN", "actor_login" },
	[OJIT_LK_REQUEST_ID] = { "OKTA_REQUEST_ID", "okta_request_id" },
	[OJIT_LK_ERROR_CODE] = { "OKTA_JIT_ERROR_CODE", "error_code" },
};

const char *ojit_log_key_journal(enum ojit_log_key k)
{
	return (unsigned)k < OJIT_LK_COUNT ? log_keys[k].journal : "";
}

const char *ojit_log_key_text(enum ojit_log_key k)
{
	return (unsigned)k < OJIT_LK_COUNT ? log_keys[k].text : "";
}

/* systemd sets JOURNAL_STREAM=DEV:INODE when it connects stderr to the
 * journal (systemd.exec(5)); a copy there of what syslog already sent
 * would be every line twice. The device and inode must match stderr's
 * own, so a variable inherited from a parent that is not ours is not
 * believed. (At worst a forged match drops the stderr copy; the syslog
 * copy is always sent.) */
static int stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char *end = NULL;

	if (e == NULL || *e < '0' || *e > '9')
		return 0;
	errno = 0;
	dev = strtoull(e, &end, 10);
	if (errno != 0 || end == NULL || *end != ':' || end[1] < '0' || end[1] > '9')
		return 0;
	ino = strtoull(end + 1, &end, 10);
	if (errno != 0 || end == NULL || *end != '\0')
		return 0;
	if (fstat(STDERR_FILENO, &st) != 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void ojit_log_set_journal(ojit_journal_fn fn)
{
	log_journal_fn = fn;
}

void ojit_log_init(const char *ident, enum ojit_log_target target, int debug)
{
	log_ident = ident;
	log_target = target;
	log_debug = debug;
	log_stderr_is_journal = target == OJIT_LOG_STDERR && stderr_is_journal();
	/* Under systemd the journal takes the fields natively: stderr is the
	 * journal, or a detached okta-jitd (the syslog target) runs in a
	 * service systemd started, whose syslog would reach the same journal
	 * as flat text. */
	log_journal = log_journal_fn != NULL &&
		      (log_stderr_is_journal || (target == OJIT_LOG_SYSLOG && getenv("INVOCATION_ID") != NULL));
	if (target == OJIT_LOG_SYSLOG)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_AUTHPRIV);
}

int ojit_log_to_journal(void)
{
	return log_journal;
}

int ojit_log_debug_enabled(void)
{
	return log_debug;
}

int ojit_log_stderr_echo(void)
{
	return log_target == OJIT_LOG_STDERR && !log_stderr_is_journal;
}

/* " key=value" for each field of f present, escaped (audit.h). */
static void fields_text(char *dst, size_t n, const struct ojit_log_fields *f)
{
	size_t len = strlen(dst);
	int k;

	if (f == NULL)
		return;
	if (f->grant_id != 0)
		(void)ojit_snprintf(dst + len, n - len, " grant_id=%" PRId64, f->grant_id);
	for (k = 0; k < OJIT_LK_COUNT; k++) {
		if (f->v[k] == NULL || f->v[k][0] == '\0')
			continue;
		len = strlen(dst);
		if (ojit_snprintf(dst + len, n - len, " %s=", log_keys[k].text) < 0) {
			dst[len] = '\0';
			return;
		}
		if (audit_value(dst, n, f->v[k]) != 0)
			return;
	}
}

static void log_v(int prio, const char *func, const struct ojit_log_fields *f, const char *fmt, va_list ap)
{
	char msg[2048];
	int off = 0;

	if (prio >= LOG_DEBUG && !log_debug)
		return;
	if (func != NULL) {
		off = snprintf(msg, sizeof(msg), "%s: ", func);
		if (off < 0 || (size_t)off >= sizeof(msg))
			off = 0;
	}
	vsnprintf(msg + off, sizeof(msg) - (size_t)off, fmt, ap);
	/* Log lines can carry user names and Okta text: never let them
	 * inject terminal escapes or fake syslog lines. */
	ojit_strip_controls(msg);
	if (log_journal && log_journal_fn(prio, log_target == OJIT_LOG_SYSLOG ? LOG_AUTHPRIV : LOG_DAEMON, log_ident,
					  func, msg, f) == 0)
		return;
	fields_text(msg, sizeof(msg), f);
	if (log_target == OJIT_LOG_SYSLOG)
		syslog(prio, "%s", msg);
	else if (log_stderr_is_journal)
		/* journald takes a leading <N> as the line's level (sd-daemon(3));
		 * without it every line, warnings and errors too, is stored at
		 * the unit's SyslogLevel=, info (seen under a real systemd: make
		 * systemd-check). */
		fprintf(stderr, "<%d>%s: %s\n", prio & LOG_PRIMASK, log_ident, msg);
	else
		fprintf(stderr, "%s: %s\n", log_ident, msg);
}

void ojit_log(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_v(prio, NULL, NULL, fmt, ap);
	va_end(ap);
}

void ojit_log_f(int prio, const char *func, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_v(prio, func, NULL, fmt, ap);
	va_end(ap);
}

void ojit_log_kv(int prio, const char *func, const struct ojit_log_fields *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_v(prio, func, f, fmt, ap);
	va_end(ap);
}

void ojit_log_audit(const char *line, const struct ojit_log_fields *f)
{
	char safe[4096];

	ojit_strlcpy(safe, line, sizeof(safe));
	ojit_strip_controls(safe);
	if (log_journal && log_journal_fn(LOG_NOTICE, LOG_AUTHPRIV, log_ident, NULL, safe, f) == 0)
		return;
	/* syslog reaches the journal under systemd; a copy on stderr only
	 * where stderr is not the journal too (okta-jitd --foreground by
	 * hand), and not when debug lines go there anyway. */
	syslog(LOG_AUTHPRIV | LOG_NOTICE, "%s", safe);
	if (ojit_log_stderr_echo() && !log_debug)
		fprintf(stderr, "%s: %s\n", log_ident, safe);
}

void ojit_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		explicit_bzero(p, n);
}

void ojit_free_secret(char *s)
{
	if (s == NULL)
		return;
	ojit_wipe(s, strlen(s));
	free(s);
}

char *ojit_strip_controls(char *s)
{
	unsigned char *p;

	if (s == NULL)
		return s;
	for (p = (unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
	return s;
}

int ojit_strlcpy(char *dst, const char *src, size_t n)
{
	size_t len;

	if (n == 0)
		return -1;
	len = strlen(src);
	if (len >= n) {
		memcpy(dst, src, n - 1);
		dst[n - 1] = '\0';
		return -1;
	}
	memcpy(dst, src, len + 1);
	return 0;
}

int ojit_snprintf(char *dst, size_t n, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(dst, n, fmt, ap);
	va_end(ap);
	if (r < 0 || (size_t)r >= n)
		return -1;
	return r;
}

int ojit_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end = NULL;
	long long v;

	if (s == NULL || *s == '\0')
		return -1;
	/* strtoll would skip leading white space and accept '+' */
	if (!(*s == '-' || (*s >= '0' && *s <= '9')))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return -1;
	if (v < min || v > max)
		return -1;
	*out = (int64_t)v;
	return 0;
}

void ojit_buf_init(struct ojit_buf *b, size_t limit)
{
	memset(b, 0, sizeof(*b));
	b->limit = limit;
}

static int buf_reserve(struct ojit_buf *b, size_t need)
{
	size_t ncap;
	char *n;

	if (need <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 256;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			return -1;
		ncap *= 2;
	}
	n = realloc(b->data, ncap);
	if (n == NULL)
		return -1;
	b->data = n;
	b->cap = ncap;
	return 0;
}

int ojit_buf_append(struct ojit_buf *b, const void *p, size_t n)
{
	if (b->limit != 0 && (b->len + n > b->limit || b->len + n < b->len)) {
		b->overflow = 1;
		return -1;
	}
	if (buf_reserve(b, b->len + n + 1) != 0)
		return -1;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int ojit_buf_printf(struct ojit_buf *b, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	int r;
	char *big;

	va_start(ap, fmt);
	r = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (r < 0)
		return -1;
	if ((size_t)r < sizeof(small))
		return ojit_buf_append(b, small, (size_t)r);
	big = malloc((size_t)r + 1);
	if (big == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(big, (size_t)r + 1, fmt, ap);
	va_end(ap);
	r = ojit_buf_append(b, big, (size_t)r);
	free(big);
	return r;
}

void ojit_buf_free(struct ojit_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

void ojit_buf_free_secret(struct ojit_buf *b)
{
	ojit_wipe(b->data, b->cap);
	ojit_buf_free(b);
}

int64_t ojit_now(void)
{
	return (int64_t)time(NULL);
}

int64_t ojit_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ojit_sleep_ms(int64_t ms)
{
	struct timespec ts, rem;

	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &rem) != 0 && errno == EINTR)
		ts = rem;
}

int ojit_pct_encode(struct ojit_buf *b, const char *in, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)in[i];

		if (ch < 0x21 || ch >= 0x7f || ch == '%' || ch == ':' || ch == ',') {
			char e[3] = { '%', hex[ch >> 4], hex[ch & 15] };

			if (ojit_buf_append(b, e, 3) != 0)
				return -1;
		} else if (ojit_buf_append(b, in + i, 1) != 0) {
			return -1;
		}
	}
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int ojit_pct_decode(const char *in, char *out, size_t n)
{
	size_t len = 0;

	for (; *in != '\0'; in++) {
		int ch = (unsigned char)*in;

		if (ch == '%') {
			int hi = hexval(in[1]), lo = hi >= 0 ? hexval(in[2]) : -1;

			if (lo < 0 || (hi | lo) == 0)
				return -1;
			ch = hi << 4 | lo;
			in += 2;
		}
		if (len + 1 >= n)
			return -1;
		out[len++] = (char)ch;
	}
	if (n == 0)
		return -1;
	out[len] = '\0';
	return (int)len;
}

int ojit_b64_digit(unsigned char c, int url)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == (url ? '-' : '+'))
		return 62;
	if (c == (url ? '_' : '/'))
		return 63;
	return -1;
}

/* The leak checker of an ASan build (make asan-check) stops the process
 * through ptrace, which a non-dumpable process refuses. */
#if defined(__SANITIZE_ADDRESS__)
#define OJIT_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define OJIT_SANITIZED 1
#endif
#endif

int ojit_no_core_dumps(void)
{
	struct rlimit rl = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &rl) != 0)
		return -1;
#ifndef OJIT_SANITIZED
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return -1;
#endif
	return 0;
}
