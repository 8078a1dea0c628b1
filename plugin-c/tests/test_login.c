/* The login thread (plugin-c/broker/login.h) driven as plugin.c drives it, on real fixture
 * policies (WA_TEST_FIXTURES): answers come back in order with the decision, the failure kind
 * and the copies taken at submission; a later login of the same client id supersedes an earlier
 * one; the queue is bounded; a reload rebuilds the thread's instance; the thread's log lines
 * reach the sink only on the main thread; freeing joins the thread with a check under way;
 * unpwd_check's deferred actions come back with its answer. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../broker/login.h"
#include "../runtime/log.h"
#include "../runtime/wa_limits.h"
#include "../runtime/watchdog.h"
#include "check.h"
#include "log_capture.h"

static const char *fixtures;
static pthread_t main_thread;
static unsigned off_main;

/* capture, counting lines written off the main thread (there must be none). */
static void capture_on_main(int level, const char *line)
{
	if (!pthread_equal(pthread_self(), main_thread)) off_main++;
	capture(level, line);
}

/* fuel: wasm_fuel, so that a spin meets the deadline before the fuel runs out. */
static struct wa_login *login_of(const char *module, const char *fuel)
{
	struct wa_kv kv[] = { { "wasm_module", module },
		              { "wasm_timeout_ms", "50" },
		              { "wasm_login_thread", "on" },
		              { "wasm_fuel", fuel } };
	char err[256];
	struct wa_login *l = wa_login_new(kv, 4, err, sizeof err);

	if (!CHECK(l != NULL)) fprintf(stderr, "wa_login_new: %s\n", err);
	return l;
}

#define DEFAULT_FUEL "10000000"
#define HUGE_FUEL    "1000000000000"
#define MAX_SEEN     80
struct seen {
	unsigned n;
	char clientid[MAX_SEEN][32], username[MAX_SEEN][32], address[MAX_SEEN][32];
	int password_given[MAX_SEEN], protocol[MAX_SEEN];
	const void *client[MAX_SEEN];
	enum wa_decision decision[MAX_SEEN];
	int failed[MAX_SEEN];
	enum wa_fail_kind kind[MAX_SEEN];
};

static void record(const struct wa_login_done *d, void *ud)
{
	struct seen *s = ud;
	unsigned i = s->n++;

	if (i >= MAX_SEEN) return;
	snprintf(s->clientid[i], sizeof s->clientid[i], "%s", d->clientid);
	snprintf(s->username[i], sizeof s->username[i], "%s", d->username ? d->username : "(none)");
	snprintf(s->address[i], sizeof s->address[i], "%s", d->address ? d->address : "(none)");
	s->password_given[i] = d->password != NULL;
	s->protocol[i] = d->protocol;
	s->client[i] = d->client;
	s->decision[i] = d->decision;
	s->failed[i] = d->failed;
	s->kind[i] = d->fail_kind;
}

static void check_actions(const struct wa_login_done *d, void *ud)
{
	((struct seen *)ud)->n++;
	CHECK_INT(d->decision, WA_ALLOW);
	if (!CHECK_INT(d->n_actions, 2)) return;
	CHECK_INT(d->actions[0].kind, WA_ACTION_PUBLISH);
	CHECK_STR(d->actions[0].target, "ev/login");
	CHECK_INT(d->actions[0].payloadlen, 5);
	CHECK(memcmp(d->actions[0].payload, "dev-7", 5) == 0);
	CHECK_INT(d->actions[1].kind, WA_ACTION_KICK_CLIENT);
	CHECK_STR(d->actions[1].target, "old-dev-7");
}

/* Collects until every pending login is answered (each check is bounded by its deadline). */
static void collect_all(struct wa_login *l, struct seen *s)
{
	CHECK_INT(wa_login_wait(l, 1, 5000), 0);
	wa_login_collect(l, record, s);
	CHECK_INT(wa_login_pending(l), 0);
}

