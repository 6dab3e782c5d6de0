/* keyfile.h - load the Okta connector private key, refusing loose files. */
#ifndef OJIT_KEYFILE_H
#define OJIT_KEYFILE_H

#include <openssl/evp.h>
#include <stddef.h>

#define KEYFILE_MAX_BYTES (64 * 1024)

/* Load a PEM private key (PKCS#8 or traditional; RSA of at least 2048 bits
 * or EC P-256). The file must be a regular file, not a symlink, with no
 * group or other permission bits, and owned by root when we run as root
 * (as ssh refuses a loose identity file). Returns 0, or -1 with a message
 * in err that says what to fix. */
int keyfile_load(const char *path, EVP_PKEY **out, char *err, size_t errlen);

/* Is pkey a key Okta takes for private_key_jwt (RSA 2048+ or EC P-256)?
 * what names it in the message. */
int keyfile_check_type(EVP_PKEY *pkey, const char *what, char *err, size_t errlen);

/* Check ownership and mode of an open fd as keyfile_load does. */
int keyfile_check_mode(int fd, const char *path, char *err, size_t errlen);

/* The fleet signing key (issue 17 follow-up): an Ed25519 private key in
 * PEM, with the same file rules as keyfile_load (a granter's
 * [daemon] fleet_signing_key). */
int keyfile_load_ed25519(const char *path, EVP_PKEY **out, char *err, size_t errlen);

/* A fleet verify key: an Ed25519 public key in PEM (a gate's [daemon]
 * fleet_verify_keys). Public, so readable by all; but a regular file, not
 * a symlink, writable by its owner alone (root when we run as root):
 * whoever can replace it can let anyone into the gate. */
int keyfile_load_ed25519_public(const char *path, EVP_PKEY **out, char *err, size_t errlen);

#endif
