/* In-process benchmark harness: loads a mosquitto v5 plugin .so with the broker stand-in
 * (broker_stub.c), initialises it with the given options, and calls its registered callbacks
 * directly. A v4 auth plugin (the seed, mosquitto_pyauth) is driven through the stand-in's v5
 * callbacks, which call it as mosquitto 2.0.11 does; it gets the -o options only, not the
 * harness's wasm_* defaults. Prints one JSON object per measurement on stdout (human notes on
 * stderr):
 *   {"label":..,"metric":"acl_check","median_ns":..,"p99_ns":..,"calls":..}   policy P's request mix
 *   {"label":..,"metric":"acl_check_L",...}       load L's pair: WRITE + READ of users/bench/x
 *   {"label":..,"metric":"acl_check_W2",...}      --topics N: that pair over N topics round-robin
 *                                                 (users/bench/t0 .. tN-1), as a client that
 *                                                 publishes to many topics
 *   {"label":..,"metric":"acl_check_W3" | "acl_check_W4",...}  --workload W3|W4: the checks of
 *                                                 that broker workload (docs/BENCHMARKS.md,
 *                                                 "Workloads"), in the broker's order
 *   {"label":..,"metric":"acl_case","user":..,"topic":..,"access":..,...}  each request alone (--per-case)
 *   {"label":..,"metric":"unpwd_check","median_ns":..,"p99_ns":..,"hash_median_ns":..,"ratio":..}
 *   {"label":..,"metric":"init","median_us":..,"min_us":..}    plugin_init = load+validate+instantiate
 *   {"label":..,"metric":"reload" | "reload_changed","median_us":..}
 *   (init and reload in process CPU time; init's wall clock too, as wall_median_us)
 *   {"label":..,"metric":"rss","before_kb":..,"after_init_kb":..}
 * Every request's decision is checked against policy P first: a plugin that answers wrongly is
 * not timed (exit 1), unless --no-verify (for a policy that is not P, e.g. allow-all, to measure
 * the runtime's fixed cost per call).
 *
 * Timing: calls run in batches of INPROC_BATCH, each batch timed with CLOCK_MONOTONIC; median
 * and p99 are over the per-call means of the batches (one clock read per call would cost more
 * than the call). --callgrind runs the ACL calls inside inproc_measured() only, for
 *   valgrind --tool=callgrind --collect-atstart=no --toggle-collect=inproc_measured
 * so that instructions per call = collected Ir / calls. */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "broker_stub.h"
#include "zipf.h"

#include <mosquitto_plugin.h>
#include <mosquitto.h>

#define INPROC_BATCH      32
#define INPROC_MAX_OPTS   64
#define INPROC_WARMUP     50000
#define INPROC_SALT_LEN   12
#define INPROC_HASH_LEN   64
#define INPROC_ITERATIONS 101

typedef int (*version_fn)(int, const int *);
typedef int (*init_fn)(mosquitto_plugin_id_t *, void **, struct mosquitto_opt *, int);
typedef int (*cleanup_fn)(void *, struct mosquitto_opt *, int);

enum expect { DENY = 0, ALLOW = 1 };

struct acl_case {
	int client;
	const char *topic;
	int access;
	enum expect expect;
};

static struct stub_client inproc_clients[] = {
	{ "bench-sub", "bench", "127.0.0.1", 5 },
	{ "c-user0001", "user0001", "127.0.0.1", 4 },
	{ "c-user0500", "user0500", "127.0.0.1", 5 },
	{ "c-user0999", "user0999", "127.0.0.1", 4 },
};

/* Policy P's request mix: half allowed, half denied, every access type, several users. */
static const struct acl_case inproc_mix[] = {
	{ 0, "users/bench/x", MOSQ_ACL_WRITE, ALLOW },
	{ 0, "users/bench/x", MOSQ_ACL_READ, ALLOW },
	{ 0, "users/bench/#", MOSQ_ACL_SUBSCRIBE, ALLOW },
	{ 0, "users/user0001/x", MOSQ_ACL_WRITE, DENY },
	{ 0, "public/news", MOSQ_ACL_READ, ALLOW },
	{ 0, "public/news", MOSQ_ACL_WRITE, DENY },
	{ 0, "other/x", MOSQ_ACL_READ, DENY },
	{ 0, "#", MOSQ_ACL_SUBSCRIBE, DENY },
	{ 2, "users/user0500/a/b", MOSQ_ACL_WRITE, ALLOW },
	{ 2, "users/user0999/a", MOSQ_ACL_READ, DENY },
	{ 3, "public/#", MOSQ_ACL_SUBSCRIBE, ALLOW },
	{ 1, "$SYS/broker/uptime", MOSQ_ACL_WRITE, DENY },
};

