/* What a valid module must also satisfy to be a policy: the caps of wa_gate_config and the
 * host<->guest ABI of abi.h (docs/ABI.md). Runs after wa_module_decode() accepted the module. */
#include <stdio.h>
#include <string.h>
#include "gate_internal.h"

static char abi_char(uint8_t t)
{
	switch (t) {
		case WA_T_I32: return 'i';
		case WA_T_I64: return 'I';
		case WA_T_F32: return 'f';
		case WA_T_F64: return 'F';
		default: return '?';
	}
}

static uint8_t abi_type(char c)
{
	switch (c) {
		case 'i': return WA_T_I32;
		case 'I': return WA_T_I64;
		case 'f': return WA_T_F32;
		case 'F': return WA_T_F64;
		default: return 0;
	}
}

void wa_sig_abi(const struct wa_functype *t, char *buf, size_t len)
{
	size_t n = 0;

	if (len == 0) return;
	if (t->nresults > 1) {
		snprintf(buf, len, "?(multi-value)");
		return;
	}
	if (n + 1 < len) buf[n++] = t->nresults ? abi_char(t->results[0]) : 'v';
	if (n + 1 < len) buf[n++] = '(';
	for (uint32_t i = 0; i < t->nparams && n + 1 < len; i++) buf[n++] = abi_char(t->params[i]);
	if (n + 1 < len) buf[n++] = ')';
	buf[n] = '\0';
}

/* "(i32,i32)->i32", "()->()", "(i32)->(i32,i64)": the form used in every gate message. */
static void text_sig(const uint8_t *params, uint32_t np, const uint8_t *results, uint32_t nr, char *buf, size_t len)
{
	size_t n = 0;
	int w;

#define PUT(...)                                                                                                       \
	do {                                                                                                           \
		w = snprintf(buf + n, len - n, __VA_ARGS__);                                                           \
		if (w < 0 || (size_t)w >= len - n) {                                                                   \
			return;                                                                                        \
		}                                                                                                      \
		n += (size_t)w;                                                                                        \
	} while (0)
	if (len == 0) return;
	buf[0] = '\0';
	PUT("(");
	for (uint32_t i = 0; i < np; i++) PUT("%s%s", i ? "," : "", wa_type_name(params[i]));
	PUT(")->");
	if (nr == 1) {
		PUT("%s", wa_type_name(results[0]));
	} else {
		PUT("(");
		for (uint32_t i = 0; i < nr; i++) PUT("%s%s", i ? "," : "", wa_type_name(results[i]));
		PUT(")");
	}
#undef PUT
}

void wa_sig_text(const struct wa_functype *t, char *buf, size_t len)
{
	text_sig(t->params, t->nparams, t->results, t->nresults, buf, len);
}

void wa_sig_text_abi(const char *abi_sig, char *buf, size_t len)
{
	uint8_t params[32], result;
	uint32_t np = 0;
	const char *p = abi_sig + 2;

	result = abi_type(abi_sig[0]);
	while (*p && *p != ')' && np < sizeof params) params[np++] = abi_type(*p++);
	text_sig(params, np, &result, result ? 1 : 0, buf, len);
}

bool wa_sig_matches(const struct wa_functype *t, const char *abi_sig)
{
	const char *p;
	uint32_t np = 0;

	if (abi_sig[0] == 'v') {
		if (t->nresults != 0) return false;
	} else if (t->nresults != 1 || t->results[0] != abi_type(abi_sig[0])) {
		return false;
	}
	if (abi_sig[1] != '(') return false;
	for (p = abi_sig + 2; *p && *p != ')'; p++) {
		if (np >= t->nparams || t->params[np] != abi_type(*p)) return false;
		np++;
	}
	return *p == ')' && np == t->nparams;
}

static bool name_is(const uint8_t *name, uint32_t len, const char *s)
{
	return strlen(s) == len && !memcmp(name, s, len);
}

static const struct wa_export *find_export(const struct wa_module *m, const char *name)
{
	for (uint32_t i = 0; i < m->nexports; i++) {
		if (name_is(m->exports[i].name, m->exports[i].name_len, name)) return &m->exports[i];
	}
	return NULL;
}

