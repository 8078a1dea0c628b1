/* Grants (grants.h, docs/ABI.md "Grants"): the descriptor reader on hostile input, and the
 * default policy's grants against its own acl_check on generated acl files, clients and topics
 * (usernames and client ids holding '/', '+' and '#', anonymous clients, '$' topics, %u and %c
 * anywhere in a level). WA_DEFAULT_POLICY names the default policy's .wasm. */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS (page_edge.h) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "page_edge.h"
#include "../runtime/auth.h"
#include "../runtime/grants.h"
#include "../runtime/log.h"
#include "../runtime/topic.h"

/* ---- the reader --------------------------------------------------------------------------- */
static uint8_t mem[4096];

static void put32(uint32_t at, uint32_t v)
{
	mem[at] = (uint8_t)v;
	mem[at + 1] = (uint8_t)(v >> 8);
	mem[at + 2] = (uint8_t)(v >> 16);
	mem[at + 3] = (uint8_t)(v >> 24);
}

/* Descriptor at 16 (0 means no grants), entries at 64, filter bytes at 1024. */
static void entry(unsigned i, uint32_t off, uint32_t len, uint8_t access, uint8_t deny, uint16_t tier)
{
	uint32_t e = 64 + 12 * i;
	put32(e, off);
	put32(e + 4, len);
	mem[e + 8] = access;
	mem[e + 9] = deny;
	mem[e + 10] = (uint8_t)tier;
	mem[e + 11] = (uint8_t)(tier >> 8);
}

static void descriptor(uint32_t count, uint32_t fallback)
{
	memset(mem, 0, sizeof mem);
	put32(16, count);
	put32(20, fallback);
	put32(24, 64);
	put32(28, 1024);
	memcpy(mem + 1024, "a/#b/+/cdeny/x", 14);
}

static struct wa_grants *read_mem(char *err)
{
	struct wa_mem m = { mem, sizeof mem };
	return wa_grants_read(m, 16, err, 256);
}

