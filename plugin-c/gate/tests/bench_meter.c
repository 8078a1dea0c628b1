/* Cost of metering in wasm3: ns per loop iteration of spin(n) and per call of fib(n), plain
 * and metered. Prints one line per measurement (best of several runs: the minimum is the
 * least disturbed by other load on the machine).
 *   bench_meter [iterations]                        (default 20000000)
 *   bench_meter --once plain|metered spin|fib ARG   one call, for instruction counting under
 *                                                  valgrind --tool=callgrind (load-independent) */
#define _POSIX_C_SOURCE 199309L /* clock_gettime */
#include <stdbool.h>
#include <stdio.h>
#include <time.h>
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

	if(r){
		fprintf(stderr, "load: %s\n", r);
		return -1;
	}
	for(int i = 0; i < runs; i++){
		double t0, t;
		if(w.fuel) w3_set_fuel(&w, INT64_MAX);
		t0 = now_ns();
		r = w3_call(&w, name, 1, arg, NULL);
		t = now_ns() - t0;
		if(r){
			fprintf(stderr, "%s: %s\n", name, r);
			w3_free(&w);
			return -1;
		}
		if(min < 0 || t < min) min = t;
	}
	w3_free(&w);
	return min;
}

int main(int argc, char **argv)
{
	int32_t n = argc > 1 ? atoi(argv[1]) : 20000000;
	const int32_t fibn = 25; /* 242785 calls */
	const double fib_calls = 242785.0;
	struct mb m = { 0 };
	char err[WA_GATE_ERR_LEN];
	uint8_t *mt;
	size_t mtlen;
	double sp, sm, fp, fm;

	meter_test_module(&m);
	if(wa_gate_meter(m.b, m.n, &mt, &mtlen, NULL, err, sizeof err)){
		fprintf(stderr, "metering: %s\n", err);
		return 1;
	}
	if(argc == 5 && !strcmp(argv[1], "--once")){
		bool metered = !strcmp(argv[2], "metered");
		double t = best(metered ? mt : m.b, metered ? mtlen : m.n, argv[3], atoi(argv[4]), 1);
		free(mt);
		mb_free(&m);
		return t < 0;
	}
	if(n < 1) n = 1;
	sp = best(m.b, m.n, "spin", n, 5);
	sm = best(mt, mtlen, "spin", n, 5);
	fp = best(m.b, m.n, "fib", fibn, 5);
	fm = best(mt, mtlen, "fib", fibn, 5);
	if(sp < 0 || sm < 0 || fp < 0 || fm < 0) return 1;
	printf("loop iteration (spin, n=%d): plain %.2f ns, metered %.2f ns (+%.0f%%)\n",
	       n, sp / n, sm / n, (sm / sp - 1) * 100);
	printf("call (fib(%d), %.0f calls): plain %.2f ns, metered %.2f ns (+%.0f%%)\n",
	       fibn, fib_calls, fp / fib_calls, fm / fib_calls, (fm / fp - 1) * 100);
	free(mt);
	mb_free(&m);
	return 0;
}
