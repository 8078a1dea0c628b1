/* Calibration of the host function prices (wa_limits.h, WA_FUEL_*; docs/SECURITY.md, "Host
 * function prices"): how many nanoseconds one fuel unit of ordinary wasm3 code takes on this
 * machine, and how many the host functions' work takes, so that fuel ~ time. Not a test: it
 * prints measurements and the price each implies. Best of several runs (the least disturbed).
 *
 *   make calibrate
 */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "../runtime/engine.h"
#include "../gate/gate.h"
#include "../runtime/hostfns.h"
#include "../runtime/wa_limits.h"
#include "../runtime/log.h"
#include "../runtime/pwhash.h"
#include "../runtime/text.h"

/* cal.wat, assembled with wat2wasm:
 * (module
 *   (import "mosquitto" "client_protocol_version" (func $pv (result i32)))
 *   (memory (export "memory") 1)
 *   ;; unpwd_check(n, _): a counting loop, n iterations, no calls
 *   (func (export "unpwd_check") (param $n i32) (param i32) (result i32) (local $i i32)
 *     (loop $l
 *       (local.set $i (i32.add (local.get $i) (i32.const 1)))
 *       (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
 *     (local.get $i))
 *   ;; acl_check(n, _, _, _): the same loop with one host call per iteration
 *   (func (export "acl_check") (param $n i32) (param i32 i32 i32) (result i32) (local $i i32) (local $s i32)
 *     (loop $l
 *       (local.set $s (i32.add (local.get $s) (call $pv)))
 *       (local.set $i (i32.add (local.get $i) (i32.const 1)))
 *       (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
 *     (local.get $s))
 *   ;; psk_key_get(n, _): recursive fib(n): calls and arithmetic
 *   (func $fib (param $n i32) (result i32)
 *     (if (result i32) (i32.lt_s (local.get $n) (i32.const 2))
 *       (then (local.get $n))
 *       (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1)))
 *                      (call $fib (i32.sub (local.get $n) (i32.const 2)))))))
 *   (func (export "psk_key_get") (param $n i32) (param i32) (result i32)
 *     (call $fib (local.get $n))))
 */
static const uint8_t cal_wasm[] = {
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x18, 0x04, 0x60, 0x00, 0x01, 0x7f, 0x60, 0x02, 0x7f,
	0x7f, 0x01, 0x7f, 0x60, 0x04, 0x7f, 0x7f, 0x7f, 0x7f, 0x01, 0x7f, 0x60, 0x01, 0x7f, 0x01, 0x7f, 0x02, 0x25,
	0x01, 0x09, 0x6d, 0x6f, 0x73, 0x71, 0x75, 0x69, 0x74, 0x74, 0x6f, 0x17, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74,
	0x5f, 0x70, 0x72, 0x6f, 0x74, 0x6f, 0x63, 0x6f, 0x6c, 0x5f, 0x76, 0x65, 0x72, 0x73, 0x69, 0x6f, 0x6e, 0x00,
	0x00, 0x03, 0x05, 0x04, 0x01, 0x02, 0x03, 0x01, 0x05, 0x03, 0x01, 0x00, 0x01, 0x07, 0x32, 0x04, 0x06, 0x6d,
	0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00, 0x0b, 0x75, 0x6e, 0x70, 0x77, 0x64, 0x5f, 0x63, 0x68, 0x65, 0x63,
	0x6b, 0x00, 0x01, 0x09, 0x61, 0x63, 0x6c, 0x5f, 0x63, 0x68, 0x65, 0x63, 0x6b, 0x00, 0x02, 0x0b, 0x70, 0x73,
	0x6b, 0x5f, 0x6b, 0x65, 0x79, 0x5f, 0x67, 0x65, 0x74, 0x00, 0x04, 0x0a, 0x5c, 0x04, 0x17, 0x01, 0x01, 0x7f,
	0x03, 0x40, 0x20, 0x02, 0x41, 0x01, 0x6a, 0x21, 0x02, 0x20, 0x02, 0x20, 0x00, 0x49, 0x0d, 0x00, 0x0b, 0x20,
	0x02, 0x0b, 0x1e, 0x01, 0x02, 0x7f, 0x03, 0x40, 0x20, 0x05, 0x10, 0x00, 0x6a, 0x21, 0x05, 0x20, 0x04, 0x41,
	0x01, 0x6a, 0x21, 0x04, 0x20, 0x04, 0x20, 0x00, 0x49, 0x0d, 0x00, 0x0b, 0x20, 0x05, 0x0b, 0x1c, 0x00, 0x20,
	0x00, 0x41, 0x02, 0x48, 0x04, 0x7f, 0x20, 0x00, 0x05, 0x20, 0x00, 0x41, 0x01, 0x6b, 0x10, 0x03, 0x20, 0x00,
	0x41, 0x02, 0x6b, 0x10, 0x03, 0x6a, 0x0b, 0x0b, 0x06, 0x00, 0x20, 0x00, 0x10, 0x03, 0x0b,
};

