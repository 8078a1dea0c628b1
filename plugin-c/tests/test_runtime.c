/* The policy runtime end to end (auth.h, policy.h) on AssemblyScript fixtures compiled from
 * plugin-c/tests/fixtures/: loading and its errors, decisions, the failure decision and its log
 * line, recovery after a trap, budgets, psk keys, the 7-argument acl_check, reload, option files,
 * and wa-call. WA_TEST_FIXTURES names the directory of compiled fixtures, WA_CALL the wa-call
 * binary. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "../runtime/auth.h"
#include "../runtime/wa_limits.h"
#include "../runtime/log.h"

static const char *fixtures;
static char tmpdir[] = "/tmp/wa-runtime-XXXXXX";

/* ---- log capture -------------------------------------------------------------------------- */
#define MAX_LINES 64
static char lines[MAX_LINES][1024];
static unsigned nlines;

static void capture(int level, const char *line)
{
	(void)level;
	if (nlines < MAX_LINES) snprintf(lines[nlines], sizeof lines[0], "%s", line);
	nlines++;
}

static void clear_log(void)
{
	nlines = 0;
}

/* The captured line containing text, or NULL. */
static const char *logged(const char *text)
{
	for (unsigned i = 0; i < nlines && i < MAX_LINES; i++) {
		if (strstr(lines[i], text)) return lines[i];
	}
	return NULL;
}

static unsigned count_logged(const char *text)
{
	unsigned n = 0;
	for (unsigned i = 0; i < nlines && i < MAX_LINES; i++) n += strstr(lines[i], text) != NULL;
	return n;
}

#define CHECK_LOGGED(text)                                                                                             \
	do {                                                                                                           \
		if (!CHECK(logged(text) != NULL)) fprintf(stderr, "  no log line contains \"%s\"\n", text);            \
	} while (0)

/* ---- helpers ------------------------------------------------------------------------------ */
struct client {
	const char *id;
};

static const char *client_id(const void *c)
{
	return ((const struct client *)c)->id;
}

static const struct wa_client_ops ops = { client_id, NULL, NULL, 0 };

static const char *fixture(const char *name)
{
	static char path[4][512];
	static unsigned next;
	char *p = path[next++ % 4];
	snprintf(p, sizeof path[0], "%s/%s.wasm", fixtures, name);
	return p;
}

/* Loads with wasm_module = path plus up to 4 more key/value pairs (NULL-terminated). */
static struct wa_auth *load_opts(const char *path, const char *const *extra)
{
	struct wa_kv kv[6] = { { "wasm_module", path } };
	unsigned n = 1;
	for (; extra && extra[0] && n < 6; extra += 2) {
		kv[n].key = extra[0];
		kv[n++].value = extra[1];
	}
	return wa_auth_new(kv, n, &ops);
}

static struct wa_auth *load(const char *name)
{
	return load_opts(fixture(name), NULL);
}

