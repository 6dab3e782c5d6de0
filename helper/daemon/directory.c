/* directory.c - the Okta users this host offers (directory.h), from the
 * snapshots of every flow's `requesters` groups in the ledger. A snapshot
 * is read again only when its head's generation moved; what cannot be
 * trusted (unsigned on a gate, a line that does not parse, a count that
 * does not match its head) is not used at all, and logged once per
 * generation: a forged or broken row never adds a user. */
#include "directory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "fleet_sig.h"
#include "ledger.h"
#include "util.h"

#define DIRECTORY_GROUPS_MAX 64 /* the bits of dir_user.groups */

struct dir_group {
	char name[LEDGER_GROUP_MAX + 1];
	struct snapshot_head head; /* of the member text held */
	int have;                  /* a usable member list is held */
	int64_t seen_gen;          /* the last generation looked at (-1: none) */
	char *text;                /* member text, cut in place */
	struct snapshot_member *members;
	size_t nmembers;
};

/* Every snapshot head's group id, for the [nss] groups' gids. */
struct head_id {
	char grp[LEDGER_GROUP_MAX + 1];
	char group_id[65];
};

struct directory {
	struct dir_group *groups;
	size_t ngroups;
	struct head_id *ids;
	size_t nids;
};

static int group_find(const struct directory *dir, const char *name)
{
	size_t i;

	for (i = 0; i < dir->ngroups; i++)
		if (strcmp(dir->groups[i].name, name) == 0)
			return (int)i;
	return -1;
}

struct directory *directory_new(const struct ojit_config *cfg)
{
	struct directory *dir = calloc(1, sizeof(*dir));
	size_t i, j, n = 0;

	if (dir == NULL)
		return NULL;
	for (i = 0; i < cfg->nflows; i++)
		n += cfg->flows[i].nrequesters;
	dir->groups = calloc(n > 0 ? n : 1, sizeof(*dir->groups));
	if (dir->groups == NULL) {
		free(dir);
		return NULL;
	}
	for (i = 0; i < cfg->nflows; i++)
		for (j = 0; j < cfg->flows[i].nrequesters; j++) {
			const char *name = cfg->flows[i].requesters[j];

			if (group_find(dir, name) >= 0)
				continue;
			if (dir->ngroups >= DIRECTORY_GROUPS_MAX) {
				ojit_log(LOG_WARNING, "[nss]: more than %d requesters groups; the members of '%s' are "
					 "not offered", DIRECTORY_GROUPS_MAX, name);
				continue;
			}
			ojit_strlcpy(dir->groups[dir->ngroups].name, name, sizeof(dir->groups[0].name));
			dir->groups[dir->ngroups].seen_gen = -1;
			dir->ngroups++;
		}
	return dir;
}

static void group_drop(struct dir_group *g)
{
	free(g->text);
	free(g->members);
	g->text = NULL;
	g->members = NULL;
	g->nmembers = 0;
	g->have = 0;
}

void directory_free(struct directory *dir)
{
	size_t i;

	if (dir == NULL)
		return;
	for (i = 0; i < dir->ngroups; i++)
		group_drop(&dir->groups[i]);
	free(dir->groups);
	free(dir->ids);
	free(dir);
}

int directory_group_index(const struct directory *dir, const char *name)
{
	return group_find(dir, name);
}

const char *directory_group_id(const struct directory *dir, const char *name)
{
	size_t i;

	for (i = 0; i < dir->nids; i++)
		if (strcmp(dir->ids[i].grp, name) == 0)
			return dir->ids[i].group_id;
	return "";
}

/* Cut text into member lines; 0, or -1 with why. Every line must parse,
 * and there must be as many as the head counts. */
