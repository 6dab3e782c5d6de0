/* keyfile.c - read and vet the connector private key. */
#include "keyfile.h"

#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

int keyfile_check_mode(int fd, const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s: cannot stat: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		return -1;
	}
	if ((st.st_mode & 077) != 0) {
		snprintf(err, errlen,
			 "%s: permissions %04o are too open: the private key must not be readable or writable by group or others (run: chmod 600 %s)",
			 path, (unsigned)(st.st_mode & 07777), path);
		return -1;
	}
	if (geteuid() == 0 && st.st_uid != 0) {
		snprintf(err, errlen, "%s: owned by uid %u, must be owned by root (run: chown root:root %s)",
			 path, (unsigned)st.st_uid, path);
		return -1;
	}
	if (geteuid() != 0 && st.st_uid != geteuid()) {
		snprintf(err, errlen, "%s: owned by uid %u, not by the user running okta-jit", path,
			 (unsigned)st.st_uid);
		return -1;
	}
	return 0;
}

/* Encrypted keys would need a passphrase at every daemon start; refuse
 * them instead of prompting. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	*(int *)u = 1;
	return -1;
}

int keyfile_check_type(EVP_PKEY *pkey, const char *path, char *err, size_t errlen)
{
	char curve[64] = "";
	size_t clen = 0;

	if (EVP_PKEY_is_a(pkey, "RSA")) {
		int bits = EVP_PKEY_get_bits(pkey);

		if (bits < 2048) {
			snprintf(err, errlen, "%s: RSA key has %d bits; Okta needs at least 2048", path, bits);
			return -1;
		}
		return 0;
	}
	if (EVP_PKEY_is_a(pkey, "EC")) {
		if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, curve,
						   sizeof(curve), &clen) != 1 ||
		    strcmp(curve, "prime256v1") != 0) {
			snprintf(err, errlen, "%s: EC key on curve '%s'; only P-256 (ES256) is supported",
				 path, curve[0] ? curve : "unknown");
			return -1;
		}
		return 0;
	}
	snprintf(err, errlen, "%s: unsupported key type; use an RSA (2048+) or EC P-256 key", path);
	return -1;
}

static int check_ed25519(EVP_PKEY *pkey, const char *path, char *err, size_t errlen)
{
	if (EVP_PKEY_is_a(pkey, "ED25519"))
		return 0;
	snprintf(err, errlen, "%s: not an Ed25519 key (make one with: openssl genpkey -algorithm ed25519)", path);
	return -1;
}

/* Read at most KEYFILE_MAX_BYTES of path into a fresh buffer (*buf, of
 * KEYFILE_MAX_BYTES + 1 bytes: the caller wipes and frees it). public_file:
 * the mode rules of a public key, else keyfile_check_mode's. */
static int read_key_file(const char *path, int public_file, unsigned char **buf, size_t *len, char *err,
			 size_t errlen)
{
	struct stat st;
	ssize_t n;
	int fd, r = -1;

	*buf = NULL;
	*len = 0;
	/* O_NONBLOCK: a FIFO planted at the path must not hang the daemon */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ELOOP)
			snprintf(err, errlen, "%s: is a symbolic link; name the file itself", path);
		else
			snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	if (!public_file) {
		if (keyfile_check_mode(fd, path, err, errlen) != 0)
			goto out;
	} else if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s: cannot stat: %s", path, strerror(errno));
		goto out;
	} else if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		goto out;
	} else if ((st.st_mode & 022) != 0) {
		snprintf(err, errlen, "%s: writable by group or others (mode %04o; run: chmod 644 %s)", path,
			 (unsigned)(st.st_mode & 07777), path);
		goto out;
	} else if (geteuid() == 0 && st.st_uid != 0) {
		snprintf(err, errlen, "%s: owned by uid %u, must be owned by root (run: chown root:root %s)", path,
			 (unsigned)st.st_uid, path);
		goto out;
	}
	*buf = malloc(KEYFILE_MAX_BYTES + 1);
	if (*buf == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	while ((n = read(fd, *buf + *len, KEYFILE_MAX_BYTES + 1 - *len)) > 0) {
		*len += (size_t)n;
		if (*len > KEYFILE_MAX_BYTES)
			break;
	}
	if (n < 0) {
		snprintf(err, errlen, "%s: read error: %s", path, strerror(errno));
		goto out;
	}
	if (*len > KEYFILE_MAX_BYTES) {
		snprintf(err, errlen, "%s: larger than %d bytes; not a key", path, KEYFILE_MAX_BYTES);
		goto out;
	}
	r = 0;
out:
	close(fd);
	return r;
}

static void wipe_free(unsigned char *buf)
{
	if (buf != NULL) {
		ojit_wipe(buf, KEYFILE_MAX_BYTES + 1);
		free(buf);
	}
}

/* A root-only, unencrypted PEM private key at path that check() accepts
 * (expect: the PEM forms named when it is not one). */
static int load_private(const char *path, const char *expect,
			int (*check)(EVP_PKEY *, const char *, char *, size_t), EVP_PKEY **out, char *err,
			size_t errlen)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	BIO *bio = NULL;
	EVP_PKEY *pkey = NULL;
	int encrypted = 0;
	int r = -1;

	*out = NULL;
	if (read_key_file(path, 0, &buf, &len, err, errlen) != 0)
		goto out;
	bio = BIO_new_mem_buf(buf, (int)len);
	if (bio == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, &encrypted);
	ERR_clear_error();
	if (pkey == NULL) {
		if (encrypted)
			snprintf(err, errlen, "%s: the key is encrypted; store it unencrypted, readable by root alone", path);
		else
			snprintf(err, errlen, "%s: not a PEM private key (expected %s)", path, expect);
		goto out;
	}
	if (check(pkey, path, err, errlen) != 0)
		goto out;
	*out = pkey;
	pkey = NULL;
	r = 0;
out:
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	wipe_free(buf);
	return r;
}

int keyfile_load_ed25519(const char *path, EVP_PKEY **out, char *err, size_t errlen)
{
	return load_private(path, "-----BEGIN PRIVATE KEY-----", check_ed25519, out, err, errlen);
}

int keyfile_load_ed25519_public(const char *path, EVP_PKEY **out, char *err, size_t errlen)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	BIO *bio = NULL;
	EVP_PKEY *pkey = NULL;
	int r = -1;

	*out = NULL;
	if (read_key_file(path, 1, &buf, &len, err, errlen) != 0)
		goto out;
	bio = BIO_new_mem_buf(buf, (int)len);
	if (bio == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	ERR_clear_error();
	if (pkey == NULL) {
		snprintf(err, errlen, "%s: not a PEM public key (expected -----BEGIN PUBLIC KEY-----; make it with: "
			 "openssl pkey -in fleet-signing.key -pubout)", path);
		goto out;
	}
	if (check_ed25519(pkey, path, err, errlen) != 0)
		goto out;
	*out = pkey;
	pkey = NULL;
	r = 0;
out:
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	wipe_free(buf);
	return r;
}

int keyfile_load(const char *path, EVP_PKEY **out, char *err, size_t errlen)
{
	return load_private(path, "-----BEGIN PRIVATE KEY----- or a traditional RSA/EC key", keyfile_check_type, out, err,
			    errlen);
}
