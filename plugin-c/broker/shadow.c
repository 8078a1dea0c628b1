#define _POSIX_C_SOURCE 200809L /* strnlen */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acl_cache.h"
#include "breaker.h"
#include "shadow.h"
#include "../runtime/auth.h"
#include "../runtime/grants.h"
#include "../runtime/log.h"
#include "../runtime/text.h"
#include "../runtime/wa_limits.h"
#include "../runtime/watchdog.h"

/* The shadow's own failure lines say "request denied" (or deferred) as the live policy's do:
 * this says whose decision that was. */
#define SHADOW_LOG_PREFIX "shadow policy (not enforced): "

struct wa_shadow {
	struct wa_auth *auth;
	const char *path;           /* the shadow's wasm_module, inside auth's options */
	struct wa_breaker *breaker; /* the shadow's own budget: one bucket, this struct's */
	struct wa_bucket *bucket;
	struct wa_acl_cache *cache; /* NULL when wasm_acl_cache is off (or memory was short) */
	uint64_t cache_epoch;
	int caching; /* the shadow instance in service declares its acl decisions cacheable */
	int granting;
	time_t over_logged; /* when running out of budget was last logged */
	struct wa_shadow_stats stats;
	/* Disagreement lines: a token bucket, in thousandths of a line. */
	uint64_t log_debt;
	uint64_t log_at_ms;
	uint64_t unlogged; /* not logged since the last line written */
	uint64_t mark;     /* wa_policy_audit_mark of the shadow's current request */
	/* The live decision's reason for the current request (wa_shadow_live_reason), not owned. */
	const char *live_reason;
	size_t live_reason_len;
};

static const char *decision_name(enum wa_decision d)
{
	switch (d) {
		case WA_ALLOW: return "allow";
		case WA_DENY: return "deny";
		case WA_DEFER: return "defer";
	}
	return "?";
}

/* mosquitto's MOSQ_ACL_* values (the runtime does not include mosquitto's headers). */
static const char *access_name(int access)
{
	switch (access) {
		case 1: return "read";
		case 2: return "write";
		case 4: return "subscribe";
		case 8: return "unsubscribe";
		default: return "access ?";
	}
}

/* s cut to WA_SHADOW_LOG_FIELD_BYTES, with whatever could forge a log line neutralised. */
static const char *loggable(const char *s, char buf[WA_SHADOW_LOG_FIELD_BYTES + 4])
{
	size_t n;

	if (!s) return "(none)";
	n = strnlen(s, WA_SHADOW_LOG_FIELD_BYTES + 1u);
	if (n > WA_SHADOW_LOG_FIELD_BYTES) {
		memcpy(buf, s, WA_SHADOW_LOG_FIELD_BYTES);
		memcpy(buf + WA_SHADOW_LOG_FIELD_BYTES, "...", 4);
		n = WA_SHADOW_LOG_FIELD_BYTES;
	} else {
		memcpy(buf, s, n + 1u);
	}
	wa_text_sanitize_controls(buf, n);
	return buf;
}

/* 1 when a disagreement line may be written now (and the bucket pays for it). */
static int log_allowed(struct wa_shadow *s)
{
	uint64_t now = wa_watchdog_exact_ms();
	uint64_t paid = (now - s->log_at_ms) * WA_SHADOW_LOG_PER_S;

	s->log_at_ms = now;
	s->log_debt = paid >= s->log_debt ? 0 : s->log_debt - paid;
	if (s->log_debt + 1000u > (uint64_t)WA_SHADOW_LOG_BURST * 1000u) {
		s->unlogged++;
		s->stats.not_logged++;
		return 0;
	}
	s->log_debt += 1000u;
	if (s->unlogged) {
		wa_log(WA_LOG_NOTICE, "shadow policy %s: %llu disagreements not logged (rate limit)", s->path,
		       (unsigned long long)s->unlogged);
		s->unlogged = 0;
	}
	return 1;
}

/* " (REASON)" for a decision's reason (its control characters neutralised), or "" when none. */
static const char *why(const char *reason, size_t len, char buf[WA_MAX_REASON_BYTES + 8])
{
	if (!reason || !len) return "";
	if (len > WA_MAX_REASON_BYTES) len = WA_MAX_REASON_BYTES;
	buf[0] = ' ';
	buf[1] = '(';
	memcpy(buf + 2, reason, len);
	len = 2 + wa_text_sanitize_controls(buf + 2, len);
	buf[len] = ')';
	buf[len + 1] = '\0';
	return buf;
}

/* Both decisions with their reasons: the live one's as wa_shadow_live_reason gave it, the
 * shadow's from its guest (set_reason), or what decided without it (its grants or cache). */
