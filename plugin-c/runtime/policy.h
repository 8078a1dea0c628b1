/* The policy runtime: one loaded policy module and the ABI's calls into it (docs/ABI.md).
 * Engine-neutral: the interpreter sits behind engine.h. Data flows one way: the embedder (plugin.c,
 * wa-call) passes a request in, gets a decision out. Not thread-safe: one policy per thread. */
#ifndef WASM_AUTH_POLICY_H
#define WASM_AUTH_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "abi.h"
#include "hostfns.h"
#include "options.h"
#include "stats.h"

struct wa_grants;
struct wa_stats;

struct wa_policy;

/* Checks bytes with the gate, meters them, instantiates, runs the start function, checks
 * wasm_auth_abi_version and gets the first request buffer. No policy hook runs yet.
 * cfg, opts and client_ops must outlive the policy. NULL with a one-line reason in err. */
struct wa_policy *wa_policy_new(const uint8_t *bytes, size_t len, const struct wa_config *cfg,
                                const struct wa_options *opts, const struct wa_client_ops *client_ops, char *err,
                                size_t errlen);
/* Frees without calling the guest (see wa_policy_plugin_cleanup). */
void wa_policy_free(struct wa_policy *p);

/* Bit (1u << enum wa_hook) for every hook the module exports. */
unsigned wa_policy_hooks(const struct wa_policy *p);

/* The decision cache's inputs (acl_cache.h). acl_cacheable: the module exports
 * wasm_auth_acl_cacheable() returning 1 and the 4-argument acl_check. epoch: changes, to a value
 * no policy of this process had before, whenever an instance is created or discarded or
 * security_init runs: decisions from an older epoch may no longer hold. failures: counts
 * failure decisions (a request whose count moved did not get the guest's own decision). */
int wa_policy_acl_cacheable(const struct wa_policy *p);
/* The module is cacheable and exports wasm_auth_acl_grants (docs/ABI.md, "Grants"). */
int wa_policy_acl_grants(const struct wa_policy *p);
uint64_t wa_policy_epoch(const struct wa_policy *p);
uint64_t wa_policy_failures(const struct wa_policy *p);
/* What the last failure counted by wa_policy_failures was (stats.h: fuel, timeout, memory, ...;
 * WA_FAIL_BUDGET when wa_policy_refuse refused it without entering the guest). */
enum wa_fail_kind wa_policy_last_failure(const struct wa_policy *p);

/* Lifecycle. The init hooks return 0, or -1 with the reason in err when the hook trapped or
 * returned 0 (refused). Hooks the module does not export succeed trivially. */
int wa_policy_plugin_init(struct wa_policy *p, char *err, size_t errlen);
int wa_policy_security_init(struct wa_policy *p, int reload, char *err, size_t errlen);
/* Records the instance's state once its lifecycle hooks have run: after a failure in a request
 * it is put back to exactly this state (policy.c). -1 with err when out of memory. */
int wa_policy_seal(struct wa_policy *p, char *err, size_t errlen);
/* The instance was dropped (a failure it could not be restored from): every request gets the
 * failure decision until the embedder replaces the policy with a new one. */
int wa_policy_broken(const struct wa_policy *p);
/* Cleanup hooks cannot refuse; a trap is logged. */
void wa_policy_security_cleanup(struct wa_policy *p, int reload);
void wa_policy_plugin_cleanup(struct wa_policy *p);

/* Requests. NULL strings are absent values (ABI: descriptor pointer 0) where the ABI allows
 * it (username, password), empty strings elsewhere. client is handed back to the
 * wa_client_ops callbacks while the guest runs. Any failure gives cfg->on_error. */
enum wa_decision wa_policy_unpwd_check(struct wa_policy *p, const void *client, const char *username,
                                       const char *password);
enum wa_decision wa_policy_acl_check(struct wa_policy *p, const void *client, const char *clientid,
                                     const char *username, const char *topic, int access, const void *payload,
                                     uint32_t payloadlen, int qos, int retain);
/* The failure decision for a request the embedder refuses without calling the guest (breaker.h),
 * counted as a failure. anonymous: an unpwd_check without a username (never deferred). */
enum wa_decision wa_policy_refuse(struct wa_policy *p, enum wa_hook hook, int anonymous);

/* The audit (broker/audit.h): what a decision came from. wa_policy_audit_mark before a request
 * clears the guest's reason (set_reason) and marks the fuel counter; wa_policy_audit_outcome
 * after it tells whether guest code ran, the fuel the last guest call used (its hook entry
 * included), the reason, and why the failure decision was given if it was. Only audited
 * requests pay for this. */
struct wa_policy_outcome {
	int failed;          /* the failure decision was given */
	const char *failure; /* why ("fuel exhausted", "timeout: ...", ...), "" unless failed */
	int guest_ran;       /* a guest call ran during the request */
	int64_t fuel_used;   /* by the last guest call; 0 when none ran */
	const char *reason;  /* set_reason's UTF-8, reason_len bytes (not terminated) */
	uint32_t reason_len;
};
uint64_t wa_policy_audit_mark(struct wa_policy *p);
void wa_policy_audit_outcome(const struct wa_policy *p, uint64_t mark, struct wa_policy_outcome *o);

