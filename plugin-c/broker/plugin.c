/* The mosquitto glue (plugin API v5): options in, events to the policy runtime, decisions back
 * as mosquitto return codes. Everything else lives in the runtime (auth.h, policy.h). */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mosq.h"

#include "acl_cache.h"
#include "audit.h"
#include "login.h"
#include "../runtime/auth.h"
#include "breaker.h"
#include "record.h"
#include "sessions.h"
#include "metrics.h"
#include "topic_leak.h"
#include "shadow.h"
#include "../runtime/grants.h"
#include "../runtime/wa_limits.h"
#include "../runtime/log.h"
#include "../runtime/text.h"
#include "../runtime/watchdog.h"

#if WA_MOSQ_21
/* Only 2.1 brokers export these (the login thread's): weak, so that the 2.1 build still loads in
 * an older broker, which refuses wasm_login_thread at startup instead. */
#pragma weak mosquitto_complete_basic_auth
#pragma weak mosquitto_client
#endif

struct plugin {
	mosquitto_plugin_id_t *id;
	struct wa_auth *auth;
	unsigned registered;               /* bit (1u << enum wa_hook) per request callback currently registered */
	MOSQ_FUNC_generic_callback acl_cb; /* the MOSQ_EVT_ACL_CHECK one among them (acl_callback) */
	struct wa_acl_cache *cache;        /* NULL when wasm_acl_cache is off */
	uint64_t cache_epoch;              /* wa_policy_epoch the cached decisions came from */
	int caching;                       /* the current policy's acl decisions are cached (needs DISCONNECT) */
	int cache_live;                    /* caching, and the cache not set aside for now (judge_cache) */
	struct wa_acl_cache_gate gate;     /* judge_cache's */
	uint64_t set_aside_at;             /* acl checks counted at the last count_set_aside */
	uint64_t set_aside_total;          /* of stats.cache_bypass, the checks made while set aside */
	int disconnect_registered;         /* MOSQ_EVT_DISCONNECT: while caching or the policy exports on_disconnect */
	int offline_registered;            /* WA_EVT_CLIENT_OFFLINE with it, where the broker knows the event */
	uint64_t last_tick_ms;             /* when on_tick was last called */
	uint64_t housekept_ms;             /* when housekeeping last ran (on_tick in plugin.c) */
	uint64_t tick_due_ms;              /* when on_tick next has work; 0: now (a reload, a queued action) */
	long next_tick;                    /* what on_tick asks of the broker (ask_next_tick; tick_work sets it) */
	struct wa_sessions *exchanged;     /* sessions an AUTH exchange let in, while the policy has one */
	int reload_pass;                   /* from MOSQ_EVT_RELOAD to the next tick: see on_basic_auth */
	int granting;                      /* wasm_acl_grants on: a policy's grants are used when it exports them */
	int grants_used;                   /* the current policy's grants are in use (logged when that starts) */
	uint64_t granted_epoch;            /* while grants decide: the epoch they are for (granted_acl_check), else 0 */
	struct wa_breaker *breaker;        /* the policy's share of broker time */
	const void *payer;                 /* the client of the last request other than a READ check */
	time_t over_logged[3];             /* when each breaker verdict was last logged */
	struct wa_sessions *sessions;      /* while the policy exports session_check (sessions.h) */
	int rechecking;                    /* a pass of session_check after a reload is under way */
	size_t pass_asked, pass_revoked;
	struct wa_record *record;  /* NULL when wasm_record is not set */
	struct wa_stats stats;     /* counted here and by the runtime (wa_auth_count_into) */
	struct wa_metrics metrics; /* their $SYS publication */
	int free_replaced_topic;   /* the broker leaks a topic on_message replaces (topic_leak.h) */
	struct wa_audit *audit;    /* NULL when wasm_audit is off */
	struct wa_shadow *shadow;  /* wasm_shadow_module, or NULL */
	struct wa_login *login;    /* wasm_login_thread (2.1 builds), or NULL */
	unsigned told_21;          /* 2.1-only hooks (HOOKS_21) the policy exports, already logged (2.0 build) */
};

static void log_to_mosquitto(int level, const char *line)
{
	mosquitto_log_printf(level, "%s", line);
}

static const char *client_id(const void *client)
{
	return mosquitto_client_id(client);
}

static const char *client_address(const void *client)
{
	return mosquitto_client_address(client);
}

static int client_protocol_version(const void *client)
{
	return mosquitto_client_protocol_version(client);
}

static const struct wa_client_ops client_ops = { client_id, client_address, client_protocol_version, 0 };

static int decision_rc(enum wa_decision d, int deny_rc)
{
	switch (d) {
		case WA_ALLOW: return MOSQ_ERR_SUCCESS;
		case WA_DEFER: return MOSQ_ERR_PLUGIN_DEFER;
		default: return deny_rc;
	}
}

/* The decision as mosquitto's return code, counted in by_decision ([enum wa_decision]). */
static inline int counted_rc(uint64_t *by_decision, enum wa_decision d, int deny_rc)
{
	by_decision[d]++;
	return decision_rc(d, deny_rc);
}

/* Who pays for a request (breaker.h). The broker checks READ access while it delivers a message:
 * right after the publisher's WRITE check (a fan-out) or the subscriber's SUBSCRIBE check (its
 * retained messages), in the same pass. The client of the last request that was not a READ check
 * caused it, and pays. */
static const void *payer(struct plugin *pl, const void *client, int access)
{
	if (access == MOSQ_ACL_READ && pl->payer) return pl->payer;
	pl->payer = client;
	return client;
}

/* Logs a refusal by the breaker: one line per WA_ERROR_LOG_INTERVAL_S for each reason. */
static void log_over_budget(struct plugin *pl, enum wa_breaker_verdict v, const void *who)
{
	const struct wa_config *cfg = wa_auth_config(pl->auth);
	time_t now = time(NULL);

	if (now - pl->over_logged[v] >= (time_t)WA_ERROR_LOG_INTERVAL_S) {
		pl->over_logged[v] = now;
		if (v == WA_BREAKER_CLIENT && who == pl) {
			wa_log(WA_LOG_WARNING,
			       "on_tick used its share of policy time (%s %u%%): skipped until it refills",
			       WA_OPT_CLIENT_SHARE, cfg->client_share);
		} else if (v == WA_BREAKER_CLIENT) {
			const char *id = mosquitto_client_id(who);
			wa_log(WA_LOG_WARNING,
			       "client %s used its share of policy time (%s %u%%): its requests get the "
			       "failure decision until it refills",
			       id ? id : "(unknown)", WA_OPT_CLIENT_SHARE, cfg->client_share);
		} else {
			wa_log(WA_LOG_WARNING,
			       "the policy used its share of broker time (%s %u%%): requests get the failure "
			       "decision until it refills",
			       WA_OPT_CPU_SHARE, cfg->cpu_share);
		}
	}
}

/* The bucket who pays from, or NULL when the request must get the failure decision without
 * entering the guest (logged). */
static inline struct wa_bucket *admit(struct plugin *pl, const void *who)
{
	struct wa_bucket *k = wa_breaker_slot(pl->breaker, who);
	enum wa_breaker_verdict v = wa_breaker_admit(pl->breaker, k);

	if (v == WA_BREAKER_PASS) return k;
	log_over_budget(pl, v, who);
	return NULL;
}

/* ---- record (record.h): called only while wasm_record is set ---- */

static const char *access_word(int access)
{
	switch (access) {
		case MOSQ_ACL_READ: return "read";
		case MOSQ_ACL_WRITE: return "write";
		case MOSQ_ACL_SUBSCRIBE: return "subscribe";
		case MOSQ_ACL_UNSUBSCRIBE: return "unsubscribe";
		default: return "none";
	}
}

static void record_connect(struct plugin *pl, const struct mosquitto_evt_basic_auth *ed, enum wa_decision d)
{
	struct wa_record_entry e = { mosquitto_client_id(ed->client),
		                     ed->username,
		                     mosquitto_client_address(ed->client),
		                     mosquitto_client_protocol_version(ed->client),
		                     "connect",
		                     NULL,
		                     0,
		                     0,
		                     NULL,
		                     0,
		                     ed->password != NULL,
		                     d };
	wa_record_write(pl->record, &e);
}

static void record_acl(struct plugin *pl, const struct mosquitto_evt_acl_check *ed, enum wa_decision d)
{
	struct wa_record_entry e = { mosquitto_client_id(ed->client),
		                     mosquitto_client_username(ed->client),
		                     mosquitto_client_address(ed->client),
		                     mosquitto_client_protocol_version(ed->client),
		                     access_word(ed->access),
		                     ed->topic,
		                     ed->qos,
		                     ed->retain,
		                     ed->payload,
		                     ed->payloadlen,
		                     0,
		                     d };
	wa_record_write(pl->record, &e);
}

/* The live decision's reason for the shadow's disagreement lines (shadow.h): the policy's own
 * (set_reason), or, as the audit says it, what decided without calling it. */
