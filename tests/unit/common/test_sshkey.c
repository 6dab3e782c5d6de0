/* test_sshkey.c - sshkey_normalise: every key type sshd takes from an
 * Okta profile, and the hostile ones (options, a second line, a blob of
 * another type, bad base64, short RSA, overlong input) refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sshkey.h"

/* ssh-keygen output (the private halves were thrown away) and blobs built
 * by hand for the security-key types and the malformed ones. */
#define K_KED25519 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPpkj9BrBJXDQShkDmK5aBTP4UWDsKIeRatjd+o3Txw4 c-ed25519"
#define K_KRSAB2048 "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDBf3u5KoFHLlY4/z0LXKMzP6Inq2h/dL1h8JRj8UBj7XL5TTOle6ISmoHphxDq9z4Qi4iH75S4+KiaiaAeE8c8CNyade6vCoVUEIgk3mL5bMSZlsoYtNjNyfYpLNohzgqNb1T4zrVslksL5tIe71YYat4cl6A6BmASGnhtx9RhExpbxDzFxiBpXQa579gk+W5KUjIusiHrYoRcSCPVUdOh0WYoyQlvfC0y8BzmrThI41F6oD+FQVEG5EA0LyzHXXKIPMMJ2WauN7P3v/CPp9P+jUHheVP8G2YOUWr2ywr1G61YzD3HOIvpZ2N/MvI91J3oQXJ7SRQAn/bunwm+94CT c-rsab2048"
#define K_KRSAB1024 "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDwKfZdf2AURmRjIL7pOWHZzYngL6DnzC3+pQ/6OL4Z8+B/J7ALFzHk9UnYimOPbrsNm7x/n8NwHaKFWnfqCP6LtsQ+3js0rLAAvyP61G7cdMl0lisdxUgZbvxRH3Pv+TOl3obi8T/b1ay/6K4sJmmI2z3xN9KTPIZe+dvkqINFbw== c-rsab1024"
#define K_KECDSAB256 "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBHiF/5z+yS2542FVHytznwYfJmtXg76LhGF/EFHP7oLNEQWs7NrHfdQsmuwt64YdcvceaFFyfrrj7L1jSVpcn14= c-ecdsab256"
#define K_KECDSAB384 "ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBDOP5C1Esm+cT7KSUBPwju6PrpgnanAURooJlsGKlbJZGHy0hdObuNfSwZ1C6yucGe1k8i/B5cVtTzLS8kN2fNZ3mtZbrSWztmSZK5b4x6CukcbAGdOncaq9sdV30/MdPA== c-ecdsab384"
#define K_KECDSAB521 "ecdsa-sha2-nistp521 AAAAE2VjZHNhLXNoYTItbmlzdHA1MjEAAAAIbmlzdHA1MjEAAACFBAFpX0odOuzHz/w/u905Eus3uxCgFfog1MbfRvu0lv9ybqI19tHS2VeLpzuemTulqPYuJl7CLoCYTxPgcAuH+FBGrwFwia3ffgeIFIM0wxlOuFDlsT88XZFrTLi625IvAkZSqqz1prtw3zukIZNzwX5TSGflCZ1KnhGoVHGBH8p1MscDLA== c-ecdsab521"
#define K_SKED "sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4fAAAABHNzaDo= yubi"
#define K_SKEC "sk-ecdsa-sha2-nistp256@openssh.com AAAAInNrLWVjZHNhLXNoYTItbmlzdHAyNTZAb3BlbnNzaC5jb20AAAAIbmlzdHAyNTYAAABBBAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4fICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8AAAAEc3NoOg=="
#define K_ED_SHORT "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAHwABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4="
#define K_ED_TRAILING "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4fAA=="
#define K_EC_WRONGCURVE "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAzODQAAABBBAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4fICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="
#define K_EC_COMPRESSED "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBAgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
#define K_ED_HUGELEN "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5/////wABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f"

static char out[SSHKEY_LINE_MAX + 1];

static const char *ok(const char *in, int allow)
{
	const char *why = NULL;

	if (sshkey_normalise(in, allow, out, sizeof(out), &why) != 0)
		fail_msg("'%.80s' refused: %s", in, why ? why : "(no reason)");
	return out;
}

static void refused(const char *in, int allow, const char *why_part)
{
	const char *why = NULL;

	if (sshkey_normalise(in, allow, out, sizeof(out), &why) == 0)
		fail_msg("'%.80s' accepted as '%.80s'", in, out);
	assert_non_null(why);
	if (strstr(why, why_part) == NULL)
		fail_msg("'%.60s' refused for '%s', expected '%s'", in, why, why_part);
	assert_string_equal(out, "");
}

static void test_every_known_type(void **state)
{
	(void)state;
	assert_string_equal(ok(K_KED25519, 0), K_KED25519);
	assert_string_equal(ok(K_KRSAB2048, 0), K_KRSAB2048);
	assert_string_equal(ok(K_KECDSAB256, 0), K_KECDSAB256);
	assert_string_equal(ok(K_KECDSAB384, 0), K_KECDSAB384);
	assert_string_equal(ok(K_KECDSAB521, 0), K_KECDSAB521);
	assert_string_equal(ok(K_SKED, 0), K_SKED);
	assert_string_equal(ok(K_SKEC, 0), K_SKEC);
}

