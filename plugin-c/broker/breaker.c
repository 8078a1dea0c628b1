#include <stdlib.h>

#include "breaker.h"
#include "../runtime/watchdog.h"

/* On the watchdog thread, every tick. */
static void sample(void *arg, uint64_t elapsed_ms)
{
	struct wa_breaker *b = arg;
	struct wa_bucket *k = atomic_load_explicit(&b->current, memory_order_relaxed);
	int64_t us = (int64_t)elapsed_ms * 1000;

	if (!k) return;
	atomic_fetch_sub_explicit(&k->level_us, us, memory_order_relaxed);
	atomic_fetch_sub_explicit(&b->total.level_us, us, memory_order_relaxed);
}

/* Tops the bucket up for the time since its last refill, up to the burst. Request thread. */
static void refill(struct wa_bucket *k, const struct wa_rate *r, uint64_t now)
{
	int64_t level, add;

	if (now <= k->at_ms) return;
	add = (int64_t)((double)r->us_per_s * (double)(now - k->at_ms) / 1000.0);
	k->at_ms = now;
	level = atomic_load_explicit(&k->level_us, memory_order_relaxed);
	/* The watchdog may take from it meanwhile: what it took is kept. */
	while (!atomic_compare_exchange_weak_explicit(&k->level_us, &level,
	                                              add >= r->burst_us - level ? r->burst_us : level + add,
	                                              memory_order_relaxed, memory_order_relaxed)) {
	}
}

static void fill(struct wa_bucket *k, int64_t level, uint64_t now)
{
	atomic_init(&k->level_us, level);
	k->at_ms = now;
}

struct wa_breaker *wa_breaker_new(unsigned client_pct, uint32_t client_burst_ms, unsigned total_pct,
                                  uint32_t total_burst_ms)
{
	struct wa_breaker *b = malloc(sizeof *b);
	uint64_t now = wa_watchdog_exact_ms();

	if (!b) return NULL;
	atomic_init(&b->current, NULL);
	b->client = (struct wa_rate){ (int64_t)client_pct * 10000, (int64_t)client_burst_ms * 1000 };
	b->all = (struct wa_rate){ (int64_t)total_pct * 10000, (int64_t)total_burst_ms * 1000 };
	fill(&b->total, b->all.burst_us, now);
	for (unsigned i = 0; i < WA_BREAKER_SLOTS; i++) fill(&b->clients[i], b->client.burst_us, now);
	if (wa_watchdog_sampler(sample, b) != 0) {
		free(b);
		return NULL;
	}
	return b;
}

void wa_breaker_free(struct wa_breaker *b)
{
	if (!b) return;
	wa_watchdog_sampler(NULL, b); /* no sample runs after this */
	free(b);
}

enum wa_breaker_verdict wa_breaker_recheck(struct wa_breaker *b, struct wa_bucket *k)
{
	uint64_t now = wa_watchdog_exact_ms();

	refill(k, &b->client, now);
	if (atomic_load_explicit(&k->level_us, memory_order_relaxed) <= 0) return WA_BREAKER_CLIENT;
	refill(&b->total, &b->all, now);
	if (atomic_load_explicit(&b->total.level_us, memory_order_relaxed) <= 0) return WA_BREAKER_TOTAL;
	return WA_BREAKER_PASS;
}
