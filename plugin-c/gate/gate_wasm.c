/* The gate's entry points for the Node host (sdk/host/gate.ts), which runs this file and the
 * gate compiled to WebAssembly (build/gate.wasm): the host then refuses exactly what the plugin
 * refuses, with the plugin's words, because it runs the same code. Flat arguments only (i32s
 * and pointers into this module's memory, which the host fills after calling malloc): no
 * struct layout has to be mirrored in TypeScript. Built only for wasm32; pure like the gate. */
#include <stdlib.h>
#include <string.h>
#include "gate.h"

#define EXPORT(name) __attribute__((export_name(name)))

/* Sizes the host allocates for err and report below. */
EXPORT("wa_js_err_len") uint32_t wa_js_err_len(void)
{
	return WA_GATE_ERR_LEN;
}

EXPORT("wa_js_hook_count") uint32_t wa_js_hook_count(void)
{
	return WA_HOOK_COUNT;
}

/* The plugin's check (plugin-c/runtime/policy.c) with the caps that options set (the rest are wa_limits.h's).
 * report (5 + WA_HOOK_COUNT u32s): hooks bitmask, functions, imports, memory pages, data bytes,
 * then per hook the index of the signature that matched. 0 accepted, -1 refused (err says why). */
EXPORT("wa_js_check")
int32_t wa_js_check(const uint8_t *bytes, uint32_t len, uint32_t max_module_bytes, uint32_t max_memory_pages,
                    uint32_t max_table_elems, uint32_t max_functions, uint32_t max_globals, uint32_t max_data_bytes,
                    uint32_t *report, char *err)
{
	struct wa_gate_config cfg;
	struct wa_gate_report rep;
	int rc;

	wa_gate_config_defaults(&cfg);
	cfg.caps.max_module_bytes = max_module_bytes;
	cfg.caps.max_memory_pages = max_memory_pages;
	cfg.caps.max_table_elems = max_table_elems;
	cfg.caps.max_functions = max_functions;
	cfg.caps.max_globals = max_globals;
	cfg.caps.max_data_bytes = max_data_bytes;
	rc = wa_gate_check(bytes, len, &cfg, &rep, err, WA_GATE_ERR_LEN);
	if (rc != 0) return -1;
	report[0] = rep.hooks;
	report[1] = rep.functions;
	report[2] = rep.imports;
	report[3] = rep.memory_pages;
	report[4] = rep.data_bytes;
	for (unsigned h = 0; h < WA_HOOK_COUNT; h++) report[5 + h] = rep.hook_sig[h];
	return 0;
}

/* wasm-auth-check --validate-only: WebAssembly validation against the feature profile only, no
 * caps and no ABI rules. report (4 u32s): functions, imports, memory pages, data bytes. */
EXPORT("wa_js_validate")
int32_t wa_js_validate(const uint8_t *bytes, uint32_t len, uint32_t *report, char *err)
{
	struct wa_gate_config cfg;
	struct wa_gate_report rep;

	wa_gate_config_defaults(&cfg);
	cfg.validate_only = true;
	if (wa_gate_check(bytes, len, &cfg, &rep, err, WA_GATE_ERR_LEN) != 0) return -1;
	report[0] = rep.functions;
	report[1] = rep.imports;
	report[2] = rep.memory_pages;
	report[3] = rep.data_bytes;
	return 0;
}

/* The metered copy of a checked module, as the plugin meters it: out (2 + WA_HOOK_COUNT u32s)
 * gets the pointer (the host frees it), the length, then per hook the entry charge the host
 * pays before calling it (struct wa_meter_report; 0 = the hook charges its own entry). */
EXPORT("wa_js_meter")
int32_t wa_js_meter(const uint8_t *bytes, uint32_t len, uint32_t *out, char *err)
{
	struct wa_meter_report rep;
	uint8_t *metered = NULL;
	size_t n = 0;

	if (err) err[0] = '\0';
	if (wa_gate_meter(bytes, len, &metered, &n, &rep, err, WA_GATE_ERR_LEN) != 0) return -1;
	out[0] = (uint32_t)(uintptr_t)metered;
	out[1] = (uint32_t)n;
	for (unsigned h = 0; h < WA_HOOK_COUNT; h++) out[2 + h] = rep.hook_entry_fuel[h];
	return 0;
}

/* The host's way into this module's heap. */
EXPORT("wa_js_malloc") void *wa_js_malloc(uint32_t n)
{
	return malloc(n ? n : 1u);
}

EXPORT("wa_js_free") void wa_js_free(void *p)
{
	free(p);
}