static void test_spacing_and_comment_normalised(void **state)
{
	char in[1024];
	const char *b64 = strchr(K_KED25519, ' ') + 1;
	size_t blen = strcspn(b64, " ");

	(void)state;
	snprintf(in, sizeof(in), "  \tssh-ed25519 \t %.*s   alice\x01@\x1b[31mlaptop\t x  ", (int)blen, b64);
	ok(in, 0);
	assert_true(strncmp(out, "ssh-ed25519 ", 12) == 0);
	assert_true(strstr(out, " alice@[31mlaptop x") != NULL);
	snprintf(in, sizeof(in), "ssh-ed25519 %.*s", (int)blen, b64);
	assert_string_equal(ok(in, 0), in);
}

static void test_options_refused_unless_allowed(void **state)
{
	char in[1024];

	(void)state;
	snprintf(in, sizeof(in), "command=\"/bin/sh -c 'id'\",from=\"10.0.0.1\" %s", K_KED25519);
	refused(in, 0, "options");
	assert_string_equal(ok(in, 1), in);
	snprintf(in, sizeof(in), "no-pty %s", K_KED25519);
	refused(in, 0, "options");
	assert_string_equal(ok(in, 1), in);
	/* a line break inside quoted options is still a second line */
	snprintf(in, sizeof(in), "command=\"a\nssh-rsa x\" %s", K_KED25519);
	refused(in, 1, "control character");
}

static void test_second_line_refused(void **state)
{
	char in[2048];

	(void)state;
	snprintf(in, sizeof(in), "%s\ncommand=\"sh\" ssh-ed25519 AAAA", K_KED25519);
	/* the line break is in the comment's place: dropped, no second line */
	ok(in, 0);
	assert_null(strchr(out, '\n'));
	assert_non_null(strstr(out, " c-ed25519command="));
	/* a second whole key there makes a comment over the bound */
	snprintf(in, sizeof(in), "%s\n%s", K_KED25519, K_KRSAB2048);
	refused(in, 0, "comment");
	snprintf(in, sizeof(in), "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5\ncommand=\"sh\" %s", K_KED25519);
	refused(in, 0, "control character");
	snprintf(in, sizeof(in), "ssh-ed25519\n%s", strchr(K_KED25519, ' ') + 1);
	refused(in, 0, "not a known key type");
}

static void test_blob_must_match_type(void **state)
{
	char in[2048];

	(void)state;
	/* an RSA blob under the Ed25519 name */
	snprintf(in, sizeof(in), "ssh-ed25519 %s", strchr(K_KRSAB2048, ' ') + 1);
	refused(in, 0, "another type");
	snprintf(in, sizeof(in), "ecdsa-sha2-nistp256 %s", strchr(K_KECDSAB384, ' ') + 1);
	refused(in, 0, "another type");
	refused(K_ED_SHORT, 0, "32 bytes");
	refused(K_ED_TRAILING, 0, "after the key");
	refused(K_ED_HUGELEN, 0, "32 bytes");
	refused(K_EC_WRONGCURVE, 0, "curve");
	refused(K_EC_COMPRESSED, 0, "uncompressed");
}

static void test_short_rsa_refused(void **state)
{
	(void)state;
	refused(K_KRSAB1024, 0, "2048");
}

static void test_bad_base64(void **state)
{
	(void)state;
	refused("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5!!!!", 0, "base64");
	refused("ssh-ed25519 AAAAC3NzaC1lZDI1NTE", 0, "base64");     /* not whole quanta */
	refused("ssh-ed25519 AAAAC3Nz=C1lZDI1NTE5", 0, "base64");    /* data after '=' */
	refused("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AB==", 0, "base64"); /* padding bits set */
	refused("ssh-ed25519", 0, "no base64");
	refused("ssh-ed25519    ", 0, "no base64");
}

static void test_unknown_and_empty(void **state)
{
	(void)state;
	refused("", 0, "empty");
	refused(" \t ", 0, "empty");
	refused("ssh-dss AAAAB3NzaC1kc3MAAACBAP", 0, "not a known key type");
	refused("ssh-ed25519-cert-v01@openssh.com AAAA", 0, "not a known key type");
	refused("hello world", 1, "not a known key type");
}

static void test_bounds(void **state)
{
	char *big = malloc(SSHKEY_LINE_MAX + 100);
	char small[40];
	const char *why = NULL;
	size_t n;

	(void)state;
	assert_non_null(big);
	memset(big, 'A', SSHKEY_LINE_MAX + 99);
	memcpy(big, "ssh-rsa ", 8);
	big[SSHKEY_LINE_MAX + 99] = '\0';
	refused(big, 0, "longer than 16384");
	/* a blob too big for any key */
	n = 8 + 12000;
	big[n] = '\0';
	refused(big, 0, "longer than 8192");
	/* a comment over the bound */
	n = (size_t)snprintf(big, SSHKEY_LINE_MAX, "%s ", K_KED25519);
	memset(big + n, 'c', 300);
	big[n + 300] = '\0';
	refused(big, 0, "comment");
	free(big);
	/* an output buffer too small: refused, never cut */
	assert_int_equal(sshkey_normalise(K_KED25519, 0, small, sizeof(small), &why), -1);
	assert_string_equal(small, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_known_type),
		cmocka_unit_test(test_spacing_and_comment_normalised),
		cmocka_unit_test(test_options_refused_unless_allowed),
		cmocka_unit_test(test_second_line_refused),
		cmocka_unit_test(test_blob_must_match_type),
		cmocka_unit_test(test_short_rsa_refused),
		cmocka_unit_test(test_bad_base64),
		cmocka_unit_test(test_unknown_and_empty),
		cmocka_unit_test(test_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
