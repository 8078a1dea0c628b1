/* Metering, executed: metered modules run in wasm3 (the plugin's interpreter) and the fuel
 * global behaves as documented: results unchanged, fuel spent grows linearly with loop
 * iterations and with calls, the budget is exact (enough fuel succeeds, one unit less traps),
 * endless loops (on br, br_if, br_table and a branch to an outer loop) and endless recursion
 * trap, an unset budget (0) traps at once, a loop that never iterates costs nothing beyond its
 * function's entry, and a host-paid hook entry (wa_meter_report) costs what the charge cost.
 * Also: a module at the gate's implementation limits still loads in wasm3 once metered, and for
 * the limit that is wasm3's own (frames), wasm3 refuses one step past it.
 * Bulk instructions (bulk.wat, bulk_table.wat, paths given as arguments): each pays its price
 * list entry (gate.h WA_FUEL_*) before it runs, zero-length ones their unit; a loop of 16 MiB
 * fills, 8 MiB copies, inits or grows stops after exactly as many runs as the default budget
 * pays for; results are unchanged. */
#define _POSIX_C_SOURCE 200809L /* alarm, clock_gettime */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include "../gate_internal.h"
#include "meter_wasm3.h"

static int failures, checks;

static void check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void check(int ok, const char *fmt, ...)
{
	va_list ap;
	checks++;
	if (ok) return;
	failures++;
	fprintf(stderr, "FAIL ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Fuel spent by one call of name(arg) with a large budget; -1 on failure. */
static int64_t spent(const uint8_t *bytes, size_t len, const char *name, int32_t arg, int32_t *result)
{
	const int64_t budget = INT64_C(1) << 40;
	struct w3 w;
	const char *r = w3_load(&w, bytes, len);
	int64_t left;

	if (r || w3_set_fuel(&w, budget)) {
		check(0, "load: %s", r ? r : "no fuel global");
		w3_free(&w);
		return -1;
	}
	r = w3_call(&w, name, 1, arg, result);
	left = w3_get_fuel(&w);
	w3_free(&w);
	if (r) {
		check(0, "%s(%d): %s", name, arg, r);
		return -1;
	}
	return budget - left;
}

/* Runs name(arg) with exactly `fuel`; returns wasm3's result (NULL = success). */
static const char *run_with(const uint8_t *bytes, size_t len, const char *name, int nargs, int32_t arg, int64_t fuel,
                            int64_t *left)
{
	static char saved[128];
	struct w3 w;
	const char *r = w3_load(&w, bytes, len);

	if (!r && w3_set_fuel(&w, fuel)) r = "no fuel global";
	if (!r) r = w3_call(&w, name, nargs, arg, NULL);
	if (left) *left = w3_get_fuel(&w);
	/* wasm3's messages are static strings, but copy anyway: the runtime is freed below. */
	if (r) {
		snprintf(saved, sizeof saved, "%s", r);
		r = saved;
	}
	w3_free(&w);
	return r;
}

/* NULL if wasm3 parses, loads and compiles (validates) every function of the module. */
static const char *wasm3_verdict(const uint8_t *b, size_t n)
{
	static char saved[160];
	struct w3 w;
	const char *r = w3_load(&w, b, n);

	if (!r) r = m3_CompileModule(w.mod);
	if (r) {
		snprintf(saved, sizeof saved, "%s", r);
		r = saved;
	}
	w3_free(&w);
	return r;
}

/* Function 0: type (params x nparams) -> (), body = locals + code (ends with end); with_memory:
 * and a memory of one page. */
static void limit_module(struct mb *m, unsigned nparams, const struct mb *body, bool with_memory)
{
	struct mb s1 = { 0 }, s3 = { 0 }, s5 = { 0 }, s10 = { 0 };
	const struct mb *sec[13] = { 0 };

	mb_bytes(&s1, B(0x01, 0x60));
	mb_u32(&s1, nparams);
	for (unsigned i = 0; i < nparams; i++) mb_u8(&s1, 0x7f);
	mb_u8(&s1, 0x00);
	mb_bytes(&s3, B(0x01, 0x00));
	mb_bytes(&s5, B(0x01, 0x00, 0x01));
	mb_u32(&s10, 1);
	mb_body(&s10, body->b, body->n);
	sec[1] = &s1;
	sec[3] = &s3;
	sec[10] = &s10;
	if (with_memory) sec[5] = &s5;
	mb_module(m, sec);
	mb_free(&s1);
	mb_free(&s3);
	mb_free(&s5);
	mb_free(&s10);
}

/* The gate accepts it, and wasm3 accepts the metered version. */
static void at_gate_limit(const char *name, const struct mb *m)
{
	struct wa_gate_config vo;
	char err[WA_GATE_ERR_LEN];
	uint8_t *mt;
	size_t mtlen;
	const char *r;

	wa_gate_config_defaults(&vo);
	vo.validate_only = true;
	if (wa_gate_check(m->b, m->n, &vo, NULL, err, sizeof err)) {
		check(0, "%s: gate refuses: %s", name, err);
		return;
	}
	if (wa_gate_meter(m->b, m->n, &mt, &mtlen, NULL, err, sizeof err)) {
		check(0, "%s: metering: %s", name, err);
		return;
	}
	r = wasm3_verdict(mt, mtlen);
	check(r == NULL, "%s: wasm3 refuses the metered module: %s", name, r ? r : "");
	free(mt);
}

/* wasm3 accepts m_ok and refuses m_over (unmetered): wa_limits.h states wasm3's real limit. */
static void at_wasm3_limit(const char *name, const struct mb *m_ok, const struct mb *m_over)
{
	const char *r = wasm3_verdict(m_ok->b, m_ok->n);
	check(r == NULL, "%s: wasm3 refuses a module at its limit: %s", name, r ? r : "");
	check(wasm3_verdict(m_over->b, m_over->n) != NULL, "%s: wasm3 accepts a module past its limit", name);
}

static void test_limits(void)
{
	struct mb body = { 0 }, a = { 0 }, b = { 0 };

	/* Nesting: the gate's deepest function, its innermost block a loop that branches back
	 * (metering adds an if before the br_if). */
	mb_u8(&body, 0x00); /* no locals */
	for (unsigned i = 0; i + 2 < WA_GATE_MAX_FRAMES; i++) mb_bytes(&body, B(0x02, 0x40));
	mb_bytes(&body, B(0x03, 0x40, 0x41, 0x00, 0x0d, 0x00));
	for (unsigned i = 0; i < WA_GATE_MAX_FRAMES; i++) mb_u8(&body, 0x0b);
	limit_module(&a, 0, &body, false);
	at_gate_limit("frames", &a);
	for (unsigned extra = 0; extra < 2; extra++) {
		mb_reset(&body);
		mb_u8(&body, 0x00);
		for (unsigned i = 0; i + 1 < WA_MAX_BLOCK_DEPTH + extra; i++) mb_bytes(&body, B(0x02, 0x40));
		for (unsigned i = 0; i < WA_MAX_BLOCK_DEPTH + extra; i++) mb_u8(&body, 0x0b);
		limit_module(extra ? &b : &a, 0, &body, false);
	}
	at_wasm3_limit("frames", &a, &b);

	/* Locals and operands share wasm3's compiler budget: the worst mix the gate allows (all its
	 * locals, alternating i32 and i64 so i64 slots need padding, and its deepest stack: i64
	 * values and a br_if's condition, where metering adds two more before the back-edge) must
	 * still compile. With a memory.fill at the deepest stack too: metering adds its scratch
	 * local (WA_MAX_LOCALS_PER_FUNC + 1 in all) and two operands before it. */
	for (int fill = 0; fill < 2; fill++) {
		mb_reset(&body);
		mb_u32(&body, WA_MAX_LOCALS_PER_FUNC - 1);
		for (unsigned i = 0; i + 1 < WA_MAX_LOCALS_PER_FUNC; i++)
			mb_bytes(&body, B(0x01, (uint8_t)(i & 1 ? 0x7e : 0x7f)));
		if (fill) {
			for (unsigned i = 0; i + 3 < WA_GATE_MAX_OPERANDS; i++) mb_bytes(&body, B(0x42, 0x00));
			mb_bytes(&body, B(0x41, 0x00, 0x41, 0x00, 0x41, 0x00, 0xfc, 0x0b,
			                  0x00)); /* memory.fill at the limit */
			mb_bytes(&body, B(0x42, 0x00, 0x42, 0x00));
		} else {
			for (unsigned i = 0; i + 1 < WA_GATE_MAX_OPERANDS; i++) mb_bytes(&body, B(0x42, 0x00));
		}
		mb_bytes(&body, B(0x03, 0x40, 0x41, 0x00, 0x0d, 0x00, 0x0b));
		for (unsigned i = 0; i + 1 < WA_GATE_MAX_OPERANDS; i++) mb_u8(&body, 0x1a);
		mb_u8(&body, 0x0b);
		limit_module(&a, 1, &body, fill);
		at_gate_limit(fill ? "locals+operands+memory.fill" : "locals+operands", &a);
	}

	/* Parameters of a function type. */
	mb_reset(&body);
	mb_bytes(&body, B(0x00, 0x0b));
	limit_module(&a, WA_MAX_FUNC_ARITY, &body, false);
	at_gate_limit("params", &a);

	mb_free(&body);
	mb_free(&a);
	mb_free(&b);
}

/* Loops charged on their back-edges, host-paid hook entries. Exports (all (i32)->i32 or ()->()):
 *   once(n)        while (n) n--: loop; if n; n--; br 1; end; end; n
 *   once_block(n)  the same instructions with `block` for `loop` (n = 0: the same path)
 *   brtab()        block; loop; br_table [loop] default block (index 0: the loop); forever
 *   outer()        loop; loop; br_if 0 (never taken); br 1 (the outer loop); forever
 *   brif()         loop; br_if 0 (always taken); forever
 *   acl_check(n)   once(n): a hook only the host enters
 *   unpwd_check(n) n ? unpwd_check(n) : 1: a hook the module also calls (itself)
 *   psk_key_get(n) 2, and in the table: a hook call_indirect can reach
 *   countdown(n)   n; loop (param i32) (result i32): -1, tee n, br_if 0 with n: a loop label
 *                  carrying a value (n >= 1; returns 0)
 *   paramloop()    0; loop (param i32) (result i32): br_if 0 always taken; forever */
static void loop_module(struct mb *out)
{
	struct mb s1 = { 0 }, s3 = { 0 }, s4 = { 0 }, s7 = { 0 }, s9 = { 0 }, s10 = { 0 };
	const struct mb *sec[13] = { 0 };
	static const char *const names[] = { "once",      "once_block",  "brtab",       "outer",     "brif",
		                             "acl_check", "unpwd_check", "psk_key_get", "countdown", "paramloop" };

	mb_bytes(&s1, B(0x02, 0x60, 0x01, 0x7f, 0x01, 0x7f, 0x60, 0x00, 0x00));
	mb_bytes(&s3, B(0x0a, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01));
	mb_bytes(&s4, B(0x01, 0x70, 0x00, 0x01));
	mb_u32(&s7, 10);
	for (uint8_t i = 0; i < 10; i++) {
		mb_name(&s7, names[i]);
		mb_bytes(&s7, B(0x00, i));
	}
	mb_bytes(&s9, B(0x01, 0x00, 0x41, 0x00, 0x0b, 0x01, 0x07));
	mb_u32(&s10, 10);
	mb_body(&s10, B(0x00, 0x03, 0x40, 0x20, 0x00, 0x04, 0x40, 0x20, 0x00, 0x41, 0x01, 0x6b, 0x21, 0x00, 0x0c, 0x01,
	                0x0b, 0x0b, 0x20, 0x00, 0x0b));
	mb_body(&s10, B(0x00, 0x02, 0x40, 0x20, 0x00, 0x04, 0x40, 0x20, 0x00, 0x41, 0x01, 0x6b, 0x21, 0x00, 0x0c, 0x01,
	                0x0b, 0x0b, 0x20, 0x00, 0x0b));
	mb_body(&s10, B(0x00, 0x02, 0x40, 0x03, 0x40, 0x41, 0x00, 0x0e, 0x01, 0x00, 0x01, 0x0b, 0x0b, 0x0b));
	mb_body(&s10, B(0x00, 0x03, 0x40, 0x03, 0x40, 0x41, 0x00, 0x0d, 0x00, 0x0c, 0x01, 0x0b, 0x0b, 0x0b));
	mb_body(&s10, B(0x00, 0x03, 0x40, 0x41, 0x01, 0x0d, 0x00, 0x0b, 0x0b));
	mb_body(&s10, B(0x00, 0x20, 0x00, 0x10, 0x00, 0x0b));
	mb_body(&s10, B(0x00, 0x20, 0x00, 0x04, 0x7f, 0x20, 0x00, 0x10, 0x06, 0x05, 0x41, 0x01, 0x0b, 0x0b));
	mb_body(&s10, B(0x00, 0x41, 0x02, 0x0b));
	mb_body(&s10,
	        B(0x00, 0x20, 0x00, 0x03, 0x00, 0x41, 0x01, 0x6b, 0x22, 0x00, 0x20, 0x00, 0x0d, 0x00, 0x0b, 0x0b));
	mb_body(&s10, B(0x00, 0x41, 0x00, 0x03, 0x00, 0x41, 0x01, 0x0d, 0x00, 0x0b, 0x1a, 0x0b));
	sec[1] = &s1;
	sec[3] = &s3;
	sec[4] = &s4;
	sec[7] = &s7;
	sec[9] = &s9;
	sec[10] = &s10;
	mb_module(out, sec);
	mb_free(&s1);
	mb_free(&s3);
	mb_free(&s4);
	mb_free(&s7);
	mb_free(&s9);
	mb_free(&s10);
}

/* Only rep is looked at: plugin_init is the start function, plugin_cleanup is also exported as
 * "other", security_init is a hook and nothing else. All three bodies are just `end`. */
static void entry_module(struct mb *out)
{
	struct mb s1 = { 0 }, s3 = { 0 }, s7 = { 0 }, s8 = { 0 }, s10 = { 0 };
	const struct mb *sec[13] = { 0 };

	mb_bytes(&s1, B(0x01, 0x60, 0x00, 0x00));
	mb_bytes(&s3, B(0x03, 0x00, 0x00, 0x00));
	mb_u32(&s7, 4);
	mb_name(&s7, "plugin_init");
	mb_bytes(&s7, B(0x00, 0x00));
	mb_name(&s7, "plugin_cleanup");
	mb_bytes(&s7, B(0x00, 0x01));
	mb_name(&s7, "other");
	mb_bytes(&s7, B(0x00, 0x01));
	mb_name(&s7, "security_init");
	mb_bytes(&s7, B(0x00, 0x02));
	mb_u32(&s8, 0);
	mb_u32(&s10, 3);
	for (int i = 0; i < 3; i++) mb_body(&s10, B(0x00, 0x0b));
	sec[1] = &s1;
	sec[3] = &s3;
	sec[7] = &s7;
	sec[8] = &s8;
	sec[10] = &s10;
	mb_module(out, sec);
	mb_free(&s1);
	mb_free(&s3);
	mb_free(&s7);
	mb_free(&s8);
	mb_free(&s10);
}

static void test_loops_and_entries(void)
{
	struct mb m = { 0 };
	struct wa_meter_report rep;
	char err[WA_GATE_ERR_LEN];
	uint8_t *all = NULL, *host = NULL;
	size_t alllen, hostlen;
	int64_t once0, block0, once1, once2, once3, whole, body, left;
	int32_t res = -1;
	const char *r;

	loop_module(&m);
	if (wa_gate_meter(m.b, m.n, &all, &alllen, NULL, err, sizeof err) ||
	    wa_gate_meter(m.b, m.n, &host, &hostlen, &rep, err, sizeof err)) {
		check(0, "metering the loop module: %s", err);
		free(all);
		mb_free(&m);
		return;
	}

	/* A loop entered and left without iterating costs what the same code as a block costs:
	 * nothing beyond the entry charge. Each iteration then pays the same, at least one unit. */
	once0 = spent(all, alllen, "once", 0, &res);
	check(res == 0, "once(0) = %d", res);
	block0 = spent(all, alllen, "once_block", 0, NULL);
	check(once0 > 0 && once0 == block0, "a loop that never iterates costs %lld, as a block %lld", (long long)once0,
	      (long long)block0);
	once1 = spent(all, alllen, "once", 1, NULL);
	once2 = spent(all, alllen, "once", 2, NULL);
	once3 = spent(all, alllen, "once", 3, &res);
	check(res == 0 && once1 > once0 && once2 - once1 == once1 - once0 && once3 - once2 == once2 - once1,
	      "once(n) costs %lld %lld %lld %lld, not linear", (long long)once0, (long long)once1, (long long)once2,
	      (long long)once3);

	/* Endless loops on every kind of back-edge stop. */
	r = run_with(all, alllen, "brtab", 0, 0, 100000, &left);
	check(r != NULL && strstr(r, "unreachable") && left < 0, "brtab: %s", r ? r : "returned");
	r = run_with(all, alllen, "outer", 0, 0, 100000, &left);
	check(r != NULL && strstr(r, "unreachable") && left < 0, "outer: %s", r ? r : "returned");
	r = run_with(all, alllen, "brif", 0, 0, 100000, &left);
	check(r != NULL && strstr(r, "unreachable") && left < 0, "brif: %s", r ? r : "returned");
	r = run_with(all, alllen, "paramloop", 0, 0, 100000, &left);
	check(r != NULL && strstr(r, "unreachable") && left < 0, "paramloop: %s", r ? r : "returned");

	/* A loop whose label carries a value: charged at its br_if, linear in iterations. */
	once1 = spent(all, alllen, "countdown", 1, &res);
	check(res == 0, "countdown(1) = %d", res);
	once2 = spent(all, alllen, "countdown", 2, NULL);
	once3 = spent(all, alllen, "countdown", 3, &res);
	check(res == 0 && once2 > once1 && once3 - once2 == once2 - once1, "countdown(n) costs %lld %lld %lld",
	      (long long)once1, (long long)once2, (long long)once3);

	/* Only acl_check is entered by the host alone: unpwd_check calls itself, psk_key_get is in
	 * the table. Paying its entry outside costs exactly what the entry charge inside cost. */
	check(rep.hook_entry_fuel[WA_HOOK_ACL_CHECK] > 0, "acl_check: no host-paid entry");
	check(rep.hook_entry_fuel[WA_HOOK_UNPWD_CHECK] == 0, "unpwd_check (called by the module) host-paid");
	check(rep.hook_entry_fuel[WA_HOOK_PSK_KEY_GET] == 0, "psk_key_get (in the table) host-paid");
	whole = spent(all, alllen, "acl_check", 2, NULL);
	body = spent(host, hostlen, "acl_check", 2, &res);
	check(res == 0 && body > 0 && whole == body + rep.hook_entry_fuel[WA_HOOK_ACL_CHECK],
	      "acl_check costs %lld with its entry charge, %lld + %u without", (long long)whole, (long long)body,
	      rep.hook_entry_fuel[WA_HOOK_ACL_CHECK]);
	/* As a host does it: the budget minus the entry; exact, one unit less traps. */
	r = run_with(host, hostlen, "acl_check", 1, 2, whole - rep.hook_entry_fuel[WA_HOOK_ACL_CHECK], &left);
	check(r == NULL && left == 0, "acl_check with exactly its fuel: %s, left %lld", r ? r : "ok", (long long)left);
	r = run_with(host, hostlen, "acl_check", 1, 2, whole - 1 - rep.hook_entry_fuel[WA_HOOK_ACL_CHECK], &left);
	check(r != NULL && strstr(r, "unreachable") && left < 0, "acl_check with one unit less: %s", r ? r : "ok");
	/* A hook that recurses keeps its entry charge: the recursion still runs out. */
	r = run_with(host, hostlen, "unpwd_check", 1, 1, 10000, &left);
	check(r != NULL && strstr(r, "unreachable") && left < 0, "recursive hook: %s, left %lld", r ? r : "returned",
	      (long long)left);
	free(all);
	free(host);

	entry_module(&m);
	if (wa_gate_meter(m.b, m.n, &host, &hostlen, &rep, err, sizeof err)) {
		check(0, "metering the entry module: %s", err);
	} else {
		check(rep.hook_entry_fuel[WA_HOOK_PLUGIN_INIT] == 0, "the start function host-paid");
		check(rep.hook_entry_fuel[WA_HOOK_PLUGIN_CLEANUP] == 0, "a hook also exported as \"other\" host-paid");
		check(rep.hook_entry_fuel[WA_HOOK_SECURITY_INIT] == 1, "security_init (just end): entry %u, not 1",
		      rep.hook_entry_fuel[WA_HOOK_SECURITY_INIT]);
		free(host);
	}
	mb_free(&m);
}

/* ---- bulk instructions (bulk.wat, bulk_table.wat) ------------------------------------------- */

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b = NULL;
	long n;

	*len = 0;
	if (!f) return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0) {
		b = malloc((size_t)n);
		if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
			free(b);
			b = NULL;
		}
		if (b) *len = (size_t)n;
	}
	fclose(f);
	return b;
}