static void tell_shadow(struct plugin *pl, struct wa_policy *pol, uint64_t mark, int acl)
{
	struct wa_policy_outcome o;
	const char *r;
	size_t n;

	wa_policy_audit_outcome(pol, mark, &o);
	r = o.reason;
	n = o.reason_len;
	if (!n && acl && (pl->grants_used || !o.guest_ran)) { /* the audit's labels (audited_acl_check) */
		r = pl->grants_used ? "grant" : "cached";
		n = strlen(r);
	}
	wa_shadow_live_reason(pl->shadow, r, n);
}

/* A session a login let in, asked session_check after each reload while the policy exports it
 * (sessions.h). */
static void track_session(struct plugin *pl, const void *client, const char *clientid, const char *username)
{
	if (!pl->sessions || wa_sessions_add(pl->sessions, client, clientid, username) == 0) return;
	wa_log(WA_LOG_WARNING, "out of memory or over %u sessions: a session is not asked session_check after reloads",
	       WA_MAX_SESSIONS);
}

/* At a reload mosquitto asks basic authentication again of every connected client, within the
 * same pass of its loop as MOSQ_EVT_RELOAD, so of the policy being replaced (the new one is still
 * being built): its answer tells nothing new, and costs a password check per client on the main
 * thread (45 ms each for an argon2id hash). Two kinds of session keep their place without it: one
 * an AUTH exchange let in (never a password login), and one the policy let in while it exports
 * session_check, which asks the new policy about it once that serves (docs/ABI.md,
 * "Revocation"). */
static int rechecked_elsewhere(struct plugin *pl, const struct mosquitto_evt_basic_auth *ed)
{
	const char *id = mosquitto_client_id(ed->client);

	return (pl->exchanged && wa_sessions_has(pl->exchanged, ed->client, id, ed->username)) ||
	       (pl->sessions && wa_sessions_has(pl->sessions, ed->client, id, ed->username));
}

/* mosquitto's thread, where mosquitto_plugin_init runs. */
static pthread_t main_thread;

/* mosquitto 2.1's HTTP API asks for basic authentication (and then ACL checks) from
 * libmicrohttpd's own thread, with a client on that thread's stack (http_api.c, check_access).
 * Nothing in this plugin is made for a second caller, and mosquitto's API is not either: such a
 * login is refused without touching anything, and the first one says so in the log (queued for
 * the main thread). A refused login never reaches an ACL check. */
static int off_main_thread(void)
{
	static atomic_flag told = ATOMIC_FLAG_INIT;

	if (pthread_equal(pthread_self(), main_thread)) return 0;
	if (!atomic_flag_test_and_set(&told)) {
		wa_log_defer(1);
		wa_log(WA_LOG_WARNING, "a login asked from outside mosquitto's main thread (its HTTP API) is refused: "
		                       "the policy answers on the main thread only");
	}
	return 1;
}

static int on_basic_auth(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_basic_auth *ed = event_data;
	struct plugin *pl = userdata;
	struct wa_policy *pol;
	struct wa_bucket *k;
	uint64_t failures, mark;
	enum wa_decision d;

	(void)event;
	if (off_main_thread()) return MOSQ_ERR_AUTH;
	if (pl->reload_pass && rechecked_elsewhere(pl, ed)) return MOSQ_ERR_SUCCESS;
	pol = wa_auth_policy(pl->auth);
	k = admit(pl, payer(pl, ed->client, MOSQ_ACL_NONE));
	failures = wa_policy_failures(pol); /* moved: the live decision was a failure */
	mark = pl->shadow ? wa_policy_audit_mark(pol) : 0;
	if (!k) {
		d = wa_policy_refuse(pol, WA_HOOK_UNPWD_CHECK, !ed->username);
	} else {
		wa_breaker_enter(pl->breaker, k);
		d = wa_policy_unpwd_check(pol, ed->client, ed->username, ed->password);
		wa_breaker_leave(pl->breaker);
	}
	if (d == WA_ALLOW) track_session(pl, ed->client, mosquitto_client_id(ed->client), ed->username);
	if (pl->shadow) {
		tell_shadow(pl, pol, mark, 0);
		wa_shadow_unpwd_check(pl->shadow, ed->client, mosquitto_client_id(ed->client), ed->username,
		                      ed->password, d, wa_policy_failures(pol) != failures);
	}
	return counted_rc(pl->stats.unpwd, d, MOSQ_ERR_AUTH);
}

/* An acl_check through the breaker; out of line and whole (see asked_acl_check). */
__attribute__((noinline, flatten)) static enum wa_decision checked_acl(struct plugin *pl, struct wa_policy *pol,
                                                                       const struct mosquitto_evt_acl_check *ed,
                                                                       const char *clientid, const char *username)
{
	struct wa_bucket *k = admit(pl, payer(pl, ed->client, ed->access));
	enum wa_decision d;

	if (!k) return wa_policy_refuse(pol, WA_HOOK_ACL_CHECK, 0);
	wa_breaker_enter(pl->breaker, k);
	d = wa_policy_acl_check(pol, ed->client, clientid, username, ed->topic, ed->access, ed->payload, ed->payloadlen,
	                        ed->qos, ed->retain);
	wa_breaker_leave(pl->breaker);
	return d;
}

/* The client's grants decide (docs/ABI.md, "Grants"), or WA_GRANTS_ASK. At a client's first
 * check the guest computes them, as a request through the breaker. */
static int granted(struct plugin *pl, struct wa_policy *pol, const struct mosquitto_evt_acl_check *ed,
                   const char *clientid, const char *username)
{
	const struct wa_grants *g = wa_acl_cache_grants(pl->cache, ed->client, clientid, username);
	struct wa_grants *fresh;
	struct wa_bucket *k;
	enum wa_decision d;

	if (!g) {
		k = admit(pl, payer(pl, ed->client, ed->access));
		if (!k) return wa_policy_refuse(pol, WA_HOOK_ACL_CHECK, 0);
		wa_breaker_enter(pl->breaker, k);
		fresh = wa_policy_grants(pol, ed->client, clientid, username, &d);
		wa_breaker_leave(pl->breaker);
		if (!fresh) return d;
		pl->stats.grants_built++;
		/* A failure discards cached decisions and grants by moving the epoch; success cannot. */
		g = wa_acl_cache_set_grants(pl->cache, ed->client, clientid, username, fresh);
		if (!g) return WA_GRANTS_ASK; /* memory is short: acl_check decides */
	}
	return wa_grants_decide(g, ed->topic, ed->access);
}

/* The cache is dropped whenever the policy's epoch moves (reload, re-created instance), and
 * only decisions the guest itself returned are stored (never the failure decision). */
static enum wa_decision cached_acl_check(struct plugin *pl, struct wa_policy *pol,
                                         const struct mosquitto_evt_acl_check *ed, const char *clientid,
                                         const char *username)
{
	struct wa_acl_miss miss;
	uint64_t failures;
	enum wa_decision d;

	if (wa_policy_epoch(pol) != pl->cache_epoch) {
		wa_acl_cache_clear(pl->cache);
		pl->cache_epoch = wa_policy_epoch(pol);
		pl->granted_epoch = pl->granting && wa_policy_acl_grants(pol) ? pl->cache_epoch : 0;
	}
	if (!clientid) return checked_acl(pl, pol, ed, clientid, username);
	if (pl->granting && wa_policy_acl_grants(pol)) {
		int r = granted(pl, pol, ed, clientid, username);
		if (r != WA_GRANTS_ASK) {
			pl->stats.grants_hits++;
			return (enum wa_decision)r;
		}
	}
	switch (wa_acl_cache_get(pl->cache, ed->client, clientid, username, ed->topic, ed->access, &d, &miss)) {
		case WA_ACL_HIT: pl->stats.cache_hits++; return d;
		case WA_ACL_BYPASS: pl->stats.cache_bypass++; return checked_acl(pl, pol, ed, clientid, username);
		case WA_ACL_MISS: pl->stats.cache_misses++; break;
	}
	failures = wa_policy_failures(pol);
	d = checked_acl(pl, pol, ed, clientid, username);
	if (wa_policy_failures(pol) == failures) {
		if (wa_policy_epoch(pol) != pl->cache_epoch) { /* re-created during this call */
			wa_acl_cache_clear(pl->cache);
			pl->cache_epoch = wa_policy_epoch(pol);
		}
		wa_acl_cache_put(pl->cache, ed->client, clientid, username, ed->topic, ed->access, d, &miss);
	}
	return d;
}

/* The acl callback while grants are not in use, and every check they do not decide: out of line
 * and whole, so that neither path pays for the other's registers (not flattened: inlining
 * everything here spills more than the calls it saves). */
__attribute__((noinline)) static int asked_acl_check(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_acl_check *ed = event_data;
	struct plugin *pl = userdata;
	struct wa_policy *pol = wa_auth_policy(pl->auth);
	enum wa_decision d;

	(void)event;
	if (pl->cache_live && wa_policy_acl_cacheable(pol))
		d = cached_acl_check(pl, pol, ed, mosquitto_client_id(ed->client),
		                     mosquitto_client_username(ed->client));
	else
		d = checked_acl(pl, pol, ed, mosquitto_client_id(ed->client), mosquitto_client_username(ed->client));
	return counted_rc(pl->stats.acl[wa_stats_access_slot(ed->access)], d, MOSQ_ERR_ACL_DENIED);
}

