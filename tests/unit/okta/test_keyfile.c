/* test_keyfile.c - keyfile_load and keyfile_check_mode on real files. */
#include <dirent.h>
#include <fcntl.h>
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

#include "fixed_keys.h" /* RSA keys: no key generation under valgrind */

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "keyfile.h"

enum pem_form { PKCS8, TRADITIONAL, PKCS8_ENCRYPTED, TRADITIONAL_ENCRYPTED, PUBLIC };

struct fixture {
	char dir[PATH_MAX];
	EVP_PKEY *rsa2048, *rsa1024, *p256, *p384;
	int seq;
};

static struct fixture fx;

static int group_setup(void **state)
{
	const char *base = getenv("TMPDIR");

	(void)state;
	snprintf(fx.dir, sizeof(fx.dir), "%s/ojit-keyfile-XXXXXX", base ? base : "/tmp");
	if (mkdtemp(fx.dir) == NULL)
		return -1;
	fx.rsa2048 = testkey_load(testkey_rsa2048_a);
	fx.rsa1024 = testkey_load(testkey_rsa1024);
	fx.p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	fx.p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	return fx.rsa2048 && fx.rsa1024 && fx.p256 && fx.p384 ? 0 : -1;
}

static int group_teardown(void **state)
{
	char path[PATH_MAX + 300];
	struct dirent *de;
	DIR *d;

	(void)state;
	EVP_PKEY_free(fx.rsa2048);
	EVP_PKEY_free(fx.rsa1024);
	EVP_PKEY_free(fx.p256);
	EVP_PKEY_free(fx.p384);
	d = opendir(fx.dir);
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", fx.dir, de->d_name);
		unlink(path);
	}
	closedir(d);
	return rmdir(fx.dir);
}

static void new_path(char *path, size_t n)
{
	assert_true((size_t)snprintf(path, n, "%s/key-%d.pem", fx.dir, ++fx.seq) < n);
}

/* Create path with exactly mode (fchmod: the umask must not decide). */
static void write_bytes(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, mode), 0);
	if (len > 0)
		assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

/* Write key as PEM; the PEM's first line is checked so each test really
 * exercises the form it names. */
static void write_key(const char *path, EVP_PKEY *key, enum pem_form form, mode_t mode,
		      const char *want_begin)
{
	static const char pass[] = "correct horse";
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long len;
	int ok = 0;

	assert_non_null(bio);
	switch (form) {
	case PKCS8:
		ok = PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL);
		break;
	case TRADITIONAL:
		ok = PEM_write_bio_PrivateKey_traditional(bio, key, NULL, NULL, 0, NULL, NULL);
		break;
	case PKCS8_ENCRYPTED:
		ok = PEM_write_bio_PrivateKey(bio, key, EVP_aes_256_cbc(), (const unsigned char *)pass,
					      (int)strlen(pass), NULL, NULL);
		break;
	case TRADITIONAL_ENCRYPTED:
		ok = PEM_write_bio_PrivateKey_traditional(bio, key, EVP_aes_256_cbc(),
							  (const unsigned char *)pass,
							  (int)strlen(pass), NULL, NULL);
		break;
	case PUBLIC:
		ok = PEM_write_bio_PUBKEY(bio, key);
		break;
	}
	assert_int_equal(ok, 1);
	len = BIO_get_mem_data(bio, &data);
	assert_true(len > 0);
	assert_memory_equal(data, want_begin, strlen(want_begin));
	write_bytes(path, data, (size_t)len, mode);
	BIO_free(bio);
}

static void expect_loaded(const char *path, EVP_PKEY *want)
{
	EVP_PKEY *got = NULL;
	char err[1024] = "";

	if (keyfile_load(path, &got, err, sizeof(err)) != 0)
		fail_msg("refused: %s", err);
	assert_non_null(got);
	assert_int_equal(EVP_PKEY_eq(got, want), 1);
	EVP_PKEY_free(got);
}

static void expect_refused(const char *path, const char *what)
{
	EVP_PKEY *got = NULL;
	char err[1024] = "";

	assert_int_equal(keyfile_load(path, &got, err, sizeof(err)), -1);
	assert_null(got);
	if (strstr(err, path) == NULL)
		fail_msg("error does not name the file: %s", err);
	if (strstr(err, what) == NULL)
		fail_msg("error does not say '%s': %s", what, err);
}

