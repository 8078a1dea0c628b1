/* jwt_verify (hostfns.c, jwt.c) on a fake linear memory with the committed fixtures
 * (tests/fixtures/jwt, made by its make.mjs with node:crypto): every token of tokens.txt gets
 * its expected result with the key file it names, each refusal one warning; key files that are
 * refused (and why); keys loaded only at init; bounds, truncated copies, the token cap, and the
 * fuel charged before each step (a budget one unit short traps with the work not done). Run from
 * the repository root. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "../runtime/hostfns.h"
#include "../runtime/jwt.h"
#include "../runtime/log.h"

#define DIR "tests/fixtures/jwt/"

static uint8_t memory[65536];
static const struct wa_mem mem = { memory, sizeof memory };

static char last_line[4096];
static int lines;

static void capture(int level, const char *line)
{
	(void)level;
	/* Without the prefix every line has: the tests name what follows. */
	if (strncmp(line, "wasm-auth: ", 11) == 0) line += 11;
	snprintf(last_line, sizeof last_line, "%s", line);
	lines++;
}

/* Key options: one per fixture key file. */
static const struct wa_kv kv[] = {
	{ "hs.secret_file", DIR "hs.secret" },
	{ "rsa.pem_file", DIR "rsa.pem" },
	{ "rsa4096.pem_file", DIR "rsa4096.pem" },
	{ "p256.pem_file", DIR "p256.pem" },
	{ "p384.pem_file", DIR "p384.pem" },
	{ "ed25519.pem_file", DIR "ed25519.pem" },
	{ "jwks.json_file", DIR "jwks.json" },
	{ "missing_file", DIR "missing" },
	{ "empty_file", "" },
	{ "plain", DIR "rsa.pem" },
};

#define KEY_AT 100u
#define TOK_AT 1024u
#define OUT_AT 20000u

/* jwt_verify(token, key option, leeway, out of cap bytes): the call's status (0, -1 trap). */
static int verify(struct wa_host *h, const char *tok, size_t toklen, const char *key, int32_t leeway, uint32_t cap,
                  int32_t *ret)
{
	memcpy(memory + KEY_AT, key, strlen(key));
	memcpy(memory + TOK_AT, tok, toklen);
	return wa_host_jwt_verify(h, mem, TOK_AT, (uint32_t)toklen, KEY_AT, (uint32_t)strlen(key), leeway, OUT_AT, cap,
	                          ret);
}

static int load(struct wa_host *h, const char *key)
{
	int32_t r = 99;
	h->in_init = 1;
	CHECK_INT(verify(h, "", 0, key, 0, 0, &r), 0);
	h->in_init = 0;
	wa_host_option_files_close(h); /* the init call returns */
	return r;
}

static int code_of(const char *name)
{
	static const struct {
		const char *name;
		int code;
	} codes[] = {
		{ "OK", 0 },
		{ "MALFORMED", WA_JWT_MALFORMED },
		{ "BAD_SIGNATURE", WA_JWT_BAD_SIGNATURE },
		{ "UNSUPPORTED_ALG", WA_JWT_UNSUPPORTED_ALG },
		{ "NO_KEY", WA_JWT_NO_KEY },
		{ "KEY_FILE", WA_JWT_KEY_FILE },
		{ "EXPIRED", WA_JWT_EXPIRED },
		{ "NOT_YET_VALID", WA_JWT_NOT_YET_VALID },
	};
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
		if (strcmp(codes[i].name, name) == 0) return codes[i].code;
	}
	return 99;
}

/* Every token of tokens.txt with its key file: the expected result, the claims copied whole on
 * success, one warning per refusal. */