/* The acl callback while grants are in use (acl_callback): a READ or WRITE check the client's
 * grants decide, while the policy in service is the one they came from (granted_epoch, set by
 * cached_acl_check); every other one is asked_acl_check's (a tail call). Flattened: what is not
 * on that path is out of line (asked_acl_check, the grants' general matcher). */
__attribute__((noinline, flatten)) static int granted_acl_check(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_acl_check *ed = event_data;
	struct plugin *pl = userdata;
	const struct wa_grants *g;
	int d;

	if (pl->granted_epoch == wa_policy_epoch(wa_auth_policy(pl->auth)) &&
	    (g = wa_acl_cache_grants(pl->cache, ed->client, mosquitto_client_id(ed->client),
	                             mosquitto_client_username(ed->client))) &&
	    (d = wa_grants_decide(g, ed->topic, ed->access)) != WA_GRANTS_ASK)
		return counted_rc(pl->stats.acl_granted[wa_stats_access_slot(ed->access)], (enum wa_decision)d,
		                  MOSQ_ERR_ACL_DENIED);
	(void)event; /* always MOSQ_EVT_ACL_CHECK: not kept across the calls above */
	return asked_acl_check(MOSQ_EVT_ACL_CHECK, event_data, userdata);
}

/* ---- audit (audit.h) --------------------------------------------------------------------------
 * With wasm_audit or wasm_record on, these callbacks are registered instead of on_basic_auth and
 * the acl callback (which stay exactly as they are: with both off a request pays nothing), call
 * them, write the request to the record file (record.h), and record
 * where the decision came from (wa_policy_audit_outcome): a failure names its cause, a decision
 * made without guest code names what made it (the client's grants, or the decision cache), and a
 * guest's decision carries its set_reason text (empty when it gave none). They are called
 * through a pointer, as mosquitto calls them: a direct call would give them a second caller, and
 * the optimiser then inlines less into them (measured: 35 more instructions per check decided
 * by grants). */
static MOSQ_FUNC_generic_callback volatile basic_auth_cb = on_basic_auth;
static MOSQ_FUNC_generic_callback volatile acl_check_cb = asked_acl_check; /* sync_acl_callback */

static enum wa_decision rc_decision(int rc)
{
	return rc == MOSQ_ERR_SUCCESS ? WA_ALLOW : rc == MOSQ_ERR_PLUGIN_DEFER ? WA_DEFER : WA_DENY;
}

/* r->decision set and wanted; o: where it came from. */
static void audit_outcome(struct plugin *pl, const struct wa_policy_outcome *op, struct wa_audit_record *r,
                          int by_grants)
{
	struct wa_policy_outcome o = *op;
	char why[WA_AUDIT_FIELD_BYTES];

	r->fuel = o.fuel_used;
	r->source = "policy";
	r->reason = o.reason;
	r->reason_len = o.reason_len;
	if (o.failed) {
		r->source = "failure";
		r->reason_len = (size_t)snprintf(why, sizeof why, "failure: %s", o.failure);
		if (r->reason_len >= sizeof why) r->reason_len = sizeof why - 1;
		r->reason = why;
	} else if (!o.reason_len && (by_grants || !o.guest_ran)) {
		r->source = by_grants ? "grant" : "cached";
		r->reason = r->source;
		r->reason_len = strlen(r->source);
	}
	wa_audit_write(pl->audit, r);
}

static void audit(struct plugin *pl, uint64_t mark, int rc, struct wa_audit_record *r, int by_grants)
{
	struct wa_policy_outcome o;

	r->decision = rc_decision(rc);
	if (!wa_audit_wanted(pl->audit, r->decision)) return;
	wa_policy_audit_outcome(wa_auth_policy(pl->auth), mark, &o);
	audit_outcome(pl, &o, r, by_grants);
}

static int audited_basic_auth(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_basic_auth *ed = event_data;
	struct plugin *pl = userdata;
	uint64_t mark;
	int rc;

	if (off_main_thread()) return MOSQ_ERR_AUTH;
	mark = wa_policy_audit_mark(wa_auth_policy(pl->auth));
	rc = basic_auth_cb(event, event_data, userdata);

	if (pl->record) record_connect(pl, ed, rc_decision(rc));
	if (pl->audit) {
		/* the username, never the password */
		struct wa_audit_record r = {
			mosquitto_client_id(ed->client), ed->username, "connect", NULL, WA_DENY, NULL, NULL, 0, 0
		};
		audit(pl, mark, rc, &r, 0);
	}
	return rc;
}

/* While the client's grants are in use (sync_cache) they answer first: a check they leave to the
 * policy is labelled theirs too unless the policy gave a reason. */
static int audited_acl_check(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_acl_check *ed = event_data;
	struct plugin *pl = userdata;
	uint64_t mark = wa_policy_audit_mark(wa_auth_policy(pl->auth));
	int rc = acl_check_cb(event, event_data, userdata);

	if (pl->record) record_acl(pl, ed, rc_decision(rc));
	if (pl->audit) {
		/* the topic, never the payload */
		struct wa_audit_record r = { mosquitto_client_id(ed->client),
			                     mosquitto_client_username(ed->client),
			                     access_word(ed->access),
			                     ed->topic,
			                     WA_DENY,
			                     NULL,
			                     NULL,
			                     0,
			                     0 };
		audit(pl, mark, rc, &r, pl->grants_used && r.clientid != NULL);
	}
	return rc;
}

/* on_acl_check's stand-in while a shadow is configured (sync_callbacks registers one or the
 * other), so that without a shadow the acl path does not even test for one. The same live path,
 * then the shadow with the same client id and username. */
__attribute__((flatten)) static int on_acl_check_shadowed(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_acl_check *ed = event_data;
	struct plugin *pl = userdata;
	struct wa_policy *pol = wa_auth_policy(pl->auth);
	const char *clientid = mosquitto_client_id(ed->client);
	const char *username = mosquitto_client_username(ed->client);
	uint64_t failures = wa_policy_failures(pol);
	uint64_t mark = wa_policy_audit_mark(pol);
	enum wa_decision d;

	(void)event;
	if (pl->cache_live && wa_policy_acl_cacheable(pol))
		d = cached_acl_check(pl, pol, ed, clientid, username);
	else
		d = checked_acl(pl, pol, ed, clientid, username);
	tell_shadow(pl, pol, mark, 1);
	wa_shadow_acl_check(pl->shadow, ed->client, clientid, username, ed->topic, ed->access, ed->payload,
	                    ed->payloadlen, ed->qos, ed->retain, d, wa_policy_failures(pol) != failures);
	return counted_rc(pl->stats.acl[wa_stats_access_slot(ed->access)], d, MOSQ_ERR_ACL_DENIED);
}

static int on_psk_key(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_psk_key *ed = event_data;
	struct plugin *pl = userdata;
	struct wa_policy *pol = wa_auth_policy(pl->auth);
	struct wa_bucket *k;
	uint64_t failures = wa_policy_failures(pol); /* moved: the live decision was a failure */
	uint64_t mark = pl->shadow ? wa_policy_audit_mark(pol) : 0;
	enum wa_decision d;

	(void)event;
	if (!ed->key || ed->max_key_len <= 0) return MOSQ_ERR_AUTH;
	k = admit(pl, payer(pl, ed->client, MOSQ_ACL_NONE));
	if (!k) {
		wa_stats_failure(&pl->stats, WA_HOOK_PSK_KEY_GET, WA_FAIL_BUDGET);
		d = WA_DENY; /* no key: the handshake fails */
	} else {
		wa_breaker_enter(pl->breaker, k);
		d = wa_policy_psk_key_get(pol, ed->client, ed->identity, ed->hint, ed->key, (size_t)ed->max_key_len);
		wa_breaker_leave(pl->breaker);
	}
	if (pl->shadow) {
		tell_shadow(pl, pol, mark, 0);
		wa_shadow_psk_key_get(pl->shadow, ed->client, mosquitto_client_id(ed->client), ed->identity, ed->hint,
		                      (size_t)ed->max_key_len, d, ed->key, !k || wa_policy_failures(pol) != failures);
	}
	if (!k) {
		pl->stats.psk[WA_DENY]++;
		return MOSQ_ERR_AUTH;
	}
	return counted_rc(pl->stats.psk, d, MOSQ_ERR_AUTH);
}

/* Hands an allowed message's rewrite to mosquitto, in memory from mosquitto_malloc (it frees what
 * it is given). Every 2.x frees the payload it replaces; the topic only from 2.0.15 on, so on an
 * older broker the plugin frees it (topic_leak.h). All or nothing: out of memory, the message is
 * dropped. qos is not offered: mosquitto 2.0 and 2.1 ignore a qos changed in MOSQ_EVT_MESSAGE. */
static int apply_rewrite(struct mosquitto_evt_message *ed, const struct wa_message_rewrite *r, int free_old_topic)
{
	char *topic = NULL;
	void *payload = NULL;

	if (r->topic && !(topic = mosquitto_strdup(r->topic))) return MOSQ_ERR_ACL_DENIED;
	if (r->has_payload && r->payloadlen) {
		payload = mosquitto_malloc((size_t)r->payloadlen + 1u);
		if (!payload) {
			mosquitto_free(topic);
			return MOSQ_ERR_ACL_DENIED;
		}
		memcpy(payload, r->payload, (size_t)r->payloadlen + 1u); /* mosquitto's payloads end in a NUL too */
	}
	if (topic) {
		char *old = ed->topic;
		ed->topic = topic;
		if (free_old_topic) mosquitto_free(old);
	}
	if (r->has_payload) {
		ed->payload = payload; /* NULL for an empty payload, as mosquitto stores one */
		ed->payloadlen = r->payloadlen;
	}
	if (r->retain >= 0) ed->retain = r->retain != 0;
	return MOSQ_ERR_SUCCESS;
}

