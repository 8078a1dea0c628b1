/* What an embedder (the mosquitto plugin, wa-call) holds: the options, the policy file and the
 * current policy, with loading and reloading as the plugin does them. Both embedders go through
 * here so that wa-call behaves exactly like the plugin. Requests go straight to the policy:
 * wa_policy_*_check(wa_auth_policy(a), ...). */
#ifndef WASM_AUTH_AUTH_H
#define WASM_AUTH_AUTH_H

#include "hostfns.h"
#include "options.h"
#include "policy.h"

struct wa_auth;

/* Copies the options, then reads and loads the policy named by wasm_module (gate, compilation,
 * start function, plugin_init, security_init(reload = 0), seal) on the worker thread
 * (worker.h), waiting for it at most wasm_init_timeout_ms. On any failure logs exactly one line
 * "wasm-auth: cannot load policy FILE: REASON" and returns NULL. */
struct wa_auth *wa_auth_new(const struct wa_kv *opts, unsigned n, const struct wa_client_ops *client_ops);

/* As wa_auth_new, but returns as soon as the load has started, for a second policy whose
 * failure to load is not the broker's (shadow.h). log_prefix (kept, not copied; or NULL) starts
 * the policy's own failure lines and the load's outcome (wa_config.log_prefix). NULL with the
 * reason in err, logging nothing, only for bad options or no thread. wa_auth_policy is NULL until wa_auth_poll puts the policy in service
 * ("PREFIXloaded policy FILE"), or says "PREFIXcannot load policy FILE: REASON" and leaves it NULL
 * until a reload (wa_auth_reload_start) succeeds. The embedder's startup does not wait for it. */
struct wa_auth *wa_auth_start(const struct wa_kv *opts, unsigned n, const struct wa_client_ops *client_ops,
                              const char *log_prefix, char *err, size_t errlen);

/* security_cleanup(0), plugin_cleanup, then frees everything. */
void wa_auth_free(struct wa_auth *a);

/* The policy in service (NULL only while wa_auth_start's load has not succeeded). Changes only
 * inside wa_auth_poll / wa_auth_settle / wa_auth_reload. */
struct wa_policy *wa_auth_policy(const struct wa_auth *a);
const struct wa_config *wa_auth_config(const struct wa_auth *a);

/* MOSQ_EVT_RELOAD: a fresh instance is built on the worker thread from the file as it is now
 * (plugin_init, security_init(1)), while the current policy keeps serving. When it is ready,
 * wa_auth_poll puts it in service and gives the old one security_cleanup(1) and plugin_cleanup;
 * if it fails or misses the lifecycle deadline, one line "wasm-auth: reload of FILE failed,
 * keeping the previous policy: REASON" and the old one stays. A reload asked for while a build
 * runs starts after it. */
void wa_auth_reload_start(struct wa_auth *a);

/* Main thread, often (the plugin: every MOSQ_EVT_TICK): writes the worker's queued log lines,
 * finishes a build that is done (or gives up on one past its deadline), starts a pending reload,
 * and starts re-creating a dropped instance (wa_policy_broken) from the module it was built
 * from, with a backoff doubling from WA_REBUILD_BACKOFF_MS while re-creation keeps failing.
 * 1 if another policy went into service: the exported hook set may have changed
 * (wa_policy_hooks). */
int wa_auth_poll(struct wa_auth *a);

/* Waits until no build is running (each within its deadline) and finishes it: 0 if the last one
 * succeeded (or there was none), -1 otherwise. For tools and tests. */
int wa_auth_settle(struct wa_auth *a);

/* wa_auth_reload_start, then wa_auth_settle: 0 if the new policy is in service. */
int wa_auth_reload(struct wa_auth *a);

/* Counts into s (stats.h) from now on: the finished reloads and re-creations, and whatever the
 * policy in service (and every later one) counts (wa_policy_count_into). */
void wa_auth_count_into(struct wa_auth *a, struct wa_stats *s);

/* *due is set to 0 whenever the policy in service (and every later one) queues a deferred
 * action (wa_policy_wake_on_action). */
void wa_auth_wake_on_action(struct wa_auth *a, uint64_t *due);

#endif