static void test_reader(void)
{
	struct wa_mem m = { mem, sizeof mem };
	struct wa_grants *g;
	char err[256];

	/* tier 0: allow a/# read+write, deny a/deny/x; tier 1: allow b/+/c read */
	descriptor(3, 0x01010300);
	entry(0, 0, 3, 3, 0, 0);
	entry(1, 0, 0, 0, 0, 0);
	memcpy(mem + 1040, "a/deny/x", 8);
	entry(1, 16, 8, 3, 1, 0);
	entry(2, 3, 5, 1, 0, 1);
	g = read_mem(err);
	if (!CHECK(g != NULL)) {
		fprintf(stderr, "  %s\n", err);
		return;
	}
	CHECK_INT(wa_grants_decide(g, "a/b", 2), WA_ALLOW);
	CHECK_INT(wa_grants_decide(g, "a", 1), WA_ALLOW);
	CHECK_INT(wa_grants_decide(g, "a/deny/x", 1), WA_DENY);
	CHECK_INT(wa_grants_decide(g, "b/x/c", 1), WA_ALLOW);
	CHECK_INT(wa_grants_decide(g, "b/x/c", 2), WA_GRANTS_ASK); /* byte 1 of the fallback: 3 */
	CHECK_INT(wa_grants_decide(g, "z", 1), WA_DENY);           /* byte 0: 0 */
	CHECK_INT(wa_grants_decide(g, "z/#", 4), WA_ALLOW);        /* byte 2 */
	CHECK_INT(wa_grants_decide(g, "z/#", 8), WA_ALLOW);        /* byte 3 */
	CHECK_INT(wa_grants_decide(g, "$SYS/x", 1), WA_DENY);      /* '#' does not match '$' topics */
	{
		/* A topic long enough that the general matcher could cost more than WA_GRANTS_MAX_WORK:
		 * acl_check, unless a short filter decides first (one compare whatever the length). */
		size_t n = WA_GRANTS_MAX_WORK / 3u;
		char *t = malloc(n + 1);
		if (CHECK(t != NULL)) {
			memset(t, 'b', n);
			t[1] = '/';
			t[n] = '\0';
			CHECK_INT(wa_grants_decide(g, t, 1), WA_GRANTS_ASK);
			t[WA_GRANTS_MAX_WORK / 3u - 32u] = '\0';
			CHECK_INT(wa_grants_decide(g, t, 1), WA_DENY); /* fallback byte 0: b/+/c matched nothing */
			t[0] = 'a';
			t[n - 1] = 'a';
			t[WA_GRANTS_MAX_WORK / 3u - 32u] = 'b';
			CHECK_INT(wa_grants_decide(g, t, 1), WA_ALLOW); /* a/# */
		}
		free(t);
	}
	wa_grants_free(g);

	/* Each malformed descriptor is refused with a reason. */
	descriptor(1, 0x04000000);
	entry(0, 0, 3, 3, 0, 0);
	CHECK(read_mem(err) == NULL && strstr(err, "fallback"));
	descriptor(1, 0);
	entry(0, 0, 3, 4, 0, 0);
	CHECK(read_mem(err) == NULL && strstr(err, "access"));
	descriptor(1, 0);
	entry(0, 0, 3, 1, 2, 0);
	CHECK(read_mem(err) == NULL && strstr(err, "deny"));
	descriptor(2, 0);
	entry(0, 0, 3, 1, 0, 1);
	entry(1, 0, 3, 1, 0, 0);
	CHECK(read_mem(err) == NULL && strstr(err, "tier"));
	descriptor(1, 0);
	entry(0, 3000, 2000, 1, 0, 0);
	CHECK(read_mem(err) == NULL && strstr(err, "outside memory"));
	descriptor(1, 0);
	entry(0, 0xfffffff0u, 32, 1, 0, 0);
	CHECK(read_mem(err) == NULL && strstr(err, "outside memory"));
	descriptor(WA_GRANTS_MAX_ENTRIES + 1, 0);
	CHECK(read_mem(err) == NULL && strstr(err, "entries"));
	descriptor(1, 0);
	put32(24, 4090); /* entries past the end */
	CHECK(read_mem(err) == NULL && strstr(err, "outside memory"));
	descriptor(1, 0);
	memcpy(mem + 1024, "a/#/b", 5);
	entry(0, 0, 5, 1, 0, 0);
	CHECK(read_mem(err) == NULL && strstr(err, "filter"));
	descriptor(1, 0);
	memcpy(mem + 1024, "a+", 2);
	entry(0, 0, 2, 1, 0, 0);
	CHECK(read_mem(err) == NULL && strstr(err, "filter"));
	descriptor(1, 0);
	entry(0, 0, 0, 1, 0, 0);
	CHECK(read_mem(err) == NULL && strstr(err, "filter"));
	CHECK(wa_grants_read(m, 4092, err, sizeof err) == NULL);
	CHECK(wa_grants_read(m, 18, err, sizeof err) == NULL); /* unaligned */
	/* 0: no grants, every check asks acl_check */
	g = wa_grants_read(m, 0, err, sizeof err);
	if (CHECK(g != NULL)) {
		CHECK_INT(wa_grants_decide(g, "a", 1), WA_GRANTS_ASK);
		CHECK_INT(wa_grants_decide(g, "a/#", 4), WA_GRANTS_ASK);
	}
	wa_grants_free(g);
}

/* ---- the default policy: grants against acl_check ------------------------------------------ */
static unsigned rng = 12345;

static unsigned pick(unsigned n)
{
	rng = rng * 1103515245u + 12345u;
	return (rng >> 16) % n;
}

static const char *const levels[] = { "a", "b", "ab", "$s", "", "u1", "c1", "u", "x y", "users", "public" };
static const char *const users[] = { "u1", "u2", "u/3", "u+4", "u#5", "" };
static const char *const ids[] = { "c1", "c2", "c/3", "c+4", "c#5" };
#define NLEVELS (sizeof levels / sizeof levels[0])
#define NUSERS  (sizeof users / sizeof users[0])
#define NIDS    (sizeof ids / sizeof ids[0])

/* Short filters are compared sixteen bytes at a time without the topic's length (short_str.h):
 * every topic length around the filters' own, each topic ending at the end of a readable page
 * (a load past the page would fault) and in an ordinary buffer, against the general matcher. */