static void log_disagreement(struct wa_shadow *s, const char *clientid, const char *username, const char *what,
                             const char *subject, enum wa_decision live, enum wa_decision shadow, const char *note)
{
	char id[WA_SHADOW_LOG_FIELD_BYTES + 4], user[WA_SHADOW_LOG_FIELD_BYTES + 4];
	char subj[WA_SHADOW_LOG_FIELD_BYTES + 4], live_why[WA_MAX_REASON_BYTES + 8],
	    shadow_why[WA_MAX_REASON_BYTES + 8];
	struct wa_policy_outcome o;
	const char *sr;
	size_t sn;

	if (!log_allowed(s)) return;
	wa_policy_audit_outcome(wa_auth_policy(s->auth), s->mark, &o);
	sr = o.reason;
	sn = o.reason_len;
	if (!sn && !o.guest_ran) {
		sr = s->granting ? "grant or cache" : "cached";
		sn = strlen(sr);
	}
	wa_log(WA_LOG_NOTICE, "shadow policy %s disagrees: client %s, username %s, %s %s: live %s%s, shadow %s%s%s",
	       s->path, loggable(clientid, id), loggable(username, user), what, loggable(subject, subj),
	       decision_name(live), why(s->live_reason, s->live_reason_len, live_why), decision_name(shadow),
	       why(sr, sn, shadow_why), note);
}

void wa_shadow_live_reason(struct wa_shadow *s, const char *reason, size_t len)
{
	if (!s) return;
	s->live_reason = reason;
	s->live_reason_len = len;
}

static void log_over_budget(struct wa_shadow *s)
{
	time_t now = time(NULL);

	if (now - s->over_logged < (time_t)WA_ERROR_LOG_INTERVAL_S) return;
	s->over_logged = now;
	wa_log(WA_LOG_WARNING, "shadow policy %s used its share of broker time (%s %u%%): skipped until it refills",
	       s->path, WA_OPT_SHADOW_SHARE, wa_auth_config(s->auth)->shadow_share);
}

/* The shadow instance to ask for hook, or NULL with the request counted as not compared. */
static struct wa_policy *usable(struct wa_shadow *s, enum wa_hook hook, int live_failed)
{
	struct wa_policy *pol = wa_auth_policy(s->auth);

	if (live_failed) {
		s->stats.live_failed++;
		return NULL;
	}
	if (!pol || wa_policy_broken(pol) || !(wa_policy_hooks(pol) & (1u << hook))) {
		s->stats.unavailable++;
		return NULL;
	}
	s->mark = wa_policy_audit_mark(pol);
	return pol;
}

/* Whether the shadow's budget lets it into the guest now (else counted as skipped). Decisions
 * its cache or grants already hold cost no guest time and are not held back. */
static int afford(struct wa_shadow *s)
{
	if (wa_breaker_admit(s->breaker, s->bucket) == WA_BREAKER_PASS) return 1;
	s->stats.skipped++;
	log_over_budget(s);
	return 0;
}

static struct wa_policy *admit(struct wa_shadow *s, enum wa_hook hook, int live_failed)
{
	struct wa_policy *pol = usable(s, hook, live_failed);

	return pol && afford(s) ? pol : NULL;
}

/* 1 when the shadow's answer counts: it came from the guest, not from a failure. */
static int answered(struct wa_shadow *s, const struct wa_policy *pol, uint64_t failures_before)
{
	if (wa_policy_failures(pol) == failures_before) return 1;
	s->stats.failed++;
	switch (wa_policy_last_failure(pol)) {
		case WA_FAIL_FUEL: s->stats.failed_fuel++; break;
		case WA_FAIL_TIMEOUT: s->stats.failed_deadline++; break;
		default: s->stats.failed_other++; break;
	}
	return 0;
}

static void tally(struct wa_shadow *s, int agree)
{
	s->stats.compared++;
	if (agree)
		s->stats.agreed++;
	else
		s->stats.disagreed++;
}

static void sync_cache(struct wa_shadow *s)
{
	struct wa_policy *pol = wa_auth_policy(s->auth);

	if (s->cache) wa_acl_cache_clear(s->cache);
	s->caching = pol && s->cache && wa_policy_acl_cacheable(pol);
	s->cache_epoch = pol ? wa_policy_epoch(pol) : 0;
}

