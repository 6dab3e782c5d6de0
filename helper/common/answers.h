/* answers.h - the answer board: okta-jitd's recent "allow" answers, in a
 * root-only file next to its socket (SOCKET.answers), which the PAM module
 * (root in sshd and sudo) reads to let a user in without a round trip.
 *
 * Only allows are written, each valid until the earlier of its grant's end
 * and the moment what Okta said goes stale (cache_ttl). Every grant write
 * in the ledger for a user and group voids that user's answer for that
 * group just before and just after the write, and an answer decided before
 * a grant write is never written after it. A board is kept with a ledger
 * on this host (okta-jitd its only writer) and on a gate (issue 17), whose
 * memory of the shared ledger (mirror.c) voids the entries of every grant
 * row it learns of and the whole board when a snapshot changes or the
 * connection is lost; a granter with a shared ledger keeps none. Refusals,
 * and anything not on the board, go to okta-jitd as before.
 *
 * Both sides use pread/pwrite, never a mapping: a file cut short under
 * either (only root can) is a short read, never a SIGBUS. A slot is
 * written as: its one-byte sequence number made odd, the body, the number
 * made even; a reader copies the slot, reads the number again and uses the
 * copy only when both reads were the same even number. This header is
 * shared by the PAM module (reader, below) and okta-jitd (writer,
 * answers.c). */
#ifndef OJIT_ANSWERS_H
#define OJIT_ANSWERS_H

#include <stdint.h>
#include <string.h>
#include <unistd.h>

#define ANSWERS_MAGIC "OJITANS2"
#define ANSWERS_VERSION 2
#define ANSWERS_SLOTS 8192 /* home slots, a power of two */
#define ANSWERS_PROBE 8    /* a key lives in one of 8 slots from its home */
#define ANSWERS_FILE_SLOTS (ANSWERS_SLOTS + ANSWERS_PROBE - 1) /* a probe never wraps */
#define ANSWERS_USER_MAX 64
#define ANSWERS_GROUP_MAX 255
#define ANSWERS_SUFFIX ".answers"

struct answers_header {
	char magic[8];
	uint32_t version;
	uint32_t nslots;
	uint64_t pad[6];
};

struct answers_slot {
	uint8_t seq;      /* odd while being written */
	uint8_t pad[7];
	int64_t until;    /* wall-clock second from which it no longer holds; 0: void */
	int64_t grant_id; /* 0 for a standing group */
	char user[ANSWERS_USER_MAX + 1];
	char group[ANSWERS_GROUP_MAX + 1];
	char pad2[7];
};

#define ANSWERS_SLOT_OFF(i) ((off_t)sizeof(struct answers_header) + (off_t)(i) * (off_t)sizeof(struct answers_slot))
#define ANSWERS_SIZE ((size_t)ANSWERS_SLOT_OFF(ANSWERS_FILE_SLOTS))

static inline uint64_t answers_hash(const char *user, const char *group)
{
	uint64_t h = 14695981039346656037ULL;

	while (*user)
		h = (h ^ (unsigned char)*user++) * 1099511628211ULL;
	h = (h ^ '\n') * 1099511628211ULL;
	while (*group)
		h = (h ^ (unsigned char)*group++) * 1099511628211ULL;
	return h;
}

static inline uint32_t answers_home(uint64_t h)
{
	return (uint32_t)(h & (ANSWERS_SLOTS - 1));
}

/* Does the board open on fd let user in through group at now? 1 yes
 * (*grant_id set), 0 ask okta-jitd. */
static inline int answers_lookup(int fd, const char *user, const char *group, int64_t now, int64_t *grant_id)
{
	struct answers_header h;
	struct answers_slot w[ANSWERS_PROBE];
	uint32_t home, k;
	uint8_t again;

	if (strlen(user) > ANSWERS_USER_MAX || strlen(group) > ANSWERS_GROUP_MAX)
		return 0;
	if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) || memcmp(h.magic, ANSWERS_MAGIC, 8) != 0 ||
	    h.version != ANSWERS_VERSION || h.nslots != ANSWERS_SLOTS)
		return 0;
	home = answers_home(answers_hash(user, group));
	if (pread(fd, w, sizeof(w), ANSWERS_SLOT_OFF(home)) != (ssize_t)sizeof(w))
		return 0;
	for (k = 0; k < ANSWERS_PROBE; k++) {
		struct answers_slot *s = &w[k];

		if (s->seq & 1)
			continue;
		s->user[ANSWERS_USER_MAX] = '\0';
		s->group[ANSWERS_GROUP_MAX] = '\0';
		if (strcmp(s->user, user) != 0 || strcmp(s->group, group) != 0)
			continue;
		if (pread(fd, &again, 1, ANSWERS_SLOT_OFF(home + k)) != 1 || again != s->seq)
			return 0; /* written meanwhile: ask */
		if (now >= s->until)
			return 0;
		*grant_id = s->grant_id;
		return 1;
	}
	return 0;
}

#ifndef OJIT_ANSWERS_READER_ONLY
struct answers;

/* Create SOCKET.answers (root, 0600) afresh; NULL (logged) when it cannot. */
struct answers *answers_open(const char *socket_path);
/* At a clean stop: remove the file (the object stays until exit). */
void answers_close(struct answers *a);
/* Read before a decision; answers_put writes nothing if a grant was
 * written since. */
uint64_t answers_gen(struct answers *a);
/* A grant of user for group is being or was written (the ledger's hook:
 * ctx is the struct answers). */
void answers_grant_written(void *ctx, const char *user, const char *group);
/* Void every answer (a gate: a group's snapshot changed, or its memory of
 * the shared ledger may have fallen behind). */
void answers_void_all(struct answers *a);
void answers_put(struct answers *a, uint64_t gen, const char *user, const char *group, int64_t until,
		 int64_t grant_id);
#endif

#endif
