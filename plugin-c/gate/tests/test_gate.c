/* Unit tests of the module gate: hand-built modules, one per rejection reason (decoding,
 * validation, feature profile, caps, ABI), accepted ones, metering output, and robustness on
 * truncated and corrupted input. With GATE_TEST_OUT set, every module (and every metered
 * output) is written there so the conformance runner can cross-check it with wasm-validate. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../gate_internal.h"
#include "mb.h"

static int failures, checks;
static const char *out_dir;

static void failf(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void failf(const char *name, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "FAIL %s: ", name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	failures++;
}

static void save(const char *name, const uint8_t *b, size_t n)
{
	char path[512];
	FILE *f;

	if (!out_dir) return;
	snprintf(path, sizeof path, "%s/%s.wasm", out_dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(b, 1, n, f) != n) {
		failf(name, "cannot write %s", path);
	}
	if (f) fclose(f);
}

/* Meters an accepted module and checks the output is valid and keeps the function count. */
static void check_metered(const char *name, const uint8_t *b, size_t n)
{
	struct wa_gate_config vo;
	struct wa_gate_report before, after;
	char err[WA_GATE_ERR_LEN], mname[256];
	uint8_t *out;
	size_t outlen;

	struct wa_meter_report mrep;

	wa_gate_config_defaults(&vo);
	vo.validate_only = true;
	if (wa_gate_check(b, n, &vo, &before, err, sizeof err)) return; /* ABI-only acceptance */
	checks++;
	/* The plugin's form: host-only hooks' entry charges reported instead of charged. */
	if (wa_gate_meter(b, n, &out, &outlen, &mrep, err, sizeof err)) {
		failf(name, "metering failed: %s", err);
		return;
	}
	snprintf(mname, sizeof mname, "%s.metered", name);
	save(mname, out, outlen);
	if (wa_gate_check(out, outlen, &vo, &after, err, sizeof err)) {
		failf(name, "metered module invalid: %s", err);
	} else if (after.functions != before.functions) {
		failf(name, "metering changed the function count %u -> %u", before.functions, after.functions);
	}
	free(out);
}

/* wa_gate_check_meter() (one decode) must give exactly what wa_gate_check() then
 * wa_gate_meter() give: the same answer, message, report, metered bytes and entry charges. */
static void check_combined(const char *name, const struct mb *m, const struct wa_gate_config *cfg)
{
	char err[WA_GATE_ERR_LEN], err2[WA_GATE_ERR_LEN];
	struct wa_gate_report rep, rep2;
	struct wa_meter_report mrep, mrep2;
	uint8_t *out = NULL, *out2 = NULL;
	size_t outlen = 0, outlen2 = 0;
	int rc, rc2;

	checks++;
	rc = wa_gate_check(m->b, m->n, cfg, &rep, err, sizeof err);
	if (rc == 0) rc = wa_gate_meter(m->b, m->n, &out, &outlen, &mrep, err, sizeof err);
	rc2 = wa_gate_check_meter(m->b, m->n, cfg, &rep2, &out2, &outlen2, &mrep2, err2, sizeof err2);
	if (rc != rc2 || strcmp(err, err2)) {
		failf(name, "check+meter in one: %d \"%s\", in two: %d \"%s\"", rc2, err2, rc, err);
	} else if (rc != 0) {
		if (out2 || outlen2) failf(name, "check+meter in one refused but returned output");
	} else if (outlen != outlen2 || memcmp(out, out2, outlen) || memcmp(&mrep, &mrep2, sizeof mrep) ||
	           memcmp(&rep, &rep2, sizeof rep)) {
		failf(name, "check+meter in one: different output or report than in two");
	}
	free(out);
	free(out2);
}

/* want == NULL: must be accepted; else rejected with a message containing want. */
static void expect(const char *name, const struct mb *m, const struct wa_gate_config *cfg, const char *want)
{
	char err[WA_GATE_ERR_LEN], err2[WA_GATE_ERR_LEN];
	struct wa_gate_report rep;
	int rc, rc2;

	checks++;
	save(name, m->b, m->n);
	rc = wa_gate_check(m->b, m->n, cfg, &rep, err, sizeof err);
	/* Pure function: a second run gives the same answer and message. */
	rc2 = wa_gate_check(m->b, m->n, cfg, NULL, err2, sizeof err2);
	if (rc != rc2 || strcmp(err, err2))
		failf(name, "not deterministic: %d \"%s\" vs %d \"%s\"", rc, err, rc2, err2);
	check_combined(name, m, cfg);
	if (want == NULL) {
		if (rc != 0)
			failf(name, "rejected: %s", err);
		else
			check_metered(name, m->b, m->n);
		return;
	}
	if (rc == 0) {
		failf(name, "accepted, expected rejection with \"%s\"", want);
	} else if (!strstr(err, want)) {
		failf(name, "message \"%s\" lacks \"%s\"", err, want);
	} else if (strchr(err, '\n') || err[0] == '\0') {
		failf(name, "message is not one line: \"%s\"", err);
	}
}

static struct wa_gate_config full_cfg(void)
{
	struct wa_gate_config c;
	wa_gate_config_defaults(&c);
	return c;
}

static struct wa_gate_config vo_cfg(void)
{
	struct wa_gate_config c;
	wa_gate_config_defaults(&c);
	c.validate_only = true;
	return c;
}

/* ---- the reference policy ------------------------------------------------------------------ */

/* Types: 0 ()->i32, 1 (i32)->i32, 2 (i32 x4)->i32, 3 (i32 x4)->(), 4 (i32)->(),
 * 5 (i32 x3)->i32, 6 (i32 x7)->i32, 7 ()->().
 * Functions: 0 import env.abort (type 3); 1 abi version; 2 buffer; 3 acl_check (4 args);
 * 4 a 3-argument function; 5 a 7-argument function; 6 ()->(). */
struct pol {
	struct mb sec[13];
	bool has[13];
};

static void pol_types(struct mb *c)
{
	mb_u32(c, 8);
	mb_bytes(c, B(0x60, 0x00, 0x01, 0x7f));
	mb_bytes(c, B(0x60, 0x01, 0x7f, 0x01, 0x7f));
	mb_bytes(c, B(0x60, 0x04, 0x7f, 0x7f, 0x7f, 0x7f, 0x01, 0x7f));
	mb_bytes(c, B(0x60, 0x04, 0x7f, 0x7f, 0x7f, 0x7f, 0x00));
	mb_bytes(c, B(0x60, 0x01, 0x7f, 0x00));
	mb_bytes(c, B(0x60, 0x03, 0x7f, 0x7f, 0x7f, 0x01, 0x7f));
	mb_bytes(c, B(0x60, 0x07, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x01, 0x7f));
	mb_bytes(c, B(0x60, 0x00, 0x00));
}

/* imports(c, n, module, name, typeidx, ...): n function imports. */
static void imports(struct mb *c, int n, ...)
{
	va_list ap;
	mb_u32(c, (uint32_t)n);
	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		mb_name(c, va_arg(ap, const char *));
		mb_name(c, va_arg(ap, const char *));
		mb_u8(c, 0x00);
		mb_u32(c, (uint32_t)va_arg(ap, int));
	}
	va_end(ap);
}

/* exports(c, n, name, kind, index, ...) */
static void exports(struct mb *c, int n, ...)
{
	va_list ap;
	mb_u32(c, (uint32_t)n);
	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		mb_name(c, va_arg(ap, const char *));
		mb_u8(c, (uint8_t)va_arg(ap, int));
		mb_u32(c, (uint32_t)va_arg(ap, int));
	}
	va_end(ap);
}