static void test_rsa_pkcs8(void **state)
{
	char path[PATH_MAX + 32];

	(void)state;
	new_path(path, sizeof(path));
	write_key(path, fx.rsa2048, PKCS8, 0600, "-----BEGIN PRIVATE KEY-----");
	expect_loaded(path, fx.rsa2048);
}

static void test_rsa_traditional(void **state)
{
	char path[PATH_MAX + 32];

	(void)state;
	new_path(path, sizeof(path));
	write_key(path, fx.rsa2048, TRADITIONAL, 0600, "-----BEGIN RSA PRIVATE KEY-----");
	expect_loaded(path, fx.rsa2048);
}

static void test_ec_pkcs8(void **state)
{
	char path[PATH_MAX + 32];

	(void)state;
	new_path(path, sizeof(path));
	write_key(path, fx.p256, PKCS8, 0600, "-----BEGIN PRIVATE KEY-----");
	expect_loaded(path, fx.p256);
}

static void test_ec_traditional(void **state)
{
	char path[PATH_MAX + 32];

	(void)state;
	new_path(path, sizeof(path));
	write_key(path, fx.p256, TRADITIONAL, 0600, "-----BEGIN EC PRIVATE KEY-----");
	expect_loaded(path, fx.p256);
}

static void test_owner_read_only_mode_ok(void **state)
{
	char path[PATH_MAX + 32];

	(void)state;
	new_path(path, sizeof(path));
	write_key(path, fx.p256, PKCS8, 0400, "-----BEGIN PRIVATE KEY-----");
	expect_loaded(path, fx.p256);
}

static void expect_mode_refused(mode_t mode)
{
	char path[PATH_MAX + 32], hint[PATH_MAX + 64];

	new_path(path, sizeof(path));
	write_key(path, fx.rsa2048, PKCS8, mode, "-----BEGIN PRIVATE KEY-----");
	expect_refused(path, "too open");
	snprintf(hint, sizeof(hint), "chmod 600 %s", path);
	expect_refused(path, hint);
}

static void test_group_readable_refused(void **state)
{
	(void)state;
	expect_mode_refused(0640);
}

static void test_other_readable_refused(void **state)
{
	(void)state;
	expect_mode_refused(0604);
}

static void test_group_writable_refused(void **state)
{
	(void)state;
	expect_mode_refused(0660);
	expect_mode_refused(0620);
	expect_mode_refused(0601);
}

static void test_mode_in_message(void **state)
{
	char path[PATH_MAX + 32];

	(void)state;
	new_path(path, sizeof(path));
	write_key(path, fx.rsa2048, PKCS8, 0644, "-----BEGIN PRIVATE KEY-----");
	expect_refused(path, "0644");
}

static void test_symlink_refused(void **state)
{
	char target[PATH_MAX + 32], link[PATH_MAX + 32];

	(void)state;
	new_path(target, sizeof(target));
	write_key(target, fx.rsa2048, PKCS8, 0600, "-----BEGIN PRIVATE KEY-----");
	new_path(link, sizeof(link));
	assert_int_equal(symlink(target, link), 0);
	expect_refused(link, "symbolic link");
	expect_loaded(target, fx.rsa2048);
}

static void test_directory_refused(void **state)
{
	(void)state;
	expect_refused(fx.dir, "not a regular file");
}

static void test_missing_file_refused(void **state)
{
	char path[PATH_MAX + 32];

	(void)state;
	new_path(path, sizeof(path));
	expect_refused(path, "cannot open");
}

static void test_rsa_1024_refused(void **state)
{
	char path[PATH_MAX + 32];

	(void)state;
	new_path(path, sizeof(path));
	write_key(path, fx.rsa1024, PKCS8, 0600, "-----BEGIN PRIVATE KEY-----");
	expect_refused(path, "at least 2048");
	expect_refused(path, "1024");
}

static void test_ec_p384_refused(void **state)
{
	char path[PATH_MAX + 32];

	(void)state;
	new_path(path, sizeof(path));
	write_key(path, fx.p384, PKCS8, 0600, "-----BEGIN PRIVATE KEY-----");
	expect_refused(path, "P-256");
	new_path(path, sizeof(path));
	write_key(path, fx.p384, TRADITIONAL, 0600, "-----BEGIN EC PRIVATE KEY-----");
	expect_refused(path, "P-256");
}

static void test_ed25519_refused(void **state)
{
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	char path[PATH_MAX + 32];

	(void)state;
	assert_non_null(ed);
	new_path(path, sizeof(path));
	write_key(path, ed, PKCS8, 0600, "-----BEGIN PRIVATE KEY-----");
	EVP_PKEY_free(ed);
	expect_refused(path, "unsupported key type");
}

