/* Cost of metering in wasm3: ns per loop iteration of spin(n) and per call of fib(n), plain
 * and metered, and ns per unit of fuel. With --bulk, the calibration of the bulk instructions'
 * prices (gate.h WA_FUEL_*): ns per byte (per page for memory.grow) of each, unmetered, and ns
 * per unit of fuel of a metered loop of it, to compare with ordinary code's. Prints one line
 * per measurement (best of several runs: the minimum is the least disturbed by other load on
 * the machine).
 *   bench_meter [--bulk BULK.wasm] [iterations]     (default 20000000; BULK.wasm: tests/bulk.wat)
 *   bench_meter --once plain|metered spin|fib ARG   one call, for instruction counting under
 *                                                  valgrind --tool=callgrind (load-independent) */
#define _POSIX_C_SOURCE 199309L /* clock_gettime */
#include <stdbool.h>
#include <stdio.h>
#include <time.h>
#include "../../runtime/wa_limits.h"
#include "meter_wasm3.h"

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Best time over runs of name(arg), in ns, or -1 on failure. */
static double best(const uint8_t *bytes, size_t len, const char *name, int32_t arg, int runs)
{
	double min = -1;
	struct w3 w;
	const char *r = w3_load(&w, bytes, len);

	if (r) {
		fprintf(stderr, "load: %s\n", r);
		return -1;
	}
	for (int i = 0; i < runs; i++) {
		double t0, t;
		if (w.fuel) w3_set_fuel(&w, INT64_MAX);
		t0 = now_ns();
		r = w3_call(&w, name, 1, arg, NULL);
		t = now_ns() - t0;
		if (r) {
			fprintf(stderr, "%s: %s\n", name, r);
			w3_free(&w);
			return -1;
		}
		if (min < 0 || t < min) min = t;
	}
	w3_free(&w);
	return min;
}

/* Fuel one metered call of name(arg) spends, or -1. */
static int64_t fuel_of(const uint8_t *bytes, size_t len, const char *name, int32_t arg)
{
	struct w3 w;
	const char *r = w3_load(&w, bytes, len);
	int64_t left = -1;

	if (!r && !w3_set_fuel(&w, INT64_MAX) && !w3_call(&w, name, 1, arg, NULL)) left = w3_get_fuel(&w);
	w3_free(&w);
	return left < 0 ? -1 : INT64_MAX - left;
}

/* Best time over runs of name(args) in a fresh instance each time (with `fuel`, when metered),
 * in ns, or -1 on failure; *spent gets the fuel spent. A metered run may end out of fuel. */
static double best_bulk(const uint8_t *bytes, size_t len, const char *name, int nargs, const int32_t *args,
                        int64_t fuel, int64_t *spent, int runs)
{
	double min = -1;

	for (int i = 0; i < runs; i++) {
		struct w3 w;
		const char *r = w3_load(&w, bytes, len);
		double t0, t;
		if (r) {
			fprintf(stderr, "load: %s\n", r);
			w3_free(&w);
			return -1;
		}
		if (w.fuel) w3_set_fuel(&w, fuel);
		t0 = now_ns();
		r = w3_callv(&w, name, nargs, args, NULL);
		t = now_ns() - t0;
		if (w.fuel) *spent = fuel - w3_get_fuel(&w);
		if (r && !(w.fuel && w3_get_fuel(&w) < 0)) {
			fprintf(stderr, "%s: %s\n", name, r);
			w3_free(&w);
			return -1;
		}
		w3_free(&w);
		if (min < 0 || t < min) min = t;
	}
	return min;
}

/* bulk.wat's fill/copy/init/grow: the unmetered instruction per byte (page), and a metered
 * loop of it with the default budget per unit of fuel; ordinary: ns per fuel of ordinary code. */
