#include <string.h>

#include "stats.h"

enum wa_fail_kind wa_stats_failure_kind(const char *why, int oom, int guest)
{
	static const char unavailable[] = "the policy instance is unavailable";

	if (strcmp(why, "fuel exhausted") == 0) return WA_FAIL_FUEL;
	if (strncmp(why, "timeout", 7) == 0) return WA_FAIL_TIMEOUT;
	if (strcmp(why, "stack overflow") == 0) return WA_FAIL_STACK;
	if (strncmp(why, unavailable, sizeof unavailable - 1) == 0) return WA_FAIL_UNAVAILABLE;
	if (oom) return WA_FAIL_MEMORY;
	return guest ? WA_FAIL_TRAP : WA_FAIL_REQUEST;
}

void wa_stats_failure(struct wa_stats *s, enum wa_hook hook, enum wa_fail_kind kind)
{
	if ((unsigned)hook < WA_HOOK_COUNT) s->hook_failures[hook]++;
	if ((unsigned)kind < WA_FAIL_KINDS) s->failures[kind]++;
}

uint64_t wa_stats_percentile(const uint64_t *h, unsigned n, unsigned pct)
{
	uint64_t total = 0, seen = 0, want;

	for (unsigned b = 0; b < n; b++) total += h[b];
	if (!total) return 0;
	if (pct > 100u) pct = 100u;
	/* The rank of the pct-th percentile, rounded up, at least the first count. */
	want = total / 100u * pct + (total % 100u * pct + 99u) / 100u;
	if (!want) want = 1;
	for (unsigned b = 0; b < n; b++) {
		seen += h[b];
		if (seen >= want) return wa_stats_bucket_max(b, n);
	}
	return wa_stats_bucket_max(n - 1u, n);
}