static void test_short_filters(void)
{
	static const char *filters[] = { "ab",  "users/bench/x",    "users/bench/#",
		                         "a/#", "exactly16bytes/x", "users/bench12345/#" };
	char *pages = page_edge_new();
	char topic[40], err[256];

	if (!CHECK(pages != NULL)) return;
	for (unsigned f = 0; f < sizeof filters / sizeof *filters; f++) {
		size_t flen = strlen(filters[f]);
		struct wa_grants *g;

		descriptor(1, 0x00000000); /* fallback: deny */
		memcpy(mem + 1024, filters[f], flen);
		entry(0, 0, (uint32_t)flen, 3, 0, 0);
		g = read_mem(err);
		if (!CHECK(g != NULL)) continue;
		for (size_t k = 0; k < 2u * (sizeof topic - 1u); k++) {
			size_t n = k / 2u;
			int want;

			/* the filter's bytes ('y' for '#', then '/' and 'y'), cut or extended to n; every
			 * other one with its last byte changed */
			for (size_t i = 0; i < n; i++)
				topic[i] = i < flen && filters[f][i] != '#' ? filters[f][i] : i == flen ? '/' : 'y';
			if (n && (k & 1u)) topic[n - 1u] = 'z';
			topic[n] = '\0';
			want = wa_topic_matches_sub(filters[f], flen, topic, n) == 1 ? WA_ALLOW : WA_DENY;
			if (!CHECK_INT(wa_grants_decide(g, topic, 1), want) ||
			    !CHECK_INT(wa_grants_decide(g, page_edge_put(pages, topic), 1), want)) {
				fprintf(stderr, "  filter %s topic %s\n", filters[f], topic);
				break;
			}
		}
		wa_grants_free(g);
	}
	page_edge_free(pages);
}

/* A valid filter: 1-4 levels of words, '+', %u/%c (patterns), '#' last. */
static void gen_filter(char *out, size_t cap, int pattern)
{
	unsigned n = 1 + pick(4);
	size_t at = 0;

	out[0] = '\0';
	for (unsigned i = 0; i < n && at + 16 < cap; i++) {
		unsigned k = pick(pattern ? 12 : 9);
		const char *lv;
		if (i) out[at++] = '/';
		if (k < 5)
			lv = levels[pick(NLEVELS)];
		else if (k < 7)
			lv = "+";
		else if (k == 7 && i == n - 1)
			lv = "#";
		else if (k < 9)
			lv = levels[pick(NLEVELS)];
		else if (k == 9)
			lv = "%u";
		else if (k == 10)
			lv = "%c";
		else
			lv = "mid%u";
		at += (size_t)snprintf(out + at, cap - at, "%s", lv);
	}
	if (at == 0) snprintf(out, cap, "a");
}

static void gen_topic(char *out, size_t cap)
{
	unsigned n = 1 + pick(4);
	size_t at = 0;

	out[0] = '\0';
	for (unsigned i = 0; i < n && at + 16 < cap; i++) {
		unsigned k = pick(10);
		const char *lv = k < 6 ? levels[pick(NLEVELS)] : k < 8 ? users[pick(NUSERS)] : ids[pick(NIDS)];
		if (strchr(lv, '+') || strchr(lv, '#')) lv = "a";
		if (i) out[at++] = '/';
		at += (size_t)snprintf(out + at, cap - at, "%s%s", pick(5) == 0 ? "mid" : "", lv);
	}
	if (at == 0) snprintf(out, cap, "a");
}

static void gen_acl(const char *path)
{
	static const char *const access[] = { "", "read ", "write ", "readwrite ", "deny " };
	FILE *f = fopen(path, "w");
	unsigned lines = 1 + pick(12);
	char filter[128];

	if (!f) return;
	for (unsigned i = 0; i < lines; i++) {
		unsigned k = pick(10);
		if (k < 2) {
			fprintf(f, "user %s\n", users[pick(NUSERS - 1)]);
			continue;
		}
		gen_filter(filter, sizeof filter, k >= 7);
		const char *a = access[pick(5)];
		if (!*a && strchr(filter, ' ')) a = "readwrite "; /* else the first word is taken for the access */
		fprintf(f, "%s %s%s\n", k >= 7 ? "pattern" : "topic", a, filter);
	}
	fclose(f);
}

struct client {
	const char *id;
};

static const char *client_id(const void *c)
{
	return ((const struct client *)c)->id;
}

static const struct wa_client_ops ops = { client_id, NULL, NULL, 0 };

/* The last log line, shown when a load fails. */
static char last_line[2][1024];

static void quiet(int level, const char *line)
{
	(void)level;
	memcpy(last_line[0], last_line[1], sizeof last_line[0]);
	snprintf(last_line[1], sizeof last_line[1], "%s", line);
}

