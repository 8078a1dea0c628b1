/* Internal interface shared by the gate's files (decoder, body validator, ABI rules, metering).
 * Nothing here keeps state between calls: every function works on the caller's structs, so
 * the gate stays a pure function of (bytes, config). */
#ifndef WASM_AUTH_GATE_INTERNAL_H
#define WASM_AUTH_GATE_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "gate.h"

/* Value types in the feature profile (reference types are out of it). */
#define WA_T_I32       0x7f
#define WA_T_I64       0x7e
#define WA_T_F32       0x7d
#define WA_T_F64       0x7c
#define WA_T_FUNCREF   0x70 /* only as a table element type */
#define WA_T_EXTERNREF 0x6f /* never accepted: reference types */
#define WA_T_ANY       0x00 /* validator: unknown type on a polymorphic stack */

#define WA_PAGE_LIMIT 65536u

/* What metering adds to a function (meter.c): one `if` frame and two operands on top of
 * whatever the stack holds where a charge goes (a function's entry, before a branch to a loop,
 * before an instruction priced by its operand). The gate leaves that room below wasm3's limits,
 * so every module it accepts still loads once metered. A function with an instruction priced by
 * its operand (memory.fill/copy/init/grow, table.copy/init) also gets one i32 local, after all
 * of its own: the metered module may have WA_MAX_LOCALS_PER_FUNC + WA_METER_EXTRA_LOCALS
 * (test_meter checks that wasm3 still compiles the worst case). */
#define WA_METER_EXTRA_FRAMES   1u
#define WA_METER_EXTRA_OPERANDS 2u
#define WA_METER_EXTRA_LOCALS   1u
#define WA_GATE_MAX_FRAMES      (WA_MAX_BLOCK_DEPTH - WA_METER_EXTRA_FRAMES) /* function frame included */
/* the spec's ceiling for 32-bit memories */
#define WA_GATE_MAX_OPERANDS (WA_MAX_OPERAND_STACK - WA_METER_EXTRA_OPERANDS)

/* First error wins: later failures on the way out do not overwrite it. */
struct wa_err {
	char *buf;
	size_t len;
	bool set;
};

void wa_err_set(struct wa_err *e, const char *where, uint32_t func, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void wa_err_vset(struct wa_err *e, const char *where, uint32_t func, size_t off, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));
#define WA_NO_FUNC UINT32_MAX
#define WA_NO_OFF  SIZE_MAX

/* Cursor over a byte range of the module; pos is an absolute file offset. */
struct wa_rd {
	const uint8_t *buf;
	size_t pos;
	size_t end;
};

/* Each returns 0 on success, or -1 with *why set to a static spec-style reason. */
int wa_rd_u8(struct wa_rd *r, uint8_t *v, const char **why);
int wa_rd_u32(struct wa_rd *r, uint32_t *v, const char **why);
int wa_rd_s32(struct wa_rd *r, int32_t *v, const char **why);
int wa_rd_s33(struct wa_rd *r, int64_t *v, const char **why);
int wa_rd_s64(struct wa_rd *r, int64_t *v, const char **why);
int wa_rd_bytes(struct wa_rd *r, size_t n, const uint8_t **p, const char **why);
int wa_rd_name(struct wa_rd *r, const uint8_t **p, uint32_t *len, const char **why);

struct wa_functype {
	uint32_t nparams, nresults;
	const uint8_t *params, *results; /* point into the module bytes; each byte a WA_T_* */
};

struct wa_limits {
	uint32_t min, max;
	bool has_max;
};

struct wa_global {
	uint8_t type;
	bool mut;
	bool imported;
};

struct wa_import {
	const uint8_t *module, *name;
	uint32_t module_len, name_len;
	uint8_t kind;   /* 0 func, 1 table, 2 memory, 3 global */
	uint32_t index; /* func: type index */
	size_t offset;
};

struct wa_export {
	const uint8_t *name;
	uint32_t name_len;
	uint8_t kind;
	uint32_t index;
	size_t offset;
};

/* The first functions found calling an imported function, so a refusal can name them. Calls
 * from one function are validated together, so comparing with the last one recorded is enough
 * to keep each caller once. */
#define WA_GATE_CALLERS 2
struct wa_callers {
	uint32_t func[WA_GATE_CALLERS];
	uint32_t n;    /* recorded, at most WA_GATE_CALLERS */
	uint32_t more; /* distinct callers beyond those */
	uint32_t last; /* the caller seen last (valid when n > 0) */
};

