/* The $SYS metrics (broker/metrics.h, runtime/stats.h): histogram buckets and percentiles,
 * failure kinds, the topic names and values, and the publisher's rules (all values the first
 * time, then only the changed ones, empty histogram buckets never, nothing before the interval
 * or when it is 0). The real broker's side is tests/integration/metrics.test.ts. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "../broker/metrics.h"

#define MAX_SEEN 256

struct seen {
	unsigned n;
	char topic[MAX_SEEN][WA_METRICS_TOPIC_BYTES];
	char payload[MAX_SEEN][WA_METRICS_VALUE_BYTES];
};

static void record(const char *topic, const char *payload, void *ud)
{
	struct seen *s = ud;

	if (s->n >= MAX_SEEN) return;
	snprintf(s->topic[s->n], sizeof s->topic[0], "%s", topic);
	snprintf(s->payload[s->n], sizeof s->payload[0], "%s", payload);
	s->n++;
}

/* The payload published to PREFIX + name, or NULL. */
static const char *value_of(const struct seen *s, const char *name)
{
	char topic[WA_METRICS_TOPIC_BYTES];

	snprintf(topic, sizeof topic, "%s%s", WA_METRICS_PREFIX, name);
	for (unsigned i = s->n; i-- > 0;) {
		if (strcmp(s->topic[i], topic) == 0) return s->payload[i];
	}
	return NULL;
}

static void buckets(void)
{
	CHECK_INT(wa_stats_bucket(0, 48), 0);
	CHECK_INT(wa_stats_bucket(1, 48), 1);
	CHECK_INT(wa_stats_bucket(2, 48), 2);
	CHECK_INT(wa_stats_bucket(3, 48), 2);
	CHECK_INT(wa_stats_bucket(4, 48), 3);
	CHECK_INT(wa_stats_bucket(1023, 48), 10);
	CHECK_INT(wa_stats_bucket(1024, 48), 11);
	CHECK_INT(wa_stats_bucket(UINT64_MAX, 48), 47); /* the last bucket takes everything above */
	CHECK_INT(wa_stats_bucket_max(0, 48), 0);
	CHECK_INT(wa_stats_bucket_max(1, 48), 1);
	CHECK_INT(wa_stats_bucket_max(10, 48), 1023);
	CHECK(wa_stats_bucket_max(47, 48) == UINT64_MAX);
	/* Every value falls at or below its bucket's bound and above the previous one's. */
	for (uint64_t v = 1; v < 5000; v = v * 3 + 1) {
		unsigned b = wa_stats_bucket(v, 48);
		CHECK(v <= wa_stats_bucket_max(b, 48) && v > wa_stats_bucket_max(b - 1, 48));
	}
}

static void access_slots(void)
{
	/* Any int stays inside the table. */
	CHECK_INT(wa_stats_access_slot(8), 8); /* MOSQ_ACL_UNSUBSCRIBE */
	CHECK(wa_stats_access_slot(-1) < WA_STATS_ACCESS_SLOTS);
	CHECK(wa_stats_access_slot(1 << 20) < WA_STATS_ACCESS_SLOTS);
}

static void percentiles(void)
{
	uint64_t h[8] = { 0 };

	CHECK_INT(wa_stats_percentile(h, 8, 50), 0); /* empty */
	h[3] = 99;                                   /* 4..7 */
	h[6] = 1;                                    /* 32..63 */
	CHECK_INT(wa_stats_percentile(h, 8, 50), 7);
	CHECK_INT(wa_stats_percentile(h, 8, 99), 7);
	CHECK_INT(wa_stats_percentile(h, 8, 100), 63);
	h[6] = 2; /* 99 of 101 below 8: p99 is the 100th value, in 32..63 */
	CHECK_INT(wa_stats_percentile(h, 8, 99), 63);
	CHECK_INT(wa_stats_percentile(h, 8, 1), 7);
}