static int bench_bulk(const char *path, double ordinary)
{
	static const struct {
		const char *name;
		int nargs, len_arg;
		int32_t args[4];
		int32_t len;
		const char *unit;
	} cases[] = {
		{ "fill", 2, 0, { 0, 0 }, 64, "byte" },
		{ "fill", 2, 0, { 0, 0 }, 4096, "byte" },
		{ "fill", 2, 0, { 0, 0 }, 65536, "byte" },
		{ "fill", 2, 0, { 0, 0 }, 1 << 20, "byte" },
		{ "fill", 2, 0, { 0, 0 }, 16 << 20, "byte" },
		{ "copy", 4, 2, { 8 << 20, 0, 0, 0 }, 64, "byte" },
		{ "copy", 4, 2, { 8 << 20, 0, 0, 0 }, 4096, "byte" },
		{ "copy", 4, 2, { 8 << 20, 0, 0, 0 }, 65536, "byte" },
		{ "copy", 4, 2, { 8 << 20, 0, 0, 0 }, 1 << 20, "byte" },
		{ "copy", 4, 2, { 8 << 20, 0, 0, 0 }, 8 << 20, "byte" },
		{ "copy", 4, 2, { 1, 0, 0, 0 }, 8 << 20, "byte" }, /* overlapping: memmove backwards */
		{ "init", 2, 0, { 0, 0 }, 64, "byte" },
		{ "grow", 2, 0, { 0, 0 }, 1, "page" },
	};
	uint8_t *b, *mt;
	size_t n = 0, mtlen;
	char err[WA_GATE_ERR_LEN];
	FILE *f = fopen(path, "rb");

	if (!f) {
		fprintf(stderr, "cannot open %s\n", path);
		return -1;
	}
	b = malloc(1 << 16);
	if (b) n = fread(b, 1, 1 << 16, f);
	fclose(f);
	if (!b || n == 0 || wa_gate_meter(b, n, &mt, &mtlen, NULL, err, sizeof err)) {
		fprintf(stderr, "%s: %s\n", path, b && n ? err : "cannot read");
		free(b);
		return -1;
	}
	printf("prices: 1 per %u bytes (memory.fill/copy/init), %u per page (memory.grow), %u per element "
	       "(table.copy/init)\n",
	       1u << WA_FUEL_BYTE_SHIFT, 1u << WA_FUEL_PAGE_SHIFT, 1u << WA_FUEL_ELEM_SHIFT);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int32_t a[4];
		bool grow = !strcmp(cases[i].name, "grow");
		/* Unmetered: enough runs for about 1 GiB of work (grow: 256 pages, 16 -> 32 MiB). */
		int64_t runs = grow ? 256 : ((int64_t)1 << 30) / cases[i].len, spent = 0;
		double plain, metered;
		if (runs > 2000000) runs = 2000000;
		if (runs < 20) runs = 20;
		memcpy(a, cases[i].args, sizeof a);
		a[cases[i].len_arg] = cases[i].len;
		a[cases[i].nargs - 1] = (int32_t)runs;
		plain = best_bulk(b, n, cases[i].name, cases[i].nargs, a, 0, &spent, 3);
		/* Metered: until the default budget runs out (grow: the 256 pages that succeed). */
		a[cases[i].nargs - 1] = grow ? 256 : 0;
		metered = best_bulk(mt, mtlen, cases[i].name, cases[i].nargs, a, grow ? INT64_MAX : WA_DEFAULT_FUEL,
		                    &spent, 3);
		if (plain < 0 || metered < 0 || spent <= 0) return -1;
		printf("%s %8d: %8.4f ns/%s unmetered; metered loop %.3f ns/fuel (%.2fx ordinary code)\n",
		       cases[i].name, cases[i].len, plain / (double)runs / (grow ? 1 : cases[i].len), cases[i].unit,
		       metered / (double)spent, metered / (double)spent / ordinary);
	}
	free(mt);
	free(b);
	return 0;
}

int main(int argc, char **argv)
{
	const char *bulk = NULL;
	int32_t n;
	const int32_t fibn = 25; /* 242785 calls */
	const double fib_calls = 242785.0;
	struct mb m = { 0 };
	char err[WA_GATE_ERR_LEN];
	uint8_t *mt;
	size_t mtlen;
	double sp, sm, fp, fm;

	if (argc > 2 && !strcmp(argv[1], "--bulk")) {
		bulk = argv[2];
		argc -= 2;
		argv += 2;
	}
	n = argc > 1 ? atoi(argv[1]) : 20000000;
	meter_test_module(&m);
	if (wa_gate_meter(m.b, m.n, &mt, &mtlen, NULL, err, sizeof err)) {
		fprintf(stderr, "metering: %s\n", err);
		return 1;
	}
	if (argc == 5 && !strcmp(argv[1], "--once")) {
		bool metered = !strcmp(argv[2], "metered");
		double t = best(metered ? mt : m.b, metered ? mtlen : m.n, argv[3], atoi(argv[4]), 1);
		free(mt);
		mb_free(&m);
		return t < 0;
	}
	if (n < 1) n = 1;
	sp = best(m.b, m.n, "spin", n, 5);
	sm = best(mt, mtlen, "spin", n, 5);
	fp = best(m.b, m.n, "fib", fibn, 5);
	fm = best(mt, mtlen, "fib", fibn, 5);
	if (sp < 0 || sm < 0 || fp < 0 || fm < 0) return 1;
	printf("loop iteration (spin, n=%d): plain %.2f ns, metered %.2f ns (+%.0f%%)\n", n, sp / n, sm / n,
	       (sm / sp - 1) * 100);
	printf("call (fib(%d), %.0f calls): plain %.2f ns, metered %.2f ns (+%.0f%%)\n", fibn, fib_calls,
	       fp / fib_calls, fm / fib_calls, (fm / fp - 1) * 100);
	/* Ordinary code's time per unit of fuel: spin pays 7 per iteration, fib what its calls'
	 * entries charge (fuel_of: one metered call each, with a budget to count from). */
	{
		int64_t spin_fuel = fuel_of(mt, mtlen, "spin", n), fib_fuel = fuel_of(mt, mtlen, "fib", fibn);
		double ordinary = sm / (double)spin_fuel;
		if (spin_fuel <= 0 || fib_fuel <= 0) return 1;
		printf("ordinary code per unit of fuel: spin %.3f ns, fib %.3f ns\n", ordinary, fm / (double)fib_fuel);
		if (bulk && bench_bulk(bulk, ordinary)) return 1;
	}
	free(mt);
	mb_free(&m);
	return 0;
}
