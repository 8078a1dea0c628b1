/* The login thread (option wasm_login_thread; used by plugin builds against mosquitto 2.1's
 * headers, README "Mosquitto 2.0 and 2.1"). A second instance of the policy, built from the same
 * file and options behind the same gate and caps, answers every unpwd_check on a thread of its
 * own, so that a slow check (an argon2id hash: ~45 ms) does not hold the broker's main thread:
 * mosquitto 2.1 lets the plugin answer a login later (MOSQ_ERR_AUTH_DELAYED, then
 * mosquitto_complete_basic_auth on the main thread).
 *
 * The main thread submits a copy of each login and collects the answers (plugin.c completes them
 * with mosquitto). The login instance has its own memory: what unpwd_check keeps is not seen by
 * the main instance's other hooks. Its calls get the same fuel, the same deadline (its own watch
 * slot) and the same failure decision; its log lines are queued for the main thread (log.h); its
 * deferred actions travel back with the answer. The thread builds and re-creates the instance
 * itself (its own worker, auth.h) and polls that build; it makes no mosquitto call. Mosquitto-free,
 * so that tests drive it. */
#ifndef WASM_AUTH_LOGIN_H
#define WASM_AUTH_LOGIN_H

#include <stddef.h>
#include <stdint.h>

#include "../runtime/options.h"
#include "../runtime/policy.h"

struct wa_login;

/* One answered login, as the collector sees it on the main thread; valid during that call. */
struct wa_login_done {
	const void *client; /* the broker's client at submission: it may be gone, so compare, never use */
	const char *clientid, *username, *password, *address; /* the copies taken at submission */
	int protocol;
	enum wa_decision decision;
	int failed;                       /* the failure decision was given ... */
	enum wa_fail_kind fail_kind;      /* ... for this reason (stats.h) */
	struct wa_policy_outcome outcome; /* for the audit and the shadow; strings owned by the answer */
	const struct wa_action *actions;  /* what unpwd_check queued (kick_client, publish ...), in order */
	unsigned n_actions;
};

/* The instance's load starts on its own worker (startup does not wait for it) and the thread
 * starts. NULL with the reason in err (bad options, no memory, no thread). */
struct wa_login *wa_login_new(const struct wa_kv *opts, unsigned n, char *err, size_t errlen);

/* Stops the thread and joins it (a check under way finishes first, within its deadline): logins
 * not answered yet are dropped, then the instance gets its cleanup hooks and is freed. */
void wa_login_free(struct wa_login *l);

/* 1 once an instance exporting unpwd_check serves on the thread (until then logins are checked
 * on the main thread). */
int wa_login_ready(const struct wa_login *l);

/* MOSQ_EVT_RELOAD: the thread rebuilds its instance from the file, as auth.h does for the main one. */
void wa_login_reload(struct wa_login *l);

/* Queues a login (every string copied; NULL username or password stay absent). -1 when
 * WA_LOGIN_QUEUE logins are pending or memory is short: the caller checks it itself. Another
 * login of the same client id still pending is superseded (wa_login_supersede). */
int wa_login_submit(struct wa_login *l, const void *client, const char *clientid, const char *username,
                    const char *password, const char *address, int protocol);

/* A client id logs in again (mosquitto asks only once the earlier connection is gone): the
 * pending login of that id, if any, is answered to nobody. */
void wa_login_supersede(struct wa_login *l, const char *clientid);

/* Logins submitted and not collected yet (superseded ones included). */
unsigned wa_login_pending(const struct wa_login *l);

/* Main thread: hands each answered, not superseded login to done, in the order the thread answered
 * them, then frees it. The number handed over. */
unsigned wa_login_collect(struct wa_login *l, void (*done)(const struct wa_login_done *d, void *ud), void *ud);

/* For tests: waits up to timeout_ms until wa_login_ready or every pending login is answered
 * (answers = 1). 0 when that happened in time. */
int wa_login_wait(struct wa_login *l, int answers, uint32_t timeout_ms);

#endif
