#define _DEFAULT_SOURCE /* explicit_bzero, strdup, nanosleep */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "login.h"
#include "../runtime/auth.h"
#include "../runtime/log.h"
#include "../runtime/wa_limits.h"

/* The login instance's own failure lines say "request denied" as the main one's do: this says
 * which instance it was. */
#define LOGIN_LOG_PREFIX "login thread: "

/* One login, from submission to collection. */
struct login {
	struct login *next;
	int superseded; /* main thread only */
	const void *client;
	char *clientid, *username, *password, *address;
	int protocol;
	/* The answer: written by the thread before it queues the login back, read by the main
	 * thread after it takes it from that queue (the lock orders them). */
	enum wa_decision decision;
	int failed;
	enum wa_fail_kind fail_kind;
	int guest_ran;
	int64_t fuel_used;
	char failure[WA_LOGIN_FAILURE_BYTES];
	char reason[WA_MAX_REASON_BYTES];
	uint32_t reason_len;
	struct wa_action *actions; /* up to WA_ACTION_QUEUE_ENTRIES, the policy's own bound */
	unsigned n_actions;
};

struct queue {
	struct login *head, *tail;
};

struct wa_login {
	struct wa_auth *auth; /* touched by the thread alone while it runs */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;                   /* a login queued either way, a reload asked for, or stop */
	struct queue todo, answered;           /* under lock */
	int reload, stop;                      /* under lock */
	atomic_int ready;                      /* wa_login_ready */
	struct login *pending[WA_LOGIN_QUEUE]; /* main thread only: submitted, not collected */
	unsigned n_pending;
};

/* The guest's client_id, client_address and protocol_version read the copies: the broker's
 * client may be gone, and mosquitto's getters are for its main thread. */
static const char *login_id(const void *c)
{
	return ((const struct login *)c)->clientid;
}

static const char *login_address(const void *c)
{
	return ((const struct login *)c)->address;
}

static int login_protocol(const void *c)
{
	return ((const struct login *)c)->protocol;
}

static const struct wa_client_ops login_ops = { login_id, login_address, login_protocol, 0 };

static void push(struct queue *q, struct login *x)
{
	x->next = NULL;
	if (q->tail)
		q->tail->next = x;
	else
		q->head = x;
	q->tail = x;
}

static void free_login(struct login *x)
{
	for (unsigned i = 0; i < x->n_actions; i++) {
		free(x->actions[i].target);
		free(x->actions[i].payload);
	}
	free(x->actions);
	free(x->clientid);
	free(x->username);
	/* The one secret the plugin copies: not left in freed memory. */
	if (x->password) explicit_bzero(x->password, strlen(x->password));
	free(x->password);
	free(x->address);
	free(x);
}

static void free_list(struct login *x)
{
	while (x) {
		struct login *next = x->next;
		free_login(x);
		x = next;
	}
}

/* wa_policy_take_actions' callback on the thread: a deep copy travels with the answer. */
static void copy_action(const struct wa_action *a, void *ud)
{
	struct login *x = ud;
	struct wa_action *c;

	if (!x->actions) x->actions = calloc(WA_ACTION_QUEUE_ENTRIES, sizeof *x->actions);
	if (!x->actions || x->n_actions >= WA_ACTION_QUEUE_ENTRIES) return;
	c = &x->actions[x->n_actions];
	*c = *a;
	c->target = strdup(a->target);
	c->payload = a->payloadlen ? malloc(a->payloadlen) : NULL;
	if (!c->target || (a->payloadlen && !c->payload)) {
		free(c->target);
		free(c->payload);
		wa_log(WA_LOG_WARNING, "out of memory: an action queued by unpwd_check on the login thread is dropped");
		return;
	}
	if (a->payloadlen) memcpy(c->payload, a->payload, a->payloadlen);
	x->n_actions++;
}

static void drop_action(const struct wa_action *a, void *ud)
{
	(void)a;
	(void)ud;
}

static int serving(const struct wa_auth *a)
{
	const struct wa_policy *p = wa_auth_policy(a);

	return p && (wa_policy_hooks(p) & (1u << WA_HOOK_UNPWD_CHECK));
}