/* MOSQ_EVT_MESSAGE: on_message delivers (maybe rewritten) or drops. Only SUCCESS and ACL_DENIED
 * are returned: mosquitto disconnects the publisher on any other code. */
static int on_message(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_message *ed = event_data;
	struct plugin *pl = userdata;
	struct wa_policy *pol = wa_auth_policy(pl->auth);
	struct wa_bucket *k = admit(pl, payer(pl, ed->client, MOSQ_ACL_WRITE));
	enum wa_decision d;
	int rc;

	(void)event;
	if (!k) return decision_rc(wa_policy_refuse(pol, WA_HOOK_ON_MESSAGE, 0), MOSQ_ERR_ACL_DENIED);
	wa_breaker_enter(pl->breaker, k);
	d = wa_policy_message(pol, ed->client, mosquitto_client_id(ed->client), mosquitto_client_username(ed->client),
	                      ed->topic, ed->payload, ed->payloadlen, ed->qos, ed->retain);
	wa_breaker_leave(pl->breaker);
	rc = d == WA_ALLOW ? apply_rewrite(ed, wa_policy_message_rewrite(pol), pl->free_replaced_topic)
	                   : MOSQ_ERR_ACL_DENIED;
	wa_policy_message_done(pol);
	return rc;
}

#if WA_MOSQ_21
/* MOSQ_EVT_MESSAGE_OUT (2.1.2's send__publish): one subscriber's copy, just before it is sent;
 * ed->client is the subscriber. 2.1.2 frees a topic or payload the callback replaces with
 * mosquitto_free once the copy is sent, and frees the originals itself later: never freed here
 * (apply_rewrite with free_old_topic 0). Any code but SUCCESS drops this copy only. Paid like a
 * READ check: by the client whose request caused the delivery. */
static int on_message_out(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_message *ed = event_data;
	struct plugin *pl = userdata;
	struct wa_policy *pol = wa_auth_policy(pl->auth);
	struct wa_bucket *k = admit(pl, payer(pl, ed->client, MOSQ_ACL_READ));
	enum wa_decision d;
	int rc;

	(void)event;
	if (!k) return decision_rc(wa_policy_refuse(pol, WA_HOOK_ON_MESSAGE_OUT, 0), MOSQ_ERR_ACL_DENIED);
	wa_breaker_enter(pl->breaker, k);
	d = wa_policy_message_out(pol, ed->client, mosquitto_client_id(ed->client),
	                          mosquitto_client_username(ed->client), ed->topic, ed->payload, ed->payloadlen,
	                          ed->qos, ed->retain);
	wa_breaker_leave(pl->breaker);
	rc = d == WA_ALLOW ? apply_rewrite(ed, wa_policy_message_rewrite(pol), 0) : MOSQ_ERR_ACL_DENIED;
	wa_policy_message_done(pol);
	return rc;
}

/* MOSQ_EVT_SUBSCRIBE (2.1.2's handle__subscribe): after the SUBSCRIBE ACL check of the filter
 * the client sent allowed it, before the subscription is added and retained messages are queued.
 * 2.1.2 frees a filter the callback replaces (mosquitto_free) and takes the QoS from options; the
 * SUBACK keeps the QoS granted before. Any code but SUCCESS makes 2.1.2 drop the whole SUBSCRIBE
 * packet and disconnect the client: it has no SUBACK failure after its ACL check. */
static int on_subscribe(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_subscribe *ed = event_data;
	struct plugin *pl = userdata;
	struct wa_policy *pol = wa_auth_policy(pl->auth);
	struct wa_bucket *k = admit(pl, payer(pl, ed->client, MOSQ_ACL_SUBSCRIBE));
	const struct wa_subscribe_rewrite *r;
	int granted = MQTT_SUB_OPT_GET_QOS(ed->data.options);
	enum wa_decision d;
	int rc = MOSQ_ERR_SUCCESS;

	(void)event;
	if (!k) return decision_rc(wa_policy_refuse(pol, WA_HOOK_ON_SUBSCRIBE, 0), MOSQ_ERR_ACL_DENIED);
	wa_breaker_enter(pl->breaker, k);
	d = wa_policy_subscribe(pol, ed->client, mosquitto_client_id(ed->client), mosquitto_client_username(ed->client),
	                        ed->data.topic_filter, granted);
	wa_breaker_leave(pl->breaker);
	if (d != WA_ALLOW) {
		rc = MOSQ_ERR_ACL_DENIED;
	} else {
		r = wa_policy_subscribe_rewrite(pol);
		if (r->topic) {
			char *filter = mosquitto_strdup(r->topic);
			if (filter)
				ed->data.topic_filter = filter;
			else
				rc = MOSQ_ERR_ACL_DENIED; /* all or nothing */
		}
		/* Never above what the broker granted (its max_qos, the SUBACK already computed). */
		if (rc == MOSQ_ERR_SUCCESS && r->qos >= 0 && r->qos < granted)
			ed->data.options = (uint8_t)((ed->data.options & ~0x03u) | (unsigned)r->qos);
	}
	wa_policy_subscribe_done(pol);
	return rc;
}
#endif

/* A client goes: its cached decisions and grants with it, and the policy hears of it
 * (on_disconnect, paid by the client like its requests). A client that never had a client id
 * (refused at CONNECT before it gave one) is not reported. */
static int on_disconnect(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_disconnect *ed = event_data;
	struct plugin *pl = userdata;
	struct wa_policy *pol = wa_auth_policy(pl->auth);
	const char *clientid;
	struct wa_bucket *k;

	(void)event;
	if (pl->caching) wa_acl_cache_forget(pl->cache, ed->client);
	if (pl->sessions) wa_sessions_remove(pl->sessions, ed->client);
	if (pl->exchanged) wa_sessions_remove(pl->exchanged, ed->client);
	wa_shadow_forget(pl->shadow, ed->client);
	if (!(wa_policy_hooks(pol) & (1u << WA_HOOK_ON_DISCONNECT))) return MOSQ_ERR_SUCCESS;
	clientid = mosquitto_client_id(ed->client);
	if (!clientid) return MOSQ_ERR_SUCCESS;
	/* Not the payer of later READ checks: this client is going away. */
	k = admit(pl, ed->client);
	if (!k) {
		wa_stats_failure(&pl->stats, WA_HOOK_ON_DISCONNECT, WA_FAIL_BUDGET);
		return MOSQ_ERR_SUCCESS;
	}
	pl->stats.events[0]++;
	wa_breaker_enter(pl->breaker, k);
	wa_policy_disconnect(pol, ed->client, clientid, mosquitto_client_username(ed->client));
	wa_breaker_leave(pl->breaker);
	return MOSQ_ERR_SUCCESS;
}

/* MQTT 5 enhanced authentication (docs/ABI.md, "Enhanced authentication"). mosquitto frees
 * data_out with mosquitto_free; no answer other than the guest's own allow is success. */
static int ext_auth(struct plugin *pl, int start, struct mosquitto_evt_extended_auth *ed)
{
	struct wa_policy *pol = wa_auth_policy(pl->auth);
	struct wa_bucket *k = admit(pl, payer(pl, ed->client, MOSQ_ACL_NONE));
	const uint8_t *out = NULL;
	uint32_t outlen = 0;
	int d;

	if (!k) {
		wa_policy_refuse(pol, start ? WA_HOOK_EXT_AUTH_START : WA_HOOK_EXT_AUTH_CONTINUE, 0);
		return MOSQ_ERR_AUTH;
	}
	wa_breaker_enter(pl->breaker, k);
	d = wa_policy_ext_auth(pol, ed->client, start, mosquitto_client_id(ed->client), ed->auth_method, ed->data_in,
	                       ed->data_in_len, &out, &outlen);
	wa_breaker_leave(pl->breaker);
	if (d == WA_DEFER) return MOSQ_ERR_PLUGIN_DEFER;
	if (d != WA_ALLOW && d != WA_CONTINUE) return MOSQ_ERR_AUTH;
	ed->data_out = NULL;
	ed->data_out_len = 0;
	if (outlen) {
		/* outlen <= WA_MAX_AUTH_DATA_BYTES, which fits data_out_len (uint16_t). */
		ed->data_out = mosquitto_malloc(outlen);
		if (!ed->data_out) return MOSQ_ERR_AUTH;
		memcpy(ed->data_out, out, outlen);
		ed->data_out_len = (uint16_t)outlen;
	}
	if (d == WA_ALLOW) {
		const char *id = mosquitto_client_id(ed->client), *username = mosquitto_client_username(ed->client);
		track_session(pl, ed->client, id, username);
		if (pl->exchanged && wa_sessions_add(pl->exchanged, ed->client, id, username) != 0)
			wa_log(WA_LOG_WARNING,
			       "out of memory or over %u sessions: a session an AUTH exchange let in is "
			       "asked unpwd_check at the next reload",
			       WA_MAX_SESSIONS);
	}
	return d == WA_ALLOW ? MOSQ_ERR_SUCCESS : MOSQ_ERR_AUTH_CONTINUE;
}

