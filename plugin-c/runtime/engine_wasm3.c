/* engine.h on wasm3 (docs/WASM3.md). Compiled with plugin-c/runtime/wasm3_config.h force-included, like
 * wasm3 itself, because it reads wasm3's internal structs (m3_env.h): the memory cap, the fuel
 * global and the export check need them and the public API has no accessor. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasm3.h"
#include "m3_env.h"
#include "m3_exec_defs.h"

#include "engine.h"
#include "../gate/gate.h"
#include "watchdog.h"

/* What a call of one export needs, looked up once after compilation: the hot path touches
 * none of wasm3's function or type structures. */
struct wa_entry {
	pc_t code;             /* compiled body (find_exports compiles every export at load) */
	uint16_t nargs, nrets; /* all i32 (all_i32) */
};

/* The instance's state as it was after its lifecycle hooks: everything a guest can change. */
struct snapshot {
	uint32_t pages;
	uint8_t *memory; /* pages * 64 KiB */
	size_t memory_bytes;
	uint64_t *globals; /* each global's value union, as raw bits */
	void **table;      /* table 0's elements */
	uint32_t table_size;
	bool *data_dropped, *elem_dropped;
};

/* The fields a guest call reads come first, so that a call touches one or two cache lines. */
struct wa_engine {
	IM3Runtime rt;
	IM3Global fuel; /* WA_FUEL_GLOBAL, injected by the gate's metering */
	struct wa_host *host;
	struct wa_watch *watch; /* this instance's slot with the watchdog, or NULL */
	int started;            /* the start function ran to completion */
	struct wa_entry entry[WA_EXPORT_COUNT];
	IM3Environment env;
	IM3Module mod; /* owned by rt once loaded */
	IM3Function fn[WA_EXPORT_COUNT];
	struct snapshot *snap; /* wa_engine_snapshot's record, or NULL */
	char msg[256];
};

static const char *const export_names[WA_EXPORT_COUNT] = {
	[WA_HOOK_PLUGIN_INIT] = "plugin_init",
	[WA_HOOK_PLUGIN_CLEANUP] = "plugin_cleanup",
	[WA_HOOK_SECURITY_INIT] = "security_init",
	[WA_HOOK_SECURITY_CLEANUP] = "security_cleanup",
	[WA_HOOK_UNPWD_CHECK] = "unpwd_check",
	[WA_HOOK_ACL_CHECK] = "acl_check",
	[WA_HOOK_PSK_KEY_GET] = "psk_key_get",
	[WA_HOOK_ON_DISCONNECT] = "on_disconnect",
	[WA_HOOK_ON_TICK] = "on_tick",
	[WA_HOOK_SESSION_CHECK] = "session_check",
	[WA_HOOK_ON_MESSAGE] = "on_message",
	[WA_HOOK_EXT_AUTH_START] = "ext_auth_start",
	[WA_HOOK_EXT_AUTH_CONTINUE] = "ext_auth_continue",
	[WA_HOOK_ON_MESSAGE_OUT] = "on_message_out",
	[WA_HOOK_ON_SUBSCRIBE] = "on_subscribe",
	[WA_EXPORT_ABI_FN] = WA_EXPORT_ABI_VERSION,
	[WA_EXPORT_BUFFER_FN] = WA_EXPORT_BUFFER,
	[WA_EXPORT_ACL_CACHEABLE_FN] = WA_EXPORT_ACL_CACHEABLE,
	[WA_EXPORT_ACL_GRANTS_FN] = WA_EXPORT_ACL_GRANTS,
};

/* ---- wall-clock ceiling ------------------------------------------------------------------------
 * watchdog.h: a thread drives the fuel of a call past its deadline below zero, so the next
 * metering check traps; whether that happened tells a timeout from running out of fuel. */
static const char host_trap[] = "[trap] host function";

/* Sets the budget for one guest call and starts its clock. */
static inline __attribute__((always_inline)) void arm(struct wa_engine *e, struct wa_budget b)
{
	e->fuel->i64Value = b.fuel; /* find_exports refuses a module without the fuel global */
	e->host->trap[0] = '\0';
	if (e->watch) wa_watch_arm(e->watch, b.timeout_ms);
}

