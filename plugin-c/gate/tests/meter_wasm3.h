/* Shared by test_meter.c and bench_meter.c: a small module with loops, built with mb.h, and
 * helpers to run it (metered or not) in wasm3. Test code only. */
#ifndef WASM_AUTH_GATE_TEST_METER_WASM3_H
#define WASM_AUTH_GATE_TEST_METER_WASM3_H

#include <wasm3.h>
#include "../gate.h"
#include "mb.h"

/* Exports:
 *   spin(n) -> n        counts a local up to n in a loop (one back-edge per iteration)
 *   forever()           loop { br 0 }
 *   recurse(n) -> i32   calls itself with n+1, never returns
 *   fib(n) -> i32       recursive Fibonacci (calls, no loops)
 * The module declares its own mutable global 0 so the fuel global lands at index 1. */
static inline void meter_test_module(struct mb *out)
{
	struct mb s1 = { 0 }, s3 = { 0 }, s6 = { 0 }, s7 = { 0 }, s10 = { 0 };
	const struct mb *sec[13] = { 0 };

	mb_bytes(&s1, B(0x02, 0x60, 0x01, 0x7f, 0x01, 0x7f, 0x60, 0x00, 0x00));
	mb_bytes(&s3, B(0x04, 0x00, 0x01, 0x00, 0x00));
	mb_bytes(&s6, B(0x01, 0x7f, 0x01, 0x41, 0x00, 0x0b));
	mb_bytes(&s7, B(0x04));
	mb_name(&s7, "spin");
	mb_bytes(&s7, B(0x00, 0x00));
	mb_name(&s7, "forever");
	mb_bytes(&s7, B(0x00, 0x01));
	mb_name(&s7, "recurse");
	mb_bytes(&s7, B(0x00, 0x02));
	mb_name(&s7, "fib");
	mb_bytes(&s7, B(0x00, 0x03));
	mb_u32(&s10, 4);
	/* spin: (local i) loop: i = i + 1; br_if (i < n); end; i */
	mb_body(&s10, B(0x01, 0x01, 0x7f, 0x03, 0x40, 0x20, 0x01, 0x41, 0x01, 0x6a, 0x22, 0x01, 0x20, 0x00, 0x49, 0x0d,
	                0x00, 0x0b, 0x20, 0x01, 0x0b));
	/* forever: loop br 0 end */
	mb_body(&s10, B(0x00, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b));
	/* recurse: global0 = n; call recurse(n + 1) */
	mb_body(&s10, B(0x00, 0x20, 0x00, 0x24, 0x00, 0x20, 0x00, 0x41, 0x01, 0x6a, 0x10, 0x02, 0x0b));
	/* fib: n < 2 ? n : fib(n-1) + fib(n-2) */
	mb_body(&s10, B(0x00, 0x20, 0x00, 0x41, 0x02, 0x48, 0x04, 0x7f, 0x20, 0x00, 0x05, 0x20, 0x00, 0x41, 0x01, 0x6b,
	                0x10, 0x03, 0x20, 0x00, 0x41, 0x02, 0x6b, 0x10, 0x03, 0x6a, 0x0b, 0x0b));
	sec[1] = &s1;
	sec[3] = &s3;
	sec[6] = &s6;
	sec[7] = &s7;
	sec[10] = &s10;
	mb_module(out, sec);
	mb_free(&s1);
	mb_free(&s3);
	mb_free(&s6);
	mb_free(&s7);
	mb_free(&s10);
}

struct w3 {
	IM3Environment env;
	IM3Runtime rt;
	IM3Module mod;
	IM3Global fuel;
};

/* Loads bytes (which must outlive w). Returns NULL or wasm3's error. */
static inline const char *w3_load(struct w3 *w, const uint8_t *bytes, size_t len)
{
	M3Result r;

	memset(w, 0, sizeof *w);
	w->env = m3_NewEnvironment();
	w->rt = w->env ? m3_NewRuntime(w->env, 256 * 1024, NULL) : NULL;
	if (!w->rt) return "cannot create runtime";
	r = m3_ParseModule(w->env, &w->mod, bytes, (uint32_t)len);
	if (r) return r;
	r = m3_LoadModule(w->rt, w->mod);
	if (r) {
		m3_FreeModule(w->mod);
		return r;
	}
	w->fuel = m3_FindGlobal(w->mod, WA_FUEL_GLOBAL);
	return NULL;
}

static inline void w3_free(struct w3 *w)
{
	if (w->rt) m3_FreeRuntime(w->rt);
	if (w->env) m3_FreeEnvironment(w->env);
	memset(w, 0, sizeof *w);
}

static inline int w3_set_fuel(struct w3 *w, int64_t fuel)
{
	M3TaggedValue v;
	v.type = c_m3Type_i64;
	v.value.i64 = (uint64_t)fuel;
	return w->fuel && m3_SetGlobal(w->fuel, &v) == NULL ? 0 : -1;
}

static inline int64_t w3_get_fuel(struct w3 *w)
{
	M3TaggedValue v;
	if (!w->fuel || m3_GetGlobal(w->fuel, &v)) return INT64_MIN;
	return (int64_t)v.value.i64;
}

/* Calls export name with up to one i32 argument; *result gets the i32 result if any. */
static inline const char *w3_call(struct w3 *w, const char *name, int nargs, int32_t arg, int32_t *result)
{
	IM3Function f;
	M3Result r = m3_FindFunction(&f, w->rt, name);
	if (r) return r;
	r = nargs ? m3_CallV(f, arg) : m3_CallV(f);
	if (r) return r;
	if (result && m3_GetRetCount(f) == 1) r = m3_GetResultsV(f, result);
	return r;
}

/* Calls export name with nargs i32 arguments; *result gets the i32 result if any. */
static inline const char *w3_callv(struct w3 *w, const char *name, int nargs, const int32_t *args, int32_t *result)
{
	const void *argp[8];
	IM3Function f;
	M3Result r = m3_FindFunction(&f, w->rt, name);

	if (r) return r;
	if (nargs < 0 || nargs > 8) return "too many arguments";
	for (int i = 0; i < nargs; i++) argp[i] = &args[i];
	r = m3_Call(f, (uint32_t)nargs, argp);
	if (r) return r;
	if (result && m3_GetRetCount(f) == 1) r = m3_GetResultsV(f, result);
	return r;
}

/* The value of an exported i32 global; INT32_MIN when there is none. */
static inline int32_t w3_get_i32(struct w3 *w, const char *name)
{
	IM3Global g = m3_FindGlobal(w->mod, name);
	M3TaggedValue v;
	if (!g || m3_GetGlobal(g, &v) || v.type != c_m3Type_i32) return INT32_MIN;
	return (int32_t)v.value.i32;
}

#endif