static void failure_kinds(void)
{
	CHECK_INT(wa_stats_failure_kind("fuel exhausted", 0, 1), WA_FAIL_FUEL);
	CHECK_INT(wa_stats_failure_kind("timeout: ran longer than 50 ms", 0, 1), WA_FAIL_TIMEOUT);
	CHECK_INT(wa_stats_failure_kind("stack overflow", 0, 1), WA_FAIL_STACK);
	CHECK_INT(wa_stats_failure_kind("unreachable executed", 1, 1), WA_FAIL_MEMORY);
	CHECK_INT(wa_stats_failure_kind("unreachable executed", 0, 1), WA_FAIL_TRAP);
	CHECK_INT(wa_stats_failure_kind("returned 7, not a decision (0 deny, 1 allow, 2 defer)", 0, 1), WA_FAIL_TRAP);
	CHECK_INT(wa_stats_failure_kind("a field is longer than 65535 bytes", 0, 0), WA_FAIL_REQUEST);
	CHECK_INT(wa_stats_failure_kind("the policy instance is unavailable until it is re-created", 0, 0),
	          WA_FAIL_UNAVAILABLE);
	{
		struct wa_stats s = { 0 };
		wa_stats_failure(&s, WA_HOOK_ACL_CHECK, WA_FAIL_FUEL);
		wa_stats_failure(&s, WA_HOOK_ACL_CHECK, WA_FAIL_BUDGET);
		wa_stats_failure(&s, WA_HOOK_COUNT, WA_FAIL_KINDS); /* out of range: ignored */
		CHECK_INT(s.hook_failures[WA_HOOK_ACL_CHECK], 2);
		CHECK_INT(s.failures[WA_FAIL_FUEL], 1);
		CHECK_INT(s.failures[WA_FAIL_BUDGET], 1);
	}
}

/* Every topic name is unique, fits, uses only topic-safe characters, and the list fits the cap. */
static void names(void)
{
	static struct wa_metric all[WA_METRICS_MAX_TOPICS + 1];
	struct wa_stats s = { 0 };
	unsigned n = wa_metrics_collect(&s, all, WA_METRICS_MAX_TOPICS + 1);

	CHECK(n > 0 && n <= WA_METRICS_MAX_TOPICS);
	for (unsigned i = 0; i < n; i++) {
		CHECK(strlen(all[i].name) + sizeof WA_METRICS_PREFIX <= WA_METRICS_TOPIC_BYTES);
		CHECK(strpbrk(all[i].name, "+#") == NULL && all[i].name[0] != '/');
		for (unsigned j = 0; j < i; j++) {
			if (strcmp(all[i].name, all[j].name) == 0) CHECK_STR(all[i].name, "(a duplicate)");
		}
	}
	/* A short list is cut, not overrun. */
	CHECK_INT(wa_metrics_collect(&s, all, 3), 3);
	/* A shadow's counters only with a shadow (has_shadow is fixed at load: each index keeps its topic). */
	s.has_shadow = 1;
	s.shadow_disagreed = 7;
	CHECK_INT(wa_metrics_collect(&s, all, WA_METRICS_MAX_TOPICS + 1), n + 5);
	CHECK(n + 5 <= WA_METRICS_MAX_TOPICS);
	{
		unsigned k = 0;
		while (k < n + 5 && strcmp(all[k].name, "shadow/disagreed") != 0) k++;
		if (CHECK(k < n + 5)) CHECK_INT(all[k].value, 7);
	}
}