static void pol_init(struct pol *p)
{
	memset(p, 0, sizeof *p);
	p->has[1] = p->has[2] = p->has[3] = p->has[5] = p->has[7] = p->has[10] = true;
	pol_types(&p->sec[1]);
	imports(&p->sec[2], 1, "env", "abort", 3);
	mb_bytes(&p->sec[3], B(0x06, 0x00, 0x01, 0x02, 0x05, 0x06, 0x07));
	mb_bytes(&p->sec[5], B(0x01, 0x00, 0x01));
	exports(&p->sec[7], 4, "memory", 2, 0, "wasm_auth_abi_version", 0, 1, "wasm_auth_buffer", 0, 2, "acl_check", 0,
	        3);
	mb_u32(&p->sec[10], 6);
	mb_body(&p->sec[10], B(0x00, 0x41, 0x01, 0x0b));
	mb_body(&p->sec[10], B(0x00, 0x41, 0x10, 0x0b));
	mb_body(&p->sec[10], B(0x00, 0x41, 0x01, 0x0b));
	mb_body(&p->sec[10], B(0x00, 0x41, 0x00, 0x0b));
	mb_body(&p->sec[10], B(0x00, 0x41, 0x00, 0x0b));
	mb_body(&p->sec[10], B(0x00, 0x0b));
}

/* Replaces (or adds) section id with the given contents. */
static struct mb *pol_set(struct pol *p, uint8_t id)
{
	mb_reset(&p->sec[id]);
	p->has[id] = true;
	return &p->sec[id];
}

static void pol_build(struct pol *p, struct mb *out)
{
	const struct mb *sec[13] = { 0 };
	for (int i = 0; i < 13; i++)
		if (p->has[i]) sec[i] = &p->sec[i];
	mb_module(out, sec);
}

static void pol_free(struct pol *p)
{
	for (int i = 0; i < 13; i++) mb_free(&p->sec[i]);
}

/* ---- single-function modules for body validation ------------------------------------------- */

enum { WITH_MEMORY = 1, WITH_TABLE = 2, WITH_GLOBALS = 4, WITH_DATACOUNT = 8 };

/* Function 0 of the given type (type section content without the count) with the given body
 * (locals vector + code + end). Globals: 0 immutable i32, 1 mutable i64. */
static void fn_module(struct mb *out, const uint8_t *type, size_t tn, const uint8_t *body, size_t bn, int with)
{
	struct mb s[13] = { 0 };
	const struct mb *sec[13] = { 0 };

	mb_u32(&s[1], 1);
	mb_bytes(&s[1], type, tn);
	sec[1] = &s[1];
	mb_bytes(&s[3], B(0x01, 0x00));
	sec[3] = &s[3];
	if (with & WITH_TABLE) {
		mb_bytes(&s[4], B(0x01, 0x70, 0x00, 0x01));
		sec[4] = &s[4];
	}
	if (with & WITH_MEMORY) {
		mb_bytes(&s[5], B(0x01, 0x00, 0x01));
		sec[5] = &s[5];
	}
	if (with & WITH_GLOBALS) {
		mb_bytes(&s[6], B(0x02, 0x7f, 0x00, 0x41, 0x07, 0x0b, 0x7e, 0x01, 0x42, 0x00, 0x0b));
		sec[6] = &s[6];
	}
	if (with & WITH_DATACOUNT) {
		mb_bytes(&s[12], B(0x01));
		sec[12] = &s[12];
		mb_bytes(&s[11], B(0x01, 0x01, 0x02, 'h', 'i'));
		sec[11] = &s[11];
	}
	mb_u32(&s[10], 1);
	mb_body(&s[10], body, bn);
	sec[10] = &s[10];
	mb_module(out, sec);
	for (int i = 0; i < 13; i++) mb_free(&s[i]);
}

#define T_VOID 0x60, 0x00, 0x00
#define T_I32  0x60, 0x00, 0x01, 0x7f

static void body_case(const char *name, const uint8_t *type, size_t tn, const uint8_t *body, size_t bn, int with,
                      const char *want)
{
	struct wa_gate_config vo = vo_cfg();
	struct mb m = { 0 };
	fn_module(&m, type, tn, body, bn, with);
	expect(name, &m, &vo, want);
	mb_free(&m);
}

#define COMMA ,
#define BODY(name, type, with, want, ...)                                                                              \
	body_case(name, (const uint8_t[]){ type }, sizeof((const uint8_t[]){ type }), B(__VA_ARGS__), with, want)