static inline __attribute__((always_inline)) int disarm(struct wa_engine *e)
{
	return e->watch ? wa_watch_disarm(e->watch) : 0;
}

/* Why a call failed: turns a wasm3 result into the one-line reason policy.c logs. Every wasm3
 * trap, and both of this file's, start with "[trap]"; anything else came from the compiler or
 * validator at a function's first call. */
static const char *failure(struct wa_engine *e, M3Result r, struct wa_budget b, int timed_out)
{
	if (timed_out) {
		snprintf(e->msg, sizeof e->msg, "timeout: ran longer than %u ms", b.timeout_ms);
		return e->msg;
	}
	if (r == host_trap && e->host->trap[0]) return e->host->trap;
	if (e->fuel->i64Value < 0) return "fuel exhausted";
	if (strncmp(r, "[trap] ", 7) == 0) r += 7;
	snprintf(e->msg, sizeof e->msg, "%s", r);
	return e->msg;
}

/* ---- host function bindings ------------------------------------------------------------------
 * wasm3 hands raw functions a slot array: the result slot first (if any), then one 64-bit slot
 * per argument; _mem is the base of linear memory. Each binding unpacks and calls hostfns.c. */

static uint32_t arg_u32(const uint64_t *sp, unsigned i)
{
	uint32_t v;
	memcpy(&v, &sp[i], sizeof v);
	return v;
}

static int64_t arg_i64(const uint64_t *sp, unsigned i)
{
	int64_t v;
	memcpy(&v, &sp[i], sizeof v);
	return v;
}

static double arg_f64(const uint64_t *sp, unsigned i)
{
	double v;
	memcpy(&v, &sp[i], sizeof v);
	return v;
}

static void ret_i32(uint64_t *sp, int32_t v)
{
	memcpy(&sp[0], &v, sizeof v);
}

static void ret_f64(uint64_t *sp, double v)
{
	memcpy(&sp[0], &v, sizeof v);
}

static struct wa_mem mem_of(IM3Runtime rt, void *mem)
{
	struct wa_mem m = { (uint8_t *)mem, m3_GetMemorySize(rt) };
	return m;
}

#define HOST(ctx)    ((struct wa_host *)(ctx)->userdata)
#define HOSTFN(name) static const void *name(IM3Runtime rt, IM3ImportContext ctx, uint64_t *sp, void *mem)

HOSTFN(bind_topic_matches_sub)
{
	int32_t r;
	if (wa_host_topic_matches_sub(HOST(ctx), mem_of(rt, mem), arg_u32(sp, 1), arg_u32(sp, 2), arg_u32(sp, 3),
	                              arg_u32(sp, 4), &r))
		return host_trap;
	ret_i32(sp, r);
	return m3Err_none;
}

HOSTFN(bind_log)
{
	if (wa_host_log(HOST(ctx), mem_of(rt, mem), (int32_t)arg_u32(sp, 0), arg_u32(sp, 1), arg_u32(sp, 2))) {
		return host_trap;
	}
	return m3Err_none;
}

HOSTFN(bind_client_id)
{
	int32_t r;
	if (wa_host_client_id(HOST(ctx), mem_of(rt, mem), arg_u32(sp, 1), arg_u32(sp, 2), &r)) return host_trap;
	ret_i32(sp, r);
	return m3Err_none;
}

HOSTFN(bind_client_address)
{
	int32_t r;
	if (wa_host_client_address(HOST(ctx), mem_of(rt, mem), arg_u32(sp, 1), arg_u32(sp, 2), &r)) return host_trap;
	ret_i32(sp, r);
	return m3Err_none;
}

HOSTFN(bind_client_protocol_version)
{
	int32_t r;
	(void)rt;
	(void)mem;
	if (wa_host_client_protocol_version(HOST(ctx), &r)) return host_trap;
	ret_i32(sp, r);
	return m3Err_none;
}

HOSTFN(bind_pw_verify)
{
	int32_t r;
	if (wa_host_pw_verify(HOST(ctx), mem_of(rt, mem), arg_u32(sp, 1), arg_u32(sp, 2), arg_u32(sp, 3),
	                      arg_u32(sp, 4), &r))
		return host_trap;
	ret_i32(sp, r);
	return m3Err_none;
}