/* Load L: each delivered message costs the publisher's WRITE and the subscriber's READ. */
static const struct acl_case inproc_load[] = {
	{ 0, "users/bench/x", MOSQ_ACL_WRITE, ALLOW },
	{ 0, "users/bench/x", MOSQ_ACL_READ, ALLOW },
};

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

struct opts {
	const char *plugin;
	const char *label;
	struct mosquitto_opt opt[INPROC_MAX_OPTS];
	int nopt;
	long acl_calls;
	long auth_calls;
	int init_repeat;
	int reload;
	int reload_changed;
	int callgrind;
	int nbuiltin;           /* opt[0..nbuiltin) are the harness's defaults for this project's plugin */
	int no_verify;          /* for policies that are not P (e.g. allow-all: the runtime's own floor) */
	int acl_file_subscribe; /* SUBSCRIBE is not checked (mosquitto acl_file semantics) */
	int per_case;           /* also time each request of the mix alone */
	int load_pair;          /* --callgrind measures load L's pair instead of the mix */
	int topics;             /* --topics N: also (with --callgrind: only) the pair over N topics */
	const char *workload;   /* --workload W3|W4: also (with --callgrind: only) that workload's checks */
};

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

/* CPU time of the process (the plugin loads on its worker thread; its watchdog thread idles):
 * for the millisecond-scale measurements (init, reload), where a busy machine's preemptions would
 * otherwise land in the result. Too costly to read per ACL batch. */
static uint64_t cpu_ns(void)
{
	return clock_ns(CLOCK_PROCESS_CPUTIME_ID);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Sorts v in place; returns the q-quantile (nearest rank). */
static double quantile(double *v, size_t n, double q)
{
	qsort(v, n, sizeof *v, cmp_double);
	size_t i = (size_t)(q * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

static long vm_rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;
	if (f == NULL) return -1;
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, "VmRSS:", 6) == 0) kb = strtol(line + 6, NULL, 10);
	}
	fclose(f);
	return kb;
}

static void usage(void)
{
	fprintf(stderr,
	        "usage: inproc [-l LABEL] [-o KEY=VALUE]... [--acl-calls N] [--auth-calls N]\n"
	        "              [--init-repeat N] [--reload N] [--reload-changed N] [--callgrind] [--no-verify]\n"
	        "              [--acl-file-subscribe] [--per-case] [--load-pair] [--topics N] [--workload W3|W4]\n"
	        "              PLUGIN.so\n");
	exit(2);
}

static long num_arg(int argc, char **argv, int *i)
{
	if (*i + 1 >= argc) usage();
	char *end;
	long v = strtol(argv[++*i], &end, 10);
	if (*end != '\0' || v < 0) usage();
	return v;
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	memset(o, 0, sizeof *o);
	o->label = "plugin";
	o->acl_calls = 2000000;
	o->auth_calls = 1000;
	o->init_repeat = 1;
	/* The harness is one client that spends nearly all its time in the policy: the plugin's
	 * budgets of policy time (breaker.h) would rightly refuse it. They still cost their check on
	 * every call; later -o options override these. */
	o->opt[o->nopt++] = (struct mosquitto_opt){ "wasm_client_share", "100" };
	o->opt[o->nopt++] = (struct mosquitto_opt){ "wasm_cpu_share", "100" };
	o->nbuiltin = o->nopt;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-l") && i + 1 < argc)
			o->label = argv[++i];
		else if (!strcmp(argv[i], "-o") && i + 1 < argc) {
			char *kv = argv[++i];
			char *eq = strchr(kv, '=');
			if (eq == NULL || o->nopt == INPROC_MAX_OPTS) usage();
			*eq = '\0';
			o->opt[o->nopt].key = kv;
			o->opt[o->nopt].value = eq + 1;
			o->nopt++;
		} else if (!strcmp(argv[i], "--acl-calls"))
			o->acl_calls = num_arg(argc, argv, &i);
		else if (!strcmp(argv[i], "--auth-calls"))
			o->auth_calls = num_arg(argc, argv, &i);
		else if (!strcmp(argv[i], "--init-repeat"))
			o->init_repeat = (int)num_arg(argc, argv, &i);
		else if (!strcmp(argv[i], "--reload"))
			o->reload = (int)num_arg(argc, argv, &i);
		else if (!strcmp(argv[i], "--reload-changed"))
			o->reload_changed = (int)num_arg(argc, argv, &i);
		else if (!strcmp(argv[i], "--callgrind"))
			o->callgrind = 1;
		else if (!strcmp(argv[i], "--no-verify"))
			o->no_verify = 1;
		else if (!strcmp(argv[i], "--acl-file-subscribe"))
			o->acl_file_subscribe = 1;
		else if (!strcmp(argv[i], "--per-case"))
			o->per_case = 1;
		else if (!strcmp(argv[i], "--load-pair"))
			o->load_pair = 1;
		else if (!strcmp(argv[i], "--topics"))
			o->topics = (int)num_arg(argc, argv, &i);
		else if (!strcmp(argv[i], "--workload") && i + 1 < argc)
			o->workload = argv[++i];
		else if (argv[i][0] == '-')
			usage();
		else
			o->plugin = argv[i];
	}
	if (o->plugin == NULL || o->init_repeat < 1) usage();
}

