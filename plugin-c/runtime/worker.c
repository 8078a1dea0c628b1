#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>

#include "log.h"
#include "worker.h"

struct wa_worker {
	pthread_mutex_t lock;
	pthread_cond_t cond;       /* signalled when a job is submitted, done, or the worker stops */
	struct wa_worker_job *job; /* submitted, not yet collected */
	int done;                  /* job's run has returned */
	int abandoned;             /* discard job when run returns */
	int stop;                  /* the owner is gone: the thread exits */
	pthread_t thread;
};

static void destroy(struct wa_worker *w)
{
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w);
}

static void *loop(void *arg)
{
	struct wa_worker *w = arg;

	wa_log_defer(1);
	pthread_mutex_lock(&w->lock);
	for (;;) {
		struct wa_worker_job *job;

		while (!w->stop && (!w->job || w->done)) pthread_cond_wait(&w->cond, &w->lock);
		if (w->stop && (!w->job || w->done)) break;
		job = w->job;
		pthread_mutex_unlock(&w->lock);
		job->run(job);
		pthread_mutex_lock(&w->lock);
		if (w->abandoned) {
			w->job = NULL;
			w->abandoned = 0;
			pthread_mutex_unlock(&w->lock);
			job->discard(job);
			pthread_mutex_lock(&w->lock);
		} else {
			w->done = 1;
		}
		pthread_cond_broadcast(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

struct wa_worker *wa_worker_new(void)
{
	struct wa_worker *w = calloc(1, sizeof *w);
	pthread_condattr_t ca;
	pthread_attr_t attr;
	sigset_t all, old;
	int rc;

	if (!w) return NULL;
	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cond, &ca);
	pthread_condattr_destroy(&ca);
	/* mosquitto's signals (SIGHUP, SIGINT, ...) stay with its own thread. wasm3 bounds the native
	 * stack it uses per call (d_m3MaxNativeStack); the thread gets room for it and the compiler. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 8u * 1024u * 1024u);
	rc = pthread_create(&w->thread, &attr, loop, w);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		destroy(w);
		return NULL;
	}
	return w;
}

int wa_worker_submit(struct wa_worker *w, struct wa_worker_job *job)
{
	int rc = -1;

	pthread_mutex_lock(&w->lock);
	if (!w->job) {
		w->job = job;
		w->done = 0;
		rc = 0;
		pthread_cond_broadcast(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
	return rc;
}

/* Under lock. */
static struct wa_worker_job *collect(struct wa_worker *w)
{
	struct wa_worker_job *job = NULL;

	if (w->job && w->done) {
		job = w->job;
		w->job = NULL;
		w->done = 0;
	}
	return job;
}

struct wa_worker_job *wa_worker_done(struct wa_worker *w)
{
	struct wa_worker_job *job;

	pthread_mutex_lock(&w->lock);
	job = collect(w);
	pthread_mutex_unlock(&w->lock);
	return job;
}

struct wa_worker_job *wa_worker_wait(struct wa_worker *w, uint32_t timeout_ms)
{
	struct timespec until;
	struct wa_worker_job *job;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += timeout_ms / 1000u;
	until.tv_nsec += (long)(timeout_ms % 1000u) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&w->lock);
	while (w->job && !w->done && !w->abandoned) {
		if (pthread_cond_timedwait(&w->cond, &w->lock, &until) != 0) break;
	}
	job = collect(w);
	pthread_mutex_unlock(&w->lock);
	return job;
}

void wa_worker_abandon(struct wa_worker *w)
{
	struct wa_worker_job *job;

	pthread_mutex_lock(&w->lock);
	job = collect(w);
	if (!job && w->job) w->abandoned = 1;
	pthread_mutex_unlock(&w->lock);
	if (job) job->discard(job); /* it had finished after all */
}

void wa_worker_free(struct wa_worker *w)
{
	if (!w) return;
	wa_worker_abandon(w);
	pthread_mutex_lock(&w->lock);
	w->stop = 1;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	destroy(w);
}