static void fixtures(struct wa_host *h)
{
	FILE *f = fopen(DIR "tokens.txt", "r");
	char line[16384], key[64];
	unsigned n = 0;

	if (!CHECK(f != NULL)) return;
	while (fgets(line, sizeof line, f)) {
		char *name = strtok(line, " "), *want = strtok(NULL, " "), *file = strtok(NULL, " "),
		     *tok = strtok(NULL, "\n");
		int32_t r = 99;
		int code = code_of(want);
		snprintf(key, sizeof key, "%s_file", file);
		lines = 0;
		CHECK_INT(verify(h, tok, strlen(tok), key, 0, 8192, &r), 0);
		if (code == 0) {
			if (!CHECK(r > 0)) fprintf(stderr, "  token %s: %d (%s)\n", name, r, last_line);
			CHECK_INT(lines, 0);
			CHECK(r > 0 && memory[OUT_AT] == '{' && memory[OUT_AT + r - 1] == '}');
		} else {
			if (r != code) fprintf(stderr, "  token %s: %s\n", name, last_line);
			CHECK_INT(r, code);
			CHECK_INT(lines, 1);
			CHECK(strncmp(last_line, "jwt_verify (", 12) == 0);
		}
		n++;
	}
	fclose(f);
	CHECK(n >= 40);
}

static void messages(struct wa_host *h)
{
	static const char none[] = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.";
	int32_t r;

	CHECK_INT(verify(h, none, strlen(none), "rsa.pem_file", 0, 100, &r), 0);
	CHECK_INT(r, WA_JWT_UNSUPPORTED_ALG);
	CHECK_STR(last_line, "jwt_verify (rsa.pem_file): alg none is never accepted");
	/* {"alg":"HS256"}: an HMAC token against an RSA public key (the confusion attack). */
	CHECK_INT(verify(h, "eyJhbGciOiJIUzI1NiJ9.e30.AAAA", 29, "rsa.pem_file", 0, 100, &r), 0);
	CHECK_INT(r, WA_JWT_NO_KEY);
	CHECK_STR(last_line, "jwt_verify (rsa.pem_file): no key for alg HS256");
	CHECK_INT(verify(h, "a.b", 3, "rsa.pem_file", 0, 100, &r), 0);
	CHECK_STR(last_line, "jwt_verify (rsa.pem_file): not three base64url parts separated by dots");
	/* Not loaded: an option never given to jwt_verify at init, one not set, one not a file. */
	CHECK_INT(verify(h, none, strlen(none), "missing_file", 0, 100, &r), 0);
	CHECK_INT(r, WA_JWT_KEY_FILE);
	CHECK_STR(last_line, "jwt_verify (missing_file): keys not loaded (they load in plugin_init or security_init)");
	CHECK_INT(verify(h, none, strlen(none), "empty_file", 0, 100, &r), 0);
	CHECK_INT(r, WA_JWT_KEY_FILE);
	CHECK_STR(last_line, "jwt_verify (empty_file): option not set");
	CHECK_INT(verify(h, none, strlen(none), "plain", 0, 100, &r), 0);
	CHECK_INT(r, WA_JWT_KEY_FILE);
	CHECK_STR(last_line, "jwt_verify (plain): not a file option (a key option's name ends in _file)");
}

/* Key files that are refused at init, with the reason; the option then refuses tokens. */
static void key_files(void)
{
	static const struct {
		const char *file, *why;
	} bad[] = {
		{ "rsa1024.pem", "RSA key of 1024 bits (2048 to 4096 are accepted)" },
		{ "p521.pem", "EC key on a curve other than P-256 and P-384" },
		{ "private.pem", "PEM file whose first block is not a PUBLIC KEY or CERTIFICATE" },
		{ "not-a-key.pem", "invalid PEM public key or certificate" },
		{ "short.secret", "HMAC secret of 9 bytes (32 to 1024 are accepted)" },
		{ "jwks-bad-json.json", "not a JWKS (a JSON object with a keys array)" },
		{ "jwks-no-keys.json", "no usable key (RSA, EC P-256/P-384, OKP Ed25519 or oct, use sig)" },
		{ "jwks-bad-n.json", "key 0: n or e is not base64url of an RSA key of at most 4096 bits" },
		{ "jwks-off-curve.json", "key 0: not a valid public key" },
		{ "jwks-alg-mismatch.json", "key 0: alg RS256 does not fit its kty" },
		{ "missing", "not found" },
		{ "", "not a regular file" }, /* the directory */
	};
	char want[512];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char path[256];
		struct wa_kv one[1] = { { "k_file", path } };
		char err[128];
		struct wa_host h;
		int32_t r = 99;
		snprintf(path, sizeof path, DIR "%s", bad[i].file);
		memset(&h, 0, sizeof h);
		h.opts = wa_options_new(one, 1, err, sizeof err);
		lines = 0;
		CHECK_INT(load(&h, "k_file"), WA_JWT_KEY_FILE);
		CHECK_INT(lines, 1);
		snprintf(want, sizeof want, "jwt_verify (k_file): key file %s: %s", path, bad[i].why);
		CHECK_STR(last_line, want);
		/* A request after a refused load: refused, never a stale or absent-key success. */
		CHECK_INT(verify(&h, "x.y.z", 5, "k_file", 0, 0, &r), 0);
		CHECK_INT(r, WA_JWT_KEY_FILE);
		CHECK_STR(last_line, "jwt_verify (k_file): keys not loaded (the key file was refused at init)");
		wa_host_jwt_free(&h);
		wa_options_free((struct wa_options *)h.opts);
	}
}

