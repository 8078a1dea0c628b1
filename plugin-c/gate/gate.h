/* The module gate: every byte of a policy passes here before wasm3 sees it.
 * wa_gate_check() decodes and validates the whole module against the feature profile
 * (MVP + mutable-globals, sign-extension, nontrapping-f2i, bulk-memory, multi-value; typed
 * select of a numeric type), the implementation limits of wa_limits.h (always), the caps in
 * wa_gate_config, and (unless validate_only) the ABI tables in abi.h: imports on the
 * allow-list with exact signatures, required exports, hook signatures.
 * wa_gate_meter() returns a copy of a checked module with fuel metering injected (custom
 * sections dropped).
 * Both are pure functions of their arguments (no global state, no I/O): safe to call from any
 * thread and to fuzz. docs/SECURITY.md describes the rules and the cost model. */
#ifndef WASM_AUTH_GATE_H
#define WASM_AUTH_GATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../runtime/abi.h"

/* The caps a module must fit: the wasm_max_* options (wa_limits.h has the defaults). The
 * plugin's settings (options.h) hold one of these, which becomes the gate's as it is. */
struct wa_gate_caps {
	uint32_t max_module_bytes;
	uint32_t max_memory_pages;
	uint32_t max_table_elems;
	uint32_t max_functions;  /* defined + imported */
	uint32_t max_globals;    /* defined + imported */
	uint32_t max_data_bytes; /* all data segments together */
};

struct wa_gate_config {
	struct wa_gate_caps caps;
	bool validate_only; /* WebAssembly validation against the profile only: no caps, no ABI rules */
};

struct wa_gate_report {
	uint32_t hooks;                  /* bit (1u << enum wa_hook) per exported hook */
	uint8_t hook_sig[WA_HOOK_COUNT]; /* index into wa_hooks[h].signatures that matched */
	uint32_t functions;              /* defined + imported */
	uint32_t imports;
	uint32_t memory_pages; /* initial */
	uint32_t data_bytes;
};

void wa_gate_config_defaults(struct wa_gate_config *cfg);

/* Edit distance (Levenshtein) from the n bytes at name to the string to, for "did you mean"
 * lines (refused imports, unknown options); SIZE_MAX when either is longer than this. */
#define WA_NAME_DISTANCE_MAX_LEN 40
size_t wa_name_distance(const void *name, size_t n, const char *to);

/* UTF-8 per RFC 3629 (no overlong forms, surrogates or code points above U+10FFFF): what the
 * gate requires of names and the host of topics. */
bool wa_utf8_valid(const uint8_t *p, size_t n);

/* The one message for a refused module, shared by the plugin's log and wasm-auth-check:
 * "wasm-auth: " + WA_GATE_REFUSED_FMT with (path, err). */
#define WA_GATE_REFUSED_FMT "cannot load policy %s: %s"

/* Room for any gate message (err/errlen below). */
#define WA_GATE_ERR_LEN 512

/* 0 = accepted (rep filled if non-NULL). -1 = rejected: err holds one line without the file
 * name, e.g. "code section, function 12, offset 0x1a3: type mismatch: expected i32, got f64". */
int wa_gate_check(const uint8_t *bytes, size_t len, const struct wa_gate_config *cfg, struct wa_gate_report *rep,
                  char *err, size_t errlen);

/* Name of the exported mutable i64 global injected by wa_gate_meter(); the host stores the
 * budget there before each call; it traps with "unreachable" when the budget goes below 0. */
#define WA_FUEL_GLOBAL "__wasm_auth_fuel"

/* Prices (docs/SECURITY.md, "Fuel metering"). Every instruction costs 1; those whose work grows
 * with an operand pay, at run time and before they run, that operand (the i32 on top of the
 * stack) scaled by a power of two on top:
 *   memory.fill, memory.copy, memory.init   length >> WA_FUEL_BYTE_SHIFT   (1 per 32 bytes)
 *   memory.grow                             pages << WA_FUEL_PAGE_SHIFT    (65536 bytes per page
 *                                                                           at the byte price)
 *   table.copy, table.init                  elements << WA_FUEL_ELEM_SHIFT (32 per element)
 * Calibrated with make bench-gate (bench_meter), so that a unit of fuel spent on bulk work takes
 * about as long as one spent on ordinary code. */
#define WA_FUEL_BYTE_SHIFT 5
#define WA_FUEL_PAGE_SHIFT (16 - WA_FUEL_BYTE_SHIFT)
#define WA_FUEL_ELEM_SHIFT 5

/* The entry charges the host pays itself (docs/SECURITY.md, "Fuel metering"). A hook whose
 * function the module cannot enter on its own (every export name of it a hook, no `call` to it,
 * in no element segment, not the start function) loses the charge at its entry; the host
 * subtracts hook_entry_fuel[hook] from the budget before calling it instead, and refuses the
 * call as out of fuel when the budget is smaller. 0 = the function charges its own entry. */
struct wa_meter_report {
	uint32_t hook_entry_fuel[WA_HOOK_COUNT];
};

/* 0 = *out (malloc'd, caller frees) holds the metered module. -1 = err says why.
 * rep NULL: every function keeps its entry charge (nothing for the host to pay). Otherwise
 * the host-only hooks' entry charges move to rep, which the caller must then apply. */
int wa_gate_meter(const uint8_t *bytes, size_t len, uint8_t **out, size_t *outlen, struct wa_meter_report *rep,
                  char *err, size_t errlen);

/* wa_gate_check() then, if accepted, wa_gate_meter(), decoding and validating the module once
 * instead of twice (the metered output is still decoded and validated). Same results, same
 * messages; *out is NULL on failure. */
int wa_gate_check_meter(const uint8_t *bytes, size_t len, const struct wa_gate_config *cfg, struct wa_gate_report *rep,
                        uint8_t **out, size_t *outlen, struct wa_meter_report *mrep, char *err, size_t errlen);

#endif