static int members_parse(struct dir_group *g, char *text, const struct snapshot_head *h, char *why, size_t whylen)
{
	char *p = text;
	size_t n = 0, cap;

	if (h->nmembers < 0 || h->nmembers > DIRECTORY_MEMBERS_MAX) {
		snprintf(why, whylen, "its head counts %lld members", (long long)h->nmembers);
		return -1;
	}
	cap = (size_t)h->nmembers;
	g->members = calloc(cap > 0 ? cap : 1, sizeof(*g->members));
	if (g->members == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	while (*p != '\0') {
		char *nl = strchr(p, '\n');

		if (nl == NULL) {
			snprintf(why, whylen, "member line %zu has no line end", n + 1);
			return -1;
		}
		*nl = '\0';
		if (n >= cap) {
			snprintf(why, whylen, "it lists more members than its head's %lld", (long long)h->nmembers);
			return -1;
		}
		if (snapshot_member_parse(p, &g->members[n]) != 0) {
			snprintf(why, whylen, "member line %zu does not parse", n + 1);
			return -1;
		}
		n++;
		p = nl + 1;
	}
	if (n != cap) {
		snprintf(why, whylen, "it lists %zu members, its head says %lld", n, (long long)h->nmembers);
		return -1;
	}
	g->nmembers = n;
	return 0;
}

/* Read group g's snapshot again (its generation moved). 0 when read
 * (usable or not: g->have says), -1 when the ledger failed. */
static int group_read(struct jitd *d, struct dir_group *g)
{
	struct snapshot_head h;
	char *text = NULL, why[SNAPSHOT_STATE_MAX + 64] = "";
	int r;

	memset(&h, 0, sizeof(h));
	r = ledger_snapshot_get(d->ledger, g->name, &h, &text);
	if (r == LEDGER_NOTFOUND) {
		group_drop(g);
		g->seen_gen = -1;
		return 0;
	}
	if (r != LEDGER_OK) {
		warn_f("[nss]: cannot read the snapshot of group %s: %s", g->name, ledger_last_error(d->ledger));
		return -1;
	}
	group_drop(g);
	g->seen_gen = h.gen;
	if (text == NULL && (text = strdup("")) == NULL) {
		error_f("out of memory");
		return -1;
	}
	/* A gate uses only what a granter of its fleet signed, as is. */
	if (d->keys.nverify > 0 && !fleet_snapshot_ok(&d->keys, &h, text))
		snprintf(why, sizeof(why), "no granter of this fleet signed it as it stands ([daemon] fleet_verify_keys)");
	else if (strcmp(h.state, "ok") != 0)
		(void)ojit_snprintf(why, sizeof(why), "it has no member list: %s", h.state);
	else if (members_parse(g, text, &h, why, sizeof(why)) == 0) {
		g->head = h;
		g->text = text;
		g->have = 1;
		return 0;
	}
	ojit_strip_controls(why);
	ojit_log(LOG_WARNING, "[nss]: snapshot of group '%s' (gen %lld, by %s) not used: %s; its members are not "
		 "offered until it is written again", g->name, (long long)h.gen, h.host, why);
	free(g->members);
	g->members = NULL;
	free(text);
	return 0;
}

int directory_refresh(struct directory *dir, struct jitd *d, int *changed)
{
	struct snapshot_head *hv = NULL;
	size_t nh = 0;
	int hr;
	struct head_id *ids = NULL;
	size_t i, j, nids = 0;
	int r = -1;

	*changed = 0;
	if ((hr = ledger_snapshot_heads_all(d->ledger, &hv, &nh)) != LEDGER_OK) {
		warn_f("[nss]: cannot read the snapshots from the ledger: %s",
		       hr == LEDGER_NOMEM ? "out of memory" : ledger_last_error(d->ledger));
		goto out;
	}
	ids = calloc(nh > 0 ? nh : 1, sizeof(*ids));
	if (ids == NULL)
		goto out;
	for (i = 0; i < nh; i++)
		if (strcmp(hv[i].state, "ok") == 0 && hv[i].group_id[0] != '\0') {
			ojit_strlcpy(ids[nids].grp, hv[i].grp, sizeof(ids[nids].grp));
			ojit_strlcpy(ids[nids].group_id, hv[i].group_id, sizeof(ids[nids].group_id));
			nids++;
		}
	free(dir->ids);
	dir->ids = ids;
	dir->nids = nids;
	for (i = 0; i < dir->ngroups; i++) {
		struct dir_group *g = &dir->groups[i];
		const struct snapshot_head *h = NULL;

		for (j = 0; j < nh; j++)
			if (strcmp(hv[j].grp, g->name) == 0) {
				h = &hv[j];
				break;
			}
		if (h == NULL) {
			/* no snapshot (any more) */
			if (g->have || g->seen_gen != -1)
				*changed = 1;
			group_drop(g);
			g->seen_gen = -1;
			continue;
		}
		if (h->gen == g->seen_gen)
			continue;
		if (group_read(d, g) != 0)
			goto out;
		*changed = 1;
	}
	r = 0;
out:
	free(hv);
	return r;
}

struct user_ref {
	const struct snapshot_member *m;
	int64_t taken_at;
	size_t group;
};

static int ref_cmp(const void *a, const void *b)
{
	const struct user_ref *x = a, *y = b;
	int c = strcmp(x->m->id, y->m->id);

	if (c != 0)
		return c;
	/* the newest snapshot's word first */
	return x->taken_at > y->taken_at ? -1 : x->taken_at < y->taken_at;
}

struct dir_user *directory_users(struct directory *dir, int64_t now, int64_t grace, size_t *n, int64_t *next_stale)
{
	struct user_ref *refs = NULL;
	struct dir_user *out = NULL;
	size_t i, j, nrefs = 0, total = 0, k = 0;

	*n = 0;
	*next_stale = 0;
	for (i = 0; i < dir->ngroups; i++)
		if (dir->groups[i].have)
			total += dir->groups[i].nmembers;
	if (total == 0)
		return NULL;
	refs = calloc(total, sizeof(*refs));
	if (refs == NULL)
		goto fail;
	for (i = 0; i < dir->ngroups; i++) {
		const struct dir_group *g = &dir->groups[i];

		/* An old snapshot is Okta's word from too long ago: its
		 * users are no longer offered (and one dated ahead is not
		 * trusted either). */
		if (!g->have || now - g->head.taken_at > grace || g->head.taken_at > now + 5)
			continue;
		if (*next_stale == 0 || g->head.taken_at + grace + 1 < *next_stale)
			*next_stale = g->head.taken_at + grace + 1;
		for (j = 0; j < g->nmembers; j++) {
			if (strcmp(g->members[j].status, "ACTIVE") != 0)
				continue;
			refs[nrefs].m = &g->members[j];
			refs[nrefs].taken_at = g->head.taken_at;
			refs[nrefs].group = i;
			nrefs++;
		}
	}
	if (nrefs == 0) {
		free(refs);
		return NULL;
	}
	qsort(refs, nrefs, sizeof(*refs), ref_cmp);
	out = calloc(nrefs, sizeof(*out));
	if (out == NULL)
		goto fail;
	for (i = 0; i < nrefs; i = j) {
		struct dir_user *u = &out[k++];

		u->id = refs[i].m->id;
		u->login = refs[i].m->login;
		u->uid_attr = refs[i].m->nfields >= 6 ? refs[i].m->uid_attr : "";
		u->gecos = refs[i].m->nfields >= 6 ? refs[i].m->gecos : "";
		u->keys = refs[i].m->nfields >= 6 ? refs[i].m->keys : "";
		u->taken_at = refs[i].taken_at;
		for (j = i; j < nrefs && strcmp(refs[j].m->id, u->id) == 0; j++) {
			u->groups |= (uint64_t)1 << refs[j].group;
			if (refs[j].taken_at < u->taken_at)
				u->taken_at = refs[j].taken_at;
		}
	}
	free(refs);
	*n = k;
	return out;
fail:
	error_f("out of memory");
	free(refs);
	free(out);
	return NULL;
}
