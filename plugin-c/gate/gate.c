/* The gate's entry points: defaults, and the check that every policy's bytes pass before
 * wasm3 sees them. Pure: the result depends only on (bytes, len, cfg). */
#include <string.h>
#include "gate_internal.h"

void wa_gate_config_defaults(struct wa_gate_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->caps.max_module_bytes = WA_MAX_MODULE_BYTES;
	cfg->caps.max_memory_pages = WA_MAX_MEMORY_PAGES;
	cfg->caps.max_table_elems = WA_MAX_TABLE_ELEMS;
	cfg->caps.max_functions = WA_MAX_FUNCTIONS;
	cfg->caps.max_globals = WA_MAX_GLOBALS;
	cfg->caps.max_data_bytes = WA_MAX_DATA_BYTES;
	cfg->validate_only = false;
}

/* Both entry points below: the module decoded (and so validated) once, its report filled
 * and the rules applied. 0 = accepted, m then to be freed by the caller either way. */
static int check_decoded(const uint8_t *bytes, size_t len, const struct wa_gate_config *cfg, struct wa_gate_report *rep,
                         struct wa_module *m, struct wa_err *e)
{
	if (rep) memset(rep, 0, sizeof *rep);
	memset(m, 0, sizeof *m);
	if (!bytes || !cfg) {
		wa_err_set(e, NULL, WA_NO_FUNC, WA_NO_OFF, "no module");
		return -1;
	}
	if (!cfg->validate_only && len > cfg->caps.max_module_bytes) {
		/* Same words as the plugin's file reader (auth.c), which refuses before reading. */
		wa_err_set(e, NULL, WA_NO_FUNC, WA_NO_OFF,
		           "the module is %zu bytes, above the cap of %u (wasm_max_module_bytes)", len,
		           cfg->caps.max_module_bytes);
		return -1;
	}
	if (wa_module_decode(bytes, len, false, m, e)) return -1;
	if (rep) {
		rep->functions = m->nfuncs;
		rep->imports = m->nimports;
		rep->memory_pages = m->nmems ? m->mem.min : 0;
		rep->data_bytes = m->data_bytes > UINT32_MAX ? UINT32_MAX : (uint32_t)m->data_bytes;
	}
	return cfg->validate_only ? 0 : wa_gate_rules(m, cfg, rep, e);
}

int wa_gate_check(const uint8_t *bytes, size_t len, const struct wa_gate_config *cfg, struct wa_gate_report *rep,
                  char *err, size_t errlen)
{
	struct wa_err e = { err, errlen, false };
	struct wa_module m;
	int rc;

	if (err && errlen) err[0] = '\0';
	rc = check_decoded(bytes, len, cfg, rep, &m, &e);
	wa_module_free(&m);
	return rc;
}

int wa_gate_check_meter(const uint8_t *bytes, size_t len, const struct wa_gate_config *cfg, struct wa_gate_report *rep,
                        uint8_t **out, size_t *outlen, struct wa_meter_report *mrep, char *err, size_t errlen)
{
	struct wa_err e = { err, errlen, false };
	struct wa_module m;
	int rc;

	if (err && errlen) err[0] = '\0';
	*out = NULL;
	*outlen = 0;
	if (mrep) memset(mrep, 0, sizeof *mrep);
	rc = check_decoded(bytes, len, cfg, rep, &m, &e);
	if (rc == 0) rc = wa_meter_module(&m, out, outlen, mrep, &e);
	wa_module_free(&m);
	return rc;
}
