/* The shadow (plugin-c/broker/shadow.h) driven directly with live decisions, on real fixture
 * policies (WA_TEST_FIXTURES): agreements, disagreements, failures and hooks the shadow lacks
 * are counted apart; disagreements are logged with both decisions and rate-limited; a shadow
 * that cannot be loaded is one line, and its requests count as unavailable. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../broker/shadow.h"
#include "../runtime/log.h"
#include "../runtime/wa_limits.h"
#include "../runtime/watchdog.h"
#include "check.h"
#include "log_capture.h"

static const char *fixtures;

static const char *client_id(const void *client)
{
	return client;
}

static const struct wa_client_ops ops = { client_id, NULL, NULL, 0 };

/* A shadow of module beside a live policy named "live.wasm" (never loaded here). */
static struct wa_shadow *shadow_of(const char *module, const char *acl_cache)
{
	struct wa_kv kv[] = { { "wasm_module", "live.wasm" },
		              { "wasm_shadow_module", module },
		              { "wasm_acl_cache", acl_cache } };
	struct wa_options *opts;
	struct wa_config cfg;
	struct wa_shadow *s;
	char err[256];

	opts = wa_options_new(kv, 3, err, sizeof err);
	if (!CHECK(opts != NULL) || !CHECK(wa_config_parse(opts, &cfg, err, sizeof err) == 0)) return NULL;
	s = wa_shadow_new(kv, 3, &cfg, &ops);
	wa_options_free(opts);
	if (s) wa_shadow_settle(s); /* the plugin's ticks would put it in service */
	return s;
}

static void compare(void)
{
	struct wa_shadow *s;
	struct wa_shadow_stats st;

	nlogged = 0;
	s = shadow_of(fixture("fast"), "off"); /* allows public/..., no unpwd_check */
	if (!CHECK(s != NULL)) return;
	CHECK_INT(lines_with("shadow policy"), 2); /* loading, loaded */
	CHECK_INT(lines_with("shadow policy (not enforced): loaded policy "), 1);
	CHECK(!wa_shadow_caching(s));
	wa_shadow_acl_check(s, "c1", "c1", "u1", "public/a", 2, NULL, 0, 0, 0, WA_ALLOW, 0);
	wa_shadow_acl_check(s, "c1", "c1", "u1", "secret/a", 2, NULL, 0, 0, 0, WA_ALLOW, 0);
	wa_shadow_acl_check(s, "c1", "c1", NULL, "public/b", 4, NULL, 0, 0, 0, WA_DENY, 0);
	wa_shadow_acl_check(s, "c1", "c1", "u1", "public/c", 2, NULL, 0, 0, 0, WA_DENY, 1);
	wa_shadow_unpwd_check(s, "c1", "c1", "u1", "pw-never-logged", WA_ALLOW, 0);
	wa_shadow_stats(s, &st);
	CHECK_INT(st.compared, 3);
	CHECK_INT(st.agreed, 1);
	CHECK_INT(st.disagreed, 2);
	CHECK_INT(st.live_failed, 1);
	CHECK_INT(st.unavailable, 1); /* no unpwd_check */
	CHECK_INT(st.failed, 0);
	CHECK_INT(st.skipped, 0);
	CHECK_INT(lines_with("disagrees: client c1, username u1, write secret/a: live allow, shadow deny"), 1);
	CHECK_INT(lines_with("disagrees: client c1, username (none), subscribe public/b: live deny, shadow allow"), 1);
	CHECK_INT(lines_with("pw-never-logged"), 0);
	wa_shadow_free(s);
}