static void test_bodies(void)
{
	/* accepted: the profile's features */
	BODY("ok_unreachable_polymorphic", T_I32, 0, NULL, 0x00, 0x00, 0x6a, 0x0b);
	BODY("ok_sign_ext_sat", T_I32, 0, NULL, 0x00, 0x41, 0x05, 0xc0, 0x43, 0, 0, 0x80, 0x3f, 0xfc, 0x00, 0x6a, 0x0b);
	BODY("ok_br_table", T_I32, 0, NULL, 0x00, 0x02, 0x7f, 0x41, 0x01, 0x41, 0x00, 0x0e, 0x01, 0x00, 0x00, 0x0b,
	     0x0b);
	BODY("ok_bulk_memory", T_VOID, WITH_MEMORY | WITH_DATACOUNT, NULL, 0x00, 0x41, 0x00, 0x41, 0x00, 0x41, 0x02,
	     0xfc, 0x08, 0x00, 0x00, 0xfc, 0x09, 0x00, 0x41, 0x00, 0x41, 0x00, 0x41, 0x00, 0xfc, 0x0a, 0x00, 0x00, 0x41,
	     0x00, 0x41, 0x00, 0x41, 0x00, 0xfc, 0x0b, 0x00, 0x0b);
	BODY("ok_call_indirect", T_VOID, WITH_TABLE, NULL, 0x00, 0x41, 0x00, 0x11, 0x00, 0x00, 0x0b);
	BODY("ok_globals", T_VOID, WITH_GLOBALS, NULL, 0x00, 0x23, 0x01, 0x24, 0x01, 0x23, 0x00, 0x1a, 0x0b);
	BODY("ok_typed_select", T_I32, 0, NULL, 0x00, 0x41, 0x01, 0x41, 0x02, 0x41, 0x00, 0x1c, 0x01, 0x7f, 0x0b);
	BODY("ok_loops", T_VOID, 0, NULL, 0x01, 0x01, 0x7f, 0x03, 0x40, 0x20, 0x00, 0x41, 0x01, 0x6a, 0x22, 0x00, 0x41,
	     0x0a, 0x49, 0x0d, 0x00, 0x0b, 0x0b);

	/* rejected: typing */
	BODY("type_mismatch", T_I32, 0, "type mismatch: expected i32, got i64", 0x00, 0x41, 0x00, 0x42, 0x00, 0x6a,
	     0x0b);
	BODY("stack_underflow", T_I32, 0, "operand stack underflow", 0x00, 0x6a, 0x0b);
	BODY("extra_values", T_VOID, 0, "extra value(s)", 0x00, 0x41, 0x01, 0x0b);
	BODY("missing_result", T_I32, 0, "operand stack underflow", 0x00, 0x0b);
	BODY("if_without_else", T_I32, 0, "if without else", 0x00, 0x41, 0x01, 0x04, 0x7f, 0x41, 0x01, 0x0b, 0x0b);
	BODY("br_table_arity", T_VOID, 0, "different arities", 0x00, 0x02, 0x40, 0x02, 0x7f, 0x41, 0x00, 0x41, 0x00,
	     0x0e, 0x01, 0x00, 0x01, 0x0b, 0x1a, 0x0b, 0x0b);
	BODY("select_mismatch", T_VOID, 0, "select operands", 0x00, 0x41, 0x01, 0x42, 0x01, 0x41, 0x00, 0x1b, 0x1a,
	     0x0b);
	BODY("immutable_global", T_VOID, WITH_GLOBALS, "global is immutable", 0x00, 0x41, 0x00, 0x24, 0x00, 0x0b);
	/* rejected: indices */
	BODY("unknown_local", T_VOID, 0, "unknown local", 0x00, 0x20, 0x00, 0x1a, 0x0b);
	BODY("unknown_global", T_VOID, 0, "unknown global", 0x00, 0x23, 0x00, 0x1a, 0x0b);
	BODY("unknown_function", T_VOID, 0, "unknown function", 0x00, 0x10, 0x01, 0x0b);
	BODY("unknown_label", T_VOID, 0, "unknown label", 0x00, 0x0c, 0x01, 0x0b);
	BODY("unknown_type", T_VOID, WITH_TABLE, "unknown type", 0x00, 0x41, 0x00, 0x11, 0x05, 0x00, 0x0b);
	BODY("no_table", T_VOID, 0, "unknown table", 0x00, 0x41, 0x00, 0x11, 0x00, 0x00, 0x0b);
	BODY("no_memory", T_I32, 0, "unknown memory", 0x00, 0x41, 0x00, 0x28, 0x02, 0x00, 0x0b);
	BODY("alignment", T_I32, WITH_MEMORY, "alignment must not be larger than natural", 0x00, 0x41, 0x00, 0x28, 0x03,
	     0x00, 0x0b);
	BODY("no_datacount", T_VOID, WITH_MEMORY, "data count section required", 0x00, 0xfc, 0x09, 0x00, 0x0b);
	BODY("unknown_data", T_VOID, WITH_MEMORY | WITH_DATACOUNT, "unknown data segment", 0x00, 0xfc, 0x09, 0x01,
	     0x0b);
	BODY("memory_size_zero_byte", T_I32, WITH_MEMORY, "zero byte expected", 0x00, 0x3f, 0x01, 0x0b);
	/* rejected: encoding */
	BODY("illegal_opcode", T_VOID, 0, "illegal opcode 0x27", 0x00, 0x27, 0x0b);
	BODY("no_end", T_VOID, 0, "END opcode expected", 0x00, 0x01);
	BODY("after_end", T_VOID, 0, "after the function's final end", 0x00, 0x0b, 0x01);
	BODY("else_without_if", T_VOID, 0, "else without a matching if", 0x00, 0x05, 0x0b);
	BODY("s32_too_large", T_I32, 0, "integer too large", 0x00, 0x41, 0xff, 0xff, 0xff, 0xff, 0x4f, 0x0b);
	BODY("s64_too_long", T_VOID, 0, "integer representation too long", 0x00, 0x42, 0x80, 0x80, 0x80, 0x80, 0x80,
	     0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x1a, 0x0b);
	BODY("block_type_negative", T_VOID, 0, "malformed block type", 0x00, 0x02, 0x60, 0x0b, 0x0b);
	/* rejected: outside the feature profile */
	BODY("simd", T_VOID, 0, "not in the feature profile: SIMD", 0x00, 0xfd, 0x0c, 0x0b);
	BODY("atomics", T_VOID, WITH_MEMORY, "not in the feature profile: threads", 0x00, 0xfe, 0x03, 0x00, 0x0b);
	BODY("ref_null", T_VOID, 0, "not in the feature profile: reference types", 0x00, 0xd0, 0x70, 0x1a, 0x0b);
	BODY("table_get", T_VOID, WITH_TABLE, "not in the feature profile: reference types", 0x00, 0x41, 0x00, 0x25,
	     0x00, 0x1a, 0x0b);
	BODY("table_grow", T_VOID, WITH_TABLE, "reference types (table.grow)", 0x00, 0xfc, 0x0f, 0x00, 0x0b);
	BODY("tail_call", T_VOID, 0, "not in the feature profile: tail calls", 0x00, 0x12, 0x00, 0x0b);
	BODY("exceptions", T_VOID, 0, "not in the feature profile: exception handling", 0x00, 0x06, 0x40, 0x0b, 0x0b);
	BODY("funcref_local", T_VOID, 0, "reference types", 0x01, 0x01, 0x70, 0x0b);
	/* rejected: implementation limits */
	BODY("too_many_locals", T_VOID, 0, "too many locals (implementation limit 4000)", 0x02, 0xd0, 0x0f, 0x7f, 0xd1,
	     0x0f, 0x7e, 0x0b); /* 2000 + 2001 */
	BODY("ok_max_locals", T_VOID, 0, NULL, 0x02, 0xd0, 0x0f, 0x7f, 0xd0, 0x0f, 0x7e, 0x0b);
	BODY("too_many_locals_params", 0x60 COMMA 0x01 COMMA 0x7f COMMA 0x00, 0,
	     "too many locals (implementation limit 4000)", 0x02, 0xd0, 0x0f, 0x7f, 0xd0, 0x0f, 0x7e,
	     0x0b); /* 1 parameter + 4000 */

	{
		/* WA_GATE_MAX_FRAMES frames (the function's own included) are accepted, one more is not. */
		struct mb body = { 0 };
		struct wa_gate_config vo = vo_cfg();
		struct mb m = { 0 };
		for (unsigned extra = 0; extra < 2; extra++) {
			unsigned blocks = WA_GATE_MAX_FRAMES - 1 + extra;
			mb_reset(&body);
			mb_u8(&body, 0x00);
			for (unsigned i = 0; i < blocks; i++) mb_bytes(&body, B(0x02, 0x40));
			for (unsigned i = 0; i <= blocks; i++) mb_u8(&body, 0x0b);
			fn_module(&m, B(T_VOID), body.b, body.n, 0);
			expect(extra ? "too_deep" : "ok_deep", &m, &vo,
			       extra ? "nested deeper than 998 (implementation limit)" : NULL);
		}
		/* WA_GATE_MAX_OPERANDS values are fine, one more is not. */
		for (unsigned extra = 0; extra < 2; extra++) {
			mb_reset(&body);
			mb_u8(&body, 0x00);
			for (unsigned i = 0; i < WA_GATE_MAX_OPERANDS + extra; i++) mb_bytes(&body, B(0x41, 0x00));
			for (unsigned i = 0; i < WA_GATE_MAX_OPERANDS + extra; i++) mb_u8(&body, 0x1a);
			mb_u8(&body, 0x0b);
			fn_module(&m, B(T_VOID), body.b, body.n, 0);
			expect(extra ? "too_many_operands" : "ok_max_operands", &m, &vo,
			       extra ? "operand stack deeper than 2998 values (implementation limit)" : NULL);
		}
		mb_free(&body);
		mb_free(&m);
	}
	{
		/* Multi-value: a block typed by a type index, (i32 i32) -> (i32). */
		struct wa_gate_config vo = vo_cfg();
		struct mb s1 = { 0 }, s3 = { 0 }, s10 = { 0 }, m = { 0 };
		const struct mb *sec[13] = { 0 };
		mb_u32(&s1, 2);
		mb_bytes(&s1, B(T_I32));
		mb_bytes(&s1, B(0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f));
		mb_bytes(&s3, B(0x01, 0x00));
		mb_u32(&s10, 1);
		mb_body(&s10, B(0x00, 0x41, 0x01, 0x41, 0x02, 0x02, 0x01, 0x6a, 0x0b, 0x0b));
		sec[1] = &s1;
		sec[3] = &s3;
		sec[10] = &s10;
		mb_module(&m, sec);
		expect("ok_multi_value_block", &m, &vo, NULL);
		mb_reset(&s10);
		mb_u32(&s10, 1);
		mb_body(&s10, B(0x00, 0x41, 0x01, 0x02, 0x01, 0x6a, 0x0b, 0x0b));
		mb_module(&m, sec);
		expect("multi_value_block_underflow", &m, &vo, "operand stack underflow");
		mb_free(&s1);
		mb_free(&s3);
		mb_free(&s10);
		mb_free(&m);
	}
}

/* ---- module-level decoding and validation ---------------------------------------------------- */

static void raw_case(const char *name, const uint8_t *b, size_t n, const char *want)
{
	struct wa_gate_config vo = vo_cfg();
	struct mb m = { 0 };
	mb_bytes(&m, b, n);
	expect(name, &m, &vo, want);
	mb_free(&m);
}

#define HDR 0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00