struct bulk_run {
	const char *err; /* wasm3's error, NULL = returned */
	int64_t spent;   /* fuel spent (metered module) */
	int32_t count;   /* the module's `count` global afterwards */
	int32_t result;
};

/* name(args) in a fresh instance; metered modules get `fuel`. */
static struct bulk_run bulk_call(const uint8_t *b, size_t n, const char *name, int nargs, const int32_t *args,
                                 int64_t fuel)
{
	static char saved[160];
	struct bulk_run out = { NULL, 0, 0, 0 };
	struct w3 w;
	const char *r = w3_load(&w, b, n);

	if (!r && w.fuel && w3_set_fuel(&w, fuel)) r = "cannot set the fuel";
	if (!r) r = w3_callv(&w, name, nargs, args, &out.result);
	if (w.fuel) out.spent = fuel - w3_get_fuel(&w);
	out.count = w3_get_i32(&w, "count");
	if (r) {
		snprintf(saved, sizeof saved, "%s", r);
		out.err = saved;
	}
	w3_free(&w);
	return out;
}

/* Fuel name(args) spends with a large budget (and no trap), or -1. */
static int64_t bulk_spent(const uint8_t *b, size_t n, const char *name, int nargs, const int32_t *args)
{
	struct bulk_run r = bulk_call(b, n, name, nargs, args, INT64_C(1) << 40);
	if (r.err) {
		check(0, "%s(%d, ...): %s", name, args[0], r.err);
		return -1;
	}
	return r.spent;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The loop of name (bulk.wat: the length operand is args[len_arg], the run count args[nargs-1])
 * costs `entry` for the call and its first iteration, `loop` for each further one, plus
 * price(len) per run. Checked for each length in lens: the price list holds exactly. Then with
 * the default budget and no end (count 0), operand `big`: the call traps out of fuel after
 * exactly as many runs as the budget pays for. */
struct bulk_case {
	const char *name;
	int nargs, len_arg;
	int32_t args[4];
	int64_t entry, loop;
	int shift; /* price = len << shift (shift >= 0) or len >> -shift */
	uint32_t lens[8];
	unsigned nlens;
	uint32_t big;
};

static int64_t price(const struct bulk_case *k, uint32_t len)
{
	return k->shift >= 0 ? (int64_t)len << k->shift : (int64_t)(len >> -k->shift);
}

static void bulk_prices(const uint8_t *mt, size_t mtlen, const struct bulk_case *k)
{
	int32_t a[4];
	struct bulk_run r;
	int64_t budget = WA_DEFAULT_FUEL, c, expect;
	double t0, t;

	memcpy(a, k->args, sizeof a);
	for (unsigned i = 0; i < k->nlens; i++) {
		int64_t once, twice;
		a[k->len_arg] = (int32_t)k->lens[i];
		a[k->nargs - 1] = 1;
		once = bulk_spent(mt, mtlen, k->name, k->nargs, a);
		a[k->nargs - 1] = 2;
		twice = bulk_spent(mt, mtlen, k->name, k->nargs, a);
		check(once == k->entry + price(k, k->lens[i]) && twice - once == k->loop + price(k, k->lens[i]),
		      "%s with operand %u: first run %lld, each further run %lld; expected %lld and %lld", k->name,
		      k->lens[i], (long long)once, (long long)(twice - once),
		      (long long)(k->entry + price(k, k->lens[i])), (long long)(k->loop + price(k, k->lens[i])));
	}
	/* Run n pays before it runs: it runs iff entry + n * price + (n - 1) * loop <= budget. */
	c = price(k, k->big);
	expect = (budget - k->entry + k->loop) / (c + k->loop);
	a[k->len_arg] = (int32_t)k->big;
	a[k->nargs - 1] = 0;
	t0 = now_s();
	r = bulk_call(mt, mtlen, k->name, k->nargs, a, budget);
	t = now_s() - t0;
	check(r.err && strstr(r.err, "unreachable") && r.spent > budget && r.count == expect && r.count <= budget / c,
	      "%s(%u) forever with %lld fuel: %s after %d runs, expected %lld", k->name, k->big, (long long)budget,
	      r.err ? r.err : "returned", r.count, (long long)expect);
	printf("test_meter: %s of %u forever, %lld fuel: out of fuel after %d runs, %.1f ms\n", k->name, k->big,
	       (long long)budget, r.count, t * 1e3);
}

static void test_bulk(const char *path)
{
	/* bulk.wat: each function is 15 instructions, its loop 13 (grow: 12). */
	static const struct bulk_case cases[] = {
		{ "fill",
		  2,
		  0,
		  { 0, 0 },
		  15,
		  13,
		  -WA_FUEL_BYTE_SHIFT,
		  { 0, 1, 31, 32, 33, 64, 65536, 16u << 20 },
		  8,
		  16u << 20 },
		{ "copy",
		  4,
		  2,
		  { 8 << 20, 0, 0, 0 },
		  15,
		  13,
		  -WA_FUEL_BYTE_SHIFT,
		  { 0, 31, 32, 4096, 8u << 20 },
		  5,
		  8u << 20 },
		{ "init", 2, 0, { 0, 0 }, 15, 13, -WA_FUEL_BYTE_SHIFT, { 0, 31, 32, 63, 64 }, 5, 64 },
		/* 256 pages, at most 512: 1 grows, 300 is refused and pays all the same. */
		{ "grow", 2, 0, { 0, 0 }, 15, 12, WA_FUEL_PAGE_SHIFT, { 0, 1, 3, 300 }, 4, 1 },
	};
	uint8_t *b, *mt = NULL;
	size_t n, mtlen;
	char err[WA_GATE_ERR_LEN];
	struct bulk_run r;

	b = read_file(path, &n);
	if (!b) {
		check(0, "cannot read %s", path);
		return;
	}
	if (wa_gate_meter(b, n, &mt, &mtlen, NULL, err, sizeof err)) {
		check(0, "metering %s: %s", path, err);
		free(b);
		return;
	}
	check(WA_FUEL_BYTE_SHIFT == 5 && WA_FUEL_PAGE_SHIFT == 11, "the byte price is not 1 per 32 bytes");
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) bulk_prices(mt, mtlen, &cases[i]);

	/* Zero-length instructions are not free: a loop of them pays its instructions each time
	 * (fill above: 13 per run with length 0), so it stops too. */
	r = bulk_call(mt, mtlen, "fill", 2, (const int32_t[]){ 0, 0 }, 100000);
	check(r.err && strstr(r.err, "unreachable") && r.count == (100000 - 15 + 13) / 13,
	      "zero-length fill forever with 100000 fuel: %s after %d runs", r.err ? r.err : "returned", r.count);

	/* Results unchanged: grow's results, and a function with its own locals around every bulk
	 * instruction (the scratch local comes after them) computes what it computes unmetered. */
	r = bulk_call(mt, mtlen, "grow", 2, (const int32_t[]){ 1, 1 }, INT64_C(1) << 40);
	check(!r.err && r.result == 256, "metered grow(1) = %d, not 256", r.result);
	r = bulk_call(mt, mtlen, "grow", 2, (const int32_t[]){ 300, 1 }, INT64_C(1) << 40);
	check(!r.err && r.result == -1, "metered grow(300) = %d, not -1", r.result);
	for (int32_t len = 0; len <= 65536; len = len ? len * 16 : 1) {
		struct bulk_run plain = bulk_call(b, n, "mix", 1, &len, 0);
		r = bulk_call(mt, mtlen, "mix", 1, &len, INT64_C(1) << 40);
		check(!plain.err && !r.err && r.result == plain.result, "mix(%d) = %d metered, %d unmetered (%s)", len,
		      r.result, plain.result,
		      r.err       ? r.err
		      : plain.err ? plain.err
		                  : "");
	}
	free(mt);
	free(b);
}