struct wa_body {
	size_t offset; /* first byte after the size: the locals vector */
	size_t size;
};

/* Where each known section lies, for the metering rewrite. */
struct wa_section_pos {
	size_t start;   /* offset of the id byte; 0 = absent */
	size_t content; /* first content byte */
	size_t end;     /* one past the last content byte */
};

struct wa_module {
	const uint8_t *bytes;
	size_t len;
	uint32_t max_frames, max_operands, max_locals; /* body limits in force (see wa_module_decode) */

	uint32_t ntypes;
	struct wa_functype *types;

	uint32_t nimports;
	struct wa_import *imports;

	uint32_t nfuncs, nfunc_imports; /* nfuncs counts imported + defined */
	uint32_t *func_type;

	uint32_t ntables, table_imports;
	struct wa_limits table;

	uint32_t nmems, mem_imports;
	struct wa_limits mem;

	uint32_t nglobals, nglobal_imports;
	struct wa_global *globals;

	uint32_t nexports;
	struct wa_export *exports;

	bool has_start;
	uint32_t start;

	uint32_t nelems;
	bool *func_in_elem; /* per function: named by an element segment; NULL = no element section */
	bool *func_called;  /* per function: the target of some `call`, recorded by wa_body_validate
	                     * (metering needs it; saves it a pass over every body); NULL = no code */

	struct wa_callers *import_callers; /* per imported function, by index; NULL = no code */

	/* The first "name" custom section's content after its name, for messages only: it is not
	 * validated (a malformed one does not make the module invalid), wa_func_name() reads it
	 * with bounds checks. names_end == 0: none. */
	size_t names_start, names_end;

	bool has_datacount;
	uint32_t datacount;

	uint32_t nbodies;
	struct wa_body *bodies;

	uint32_t ndata;
	uint64_t data_bytes;

	struct wa_section_pos sec[13]; /* by section id; custom sections are not tracked */
};

/* Decodes and validates the whole module (bodies included) against the feature profile.
 * metered: the module is wa_gate_meter()'s output, held to wasm3's own limits instead of the
 * gate's (which leave room for what metering adds). */
int wa_module_decode(const uint8_t *bytes, size_t len, bool metered, struct wa_module *m, struct wa_err *e);
void wa_module_free(struct wa_module *m);

/* wa_gate_meter() on a module already decoded and validated by wa_module_decode(m->bytes,
 * m->len, false, ...): the rewrite, the report and the check of the output, without decoding
 * the input again. */
int wa_meter_module(const struct wa_module *m, uint8_t **out, size_t *outlen, struct wa_meter_report *rep,
                    struct wa_err *e);

/* Validates one function body; body->offset..+size is inside m->bytes. */
int wa_body_validate(const struct wa_module *m, uint32_t funcidx, const struct wa_body *body, struct wa_err *e);

/* Caps from cfg and the ABI rules of abi.h; fills rep. */
int wa_gate_rules(const struct wa_module *m, const struct wa_gate_config *cfg, struct wa_gate_report *rep,
                  struct wa_err *e);

/* Renders a function type in abi.h's notation ("i(ii)") and in wasm text ("(i32,i32)->i32"). */
void wa_sig_abi(const struct wa_functype *t, char *buf, size_t len);
void wa_sig_text(const struct wa_functype *t, char *buf, size_t len);
/* Parses an abi.h signature and compares it with a function type. */
bool wa_sig_matches(const struct wa_functype *t, const char *abi_sig);
void wa_sig_text_abi(const char *abi_sig, char *buf, size_t len);

const char *wa_type_name(uint8_t t);

/* What a refusal tells the author (explain.c). Each writes one bounded line, never fails. */
/* "imp/acl_check" (name section), "acl_check" (an export of it) or "function 7". */
void wa_func_name(const struct wa_module *m, uint32_t func, char *buf, size_t len);
/* " (called from a, b and 3 more)", or "" when nothing calls import function idx directly. */
void wa_import_callers(const struct wa_module *m, uint32_t idx, char *buf, size_t len);
/* What to use instead of a refused import, e.g. "log with log() or logAt() from the SDK"; NULL = no advice. */
const char *wa_import_advice(const struct wa_import *im, char *buf, size_t len);
/* "mosquitto.{topic_matches_sub,log,...} env.{abort,...}", from wa_imports. */
void wa_allowed_imports(char *buf, size_t len);

#endif
