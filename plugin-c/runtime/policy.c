#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "abi_marshal.h"
#include "engine.h"
#include "../gate/gate.h"
#include "grants.h"
#include "wa_limits.h"
#include "log.h"
#include "policy.h"
#include "stats.h"
#include "text.h"

/* Failure recovery. After a trap, an invalid decision or a bad result pointer the instance may
 * be half-way through updating its heap, so it is put back exactly as it was when its lifecycle
 * hooks had run (wa_policy_seal: a snapshot of its memory, globals and table), in time
 * proportional to its memory and on the spot: the next request finds it ready. What it
 * accumulated while serving requests (counters, caches, rate-limit windows) is lost; what it
 * derived from its options and files stays, without running any hook again. Only if that
 * restore fails is the instance dropped: requests then get the failure decision until the
 * embedder builds a new one off the request path (auth.h, wa_policy_broken). */

struct wa_policy {
	const struct wa_config *cfg;
	const struct wa_options *opts;
	uint8_t *bytes; /* gated + metered module, kept for re-instantiation */
	size_t len;
	struct wa_meter_report meter; /* entry charges the host pays (hook_budget) */
	unsigned hooks;               /* from the gate's report */
	int acl_long;                 /* acl_check takes 7 arguments (payload, qos, retain) */
	int acl_cacheable;            /* wasm_auth_acl_cacheable() returned 1 (4-argument acl_check only) */
	int acl_grants;               /* ... and wasm_auth_acl_grants is exported */
	uint64_t epoch;               /* see wa_policy_epoch */
	uint64_t failures;            /* failure decisions given so far */
	enum wa_fail_kind last_fail;  /* the kind of the last of them */
	struct wa_engine *eng;        /* NULL once dropped (a failure it could not be restored from) */
	struct wa_host host;
	uint32_t buf, cap;               /* the guest's request buffer */
	uint32_t sealed_buf, sealed_cap; /* ... as it was at wa_policy_seal */
	int anonymous;                   /* the request is an unpwd_check without a username */
	unsigned action_mark;            /* actions queued before the current call (a failed call's go) */
	int sealed;
	/* Rate limit for per-request error lines. */
	int reported;
	time_t last_report;
	unsigned suppressed;
	struct wa_stats *stats;                  /* the embedder's counters, or NULL (wa_policy_count_into) */
	uint32_t sample_countdown;               /* guest calls until the next sampled one (counted_call) */
	char last_failure[WA_AUDIT_FIELD_BYTES]; /* why the last failure decision was given (audit) */
};

/* Source of wa_policy_epoch values: unique across every policy of the process (policies are
 * built on a worker thread, auth.h). */
static _Atomic uint64_t epochs;

static uint64_t new_epoch(void)
{
	return ++epochs;
}

static struct wa_budget request_budget(const struct wa_policy *p)
{
	struct wa_budget b = { p->cfg->fuel, p->cfg->timeout_ms };
	return b;
}

/* Lifecycle hooks may parse option files: their own budget (wasm_init_fuel, wasm_init_timeout_ms). */
static struct wa_budget lifecycle_budget(const struct wa_policy *p)
{
	struct wa_budget b = { p->cfg->init_fuel, p->cfg->init_timeout_ms };
	return b;
}

/* A hook only the host can enter has no entry charge of its own: the host pays it from the
 * budget (gate.h, wa_meter_report); below 0 the engine refuses the call as out of fuel. */
static struct wa_budget hook_budget(const struct wa_policy *p, enum wa_hook hook, struct wa_budget b)
{
	b.fuel -= p->meter.hook_entry_fuel[hook];
	return b;
}

static struct timespec now_monotonic(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts;
}

/* One line per WA_ERROR_LOG_INTERVAL_S per policy: a broken policy must not flood the log with
 * a line per message. The next line says how many were left out. */
#define WA_LOG_PREFIX(p) ((p)->cfg->log_prefix ? (p)->cfg->log_prefix : "")