HOSTFN(bind_option_file_size)
{
	int32_t r;
	if (wa_host_option_file_size(HOST(ctx), mem_of(rt, mem), arg_u32(sp, 1), arg_u32(sp, 2), &r)) return host_trap;
	ret_i32(sp, r);
	return m3Err_none;
}

HOSTFN(bind_option_file_read)
{
	int32_t r;
	if (wa_host_option_file_read(HOST(ctx), mem_of(rt, mem), arg_u32(sp, 1), arg_u32(sp, 2), arg_u32(sp, 3),
	                             arg_u32(sp, 4), &r))
		return host_trap;
	ret_i32(sp, r);
	return m3Err_none;
}

HOSTFN(bind_option_file_read_at)
{
	int32_t r;
	if (wa_host_option_file_read_at(HOST(ctx), mem_of(rt, mem), arg_u32(sp, 1), arg_u32(sp, 2), arg_i64(sp, 3),
	                                arg_u32(sp, 4), arg_u32(sp, 5), &r))
		return host_trap;
	ret_i32(sp, r);
	return m3Err_none;
}

HOSTFN(bind_kick_client)
{
	int32_t r;
	if (wa_host_kick_client(HOST(ctx), mem_of(rt, mem), arg_u32(sp, 1), arg_u32(sp, 2), &r)) return host_trap;
	ret_i32(sp, r);
	return m3Err_none;
}

HOSTFN(bind_kick_user)
{
	int32_t r;
	if (wa_host_kick_user(HOST(ctx), mem_of(rt, mem), arg_u32(sp, 1), arg_u32(sp, 2), &r)) return host_trap;
	ret_i32(sp, r);
	return m3Err_none;
}

HOSTFN(bind_publish)
{
	int32_t r;
	if (wa_host_publish(HOST(ctx), mem_of(rt, mem), arg_u32(sp, 1), arg_u32(sp, 2), arg_u32(sp, 3), arg_u32(sp, 4),
	                    (int32_t)arg_u32(sp, 5), (int32_t)arg_u32(sp, 6), &r))
		return host_trap;
	ret_i32(sp, r);
	return m3Err_none;
}

HOSTFN(bind_jwt_verify)
{
	int32_t r;
	if (wa_host_jwt_verify(HOST(ctx), mem_of(rt, mem), arg_u32(sp, 1), arg_u32(sp, 2), arg_u32(sp, 3),
	                       arg_u32(sp, 4), (int32_t)arg_u32(sp, 5), arg_u32(sp, 6), arg_u32(sp, 7), &r))
		return host_trap;
	ret_i32(sp, r);
	return m3Err_none;
}

HOSTFN(bind_message_set_topic)
{
	if (wa_host_message_set_topic(HOST(ctx), mem_of(rt, mem), arg_u32(sp, 0), arg_u32(sp, 1))) return host_trap;
	return m3Err_none;
}

HOSTFN(bind_message_set_payload)
{
	if (wa_host_message_set_payload(HOST(ctx), mem_of(rt, mem), arg_u32(sp, 0), arg_u32(sp, 1))) return host_trap;
	return m3Err_none;
}

HOSTFN(bind_message_set_retain)
{
	(void)rt;
	(void)mem;
	if (wa_host_message_set_retain(HOST(ctx), (int32_t)arg_u32(sp, 0))) return host_trap;
	return m3Err_none;
}

HOSTFN(bind_subscribe_set_topic)
{
	if (wa_host_subscribe_set_topic(HOST(ctx), mem_of(rt, mem), arg_u32(sp, 0), arg_u32(sp, 1))) return host_trap;
	return m3Err_none;
}

HOSTFN(bind_subscribe_set_qos)
{
	(void)rt;
	(void)mem;
	if (wa_host_subscribe_set_qos(HOST(ctx), (int32_t)arg_u32(sp, 0))) return host_trap;
	return m3Err_none;
}

HOSTFN(bind_reasons_wanted)
{
	int32_t r;
	(void)rt;
	(void)mem;
	if (wa_host_reasons_wanted(HOST(ctx), &r)) return host_trap;
	ret_i32(sp, r);
	return m3Err_none;
}

