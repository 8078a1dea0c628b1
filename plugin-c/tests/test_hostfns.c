/* The host functions (hostfns.h) on a fake linear memory: results, bounds checks, the
 * option_file_* rules, option_file_read_at's chunks and open files, guest text handling, the fuel each call charges (and the trap, work not
 * done, when it runs out), the guest log rate limit, the iteration cap's warning. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "../runtime/hostfns.h"
#include "../runtime/log.h"

static uint8_t memory[4096];
static const struct wa_mem mem = { memory, sizeof memory };

static char last_line[4096];
static int last_level, lines;

static void capture(int level, const char *line)
{
	snprintf(last_line, sizeof last_line, "%s", line);
	last_level = level;
	lines++;
}

static uint32_t put_bytes(uint32_t off, const void *data, size_t len)
{
	memcpy(memory + off, data, len);
	return off;
}

/* A guest string: UTF-16LE at off, byte length in the u32 before it. */
static uint32_t put_string(uint32_t off, const char *ascii)
{
	uint32_t len = (uint32_t)strlen(ascii) * 2;
	memcpy(memory + off - 4, &len, 4);
	for (size_t i = 0; ascii[i]; i++) {
		memory[off + 2 * i] = (uint8_t)ascii[i];
		memory[off + 2 * i + 1] = 0;
	}
	return off;
}

struct fake_client {
	const char *id, *address;
	int protocol;
};

static const char *fake_id(const void *c)
{
	return ((const struct fake_client *)c)->id;
}
static const char *fake_address(const void *c)
{
	return ((const struct fake_client *)c)->address;
}
static int fake_protocol(const void *c)
{
	return ((const struct fake_client *)c)->protocol;
}
static const struct wa_client_ops ops = { fake_id, fake_address, fake_protocol, 0 };

static void topic(struct wa_host *h)
{
	int32_t r = 99;
	uint32_t s = put_bytes(100, "a/+", 3), t = put_bytes(200, "a/b", 3);

	CHECK_INT(wa_host_topic_matches_sub(h, mem, s, 3, t, 3, &r), 0);
	CHECK_INT(r, 1);
	CHECK_INT(wa_host_topic_matches_sub(h, mem, s, 3, t, 1, &r), 0); /* the length counts: "a" */
	CHECK_INT(r, 0);
	CHECK_INT(wa_host_topic_matches_sub(h, mem, s, 0, t, 3, &r), 0);
	CHECK_INT(r, -1);
	CHECK_INT(wa_host_topic_matches_sub(h, mem, s, 3, 4095, 3, &r), -1);
	CHECK(strstr(h->trap, "topic_matches_sub") != NULL);
	CHECK_INT(wa_host_topic_matches_sub(h, mem, 0, 3, t, 3, &r), -1);
}

static void logging(struct wa_host *h)
{
	uint32_t p = put_string(300, "hello\nworld");
	char big[1500];

	lines = 0;
	CHECK_INT(wa_host_log(h, mem, WA_LOG_WARNING, p, 22), 0);
	CHECK_STR(last_line, "wasm-auth: hello?world"); /* a newline cannot forge a second line */
	CHECK_INT(last_level, WA_LOG_WARNING);
	CHECK_INT(wa_host_log(h, mem, 12345, p, 10), 0);
	CHECK_STR(last_line, "wasm-auth: hello");
	CHECK_INT(last_level, WA_LOG_INFO); /* unknown levels log as INFO */
	CHECK_INT(lines, 2);
	CHECK_INT(wa_host_log(h, mem, WA_LOG_INFO, p, 4096), -1);
	CHECK_INT(lines, 2);
	/* Longer than WA_MAX_LOG_BYTES: cut. */
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	p = put_string(1000, big);
	CHECK_INT(wa_host_log(h, mem, WA_LOG_INFO, p, (uint32_t)strlen(big) * 2), 0);
	CHECK_INT(strlen(last_line), strlen("wasm-auth: ") + WA_MAX_LOG_BYTES);
}

static void client(struct wa_host *h)
{
	struct fake_client c = { "client-1", NULL, 5 };
	int32_t r;

	h->client = NULL;
	CHECK_INT(wa_host_client_id(h, mem, 100, 16, &r), 0);
	CHECK_INT(r, -1);
	CHECK_INT(wa_host_client_protocol_version(h, &r), 0);
	CHECK_INT(r, 0);

	h->client = &c;
	memset(memory + 100, 0, 32);
	CHECK_INT(wa_host_client_id(h, mem, 100, 16, &r), 0);
	CHECK_INT(r, 8);
	CHECK(memcmp(memory + 100, "client-1", 8) == 0);
	memset(memory + 100, 0, 32);
	CHECK_INT(wa_host_client_id(h, mem, 100, 3, &r), 0); /* truncated copy, full length */
	CHECK_INT(r, 8);
	CHECK(memcmp(memory + 100, "cli\0", 4) == 0);
	CHECK_INT(wa_host_client_id(h, mem, 0, 0, &r), 0); /* length query */
	CHECK_INT(r, 8);
	CHECK_INT(wa_host_client_id(h, mem, 4090, 16, &r), -1);
	CHECK_INT(wa_host_client_address(h, mem, 100, 16, &r), 0);
	CHECK_INT(r, -1); /* address unknown */
	CHECK_INT(wa_host_client_protocol_version(h, &r), 0);
	CHECK_INT(r, 5);
	h->client = NULL;
}

static void passwords(struct wa_host *h)
{
	/* base64(sha512("pw" "salt")), salt "salt" = "c2FsdA==": computed with sha512sum and base64. */
	const char *hash =
	    "$6$c2FsdA==$oPeb5nMm4U4xiTpjSVruRPjXz2QaN/TSTSakuCiJtR8qzibNgZZ412rWVSMttxWmz05EMhOAaVT07opmzYU/tg==";
	int32_t r;
	uint32_t hp = put_bytes(100, hash, strlen(hash)), pp = put_bytes(400, "pw", 2);

	CHECK_INT(wa_host_pw_verify(h, mem, hp, (uint32_t)strlen(hash), pp, 2, &r), 0);
	CHECK_INT(r, 1);
	CHECK_INT(wa_host_pw_verify(h, mem, hp, (uint32_t)strlen(hash), pp, 1, &r), 0);
	CHECK_INT(r, 0);
	CHECK_INT(wa_host_pw_verify(h, mem, hp, (uint32_t)strlen(hash), 4095, 2, &r), -1);
	CHECK_INT(wa_host_pw_verify(h, mem, hp, 5000, pp, 2, &r), -1);
}

/* The guest's result for `key` and the one warning it logged (lines counts it), or none. */
static void option_file_refused(struct wa_host *h, const char *key, int32_t code, const char *line)
{
	int32_t r = 99;
	int before = lines, logged = line ? 1 : 0;
	uint32_t k = put_bytes(2000, key, strlen(key));

	CHECK_INT(wa_host_option_file_size(h, mem, k, (uint32_t)strlen(key), &r), 0);
	CHECK_INT(r, code);
	CHECK_INT(lines, before + logged);
	if (line) {
		CHECK_STR(last_line, line);
		CHECK_INT(last_level, WA_LOG_WARNING);
	}
	r = 99;
	CHECK_INT(wa_host_option_file_read(h, mem, k, (uint32_t)strlen(key), 1000, 64, &r), 0);
	CHECK_INT(r, code);
	CHECK_INT(lines, before + 2 * logged);
	if (line) CHECK(strstr(last_line, "wasm-auth: option_file_read: option file ") == last_line);
}