static void answers(void)
{
	static int c1, c2, c3, c4, c5;
	struct seen s = { 0 };
	struct wa_login *l;

	nlogged = 0;
	l = login_of(fixture("basic"), HUGE_FUEL);
	if (!l) return;
	CHECK_INT(wa_login_wait(l, 0, 10000), 0);
	CHECK(wa_login_ready(l));
	CHECK_INT(wa_login_submit(l, &c1, "c1", "alice", "secret", "127.0.0.1", 5), 0);
	CHECK_INT(wa_login_submit(l, &c2, "c2", "alice", "wrong", "10.0.0.2", 4), 0);
	CHECK_INT(wa_login_submit(l, &c3, "c3", "trap", "x", NULL, 4), 0);
	CHECK_INT(wa_login_submit(l, &c4, "c4", "spin", "x", NULL, 4), 0);
	CHECK_INT(wa_login_submit(l, &c5, "c5", NULL, NULL, NULL, 3), 0);
	CHECK_INT(wa_login_pending(l), 5);
	collect_all(l, &s);
	if (!CHECK_INT(s.n, 5)) goto out;
	/* In submission order, with the copies. */
	CHECK_STR(s.clientid[0], "c1");
	CHECK(s.client[0] == &c1);
	CHECK_STR(s.address[0], "127.0.0.1");
	CHECK_INT(s.protocol[0], 5);
	CHECK_INT(s.decision[0], WA_ALLOW);
	CHECK(!s.failed[0]);
	CHECK_STR(s.clientid[1], "c2");
	CHECK_INT(s.decision[1], WA_DENY);
	CHECK(!s.failed[1]);
	/* A trap, and a spin that meets the deadline: the failure decision. */
	CHECK_INT(s.decision[2], WA_DENY);
	CHECK(s.failed[2]);
	CHECK_INT(s.kind[2], WA_FAIL_TRAP);
	CHECK_INT(s.decision[3], WA_DENY);
	CHECK(s.failed[3]);
	CHECK_INT(s.kind[3], WA_FAIL_TIMEOUT);
	CHECK_STR(s.username[4], "(none)");
	CHECK(!s.password_given[4]);
	CHECK_INT(s.decision[4], WA_DENY);
	CHECK(!s.failed[4]);
	/* The thread's lines (its load, the failures) were queued, and reach the sink here. */
	CHECK_INT(lines_with("login thread: loaded policy "), 0);
	wa_log_flush();
	CHECK_INT(lines_with("login thread: loaded policy "), 1);
	CHECK(lines_with("login thread: ") >= 2);
	CHECK_INT(off_main, 0);
out:
	wa_login_free(l);
}

static void supersede_and_bound(void)
{
	static int a, b, c;
	struct seen s = { 0 };
	struct wa_login *l = login_of(fixture("basic"), DEFAULT_FUEL);
	unsigned i;

	if (!l) return;
	CHECK_INT(wa_login_wait(l, 0, 10000), 0);
	/* A loop runs out of fuel. */
	CHECK_INT(wa_login_submit(l, &a, "looper", "loop", "x", NULL, 4), 0);
	collect_all(l, &s);
	if (CHECK_INT(s.n, 1)) {
		CHECK_INT(s.decision[0], WA_DENY);
		CHECK(s.failed[0]);
		CHECK_INT(s.kind[0], WA_FAIL_FUEL);
	}
	s.n = 0;
	/* The id logs in again: only the later login is answered. */
	CHECK_INT(wa_login_submit(l, &a, "same", "alice", "wrong", NULL, 4), 0);
	CHECK_INT(wa_login_submit(l, &b, "same", "alice", "secret", NULL, 4), 0);
	/* ... as when the main thread checked it itself meanwhile. */
	CHECK_INT(wa_login_submit(l, &c, "other", "alice", "secret", NULL, 4), 0);
	wa_login_supersede(l, "other");
	collect_all(l, &s);
	if (CHECK_INT(s.n, 1)) {
		CHECK(s.client[0] == &b);
		CHECK_INT(s.decision[0], WA_ALLOW);
	}
	/* WA_LOGIN_QUEUE logins pending, answered or not: the next is refused (checked by the
	 * caller); collecting makes room. */
	for (i = 0; i < WA_LOGIN_QUEUE; i++) {
		char id[16];
		snprintf(id, sizeof id, "q%u", i);
		if (wa_login_submit(l, &a, id, "alice", "secret", NULL, 4) != 0) break;
	}
	CHECK_INT(i, WA_LOGIN_QUEUE);
	CHECK_INT(wa_login_submit(l, &a, "one-more", "alice", "secret", NULL, 4), -1);
	s.n = 0;
	collect_all(l, &s);
	CHECK_INT(s.n, WA_LOGIN_QUEUE);
	CHECK_INT(wa_login_submit(l, &a, "one-more", "alice", "secret", NULL, 4), 0);
	/* Freed with a login pending: joined, the login dropped (ASan: nothing leaks). */
	wa_login_free(l);
}

