#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "module_file.h"
#include "../gate/gate.h"
#include "log.h"
#include "stats.h"
#include "worker.h"

/* The options and settings, shared by the main thread and the job building a policy from them:
 * a policy points into them for its life, and a job the main thread gave up on outlives it. */
struct settings {
	struct wa_options *opts;
	struct wa_config cfg;
	_Atomic unsigned refs;
};

enum job_kind { JOB_LOAD, JOB_RELOAD, JOB_REBUILD };

#define ERRLEN 1024

/* A policy built on the worker thread (worker.h). */
struct build_job {
	struct wa_worker_job base; /* first: the worker hands this pointer back */
	enum job_kind kind;
	struct settings *set;
	const struct wa_client_ops *client_ops;
	uint8_t *bytes; /* in: the module (JOB_REBUILD) or NULL to read the file; out: it */
	size_t len;
	struct wa_policy *policy; /* out: ready and sealed, or NULL with err */
	char err[ERRLEN];
};

struct wa_auth {
	struct settings *set;
	const struct wa_client_ops *client_ops;
	struct wa_policy *policy;
	uint8_t *bytes; /* the module the policy was built from */
	size_t len;
	struct wa_worker *worker;
	int busy; /* a job is on the worker */
	enum job_kind busy_kind;
	uint64_t busy_since_ms;
	int reload_wanted;      /* a reload came while a job was running */
	uint64_t rebuild_at_ms; /* no re-creation before this (after a failed one) */
	uint32_t backoff_ms;
	struct wa_stats *stats; /* wa_auth_count_into, or NULL */
	uint64_t *wake;         /* wa_auth_wake_on_action, or NULL */
};

/* A whole load (compilation and every lifecycle hook) must finish within twice the per-hook
 * deadline: a hook that hangs is then reported as such, by the watchdog, before the load is. */
