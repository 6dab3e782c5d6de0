/* okta_key.h - where the Okta connector's private key lives (issue 21):
 * a PEM file, a TPM 2.0 key (persistent handle or TSS2 key file, through
 * the OpenSSL 3 "tpm2" provider), a PKCS#11 object (the "pkcs11"
 * provider) or a systemd credential. A key held by a provider is never
 * exported: each signature opens the provider and the key, signs with
 * EVP_DigestSign under the provider's property query and closes them
 * again, so only the public half is ever in this process. */
#ifndef OJIT_OKTA_KEY_H
#define OJIT_OKTA_KEY_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

enum okta_key_kind {
	OKTA_KEY_FILE,       /* a PEM private key file, in memory */
	OKTA_KEY_CREDENTIAL, /* a systemd credential holding a PEM key, in memory */
	OKTA_KEY_TPM2,       /* tpm2:handle:0x81..., or a TSS2 key file */
	OKTA_KEY_PKCS11,     /* pkcs11: URI (RFC 7512) */
};

#define OKTA_KEY_SPEC_MAX CONFIG_KEY_SPEC_MAX

struct okta_key;

/* Parse spec's form without touching any key or provider: 0, or -1 with
 * a message saying which forms are accepted. For the config checks. */
int okta_key_spec_check(const char *spec, char *err, size_t errlen);

/* Open the key spec names ("[okta] private_key"'s value). tcti: the TPM
 * to use ("[okta] tpm2_tcti"; NULL: the provider's default). Loads only
 * the providers the spec needs. Checks the key is one Okta takes. On
 * failure err says what is wrong and how to fix it. */
int okta_key_open(const char *spec, const char *tcti, struct okta_key **out, char *err, size_t errlen);
void okta_key_free(struct okta_key *k);
/* A credential key from a PEM private key in memory (doctor, which runs
 * outside the unit, decrypts the sealed credential itself); spec is the
 * configured credential:NAME. The caller wipes pem. */
int okta_key_from_pem(const char *spec, const unsigned char *pem, size_t len, struct okta_key **out, char *err,
		      size_t errlen);

enum okta_key_kind okta_key_kind(const struct okta_key *k);
const char *okta_key_spec(const struct okta_key *k);
/* The public half, held by the default provider (JWK, thumbprint). */
EVP_PKEY *okta_key_public(const struct okta_key *k);
/* "RS256" or "ES256". */
const char *okta_key_alg(const struct okta_key *k);
/* 1: the private half can be read out (it is in this process's memory,
 * or the provider hands it out); 0: it cannot. */
int okta_key_exportable(const struct okta_key *k);
/* When the key was made, as far as can be told (the file's mtime), epoch
 * seconds; 0: unknown (a TPM handle, a PKCS#11 object, a credential). */
int64_t okta_key_created(const struct okta_key *k);
/* For a file key: its mode bits and owner, else -1 / -1. */
void okta_key_file_mode(const struct okta_key *k, int *mode, long *uid);
/* Where the key lives, for doctor and the logs ("a TPM 2.0 key at
 * handle 0x81000002 (tpm2 provider)"). */
void okta_key_describe(const struct okta_key *k, char *out, size_t n);

/* The JWS signature over data (a jwt_signer_fn: the arg is the key): DER
 * for ECDSA. A provider key is opened, used and closed here; when that
 * fails (the TPM went away) the reason is in okta_key_last_error. */
int okta_key_sign(void *key, const unsigned char *data, size_t len, unsigned char **sig, size_t *siglen);
void okta_key_last_error(struct okta_key *k, char *out, size_t n);

/* okta-jit key new: a fresh EC P-256 key written to path (0600, root):
 * a PEM file, or (tpm) a TPM-held key whose TSS2 blob is written there.
 * *pub gets its public half. */
int okta_key_generate(const char *path, int tpm, const char *tcti, EVP_PKEY **pub, char *err, size_t errlen);

#endif
