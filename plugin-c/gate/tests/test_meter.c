/* Metering, executed: metered modules run in wasm3 (the plugin's interpreter) and the fuel
 * global behaves as documented: results unchanged, fuel spent grows linearly with loop
 * iterations and with calls, the budget is exact (enough fuel succeeds, one unit less traps),
 * endless loops and endless recursion trap, and an unset budget (0) traps at once. */
#include <stdarg.h>
#include <stdio.h>
#include "meter_wasm3.h"

static int failures, checks;

static void check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void check(int ok, const char *fmt, ...)
{
	va_list ap;
	checks++;
	if(ok) return;
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

	if(r || w3_set_fuel(&w, budget)){
		check(0, "load: %s", r ? r : "no fuel global");
		w3_free(&w);
		return -1;
	}
	r = w3_call(&w, name, 1, arg, result);
	left = w3_get_fuel(&w);
	w3_free(&w);
	if(r){
		check(0, "%s(%d): %s", name, arg, r);
		return -1;
	}
	return budget - left;
}

/* Runs name(arg) with exactly `fuel`; returns wasm3's result (NULL = success). */
static const char *run_with(const uint8_t *bytes, size_t len, const char *name, int nargs, int32_t arg,
                            int64_t fuel, int64_t *left)
{
	static char saved[128];
	struct w3 w;
	const char *r = w3_load(&w, bytes, len);

	if(!r && w3_set_fuel(&w, fuel)) r = "no fuel global";
	if(!r) r = w3_call(&w, name, nargs, arg, NULL);
	if(left) *left = w3_get_fuel(&w);
	/* wasm3's messages are static strings, but copy anyway: the runtime is freed below. */
	if(r){
		snprintf(saved, sizeof saved, "%s", r);
		r = saved;
	}
	w3_free(&w);
	return r;
}

int main(void)
{
	struct mb m = { 0 };
	char err[WA_GATE_ERR_LEN];
	uint8_t *mt;
	size_t mtlen;
	int32_t res = 0, plain = 0;
	int64_t s0, s1k, s2k, f10, f11, f12, left;
	const char *r;

	meter_test_module(&m);
	if(wa_gate_meter(m.b, m.n, &mt, &mtlen, err, sizeof err)){
		fprintf(stderr, "FAIL metering: %s\n", err);
		return 1;
	}

	/* Same results as the unmetered module. */
	{
		struct w3 w;
		r = w3_load(&w, m.b, m.n);
		check(!r, "unmetered load: %s", r ? r : "");
		if(!r) r = w3_call(&w, "fib", 1, 15, &plain);
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
	check(r != NULL && strstr(r, "unreachable") && left < 0, "spin with one unit less: %s, left %lld",
	      r ? r : "ok", (long long)left);

	/* Endless code stops. */
	r = run_with(mt, mtlen, "forever", 0, 0, 1000000, &left);
	check(r != NULL && strstr(r, "unreachable") && left < 0, "forever: %s", r ? r : "returned");
	r = run_with(mt, mtlen, "recurse", 1, 0, 10000, &left);
	check(r != NULL && strstr(r, "unreachable") && left < 0, "recurse: %s, left %lld", r ? r : "returned", (long long)left);

	/* The injected global starts at 0: a host that never sets a budget gets a trap, not a free run. */
	{
		struct w3 w;
		r = w3_load(&w, mt, mtlen);
		if(!r) r = w3_call(&w, "spin", 1, 10, NULL);
		check(r != NULL && strstr(r, "unreachable") != NULL, "unset budget: %s", r ? r : "ran");
		w3_free(&w);
	}

	free(mt);
	mb_free(&m);
	printf("test_meter: %d checks, %d failures\n", checks, failures);
	return failures ? 1 : 0;
}
