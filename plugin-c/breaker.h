/* The policy's share of broker time, per client and in total. Per-call limits do not bound what
 * one packet costs (a publish fanned out to many subscribers, a subscription matching many
 * retained messages), so every request's cost (the fuel its hook call used; a call that ran out
 * or was stopped at its deadline pays its whole budget) is charged to two token buckets: the
 * client that caused it, and the policy as a whole. A request whose client or the policy has
 * spent its bucket gets the failure decision without entering the guest until the bucket
 * refills; then one client's packets cannot stall the broker for more than its burst, nor get
 * every other client refused unless the policy as a whole runs over its share.
 *
 * Buckets refill at a constant rate, up to their burst, from the watchdog's clock (watchdog.h:
 * one load, lagging while the watchdog idles); a bucket found empty is refilled from the exact
 * clock before a request is refused. Clients map to WA_BREAKER_SLOTS buckets by address: two
 * clients in one slot share a budget (about one pair in WA_BREAKER_SLOTS). The hot paths are
 * inline here: every request that enters the guest passes both. */
#ifndef WASM_AUTH_BREAKER_H
#define WASM_AUTH_BREAKER_H

#include <stdint.h>

#include "watchdog.h"

#define WA_BREAKER_SLOTS 4096u /* a power of two */

struct wa_bucket {
	int64_t level;   /* fuel left; below 0 after an expensive request, until it refills */
	uint64_t at_ms;  /* clock at the last refill */
};

struct wa_rate {
	int64_t per_s, burst;
};

struct wa_breaker {
	struct wa_rate client, all;
	struct wa_bucket total;
	struct wa_bucket clients[WA_BREAKER_SLOTS];
};

enum wa_breaker_verdict {
	WA_BREAKER_PASS,
	WA_BREAKER_CLIENT, /* this client is over its budget */
	WA_BREAKER_TOTAL   /* the policy is over its share */
};

/* Fuel per second and at most at once: one client's requests, and all of them. */
struct wa_breaker *wa_breaker_new(int64_t client_rate, int64_t client_burst, int64_t total_rate, int64_t total_burst);
void wa_breaker_free(struct wa_breaker *b);

/* The bucket of client. */
static inline struct wa_bucket *wa_breaker_slot(struct wa_breaker *b, const void *client)
{
	uintptr_t h = (uintptr_t)client * (uintptr_t)0x9e3779b97f4a7c15ull;

	return &b->clients[(h >> 40) & (WA_BREAKER_SLOTS - 1u)];
}

/* The slow path of wa_breaker_admit: an empty bucket, refilled from the exact clock. */
enum wa_breaker_verdict wa_breaker_recheck(struct wa_breaker *b, struct wa_bucket *k);

/* Whether a request charged to bucket k may enter the guest now. */
static inline enum wa_breaker_verdict wa_breaker_admit(struct wa_breaker *b, struct wa_bucket *k)
{
	if (k->level > 0 && b->total.level > 0) return WA_BREAKER_PASS;
	return wa_breaker_recheck(b, k);
}

/* Tops the bucket up for the time since its last refill, up to the burst. */
void wa_breaker_refill(struct wa_bucket *k, const struct wa_rate *r, uint64_t now);

/* Charges what a request cost to bucket k and to the total. */
static inline void wa_breaker_charge(struct wa_breaker *b, struct wa_bucket *k, int64_t fuel)
{
	uint64_t now = wa_watchdog_now_ms();

	if (now > k->at_ms) wa_breaker_refill(k, &b->client, now);
	if (now > b->total.at_ms) wa_breaker_refill(&b->total, &b->all, now);
	k->level -= fuel;
	b->total.level -= fuel;
}

#endif