HOSTFN(bind_set_reason)
{
	int32_t r;
	if (wa_host_set_reason(HOST(ctx), mem_of(rt, mem), arg_u32(sp, 1), arg_u32(sp, 2), &r)) return host_trap;
	ret_i32(sp, r);
	return m3Err_none;
}

HOSTFN(bind_abort)
{
	wa_host_abort(HOST(ctx), mem_of(rt, mem), arg_u32(sp, 0), arg_u32(sp, 1), arg_u32(sp, 2), arg_u32(sp, 3));
	return host_trap;
}

HOSTFN(bind_trace)
{
	double a[5];
	for (unsigned i = 0; i < 5; i++) a[i] = arg_f64(sp, 2 + i);
	if (wa_host_trace(HOST(ctx), mem_of(rt, mem), arg_u32(sp, 0), (int32_t)arg_u32(sp, 1), a)) return host_trap;
	return m3Err_none;
}

HOSTFN(bind_seed)
{
	double r;
	(void)rt;
	(void)mem;
	if (wa_host_seed(HOST(ctx), &r)) return host_trap;
	ret_f64(sp, r);
	return m3Err_none;
}

HOSTFN(bind_date_now)
{
	double r;
	(void)rt;
	(void)mem;
	if (wa_host_date_now(HOST(ctx), &r)) return host_trap;
	ret_f64(sp, r);
	return m3Err_none;
}

HOSTFN(bind_auth_data_out)
{
	int32_t r;
	if (wa_host_auth_data_out(HOST(ctx), mem_of(rt, mem), arg_u32(sp, 1), arg_u32(sp, 2), &r)) return host_trap;
	ret_i32(sp, r);
	return m3Err_none;
}

HOSTFN(bind_sha256)
{
	int32_t r;
	if (wa_host_sha256(HOST(ctx), mem_of(rt, mem), arg_u32(sp, 1), arg_u32(sp, 2), arg_u32(sp, 3), &r))
		return host_trap;
	ret_i32(sp, r);
	return m3Err_none;
}

HOSTFN(bind_hmac_sha256)
{
	int32_t r;
	if (wa_host_hmac_sha256(HOST(ctx), mem_of(rt, mem), arg_u32(sp, 1), arg_u32(sp, 2), arg_u32(sp, 3),
	                        arg_u32(sp, 4), arg_u32(sp, 5), &r))
		return host_trap;
	ret_i32(sp, r);
	return m3Err_none;
}

HOSTFN(bind_pbkdf2_sha256)
{
	int32_t r;
	if (wa_host_pbkdf2_sha256(HOST(ctx), mem_of(rt, mem), arg_u32(sp, 1), arg_u32(sp, 2), arg_u32(sp, 3),
	                          arg_u32(sp, 4), arg_u32(sp, 5), arg_u32(sp, 6), &r))
		return host_trap;
	ret_i32(sp, r);
	return m3Err_none;
}

static const struct {
	const char *module, *name;
	M3RawCall fn;
} bindings[] = {
	{ "mosquitto", "topic_matches_sub", bind_topic_matches_sub },
	{ "mosquitto", "log", bind_log },
	{ "mosquitto", "client_id", bind_client_id },
	{ "mosquitto", "client_address", bind_client_address },
	{ "mosquitto", "client_protocol_version", bind_client_protocol_version },
	{ "mosquitto", "pw_verify", bind_pw_verify },
	{ "mosquitto", "option_file_size", bind_option_file_size },
	{ "mosquitto", "option_file_read", bind_option_file_read },
	{ "mosquitto", "option_file_read_at", bind_option_file_read_at },
	{ "mosquitto", "kick_client", bind_kick_client },
	{ "mosquitto", "kick_user", bind_kick_user },
	{ "mosquitto", "publish", bind_publish },
	{ "mosquitto", "jwt_verify", bind_jwt_verify },
	{ "mosquitto", "message_set_topic", bind_message_set_topic },
	{ "mosquitto", "message_set_payload", bind_message_set_payload },
	{ "mosquitto", "message_set_retain", bind_message_set_retain },
	{ "mosquitto", "set_reason", bind_set_reason },
	{ "mosquitto", "reasons_wanted", bind_reasons_wanted },
	{ "env", "abort", bind_abort },
	{ "env", "trace", bind_trace },
	{ "env", "seed", bind_seed },
	{ "env", "Date.now", bind_date_now },
	{ "mosquitto", "auth_data_out", bind_auth_data_out },
	{ "mosquitto", "sha256", bind_sha256 },
	{ "mosquitto", "hmac_sha256", bind_hmac_sha256 },
	{ "mosquitto", "pbkdf2_sha256", bind_pbkdf2_sha256 },
	{ "mosquitto", "subscribe_set_topic", bind_subscribe_set_topic },
	{ "mosquitto", "subscribe_set_qos", bind_subscribe_set_qos },
};

