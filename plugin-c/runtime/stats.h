/* What the policy did, counted for the broker's $SYS metrics (broker/metrics.h): decisions by
 * hook, failures by kind, fuel and latency histograms, decision-cache use, reloads. Plain
 * integers: only the embedder's main thread writes them (requests, events, and builds once
 * their result is collected there), so the hot path pays an increment, never an atomic. */
#ifndef WASM_AUTH_STATS_H
#define WASM_AUTH_STATS_H

#include <stdint.h>

#include "abi.h"

/* Why a request or event got the failure decision (docs/SECURITY.md, "Failure decision"). */
enum wa_fail_kind {
	WA_FAIL_FUEL,        /* wasm_fuel ran out */
	WA_FAIL_TIMEOUT,     /* wasm_timeout_ms passed (the watchdog stopped the call) */
	WA_FAIL_MEMORY,      /* a trap with memory past half of wasm_max_memory_pages: out of memory */
	WA_FAIL_STACK,       /* stack overflow */
	WA_FAIL_TRAP,        /* any other trap, or a result that is not a decision or a valid pointer */
	WA_FAIL_REQUEST,     /* the request could not be handed over (a field or payload over its cap) */
	WA_FAIL_UNAVAILABLE, /* the instance was dropped and is being re-created */
	WA_FAIL_BUDGET,      /* refused by the breaker (wasm_client_share, wasm_cpu_share) */
	WA_FAIL_KINDS
};

/* Log2 histograms: bucket 0 counts 0, bucket k counts [2^(k-1), 2^k - 1], the last one everything
 * above. Fuel up to 2^47 (past the largest wasm_fuel any real policy needs), latency up to
 * 2^23 us (8 s, past wasm_timeout_ms's useful range). */
#define WA_STATS_FUEL_BUCKETS    48u
#define WA_STATS_LATENCY_BUCKETS 24u
/* One guest call in this many is sampled for both histograms: timing a sub-millisecond call
 * takes two clock reads, too dear for every acl_check (the watchdog's one-load clock counts whole
 * ticks only), and bucketing its fuel costs as much again as the counters together. */
#define WA_STATS_SAMPLE_EVERY 64u

/* acl_check's rows: indexed by mosquitto's access value masked to its four bits (READ 1, WRITE 2,
 * SUBSCRIBE 4, UNSUBSCRIBE 8; the others stay 0), the cheapest index on the hot path. */
#define WA_STATS_ACCESS_SLOTS 16u

struct wa_stats {
	/* Decisions the broker got (failure decisions included), by hook; acl_check by access. */
	uint64_t unpwd[3];                              /* [enum wa_decision] */
	uint64_t acl[WA_STATS_ACCESS_SLOTS][3];         /* [wa_stats_access_slot][enum wa_decision] */
	uint64_t acl_granted[WA_STATS_ACCESS_SLOTS][3]; /* more of them: those grants made on the plugin's
	                                                  * first path (published as acl's and grants' hits) */
	uint64_t psk[3];
	uint64_t events[2]; /* on_disconnect, on_tick calls */
	/* Failure decisions (and failed events), by hook and by kind. */
	uint64_t hook_failures[WA_HOOK_COUNT];
	uint64_t failures[WA_FAIL_KINDS];
	/* The decision cache (broker/acl_cache.h) and grants (grants.h). */
	uint64_t cache_hits, cache_misses, cache_bypass, grants_hits, grants_built;
	uint64_t reloads_ok, reloads_failed, rebuilds_ok, rebuilds_failed;
	/* The shadow policy (broker/shadow.h), copied from its own counters before each publication;
	 * has_shadow (fixed at load) says whether they are published at all. */
	int has_shadow;
	uint64_t shadow_compared, shadow_disagreed, shadow_failed, shadow_skipped, shadow_unavailable;
	/* One guest call in WA_STATS_SAMPLE_EVERY: its latency (us), and its fuel if it returned. */
	uint64_t fuel[WA_STATS_FUEL_BUCKETS];
	uint64_t latency_us[WA_STATS_LATENCY_BUCKETS];
};

/* The bucket of v in a log2 histogram of n buckets. */
static inline unsigned wa_stats_bucket(uint64_t v, unsigned n)
{
	unsigned b = v ? 64u - (unsigned)__builtin_clzll(v) : 0u;

	return b < n ? b : n - 1u;
}

/* The largest value bucket b holds (UINT64_MAX for the last of n). */
static inline uint64_t wa_stats_bucket_max(unsigned b, unsigned n)
{
	if (b + 1u >= n) return UINT64_MAX;
	return b ? (UINT64_C(1) << b) - 1u : 0u;
}

/* The row of an acl_check's access. */
static inline unsigned wa_stats_access_slot(int access)
{
	return (unsigned)access & (WA_STATS_ACCESS_SLOTS - 1u);
}

/* The kind of a failure from its one-line reason (policy.c's fail): oom is whether the limit
 * hint blamed memory, guest whether the guest ran (else the request never reached it). */
enum wa_fail_kind wa_stats_failure_kind(const char *why, int oom, int guest);

/* Counts one failure of hook. */
void wa_stats_failure(struct wa_stats *s, enum wa_hook hook, enum wa_fail_kind kind);

/* The smallest bucket bound at or below which pct percent of the histogram's counts fall
 * (0 for an empty one). */
uint64_t wa_stats_percentile(const uint64_t *h, unsigned n, unsigned pct);

#endif
