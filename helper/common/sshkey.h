/* sshkey.h - one authorized_keys line from an Okta profile, checked and
 * written again in a normal form before sshd ever reads it (issue 18:
 * `okta-jit keys` is sshd's AuthorizedKeysCommand). What an Okta admin, or
 * anyone who can edit a profile attribute, puts there must not become a
 * second line, an option sshd obeys (command=, from=, permitopen=...)
 * unless the config allows them, or a blob sshd parses differently from
 * what its type says. libc only: no OpenSSL needed for a base64 check. */
#ifndef OJIT_SSHKEY_H
#define OJIT_SSHKEY_H

#include <stddef.h>

#define SSHKEY_MAX 64              /* keys per user, at most */
#define SSHKEY_LINE_MAX 16384      /* one key as given, and as written, in bytes */
#define SSHKEY_OPTIONS_MAX 1024    /* the options field, when allowed */
#define SSHKEY_COMMENT_MAX 256     /* the comment, in bytes after stripping */
#define SSHKEY_BLOB_MAX 8192       /* the decoded key blob (RSA 16384 bits fits) */
#define SSHKEY_RSA_MIN_BITS 2048
#define SSHKEY_RSA_MAX_BITS 16384

/* Check the key line in (NUL-terminated) and write its normal form to out
 * ("[OPTIONS ]TYPE BASE64[ COMMENT]", single spaces, no line end): 0, or -1
 * with *why a short static reason (never any of the input). The type is
 * one of ssh-ed25519, ssh-rsa (at least 2048 bits), ecdsa-sha2-nistp256,
 * -nistp384, -nistp521, sk-ssh-ed25519@openssh.com and
 * sk-ecdsa-sha2-nistp256@openssh.com; the base64 decodes strictly and the
 * blob is exactly what its type holds, its own type string first. Options
 * are refused unless allow_options. Control characters in the comment are
 * dropped; a line break, NUL or other control character anywhere else
 * refuses the key. */
int sshkey_normalise(const char *in, int allow_options, char *out, size_t outlen, const char **why);

#endif
