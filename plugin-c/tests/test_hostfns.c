/* The host functions (hostfns.h) on a fake linear memory: results, bounds checks, the
 * option_file_* rules, guest text handling. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "../hostfns.h"
#include "../log.h"

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

static const char *fake_id(const void *c) { return ((const struct fake_client *)c)->id; }
static const char *fake_address(const void *c) { return ((const struct fake_client *)c)->address; }
static int fake_protocol(const void *c) { return ((const struct fake_client *)c)->protocol; }
static const struct wa_client_ops ops = { fake_id, fake_address, fake_protocol };

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
	const char *hash = "$6$c2FsdA==$oPeb5nMm4U4xiTpjSVruRPjXz2QaN/TSTSakuCiJtR8qzibNgZZ412rWVSMttxWmz05EMhOAaVT07opmzYU/tg==";
	int32_t r;
	uint32_t hp = put_bytes(100, hash, strlen(hash)), pp = put_bytes(400, "pw", 2);

	CHECK_INT(wa_host_pw_verify(h, mem, hp, (uint32_t)strlen(hash), pp, 2, &r), 0);
	CHECK_INT(r, 1);
	CHECK_INT(wa_host_pw_verify(h, mem, hp, (uint32_t)strlen(hash), pp, 1, &r), 0);
	CHECK_INT(r, 0);
	CHECK_INT(wa_host_pw_verify(h, mem, hp, (uint32_t)strlen(hash), 4095, 2, &r), -1);
	CHECK_INT(wa_host_pw_verify(h, mem, hp, 5000, pp, 2, &r), -1);
}

static void option_files(struct wa_host *h, const char *path)
{
	const struct wa_kv kv[] = { { "data_file", path }, { "data", path }, { "missing_file", "/nonexistent/x" } };
	char err[128];
	struct wa_options *opts = wa_options_new(kv, 3, err, sizeof err);
	uint32_t key = put_bytes(100, "data_file", 9), other = put_bytes(120, "data", 4);
	uint32_t missing = put_bytes(140, "missing_file", 12), absent = put_bytes(160, "absent_file", 11);
	int32_t r;

	h->opts = opts;
	h->in_init = 0;
	CHECK_INT(wa_host_option_file_size(h, mem, key, 9, &r), 0);
	CHECK_INT(r, -1); /* outside plugin_init / security_init */
	h->in_init = 1;
	CHECK_INT(wa_host_option_file_size(h, mem, key, 9, &r), 0);
	CHECK_INT(r, 11);
	CHECK_INT(wa_host_option_file_size(h, mem, other, 4, &r), 0);
	CHECK_INT(r, -1); /* key does not end in _file */
	CHECK_INT(wa_host_option_file_size(h, mem, missing, 12, &r), 0);
	CHECK_INT(r, -1);
	CHECK_INT(wa_host_option_file_size(h, mem, absent, 11, &r), 0);
	CHECK_INT(r, -1);
	CHECK_INT(wa_host_option_file_size(h, mem, 4090, 9, &r), -1);

	memset(memory + 1000, 0, 64);
	CHECK_INT(wa_host_option_file_read(h, mem, key, 9, 1000, 64, &r), 0);
	CHECK_INT(r, 11);
	CHECK(memcmp(memory + 1000, "hello file\n", 11) == 0);
	CHECK_INT(wa_host_option_file_read(h, mem, key, 9, 1000, 5, &r), 0);
	CHECK_INT(r, 5);
	CHECK_INT(wa_host_option_file_read(h, mem, key, 9, 4090, 64, &r), -1);
	CHECK_INT(wa_host_option_file_read(h, mem, other, 4, 1000, 64, &r), 0);
	CHECK_INT(r, -1);
	h->in_init = 0;
	CHECK_INT(wa_host_option_file_read(h, mem, key, 9, 1000, 64, &r), 0);
	CHECK_INT(r, -1);
	h->opts = NULL;
	wa_options_free(opts);
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
	abort_and_trace(&h);
	env(&h);
	unlink(path);
	return check_done();
}