struct plugin {
	void *dl;
	init_fn init;
	cleanup_fn cleanup;
	void *userdata;
	struct mosquitto_opt *opt; /* the options init and cleanup are given */
	int nopt;
};

static int plugin_open(struct plugin *p, struct opts *o)
{
	const char *path = o->plugin;
	p->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (p->dl == NULL) {
		fprintf(stderr, "inproc: %s\n", dlerror());
		return -1;
	}
	version_fn version = (version_fn)(uintptr_t)dlsym(p->dl, "mosquitto_plugin_version");
	if (version == NULL) {
		if (stub_v4_load(p->dl, path) != 0) return -1;
		/* Python cannot be initialised a second time in one process (pyauth never finalises it),
		 * and the broker initialises a plugin once. */
		if (o->init_repeat > 1) {
			fprintf(stderr, "inproc: %s is a v4 plugin: --init-repeat must be 1\n", path);
			return -1;
		}
		p->init = stub_v4_init;
		p->cleanup = stub_v4_cleanup;
		p->opt = o->opt + o->nbuiltin;
		p->nopt = o->nopt - o->nbuiltin;
		return 0;
	}
	p->opt = o->opt;
	p->nopt = o->nopt;
	p->init = (init_fn)(uintptr_t)dlsym(p->dl, "mosquitto_plugin_init");
	p->cleanup = (cleanup_fn)(uintptr_t)dlsym(p->dl, "mosquitto_plugin_cleanup");
	if (p->init == NULL || p->cleanup == NULL) {
		fprintf(stderr, "inproc: %s is not a v5 plugin\n", path);
		return -1;
	}
	static const int versions[] = { 5, 4, 3, 2 }; /* what 2.0.11 offers */
	if (version(4, versions) != 5) {
		fprintf(stderr, "inproc: %s does not speak plugin API v5\n", path);
		return -1;
	}
	return 0;
}

/* One init: returns CPU microseconds (*wall_us: wall clock), or -1 on failure. */
static double plugin_init(struct plugin *p, struct opts *o, double *wall_us)
{
	static int ident; /* any non-NULL identifier: the stand-in ignores it */
	uint64_t w0 = now_ns(), c0 = cpu_ns();
	int rc = p->init((mosquitto_plugin_id_t *)(void *)&ident, &p->userdata, p->opt, p->nopt);
	uint64_t c1 = cpu_ns(), w1 = now_ns();
	if (rc != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "inproc: %s: mosquitto_plugin_init returned %d\n", o->label, rc);
		return -1;
	}
	*wall_us = (double)(w1 - w0) / 1000.0;
	return (double)(c1 - c0) / 1000.0;
}

static void die_oom(void)
{
	fprintf(stderr, "inproc: out of memory\n");
	exit(1);
}

static void *alloc_or_die(size_t n, size_t size)
{
	void *p = calloc(n, size);
	if (p == NULL) die_oom();
	return p;
}

static void set_event(struct mosquitto_evt_acl_check *e, struct stub_client *c, const char *topic, int access)
{
	memset(e, 0, sizeof *e);
	e->client = stub_as_client(c);
	e->topic = topic;
	e->access = access;
	e->payload = "hello";
	e->payloadlen = 5;
}

/* Load L's pair over n topics: WRITE then READ of each of users/bench/t0 .. t(n-1). */
static struct mosquitto_evt_acl_check *many_topic_events(int n)
{
	struct mosquitto_evt_acl_check *ev = alloc_or_die((size_t)n * 2u, sizeof *ev);
	char *names = alloc_or_die((size_t)n, 32);
	for (int i = 0; i < n; i++) {
		char *t = names + (size_t)i * 32u;
		snprintf(t, 32, "users/bench/t%d", i);
		set_event(&ev[2 * i], &inproc_clients[0], t, MOSQ_ACL_WRITE);
		set_event(&ev[2 * i + 1], &inproc_clients[0], t, MOSQ_ACL_READ);
	}
	return ev;
}

