/* directory.h - the Okta users this host offers through NSS (issue 18):
 * the members of every flow's `requesters` groups, as the granters'
 * snapshots in the ledger list them (with their profile's UID attribute,
 * GECOS and SSH keys). Read again only when a snapshot's generation
 * changed; verified with the fleet's keys on a gate; a snapshot older
 * than outage_grace no longer counts. Used by nss_writer.c's one thread alone
 * (no lock of its own). */
#ifndef OJIT_DIRECTORY_H
#define OJIT_DIRECTORY_H

#include <stddef.h>
#include <stdint.h>

#include "jitd.h"

/* Okta users listed by one snapshot at most (as the gate's mirror). */
#define DIRECTORY_MEMBERS_MAX 200000

struct directory;

/* One ACTIVE Okta user of a fresh snapshot. The strings point into the
 * directory (valid until its next refresh); gecos and keys are still
 * percent-encoded as the snapshot holds them. */
struct dir_user {
	const char *id;
	const char *login;
	const char *uid_attr; /* "" absent, "!why" refused by the granter, else decimal */
	const char *gecos;
	const char *keys;
	int64_t taken_at;     /* the oldest snapshot that lists the user */
	uint64_t groups;      /* bit i: listed by directory group i (the first 64) */
};

struct directory *directory_new(const struct ojit_config *cfg);
void directory_free(struct directory *dir);
/* Read the snapshot heads and the member text of every directory group
 * whose generation changed. 0 (with *changed 1 when anything read
 * differs), or -1 when the ledger could not be read (what is in memory
 * stays, and ages). */
int directory_refresh(struct directory *dir, struct jitd *d, int *changed);
/* The users of the snapshots younger than grace seconds at now, merged by
 * Okta id, ACTIVE only: a malloc'd array (the caller frees it, not the
 * strings), *n set; NULL with *n 0 when there are none or out of memory.
 * *next_stale: when a snapshot in use turns older than grace (0: none). */
struct dir_user *directory_users(struct directory *dir, int64_t now, int64_t grace, size_t *n,
				 int64_t *next_stale);
/* The index of directory group name (a flow's requesters group), or -1. */
int directory_group_index(const struct directory *dir, const char *name);
/* The Okta group id some snapshot of group name holds ("" when none). */
const char *directory_group_id(const struct directory *dir, const char *name);

#endif
