/* Soak test: many hook calls through the runtime exactly as the plugin makes them, with reloads
 * in between, built with AddressSanitizer + LeakSanitizer (our code; wasm3 stays uninstrumented,
 * as in plugin.mk's sanitizer build).
 *
 * Four policies, each behind its own wa_auth as the plugin holds it:
 *   default   the default policy with a password file and an ACL file: allow and deny answers
 *             that are checked against the files;
 *   echo      fuzz/echo.wat: allow, deny, defer, invalid decisions and traps depending on the
 *             request bytes (every trap discards the instance; the next call re-creates it);
 *   hostile   tests/hostile/fixtures/hostile.wat: well-behaved requests (checked: allow) mixed
 *             with traps, aborts with bad pointers, recursion bombs, invalid results and, more
 *             rarely, endless loops and memory bombs (checked: the failure decision);
 *   swap      a module file that alternates between echo and hostile at every reload, so each
 *             reload loads a new module and frees the old one.
 * Every RELOAD_EVERY calls all four reload (mosquitto's SIGHUP) and the resident set size is
 * recorded. After the first WARMUP_CHECKPOINTS (warm-up: caches, the guests' heaps, and the
 * allocator arenas of the worker threads that build every reloaded instance), every later one
 * must stay within the tolerance of the highest of them. LeakSanitizer checks at exit that
 * everything was freed.
 *
 * Under valgrind the resident set is valgrind's own (its heap never shrinks): SOAK_RSS_CHECK=0
 * keeps the checkpoints in the report but does not judge them.
 *
 * Usage: soak CALLS RELOAD_EVERY WORKDIR DEFAULT.wasm ECHO.wasm HOSTILE.wasm
 * WORKDIR must hold `passwd` (mosquitto_passwd, user alice, password secret); the ACL file and
 * the swapped module are written there. Exit 0 when every check held. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../plugin-c/runtime/auth.h"
#include "../../plugin-c/runtime/log.h"

/* RSS may exceed the warm-up checkpoint by this much (allocator and page-cache noise); a leak of
 * even 100 bytes per call would show as tens of MiB over 1M calls. */
#define RSS_TOLERANCE_BYTES (8l * 1024 * 1024)
#define MAX_CHECKPOINTS     1024
#define WARMUP_CHECKPOINTS  4
/* The hostile policy's memory cap (4 MiB): its memory bomb still reaches the cap and traps. */
#define HOSTILE_MEMORY_PAGES "64"

static const char acl_text[] = "user alice\n"
                               "topic readwrite alice/#\n"
                               "topic read public/#\n"
                               "pattern readwrite users/%u/#\n";

/* hostile.wat's trigger words that end quickly, cycled through on every 16th hostile call. */
static const char *const quick_triggers[] = {
	"trap", "abort", "abortlen", "recurse", "baddec", "badkey", "logbad", "wrap",
};

struct counts {
	unsigned long calls, allow, deny, defer, failures_expected, wrong;
	unsigned long log_lines;
};

static struct counts n;

static void quiet(int level, const char *line)
{
	(void)level;
	(void)line;
	n.log_lines++;
}

static const char *client_id(const void *c)
{
	return c;
}

static const char *client_address(const void *c)
{
	(void)c;
	return "127.0.0.1";
}

static int client_protocol_version(const void *c)
{
	(void)c;
	return 4;
}

static const struct wa_client_ops client_ops = { client_id, client_address, client_protocol_version, 0 };

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "soak: %s: %s\n", what, detail);
	exit(1);
}

static long rss_bytes(void)
{
	long pages_total, pages_resident;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f) die("cannot read", "/proc/self/statm");
	if (fscanf(f, "%ld %ld", &pages_total, &pages_resident) != 2) die("cannot parse", "/proc/self/statm");
	fclose(f);
	return pages_resident * sysconf(_SC_PAGESIZE);
}

