/* test_okta_key.c - okta_key_open's forms and failures (issue 21) that
 * need no TPM: a key file, a systemd credential, a provider that is not
 * installed. The TPM itself is tested with swtpm (tests/integration/
 * test_keys.py). */
#include <dirent.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "okta_key.h"

static char dir[PATH_MAX];
static EVP_PKEY *p256;

static int group_setup(void **state)
{
	const char *base = getenv("TMPDIR");

	(void)state;
	snprintf(dir, sizeof(dir), "%s/ojit-okta-key-XXXXXX", base ? base : "/tmp");
	if (mkdtemp(dir) == NULL)
		return -1;
	p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	return p256 != NULL ? 0 : -1;
}

static int group_teardown(void **state)
{
	char path[PATH_MAX + 300];
	struct dirent *de;
	DIR *d = opendir(dir);

	(void)state;
	EVP_PKEY_free(p256);
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
	return rmdir(dir);
}

static void write_key(const char *path, mode_t mode)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(PEM_write_PrivateKey(fp, p256, NULL, NULL, 0, NULL, NULL), 1);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/* A file key signs, and the signature verifies with its public half. */
static void test_file_key_signs(void **state)
{
	char path[PATH_MAX + 32], err[1024], where[512];
	struct okta_key *k = NULL;
	unsigned char *sig = NULL;
	size_t siglen = 0;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	static const unsigned char data[] = "header.claims";

	(void)state;
	snprintf(path, sizeof(path), "%s/okta.pem", dir);
	write_key(path, 0600);
	if (okta_key_open(path, NULL, &k, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(okta_key_kind(k), OKTA_KEY_FILE);
	assert_int_equal(okta_key_exportable(k), 1);
	assert_true(okta_key_created(k) > 0);
	assert_string_equal(okta_key_alg(k), "ES256");
	okta_key_describe(k, where, sizeof(where));
	assert_non_null(strstr(where, "in the file"));
	assert_int_equal(EVP_PKEY_eq(okta_key_public(k), p256), 1);
	assert_int_equal(okta_key_sign(k, data, sizeof(data) - 1, &sig, &siglen), 0);
	assert_non_null(md);
	assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, okta_key_public(k)), 1);
	assert_int_equal(EVP_DigestVerify(md, sig, siglen, data, sizeof(data) - 1), 1);
	EVP_MD_CTX_free(md);
	free(sig);
	okta_key_free(k);
}

/* Group or other bits: refused, as at start. */
static void test_loose_file_refused(void **state)
{
	char path[PATH_MAX + 32], err[1024];
	struct okta_key *k = NULL;

	(void)state;
	snprintf(path, sizeof(path), "%s/loose.pem", dir);
	write_key(path, 0640);
	assert_int_equal(okta_key_open(path, NULL, &k, err, sizeof(err)), -1);
	assert_null(k);
	assert_non_null(strstr(err, "too open"));
}

static void test_credential(void **state)
{
	char path[PATH_MAX + 32], err[1024], where[512];
	struct okta_key *k = NULL;

	(void)state;
	unsetenv("CREDENTIALS_DIRECTORY");
	assert_int_equal(okta_key_open("credential:okta-key", NULL, &k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "$CREDENTIALS_DIRECTORY is not set"));
	assert_non_null(strstr(err, "LoadCredentialEncrypted=okta-key:/etc/credstore.encrypted/okta-key"));
	setenv("CREDENTIALS_DIRECTORY", dir, 1);
	assert_int_equal(okta_key_open("credential:okta-key", NULL, &k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "the unit passes no credential 'okta-key'"));
	snprintf(path, sizeof(path), "%s/okta-key", dir);
	write_key(path, 0400);
	if (okta_key_open("credential:okta-key", NULL, &k, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(okta_key_kind(k), OKTA_KEY_CREDENTIAL);
	assert_int_equal(okta_key_created(k), 0); /* the file's date is the unit's start, not the key's */
	okta_key_describe(k, where, sizeof(where));
	assert_non_null(strstr(where, "systemd credential okta-key"));
	okta_key_free(k);
	unsetenv("CREDENTIALS_DIRECTORY");
}

/* Debian 12 has no pkcs11-provider: a pkcs11: URI must say so at once. */
static void test_pkcs11_without_provider(void **state)
{
	char err[1024];
	struct okta_key *k = NULL;

	(void)state;
	setenv("OPENSSL_MODULES", dir, 1); /* no provider modules there at all */
	assert_int_equal(okta_key_open("pkcs11:token=okta;object=k", NULL, &k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no PKCS#11 provider installed"));
	assert_non_null(strstr(err, "pkcs11-provider"));
	assert_int_equal(okta_key_open("tpm2:handle:0x81000002", NULL, &k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "the OpenSSL tpm2 provider is not installed"));
	assert_non_null(strstr(err, "tpm2-openssl"));
	unsetenv("OPENSSL_MODULES");
}

static void test_spec_forms(void **state)
{
	char err[1024];
	struct okta_key *k = NULL;

	(void)state;
	assert_int_equal(okta_key_open("keys/okta.pem", NULL, &k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "absolute path"));
	assert_int_equal(okta_key_open("tpm2:handle:0x81zz0002", NULL, &k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "names no TPM key"));
	/* a PEM file named as a TPM key file */
	{
		char path[PATH_MAX + 32], spec[PATH_MAX + 64];

		snprintf(path, sizeof(path), "%s/plain.pem", dir);
		write_key(path, 0600);
		snprintf(spec, sizeof(spec), "tpm2:%s", path);
		assert_int_equal(okta_key_open(spec, NULL, &k, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "not a TPM key file"));
	}
	assert_null(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_key_signs),
		cmocka_unit_test(test_loose_file_refused),
		cmocka_unit_test(test_credential),
		cmocka_unit_test(test_pkcs11_without_provider),
		cmocka_unit_test(test_spec_forms),
	};

	return cmocka_run_group_tests_name("okta_key", tests, group_setup, group_teardown);
}
