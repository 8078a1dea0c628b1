#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "metrics.h"

static const char *const decisions[3] = { "deny", "allow", "defer" }; /* [enum wa_decision] */
static const struct {
	unsigned slot; /* wa_stats_access_slot of mosquitto's MOSQ_ACL_* value */
	const char *name;
} accesses[4] = { { 1, "read" }, { 2, "write" }, { 4, "subscribe" }, { 8, "unsubscribe" } };
static const char *const fail_kinds[WA_FAIL_KINDS] = {
	[WA_FAIL_FUEL] = "fuel",
	[WA_FAIL_TIMEOUT] = "timeout",
	[WA_FAIL_MEMORY] = "memory",
	[WA_FAIL_STACK] = "stack",
	[WA_FAIL_TRAP] = "trap",
	[WA_FAIL_REQUEST] = "request",
	[WA_FAIL_UNAVAILABLE] = "unavailable",
	[WA_FAIL_BUDGET] = "budget",
};

struct list {
	struct wa_metric *out;
	unsigned n, cap;
};

static void add(struct list *l, uint64_t v, int sparse, const char *fmt, const char *a, const char *b)
{
	struct wa_metric *e;

	if (l->n >= l->cap) return;
	e = &l->out[l->n++];
	snprintf(e->name, sizeof e->name, fmt, a, b);
	e->value = v;
	e->sparse = sparse;
}

/* A request hook's decisions and failure decisions. */
static void add_hook(struct list *l, const char *hook, const uint64_t d[3], uint64_t failures)
{
	for (unsigned i = 0; i < 3; i++) add(l, d[i], 0, "checks/%s/%s", hook, decisions[i]);
	add(l, failures, 0, "checks/%s/%s", hook, "failure");
}

/* p50, p99 and one topic per bucket, named by the largest value it holds. */
static void add_histogram(struct list *l, const char *name, const uint64_t *h, unsigned n)
{
	char bound[24];

	add(l, wa_stats_percentile(h, n, 50), 0, "%s/%s", name, "p50");
	add(l, wa_stats_percentile(h, n, 99), 0, "%s/%s", name, "p99");
	for (unsigned b = 0; b < n; b++) {
		uint64_t max = wa_stats_bucket_max(b, n);
		if (max == UINT64_MAX)
			snprintf(bound, sizeof bound, "inf");
		else
			snprintf(bound, sizeof bound, "%" PRIu64, max);
		add(l, h[b], 1, "%s/le/%s", name, bound);
	}
}