static int on_ext_auth_start(int event, void *event_data, void *userdata)
{
	(void)event;
	return ext_auth(userdata, 1, event_data);
}

static int on_ext_auth_continue(int event, void *event_data, void *userdata)
{
	(void)event;
	return ext_auth(userdata, 0, event_data);
}

static const struct {
	enum wa_hook hook;
	int event;
	MOSQ_FUNC_generic_callback cb;
	MOSQ_FUNC_generic_callback audited;  /* instead of cb while wasm_audit or wasm_record is on, or NULL */
	MOSQ_FUNC_generic_callback shadowed; /* instead of cb while a shadow is configured, or NULL */
} request_events[] = {
	{ WA_HOOK_UNPWD_CHECK, MOSQ_EVT_BASIC_AUTH, on_basic_auth, audited_basic_auth, NULL },
	{ WA_HOOK_ACL_CHECK, MOSQ_EVT_ACL_CHECK, asked_acl_check, audited_acl_check, on_acl_check_shadowed },
	{ WA_HOOK_PSK_KEY_GET, MOSQ_EVT_PSK_KEY, on_psk_key, NULL, NULL },
	{ WA_HOOK_ON_MESSAGE, MOSQ_EVT_MESSAGE, on_message, NULL, NULL },
	{ WA_HOOK_EXT_AUTH_START, MOSQ_EVT_EXT_AUTH_START, on_ext_auth_start, NULL, NULL },
	{ WA_HOOK_EXT_AUTH_CONTINUE, MOSQ_EVT_EXT_AUTH_CONTINUE, on_ext_auth_continue, NULL, NULL },
#if WA_MOSQ_21
	{ WA_HOOK_ON_MESSAGE_OUT, MOSQ_EVT_MESSAGE_OUT, on_message_out, NULL, NULL },
	{ WA_HOOK_ON_SUBSCRIBE, MOSQ_EVT_SUBSCRIBE, on_subscribe, NULL, NULL },
#endif
};
#define N_REQUEST_EVENTS (sizeof request_events / sizeof request_events[0])

#if WA_MOSQ_21
static int on_basic_auth_delayed(int event, void *event_data, void *userdata);
#endif

/* Hooks whose events only mosquitto 2.1 has. */
#define HOOKS_21 ((1u << WA_HOOK_ON_MESSAGE_OUT) | (1u << WA_HOOK_ON_SUBSCRIBE))

/* A policy exporting 2.1-only hooks is told once per policy put in service when they cannot be
 * called: in a 2.0 build (no such events in its headers), or by a broker older than 2.1 that
 * refuses to register them. Never a failure: the rest of the policy works. */
static void tell_21(struct plugin *pl, unsigned hooks, const char *why)
{
	unsigned missing = hooks & HOOKS_21 & ~pl->told_21;

	pl->told_21 = hooks & HOOKS_21;
	if (!missing) return;
	wa_log(WA_LOG_WARNING, "the policy exports %s%s%s, which %s: not called",
	       missing & (1u << WA_HOOK_ON_MESSAGE_OUT) ? "on_message_out" : "", missing == HOOKS_21 ? " and " : "",
	       missing & (1u << WA_HOOK_ON_SUBSCRIBE) ? "on_subscribe" : "", why);
}

/* The acl callback for the plugin's state: audited or shadowed when configured, else the grants'
 * path while they are in use, so that no check tests which path is its own. Each of them decides
 * correctly in every state (granted_acl_check hands over whatever its grants do not decide); the
 * choice is only what a check costs. */
static MOSQ_FUNC_generic_callback acl_callback(const struct plugin *pl)
{
	if (pl->audit || pl->record) return audited_acl_check;
	if (pl->shadow) return on_acl_check_shadowed;
	return pl->grants_used ? granted_acl_check : asked_acl_check;
}

/* The registered acl callback (and the one the audited callback calls) swapped for the one
 * acl_callback names, after a change of grants_used. The new one is registered before the old
 * one goes; if mosquitto cannot register it, the old one stays, as correct and a little slower. */
static void sync_acl_callback(struct plugin *pl)
{
	MOSQ_FUNC_generic_callback cb = acl_callback(pl);

	if (!pl->shadow) acl_check_cb = pl->grants_used ? granted_acl_check : asked_acl_check;
	if (!(pl->registered & (1u << WA_HOOK_ACL_CHECK)) || cb == pl->acl_cb) return;
	if (mosquitto_callback_register(pl->id, MOSQ_EVT_ACL_CHECK, cb, NULL, pl) != MOSQ_ERR_SUCCESS) return;
	mosquitto_callback_unregister(pl->id, MOSQ_EVT_ACL_CHECK, pl->acl_cb, NULL);
	pl->acl_cb = cb;
}

/* Registers exactly the request callbacks whose hooks the current policy exports (a reload may
 * change the set). Returns 0, or the first mosquitto error. */
static int sync_callbacks(struct plugin *pl, unsigned hooks)
{
	unsigned refused = 0; /* 2.1-only events the broker would not register */

#if !WA_MOSQ_21
	tell_21(pl, hooks, "need the plugin built against mosquitto 2.1's headers (make plugin-2.1)");
#endif
	for (unsigned i = 0; i < N_REQUEST_EVENTS; i++) {
		unsigned bit = 1u << request_events[i].hook;
		/* pl->audit and pl->shadow are set once, before the first registration, and kept; an
		 * audited callback calls the shadowed one when both are on (acl_check_cb). */
		MOSQ_FUNC_generic_callback cb = (pl->audit || pl->record) && request_events[i].audited
		                                    ? request_events[i].audited
		                                : pl->shadow && request_events[i].shadowed ? request_events[i].shadowed
		                                                                           : request_events[i].cb;
		int rc;

#if WA_MOSQ_21
		if (pl->login && request_events[i].hook == WA_HOOK_UNPWD_CHECK) cb = on_basic_auth_delayed;
#endif
		if (request_events[i].hook == WA_HOOK_ACL_CHECK) cb = acl_callback(pl);

		if ((hooks & bit) && !(pl->registered & bit)) {
			rc = mosquitto_callback_register(pl->id, request_events[i].event, cb, NULL, pl);
			if (rc != MOSQ_ERR_SUCCESS && (bit & HOOKS_21)) {
				refused |= bit;
				continue;
			}
			if (rc != MOSQ_ERR_SUCCESS) {
				wa_log(WA_LOG_ERR, "cannot register the %s callback: %s",
				       wa_hooks[request_events[i].hook].name, mosquitto_strerror(rc));
				return rc;
			}
			pl->registered |= bit;
			if (request_events[i].hook == WA_HOOK_ACL_CHECK) pl->acl_cb = cb;
		} else if (!(hooks & bit) && (pl->registered & bit)) {
			if (request_events[i].hook == WA_HOOK_ACL_CHECK) cb = pl->acl_cb;
			mosquitto_callback_unregister(pl->id, request_events[i].event, cb, NULL);
			pl->registered &= ~bit;
		}
	}
	if (refused) tell_21(pl, refused, "this broker cannot register (it is older than 2.1)");
	return MOSQ_ERR_SUCCESS;
}

/* MOSQ_EVT_DISCONNECT registered (want) or not, and with it WA_EVT_CLIENT_OFFLINE where the
 * broker has it (mosq.h): a client gone offline is gone for everything here. 0, or mosquitto's
 * error for MOSQ_EVT_DISCONNECT. */
static int sync_disconnect(struct plugin *pl, int want)
{
	int rc;

	if (want && !pl->disconnect_registered) {
		rc = mosquitto_callback_register(pl->id, MOSQ_EVT_DISCONNECT, on_disconnect, NULL, pl);
		if (rc != MOSQ_ERR_SUCCESS) return rc;
		pl->disconnect_registered = 1;
		pl->offline_registered = mosquitto_callback_register(pl->id, WA_EVT_CLIENT_OFFLINE, on_disconnect, NULL,
		                                                     pl) == MOSQ_ERR_SUCCESS;
	} else if (!want && pl->disconnect_registered) {
		mosquitto_callback_unregister(pl->id, MOSQ_EVT_DISCONNECT, on_disconnect, NULL);
		if (pl->offline_registered)
			mosquitto_callback_unregister(pl->id, WA_EVT_CLIENT_OFFLINE, on_disconnect, NULL);
		pl->disconnect_registered = pl->offline_registered = 0;
	}
	return MOSQ_ERR_SUCCESS;
}

/* Sessions are tracked while the policy exports session_check; a policy that starts exporting
 * it is asked about the sessions let in from then on. */
static void sync_sessions(struct plugin *pl, int want)
{
	if (want && !pl->sessions) {
		pl->sessions = wa_sessions_new();
		if (!pl->sessions)
			wa_log(WA_LOG_WARNING, "out of memory for the sessions table: session_check is not called");
	} else if (!want && pl->sessions) {
		wa_sessions_free(pl->sessions);
		pl->sessions = NULL;
		pl->rechecking = 0;
	}
}