static void cached_and_failing(void)
{
	struct wa_shadow *s;
	struct wa_shadow_stats st;

	nlogged = 0;
	s = shadow_of(fixture("cacheable"), "on"); /* allows p..., traps on "trap" */
	if (!CHECK(s != NULL)) return;
	CHECK(wa_shadow_caching(s));
	for (int i = 0; i < 3; i++) wa_shadow_acl_check(s, "c2", "c2", "u2", "p1", 1, NULL, 0, 0, 0, WA_ALLOW, 0);
	wa_shadow_acl_check(s, "c2", "c2", "u2", "trap", 1, NULL, 0, 0, 0, WA_DENY, 0);
	wa_shadow_acl_check(s, "c2", "c2", "u2", "x", 1, NULL, 0, 0, 0, WA_DENY, 0); /* restored instance */
	wa_shadow_forget(s, "c2");
	wa_shadow_acl_check(s, "c2", "c2", "u2", "p1", 1, NULL, 0, 0, 0, WA_DENY, 0);
	wa_shadow_stats(s, &st);
	CHECK_INT(st.agreed, 4);
	CHECK_INT(st.failed, 1); /* a trap: counted apart, never a disagreement */
	CHECK_INT(st.failed_other, 1);
	CHECK_INT(st.disagreed, 1);
	CHECK_INT(lines_with("shadow policy (not enforced): acl_check failed"), 1);
	CHECK_INT(lines_with("read p1: live deny, shadow allow"), 1);
	wa_shadow_free(s);
}

static void rate_limited(void)
{
	struct wa_shadow *s;
	struct wa_shadow_stats st;
	unsigned lines;

	nlogged = 0;
	s = shadow_of(fixture("fast"), "off");
	if (!CHECK(s != NULL)) return;
	for (int i = 0; i < 200; i++) wa_shadow_acl_check(s, "c3", "c3", "u3", "x", 2, NULL, 0, 0, 0, WA_ALLOW, 0);
	wa_shadow_stats(s, &st);
	lines = lines_with("disagrees:");
	CHECK_INT(st.disagreed, 200);
	CHECK(lines >= WA_SHADOW_LOG_BURST && lines <= WA_SHADOW_LOG_BURST + 2u);
	CHECK_INT(st.not_logged, 200 - lines);
	wa_shadow_free(s);
}

static void not_loaded(void)
{
	struct wa_shadow *s;

	nlogged = 0;
	s = shadow_of("/nonexistent/candidate.wasm", "on");
	if (CHECK(s != NULL)) {
		struct wa_shadow_stats st;

		CHECK_INT(wa_shadow_settle(s), -1);
		CHECK_INT(lines_with("shadow policy (not enforced): cannot load policy /nonexistent/candidate.wasm: "),
		          1);
		CHECK_INT(nlogged, 2); /* that, and "loading" */
		wa_shadow_acl_check(s, "c5", "c5", "u5", "x", 1, NULL, 0, 0, 0, WA_ALLOW, 0);
		wa_shadow_stats(s, &st);
		CHECK_INT(st.unavailable, 1);
		CHECK_INT(st.compared, 0);
		wa_shadow_free(s);
	}
	nlogged = 0;
	{
		struct wa_kv kv[] = { { "wasm_module", "live.wasm" } };
		struct wa_options *opts = wa_options_new(kv, 1, logged[0], sizeof logged[0]);
		struct wa_config cfg;
		if (CHECK(opts != NULL) && CHECK(wa_config_parse(opts, &cfg, logged[0], sizeof logged[0]) == 0))
			CHECK(wa_shadow_new(kv, 1, &cfg, &ops) == NULL);
		wa_options_free(opts);
	}
	CHECK_INT(nlogged, 0);
	/* The accessors take "no shadow" too: the plugin calls them unconditionally. */
	{
		struct wa_shadow_stats st;
		wa_shadow_stats(NULL, &st);
		CHECK_INT(st.compared, 0);
		CHECK(!wa_shadow_caching(NULL));
		CHECK_INT(wa_shadow_poll(NULL), 0);
	}
}

/* Failures by kind, none of them compared: the basic fixture's unpwd_check "loop" runs out of
 * fuel, "spin" (with fuel to spare) runs past its deadline, "trap" traps. */