static bool contains(const uint8_t *hay, size_t n, const uint8_t *needle, size_t k)
{
	for (size_t i = 0; i + k <= n; i++)
		if (!memcmp(hay + i, needle, k)) return true;
	return false;
}

/* wasm3 as the plugin builds it has no reference types, so table.copy and table.init do not run
 * here (sdk/host/test/fuel.test.ts runs them in V8): the metered module is valid, and every
 * function with a table instruction got its scratch local. */
static void test_bulk_table(const char *path)
{
	uint8_t *b, *mt = NULL;
	size_t n, mtlen;
	char err[WA_GATE_ERR_LEN];
	struct wa_err e = { err, sizeof err, false };
	struct wa_module m;

	b = read_file(path, &n);
	if (!b) {
		check(0, "cannot read %s", path);
		return;
	}
	if (wa_gate_meter(b, n, &mt, &mtlen, NULL, err, sizeof err)) {
		check(0, "metering %s: %s", path, err);
	} else if (wa_module_decode(mt, mtlen, true, &m, &e)) {
		check(0, "metered %s: %s", path, err);
	} else {
		/* Functions 1 (tcopy) and 2 (tinit), 4 parameters and 2: local.set 4 and 2 before the
		 * table instruction. */
		static const uint8_t tcopy[] = { 0x21, 0x04, 0x23 }, tinit[] = { 0x21, 0x02, 0x23 };
		check(m.nbodies == 4, "metered %s: %u bodies", path, m.nbodies);
		if (m.nbodies == 4) {
			const uint8_t *b0 = m.bytes + m.bodies[0].offset, *b1 = m.bytes + m.bodies[1].offset;
			const uint8_t *b2 = m.bytes + m.bodies[2].offset, *b3 = m.bytes + m.bodies[3].offset;
			check(contains(b1, m.bodies[1].size, tcopy, sizeof tcopy) &&
			          contains(b2, m.bodies[2].size, tinit, sizeof tinit),
			      "table instructions without their charge");
			/* The first byte of a body counts its local groups: one more where the scratch is. */
			check(b0[0] == 0x00 && b1[0] == 0x01 && b2[0] == 0x01 && b3[0] == 0x00,
			      "scratch locals (local groups %u %u %u %u)", b0[0], b1[0], b2[0], b3[0]);
		}
		wa_module_free(&m);
	}
	free(mt);
	free(b);
}