/* The sessions an AUTH exchange let in are kept while the policy answers AUTH exchanges (see
 * on_basic_auth). */
static void sync_exchanged(struct plugin *pl, int want)
{
	if (want && !pl->exchanged) {
		pl->exchanged = wa_sessions_new();
		if (!pl->exchanged)
			wa_log(WA_LOG_WARNING,
			       "out of memory: sessions an AUTH exchange let in are asked unpwd_check at reloads");
	} else if (!want && pl->exchanged) {
		wa_sessions_free(pl->exchanged);
		pl->exchanged = NULL;
	}
}

/* The events the current policy hears besides requests: MOSQ_EVT_DISCONNECT while the cache or
 * the sessions table needs it or the policy exports on_disconnect (on_tick rides on
 * MOSQ_EVT_TICK, always registered). */
static void sync_events(struct plugin *pl, unsigned hooks)
{
	int want = (hooks & (1u << WA_HOOK_ON_DISCONNECT)) != 0;
	int rc;

	sync_sessions(pl, (hooks & (1u << WA_HOOK_SESSION_CHECK)) != 0);
	sync_exchanged(pl, (hooks & (1u << WA_HOOK_EXT_AUTH_START)) != 0);
	rc = sync_disconnect(pl, pl->caching || want || pl->sessions || pl->exchanged || wa_shadow_caching(pl->shadow));
	if (rc != MOSQ_ERR_SUCCESS && (want || pl->sessions || pl->exchanged)) {
		wa_log(WA_LOG_WARNING,
		       "cannot register the disconnect callback, on_disconnect and session_check are not called: %s",
		       mosquitto_strerror(rc));
		sync_sessions(pl, 0); /* a departed client's session would stay in the table */
		sync_exchanged(pl, 0);
	}
}

/* Checks the decision cache answered or a client's own bypass skipped, so far (judge_cache). */
static uint64_t cache_lookups(const struct plugin *pl)
{
	return pl->stats.cache_hits + pl->stats.cache_bypass - pl->set_aside_total;
}

/* acl checks decided so far other than by grants. */
static uint64_t acl_checks(const struct wa_stats *s)
{
	uint64_t n = 0;

	for (unsigned a = 0; a < WA_STATS_ACCESS_SLOTS; a++) n += s->acl[a][0] + s->acl[a][1] + s->acl[a][2];
	return n;
}

/* The checks since the last call counted as bypasses when the cache was set aside meanwhile
 * (judge_cache): called when that ends or starts, and before the metrics are published. */
static void count_set_aside(struct plugin *pl)
{
	uint64_t checks = acl_checks(&pl->stats), n = checks - pl->set_aside_at;

	pl->set_aside_at = checks;
	if (!pl->caching || pl->cache_live) return;
	pl->stats.cache_bypass += n;
	pl->set_aside_total += n;
}

/* Turns the decision cache on for a policy that declares its acl decisions cacheable (and off
 * otherwise), registering MOSQ_EVT_DISCONNECT only while it is on. Any previous decisions go. */
static void sync_cache(struct plugin *pl, int want)
{
	int rc;

	want = want && pl->cache && (pl->registered & (1u << WA_HOOK_ACL_CHECK));
	count_set_aside(pl);
	if (pl->cache) wa_acl_cache_clear(pl->cache);
	pl->granted_epoch = 0; /* cached_acl_check sets it again */
	pl->cache_epoch = 0;
	if (want && !pl->caching) {
		rc = sync_disconnect(pl, 1);
		if (rc != MOSQ_ERR_SUCCESS) {
			wa_log(WA_LOG_WARNING,
			       "cannot register the disconnect callback, acl decisions are not cached: %s",
			       mosquitto_strerror(rc));
			return;
		}
		pl->caching = 1;
		wa_log(WA_LOG_NOTICE, "the policy declares its acl decisions cacheable: caching them per client");
	} else if (!want && pl->caching) {
		pl->caching = 0; /* sync_events unregisters DISCONNECT unless on_disconnect needs it */
	}
	/* Said whenever it starts, a reload to a module that begins to provide grants included. */
	want = pl->caching && pl->granting && wa_policy_acl_grants(wa_auth_policy(pl->auth));
	if (want && !pl->grants_used) {
		wa_log(WA_LOG_NOTICE,
		       "the policy provides grants: READ and WRITE checks are matched against each client's");
	}
	pl->grants_used = want;
	pl->cache_live = pl->caching;
	memset(&pl->gate, 0, sizeof pl->gate);
	pl->gate.hits = pl->stats.cache_hits;
	pl->gate.asked = cache_lookups(pl);
	sync_acl_callback(pl);
}

/* Sets the decision cache aside for every client while clients mostly bypass it
 * (wa_acl_cache_gate): the checks then skip it at no cost, as with wasm_acl_cache off. Not while grants are in use (the
 * cache path builds them). The checks made meanwhile are counted as bypasses, here. */
static void judge_cache(struct plugin *pl, uint64_t now)
{
	int live;

	if (!pl->caching || pl->grants_used) return;
	live =
	    wa_acl_cache_gate(&pl->gate, now, pl->stats.cache_hits, cache_lookups(pl), WA_ACL_CACHE_GATE_HIT_PERCENT);
	if (live == pl->cache_live) return;
	count_set_aside(pl); /* up to now, in the state that ends */
	pl->cache_live = live;
	if (!live) wa_acl_cache_clear(pl->cache); /* its memory back while nothing reads it */
}

static int on_reload(int event, void *event_data, void *userdata)
{
	struct plugin *pl = userdata;

	(void)event;
	(void)event_data;               /* the options stay those the plugin was started with */
	wa_record_reopen(pl->record);   /* a rotated record file is let go */
	wa_audit_reopen(pl->audit);     /* a rotated audit file is let go */
	wa_auth_reload_start(pl->auth); /* built off this thread; on_tick puts it in service */
	pl->reload_pass = 1;            /* mosquitto's re-check of every client follows */
	pl->housekept_ms = 0;           /* the next tick ends the pass (tick_work) */
	pl->tick_due_ms = 0;
	wa_shadow_reload(pl->shadow);
	if (pl->login) wa_login_reload(pl->login); /* rebuilt by the login thread itself */
	return MOSQ_ERR_SUCCESS;
}

/* One session of the pass after a reload, through the breaker like on_tick (its bucket): when
 * that is spent the pass waits for the next tick. */
static enum wa_session_visit ask_session(const char *clientid, const char *username, void *ud)
{
	struct plugin *pl = ud;
	struct wa_bucket *k = admit(pl, pl);
	enum wa_decision d;

	if (!k) return WA_SESSION_STOP;
	wa_breaker_enter(pl->breaker, k);
	d = wa_policy_session_check(wa_auth_policy(pl->auth), clientid, username);
	wa_breaker_leave(pl->breaker);
	pl->pass_asked++;
	return d == WA_DENY ? WA_SESSION_REVOKE : WA_SESSION_ASKED;
}

/* Part of the pass after a reload (docs/ABI.md, "Revocation"): at most
 * WA_SESSION_CHECKS_PER_TICK sessions per tick, those refused disconnected (no will), the first
 * WA_REVOKE_LOG_LINES of them named in the log, and one line when the pass is over. */
static void recheck_sessions(struct plugin *pl)
{
	char *revoked[WA_SESSION_CHECKS_PER_TICK];
	unsigned n = wa_sessions_recheck(pl->sessions, WA_SESSION_CHECKS_PER_TICK, ask_session, pl, revoked);

	for (unsigned i = 0; i < n; i++) {
		if (pl->pass_revoked < WA_REVOKE_LOG_LINES) {
			char shown[WA_ACTION_LOG_TOPIC_BYTES + 1];
			size_t len = strlen(revoked[i]);

			len = len < WA_ACTION_LOG_TOPIC_BYTES ? len : WA_ACTION_LOG_TOPIC_BYTES;
			memcpy(shown, revoked[i], len);
			shown[wa_text_sanitize_controls(shown, len)] = '\0';
			wa_log(WA_LOG_NOTICE,
			       "disconnecting client %s: session_check refused its session after the reload", shown);
		}
		pl->pass_revoked++;
		mosquitto_kick_client_by_clientid(revoked[i], false);
		free(revoked[i]);
	}
	if (!wa_sessions_pending(pl->sessions)) {
		pl->rechecking = 0;
		wa_log(WA_LOG_NOTICE, "session_check after the reload: %zu sessions asked, %zu disconnected",
		       pl->pass_asked, pl->pass_revoked);
	}
}

/* One deferred action (docs/ABI.md, "Deferred actions"), on the main thread: never with_will,
 * never a NULL id or name (mosquitto would take it for every client; hostfns.c refuses empty
 * ones). A kick of a client that is not connected is not an error worth a line. */
static void run_action(const struct wa_action *a, void *ud)
{
	int rc;

	(void)ud;
	switch (a->kind) {
		case WA_ACTION_KICK_CLIENT: mosquitto_kick_client_by_clientid(a->target, false); break;
		case WA_ACTION_KICK_USER: mosquitto_kick_client_by_username(a->target, false); break;
		case WA_ACTION_PUBLISH:
			rc = mosquitto_broker_publish_copy(NULL, a->target, (int)a->payloadlen, a->payload, a->qos,
			                                   a->retain != 0, NULL);
			if (rc != MOSQ_ERR_SUCCESS)
				wa_log(WA_LOG_WARNING, "publish to %.64s failed: %s", a->target,
				       mosquitto_strerror(rc));
			break;
	}
}