static void option_files(struct wa_host *h, const char *path)
{
	char dir[] = "/tmp/wa-optdir-XXXXXX", fifo[64], big[64], longpath[400], expect[1200];
	struct wa_kv kv[] = { { "data_file", path }, { "data", path },          { "missing_file", "/nonexistent/x" },
		              { "empty_file", "" },  { "dir_file", NULL },      { "fifo_file", fifo },
		              { "big_file", big },   { "long_file", longpath }, { "noperm_file", NULL } };
	char err[128];
	struct wa_options *opts;
	uint32_t key = put_bytes(100, "data_file", 9), other = put_bytes(120, "data", 4);
	int32_t r;
	int fd;

	if (!CHECK(mkdtemp(dir) != NULL)) return;
	kv[4].value = dir;
	snprintf(fifo, sizeof fifo, "%s/fifo", dir);
	snprintf(big, sizeof big, "%s/big", dir);
	kv[8].value = big;
	CHECK(mkfifo(fifo, 0600) == 0);
	fd = open(big, O_WRONLY | O_CREAT, 0600);
	CHECK(fd >= 0 && ftruncate(fd, (off_t)WA_MAX_OPTION_FILE_BYTES + 1) == 0); /* sparse: no disk */
	close(fd);
	/* 300 bytes: "/" and 2-byte characters, so the cut at 256 falls inside one. */
	longpath[0] = '/';
	for (int i = 1; i < 299; i += 2) memcpy(longpath + i, "\xc3\xa9", 2);
	longpath[299] = '\0';
	opts = wa_options_new(kv, sizeof kv / sizeof kv[0], err, sizeof err);

	h->opts = opts;
	h->in_init = 0;
	lines = 0;
	option_file_refused(h, "data_file", WA_OPTION_FILE_OUTSIDE_INIT,
	                    "wasm-auth: option_file_size: option file data_file: "
	                    "option files can be read only in plugin_init and security_init");
	h->in_init = 1;
	CHECK_INT(wa_host_option_file_size(h, mem, key, 9, &r), 0);
	CHECK_INT(r, 11);
	option_file_refused(h, "data", WA_OPTION_FILE_NOT_FILE_OPTION,
	                    "wasm-auth: option_file_size: option file data: not a file "
	                    "option (only options whose name ends in _file name files a policy may read)");
	option_file_refused(h, "_file", WA_OPTION_FILE_NOT_FILE_OPTION,
	                    "wasm-auth: option_file_size: option file _file: not a file "
	                    "option (only options whose name ends in _file name files a policy may read)");
	/* An option not set: the policy may have probed an optional one; no warning, no charge. */
	option_file_refused(h, "absent_file", WA_OPTION_FILE_ABSENT, NULL);
	option_file_refused(h, "empty_file", WA_OPTION_FILE_ABSENT, NULL);
	option_file_refused(h, "missing_file", WA_OPTION_FILE_NOT_FOUND,
	                    "wasm-auth: option_file_size: option file missing_file (/nonexistent/x): not found");
	snprintf(expect, sizeof expect, "wasm-auth: option_file_size: option file dir_file (%s): is a directory", dir);
	option_file_refused(h, "dir_file", WA_OPTION_FILE_NOT_REGULAR, expect);
	/* Opened without waiting for a writer, then refused. */
	snprintf(expect, sizeof expect, "wasm-auth: option_file_size: option file fifo_file (%s): not a regular file",
	         fifo);
	option_file_refused(h, "fifo_file", WA_OPTION_FILE_NOT_REGULAR, expect);
	snprintf(expect, sizeof expect,
	         "wasm-auth: option_file_size: option file big_file (%s): %u bytes, above the cap of %u "
	         "(WA_MAX_OPTION_FILE_BYTES)",
	         big, WA_MAX_OPTION_FILE_BYTES + 1, WA_MAX_OPTION_FILE_BYTES);
	option_file_refused(h, "big_file", WA_OPTION_FILE_TOO_BIG, expect);
	/* The path cut to 255 bytes (a whole character); other errors by their errno name (a name
	 * component above NAME_MAX here). */
	snprintf(expect, sizeof expect,
	         "wasm-auth: option_file_size: option file long_file (%.255s...): cannot be read "
	         "(ENAMETOOLONG)",
	         longpath);
	option_file_refused(h, "long_file", WA_OPTION_FILE_READ_ERROR, expect);
	/* The key: at most 64 bytes, non-ASCII bytes and controls as '?'. */
	{
		char k[100], want[300];
		memset(k, 'k', sizeof k);
		memcpy(k, "\xc3\xa9\n", 3);
		put_bytes(2000, k, sizeof k);
		CHECK_INT(wa_host_option_file_size(h, mem, 2000, sizeof k, &r), 0);
		CHECK_INT(r, WA_OPTION_FILE_NOT_FILE_OPTION);
		snprintf(want, sizeof want,
		         "wasm-auth: option_file_size: option file ???%.61s...: not a file option (only options "
		         "whose name ends in _file name files a policy may read)",
		         k + 3);
		CHECK_STR(last_line, want);
	}
	if (geteuid() != 0) {
		chmod(big, 0);
		snprintf(expect, sizeof expect,
		         "wasm-auth: option_file_size: option file noperm_file (%s): permission denied", big);
		option_file_refused(h, "noperm_file", WA_OPTION_FILE_PERMISSION, expect);
	} else {
		printf("test_hostfns: running as root, which reads any file: \"permission denied\" not tested\n");
	}
	CHECK_INT(wa_host_option_file_size(h, mem, 4090, 9, &r), -1);

	memset(memory + 1000, 0, 64);
	CHECK_INT(wa_host_option_file_read(h, mem, key, 9, 1000, 64, &r), 0);
	CHECK_INT(r, 11);
	CHECK(memcmp(memory + 1000, "hello file\n", 11) == 0);
	CHECK_INT(wa_host_option_file_read(h, mem, key, 9, 1000, 5, &r), 0);
	CHECK_INT(r, 5);
	CHECK_INT(wa_host_option_file_read(h, mem, key, 9, 4090, 64, &r), -1);
	CHECK_INT(wa_host_option_file_read(h, mem, other, 4, 1000, 64, &r), 0);
	CHECK_INT(r, WA_OPTION_FILE_NOT_FILE_OPTION);
	h->in_init = 0;
	CHECK_INT(wa_host_option_file_read(h, mem, key, 9, 1000, 64, &r), 0);
	CHECK_INT(r, WA_OPTION_FILE_OUTSIDE_INIT);
	h->opts = NULL;
	wa_options_free(opts);
	unlink(fifo);
	unlink(big);
	rmdir(dir);
}

static void abort_and_trace(struct wa_host *h)
{
	uint32_t msg = put_string(204, "boom"), file = put_string(304, "policy.ts");
	double a[5] = { 1.5, 2, 0, 0, 0 };

	CHECK_INT(wa_host_abort(h, mem, msg, file, 12, 7), -1);
	CHECK_STR(h->trap, "abort: boom at policy.ts:12:7");
	CHECK_INT(wa_host_abort(h, mem, 0, 5000, 1, 2), -1);
	CHECK_STR(h->trap, "abort: <invalid> at <invalid>:1:2");
	memory[200] = 0xFF; /* length way past the end */
	memory[201] = 0xFF;
	CHECK_INT(wa_host_abort(h, mem, msg, file, 0, 0), -1);
	CHECK_STR(h->trap, "abort: <invalid> at policy.ts:0:0");

	msg = put_string(204, "x");
	CHECK_INT(wa_host_trace(h, mem, msg, 2, a), 0);
	CHECK_STR(last_line, "wasm-auth: trace: x 1.5, 2");
	CHECK_INT(last_level, WA_LOG_DEBUG);
	CHECK_INT(wa_host_trace(h, mem, msg, 99, a), 0); /* n is clamped to the 5 arguments */
	CHECK_STR(last_line, "wasm-auth: trace: x 1.5, 2, 0, 0, 0");
}

/* ---- fuel ------------------------------------------------------------------------------------ */

static uint64_t per32(uint64_t bytes, uint64_t price)
{
	return (bytes * price + 31) / 32;
}

/* A $7$ hash of pw with the given iterations (OpenSSL directly, no cap). */
static void pbkdf2_hash(const char *pw, unsigned iterations, char *out, size_t cap)
{
	const unsigned char salt[12] = "0123456789ab";
	unsigned char dk[64], s64[32], d64[96];

	PKCS5_PBKDF2_HMAC(pw, (int)strlen(pw), salt, sizeof salt, (int)iterations, EVP_sha512(), 64, dk);
	EVP_EncodeBlock(s64, salt, sizeof salt);
	EVP_EncodeBlock(d64, dk, sizeof dk);
	snprintf(out, cap, "$7$%u$%s$%s", iterations, (const char *)s64, (const char *)d64);
}

/* A host with a fuel counter and a fresh (all-zero) state. */
static void fueled(struct wa_host *h, int64_t *fuel, int64_t amount)
{
	memset(h, 0, sizeof *h);
	h->client_ops = &ops;
	*fuel = amount;
	h->fuel = fuel;
}

#define START 100000000LL

