/* Shadow rollout (option wasm_shadow_module): a candidate policy, loaded behind the same gate,
 * caps and options as the live one, is asked every request the live policy decided, after the
 * live decision is made. Its answer never reaches the broker: agreements and disagreements are
 * counted, disagreements logged (rate-limited, wa_limits.h WA_SHADOW_LOG_*), and its failures
 * only counted. It pays from a budget of its own (wasm_shadow_share of broker time, at most
 * wasm_timeout_ms at once): over it, the shadow is skipped for that request. Its deferred actions
 * are dropped and its events (on_tick, on_disconnect) are not called: it never acts on the
 * broker. Main thread only, like the live policy; mosquitto-free so that tests can drive it. */
#ifndef WASM_AUTH_SHADOW_H
#define WASM_AUTH_SHADOW_H

#include <stddef.h>
#include <stdint.h>

#include "../runtime/abi.h"
#include "../runtime/hostfns.h"
#include "../runtime/options.h"

struct wa_shadow;

/* Requests the live policy decided and the shadow was offered, by outcome. */
struct wa_shadow_stats {
	uint64_t compared;                                   /* agreed + disagreed */
	uint64_t agreed;                                     /* same decision (and, for psk_key_get, the same key) */
	uint64_t disagreed;                                  /* a different decision or key */
	uint64_t failed;                                     /* the shadow failed: not compared; by kind: */
	uint64_t failed_fuel, failed_deadline, failed_other; /* fuel, deadline, anything else (trap, bad answer) */
	uint64_t unavailable; /* no shadow instance (dropped, being re-created) or it lacks the hook */
	uint64_t skipped;     /* the shadow's budget was spent: not asked */
	uint64_t live_failed; /* the live decision was a failure decision: nothing to compare with */
	uint64_t not_logged;  /* disagreements past the log rate limit */
};

/* The shadow named by live->shadow_module, from opts with wasm_module replaced by it. Its load
 * runs on a worker thread of its own, and startup does not wait for it: wa_shadow_poll puts it in
 * service ("... loaded policy FILE"), or says in one line that it cannot be loaded; until then,
 * and until a reload loads it, requests count as unavailable. NULL when none is configured (or
 * memory is short, logged). */
struct wa_shadow *wa_shadow_new(const struct wa_kv *opts, unsigned n, const struct wa_config *live,
                                const struct wa_client_ops *client_ops);
void wa_shadow_free(struct wa_shadow *s);

/* MOSQ_EVT_RELOAD: the shadow is rebuilt from its file, as the live policy is (auth.h). */
void wa_shadow_reload(struct wa_shadow *s);
/* Every tick: finishes a load or rebuild, drops queued actions. 1 when another shadow instance went into
 * service (wa_shadow_caching may have changed). */
int wa_shadow_poll(struct wa_shadow *s);

/* Waits for a load or reload under way (within its deadline) and puts it in service: 0 if a
 * shadow instance now serves. For tests and tools. */
int wa_shadow_settle(struct wa_shadow *s);

/* The shadow keeps acl decisions per client (its own decision cache and grants). */
int wa_shadow_caching(const struct wa_shadow *s);
/* A client went: its cached shadow decisions go with it. */
void wa_shadow_forget(struct wa_shadow *s, const void *client);

/* One request each, with the live policy's decision; live_failed: that decision was the failure
 * decision (it is then not compared, and the shadow not asked). */
void wa_shadow_unpwd_check(struct wa_shadow *s, const void *client, const char *clientid, const char *username,
                           const char *password, enum wa_decision live, int live_failed);
void wa_shadow_acl_check(struct wa_shadow *s, const void *client, const char *clientid, const char *username,
                         const char *topic, int access, const void *payload, uint32_t payloadlen, int qos, int retain,
                         enum wa_decision live, int live_failed);
/* live_key: the key the live policy gave (when live is WA_ALLOW); keycap as the broker's. */
void wa_shadow_psk_key_get(struct wa_shadow *s, const void *client, const char *clientid, const char *identity,
                           const char *hint, size_t keycap, enum wa_decision live, const char *live_key,
                           int live_failed);

/* The counters so far (for $SYS metrics and tests). */
/* The live decision's reason for the request about to be put to the shadow (plugin.c, from the
 * live policy's set_reason or what decided without it); read only during that call. */
void wa_shadow_live_reason(struct wa_shadow *s, const char *reason, size_t len);

void wa_shadow_stats(const struct wa_shadow *s, struct wa_shadow_stats *out);

#endif