static void failure_kinds(void)
{
	struct wa_kv kv[] = { { "wasm_module", "live.wasm" },
		              { "wasm_shadow_module", fixture("basic") },
		              { "wasm_fuel", "1000000" },
		              { "wasm_timeout_ms", "20" } };
	const char *const fuel = "1000000", *const plenty = "1000000000000";
	struct wa_shadow_stats st;

	for (int round = 0; round < 2; round++) {
		struct wa_options *opts;
		struct wa_shadow *s = NULL;
		struct wa_config cfg;

		kv[2].value = round ? plenty : fuel;
		nlogged = 0;
		opts = wa_options_new(kv, 4, logged[0], sizeof logged[0]);
		if (CHECK(opts != NULL) && CHECK(wa_config_parse(opts, &cfg, logged[0], sizeof logged[0]) == 0))
			s = wa_shadow_new(kv, 4, &cfg, &ops);
		wa_options_free(opts);
		if (!CHECK(s != NULL) || !CHECK(wa_shadow_settle(s) == 0)) {
			wa_shadow_free(s);
			return;
		}
		/* The shadow's own log lines are marked too. */
		CHECK_INT(lines_with("shadow policy (not enforced): basic fixture: plugin_init with"), 1);
		if (round == 0) {
			wa_shadow_unpwd_check(s, "c6", "c6", "loop", "x", WA_DENY, 0);
			wa_shadow_unpwd_check(s, "c6", "c6", "trap", "x", WA_DENY, 0);
			wa_shadow_stats(s, &st);
			CHECK_INT(st.failed, 2);
			CHECK_INT(st.failed_fuel, 1);
			CHECK_INT(st.failed_other, 1);
		} else {
			wa_shadow_unpwd_check(s, "c6", "c6", "spin", "x", WA_DENY, 0);
			wa_shadow_stats(s, &st);
			CHECK_INT(st.failed, 1);
			CHECK_INT(st.failed_deadline, 1);
		}
		CHECK_INT(st.compared, 0);
		wa_shadow_free(s);
	}
}

/* psk_key_get: the same key agrees; another key or decision disagrees, and no key is logged. */
static void psk(void)
{
	const char *users = getenv("WA_STATIC_USERS"); /* build/examples/static-users.wasm */
	char module[512], file[] = "/tmp/wa-test-shadow-psk-XXXXXX";
	struct wa_kv kv[] = { { "wasm_module", "live.wasm" }, { "wasm_shadow_module", module }, { "psk_file", file } };
	struct wa_options *opts;
	struct wa_config cfg;
	struct wa_shadow *s = NULL;
	struct wa_shadow_stats st;
	const char *slash;
	char err[256];
	int fd;
	FILE *f;

	if (!CHECK(users != NULL) || !CHECK((slash = strrchr(users, '/')) != NULL)) return;
	snprintf(module, sizeof module, "%.*s/psk.wasm", (int)(slash - users), users);
	fd = mkstemp(file);
	if (!CHECK(fd >= 0) || !CHECK((f = fdopen(fd, "w")) != NULL)) return;
	fputs("dev1:00ff\ndev2:abcd\n", f);
	fclose(f);
	nlogged = 0;
	opts = wa_options_new(kv, 3, err, sizeof err);
	if (CHECK(opts != NULL) && CHECK(wa_config_parse(opts, &cfg, err, sizeof err) == 0))
		s = wa_shadow_new(kv, 3, &cfg, &ops);
	wa_options_free(opts);
	if (CHECK(s != NULL) && CHECK(wa_shadow_settle(s) == 0)) {
		wa_shadow_psk_key_get(s, "c4", "c4", "dev1", NULL, 64, WA_ALLOW, "00ff", 0);
		wa_shadow_psk_key_get(s, "c4", "c4", "nobody", NULL, 64, WA_DENY, "", 0);
		wa_shadow_psk_key_get(s, "c4", "c4", "dev1", NULL, 64, WA_ALLOW, "1234", 0);
		wa_shadow_psk_key_get(s, "c4", "c4", "dev2", NULL, 64, WA_DENY, "", 0);
		wa_shadow_stats(s, &st);
		CHECK_INT(st.agreed, 2);
		CHECK_INT(st.disagreed, 2);
		CHECK_INT(lines_with("psk_key_get identity dev1: live allow, shadow allow (different keys)"), 1);
		CHECK_INT(lines_with("psk_key_get identity dev2: live deny, shadow allow"), 1);
		CHECK_INT(lines_with("00ff") + lines_with("1234") + lines_with("abcd"), 0);
	}
	wa_shadow_free(s);
	unlink(file);
}

int main(void)
{
	fixtures = getenv("WA_TEST_FIXTURES");
	if (!CHECK(fixtures != NULL)) return check_done();
	wa_log_set_sink(capture);
	compare();
	cached_and_failing();
	rate_limited();
	not_loaded();
	failure_kinds();
	psk();
	wa_watchdog_stop();
	return check_done();
}