static M3RawCall binding_for(const struct wa_import_abi *imp)
{
	for (size_t i = 0; i < sizeof bindings / sizeof bindings[0]; i++) {
		if (strcmp(bindings[i].module, imp->module) == 0 && strcmp(bindings[i].name, imp->name) == 0) {
			return bindings[i].fn;
		}
	}
	return NULL;
}

/* ---- instantiation ----------------------------------------------------------------------------- */

/* wasm3's lookup falls back to debug names; only a real export under that name counts. */
static int exported_as(IM3Function f, const char *name)
{
	if (!f->export_name) return 0;
	for (unsigned i = 0; i < f->numNames; i++) {
		if (f->names[i] && strcmp(f->names[i], name) == 0) return 1;
	}
	return 0;
}

static int all_i32(IM3Function f)
{
	for (uint32_t i = 0; i < m3_GetArgCount(f); i++) {
		if (m3_GetArgType(f, i) != c_m3Type_i32) return 0;
	}
	return m3_GetRetCount(f) == 0 || (m3_GetRetCount(f) == 1 && m3_GetRetType(f, 0) == c_m3Type_i32);
}

/* "missing imported function" alone does not say which: add wasm3's detail when it has one. */
static void describe(struct wa_engine *e, const char *what, M3Result r, char *err, size_t errlen)
{
	M3ErrorInfo info;

	memset(&info, 0, sizeof info);
	if (e->rt) m3_GetErrorInfo(e->rt, &info);
	if (info.message && info.message[0]) {
		snprintf(err, errlen, "%s: %s (%s)", what, r, info.message);
	} else {
		snprintf(err, errlen, "%s: %s", what, r);
	}
}

static int link_imports(struct wa_engine *e, char *err, size_t errlen)
{
	for (unsigned i = 0; i < wa_import_count; i++) {
		const struct wa_import_abi *imp = &wa_imports[i];
		M3RawCall fn = binding_for(imp);
		M3Result r;

		if (!fn) {
			snprintf(err, errlen, "internal error: no host function for %s.%s", imp->module, imp->name);
			return -1;
		}
		r = m3_LinkRawFunctionEx(e->mod, imp->module, imp->name, imp->signature, fn, e->host);
		/* functionLookupFailed: the module does not import this one, which is fine. */
		if (r && r != m3Err_functionLookupFailed) {
			char what[128];
			snprintf(what, sizeof what, "linking import %s.%s", imp->module, imp->name);
			describe(e, what, r, err, errlen);
			return -1;
		}
	}
	return 0;
}

/* The function exported under name, or NULL. Not m3_FindFunction: that one falls back to debug
 * names and compiles what it finds, and its error does not tell "missing" from "did not
 * compile". */
static IM3Function export_named(IM3Module mod, const char *name)
{
	for (u32 i = 0; i < mod->numFunctions; i++) {
		IM3Function f = &mod->functions[i];

		if (exported_as(f, name)) return f;
	}
	return NULL;
}

