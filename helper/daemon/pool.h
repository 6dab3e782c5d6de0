/* pool.h - the threads that ask Okta in the background for checks.
 *
 * Starting a thread per fetch cost ~40 µs on the CI machine and let a
 * flood of cold checks start a thread each; the pool keeps up to a fixed
 * number of threads for the daemon's life, each with its own libcurl
 * handle (okta_http_keep_handle), and queues what they cannot take yet. */
#ifndef OJIT_POOL_H
#define OJIT_POOL_H

#include <stddef.h>

struct fetch_pool;

struct fetch_pool *fetch_pool_new(int max_threads, size_t stack_size);
/* Queue fn(arg); a thread is started when none is idle and the bound
 * allows. 0, or -1 when no thread exists or can be started. */
int fetch_pool_run(struct fetch_pool *p, void (*fn)(void *), void *arg);

/* A job run beside the caller, waited for with fetch_pool_wait. */
struct fetch_call {
	void (*fn)(void *);
	void *arg;
	int done;
};
/* Hand call to an idle thread now: 0, or -1 when none is idle (then run
 * it yourself). */
int fetch_pool_call(struct fetch_pool *p, struct fetch_call *call);
void fetch_pool_wait(struct fetch_pool *p, struct fetch_call *call);

/* Threads end once the queue is empty; joined. Then free. */
void fetch_pool_free(struct fetch_pool *p);

#endif