/* n clients of the user username_fmt formats (with its index, or none), ids "c-" + username +
 * "-" + index. */
static struct stub_client *workload_clients(int n, const char *username_fmt)
{
	struct stub_client *c = alloc_or_die((size_t)n, sizeof *c);
	for (int i = 0; i < n; i++) {
		char u[32], id[48];
		snprintf(u, sizeof u, username_fmt, i);
		snprintf(id, sizeof id, "c-%s-%d", u, i);
		c[i] = (struct stub_client){ strdup(id), strdup(u), "127.0.0.1", 5 };
		if (!c[i].id || !c[i].username) die_oom();
	}
	return c;
}

/* W3: user0000..user0999 publish in turn, each message to one of its 20 topics chosen Zipf(1.1),
 * read back by the publisher's own subscription (WRITE, READ); 20 messages per client. W4: bench
 * publishes round-robin to users/bench/t0..t9, read by 50 subscriber connections of bench (WRITE,
 * 50 READ). *n gets the number of checks. */
static struct mosquitto_evt_acl_check *workload_events(const char *name, size_t *n)
{
	struct mosquitto_evt_acl_check *ev;
	char topic[64];

	if (!strcmp(name, "W3")) {
		enum { CLIENTS = 1000, TOPICS = 20, MESSAGES = CLIENTS * 20 };
		struct stub_client *c = workload_clients(CLIENTS, "user%04d");
		char **topics = alloc_or_die(CLIENTS * TOPICS, sizeof *topics);
		struct zipf z;
		if (zipf_init(&z, TOPICS, 1.1) != 0) die_oom();
		for (int i = 0; i < CLIENTS * TOPICS; i++) {
			snprintf(topic, sizeof topic, "users/%s/t%d", c[i / TOPICS].username, i % TOPICS);
			if ((topics[i] = strdup(topic)) == NULL) die_oom();
		}
		ev = alloc_or_die(MESSAGES * 2, sizeof *ev);
		for (int m = 0; m < MESSAGES; m++) {
			const char *t = topics[(m % CLIENTS) * TOPICS + (int)zipf_pick(&z)];
			set_event(&ev[2 * m], &c[m % CLIENTS], t, MOSQ_ACL_WRITE);
			set_event(&ev[2 * m + 1], &c[m % CLIENTS], t, MOSQ_ACL_READ);
		}
		*n = MESSAGES * 2;
		return ev;
	}
	if (!strcmp(name, "W4")) {
		enum { READERS = 50, TOPICS = 10 };
		struct stub_client *pub = workload_clients(READERS + 1, "bench"), *subs = pub + 1;
		ev = alloc_or_die(TOPICS * (READERS + 1), sizeof *ev);
		*n = 0;
		for (int m = 0; m < TOPICS; m++) {
			snprintf(topic, sizeof topic, "users/bench/t%d", m);
			char *t = strdup(topic);
			if (t == NULL) die_oom();
			set_event(&ev[(*n)++], pub, t, MOSQ_ACL_WRITE);
			for (int r = 0; r < READERS; r++) set_event(&ev[(*n)++], &subs[r], t, MOSQ_ACL_READ);
		}
		return ev;
	}
	fprintf(stderr, "inproc: --workload %s: W3 or W4\n", name);
	exit(2);
}

static void fill_acl_events(const struct acl_case *cases, size_t n, struct mosquitto_evt_acl_check *ev)
{
	for (size_t i = 0; i < n; i++)
		set_event(&ev[i], &inproc_clients[cases[i].client], cases[i].topic, cases[i].access);
}

/* Checks every case once; returns the number of wrong decisions. With acl_file_subscribe, a
 * SUBSCRIBE may also be allowed where P denies it: mosquitto's acl_file (and a policy that
 * reproduces it) does not check subscriptions; the READ check at delivery enforces P. */
static int verify_acl(MOSQ_FUNC_generic_callback cb, void *ud, const struct acl_case *cases,
                      struct mosquitto_evt_acl_check *ev, size_t n, const char *label, int acl_file_subscribe)
{
	int wrong = 0;
	for (size_t i = 0; i < n; i++) {
		int rc = cb(MOSQ_EVT_ACL_CHECK, &ev[i], ud);
		int allowed = rc == MOSQ_ERR_SUCCESS;
		if (acl_file_subscribe && cases[i].access == MOSQ_ACL_SUBSCRIBE && allowed) continue;
		if (allowed != (int)cases[i].expect) {
			fprintf(stderr, "inproc: %s: %s %s access %d: got rc %d, policy P says %s\n", label,
			        inproc_clients[cases[i].client].username, cases[i].topic, cases[i].access, rc,
			        cases[i].expect ? "allow" : "deny");
			wrong++;
		}
	}
	return wrong;
}