static void test_module_level(void)
{
	raw_case("empty_module", B(HDR), NULL);
	raw_case("magic", B(0x00, 0x61, 0x73, 0x6e, 0x01, 0x00, 0x00, 0x00), "magic header not detected");
	raw_case("version", B(0x00, 0x61, 0x73, 0x6d, 0x02, 0x00, 0x00, 0x00), "unknown binary version");
	raw_case("truncated_header", B(0x00, 0x61, 0x73), "magic header not detected");
	raw_case("section_id", B(HDR, 0x0d, 0x00), "malformed section id");
	raw_case("section_too_long", B(HDR, 0x01, 0x05, 0x00), "section size exceeds module");
	raw_case("section_size_mismatch", B(HDR, 0x01, 0x02, 0x00, 0x00), "section size mismatch");
	raw_case("section_order", B(HDR, 0x03, 0x01, 0x00, 0x01, 0x01, 0x00), "section out of order");
	raw_case("section_twice", B(HDR, 0x01, 0x01, 0x00, 0x01, 0x01, 0x00), "repeated");
	raw_case("leb_too_long", B(HDR, 0x01, 0x06, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00),
	         "integer representation too long");
	raw_case("leb_too_large", B(HDR, 0x01, 0x05, 0x80, 0x80, 0x80, 0x80, 0x10), "integer too large");
	raw_case("count_too_big", B(HDR, 0x01, 0x02, 0x7f, 0x60), "count exceeds section size");
	raw_case("func_without_code", B(HDR, 0x01, 0x04, 0x01, 0x60, 0x00, 0x00, 0x03, 0x02, 0x01, 0x00),
	         "function and code section have inconsistent lengths");
	raw_case("code_without_func", B(HDR, 0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b), "inconsistent lengths");
	raw_case("bad_functype", B(HDR, 0x01, 0x04, 0x01, 0x61, 0x00, 0x00), "malformed function type");
	raw_case("bad_valtype", B(HDR, 0x01, 0x05, 0x01, 0x60, 0x01, 0x40, 0x00), "malformed value type");
	raw_case("externref_param", B(HDR, 0x01, 0x05, 0x01, 0x60, 0x01, 0x6f, 0x00),
	         "not in the feature profile: reference types");
	raw_case("v128_param", B(HDR, 0x01, 0x05, 0x01, 0x60, 0x01, 0x7b, 0x00), "not in the feature profile: SIMD");
	raw_case("utf8_name", B(HDR, 0x02, 0x08, 0x01, 0x01, 0xc0, 0x01, 'f', 0x02, 0x00, 0x01),
	         "malformed UTF-8 encoding");
	raw_case("utf8_custom", B(HDR, 0x00, 0x03, 0x02, 0xed, 0xa0), "malformed UTF-8 encoding");
	raw_case("ok_custom", B(HDR, 0x00, 0x05, 0x01, 'x', 0xff, 0x00, 0x13), NULL);
	raw_case("two_memories", B(HDR, 0x05, 0x05, 0x02, 0x00, 0x01, 0x00, 0x01), "multi-memory");
	raw_case("two_tables", B(HDR, 0x04, 0x07, 0x02, 0x70, 0x00, 0x01, 0x70, 0x00, 0x01),
	         "reference types (multiple tables)");
	raw_case("externref_table", B(HDR, 0x04, 0x04, 0x01, 0x6f, 0x00, 0x01), "reference types (externref table)");
	raw_case("shared_memory", B(HDR, 0x05, 0x04, 0x01, 0x03, 0x01, 0x02), "threads (shared memory)");
	raw_case("memory64", B(HDR, 0x05, 0x03, 0x01, 0x04, 0x01), "memory64");
	raw_case("memory_too_big", B(HDR, 0x05, 0x05, 0x01, 0x00, 0x81, 0x80, 0x04), "at most 65536 pages");
	raw_case("limits_min_gt_max", B(HDR, 0x05, 0x04, 0x01, 0x01, 0x02, 0x01),
	         "minimum must not be greater than maximum");
	raw_case("limits_flags", B(HDR, 0x05, 0x03, 0x01, 0x08, 0x01), "malformed limits flags");
	raw_case("global_mutability", B(HDR, 0x06, 0x06, 0x01, 0x7f, 0x02, 0x41, 0x00, 0x0b), "malformed mutability");
	raw_case("global_not_const", B(HDR, 0x06, 0x08, 0x01, 0x7f, 0x00, 0x41, 0x00, 0x41, 0x00, 0x0b),
	         "constant expression required");
	raw_case("global_extended_const", B(HDR, 0x06, 0x09, 0x01, 0x7f, 0x00, 0x41, 0x00, 0x41, 0x00, 0x6a, 0x0b),
	         "constant expression required");
	raw_case("global_init_type", B(HDR, 0x06, 0x06, 0x01, 0x7f, 0x00, 0x42, 0x00, 0x0b), "expected i32, got i64");
	raw_case("global_get_defined",
	         B(HDR, 0x06, 0x0b, 0x02, 0x7f, 0x00, 0x41, 0x00, 0x0b, 0x7f, 0x00, 0x23, 0x00, 0x0b),
	         "may only read imported globals");
	raw_case("export_duplicate",
	         B(HDR, 0x05, 0x03, 0x01, 0x00, 0x01, 0x07, 0x09, 0x02, 0x01, 'm', 0x02, 0x00, 0x01, 'm', 0x02, 0x00),
	         "duplicate export name");
	raw_case("export_unknown", B(HDR, 0x07, 0x05, 0x01, 0x01, 'f', 0x00, 0x00), "unknown function");
	raw_case("export_kind", B(HDR, 0x07, 0x05, 0x01, 0x01, 'f', 0x05, 0x00), "malformed export kind");
	raw_case("start_type",
	         B(HDR, 0x01, 0x05, 0x01, 0x60, 0x01, 0x7f, 0x00, 0x03, 0x02, 0x01, 0x00, 0x08, 0x01, 0x00, 0x0a, 0x04,
	           0x01, 0x02, 0x00, 0x0b),
	         "start function must have type [] -> []");
	raw_case("elem_no_table",
	         B(HDR, 0x01, 0x04, 0x01, 0x60, 0x00, 0x00, 0x03, 0x02, 0x01, 0x00, 0x09, 0x07, 0x01, 0x00, 0x41, 0x00,
	           0x0b, 0x01, 0x00, 0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b),
	         "unknown table");
	raw_case("ok_elem_passive_exprs",
	         B(HDR, 0x01, 0x04, 0x01, 0x60, 0x00, 0x00, 0x03, 0x02, 0x01, 0x00, 0x04, 0x04, 0x01, 0x70, 0x00, 0x01,
	           0x09, 0x0a, 0x01, 0x05, 0x70, 0x02, 0xd2, 0x00, 0x0b, 0xd0, 0x70, 0x0b, 0x0a, 0x04, 0x01, 0x02, 0x00,
	           0x0b),
	         NULL);
	raw_case("elem_externref",
	         B(HDR, 0x04, 0x04, 0x01, 0x70, 0x00, 0x01, 0x09, 0x07, 0x01, 0x05, 0x6f, 0x01, 0xd0, 0x6f, 0x0b),
	         "reference types (externref segment)");
	raw_case("data_no_memory", B(HDR, 0x0b, 0x07, 0x01, 0x00, 0x41, 0x00, 0x0b, 0x01, 'x'), "unknown memory");
	raw_case("data_kind", B(HDR, 0x0b, 0x04, 0x01, 0x03, 0x00, 0x00), "malformed data segment kind");
	raw_case("datacount_mismatch",
	         B(HDR, 0x05, 0x03, 0x01, 0x00, 0x01, 0x0c, 0x01, 0x02, 0x0b, 0x04, 0x01, 0x01, 0x01, 'x'),
	         "data count and data section have inconsistent lengths");
	raw_case("tag_import", B(HDR, 0x02, 0x06, 0x01, 0x01, 'm', 0x01, 't', 0x04), "exception handling");
	{
		/* Implementation limits on types and names, and duplicate detection among many exports. */
		struct mb m = { 0 }, c = { 0 }, mem = { 0 };
		const struct mb *sec[13] = { 0 };
		struct wa_gate_config vo = vo_cfg();
		mb_bytes(&mem, B(0x01, 0x00, 0x01));
		for (unsigned extra = 0; extra < 2; extra++) {
			mb_reset(&c);
			mb_bytes(&c, B(0x01, 0x60));
			mb_u32(&c, WA_MAX_FUNC_ARITY + extra);
			for (unsigned i = 0; i < WA_MAX_FUNC_ARITY + extra; i++) mb_u8(&c, 0x7f);
			mb_u8(&c, 0x00);
			sec[1] = &c;
			mb_module(&m, sec);
			expect(extra ? "too_many_params" : "ok_max_params", &m, &vo,
			       extra ? "function type with 17 parameters (implementation limit 16)" : NULL);
			/* Results count too: half and half, plus one. */
			mb_reset(&c);
			mb_bytes(&c, B(0x01, 0x60));
			mb_u32(&c, WA_MAX_FUNC_ARITY / 2);
			for (unsigned i = 0; i < WA_MAX_FUNC_ARITY / 2; i++) mb_u8(&c, 0x7f);
			mb_u32(&c, WA_MAX_FUNC_ARITY / 2 + extra);
			for (unsigned i = 0; i < WA_MAX_FUNC_ARITY / 2 + extra; i++) mb_u8(&c, 0x7e);
			mb_module(&m, sec);
			expect(extra ? "too_many_params_results" : "ok_max_params_results", &m, &vo,
			       extra ? "function type with 17 parameters and results (implementation limit 16)" : NULL);
		}
		sec[1] = NULL;
		for (unsigned extra = 0; extra < 2; extra++) {
			mb_reset(&c);
			mb_u8(&c, 0x01);
			mb_u32(&c, WA_MAX_NAME_BYTES + extra);
			for (unsigned i = 0; i < WA_MAX_NAME_BYTES + extra; i++) mb_u8(&c, 'n');
			mb_bytes(&c, B(0x02, 0x00));
			sec[7] = &c;
			sec[5] = &mem;
			mb_module(&m, sec);
			expect(extra ? "name_too_long" : "ok_long_name", &m, &vo,
			       extra ? "name too long (implementation limit" : NULL);
		}
		/* 3000 distinct exports of the memory, then one repeating the first. */
		mb_reset(&c);
		mb_u32(&c, 3001);
		for (unsigned i = 0; i <= 3000; i++) {
			char name[16];
			snprintf(name, sizeof name, "m%u", i == 3000 ? 0 : i);
			mb_name(&c, name);
			mb_bytes(&c, B(0x02, 0x00));
		}
		mb_module(&m, sec);
		expect("export_duplicate_many", &m, &vo, "duplicate export name");
		mb_free(&m);
		mb_free(&c);
		mb_free(&mem);
	}
}

