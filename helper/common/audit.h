/* audit.h - the one escaping rule for every value in an audit line.
 *
 * An audit record is "key=value key=value ...": the ledger stores its
 * detail, syslog and the journal get the whole line, `okta-jit audit`
 * prints it and notification payloads carry it. Values come from users
 * (a reason, a PAM service name), from Okta (an error text) and from the
 * code; each is written through audit_value, so none can close itself
 * early and start a key of its own. Pure code, no daemon state. */
#ifndef OJIT_AUDIT_H
#define OJIT_AUDIT_H

#include <stdarg.h>
#include <stddef.h>

/* The audit detail's size, as the ledger stores it (with the NUL). */
#define AUDIT_DETAIL_MAX 1024

/* Append val to dst (a NUL-terminated string in a buffer of n bytes) the
 * one way: bare when it is 1-200 bytes of [A-Za-z0-9._:/@+,-], else in
 * double quotes with '"' and '\\' escaped by a backslash and bytes below
 * 0x20 and DEL as \xNN. A value that does not fit is cut inside its
 * quotes (the quotes always close). Returns 0, or -1 if anything was
 * cut. */
int audit_value(char *dst, size_t n, const char *val);

/* Build an audit detail from fmt, a printf-style literal of key=value
 * pairs whose values are conversions: every %s is written by audit_value
 * (and must follow a '='), %d and %lld as decimal numbers, %% as '%'.
 * Text between conversions is the code's own and is copied. Any other
 * conversion is a programming error: the detail ends there, with
 * "format_error=1". Returns 0, or -1 if anything was cut or wrong. */
int audit_vformat(char *dst, size_t n, const char *fmt, va_list ap);
int audit_format(char *dst, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Read a line written by these rules back: the next "key=value" (or a
 * bare word: its value is "") at *pos, with a quoted value unescaped
 * (\" \\ \xNN; a \x00 is refused). key and val are NUL-terminated and
 * cut to their sizes. Returns 1 and moves *pos past the pair, 0 at the
 * end, -1 for an unclosed quote or a bad escape (then *pos is not
 * moved). */
int audit_next(const char **pos, char *key, size_t kn, char *val, size_t vn);

/* The value of the first pair named key in line: 0, or -1 when there is
 * none (or the line is malformed before it). */
int audit_get(const char *line, const char *key, char *val, size_t vn);

/* A person as people read it (issue 22): the local name with the Okta
 * login beside it, "alice (alice@example.com)"; the name alone when the
 * login is empty or the same text; the login alone without a name. */
void audit_person(char *out, size_t n, const char *name, const char *login);

#endif
