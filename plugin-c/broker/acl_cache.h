/* Per-client cache of ACL decisions, for policies that declare theirs a pure function of
 * (clientid, username, topic, access) (docs/ABI.md, "Decision cache"). Keyed by the broker's
 * client pointer; each client's entries also remember the clientid and username they were
 * decided for, and are dropped when either changes. Bounded by wa_limits.h (WA_ACL_CACHE_*).
 * Not thread-safe: one cache per plugin instance, used from mosquitto's one thread. */
#ifndef WASM_AUTH_ACL_CACHE_H
#define WASM_AUTH_ACL_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "../runtime/abi.h"

struct wa_grants;

struct wa_acl_cache;

/* What a lookup that missed learnt, so that the store of the same check neither hashes the
 * topic nor looks the client up again. */
struct wa_acl_miss {
	void *owner; /* the client's block, when its identity matched */
	uint32_t hash;
	uint32_t len;
	unsigned generation; /* the cache's, at the lookup: a block freed since is not used */
};

enum wa_acl_lookup {
	WA_ACL_MISS,   /* ask the policy, then wa_acl_cache_put its decision */
	WA_ACL_HIT,    /* the decision is known */
	WA_ACL_BYPASS, /* ask the policy and store nothing: the topic is too long to cache, or this
	                  client's lookups hit too rarely to pay for themselves (for now) */
};

/* min_hit_percent: a client whose recent lookups hit less often than this stops using the cache
 * for a while (its lookups and stores cost more than its hits save); 0 never bypasses.
 * NULL on allocation failure. */
struct wa_acl_cache *wa_acl_cache_new(unsigned min_hit_percent);
void wa_acl_cache_free(struct wa_acl_cache *c);

/* WA_ACL_HIT and *d when this client has a decision for (clientid, username, topic, access);
 * WA_ACL_MISS fills *m for the put. NULL username is distinct from "". */
enum wa_acl_lookup wa_acl_cache_get(struct wa_acl_cache *c, const void *client, const char *clientid,
                                    const char *username, const char *topic, int access, enum wa_decision *d,
                                    struct wa_acl_miss *m);
/* Remembers a decision the guest returned; m: from the WA_ACL_MISS of the same check, or NULL.
 * Silently skipped when the topic is too long, or memory is short. */
void wa_acl_cache_put(struct wa_acl_cache *c, const void *client, const char *clientid, const char *username,
                      const char *topic, int access, enum wa_decision d, const struct wa_acl_miss *m);
/* The client's grants (grants.h), when known for this identity; else NULL. */
const struct wa_grants *wa_acl_cache_grants(struct wa_acl_cache *c, const void *client, const char *clientid,
                                            const char *username);
/* Keeps g as the client's grants and returns it (the cache owns it from now on); NULL when memory
 * is short (g is freed, the next check asks again). */
const struct wa_grants *wa_acl_cache_set_grants(struct wa_acl_cache *c, const void *client, const char *clientid,
                                                const char *username, struct wa_grants *g);
/* Drops one client's entries (it disconnected: its pointer may be reused). */
void wa_acl_cache_forget(struct wa_acl_cache *c, const void *client);
/* Drops everything (the policy was reloaded or re-created). */
void wa_acl_cache_clear(struct wa_acl_cache *c);

/* The cache as a whole: set aside for every client while clients mostly bypass it (wa_limits.h,
 * WA_ACL_CACHE_JUDGE_LOOKUPS), so that the checks skip it at no cost. All-zero: consulted,
 * nothing judged yet. */
struct wa_acl_cache_gate {
	uint64_t off_until_ms; /* 0: consulted */
	uint32_t off_ms;       /* how long the next setting aside lasts (0: WA_ACL_CACHE_OFF_MIN_MS) */
	uint64_t hits, asked;  /* the totals at the last verdict */
};

/* Given the running totals of hits and of hits and bypasses together (asked) at time now_ms,
 * whether checks consult the cache from now on: not when fewer than min_hit_percent of the
 * asked hit. Called regularly (each call may end a setting aside); a verdict needs
 * WA_ACL_CACHE_JUDGE_LOOKUPS asked since the last. */
int wa_acl_cache_gate(struct wa_acl_cache_gate *g, uint64_t now_ms, uint64_t hits, uint64_t asked,
                      unsigned min_hit_percent);

/* Bytes currently held for clients, and the number of clients (for tests). */
size_t wa_acl_cache_bytes(const struct wa_acl_cache *c);
unsigned wa_acl_cache_clients(const struct wa_acl_cache *c);

#endif