#define RUNS 7

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void quiet(int level, const char *line)
{
	(void)level;
	(void)line;
}

/* ---- ordinary wasm3 code: ns per fuel unit -------------------------------------------------- */

struct guest_run {
	double ns;   /* best wall time of one call */
	double fuel; /* fuel the call used (metering + host charges) */
};

static struct guest_run run_guest(struct wa_engine *e, struct wa_host *h, unsigned export, uint32_t n, unsigned nargs)
{
	struct guest_run best = { -1, 0 };
	uint32_t args[4] = { n, 0, 0, 0 };
	const int64_t budget = INT64_MAX / 2;

	for (int i = 0; i < RUNS; i++) {
		struct wa_budget b = { budget, 60000 };
		int32_t r;
		double t0 = now_ns(), t;
		const char *why = wa_engine_call(e, export, args, nargs, &r, b);

		t = now_ns() - t0;
		if (why) {
			fprintf(stderr, "guest call failed: %s\n", why);
			exit(1);
		}
		if (best.ns < 0 || t < best.ns) best.ns = t;
		best.fuel = (double)(budget - *h->fuel);
	}
	return best;
}

/* ---- host work, called directly (no engine, no charging) ------------------------------------ */

static uint8_t memory[4u << 20];
static const struct wa_mem mem = { memory, sizeof memory };

#define TIME_BEST(result, reps, stmt)                                                                                  \
	do {                                                                                                           \
		double best_ = -1;                                                                                     \
		for (int run_ = 0; run_ < RUNS; run_++) {                                                              \
			double t0_ = now_ns();                                                                         \
			for (int rep_ = 0; rep_ < (reps); rep_++) {                                                    \
				stmt;                                                                                  \
			}                                                                                              \
			double t_ = (now_ns() - t0_) / (reps);                                                         \
			if (best_ < 0 || t_ < best_) best_ = t_;                                                       \
		}                                                                                                      \
		(result) = best_;                                                                                      \
	} while (0)

static volatile int32_t sink;

static const char *fake_id(const void *c)
{
	return c;
}
static const struct wa_client_ops ops = { fake_id, NULL, NULL, 0 };

