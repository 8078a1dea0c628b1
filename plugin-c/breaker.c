#include <stdlib.h>

#include "breaker.h"
#include "watchdog.h"

struct bucket {
	int64_t level;   /* fuel left; below 0 after an expensive request, until it refills */
	uint64_t at_ms;  /* watchdog clock at the last refill */
};

struct rate {
	int64_t per_s, burst;
};

struct wa_breaker {
	struct rate client, all;
	struct bucket total;
	struct bucket clients[WA_BREAKER_SLOTS];
};

static struct bucket *slot(struct wa_breaker *b, const void *client)
{
	uintptr_t h = (uintptr_t)client;

	h ^= h >> 17;
	h *= (uintptr_t)0x9e3779b97f4a7c15ull;
	return &b->clients[(h >> 20) & (WA_BREAKER_SLOTS - 1u)];
}

/* Tops the bucket up for the time since its last refill, up to the burst. */
static void refill(struct bucket *k, const struct rate *r, uint64_t now)
{
	uint64_t dt = now - k->at_ms;
	double add;

	if (dt == 0) return;
	k->at_ms = now;
	add = (double)r->per_s * (double)dt / 1000.0;
	k->level = add >= (double)(r->burst - k->level) ? r->burst : k->level + (int64_t)add;
}

struct wa_breaker *wa_breaker_new(int64_t client_rate, int64_t client_burst, int64_t total_rate, int64_t total_burst)
{
	struct wa_breaker *b = malloc(sizeof *b);
	uint64_t now = wa_watchdog_now_ms();

	if (!b) return NULL;
	b->client = (struct rate){ client_rate, client_burst };
	b->all = (struct rate){ total_rate, total_burst };
	b->total = (struct bucket){ total_burst, now };
	for (unsigned i = 0; i < WA_BREAKER_SLOTS; i++) b->clients[i] = (struct bucket){ client_burst, now };
	return b;
}

void wa_breaker_free(struct wa_breaker *b)
{
	free(b);
}

enum wa_breaker_verdict wa_breaker_admit(struct wa_breaker *b, const void *client)
{
	uint64_t now = wa_watchdog_now_ms();
	struct bucket *k = slot(b, client);

	if (k->level <= 0) {
		refill(k, &b->client, now);
		if (k->level <= 0) return WA_BREAKER_CLIENT;
	}
	if (b->total.level <= 0) {
		refill(&b->total, &b->all, now);
		if (b->total.level <= 0) return WA_BREAKER_TOTAL;
	}
	return WA_BREAKER_PASS;
}

void wa_breaker_charge(struct wa_breaker *b, const void *client, int64_t fuel)
{
	uint64_t now = wa_watchdog_now_ms();
	struct bucket *k = slot(b, client);

	refill(k, &b->client, now);
	refill(&b->total, &b->all, now);
	k->level -= fuel;
	b->total.level -= fuel;
}