static uint32_t load_deadline_ms(const struct wa_config *cfg)
{
	return cfg->init_timeout_ms > UINT32_MAX / 2u ? UINT32_MAX : cfg->init_timeout_ms * 2u;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void settings_unref(struct settings *set)
{
	if (set && --set->refs == 0) {
		wa_options_free(set->opts);
		free(set);
	}
}

/* A ready policy from bytes: gate, instance, plugin_init, security_init(reload), sealed. */
static struct wa_policy *load(const struct settings *set, const struct wa_client_ops *client_ops, const uint8_t *bytes,
                              size_t len, int reload, char *err, size_t errlen)
{
	struct wa_policy *p = wa_policy_new(bytes, len, &set->cfg, set->opts, client_ops, err, errlen);

	if (!p) return NULL;
	if (wa_policy_plugin_init(p, err, errlen) != 0) {
		wa_policy_free(p);
		return NULL;
	}
	if (wa_policy_security_init(p, reload, err, errlen) != 0 || wa_policy_seal(p, err, errlen) != 0) {
		wa_policy_plugin_cleanup(p);
		wa_policy_free(p);
		return NULL;
	}
	return p;
}

/* On the worker thread (at startup, on the caller's). */
static void build_run(struct wa_worker_job *base)
{
	struct build_job *job = (struct build_job *)base;
	const struct wa_config *cfg = &job->set->cfg;

	if (!job->bytes && wa_module_file_read(cfg->module_path, cfg->caps.max_module_bytes, &job->bytes, &job->len,
	                                       job->err, sizeof job->err) != 0) {
		return;
	}
	job->policy =
	    load(job->set, job->client_ops, job->bytes, job->len, job->kind == JOB_RELOAD, job->err, sizeof job->err);
}

/* A policy never put into service: freed without its cleanup hooks. */
static void build_free(struct wa_worker_job *base)
{
	struct build_job *job = (struct build_job *)base;

	wa_policy_free(job->policy);
	free(job->bytes);
	settings_unref(job->set);
	free(job);
}

/* A job to build a policy from bytes (copied) or, with NULL, from the module file. */
static struct build_job *new_job(struct wa_auth *a, enum job_kind kind, const uint8_t *bytes, size_t len)
{
	struct build_job *job = calloc(1, sizeof *job);

	if (!job) return NULL;
	job->base.run = build_run;
	job->base.discard = build_free;
	job->kind = kind;
	job->set = a->set;
	a->set->refs++;
	job->client_ops = a->client_ops;
	if (bytes) {
		job->bytes = malloc(len ? len : 1u);
		if (!job->bytes) {
			build_free(&job->base);
			return NULL;
		}
		memcpy(job->bytes, bytes, len);
		job->len = len;
	}
	return job;
}

/* Starts a job on the worker. The worker thread starts with the first job after startup: until
 * then the process has one thread, and glibc keeps its cheaper single-threaded paths (locks,
 * malloc, syscalls) for as long as no thread was ever created. */
static int submit(struct wa_auth *a, enum job_kind kind, const uint8_t *bytes, size_t len)
{
	struct build_job *job = new_job(a, kind, bytes, len);

	if (!job) return -1;
	if (!a->worker) a->worker = wa_worker_new();
	if (!a->worker || wa_worker_submit(a->worker, &job->base) != 0) {
		build_free(&job->base);
		return -1;
	}
	a->busy = 1;
	a->busy_kind = kind;
	a->busy_since_ms = now_ms();
	return 0;
}

/* Puts a finished job's policy in service; the one it replaces gets its cleanup hooks (under the
 * request budget: they run on the main thread). */
static void swap_in(struct wa_auth *a, struct build_job *job)
{
	struct wa_policy *old = a->policy;

	a->policy = job->policy;
	job->policy = NULL;
	wa_policy_count_into(a->policy, a->stats);
	wa_policy_wake_on_action(a->policy, a->wake);
	free(a->bytes);
	a->bytes = job->bytes;
	a->len = job->len;
	job->bytes = NULL;
	if (old) {
		wa_policy_security_cleanup(old, 1);
		wa_policy_plugin_cleanup(old);
		wa_policy_free(old);
	}
}

/* Logged once, at the first failure: the retries double their wait up to
 * WA_REBUILD_BACKOFF_MAX_MS, and the next line is the success's. */
static void take_rebuild_failure(struct wa_auth *a, const char *why)
{
	if (!a->backoff_ms) {
		wa_log(WA_LOG_ERR,
		       "re-creating the instance of %s failed, retrying with backoff (up to every %u s): %s",
		       a->set->cfg.module_path, WA_REBUILD_BACKOFF_MAX_MS / 1000u, why);
	}
	a->backoff_ms = a->backoff_ms ? a->backoff_ms * 2u : WA_REBUILD_BACKOFF_MS;
	if (a->backoff_ms > WA_REBUILD_BACKOFF_MAX_MS) a->backoff_ms = WA_REBUILD_BACKOFF_MAX_MS;
	a->rebuild_at_ms = now_ms() + a->backoff_ms;
}

static void count_build(struct wa_auth *a, enum job_kind kind, int ok)
{
	if (!a->stats || kind == JOB_LOAD) return;
	if (kind == JOB_RELOAD) {
		if (ok)
			a->stats->reloads_ok++;
		else
			a->stats->reloads_failed++;
	} else {
		if (ok)
			a->stats->rebuilds_ok++;
		else
			a->stats->rebuilds_failed++;
	}
}

static const char *prefix(const struct wa_auth *a)
{
	return a->set->cfg.log_prefix ? a->set->cfg.log_prefix : "";
}

/* A finished job: 1 if its policy went into service, -1 if it failed. */
static int finish(struct wa_auth *a, struct build_job *job)
{
	int rc = job->policy ? 1 : -1;

	a->busy = 0;
	wa_log_flush();
	count_build(a, job->kind, job->policy != NULL);
	if (job->kind == JOB_LOAD) { /* wa_auth_start's: the policy goes into service now, or never */
		if (job->policy) {
			swap_in(a, job);
			wa_log(WA_LOG_NOTICE, "%sloaded policy %s", prefix(a), a->set->cfg.module_path);
		} else {
			wa_log(WA_LOG_ERR, "%s" WA_GATE_REFUSED_FMT, prefix(a), a->set->cfg.module_path, job->err);
		}
	} else if (job->kind == JOB_RELOAD) {
		if (job->policy) {
			swap_in(a, job);
			wa_log(WA_LOG_NOTICE, "reloaded policy %s", a->set->cfg.module_path);
		} else if (!a->policy) {
			wa_log(WA_LOG_ERR, "%s" WA_GATE_REFUSED_FMT, prefix(a), a->set->cfg.module_path, job->err);
		} else {
			wa_log(WA_LOG_ERR, "reload of %s failed, keeping the previous policy: %s",
			       a->set->cfg.module_path, job->err);
		}
	} else if (job->policy) {
		swap_in(a, job);
		a->backoff_ms = 0;
		wa_log(WA_LOG_NOTICE, "re-created the instance of %s", a->set->cfg.module_path);
	} else {
		take_rebuild_failure(a, job->err);
	}
	build_free(&job->base);
	return rc;
}

/* The job on the worker ran past the lifecycle deadline: given up (the worker frees it). */
static void give_up(struct wa_auth *a)
{
	wa_worker_abandon(a->worker);
	a->busy = 0;
	count_build(a, a->busy_kind, 0);
	if (a->busy_kind == JOB_LOAD || (a->busy_kind == JOB_RELOAD && !a->policy)) {
		char why[128];
		snprintf(why, sizeof why, "loading did not finish within %u ms, twice %s",
		         load_deadline_ms(&a->set->cfg), WA_OPT_INIT_TIMEOUT_MS);
		wa_log(WA_LOG_ERR, "%s" WA_GATE_REFUSED_FMT, prefix(a), a->set->cfg.module_path, why);
	} else if (a->busy_kind == JOB_RELOAD) {
		wa_log(WA_LOG_ERR,
		       "reload of %s failed, keeping the previous policy: loading did not finish within %u ms, "
		       "twice %s",
		       a->set->cfg.module_path, load_deadline_ms(&a->set->cfg), WA_OPT_INIT_TIMEOUT_MS);
	} else {
		char why[128];
		snprintf(why, sizeof why, "loading did not finish within %u ms, twice %s",
		         load_deadline_ms(&a->set->cfg), WA_OPT_INIT_TIMEOUT_MS);
		take_rebuild_failure(a, why);
	}
}

int wa_auth_poll(struct wa_auth *a)
{
	int changed = 0;

	wa_log_flush();
	if (a->busy) {
		struct wa_worker_job *job = wa_worker_done(a->worker);

		if (job) {
			changed = finish(a, (struct build_job *)job) > 0;
		} else if (now_ms() - a->busy_since_ms > load_deadline_ms(&a->set->cfg)) {
			give_up(a);
		}
	}
	if (!a->busy && a->reload_wanted) {
		a->reload_wanted = 0;
		if (submit(a, JOB_RELOAD, NULL, 0) != 0) {
			count_build(a, JOB_RELOAD, 0);
			wa_log(WA_LOG_ERR, "reload of %s failed: out of memory", a->set->cfg.module_path);
		}
	} else if (!a->busy && a->policy && wa_policy_broken(a->policy) && now_ms() >= a->rebuild_at_ms) {
		if (submit(a, JOB_REBUILD, a->bytes, a->len) != 0) {
			count_build(a, JOB_REBUILD, 0);
			take_rebuild_failure(a, "out of memory");
		}
	}
	return changed;
}

void wa_auth_reload_start(struct wa_auth *a)
{
	a->reload_wanted = 1;
	wa_auth_poll(a);
}

int wa_auth_settle(struct wa_auth *a)
{
	int rc = 0;

	while (a->busy) {
		uint64_t spent = now_ms() - a->busy_since_ms;
		uint32_t deadline = load_deadline_ms(&a->set->cfg);
		uint32_t left = spent >= deadline ? 0u : deadline - (uint32_t)spent;
		struct wa_worker_job *job = wa_worker_wait(a->worker, left);

		if (job) {
			rc = finish(a, (struct build_job *)job) > 0 ? 0 : -1;
		} else if (now_ms() - a->busy_since_ms >= deadline) {
			give_up(a);
			rc = -1;
		}
		if (!a->busy && a->reload_wanted) wa_auth_poll(a);
	}
	return rc;
}

void wa_auth_count_into(struct wa_auth *a, struct wa_stats *s)
{
	a->stats = s;
	wa_policy_count_into(a->policy, s);
}

void wa_auth_wake_on_action(struct wa_auth *a, uint64_t *due)
{
	a->wake = due;
	wa_policy_wake_on_action(a->policy, due);
}

int wa_auth_reload(struct wa_auth *a)
{
	wa_auth_reload_start(a);
	return wa_auth_settle(a);
}

/* Loads as wa_auth_new describes; on failure the reason goes to err (errlen >= 1) instead of the
 * log, with *stage saying what failed: 0 the options (err alone says it), 1 the module. */
static struct wa_auth *create(const struct wa_kv *opts, unsigned n, const struct wa_client_ops *client_ops,
                              const char *log_prefix, int wait, char *err, size_t errlen, int *stage)
{
	struct wa_auth *a = calloc(1, sizeof *a);
	struct build_job *job;
	uint64_t started;

	*stage = 1;
	if (a) a->set = calloc(1, sizeof *a->set);
	if (!a || !a->set) {
		snprintf(err, errlen, "out of memory");
		free(a);
		return NULL;
	}
	a->set->refs = 1;
	a->client_ops = client_ops;
	a->set->opts = wa_options_new(opts, n, err, errlen);
	if (!a->set->opts || wa_config_parse(a->set->opts, &a->set->cfg, err, errlen) != 0) {
		*stage = 0;
		goto fail;
	}
	a->set->cfg.log_prefix = log_prefix;
	if (!wait) {
		if (submit(a, JOB_LOAD, NULL, 0) == 0) return a;
		snprintf(err, errlen, "cannot start the policy worker thread");
		goto fail;
	}
	/* Startup builds on the calling thread: the broker serves nobody yet, and every guest call
	 * in the build is bounded by its deadline. */
	job = new_job(a, JOB_LOAD, NULL, 0);
	if (!job) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	started = now_ms();
	build_run(&job->base);
	wa_log_flush();
	if (job->policy && now_ms() - started > load_deadline_ms(&a->set->cfg)) {
		/* As a build on the worker is given up (and freed unused): too slow to load. */
		snprintf(err, errlen, "loading did not finish within %u ms, twice %s (raise plugin_opt_%s)",
		         load_deadline_ms(&a->set->cfg), WA_OPT_INIT_TIMEOUT_MS, WA_OPT_INIT_TIMEOUT_MS);
		build_free(&job->base);
		goto fail;
	}
	if (!job->policy) {
		snprintf(err, errlen, "%s", job->err);
		build_free(&job->base);
		goto fail;
	}
	a->policy = job->policy;
	a->bytes = job->bytes;
	a->len = job->len;
	job->policy = NULL;
	job->bytes = NULL;
	build_free(&job->base);
	return a;
fail:
	wa_worker_free(a->worker); /* abandons a job still running */
	settings_unref(a->set);
	free(a);
	return NULL;
}

struct wa_auth *wa_auth_new(const struct wa_kv *opts, unsigned n, const struct wa_client_ops *client_ops)
{
	char err[ERRLEN];
	const char *path = NULL;
	int stage;
	struct wa_auth *a = create(opts, n, client_ops, NULL, 1, err, sizeof err, &stage);

	if (a) return a;
	if (stage == 0) {
		wa_log(WA_LOG_ERR, "cannot load policy: %s", err);
		return NULL;
	}
	for (unsigned i = 0; i < n; i++) { /* the last wasm_module, as options.c reads it */
		if (opts[i].key && strcmp(opts[i].key, WA_OPT_MODULE) == 0) path = opts[i].value;
	}
	wa_log(WA_LOG_ERR, WA_GATE_REFUSED_FMT, path ? path : "", err);
	return NULL;
}

struct wa_auth *wa_auth_start(const struct wa_kv *opts, unsigned n, const struct wa_client_ops *client_ops,
                              const char *log_prefix, char *err, size_t errlen)
{
	int stage;

	return create(opts, n, client_ops, log_prefix, 0, err, errlen, &stage);
}

void wa_auth_free(struct wa_auth *a)
{
	if (!a) return;
	wa_worker_free(a->worker);
	wa_log_flush();
	if (a->policy) {
		wa_policy_security_cleanup(a->policy, 0);
		wa_policy_plugin_cleanup(a->policy);
		wa_policy_free(a->policy);
	}
	free(a->bytes);
	settings_unref(a->set);
	free(a);
}

struct wa_policy *wa_auth_policy(const struct wa_auth *a)
{
	return a->policy;
}

const struct wa_config *wa_auth_config(const struct wa_auth *a)
{
	return &a->set->cfg;
}
