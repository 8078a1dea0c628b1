/* The audit writer (broker/audit.h): record formatting (JSON escaping, field caps, null fields),
 * the rate limit and its suppressed-count line, the JSON-lines file and the log sink, and the
 * wasm_audit options. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "../broker/audit.h"
#include "../runtime/log.h"
#include "../runtime/options.h"
#include "../runtime/wa_limits.h"

static const struct timespec WALL = { 1764860400, 123456789 }; /* 2025-12-04T15:00:00.123Z */

static struct wa_audit_record deny_write(void)
{
	struct wa_audit_record r = { "c1", "alice", "write", "a/b", WA_DENY, "policy", "no grant", 8, 1234 };
	return r;
}

static void test_json(void)
{
	char buf[WA_AUDIT_LINE_BYTES];
	struct wa_audit_record r = deny_write();

	CHECK(wa_audit_format_json(buf, sizeof buf, &r, &WALL) == strlen(buf));
	CHECK_STR(buf, "{\"time\":\"2025-12-04T15:00:00.123Z\",\"client_id\":\"c1\",\"username\":\"alice\","
	               "\"access\":\"write\",\"topic\":\"a/b\",\"decision\":\"deny\",\"source\":\"policy\","
	               "\"reason\":\"no grant\",\"fuel\":1234}");

	/* Absent values are null; a connect has no topic. */
	r = (struct wa_audit_record){
		NULL, NULL, "connect", NULL, WA_DEFER, "failure", "failure: fuel exhausted", 23, 0
	};
	wa_audit_format_json(buf, sizeof buf, &r, &WALL);
	CHECK(strstr(buf,
	             "\"client_id\":null,\"username\":null,\"access\":\"connect\",\"topic\":null,"
	             "\"decision\":\"defer\",\"source\":\"failure\",\"reason\":\"failure: fuel exhausted\"") != NULL);

	/* Quotes, backslashes and control characters are escaped; UTF-8 passes; other bytes become '?'. */
	r = deny_write();
	r.clientid = "a\"b\\c\nd\x7f";
	r.username = "gr\xc3\xbc\xc3\x9f"
	             "e";
	r.topic = "x\xff";
	r.reason = "r\x01";
	r.reason_len = 2;
	wa_audit_format_json(buf, sizeof buf, &r, &WALL);
	CHECK(strstr(buf, "\"client_id\":\"a\\\"b\\\\c\\u000ad\\u007f\"") != NULL);
	CHECK(strstr(buf, "\"username\":\"gr\xc3\xbc\xc3\x9f"
	                  "e\"") != NULL);
	CHECK(strstr(buf, "\"topic\":\"x?\"") != NULL);
	CHECK(strstr(buf, "\"reason\":\"r\\u0001\"") != NULL);

	/* C1 controls, bidirectional formatting and line separators: escaped too (a log reader
	 * sees neither a line break nor reordered text). */
	r = deny_write();
	r.topic = "a\xc2\x9b"
	          "b\xe2\x80\xae"
	          "c\xe2\x80\xa8"
	          "d\xd8\x9c"
	          "e\xe2\x81\xa6"
	          "f\xe2\x82\xac";
	wa_audit_format_json(buf, sizeof buf, &r, &WALL);
	CHECK(strstr(buf, "\"topic\":\"a\\u009bb\\u202ec\\u2028d\\u061ce\\u2066f\xe2\x82\xac\"") != NULL);

	/* Too small a buffer: nothing (0), never a cut record. */
	r = deny_write();
	CHECK_INT(wa_audit_format_json(buf, 40, &r, &WALL), 0);
}

static void test_field_cap(void)
{
	char buf[WA_AUDIT_LINE_BYTES];
	char big[3 * WA_AUDIT_FIELD_BYTES];
	char want[WA_AUDIT_FIELD_BYTES + 16];
	struct wa_audit_record r = deny_write();

	/* Every field cut at WA_AUDIT_FIELD_BYTES; a multi-byte character across the cut goes whole. */
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	big[WA_AUDIT_FIELD_BYTES - 1] = '\xe2'; /* U+20AC across the cut */
	big[WA_AUDIT_FIELD_BYTES] = '\x82';
	big[WA_AUDIT_FIELD_BYTES + 1] = '\xac';
	r.topic = big;
	r.clientid = big;
	r.username = big;
	r.reason = big;
	r.reason_len = strlen(big);
	CHECK(wa_audit_format_json(buf, sizeof buf, &r, &WALL) > 0);
	snprintf(want, sizeof want, "\"topic\":\"%.*s\"", (int)(WA_AUDIT_FIELD_BYTES - 1), big);
	CHECK(strstr(buf, want) != NULL);
	CHECK(strchr(buf, '?') == NULL); /* the cut prefix is UTF-8: nothing replaced */
	CHECK(strlen(buf) < 4u * WA_AUDIT_FIELD_BYTES + 400u);
}

