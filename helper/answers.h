/* answers.h - the answer board: okta-jitd's recent "allow" answers, in a
 * root-only file next to its socket (SOCKET.answers), which the PAM module
 * (root in sshd and sudo) reads to let a user in without a round trip.
 *
 * Only allows are written, each valid until the earlier of its grant's end
 * and the moment what Okta said goes stale (cache_ttl), and only while
 * nothing has changed: every grant write in the ledger bumps the board's
 * generation (before and after the write), which voids every answer
 * written under an older one. A board is kept only with a ledger on this
 * host (okta-jitd its only writer); with a shared ledger every check asks.
 * Refusals, and anything not on the board, go to okta-jitd as before.
 *
 * Readers use a per-slot sequence number (odd while a slot is written) and
 * never wait. This header is shared by the PAM module (reader, below) and
 * okta-jitd (writer, answers.c). */
#ifndef OJIT_ANSWERS_H
#define OJIT_ANSWERS_H

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#define ANSWERS_MAGIC "OJITANS1"
#define ANSWERS_SLOTS 8192 /* a power of two */
#define ANSWERS_PROBE 8
#define ANSWERS_USER_MAX 64
#define ANSWERS_GROUP_MAX 255
#define ANSWERS_SUFFIX ".answers"

struct answers_header {
	char magic[8];
	uint32_t version;
	uint32_t nslots;
	_Atomic uint64_t gen;
	uint64_t pad[5];
};

struct answers_slot {
	_Atomic uint32_t seq; /* odd while being written */
	uint32_t pad;
	uint64_t gen;         /* the board's generation the answer was made under */
	int64_t until;        /* wall-clock second from which it no longer holds */
	int64_t grant_id;     /* 0 for a standing group */
	char user[ANSWERS_USER_MAX + 1];
	char group[ANSWERS_GROUP_MAX + 1];
	char pad2[6];
};

#define ANSWERS_SIZE (sizeof(struct answers_header) + ANSWERS_SLOTS * sizeof(struct answers_slot))

static inline uint32_t answers_hash(const char *user, const char *group)
{
	uint32_t h = 2166136261u;

	while (*user)
		h = (h ^ (unsigned char)*user++) * 16777619u;
	h = (h ^ '\n') * 16777619u;
	while (*group)
		h = (h ^ (unsigned char)*group++) * 16777619u;
	return h;
}

/* Does the board (mapped at base, ANSWERS_SIZE bytes) let user in through
 * group at now? 1 yes (*grant_id set), 0 ask okta-jitd. */
static inline int answers_lookup(void *base, const char *user, const char *group, int64_t now,
				 int64_t *grant_id)
{
	struct answers_header *h = base;
	struct answers_slot *slots = (struct answers_slot *)(h + 1);
	uint64_t gen;
	uint32_t i, k;

	if (memcmp(h->magic, ANSWERS_MAGIC, 8) != 0 || h->version != 1 || h->nslots != ANSWERS_SLOTS ||
	    strlen(user) > ANSWERS_USER_MAX || strlen(group) > ANSWERS_GROUP_MAX)
		return 0;
	gen = atomic_load_explicit(&h->gen, memory_order_acquire);
	i = answers_hash(user, group);
	for (k = 0; k < ANSWERS_PROBE; k++) {
		struct answers_slot *s = &slots[(i + k) & (ANSWERS_SLOTS - 1)];
		struct answers_slot copy;
		uint32_t s1, s2;

		s1 = atomic_load_explicit(&s->seq, memory_order_acquire);
		if (s1 & 1)
			continue;
		memcpy(&copy, s, sizeof(copy));
		atomic_thread_fence(memory_order_acquire);
		s2 = atomic_load_explicit(&s->seq, memory_order_relaxed);
		if (s1 != s2)
			continue;
		copy.user[ANSWERS_USER_MAX] = '\0';
		copy.group[ANSWERS_GROUP_MAX] = '\0';
		if (strcmp(copy.user, user) != 0 || strcmp(copy.group, group) != 0)
			continue;
		if (copy.gen != gen || now >= copy.until)
			return 0;
		*grant_id = copy.grant_id;
		return 1;
	}
	return 0;
}

#ifndef OJIT_ANSWERS_READER_ONLY
struct answers;

/* Create SOCKET.answers (root, 0600) afresh; NULL (logged) when it cannot. */
struct answers *answers_open(const char *socket_path);
/* At a clean stop: void every answer and remove the file. */
void answers_close(struct answers *a);
/* The generation now: read before a decision, passed to answers_put. */
uint64_t answers_gen(struct answers *a);
/* Void every answer on the board (a grant is being or was written). */
void answers_bump(void *a);
void answers_put(struct answers *a, uint64_t gen, const char *user, const char *group, int64_t until,
		 int64_t grant_id);
#endif

#endif