/* The timed inner loop: `calls` ACL checks cycling through ev[]. */
__attribute__((noinline)) static int acl_loop(MOSQ_FUNC_generic_callback cb, void *ud,
                                              struct mosquitto_evt_acl_check *ev, size_t nev, long calls)
{
	int acc = 0;
	size_t k = 0;
	for (long i = 0; i < calls; i++) {
		acc += cb(MOSQ_EVT_ACL_CHECK, &ev[k], ud);
		if (++k == nev) k = 0;
	}
	return acc;
}

/* The marker for callgrind (see top): only calls made through here are collected. */
__attribute__((noinline)) int inproc_measured(MOSQ_FUNC_generic_callback cb, void *ud,
                                              struct mosquitto_evt_acl_check *ev, size_t nev, long calls);
__attribute__((noinline)) int inproc_measured(MOSQ_FUNC_generic_callback cb, void *ud,
                                              struct mosquitto_evt_acl_check *ev, size_t nev, long calls)
{
	return acl_loop(cb, ud, ev, nev, calls);
}

static void time_acl(MOSQ_FUNC_generic_callback cb, void *ud, struct mosquitto_evt_acl_check *ev, size_t nev,
                     long calls, const char *label, const char *metric)
{
	long batches = calls / INPROC_BATCH;
	if (batches < 1) batches = 1;
	double *per_call = malloc((size_t)batches * sizeof *per_call);
	if (per_call == NULL) {
		fprintf(stderr, "inproc: out of memory\n");
		exit(1);
	}
	volatile int sink = acl_loop(cb, ud, ev, nev, INPROC_WARMUP);
	for (long b = 0; b < batches; b++) {
		uint64_t t0 = now_ns();
		sink += acl_loop(cb, ud, ev, nev, INPROC_BATCH);
		uint64_t t1 = now_ns();
		per_call[b] = (double)(t1 - t0) / INPROC_BATCH;
	}
	(void)sink;
	double p99 = quantile(per_call, (size_t)batches, 0.99);
	double med = quantile(per_call, (size_t)batches, 0.5);
	printf("{\"label\":\"%s\",\"metric\":\"%s\",\"median_ns\":%.1f,\"p99_ns\":%.1f,\"calls\":%ld,"
	       "\"batch\":%d}\n",
	       label, metric, med, p99, batches * INPROC_BATCH, INPROC_BATCH);
	free(per_call);
}

static double pbkdf2_alone(const char *password, const unsigned char *salt)
{
	unsigned char out[INPROC_HASH_LEN];
	uint64_t t0 = now_ns();
	PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, INPROC_SALT_LEN, INPROC_ITERATIONS, EVP_sha512(),
	                  sizeof out, out);
	return (double)(now_ns() - t0);
}

/* BASIC_AUTH: correct passwords timed call by call, interleaved with the bare PBKDF2-SHA512 of
 * the same parameters so that both see the same machine state. */
