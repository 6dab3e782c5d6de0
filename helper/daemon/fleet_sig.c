/* fleet_sig.c - sign and verify the rows the gates act on (issue 17
 * follow-up). Gates hold no Okta credential and trust the shared ledger;
 * without this, anyone who can write the database could let any user
 * into every gate. A granter signs each grant row and snapshot it writes
 * with the fleet's Ed25519 key (OpenSSL EVP, one-shot); a gate verifies
 * with its public key(s) before use.
 *
 * What is signed is a canonical byte string: a domain tag, then each
 * field as an 8-byte big-endian length and its bytes (integers in
 * decimal), so no field can bleed into another and a grant signature is
 * never a snapshot's. Fields the ledger sets itself (a snapshot's gen and
 * host) are not signed, nor is what no gate decides on. */
#include "fleet_sig.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "keyfile.h"
#include "util.h"

#define TAG_GRANT "okta-jit grant v1"
#define TAG_SNAPSHOT "okta-jit snapshot v1"
#define SIG_BYTES 64

static int put_bytes(struct ojit_buf *b, const void *p, size_t n)
{
	unsigned char len[8];
	uint64_t v = (uint64_t)n;
	int i;

	for (i = 7; i >= 0; i--) {
		len[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
	if (ojit_buf_append(b, len, sizeof(len)) != 0)
		return -1;
	return ojit_buf_append(b, p, n);
}

static int put_str(struct ojit_buf *b, const char *s)
{
	return put_bytes(b, s, strlen(s));
}

static int put_int(struct ojit_buf *b, int64_t v)
{
	char num[32];

	snprintf(num, sizeof(num), "%" PRId64, v);
	return put_str(b, num);
}

/* Every field gate_decide and the mirror read of a grant, and the ones
 * that say which grant it is. */
static int grant_bytes(const struct grant *g, struct ojit_buf *b)
{
	if (put_str(b, TAG_GRANT) != 0 || put_int(b, g->id) != 0 || put_str(b, g->kind) != 0 ||
	    put_int(b, g->parent_id) != 0 || put_str(b, g->user) != 0 || put_str(b, g->okta_login) != 0 ||
	    put_str(b, g->okta_user_id) != 0 || put_str(b, g->grp) != 0 || put_str(b, g->group_id) != 0 ||
	    put_str(b, g->flow) != 0 || put_str(b, g->state) != 0 || put_str(b, g->op) != 0 ||
	    put_int(b, g->start_at) != 0 || put_int(b, g->end_at) != 0 || put_int(b, g->updated_at) != 0)
		return -1;
	return 0;
}

static int snapshot_bytes(const struct snapshot_head *h, const char *members, struct ojit_buf *b)
{
	if (put_str(b, TAG_SNAPSHOT) != 0 || put_str(b, h->grp) != 0 || put_str(b, h->group_id) != 0 ||
	    put_int(b, h->taken_at) != 0 || put_str(b, h->state) != 0 || put_int(b, h->nmembers) != 0 ||
	    put_str(b, members != NULL ? members : "") != 0)
		return -1;
	return 0;
}

static int sign_bytes(EVP_PKEY *key, const struct ojit_buf *b, char *hex, size_t hexlen)
{
	unsigned char sig[SIG_BYTES];
	size_t siglen = sizeof(sig), i;
	EVP_MD_CTX *ctx;
	int r = -1;

	hex[0] = '\0';
	if (hexlen < 2 * SIG_BYTES + 1 || (ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) != 1 ||
	    EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)b->data, b->len) != 1 || siglen != SIG_BYTES)
		goto out;
	for (i = 0; i < siglen; i++)
		snprintf(hex + 2 * i, 3, "%02x", sig[i]);
	r = 0;
out:
	EVP_MD_CTX_free(ctx);
	return r;
}

static int unhex(const char *hex, unsigned char *out, size_t n)
{
	size_t i;

	if (strlen(hex) != 2 * n)
		return -1;
	for (i = 0; i < 2 * n; i++) {
		int c = hex[i], v;

		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (c >= 'a' && c <= 'f')
			v = c - 'a' + 10;
		else
			return -1;
		if (i % 2 == 0)
			out[i / 2] = (unsigned char)(v << 4);
		else
			out[i / 2] |= (unsigned char)v;
	}
	return 0;
}

