/* pool.c - see pool.h. */
#include "pool.h"

#include <pthread.h>
#include <stdlib.h>

#include <openssl/crypto.h>

#include "okta_http.h"

struct job {
	struct job *next;
	void (*fn)(void *);
	void *arg;
};

struct fetch_pool {
	pthread_mutex_t lock;
	pthread_cond_t work;  /* a job queued, or stopping */
	pthread_cond_t done;  /* a fetch_call finished */
	struct job *head, *tail;
	int queued, idle, nthreads, max, stopping;
	size_t stack;
	pthread_t *tids;
};

static void *worker(void *p)
{
	struct fetch_pool *pool = p;

	okta_http_keep_handle(1);
	pthread_mutex_lock(&pool->lock);
	for (;;) {
		struct job *j;

		while (pool->head == NULL && !pool->stopping) {
			pool->idle++;
			pthread_cond_wait(&pool->work, &pool->lock);
			pool->idle--;
		}
		if (pool->head == NULL)
			break; /* stopping, nothing left */
		j = pool->head;
		pool->head = j->next;
		if (pool->head == NULL)
			pool->tail = NULL;
		pool->queued--;
		pthread_mutex_unlock(&pool->lock);
		j->fn(j->arg);
		free(j);
		pthread_mutex_lock(&pool->lock);
	}
	pthread_mutex_unlock(&pool->lock);
	okta_http_keep_handle(0);
	OPENSSL_thread_stop();
	return NULL;
}

struct fetch_pool *fetch_pool_new(int max_threads, size_t stack_size)
{
	struct fetch_pool *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->tids = calloc((size_t)max_threads, sizeof(*p->tids));
	if (p->tids == NULL) {
		free(p);
		return NULL;
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	p->max = max_threads;
	p->stack = stack_size;
	return p;
}

/* The lock is held. */
static void start_thread_if_needed(struct fetch_pool *p)
{
	pthread_attr_t attr;

	if (p->idle >= p->queued || p->nthreads >= p->max)
		return;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, p->stack);
	if (pthread_create(&p->tids[p->nthreads], &attr, worker, p) == 0)
		p->nthreads++;
	pthread_attr_destroy(&attr);
}

/* The lock is held. */
static void enqueue(struct fetch_pool *p, struct job *j)
{
	j->next = NULL;
	if (p->tail != NULL)
		p->tail->next = j;
	else
		p->head = j;
	p->tail = j;
	p->queued++;
	pthread_cond_signal(&p->work);
}

int fetch_pool_run(struct fetch_pool *p, void (*fn)(void *), void *arg)
{
	struct job *j = malloc(sizeof(*j));
	int rc = 0;

	if (j == NULL)
		return -1;
	j->fn = fn;
	j->arg = arg;
	pthread_mutex_lock(&p->lock);
	if (p->stopping) {
		rc = -1;
	} else {
		enqueue(p, j);
		start_thread_if_needed(p);
		if (p->nthreads == 0) {
			/* no thread to run it: take it back */
			p->head = p->tail = NULL;
			p->queued = 0;
			rc = -1;
		}
	}
	pthread_mutex_unlock(&p->lock);
	if (rc != 0)
		free(j);
	return rc;
}

struct call_job {
	struct fetch_pool *p;
	struct fetch_call *call;
};

static void call_trampoline(void *arg)
{
	struct call_job *cj = arg;
	struct fetch_pool *p = cj->p;

	cj->call->fn(cj->call->arg);
	pthread_mutex_lock(&p->lock);
	cj->call->done = 1;
	pthread_cond_broadcast(&p->done);
	pthread_mutex_unlock(&p->lock);
	free(cj);
}

int fetch_pool_call(struct fetch_pool *p, struct fetch_call *call)
{
	struct call_job *cj = malloc(sizeof(*cj));
	struct job *j = malloc(sizeof(*j));
	int rc = -1;

	if (cj == NULL || j == NULL)
		goto out;
	cj->p = p;
	cj->call = call;
	call->done = 0;
	j->fn = call_trampoline;
	j->arg = cj;
	pthread_mutex_lock(&p->lock);
	/* only an idle thread: a queued call could wait behind the caller's
	 * own job, or behind every thread waiting like the caller */
	if (!p->stopping && p->idle > p->queued) {
		enqueue(p, j);
		rc = 0;
	}
	pthread_mutex_unlock(&p->lock);
out:
	if (rc != 0) {
		free(cj);
		free(j);
	}
	return rc;
}

void fetch_pool_wait(struct fetch_pool *p, struct fetch_call *call)
{
	pthread_mutex_lock(&p->lock);
	while (!call->done)
		pthread_cond_wait(&p->done, &p->lock);
	pthread_mutex_unlock(&p->lock);
}

void fetch_pool_free(struct fetch_pool *p)
{
	int i;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < p->nthreads; i++)
		pthread_join(p->tids[i], NULL);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->done);
	free(p->tids);
	free(p);
}