/* The main thread's turn: what the worker thread did (its log lines, a finished build), on_tick
 * when it is due, and every action the policy queued since the last tick (a policy just put in
 * service brings those of its init hooks). A kick may call on_disconnect from within
 * mosquitto_kick_client_*: what that queues is carried out in the same pass, the queue's bound
 * holding (entries are freed only when the pass ends). Actions wait for the
 * tick rather than run when their hook returns, so that no client is kicked, nor a message
 * published, in the middle of mosquitto handling another packet. */
/* mosquitto 2.0 ticks its plugins on every pass of its main loop, at least every 100 ms.
 * mosquitto 2.1.2 calls a plugin's tick only when it is due, and only a due tick may shorten the
 * loop's sleep: a tick asked for in 100 ms is skipped when anything else wakes the loop sooner,
 * and the loop then sleeps until the next network event, holding back queued actions, a rebuilt
 * policy, queued log lines and on_tick. So ask 2.1 to make this tick due at every pass (its next
 * time two seconds in the past: next_s -2, next_ms 2000 + the wait, which 2.1 normalises only
 * once) while its loop sleeps at most TICK_ASK_MS (or wasm_tick_ms when shorter): next_s * 1000 +
 * next_ms. The field 2.0's header calls next_ns is 2.1's next_ms (same offset and type); 2.0
 * reads neither. */
#define TICK_ASK_MS     100u
#define HOUSEKEEPING_MS 10u

/* What ask_next_tick writes for a tick every tick_ms (0: TICK_ASK_MS). */
static long next_tick_value(uint32_t tick_ms)
{
	return 2000L + (long)(tick_ms && tick_ms < TICK_ASK_MS ? tick_ms : TICK_ASK_MS);
}

/* mosquitto always passes its event. */
static void ask_next_tick(void *event_data, long value)
{
	struct mosquitto_evt_tick *ev = event_data;

	ev->next_s = -2;
	ev->WA_TICK_NEXT_MS = value;
}

/* Like mosquitto's own $SYS messages: QoS 0, retained, from no client (so no WRITE check: each
 * subscriber's READ check still applies, when mosquitto delivers it after this tick). */
static void publish_metric(const char *topic, const char *payload, void *ud)
{
	size_t len = strlen(payload);
	int rc;

	(void)ud;
	rc = mosquitto_broker_publish_copy(NULL, topic, (int)len, payload, 0, true, NULL);
	if (rc != MOSQ_ERR_SUCCESS) wa_log(WA_LOG_WARNING, "publish to %s failed: %s", topic, mosquitto_strerror(rc));
}

/* ---- the login thread (login.h; mosquitto 2.1 builds) ----------------------------------------- */
#if WA_MOSQ_21
/* The login checked here and now, as without the login thread. */
static int checked_here(int event, void *event_data, void *userdata)
{
	struct plugin *pl = userdata;

	return pl->audit || pl->record ? audited_basic_auth(event, event_data, userdata)
	                               : on_basic_auth(event, event_data, userdata);
}

/* A login goes to the login thread, and mosquitto waits for login_done. Only a CONNECT's:
 * mosquitto 2.1 also asks for an answer at once when it re-checks its connected clients after a
 * reload (the client is then its id's connected client); its HTTP API asks from another
 * thread and is refused (off_main_thread). Checked here too: before the thread's instance serves, with WA_LOGIN_QUEUE logins
 * pending, or when the client is over its share of broker time (it then gets the failure
 * decision here, logged, as it would without the thread; the thread's own time is not the
 * broker's and is not charged). */
static int on_basic_auth_delayed(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_basic_auth *ed = event_data;
	struct plugin *pl = userdata;
	const char *id;
	const void *who;

	if (off_main_thread()) return MOSQ_ERR_AUTH;
	id = mosquitto_client_id(ed->client);
	if (!id || !mosquitto_client_protocol_version(ed->client) || mosquitto_client(id) == ed->client)
		return checked_here(event, event_data, userdata);
	who = payer(pl, ed->client, MOSQ_ACL_NONE);
	wa_login_supersede(pl->login, id);
	if (!wa_login_ready(pl->login) ||
	    wa_breaker_admit(pl->breaker, wa_breaker_slot(pl->breaker, who)) != WA_BREAKER_PASS ||
	    wa_login_submit(pl->login, ed->client, id, ed->username, ed->password, mosquitto_client_address(ed->client),
	                    mosquitto_client_protocol_version(ed->client)) != 0) {
		return checked_here(event, event_data, userdata);
	}
	return MOSQ_ERR_AUTH_DELAYED;
}

/* An answer from the login thread, on the main thread: the broker is told, then everything
 * on_basic_auth and audited_basic_auth do around a decision, from the copies taken at
 * submission (the client may be gone: its pointer is only compared). A delayed answer cannot
 * pass the login on to another plugin: mosquitto refuses every result but success, so a
 * deferral is a denial here, and is counted, audited and recorded as one. */
static void login_done(const struct wa_login_done *dn, void *ud)
{
	struct plugin *pl = ud;
	enum wa_decision d = dn->decision == WA_ALLOW ? WA_ALLOW : WA_DENY;
	int rc = counted_rc(pl->stats.unpwd, d, MOSQ_ERR_AUTH);
	int here;

	if (dn->failed) wa_stats_failure(&pl->stats, WA_HOOK_UNPWD_CHECK, dn->fail_kind);
	mosquitto_complete_basic_auth(dn->clientid, rc);
	/* Let in: the client that waited for this answer is now the id's connected client. A client
	 * gone meanwhile is not (a later login of its id superseded this answer). */
	here = rc == MOSQ_ERR_SUCCESS && mosquitto_client(dn->clientid) == dn->client;
	if (here) track_session(pl, dn->client, dn->clientid, dn->username);
	if (pl->record) {
		struct wa_record_entry e = { dn->clientid,
			                     dn->username,
			                     dn->address,
			                     dn->protocol,
			                     "connect",
			                     NULL,
			                     0,
			                     0,
			                     NULL,
			                     0,
			                     dn->password != NULL,
			                     d };
		wa_record_write(pl->record, &e);
	}
	if (pl->audit) {
		struct wa_audit_record r = { dn->clientid, dn->username, "connect", NULL, d, NULL, NULL, 0, 0 };
		if (wa_audit_wanted(pl->audit, d)) audit_outcome(pl, &dn->outcome, &r, 0);
	}
	if (pl->shadow) {
		wa_shadow_live_reason(pl->shadow, dn->outcome.reason, dn->outcome.reason_len);
		wa_shadow_unpwd_check(pl->shadow, here ? dn->client : NULL, dn->clientid, dn->username, dn->password, d,
		                      dn->failed);
	}
	for (unsigned i = 0; i < dn->n_actions; i++) run_action(&dn->actions[i], pl);
}
#endif

/* What the main thread does on its turn besides the queued actions, at most every
 * HOUSEKEEPING_MS: mosquitto 2.0 ticks on every pass of its loop, under load once or twice per
 * message, and none of this needs to be sooner. */
static void housekeeping(struct plugin *pl, uint64_t now)
{
	struct wa_policy *pol;
	uint32_t every = wa_auth_config(pl->auth)->tick_ms;

	if (wa_auth_poll(pl->auth) > 0) {
		unsigned hooks = wa_policy_hooks(wa_auth_policy(pl->auth));
		sync_callbacks(pl, hooks);
		sync_cache(pl, wa_policy_acl_cacheable(wa_auth_policy(pl->auth)));
		sync_events(pl, hooks);
		if (pl->sessions) {
			wa_sessions_recheck_all(pl->sessions);
			pl->rechecking = 1;
			pl->pass_asked = pl->pass_revoked = 0;
		}
	}
	if (pl->rechecking) recheck_sessions(pl);
	judge_cache(pl, now);
	if (wa_shadow_poll(pl->shadow)) sync_events(pl, wa_policy_hooks(wa_auth_policy(pl->auth)));
	pol = wa_auth_policy(pl->auth);
	if (every && (wa_policy_hooks(pol) & (1u << WA_HOOK_ON_TICK)) && now - pl->last_tick_ms >= every) {
		struct wa_bucket *k = admit(pl, pl); /* on_tick pays from a bucket of its own */
		pl->last_tick_ms = now;
		if (k) {
			pl->stats.events[1]++;
			wa_breaker_enter(pl->breaker, k);
			wa_policy_tick(pol);
			wa_breaker_leave(pl->breaker);
		} else {
			wa_stats_failure(&pl->stats, WA_HOOK_ON_TICK, WA_FAIL_BUDGET);
		}
	}
	wa_record_flush(pl->record);
	if (pl->metrics.interval_ms) {
		if (pl->shadow) {
			struct wa_shadow_stats ss;
			wa_shadow_stats(pl->shadow, &ss);
			pl->stats.shadow_compared = ss.compared;
			pl->stats.shadow_disagreed = ss.disagreed;
			pl->stats.shadow_failed = ss.failed;
			pl->stats.shadow_skipped = ss.skipped;
			pl->stats.shadow_unavailable = ss.unavailable;
		}
		if (now >= pl->metrics.next_ms) count_set_aside(pl);
		wa_metrics_tick(&pl->metrics, &pl->stats, now, publish_metric, pl);
	}
	wa_audit_flush(pl->audit);
}

