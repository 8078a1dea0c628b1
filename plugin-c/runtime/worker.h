/* One background thread for the work that must not stall the broker's main thread: building
 * policy instances (gate, compilation, start function, plugin_init, security_init) at reload and
 * re-creation (startup builds on the caller's thread). One job at a time. The thread's log lines are queued for the main
 * thread (log.h) and it makes no mosquitto call; the job hands its result back through memory
 * the submitter reads once wa_worker_done() says so. */
#ifndef WASM_AUTH_WORKER_H
#define WASM_AUTH_WORKER_H

#include <stdint.h>

struct wa_worker;

/* run does the job on the worker thread; discard frees a job whose submitter gave up on it
 * (wa_worker_abandon), also on the worker thread, once run returns. */
struct wa_worker_job {
	void (*run)(struct wa_worker_job *job);
	void (*discard)(struct wa_worker_job *job);
};

/* NULL when the thread cannot start. */
struct wa_worker *wa_worker_new(void);

/* Starts job; -1 while another job is still running or not yet collected. */
int wa_worker_submit(struct wa_worker *w, struct wa_worker_job *job);

/* The submitted job, once run has returned (the submitter owns it again), else NULL. Never
 * blocks. */
struct wa_worker_job *wa_worker_done(struct wa_worker *w);

/* Waits at most timeout_ms for the job to finish; then as wa_worker_done. */
struct wa_worker_job *wa_worker_wait(struct wa_worker *w, uint32_t timeout_ms);

/* Gives up on the running job: the worker discards it when run returns, and takes new jobs
 * after that. */
void wa_worker_abandon(struct wa_worker *w);

/* Stops the thread and waits for it (no thread may outlive the plugin library): a job still
 * running is abandoned, and finishes first. Every guest call in it is bounded by its deadline. */
void wa_worker_free(struct wa_worker *w);

#endif