/* ---- caps and ABI rules ---------------------------------------------------------------------- */

static void pol_expect(const char *name, struct pol *p, const struct wa_gate_config *cfg, const char *want)
{
	struct mb m = { 0 };
	pol_build(p, &m);
	expect(name, &m, cfg, want);
	mb_free(&m);
}

/* pol_build() plus a "name" custom section naming the given functions (index, name pairs). */
static void pol_expect_named(const char *name, struct pol *p, const struct wa_gate_config *cfg, const char *want, int n,
                             ...)
{
	struct mb m = { 0 }, names = { 0 }, sub = { 0 }, sec = { 0 };
	va_list ap;

	pol_build(p, &m);
	mb_u32(&sub, (uint32_t)n);
	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		mb_u32(&sub, (uint32_t)va_arg(ap, int));
		mb_name(&sub, va_arg(ap, const char *));
	}
	va_end(ap);
	mb_u8(&names, 0x01);
	mb_u32(&names, (uint32_t)sub.n);
	mb_bytes(&names, sub.b, sub.n);
	mb_name(&sec, "name");
	mb_bytes(&sec, names.b, names.n);
	mb_section(&m, 0x00, &sec);
	expect(name, &m, cfg, want);
	mb_free(&m);
	mb_free(&names);
	mb_free(&sub);
	mb_free(&sec);
}

/* Function 6 of the reference policy (type 7, ()->()) calls import 0 twice; with second_caller,
 * function 5 calls it too. */
static void calls_import(struct pol *p, bool second_caller)
{
	struct mb *c = pol_set(p, 10);
	mb_u32(c, 6);
	mb_body(c, B(0x00, 0x41, 0x01, 0x0b));
	mb_body(c, B(0x00, 0x41, 0x10, 0x0b));
	mb_body(c, B(0x00, 0x41, 0x01, 0x0b));
	mb_body(c, B(0x00, 0x41, 0x00, 0x0b));
	if (second_caller)
		mb_body(c, B(0x00, 0x10, 0x00, 0x41, 0x00, 0x0b));
	else
		mb_body(c, B(0x00, 0x41, 0x00, 0x0b));
	mb_body(c, B(0x00, 0x10, 0x00, 0x10, 0x00, 0x0b));
}

/* A refused import names its callers (from the name section, else an export, else the index),
 * says what to use instead and what is allowed. */
static void test_import_advice(struct pol *p, const struct wa_gate_config *cfg)
{
	char many[200];

	imports(pol_set(p, 2), 1, "env", "console.log", 7);
	calls_import(p, false);
	pol_expect("import_console_log", p, cfg,
	           "import section: import env.console.log not allowed (called from function 6): log with log() or "
	           "logAt() from the SDK; allowed: the host functions listed in docs/ABI.md");
	pol_expect_named("import_console_log_named", p, cfg,
	                 "import env.console.log not allowed (called from policy/helper): log with log() or logAt() "
	                 "from the SDK; allowed: ",
	                 2, 0, "~lib/bindings/dom/console.log", 6, "policy/helper");
	/* Hostile names: control and non-ASCII bytes become '?', long ones are cut. */
	pol_expect_named("import_caller_name_hostile", p, cfg, "(called from a?b??c?): ", 1, 6,
	                 "a\nb\xc3\xa9"
	                 "c\x1b");
	memset(many, 'n', sizeof many - 1);
	many[sizeof many - 1] = '\0';
	pol_expect_named("import_caller_name_long", p, cfg,
	                 "(called from nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn...): ", 1, 6, many);
	/* A malformed name section is ignored: the message falls back to the index. Not saved for
	 * the cross-check: wasm-validate rejects malformed name sections, which the spec leaves to
	 * be ignored. */
	{
		struct mb m = { 0 }, sec = { 0 };
		char err[WA_GATE_ERR_LEN];
		pol_build(p, &m);
		mb_name(&sec, "name");
		mb_bytes(&sec, B(0x01, 0x7f, 0x05, 0x06, 0x10, 'x'));
		mb_section(&m, 0x00, &sec);
		checks++;
		if (wa_gate_check(m.b, m.n, cfg, NULL, err, sizeof err) == 0 ||
		    !strstr(err, "(called from function 6): ")) {
			failf("import_names_malformed", "message \"%s\"", err);
		}
		mb_free(&m);
		mb_free(&sec);
	}
	/* Callers that are exports are named by their export. */
	calls_import(p, true);
	exports(pol_set(p, 7), 5, "memory", 2, 0, "wasm_auth_abi_version", 0, 1, "wasm_auth_buffer", 0, 2, "acl_check",
	        0, 3, "plugin_cleanup", 0, 6);
	pol_expect("import_two_callers", p, cfg, "(called from function 5, plugin_cleanup): ");
	exports(pol_set(p, 7), 4, "memory", 2, 0, "wasm_auth_abi_version", 0, 1, "wasm_auth_buffer", 0, 2, "acl_check",
	        0, 3);
	calls_import(p, false);
	imports(pol_set(p, 2), 1, "env", "performance.now", 7);
	pol_expect("import_performance_now", p, cfg,
	           "import env.performance.now not allowed (called from function 6): for the time use Date.now() "
	           "(env.Date.now); allowed: ");
	imports(pol_set(p, 2), 1, "env", "process.exit", 7);
	pol_expect("import_process_exit", p, cfg,
	           "not allowed (called from function 6): a policy cannot exit: return a Decision, or throw to fail "
	           "the request; allowed: ");
	imports(pol_set(p, 2), 1, "wasi_snapshot_preview1", "fd_write", 7);
	pol_expect("import_wasi", p, cfg,
	           "import wasi_snapshot_preview1.fd_write not allowed (called from function 6): WASI is not available "
	           "to a policy");
	imports(pol_set(p, 2), 1, "mosquitto", "client_adress", 7);
	pol_expect("import_misspelt", p, cfg,
	           "import mosquitto.client_adress not allowed (called from function 6): did you mean "
	           "mosquitto.client_address?; allowed: ");
	imports(pol_set(p, 2), 1, "env", "nothing_like_it", 7);
	pol_expect("import_no_advice", p, cfg,
	           "import env.nothing_like_it not allowed (called from function 6): allowed: mosquitto.{"
	           "topic_matches_sub,log,client_id,client_address,client_protocol_version,pw_verify,option_file_size,"
	           "option_file_read,option_file_read_at,kick_client,kick_user,publish,jwt_verify,message_set_topic,"
	           "message_set_payload,message_set_retain,set_reason,reasons_wanted,auth_data_out,sha256,hmac_sha256,"
	           "pbkdf2_sha256,subscribe_set_topic,subscribe_set_qos} env.{abort,trace,seed,Date.now}");
	/* A long import name is cut so the message still fits one log line. */
	memset(many, 'x', sizeof many - 1);
	imports(pol_set(p, 2), 1, "env", many, 7);
	pol_expect("import_long_name", p, cfg,
	           "import env.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx... not allowed (called from function "
	           "6): allowed: the host functions listed in docs/ABI.md");
	pol_free(p);
	pol_init(p);
}