/* Every check of every client the grants decide must get acl_check's answer. Returns the number
 * of differences; *decided counts the checks the grants decided, *compared all of them. */
static unsigned compare(struct wa_policy *p, const char *acl, unsigned *compared, unsigned *decided)
{
	static const int accesses[] = { 1, 2, 4, 8 };
	unsigned wrong = 0;
	char topic[128];

	for (unsigned u = 0; u <= NUSERS; u++) {
		for (unsigned c = 0; c < NIDS; c++) {
			const char *user = u < NUSERS ? users[u] : NULL, *id = ids[c];
			struct client cl = { id };
			enum wa_decision fd;
			struct wa_grants *g = wa_policy_grants(p, &cl, id, user, &fd);
			if (!CHECK(g != NULL)) continue;
			for (unsigned t = 0; t < 24; t++) {
				gen_topic(topic, sizeof topic);
				for (unsigned k = 0; k < 4; k++) {
					int r = wa_grants_decide(g, topic, accesses[k]);
					enum wa_decision want =
					    wa_policy_acl_check(p, &cl, id, user, topic, accesses[k], NULL, 0, 0, 0);
					(*compared)++;
					if (r == WA_GRANTS_ASK) continue;
					(*decided)++;
					if (r != (int)want && wrong++ < 5) {
						FILE *f = acl ? fopen(acl, "r") : NULL;
						char line[256];
						fprintf(stderr,
						        "  grants %d, acl_check %d: client %s user %s topic %s access "
						        "%d%s\n",
						        r, want, id, user ? user : "(none)", topic, accesses[k],
						        f ? "; acl_file:" : "");
						while (f && fgets(line, sizeof line, f))
							fprintf(stderr, "    %s", line);
						if (f) fclose(f);
					}
				}
			}
			wa_grants_free(g);
		}
	}
	return wrong;
}

static struct wa_auth *load(const char *wasm, const char *acl)
{
	struct wa_kv kv[2] = { { "wasm_module", wasm }, { "acl_file", acl } };
	struct wa_auth *a = wa_auth_new(kv, acl ? 2 : 1, &ops);

	if (!CHECK(a != NULL))
		fprintf(stderr, "  %s\n  %s\n", last_line[0], last_line[1]);
	else
		CHECK(wa_policy_acl_grants(wa_auth_policy(a)));
	return a;
}

static void test_default_policy(const char *wasm, const char *dir)
{
	unsigned files = 60, compared = 0, decided = 0, wrong = 0;
	char acl[512];

	snprintf(acl, sizeof acl, "%s/acl", dir);
	for (unsigned file = 0; file < files; file++) {
		struct wa_auth *a;

		gen_acl(acl);
		a = load(wasm, acl);
		if (!a) return;
		wrong += compare(wa_auth_policy(a), acl, &compared, &decided);
		wa_auth_free(a);
	}
	CHECK_INT(wrong, 0);
	CHECK_INT(decided, compared); /* the default policy's grants decide every check */
	printf("default policy: compared %u checks over %u acl files: %u differences\n", compared, files, wrong);
	unlink(acl);
}

/* examples/static-users: its grants decide READ and WRITE, acl_check the rest. */
static void test_static_users(const char *wasm)
{
	unsigned compared = 0, decided = 0, wrong = 0;
	struct wa_auth *a = load(wasm, NULL);

	if (!a) return;
	for (unsigned round = 0; round < 20; round++) wrong += compare(wa_auth_policy(a), NULL, &compared, &decided);
	wa_auth_free(a);
	CHECK_INT(wrong, 0);
	CHECK_INT(decided * 2u, compared);
	printf("static-users: compared %u checks (%u decided by grants): %u differences\n", compared, decided, wrong);
}

int main(void)
{
	const char *wasm = getenv("WA_DEFAULT_POLICY"), *users_wasm = getenv("WA_STATIC_USERS");
	char dir[] = "/tmp/wa-grants-XXXXXX";

	test_reader();
	test_short_filters();
	wa_log_set_sink(quiet);
	if (!wasm)
		printf("WA_DEFAULT_POLICY not set: skipping the default policy's grants\n");
	else if (CHECK(mkdtemp(dir) != NULL)) {
		test_default_policy(wasm, dir);
		rmdir(dir);
	}
	if (!users_wasm)
		printf("WA_STATIC_USERS not set: skipping static-users' grants\n");
	else
		test_static_users(users_wasm);
	return check_done();
}