/* What each call charges, exactly (wa_limits.h WA_FUEL_*). */
static void prices(const char *path)
{
	struct wa_host h;
	int64_t fuel;
	int32_t r;
	double d;
	struct fake_client c = { "client-1", "192.0.2.1", 5 };
	const struct wa_kv kv[] = { { "data_file", path } };
	char err[128], hash[256];
	struct wa_options *opts = wa_options_new(kv, 1, err, sizeof err);
	const char *h6 =
	    "$6$c2FsdA==$oPeb5nMm4U4xiTpjSVruRPjXz2QaN/TSTSakuCiJtR8qzibNgZZ412rWVSMttxWmz05EMhOAaVT07opmzYU/tg==";
	uint32_t p, hp, pp, key;
	double a[5] = { 1, 2, 3, 4, 5 };

	fueled(&h, &fuel, START);
	put_bytes(100, "a/+", 3);
	put_bytes(200, "a/b", 3);
	CHECK_INT(wa_host_topic_matches_sub(&h, mem, 100, 3, 200, 3, &r), 0);
	CHECK_INT(START - fuel, WA_FUEL_HOST_CALL + per32(6, WA_FUEL_SCAN_32));
	CHECK_INT(START - fuel, 13);
	/* A bad pointer pays the entry only. */
	fuel = START;
	CHECK_INT(wa_host_topic_matches_sub(&h, mem, 100, 3, 4095, 3, &r), -1);
	CHECK_INT(START - fuel, WA_FUEL_HOST_CALL);

	fuel = START;
	lines = 0;
	p = put_string(300, "hello\nworld");
	CHECK_INT(wa_host_log(&h, mem, WA_LOG_INFO, p, 22), 0);
	CHECK_INT(START - fuel, WA_FUEL_HOST_CALL + per32(22, WA_FUEL_TEXT_32) + WA_FUEL_LOG_LINE);
	CHECK_INT(START - fuel, 1038);
	/* Text past what one line can hold is not converted, so not paid for. */
	fuel = START;
	CHECK_INT(wa_host_log(&h, mem, WA_LOG_INFO, 8, 4000), 0);
	CHECK_INT(START - fuel, WA_FUEL_HOST_CALL + per32(2 * WA_MAX_LOG_BYTES, WA_FUEL_TEXT_32) + WA_FUEL_LOG_LINE);
	CHECK_INT(lines, 2);

	fuel = START;
	CHECK_INT(wa_host_client_id(&h, mem, 100, 16, &r), 0); /* no client */
	CHECK_INT(START - fuel, WA_FUEL_HOST_CALL);
	h.client = &c;
	fuel = START;
	CHECK_INT(wa_host_client_id(&h, mem, 100, 16, &r), 0);
	CHECK_INT(START - fuel, WA_FUEL_HOST_CALL + per32(8, WA_FUEL_COPY_32));
	fuel = START;
	CHECK_INT(wa_host_client_address(&h, mem, 100, 0, &r), 0); /* a length query measures it too */
	CHECK_INT(r, 9);
	CHECK_INT(START - fuel, WA_FUEL_HOST_CALL + per32(9, WA_FUEL_COPY_32));
	fuel = START;
	CHECK_INT(wa_host_client_protocol_version(&h, &r), 0);
	CHECK_INT(START - fuel, WA_FUEL_HOST_CALL);
	h.client = NULL;

	/* pw_verify: the entry, the hash parsed, the password hashed, every iteration. */
	hp = put_bytes(1000, h6, strlen(h6));
	pp = put_bytes(2000, "pw", 2);
	fuel = START;
	CHECK_INT(wa_host_pw_verify(&h, mem, hp, (uint32_t)strlen(h6), pp, 2, &r), 0);
	CHECK_INT(r, 1);
	CHECK_INT(START - fuel, WA_FUEL_HOST_CALL + WA_FUEL_PW_VERIFY + per32(strlen(h6), WA_FUEL_SCAN_32) +
	                            per32(2, WA_FUEL_HASH_32));
	pbkdf2_hash("pw", 101, hash, sizeof hash); /* mosquitto_passwd's default count */
	hp = put_bytes(1000, hash, strlen(hash));
	fuel = START;
	CHECK_INT(wa_host_pw_verify(&h, mem, hp, (uint32_t)strlen(hash), pp, 2, &r), 0);
	CHECK_INT(r, 1);
	CHECK_INT(START - fuel, WA_FUEL_HOST_CALL + WA_FUEL_PW_VERIFY + per32(strlen(hash), WA_FUEL_SCAN_32) +
	                            per32(2, WA_FUEL_HASH_32) + WA_FUEL_PBKDF2 + 101 * WA_FUEL_PBKDF2_ITERATION);
	CHECK(START - fuel < 70000); /* a default hash is cheap: well under 1% of the default fuel */
	fuel = START;
	CHECK_INT(wa_host_pw_verify(&h, mem, hp, 5, pp, 2, &r), 0); /* malformed: parsed, not hashed */
	CHECK_INT(r, -1);
	CHECK_INT(START - fuel, WA_FUEL_HOST_CALL + WA_FUEL_PW_VERIFY + per32(5, WA_FUEL_SCAN_32));
	{ /* $argon2id$: the set-up and every KiB block of every pass, paid before the hashing */
		const char *a2 =
		    "$argon2id$v=19$m=8,t=1,p=1$bWluaW1hbC1zYWx0$5DlURA"; /* "x", tests/fixtures/argon2id.txt */
		const char *over =
		    "$argon2id$v=19$m=24577,t=2,p=1$cHJvZHVjdGNhcC1zYWx0MTY$W0hlcrgYslLn1C96eBZB0F6X5HV44bliK8X"
		    "LFRqG3FoJwsp3cTLhoB3lcRvpnAqu4ndZv5MLPEN5nRZQNq8L4A"; /* "secret", m x t above the cap */
		hp = put_bytes(1000, a2, strlen(a2));
		pp = put_bytes(2000, "x", 1);
		fuel = START;
		CHECK_INT(wa_host_pw_verify(&h, mem, hp, (uint32_t)strlen(a2), pp, 1, &r), 0);
		CHECK_INT(r, 1);
		CHECK_INT(START - fuel, WA_FUEL_HOST_CALL + WA_FUEL_PW_VERIFY + per32(strlen(a2), WA_FUEL_SCAN_32) +
		                            per32(1, WA_FUEL_HASH_32) + WA_FUEL_ARGON2 + 8 * WA_FUEL_ARGON2_KIB);
		/* Above a cap: parsed, a warning naming the cap, nothing hashed. */
		hp = put_bytes(1000, over, strlen(over));
		pp = put_bytes(2000, "secret", 6);
		lines = 0;
		fuel = START;
		CHECK_INT(wa_host_pw_verify(&h, mem, hp, (uint32_t)strlen(over), pp, 6, &r), 0);
		CHECK_INT(r, 0);
		CHECK_INT(START - fuel, WA_FUEL_HOST_CALL + WA_FUEL_PW_VERIFY + per32(strlen(over), WA_FUEL_SCAN_32) +
		                            WA_FUEL_LOG_LINE);
		CHECK_INT(lines, 1);
		CHECK_INT(last_level, WA_LOG_WARNING);
		CHECK_STR(last_line,
		          "wasm-auth: pw_verify: an $argon2id$ hash asks for m=24577 KiB x t=2, above the cap of "
		          "49152 KiB (WA_MAX_PW_ARGON2_KIB): no match");
		over = "$argon2id$v=19$m=72,t=1,p=9$bGFuZXNjYXAtc2FsdC0xNg$2Gb2DZvtXBMK5Bfe66DFJBq3fuNPNU2DUQzhkX7R1tw";
		hp = put_bytes(1000, over, strlen(over));
		CHECK_INT(wa_host_pw_verify(&h, mem, hp, (uint32_t)strlen(over), pp, 6, &r), 0);
		CHECK_INT(r, 0);
		CHECK_STR(last_line, "wasm-auth: pw_verify: an $argon2id$ hash asks for 9 lanes, above the cap of 8 "
		                     "(WA_MAX_PW_ARGON2_LANES): no match");
	}

	/* option files: the open, then every byte read. */
	memcpy(memory + 100, "data_file", 9);
	key = 100;
	h.opts = opts;
	fuel = START;
	CHECK_INT(wa_host_option_file_size(&h, mem, key, 9, &r), 0); /* outside init: no open, a warning */
	CHECK_INT(r, WA_OPTION_FILE_OUTSIDE_INIT);
	CHECK_INT(START - fuel, WA_FUEL_HOST_CALL + WA_FUEL_LOG_LINE);
	h.in_init = 1;
	fuel = START;
	CHECK_INT(wa_host_option_file_size(&h, mem, key, 9, &r), 0);
	CHECK_INT(r, 11);
	CHECK_INT(START - fuel, WA_FUEL_HOST_CALL + WA_FUEL_OPEN_FILE);
	fuel = START;
	CHECK_INT(wa_host_option_file_read(&h, mem, key, 9, 3000, 64, &r), 0);
	CHECK_INT(r, 11);
	CHECK_INT(START - fuel, WA_FUEL_HOST_CALL + WA_FUEL_OPEN_FILE + per32(11, WA_FUEL_COPY_32));
	h.in_init = 0;
	h.opts = NULL;

	fuel = START;
	p = put_string(304, "x");
	CHECK_INT(wa_host_trace(&h, mem, p, 2, a), 0);
	CHECK_INT(START - fuel,
	          WA_FUEL_HOST_CALL + per32(2, WA_FUEL_TEXT_32) + WA_FUEL_LOG_LINE + 2 * WA_FUEL_TRACE_ARG);
	fuel = START;
	CHECK_INT(wa_host_trace(&h, mem, p, 99, a), 0); /* n is clamped: 5 numbers formatted */
	CHECK_INT(START - fuel,
	          WA_FUEL_HOST_CALL + per32(2, WA_FUEL_TEXT_32) + WA_FUEL_LOG_LINE + 5 * WA_FUEL_TRACE_ARG);
	fuel = START;
	CHECK_INT(wa_host_trace(&h, mem, 0, -3, a), 0); /* unreadable message, negative n */
	CHECK_STR(last_line, "wasm-auth: trace: <invalid>");
	CHECK_INT(START - fuel, WA_FUEL_HOST_CALL + WA_FUEL_LOG_LINE);

	fuel = START;
	CHECK_INT(wa_host_seed(&h, &d), 0);
	CHECK_INT(START - fuel, WA_FUEL_HOST_CALL + WA_FUEL_SEED);
	fuel = START;
	CHECK_INT(wa_host_date_now(&h, &d), 0);
	CHECK_INT(START - fuel, WA_FUEL_HOST_CALL + WA_FUEL_CLOCK);
	fuel = START;
	CHECK_INT(wa_host_abort(&h, mem, p, p, 1, 2), -1);
	CHECK_STR(h.trap, "abort: x at x:1:2");
	CHECK_INT(fuel, START); /* abort is free */
	wa_options_free(opts);
}

/* The counter one unit short of a call's price: the call traps with "fuel exhausted" and does
 * nothing the guest or the log could see; with exactly the price it runs and leaves 0. */