static void write_file(const char *path, const void *data, size_t len)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	f = fopen(tmp, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) die("cannot write", tmp);
	if (rename(tmp, path) != 0) die("cannot rename", tmp);
}

static void *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long size;

	if (!f || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
		die("cannot read", path);
	buf = malloc((size_t)size + 1);
	if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size) die("cannot read", path);
	fclose(f);
	*len = (size_t)size;
	return buf;
}

/* passwd and acl NULL: no policy files. pages: wasm_max_memory_pages, NULL for the default. */
static struct wa_auth *load(const char *module, const char *passwd, const char *acl, const char *pages)
{
	struct wa_kv kv[4] = { { "wasm_module", module } };
	unsigned nkv = 1;
	struct wa_auth *a;

	if (passwd) {
		kv[nkv++] = (struct wa_kv){ "password_file", passwd };
		kv[nkv++] = (struct wa_kv){ "acl_file", acl };
	}
	if (pages) kv[nkv++] = (struct wa_kv){ "wasm_max_memory_pages", pages };
	a = wa_auth_new(kv, nkv, &client_ops);

	if (!a) die("cannot load policy (see the log line above)", module);
	return a;
}

static void tally(enum wa_decision d)
{
	n.calls++;
	if (d == WA_ALLOW)
		n.allow++;
	else if (d == WA_DENY)
		n.deny++;
	else if (d == WA_DEFER)
		n.defer++;
	else
		n.wrong++;
}

static void expect(enum wa_decision d, enum wa_decision want, const char *what, unsigned long i)
{
	tally(d);
	if (d != want) {
		if (n.wrong < 10) fprintf(stderr, "soak: call %lu: %s: got %d, want %d\n", i, what, d, want);
		n.wrong++;
	}
}

/* One call on the default policy; the answer follows from the password and ACL files. */
static void call_default(struct wa_auth *a, unsigned long i)
{
	struct wa_policy *p = wa_auth_policy(a);
	char topic[64];

	switch (i % 7) {
		case 0:
			/* unpwd_check costs a PBKDF2 ($7$, 101 rounds): not on every turn. */
			if (i % 91 == 0)
				expect(wa_policy_unpwd_check(p, "c", "alice", (i & 1) ? "secret" : "wrong"),
				       (i & 1) ? WA_ALLOW : WA_DENY, "default unpwd_check", i);
			else
				expect(wa_policy_acl_check(p, "c", "c", "alice", "public/news", 1, NULL, 0, 0, 0),
				       WA_ALLOW, "default read public", i);
			break;
		case 1:
			snprintf(topic, sizeof topic, "alice/%lu", i);
			expect(wa_policy_acl_check(p, "c", "c", "alice", topic, 2, "x", 1, 0, 0), WA_ALLOW,
			       "default write own", i);
			break;
		case 2:
			snprintf(topic, sizeof topic, "bob/%lu", i);
			expect(wa_policy_acl_check(p, "c", "c", "alice", topic, 2, "x", 1, 1, 0), WA_DENY,
			       "default write other", i);
			break;
		case 3:
			expect(wa_policy_acl_check(p, "c", "c", "alice", "public/news", 2, "x", 1, 0, 1), WA_DENY,
			       "default write public", i);
			break;
		case 4:
			snprintf(topic, sizeof topic, "users/alice/%lu/x", i % 1000);
			expect(wa_policy_acl_check(p, "c", "c", "alice", topic, 1, NULL, 0, 0, 0), WA_ALLOW,
			       "default pattern", i);
			break;
		case 5:
			expect(wa_policy_acl_check(p, "c", "c", NULL, "alice/x", 2, "x", 1, 0, 0), WA_DENY,
			       "default anonymous", i);
			break;
		default:
			expect(wa_policy_acl_check(p, "c", "c", "alice", "users/bob/x", 2, "x", 1, 0, 0), WA_DENY,
			       "default pattern other", i);
			break;
	}
}