/* on_tick's work when any is due: out of line, so that a tick with nothing to do (mosquitto 2.0
 * ticks on every pass of its main loop: once per message under load) calls nothing. */
__attribute__((noinline)) static int tick_work(struct plugin *pl, void *event_data, uint64_t now)
{
	struct wa_policy *pol = wa_auth_policy(pl->auth);
	uint32_t every;

	int house = now - pl->housekept_ms >= HOUSEKEEPING_MS;

	pl->reload_pass = 0;
	if (house) pl->housekept_ms = now;
	/* Due again at the next housekeeping, sooner when an action is queued from here on (carrying
	 * one out may call the policy again: a kicked client's on_disconnect). */
	pl->tick_due_ms = pl->housekept_ms + HOUSEKEEPING_MS;
	/* First what the policy in service queued: housekeeping may replace it (and drop its queue). */
	if (wa_policy_actions_pending(pol)) wa_policy_take_actions(pol, run_action, pl);
	if (house) {
		housekeeping(pl, now);
		pol = wa_auth_policy(pl->auth);
		if (wa_policy_actions_pending(pol)) wa_policy_take_actions(pol, run_action, pl);
	}
	every = wa_auth_config(pl->auth)->tick_ms;
#if WA_MOSQ_21
	if (pl->login && wa_login_pending(pl->login)) {
		wa_login_collect(pl->login, login_done, pl);
		/* Answers come at any time: the loop looks again within WA_LOGIN_TICK_MS. */
		if (wa_login_pending(pl->login)) every = WA_LOGIN_TICK_MS;
	}
#endif
	pl->next_tick = next_tick_value(every);
	ask_next_tick(event_data, pl->next_tick);
	return MOSQ_ERR_SUCCESS;
}

static int on_tick(int event, void *event_data, void *userdata)
{
	struct plugin *pl = userdata;
	/* The watchdog's clock: one load (its thread runs for the plugin's life: the breaker samples
	 * on it), late by at most its idle tick. */
	uint64_t now = wa_watchdog_now_ms();

	(void)event;
	if (now >= pl->tick_due_ms
#if WA_MOSQ_21
	    || pl->login
#endif
	)
		return tick_work(pl, event_data, now);
	ask_next_tick(event_data, pl->next_tick);
	return MOSQ_ERR_SUCCESS;
}

int mosquitto_plugin_version(int supported_version_count, const int *supported_versions)
{
	for (int i = 0; i < supported_version_count; i++) {
		if (supported_versions[i] == 5) return 5;
	}
	return -1;
}

static void plugin_free(struct plugin *pl)
{
	if (!pl) return;
	sync_callbacks(pl, 0);
	sync_cache(pl, 0);
	sync_disconnect(pl, 0);
	sync_sessions(pl, 0);
	sync_exchanged(pl, 0);
	wa_login_free(pl->login); /* joined: no thread outlives the library */
	mosquitto_callback_unregister(pl->id, MOSQ_EVT_RELOAD, on_reload, NULL);
	mosquitto_callback_unregister(pl->id, MOSQ_EVT_TICK, on_tick, NULL);
	wa_shadow_free(pl->shadow);
	wa_auth_free(pl->auth);
	wa_acl_cache_free(pl->cache);
	wa_breaker_free(pl->breaker);
	wa_record_free(pl->record);
	wa_audit_free(pl->audit);
	free(pl);
}

int mosquitto_plugin_init(mosquitto_plugin_id_t *identifier, void **userdata, struct mosquitto_opt *options,
                          int option_count)
{
	struct wa_kv kv[WA_MAX_OPTIONS];
	struct plugin *pl;
	unsigned n = option_count > 0 ? (unsigned)option_count : 0u;
	int rc;

	wa_log_set_sink(log_to_mosquitto);
	main_thread = pthread_self();
	if (n > WA_MAX_OPTIONS) {
		wa_log(WA_LOG_ERR, "cannot load policy: %u options given, at most %u are supported", n, WA_MAX_OPTIONS);
		return MOSQ_ERR_INVAL;
	}
	for (unsigned i = 0; i < n; i++) {
		kv[i].key = options[i].key;
		kv[i].value = options[i].value;
	}
	pl = calloc(1, sizeof *pl);
	if (!pl) {
		wa_log(WA_LOG_ERR, "cannot load policy: out of memory");
		return MOSQ_ERR_NOMEM;
	}
	pl->id = identifier;
	pl->next_tick = next_tick_value(0);
	pl->free_replaced_topic = wa_broker_leaks_replaced_topic();
	pl->auth = wa_auth_new(kv, n, &client_ops);
	if (!pl->auth) {
		free(pl);
		wa_watchdog_stop();
		return MOSQ_ERR_UNKNOWN;
	}
	wa_auth_count_into(pl->auth, &pl->stats);
	wa_auth_wake_on_action(pl->auth, &pl->tick_due_ms);
	wa_metrics_init(&pl->metrics, wa_auth_config(pl->auth)->sys_interval_s, wa_auth_config(pl->auth)->module_path);
	{
		const struct wa_config *cfg = wa_auth_config(pl->auth);
		pl->breaker = wa_breaker_new(cfg->client_share, cfg->timeout_ms, cfg->cpu_share,
		                             cfg->timeout_ms > UINT32_MAX / 2u ? UINT32_MAX : cfg->timeout_ms * 2u);
		if (!pl->breaker) {
			plugin_free(pl);
			wa_watchdog_stop();
			wa_log(WA_LOG_ERR, "cannot load policy: out of memory");
			return MOSQ_ERR_NOMEM;
		}
	}
	if (wa_auth_config(pl->auth)->record_path) {
		const struct wa_config *cfg = wa_auth_config(pl->auth);
		pl->record = wa_record_new(cfg->record_path, cfg->record_payloads, cfg->record_max_bytes);
	}
	if (wa_auth_config(pl->auth)->audit != WA_AUDIT_OFF)
		pl->audit = wa_audit_new(wa_auth_config(pl->auth)->audit, wa_auth_config(pl->auth)->audit_file);
	if (wa_auth_config(pl->auth)->login_thread) {
		char err[256];
#if WA_MOSQ_21
		if (!mosquitto_complete_basic_auth || !mosquitto_client)
			snprintf(err, sizeof err,
			         "it needs a mosquitto 2.1 broker (delayed basic auth); this one is older");
		else
			pl->login = wa_login_new(kv, n, err, sizeof err);
#else
		snprintf(err, sizeof err,
		         "it needs the plugin built against mosquitto 2.1's headers (delayed basic auth); this build "
		         "is for 2.0");
#endif
		if (!pl->login) {
			wa_log(WA_LOG_ERR, "cannot load policy: option %s on: %s", WA_OPT_LOGIN_THREAD, err);
			plugin_free(pl);
			wa_watchdog_stop();
			return MOSQ_ERR_INVAL;
		}
	}
	pl->shadow = wa_shadow_new(kv, n, wa_auth_config(pl->auth), &client_ops);
	if (pl->shadow) acl_check_cb = on_acl_check_shadowed; /* audited checks go through it */
	pl->stats.has_shadow = pl->shadow != NULL;
	if (wa_auth_config(pl->auth)->acl_cache) {
		pl->cache = wa_acl_cache_new(WA_ACL_CACHE_MIN_HIT_PERCENT);
		pl->granting = wa_auth_config(pl->auth)->acl_grants;
		if (!pl->cache) wa_log(WA_LOG_WARNING, "out of memory for the acl decision cache: not caching");
	}
	rc = mosquitto_callback_register(identifier, MOSQ_EVT_RELOAD, on_reload, NULL, pl);
	if (rc == MOSQ_ERR_SUCCESS) rc = mosquitto_callback_register(identifier, MOSQ_EVT_TICK, on_tick, NULL, pl);
	if (rc == MOSQ_ERR_SUCCESS) rc = sync_callbacks(pl, wa_policy_hooks(wa_auth_policy(pl->auth)));
	if (rc == MOSQ_ERR_SUCCESS) sync_cache(pl, wa_policy_acl_cacheable(wa_auth_policy(pl->auth)));
	if (rc == MOSQ_ERR_SUCCESS) sync_events(pl, wa_policy_hooks(wa_auth_policy(pl->auth)));
	if (rc != MOSQ_ERR_SUCCESS) {
		plugin_free(pl);
		wa_watchdog_stop();
		return rc;
	}
	*userdata = pl;
	return MOSQ_ERR_SUCCESS;
}

int mosquitto_plugin_cleanup(void *userdata, struct mosquitto_opt *options, int option_count)
{
	(void)options;
	(void)option_count;
	plugin_free(userdata);
	wa_watchdog_stop(); /* mosquitto unloads the library next */
	wa_log_set_sink(NULL);
	return MOSQ_ERR_SUCCESS;
}