static int bench_auth(MOSQ_FUNC_generic_callback cb, void *ud, long calls, const char *label)
{
	struct {
		char *user, *pw;
		int want;
	} cases[] = {
		{ "bench", "pw-bench", MOSQ_ERR_SUCCESS },
		{ "user0500", "pw-user0500", MOSQ_ERR_SUCCESS },
		{ "user0001", "wrong", MOSQ_ERR_AUTH },
		{ "nobody", "pw-nobody", MOSQ_ERR_AUTH },
	};
	int wrong = 0;
	for (size_t i = 0; i < NCASES(cases); i++) {
		struct mosquitto_evt_basic_auth ev = { 0 };
		ev.client = stub_as_client(&inproc_clients[0]);
		ev.username = cases[i].user;
		ev.password = cases[i].pw;
		int rc = cb(MOSQ_EVT_BASIC_AUTH, &ev, ud);
		/* A refusal may come as AUTH or as DEFER (nobody else to ask: refused too). */
		int ok = cases[i].want == MOSQ_ERR_SUCCESS ? rc == MOSQ_ERR_SUCCESS : rc != MOSQ_ERR_SUCCESS;
		if (!ok) {
			fprintf(stderr, "inproc: %s: unpwd_check(%s, %s) = %d, want %d\n", label, cases[i].user,
			        cases[i].pw, rc, cases[i].want);
			wrong++;
		}
	}
	if (wrong) return -1;
	double *a = malloc((size_t)calls * sizeof *a), *h = malloc((size_t)calls * sizeof *h);
	if (a == NULL || h == NULL) {
		fprintf(stderr, "inproc: out of memory\n");
		exit(1);
	}
	unsigned char salt[INPROC_SALT_LEN] = "saltsaltsalt";
	struct mosquitto_evt_basic_auth ev = { 0 };
	ev.client = stub_as_client(&inproc_clients[0]);
	ev.username = "bench";
	ev.password = "pw-bench";
	for (long i = 0; i < calls; i++) {
		uint64_t t0 = now_ns();
		int rc = cb(MOSQ_EVT_BASIC_AUTH, &ev, ud);
		a[i] = (double)(now_ns() - t0);
		h[i] = pbkdf2_alone("pw-bench", salt);
		if (rc != MOSQ_ERR_SUCCESS) {
			fprintf(stderr, "inproc: %s: unpwd_check failed on call %ld\n", label, i);
			return -1;
		}
	}
	double hm = quantile(h, (size_t)calls, 0.5);
	double p99 = quantile(a, (size_t)calls, 0.99);
	double am = quantile(a, (size_t)calls, 0.5);
	printf("{\"label\":\"%s\",\"metric\":\"unpwd_check\",\"median_ns\":%.0f,\"p99_ns\":%.0f,"
	       "\"hash_median_ns\":%.0f,\"ratio\":%.4f,\"calls\":%ld,\"iterations\":%d}\n",
	       label, am, p99, hm, am / hm, calls, INPROC_ITERATIONS);
	free(a);
	free(h);
	return 0;
}

static const char *opt_value(const struct opts *o, const char *key)
{
	for (int i = 0; i < o->nopt; i++) {
		if (!strcmp(o->opt[i].key, key)) return o->opt[i].value;
	}
	return NULL;
}

/* Rewrites the module file with (odd) or without (even) a trailing 7-byte custom section, so
 * that every reload sees a changed module that still validates. */
static int flip_module(const char *path, const unsigned char *orig, size_t len, int odd)
{
	static const unsigned char custom[] = { 0x00, 0x05, 0x04, 'b', 'e', 'n', 'c' };
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "wb");
	if (f == NULL) return -1;
	int bad = fwrite(orig, 1, len, f) != len;
	if (odd) bad |= fwrite(custom, 1, sizeof custom, f) != sizeof custom;
	bad |= fclose(f) != 0;
	if (bad || rename(tmp, path) != 0) return -1;
	return 0;
}

static int bench_reload(struct opts *o, int n, int changed)
{
	void *ud;
	MOSQ_FUNC_generic_callback cb = stub_callback(MOSQ_EVT_RELOAD, &ud);
	if (cb == NULL) {
		fprintf(stderr, "inproc: %s registers no RELOAD callback\n", o->label);
		return 0;
	}
	const char *path = opt_value(o, "wasm_module");
	unsigned char *orig = NULL;
	size_t len = 0;
	if (changed) {
		FILE *f = path ? fopen(path, "rb") : NULL;
		if (f == NULL) {
			fprintf(stderr, "inproc: --reload-changed needs -o wasm_module=FILE\n");
			return -1;
		}
		fseek(f, 0, SEEK_END);
		len = (size_t)ftell(f);
		rewind(f);
		orig = malloc(len);
		if (orig == NULL || fread(orig, 1, len, f) != len) {
			fclose(f);
			return -1;
		}
		fclose(f);
	}
	double *t = malloc((size_t)n * sizeof *t);
	if (t == NULL) return -1;
	unsigned errs = stub_error_logs();
	for (int i = 0; i < n; i++) {
		if (changed && flip_module(path, orig, len, (i & 1) == 0) != 0) {
			fprintf(stderr, "inproc: cannot rewrite %s\n", path);
			return -1;
		}
		struct mosquitto_evt_reload ev = { 0 };
		ev.options = o->opt;
		ev.option_count = o->nopt;
		stub_watch_log("wasm-auth: reload");
		uint64_t t0 = cpu_ns();
		int rc = cb(MOSQ_EVT_RELOAD, &ev, ud);
		if (rc != MOSQ_ERR_SUCCESS) {
			fprintf(stderr, "inproc: %s: reload returned %d\n", o->label, rc);
			return -1;
		}
		/* The plugin builds the new instance on its worker thread and puts it in service at a
		 * tick ("wasm-auth: reloaded policy", or "reload of ... failed"): tick until then. */
		void *tick_ud;
		MOSQ_FUNC_generic_callback tick = stub_callback(MOSQ_EVT_TICK, &tick_ud);
		while (tick && stub_watched() == 0) {
			struct mosquitto_evt_tick te = { 0 };
			struct timespec ms = { 0, 200000 };
			tick(MOSQ_EVT_TICK, &te, tick_ud);
			nanosleep(&ms, NULL);
		}
		t[i] = (double)(cpu_ns() - t0) / 1000.0;
	}
	if (changed && flip_module(path, orig, len, 0) != 0) return -1;
	if (stub_error_logs() != errs) {
		fprintf(stderr, "inproc: %s: the plugin logged errors during reload\n", o->label);
		return -1;
	}
	printf("{\"label\":\"%s\",\"metric\":\"%s\",\"median_us\":%.1f,\"min_us\":%.1f,\"n\":%d}\n", o->label,
	       changed ? "reload_changed" : "reload", quantile(t, (size_t)n, 0.5), t[0], n);
	free(t);
	free(orig);
	return 0;
}