/* The fleet signing key and its public half (issue 17 follow-up): Ed25519
 * only, the private key under the Okta key's file rules, the public key
 * readable by all but writable by its owner alone. */
static void expect_fleet(int public_key, const char *path, EVP_PKEY *want, const char *refused)
{
	EVP_PKEY *got = NULL;
	char err[1024] = "";
	int r = public_key ? keyfile_load_ed25519_public(path, &got, err, sizeof(err))
			   : keyfile_load_ed25519(path, &got, err, sizeof(err));

	if (refused == NULL) {
		if (r != 0)
			fail_msg("refused: %s", err);
		assert_int_equal(EVP_PKEY_eq(got, want), 1);
		EVP_PKEY_free(got);
		return;
	}
	assert_int_equal(r, -1);
	assert_null(got);
	if (strstr(err, path) == NULL || strstr(err, refused) == NULL)
		fail_msg("error does not name the file and say '%s': %s", refused, err);
}

static void test_fleet_keys(void **state)
{
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	char path[PATH_MAX + 32];

	(void)state;
	assert_non_null(ed);
	new_path(path, sizeof(path));
	write_key(path, ed, PKCS8, 0600, "-----BEGIN PRIVATE KEY-----");
	expect_fleet(0, path, ed, NULL);
	new_path(path, sizeof(path));
	write_key(path, ed, PKCS8, 0640, "-----BEGIN PRIVATE KEY-----");
	expect_fleet(0, path, ed, "too open");
	new_path(path, sizeof(path));
	write_key(path, fx.p256, PKCS8, 0600, "-----BEGIN PRIVATE KEY-----");
	expect_fleet(0, path, ed, "not an Ed25519 key");
	new_path(path, sizeof(path));
	write_key(path, ed, PUBLIC, 0600, "-----BEGIN PUBLIC KEY-----");
	expect_fleet(0, path, ed, "not a PEM private key");
	new_path(path, sizeof(path));
	write_key(path, ed, PUBLIC, 0644, "-----BEGIN PUBLIC KEY-----");
	expect_fleet(1, path, ed, NULL);
	new_path(path, sizeof(path));
	write_key(path, ed, PUBLIC, 0664, "-----BEGIN PUBLIC KEY-----");
	expect_fleet(1, path, ed, "writable by group or others");
	new_path(path, sizeof(path));
	write_key(path, fx.p256, PUBLIC, 0644, "-----BEGIN PUBLIC KEY-----");
	expect_fleet(1, path, ed, "not an Ed25519 key");
	new_path(path, sizeof(path));
	write_key(path, ed, PKCS8, 0600, "-----BEGIN PRIVATE KEY-----");
	expect_fleet(1, path, ed, "not a PEM public key");
	EVP_PKEY_free(ed);
}

static void test_encrypted_pkcs8_refused(void **state)
{
	char path[PATH_MAX + 32];

	(void)state;
	new_path(path, sizeof(path));
	write_key(path, fx.rsa2048, PKCS8_ENCRYPTED, 0600, "-----BEGIN ENCRYPTED PRIVATE KEY-----");
	expect_refused(path, "encrypted");
}

static void test_encrypted_traditional_refused(void **state)
{
	char path[PATH_MAX + 32];

	(void)state;
	new_path(path, sizeof(path));
	write_key(path, fx.p256, TRADITIONAL_ENCRYPTED, 0600, "-----BEGIN EC PRIVATE KEY-----");
	expect_refused(path, "encrypted");
}

static void test_public_key_refused(void **state)
{
	char path[PATH_MAX + 32];

	(void)state;
	new_path(path, sizeof(path));
	write_key(path, fx.rsa2048, PUBLIC, 0600, "-----BEGIN PUBLIC KEY-----");
	expect_refused(path, "not a PEM private key");
}

static void test_garbage_refused(void **state)
{
	static const char junk[] = "this is not a key\n\x01\x02\xff";
	char path[PATH_MAX + 32];

	(void)state;
	new_path(path, sizeof(path));
	write_bytes(path, junk, sizeof(junk), 0600);
	expect_refused(path, "not a PEM private key");
}

static void test_truncated_pem_refused(void **state)
{
	static const char pem[] = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n";
	char path[PATH_MAX + 32];

	(void)state;
	new_path(path, sizeof(path));
	write_bytes(path, pem, strlen(pem), 0600);
	expect_refused(path, "not a PEM private key");
}