static void publishing(void)
{
	static struct seen seen;
	struct wa_metrics m;
	struct wa_stats s = { 0 };
	unsigned first;

	wa_metrics_init(&m, 10, "/etc/mosquitto/policy.wasm");
	/* Due at the first tick: every value (0 included), no empty bucket, the module's base name. */
	first = wa_metrics_tick(&m, &s, 1000, record, &seen);
	CHECK_INT(first, seen.n);
	CHECK_STR(value_of(&seen, "policy/module"), "policy.wasm");
	CHECK_STR(value_of(&seen, "checks/acl/write/allow"), "0");
	CHECK_STR(value_of(&seen, "checks/basic_auth/failure"), "0");
	CHECK_STR(value_of(&seen, "failures/fuel"), "0");
	CHECK_STR(value_of(&seen, "reloads/ok"), "0");
	CHECK_STR(value_of(&seen, "fuel/p50"), "0");
	CHECK_STR(value_of(&seen, "samples"), "0");
	CHECK(value_of(&seen, "fuel/le/1023") == NULL);
	/* Not due again before the interval. */
	s.acl[wa_stats_access_slot(2)][WA_ALLOW] = 3; /* MOSQ_ACL_WRITE */
	CHECK_INT(wa_metrics_tick(&m, &s, 10999, record, &seen), 0);
	/* Then only what changed. */
	s.acl[wa_stats_access_slot(2)][WA_DENY] = 1;
	s.failures[WA_FAIL_TIMEOUT] = 2;
	s.hook_failures[WA_HOOK_ACL_CHECK] = 2;
	s.fuel[wa_stats_bucket(700, WA_STATS_FUEL_BUCKETS)] = 5;
	s.reloads_ok = 1;
	seen.n = 0;
	CHECK_INT(wa_metrics_tick(&m, &s, 11000, record, &seen), 9);
	CHECK_STR(value_of(&seen, "checks/acl/write/allow"), "3");
	CHECK_STR(value_of(&seen, "checks/acl/write/deny"), "1");
	CHECK_STR(value_of(&seen, "checks/acl/failure"), "2");
	CHECK_STR(value_of(&seen, "failures/timeout"), "2");
	CHECK_STR(value_of(&seen, "failures/total"), "2");
	CHECK_STR(value_of(&seen, "reloads/ok"), "1");
	CHECK_STR(value_of(&seen, "fuel/le/1023"), "5");
	CHECK_STR(value_of(&seen, "fuel/p50"), "1023");
	CHECK_STR(value_of(&seen, "fuel/p99"), "1023");
	CHECK(value_of(&seen, "policy/module") == NULL); /* once */
	CHECK(value_of(&seen, "checks/acl/read/allow") == NULL);
	/* Nothing changed: nothing published. A bucket once published follows its value. */
	seen.n = 0;
	CHECK_INT(wa_metrics_tick(&m, &s, 21000, record, &seen), 0);
	s.fuel[wa_stats_bucket(700, WA_STATS_FUEL_BUCKETS)] = 6;
	CHECK_INT(wa_metrics_tick(&m, &s, 31000, record, &seen), 1);
	CHECK_STR(value_of(&seen, "fuel/le/1023"), "6");
	/* The largest counter prints in full. */
	s.cache_hits = UINT64_MAX;
	seen.n = 0;
	CHECK_INT(wa_metrics_tick(&m, &s, 41000, record, &seen), 1);
	CHECK_STR(value_of(&seen, "cache/hits"), "18446744073709551615");
}

static void disabled(void)
{
	static struct seen seen;
	struct wa_metrics m;
	struct wa_stats s = { 0 };

	wa_metrics_init(&m, 0, "policy.wasm");
	s.unpwd[WA_ALLOW] = 1;
	CHECK_INT(wa_metrics_tick(&m, &s, 0, record, &seen), 0);
	CHECK_INT(wa_metrics_tick(&m, &s, UINT64_MAX, record, &seen), 0);
	CHECK_INT(seen.n, 0);
	/* A module path without a directory is its own base name. */
	wa_metrics_init(&m, 1, "policy.wasm");
	CHECK_STR(m.module, "policy.wasm");
}

int main(void)
{
	buckets();
	access_slots();
	percentiles();
	failure_kinds();
	names();
	publishing();
	disabled();
	return check_done();
}