/* Compiles each export the host calls and records how to call it. */
static int find_exports(struct wa_engine *e, char *err, size_t errlen)
{
	for (unsigned x = 0; x < WA_EXPORT_COUNT; x++) {
		IM3Function f = export_named(e->mod, export_names[x]);
		M3Result r;

		if (!f) continue;
		if (!all_i32(f)) {
			snprintf(err, errlen, "export %s: parameters and result must be i32", export_names[x]);
			return -1;
		}
		r = f->compiled ? m3Err_none : CompileFunction(f);
		if (r) {
			char what[128];
			snprintf(what, sizeof what, "compiling export %s", export_names[x]);
			describe(e, what, r, err, errlen);
			return -1;
		}
		/* all_i32 allows at most one result, and the gate caps arity far below 16 bits:
		 * checked anyway, wa_engine_call relies on them. */
		if (!f->compiled || m3_GetArgCount(f) > UINT16_MAX || m3_GetRetCount(f) > 1) {
			snprintf(err, errlen, "export %s: not compiled, or a signature this runtime cannot call",
			         export_names[x]);
			return -1;
		}
		e->fn[x] = f;
		e->entry[x].code = f->compiled;
		e->entry[x].nargs = (uint16_t)m3_GetArgCount(f);
		e->entry[x].nrets = (uint16_t)m3_GetRetCount(f);
	}
	e->fuel = m3_FindGlobal(e->mod, WA_FUEL_GLOBAL);
	if (!e->fuel || e->fuel->type != c_m3Type_i64 || !e->fuel->isMutable || e->fuel->imported) {
		snprintf(err, errlen, "no fuel counter %s: the module was not metered", WA_FUEL_GLOBAL);
		return -1;
	}
	e->host->fuel = &e->fuel->i64Value;
	return 0;
}

/* Compiles every defined function now, so that no request ever pays for (or fails in) a
 * compilation: what a module costs to compile is paid once, at load, which runs off the
 * broker's main thread except at startup (policy.h). */
static int compile_all(struct wa_engine *e, char *err, size_t errlen)
{
	for (u32 i = 0; i < e->mod->numFunctions; i++) {
		IM3Function f = &e->mod->functions[i];
		M3Result r;

		if (f->compiled || !f->wasm) continue; /* compiled already, or an import */
		r = CompileFunction(f);
		if (r) {
			char what[64];
			snprintf(what, sizeof what, "compiling function %u", i);
			describe(e, what, r, err, errlen);
			return -1;
		}
	}
	return 0;
}

struct wa_engine *wa_engine_new(const uint8_t *bytes, size_t len, uint32_t max_pages, struct wa_host *host, char *err,
                                size_t errlen)
{
	struct wa_engine *e = calloc(1, sizeof *e);
	IM3Module mod = NULL;
	M3Result r;

	if (!e || len > UINT32_MAX) {
		snprintf(err, errlen, e ? "module too large" : "out of memory");
		free(e);
		return NULL;
	}
	e->host = host;
	e->env = m3_NewEnvironment();
	if (e->env) e->rt = m3_NewRuntime(e->env, WA_STACK_BYTES, NULL);
	if (!e->env || !e->rt) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	r = m3_ParseModule(e->env, &mod, bytes, (uint32_t)len);
	if (r) {
		describe(e, "parsing", r, err, errlen);
		goto fail;
	}
	if (!mod->memoryDeclared || mod->memoryImported || !mod->memoryExportName ||
	    strcmp(mod->memoryExportName, WA_EXPORT_MEMORY) != 0) {
		snprintf(err, errlen, "the module must define and export its memory as \"%s\"", WA_EXPORT_MEMORY);
		m3_FreeModule(mod);
		goto fail;
	}
	if (mod->memoryInfo.initPages > max_pages) {
		snprintf(err, errlen, "memory starts at %u pages, above the cap of %u (wasm_max_memory_pages)",
		         mod->memoryInfo.initPages, max_pages);
		m3_FreeModule(mod);
		goto fail;
	}
	r = m3_LoadModule(e->rt, mod);
	if (r) {
		describe(e, "instantiating", r, err, errlen);
		m3_FreeModule(mod);
		goto fail;
	}
	e->mod = mod;
	/* Per-runtime memory cap: memory.grow past it returns -1 (m3_env.h: ResizeMemory). */
	if (e->rt->memory.maxPages > max_pages) e->rt->memory.maxPages = max_pages;
	if (link_imports(e, err, errlen)) goto fail;
	if (find_exports(e, err, errlen) || compile_all(e, err, errlen)) goto fail;
	e->watch = wa_watch_claim(&e->fuel->i64Value);
	return e;
fail:
	wa_engine_free(e);
	return NULL;
}

