#include <stdlib.h>

#include "breaker.h"

void wa_breaker_refill(struct wa_bucket *k, const struct wa_rate *r, uint64_t now)
{
	double add;

	if (now <= k->at_ms) return;
	add = (double)r->per_s * (double)(now - k->at_ms) / 1000.0;
	k->at_ms = now;
	k->level = add >= (double)(r->burst - k->level) ? r->burst : k->level + (int64_t)add;
}

struct wa_breaker *wa_breaker_new(int64_t client_rate, int64_t client_burst, int64_t total_rate, int64_t total_burst)
{
	struct wa_breaker *b = malloc(sizeof *b);
	uint64_t now = wa_watchdog_exact_ms();

	if (!b) return NULL;
	b->client = (struct wa_rate){ client_rate, client_burst };
	b->all = (struct wa_rate){ total_rate, total_burst };
	b->total = (struct wa_bucket){ total_burst, now };
	for (unsigned i = 0; i < WA_BREAKER_SLOTS; i++) b->clients[i] = (struct wa_bucket){ client_burst, now };
	return b;
}

void wa_breaker_free(struct wa_breaker *b)
{
	free(b);
}

enum wa_breaker_verdict wa_breaker_recheck(struct wa_breaker *b, struct wa_bucket *k)
{
	uint64_t now = wa_watchdog_exact_ms();

	wa_breaker_refill(k, &b->client, now);
	if (k->level <= 0) return WA_BREAKER_CLIENT;
	wa_breaker_refill(&b->total, &b->all, now);
	if (b->total.level <= 0) return WA_BREAKER_TOTAL;
	return WA_BREAKER_PASS;
}