/* wasm_auth_acl_cacheable with an import whose answer changes between calls is refused; with
 * the other imports (the client id is part of the cache's key) it is accepted. */
static void test_cacheable_purity(struct pol *p, const struct wa_gate_config *cfg)
{
	static const struct {
		const char *module, *name;
		int type;
	} varying[] = {
		{ "env", "Date.now", 8 },
		{ "env", "seed", 8 },
		{ "mosquitto", "client_address", 9 },
		{ "mosquitto", "client_protocol_version", 0 },
	};
	char want[256];

	pol_free(p);
	pol_init(p);
	/* Type 8 is ()->f64, type 9 (i32,i32)->i32, added to the reference types. */
	mb_reset(&p->sec[1]);
	mb_u32(&p->sec[1], 10);
	mb_bytes(&p->sec[1], B(0x60, 0x00, 0x01, 0x7f, 0x60, 0x01, 0x7f, 0x01, 0x7f, 0x60, 0x04, 0x7f, 0x7f, 0x7f, 0x7f,
	                       0x01, 0x7f, 0x60, 0x04, 0x7f, 0x7f, 0x7f, 0x7f, 0x00, 0x60, 0x01, 0x7f, 0x00, 0x60, 0x03,
	                       0x7f, 0x7f, 0x7f, 0x01, 0x7f, 0x60, 0x07, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x01,
	                       0x7f, 0x60, 0x00, 0x00, 0x60, 0x00, 0x01, 0x7c, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f));
	exports(pol_set(p, 7), 5, "memory", 2, 0, "wasm_auth_abi_version", 0, 1, "wasm_auth_buffer", 0, 2, "acl_check",
	        0, 3, "wasm_auth_acl_cacheable", 0, 1);
	for (size_t i = 0; i < sizeof varying / sizeof varying[0]; i++) {
		char name[64];
		imports(pol_set(p, 2), 1, varying[i].module, varying[i].name, varying[i].type);
		snprintf(name, sizeof name, "cacheable_imports_%s", varying[i].name);
		snprintf(want, sizeof want,
		         "export section: exports wasm_auth_acl_cacheable but imports %s.%s, whose answer (",
		         varying[i].module, varying[i].name);
		pol_expect(name, p, cfg, want);
	}
	imports(pol_set(p, 2), 1, "env", "Date.now", 8);
	pol_expect(
	    "cacheable_imports_Date.now_full", p, cfg,
	    "export section: exports wasm_auth_acl_cacheable but imports env.Date.now, whose answer (the time) changes "
	    "between calls; a cached decision would be wrong: remove the export or the import");
	/* Without the export the same import is fine, and so are the pure imports with it. */
	exports(pol_set(p, 7), 4, "memory", 2, 0, "wasm_auth_abi_version", 0, 1, "wasm_auth_buffer", 0, 2, "acl_check",
	        0, 3);
	pol_expect("not_cacheable_imports_Date.now", p, cfg, NULL);
	exports(pol_set(p, 7), 5, "memory", 2, 0, "wasm_auth_abi_version", 0, 1, "wasm_auth_buffer", 0, 2, "acl_check",
	        0, 3, "wasm_auth_acl_cacheable", 0, 1);
	imports(pol_set(p, 2), 1, "mosquitto", "client_id", 9);
	pol_expect("cacheable_pure_imports", p, cfg, NULL);
	pol_free(p);
	pol_init(p);
}