/* On the thread: one unpwd_check, as plugin.c's on_basic_auth makes it on the main thread. */
static void check(struct wa_login *l, struct login *x)
{
	struct wa_policy *p = wa_auth_policy(l->auth);
	struct wa_policy_outcome o;
	uint64_t failures, mark;

	if (!serving(l->auth)) {
		/* A reload put in service a module without unpwd_check before the main instance's
		 * callbacks followed it: the failure decision. */
		x->decision = p ? wa_policy_refuse(p, WA_HOOK_UNPWD_CHECK, !x->username) : WA_DENY;
		x->failed = 1;
		x->fail_kind = WA_FAIL_UNAVAILABLE;
		snprintf(x->failure, sizeof x->failure, "the login thread's instance has no unpwd_check");
		return;
	}
	/* Queued by the instance's init hooks: the main instance's queued the same, once. */
	if (wa_policy_actions_pending(p)) wa_policy_take_actions(p, drop_action, NULL);
	mark = wa_policy_audit_mark(p);
	failures = wa_policy_failures(p);
	x->decision = wa_policy_unpwd_check(p, x, x->username, x->password);
	x->failed = wa_policy_failures(p) != failures;
	x->fail_kind = x->failed ? wa_policy_last_failure(p) : WA_FAIL_KINDS;
	wa_policy_audit_outcome(p, mark, &o);
	x->guest_ran = o.guest_ran;
	x->fuel_used = o.fuel_used;
	snprintf(x->failure, sizeof x->failure, "%s", o.failed && o.failure ? o.failure : "");
	x->reason_len = o.reason_len < sizeof x->reason ? o.reason_len : (uint32_t)sizeof x->reason;
	if (x->reason_len) memcpy(x->reason, o.reason, x->reason_len);
	if (wa_policy_actions_pending(p)) wa_policy_take_actions(p, copy_action, x);
}

static void *run(void *arg)
{
	struct wa_login *l = arg;

	wa_log_defer(1);
	pthread_mutex_lock(&l->lock);
	while (!l->stop) {
		struct login *x = l->todo.head;
		int reload = l->reload;

		if (x) {
			l->todo.head = x->next;
			if (!l->todo.head) l->todo.tail = NULL;
		}
		l->reload = 0;
		pthread_mutex_unlock(&l->lock);
		if (reload) wa_auth_reload_start(l->auth);
		/* Builds finish, and a dropped instance is re-created, here: between checks. */
		wa_auth_poll(l->auth);
		atomic_store(&l->ready, serving(l->auth));
		if (x) check(l, x);
		pthread_mutex_lock(&l->lock);
		if (x) {
			push(&l->answered, x);
			pthread_cond_broadcast(&l->cond);
		} else if (!l->todo.head && !l->reload && !l->stop) {
			struct timespec until;

			clock_gettime(CLOCK_MONOTONIC, &until);
			until.tv_nsec += (long)WA_LOGIN_POLL_MS * 1000000L;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&l->cond, &l->lock, &until);
		}
	}
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

struct wa_login *wa_login_new(const struct wa_kv *opts, unsigned n, char *err, size_t errlen)
{
	struct wa_login *l = calloc(1, sizeof *l);
	pthread_condattr_t ca;
	pthread_attr_t attr;
	sigset_t all, old;
	int rc;

