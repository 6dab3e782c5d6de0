/* fleet_sig.h - the fleet's signatures (issue 17 follow-up): a granter
 * signs every grant row and snapshot it writes with the fleet signing key
 * (Ed25519), and a gate uses a row only when one of its verify keys
 * accepts the signature, so that a database writer cannot let anyone in. */
#ifndef OJIT_FLEET_SIG_H
#define OJIT_FLEET_SIG_H

#include <openssl/evp.h>
#include <stddef.h>

#include "ledger_types.h"

/* The keys a host holds: a granter its signing key, a gate its verify
 * keys (several while a key is rotated). */
struct fleet_keys {
	EVP_PKEY *sign;
	EVP_PKEY **verify;
	size_t nverify;
};

/* Load the keys cfg names. 0, or -1 with err naming the file and why. */
struct ojit_config;
int fleet_keys_load(const struct ojit_config *cfg, struct fleet_keys *k, char *err, size_t errlen);
void fleet_keys_free(struct fleet_keys *k);

/* Sign g (into g->sig) / h (into h->sig) with k->sign. A host with no
 * signing key writes "" (rows a gate will not use). 0, or -1. */
int fleet_sign_grant(const struct fleet_keys *k, struct grant *g);
int fleet_sign_snapshot(const struct fleet_keys *k, struct snapshot_head *h, const char *members);

/* 1 when one of k->verify accepts the signature, else 0. */
int fleet_grant_ok(const struct fleet_keys *k, const struct grant *g);
int fleet_snapshot_ok(const struct fleet_keys *k, const struct snapshot_head *h, const char *members);

#endif