static int verify_bytes(const struct fleet_keys *k, const struct ojit_buf *b, const char *hex)
{
	unsigned char sig[SIG_BYTES];
	size_t i;

	if (unhex(hex, sig, sizeof(sig)) != 0)
		return 0;
	for (i = 0; i < k->nverify; i++) {
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		int ok;

		if (ctx == NULL)
			return 0;
		ok = EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k->verify[i]) == 1 &&
		     EVP_DigestVerify(ctx, sig, sizeof(sig), (const unsigned char *)b->data, b->len) == 1;
		EVP_MD_CTX_free(ctx);
		if (ok)
			return 1;
	}
	return 0;
}

int fleet_sign_grant(const struct fleet_keys *k, struct grant *g)
{
	struct ojit_buf b;
	int r = -1;

	g->sig[0] = '\0';
	if (k == NULL || k->sign == NULL)
		return 0;
	ojit_buf_init(&b, 0);
	if (grant_bytes(g, &b) == 0)
		r = sign_bytes(k->sign, &b, g->sig, sizeof(g->sig));
	ojit_buf_free(&b);
	return r;
}

int fleet_sign_snapshot(const struct fleet_keys *k, struct snapshot_head *h, const char *members)
{
	struct ojit_buf b;
	int r = -1;

	h->sig[0] = '\0';
	if (k == NULL || k->sign == NULL)
		return 0;
	ojit_buf_init(&b, 0);
	if (snapshot_bytes(h, members, &b) == 0)
		r = sign_bytes(k->sign, &b, h->sig, sizeof(h->sig));
	ojit_buf_free(&b);
	return r;
}

int fleet_grant_ok(const struct fleet_keys *k, const struct grant *g)
{
	struct ojit_buf b;
	int ok = 0;

	if (k == NULL || k->nverify == 0 || g->sig[0] == '\0')
		return 0;
	ojit_buf_init(&b, 0);
	if (grant_bytes(g, &b) == 0)
		ok = verify_bytes(k, &b, g->sig);
	ojit_buf_free(&b);
	return ok;
}

int fleet_snapshot_ok(const struct fleet_keys *k, const struct snapshot_head *h, const char *members)
{
	struct ojit_buf b;
	int ok = 0;

	if (k == NULL || k->nverify == 0 || h->sig[0] == '\0')
		return 0;
	ojit_buf_init(&b, 0);
	if (snapshot_bytes(h, members, &b) == 0)
		ok = verify_bytes(k, &b, h->sig);
	ojit_buf_free(&b);
	return ok;
}

int fleet_keys_load(const struct ojit_config *cfg, struct fleet_keys *k, char *err, size_t errlen)
{
	size_t i;

	memset(k, 0, sizeof(*k));
	if (cfg->fleet_signing_key != NULL &&
	    keyfile_load_ed25519(cfg->fleet_signing_key, &k->sign, err, errlen) != 0)
		goto fail;
	if (cfg->nfleet_verify_keys > 0) {
		k->verify = calloc(cfg->nfleet_verify_keys, sizeof(*k->verify));
		if (k->verify == NULL) {
			snprintf(err, errlen, "fleet_verify_keys: out of memory");
			goto fail;
		}
		for (i = 0; i < cfg->nfleet_verify_keys; i++) {
			if (keyfile_load_ed25519_public(cfg->fleet_verify_keys[i], &k->verify[i], err, errlen) != 0)
				goto fail;
			k->nverify++;
		}
	}
	return 0;
fail:
	fleet_keys_free(k);
	return -1;
}

void fleet_keys_free(struct fleet_keys *k)
{
	size_t i;

	if (k == NULL)
		return;
	EVP_PKEY_free(k->sign);
	for (i = 0; i < k->nverify; i++)
		EVP_PKEY_free(k->verify[i]);
	free(k->verify);
	memset(k, 0, sizeof(*k));
}