static void exhaustion(const char *path)
{
	struct wa_host h;
	int64_t fuel;
	int32_t r;
	double d = -1;
	struct fake_client c = { "client-1", NULL, 5 };
	const struct wa_kv kv[] = { { "data_file", path } };
	char err[128], hash[256];
	struct wa_options *opts = wa_options_new(kv, 1, err, sizeof err);
	uint32_t p = put_string(300, "hello"), hp, pp;
	int64_t price;

	/* log: one unit short of the line: no line. */
	price = WA_FUEL_HOST_CALL + per32(10, WA_FUEL_TEXT_32) + WA_FUEL_LOG_LINE;
	fueled(&h, &fuel, price - 1);
	lines = 0;
	CHECK_INT(wa_host_log(&h, mem, WA_LOG_INFO, p, 10), -1);
	CHECK_STR(h.trap, "fuel exhausted");
	CHECK_STR(h.fuel_fn, "log");
	CHECK_INT(lines, 0);
	CHECK_INT(fuel, -1);
	fueled(&h, &fuel, price);
	CHECK_INT(wa_host_log(&h, mem, WA_LOG_INFO, p, 10), 0);
	CHECK_INT(lines, 1);
	CHECK_INT(fuel, 0);
	/* Nothing left: even the entry is refused, before the bounds check. */
	CHECK_INT(wa_host_log(&h, mem, WA_LOG_INFO, 4095, 10), -1);
	CHECK_STR(h.trap, "fuel exhausted");
	CHECK_INT(fuel, -(int64_t)WA_FUEL_HOST_CALL);
	CHECK_INT(lines, 1);

	/* client_id: the buffer is not written. */
	fueled(&h, &fuel, WA_FUEL_HOST_CALL); /* the entry, not the copy */
	h.client = &c;
	memset(memory + 100, 0, 16);
	r = 99;
	CHECK_INT(wa_host_client_id(&h, mem, 100, 16, &r), -1);
	CHECK_STR(h.fuel_fn, "client_id");
	CHECK_INT(r, 99);
	CHECK(memory[100] == 0);
	h.client = NULL;

	/* pw_verify: enough to parse, not for the iterations: nothing computed, no result. */
	pbkdf2_hash("pw", WA_MAX_PW_ITERATIONS, hash, sizeof hash);
	hp = put_bytes(1000, hash, strlen(hash));
	pp = put_bytes(2000, "pw", 2);
	price = WA_FUEL_HOST_CALL + WA_FUEL_PW_VERIFY + per32(strlen(hash), WA_FUEL_SCAN_32) +
	        per32(2, WA_FUEL_HASH_32) + WA_FUEL_PBKDF2 + (int64_t)WA_MAX_PW_ITERATIONS * WA_FUEL_PBKDF2_ITERATION;
	CHECK(price < WA_DEFAULT_FUEL); /* a hash at the cap fits the default budget */
	fueled(&h, &fuel, price - 1);
	r = 99;
	CHECK_INT(wa_host_pw_verify(&h, mem, hp, (uint32_t)strlen(hash), pp, 2, &r), -1);
	CHECK_STR(h.trap, "fuel exhausted");
	CHECK_STR(h.fuel_fn, "pw_verify");
	CHECK_INT(r, 99);
	CHECK_INT(fuel, -1);
	fueled(&h, &fuel, price);
	CHECK_INT(wa_host_pw_verify(&h, mem, hp, (uint32_t)strlen(hash), pp, 2, &r), 0);
	CHECK_INT(r, 1);
	CHECK_INT(fuel, 0);
	{ /* the same at the argon2id cap: at price - 1, not computed */
		const char *a2 =
		    "$argon2id$v=19$m=49152,t=1,p=1$YXR0aGVjYXAtc2FsdC0xNg$kPQxOetLpGcPUT0oLXFd+HF7HLzIGJoSe2oARvM"
		    "coTzdRnpDtjsS8t19p25mMgpjrofjHJT6uiYVc7wk6w+hXQ"; /* "secret", tests/fixtures/argon2id.txt */
		hp = put_bytes(1000, a2, strlen(a2));
		pp = put_bytes(2000, "secret", 6);
		price = WA_FUEL_HOST_CALL + WA_FUEL_PW_VERIFY + per32(strlen(a2), WA_FUEL_SCAN_32) +
		        per32(6, WA_FUEL_HASH_32) + WA_FUEL_ARGON2 + (int64_t)WA_MAX_PW_ARGON2_KIB * WA_FUEL_ARGON2_KIB;
		CHECK(price < WA_DEFAULT_FUEL); /* a hash at the cap fits the default budget */
		fueled(&h, &fuel, price - 1);
		r = 99;
		CHECK_INT(wa_host_pw_verify(&h, mem, hp, (uint32_t)strlen(a2), pp, 6, &r), -1);
		CHECK_STR(h.trap, "fuel exhausted");
		CHECK_INT(r, 99);
		fueled(&h, &fuel, price);
		CHECK_INT(wa_host_pw_verify(&h, mem, hp, (uint32_t)strlen(a2), pp, 6, &r), 0);
		CHECK_INT(r, 1);
		CHECK_INT(fuel, 0);
	}

	/* option_file_read: no open without its price, no read without the bytes' price. */
	h.opts = opts;
	memcpy(memory + 100, "data_file", 9);
	fueled(&h, &fuel, WA_FUEL_HOST_CALL + WA_FUEL_OPEN_FILE - 1);
	h.opts = opts;
	h.in_init = 1;
	r = 99;
	CHECK_INT(wa_host_option_file_size(&h, mem, 100, 9, &r), -1);
	CHECK_STR(h.fuel_fn, "option_file_size");
	CHECK_INT(r, 99);
	fueled(&h, &fuel, WA_FUEL_HOST_CALL + WA_FUEL_OPEN_FILE);
	h.opts = opts;
	h.in_init = 1;
	memset(memory + 3000, 0, 16);
	CHECK_INT(wa_host_option_file_read(&h, mem, 100, 9, 3000, 64, &r), -1);
	CHECK_STR(h.fuel_fn, "option_file_read");
	CHECK(memory[3000] == 0);
	CHECK_INT(r, 99);

	/* Every call refuses a counter that is already negative (the watchdog's deadline), and
	 * leaves it as it is: INT64_MIN cannot wrap around to a huge budget. */
	for (int i = 0; i < 2; i++) {
		int64_t neg = i ? INT64_MIN : -1;
		double a[5] = { 0 };
		fueled(&h, &fuel, neg);
		h.client = &c;
		h.opts = opts;
		h.in_init = 1;
		lines = 0;
		CHECK_INT(wa_host_topic_matches_sub(&h, mem, 100, 3, 200, 3, &r), -1);
		CHECK_INT(wa_host_log(&h, mem, WA_LOG_INFO, p, 10), -1);
		CHECK_INT(wa_host_client_id(&h, mem, 100, 16, &r), -1);
		CHECK_INT(wa_host_client_address(&h, mem, 100, 16, &r), -1);
		CHECK_INT(wa_host_client_protocol_version(&h, &r), -1);
		CHECK_INT(wa_host_pw_verify(&h, mem, hp, (uint32_t)strlen(hash), pp, 2, &r), -1);
		CHECK_INT(wa_host_option_file_size(&h, mem, 100, 9, &r), -1);
		CHECK_INT(wa_host_option_file_read(&h, mem, 100, 9, 3000, 64, &r), -1);
		CHECK_INT(wa_host_trace(&h, mem, p, 1, a), -1);
		CHECK_INT(wa_host_seed(&h, &d), -1);
		CHECK_INT(wa_host_date_now(&h, &d), -1);
		CHECK_STR(h.trap, "fuel exhausted");
		CHECK_INT(fuel, neg);
		CHECK_INT(lines, 0);
		CHECK(memory[3000] == 0);
		/* abort still traps with its own message. */
		CHECK_INT(wa_host_abort(&h, mem, p, p, 3, 4), -1);
		CHECK_STR(h.trap, "abort: hello at hello:3:4");
	}
	wa_options_free(opts);
}

/* ---- option_file_read_at ------------------------------------------------------------------- */

static void write_bytes(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && write(fd, data, len) == (ssize_t)len);
	if (fd >= 0) close(fd);
}

/* option_file_read_at of `key` (ASCII, put at 2000) into memory[1000..]: the guest's result. */
static int32_t read_at(struct wa_host *h, const char *key, int64_t offset, uint32_t cap)
{
	int32_t r = 99;
	uint32_t k = put_bytes(2000, key, strlen(key));

	if (!CHECK_INT(wa_host_option_file_read_at(h, mem, k, (uint32_t)strlen(key), offset, 1000, cap, &r), 0)) {
		fprintf(stderr, "  trap: %s\n", h->trap);
	}
	return r;
}

/* The whole file of `key` read in chunks of `chunk` bytes, compared with `want`. */
static void read_whole(struct wa_host *h, const char *key, uint32_t chunk, const char *want, size_t len)
{
	char got[4096];
	size_t off = 0;
	int32_t r;

	while ((r = read_at(h, key, (int64_t)off, chunk)) > 0) {
		if (!CHECK(r <= (int32_t)chunk && off + (size_t)r <= sizeof got)) return;
		/* Only the last chunk may be short. */
		if (off + (size_t)r < len) CHECK_INT(r, chunk);
		memcpy(got + off, memory + 1000, (size_t)r);
		off += (size_t)r;
	}
	CHECK_INT(r, 0);
	CHECK_INT(off, len);
	CHECK(memcmp(got, want, len) == 0);
}