static void test_text(void)
{
	char buf[WA_AUDIT_LINE_BYTES];
	struct wa_audit_record r = deny_write();

	wa_audit_format_text(buf, sizeof buf, &r);
	CHECK_STR(buf, "audit: deny write client_id=\"c1\" username=\"alice\" topic=\"a/b\" source=policy "
	               "reason=\"no grant\" fuel=1234");
	r = (struct wa_audit_record){ "c2", NULL, "connect", NULL, WA_ALLOW, "policy", NULL, 0, 7 };
	wa_audit_format_text(buf, sizeof buf, &r);
	CHECK_STR(buf, "audit: allow connect client_id=\"c2\" username=null source=policy reason=\"\" fuel=7");
}

static void test_limit(void)
{
	struct wa_audit_limit l = { 0, 0, 0 };
	unsigned ok = 0;

	/* The burst at once, then nothing until it refills at WA_AUDIT_LINES_PER_S. */
	for (unsigned i = 0; i < WA_AUDIT_BURST_LINES + 50u; i++) ok += (unsigned)wa_audit_limit_take(&l, 1000);
	CHECK_INT(ok, WA_AUDIT_BURST_LINES);
	CHECK_INT(l.suppressed, 50);
	CHECK_INT(wa_audit_limit_take(&l, 1000 + 1000 / WA_AUDIT_LINES_PER_S - 1), 0);
	CHECK_INT(wa_audit_limit_take(&l, 1000 + 1000 / WA_AUDIT_LINES_PER_S), 1);
	/* A second refills WA_AUDIT_LINES_PER_S lines; a clock going back refills nothing. */
	ok = 0;
	for (unsigned i = 0; i < 2u * WA_AUDIT_LINES_PER_S; i++) ok += (unsigned)wa_audit_limit_take(&l, 2010);
	CHECK_INT(ok, WA_AUDIT_LINES_PER_S);
	CHECK_INT(wa_audit_limit_take(&l, 5), 0);
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *s = calloc(1, 1u << 20);
	size_t n;

	if (!f || !s) {
		if (f) fclose(f);
		return s;
	}
	n = fread(s, 1, (1u << 20) - 1, f);
	s[n] = '\0';
	fclose(f);
	return s;
}

static unsigned count_lines(const char *s)
{
	unsigned n = 0;
	for (; *s; s++) n += *s == '\n';
	return n;
}

static void test_file(void)
{
	char path[] = "/tmp/wa-audit-test-XXXXXX";
	int fd = mkstemp(path);
	struct wa_audit *a;
	struct wa_audit_record r = deny_write();
	struct stat st;
	char *s;

	CHECK(fd >= 0);
	close(fd);
	a = wa_audit_new(WA_AUDIT_DENY, path);
	CHECK(a != NULL);
	CHECK(wa_audit_wanted(a, WA_DENY) && wa_audit_wanted(a, WA_DEFER) && !wa_audit_wanted(a, WA_ALLOW));
	/* A burst and more at one instant: the rest suppressed; a line a second later says how many. */
	for (unsigned i = 0; i < WA_AUDIT_BURST_LINES + 7u; i++) wa_audit_write_at(a, &r, 100, &WALL);
	/* Buffered until a flush. */
	CHECK(stat(path, &st) == 0 && st.st_size == 0);
	wa_audit_flush(a);
	s = read_all(path);
	CHECK_INT(count_lines(s), WA_AUDIT_BURST_LINES);
	free(s);
	wa_audit_write_at(a, &r, 1100, &WALL);
	wa_audit_free(a);
	s = read_all(path);
	CHECK_INT(count_lines(s), WA_AUDIT_BURST_LINES + 2u);
	CHECK(strstr(s, "{\"time\":\"2025-12-04T15:00:00.123Z\",\"suppressed\":7,\"message\":\"7 audit lines "
	                "suppressed\"}\n{\"time\"") != NULL);
	free(s);

	/* all: allows too. Appends to what is there. */
	a = wa_audit_new(WA_AUDIT_ALL, path);
	CHECK(wa_audit_wanted(a, WA_ALLOW));
	wa_audit_free(a);
	unlink(path);
}