/* Bounds, the claims copy, the token cap, leeway. */
static void bounds(struct wa_host *h)
{
	FILE *f = fopen(DIR "tokens.txt", "r");
	char line[16384], *tok = NULL, *big;
	int32_t r = 99, full;

	while (f && fgets(line, sizeof line, f)) {
		if (strncmp(line, "rs256 ", 6) == 0) {
			tok = strdup(strrchr(line, ' ') + 1);
			tok[strcspn(tok, "\n")] = '\0';
		}
	}
	if (f) fclose(f);
	if (!CHECK(tok != NULL)) return;
	CHECK_INT(verify(h, tok, strlen(tok), "rsa.pem_file", 0, 8192, &full), 0);
	CHECK(full > 100);
	/* A short buffer: the full length, the copy truncated, nothing written past it. */
	memset(memory + OUT_AT, 0xAA, 64);
	CHECK_INT(verify(h, tok, strlen(tok), "rsa.pem_file", 0, 10, &r), 0);
	CHECK_INT(r, full);
	CHECK(memory[OUT_AT] == '{' && memory[OUT_AT + 10] == 0xAA);
	/* Out of bounds: the token, the key, the buffer; each a trap with nothing done. */
	CHECK_INT(wa_host_jwt_verify(h, mem, sizeof memory - 4, 8, KEY_AT, 12, 0, OUT_AT, 10, &r), -1);
	CHECK_STR(h->trap, "jwt_verify: pointer out of bounds");
	CHECK_INT(wa_host_jwt_verify(h, mem, TOK_AT, 8, UINT32_MAX, 2, 0, OUT_AT, 10, &r), -1);
	CHECK_INT(wa_host_jwt_verify(h, mem, TOK_AT, 8, KEY_AT, 12, 0, sizeof memory - 5, 10, &r), -1);
	CHECK_STR(h->trap, "jwt_verify: buffer out of bounds");
	/* Over the cap: refused by its length alone. */
	big = malloc(WA_MAX_JWT_BYTES + 1);
	memset(big, 'A', WA_MAX_JWT_BYTES + 1);
	big[12] = '.';
	big[24] = '.';
	CHECK_INT(verify(h, big, WA_MAX_JWT_BYTES + 1, "rsa.pem_file", 0, 100, &r), 0);
	CHECK_INT(r, WA_JWT_MALFORMED);
	CHECK_STR(last_line,
	          "jwt_verify (rsa.pem_file): token of 8193 bytes, above the cap of 8192 (WA_MAX_JWT_BYTES)");
	/* At the cap: parsed (and refused for what it is). */
	CHECK_INT(verify(h, big, WA_MAX_JWT_BYTES, "rsa.pem_file", 0, 100, &r), 0);
	CHECK_INT(r, WA_JWT_MALFORMED);
	CHECK_STR(last_line, "jwt_verify (rsa.pem_file): signature longer than 512 bytes");
	free(big);
	free(tok);
}