/* b64 of n bytes into out (NUL-terminated). */
static void b64(const uint8_t *in, size_t n, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

static void pbkdf2_hash(char *out, size_t cap, unsigned iterations)
{
	const uint8_t salt[12] = "0123456789ab";
	uint8_t dk[64];
	char s[32], d[96];

	PKCS5_PBKDF2_HMAC("secret", 6, salt, sizeof salt, (int)iterations, EVP_sha512(), 64, dk);
	b64(salt, sizeof salt, s);
	b64(dk, sizeof dk, d);
	snprintf(out, cap, "$7$%u$%s$%s", iterations, s, d);
}

int main(void)
{
	struct wa_host h;
	struct wa_meter_report rep;
	struct wa_engine *e;
	uint8_t *metered;
	size_t mlen;
	char err[256];
	struct guest_run spin, calls, fib;
	double spin_ns, fib_ns, ns_fuel, call_ns;
	const uint32_t n = 2000000;

	wa_log_set_sink(quiet);
	memset(&h, 0, sizeof h);
	h.client_ops = &ops;
	if (wa_gate_meter(cal_wasm, sizeof cal_wasm, &metered, &mlen, &rep, err, sizeof err) != 0) {
		fprintf(stderr, "metering: %s\n", err);
		return 1;
	}
	e = wa_engine_new(metered, mlen, 1, &h, err, sizeof err);
	if (!e) {
		fprintf(stderr, "engine: %s\n", err);
		return 1;
	}

	spin = run_guest(e, &h, WA_HOOK_UNPWD_CHECK, n, 2);
	calls = run_guest(e, &h, WA_HOOK_ACL_CHECK, n, 4);
	fib = run_guest(e, &h, WA_HOOK_PSK_KEY_GET, 25, 2);
	spin_ns = spin.ns / spin.fuel;
	fib_ns = fib.ns / fib.fuel;
	ns_fuel = (spin_ns + fib_ns) / 2;
	/* The host-call loop: what its metered instructions would take, the rest is the call. */
	call_ns = (calls.ns - (calls.fuel - (double)n * WA_FUEL_HOST_CALL) * ns_fuel) / n;
	printf("wasm3, ordinary code:\n");
	printf("  counting loop      %8.3f ns per fuel unit (%.0f units, %.2f ms)\n", spin_ns, spin.fuel,
	       spin.ns / 1e6);
	printf("  recursive fib(25)  %8.3f ns per fuel unit (%.0f units, %.2f ms)\n", fib_ns, fib.fuel, fib.ns / 1e6);
	printf("  => one fuel unit   %8.3f ns (the mean)\n", ns_fuel);
	printf("  a host call (client_protocol_version) beyond its metered instructions: %.1f ns = %.1f units\n",
	       call_ns, call_ns / ns_fuel);
	wa_engine_free(e);
	h.fuel = NULL; /* the engine's counter is gone: the host work below runs uncharged */
	free(metered);

	printf("host work (ns, and fuel units at %.3f ns per unit):\n", ns_fuel);
	printf("  %-56s %12s  %12s  %12s\n", "", "measured", "= units", "price");
#define ROW(what, ns, price) printf("  %-56s %9.2f ns  %12.3f  %12.3f\n", what, (ns), (ns) / ns_fuel, (double)(price))

	{ /* topic_matches_sub over long matching strings: byte-by-byte work */
		const uint32_t len = 65536;
		double t;
		int32_t r;
		for (uint32_t i = 0; i < len; i++) memory[4096 + i] = memory[4096 + len + i] = (i % 8 == 7) ? '/' : 'a';
		TIME_BEST(t, 20, wa_host_topic_matches_sub(&h, mem, 4096, len, 4096 + len, len, &r); sink = r);
		ROW("topic_matches_sub, per byte of filter + topic", t / (2.0 * len), WA_FUEL_SCAN_32 / 32.0);
		TIME_BEST(t, 100000, wa_host_topic_matches_sub(&h, mem, 4096, 16, 4096 + len, 16, &r); sink = r);
		ROW("topic_matches_sub, 16 + 16 bytes, whole call", t, WA_FUEL_HOST_CALL + WA_FUEL_SCAN_32);
	}
	{ /* UTF-16LE -> UTF-8 + sanitising (log, trace, abort text) */
		static char out[WA_MAX_LOG_BYTES + 1];
		double t;
		for (uint32_t i = 0; i < 2 * WA_MAX_LOG_BYTES; i += 2) {
			memory[8192 + i] = 'x';
			memory[8192 + i + 1] = 0;
		}
		TIME_BEST(t, 20000, {
			size_t k = wa_utf16le_to_utf8(memory + 8192, 2 * WA_MAX_LOG_BYTES, out, sizeof out);
			wa_text_sanitize_controls(out, k);
			sink = out[5];
		});
		ROW("log text: UTF-16 -> UTF-8 + sanitise, per input byte", t / (2.0 * WA_MAX_LOG_BYTES),
		    WA_FUEL_TEXT_32 / 32.0);
	}
	{ /* trace: a 100-character message and 5 numbers, the line discarded by the sink */
		static char out[WA_MAX_LOG_BYTES + 160];
		const double a[5] = { 3.14159, 2.5e-300, 1e21, 42, -0.1 };
		double t;
		int k;
		TIME_BEST(t, 20000, {
			k = snprintf(out, sizeof out, "trace: %s", "a message");
			for (int i = 0; i < 5; i++) k += snprintf(out + k, sizeof out - (size_t)k, ", %.17g", a[i]);
			sink = out[k - 1];
		});
		ROW("trace: formatting 5 numbers with %.17g, per number", t / 5, WA_FUEL_TRACE_ARG);
	}
	{ /* a log line written: one write(2), as mosquitto's file and stdout destinations do */
		char path[] = "/tmp/wa-calibrate-XXXXXX";
		int fd = mkstemp(path);
		const char line[] =
		    "wasm-auth: a log line of about one hundred bytes, as a policy would write it ........\n";
		double t;
		if (fd < 0) return 1;
		TIME_BEST(t, 20000, sink = (int32_t)write(fd, line, sizeof line - 1));
		ROW("a log line: write(2) of 90 bytes to a file", t, WA_FUEL_LOG_LINE);
		close(fd);
		unlink(path);
		fd = open("/dev/null", O_WRONLY);
		TIME_BEST(t, 20000, sink = (int32_t)write(fd, line, sizeof line - 1));
		ROW("a log line: write(2) of 90 bytes to /dev/null", t, WA_FUEL_LOG_LINE);
		close(fd);
	}
	{ /* client_id: a memcpy of the value */
		static char id[65536];
		int32_t r;
		double t;
		memset(id, 'c', sizeof id - 1);
		h.client = id;
		TIME_BEST(t, 2000, wa_host_client_id(&h, mem, 4096, sizeof id, &r); sink = r);
		ROW("client_id: strlen + copy, per byte (64 KiB)", t / (sizeof id - 1), WA_FUEL_COPY_32 / 32.0);
		id[16] = '\0';
		TIME_BEST(t, 200000, wa_host_client_id(&h, mem, 4096, 64, &r); sink = r);
		ROW("client_id: 16 bytes, whole call", t, WA_FUEL_HOST_CALL + WA_FUEL_COPY_32);
		h.client = NULL;
	}
	{ /* pw_verify */
		char hash[256];
		static uint8_t pw[65536];
		double t1, t2;
		memset(pw, 'p', sizeof pw);
		pbkdf2_hash(hash, sizeof hash, 1000);
		TIME_BEST(t1, 20, sink = wa_pw_verify(hash, strlen(hash), pw, 6));
		pbkdf2_hash(hash, sizeof hash, WA_MAX_PW_ITERATIONS);
		TIME_BEST(t2, 3, sink = wa_pw_verify(hash, strlen(hash), pw, 6));
		ROW("pw_verify: one PBKDF2-HMAC-SHA512 iteration", (t2 - t1) / (WA_MAX_PW_ITERATIONS - 1000.0),
		    WA_FUEL_PBKDF2_ITERATION);
		ROW("pw_verify: WA_MAX_PW_ITERATIONS, whole call", t2,
		    WA_FUEL_HOST_CALL + WA_FUEL_PW_VERIFY + 4 * WA_FUEL_SCAN_32 + WA_FUEL_HASH_32 / 2 + WA_FUEL_PBKDF2 +
		        (double)WA_MAX_PW_ITERATIONS * WA_FUEL_PBKDF2_ITERATION);
		ROW("pw_verify: 1000 iterations, whole call", t1,
		    WA_FUEL_HOST_CALL + WA_FUEL_PW_VERIFY + 4 * WA_FUEL_SCAN_32 + WA_FUEL_HASH_32 / 2 + WA_FUEL_PBKDF2 +
		        1000.0 * WA_FUEL_PBKDF2_ITERATION);
		pbkdf2_hash(hash, sizeof hash, 1);
		TIME_BEST(t1, 2000, sink = wa_pw_verify(hash, strlen(hash), pw, 16));
		TIME_BEST(t2, 200, sink = wa_pw_verify(hash, strlen(hash), pw, sizeof pw));
		ROW("pw_verify: SHA-512 of the password, per byte", (t2 - t1) / (sizeof pw - 16),
		    WA_FUEL_HASH_32 / 32.0);
		{
			char h6[256], salt[32], dg[96];
			uint8_t d[64];
			b64((const uint8_t *)"0123456789ab", 12, salt);
			memset(d, 1, sizeof d);
			b64(d, sizeof d, dg);
			snprintf(h6, sizeof h6, "$6$%s$%s", salt, dg);
			TIME_BEST(t2, 20000, sink = wa_pw_verify(h6, strlen(h6), pw, 16));
			ROW("pw_verify: $6$, 16-byte password, whole call", t2,
			    WA_FUEL_HOST_CALL + WA_FUEL_PW_VERIFY + 4 * WA_FUEL_SCAN_32 + WA_FUEL_HASH_32 / 2);
		}
		{
			static char big[65536];
			memset(big, 'A', sizeof big);
			memcpy(big, "$6$", 3);
			TIME_BEST(t2, 200, sink = wa_pw_verify(big, sizeof big, pw, 16));
			ROW("pw_verify: parsing, per byte of hash (64 KiB)", t2 / sizeof big, WA_FUEL_SCAN_32 / 32.0);
		}
		ROW("pw_verify: 1 iteration, 16-byte password, whole call", t1,
		    WA_FUEL_HOST_CALL + WA_FUEL_PW_VERIFY + 4 * WA_FUEL_SCAN_32 + WA_FUEL_HASH_32 / 2 + WA_FUEL_PBKDF2 +
		        WA_FUEL_PBKDF2_ITERATION);
		{ /* $argon2id$ (the digest is wrong: the work is the same) */
			char a2[160];
			const unsigned kib[] = { 8, 8192, 47104, WA_MAX_PW_ARGON2_KIB };
			const char *what[] = { "pw_verify: argon2id m=8,t=1,p=1 (set-up), whole call",
				               "pw_verify: argon2id m=8192,t=1,p=1, per KiB",
				               "pw_verify: argon2id m=47104,t=1,p=1, per KiB",
				               "pw_verify: argon2id at WA_MAX_PW_ARGON2_KIB, whole call" };
			for (size_t i = 0; i < sizeof kib / sizeof kib[0]; i++) {
				snprintf(a2, sizeof a2,
				         "$argon2id$v=19$m=%u,t=1,p=1$c2FsdHNhbHQ$"
				         "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
				         kib[i]);
				TIME_BEST(t2, kib[i] < 100 ? 2000 : 3, sink = wa_pw_verify(a2, strlen(a2), pw, 16));
				if (i == 0 || i == 3)
					ROW(what[i], t2, WA_FUEL_ARGON2 + (double)kib[i] * WA_FUEL_ARGON2_KIB);
				else
					ROW(what[i], t2 / kib[i], WA_FUEL_ARGON2_KIB);
			}
		}
	}
	{ /* option files */
		char path[] = "/tmp/wa-calibrate-XXXXXX";
		int fd = mkstemp(path);
		static char data[1u << 20];
		const struct wa_kv kv[] = { { "data_file", path } };
		struct wa_options *opts;
		int32_t r;
		double ts, tr;
		memset(data, 'd', sizeof data);
		if (fd < 0 || write(fd, data, sizeof data) != (ssize_t)sizeof data) return 1;
		close(fd);
		opts = wa_options_new(kv, 1, err, sizeof err);
		memcpy(memory + 100, "data_file", 9);
		h.opts = opts;
		h.in_init = 1;
		TIME_BEST(ts, 20000, wa_host_option_file_size(&h, mem, 100, 9, &r); sink = r);
		ROW("option_file_size: open + fstat + close", ts, WA_FUEL_HOST_CALL + WA_FUEL_OPEN_FILE);
		TIME_BEST(tr, 50, wa_host_option_file_read(&h, mem, 100, 9, 1u << 20, 1u << 20, &r); sink = r);
		ROW("option_file_read: per byte read (1 MiB, page cache)", (tr - ts) / (1u << 20),
		    WA_FUEL_COPY_32 / 32.0);
		h.opts = NULL;
		h.in_init = 0;
		wa_options_free(opts);
		unlink(path);
	}
	{
		double t, v;
		TIME_BEST(t, 20000, wa_host_seed(&h, &v); sink = (int32_t)v);
		ROW("seed: getrandom(2)", t, WA_FUEL_HOST_CALL + WA_FUEL_SEED);
		TIME_BEST(t, 200000, wa_host_date_now(&h, &v); sink = (int32_t)v);
		ROW("Date.now: clock_gettime", t, WA_FUEL_HOST_CALL + WA_FUEL_CLOCK);
	}
	{ /* jwt_verify: whole calls on the fixture tokens (tests/fixtures/jwt; run from the repository root) */
		static const struct {
			const char *name, *file;
		} jt[] = {
			{ "hs256", "hs.secret" },        { "rs256", "rsa.pem" },  { "ps256", "rsa.pem" },
			{ "rs256-4096", "rsa4096.pem" }, { "es256", "p256.pem" }, { "es384", "p384.pem" },
			{ "eddsa", "ed25519.pem" },
		};
		static char line[16384];
		char path[128], row[96];
		for (size_t i = 0; i < sizeof jt / sizeof jt[0]; i++) {
			const struct wa_kv kv[] = { { "k_file", path } };
			struct wa_options *opts;
			FILE *f = fopen("tests/fixtures/jwt/tokens.txt", "r");
			size_t n = strlen(jt[i].name), toklen = 0;
			int64_t counter = INT64_MAX / 2;
			int32_t r;
			double t;
			while (f && fgets(line, sizeof line, f)) {
				if (strncmp(line, jt[i].name, n) == 0 && line[n] == ' ') {
					char *tok = strrchr(line, ' ') + 1;
					toklen = strcspn(tok, "\n");
					memcpy(memory + 4096, tok, toklen);
					break;
				}
			}
			if (f) fclose(f);
			if (!toklen) {
				printf("  jwt_verify: tests/fixtures/jwt/tokens.txt not found (run from the repository "
				       "root)\n");
				break;
			}
			snprintf(path, sizeof path, "tests/fixtures/jwt/%s", jt[i].file);
			opts = wa_options_new(kv, 1, err, sizeof err);
			memcpy(memory + 100, "k_file", 6);
			h.opts = opts;
			h.in_init = 1;
			wa_host_jwt_verify(&h, mem, 0, 0, 100, 6, 0, 65536, 0, &r);
			h.in_init = 0;
			wa_host_option_files_close(&h);
			h.fuel = &counter; /* the price of one call, counted once */
			wa_host_jwt_verify(&h, mem, 4096, (uint32_t)toklen, 100, 6, 0, 65536, 8192, &r);
			h.fuel = NULL;
			TIME_BEST(t, 200,
			          wa_host_jwt_verify(&h, mem, 4096, (uint32_t)toklen, 100, 6, 0, 65536, 8192, &r);
			          sink = r);
			snprintf(row, sizeof row, "jwt_verify: %s, whole call", jt[i].name);
			ROW(row, t, (double)(INT64_MAX / 2 - counter));
			wa_host_jwt_free(&h);
			h.opts = NULL;
			wa_options_free(opts);
		}
	}
	return 0;
}