static void free_snapshot(struct snapshot *s)
{
	if (!s) return;
	free(s->memory);
	free(s->globals);
	free(s->table);
	free(s->data_dropped);
	free(s->elem_dropped);
	free(s);
}

/* calloc that treats 0 elements as 1, so NULL always means out of memory. */
static void *alloc_n(size_t n, size_t size)
{
	return calloc(n ? n : 1u, size);
}

int wa_engine_snapshot(struct wa_engine *e, char *err, size_t errlen)
{
	IM3Module mod = e->mod;
	M3Table *t = mod->numTables ? &mod->tables[0] : NULL;
	struct wa_mem m = wa_engine_memory(e);
	struct snapshot *s = calloc(1, sizeof *s);

	if (s) {
		s->pages = e->rt->memory.numPages;
		s->memory_bytes = m.size;
		s->memory = alloc_n(m.size, 1);
		s->globals = alloc_n(mod->numGlobals, sizeof *s->globals);
		s->table_size = t ? t->size : 0u;
		s->table = alloc_n(s->table_size, sizeof *s->table);
		s->data_dropped = alloc_n(mod->numDataSegments, sizeof *s->data_dropped);
		s->elem_dropped = alloc_n(mod->numElementSegments, sizeof *s->elem_dropped);
	}
	if (!s || !s->memory || !s->globals || !s->table || !s->data_dropped || !s->elem_dropped) {
		free_snapshot(s);
		snprintf(err, errlen, "out of memory for the instance's snapshot");
		return -1;
	}
	if (m.size) memcpy(s->memory, m.base, m.size);
	for (u32 i = 0; i < mod->numGlobals; i++)
		memcpy(&s->globals[i], &mod->globals[i].i64Value, sizeof s->globals[i]);
	if (s->table_size) memcpy(s->table, t->elements, s->table_size * sizeof *s->table);
	for (u32 i = 0; i < mod->numDataSegments; i++) s->data_dropped[i] = mod->dataSegments[i].dropped;
	for (u32 i = 0; i < mod->numElementSegments; i++) s->elem_dropped[i] = mod->elementSegments[i].dropped;
	free_snapshot(e->snap);
	e->snap = s;
	return 0;
}

int wa_engine_restore(struct wa_engine *e)
{
	IM3Module mod = e->mod;
	struct snapshot *s = e->snap;
	struct wa_mem m;

	if (!s || !e->started) return -1;
	/* Memory shrinks back to its size then: grown pages are given back. */
	if (e->rt->memory.numPages != s->pages && ResizeMemory(e->rt, s->pages) != m3Err_none) return -1;
	m = wa_engine_memory(e);
	if (m.size != s->memory_bytes) return -1;
	if (m.size) memcpy(m.base, s->memory, m.size);
	for (u32 i = 0; i < mod->numGlobals; i++) {
		if (mod->globals[i].isMutable) memcpy(&mod->globals[i].i64Value, &s->globals[i], sizeof s->globals[i]);
	}
	/* Only table.init/copy write the table, within its size (no table.grow in the profile). */
	if (s->table_size && mod->numTables && mod->tables[0].size == s->table_size) {
		memcpy(mod->tables[0].elements, s->table, s->table_size * sizeof *s->table);
	}
	for (u32 i = 0; i < mod->numDataSegments; i++) mod->dataSegments[i].dropped = s->data_dropped[i];
	for (u32 i = 0; i < mod->numElementSegments; i++) mod->elementSegments[i].dropped = s->elem_dropped[i];
	return 0;
}

void wa_engine_free(struct wa_engine *e)
{
	if (!e) return;
	/* The host state outlives the instance (policy.c): no host call may charge freed fuel. */
	if (e->fuel && e->host && e->host->fuel == &e->fuel->i64Value) e->host->fuel = NULL;
	free_snapshot(e->snap);
	wa_watch_release(e->watch);       /* the watchdog holds the address of this instance's fuel */
	if (e->rt) m3_FreeRuntime(e->rt); /* frees the loaded module too */
	if (e->env) m3_FreeEnvironment(e->env);
	free(e);
}