/* A client's grants (grants.h), computed by the guest; the caller owns them. NULL on a failure
 * (logged, and counted like a request's), with the failure decision in *d. */
struct wa_grants *wa_policy_grants(struct wa_policy *p, const void *client, const char *clientid, const char *username,
                                   enum wa_decision *d);

/* WA_ALLOW: key (NUL-terminated hex, shorter than keycap) holds the key. WA_DENY: no key.
 * WA_DEFER only as the failure decision. */
enum wa_decision wa_policy_psk_key_get(struct wa_policy *p, const void *client, const char *identity, const char *hint,
                                       char *key, size_t keycap);

/* Events (docs/ABI.md, "Events"): on_disconnect and on_tick, under the request budget, when the
 * module exports them (else nothing happens). A failure is logged (rate-limited), the instance
 * restored, and the actions the call queued dropped; there is nothing to decide. */
void wa_policy_disconnect(struct wa_policy *p, const void *client, const char *clientid, const char *username);
void wa_policy_tick(struct wa_policy *p);

/* Revocation (docs/ABI.md, "Revocation"): whether a session unpwd_check allowed under an earlier
 * policy may go on. WA_DENY: disconnect it. A failure (logged, counted) gets the failure
 * decision; WA_ALLOW when the module does not export session_check. No client is passed to the
 * guest: the session may be gone by the time its turn comes (client_address etc. see none). */
enum wa_decision wa_policy_session_check(struct wa_policy *p, const char *clientid, const char *username);
/* on_message (docs/ABI.md, "Message hook"), under the request budget: WA_ALLOW = deliver,
 * with the rewrite wa_policy_message_rewrite describes (empty when the guest deferred: deliver
 * unchanged); WA_DENY = drop, which is also the failure decision whatever wasm_on_error says. A
 * module that does not export on_message allows. The rewrite lives until wa_policy_message_done or
 * the next call. */
enum wa_decision wa_policy_message(struct wa_policy *p, const void *client, const char *clientid, const char *username,
                                   const char *topic, const void *payload, uint32_t payloadlen, int qos, int retain);
const struct wa_message_rewrite *wa_policy_message_rewrite(const struct wa_policy *p);
void wa_policy_message_done(struct wa_policy *p);
/* on_message_out (mosquitto 2.1: one subscriber's copy; clientid and username are the
 * subscriber's): as wa_policy_message, the same rewrite and failure decision (drop). */
enum wa_decision wa_policy_message_out(struct wa_policy *p, const void *client, const char *clientid,
                                       const char *username, const char *topic, const void *payload,
                                       uint32_t payloadlen, int qos, int retain);
/* on_subscribe (mosquitto 2.1), under the request budget: WA_ALLOW = keep the subscription with
 * the rewrite wa_policy_subscribe_rewrite describes (empty: unchanged); WA_DENY = refuse, also
 * the failure decision whatever wasm_on_error says. A module that does not export it allows. The
 * rewrite lives until wa_policy_subscribe_done or the next call. */
enum wa_decision wa_policy_subscribe(struct wa_policy *p, const void *client, const char *clientid,
                                     const char *username, const char *topic, int qos);
const struct wa_subscribe_rewrite *wa_policy_subscribe_rewrite(const struct wa_policy *p);
void wa_policy_subscribe_done(struct wa_policy *p);

/* MQTT 5 enhanced authentication (docs/ABI.md, "Enhanced authentication"): ext_auth_start
 * (start = 1) or ext_auth_continue with the AUTH data. WA_ALLOW, WA_DENY, WA_DEFER, or
 * WA_CONTINUE (send *out in an AUTH packet and wait). *out / *outlen: what auth_data_out gave in
 * this call (0 bytes if nothing; only with WA_ALLOW and WA_CONTINUE), in the host's buffer until
 * the next call. A failure (logged, counted) is WA_DENY whatever wasm_on_error says; WA_DEFER
 * when the module does not export the hook. */
int wa_policy_ext_auth(struct wa_policy *p, const void *client, int start, const char *clientid, const char *method,
                       const void *data, uint32_t datalen, const uint8_t **out, uint32_t *outlen);

/* Deferred actions (docs/ABI.md, "Deferred actions") the guest queued with kick_client,
 * kick_user and publish, in any hook (init hooks on the worker thread included): how many wait,
 * and each handed to run in order and then dropped. The embedder calls mosquitto from run, on
 * the broker's main thread only. */
unsigned wa_policy_actions_pending(const struct wa_policy *p);
void wa_policy_take_actions(struct wa_policy *p, void (*run)(const struct wa_action *a, void *ud), void *ud);

/* From now on each action the guest queues sets *due to 0 (NULL: nothing), so that an embedder
 * polling for them tests one word of its own. Main thread only: for the policy in service. */
void wa_policy_wake_on_action(struct wa_policy *p, uint64_t *due);

/* From now on the policy counts its failures, fuel and latency into s (stats.h), or nothing
 * (NULL, the default). Main thread only, like the requests. */
void wa_policy_count_into(struct wa_policy *p, struct wa_stats *s);

#endif