static void option_file_streams(void)
{
	char dir[] = "/tmp/wa-stream-XXXXXX", data[64], big[64], huge[64], next[64], many[5][64], text[2500],
	     expect[600];
	struct wa_kv kv[] = {
		{ "data_file", data },  { "data", data },       { "missing_file", "/nonexistent/x" },
		{ "empty_file", "" },   { "dir_file", dir },    { "big_file", big },
		{ "huge_file", huge },  { "m0_file", many[0] }, { "m1_file", many[1] },
		{ "m2_file", many[2] }, { "m3_file", many[3] }, { "m4_file", many[4] },
	};
	struct wa_host h;
	struct wa_options *opts;
	int64_t fuel;
	int32_t r;
	int fds, fd;
	char err[128];
	const uint32_t chunks[] = { 1, 2, 3, 7, 64, 1000, 2499, 2500, 3000 };

	if (!CHECK(mkdtemp(dir) != NULL)) return;
	snprintf(data, sizeof data, "%s/data", dir);
	snprintf(big, sizeof big, "%s/big", dir);
	snprintf(huge, sizeof huge, "%s/huge", dir);
	snprintf(next, sizeof next, "%s/next", dir);
	for (size_t i = 0; i < sizeof text; i++) text[i] = i % 37 == 36 ? '\n' : (char)('a' + i % 26);
	write_bytes(data, text, sizeof text);
	for (int i = 0; i < 5; i++) {
		snprintf(many[i], sizeof many[i], "%s/m%d", dir, i);
		write_bytes(many[i], "0123456789", 10);
	}
	/* Sparse: no disk. Above option_file_read's cap, within the stream cap; and above that. */
	fd = open(big, O_WRONLY | O_CREAT, 0600);
	CHECK(fd >= 0 && ftruncate(fd, (off_t)WA_MAX_OPTION_FILE_BYTES + 1) == 0);
	close(fd);
	fd = open(huge, O_WRONLY | O_CREAT, 0600);
	CHECK(fd >= 0 && ftruncate(fd, (off_t)WA_MAX_OPTION_FILE_STREAM_BYTES + 1) == 0);
	close(fd);
	opts = wa_options_new(kv, sizeof kv / sizeof kv[0], err, sizeof err);
	if (!CHECK(opts != NULL)) return;

	fueled(&h, &fuel, START);
	h.opts = opts;
	h.in_init = 1;
	fds = open_fds();

	/* Chunks of any size put the file back together exactly; past the end: 0. */
	for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++)
		read_whole(&h, "data_file", chunks[i], text, sizeof text);
	CHECK_INT(read_at(&h, "data_file", 2500, 64), 0);
	CHECK_INT(read_at(&h, "data_file", 2499, 64), 1);
	CHECK_INT(memory[1000], text[2499]);
	CHECK_INT(read_at(&h, "data_file", INT64_MAX, 64), 0);
	CHECK_INT(read_at(&h, "data_file", 0, 0), 0); /* an empty buffer */
	/* Above option_file_read's cap: fine here. */
	CHECK_INT(read_at(&h, "big_file", WA_MAX_OPTION_FILE_BYTES, 64), 1);
	CHECK_INT(fds + 2, open_fds()); /* data and big stay open for the rest of the init call */
	wa_host_option_files_close(&h);
	CHECK_INT(open_fds(), fds);

	/* Bad arguments trap, like bad pointers, having opened nothing. */
	put_bytes(2000, "data_file", 9);
	r = 99;
	CHECK_INT(wa_host_option_file_read_at(&h, mem, 2000, 9, -1, 1000, 64, &r), -1);
	CHECK_STR(h.trap, "option_file_read_at: negative offset");
	CHECK_INT(wa_host_option_file_read_at(&h, mem, 2000, 9, INT64_MIN, 1000, 64, &r), -1);
	CHECK_STR(h.trap, "option_file_read_at: negative offset");
	CHECK_INT(wa_host_option_file_read_at(&h, mem, 2000, 9, 0, 4090, 64, &r), -1);
	CHECK_STR(h.trap, "option_file_read_at: buffer out of bounds");
	CHECK_INT(wa_host_option_file_read_at(&h, mem, 2000, 9, 0, 0, 64, &r), -1);
	CHECK_STR(h.trap, "option_file_read_at: buffer out of bounds");
	CHECK_INT(wa_host_option_file_read_at(&h, mem, 4090, 9, 0, 1000, 64, &r), -1);
	CHECK_STR(h.trap, "option_file_read_at: pointer out of bounds");
	CHECK_INT(r, 99);
	CHECK_INT(open_fds(), fds);

	/* The refusals of option_file_read, each with one warning (none for an option not set). */
	lines = 0;
	h.in_init = 0;
	CHECK_INT(read_at(&h, "data_file", 0, 64), WA_OPTION_FILE_OUTSIDE_INIT);
	CHECK_STR(last_line, "wasm-auth: option_file_read_at: option file data_file: option files can be read only in "
	                     "plugin_init and security_init");
	h.in_init = 1;
	CHECK_INT(read_at(&h, "data", 0, 64), WA_OPTION_FILE_NOT_FILE_OPTION);
	CHECK_STR(last_line, "wasm-auth: option_file_read_at: option file data: not a file option (only options whose "
	                     "name ends in _file name files a policy may read)");
	CHECK_INT(lines, 2);
	CHECK_INT(read_at(&h, "absent_file", 0, 64), WA_OPTION_FILE_ABSENT);
	CHECK_INT(read_at(&h, "empty_file", 0, 64), WA_OPTION_FILE_ABSENT);
	CHECK_INT(lines, 2);
	CHECK_INT(read_at(&h, "missing_file", 0, 64), WA_OPTION_FILE_NOT_FOUND);
	CHECK_STR(last_line, "wasm-auth: option_file_read_at: option file missing_file (/nonexistent/x): not found");
	CHECK_INT(read_at(&h, "dir_file", 0, 64), WA_OPTION_FILE_NOT_REGULAR);
	snprintf(expect, sizeof expect, "wasm-auth: option_file_read_at: option file dir_file (%s): is a directory",
	         dir);
	CHECK_STR(last_line, expect);
	CHECK_INT(read_at(&h, "huge_file", 0, 64), WA_OPTION_FILE_TOO_BIG);
	snprintf(expect, sizeof expect,
	         "wasm-auth: option_file_read_at: option file huge_file (%s): %u bytes, above the cap of %u "
	         "(WA_MAX_OPTION_FILE_STREAM_BYTES)",
	         huge, WA_MAX_OPTION_FILE_STREAM_BYTES + 1, WA_MAX_OPTION_FILE_STREAM_BYTES);
	CHECK_STR(last_line, expect);
	CHECK_INT(lines, 5);
	CHECK_INT(open_fds(), fds); /* a refused file is not kept */

	/* Prices: the open once per file and init call, then the bytes; a refusal its warning. */
	fuel = START;
	CHECK_INT(read_at(&h, "data_file", 0, 100), 100);
	CHECK_INT(START - fuel, WA_FUEL_HOST_CALL + WA_FUEL_OPEN_FILE + per32(100, WA_FUEL_COPY_32));
	fuel = START;
	CHECK_INT(read_at(&h, "data_file", 2450, 100), 50);
	CHECK_INT(START - fuel, WA_FUEL_HOST_CALL + per32(50, WA_FUEL_COPY_32));
	fuel = START;
	CHECK_INT(read_at(&h, "data_file", 1u << 30, 100), 0);
	CHECK_INT(START - fuel, WA_FUEL_HOST_CALL);
	fuel = START;
	CHECK_INT(read_at(&h, "missing_file", 0, 100), WA_OPTION_FILE_NOT_FOUND);
	CHECK_INT(START - fuel, WA_FUEL_HOST_CALL + WA_FUEL_OPEN_FILE + WA_FUEL_LOG_LINE);
	fuel = START;
	CHECK_INT(read_at(&h, "absent_file", 0, 100), WA_OPTION_FILE_ABSENT);
	CHECK_INT(START - fuel, WA_FUEL_HOST_CALL);
	fuel = START;
	CHECK_INT(wa_host_option_file_read_at(&h, mem, 2000, 9, -1, 1000, 64, &r), -1);
	CHECK_INT(START - fuel, WA_FUEL_HOST_CALL);
	wa_host_option_files_close(&h);
	/* Fuel short of the open: nothing opened; of the bytes: the buffer untouched. */
	memset(memory + 1000, 0, 64);
	fuel = WA_FUEL_HOST_CALL + WA_FUEL_OPEN_FILE - 1;
	CHECK_INT(wa_host_option_file_read_at(&h, mem, put_bytes(2000, "data_file", 9), 9, 0, 1000, 64, &r), -1);
	CHECK_STR(h.trap, "fuel exhausted");
	CHECK_STR(h.fuel_fn, "option_file_read_at");
	CHECK_INT(open_fds(), fds);
	fuel = WA_FUEL_HOST_CALL + WA_FUEL_OPEN_FILE + per32(64, WA_FUEL_COPY_32) - 1;
	CHECK_INT(wa_host_option_file_read_at(&h, mem, 2000, 9, 0, 1000, 64, &r), -1);
	CHECK_STR(h.trap, "fuel exhausted");
	CHECK(memory[1000] == 0);
	fuel = WA_FUEL_HOST_CALL + per32(64, WA_FUEL_COPY_32); /* opened by the call before */
	CHECK_INT(wa_host_option_file_read_at(&h, mem, 2000, 9, 0, 1000, 64, &r), 0);
	CHECK_INT(r, 64);
	CHECK_INT(fuel, 0);
	fuel = START;
	wa_host_option_files_close(&h);
	CHECK_INT(open_fds(), fds);

	/* A file renamed over the path between chunks: the rest still comes from the file opened
	 * first, until the init call ends. */
	CHECK_INT(read_at(&h, "data_file", 0, 1000), 1000);
	write_bytes(next, "replaced\n", 9);
	CHECK(rename(next, data) == 0);
	CHECK_INT(read_at(&h, "data_file", 1000, 1000), 1000);
	CHECK(memcmp(memory + 1000, text + 1000, 1000) == 0);
	CHECK_INT(read_at(&h, "data_file", 2000, 1000), 500);
	CHECK(memcmp(memory + 1000, text + 2000, 500) == 0);
	wa_host_option_files_close(&h);
	CHECK_INT(read_at(&h, "data_file", 0, 1000), 9);
	CHECK(memcmp(memory + 1000, "replaced\n", 9) == 0);
	/* Shrunk in place since it was opened: what there is, then 0; no trap, no warning. */
	lines = 0;
	fd = open(data, O_WRONLY | O_TRUNC);
	CHECK(fd >= 0 && write(fd, "rep", 3) == 3);
	close(fd);
	fuel = START;
	CHECK_INT(read_at(&h, "data_file", 0, 1000), 3);
	CHECK_INT(START - fuel, WA_FUEL_HOST_CALL + per32(9, WA_FUEL_COPY_32)); /* priced by the size at open */
	CHECK_INT(read_at(&h, "data_file", 5, 1000), 0);
	CHECK_INT(lines, 0);
	wa_host_option_files_close(&h);

	/* WA_OPTION_FILE_STREAMS files at once; a new one closes the one opened first, which opens
	 * (and pays) again when read again. */
	for (int i = 0; i < 5; i++) {
		char key[] = "m0_file";
		key[1] = (char)('0' + i);
		CHECK_INT(read_at(&h, key, (int64_t)i, 1), 1);
		CHECK_INT(memory[1000], '0' + i);
		CHECK_INT(open_fds(), fds + (i < (int)WA_OPTION_FILE_STREAMS ? i + 1 : (int)WA_OPTION_FILE_STREAMS));
	}
	fuel = START;
	CHECK_INT(read_at(&h, "m4_file", 0, 1), 1);
	CHECK_INT(START - fuel, WA_FUEL_HOST_CALL + per32(1, WA_FUEL_COPY_32)); /* still open */
	fuel = START;
	CHECK_INT(read_at(&h, "m0_file", 0, 1), 1);
	CHECK_INT(START - fuel, WA_FUEL_HOST_CALL + WA_FUEL_OPEN_FILE + per32(1, WA_FUEL_COPY_32));
	fuel = START;
	CHECK_INT(read_at(&h, "m2_file", 0, 1), 1); /* m1 went for m0: m2 is still open */
	CHECK_INT(START - fuel, WA_FUEL_HOST_CALL + per32(1, WA_FUEL_COPY_32));
	CHECK_INT(open_fds(), fds + (int)WA_OPTION_FILE_STREAMS);
	wa_host_option_files_close(&h);
	CHECK_INT(open_fds(), fds);
	wa_host_option_files_close(&h); /* twice: nothing left to close */
	CHECK_INT(open_fds(), fds);

	wa_options_free(opts);
	unlink(data);
	unlink(big);
	unlink(huge);
	for (int i = 0; i < 5; i++) unlink(many[i]);
	rmdir(dir);
}

/* ---- guest log rate limit ---------------------------------------------------------------------- */

