/* names.h - what a valid local user name and Okta group name are: the
 * lowest-level facts about names, used by every layer that takes one
 * from a client (the daemon's requests, its checks, its sessions). */
#ifndef OJIT_NAMES_H
#define OJIT_NAMES_H

/* The longest user and group name accepted: the ledger's LEDGER_USER_MAX
 * and LEDGER_GROUP_MAX (jitd.c asserts they agree; common/ may not
 * include the ledger). */
#define NAMES_USER_MAX 64
#define NAMES_GROUP_MAX 256

/* A local user name okta-jit accepts: the POSIX portable set plus what
 * common distributions allow, 1-32 bytes, not starting with '-'. */
int jitd_valid_username(const char *u);
/* An Okta group name as a client may send it: 1-255 bytes, no control
 * characters (names are matched against newline-joined lists). */
int jitd_valid_groupname(const char *g);

#endif