static void test_empty_file_refused(void **state)
{
	char path[PATH_MAX + 32];

	(void)state;
	new_path(path, sizeof(path));
	write_bytes(path, "", 0, 0600);
	expect_refused(path, "not a PEM private key");
}

static void test_oversized_file_refused(void **state)
{
	char path[PATH_MAX + 32];
	char *big = malloc(KEYFILE_MAX_BYTES + 1);

	(void)state;
	assert_non_null(big);
	memset(big, '\n', KEYFILE_MAX_BYTES + 1);
	new_path(path, sizeof(path));
	write_bytes(path, big, KEYFILE_MAX_BYTES + 1, 0600);
	expect_refused(path, "larger than 65536 bytes");

	/* Exactly the limit is read and parsed (and is not a key). */
	new_path(path, sizeof(path));
	write_bytes(path, big, KEYFILE_MAX_BYTES, 0600);
	expect_refused(path, "not a PEM private key");
	free(big);
}

static void test_key_after_padding_within_limit(void **state)
{
	char path[PATH_MAX + 32], *data;
	BIO *bio = BIO_new(BIO_s_mem());
	long len;
	size_t pad = 60000;
	char *buf;

	(void)state;
	assert_non_null(bio);
	assert_int_equal(PEM_write_bio_PrivateKey(bio, fx.p256, NULL, NULL, 0, NULL, NULL), 1);
	len = BIO_get_mem_data(bio, &data);
	buf = malloc(pad + (size_t)len);
	assert_non_null(buf);
	memset(buf, '\n', pad);
	memcpy(buf + pad, data, (size_t)len);
	new_path(path, sizeof(path));
	write_bytes(path, buf, pad + (size_t)len, 0600);
	expect_loaded(path, fx.p256);
	free(buf);
	BIO_free(bio);
}

static void test_check_mode_wrong_owner(void **state)
{
	char path[PATH_MAX + 32], err[1024] = "";
	int fd;

	(void)state;
	if (geteuid() != 0)
		skip();
	new_path(path, sizeof(path));
	write_key(path, fx.rsa2048, PKCS8, 0600, "-----BEGIN PRIVATE KEY-----");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(keyfile_check_mode(fd, path, err, sizeof(err)), 0);
	assert_int_equal(fchown(fd, 12345, 12345), 0);
	assert_int_equal(keyfile_check_mode(fd, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "must be owned by root"));
	assert_non_null(strstr(err, "12345"));
	assert_non_null(strstr(err, path));
	close(fd);
	expect_refused(path, "must be owned by root");
}

static void test_check_mode_ok(void **state)
{
	char path[PATH_MAX + 32], err[1024] = "untouched";
	int fd;

	(void)state;
	new_path(path, sizeof(path));
	write_bytes(path, "x", 1, 0600);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(keyfile_check_mode(fd, path, err, sizeof(err)), 0);
	assert_int_equal(fchmod(fd, 0606), 0);
	assert_int_equal(keyfile_check_mode(fd, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "too open"));
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rsa_pkcs8),
		cmocka_unit_test(test_rsa_traditional),
		cmocka_unit_test(test_ec_pkcs8),
		cmocka_unit_test(test_ec_traditional),
		cmocka_unit_test(test_owner_read_only_mode_ok),
		cmocka_unit_test(test_group_readable_refused),
		cmocka_unit_test(test_other_readable_refused),
		cmocka_unit_test(test_group_writable_refused),
		cmocka_unit_test(test_mode_in_message),
		cmocka_unit_test(test_symlink_refused),
		cmocka_unit_test(test_directory_refused),
		cmocka_unit_test(test_missing_file_refused),
		cmocka_unit_test(test_rsa_1024_refused),
		cmocka_unit_test(test_ec_p384_refused),
		cmocka_unit_test(test_ed25519_refused),
		cmocka_unit_test(test_fleet_keys),
		cmocka_unit_test(test_encrypted_pkcs8_refused),
		cmocka_unit_test(test_encrypted_traditional_refused),
		cmocka_unit_test(test_public_key_refused),
		cmocka_unit_test(test_garbage_refused),
		cmocka_unit_test(test_truncated_pem_refused),
		cmocka_unit_test(test_empty_file_refused),
		cmocka_unit_test(test_oversized_file_refused),
		cmocka_unit_test(test_key_after_padding_within_limit),
		cmocka_unit_test(test_check_mode_wrong_owner),
		cmocka_unit_test(test_check_mode_ok),
	};

	return cmocka_run_group_tests_name("keyfile", tests, group_setup, group_teardown);
}