static void limit_buckets(void)
{
	struct wa_log_limit l;

	/* Lines: the burst at once, then WA_LOG_LINES_PER_S per second. */
	memset(&l, 0, sizeof l);
	for (unsigned i = 0; i < WA_LOG_BURST_LINES; i++) {
		if (!CHECK(wa_log_limit_take(&l, 1000, 10))) break;
	}
	CHECK_INT(wa_log_limit_take(&l, 1000, 10), 0);
	CHECK_INT(wa_log_limit_take(&l, 1049, 10), 0); /* 49 ms: not a whole line yet */
	CHECK_INT(l.dropped_lines, 2);
	CHECK_INT(l.dropped_bytes, 20);
	CHECK_INT(wa_log_limit_take(&l, 1050, 10), 1); /* 1000 / 20 ms: one line */
	CHECK_INT(wa_log_limit_take(&l, 1050, 10), 0);
	CHECK_INT(wa_log_limit_take(&l, 1000, 10), 0); /* time going back refills nothing */
	l.noticed = 1;
	CHECK_INT(wa_log_limit_take(&l, 1060, 10), 0);
	CHECK_INT(l.noticed, 1);                       /* still flooded: no second notice */
	CHECK_INT(wa_log_limit_take(&l, 6050, 10), 1); /* 5 s: the whole burst is back */
	CHECK_INT(l.noticed, 0);                       /* a new flood gets a new notice */
	for (unsigned i = 1; i < WA_LOG_BURST_LINES; i++) {
		if (!CHECK(wa_log_limit_take(&l, 6050, 10))) break;
	}
	CHECK_INT(wa_log_limit_take(&l, 6050, 10), 0);

	/* Bytes: 8 full lines fill the 32 KiB burst; WA_LOG_BYTES_PER_S refill. */
	memset(&l, 0, sizeof l);
	for (unsigned i = 0; i < WA_LOG_BURST_BYTES / 4096; i++) CHECK_INT(wa_log_limit_take(&l, 5, 4096), 1);
	CHECK_INT(wa_log_limit_take(&l, 5, 1), 0);
	CHECK_INT(wa_log_limit_take(&l, 5 + 499, 4096), 0); /* 499 ms: 4087 bytes */
	CHECK_INT(wa_log_limit_take(&l, 5 + 500, 4096), 1);
	CHECK_INT(l.dropped_lines, 2);
	CHECK_INT(l.dropped_bytes, 4097);
	CHECK_INT(wa_log_limit_take(&l, 100000, WA_LOG_BURST_BYTES + 1), 0); /* never fits */
	CHECK_INT(wa_log_limit_take(&l, 100000, WA_LOG_BURST_BYTES), 1);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Every line, in order. */
static char seen[4][256];
static int seen_level[4], seen_n;

static void capture_all(int level, const char *line)
{
	if (seen_n < 4) {
		snprintf(seen[seen_n], sizeof seen[0], "%s", line);
		seen_level[seen_n] = level;
	}
	seen_n++;
}

/* Lines by kind. */
static int spam_n, notice_n, count_n, other_n, notice_level;
static char notice[256];

static void count_kinds(int level, const char *line)
{
	if (strcmp(line, "wasm-auth: spam") == 0) {
		spam_n++;
	} else if (strstr(line, "rate limit reached")) {
		notice_n++;
		notice_level = level;
		snprintf(notice, sizeof notice, "%s", line);
	} else if (strstr(line, "guest log lines (")) {
		count_n++;
	} else {
		other_n++;
	}
}

/* Through the host functions, on the real clock: log, trace and pw_verify's warning share the
 * limit; dropped lines are counted and announced before the next line let through. */
static void limit_lines(void)
{
	struct wa_host h;
	int64_t fuel;
	uint32_t p = put_string(300, "spam"), hp, pp;
	double a[5] = { 0 };
	char hash[256], want[160], line[256];
	uint64_t dropped, bytes;
	int32_t r;

	fueled(&h, &fuel, START);
	spam_n = notice_n = count_n = other_n = 0;
	wa_log_set_sink(count_kinds);
	for (unsigned i = 0; i < WA_LOG_BURST_LINES + 50; i++) CHECK_INT(wa_host_log(&h, mem, WA_LOG_INFO, p, 8), 0);
	wa_log_set_sink(capture);
	/* Each call pays for its line, written or not. */
	CHECK_INT(START - fuel,
	          (WA_LOG_BURST_LINES + 50) * (WA_FUEL_HOST_CALL + per32(8, WA_FUEL_TEXT_32) + WA_FUEL_LOG_LINE));
	/* The burst went out, then one notice; the rest (all but a line or two the clock refilled
	 * meanwhile, each after its count) not. */
	CHECK(spam_n >= (int)WA_LOG_BURST_LINES && spam_n <= (int)WA_LOG_BURST_LINES + 5);
	CHECK_INT(notice_n, 1);
	CHECK_INT(count_n, spam_n - (int)WA_LOG_BURST_LINES);
	CHECK_INT(other_n, 0);
	CHECK_STR(notice,
	          "wasm-auth: guest log rate limit reached (20 lines and 8192 bytes per second, bursts of 100 lines "
	          "and 32768 bytes): further guest log lines are suppressed and counted");
	CHECK_INT(notice_level, WA_LOG_WARNING);
	CHECK_INT(h.log_limit.noticed, 1);
	CHECK(h.log_limit.dropped_lines > 0);
	CHECK(h.log_limit.dropped_lines <= WA_LOG_BURST_LINES + 50 - (unsigned)spam_n);
	CHECK_INT(h.log_limit.dropped_bytes, 4 * h.log_limit.dropped_lines);
	lines = 0;
	/* trace and the iteration cap's warning are dropped the same way while it lasts. */
	dropped = h.log_limit.dropped_lines;
	bytes = h.log_limit.dropped_bytes;
	lines = 0;
	CHECK_INT(wa_host_trace(&h, mem, p, 1, a), 0);
	pbkdf2_hash("pw", WA_MAX_PW_ITERATIONS + 1, hash, sizeof hash);
	hp = put_bytes(1000, hash, strlen(hash));
	pp = put_bytes(2000, "pw", 2);
	CHECK_INT(wa_host_pw_verify(&h, mem, hp, (uint32_t)strlen(hash), pp, 2, &r), 0);
	CHECK_INT(r, 0); /* the right password, above the cap: no match, even while not logged */
	snprintf(want, sizeof want,
	         "pw_verify: a $7$ hash asks for %u PBKDF2 iterations, above the cap of %u "
	         "(WA_MAX_PW_ITERATIONS): no match",
	         WA_MAX_PW_ITERATIONS + 1, WA_MAX_PW_ITERATIONS);
	if (lines == 0) { /* (unless the clock let one through) */
		CHECK_INT(h.log_limit.dropped_lines, dropped + 2);
		CHECK_INT(h.log_limit.dropped_bytes, bytes + strlen("trace: spam 0") + strlen(want));
	}
	/* Ten more at once: at most one gets through whatever the clock did meanwhile. After a
	 * pause: the count of those dropped first, as a warning, then the line. */
	for (int i = 0; i < 10; i++) CHECK_INT(wa_host_log(&h, mem, WA_LOG_INFO, p, 8), 0);
	sleep_ms(120);
	dropped = h.log_limit.dropped_lines;
	bytes = h.log_limit.dropped_bytes;
	CHECK(dropped >= 9);
	seen_n = 0;
	wa_log_set_sink(capture_all);
	CHECK_INT(wa_host_pw_verify(&h, mem, hp, (uint32_t)strlen(hash), pp, 2, &r), 0);
	wa_log_set_sink(capture);
	CHECK_INT(r, 0);
	CHECK_INT(seen_n, 2);
	snprintf(line, sizeof line, "wasm-auth: %llu guest log lines (%llu bytes) suppressed",
	         (unsigned long long)dropped, (unsigned long long)bytes);
	CHECK_STR(seen[0], line);
	snprintf(line, sizeof line, "wasm-auth: %s", want);
	CHECK_STR(seen[1], line);
	CHECK_INT(seen_level[0], WA_LOG_WARNING);
	CHECK_INT(seen_level[1], WA_LOG_WARNING);
	CHECK_INT(h.log_limit.dropped_lines, 0);
	CHECK_INT(h.log_limit.dropped_bytes, 0);
}

static void limit_summary(void)
{
	struct wa_host h;
	uint32_t p = put_string(300, "spam"), q = put_string(400, "back");

	memset(&h, 0, sizeof h); /* no fuel counter: the limit applies all the same */
	wa_log_set_sink(capture_all);
	for (unsigned i = 0; i < WA_LOG_BURST_LINES; i++) wa_host_log(&h, mem, WA_LOG_INFO, p, 8);
	/* Pretend the burst was spent long ago and lines were dropped since: exact numbers. */
	h.log_limit.dropped_lines = 7;
	h.log_limit.dropped_bytes = 28;
	h.log_limit.last_ms -= 10000;
	seen_n = 0;
	CHECK_INT(wa_host_log(&h, mem, WA_LOG_NOTICE, q, 8), 0);
	CHECK_INT(seen_n, 2);
	CHECK_STR(seen[0], "wasm-auth: 7 guest log lines (28 bytes) suppressed");
	CHECK_STR(seen[1], "wasm-auth: back");
	seen_n = 0;
	CHECK_INT(wa_host_log(&h, mem, WA_LOG_NOTICE, q, 8), 0);
	CHECK_INT(seen_n, 1); /* announced once */
	CHECK_STR(seen[0], "wasm-auth: back");
	wa_log_set_sink(capture);
}

/* Guest text reaches the log neutralised: C1 and bidi controls become '?', other text stays. */
static void log_sanitised(void)
{
	struct wa_host h;
	const uint16_t units[] = { 0x00E9, 0x009B, '2', 'J', 0x202E, 'x', 0x2066, 0x0085, 0x20AC };
	uint32_t p = 500;
	double a[5] = { 0 };

	memset(&h, 0, sizeof h);
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		memory[p + 2 * i] = (uint8_t)units[i];
		memory[p + 2 * i + 1] = (uint8_t)(units[i] >> 8);
	}
	{
		uint32_t len = (uint32_t)sizeof units;
		memcpy(memory + p - 4, &len, 4);
	}
	CHECK_INT(wa_host_log(&h, mem, WA_LOG_INFO, p, (uint32_t)sizeof units), 0);
	CHECK_STR(last_line, "wasm-auth: \xC3\xA9?2J?x??\xE2\x82\xAC");
	CHECK_INT(wa_host_trace(&h, mem, p, 0, a), 0);
	CHECK_STR(last_line, "wasm-auth: trace: \xC3\xA9?2J?x??\xE2\x82\xAC");
	CHECK_INT(wa_host_abort(&h, mem, p, p, 1, 1), -1);
	CHECK_STR(h.trap, "abort: \xC3\xA9?2J?x??\xE2\x82\xAC at \xC3\xA9?2J?x??\xE2\x82\xAC:1:1");
}

static void env(struct wa_host *h)
{
	double a = 0, b = 0, now = 0;

	CHECK_INT(wa_host_seed(h, &a), 0);
	CHECK_INT(wa_host_seed(h, &b), 0);
	CHECK(a != b); /* 53 random bits twice: equal only with probability 2^-53 */
	CHECK(isfinite(a) && a >= 0 && a < 9007199254740992.0);
	CHECK_INT(wa_host_date_now(h, &now), 0);
	CHECK(now > 1.6e12 && floor(now) == now); /* whole milliseconds, after 2020 */
}

static int ran;
static char ran_target[64];

static void count_action(const struct wa_action *a, void *ud)
{
	(void)ud;
	ran++;
	snprintf(ran_target, sizeof ran_target, "%d:%s", (int)a->kind, a->target);
}

/* kick_client, kick_user, publish (docs/ABI.md, "Deferred actions"): what is queued, refusals
 * with their codes and warnings (one per reason per interval), prices, the rate limits, the
 * queue's bounds, truncation and taking. */
