/* test_fleet_sig.c - the fleet's signatures (issue 17 follow-up): what a
 * granter signs a gate verifies, with any of its keys; a change to any
 * signed field, a field moved into its neighbour, a signature of the other
 * kind or by another key does not verify. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "fleet_sig.h"
#include "util.h"

static EVP_PKEY *new_key(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");

	assert_non_null(k);
	return k;
}

static void sample_grant(struct grant *g)
{
	memset(g, 0, sizeof(*g));
	g->id = 42;
	ojit_strlcpy(g->kind, "grant", sizeof(g->kind));
	ojit_strlcpy(g->user, "alice", sizeof(g->user));
	ojit_strlcpy(g->okta_login, "alice@example.com", sizeof(g->okta_login));
	ojit_strlcpy(g->okta_user_id, "00ualice", sizeof(g->okta_user_id));
	ojit_strlcpy(g->grp, "web-sudo", sizeof(g->grp));
	ojit_strlcpy(g->group_id, "00gweb", sizeof(g->group_id));
	ojit_strlcpy(g->flow, "web", sizeof(g->flow));
	ojit_strlcpy(g->state, "active", sizeof(g->state));
	g->start_at = 1000;
	g->end_at = 4600;
	g->updated_at = 1001;
}

static void test_grant_signed_verifies_and_each_field_counts(void **state)
{
	struct fleet_keys signer = { 0 }, gate = { 0 };
	EVP_PKEY *keys[1];
	struct grant g, t;

	(void)state;
	signer.sign = new_key();
	keys[0] = signer.sign; /* a private key verifies as its public one */
	gate.verify = keys;
	gate.nverify = 1;
	sample_grant(&g);
	assert_int_equal(fleet_sign_grant(&signer, &g), 0);
	assert_int_equal(strlen(g.sig), 128);
	assert_true(fleet_grant_ok(&gate, &g));
#define CHANGED(stmt)                                  \
	do {                                           \
		t = g;                                 \
		stmt;                                  \
		assert_false(fleet_grant_ok(&gate, &t)); \
	} while (0)
	CHANGED(t.id = 43);
	CHANGED(t.end_at = 4601);
	CHANGED(t.start_at = 999);
	CHANGED(t.updated_at = 1002);
	CHANGED(ojit_strlcpy(t.user, "mallory", sizeof(t.user)));
	CHANGED(ojit_strlcpy(t.okta_user_id, "00umallory", sizeof(t.okta_user_id)));
	CHANGED(ojit_strlcpy(t.grp, "prod-db-ssh", sizeof(t.grp)));
	CHANGED(ojit_strlcpy(t.group_id, "00gother", sizeof(t.group_id)));
	CHANGED(ojit_strlcpy(t.state, "revoked", sizeof(t.state)));
	CHANGED(ojit_strlcpy(t.op, "add", sizeof(t.op)));
	CHANGED(ojit_strlcpy(t.kind, "extend", sizeof(t.kind)));
	/* a field's tail moved into the next one: the lengths differ */
	CHANGED((ojit_strlcpy(t.grp, "web-sud", sizeof(t.grp)), ojit_strlcpy(t.group_id, "o00gweb", sizeof(t.group_id))));
	CHANGED(t.sig[0] = t.sig[0] == 'a' ? 'b' : 'a');
	CHANGED(t.sig[0] = '\0');
	CHANGED(ojit_strlcpy(t.sig, "zz", sizeof(t.sig)));
#undef CHANGED
	/* what no gate decides on is not signed */
	t = g;
	ojit_strlcpy(t.last_error, "x", sizeof(t.last_error));
	t.op_attempts = 3;
	assert_true(fleet_grant_ok(&gate, &t));
	EVP_PKEY_free(signer.sign);
}

static void test_keys_rotation_and_wrong_key(void **state)
{
	struct fleet_keys a = { 0 }, b = { 0 }, gate = { 0 };
	EVP_PKEY *keys[2];
	struct grant g;
	struct snapshot_head h;
	const char *members = "00ualice\tACTIVE\talice@example.com\n";

	(void)state;
	a.sign = new_key();
	b.sign = new_key();
	sample_grant(&g);
	memset(&h, 0, sizeof(h));
	ojit_strlcpy(h.grp, "web-sudo", sizeof(h.grp));
	ojit_strlcpy(h.group_id, "00gweb", sizeof(h.group_id));
	ojit_strlcpy(h.state, "ok", sizeof(h.state));
	h.taken_at = 1000;
	h.nmembers = 1;
	assert_int_equal(fleet_sign_grant(&a, &g), 0);
	assert_int_equal(fleet_sign_snapshot(&b, &h, members), 0);
	/* only a's key: a's grant, not b's snapshot */
	keys[0] = a.sign;
	gate.verify = keys;
	gate.nverify = 1;
	assert_true(fleet_grant_ok(&gate, &g));
	assert_false(fleet_snapshot_ok(&gate, &h, members));
	/* both keys (a rotation): both */
	keys[1] = b.sign;
	gate.nverify = 2;
	assert_true(fleet_grant_ok(&gate, &g));
	assert_true(fleet_snapshot_ok(&gate, &h, members));
	/* the member text and the head count */
	assert_false(fleet_snapshot_ok(&gate, &h, "00ualice\tACTIVE\talice@example.com\n00umallory\tACTIVE\tm@x\n"));
	h.taken_at++;
	assert_false(fleet_snapshot_ok(&gate, &h, members));
	/* no verify key: nothing verifies; no signing key: "" */
	gate.nverify = 0;
	assert_false(fleet_grant_ok(&gate, &g));
	assert_int_equal(fleet_sign_grant(&gate, &g), 0);
	assert_string_equal(g.sig, "");
	EVP_PKEY_free(a.sign);
	EVP_PKEY_free(b.sign);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grant_signed_verifies_and_each_field_counts),
		cmocka_unit_test(test_keys_rotation_and_wrong_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
