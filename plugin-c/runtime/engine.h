/* The interpreter behind the policy runtime. policy.c talks only to this interface; the one
 * implementation is engine_wasm3.c. No interpreter types leak out of it, so swapping the
 * engine means writing another engine_*.c. */
#ifndef WASM_AUTH_ENGINE_H
#define WASM_AUTH_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "abi.h"
#include "abi_marshal.h"
#include "hostfns.h"

/* Exports the runtime calls: the hooks (enum wa_hook values), then the ABI functions. */
enum wa_export {
	WA_EXPORT_ABI_FN = WA_HOOK_COUNT, /* wasm_auth_abi_version */
	WA_EXPORT_BUFFER_FN,              /* wasm_auth_buffer */
	WA_EXPORT_ACL_CACHEABLE_FN,       /* wasm_auth_acl_cacheable (optional) */
	WA_EXPORT_ACL_GRANTS_FN,          /* wasm_auth_acl_grants (optional) */
	WA_EXPORT_COUNT
};

struct wa_engine;

/* Parses, instantiates (start function not run yet), links every import in wa_imports to the
 * host functions (with host as their state), caps linear memory at max_pages, finds and
 * compiles every function (no compilation is left for a call). bytes must stay valid and unchanged for
 * the engine's life. NULL with err on failure. */
struct wa_engine *wa_engine_new(const uint8_t *bytes, size_t len, uint32_t max_pages, struct wa_host *host, char *err,
                                size_t errlen);
void wa_engine_free(struct wa_engine *e);

/* Whether an export exists, and its parameter / result counts (all i32 by the gate's rules). */
int wa_engine_has(const struct wa_engine *e, unsigned export);
unsigned wa_engine_params(const struct wa_engine *e, unsigned export);
unsigned wa_engine_results(const struct wa_engine *e, unsigned export);

/* Linear memory now. Moves when it grows: fetch again after every guest call. */
struct wa_mem wa_engine_memory(struct wa_engine *e);

/* Budget for one guest call: fuel units (the gate's metering) and wall-clock milliseconds. */
struct wa_budget {
	int64_t fuel;
	uint32_t timeout_ms;
};

/* Records everything the guest can change (linear memory, globals, table, dropped segments),
 * replacing any earlier record. -1 with err when out of memory. */
int wa_engine_snapshot(struct wa_engine *e, char *err, size_t errlen);

/* Puts the instance back exactly as it was at wa_engine_snapshot, in time proportional to its
 * memory. -1 when there is no snapshot or memory cannot be resized back. */
int wa_engine_restore(struct wa_engine *e);

/* Runs the start function. NULL = done, else why it trapped (valid until the next call). */
const char *wa_engine_start(struct wa_engine *e, struct wa_budget budget);

/* Calls an export with i32 arguments; *result gets its i32 result if it has one. NULL = done,
 * else a one-line trap message ("fuel exhausted", "unreachable executed", an abort's text...).
 * A negative budget.fuel is "fuel exhausted" without running the guest. */
const char *wa_engine_call(struct wa_engine *e, unsigned export, const uint32_t *args, unsigned nargs, int32_t *result,
                           struct wa_budget budget);

#endif