static void actions(void)
{
	static struct wa_host h; /* the queue is large for a stack frame */
	int64_t fuel;
	int32_t r = 99;
	const struct wa_action *a;

	fueled(&h, &fuel, START);
	h.max_payload = 8;
	put_bytes(100, "victim", 6);
	CHECK_INT(wa_host_kick_client(&h, mem, 100, 6, &r), 0);
	CHECK_INT(r, WA_ACTION_QUEUED);
	CHECK_INT(START - fuel,
	          WA_FUEL_HOST_CALL + WA_FUEL_ACTION + per32(6, WA_FUEL_SCAN_32) + per32(7, WA_FUEL_COPY_32));
	CHECK_INT(wa_host_kick_user(&h, mem, 100, 3, &r), 0);
	CHECK_INT(r, WA_ACTION_QUEUED);
	CHECK_INT(wa_host_actions_count(&h), 2);
	a = &h.actions.items[0];
	CHECK(a->kind == WA_ACTION_KICK_CLIENT && strcmp(a->target, "victim") == 0);
	a = &h.actions.items[1];
	CHECK(a->kind == WA_ACTION_KICK_USER && strcmp(a->target, "vic") == 0);
	/* Empty, NUL inside: refused (mosquitto would take NULL or "" for every client). */
	lines = 0;
	CHECK_INT(wa_host_kick_client(&h, mem, 100, 0, &r), 0);
	CHECK_INT(r, WA_ACTION_INVALID);
	CHECK_STR(last_line, "wasm-auth: kick_client: refused: empty name");
	put_bytes(200, "a\0b", 3);
	CHECK_INT(wa_host_kick_user(&h, mem, 200, 3, &r), 0);
	CHECK_INT(r, WA_ACTION_INVALID);
	CHECK_INT(lines, 2); /* another function: its own line */
	CHECK_STR(last_line, "wasm-auth: kick_user: refused: a name longer than 65535 bytes or holding a NUL byte");
	CHECK_INT(wa_host_kick_user(&h, mem, 200, 3, &r), 0);
	CHECK_INT(lines, 2); /* the same function and reason within the interval: not logged again */
	CHECK_INT(h.actions.unwarned[WA_ACTION_KICK_USER][-WA_ACTION_INVALID], 1);
	/* Out of bounds: a trap, nothing queued. */
	CHECK_INT(wa_host_kick_client(&h, mem, 4090, 10, &r), -1);
	CHECK_STR(h.trap, "kick_client: pointer out of bounds");
	CHECK_INT(wa_host_actions_count(&h), 2);

	/* publish without a prefix, then with one. */
	put_bytes(300, "ev/x", 4);
	put_bytes(400, "payload!", 8);
	lines = 0;
	CHECK_INT(wa_host_publish(&h, mem, 300, 4, 400, 8, 0, 0, &r), 0);
	CHECK_INT(r, WA_ACTION_NO_PREFIX);
	CHECK_STR(last_line,
	          "wasm-auth: publish: ev/x refused: plugin_opt_wasm_publish_prefix is not set (a policy may "
	          "publish only under the topic prefix it names)");
	CHECK_INT(last_level, WA_LOG_WARNING);
	h.publish_prefix = "ev";
	h.publish_prefix_len = 2;
	CHECK_INT(wa_host_publish(&h, mem, 300, 4, 400, 8, 1, 1, &r), 0);
	CHECK_INT(r, WA_ACTION_QUEUED);
	a = &h.actions.items[2];
	CHECK(a->kind == WA_ACTION_PUBLISH && strcmp(a->target, "ev/x") == 0 && a->payloadlen == 8 && a->qos == 1 &&
	      a->retain == 1 && memcmp(a->payload, "payload!", 8) == 0);
	CHECK_INT(wa_host_publish(&h, mem, 300, 2, 400, 0, 0, 0, &r), 0); /* the prefix itself */
	CHECK_INT(r, WA_ACTION_QUEUED);
	CHECK_INT(wa_host_publish(&h, mem, 300, 4, 400, 9, 0, 0, &r), 0);
	CHECK_INT(r, WA_ACTION_TOO_LARGE);
	CHECK_STR(last_line, "wasm-auth: publish: ev/x refused: payload of 9 bytes above wasm_max_payload (8)");
	CHECK_INT(wa_host_publish(&h, mem, 300, 4, 400, 1, 3, 0, &r), 0);
	CHECK_INT(r, WA_ACTION_INVALID);
	put_bytes(500, "evx", 3);
	CHECK_INT(wa_host_publish(&h, mem, 500, 3, 400, 1, 0, 0, &r), 0);
	CHECK_INT(r, WA_ACTION_OUTSIDE_PREFIX);
	CHECK_STR(last_line, "wasm-auth: publish: evx refused: outside wasm_publish_prefix ev");
	put_bytes(500, "ev/#", 4);
	CHECK_INT(wa_host_publish(&h, mem, 500, 4, 400, 1, 0, 0, &r), 0);
	CHECK_INT(r, WA_ACTION_INVALID);
	put_bytes(500, "ev/\xff", 4);
	CHECK_INT(wa_host_publish(&h, mem, 500, 4, 400, 1, 0, 0, &r), 0);
	CHECK_INT(r, WA_ACTION_INVALID); /* not UTF-8 */
	CHECK_INT(wa_host_actions_count(&h), 4);

	/* A failed hook's actions go: truncate to a mark; taking runs the rest in order. */
	wa_host_actions_truncate(&h, 3);
	CHECK_INT(wa_host_actions_count(&h), 3);
	ran = 0;
	wa_host_actions_take(&h, count_action, NULL);
	CHECK_INT(ran, 3);
	CHECK_STR(ran_target, "2:ev/x");
	CHECK_INT(wa_host_actions_count(&h), 0);
	CHECK_INT(h.actions.bytes, 0);

	/* A kick storm: the burst, then refusals (one warning), and the broker-side queue stays bounded. */
	{
		int queued = 0;
		lines = 0;
		h.actions.kicks.debt = 0; /* the two kicks above took from the burst */
		for (int i = 0; i < 1000; i++) {
			CHECK_INT(wa_host_kick_client(&h, mem, 100, 6, &r), 0);
			queued += r == WA_ACTION_QUEUED;
		}
		CHECK(queued >= (int)WA_KICKS_BURST && queued <= (int)WA_KICKS_BURST + 2);
		CHECK_INT(lines, 1);
		CHECK(strstr(last_line, "kick_client: victim refused: more than 10 kicks per second (bursts of 20)") !=
		      NULL);
		wa_host_actions_take(&h, NULL, NULL);
	}
	/* The queue bound: with the rate out of the way (a fresh bucket each time), entries run out. */
	{
		unsigned full = 0;
		for (unsigned i = 0; i < WA_ACTION_QUEUE_ENTRIES + 10; i++) {
			h.actions.publishes.debt = 0;
			CHECK_INT(wa_host_publish(&h, mem, 300, 4, 400, 1, 0, 0, &r), 0);
			full += r == WA_ACTION_QUEUE_FULL;
		}
		CHECK_INT(wa_host_actions_count(&h), WA_ACTION_QUEUE_ENTRIES);
		CHECK_INT(full, 10);
		wa_host_actions_take(&h, NULL, NULL);
	}
	/* No fuel: a trap, nothing queued. */
	fuel = WA_FUEL_HOST_CALL;
	CHECK_INT(wa_host_publish(&h, mem, 300, 4, 400, 1, 0, 0, &r), -1);
	CHECK_STR(h.trap, "fuel exhausted");
	CHECK_INT(wa_host_actions_count(&h), 0);
}

/* The rate refills with time: WA_KICKS_PER_S per second up to the burst. */
static void action_rate(void)
{
	struct wa_rate_limit rl = { 0, 0 };
	int n = 0;

	while (wa_action_rate_take(&rl, 1000, WA_KICKS_PER_S, WA_KICKS_BURST)) n++;
	CHECK_INT(n, WA_KICKS_BURST);
	CHECK_INT(wa_action_rate_take(&rl, 1000 + 1000 / WA_KICKS_PER_S - 1, WA_KICKS_PER_S, WA_KICKS_BURST), 0);
	CHECK_INT(wa_action_rate_take(&rl, 1000 + 1000 / WA_KICKS_PER_S, WA_KICKS_PER_S, WA_KICKS_BURST), 1);
}

/* message_set_topic, message_set_payload, message_set_retain (docs/ABI.md, "Message hook"): only
 * while on_message runs; bad values trap and stage nothing; prices; clearing frees. */
static void message_rewrites(void)
{
	static struct wa_host h;
	int64_t fuel;

	fueled(&h, &fuel, START);
	h.max_payload = 8;
	put_bytes(100, "out/a", 5);
	CHECK_INT(wa_host_message_set_topic(&h, mem, 100, 5), -1);
	CHECK_STR(h.trap, "message_set_topic: called outside on_message");
	CHECK_INT(wa_host_message_set_retain(&h, 1), -1);
	CHECK_STR(h.trap, "message_set_retain: called outside on_message");
	wa_host_message_clear(&h, 1);
	fuel = START;
	CHECK_INT(wa_host_message_set_topic(&h, mem, 100, 5), 0);
	CHECK_INT(START - fuel, WA_FUEL_HOST_CALL + per32(5, WA_FUEL_SCAN_32));
	CHECK(h.rewrite.topic && strcmp(h.rewrite.topic, "out/a") == 0 && h.rewrite.topiclen == 5);
	fuel = START;
	CHECK_INT(wa_host_message_set_payload(&h, mem, 100, 8), 0);
	CHECK_INT(START - fuel, WA_FUEL_HOST_CALL + per32(8, WA_FUEL_REWRITE_COPY_32));
	CHECK(h.rewrite.has_payload && h.rewrite.payloadlen == 8 && h.rewrite.payload[8] == 0);
	CHECK_INT(wa_host_message_set_payload(&h, mem, 100, 9), -1);
	CHECK_STR(h.trap, "message_set_payload: payload of 9 bytes above wasm_max_payload (8)");
	CHECK_INT(h.rewrite.payloadlen, 8); /* the earlier value stays */
	CHECK_INT(wa_host_message_set_payload(&h, mem, 100, 0), 0);
	CHECK(h.rewrite.has_payload && h.rewrite.payload == NULL && h.rewrite.payloadlen == 0);
	CHECK_INT(h.rewrite.retain, -1);
	CHECK_INT(wa_host_message_set_retain(&h, 1), 0);
	CHECK_INT(h.rewrite.retain, 1);
	CHECK_INT(wa_host_message_set_retain(&h, 2), -1);
	CHECK_STR(h.trap, "message_set_retain: retain 2 is not 0 or 1");
	/* Not a topic a client may publish to: wildcards, '$', NUL, empty, bad UTF-8, out of bounds. */
	put_bytes(200, "a/+", 3);
	put_bytes(210, "$SYS/x", 6);
	put_bytes(220, "a\0b", 3);
	put_bytes(230, "a\xff", 2);
	CHECK_INT(wa_host_message_set_topic(&h, mem, 200, 3), -1);
	CHECK_STR(h.trap,
	          "message_set_topic: not a topic to publish to (UTF-8, no + or #, no NUL, not starting with $, 1 "
	          "to 65535 bytes)");
	CHECK_INT(wa_host_message_set_topic(&h, mem, 210, 6), -1);
	CHECK_INT(wa_host_message_set_topic(&h, mem, 220, 3), -1);
	CHECK_INT(wa_host_message_set_topic(&h, mem, 230, 2), -1);
	CHECK_INT(wa_host_message_set_topic(&h, mem, 100, 0), -1);
	CHECK_INT(wa_host_message_set_topic(&h, mem, 4090, 10), -1);
	CHECK_STR(h.trap, "message_set_topic: pointer out of bounds");
	CHECK(strcmp(h.rewrite.topic, "out/a") == 0);
	/* No fuel: nothing staged. */
	wa_host_message_clear(&h, 1);
	fuel = 5;
	CHECK_INT(wa_host_message_set_topic(&h, mem, 100, 5), -1);
	CHECK_STR(h.trap, "fuel exhausted");
	CHECK(h.rewrite.topic == NULL && h.rewrite.active);
	wa_host_message_clear(&h, 0);
	CHECK(!h.rewrite.active && h.rewrite.retain == -1 && !h.rewrite.has_payload);
}

