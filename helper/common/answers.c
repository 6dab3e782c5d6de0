/* answers.c - okta-jitd's side of the answer board (see answers.h). */
#include "answers.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <syslog.h>

#include "util.h"

/* What okta-jitd knows of each slot without reading the file back. */
struct slot_mirror {
	uint64_t hash;  /* of user "\n" group; 0: empty */
	int64_t until;
	uint8_t seq;
};

struct answers {
	pthread_mutex_t lock;
	int fd;
	char *path;
	uint64_t gen; /* bumped by every grant write */
	struct slot_mirror m[ANSWERS_FILE_SLOTS];
};

struct answers *answers_open(const char *socket_path)
{
	struct answers *a = calloc(1, sizeof(*a));
	struct answers_header h;
	char tmp[4200];
	int fd = -1;

	if (a == NULL || asprintf(&a->path, "%s%s", socket_path, ANSWERS_SUFFIX) < 0) {
		free(a);
		return NULL;
	}
	/* a new file under a temporary name, renamed over any old one: a
	 * reader never sees a half-made board */
	snprintf(tmp, sizeof(tmp), "%s.%ld", a->path, (long)getpid());
	unlink(tmp);
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, ANSWERS_MAGIC, 8);
	h.version = ANSWERS_VERSION;
	h.nslots = ANSWERS_SLOTS;
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || fchmod(fd, 0600) != 0 || ftruncate(fd, (off_t)ANSWERS_SIZE) != 0 ||
	    pwrite(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) || rename(tmp, a->path) != 0) {
		ojit_log(LOG_WARNING, "cannot create %s: %s; every check asks okta-jitd", a->path, strerror(errno));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		free(a->path);
		free(a);
		return NULL;
	}
	a->fd = fd;
	a->gen = 2;
	pthread_mutex_init(&a->lock, NULL);
	return a;
}

void answers_close(struct answers *a)
{
	if (a == NULL)
		return;
	/* remove the board; the object stays until the process exits (a
	 * connection thread may still be finishing a check) */
	pthread_mutex_lock(&a->lock);
	a->gen += 2;
	unlink(a->path);
	pthread_mutex_unlock(&a->lock);
}

uint64_t answers_gen(struct answers *a)
{
	uint64_t g;

	pthread_mutex_lock(&a->lock);
	g = a->gen;
	pthread_mutex_unlock(&a->lock);
	return g;
}

/* Write slot i (the lock is held): odd, body, even. A failed write leaves
 * the slot odd, which no reader uses. */
static void write_slot(struct answers *a, uint32_t i, const struct answers_slot *body)
{
	struct slot_mirror *m = &a->m[i];
	uint8_t seq = (uint8_t)(m->seq | 1);

	if (m->seq == seq)
		seq += 2; /* was left odd by a failed write */
	m->seq = seq;
	if (pwrite(a->fd, &seq, 1, ANSWERS_SLOT_OFF(i)) != 1)
		return;
	if (pwrite(a->fd, (const char *)body + 8, sizeof(*body) - 8, ANSWERS_SLOT_OFF(i) + 8) !=
	    (ssize_t)(sizeof(*body) - 8))
		return;
	seq++;
	if (pwrite(a->fd, &seq, 1, ANSWERS_SLOT_OFF(i)) == 1)
		m->seq = seq;
}

/* 0 marks an empty slot (two keys sharing a hash share a slot and its
 * voids: harmless, the reader compares the names). */
static uint64_t key_hash(const char *user, const char *group)
{
	uint64_t h = answers_hash(user, group);

	return h != 0 ? h : 1;
}

void answers_grant_written(void *ctx, const char *user, const char *group)
{
	struct answers *a = ctx;
	struct answers_slot body;
	uint64_t h;
	uint32_t home, k;

	if (a == NULL || user == NULL || group == NULL)
		return;
	h = key_hash(user, group);
	home = answers_home(answers_hash(user, group));
	memset(&body, 0, sizeof(body)); /* until 0: void */
	pthread_mutex_lock(&a->lock);
	a->gen += 2;
	for (k = 0; k < ANSWERS_PROBE; k++)
		if (a->m[home + k].hash == h && a->m[home + k].until != 0) {
			write_slot(a, home + k, &body);
			a->m[home + k].until = 0;
		}
	pthread_mutex_unlock(&a->lock);
}

void answers_void_all(struct answers *a)
{
	struct answers_slot body;
	uint32_t i;

	if (a == NULL)
		return;
	memset(&body, 0, sizeof(body)); /* until 0: void */
	pthread_mutex_lock(&a->lock);
	a->gen += 2;
	for (i = 0; i < ANSWERS_FILE_SLOTS; i++)
		if (a->m[i].until != 0) {
			write_slot(a, i, &body);
			a->m[i].until = 0;
		}
	pthread_mutex_unlock(&a->lock);
}

void answers_put(struct answers *a, uint64_t gen, const char *user, const char *group, int64_t until,
		 int64_t grant_id)
{
	struct answers_slot body;
	size_t ul = strlen(user), gl = strlen(group);
	int64_t now = ojit_now();
	uint32_t home, k, pick = UINT32_MAX, free_pick = UINT32_MAX;
	uint64_t h;

	if (a == NULL || ul > ANSWERS_USER_MAX || gl > ANSWERS_GROUP_MAX || until <= now)
		return;
	h = key_hash(user, group);
	home = answers_home(answers_hash(user, group));
	memset(&body, 0, sizeof(body));
	body.until = until;
	body.grant_id = grant_id;
	memcpy(body.user, user, ul);
	memcpy(body.group, group, gl);
	pthread_mutex_lock(&a->lock);
	if (gen != a->gen) {
		pthread_mutex_unlock(&a->lock);
		return; /* a grant was written while deciding */
	}
	/* its own slot, else the first empty or spent one, else the home slot */
	for (k = 0; k < ANSWERS_PROBE; k++) {
		struct slot_mirror *m = &a->m[home + k];

		if (m->hash == h) {
			pick = home + k;
			break;
		}
		if (free_pick == UINT32_MAX && (m->hash == 0 || m->until <= now))
			free_pick = home + k;
	}
	if (pick == UINT32_MAX)
		pick = free_pick != UINT32_MAX ? free_pick : home;
	write_slot(a, pick, &body);
	a->m[pick].hash = h;
	a->m[pick].until = until;
	pthread_mutex_unlock(&a->lock);
}
