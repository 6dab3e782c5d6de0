/* util.h - small helpers shared by okta-jitd and okta-jit: logging, secret
 * wiping, bounded string handling and number parsing. */
#ifndef OJIT_UTIL_H
#define OJIT_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define OJIT_VERSION "0.1.0"
#define OJIT_USER_AGENT "okta-jit/" OJIT_VERSION

/* Where log lines go: stderr (foreground, CLI) or syslog LOG_AUTHPRIV. */
enum ojit_log_target { OJIT_LOG_STDERR, OJIT_LOG_SYSLOG };

void ojit_log_init(const char *ident, enum ojit_log_target target, int debug);
void ojit_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int ojit_log_debug_enabled(void);
/* 1 when log lines go to stderr and stderr is not the systemd journal:
 * lines also sent to syslog (the audit trail) are echoed there only then,
 * so the journal gets each once. */
int ojit_log_stderr_echo(void);

/* The facts a log line carries besides its text (issue 22): each is a
 * journal field under systemd (OKTA_JIT_EVENT=..., GRANT_ID=...) and an
 * escaped key=value pair elsewhere (event=..., grant_id=...; audit.h's
 * one escaping rule). NULL or "" leaves a field out; grant_id 0 too. */
enum ojit_log_key {
	OJIT_LK_EVENT,       /* OKTA_JIT_EVENT        event */
	OJIT_LK_USER,        /* OKTA_JIT_USER         user (the local name) */
	OJIT_LK_LOGIN,       /* OKTA_JIT_LOGIN        user_login (the user's Okta login) */
	OJIT_LK_GROUP,       /* OKTA_JIT_GROUP        group */
	OJIT_LK_ACTOR,       /* OKTA_JIT_ACTOR        actor (a local name, or okta-jitd, okta, auto, pam, root) */
	OJIT_LK_ACTOR_LOGIN, /* OKTA_JIT_ACTOR_LOGIN  actor_login */
	OJIT_LK_REQUEST_ID,  /* OKTA_REQUEST_ID       okta_request_id */
	OJIT_LK_ERROR_CODE,  /* OKTA_JIT_ERROR_CODE   error_code */
	OJIT_LK_COUNT
};
struct ojit_log_fields {
	int64_t grant_id; /* GRANT_ID grant_id */
	const char *v[OJIT_LK_COUNT];
};
/* The journal's and the key=value text's name of field k. */
const char *ojit_log_key_journal(enum ojit_log_key k);
const char *ojit_log_key_text(enum ojit_log_key k);

/* A log line with fields: under the journal one entry with them; else
 * the text, then " key=value" for each field present. */
void ojit_log_kv(int prio, const char *func, const struct ojit_log_fields *f, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define error_kv(f, ...) ojit_log_kv(3, __func__, f, __VA_ARGS__)
#define warn_kv(f, ...) ojit_log_kv(4, __func__, f, __VA_ARGS__)

/* An audit line (already key=value text, its facts inside it): under
 * the journal one entry at LOG_NOTICE, facility authpriv, with f as
 * fields; else syslog(LOG_AUTHPRIV | LOG_NOTICE) and, where stderr is not
 * the journal, a copy on stderr. */
void ojit_log_audit(const char *line, const struct ojit_log_fields *f);

/* The journal's native sender (log_journal.c: sd_journal_send), linked
 * into okta-jitd and okta-jit-web only, so the PAM and NSS modules and the
 * CLI never load libsystemd. 0 when the journal took the entry; else the
 * caller writes the line the old way. func may be NULL. */
typedef int (*ojit_journal_fn)(int prio, int facility, const char *ident, const char *func, const char *msg,
			       const struct ojit_log_fields *f);
/* Offer the sender: it is used when the process runs under systemd
 * (stderr is the journal, JOURNAL_STREAM; or the syslog target in a
 * service systemd started, INVOCATION_ID). Call before ojit_log_init. */
void ojit_log_set_journal(ojit_journal_fn fn);
/* 1 when log lines go to the journal with fields. */
int ojit_log_to_journal(void);

/* OpenSSH-style helpers that put the function name in the message. */
#define error_f(...) ojit_log_f(3, __func__, __VA_ARGS__)
#define warn_f(...) ojit_log_f(4, __func__, __VA_ARGS__)
#define info_f(...) ojit_log_f(6, __func__, __VA_ARGS__)
#define debug_f(...) ojit_log_f(7, __func__, __VA_ARGS__)
void ojit_log_f(int prio, const char *func, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Wipe a secret so the compiler cannot drop the store. */
void ojit_wipe(void *p, size_t n);
/* Wipe a NUL-terminated secret string and free it. NULL is fine. */
void ojit_free_secret(char *s);

/* Replace every control character (C0, DEL) in s with '?', in place, so a
 * string can reach a terminal or syslog safely. Returns s. */
char *ojit_strip_controls(char *s);

/* Copy src into dst (size n) always NUL-terminated; returns -1 when src did
 * not fit (dst then holds a truncated copy), 0 otherwise. */
int ojit_strlcpy(char *dst, const char *src, size_t n);

/* snprintf that returns -1 on error or truncation, else the length. */
int ojit_snprintf(char *dst, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Parse a base-10 integer that must fill the whole string and lie in
 * [min, max]. Returns 0 or -1. */
int ojit_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out);

/* A growable byte buffer with a hard cap; always NUL-terminated. */
struct ojit_buf {
	char *data;
	size_t len;
	size_t cap;
	size_t limit; /* 0 = no limit */
	int overflow; /* set when an append would pass limit */
};
void ojit_buf_init(struct ojit_buf *b, size_t limit);
int ojit_buf_append(struct ojit_buf *b, const void *p, size_t n);
int ojit_buf_printf(struct ojit_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void ojit_buf_free(struct ojit_buf *b);
/* Wipes the contents before freeing (for buffers that held secrets). */
void ojit_buf_free_secret(struct ojit_buf *b);

/* Monotonic and wall clocks in seconds / milliseconds. */
/* Percent-encoding of a snapshot's profile fields (issue 18): every byte
 * below 0x21, 0x7f and above, and '%', ':' and ',' become %XX, so a value
 * holds no field or line separator. encode appends to b (0, or -1 when b's
 * limit is reached); decode writes NUL-terminated text to out and returns
 * its length, or -1 for a bad escape, an encoded NUL, or no room. */
int ojit_pct_encode(struct ojit_buf *b, const char *in, size_t len);
int ojit_pct_decode(const char *in, char *out, size_t n);

/* The value (0-63) of one base64 digit, or -1: url = 0 for RFC 4648's
 * standard alphabet (+ /), 1 for base64url (- _). Padding is the
 * caller's. */
int ojit_b64_digit(unsigned char c, int url);

int64_t ojit_now(void);
int64_t ojit_mono_ms(void);
/* Sleep for ms milliseconds (restarts on EINTR). */
void ojit_sleep_ms(int64_t ms);

/* For a process that holds a secret (okta-jitd's Okta key, okta-jit-web's
 * client secret and sessions): no core dump is ever written (RLIMIT_CORE
 * 0, hard limit too, so a child cannot raise it), and the process is not
 * dumpable (no ptrace or /proc/PID/mem from another process of its uid)
 * except in a sanitizer build, whose leak checker must ptrace it. 0, or -1
 * with errno. */
int ojit_no_core_dumps(void);

#endif