static char logged[8][2048];
static int logged_levels[8];
static unsigned nlogged;

static void sink(int level, const char *line)
{
	if (nlogged < 8) {
		snprintf(logged[nlogged], sizeof logged[0], "%s", line);
		logged_levels[nlogged] = level;
	}
	nlogged++;
}

static void test_log(void)
{
	struct wa_audit *a = wa_audit_new(WA_AUDIT_ALL, NULL);
	struct wa_audit_record r = deny_write();

	wa_log_set_sink(sink);
	wa_audit_write_at(a, &r, 10, &WALL);
	r.decision = WA_ALLOW;
	wa_audit_write_at(a, &r, 10, &WALL);
	CHECK_INT(nlogged, 2);
	CHECK_STR(logged[0], "wasm-auth: audit: deny write client_id=\"c1\" username=\"alice\" topic=\"a/b\" "
	                     "source=policy reason=\"no grant\" fuel=1234");
	CHECK_INT(logged_levels[0], WA_LOG_NOTICE);
	CHECK_INT(logged_levels[1], WA_LOG_INFO);
	/* Over the limit, then the count before the next line. */
	nlogged = 0;
	for (unsigned i = 0; i < WA_AUDIT_BURST_LINES + 3u; i++) wa_audit_write_at(a, &r, 10, &WALL);
	nlogged = 0;
	wa_audit_write_at(a, &r, 2000, &WALL);
	CHECK_INT(nlogged, 2);
	CHECK_STR(logged[0], "wasm-auth: audit: 5 audit lines suppressed");
	wa_audit_free(a);

	/* A file that cannot be opened: said once; records dropped, nothing crashes. */
	nlogged = 0;
	a = wa_audit_new(WA_AUDIT_DENY, "/nonexistent-dir/audit.log");
	CHECK(a != NULL);
	wa_audit_write_at(a, &r, 10, &WALL);
	wa_audit_flush(a);
	wa_audit_reopen(a);
	CHECK_INT(nlogged, 2); /* at open and at reopen */
	CHECK(strstr(logged[0], "audit file /nonexistent-dir/audit.log: cannot open: No such file or directory") !=
	      NULL);
	wa_audit_free(a);
	wa_log_set_sink(NULL);
}

static void test_options(void)
{
	struct wa_config cfg;
	char err[256];
	struct wa_options *o;
	const struct wa_kv none[] = { { "wasm_module", "m" } };
	const struct wa_kv file[] = { { "wasm_module", "m" }, { "wasm_audit", "deny" }, { "wasm_audit_file", "/x" } };
	const struct wa_kv all[] = { { "wasm_module", "m" }, { "wasm_audit", "all" } };
	const struct wa_kv bad[] = { { "wasm_module", "m" }, { "wasm_audit", "yes" } };
	const struct wa_kv empty[] = { { "wasm_module", "m" }, { "wasm_audit_file", "" } };

	o = wa_options_new(none, 1, err, sizeof err);
	CHECK(wa_config_parse(o, &cfg, err, sizeof err) == 0 && cfg.audit == WA_AUDIT_OFF && !cfg.audit_file);
	wa_options_free(o);
	o = wa_options_new(file, 3, err, sizeof err);
	CHECK(wa_config_parse(o, &cfg, err, sizeof err) == 0 && cfg.audit == WA_AUDIT_DENY);
	CHECK_STR(cfg.audit_file, "/x");
	wa_options_free(o);
	o = wa_options_new(all, 2, err, sizeof err);
	CHECK(wa_config_parse(o, &cfg, err, sizeof err) == 0 && cfg.audit == WA_AUDIT_ALL);
	wa_options_free(o);
	o = wa_options_new(bad, 2, err, sizeof err);
	CHECK(wa_config_parse(o, &cfg, err, sizeof err) == -1);
	CHECK_STR(err, "option wasm_audit: \"yes\" is none of off, deny, all");
	wa_options_free(o);
	o = wa_options_new(empty, 2, err, sizeof err);
	CHECK(wa_config_parse(o, &cfg, err, sizeof err) == -1);
	CHECK(strncmp(err, "option wasm_audit_file: empty path", 34) == 0);
	wa_options_free(o);
}

int main(void)
{
	test_json();
	test_field_cap();
	test_text();
	test_limit();
	test_file();
	test_log();
	test_options();
	return check_done();
}