static void copy_file(const char *from, const char *to)
{
	char buf[65536];
	size_t n;
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");

	if (in && out) {
		while ((n = fread(buf, 1, sizeof buf, in)) > 0) fwrite(buf, 1, n, out);
	}
	if (in) fclose(in);
	if (out) fclose(out);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static enum wa_decision unpwd(struct wa_auth *a, const char *u, const char *p)
{
	struct client c = { "c1" };
	return wa_policy_unpwd_check(wa_auth_policy(a), &c, u, p);
}

static enum wa_decision acl(struct wa_auth *a, const char *topic)
{
	struct client c = { "c1" };
	return wa_policy_acl_check(wa_auth_policy(a), &c, "c1", "user", topic, 2, NULL, 0, 0, 0);
}

/* ---- tests -------------------------------------------------------------------------------- */
static void decisions(void)
{
	const char *const extra[] = { "acl_allow", "sensors/+/temp", NULL };
	struct wa_auth *a;
	struct client other = { "someone-else" };
	unsigned hooks;

	clear_log();
	a = load_opts(fixture("basic"), extra);
	if (!CHECK(a != NULL)) return;
	CHECK_INT(count_logged("cannot load"), 0);
	CHECK_LOGGED("basic fixture: plugin_init with 2 options"); /* guest log reaches the sink */
	hooks = wa_policy_hooks(wa_auth_policy(a));
	CHECK(hooks & (1u << WA_HOOK_UNPWD_CHECK));
	CHECK(hooks & (1u << WA_HOOK_ACL_CHECK));
	CHECK(hooks & (1u << WA_HOOK_PSK_KEY_GET));

	CHECK_INT(unpwd(a, "alice", "secret"), WA_ALLOW);
	CHECK_INT(unpwd(a, "alice", "wrong"), WA_DENY);
	CHECK_INT(unpwd(a, "alice", NULL), WA_DENY);
	CHECK_INT(unpwd(a, NULL, "secret"), WA_DENY);
	CHECK_INT(unpwd(a, "defer", "x"), WA_DEFER);
	CHECK_INT(acl(a, "sensors/kitchen/temp"), WA_ALLOW);
	CHECK_INT(acl(a, "sensors/kitchen/humidity"), WA_DENY);
	CHECK_INT(acl(a, "whoami"), WA_ALLOW);
	CHECK_INT(wa_policy_acl_check(wa_auth_policy(a), &other, "c1", NULL, "whoami", 1, NULL, 0, 0, 0), WA_DENY);
	/* A request bigger than the first 4096-byte buffer: the host asks for a bigger one. */
	char topic[20000];
	memset(topic, 'x', sizeof topic - 1);
	topic[sizeof topic - 1] = '\0';
	memcpy(topic, "sensors/", 8);
	memcpy(topic + sizeof topic - 6, "/temp", 5);
	CHECK_INT(acl(a, topic), WA_ALLOW);
	CHECK_INT(acl(a, "sensors/a/temp"), WA_ALLOW);
	CHECK_INT(count_logged("failed"), 0);
	wa_auth_free(a);
}

/* The field caps on the 4-argument acl_check path: a field of WA_MAX_FIELD_BYTES reaches the
 * guest, one byte more in any field gets the failure decision without a guest call (the
 * instance stays: the next request is served). */
static void acl_field_caps(void)
{
	const char *const extra[] = { "acl_allow", "sensors/+/temp", NULL };
	size_t max = WA_MAX_FIELD_BYTES;
	char *big = malloc(max + 2), *topic = malloc(max + 2);
	struct client c = { "c1" };
	struct wa_policy *p;
	struct wa_auth *a;

	clear_log();
	a = load_opts(fixture("basic"), extra);
	if (!CHECK(a != NULL && big && topic)) goto out;
	p = wa_auth_policy(a);
	memset(big, 'b', max + 1);
	big[max + 1] = '\0';
	/* "sensors/" + x... + "/temp", exactly max bytes, then max + 1. */
	memset(topic, 'x', max + 1);
	memcpy(topic, "sensors/", 8);
	memcpy(topic + max - 5, "/temp", 6);
	CHECK_INT(wa_policy_acl_check(p, &c, "c1", "user", topic, 2, NULL, 0, 0, 0), WA_ALLOW);
	memmove(topic + max - 4, "/temp", 6);
	CHECK_INT(wa_policy_acl_check(p, &c, "c1", "user", topic, 2, NULL, 0, 0, 0), WA_DENY);
	CHECK_INT(count_logged("a field is longer than 65535 bytes"), 1);
	big[max] = '\0';
	CHECK_INT(wa_policy_acl_check(p, &c, big, big, "sensors/a/temp", 2, NULL, 0, 0, 0), WA_ALLOW);
	big[max] = 'b';
	CHECK_INT(wa_policy_acl_check(p, &c, big, "user", "sensors/a/temp", 2, NULL, 0, 0, 0), WA_DENY);
	CHECK_INT(wa_policy_acl_check(p, &c, "c1", big, "sensors/a/temp", 2, NULL, 0, 0, 0), WA_DENY);
	CHECK_INT(wa_policy_failures(p), 3); /* logged once: error lines are rate-limited */
	/* NULL client id and topic are empty strings, not absent: the guest is called. */
	CHECK_INT(wa_policy_acl_check(p, &c, NULL, NULL, "sensors/a/temp", 2, NULL, 0, 0, 0), WA_ALLOW);
	CHECK_INT(wa_policy_acl_check(p, &c, "c1", "user", NULL, 2, NULL, 0, 0, 0), WA_DENY);
	CHECK_INT(wa_policy_failures(p), 3);
	CHECK_INT(acl(a, "sensors/a/temp"), WA_ALLOW);
out:
	wa_auth_free(a);
	free(big);
	free(topic);
}

/* One failing request on a fresh policy: its decision and its one log line. */
static void failure_case(const char *const *extra, const char *user, enum wa_decision want, const char *line)
{
	struct wa_auth *a;

	clear_log();
	a = load_opts(fixture("basic"), extra);
	if (!CHECK(a != NULL)) return;
	clear_log();
	CHECK_INT(unpwd(a, user, "x"), want);
	if (!CHECK_INT(nlines, 1) || !CHECK(logged(line) != NULL)) {
		fprintf(stderr, "  user \"%s\": wanted a line with \"%s\", got \"%s\"\n", user, line,
		        nlines ? lines[0] : "");
	}
	/* The policy still answers afterwards (re-created from the cached bytes). */
	CHECK_INT(unpwd(a, "alice", "secret"), WA_ALLOW);
	wa_auth_free(a);
}

static void failures(void)
{
	const char *const defer[] = { "wasm_on_error", "defer", NULL };
	const char *const spin[] = { "wasm_fuel", "1000000000000000", "wasm_timeout_ms", "20", NULL };
	/* The default fuel (~6 ms of guest code) is meant to run out before the default deadline, but
	 * a loaded machine under ASan can reach the deadline first: it is raised for the fuel case. */
	const char *const fuel_only[] = { "wasm_timeout_ms", "10000", NULL };

	failure_case(
	    NULL, "seven", WA_DENY,
	    "wasm-auth: unpwd_check failed, request denied: returned 7, not a decision (0 deny, 1 allow, 2 defer)");
	failure_case(NULL, "trap", WA_DENY, "wasm-auth: unpwd_check failed, request denied: unreachable executed");
	failure_case(NULL, "abort", WA_DENY, "request denied: abort: boom at <invalid>:0:0");
	failure_case(fuel_only, "loop", WA_DENY, "request denied: fuel exhausted");
	failure_case(NULL, "recurse", WA_DENY, "request denied: stack overflow");
	failure_case(spin, "spin", WA_DENY, "request denied: timeout: ran longer than 20 ms");
	failure_case(spin, "fill", WA_DENY, "request denied: timeout: ran longer than 20 ms");
	failure_case(defer, "trap", WA_DEFER, "wasm-auth: unpwd_check failed, request deferred: unreachable executed");
	failure_case(defer, "seven", WA_DEFER, "request deferred: returned 7");
	/* Anonymous: never deferred, mosquitto would admit it with allow_anonymous true. */
	{
		struct wa_auth *a =
		    load_opts(fixture("basic"), (const char *const[]){ "wasm_on_error", "defer", NULL });
		if (CHECK(a != NULL)) {
			/* A password over the field cap fails the request before the guest runs. */
			char *big = malloc(70000);
			if (CHECK(big != NULL)) {
				memset(big, 'p', 69999);
				big[69999] = '\0';
				clear_log();
				CHECK_INT(wa_policy_unpwd_check(wa_auth_policy(a), NULL, NULL, big), WA_DENY);
				CHECK_LOGGED("unpwd_check failed, request denied: a field is longer");
				CHECK_INT(wa_policy_unpwd_check(wa_auth_policy(a), NULL, "bob", big), WA_DEFER);
				free(big);
			}
			wa_auth_free(a);
		}
	}
}

static void rate_limit(void)
{
	struct wa_auth *a = load("basic");

	if (!CHECK(a != NULL)) return;
	clear_log();
	for (int i = 0; i < 5; i++) CHECK_INT(unpwd(a, "trap", "x"), WA_DENY);
	/* One line for five failures within WA_ERROR_LOG_INTERVAL_S. */
	CHECK_INT(count_logged("unpwd_check failed"), 1);
	wa_auth_free(a);
}

static void recovery(void)
{
	struct wa_auth *a = load("basic");

	if (!CHECK(a != NULL)) return;
	CHECK_INT(acl(a, "inc"), WA_ALLOW);
	CHECK_INT(acl(a, "odd"), WA_ALLOW); /* counter 1 */
	CHECK_INT(acl(a, "inc"), WA_ALLOW);
	CHECK_INT(acl(a, "odd"), WA_DENY); /* counter 2 */
	CHECK_INT(acl(a, "inc"), WA_ALLOW);
	CHECK_INT(acl(a, "odd"), WA_ALLOW); /* counter 3 */
	CHECK_INT(unpwd(a, "trap", "x"), WA_DENY);
	/* A new instance: the counter is back to 0, plugin_init ran again. */
	CHECK_INT(acl(a, "odd"), WA_DENY);
	CHECK_INT(unpwd(a, "state", "x"), WA_ALLOW);
	CHECK_INT(acl(a, "inc"), WA_ALLOW);
	CHECK_INT(acl(a, "odd"), WA_ALLOW);
	/* Memory exhaustion at the cap is a trap like any other. */
	CHECK_INT(acl(a, "grow"), WA_DENY);
	CHECK_INT(acl(a, "odd"), WA_DENY);
	wa_auth_free(a);
}

/* The decision cache's inputs: the declaration is read (4-argument form only), the epoch moves
 * when an instance is discarded, re-created or re-initialised, failures are counted. */
static void cache_inputs(void)
{
	struct wa_auth *a = load("cacheable"), *b = load("cacheable7"), *c = load("basic");
	struct wa_policy *p;
	char err[256];
	uint64_t e0, f0;

	if (!CHECK(a != NULL) || !CHECK(b != NULL) || !CHECK(c != NULL)) goto out;
	p = wa_auth_policy(a);
	CHECK_INT(wa_policy_acl_cacheable(p), 1);
	CHECK_INT(wa_policy_acl_cacheable(wa_auth_policy(b)), 0);
	CHECK_INT(wa_policy_acl_cacheable(wa_auth_policy(c)), 0);
	e0 = wa_policy_epoch(p);
	f0 = wa_policy_failures(p);
	CHECK(e0 != wa_policy_epoch(wa_auth_policy(b)));
	CHECK_INT(acl(a, "pub"), WA_ALLOW);
	CHECK_INT(acl(a, "x"), WA_DENY);
	CHECK(wa_policy_epoch(p) == e0);
	CHECK(wa_policy_failures(p) == f0);
	CHECK_INT(acl(a, "trap"), WA_DENY);
	CHECK(wa_policy_failures(p) == f0 + 1);
	/* Restored to its state after init, which its cached decisions came from: they still hold. */
	CHECK(wa_policy_epoch(p) == e0);
	CHECK_INT(acl(a, "pub"), WA_ALLOW);
	CHECK(wa_policy_epoch(p) == e0);
	CHECK_INT(wa_policy_acl_cacheable(p), 1);
	e0 = wa_policy_epoch(p);
	wa_policy_security_cleanup(p, 1);
	CHECK_INT(wa_policy_security_init(p, 1, err, sizeof err), 0);
	CHECK(wa_policy_epoch(p) != e0); /* re-initialised */
	CHECK(wa_policy_failures(p) == f0 + 1);
out:
	wa_auth_free(a);
	wa_auth_free(b);
	wa_auth_free(c);
}

static void psk(void)
{
	struct wa_auth *a = load("basic");
	struct client c = { "c1" };
	char key[64];

	if (!CHECK(a != NULL)) return;
	CHECK_INT(wa_policy_psk_key_get(wa_auth_policy(a), &c, "dev1", "hint", key, sizeof key), WA_ALLOW);
	CHECK_STR(key, "00ff");
	clear_log();
	CHECK_INT(wa_policy_psk_key_get(wa_auth_policy(a), &c, "nothex", "hint", key, sizeof key), WA_DENY);
	CHECK_STR(key, "");
	CHECK_LOGGED("psk_key_get: the key is not hexadecimal");
	CHECK_INT(wa_policy_psk_key_get(wa_auth_policy(a), &c, "long", NULL, key, sizeof key), WA_DENY);
	CHECK_INT(wa_policy_psk_key_get(wa_auth_policy(a), &c, "unknown", "hint", key, sizeof key), WA_DENY);
	CHECK_STR(key, "");
	/* The key must fit the broker's buffer with its NUL. */
	CHECK_INT(wa_policy_psk_key_get(wa_auth_policy(a), &c, "dev1", "hint", key, 4), WA_DENY);
	CHECK_INT(wa_policy_psk_key_get(wa_auth_policy(a), &c, "dev1", "hint", key, 5), WA_ALLOW);
	CHECK_STR(key, "00ff");
	wa_auth_free(a);
}

static void acl_long_form(void)
{
	const char *const small[] = { "wasm_max_payload", "1", NULL };
	const char *const small_defer[] = { "wasm_max_payload", "1", "wasm_on_error", "defer", NULL };
	struct client c = { "c1" };
	struct wa_auth *a = load("acl7");

	if (!CHECK(a != NULL)) return;
	CHECK_INT(wa_policy_hooks(wa_auth_policy(a)), 1u << WA_HOOK_ACL_CHECK);
	CHECK_INT(wa_policy_acl_check(wa_auth_policy(a), &c, "c1", "u", "t", 2, "ok", 2, 1, 0), WA_ALLOW);
	CHECK_INT(wa_policy_acl_check(wa_auth_policy(a), &c, "c1", "u", "t", 2, "ok", 2, 0, 0), WA_DENY);
	CHECK_INT(wa_policy_acl_check(wa_auth_policy(a), &c, "c1", "u", "t", 2, "ok", 2, 1, 1), WA_DENY);
	CHECK_INT(wa_policy_acl_check(wa_auth_policy(a), &c, "c1", "u", "t", 2, "okay", 2, 1, 0), WA_ALLOW);
	CHECK_INT(wa_policy_acl_check(wa_auth_policy(a), &c, "c1", "u", "t", 2, "no", 2, 1, 0), WA_DENY);
	CHECK_INT(wa_policy_acl_check(wa_auth_policy(a), &c, "c1", "u", "t", 1, NULL, 0, 1, 0), WA_DENY);
	wa_auth_free(a);

	/* Payload above wasm_max_payload: the failure decision, without calling the guest. */
	clear_log();
	a = load_opts(fixture("acl7"), small);
	if (!CHECK(a != NULL)) return;
	CHECK_INT(wa_policy_acl_check(wa_auth_policy(a), &c, "c1", "u", "t", 2, "ok", 2, 1, 0), WA_DENY);
	CHECK_LOGGED("acl_check failed, request denied: payload of 2 bytes exceeds wasm_max_payload (1)");
	CHECK_INT(wa_policy_acl_check(wa_auth_policy(a), &c, "c1", "u", "t", 2, "o", 1, 1, 0), WA_DENY);
	wa_auth_free(a);
	a = load_opts(fixture("acl7"), small_defer);
	if (!CHECK(a != NULL)) return;
	CHECK_INT(wa_policy_acl_check(wa_auth_policy(a), &c, "c1", "u", "t", 2, "ok", 2, 1, 0), WA_DEFER);
	wa_auth_free(a);
}

/* A load that must fail with exactly one line: "wasm-auth: cannot load policy PATH: ...why...". */
static void load_error(const char *path, const char *const *extra, const char *why)
{
	char prefix[600];
	struct wa_auth *a;

	clear_log();
	a = load_opts(path, extra);
	CHECK(a == NULL);
	wa_auth_free(a);
	snprintf(prefix, sizeof prefix, "wasm-auth: cannot load policy %s: ", path);
	/* Exactly one error line (the guest may have logged before it failed). */
	const char *line = logged("cannot load policy");
	if (!CHECK_INT(count_logged("cannot load policy"), 1) || !CHECK(strncmp(line, prefix, strlen(prefix)) == 0) ||
	    !CHECK(strstr(line, why) != NULL)) {
		fprintf(stderr, "  wanted \"%s...%s\", got \"%s\"\n", prefix, why, line ? line : "");
	}
	CHECK_INT(count_logged("wasm-auth: "), count_logged("basic fixture") + 1);
}

static void load_errors(void)
{
	const char *const refuse_init[] = { "refuse", "init", NULL };
	const char *const refuse_security[] = { "refuse", "security", NULL };
	const char *const tiny[] = { "wasm_max_module_bytes", "100", NULL };
	/* The gate's counts, lowered below what the basic fixture has (an AssemblyScript module:
	 * several functions, globals and data bytes): each refuses it, naming its option. */
	const char *const few_functions[] = { "wasm_max_functions", "1", NULL };
	const char *const no_globals[] = { "wasm_max_globals", "0", NULL };
	const char *const no_data[] = { "wasm_max_data_bytes", "0", NULL };
	const char *const bad_option[] = { "wasm_on_error", "allow", NULL };
	char garbage[600], missing[600];
	struct wa_kv none[1] = { { "other", "x" } };

	snprintf(garbage, sizeof garbage, "%s/garbage.wasm", tmpdir);
	snprintf(missing, sizeof missing, "%s/missing.wasm", tmpdir);
	write_file(garbage, "this is not webassembly");

	load_error(missing, NULL, "No such file or directory");
	load_error(garbage, NULL, "");
	load_error(fixture("abi2"), NULL, "built for ABI 2, this plugin speaks 1");
	load_error(fixture("starttrap"), NULL, "start function trapped: abort: cannot start at");
	load_error(fixture("basic"), refuse_init, "plugin_init returned 0");
	load_error(fixture("basic"), refuse_security, "security_init returned 0");
	load_error(fixture("basic"), tiny, "wasm_max_module_bytes");
	load_error(fixture("basic"), few_functions, "function section: ");
	load_error(fixture("basic"), few_functions, " functions exceed the cap of 1 (wasm_max_functions)");
	load_error(fixture("basic"), no_globals, " globals exceed the cap of 0 (wasm_max_globals)");
	load_error(fixture("basic"), no_data, " bytes of data segments exceed the cap of 0 (wasm_max_data_bytes)");
	clear_log();
	CHECK(load_opts(fixture("basic"), bad_option) == NULL);
	CHECK_INT(nlines, 1);
	CHECK_LOGGED("wasm-auth: cannot load policy: option wasm_on_error");
	clear_log();
	CHECK(wa_auth_new(none, 1, &ops) == NULL);
	CHECK_INT(nlines, 1);
	CHECK_LOGGED("wasm-auth: cannot load policy: option wasm_module");
	unlink(garbage);
}

static void reload(void)
{
	char path[600];
	struct wa_auth *a;

	snprintf(path, sizeof path, "%s/policy.wasm", tmpdir);
	copy_file(fixture("basic"), path);
	a = load_opts(path, NULL);
	if (!CHECK(a != NULL)) return;
	CHECK_INT(acl(a, "inc"), WA_ALLOW);

	/* Unchanged file: a fresh instance all the same (state starts over), no error line. */
	clear_log();
	CHECK_INT(wa_auth_reload(a), 0);
	CHECK_LOGGED("reloaded policy");
	CHECK_INT(count_logged("trapped"), 0);
	CHECK_INT(acl(a, "odd"), WA_DENY);

	/* Changed file: a new policy, with another hook set. */
	copy_file(fixture("acl7"), path);
	clear_log();
	CHECK_INT(wa_auth_reload(a), 0);
	CHECK_LOGGED("reloaded policy");
	CHECK_INT(wa_policy_hooks(wa_auth_policy(a)), 1u << WA_HOOK_ACL_CHECK);

	/* Broken file, then a missing one: one line each, the previous policy stays. */
	write_file(path, "\0asm garbage");
	clear_log();
	CHECK_INT(wa_auth_reload(a), -1);
	CHECK_INT(nlines, 1);
	CHECK(strncmp(lines[0], "wasm-auth: reload of ", 21) == 0);
	CHECK_LOGGED("failed, keeping the previous policy: ");
	CHECK_INT(wa_policy_hooks(wa_auth_policy(a)), 1u << WA_HOOK_ACL_CHECK);
	struct client c = { "c1" };
	CHECK_INT(wa_policy_acl_check(wa_auth_policy(a), &c, "c1", "u", "t", 2, "ok", 2, 1, 0), WA_ALLOW);
	copy_file(fixture("abi2"), path);
	clear_log();
	CHECK_INT(wa_auth_reload(a), -1);
	CHECK_LOGGED("keeping the previous policy: built for ABI 2");
	unlink(path);
	clear_log();
	CHECK_INT(wa_auth_reload(a), -1);
	CHECK_INT(nlines, 1);
	CHECK_INT(wa_policy_acl_check(wa_auth_policy(a), &c, "c1", "u", "t", 2, "ok", 2, 1, 0), WA_ALLOW);

	/* A module whose load never finishes: stopped at the lifecycle deadline, the previous policy
	 * stays. */
	copy_file(fixture("basic"), path);
	{
		const char *const spin[] = { "refuse", "spin",           "wasm_init_timeout_ms",
			                     "100",    "wasm_init_fuel", "1000000000000000",
			                     NULL };
		struct wa_auth *s = load_opts(path, spin);
		CHECK(s == NULL);
		CHECK_LOGGED(
		    "security_init trapped: timeout: ran longer than 100 ms (wasm_init_timeout_ms 100 reached; "
		    "raise plugin_opt_wasm_init_timeout_ms)");
	}

	/* Back to the first module. */
	copy_file(fixture("basic"), path);
	CHECK_INT(wa_auth_reload(a), 0);
	CHECK_INT(unpwd(a, "alice", "secret"), WA_ALLOW);
	wa_auth_free(a);
	unlink(path);
}

static void option_files(void)
{
	char data[600], stream[600];
	const char *extra[] = { "data_file", data, "stream_file", stream, NULL };
	struct wa_auth *a;
	int fds;

	snprintf(data, sizeof data, "%s/data.txt", tmpdir);
	snprintf(stream, sizeof stream, "%s/stream.txt", tmpdir);
	write_file(data, "from the file");
	write_file(stream, "streamed from the file, 5 bytes at a time");
	/* A policy without option files first: what the runtime itself keeps open stays open. */
	a = load("basic");
	wa_auth_free(a);
	fds = open_fds();
	a = load_opts(fixture("basic"), extra);
	if (!CHECK(a != NULL)) return;
	CHECK_INT(unpwd(a, "file", "from the file"), WA_ALLOW);
	CHECK_INT(unpwd(a, "file", "something else"), WA_DENY);
	CHECK_INT(unpwd(a, "stream", "streamed from the file, 5 bytes at a time"), WA_ALLOW);
	CHECK_INT(acl(a, "file"), WA_ALLOW); /* option_file_size: WA_OPTION_FILE_OUTSIDE_INIT */
	CHECK_LOGGED(
	    "option_file_size: option file data_file: option files can be read only in plugin_init and security_init");
	CHECK_INT(acl(a, "streamat"), WA_ALLOW);
	CHECK_LOGGED("option_file_read_at: option file stream_file: option files can be read only in plugin_init and "
	             "security_init");
	/* The file plugin_init streamed was closed when plugin_init returned. */
	CHECK_INT(open_fds(), fds);
	wa_auth_free(a);
	CHECK_INT(open_fds(), fds);
	unlink(data);
	unlink(stream);
}

/* Many requests through an allocation-free policy: no leak or drift (ASan watches), and the
 * host's cost per call for information. */
static void many_requests(void)
{
	struct wa_auth *a = load("fast");
	struct client c = { "c1" };
	struct timespec t0, t1;
	unsigned allowed = 0;
	const unsigned n = 200000;

	if (!CHECK(a != NULL)) return;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
	for (unsigned i = 0; i < n; i++) {
		allowed += wa_policy_acl_check(wa_auth_policy(a), &c, "client-1", "user",
		                               i & 1 ? "public/a/b" : "private/x", 2, NULL, 0, 0, 0) == WA_ALLOW;
	}
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
	CHECK_INT(allowed, n / 2);
	/* Information only (sanitizer build of our code, CPU time): no assertion on time. */
	printf("acl_check through the runtime: %.0f ns CPU per call (ASan/UBSan build of our code)\n",
	       ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / n);
	wa_auth_free(a);
}

/* wa-call: exit status and its one line of output. */
static int wa_call(const char *args, char *out, size_t cap)
{
	char cmd[2048];
	FILE *p;
	size_t n;
	int status;

	snprintf(cmd, sizeof cmd, "%s %s 2>/dev/null", getenv("WA_CALL"), args);
	p = popen(cmd, "r");
	if (!p) return -1;
	n = fread(out, 1, cap - 1, p);
	out[n] = '\0';
	status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void wa_call_tool(void)
{
	char args[1024], out[256];

	if (!CHECK(getenv("WA_CALL") != NULL)) return;
	snprintf(args, sizeof args, "%s unpwd_check alice secret", fixture("basic"));
	CHECK_INT(wa_call(args, out, sizeof out), 0);
	CHECK_STR(out, "allow\n");
	snprintf(args, sizeof args, "%s unpwd_check @null secret", fixture("basic"));
	CHECK_INT(wa_call(args, out, sizeof out), 0);
	CHECK_STR(out, "deny\n");
	snprintf(args, sizeof args, "%s --opt wasm_on_error=defer unpwd_check trap x", fixture("basic"));
	CHECK_INT(wa_call(args, out, sizeof out), 0);
	CHECK_STR(out, "defer\n");
	snprintf(args, sizeof args, "%s --client-id c9 acl_check c9 u whoami subscribe", fixture("basic"));
	CHECK_INT(wa_call(args, out, sizeof out), 0);
	CHECK_STR(out, "allow\n");
	snprintf(args, sizeof args, "%s --client-id other acl_check c9 u whoami read", fixture("basic"));
	CHECK_INT(wa_call(args, out, sizeof out), 0);
	CHECK_STR(out, "deny\n");
	snprintf(args, sizeof args, "%s psk_key_get dev1 hint", fixture("basic"));
	CHECK_INT(wa_call(args, out, sizeof out), 0);
	CHECK_STR(out, "00ff\n");
	snprintf(args, sizeof args, "%s psk_key_get nobody hint", fixture("basic"));
	CHECK_INT(wa_call(args, out, sizeof out), 0);
	CHECK_STR(out, "none\n");
	snprintf(args, sizeof args, "%s acl_check c u t write ok 1 0", fixture("acl7"));
	CHECK_INT(wa_call(args, out, sizeof out), 0);
	CHECK_STR(out, "allow\n");
	snprintf(args, sizeof args, "%s acl_check c u t write ok 2 0", fixture("acl7"));
	CHECK_INT(wa_call(args, out, sizeof out), 0);
	CHECK_STR(out, "deny\n");
	/* Errors: hook not exported, bad arguments, unloadable policy. Nothing on stdout. */
	snprintf(args, sizeof args, "%s unpwd_check a b", fixture("acl7"));
	CHECK_INT(wa_call(args, out, sizeof out), 2);
	CHECK_STR(out, "");
	snprintf(args, sizeof args, "%s acl_check c u t sideways", fixture("basic"));
	CHECK_INT(wa_call(args, out, sizeof out), 2);
	snprintf(args, sizeof args, "%s acl_check c u t read", fixture("abi2"));
	CHECK_INT(wa_call(args, out, sizeof out), 2);
	CHECK_STR(out, "");

	/* --batch: one policy for many requests, so state and its loss after a trap show. */
	snprintf(args, sizeof args, "%s --batch < %s/batch.txt", fixture("basic"), tmpdir);
	snprintf(out, sizeof out, "%s/batch.txt", tmpdir);
	write_file(out, "acl_check c u inc write\nacl_check c u odd write\nunpwd_check trap x\n"
	                "acl_check c u odd write\nunpwd_check @empty @null\nreload\nnonsense\n"
	                "unpwd_check alice secret\n");
	CHECK_INT(wa_call(args, out, sizeof out), 2); /* 2: one line was bad */
	CHECK_STR(out, "allow\nallow\ndeny\ndeny\ndeny\nok\nerror\nallow\n");
	snprintf(out, sizeof out, "%s/batch.txt", tmpdir);
	unlink(out);
}

/* ---- events and deferred actions (docs/ABI.md) -------------------------------------------- */
static char taken[8][64];
static unsigned ntaken;

static void take(const struct wa_action *a, void *ud)
{
	(void)ud;
	if (ntaken < 8) {
		snprintf(taken[ntaken], sizeof taken[0], "%d %s %.*s", (int)a->kind, a->target, (int)a->payloadlen,
		         a->payload ? (const char *)a->payload : "");
	}
	ntaken++;
}

static void events(void)
{
	const char *const prefix[] = { "wasm_publish_prefix", "ev", NULL };
	struct wa_auth *a = load_opts(fixture("events"), prefix);
	struct wa_policy *p;
	struct client c = { "c9" };
	uint64_t due = 42;

	if (!CHECK(a != NULL)) return;
	p = wa_auth_policy(a);
	CHECK(wa_policy_hooks(p) & (1u << WA_HOOK_ON_TICK));
	CHECK(wa_policy_hooks(p) & (1u << WA_HOOK_ON_DISCONNECT));
	/* plugin_init ran on the worker thread: its publish waited, queued, for the main thread. */
	CHECK_INT(wa_policy_actions_pending(p), 1);
	wa_auth_wake_on_action(a, &due);
	/* Each queued action wakes the embedder; a hook that queues nothing does not. */
	CHECK_INT(wa_policy_acl_check(p, &c, "c9", NULL, "quiet", 2, NULL, 0, 0, 0), WA_ALLOW);
	CHECK_INT((int)due, 42);
	wa_policy_tick(p);
	CHECK_INT((int)due, 0);
	due = 42;
	wa_policy_disconnect(p, &c, "c9", NULL);
	CHECK_INT((int)due, 0);
	due = 42;
	CHECK_INT(wa_policy_acl_check(p, &c, "c9", NULL, "kick", 2, NULL, 0, 0, 0), WA_ALLOW);
	CHECK_INT((int)due, 0);
	wa_auth_wake_on_action(a, NULL);
	ntaken = 0;
	wa_policy_take_actions(p, take, NULL);
	CHECK_INT(ntaken, 4);
	CHECK_STR(taken[0], "2 ev/init hello");
	CHECK_STR(taken[1], "2 ev/tick 1");
	CHECK_STR(taken[2], "2 ev/bye c9");
	CHECK_STR(taken[3], "0 c9 ");
	CHECK_INT(wa_policy_actions_pending(p), 0);
	/* A failed request or event: its actions dropped, the failure logged, the instance restored. */
	clear_log();
	wa_policy_disconnect(p, &c, "trapper", "u");
	CHECK_INT(wa_policy_actions_pending(p), 0);
	CHECK_LOGGED("on_disconnect failed (ignored): unreachable executed");
	/* (its failure line falls in the same interval: rate-limited away) */
	CHECK_INT(wa_policy_acl_check(p, &c, "c9", NULL, "trap", 2, NULL, 0, 0, 0), WA_DENY);
	CHECK_INT(wa_policy_actions_pending(p), 0);
	wa_policy_tick(p); /* restored: the sealed tick count, 0, again */
	ntaken = 0;
	wa_policy_take_actions(p, take, NULL);
	CHECK_INT(ntaken, 1);
	CHECK_STR(taken[0], "2 ev/tick 1");
	wa_auth_free(a);

	/* Without the prefix: nothing queued (the refusal is the host's, logged). */
	clear_log();
	a = load_opts(fixture("events"), NULL);
	if (!CHECK(a != NULL)) return;
	CHECK_INT(wa_policy_actions_pending(wa_auth_policy(a)), 0);
	wa_auth_free(a);
	CHECK_LOGGED("publish: ev/init refused: plugin_opt_wasm_publish_prefix is not set");
}

/* Revocation (docs/ABI.md): session_check's answers, and its failures get the failure decision. */
static void session_check(void)
{
	const char *const deny_on_error[] = { "wasm_on_error", "deny", NULL };
	const char *const defer_on_error[] = { "wasm_on_error", "defer", NULL };
	struct wa_auth *a = load_opts(fixture("events"), deny_on_error);
	struct wa_policy *p;

	if (!CHECK(a != NULL)) return;
	p = wa_auth_policy(a);
	CHECK(wa_policy_hooks(p) & (1u << WA_HOOK_SESSION_CHECK));
	CHECK_INT(wa_policy_session_check(p, "c1", "alice"), WA_ALLOW);
	CHECK_INT(wa_policy_session_check(p, "c1", NULL), WA_ALLOW);
	CHECK_INT(wa_policy_session_check(p, "c2", "revoked"), WA_DENY);
	clear_log();
	CHECK_INT(wa_policy_session_check(p, "c3", "trap"), WA_DENY);
	CHECK_LOGGED("session_check failed, request denied: unreachable executed");
	CHECK_INT(wa_policy_session_check(p, "c3", "loop"), WA_DENY);
	CHECK_INT(wa_policy_session_check(p, "c3", "seven"), WA_DENY);
	/* The instance serves on after each failure. */
	CHECK_INT(wa_policy_session_check(p, "c1", "alice"), WA_ALLOW);
	wa_auth_free(a);

	a = load_opts(fixture("events"), defer_on_error);
	if (!CHECK(a != NULL)) return;
	CHECK_INT(wa_policy_session_check(wa_auth_policy(a), "c3", "trap"), WA_DEFER);
	wa_auth_free(a);

	/* A module without the hook keeps every session. */
	a = load_opts(fixture("basic"), NULL);
	if (!CHECK(a != NULL)) return;
	CHECK(!(wa_policy_hooks(wa_auth_policy(a)) & (1u << WA_HOOK_SESSION_CHECK)));
	CHECK_INT(wa_policy_session_check(wa_auth_policy(a), "c2", "revoked"), WA_ALLOW);
	wa_auth_free(a);
}

int main(void)
{
	fixtures = getenv("WA_TEST_FIXTURES");
	if (!CHECK(fixtures != NULL) || !CHECK(mkdtemp(tmpdir) != NULL)) return check_done();
	wa_log_set_sink(capture);

	decisions();
	acl_field_caps();
	failures();
	rate_limit();
	recovery();
	cache_inputs();
	psk();
	acl_long_form();
	load_errors();
	reload();
	option_files();
	many_requests();
	wa_call_tool();
	events();
	session_check();
	rmdir(tmpdir);
	return check_done();
}
