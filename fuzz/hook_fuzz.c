/* libFuzzer target for the request hooks: any topic, username, password, client id and payload
 * (any bytes, lengths up to mosquitto's limits and one past them) through the runtime exactly as
 * the plugin calls it (wa_auth_new, wa_policy_*_check, wa_auth_reload).
 *
 * Policies come from WA_FUZZ_POLICIES (colon-separated entries, loaded once): a .wasm path,
 * optionally followed by plugin options as "|key=value|key=value" (the files a policy reads).
 * Each is loaded twice, once with the failure decision deny and once with defer, with a small fuel budget and
 * memory cap so that loops and memory bombs end quickly. WA_FUZZ_HOSTILE names the hostile-suite policy, whose trigger words have a
 * known answer: the failure decision.
 *
 * Input layout (so that mutations stay meaningful):
 *   byte 0   policy (index into WA_FUZZ_POLICIES, modulo their number)
 *   byte 1   bits 0-1 hook (0 unpwd_check, 1 acl_check, 2 psk_key_get, 3 reload then acl_check),
 *            bit 5 failure decision defer, bit 6 no username, bit 7 no password
 *   byte 2   bits 0-2 access, bits 3-4 qos (mod 3), bit 5 retain,
 *            bits 6-7 oversize: 1 topic of 65535 bytes, 2 topic of 65536, 3 payload of
 *            wasm_max_payload + 1 (a 65536-byte topic must get the failure decision)
 *   rest     client id NUL username NUL password NUL topic NUL payload (the payload may hold NULs;
 *            the string fields cannot, as in MQTT); psk_key_get takes username as identity and
 *            topic as hint. With hook 2 a policy exporting ext_auth_start gets it too: topic as
 *            the method, payload as the AUTH data, then ext_auth_continue with the password.
 * Checked: no crash, leak or undefined behaviour; every decision is allow, deny or defer (ext_auth_*:
 * or continue, with at most WA_MAX_AUTH_DATA_BYTES out); a psk key
 * is NUL-terminated hexadecimal; every log line is one line starting "wasm-auth: "; oversized
 * fields and the hostile policy's triggers get the failure decision.
 * Reproduce: make fuzz-repro-hook FILE=build/fuzz/artifacts/hook-crash-... */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../plugin-c/runtime/auth.h"
#include "../plugin-c/runtime/wa_limits.h"
#include "../plugin-c/runtime/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_POLICIES    32
#define MAX_POLICY_OPTS 8
/* Small enough that an endless loop ends in milliseconds, large enough for real policies. */
#define FUZZ_FUEL "500000"
/* A memory.grow bomb reallocates the whole memory once per page, which ASan makes slow: a
 * smaller cap (2 MiB) keeps the bomb to milliseconds and still exercises hitting the cap. */
#define FUZZ_MEMORY_PAGES "32"

struct slot {
	char *path;
	struct wa_kv opts[MAX_POLICY_OPTS];
	unsigned nopts;
	int hostile;
	struct wa_auth *auth[2]; /* [0] failure decision deny, [1] defer */
};

static struct slot slots[MAX_POLICIES];
static unsigned nslots;

/* The hostile policy's trigger words (tests/hostile/fixtures/hostile.wat): a field starting
 * with one of them makes the hook misbehave. */
static const char *const triggers[] = {
	"spin",  "brif",   "brtab", "outer", "calls",  "recurse", "grow",   "bigrow",   "fill",
	"abort", "logbad", "wrap",  "trap",  "baddec", "badkey",  "nonhex", "readloop", "readneg",
};

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "hook_fuzz: %s: %s\n", what, detail);
	abort();
}

/* Log lines are checked, not printed: the fuzzer would drown in them. */
static void sink(int level, const char *line)
{
	(void)level;
	if (strncmp(line, "wasm-auth: ", 11) != 0) die("log line without the prefix", line);
	if (strchr(line, '\n') || strchr(line, '\r')) die("log line spans lines", line);
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
	return 5;
}

static const struct wa_client_ops client_ops = { client_id, client_address, client_protocol_version, 0 };

/* Loads slot s's module with its options and the given failure decision. */
static struct wa_auth *load(const struct slot *s, const char *on_error)
{
	struct wa_kv kv[4 + MAX_POLICY_OPTS] = {
		{ "wasm_module", s->path },
		{ "wasm_on_error", on_error },
		{ "wasm_fuel", FUZZ_FUEL },
		{ "wasm_max_memory_pages", FUZZ_MEMORY_PAGES },
	};
	struct wa_auth *a;

