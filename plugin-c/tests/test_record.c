/* The record file (broker/record.c, broker/jsonl.c): the line of each kind of request, exact;
 * strings escaped losslessly; payloads in base64 and left out above the cap; the password never
 * written; rotation to FILE.1 beyond wasm_record_max_bytes; an unwritable file logged once. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "../broker/jsonl.h"
#include "../broker/record.h"
#include "../runtime/log.h"
#include "../runtime/wa_limits.h"

static char logged[1024];
static unsigned nlogged;

static void capture(int level, const char *line)
{
	(void)level;
	snprintf(logged, sizeof logged, "%s", line);
	nlogged++;
}

static const struct timespec WALL = { 1796400000, 123456789 }; /* 2026-12-04T16:00:00.123Z */

static char *line_of(const struct wa_record_entry *e, int payloads)
{
	static struct wa_jsonl j = { .max = 1u << 20 };
	if (wa_record_format(&j, e, payloads, &WALL) != 0) return NULL;
	return j.buf;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	static char buf[1 << 16];
	size_t n;

	if (!f) return NULL;
	n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

int main(void)
{
	char dir[] = "/tmp/wa-record-XXXXXX";
	char path[256], old[256];
	struct wa_record_entry connect = { "c1", "alice", "127.0.0.1", 5, "connect", NULL, 0, 0, NULL, 0, 1, WA_ALLOW };
	struct wa_record_entry anon = { "c2", NULL, NULL, 4, "connect", NULL, 0, 0, NULL, 0, 0, WA_DEFER };
	struct wa_record_entry pub = { "c1", "alice", "::1",   5, "write", "a/\"b\"\\c/\x01/é",
		                       1,    1,       "hi\0x", 4, 0,       WA_DENY };
	struct wa_record *r;
	struct stat st;

	wa_log_set_sink(capture);
	CHECK_STR(line_of(&connect, 0),
	          "{\"time\":\"2026-12-04T16:00:00.123Z\",\"client_id\":\"c1\",\"username\":\"alice\",\"address\":"
	          "\"127.0.0.1\","
	          "\"protocol\":5,\"access\":\"connect\",\"password\":\"<redacted>\",\"decision\":\"allow\"}\n");
	CHECK_STR(line_of(&anon, 1),
	          "{\"time\":\"2026-12-04T16:00:00.123Z\",\"client_id\":\"c2\",\"username\":null,\"address\":null,"
	          "\"protocol\":4,\"access\":\"connect\",\"password\":null,\"decision\":\"defer\"}\n");
	/* Topic escaped losslessly (quote, backslash, control, UTF-8 kept); no payload unless asked. */
	CHECK_STR(
	    line_of(&pub, 0),
	    "{\"time\":\"2026-12-04T16:00:00.123Z\",\"client_id\":\"c1\",\"username\":\"alice\",\"address\":\"::1\","
	    "\"protocol\":5,\"access\":\"write\",\"topic\":\"a/\\\"b\\\"\\\\c/\\u0001/é\",\"qos\":1,\"retain\":true,"
	    "\"decision\":\"deny\"}\n");
	CHECK(strstr(line_of(&pub, 1), ",\"payload\":\"aGkAeA==\",") != NULL);
	pub.payloadlen = WA_RECORD_PAYLOAD_BYTES + 1;
	CHECK(strstr(line_of(&pub, 1), ",\"payload_left_out\":65537,") != NULL);
	pub.payloadlen = 4;
	/* Not UTF-8: each byte above 0x7f becomes ?. */
	pub.topic = "x/\xff\xfe";
	CHECK(strstr(line_of(&pub, 0), "\"topic\":\"x/??\"") != NULL);
	pub.topic = "a/b";

	/* Into a file: buffered, written by flush; the password itself never appears. */
	if (!CHECK(mkdtemp(dir) != NULL)) return check_done();
	snprintf(path, sizeof path, "%s/rec.jsonl", dir);
	snprintf(old, sizeof old, "%s/rec.jsonl.1", dir);
	r = wa_record_new(path, 1, WA_RECORD_MIN_BYTES);
	if (!CHECK(r != NULL)) return check_done();
	wa_record_write_at(r, &connect, &WALL);
	CHECK(stat(path, &st) == 0 && st.st_size == 0);
	wa_record_flush(r);
	CHECK(strstr(slurp(path), "\"access\":\"connect\"") != NULL);
	/* Past the cap: FILE.1 holds what was written, FILE starts again. */
	for (int i = 0; i < 20000; i++) wa_record_write_at(r, &pub, &WALL);
	wa_record_flush(r);
	CHECK(stat(old, &st) == 0 && st.st_size <= (off_t)WA_RECORD_MIN_BYTES &&
	      st.st_size > (off_t)WA_RECORD_MIN_BYTES / 2);
	CHECK(stat(path, &st) == 0 && st.st_size < (off_t)WA_RECORD_MIN_BYTES && st.st_size > 0);
	wa_record_free(r);

	/* A file that cannot be opened: one line, and nothing else happens. */
	snprintf(path, sizeof path, "%s/no/such/dir/rec.jsonl", dir);
	nlogged = 0;
	r = wa_record_new(path, 0, WA_DEFAULT_RECORD_MAX_BYTES);
	if (!CHECK(r != NULL)) return check_done();
	for (int i = 0; i < 10; i++) wa_record_write_at(r, &connect, &WALL);
	wa_record_flush(r);
	CHECK_INT(nlogged, 1);
	CHECK(strstr(logged, "cannot open") != NULL);
	wa_record_free(r);
	CHECK(strstr(logged, "10 records lost") != NULL);

	snprintf(path, sizeof path, "%s/rec.jsonl", dir);
	unlink(path);
	unlink(old);
	rmdir(dir);
	return check_done();
}