/* subscribe_set_topic, subscribe_set_qos (docs/ABI.md, "Per-subscriber and subscription hooks"):
 * only while on_subscribe runs; a filter must be one mosquitto accepts; bad values trap and stage
 * nothing; prices; clearing frees. */
static void subscribe_rewrites(void)
{
	static struct wa_host h;
	int64_t fuel;

	fueled(&h, &fuel, START);
	put_bytes(100, "users/a/#", 9);
	CHECK_INT(wa_host_subscribe_set_topic(&h, mem, 100, 9), -1);
	CHECK_STR(h.trap, "subscribe_set_topic: called outside on_subscribe");
	CHECK_INT(wa_host_subscribe_set_qos(&h, 1), -1);
	CHECK_STR(h.trap, "subscribe_set_qos: called outside on_subscribe");
	wa_host_subscribe_clear(&h, 1);
	CHECK_INT(h.sub_rewrite.qos, -1);
	fuel = START;
	CHECK_INT(wa_host_subscribe_set_topic(&h, mem, 100, 9), 0);
	CHECK_INT(START - fuel, WA_FUEL_HOST_CALL + per32(9, WA_FUEL_SCAN_32));
	CHECK(h.sub_rewrite.topic && strcmp(h.sub_rewrite.topic, "users/a/#") == 0 && h.sub_rewrite.topiclen == 9);
	CHECK_INT(wa_host_subscribe_set_qos(&h, 2), 0);
	CHECK_INT(h.sub_rewrite.qos, 2);
	CHECK_INT(wa_host_subscribe_set_qos(&h, 3), -1);
	CHECK_STR(h.trap, "subscribe_set_qos: qos 3 is not 0, 1 or 2");
	CHECK_INT(wa_host_subscribe_set_qos(&h, -1), -1);
	CHECK_INT(h.sub_rewrite.qos, 2); /* the earlier value stays */
	/* Not a filter: '#' not last, '+' sharing a level, NUL, empty, bad UTF-8, out of bounds. */
	put_bytes(200, "a/#/b", 5);
	put_bytes(210, "a+/b", 4);
	put_bytes(220, "a\0b", 3);
	put_bytes(230, "a\xff", 2);
	CHECK_INT(wa_host_subscribe_set_topic(&h, mem, 200, 5), -1);
	CHECK_STR(h.trap,
	          "subscribe_set_topic: not a subscription filter (UTF-8, + and # alone in their level, # last, no "
	          "NUL, 1 to 65535 bytes)");
	CHECK_INT(wa_host_subscribe_set_topic(&h, mem, 210, 4), -1);
	CHECK_INT(wa_host_subscribe_set_topic(&h, mem, 220, 3), -1);
	CHECK_INT(wa_host_subscribe_set_topic(&h, mem, 230, 2), -1);
	CHECK_INT(wa_host_subscribe_set_topic(&h, mem, 100, 0), -1);
	CHECK_INT(wa_host_subscribe_set_topic(&h, mem, 4090, 10), -1);
	CHECK_STR(h.trap, "subscribe_set_topic: pointer out of bounds");
	CHECK(strcmp(h.sub_rewrite.topic, "users/a/#") == 0);
	/* No fuel: nothing staged. */
	wa_host_subscribe_clear(&h, 1);
	fuel = 5;
	CHECK_INT(wa_host_subscribe_set_topic(&h, mem, 100, 9), -1);
	CHECK_STR(h.trap, "fuel exhausted");
	CHECK(h.sub_rewrite.topic == NULL && h.sub_rewrite.active);
	wa_host_subscribe_clear(&h, 0);
	CHECK(!h.sub_rewrite.active && h.sub_rewrite.qos == -1);
}

/* set_reason (docs/ABI.md, "Reasons"): kept as given up to WA_MAX_REASON_BYTES, cut on a
 * character boundary; not UTF-8: refused (-1) and cleared; a bad pointer traps; priced on what is
 * kept, so a huge length costs no more than the cap. */
static void reasons(void)
{
	static struct wa_host h;
	int64_t fuel;
	int32_t r = 99;
	uint8_t big[600];

	fueled(&h, &fuel, START);
	/* reasons_wanted: the embedder's answer, for the price of a call. */
	CHECK_INT(wa_host_reasons_wanted(&h, &r), 0);
	CHECK_INT(r, 0);
	h.reasons_wanted = 1;
	CHECK_INT(wa_host_reasons_wanted(&h, &r), 0);
	CHECK_INT(r, 1);
	CHECK_INT(START - fuel, 2 * WA_FUEL_HOST_CALL);
	fuel = START;
	put_bytes(100, "no grant", 8);
	CHECK_INT(wa_host_set_reason(&h, mem, 100, 8, &r), 0);
	CHECK_INT(r, 8);
	CHECK(h.reason_len == 8 && memcmp(h.reason, "no grant", 8) == 0);
	CHECK_INT(START - fuel, WA_FUEL_HOST_CALL + per32(8, WA_FUEL_SCAN_32));
	/* Longer than the cap: cut, a 3-byte character across the cut goes whole. */
	memset(big, 'x', sizeof big);
	memcpy(big + WA_MAX_REASON_BYTES - 1, "\xe2\x82\xac", 3);
	put_bytes(1000, (const char *)big, sizeof big);
	fuel = START;
	CHECK_INT(wa_host_set_reason(&h, mem, 1000, sizeof big, &r), 0);
	CHECK_INT(r, WA_MAX_REASON_BYTES - 1);
	CHECK_INT(h.reason_len, WA_MAX_REASON_BYTES - 1);
	CHECK_INT(START - fuel, WA_FUEL_HOST_CALL + per32(WA_MAX_REASON_BYTES - 1, WA_FUEL_SCAN_32));
	/* A huge length inside memory: only the kept prefix is read and paid for. */
	put_bytes(1 + WA_MAX_REASON_BYTES, "x", 1); /* the byte after the cut starts a character */
	fuel = START;
	CHECK_INT(wa_host_set_reason(&h, mem, 1, sizeof memory - 1, &r), 0);
	CHECK_INT(START - fuel, WA_FUEL_HOST_CALL + per32(WA_MAX_REASON_BYTES, WA_FUEL_SCAN_32));
	/* Not UTF-8 (a stray byte, an overlong form, a surrogate): refused, no reason kept. */
	put_bytes(100, "a\xff", 2);
	CHECK_INT(wa_host_set_reason(&h, mem, 100, 2, &r), 0);
	CHECK_INT(r, WA_REASON_INVALID);
	CHECK_INT(h.reason_len, 0);
	put_bytes(100, "\xc0\xaf", 2);
	CHECK_INT(wa_host_set_reason(&h, mem, 100, 2, &r), 0);
	CHECK_INT(r, WA_REASON_INVALID);
	put_bytes(100, "\xed\xa0\x80", 3);
	CHECK_INT(wa_host_set_reason(&h, mem, 100, 3, &r), 0);
	CHECK_INT(r, WA_REASON_INVALID);
	/* Out of bounds, or a length past the end of memory: a trap that pays the entry only. */
	fuel = START;
	CHECK_INT(wa_host_set_reason(&h, mem, 4090, 10, &r), -1);
	CHECK_STR(h.trap, "set_reason: pointer out of bounds");
	CHECK_INT(wa_host_set_reason(&h, mem, 100, 0xffffffffu, &r), -1);
	CHECK_INT(START - fuel, 2 * WA_FUEL_HOST_CALL);
	/* Out of fuel: a trap, nothing kept. */
	put_bytes(100, "late", 4);
	h.reason_len = 0;
	fuel = WA_FUEL_HOST_CALL;
	CHECK_INT(wa_host_set_reason(&h, mem, 100, 4, &r), -1);
	CHECK_STR(h.trap, "fuel exhausted");
	CHECK_INT(h.reason_len, 0);
}

int main(void)
{
	struct wa_host h;
	char path[] = "/tmp/wa-hostfns-XXXXXX";
	int fd = mkstemp(path);

	memset(&h, 0, sizeof h);
	h.client_ops = &ops;
	wa_log_set_sink(capture);
	if (!CHECK(fd >= 0 && write(fd, "hello file\n", 11) == 11)) return check_done();
	close(fd);

	topic(&h);
	logging(&h);
	client(&h);
	passwords(&h);
	option_files(&h, path);
	option_file_streams();
	abort_and_trace(&h);
	env(&h);
	prices(path);
	exhaustion(path);
	limit_buckets();
	limit_lines();
	limit_summary();
	log_sanitised();
	actions();
	action_rate();
	message_rewrites();
	subscribe_rewrites();
	reasons();
	unlink(path);
	return check_done();
}