int main(int argc, char **argv)
{
	struct mb m = { 0 };
	char err[WA_GATE_ERR_LEN];
	uint8_t *mt;
	size_t mtlen;
	int32_t res = 0, plain = 0;
	int64_t s0, s1k, s2k, f10, f11, f12, left;
	const char *r;

	/* A back-edge left uncharged shows up as a test that never ends: end it as a failure. */
	alarm(300);
	meter_test_module(&m);
	if (wa_gate_meter(m.b, m.n, &mt, &mtlen, NULL, err, sizeof err)) {
		fprintf(stderr, "FAIL metering: %s\n", err);
		return 1;
	}

	/* Same results as the unmetered module. */
	{
		struct w3 w;
		r = w3_load(&w, m.b, m.n);
		check(!r, "unmetered load: %s", r ? r : "");
		if (!r) r = w3_call(&w, "fib", 1, 15, &plain);
		check(!r, "unmetered fib: %s", r ? r : "");
		check(w.fuel == NULL, "unmetered module has a fuel global");
		w3_free(&w);
	}
	check(spent(mt, mtlen, "fib", 15, &res) > 0 && res == plain, "metered fib(15) = %d, unmetered %d", res, plain);
	check(spent(mt, mtlen, "spin", 1000, &res) > 0 && res == 1000, "metered spin(1000) = %d", res);

	/* Linear in loop iterations: each iteration pays the same, at least one unit. */
	s0 = spent(mt, mtlen, "spin", 1, NULL);
	s1k = spent(mt, mtlen, "spin", 1001, NULL);
	s2k = spent(mt, mtlen, "spin", 2001, NULL);
	check(s0 > 0 && s2k - s1k == s1k - s0 && s1k - s0 >= 1000, "spin costs %lld %lld %lld not linear",
	      (long long)s0, (long long)s1k, (long long)s2k);

	/* Calls pay: fib(n) costs grow with the number of calls (fib(12) = fib(11) + fib(10) + c). */
	f10 = spent(mt, mtlen, "fib", 10, NULL);
	f11 = spent(mt, mtlen, "fib", 11, NULL);
	f12 = spent(mt, mtlen, "fib", 12, NULL);
	check(f10 > 0 && f12 > f11 + f10, "fib costs %lld %lld %lld", (long long)f10, (long long)f11, (long long)f12);

	/* The budget is exact. */
	r = run_with(mt, mtlen, "spin", 1, 1001, s1k, &left);
	check(r == NULL && left == 0, "spin with exactly its fuel: %s, left %lld", r ? r : "ok", (long long)left);
	r = run_with(mt, mtlen, "spin", 1, 1001, s1k - 1, &left);
	check(r != NULL && strstr(r, "unreachable") && left < 0, "spin with one unit less: %s, left %lld", r ? r : "ok",
	      (long long)left);

	/* Endless code stops. */
	r = run_with(mt, mtlen, "forever", 0, 0, 1000000, &left);
	check(r != NULL && strstr(r, "unreachable") && left < 0, "forever: %s", r ? r : "returned");
	r = run_with(mt, mtlen, "recurse", 1, 0, 10000, &left);
	check(r != NULL && strstr(r, "unreachable") && left < 0, "recurse: %s, left %lld", r ? r : "returned",
	      (long long)left);

	/* The injected global starts at 0: a host that never sets a budget gets a trap, not a free run. */
	{
		struct w3 w;
		r = w3_load(&w, mt, mtlen);
		if (!r) r = w3_call(&w, "spin", 1, 10, NULL);
		check(r != NULL && strstr(r, "unreachable") != NULL, "unset budget: %s", r ? r : "ran");
		w3_free(&w);
	}

	free(mt);
	mb_free(&m);
	test_limits();
	test_loops_and_entries();
	if (argc == 3) {
		test_bulk(argv[1]);
		test_bulk_table(argv[2]);
	} else {
		check(0, "usage: test_meter BULK.wasm BULK_TABLE.wasm (plugin-c/gate/tests/bulk*.wat)");
	}
	printf("test_meter: %d checks, %d failures\n", checks, failures);
	return failures ? 1 : 0;
}
