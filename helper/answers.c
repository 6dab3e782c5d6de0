/* answers.c - okta-jitd's side of the answer board (see answers.h). */
#include "answers.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "util.h"

struct answers {
	pthread_mutex_t lock; /* writers */
	struct answers_header *h;
	struct answers_slot *slots;
	char *path;
};

struct answers *answers_open(const char *socket_path)
{
	struct answers *a = calloc(1, sizeof(*a));
	char tmp[4200];
	void *map;
	int fd;

	if (a == NULL || asprintf(&a->path, "%s%s", socket_path, ANSWERS_SUFFIX) < 0) {
		free(a);
		return NULL;
	}
	/* a new file under a temporary name, renamed over any old one: a
	 * reader never sees a half-made board */
	snprintf(tmp, sizeof(tmp), "%s.%ld", a->path, (long)getpid());
	unlink(tmp);
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || fchmod(fd, 0600) != 0 || ftruncate(fd, (off_t)ANSWERS_SIZE) != 0) {
		ojit_log(LOG_WARNING, "cannot create %s: %s; every check asks okta-jitd", tmp, strerror(errno));
		goto fail;
	}
	map = mmap(NULL, ANSWERS_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		ojit_log(LOG_WARNING, "cannot map %s: %s; every check asks okta-jitd", tmp, strerror(errno));
		goto fail;
	}
	close(fd);
	fd = -1;
	a->h = map;
	a->slots = (struct answers_slot *)(a->h + 1);
	memcpy(a->h->magic, ANSWERS_MAGIC, 8);
	a->h->version = 1;
	a->h->nslots = ANSWERS_SLOTS;
	atomic_store(&a->h->gen, 2);
	if (rename(tmp, a->path) != 0) {
		ojit_log(LOG_WARNING, "cannot rename %s: %s; every check asks okta-jitd", tmp, strerror(errno));
		munmap(map, ANSWERS_SIZE);
		a->h = NULL;
		goto fail;
	}
	pthread_mutex_init(&a->lock, NULL);
	return a;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(a->path);
	free(a);
	return NULL;
}

void answers_close(struct answers *a)
{
	if (a == NULL)
		return;
	/* Void and remove the board; the mapping stays until the process
	 * exits (a connection thread may still be finishing a check). */
	atomic_fetch_add(&a->h->gen, 2);
	unlink(a->path);
}

uint64_t answers_gen(struct answers *a)
{
	return atomic_load_explicit(&a->h->gen, memory_order_acquire);
}

void answers_bump(void *p)
{
	struct answers *a = p;

	if (a != NULL)
		atomic_fetch_add_explicit(&a->h->gen, 2, memory_order_acq_rel);
}

void answers_put(struct answers *a, uint64_t gen, const char *user, const char *group, int64_t until,
		 int64_t grant_id)
{
	uint32_t i, k, pick, free_pick;
	size_t ul = strlen(user), gl = strlen(group);
	uint64_t now_gen;
	struct answers_slot *s;

	if (a == NULL || ul > ANSWERS_USER_MAX || gl > ANSWERS_GROUP_MAX || until <= ojit_now())
		return;
	pthread_mutex_lock(&a->lock);
	now_gen = atomic_load_explicit(&a->h->gen, memory_order_acquire);
	if (gen != now_gen) {
		pthread_mutex_unlock(&a->lock);
		return; /* something changed while deciding: not worth writing */
	}
	/* its own slot, else the first free or outdated one, else the first */
	i = answers_hash(user, group);
	pick = free_pick = UINT32_MAX;
	for (k = 0; k < ANSWERS_PROBE; k++) {
		uint32_t at = (i + k) & (ANSWERS_SLOTS - 1);

		s = &a->slots[at];
		if (strcmp(s->user, user) == 0 && strcmp(s->group, group) == 0) {
			pick = at;
			break;
		}
		if (free_pick == UINT32_MAX && (s->user[0] == '\0' || s->gen != now_gen || s->until <= ojit_now()))
			free_pick = at;
	}
	if (pick == UINT32_MAX)
		pick = free_pick != UINT32_MAX ? free_pick : (i & (ANSWERS_SLOTS - 1));
	s = &a->slots[pick];
	atomic_fetch_add_explicit(&s->seq, 1, memory_order_relaxed); /* odd: being written */
	atomic_thread_fence(memory_order_release);
	s->gen = gen;
	s->until = until;
	s->grant_id = grant_id;
	memset(s->user, 0, sizeof(s->user));
	memcpy(s->user, user, ul);
	memset(s->group, 0, sizeof(s->group));
	memcpy(s->group, group, gl);
	atomic_fetch_add_explicit(&s->seq, 1, memory_order_release); /* even: readable */
	pthread_mutex_unlock(&a->lock);
}
