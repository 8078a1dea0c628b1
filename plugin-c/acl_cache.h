/* Per-client cache of ACL decisions, for policies that declare theirs a pure function of
 * (clientid, username, topic, access) (docs/ABI.md, "Decision cache"). Keyed by the broker's
 * client pointer; each client's entries also remember the clientid and username they were
 * decided for, and are dropped when either changes. Bounded by limits.h (WA_ACL_CACHE_*).
 * Not thread-safe: one cache per plugin instance, used from mosquitto's one thread. */
#ifndef WASM_AUTH_ACL_CACHE_H
#define WASM_AUTH_ACL_CACHE_H

#include <stddef.h>

#include "abi.h"

struct wa_acl_cache;

/* NULL on allocation failure. */
struct wa_acl_cache *wa_acl_cache_new(void);
void wa_acl_cache_free(struct wa_acl_cache *c);

/* 1 and *d when this client has a decision for (clientid, username, topic, access); 0 otherwise.
 * NULL username is distinct from "". */
int wa_acl_cache_get(struct wa_acl_cache *c, const void *client, const char *clientid, const char *username,
                     const char *topic, int access, enum wa_decision *d);
/* Remembers a decision the guest returned. Silently skipped when the topic is too long, or
 * memory is short. */
void wa_acl_cache_put(struct wa_acl_cache *c, const void *client, const char *clientid, const char *username,
                      const char *topic, int access, enum wa_decision d);
/* Drops one client's entries (it disconnected: its pointer may be reused). */
void wa_acl_cache_forget(struct wa_acl_cache *c, const void *client);
/* Drops everything (the policy was reloaded or re-created). */
void wa_acl_cache_clear(struct wa_acl_cache *c);

/* Bytes currently held for clients, and the number of clients (for tests). */
size_t wa_acl_cache_bytes(const struct wa_acl_cache *c);
unsigned wa_acl_cache_clients(const struct wa_acl_cache *c);

#endif