static void report(struct wa_policy *p, int level, const char *fmt, ...)
{
	time_t now = now_monotonic().tv_sec;
	char line[1536];
	va_list ap;

	if (p->reported && now - p->last_report < (time_t)WA_ERROR_LOG_INTERVAL_S) {
		p->suppressed++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (p->suppressed) {
		wa_log(level, "%s%s (%u more errors in the last %u s not logged)", WA_LOG_PREFIX(p), line,
		       p->suppressed, (unsigned)(now - p->last_report));
	} else {
		wa_log(level, "%s%s", WA_LOG_PREFIX(p), line);
	}
	p->reported = 1;
	p->last_report = now;
	p->suppressed = 0;
}

static const char *decision_text(enum wa_hook hook, enum wa_decision d)
{
	if (hook == WA_HOOK_ON_MESSAGE || hook == WA_HOOK_ON_MESSAGE_OUT) return "dropped";
	return d == WA_DEFER ? "deferred" : "denied";
}

/* Discards an instance that can no longer be trusted (see the comment at the top). */
static void drop(struct wa_policy *p)
{
	wa_host_option_files_close(&p->host);
	wa_engine_free(p->eng);
	p->eng = NULL;
	p->epoch = new_epoch(); /* no cached decision of the discarded instance is served meanwhile */
}

/* After a failure: back to the sealed state, or dropped. The epoch stays: a cacheable policy's
 * decisions depend on its requests and what it loaded at init, which the restore puts back. */
static void restore(struct wa_policy *p)
{
	if (p->sealed && wa_engine_restore(p->eng) == 0) {
		p->buf = p->sealed_buf;
		p->cap = p->sealed_cap;
		return;
	}
	/* Not through report(): fail() has just logged, and this must not be the line it suppresses.
	 * It comes once per instance (a dropped one is replaced, auth.h). */
	wa_log(WA_LOG_ERR, "the policy instance could not be restored after a failure: dropped until it is re-created");
	drop(p);
}

#define OOM_HINT " (probably out of memory"

/* " (wasm_fuel 10000000 reached; raise plugin_opt_wasm_fuel)" and the like: which limit a
 * failure hit and the option that sets it, or "". */
static const char *limit_hint(const struct wa_policy *p, const char *why, int lifecycle, char *buf, size_t len)
{
	const struct wa_mem m = p->eng ? wa_engine_memory(p->eng) : (struct wa_mem){ NULL, 0 };
	const uint64_t cap_bytes = (uint64_t)p->cfg->caps.max_memory_pages * 65536u;

	if (strcmp(why, "fuel exhausted") == 0) {
		snprintf(buf, len, " (%s %lld reached; raise plugin_opt_%s)",
		         lifecycle ? WA_OPT_INIT_FUEL : WA_OPT_FUEL,
		         (long long)(lifecycle ? p->cfg->init_fuel : p->cfg->fuel),
		         lifecycle ? WA_OPT_INIT_FUEL : WA_OPT_FUEL);
	} else if (strncmp(why, "timeout", 7) == 0) {
		snprintf(buf, len, " (%s %u reached; raise plugin_opt_%s)",
		         lifecycle ? WA_OPT_INIT_TIMEOUT_MS : WA_OPT_TIMEOUT_MS,
		         lifecycle ? p->cfg->init_timeout_ms : p->cfg->timeout_ms,
		         lifecycle ? WA_OPT_INIT_TIMEOUT_MS : WA_OPT_TIMEOUT_MS);
	} else if (strcmp(why, "stack overflow") == 0) {
		snprintf(buf, len, " (the %u KiB value stack or the native stack bound; the policy recurses too deep)",
		         WA_STACK_BYTES / 1024u);
	} else if (m.size && (uint64_t)m.size * 2u >= cap_bytes &&
	           (strstr(why, "unreachable") || strncmp(why, "abort", 5) == 0)) {
		/* An allocator that cannot grow memory traps (AssemblyScript: unreachable), often while
		 * asking for as much again as it has: past half the cap, that is the likely cause. */
		snprintf(buf, len, OOM_HINT ": %u of %s %u pages (%u MiB) in use; raise plugin_opt_%s)",
		         m.size / 65536u, WA_OPT_MAX_MEMORY_PAGES, p->cfg->caps.max_memory_pages,
		         p->cfg->caps.max_memory_pages / 16u, WA_OPT_MAX_MEMORY_PAGES);
	} else {
		buf[0] = '\0';
	}
	return buf;
}

/* limit_hint blamed memory (the failure's kind, stats.h). */
static int is_oom_hint(const char *hint)
{
	return strncmp(hint, OOM_HINT, sizeof OOM_HINT - 1) == 0;
}

/* wasm_on_error, except that an anonymous CONNECT is never deferred: if every plugin defers,
 * mosquitto admits an anonymous client where allow_anonymous is true, so a failure would admit a
 * client that the policy's own deny refuses. */
static enum wa_decision failure_decision(const struct wa_policy *p, enum wa_hook hook)
{
	/* A message is dropped: deferring would deliver it, unchecked, or with a rewrite half made. */
	if (hook == WA_HOOK_ON_MESSAGE || hook == WA_HOOK_ON_MESSAGE_OUT) return WA_DENY;
	/* A subscription is refused: deferring would keep it, unchecked, or with a rewrite half made. */
	if (hook == WA_HOOK_ON_SUBSCRIBE) return WA_DENY;
	/* Enhanced authentication never defers on a failure either: a half-done exchange handed to
	 * the next plugin (or to mosquitto, which then refuses anyway) has no meaning. */
	if (hook == WA_HOOK_EXT_AUTH_START || hook == WA_HOOK_EXT_AUTH_CONTINUE) return WA_DENY;
	return hook == WA_HOOK_UNPWD_CHECK && p->anonymous ? WA_DENY : p->cfg->on_error;
}

/* The failure decision for a request, logged. discard = 1 when the instance is no longer trusted. */
static enum wa_decision fail(struct wa_policy *p, enum wa_hook hook, int discard, const char *fmt, ...)
{
	char why[1024];
	char hint[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	p->failures++;
	limit_hint(p, why, 0, hint, sizeof hint);
	p->last_fail = wa_stats_failure_kind(why, is_oom_hint(hint), discard);
	if (p->stats) wa_stats_failure(p->stats, hook, p->last_fail);
	snprintf(p->last_failure, sizeof p->last_failure, "%.*s", (int)sizeof p->last_failure - 1, why);
	report(p, WA_LOG_ERR, "%s failed, %s %s: %s%s", wa_hooks[hook].name,
	       hook == WA_HOOK_ON_MESSAGE || hook == WA_HOOK_ON_MESSAGE_OUT ? "message"
	       : hook == WA_HOOK_ON_SUBSCRIBE                               ? "subscription"
	                                                                    : "request",
	       decision_text(hook, failure_decision(p, hook)), why, hint);
	/* Like the instance's state, what the failed call queued is undone. */
	wa_host_actions_truncate(&p->host, p->action_mark);
	if (discard) restore(p);
	return failure_decision(p, hook);
}

/* Makes the request buffer hold at least need bytes (asking the guest only when it must). */
static const char *ensure_buffer(struct wa_policy *p, uint32_t need)
{
	uint32_t size, args[1];
	int32_t ptr = 0;
	const char *trap;

	if (need <= p->cap && p->buf) return NULL;
	size = need < WA_INITIAL_REQUEST_BUFFER ? WA_INITIAL_REQUEST_BUFFER : need;
	/* Grow geometrically so a slowly growing request size does not ask every time. */
	if (p->cap && size < p->cap * 2u && p->cap * 2u > p->cap) size = p->cap * 2u;
	if (size > INT32_MAX) return "request too large";
	args[0] = size;
	trap = wa_engine_call(p->eng, WA_EXPORT_BUFFER_FN, args, 1, &ptr, request_budget(p));
	if (trap) return trap;
	if (ptr == 0 || !wa_mem_range(wa_engine_memory(p->eng), (uint32_t)ptr, size)) {
		p->buf = p->cap = 0;
		return WA_EXPORT_BUFFER " returned a buffer outside memory";
	}
	p->buf = (uint32_t)ptr;
	p->cap = size;
	return NULL;
}

/* A fresh engine from p->bytes: start function, ABI version, first request buffer. */
static int instantiate(struct wa_policy *p, char *err, size_t errlen)
{
	const char *trap;
	int32_t version = 0;

	p->buf = p->cap = 0;
	p->eng = wa_engine_new(p->bytes, p->len, p->cfg->caps.max_memory_pages, &p->host, err, errlen);
	if (!p->eng) return -1;
	for (unsigned h = 0; h < WA_HOOK_COUNT; h++) {
		if (!!(p->hooks & (1u << h)) != wa_engine_has(p->eng, h)) {
			snprintf(err, errlen, "export %s: the gate and the interpreter disagree", wa_hooks[h].name);
			goto fail;
		}
	}
	p->acl_long = wa_engine_params(p->eng, WA_HOOK_ACL_CHECK) == 7;
	if (!wa_engine_has(p->eng, WA_EXPORT_ABI_FN) || !wa_engine_has(p->eng, WA_EXPORT_BUFFER_FN)) {
		snprintf(err, errlen, "missing export %s or %s", WA_EXPORT_ABI_VERSION, WA_EXPORT_BUFFER);
		goto fail;
	}
	trap = wa_engine_start(p->eng, lifecycle_budget(p));
	if (trap) {
		char hint[256];
		snprintf(err, errlen, "start function trapped: %s%s", trap, limit_hint(p, trap, 1, hint, sizeof hint));
		goto fail;
	}
	trap = wa_engine_call(p->eng, WA_EXPORT_ABI_FN, NULL, 0, &version, request_budget(p));
	if (trap) {
		snprintf(err, errlen, "%s trapped: %s", WA_EXPORT_ABI_VERSION, trap);
		goto fail;
	}
	if (version != WA_ABI_VERSION) {
		/* Names both versions and the way out (docs/PACKAGES.md, "ABI version"). */
		snprintf(err, errlen,
		         "built for ABI %d, this plugin speaks %d (%s returns %d: build with an SDK for ABI %d)",
		         version, WA_ABI_VERSION, WA_EXPORT_ABI_VERSION, version, WA_ABI_VERSION);
		goto fail;
	}
	p->acl_cacheable = 0;
	if (!p->acl_long && (p->hooks & (1u << WA_HOOK_ACL_CHECK)) &&
	    wa_engine_has(p->eng, WA_EXPORT_ACL_CACHEABLE_FN)) {
		int32_t cacheable = 0;
		trap = wa_engine_call(p->eng, WA_EXPORT_ACL_CACHEABLE_FN, NULL, 0, &cacheable, request_budget(p));
		if (trap) {
			snprintf(err, errlen, "%s trapped: %s", WA_EXPORT_ACL_CACHEABLE, trap);
			goto fail;
		}
		p->acl_cacheable = cacheable == 1;
	}
	p->acl_grants = p->acl_cacheable && wa_engine_has(p->eng, WA_EXPORT_ACL_GRANTS_FN);
	trap = ensure_buffer(p, WA_INITIAL_REQUEST_BUFFER);
	if (trap) {
		snprintf(err, errlen, "%s(%u): %s", WA_EXPORT_BUFFER, WA_INITIAL_REQUEST_BUFFER, trap);
		goto fail;
	}
	p->epoch = new_epoch();
	return 0;
fail:
	drop(p);
	return -1;
}

struct wa_policy *wa_policy_new(const uint8_t *bytes, size_t len, const struct wa_config *cfg,
                                const struct wa_options *opts, const struct wa_client_ops *client_ops, char *err,
                                size_t errlen)
{
	struct wa_gate_config gc;
	struct wa_gate_report rep;
	struct wa_policy *p = calloc(1, sizeof *p);

	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->cfg = cfg;
	p->opts = opts;
	p->host.opts = opts;
	p->host.client_ops = client_ops;
	p->host.log_prefix = cfg->log_prefix;
	p->host.publish_prefix = cfg->publish_prefix;
	p->host.publish_prefix_len = cfg->publish_prefix_len;
	p->host.max_payload = cfg->max_payload;
	p->host.reasons_wanted =
	    cfg->audit != WA_AUDIT_OFF || cfg->shadow_module || (client_ops && client_ops->reads_reasons);

	/* Every byte passes the gate before the interpreter sees any. */
	wa_gate_config_defaults(&gc);
	gc.caps = cfg->caps;
	memset(&rep, 0, sizeof rep);
	if (wa_gate_check_meter(bytes, len, &gc, &rep, &p->bytes, &p->len, &p->meter, err, errlen) != 0) goto fail;
	p->hooks = rep.hooks;
	if (!(p->hooks & ((1u << WA_HOOK_UNPWD_CHECK) | (1u << WA_HOOK_ACL_CHECK) | (1u << WA_HOOK_PSK_KEY_GET) |
	                  (1u << WA_HOOK_ON_MESSAGE)))) {
		snprintf(err, errlen, "exports no request hook (unpwd_check, acl_check, psk_key_get, on_message)");
		goto fail;
	}
	if (instantiate(p, err, errlen) != 0) goto fail;
	return p;
fail:
	wa_policy_free(p);
	return NULL;
}

void wa_policy_free(struct wa_policy *p)
{
	if (!p) return;
	wa_host_option_files_close(&p->host);
	wa_host_actions_take(&p->host, NULL, NULL); /* never carried out: the policy goes */
	wa_host_jwt_free(&p->host);
	wa_host_message_clear(&p->host, 0);
	wa_host_subscribe_clear(&p->host, 0);
	wa_engine_free(p->eng);
	free(p->bytes);
	free(p);
}

unsigned wa_policy_hooks(const struct wa_policy *p)
{
	return p->hooks;
}

int wa_policy_acl_grants(const struct wa_policy *p)
{
	return p->acl_grants;
}

int wa_policy_acl_cacheable(const struct wa_policy *p)
{
	return p->acl_cacheable;
}

uint64_t wa_policy_epoch(const struct wa_policy *p)
{
	return p->epoch;
}

uint64_t wa_policy_failures(const struct wa_policy *p)
{
	return p->failures;
}

enum wa_fail_kind wa_policy_last_failure(const struct wa_policy *p)
{
	return p->last_fail;
}

/* Calls a lifecycle hook with the Options descriptor (plugin_init, security_init) or plain
 * arguments. *refused = 1 if it returned 0. NULL or the trap message. */
static const char *call_lifecycle(struct wa_policy *p, enum wa_hook hook, int with_opts, int has_flag, uint32_t flag,
                                  int *refused)
{
	uint32_t args[2];
	unsigned n = 0;
	int32_t result = 1;
	const char *trap;

	*refused = 0;
	if (!p->eng || !wa_engine_has(p->eng, hook)) return NULL;
	if (with_opts) {
		trap = ensure_buffer(p, wa_marshal_options_size(p->opts));
		if (trap) return trap;
		if (wa_marshal_options(wa_engine_memory(p->eng), p->buf, p->cap, p->opts, &args[n++]) != 0) {
			return "options do not fit the request buffer";
		}
	}
	if (has_flag) args[n++] = flag;
	p->host.in_init = with_opts;
	/* Cleanup hooks run on the broker's main thread (auth.h): the request budget. */
	trap = wa_engine_call(p->eng, hook, args, n, &result,
	                      hook_budget(p, hook, with_opts ? lifecycle_budget(p) : request_budget(p)));
	p->host.in_init = 0;
	/* Files the hook streamed were for this call only: a later call opens them again. */
	wa_host_option_files_close(&p->host);
	if (!trap && wa_engine_results(p->eng, hook) == 1 && result == 0) *refused = 1;
	return trap;
}

static int init_hook(struct wa_policy *p, enum wa_hook hook, int has_flag, uint32_t flag, char *err, size_t errlen)
{
	int refused;
	const char *trap;

	if (!p->eng) {
		snprintf(err, errlen, "%s: the instance was dropped after an earlier failure", wa_hooks[hook].name);
		return -1;
	}
	trap = call_lifecycle(p, hook, 1, has_flag, flag, &refused);
	if (trap) {
		char hint[256];
		snprintf(err, errlen, "%s trapped: %s%s", wa_hooks[hook].name, trap,
		         limit_hint(p, trap, 1, hint, sizeof hint));
		drop(p);
		return -1;
	}
	if (refused) {
		snprintf(err, errlen, "%s returned 0 (refused)", wa_hooks[hook].name);
		return -1;
	}
	return 0;
}

int wa_policy_plugin_init(struct wa_policy *p, char *err, size_t errlen)
{
	return init_hook(p, WA_HOOK_PLUGIN_INIT, 0, 0, err, errlen);
}

int wa_policy_security_init(struct wa_policy *p, int reload, char *err, size_t errlen)
{
	p->epoch = new_epoch(); /* the policy may have re-read its rules */
	return init_hook(p, WA_HOOK_SECURITY_INIT, 1, reload ? 1u : 0u, err, errlen);
}

static void cleanup_hook(struct wa_policy *p, enum wa_hook hook, int has_flag, uint32_t flag)
{
	int refused;
	const char *trap = call_lifecycle(p, hook, 0, has_flag, flag, &refused);

	if (trap) {
		report(p, WA_LOG_ERR, "%s trapped: %s", wa_hooks[hook].name, trap);
		drop(p);
	}
}

void wa_policy_security_cleanup(struct wa_policy *p, int reload)
{
	cleanup_hook(p, WA_HOOK_SECURITY_CLEANUP, 1, reload ? 1u : 0u);
}

void wa_policy_plugin_cleanup(struct wa_policy *p)
{
	cleanup_hook(p, WA_HOOK_PLUGIN_CLEANUP, 0, 0);
}

int wa_policy_seal(struct wa_policy *p, char *err, size_t errlen)
{
	if (!p->eng) {
		snprintf(err, errlen, "the instance was dropped");
		return -1;
	}
	if (wa_engine_snapshot(p->eng, err, errlen) != 0) return -1;
	p->sealed_buf = p->buf;
	p->sealed_cap = p->cap;
	p->sealed = 1;
	return 0;
}

int wa_policy_broken(const struct wa_policy *p)
{
	return p->eng == NULL;
}

/* A dropped instance: the failure decision until the embedder replaces the policy. */
static int unavailable(struct wa_policy *p, enum wa_hook hook)
{
	fail(p, hook, 0, "the policy instance is unavailable until it is re-created");
	return -1;
}

/* The common case inline, the recovery out of line. */
static inline int ready(struct wa_policy *p, enum wa_hook hook)
{
	p->action_mark = p->host.actions.count;
	return p->eng ? 0 : unavailable(p, hook);
}

enum wa_decision wa_policy_refuse(struct wa_policy *p, enum wa_hook hook, int anonymous)
{
	p->failures++;
	p->last_fail = WA_FAIL_BUDGET;
	if (p->stats) wa_stats_failure(p->stats, hook, WA_FAIL_BUDGET);
	p->anonymous = anonymous;
	snprintf(p->last_failure, sizeof p->last_failure, "over its share of broker time");
	return failure_decision(p, hook);
}

/* Every guest call sets the fuel counter to its budget first (engine_wasm3.c arm), and a call
 * that returns normally leaves it at 0 or above: a counter still at the mark afterwards means no
 * guest code ran. Marking costs nothing on the path of requests that are not audited. */
#define AUDIT_FUEL_MARK INT64_MIN

uint64_t wa_policy_audit_mark(struct wa_policy *p)
{
	p->host.reason_len = 0;
	if (p->host.fuel) *p->host.fuel = AUDIT_FUEL_MARK;
	return p->failures;
}

void wa_policy_audit_outcome(const struct wa_policy *p, uint64_t mark, struct wa_policy_outcome *o)
{
	const int64_t left = p->host.fuel ? *p->host.fuel : AUDIT_FUEL_MARK;

	o->failed = p->failures != mark;
	o->failure = o->failed ? p->last_failure : "";
	o->guest_ran = left != AUDIT_FUEL_MARK;
	o->fuel_used = !o->guest_ran ? 0 : left < 0 ? p->cfg->fuel : p->cfg->fuel - left;
	o->reason = p->host.reason;
	o->reason_len = p->host.reason_len;
}

/* Length of a request string, saturated at WA_MAX_FIELD_BYTES + 1 (too long: the request fails).
 * strlen, not strnlen bounded by the cap: the strings are mosquitto's (or wa-call's) and always
 * terminated, MQTT bounds them to 65535 bytes anyway, and strlen is the cheaper scan (~5
 * instructions per field on this hot path); the cap is checked on the result. */
static inline uint32_t field_len(const char *s)
{
	size_t n = strlen(s);
	return n > WA_MAX_FIELD_BYTES ? WA_MAX_FIELD_BYTES + 1u : (uint32_t)n;
}

static struct wa_field field(const char *s, int absent_if_null)
{
	struct wa_field f = { s ? s : "", s ? field_len(s) : 0u, s || !absent_if_null };
	return f;
}

/* Writes the fields into the request buffer; desc[i] gets each descriptor's guest pointer.
 * The guest is asked for a bigger buffer only when the request does not fit the one it has. */
static inline const char *marshal(struct wa_policy *p, const struct wa_field *f, unsigned nf, uint32_t *desc)
{
	uint32_t need = wa_marshal_fields_size(f, nf);

	if (need > p->cap || !p->buf) {
		const char *trap = ensure_buffer(p, need);
		if (trap) return trap;
	}
	if (wa_marshal_fields(wa_engine_memory(p->eng), p->buf, p->cap, f, nf, desc) != 0) {
		return "request does not fit the request buffer";
	}
	return NULL;
}

/* One sampled call (stats.h, WA_STATS_SAMPLE_EVERY), out of line: its wall-clock time, and the
 * fuel it used when it returned (what it was given less what is left). */
__attribute__((noinline)) static const char *sampled_call(struct wa_policy *p, unsigned export, const uint32_t *args,
                                                          unsigned nargs, int32_t *result, struct wa_budget b)
{
	struct wa_stats *s = p->stats;
	struct timespec t0 = now_monotonic(), t1;
	const char *trap = wa_engine_call(p->eng, export, args, nargs, result, b);
	int64_t us;

	t1 = now_monotonic();
	us = (int64_t)(t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000;
	p->sample_countdown = WA_STATS_SAMPLE_EVERY;
	if (!s) return trap; /* not counting: this was the 2^32nd call */
	s->latency_us[wa_stats_bucket(us > 0 ? (uint64_t)us : 0u, WA_STATS_LATENCY_BUCKETS)]++;
	if (!trap) s->fuel[wa_stats_bucket((uint64_t)(b.fuel - *p->host.fuel), WA_STATS_FUEL_BUCKETS)]++;
	return trap;
}

/* A request's, event's or grants' guest call: every WA_STATS_SAMPLE_EVERY-th one is sampled into
 * the embedder's stats; the others pay a decrement and a test. */
static inline const char *counted_call(struct wa_policy *p, unsigned export, const uint32_t *args, unsigned nargs,
                                       int32_t *result, struct wa_budget b)
{
	if (__builtin_expect(--p->sample_countdown == 0u, 0)) return sampled_call(p, export, args, nargs, result, b);
	return wa_engine_call(p->eng, export, args, nargs, result, b);
}

/* Always inlined: GCC stopped inlining it once counted_call grew it, and the call cost every
 * request more than the counting does (docs/BENCHMARKS.md, "Metrics: what they cost"). */
static inline __attribute__((always_inline)) const char *invoke(struct wa_policy *p, enum wa_hook hook,
                                                                const void *client, const uint32_t *args,
                                                                unsigned nargs, int32_t *result)
{
	const char *trap;

	p->host.client = client;
	trap = counted_call(p, hook, args, nargs, result, hook_budget(p, hook, request_budget(p)));
	p->host.client = NULL;
	return trap;
}

static enum wa_decision decide(struct wa_policy *p, enum wa_hook hook, int32_t v)
{
	if (v == WA_DENY || v == WA_ALLOW || v == WA_DEFER) return (enum wa_decision)v;
	return fail(p, hook, 1, "returned %d, not a decision (0 deny, 1 allow, 2 defer)", v);
}

static int too_long(const struct wa_field *f, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (f[i].len > WA_MAX_FIELD_BYTES) return 1;
	}
	return 0;
}

enum wa_decision wa_policy_unpwd_check(struct wa_policy *p, const void *client, const char *username,
                                       const char *password)
{
	const enum wa_hook hook = WA_HOOK_UNPWD_CHECK;
	struct wa_field f[2] = { field(username, 1), field(password, 1) };
	uint32_t args[2];
	int32_t result = 0;
	const char *trap;

	p->anonymous = username == NULL;
	if (ready(p, hook)) return failure_decision(p, hook);
	if (too_long(f, 2)) return fail(p, hook, 0, "a field is longer than %u bytes", WA_MAX_FIELD_BYTES);
	trap = marshal(p, f, 2, args);
	if (!trap) trap = invoke(p, hook, client, args, 2, &result);
	if (trap) return fail(p, hook, 1, "%s", trap);
	return decide(p, hook, result);
}

/* One Str descriptor at desc and its bytes at data, in a buffer already checked to hold them. */
static inline void put_str(uint8_t *base, uint32_t desc, uint32_t data, const char *s, uint32_t len)
{
	wa_put_u32le(base + desc, data);
	wa_put_u32le(base + desc + 4, len);
	wa_copy_field(base + data, s, len);
}

/* The 4-argument acl_check: marshal() and wa_marshal_fields written out for its three fields,
 * because every message passes here (twice per delivery) and its cost is the plugin's overhead
 * per message (docs/BENCHMARKS.md, "Hot path"). What holds for the instance's life was checked
 * when the buffer was obtained (ensure_buffer: buf != 0, [buf, buf + cap) inside memory, so the
 * aligned start cannot wrap; cap is 0 without a buffer); what can change per call is checked
 * here: the field caps, the request size against cap, memory's size (re-read after every call). */
static enum wa_decision acl_check_short(struct wa_policy *p, const void *client, const char *clientid,
                                        const char *username, const char *topic, int access)
{
	const enum wa_hook hook = WA_HOOK_ACL_CHECK;
	const char *cid = clientid ? clientid : "", *top = topic ? topic : "";
	size_t clen = strlen(cid), ulen = username ? strlen(username) : 0u, tlen = strlen(top); /* see field_len */
	uint32_t lc, lu, lt, need, at, data, args[4];
	int32_t result = 0;
	struct wa_mem m;
	const char *trap;

	/* Non-short-circuit: one branch for the three caps, on the full size_t lengths. */
	if ((clen > WA_MAX_FIELD_BYTES) | (ulen > WA_MAX_FIELD_BYTES) | (tlen > WA_MAX_FIELD_BYTES)) {
		return fail(p, hook, 0, "a field is longer than %u bytes", WA_MAX_FIELD_BYTES);
	}
	lc = (uint32_t)clen;
	lu = (uint32_t)ulen;
	lt = (uint32_t)tlen;
	need = WA_ALIGN_SLACK + 3u * WA_STR_BYTES + lc + lu + lt; /* <= 3 * 65543 + 3: no overflow */
	if (need > p->cap) {
		trap = ensure_buffer(p, need);
		if (trap) return fail(p, hook, 1, "%s", trap);
	}
	m = wa_engine_memory(p->eng);
	if ((uint64_t)p->buf + p->cap > m.size) return fail(p, hook, 1, "request does not fit the request buffer");
	at = (p->buf + 3u) & ~3u;
	data = at + 3u * WA_STR_BYTES;
	put_str(m.base, at, data, cid, lc);
	data += lc;
	args[0] = at;
	args[1] = 0; /* no username: absent */
	if (username) {
		put_str(m.base, at + WA_STR_BYTES, data, username, lu);
		data += lu;
		args[1] = at + WA_STR_BYTES;
	}
	put_str(m.base, at + 2u * WA_STR_BYTES, data, top, lt);
	args[2] = at + 2u * WA_STR_BYTES;
	args[3] = (uint32_t)access;
	trap = invoke(p, hook, client, args, 4, &result);
	if (trap) return fail(p, hook, 1, "%s", trap);
	return decide(p, hook, result);
}

/* Three strings and a payload (acl_check's long form, on_message): their caps, then the request
 * buffer. 0, or -1 with the failure decision (logged) in *d. */
static int marshal_with_payload(struct wa_policy *p, enum wa_hook hook, const struct wa_field f[4], uint32_t desc[4],
                                enum wa_decision *d)
{
	const char *trap;

	if (too_long(f, 3)) {
		*d = fail(p, hook, 0, "a field is longer than %u bytes", WA_MAX_FIELD_BYTES);
		return -1;
	}
	if (f[3].len > p->cfg->max_payload) {
		*d = fail(p, hook, 0, "payload of %u bytes exceeds wasm_max_payload (%u)", f[3].len,
		          p->cfg->max_payload);
		return -1;
	}
	trap = marshal(p, f, 4, desc);
	if (trap) {
		*d = fail(p, hook, 1, "%s", trap);
		return -1;
	}
	return 0;
}

/* The 7-argument form: the payload too (only it pays for the copy). Kept out of line: inlined,
 * its frame and stack arguments would be set up on the 4-argument path too. */
__attribute__((noinline)) static enum wa_decision acl_check_long(struct wa_policy *p, const void *client,
                                                                 const char *clientid, const char *username,
                                                                 const char *topic, int access, const void *payload,
                                                                 uint32_t payloadlen, int qos, int retain)
{
	const enum wa_hook hook = WA_HOOK_ACL_CHECK;
	struct wa_field f[4] = { field(clientid, 0),
		                 field(username, 1),
		                 field(topic, 0),
		                 { payload ? payload : "", payload ? payloadlen : 0u, 1 } };
	uint32_t args[7], desc[4];
	int32_t result = 0;
	enum wa_decision d;
	const char *trap;

	if (marshal_with_payload(p, hook, f, desc, &d) != 0) return d;
	args[0] = desc[0];
	args[1] = desc[1];
	args[2] = desc[2];
	args[3] = (uint32_t)access;
	args[4] = desc[3];
	args[5] = (uint32_t)qos;
	args[6] = retain ? 1u : 0u;
	trap = invoke(p, hook, client, args, 7, &result);
	if (trap) return fail(p, hook, 1, "%s", trap);
	return decide(p, hook, result);
}

enum wa_decision wa_policy_acl_check(struct wa_policy *p, const void *client, const char *clientid,
                                     const char *username, const char *topic, int access, const void *payload,
                                     uint32_t payloadlen, int qos, int retain)
{
	if (ready(p, WA_HOOK_ACL_CHECK)) return p->cfg->on_error;
	if (!p->acl_long) return acl_check_short(p, client, clientid, username, topic, access);
	return acl_check_long(p, client, clientid, username, topic, access, payload, payloadlen, qos, retain);
}

struct wa_grants *wa_policy_grants(struct wa_policy *p, const void *client, const char *clientid, const char *username,
                                   enum wa_decision *d)
{
	const enum wa_hook hook = WA_HOOK_ACL_CHECK;
	struct wa_field f[2] = { field(clientid, 0), field(username, 1) };
	struct wa_grants *g;
	uint32_t args[2];
	int32_t result = 0;
	const char *trap;
	char why[256];

	*d = p->cfg->on_error;
	if (ready(p, hook)) return NULL;
	if (!p->acl_grants) {
		*d = fail(p, hook, 0, "%s is not exported by a cacheable policy", WA_EXPORT_ACL_GRANTS);
		return NULL;
	}
	if (too_long(f, 2)) {
		*d = fail(p, hook, 0, "a field is longer than %u bytes", WA_MAX_FIELD_BYTES);
		return NULL;
	}
	trap = marshal(p, f, 2, args);
	if (!trap) {
		p->host.client = client;
		trap = counted_call(p, WA_EXPORT_ACL_GRANTS_FN, args, 2, &result, request_budget(p));
		p->host.client = NULL;
	}
	if (trap) {
		*d = fail(p, hook, 1, "%s: %s", WA_EXPORT_ACL_GRANTS, trap);
		return NULL;
	}
	g = wa_grants_read(wa_engine_memory(p->eng), (uint32_t)result, why, sizeof why);
	if (!g) *d = fail(p, hook, 1, "%s", why);
	return g;
}

/* The key comes back as a guest string (UTF-16LE): hex digits only, copied as ASCII. */
static enum wa_decision read_key(struct wa_policy *p, uint32_t ptr, char *key, size_t keycap)
{
	const enum wa_hook hook = WA_HOOK_PSK_KEY_GET;
	const uint8_t *data;
	uint32_t len;
	size_t chars;

	if (wa_mem_string(wa_engine_memory(p->eng), ptr, &data, &len) != 0) {
		return fail(p, hook, 1, "returned a string pointer outside memory");
	}
	chars = len / 2;
	if (chars > WA_MAX_PSK_KEY_CHARS || chars >= keycap) {
		report(p, WA_LOG_WARNING, "psk_key_get: key of %zu hex digits is too long, denying", chars);
		return WA_DENY;
	}
	for (size_t i = 0; i < chars; i++) {
		uint16_t u = (uint16_t)(data[2 * i] | (data[2 * i + 1] << 8));
		key[i] = u < 0x80 ? (char)u : '?';
	}
	key[chars] = '\0';
	if (!wa_is_hex(key, chars)) {
		key[0] = '\0';
		report(p, WA_LOG_WARNING, "psk_key_get: the key is not hexadecimal, denying");
		return WA_DENY;
	}
	return WA_ALLOW;
}

enum wa_decision wa_policy_psk_key_get(struct wa_policy *p, const void *client, const char *identity, const char *hint,
                                       char *key, size_t keycap)
{
	const enum wa_hook hook = WA_HOOK_PSK_KEY_GET;
	struct wa_field f[2] = { field(identity, 0), field(hint, 0) };
	uint32_t args[2];
	int32_t result = 0;
	const char *trap;

	if (keycap) key[0] = '\0';
	if (ready(p, hook)) return p->cfg->on_error;
	if (too_long(f, 2)) return fail(p, hook, 0, "a field is longer than %u bytes", WA_MAX_FIELD_BYTES);
	trap = marshal(p, f, 2, args);
	if (!trap) trap = invoke(p, hook, client, args, 2, &result);
	if (trap) return fail(p, hook, 1, "%s", trap);
	if (result == 0) return WA_DENY;
	return read_key(p, (uint32_t)result, key, keycap);
}

/* on_message and on_message_out: the same call, the same staged rewrite. Inlined into both, so
 * on_message's path is what it was before on_message_out shared it. */
static inline __attribute__((always_inline)) enum wa_decision
message_hook(struct wa_policy *p, enum wa_hook hook, const void *client, const char *clientid, const char *username,
             const char *topic, const void *payload, uint32_t payloadlen, int qos, int retain)
{
	struct wa_field f[4] = { field(clientid, 0),
		                 field(username, 1),
		                 field(topic, 0),
		                 { payload ? payload : "", payload ? payloadlen : 0u, 1 } };
	uint32_t args[6], desc[4];
	int32_t result = 0;
	enum wa_decision d;
	const char *trap;

	wa_host_message_clear(&p->host, 0);
	if (ready(p, hook)) return WA_DENY;
	if (!(p->hooks & (1u << hook))) return WA_ALLOW;
	if (marshal_with_payload(p, hook, f, desc, &d) != 0) return d;
	args[0] = desc[0];
	args[1] = desc[1];
	args[2] = desc[2];
	args[3] = desc[3];
	args[4] = (uint32_t)qos;
	args[5] = retain ? 1u : 0u;
	p->host.rewrite.active = 1;
	trap = invoke(p, hook, client, args, 6, &result);
	p->host.rewrite.active = 0;
	if (!trap && result != WA_DENY && result != WA_ALLOW && result != WA_DEFER) {
		wa_host_message_clear(&p->host, 0);
		return fail(p, hook, 1, "returned %d, not a decision (0 drop, 1 deliver, 2 deliver unchanged)", result);
	}
	/* What a failed or refusing call staged is never applied; defer keeps the message as it came. */
	if (trap || result != WA_ALLOW) wa_host_message_clear(&p->host, 0);
	if (trap) return fail(p, hook, 1, "%s", trap);
	return result == WA_DENY ? WA_DENY : WA_ALLOW;
}

enum wa_decision wa_policy_message(struct wa_policy *p, const void *client, const char *clientid, const char *username,
                                   const char *topic, const void *payload, uint32_t payloadlen, int qos, int retain)
{
	return message_hook(p, WA_HOOK_ON_MESSAGE, client, clientid, username, topic, payload, payloadlen, qos, retain);
}

enum wa_decision wa_policy_message_out(struct wa_policy *p, const void *client, const char *clientid,
                                       const char *username, const char *topic, const void *payload,
                                       uint32_t payloadlen, int qos, int retain)
{
	return message_hook(p, WA_HOOK_ON_MESSAGE_OUT, client, clientid, username, topic, payload, payloadlen, qos,
	                    retain);
}

enum wa_decision wa_policy_subscribe(struct wa_policy *p, const void *client, const char *clientid,
                                     const char *username, const char *topic, int qos)
{
	const enum wa_hook hook = WA_HOOK_ON_SUBSCRIBE;
	struct wa_field f[3] = { field(clientid, 0), field(username, 1), field(topic, 0) };
	uint32_t args[4];
	int32_t result = 0;
	const char *trap;

	wa_host_subscribe_clear(&p->host, 0);
	if (ready(p, hook)) return WA_DENY;
	if (!(p->hooks & (1u << hook))) return WA_ALLOW;
	if (too_long(f, 3)) return fail(p, hook, 0, "a field is longer than %u bytes", WA_MAX_FIELD_BYTES);
	trap = marshal(p, f, 3, args);
	if (trap) return fail(p, hook, 1, "%s", trap);
	args[3] = (uint32_t)qos;
	p->host.sub_rewrite.active = 1;
	trap = invoke(p, hook, client, args, 4, &result);
	p->host.sub_rewrite.active = 0;
	if (!trap && result != WA_DENY && result != WA_ALLOW && result != WA_DEFER) {
		wa_host_subscribe_clear(&p->host, 0);
		return fail(p, hook, 1, "returned %d, not a decision (0 deny, 1 allow, 2 allow unchanged)", result);
	}
	if (trap || result != WA_ALLOW) wa_host_subscribe_clear(&p->host, 0);
	if (trap) return fail(p, hook, 1, "%s", trap);
	return result == WA_DENY ? WA_DENY : WA_ALLOW;
}

const struct wa_subscribe_rewrite *wa_policy_subscribe_rewrite(const struct wa_policy *p)
{
	return &p->host.sub_rewrite;
}

void wa_policy_subscribe_done(struct wa_policy *p)
{
	wa_host_subscribe_clear(&p->host, 0);
}

const struct wa_message_rewrite *wa_policy_message_rewrite(const struct wa_policy *p)
{
	return &p->host.rewrite;
}

void wa_policy_message_done(struct wa_policy *p)
{
	wa_host_message_clear(&p->host, 0);
}

/* An event hook failed: nothing to decide, so only logged (rate-limited like request failures)
 * and undone: the instance is restored and what the call queued is dropped. */
static void event_failed(struct wa_policy *p, enum wa_hook hook, int discard, const char *why)
{
	char hint[256];

	limit_hint(p, why, 0, hint, sizeof hint);
	if (p->stats) wa_stats_failure(p->stats, hook, wa_stats_failure_kind(why, is_oom_hint(hint), discard));
	report(p, WA_LOG_ERR, "%s failed (ignored): %s%s", wa_hooks[hook].name, why, hint);
	wa_host_actions_truncate(&p->host, p->action_mark);
	if (discard) restore(p);
}

void wa_policy_disconnect(struct wa_policy *p, const void *client, const char *clientid, const char *username)
{
	const enum wa_hook hook = WA_HOOK_ON_DISCONNECT;
	struct wa_field f[2] = { field(clientid, 0), field(username, 1) };
	uint32_t args[2];
	int32_t result = 0;
	const char *trap;

	p->action_mark = p->host.actions.count;
	if (!p->eng || !(p->hooks & (1u << hook))) return;
	if (too_long(f, 2)) {
		event_failed(p, hook, 0, "a field is longer than 65535 bytes");
		return;
	}
	trap = marshal(p, f, 2, args);
	if (!trap) trap = invoke(p, hook, client, args, 2, &result);
	if (trap) event_failed(p, hook, 1, trap);
}

void wa_policy_tick(struct wa_policy *p)
{
	const enum wa_hook hook = WA_HOOK_ON_TICK;
	int32_t result = 0;
	const char *trap;

	p->action_mark = p->host.actions.count;
	if (!p->eng || !(p->hooks & (1u << hook))) return;
	trap = invoke(p, hook, NULL, NULL, 0, &result);
	if (trap) event_failed(p, hook, 1, trap);
}

enum wa_decision wa_policy_session_check(struct wa_policy *p, const char *clientid, const char *username)
{
	const enum wa_hook hook = WA_HOOK_SESSION_CHECK;
	struct wa_field f[2] = { field(clientid, 0), field(username, 1) };
	uint32_t args[2];
	int32_t result = 0;
	const char *trap;

	if (ready(p, hook)) return failure_decision(p, hook);
	if (!(p->hooks & (1u << hook))) return WA_ALLOW;
	if (too_long(f, 2)) return fail(p, hook, 0, "a field is longer than %u bytes", WA_MAX_FIELD_BYTES);
	trap = marshal(p, f, 2, args);
	if (!trap) trap = invoke(p, hook, NULL, args, 2, &result);
	if (trap) return fail(p, hook, 1, "%s", trap);
	return decide(p, hook, result);
}

void wa_policy_count_into(struct wa_policy *p, struct wa_stats *s)
{
	p->stats = s;
	p->sample_countdown = 1; /* the next call is sampled */
}

int wa_policy_ext_auth(struct wa_policy *p, const void *client, int start, const char *clientid, const char *method,
                       const void *data, uint32_t datalen, const uint8_t **out, uint32_t *outlen)
{
	const enum wa_hook hook = start ? WA_HOOK_EXT_AUTH_START : WA_HOOK_EXT_AUTH_CONTINUE;
	struct wa_field f[3] = { field(clientid, 0), field(method, 0), { data ? data : "", data ? datalen : 0u, 1 } };
	uint32_t args[3];
	int32_t result = 0;
	const char *trap;

	*out = p->host.auth_out;
	*outlen = 0;
	if (ready(p, hook)) return WA_DENY;
	if (!(p->hooks & (1u << hook))) return WA_DEFER;
	if (too_long(f, 2) || datalen > WA_MAX_AUTH_DATA_BYTES) {
		return fail(p, hook, 0, "a field is longer than %u bytes", WA_MAX_FIELD_BYTES);
	}
	trap = marshal(p, f, 3, args);
	if (!trap) {
		p->host.auth_out_len = 0;
		p->host.in_ext_auth = 1;
		trap = invoke(p, hook, client, args, 3, &result);
		p->host.in_ext_auth = 0;
	}
	if (trap) return fail(p, hook, 1, "%s", trap);
	if (result == WA_CONTINUE || result == WA_ALLOW) {
		*outlen = p->host.auth_out_len;
		return result;
	}
	if (result == WA_DENY || result == WA_DEFER) return result;
	return fail(p, hook, 1, "returned %d, not a decision (0 deny, 1 allow, 2 defer, 3 continue)", result);
}

unsigned wa_policy_actions_pending(const struct wa_policy *p)
{
	return wa_host_actions_count(&p->host);
}

void wa_policy_take_actions(struct wa_policy *p, void (*run)(const struct wa_action *a, void *ud), void *ud)
{
	wa_host_actions_take(&p->host, run, ud);
}

void wa_policy_wake_on_action(struct wa_policy *p, uint64_t *due)
{
	p->host.actions.wake = due;
}