static void leeway(void)
{
	struct wa_jwt_token t;
	char d[200];

	memset(&t, 0, sizeof t);
	memcpy(t.payload, "{\"exp\": 1000, \"nbf\": 900.5}", 27);
	t.payloadlen = 27;
	CHECK_INT(wa_jwt_check_claims(&t, 999, 0, d, sizeof d), 0);
	CHECK_INT(wa_jwt_check_claims(&t, 1000, 0, d, sizeof d), WA_JWT_EXPIRED);
	CHECK_STR(d, "expired (now 1000, leeway 0 s)");
	CHECK_INT(wa_jwt_check_claims(&t, 1009, 10, d, sizeof d), 0);
	CHECK_INT(wa_jwt_check_claims(&t, 1010, 10, d, sizeof d), WA_JWT_EXPIRED);
	CHECK_INT(wa_jwt_check_claims(&t, 900, 0, d, sizeof d), WA_JWT_NOT_YET_VALID);
	CHECK_STR(d, "not yet valid (now 900, leeway 0 s)");
	CHECK_INT(wa_jwt_check_claims(&t, 900, 1, d, sizeof d), 0);
	CHECK_INT(wa_jwt_check_claims(&t, 900, -5, d, sizeof d), WA_JWT_NOT_YET_VALID); /* negative: 0 */
	/* Strict JSON: trailing commas, lone surrogates, bad UTF-8, depth. */
	static const char *bad[] = { "{\"a\":1,}",
		                     "{\"a\":\"\\ud800\"}",
		                     "{\"a\":\"\xC0\xAF\"}",
		                     "{\"a\":01}",
		                     "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
		                     "{} x" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		t.payloadlen = strlen(bad[i]);
		memcpy(t.payload, bad[i], t.payloadlen);
		CHECK_INT(wa_jwt_check_claims(&t, 0, 0, d, sizeof d), WA_JWT_MALFORMED);
	}
}

/* Fuel: every step is paid before it runs. Walking the budget up one unit at a time from 0,
 * every budget below the call's total traps "fuel exhausted" with no result and no log line;
 * the total itself succeeds. */
static void fuel(struct wa_host *h, const char *name, const char *key)
{
	FILE *f = fopen(DIR "tokens.txt", "r");
	char line[16384], *tok = NULL;
	int64_t counter, total;
	int32_t r;

	while (f && fgets(line, sizeof line, f)) {
		size_t n = strlen(name);
		if (strncmp(line, name, n) == 0 && line[n] == ' ') {
			tok = strdup(strrchr(line, ' ') + 1);
			tok[strcspn(tok, "\n")] = '\0';
		}
	}
	if (f) fclose(f);
	if (!CHECK(tok != NULL)) return;
	counter = INT64_MAX / 2;
	h->fuel = &counter;
	CHECK_INT(verify(h, tok, strlen(tok), key, 0, 8192, &r), 0);
	total = INT64_MAX / 2 - counter;
	CHECK(total > 0);
	/* The budget one short of the total, and a few points below: a trap, no result, no log. */
	int64_t tries[] = { total - 1, total / 2, WA_FUEL_HOST_CALL, 0 };
	for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++) {
		counter = tries[i];
		r = 12345;
		lines = 0;
		CHECK_INT(verify(h, tok, strlen(tok), key, 0, 8192, &r), -1);
		CHECK_STR(h->trap, "fuel exhausted");
		CHECK_INT(r, 12345);
		CHECK_INT(lines, 0);
	}
	counter = total;
	CHECK_INT(verify(h, tok, strlen(tok), key, 0, 8192, &r), 0);
	CHECK_INT(counter, 0);
	h->fuel = NULL;
	free(tok);
}