static void test_policy(void)
{
	struct wa_gate_config cfg = full_cfg();
	struct wa_gate_report rep;
	char err[WA_GATE_ERR_LEN];
	struct mb m = { 0 };
	struct pol p;

	/* The reference policy is accepted and reported. */
	pol_init(&p);
	pol_build(&p, &m);
	expect("policy_ok", &m, &cfg, NULL);
	checks++;
	if (wa_gate_check(m.b, m.n, &cfg, &rep, err, sizeof err) || rep.hooks != (1u << WA_HOOK_ACL_CHECK) ||
	    rep.hook_sig[WA_HOOK_ACL_CHECK] != 0 || rep.functions != 7 || rep.imports != 1 || rep.memory_pages != 1) {
		failf("policy_report", "hooks %#x sig %u functions %u imports %u pages %u", rep.hooks,
		      rep.hook_sig[WA_HOOK_ACL_CHECK], rep.functions, rep.imports, rep.memory_pages);
	}
	/* Every section's byte count is part of the module: a one-byte-smaller cap refuses it. */
	cfg.caps.max_module_bytes = (uint32_t)m.n - 1;
	expect("cap_module_bytes", &m, &cfg, "above the cap of");
	cfg = full_cfg();
	pol_free(&p);

	/* The long form of acl_check and lifecycle hooks are recognised. */
	pol_init(&p);
	exports(pol_set(&p, 7), 5, "memory", 2, 0, "wasm_auth_abi_version", 0, 1, "wasm_auth_buffer", 0, 2, "acl_check",
	        0, 5, "plugin_cleanup", 0, 6);
	pol_build(&p, &m);
	checks++;
	if (wa_gate_check(m.b, m.n, &cfg, &rep, err, sizeof err) ||
	    rep.hooks != ((1u << WA_HOOK_ACL_CHECK) | (1u << WA_HOOK_PLUGIN_CLEANUP)) ||
	    rep.hook_sig[WA_HOOK_ACL_CHECK] != 1) {
		failf("policy_long_acl", "rc/err \"%s\" hooks %#x sig %u", err, rep.hooks,
		      rep.hook_sig[WA_HOOK_ACL_CHECK]);
	}
	pol_free(&p);

	/* Imports */
	pol_init(&p);
	imports(pol_set(&p, 2), 1, "mosquitto", "foo", 4);
	pol_expect(
	    "import_unknown", &p, &cfg,
	    "import section: import mosquitto.foo not allowed: not a host function of this ABI (an SDK newer than this "
	    "host?); "
	    /* The list (mosquitto.{topic_matches_sub,...,subscribe_set_topic,subscribe_set_qos}
	     * env.{abort,trace,seed,Date.now}) no longer fits IMPORT_REASON_BUDGET. */
	    "allowed: the host functions listed in docs/ABI.md");
	/* Names are quoted into a log line: control characters must not start another one. */
	imports(pol_set(&p, 2), 1, "\nnv", "ab\rort\x7f", 4);
	pol_expect("import_name_control_chars", &p, &cfg, "import ?nv.ab?ort? not allowed");
	test_import_advice(&p, &cfg);
	imports(pol_set(&p, 2), 1, "env", "abort", 4);
	pol_expect("import_signature", &p, &cfg,
	           "import env.abort has type (i32)->() but the host provides (i32,i32,i32,i32)->()");
	imports(pol_set(&p, 2), 1, "mosquitto", "client_protocol_version", 7);
	pol_expect("import_signature_result", &p, &cfg,
	           "import mosquitto.client_protocol_version has type ()->() but the host provides ()->i32");
	{
		struct mb *c = pol_set(&p, 2);
		mb_bytes(c, B(0x02));
		mb_name(c, "env");
		mb_name(c, "abort");
		mb_bytes(c, B(0x00, 0x03));
		mb_name(c, "env");
		mb_name(c, "memory");
		mb_bytes(c, B(0x02, 0x00, 0x01));
		p.has[5] = false; /* the imported memory is the only one */
		pol_expect("import_memory", &p, &cfg, "import env.memory: imported memories are not allowed");
		p.has[5] = true;
		c = pol_set(&p, 2);
		mb_bytes(c, B(0x02));
		mb_name(c, "env");
		mb_name(c, "abort");
		mb_bytes(c, B(0x00, 0x03));
		mb_name(c, "env");
		mb_name(c, "g");
		mb_bytes(c, B(0x03, 0x7f, 0x00));
		pol_expect("import_global", &p, &cfg, "import env.g: imported globals are not allowed");
		c = pol_set(&p, 2);
		mb_bytes(c, B(0x02));
		mb_name(c, "env");
		mb_name(c, "abort");
		mb_bytes(c, B(0x00, 0x03));
		mb_name(c, "env");
		mb_name(c, "t");
		mb_bytes(c, B(0x01, 0x70, 0x00, 0x01));
		pol_expect("import_table", &p, &cfg, "import env.t: imported tables are not allowed");
	}
	pol_free(&p);

	/* Required exports and hooks */
	pol_init(&p);
	exports(pol_set(&p, 7), 3, "wasm_auth_abi_version", 0, 1, "wasm_auth_buffer", 0, 2, "acl_check", 0, 3);
	pol_expect("no_memory_export", &p, &cfg, "must export its memory as \"memory\"");
	exports(pol_set(&p, 7), 3, "memory", 2, 0, "wasm_auth_buffer", 0, 2, "acl_check", 0, 3);
	pol_expect("no_abi_version", &p, &cfg, "missing export wasm_auth_abi_version");
	exports(pol_set(&p, 7), 4, "memory", 2, 0, "wasm_auth_abi_version", 0, 2, "wasm_auth_buffer", 0, 2, "acl_check",
	        0, 3);
	pol_expect("abi_version_signature", &p, &cfg,
	           "export wasm_auth_abi_version has type (i32)->i32 but the host calls it as ()->i32");
	exports(pol_set(&p, 7), 3, "memory", 2, 0, "wasm_auth_abi_version", 0, 1, "acl_check", 0, 3);
	pol_expect("no_buffer", &p, &cfg, "missing export wasm_auth_buffer");
	/* A constant version other than 1 is seen without running it. */
	exports(pol_set(&p, 7), 4, "memory", 2, 0, "wasm_auth_abi_version", 0, 1, "wasm_auth_buffer", 0, 2, "acl_check",
	        0, 3);
	{
		struct mb *c = pol_set(&p, 10);
		mb_u32(c, 6);
		mb_body(c, B(0x00, 0x41, 0x10, 0x0b));
		for (int i = 0; i < 3; i++) mb_body(c, B(0x00, 0x41, 0x00, 0x0b));
		mb_body(c, B(0x00, 0x41, 0x00, 0x0b));
		mb_body(c, B(0x00, 0x0b));
		pol_expect("abi_version_constant", &p, &cfg,
		           "built for ABI 16, this plugin speaks 1 (wasm_auth_abi_version returns 16: build with an "
		           "SDK for ABI 1)");
		pol_free(&p);
		pol_init(&p);
	}
	exports(pol_set(&p, 7), 4, "memory", 2, 0, "wasm_auth_abi_version", 0, 1, "wasm_auth_buffer", 0, 2, "acl_check",
	        0, 4);
	pol_expect("hook_signature", &p, &cfg,
	           "export acl_check has type (i32,i32,i32)->i32 but the host calls it as (i32,i32,i32,i32)->i32 or "
	           "(i32,i32,i32,i32,i32,i32,i32)->i32");
	exports(pol_set(&p, 7), 4, "memory", 2, 0, "wasm_auth_abi_version", 0, 1, "wasm_auth_buffer", 0, 2, "acl_check",
	        2, 0);
	pol_expect("hook_not_function", &p, &cfg, "export acl_check must be a function");
	/* The optional wasm_auth_acl_cacheable: exactly ()->i32. */
	exports(pol_set(&p, 7), 5, "memory", 2, 0, "wasm_auth_abi_version", 0, 1, "wasm_auth_buffer", 0, 2, "acl_check",
	        0, 3, "wasm_auth_acl_cacheable", 0, 2);
	pol_expect("acl_cacheable_signature", &p, &cfg,
	           "export wasm_auth_acl_cacheable has type (i32)->i32 but the host calls it as ()->i32");
	exports(pol_set(&p, 7), 5, "memory", 2, 0, "wasm_auth_abi_version", 0, 1, "wasm_auth_buffer", 0, 2, "acl_check",
	        0, 3, "wasm_auth_acl_cacheable", 0, 1);
	pol_build(&p, &m);
	checks++;
	if (wa_gate_check(m.b, m.n, &cfg, &rep, err, sizeof err)) {
		failf("acl_cacheable_accepted", "rc/err \"%s\"", err);
	}
	test_cacheable_purity(&p, &cfg);
	exports(pol_set(&p, 7), 4, "memory", 2, 0, "wasm_auth_abi_version", 0, 1, "wasm_auth_buffer", 0, 2,
	        "plugin_cleanup", 0, 6);
	pol_expect("no_request_hook", &p, &cfg, "no request hook exported");
	exports(pol_set(&p, 7), 5, "memory", 2, 0, "wasm_auth_abi_version", 0, 1, "wasm_auth_buffer", 0, 2, "acl_check",
	        0, 3, "__wasm_auth_fuel", 0, 6);
	pol_expect("reserved_export", &p, &cfg,
	           "export __wasm_auth_fuel uses the prefix __wasm_auth_ reserved for the host");
	pol_free(&p);

	/* Caps */
	pol_init(&p);
	mb_bytes(pol_set(&p, 5), B(0x01, 0x00, 0xac, 0x02)); /* 300 pages */
	pol_expect("cap_memory_initial", &p, &cfg, "initial memory of 300 pages exceeds wasm_max_memory_pages 256");
	mb_bytes(pol_set(&p, 5), B(0x01, 0x01, 0x01, 0xe8, 0x07)); /* max 1000 */
	pol_expect("cap_memory_max", &p, &cfg,
	           "declared memory maximum of 1000 pages exceeds wasm_max_memory_pages 256");
	mb_bytes(pol_set(&p, 5), B(0x01, 0x01, 0x01, 0x80, 0x02)); /* max 256: at the cap */
	pol_expect("cap_memory_max_ok", &p, &cfg, NULL);
	cfg.caps.max_memory_pages = 0;
	pol_expect("cap_memory_option", &p, &cfg, "initial memory of 1 pages exceeds wasm_max_memory_pages 0");
	cfg = full_cfg();
	mb_bytes(pol_set(&p, 4), B(0x01, 0x70, 0x00, 0x91, 0x4e)); /* 10001 */
	pol_expect("cap_table", &p, &cfg, "table of 10001 elements exceeds the cap of 10000");
	p.has[4] = false;
	cfg.caps.max_functions = 6;
	pol_expect("cap_functions", &p, &cfg, "7 functions exceed the cap of 6");
	cfg = full_cfg();
	mb_bytes(pol_set(&p, 6), B(0x01, 0x7f, 0x01, 0x41, 0x00, 0x0b));
	cfg.caps.max_globals = 0;
	pol_expect("cap_globals", &p, &cfg, "1 globals exceed the cap of 0");
	cfg = full_cfg();
	p.has[6] = false;
	mb_bytes(pol_set(&p, 11), B(0x02, 0x00, 0x41, 0x00, 0x0b, 0x03, 'a', 'b', 'c', 0x01, 0x02, 'd', 'e'));
	cfg.caps.max_data_bytes = 4;
	pol_expect("cap_data", &p, &cfg, "5 bytes of data segments exceed the cap of 4");
	cfg.caps.max_data_bytes = 5;
	pol_expect("cap_data_ok", &p, &cfg, NULL);
	pol_free(&p);
	mb_free(&m);
}