/* Before measuring, as a broker would: calls (lazy compilation, the cache's first entries, a
 * client's grants; at least the whole set once) with ticks between them, each after the 10 ms that make the plugin's
 * housekeeping due (its verdict on the decision cache, wa_acl_cache_gate, among it). */
static void warm(MOSQ_FUNC_generic_callback acl, void *ud, struct mosquitto_evt_acl_check *ev, size_t nev)
{
	void *tick_ud;
	MOSQ_FUNC_generic_callback tick = stub_callback(MOSQ_EVT_TICK, &tick_ud);

	for (int round = 0; round < 4; round++) {
		struct mosquitto_evt_tick te = { 0 };
		struct timespec ms = { 0, 20000000 };
		acl_loop(acl, ud, ev, nev, nev > 2000 ? (long)nev / 4 : 500); /* a large set: once through */
		nanosleep(&ms, NULL);
		if (tick) tick(MOSQ_EVT_TICK, &te, tick_ud);
	}
}

static int wait_for_shadow(const struct opts *o)
{
	void *tick_ud;
	MOSQ_FUNC_generic_callback tick = stub_callback(MOSQ_EVT_TICK, &tick_ud);

	stub_watch_log("wasm-auth: shadow policy (not enforced): ");
	for (int i = 0; tick && stub_watched() == 0; i++) {
		struct mosquitto_evt_tick te = { 0 };
		struct timespec ms = { 0, 1000000 };
		if (i == 600000) {
			fprintf(stderr, "inproc: %s: the shadow policy was not loaded within 10 minutes\n", o->label);
			return -1;
		}
		tick(MOSQ_EVT_TICK, &te, tick_ud);
		nanosleep(&ms, NULL);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	parse_args(argc, argv, &o);
	stub_set_log_quiet(1);
	/* mosquitto's client ids and usernames are heap strings (mosquitto__strdup), not literals. */
	for (size_t i = 0; i < sizeof inproc_clients / sizeof inproc_clients[0]; i++) {
		inproc_clients[i].id = strdup(inproc_clients[i].id);
		inproc_clients[i].username = strdup(inproc_clients[i].username);
		if (!inproc_clients[i].id || !inproc_clients[i].username) return 1;
	}

	long rss0 = vm_rss_kb();
	struct plugin p = { 0 };
	if (plugin_open(&p, &o) != 0) return 1;
	long rss_dl = vm_rss_kb();

	/* init/cleanup cycles first (each init is the full load, validate, instantiate), then the
	 * final init that the other measurements use. */
	double *ti = malloc((size_t)o.init_repeat * sizeof *ti);
	double *tw = malloc((size_t)o.init_repeat * sizeof *tw);
	if (ti == NULL || tw == NULL) return 1;
	for (int i = 0; i < o.init_repeat; i++) {
		ti[i] = plugin_init(&p, &o, &tw[i]);
		if (ti[i] < 0) return 1;
		if (i + 1 < o.init_repeat) {
			p.cleanup(p.userdata, p.opt, p.nopt);
			if (stub_callback_count() != 0) {
				fprintf(stderr, "inproc: %s: callbacks left registered after cleanup\n", o.label);
				return 1;
			}
		}
	}
	long rss_init = vm_rss_kb();
	if (!o.callgrind) {
		double first = ti[0];
		printf("{\"label\":\"%s\",\"metric\":\"init\",\"median_us\":%.1f,\"min_us\":%.1f,"
		       "\"first_us\":%.1f,\"wall_median_us\":%.1f,\"n\":%d}\n",
		       o.label, quantile(ti, (size_t)o.init_repeat, 0.5), quantile(ti, (size_t)o.init_repeat, 0.0),
		       first, quantile(tw, (size_t)o.init_repeat, 0.5), o.init_repeat);
	}
	free(ti);
	free(tw);
	/* A shadow (wasm_shadow_module) is built on its own thread after init and goes into service
	 * at a tick: tick until it has (or said it cannot), so that what follows measures it. */
	if (opt_value(&o, "wasm_shadow_module") && wait_for_shadow(&o) != 0) return 1;

	void *ud = NULL;
	MOSQ_FUNC_generic_callback acl = stub_callback(MOSQ_EVT_ACL_CHECK, &ud);
	struct mosquitto_evt_acl_check mix[NCASES(inproc_mix)], load[NCASES(inproc_load)];
	fill_acl_events(inproc_mix, NCASES(inproc_mix), mix);
	fill_acl_events(inproc_load, NCASES(inproc_load), load);
	if (o.acl_calls > 0) {
		if (acl == NULL) {
			fprintf(stderr, "inproc: %s registers no ACL_CHECK callback\n", o.label);
			return 1;
		}
		if (!o.no_verify &&
		    verify_acl(acl, ud, inproc_mix, mix, NCASES(mix), o.label, o.acl_file_subscribe) != 0) {
			return 1;
		}
		struct mosquitto_evt_acl_check *many = o.topics > 0 ? many_topic_events(o.topics) : NULL;
		size_t nwl = 0;
		struct mosquitto_evt_acl_check *wl = o.workload ? workload_events(o.workload, &nwl) : NULL;
		if (o.callgrind) {
			struct mosquitto_evt_acl_check *set = wl ? wl : many ? many : o.load_pair ? load : mix;
			size_t nset = wl            ? nwl
			              : many        ? (size_t)o.topics * 2u
			              : o.load_pair ? NCASES(load)
			                            : NCASES(mix);
			warm(acl, ud, set, nset);
			inproc_measured(acl, ud, set, nset, o.acl_calls);
			printf("{\"label\":\"%s\",\"metric\":\"callgrind\",\"calls\":%ld}\n", o.label, o.acl_calls);
		} else {
			time_acl(acl, ud, mix, NCASES(mix), o.acl_calls, o.label, "acl_check");
			time_acl(acl, ud, load, NCASES(load), o.acl_calls / 2, o.label, "acl_check_L");
			if (many)
				time_acl(acl, ud, many, (size_t)o.topics * 2u, o.acl_calls / 2, o.label,
				         "acl_check_W2");
			if (wl) {
				char metric[32];
				snprintf(metric, sizeof metric, "acl_check_%s", o.workload);
				warm(acl, ud, wl, nwl);
				time_acl(acl, ud, wl, nwl, o.acl_calls / 2, o.label, metric);
			}
			for (size_t i = 0; o.per_case && i < NCASES(mix); i++) {
				char metric[256];
				snprintf(metric, sizeof metric,
				         "acl_case\",\"user\":\"%s\",\"topic\":\"%s\",\"access\":\"%d",
				         inproc_clients[inproc_mix[i].client].username, inproc_mix[i].topic,
				         inproc_mix[i].access);
				time_acl(acl, ud, &mix[i], 1, o.acl_calls / 10, o.label, metric);
			}
		}
		free(many);
	}
	if (o.auth_calls > 0 && !o.callgrind) {
		MOSQ_FUNC_generic_callback auth = stub_callback(MOSQ_EVT_BASIC_AUTH, &ud);
		if (auth == NULL) {
			fprintf(stderr, "inproc: %s registers no BASIC_AUTH callback\n", o.label);
			return 1;
		}
		if (bench_auth(auth, ud, o.auth_calls, o.label) != 0) return 1;
	}
	if (o.reload > 0 && bench_reload(&o, o.reload, 0) != 0) return 1;
	if (o.reload_changed > 0 && bench_reload(&o, o.reload_changed, 1) != 0) return 1;
	if (!o.callgrind) {
		printf("{\"label\":\"%s\",\"metric\":\"rss\",\"before_kb\":%ld,\"after_dlopen_kb\":%ld,"
		       "\"after_init_kb\":%ld}\n",
		       o.label, rss0, rss_dl, rss_init);
	}
	if (p.cleanup(p.userdata, p.opt, p.nopt) != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "inproc: %s: cleanup failed\n", o.label);
		return 1;
	}
	return 0;
}