/* The price by algorithm: RSA by modulus size, EC and EdDSA above HMAC. */
static void prices(struct wa_host *h)
{
	static const struct {
		const char *name, *key;
		uint64_t min, max;
	} p[] = {
		{ "hs256", "hs.secret_file", WA_FUEL_JWT_HMAC, WA_FUEL_JWT_HMAC + 10000 },
		{ "rs256", "rsa.pem_file", 4 * WA_FUEL_JWT_RSA_1K2, 4 * WA_FUEL_JWT_RSA_1K2 + 10000 },
		{ "rs256-4096", "rsa4096.pem_file", 16 * WA_FUEL_JWT_RSA_1K2, 16 * WA_FUEL_JWT_RSA_1K2 + 10000 },
		{ "es256", "p256.pem_file", WA_FUEL_JWT_P256, WA_FUEL_JWT_P256 + 10000 },
		{ "es384", "p384.pem_file", WA_FUEL_JWT_P384, WA_FUEL_JWT_P384 + 10000 },
		{ "eddsa", "ed25519.pem_file", WA_FUEL_JWT_ED25519, WA_FUEL_JWT_ED25519 + 10000 },
	};
	char line[16384];

	for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) {
		FILE *f = fopen(DIR "tokens.txt", "r");
		int64_t counter = INT64_MAX / 2;
		int32_t r;
		size_t n = strlen(p[i].name);
		while (f && fgets(line, sizeof line, f)) {
			if (strncmp(line, p[i].name, n) == 0 && line[n] == ' ') break;
		}
		if (f) fclose(f);
		char *tok = strrchr(line, ' ') + 1;
		tok[strcspn(tok, "\n")] = '\0';
		h->fuel = &counter;
		CHECK_INT(verify(h, tok, strlen(tok), p[i].key, 0, 8192, &r), 0);
		CHECK(r > 0);
		uint64_t spent = (uint64_t)(INT64_MAX / 2 - counter);
		if (!CHECK(spent >= p[i].min && spent <= p[i].max))
			fprintf(stderr, "  %s: %llu\n", p[i].name, (unsigned long long)spent);
		h->fuel = NULL;
	}
}

/* A flood of refusals: each one answered, its warnings cut by the guest log rate limit (a burst
 * of WA_LOG_BURST_LINES, then one notice), never one line per token. */
static void flood(void)
{
	static const char none[] = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.";
	struct wa_host h;
	char err[128];
	int refused = 0;

	memset(&h, 0, sizeof h);
	h.opts = wa_options_new(kv, sizeof kv / sizeof kv[0], err, sizeof err);
	CHECK_INT(load(&h, "rsa.pem_file"), 0);
	lines = 0;
	for (int i = 0; i < 3 * (int)WA_LOG_BURST_LINES; i++) {
		int32_t r = 0;
		CHECK_INT(verify(&h, none, strlen(none), "rsa.pem_file", 0, 100, &r), 0);
		refused += r == WA_JWT_UNSUPPORTED_ALG;
	}
	CHECK_INT(refused, 3 * (int)WA_LOG_BURST_LINES);
	CHECK(lines >= (int)WA_LOG_BURST_LINES && lines <= (int)WA_LOG_BURST_LINES + 5);
	CHECK(h.log_limit.dropped_lines > 0);
	wa_host_jwt_free(&h);
	wa_options_free((struct wa_options *)h.opts);
}

int main(void)
{
	struct wa_host h;
	char err[128];
	int64_t counter;

	wa_log_set_sink(capture);
	memset(&h, 0, sizeof h);
	h.opts = wa_options_new(kv, sizeof kv / sizeof kv[0], err, sizeof err);
	for (size_t i = 0; i < 7; i++) CHECK_INT(load(&h, kv[i].key), 0);
	/* Loading is paid too: a budget too small for the file traps at init. */
	counter = WA_FUEL_OPEN_FILE;
	h.fuel = &counter;
	h.in_init = 1;
	{
		int32_t r = 99;
		CHECK_INT(verify(&h, "", 0, "jwks.json_file", 0, 0, &r), -1);
		CHECK_STR(h.trap, "fuel exhausted");
	}
	h.in_init = 0;
	h.fuel = NULL;
	wa_host_option_files_close(&h);
	CHECK_INT(load(&h, "jwks.json_file"), 0);
	fixtures(&h);
	messages(&h);
	bounds(&h);
	leeway();
	fuel(&h, "rs256", "rsa.pem_file");
	fuel(&h, "es256", "p256.pem_file");
	fuel(&h, "jwks-hs256", "jwks.json_file");
	fuel(&h, "tampered", "rsa.pem_file");
	fuel(&h, "none", "rsa.pem_file");
	prices(&h);
	key_files();
	flood();
	wa_host_jwt_free(&h);
	wa_options_free((struct wa_options *)h.opts);
	return check_done();
}