unsigned wa_metrics_collect(const struct wa_stats *s, struct wa_metric *out, unsigned cap)
{
	struct list l = { out, 0, cap };
	uint64_t total = 0, samples = 0, granted = s->grants_hits;

	add_hook(&l, "basic_auth", s->unpwd, s->hook_failures[WA_HOOK_UNPWD_CHECK]);
	for (unsigned a = 0; a < 4; a++) {
		for (unsigned d = 0; d < 3; d++) {
			uint64_t by_grants = s->acl_granted[accesses[a].slot][d];
			granted += by_grants;
			add(&l, s->acl[accesses[a].slot][d] + by_grants, 0, "checks/acl/%s/%s", accesses[a].name,
			    decisions[d]);
		}
	}
	add(&l, s->hook_failures[WA_HOOK_ACL_CHECK], 0, "checks/acl/%s%s", "failure", "");
	add_hook(&l, "psk", s->psk, s->hook_failures[WA_HOOK_PSK_KEY_GET]);
	add(&l, s->events[0], 0, "events/%s/%s", "disconnect", "calls");
	add(&l, s->hook_failures[WA_HOOK_ON_DISCONNECT], 0, "events/%s/%s", "disconnect", "failures");
	add(&l, s->events[1], 0, "events/%s/%s", "tick", "calls");
	add(&l, s->hook_failures[WA_HOOK_ON_TICK], 0, "events/%s/%s", "tick", "failures");
	for (unsigned k = 0; k < WA_FAIL_KINDS; k++) {
		total += s->failures[k];
		add(&l, s->failures[k], 0, "failures/%s%s", fail_kinds[k], "");
	}
	add(&l, total, 0, "failures/%s%s", "total", "");
	add(&l, s->cache_hits, 0, "cache/%s%s", "hits", "");
	add(&l, s->cache_misses, 0, "cache/%s%s", "misses", "");
	add(&l, s->cache_bypass, 0, "cache/%s%s", "bypass", "");
	add(&l, granted, 0, "grants/%s%s", "hits", "");
	add(&l, s->grants_built, 0, "grants/%s%s", "built", "");
	add(&l, s->reloads_ok, 0, "reloads/%s%s", "ok", "");
	add(&l, s->reloads_failed, 0, "reloads/%s%s", "failed", "");
	add(&l, s->rebuilds_ok, 0, "rebuilds/%s%s", "ok", "");
	add(&l, s->rebuilds_failed, 0, "rebuilds/%s%s", "failed", "");
	if (s->has_shadow) {
		add(&l, s->shadow_compared, 0, "shadow/%s%s", "compared", "");
		add(&l, s->shadow_disagreed, 0, "shadow/%s%s", "disagreed", "");
		add(&l, s->shadow_failed, 0, "shadow/%s%s", "failed", "");
		add(&l, s->shadow_skipped, 0, "shadow/%s%s", "skipped", "");
		add(&l, s->shadow_unavailable, 0, "shadow/%s%s", "unavailable", "");
	}
	for (unsigned b = 0; b < WA_STATS_LATENCY_BUCKETS; b++) samples += s->latency_us[b];
	add(&l, samples, 0, "%s%s", "samples", "");
	add_histogram(&l, "fuel", s->fuel, WA_STATS_FUEL_BUCKETS);
	add_histogram(&l, "latency_us", s->latency_us, WA_STATS_LATENCY_BUCKETS);
	return l.n;
}

void wa_metrics_init(struct wa_metrics *m, uint32_t interval_s, const char *module_path)
{
	const char *slash = module_path ? strrchr(module_path, '/') : NULL;

	memset(m, 0, sizeof *m);
	m->interval_ms = (uint64_t)interval_s * 1000u;
	snprintf(m->module, sizeof m->module, "%s", slash ? slash + 1 : module_path ? module_path : "");
}

static void publish(wa_metrics_publish_fn pub, void *ud, const char *name, const char *payload)
{
	char topic[WA_METRICS_TOPIC_BYTES];
	size_t len = strlen(name);

	/* Names are this file's own, all shorter than the room left. */
	if (len >= sizeof topic - (sizeof WA_METRICS_PREFIX - 1)) return;
	memcpy(topic, WA_METRICS_PREFIX, sizeof WA_METRICS_PREFIX - 1);
	memcpy(topic + sizeof WA_METRICS_PREFIX - 1, name, len + 1);
	pub(topic, payload, ud);
}

unsigned wa_metrics_tick(struct wa_metrics *m, const struct wa_stats *s, uint64_t now_ms, wa_metrics_publish_fn pub,
                         void *ud)
{
	struct wa_metric all[WA_METRICS_MAX_TOPICS];
	unsigned n, sent = 0;
	char value[24];

	if (!m->interval_ms || now_ms < m->next_ms) return 0;
	m->next_ms = now_ms + m->interval_ms;
	if (!m->module_sent) {
		publish(pub, ud, "policy/module", m->module);
		m->module_sent = 1;
		sent++;
	}
	n = wa_metrics_collect(s, all, WA_METRICS_MAX_TOPICS);
	for (unsigned i = 0; i < n; i++) {
		if (m->sent[i] ? all[i].value == m->last[i] : all[i].sparse && all[i].value == 0) continue;
		snprintf(value, sizeof value, "%" PRIu64, all[i].value);
		publish(pub, ud, all[i].name, value);
		m->last[i] = all[i].value;
		m->sent[i] = 1;
		sent++;
	}
	return sent;
}