static int check_caps(const struct wa_module *m, const struct wa_gate_config *cfg, struct wa_err *e)
{
	size_t memsec = m->sec[5].start ? m->sec[5].content : WA_NO_OFF;

	if (m->nmems && m->mem.min > cfg->caps.max_memory_pages) {
		wa_err_set(e, "memory section", WA_NO_FUNC, memsec,
		           "initial memory of %u pages exceeds wasm_max_memory_pages %u", m->mem.min,
		           cfg->caps.max_memory_pages);
		return -1;
	}
	if (m->nmems && m->mem.has_max && m->mem.max > cfg->caps.max_memory_pages) {
		wa_err_set(e, "memory section", WA_NO_FUNC, memsec,
		           "declared memory maximum of %u pages exceeds wasm_max_memory_pages %u (build with a lower "
		           "--maximumMemory, or none)",
		           m->mem.max, cfg->caps.max_memory_pages);
		return -1;
	}
	/* Tables cannot grow in the profile (table.grow is reference types): the initial size is all. */
	if (m->ntables && m->table.min > cfg->caps.max_table_elems) {
		wa_err_set(e, "table section", WA_NO_FUNC, m->sec[4].start ? m->sec[4].content : WA_NO_OFF,
		           "table of %u elements exceeds the cap of %u (wasm_max_table_elems)", m->table.min,
		           cfg->caps.max_table_elems);
		return -1;
	}
	if (m->nfuncs > cfg->caps.max_functions) {
		wa_err_set(e, "function section", WA_NO_FUNC, WA_NO_OFF,
		           "%u functions exceed the cap of %u (wasm_max_functions)", m->nfuncs,
		           cfg->caps.max_functions);
		return -1;
	}
	if (m->nglobals > cfg->caps.max_globals) {
		wa_err_set(e, "global section", WA_NO_FUNC, WA_NO_OFF,
		           "%u globals exceed the cap of %u (wasm_max_globals)", m->nglobals, cfg->caps.max_globals);
		return -1;
	}
	if (m->data_bytes > cfg->caps.max_data_bytes) {
		wa_err_set(e, "data section", WA_NO_FUNC, WA_NO_OFF,
		           "%llu bytes of data segments exceed the cap of %u (wasm_max_data_bytes)",
		           (unsigned long long)m->data_bytes, cfg->caps.max_data_bytes);
		return -1;
	}
	return 0;
}

/* Import names are quoted up to this many bytes each, so the advice and the allowed list that
 * follow still fit in one log line (mosquitto 2.0 cuts a line after about 500 bytes). */
#define IMPORT_NAME_SHOWN 48

/* A reason longer than this (its "import section: " included) would be cut by WA_GATE_ERR_LEN:
 * the allowed list then gives way to where the list is documented. */
#define IMPORT_REASON_BUDGET (WA_GATE_ERR_LEN - 32)
#define ALLOWED_ELSEWHERE    "the host functions listed in docs/ABI.md"

/* "import env.console.log not allowed (called from f): use log()...; allowed: mosquitto.{...}" */
static void refuse_import(const struct wa_module *m, const struct wa_import *im, uint32_t func, struct wa_err *e)
{
	char callers[160], advice_buf[96], allowed[WA_GATE_ERR_LEN], text[WA_GATE_ERR_LEN * 2];
	const char *advice = wa_import_advice(im, advice_buf, sizeof advice_buf);
	int ml = im->module_len > IMPORT_NAME_SHOWN ? IMPORT_NAME_SHOWN : (int)im->module_len;
	int nl = im->name_len > IMPORT_NAME_SHOWN ? IMPORT_NAME_SHOWN : (int)im->name_len;
	int n;

	wa_import_callers(m, func, callers, sizeof callers);
	wa_allowed_imports(allowed, sizeof allowed);
	for (int pass = 0; pass < 2; pass++) {
		n = snprintf(text, sizeof text, "import %.*s%s.%.*s%s not allowed%s: %s%sallowed: %s", ml,
		             (const char *)im->module, ml < (int)im->module_len ? "..." : "", nl,
		             (const char *)im->name, nl < (int)im->name_len ? "..." : "", callers, advice ? advice : "",
		             advice ? "; " : "", pass ? ALLOWED_ELSEWHERE : allowed);
		if (n >= 0 && (size_t)n + sizeof "import section: " <= IMPORT_REASON_BUDGET) break;
	}
	wa_err_set(e, "import section", WA_NO_FUNC, WA_NO_OFF, "%s", text);
}