int wa_engine_has(const struct wa_engine *e, unsigned export)
{
	return export < WA_EXPORT_COUNT && e->fn[export] != NULL;
}

unsigned wa_engine_params(const struct wa_engine *e, unsigned export)
{
	return wa_engine_has(e, export) ? m3_GetArgCount(e->fn[export]) : 0;
}

unsigned wa_engine_results(const struct wa_engine *e, unsigned export)
{
	return wa_engine_has(e, export) ? m3_GetRetCount(e->fn[export]) : 0;
}

/* Read from the runtime directly (what m3_GetMemory does, minus the call). */
struct wa_mem wa_engine_memory(struct wa_engine *e)
{
	const M3MemoryHeader *h = e->rt->memory.mallocated;
	struct wa_mem m = { NULL, 0 };

	if (h && h->length) {
		m.base = m3MemData(h);
		m.size = (uint32_t)h->length;
	}
	return m;
}

/* m3_RunStart marks the start function done (startFunction = -1) only when it returns; after a
 * trap it stays pending. started mirrors that, so a call need not look into the module. */
static M3Result run_start(struct wa_engine *e)
{
	M3Result r;

	r = m3_RunStart(e->mod);

	e->started = r == m3Err_none;
	return r;
}

const char *wa_engine_start(struct wa_engine *e, struct wa_budget budget)
{
	M3Result r;
	int timed_out;

	arm(e, budget);
	r = run_start(e);
	timed_out = disarm(e);

	return r ? failure(e, r, budget, timed_out) : NULL;
}

/* What m3_Call + m3_GetResults do for an all-i32 export, without their per-call type walk
 * (the types were checked once, in find_exports): arguments into the value stack after the
 * result slot, wasm3's native-stack bound set exactly as m3_Call sets it, the compiled code
 * run, the result read from slot 0. */
static M3Result run(IM3Runtime rt, const struct wa_entry *x, const uint32_t *args)
{
	uint64_t *slot = (uint64_t *)rt->stack + x->nrets;
	M3Result r;

	/* Unrolled for the hooks' arities (acl_check: 4 or 7), a loop beyond. */
	switch (x->nargs) {
		case 7: slot[6] = args[6]; /* fall through */
		case 6: slot[5] = args[5]; /* fall through */
		case 5: slot[4] = args[4]; /* fall through */
		case 4: slot[3] = args[3]; /* fall through */
		case 3: slot[2] = args[2]; /* fall through */
		case 2: slot[1] = args[1]; /* fall through */
		case 1: slot[0] = args[0]; /* fall through */
		case 0: break;
		default:
			for (unsigned i = 0; i < x->nargs; i++) slot[i] = args[i];
	}
	{
		d_m3StackLimitEnter(rt);
		r = (M3Result)RunCode(x->code, (m3stack_t)rt->stack, rt->memory.mallocated, d_m3OpDefaultArgs);
		d_m3StackLimitLeave(rt);
	}
	return r;
}

const char *wa_engine_call(struct wa_engine *e, unsigned export, const uint32_t *args, unsigned nargs, int32_t *result,
                           struct wa_budget budget)
{
	const struct wa_entry *x;
	M3Result r;
	int timed_out;

	/* entry[].code is set exactly for the exports found (find_exports), so one test covers
	 * "missing" and the argument count together. */
	if (export >= WA_EXPORT_COUNT) return "export missing";
	x = &e->entry[export];
	if (!x->code || nargs != x->nargs) return x->code ? "argument count mismatch" : "export missing";
	if (budget.fuel < 0) return "fuel exhausted"; /* the host's share (a hook's entry) took it all */
	arm(e, budget);
	/* m3_Call would run a start function still pending; the policy always runs it first.
	 * runtime->lastCalled is not set: only m3_GetResults reads it, and results are read here. */
	r = e->started ? NULL : run_start(e); /* NULL: m3Err_none's value, without loading it */
	if (!r) r = run(e->rt, x, args);
	timed_out = disarm(e);
	if (r) return failure(e, r, budget, timed_out);
	if (x->nrets == 1 && result) memcpy(result, e->rt->stack, sizeof *result);
	return NULL;
}
