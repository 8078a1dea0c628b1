/* The policy's share of broker time, per client and in total. Per-call limits do not bound what
 * one packet costs (a publish fanned out to many subscribers, a subscription matching many
 * retained messages), so guest time is charged to two token buckets: the client that caused the
 * request, and the policy as a whole. A request whose client, or the policy, has spent its bucket
 * gets the failure decision without entering the guest until the bucket refills: one client's
 * packets cannot hold the broker for much more than its burst, nor get every other client
 * refused unless the policy as a whole runs over its share.
 *
 * Time is measured by sampling, not by the caller: the request in the guest names its bucket
 * (wa_breaker_enter), and on every tick the watchdog thread (watchdog.h) charges the ticks'
 * elapsed time to the bucket named then (and to the total). A call shorter than a tick is charged
 * a whole tick with the probability that a tick falls inside it, so charges are right on average
 * and exact to a tick for long calls; the request path pays two stores and a test. Buckets refill
 * at a constant rate up to their burst when found empty. Clients map to WA_BREAKER_SLOTS buckets
 * by address: two clients in one slot share a budget (about one pair in WA_BREAKER_SLOTS). */
#ifndef WASM_AUTH_BREAKER_H
#define WASM_AUTH_BREAKER_H

#include <stdatomic.h>
#include <stdint.h>

#define WA_BREAKER_SLOTS 4096u /* a power of two */

struct wa_bucket {
	_Atomic int64_t level_us; /* guest time left; the watchdog thread takes from it */
	uint64_t at_ms;           /* when it was last refilled (request thread only) */
};

struct wa_rate {
	int64_t us_per_s, burst_us;
};

struct wa_breaker {
	_Atomic(struct wa_bucket *) current; /* the bucket of the request in the guest, or NULL */
	struct wa_rate client, all;
	struct wa_bucket total;
	struct wa_bucket clients[WA_BREAKER_SLOTS];
};

enum wa_breaker_verdict {
	WA_BREAKER_PASS,
	WA_BREAKER_CLIENT, /* this client is over its budget */
	WA_BREAKER_TOTAL   /* the policy is over its share */
};

/* Shares in percent of wall-clock time, bursts in ms. Starts sampling. NULL when out of memory. */
struct wa_breaker *wa_breaker_new(unsigned client_pct, uint32_t client_burst_ms, unsigned total_pct,
                                  uint32_t total_burst_ms);
void wa_breaker_free(struct wa_breaker *b);

/* The bucket of client. */
static inline struct wa_bucket *wa_breaker_slot(struct wa_breaker *b, const void *client)
{
	uintptr_t h = (uintptr_t)client * (uintptr_t)0x9e3779b97f4a7c15ull;

	return &b->clients[(h >> 40) & (WA_BREAKER_SLOTS - 1u)];
}

/* The slow path of wa_breaker_admit: refills the empty bucket(s) for the time since. */
enum wa_breaker_verdict wa_breaker_recheck(struct wa_breaker *b, struct wa_bucket *k);

/* Whether a request paid from bucket k may enter the guest now. */
static inline enum wa_breaker_verdict wa_breaker_admit(struct wa_breaker *b, struct wa_bucket *k)
{
	if (atomic_load_explicit(&k->level_us, memory_order_relaxed) > 0 &&
	    atomic_load_explicit(&b->total.level_us, memory_order_relaxed) > 0) {
		return WA_BREAKER_PASS;
	}
	return wa_breaker_recheck(b, k);
}

/* Guest time from now on is k's, until wa_breaker_leave. */
static inline void wa_breaker_enter(struct wa_breaker *b, struct wa_bucket *k)
{
	atomic_store_explicit(&b->current, k, memory_order_relaxed);
}

static inline void wa_breaker_leave(struct wa_breaker *b)
{
	atomic_store_explicit(&b->current, NULL, memory_order_relaxed);
}

#endif