	memcpy(kv + 4, s->opts, s->nopts * sizeof kv[0]);
	a = wa_auth_new(kv, 4 + s->nopts, &client_ops);
	if (!a) die("cannot load policy (see the log line above)", s->path);
	return a;
}

/* Splits "path|key=value|..." (owned, modified in place) into slot s. */
static void parse_entry(struct slot *s, char *entry)
{
	char *save = NULL, *tok;

	s->path = strtok_r(entry, "|", &save);
	if (!s->path) die("empty policy entry", "");
	while ((tok = strtok_r(NULL, "|", &save))) {
		char *eq = strchr(tok, '=');
		if (!eq || s->nopts == MAX_POLICY_OPTS) die("bad policy option (key=value, at most 8)", tok);
		*eq = '\0';
		s->opts[s->nopts].key = tok;
		s->opts[s->nopts++].value = eq + 1;
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *list = getenv("WA_FUZZ_POLICIES");
	const char *hostile = getenv("WA_FUZZ_HOSTILE");
	char *copy, *save = NULL, *tok;

	(void)argc;
	(void)argv;
	if (!list || !*list) die("WA_FUZZ_POLICIES is not set", "colon-separated .wasm paths");
	copy = strdup(list);
	if (!copy) die("out of memory", "");
	for (tok = strtok_r(copy, ":", &save); tok; tok = strtok_r(NULL, ":", &save)) {
		struct slot *s;
		char *entry = strdup(tok);
		if (!entry) die("out of memory", "");
		if (nslots == MAX_POLICIES) die("too many policies", tok);
		s = &slots[nslots++];
		parse_entry(s, entry); /* not freed: the slot points into it for the fuzzer's life */
		s->hostile = hostile && strcmp(hostile, s->path) == 0;
		s->auth[0] = load(s, "deny");
		s->auth[1] = load(s, "defer");
	}
	free(copy);
	if (!nslots) die("WA_FUZZ_POLICIES names no policy", list);
	/* Loading logged to stderr (useful if it failed); from here on lines are only checked. */
	wa_log_set_sink(sink);
	return 0;
}

/* The next NUL-terminated field of [*p, end) as a fresh string (the last one runs to end). */
static char *field(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *q = *p;
	size_t n;
	char *s;

	while (q < end && *q) q++;
	n = (size_t)(q - *p);
	s = malloc(n + 1);
	if (!s) die("out of memory", "");
	memcpy(s, *p, n);
	s[n] = '\0';
	*p = q < end ? q + 1 : end;
	return s;
}

/* s repeated (or 'a' if empty) to exactly n bytes. */
static char *inflate(const char *s, size_t n)
{
	size_t k = strlen(s), i;
	char *r = malloc(n + 1);

	if (!r) die("out of memory", "");
	for (i = 0; i < n; i++) r[i] = k ? s[i % k] : 'a';
	r[n] = '\0';
	return r;
}

static int is_trigger(const char *s)
{
	if (!s) return 0;
	for (size_t i = 0; i < sizeof triggers / sizeof triggers[0]; i++) {
		if (strncmp(s, triggers[i], strlen(triggers[i])) == 0) return 1;
	}
	return 0;
}

static void check_decision(enum wa_decision d)
{
	if (d != WA_DENY && d != WA_ALLOW && d != WA_DEFER) die("decision out of range", "");
}

static void expect_failure(enum wa_decision d, enum wa_decision failure, const char *why)
{
	if (d != failure) die("expected the failure decision", why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int accesses[8] = { 0, 1, 2, 4, 8, 1, 2, 4 };
	const uint8_t *p, *end = data + size;
	struct slot *s;
	struct wa_auth *a;
	struct wa_policy *pol;
	enum wa_decision failure, d;
	unsigned hooks, hook, oversize;
	char *cid, *user, *pass, *topic, *payload_owned = NULL;
	const void *payload;
	uint32_t payloadlen;
	char key[WA_MAX_PSK_KEY_CHARS + 1];
	int access, qos, retain, defer;

	if (size < 3) return 0;
	s = &slots[data[0] % nslots];
	hook = data[1] & 3u;
	defer = (data[1] >> 5) & 1;
	access = accesses[data[2] & 7u];
	qos = ((data[2] >> 3) & 3) % 3;
	retain = (data[2] >> 5) & 1;
	oversize = (data[2] >> 6) & 3u;
	a = s->auth[defer];
	failure = defer ? WA_DEFER : WA_DENY;

	p = data + 3;
	cid = field(&p, end);
	user = field(&p, end);
	pass = field(&p, end);
	topic = field(&p, end);
	payload = p;
	payloadlen = (uint32_t)(end - p);
	if (oversize == 1 || oversize == 2) {
		char *big = inflate(topic, oversize == 1 ? WA_MAX_FIELD_BYTES : WA_MAX_FIELD_BYTES + 1u);
		free(topic);
		topic = big;
	} else if (oversize == 3) {
		payloadlen = wa_auth_config(a)->max_payload + 1u;
		payload_owned = malloc(payloadlen);
		if (!payload_owned) die("out of memory", "");
		memset(payload_owned, 'x', payloadlen);
		payload = payload_owned;
	}
	if (data[1] & 0x40) {
		free(user);
		user = NULL;
	}
	if (data[1] & 0x80) {
		free(pass);
		pass = NULL;
	}

	if (hook == 3) {
		wa_auth_reload(a); /* same file: security_cleanup(1) + security_init(1) */
		hook = 1;
	}
	pol = wa_auth_policy(a);
	if (!pol) die("no policy after reload", s->path);
	hooks = wa_policy_hooks(pol);

	if (hook == 0 && (hooks & (1u << WA_HOOK_UNPWD_CHECK))) {
		d = wa_policy_unpwd_check(pol, cid, user, pass);
		check_decision(d);
		if (s->hostile && is_trigger(user)) expect_failure(d, failure, "hostile unpwd_check");
	} else if (hook == 1 && (hooks & (1u << WA_HOOK_ACL_CHECK))) {
		d = wa_policy_acl_check(pol, cid, cid, user, topic, access, payload, payloadlen, qos, retain);
		check_decision(d);
		if (oversize == 2) expect_failure(d, failure, "topic longer than 65535 bytes");
		if (s->hostile && is_trigger(topic)) expect_failure(d, failure, "hostile acl_check");
	} else if (hook == 2 && (hooks & (1u << WA_HOOK_PSK_KEY_GET))) {
		memset(key, 0x55, sizeof key);
		d = wa_policy_psk_key_get(pol, cid, user ? user : "", topic, key, sizeof key);
		check_decision(d);
		if (d == WA_ALLOW) {
			size_t n = strnlen(key, sizeof key);
			if (n == sizeof key) die("psk key not NUL-terminated", "");
			if (strspn(key, "0123456789abcdefABCDEF") != n) die("psk key is not hexadecimal", key);
		}
		if (d == WA_DEFER && !defer) die("psk_key_get deferred with failure decision deny", "");
		/* A key that is not hexadecimal is "no key" in both hosts (deny even with the failure
		 * decision defer); every other trigger is a failure. */
		if (s->hostile && is_trigger(user)) {
			if (strncmp(user, "nonhex", 6) == 0) {
				if (d == WA_ALLOW) die("hostile psk_key_get gave a non-hex key", key);
			} else {
				expect_failure(d, failure, "hostile psk_key_get");
			}
		}
	}

	if (hook == 2 && (hooks & (1u << WA_HOOK_EXT_AUTH_START))) {
		const uint8_t *out;
		uint32_t outlen;
		/* mosquitto's data length is 16 bits. */
		uint32_t n = payloadlen > WA_MAX_AUTH_DATA_BYTES ? WA_MAX_AUTH_DATA_BYTES : payloadlen;
		int r = wa_policy_ext_auth(pol, cid, 1, cid, topic, payload, n, &out, &outlen);
		if (r < WA_DENY || r > WA_CONTINUE) die("ext_auth_start gave no decision", "");
		if (outlen > WA_MAX_AUTH_DATA_BYTES) die("ext_auth_start data out above the cap", "");
		if (r == WA_CONTINUE && (hooks & (1u << WA_HOOK_EXT_AUTH_CONTINUE))) {
			r = wa_policy_ext_auth(pol, cid, 0, cid, "", pass, pass ? (uint32_t)strlen(pass) : 0u, &out,
			                       &outlen);
			if (r < WA_DENY || r > WA_CONTINUE) die("ext_auth_continue gave no decision", "");
			if (outlen > WA_MAX_AUTH_DATA_BYTES) die("ext_auth_continue data out above the cap", "");
		}
	}

	free(cid);
	free(user);
	free(pass);
	free(topic);
	free(payload_owned);
	return 0;
}
