/* The policy's metrics under $SYS/broker/wasm-auth/ (README, "Operating"): the counters of
 * stats.h as mosquitto publishes its own $SYS tree: decimal text, retained, every
 * wasm_sys_interval seconds, only the values that changed since they were last published.
 * The broker's glue hands in the publishing (plugin.c: mosquitto_broker_publish_copy on the main
 * thread); this file only decides what and when, so the unit tests run it without a broker. */
#ifndef WASM_AUTH_METRICS_H
#define WASM_AUTH_METRICS_H

#include <stdint.h>

#include "../runtime/stats.h"
#include "../runtime/wa_limits.h"

#define WA_METRICS_PREFIX "$SYS/broker/wasm-auth/"

/* One value: its topic below WA_METRICS_PREFIX. sparse: a histogram bucket, first published once
 * it is not 0 (mosquitto's tree has no topic per empty bucket either). */
struct wa_metric {
	char name[WA_METRICS_TOPIC_BYTES - sizeof WA_METRICS_PREFIX];
	uint64_t value;
	int sparse;
};

struct wa_metrics {
	uint64_t interval_ms; /* 0: never publishes */
	uint64_t next_ms;     /* the next publication is due then (0: at the first tick) */
	char module[WA_METRICS_VALUE_BYTES];
	int module_sent;
	uint64_t last[WA_METRICS_MAX_TOPICS];
	uint8_t sent[WA_METRICS_MAX_TOPICS];
};

/* Receives one topic (the whole name) and its value, to be published retained. */
typedef void (*wa_metrics_publish_fn)(const char *topic, const char *payload, void *ud);

/* interval_s 0 turns publishing off. module_path: the policy file, published by its base name. */
void wa_metrics_init(struct wa_metrics *m, uint32_t interval_s, const char *module_path);

/* Every value, in an order that never changes (so index i is always the same topic): at most cap
 * (WA_METRICS_MAX_TOPICS is enough). Returns how many. */
unsigned wa_metrics_collect(const struct wa_stats *s, struct wa_metric *out, unsigned cap);

/* On the main thread, often: when a publication is due, hands pub every value that changed (all
 * of them the first time, sparse ones once not 0) and policy/module once. Returns how many it
 * handed over. */
unsigned wa_metrics_tick(struct wa_metrics *m, const struct wa_stats *s, uint64_t now_ms, wa_metrics_publish_fn pub,
                         void *ud);

#endif