static void reload_and_free(void)
{
	static int a;
	struct seen s = { 0 };
	struct wa_login *l;

	nlogged = 0;
	l = login_of(fixture("basic"), HUGE_FUEL);
	if (!l) return;
	CHECK_INT(wa_login_wait(l, 0, 10000), 0);
	wa_login_reload(l);
	for (int i = 0; i < 400 && !lines_with("reloaded policy "); i++) {
		nanosleep(&(struct timespec){ 0, 10000000L }, NULL);
		wa_log_flush();
	}
	CHECK_INT(lines_with("reloaded policy "), 1);
	/* The rebuilt instance ran plugin_init ("state" allows only then) and serves. */
	CHECK(wa_login_ready(l));
	CHECK_INT(wa_login_submit(l, &a, "c", "state", "x", NULL, 4), 0);
	collect_all(l, &s);
	if (CHECK_INT(s.n, 1)) CHECK_INT(s.decision[0], WA_ALLOW);
	/* Freed while a check spins: it ends at its deadline, then the thread is joined. */
	CHECK_INT(wa_login_submit(l, &a, "c", "spin", "x", NULL, 4), 0);
	nanosleep(&(struct timespec){ 0, 10000000L }, NULL);
	wa_login_free(l);
	CHECK_INT(off_main, 0);
}

/* unpwd_check's actions come back with its answer, and only those (not the login instance's
 * init hooks'); the guest's client_id reads the copy taken at submission. */
static void actions(void)
{
	static int a;
	struct wa_kv kv[] = { { "wasm_module", fixture("login_actions") }, { "wasm_publish_prefix", "ev" } };
	char err[256];
	struct wa_login *l = wa_login_new(kv, 2, err, sizeof err);
	struct seen s = { 0 };

	if (!CHECK(l != NULL)) return;
	CHECK_INT(wa_login_wait(l, 0, 10000), 0);
	CHECK_INT(wa_login_submit(l, &a, "dev-7", "u", "p", NULL, 5), 0);
	CHECK_INT(wa_login_wait(l, 1, 5000), 0);
	wa_login_collect(l, check_actions, &s);
	CHECK_INT(s.n, 1);
	wa_login_free(l);
}

static void not_ready(void)
{
	struct wa_login *l;
	char err[256];
	struct wa_kv bad[] = { { "wasm_module", "x.wasm" }, { "wasm_fuel", "0" } };

	/* A module without unpwd_check never serves: logins stay on the main thread. */
	l = login_of(fixture("fast"), DEFAULT_FUEL);
	if (l) {
		CHECK_INT(wa_login_wait(l, 0, 300), -1);
		CHECK(!wa_login_ready(l));
		wa_login_free(l);
	}
	/* Bad options: NULL with the reason. */
	CHECK(wa_login_new(bad, 2, err, sizeof err) == NULL);
	CHECK(strstr(err, "wasm_fuel") != NULL);
}

int main(void)
{
	fixtures = getenv("WA_TEST_FIXTURES");
	if (!fixtures) {
		fprintf(stderr, "WA_TEST_FIXTURES is not set\n");
		return 1;
	}
	main_thread = pthread_self();
	wa_log_set_sink(capture_on_main);
	answers();
	supersede_and_bound();
	reload_and_free();
	not_ready();
	actions();
	wa_watchdog_stop();
	return check_done();
}
