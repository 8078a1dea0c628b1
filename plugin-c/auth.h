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

/* Copies the options, reads and loads the policy named by wasm_module, runs plugin_init and
 * security_init(reload = 0). On any failure logs exactly one line
 * "wasm-auth: cannot load policy FILE: REASON" and returns NULL. */
struct wa_auth *wa_auth_new(const struct wa_kv *opts, unsigned n, const struct wa_client_ops *client_ops);

/* security_cleanup(0), plugin_cleanup, then frees everything. */
void wa_auth_free(struct wa_auth *a);

struct wa_policy *wa_auth_policy(const struct wa_auth *a);
const struct wa_config *wa_auth_config(const struct wa_auth *a);

/* MOSQ_EVT_RELOAD: security_cleanup(1); re-read the file; if it changed, load the new module
 * (gate, plugin_init, security_init(1)) and on success give the old one plugin_cleanup; if it
 * did not change, security_init(1) on the same instance. On failure logs one line
 * "wasm-auth: reload of FILE failed, keeping the previous policy: REASON", keeps the previous
 * policy (calling its security_init(1) again) and returns -1. 0 otherwise. The exported hook set
 * may change: check wa_policy_hooks() afterwards. */
int wa_auth_reload(struct wa_auth *a);

#endif