/* ---- metering --------------------------------------------------------------------------------- */

static const struct wa_export *find_export(const struct wa_module *m, const char *name)
{
	for (uint32_t i = 0; i < m->nexports; i++) {
		if (m->exports[i].name_len == strlen(name) && !memcmp(m->exports[i].name, name, strlen(name)))
			return &m->exports[i];
	}
	return NULL;
}

static void test_meter(void)
{
	char err[WA_GATE_ERR_LEN];
	struct wa_err e = { err, sizeof err, false };
	struct mb m = { 0 };
	struct pol p;
	uint8_t *out;
	size_t outlen;
	struct wa_module before, after;
	const struct wa_export *ex;

	/* The fuel global is appended after the existing ones and exported; nothing else moves. */
	pol_init(&p);
	mb_bytes(pol_set(&p, 6), B(0x02, 0x7f, 0x01, 0x41, 0x00, 0x0b, 0x7e, 0x00, 0x42, 0x05, 0x0b));
	pol_build(&p, &m);
	checks++;
	if (wa_gate_meter(m.b, m.n, &out, &outlen, NULL, err, sizeof err)) {
		failf("meter_policy", "%s", err);
	} else {
		save("meter_policy.metered", out, outlen);
		if (wa_module_decode(m.b, m.n, false, &before, &e) || wa_module_decode(out, outlen, true, &after, &e)) {
			failf("meter_policy", "decode: %s", err);
		} else {
			ex = find_export(&after, WA_FUEL_GLOBAL);
			if (!ex || ex->kind != 3 || ex->index != before.nglobals ||
			    after.nglobals != before.nglobals + 1 || after.globals[ex->index].type != WA_T_I64 ||
			    !after.globals[ex->index].mut) {
				failf("meter_policy", "fuel global missing or wrong");
			}
			if (after.nfuncs != before.nfuncs || after.nexports != before.nexports + 1 ||
			    after.ntypes != before.ntypes) {
				failf("meter_policy", "index spaces changed");
			}
			for (uint32_t i = 0; i < before.nglobals; i++) {
				if (after.globals[i].type != before.globals[i].type ||
				    after.globals[i].mut != before.globals[i].mut) {
					failf("meter_policy", "global %u changed", i);
				}
			}
		}
		/* The metered policy still passes the full gate except for the reserved name. */
		{
			struct wa_gate_config cfg = full_cfg();
			checks++;
			if (!wa_gate_check(out, outlen, &cfg, NULL, err, sizeof err) ||
			    !strstr(err, "reserved for the host")) {
				failf("meter_policy_reserved", "metered module: %s", err);
			}
		}
		wa_module_free(&before);
		wa_module_free(&after);
		free(out);
	}
	pol_free(&p);

	/* No global or export section: both are created, in order, before the datacount/code. */
	{
		struct mb body = { 0 };
		mb_bytes(&body, B(0x00, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b));
		fn_module(&m, B(T_VOID), body.b, body.n, WITH_MEMORY | WITH_DATACOUNT);
		expect("meter_new_sections", &m, &(struct wa_gate_config){ .validate_only = true }, NULL);
		mb_free(&body);
	}

	/* Refusals: a module that already has the fuel export, an invalid module. */
	checks++;
	mb_reset(&m);
	mb_bytes(&m, B(HDR, 0x06, 0x06, 0x01, 0x7e, 0x01, 0x42, 0x00, 0x0b, 0x07, 0x14, 0x01, 0x10, '_', '_', 'w', 'a',
	               's', 'm', '_', 'a', 'u', 't', 'h', '_', 'f', 'u', 'e', 'l', 0x03, 0x00));
	if (!wa_gate_meter(m.b, m.n, &out, &outlen, NULL, err, sizeof err) ||
	    !strstr(err, "already exports __wasm_auth_fuel")) {
		failf("meter_already_metered", "%s", err);
		if (out) free(out);
	}
	checks++;
	mb_reset(&m);
	mb_bytes(&m, B(HDR, 0x0d, 0x00));
	if (!wa_gate_meter(m.b, m.n, &out, &outlen, NULL, err, sizeof err) || out != NULL) {
		failf("meter_invalid", "accepted an invalid module");
	}
	mb_free(&m);
}

/* ---- robustness -------------------------------------------------------------------------------- */

static void test_robustness(void)
{
	struct wa_gate_config cfg = full_cfg(), vo = vo_cfg();
	char err[WA_GATE_ERR_LEN], err2[WA_GATE_ERR_LEN];
	struct mb m = { 0 };
	struct pol p;
	uint8_t *copy;

	pol_init(&p);
	mb_bytes(pol_set(&p, 11), B(0x01, 0x00, 0x41, 0x00, 0x0b, 0x02, 'h', 'i'));
	mb_bytes(pol_set(&p, 12), B(0x01));
	pol_build(&p, &m);
	pol_free(&p);
	/* Every strict prefix is refused (the data section ends the module and the datacount
	 * section makes it mandatory); each is a fresh
	 * allocation of exactly that size, so ASan sees any read past the end. */
	for (size_t n = 0; n < m.n; n++) {
		copy = malloc(n ? n : 1);
		memcpy(copy, m.b, n);
		checks++;
		if (wa_gate_check(copy, n, &cfg, NULL, err, sizeof err) == 0)
			failf("truncation", "prefix of %zu bytes accepted", n);
		free(copy);
	}
	/* Every single-byte corruption: no crash, and the same verdict twice. */
	for (size_t i = 0; i < m.n; i++) {
		for (unsigned v = 0; v < 256; v += 17) {
			int a, b;
			copy = malloc(m.n);
			memcpy(copy, m.b, m.n);
			copy[i] ^= (uint8_t)(v | 1);
			a = wa_gate_check(copy, m.n, &vo, NULL, err, sizeof err);
			b = wa_gate_check(copy, m.n, &vo, NULL, err2, sizeof err2);
			checks++;
			if (a != b || strcmp(err, err2))
				failf("corruption", "byte %zu ^ %u: verdict changed", i, v | 1);
			if (a == 0) {
				uint8_t *out;
				size_t outlen;
				if (wa_gate_meter(copy, m.n, &out, &outlen, NULL, err, sizeof err) == 0) {
					if (wa_gate_check(out, outlen, &vo, NULL, err, sizeof err))
						failf("corruption", "byte %zu: metered output invalid: %s", i, err);
					free(out);
				}
			}
			free(copy);
		}
	}
	/* A tiny error buffer truncates the message but never overflows. */
	{
		char tiny[8];
		checks++;
		if (wa_gate_check(m.b, 3, &cfg, NULL, tiny, sizeof tiny) == 0 || strlen(tiny) >= sizeof tiny)
			failf("tiny_err", "bad");
		if (wa_gate_check(m.b, 3, &cfg, NULL, NULL, 0) == 0) failf("null_err", "accepted");
	}
	mb_free(&m);
}

int main(void)
{
	out_dir = getenv("GATE_TEST_OUT");
	test_bodies();
	test_module_level();
	test_policy();
	test_meter();
	test_robustness();
	printf("test_gate: %d checks, %d failures\n", checks, failures);
	return failures ? 1 : 0;
}