struct wa_shadow *wa_shadow_new(const struct wa_kv *opts, unsigned n, const struct wa_config *live,
                                const struct wa_client_ops *client_ops)
{
	struct wa_kv kv[WA_MAX_OPTIONS];
	char err[1024];
	struct wa_shadow *s;

	if (!live->shadow_module) return NULL;
	if (n > WA_MAX_OPTIONS) n = WA_MAX_OPTIONS; /* the live policy refused more already */
	for (unsigned i = 0; i < n; i++) {
		kv[i] = opts[i];
		if (kv[i].key && strcmp(kv[i].key, WA_OPT_MODULE) == 0) kv[i].value = live->shadow_module;
	}
	s = calloc(1, sizeof *s);
	if (!s) {
		wa_log(WA_LOG_ERR, "cannot load shadow policy %s, running without a shadow: out of memory",
		       live->shadow_module);
		return NULL;
	}
	s->auth = wa_auth_start(kv, n, client_ops, SHADOW_LOG_PREFIX, err, sizeof err);
	if (!s->auth) {
		wa_log(WA_LOG_ERR, "cannot load shadow policy %s, running without a shadow: %s", live->shadow_module,
		       err);
		free(s);
		return NULL;
	}
	s->path = wa_auth_config(s->auth)->module_path;
	s->breaker = wa_breaker_new(live->shadow_share, live->timeout_ms, live->shadow_share, live->timeout_ms);
	if (!s->breaker) {
		wa_log(WA_LOG_ERR, "cannot load shadow policy %s, running without a shadow: out of memory", s->path);
		wa_auth_free(s->auth);
		free(s);
		return NULL;
	}
	s->bucket = wa_breaker_slot(s->breaker, s);
	if (live->acl_cache) {
		s->cache = wa_acl_cache_new(WA_ACL_CACHE_MIN_HIT_PERCENT);
		s->granting = live->acl_grants;
	}
	sync_cache(s);
	wa_log(WA_LOG_NOTICE,
	       "shadow policy %s: loading; once loaded it is asked every request after the live policy (%s %u%%)",
	       s->path, WA_OPT_SHADOW_SHARE, live->shadow_share);
	return s;
}

void wa_shadow_free(struct wa_shadow *s)
{
	if (!s) return;
	wa_auth_free(s->auth);
	wa_acl_cache_free(s->cache);
	wa_breaker_free(s->breaker);
	free(s);
}

void wa_shadow_reload(struct wa_shadow *s)
{
	if (s) wa_auth_reload_start(s->auth);
}

static void drop_action(const struct wa_action *a, void *ud)
{
	(void)a;
	(void)ud;
}

static void drop_actions(struct wa_shadow *s)
{
	struct wa_policy *pol = wa_auth_policy(s->auth);

	if (pol && wa_policy_actions_pending(pol)) wa_policy_take_actions(pol, drop_action, NULL);
}

int wa_shadow_poll(struct wa_shadow *s)
{
	int changed;

	if (!s) return 0;
	drop_actions(s);
	changed = wa_auth_poll(s->auth) > 0;
	if (changed) {
		drop_actions(s);
		sync_cache(s);
	}
	return changed;
}

int wa_shadow_settle(struct wa_shadow *s)
{
	int rc = wa_auth_settle(s->auth);

	drop_actions(s);
	sync_cache(s);
	return wa_auth_policy(s->auth) ? rc : -1;
}

int wa_shadow_caching(const struct wa_shadow *s)
{
	return s && s->caching;
}

void wa_shadow_forget(struct wa_shadow *s, const void *client)
{
	if (s && s->cache) wa_acl_cache_forget(s->cache, client);
}

void wa_shadow_unpwd_check(struct wa_shadow *s, const void *client, const char *clientid, const char *username,
                           const char *password, enum wa_decision live, int live_failed)
{
	struct wa_policy *pol = admit(s, WA_HOOK_UNPWD_CHECK, live_failed);
	uint64_t failures;
	enum wa_decision d;

	if (!pol) return;
	failures = wa_policy_failures(pol);
	wa_breaker_enter(s->breaker, s->bucket);
	d = wa_policy_unpwd_check(pol, client, username, password);
	wa_breaker_leave(s->breaker);
	if (!answered(s, pol, failures)) return;
	tally(s, d == live);
	if (d != live) log_disagreement(s, clientid, username, "unpwd_check", "connect", live, d, "");
}

/* The shadow's own acl_check through its budget; *ok = 0 when it did not answer. */
static enum wa_decision ask_acl(struct wa_shadow *s, struct wa_policy *pol, const void *client, const char *clientid,
                                const char *username, const char *topic, int access, const void *payload,
                                uint32_t payloadlen, int qos, int retain, int *ok)
{
	uint64_t failures;
	enum wa_decision d;

	if (!afford(s)) {
		*ok = 0;
		return WA_DENY;
	}
	failures = wa_policy_failures(pol);
	wa_breaker_enter(s->breaker, s->bucket);
	d = wa_policy_acl_check(pol, client, clientid, username, topic, access, payload, payloadlen, qos, retain);
	wa_breaker_leave(s->breaker);
	*ok = answered(s, pol, failures);
	return d;
}