static int check_imports(const struct wa_module *m, struct wa_err *e)
{
	static const char *kinds[4] = { "functions", "tables", "memories", "globals" };
	static const char *options[4] = { "", " (asc --importTable)", " (asc --importMemory)", "" };
	uint32_t func = 0; /* function index of the next function import */

	for (uint32_t i = 0; i < m->nimports; i++) {
		const struct wa_import *im = &m->imports[i];
		const struct wa_functype *t;
		const struct wa_import_abi *host = NULL;
		int ml = (int)im->module_len, nl = (int)im->name_len;

		if (im->kind != 0) {
			wa_err_set(e, "import section", WA_NO_FUNC, im->offset,
			           "import %.*s.%.*s: imported %s are not allowed (the module must define its own%s)",
			           ml, (const char *)im->module, nl, (const char *)im->name, kinds[im->kind],
			           options[im->kind]);
			return -1;
		}
		for (unsigned k = 0; k < wa_import_count; k++) {
			if (name_is(im->module, im->module_len, wa_imports[k].module) &&
			    name_is(im->name, im->name_len, wa_imports[k].name)) {
				host = &wa_imports[k];
				break;
			}
		}
		if (!host) {
			refuse_import(m, im, func, e);
			return -1;
		}
		t = &m->types[im->index];
		if (!wa_sig_matches(t, host->signature)) {
			char have[128], want[128];
			wa_sig_text(t, have, sizeof have);
			wa_sig_text_abi(host->signature, want, sizeof want);
			wa_err_set(e, "import section", WA_NO_FUNC, im->offset,
			           "import %.*s.%.*s has type %s but the host provides %s", ml,
			           (const char *)im->module, nl, (const char *)im->name, have, want);
			return -1;
		}
		func++;
	}
	return 0;
}

/* A decision served from the cache was computed for an earlier call: nothing it depends on may
 * change between calls with the same arguments (docs/ABI.md, "Decision cache"). */
static int check_cacheable(const struct wa_module *m, struct wa_err *e)
{
	uint32_t func = 0;

	for (uint32_t i = 0; i < m->nimports; i++) {
		const struct wa_import *im = &m->imports[i];
		if (im->kind != 0) continue;
		for (unsigned k = 0; k < wa_import_count; k++) {
			char callers[160];
			if (!wa_imports[k].varies || !name_is(im->module, im->module_len, wa_imports[k].module) ||
			    !name_is(im->name, im->name_len, wa_imports[k].name)) {
				continue;
			}
			wa_import_callers(m, func, callers, sizeof callers);
			wa_err_set(e, "export section", WA_NO_FUNC, WA_NO_OFF,
			           "exports %s but imports %s.%s%s, whose answer (%s) changes between calls; "
			           "a cached decision would be wrong: remove the export or the import",
			           WA_EXPORT_ACL_CACHEABLE, wa_imports[k].module, wa_imports[k].name, callers,
			           wa_imports[k].varies);
			return -1;
		}
		func++;
	}
	return 0;
}

/* A required or hook export must be a function of one of the given signatures. */
static int check_func_export(const struct wa_module *m, const struct wa_export *ex, const char *const *sigs,
                             uint8_t *which, struct wa_err *e)
{
	const struct wa_functype *t;
	char have[128], want[256];
	size_t n = 0;

	if (ex->kind != 0) {
		wa_err_set(e, "export section", WA_NO_FUNC, ex->offset, "export %.*s must be a function",
		           (int)ex->name_len, (const char *)ex->name);
		return -1;
	}
	t = &m->types[m->func_type[ex->index]];
	for (uint8_t k = 0; sigs[k]; k++) {
		if (wa_sig_matches(t, sigs[k])) {
			*which = k;
			return 0;
		}
	}
	wa_sig_text(t, have, sizeof have);
	want[0] = '\0';
	for (uint8_t k = 0; sigs[k] && n < sizeof want; k++) {
		char one[128];
		int w;
		wa_sig_text_abi(sigs[k], one, sizeof one);
		w = snprintf(want + n, sizeof want - n, "%s%s", k ? " or " : "", one);
		if (w < 0) break;
		n += (size_t)w;
	}
	wa_err_set(e, "export section", WA_NO_FUNC, ex->offset, "export %.*s has type %s but the host calls it as %s",
	           (int)ex->name_len, (const char *)ex->name, have, want);
	return -1;
}

/* wasm_auth_abi_version is called only once the module is instantiated; when its body is just
 * `i32.const N` (what the SDK compiles to), the version is known here already, and a checker run
 * before deployment can say so. Any other body is left to the host's call. */
