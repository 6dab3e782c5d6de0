/* nss_writer.h - okta-jitd's side of the NSS half (issue 18): one thread turns
 * the directory (directory.h: the Okta users of the requesters groups'
 * snapshots) and the active grants of the [nss] groups into the cache
 * file libnss_okta_jit.so.2 reads (nss_cache.h), and keeps each offered
 * user's validated SSH keys in memory for the KEYS request. The file is
 * written again on every change (a snapshot, a grant, /etc/passwd or
 * /etc/group) and at least every cache_ttl. */
#ifndef OJIT_NSS_WRITER_H
#define OJIT_NSS_WRITER_H

#include <stddef.h>

#include "jitd.h"

/* With [nss]: resolve keys_user, start the thread and set d->nss; 0, or
 * -1 (logged) when the thread cannot start. Without: nothing, 0. */
int nss_start(struct jitd *d);
/* Stop and free it (safe when not started). */
void nss_stop(struct jitd *d);
/* jitd_hooks.snapshot_written and grant_written: read and write again. */
void nss_snapshot_written(struct jitd *d, const char *group);
void nss_grant_written(struct jitd *d, const char *user, const char *group);
/* The uid of cfg->nss_keys_user from /etc/passwd (never through NSS,
 * which may be us): sets d->keys_uid and d->keys_uid_set. */
void nss_resolve_keys_user(struct jitd *d);

/* The KEYS request: the validated authorized_keys lines of local user
 * name while they may log in here (an active grant for a group of a flow
 * whose requesters list them, or a flow with ssh_keys = requesters that
 * lists them). *keys is a malloc'd array of malloc'd lines (nss_keys_free),
 * *n their number (0: none, why says why). 0, or -1 out of memory. */
int nss_user_keys(struct jitd *d, const char *user, char ***keys, size_t *n, char *why, size_t whylen);
void nss_keys_free(char **keys, size_t n);

#endif