/* One call on the echo policy: any answer (or the failure decision); requests vary with i. */
static void call_echo(struct wa_auth *a, unsigned long i)
{
	struct wa_policy *p = wa_auth_policy(a);
	char user[32], topic[64], payload[48];
	unsigned hooks = wa_policy_hooks(p);

	snprintf(user, sizeof user, "u%lu", i % 977);
	snprintf(topic, sizeof topic, "t/%lu/%lu", i % 13, i);
	snprintf(payload, sizeof payload, "payload-%lu", i * 2654435761ul);
	if ((hooks & (1u << WA_HOOK_ACL_CHECK)) && i % 3) {
		tally(wa_policy_acl_check(p, "c", "c", user, topic, 1 << (i % 4), payload, (uint32_t)strlen(payload),
		                          (int)(i % 3), (int)(i & 1)));
	} else if (hooks & (1u << WA_HOOK_UNPWD_CHECK)) {
		tally(wa_policy_unpwd_check(p, "c", user, (i & 4) ? NULL : payload));
	} else {
		die("policy exports neither acl_check nor unpwd_check", "echo");
	}
}

/* One call on the hostile policy, its j-th of `total`: well-behaved (allow) or a trigger (the
 * failure decision). */
static void call_hostile(struct wa_auth *a, unsigned long i, unsigned long j, unsigned long total)
{
	struct wa_policy *p = wa_auth_policy(a);
	const char *word = NULL;
	char field[64], key[WA_MAX_PSK_KEY_CHARS + 1];
	/* Endless loops cost a whole budget (up to the 100 ms timeout), and a memory bomb grows the
	 * guest to its cap one page at a time, which under ASan is slow (every realloc copies into
	 * fresh pages; the cost grows with the square of the cap, hence the hostile policy's lower
	 * cap below): two of each per 100k calls, at least two per run. The quick triggers come on
	 * every 16th call. */
	unsigned long rare = total / (total / 25000 + 2) + 1;
	enum wa_decision d;

	if (j % rare == rare / 3)
		word = (j / rare) % 2 ? "spin" : "calls";
	else if (j % rare == 2 * rare / 3)
		word = "grow";
	else if (j % 16 == 3)
		word = quick_triggers[(j / 16) % (sizeof quick_triggers / sizeof quick_triggers[0])];

	snprintf(field, sizeof field, "%s/%lu", word ? word : "ok", i);
	switch (i % 3) {
		case 0: d = wa_policy_acl_check(p, "c", "c", "u", field, 2, "x", 1, 0, 0); break;
		case 1: d = wa_policy_unpwd_check(p, "c", field, "pw"); break;
		default:
			d = wa_policy_psk_key_get(p, "c", field, "hint", key, sizeof key);
			if (d == WA_ALLOW && strcmp(key, "00112233") != 0) die("hostile psk_key_get: wrong key", key);
			break;
	}
	if (word) n.failures_expected++;
	expect(d, word ? WA_DENY : WA_ALLOW, word ? word : "hostile well-behaved", i);
}

