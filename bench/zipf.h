/* The workloads' topic choice (docs/BENCHMARKS.md, "Workloads"): topic k of n with probability
 * proportional to 1/(k+1)^s, from a fixed-seed xorshift64* generator, so that every run and every
 * configuration sees the same sequence. Shared by the broker load (workload.c) and the in-process
 * harness (inproc.c). */
#ifndef BENCH_ZIPF_H
#define BENCH_ZIPF_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

struct zipf {
	uint64_t rng;
	double *cdf;
	unsigned n;
};

/* 0, or -1 when memory is short. */
static inline int zipf_init(struct zipf *z, unsigned n, double s)
{
	double sum = 0;

	z->rng = 0x9e3779b97f4a7c15u;
	z->n = n;
	z->cdf = malloc((size_t)n * sizeof *z->cdf);
	if (z->cdf == NULL) return -1;
	for (unsigned k = 0; k < n; k++) z->cdf[k] = (sum += pow(k + 1, -s));
	for (unsigned k = 0; k < n; k++) z->cdf[k] /= sum;
	z->cdf[n - 1] = 1.0;
	return 0;
}

static inline unsigned zipf_pick(struct zipf *z)
{
	double x;
	unsigned lo = 0, hi = z->n - 1;

	z->rng ^= z->rng >> 12;
	z->rng ^= z->rng << 25;
	z->rng ^= z->rng >> 27;
	x = (double)((z->rng * 0x2545f4914f6cdd1du) >> 11) / 9007199254740992.0;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		if (z->cdf[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

#endif