static int check_abi_version(const struct wa_module *m, const struct wa_export *ex, struct wa_err *e)
{
	struct wa_rd r;
	const char *why;
	uint32_t nlocals;
	uint8_t op, end;
	int32_t version;

	if (ex->index < m->nfunc_imports || ex->index - m->nfunc_imports >= m->nbodies) return 0;
	r.buf = m->bytes;
	r.pos = m->bodies[ex->index - m->nfunc_imports].offset;
	r.end = r.pos + m->bodies[ex->index - m->nfunc_imports].size;
	if (wa_rd_u32(&r, &nlocals, &why) || nlocals != 0 || wa_rd_u8(&r, &op, &why) || op != 0x41 ||
	    wa_rd_s32(&r, &version, &why) || wa_rd_u8(&r, &end, &why) || end != 0x0b || r.pos != r.end) {
		return 0;
	}
	if (version == WA_ABI_VERSION) return 0;
	/* The words the host uses when the call returns it (policy.c), so both read the same. */
	wa_err_set(e, NULL, WA_NO_FUNC, WA_NO_OFF,
	           "built for ABI %d, this plugin speaks %d (%s returns %d: build with an SDK for ABI %d)", version,
	           WA_ABI_VERSION, WA_EXPORT_ABI_VERSION, version, WA_ABI_VERSION);
	return -1;
}

static int check_exports(const struct wa_module *m, struct wa_gate_report *rep, struct wa_err *e)
{
	static const char *const abi_version_sig[] = { "i()", 0 };
	static const char *const buffer_sig[] = { "i(i)", 0 };
	static const char *const grants_sig[] = { "i(ii)", 0 };
	const struct wa_export *ex;
	size_t reserved_len = strlen(WA_RESERVED_PREFIX);
	bool request_hook = false;
	uint8_t which;

	for (uint32_t i = 0; i < m->nexports; i++) {
		ex = &m->exports[i];
		if (ex->name_len >= reserved_len && !memcmp(ex->name, WA_RESERVED_PREFIX, reserved_len)) {
			wa_err_set(e, "export section", WA_NO_FUNC, ex->offset,
			           "export %.*s uses the prefix %s reserved for the host", (int)ex->name_len,
			           (const char *)ex->name, WA_RESERVED_PREFIX);
			return -1;
		}
	}
	ex = find_export(m, WA_EXPORT_MEMORY);
	if (!ex || ex->kind != 2) {
		wa_err_set(e, "export section", WA_NO_FUNC, WA_NO_OFF, "the module must export its memory as \"%s\"",
		           WA_EXPORT_MEMORY);
		return -1;
	}
	ex = find_export(m, WA_EXPORT_ABI_VERSION);
	if (!ex) {
		wa_err_set(e, "export section", WA_NO_FUNC, WA_NO_OFF,
		           "missing export %s: ()->i32 (not built with the wasm-auth SDK?)", WA_EXPORT_ABI_VERSION);
		return -1;
	}
	if (check_func_export(m, ex, abi_version_sig, &which, e) || check_abi_version(m, ex, e)) return -1;
	ex = find_export(m, WA_EXPORT_BUFFER);
	if (!ex) {
		wa_err_set(e, "export section", WA_NO_FUNC, WA_NO_OFF,
		           "missing export %s: (i32)->i32 (not built with the wasm-auth SDK?)", WA_EXPORT_BUFFER);
		return -1;
	}
	if (check_func_export(m, ex, buffer_sig, &which, e)) return -1;
	ex = find_export(m, WA_EXPORT_ACL_CACHEABLE); /* optional */
	if (ex && (check_func_export(m, ex, abi_version_sig, &which, e) || check_cacheable(m, e))) return -1;
	ex = find_export(m, WA_EXPORT_ACL_GRANTS); /* optional */
	if (ex && check_func_export(m, ex, grants_sig, &which, e)) return -1;
	for (int h = 0; h < WA_HOOK_COUNT; h++) {
		ex = find_export(m, wa_hooks[h].name);
		if (!ex) continue;
		if (check_func_export(m, ex, wa_hooks[h].signatures, &which, e)) return -1;
		if (rep) {
			rep->hooks |= 1u << h;
			rep->hook_sig[h] = which;
		}
		if (wa_hooks[h].is_request) request_hook = true;
	}
	if (!request_hook) {
		wa_err_set(
		    e, "export section", WA_NO_FUNC, WA_NO_OFF,
		    "no request hook exported (need at least one of unpwd_check, acl_check, psk_key_get, on_message)");
		return -1;
	}
	return 0;
}

int wa_gate_rules(const struct wa_module *m, const struct wa_gate_config *cfg, struct wa_gate_report *rep,
                  struct wa_err *e)
{
	if (check_caps(m, cfg, e)) return -1;
	if (check_imports(m, e)) return -1;
	return check_exports(m, rep, e);
}