int main(int argc, char **argv)
{
	char acl[4096], passwd[4096], swap[4096];
	void *echo_bytes, *hostile_bytes;
	size_t echo_len, hostile_len;
	long rss[MAX_CHECKPOINTS], warm = 0;
	unsigned long calls, every, i, ncp = 0;
	struct wa_auth *def, *echo, *hostile, *swapped;
	struct timespec t0, t1;
	int bad_rss = 0;
	const char *rss_check = getenv("SOAK_RSS_CHECK");
	int judge_rss = !rss_check || strcmp(rss_check, "0") != 0;

	if (argc != 7) {
		fprintf(stderr, "usage: soak CALLS RELOAD_EVERY WORKDIR DEFAULT.wasm ECHO.wasm HOSTILE.wasm\n");
		return 2;
	}
	calls = strtoul(argv[1], NULL, 10);
	every = strtoul(argv[2], NULL, 10);
	if (!calls || !every || calls / every + 1 > MAX_CHECKPOINTS) die("bad CALLS or RELOAD_EVERY", argv[2]);
	snprintf(acl, sizeof acl, "%s/acl", argv[3]);
	snprintf(passwd, sizeof passwd, "%s/passwd", argv[3]);
	snprintf(swap, sizeof swap, "%s/swap.wasm", argv[3]);
	write_file(acl, acl_text, strlen(acl_text));
	echo_bytes = read_all(argv[5], &echo_len);
	hostile_bytes = read_all(argv[6], &hostile_len);
	write_file(swap, echo_bytes, echo_len);

	def = load(argv[4], passwd, acl, NULL);
	echo = load(argv[5], NULL, NULL, NULL);
	hostile = load(argv[6], NULL, NULL, HOSTILE_MEMORY_PAGES);
	swapped = load(swap, NULL, NULL, NULL);
	wa_log_set_sink(quiet);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < calls; i++) {
		switch (i % 5) {
			case 0:
			case 1: call_default(def, i); break;
			case 2: call_echo(echo, i); break;
			case 3: call_hostile(hostile, i, i / 5, calls / 5); break;
			default: call_echo(swapped, i); break;
		}
		if ((i + 1) % every == 0) {
			rss[ncp++] = rss_bytes();
			/* Alternate the swapped module: the reload loads the other one and frees the old. */
			if (ncp % 2)
				write_file(swap, hostile_bytes, hostile_len);
			else
				write_file(swap, echo_bytes, echo_len);
			if (wa_auth_reload(def) || wa_auth_reload(echo) || wa_auth_reload(hostile) ||
			    wa_auth_reload(swapped)) {
				die("a reload failed", "see the log");
			}
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);

	wa_auth_free(def);
	wa_auth_free(echo);
	wa_auth_free(hostile);
	wa_auth_free(swapped);
	free(echo_bytes);
	free(hostile_bytes);
	wa_log_set_sink(NULL);

	printf("soak: %lu calls, %lu reloads in %.1f s: %lu allow, %lu deny, %lu defer; %lu hostile requests got the "
	       "failure decision; %lu log lines\n",
	       n.calls, ncp * 4, (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, n.allow,
	       n.deny, n.defer, n.failures_expected, n.log_lines);
	printf("soak: RSS at each reload (MiB):");
	for (i = 0; i < ncp; i++) printf(" %.1f", (double)rss[i] / (1024 * 1024));
	printf("\n");
	for (i = 0; i < ncp && i < WARMUP_CHECKPOINTS; i++) {
		if (rss[i] > warm) warm = rss[i];
	}
	for (i = WARMUP_CHECKPOINTS; judge_rss && i < ncp; i++) {
		if (rss[i] > warm + RSS_TOLERANCE_BYTES) {
			fprintf(
			    stderr,
			    "soak: RSS grew: %.1f MiB at checkpoint %lu, %.1f MiB after warm-up (tolerance %.0f MiB)\n",
			    (double)rss[i] / (1024 * 1024), i, (double)warm / (1024 * 1024),
			    (double)RSS_TOLERANCE_BYTES / (1024 * 1024));
			bad_rss = 1;
		}
	}
	if (n.wrong) fprintf(stderr, "soak: %lu wrong decisions\n", n.wrong);
	if (ncp < WARMUP_CHECKPOINTS + 2) {
		fprintf(stderr, "soak: only %lu checkpoints: RSS flatness needs at least %d\n", ncp,
		        WARMUP_CHECKPOINTS + 2);
	}
	/* LeakSanitizer reports after main returns and may end the process before stdio flushes. */
	fflush(stdout);
	if (n.wrong || bad_rss || ncp < WARMUP_CHECKPOINTS + 2) return 1;
	if (judge_rss)
		printf("soak: RSS flat within %.0f MiB after warm-up\n", (double)RSS_TOLERANCE_BYTES / (1024 * 1024));
	fflush(stdout);
	return 0;
}
