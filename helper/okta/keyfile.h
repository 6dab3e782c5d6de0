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

/* Check ownership and mode of an open fd as keyfile_load does. */
int keyfile_check_mode(int fd, const char *path, char *err, size_t errlen);

#endif