	if (!l) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	l->auth = wa_auth_start(opts, n, &login_ops, LOGIN_LOG_PREFIX, err, errlen);
	if (!l->auth) {
		free(l);
		return NULL;
	}
	pthread_mutex_init(&l->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->cond, &ca);
	pthread_condattr_destroy(&ca);
	/* As worker.c: mosquitto's signals stay with its own thread, and wasm3 and the compiler get
	 * the stack they need (the thread also builds through wa_auth_poll). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 8u * 1024u * 1024u);
	rc = pthread_create(&l->thread, &attr, run, l);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start the login thread");
		pthread_mutex_destroy(&l->lock);
		pthread_cond_destroy(&l->cond);
		wa_auth_free(l->auth);
		free(l);
		return NULL;
	}
	return l;
}

void wa_login_free(struct wa_login *l)
{
	if (!l) return;
	pthread_mutex_lock(&l->lock);
	l->stop = 1;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
	pthread_join(l->thread, NULL);
	free_list(l->todo.head);
	free_list(l->answered.head);
	wa_log_flush();
	wa_auth_free(l->auth);
	pthread_mutex_destroy(&l->lock);
	pthread_cond_destroy(&l->cond);
	free(l);
}

int wa_login_ready(const struct wa_login *l)
{
	return atomic_load(&l->ready);
}

void wa_login_reload(struct wa_login *l)
{
	pthread_mutex_lock(&l->lock);
	l->reload = 1;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
}

static char *dup_or_null(const char *s, int *bad)
{
	char *c;

	if (!s) return NULL;
	c = strdup(s);
	if (!c) *bad = 1;
	return c;
}

int wa_login_submit(struct wa_login *l, const void *client, const char *clientid, const char *username,
                    const char *password, const char *address, int protocol)
{
	struct login *x;
	int bad = 0;

	if (l->n_pending >= WA_LOGIN_QUEUE || !clientid) return -1;
	x = calloc(1, sizeof *x);
	if (!x) return -1;
	x->client = client;
	x->protocol = protocol;
	x->clientid = dup_or_null(clientid, &bad);
	x->username = dup_or_null(username, &bad);
	x->password = dup_or_null(password, &bad);
	x->address = dup_or_null(address, &bad);
	if (bad) {
		free_login(x);
		return -1;
	}
	wa_login_supersede(l, clientid);
	l->pending[l->n_pending++] = x;
	pthread_mutex_lock(&l->lock);
	push(&l->todo, x);
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
	return 0;
}

void wa_login_supersede(struct wa_login *l, const char *clientid)
{
	if (!clientid) return;
	for (unsigned i = 0; i < l->n_pending; i++) {
		if (strcmp(l->pending[i]->clientid, clientid) == 0) l->pending[i]->superseded = 1;
	}
}

unsigned wa_login_pending(const struct wa_login *l)
{
	return l->n_pending;
}

static void unpend(struct wa_login *l, const struct login *x)
{
	for (unsigned i = 0; i < l->n_pending; i++) {
		if (l->pending[i] == x) {
			l->pending[i] = l->pending[--l->n_pending];
			return;
		}
	}
}

unsigned wa_login_collect(struct wa_login *l, void (*done)(const struct wa_login_done *d, void *ud), void *ud)
{
	struct login *list;
	unsigned n = 0;

	if (!l->n_pending) return 0;
	pthread_mutex_lock(&l->lock);
	list = l->answered.head;
	l->answered.head = l->answered.tail = NULL;
	pthread_mutex_unlock(&l->lock);
	/* Detached first: done may run mosquitto code that submits or collects again. */
	while (list) {
		struct login *x = list;

		list = x->next;
		unpend(l, x);
		if (!x->superseded) {
			struct wa_login_done d = {
				x->client,
				x->clientid,
				x->username,
				x->password,
				x->address,
				x->protocol,
				x->decision,
				x->failed,
				x->fail_kind,
				{ x->failed, x->failure, x->guest_ran, x->fuel_used, x->reason, x->reason_len },
				x->actions,
				x->n_actions,
			};
			done(&d, ud);
			n++;
		}
		free_login(x);
	}
	return n;
}

int wa_login_wait(struct wa_login *l, int answers, uint32_t timeout_ms)
{
	for (uint32_t waited = 0;; waited += 5u) {
		int met;

		pthread_mutex_lock(&l->lock);
		if (answers) {
			unsigned answered = 0;
			for (const struct login *x = l->answered.head; x; x = x->next) answered++;
			met = answered == l->n_pending;
		} else {
			met = atomic_load(&l->ready);
		}
		pthread_mutex_unlock(&l->lock);
		if (met) return 0;
		if (waited >= timeout_ms) return -1;
		nanosleep(&(struct timespec){ 0, 5000000L }, NULL);
	}
}