/* As plugin.c's cached_acl_check, for the shadow's cache and grants: a cached or granted decision
 * costs the shadow no guest call, and each guest call is first put to its budget. */
static enum wa_decision cached_acl(struct wa_shadow *s, struct wa_policy *pol, const void *client, const char *clientid,
                                   const char *username, const char *topic, int access, const void *payload,
                                   uint32_t payloadlen, int qos, int retain, int *ok)
{
	struct wa_acl_miss miss;
	enum wa_decision d;

	*ok = 1;
	if (wa_policy_epoch(pol) != s->cache_epoch) {
		wa_acl_cache_clear(s->cache);
		s->cache_epoch = wa_policy_epoch(pol);
	}
	if (s->granting && wa_policy_acl_grants(pol)) {
		const struct wa_grants *g = wa_acl_cache_grants(s->cache, client, clientid, username);
		int r;

		if (!g) {
			uint64_t failures = wa_policy_failures(pol);
			struct wa_grants *fresh;

			if (!afford(s)) {
				*ok = 0;
				return WA_DENY;
			}
			wa_breaker_enter(s->breaker, s->bucket);
			fresh = wa_policy_grants(pol, client, clientid, username, &d);
			wa_breaker_leave(s->breaker);
			if (!fresh) {
				*ok = answered(s, pol, failures);
				return d;
			}
			g = wa_acl_cache_set_grants(s->cache, client, clientid, username, fresh);
		}
		r = g ? wa_grants_decide(g, topic, access) : WA_GRANTS_ASK;
		if (r != WA_GRANTS_ASK) return (enum wa_decision)r;
	}
	switch (wa_acl_cache_get(s->cache, client, clientid, username, topic, access, &d, &miss)) {
		case WA_ACL_HIT: return d;
		case WA_ACL_BYPASS:
			return ask_acl(s, pol, client, clientid, username, topic, access, payload, payloadlen, qos,
			               retain, ok);
		case WA_ACL_MISS: break;
	}
	d = ask_acl(s, pol, client, clientid, username, topic, access, payload, payloadlen, qos, retain, ok);
	if (*ok) {
		if (wa_policy_epoch(pol) != s->cache_epoch) { /* re-created during this call */
			wa_acl_cache_clear(s->cache);
			s->cache_epoch = wa_policy_epoch(pol);
		}
		wa_acl_cache_put(s->cache, client, clientid, username, topic, access, d, &miss);
	}
	return d;
}

void wa_shadow_acl_check(struct wa_shadow *s, const void *client, const char *clientid, const char *username,
                         const char *topic, int access, const void *payload, uint32_t payloadlen, int qos, int retain,
                         enum wa_decision live, int live_failed)
{
	struct wa_policy *pol = usable(s, WA_HOOK_ACL_CHECK, live_failed);
	enum wa_decision d;
	int ok;

	if (!pol) return;
	if (s->caching && clientid && wa_policy_acl_cacheable(pol)) {
		d = cached_acl(s, pol, client, clientid, username, topic, access, payload, payloadlen, qos, retain,
		               &ok);
	} else {
		d = ask_acl(s, pol, client, clientid, username, topic, access, payload, payloadlen, qos, retain, &ok);
	}
	if (!ok) return;
	tally(s, d == live);
	if (d != live) log_disagreement(s, clientid, username, access_name(access), topic, live, d, "");
}

void wa_shadow_psk_key_get(struct wa_shadow *s, const void *client, const char *clientid, const char *identity,
                           const char *hint, size_t keycap, enum wa_decision live, const char *live_key,
                           int live_failed)
{
	struct wa_policy *pol = admit(s, WA_HOOK_PSK_KEY_GET, live_failed);
	char key[WA_MAX_PSK_KEY_CHARS + 1];
	uint64_t failures;
	enum wa_decision d;
	int same;

	if (!pol) return;
	if (keycap > sizeof key) keycap = sizeof key;
	failures = wa_policy_failures(pol);
	wa_breaker_enter(s->breaker, s->bucket);
	d = wa_policy_psk_key_get(pol, client, identity, hint, key, keycap);
	wa_breaker_leave(s->breaker);
	if (!answered(s, pol, failures)) return;
	/* Keys are compared, never logged. */
	same = d == live && (d != WA_ALLOW || (live_key && strcmp(key, live_key) == 0));
	tally(s, same);
	if (!same) {
		log_disagreement(s, clientid, NULL, "psk_key_get identity", identity, live, d,
		                 d == live ? " (different keys)" : "");
	}
}

void wa_shadow_stats(const struct wa_shadow *s, struct wa_shadow_stats *out)
{
	if (s)
		*out = s->stats;
	else
		memset(out, 0, sizeof *out);
}
