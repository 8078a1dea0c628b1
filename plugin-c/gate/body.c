/* Function body validation: the WebAssembly spec's validation algorithm (operand stack of
 * types, control frames, polymorphic stack after unreachable/br/return), restricted to the
 * feature profile. Every instruction outside the profile is refused by name. */
#include <stdlib.h>
#include <string.h>
#include "gate_internal.h"

struct frame {
	uint8_t op; /* 0x02 block, 0x03 loop, 0x04 if, 0x05 else; 0x00 the function itself */
	bool unreachable;
	uint32_t nparams, nresults;
	const uint8_t *params, *results;
	size_t height; /* operand stack height when the frame was entered */
};

struct val {
	const struct wa_module *m;
	struct wa_err *e;
	struct wa_rd r;
	uint32_t func;
	size_t op_at; /* offset of the instruction being validated, for messages */

	uint8_t *locals;
	uint32_t nlocals;

	uint8_t *stack;
	size_t nstack, capstack;

	struct frame *ctrl;
	size_t nctrl, capctrl;
};

/* Reports at the instruction being validated. */
static int fail(struct val *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct val *v, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	wa_err_vset(v->e, "code section", v->func, v->op_at, fmt, ap);
	va_end(ap);
	return -1;
}

static int fail_why(struct val *v, const char *why)
{
	wa_err_set(v->e, "code section", v->func, v->r.pos, "%s", why);
	return -1;
}

static int profile_fail(struct val *v, const char *what)
{
	wa_err_set(v->e, "code section", v->func, v->op_at, "not in the feature profile: %s", what);
	return -1;
}

#define RD(fn, ...)                                                                                                    \
	do {                                                                                                           \
		const char *why_ = "malformed";                                                                        \
		if (fn(&v->r, __VA_ARGS__, &why_)) return fail_why(v, why_);                                           \
	} while (0)

static int push(struct val *v, uint8_t t)
{
	if (v->nstack >= v->m->max_operands) {
		return fail(v, "operand stack deeper than %u values (implementation limit)", v->m->max_operands);
	}
	if (v->nstack == v->capstack) {
		size_t ncap = v->capstack ? v->capstack * 2 : 64;
		uint8_t *ns = realloc(v->stack, ncap);
		if (!ns) return fail_why(v, "out of memory");
		v->stack = ns;
		v->capstack = ncap;
	}
	v->stack[v->nstack++] = t;
	return 0;
}

/* Pops one value; below the current frame's base that is an error, unless the frame is
 * unreachable, where the stack is polymorphic and yields "any". */
static int pop(struct val *v, uint8_t *t)
{
	struct frame *f = &v->ctrl[v->nctrl - 1];

	if (v->nstack == f->height) {
		if (f->unreachable) {
			*t = WA_T_ANY;
			return 0;
		}
		return fail(v, "type mismatch: operand stack underflow");
	}
	*t = v->stack[--v->nstack];
	return 0;
}

static int pop_expect(struct val *v, uint8_t want)
{
	uint8_t got = WA_T_ANY;

	if (pop(v, &got)) return -1;
	if (got != want && got != WA_T_ANY && want != WA_T_ANY) {
		return fail(v, "type mismatch: expected %s, got %s", wa_type_name(want), wa_type_name(got));
	}
	return 0;
}

/* Checks that the top of the stack matches types without changing it (br_table's targets):
 * equivalent to the spec's push_vals(pop_vals(...)), since "any" matches every type. */
static int peek_vals(struct val *v, const uint8_t *types, uint32_t n)
{
	const struct frame *f = &v->ctrl[v->nctrl - 1];
	size_t avail = v->nstack - f->height;

	size_t present = n < avail ? n : avail;

	/* Only values actually present are compared: work is bounded by what was pushed, not by
	 * the arity an unreachable frame is asked for. */
	for (size_t i = 0; i < present; i++) {
		uint8_t want = types[n - 1 - i], got = v->stack[v->nstack - 1 - i];
		if (got != want && got != WA_T_ANY) {
			return fail(v, "type mismatch: expected %s, got %s", wa_type_name(want), wa_type_name(got));
		}
	}
	if (present < n && !f->unreachable) return fail(v, "type mismatch: operand stack underflow");
	return 0;
}

/* Calls and blocks move whole type vectors: the common case (all values present and exactly
 * typed) is one memcmp/memcpy, which keeps validation time per instruction small even at
 * WA_MAX_FUNC_ARITY. */
static int pop_vals(struct val *v, const uint8_t *types, uint32_t n)
{
	if (n && v->nstack - v->ctrl[v->nctrl - 1].height >= n && !memcmp(v->stack + v->nstack - n, types, n)) {
		v->nstack -= n;
		return 0;
	}
	if (peek_vals(v, types, n)) return -1;
	/* Only values above the frame's base are removed; below it the stack is polymorphic. */
	{
		size_t avail = v->nstack - v->ctrl[v->nctrl - 1].height;
		v->nstack -= n < avail ? n : avail;
	}
	return 0;
}

static int push_vals(struct val *v, const uint8_t *types, uint32_t n)
{
	if (n == 0) return 0;
	if (push(v, types[0])) return -1; /* limit and growth checks, once... */
	if (n == 1) return 0;
	if (v->nstack + (n - 1) > v->m->max_operands) {
		return fail(v, "operand stack deeper than %u values (implementation limit)", v->m->max_operands);
	}
	if (v->nstack + (n - 1) > v->capstack) {
		size_t ncap = v->capstack;
		uint8_t *ns;
		while (ncap < v->nstack + (n - 1)) ncap *= 2;
		ns = realloc(v->stack, ncap);
		if (!ns) return fail_why(v, "out of memory");
		v->stack = ns;
		v->capstack = ncap;
	}
	memcpy(v->stack + v->nstack, types + 1, n - 1); /* ...then the rest in one copy */
	v->nstack += n - 1;
	return 0;
}

static int push_ctrl(struct val *v, uint8_t op, const uint8_t *params, uint32_t np, const uint8_t *results, uint32_t nr)
{
	struct frame *f;

	if (v->nctrl >= v->m->max_frames) {
		return fail(v, "blocks nested deeper than %u (implementation limit)", v->m->max_frames - 1);
	}
	if (v->nctrl == v->capctrl) {
		size_t ncap = v->capctrl ? v->capctrl * 2 : 16;
		struct frame *nc = realloc(v->ctrl, ncap * sizeof *nc);
		if (!nc) return fail_why(v, "out of memory");
		v->ctrl = nc;
		v->capctrl = ncap;
	}
	f = &v->ctrl[v->nctrl++];
	f->op = op;
	f->unreachable = false;
	f->params = params;
	f->nparams = np;
	f->results = results;
	f->nresults = nr;
	f->height = v->nstack;
	return push_vals(v, params, np);
}

static int pop_ctrl(struct val *v, struct frame *out)
{
	struct frame *f = &v->ctrl[v->nctrl - 1];

	if (pop_vals(v, f->results, f->nresults)) return -1;
	if (v->nstack != f->height) {
		return fail(v, "type mismatch: %zu extra value(s) left on the stack at the end of a block",
		            v->nstack - f->height);
	}
	*out = *f;
	v->nctrl--;
	return 0;
}

static void set_unreachable(struct val *v)
{
	struct frame *f = &v->ctrl[v->nctrl - 1];
	v->nstack = f->height;
	f->unreachable = true;
}

/* A branch to a loop passes the loop's parameters; to anything else, its results. */
static void label_types(const struct frame *f, const uint8_t **types, uint32_t *n)
{
	if (f->op == 0x03) {
		*types = f->params;
		*n = f->nparams;
	} else {
		*types = f->results;
		*n = f->nresults;
	}
}

static int read_label(struct val *v, const struct frame **f)
{
	uint32_t depth;

	RD(wa_rd_u32, &depth);
	if (depth >= v->nctrl) return fail(v, "unknown label");
	*f = &v->ctrl[v->nctrl - 1 - depth];
	return 0;
}

/* blocktype: 0x40 (empty), one value type, or a type index (s33 >= 0): multi-value. */
static int read_blocktype(struct val *v, const uint8_t **params, uint32_t *np, const uint8_t **results, uint32_t *nr)
{
	size_t at = v->r.pos;
	uint8_t b;
	int64_t idx;

	RD(wa_rd_u8, &b);
	*np = 0;
	*nr = 0;
	*params = *results = NULL;
	switch (b) {
		case 0x40: return 0;
		case WA_T_I32:
		case WA_T_I64:
		case WA_T_F32:
		case WA_T_F64:
			*results = v->m->bytes + at; /* the type byte itself */
			*nr = 1;
			return 0;
		case WA_T_FUNCREF:
		case WA_T_EXTERNREF: return profile_fail(v, "reference types (reference-typed block)");
		case 0x7b: return profile_fail(v, "SIMD (v128 block)");
		default: break;
	}
	v->r.pos = at;
	RD(wa_rd_s33, &idx);
	if (idx < 0) return fail_why(v, "malformed block type");
	if ((uint64_t)idx >= v->m->ntypes) return fail(v, "unknown type (block type)");
	*params = v->m->types[idx].params;
	*np = v->m->types[idx].nparams;
	*results = v->m->types[idx].results;
	*nr = v->m->types[idx].nresults;
	return 0;
}

static int need_memory(struct val *v)
{
	if (v->m->nmems == 0) return fail(v, "unknown memory 0");
	return 0;
}

static int read_zero(struct val *v)
{
	uint8_t b;

	RD(wa_rd_u8, &b);
	if (b != 0) return fail_why(v, "zero byte expected");
	return 0;
}

static int memarg(struct val *v, uint32_t natural_log2)
{
	uint32_t align, offset;

	RD(wa_rd_u32, &align);
	RD(wa_rd_u32, &offset);
	if (need_memory(v)) return -1;
	if (align > natural_log2) return fail(v, "alignment must not be larger than natural");
	return 0;
}

/* load: address i32 -> t; store: address i32, value t -> (). */
static int load(struct val *v, uint32_t natural_log2, uint8_t t)
{
	if (memarg(v, natural_log2) || pop_expect(v, WA_T_I32)) return -1;
	return push(v, t);
}

static int store(struct val *v, uint32_t natural_log2, uint8_t t)
{
	if (memarg(v, natural_log2) || pop_expect(v, t)) return -1;
	return pop_expect(v, WA_T_I32);
}

static int unop(struct val *v, uint8_t in, uint8_t out)
{
	if (pop_expect(v, in)) return -1;
	return push(v, out);
}

static int binop(struct val *v, uint8_t in, uint8_t out)
{
	if (pop_expect(v, in) || pop_expect(v, in)) return -1;
	return push(v, out);
}

static int call_type(struct val *v, const struct wa_functype *t)
{
	if (pop_vals(v, t->params, t->nparams)) return -1;
	return push_vals(v, t->results, t->nresults);
}

static int op_prefixed(struct val *v)
{
	const struct wa_module *m = v->m;
	uint32_t sub, idx, idx2;

	RD(wa_rd_u32, &sub);
	switch (sub) {
		/* nontrapping float-to-int */
		case 0:
		case 1: return unop(v, WA_T_F32, WA_T_I32);
		case 2:
		case 3: return unop(v, WA_T_F64, WA_T_I32);
		case 4:
		case 5: return unop(v, WA_T_F32, WA_T_I64);
		case 6:
		case 7: return unop(v, WA_T_F64, WA_T_I64);
		case 8: /* memory.init */
			RD(wa_rd_u32, &idx);
			if (read_zero(v)) return -1;
			if (!m->has_datacount) return fail(v, "data count section required (memory.init)");
			if (need_memory(v)) return -1;
			if (idx >= m->datacount) return fail(v, "unknown data segment");
			return pop_vals(v, (const uint8_t *)"\x7f\x7f\x7f", 3);
		case 9: /* data.drop */
			RD(wa_rd_u32, &idx);
			if (!m->has_datacount) return fail(v, "data count section required (data.drop)");
			if (idx >= m->datacount) return fail(v, "unknown data segment");
			return 0;
		case 10: /* memory.copy */
			if (read_zero(v) || read_zero(v) || need_memory(v)) return -1;
			return pop_vals(v, (const uint8_t *)"\x7f\x7f\x7f", 3);
		case 11: /* memory.fill */
			if (read_zero(v) || need_memory(v)) return -1;
			return pop_vals(v, (const uint8_t *)"\x7f\x7f\x7f", 3);
		case 12: /* table.init elem table */
			RD(wa_rd_u32, &idx);
			RD(wa_rd_u32, &idx2);
			if (idx2 >= m->ntables) return fail(v, "unknown table");
			if (idx >= m->nelems) return fail(v, "unknown elem segment");
			return pop_vals(v, (const uint8_t *)"\x7f\x7f\x7f", 3);
		case 13: /* elem.drop */
			RD(wa_rd_u32, &idx);
			if (idx >= m->nelems) return fail(v, "unknown elem segment");
			return 0;
		case 14: /* table.copy dst src */
			RD(wa_rd_u32, &idx);
			RD(wa_rd_u32, &idx2);
			if (idx >= m->ntables || idx2 >= m->ntables) return fail(v, "unknown table");
			return pop_vals(v, (const uint8_t *)"\x7f\x7f\x7f", 3);
		case 15: return profile_fail(v, "reference types (table.grow)");
		case 16: return profile_fail(v, "reference types (table.size)");
		case 17: return profile_fail(v, "reference types (table.fill)");
		default: return fail(v, "illegal opcode 0xfc %u", sub);
	}
}

static int op_numeric(struct val *v, uint8_t op)
{
	const uint8_t I = WA_T_I32, L = WA_T_I64, F = WA_T_F32, D = WA_T_F64;

	if (op == 0x45) return unop(v, I, I);
	if (op >= 0x46 && op <= 0x4f) return binop(v, I, I);
	if (op == 0x50) return unop(v, L, I);
	if (op >= 0x51 && op <= 0x5a) return binop(v, L, I);
	if (op >= 0x5b && op <= 0x60) return binop(v, F, I);
	if (op >= 0x61 && op <= 0x66) return binop(v, D, I);
	if (op >= 0x67 && op <= 0x69) return unop(v, I, I);
	if (op >= 0x6a && op <= 0x78) return binop(v, I, I);
	if (op >= 0x79 && op <= 0x7b) return unop(v, L, L);
	if (op >= 0x7c && op <= 0x8a) return binop(v, L, L);
	if (op >= 0x8b && op <= 0x91) return unop(v, F, F);
	if (op >= 0x92 && op <= 0x98) return binop(v, F, F);
	if (op >= 0x99 && op <= 0x9f) return unop(v, D, D);
	if (op >= 0xa0 && op <= 0xa6) return binop(v, D, D);
	switch (op) {
		case 0xa7: return unop(v, L, I);
		case 0xa8:
		case 0xa9: return unop(v, F, I);
		case 0xaa:
		case 0xab: return unop(v, D, I);
		case 0xac:
		case 0xad: return unop(v, I, L);
		case 0xae:
		case 0xaf: return unop(v, F, L);
		case 0xb0:
		case 0xb1: return unop(v, D, L);
		case 0xb2:
		case 0xb3: return unop(v, I, F);
		case 0xb4:
		case 0xb5: return unop(v, L, F);
		case 0xb6: return unop(v, D, F);
		case 0xb7:
		case 0xb8: return unop(v, I, D);
		case 0xb9:
		case 0xba: return unop(v, L, D);
		case 0xbb: return unop(v, F, D);
		case 0xbc: return unop(v, F, I);
		case 0xbd: return unop(v, D, L);
		case 0xbe: return unop(v, I, F);
		case 0xbf: return unop(v, L, D);
		case 0xc0:
		case 0xc1: return unop(v, I, I); /* sign extension */
		case 0xc2:
		case 0xc3:
		case 0xc4: return unop(v, L, L);
		default: break;
	}
	return fail(v, "illegal opcode 0x%02x", op);
}

/* One instruction at v->r.pos; sets *done when the function's final end was consumed. */
static int op_one(struct val *v, bool *done)
{
	const struct wa_module *m = v->m;
	const struct frame *lf;
	const uint8_t *lt, *params, *results;
	uint32_t idx, n, np, nr;
	uint8_t op, t1 = WA_T_ANY, t2 = WA_T_ANY;
	struct frame f;

	v->op_at = v->r.pos;
	RD(wa_rd_u8, &op);
	switch (op) {
		case 0x00: set_unreachable(v); return 0;
		case 0x01: return 0;
		case 0x02:
		case 0x03:
			if (read_blocktype(v, &params, &np, &results, &nr)) return -1;
			if (pop_vals(v, params, np)) return -1;
			return push_ctrl(v, op, params, np, results, nr);
		case 0x04:
			if (read_blocktype(v, &params, &np, &results, &nr)) return -1;
			if (pop_expect(v, WA_T_I32) || pop_vals(v, params, np)) return -1;
			return push_ctrl(v, op, params, np, results, nr);
		case 0x05:
			if (v->ctrl[v->nctrl - 1].op != 0x04) return fail(v, "else without a matching if");
			if (pop_ctrl(v, &f)) return -1;
			return push_ctrl(v, 0x05, f.params, f.nparams, f.results, f.nresults);
		case 0x0b:
			if (pop_ctrl(v, &f)) return -1;
			/* An if without else passes its parameters through the missing branch. */
			if (f.op == 0x04 &&
			    (f.nparams != f.nresults || (f.nparams && memcmp(f.params, f.results, f.nparams)))) {
				return fail(
				    v, "type mismatch: if without else must have matching parameter and result types");
			}
			if (v->nctrl == 0) {
				*done = true;
				return 0;
			}
			return push_vals(v, f.results, f.nresults);
		case 0x0c:
			if (read_label(v, &lf)) return -1;
			label_types(lf, &lt, &n);
			if (pop_vals(v, lt, n)) return -1;
			set_unreachable(v);
			return 0;
		case 0x0d:
			if (read_label(v, &lf)) return -1;
			label_types(lf, &lt, &n);
			if (pop_expect(v, WA_T_I32) || pop_vals(v, lt, n)) return -1;
			return push_vals(v, lt, n);
		case 0x0e: {
			uint32_t count, arity;
			const uint8_t *dt;
			size_t list;
			RD(wa_rd_u32, &count);
			if (count > v->r.end - v->r.pos) return fail_why(v, "unexpected end: br_table count");
			/* Read the default label first (it follows the list), then check each target. */
			list = v->r.pos;
			for (uint32_t i = 0; i < count; i++) RD(wa_rd_u32, &idx);
			if (read_label(v, &lf)) return -1;
			label_types(lf, &dt, &arity);
			if (pop_expect(v, WA_T_I32)) return -1;
			{
				size_t after = v->r.pos;
				v->r.pos = list;
				for (uint32_t i = 0; i < count; i++) {
					if (read_label(v, &lf)) return -1;
					label_types(lf, &lt, &n);
					if (n != arity)
						return fail(v,
						            "type mismatch: br_table targets have different arities");
					if (peek_vals(v, lt, n)) return -1;
				}
				v->r.pos = after;
			}
			if (pop_vals(v, dt, arity)) return -1;
			set_unreachable(v);
			return 0;
		}
		case 0x0f:
			if (pop_vals(v, v->ctrl[0].results, v->ctrl[0].nresults)) return -1;
			set_unreachable(v);
			return 0;
		case 0x10:
			RD(wa_rd_u32, &idx);
			if (idx >= m->nfuncs) return fail(v, "unknown function");
			if (m->func_called) m->func_called[idx] = true; /* see struct wa_module */
			if (idx < m->nfunc_imports && m->import_callers) {
				struct wa_callers *c = &m->import_callers[idx];
				if (c->n == 0 || c->last != v->func) {
					c->last = v->func;
					if (c->n < WA_GATE_CALLERS)
						c->func[c->n++] = v->func;
					else if (c->more < UINT32_MAX)
						c->more++;
				}
			}
			return call_type(v, &m->types[m->func_type[idx]]);
		case 0x11: {
			uint8_t table;
			RD(wa_rd_u32, &idx);
			RD(wa_rd_u8, &table);
			if (table != 0) return fail_why(v, "zero byte expected (call_indirect table index)");
			if (m->ntables == 0) return fail(v, "unknown table 0");
			if (idx >= m->ntypes) return fail(v, "unknown type");
			if (pop_expect(v, WA_T_I32)) return -1;
			return call_type(v, &m->types[idx]);
		}
		case 0x06:
		case 0x07:
		case 0x08:
		case 0x09:
		case 0x18:
		case 0x19: return profile_fail(v, "exception handling");
		case 0x12:
		case 0x13: return profile_fail(v, "tail calls");
		case 0x14:
		case 0x15: return profile_fail(v, "typed function references");
		case 0x1a: return pop(v, &t1);
		case 0x1b:
			if (pop_expect(v, WA_T_I32) || pop(v, &t1) || pop(v, &t2)) return -1;
			if (t1 != t2 && t1 != WA_T_ANY && t2 != WA_T_ANY) {
				return fail(v, "type mismatch: select operands %s and %s differ", wa_type_name(t2),
				            wa_type_name(t1));
			}
			return push(v, t1 == WA_T_ANY ? t2 : t1);
		case 0x1c: {
			/* Typed select: kept for numeric types (wasm3 and wabt's profile accept it). */
			uint8_t t;
			RD(wa_rd_u32, &n);
			if (n != 1) return fail(v, "invalid result arity for select (%u types)", n);
			RD(wa_rd_u8, &t);
			if (t == WA_T_FUNCREF || t == WA_T_EXTERNREF)
				return profile_fail(v, "reference types (select of references)");
			if (t == 0x7b) return profile_fail(v, "SIMD (select of v128)");
			if (t != WA_T_I32 && t != WA_T_I64 && t != WA_T_F32 && t != WA_T_F64)
				return fail(v, "malformed value type (select)");
			if (pop_expect(v, WA_T_I32) || pop_expect(v, t) || pop_expect(v, t)) return -1;
			return push(v, t);
		}
		case 0x20:
		case 0x21:
		case 0x22:
			RD(wa_rd_u32, &idx);
			if (idx >= v->nlocals) return fail(v, "unknown local");
			if (op == 0x20) return push(v, v->locals[idx]);
			if (pop_expect(v, v->locals[idx])) return -1;
			return op == 0x22 ? push(v, v->locals[idx]) : 0;
		case 0x23:
		case 0x24:
			RD(wa_rd_u32, &idx);
			if (idx >= m->nglobals) return fail(v, "unknown global");
			if (op == 0x23) return push(v, m->globals[idx].type);
			if (!m->globals[idx].mut) return fail(v, "global is immutable");
			return pop_expect(v, m->globals[idx].type);
		case 0x25:
		case 0x26: return profile_fail(v, "reference types (table.get/table.set)");
		case 0x28: return load(v, 2, WA_T_I32);
		case 0x29: return load(v, 3, WA_T_I64);
		case 0x2a: return load(v, 2, WA_T_F32);
		case 0x2b: return load(v, 3, WA_T_F64);
		case 0x2c:
		case 0x2d: return load(v, 0, WA_T_I32);
		case 0x2e:
		case 0x2f: return load(v, 1, WA_T_I32);
		case 0x30:
		case 0x31: return load(v, 0, WA_T_I64);
		case 0x32:
		case 0x33: return load(v, 1, WA_T_I64);
		case 0x34:
		case 0x35: return load(v, 2, WA_T_I64);
		case 0x36: return store(v, 2, WA_T_I32);
		case 0x37: return store(v, 3, WA_T_I64);
		case 0x38: return store(v, 2, WA_T_F32);
		case 0x39: return store(v, 3, WA_T_F64);
		case 0x3a: return store(v, 0, WA_T_I32);
		case 0x3b: return store(v, 1, WA_T_I32);
		case 0x3c: return store(v, 0, WA_T_I64);
		case 0x3d: return store(v, 1, WA_T_I64);
		case 0x3e: return store(v, 2, WA_T_I64);
		case 0x3f:
			if (read_zero(v) || need_memory(v)) return -1;
			return push(v, WA_T_I32);
		case 0x40:
			if (read_zero(v) || need_memory(v)) return -1;
			return unop(v, WA_T_I32, WA_T_I32);
		case 0x41: {
			int32_t x;
			RD(wa_rd_s32, &x);
			return push(v, WA_T_I32);
		}
		case 0x42: {
			int64_t x;
			RD(wa_rd_s64, &x);
			return push(v, WA_T_I64);
		}
		case 0x43: {
			const uint8_t *p;
			RD(wa_rd_bytes, 4, &p);
			return push(v, WA_T_F32);
		}
		case 0x44: {
			const uint8_t *p;
			RD(wa_rd_bytes, 8, &p);
			return push(v, WA_T_F64);
		}
		case 0xd0:
		case 0xd1:
		case 0xd2:
		case 0xd3:
		case 0xd4:
		case 0xd5:
		case 0xd6: return profile_fail(v, "reference types (ref.null/ref.is_null/ref.func)");
		case 0xfb: return profile_fail(v, "GC");
		case 0xfc: return op_prefixed(v);
		case 0xfd: return profile_fail(v, "SIMD");
		case 0xfe: return profile_fail(v, "threads (atomics)");
		default: return op_numeric(v, op);
	}
}

static int read_locals(struct val *v, const struct wa_functype *t)
{
	size_t groups_at = v->r.pos;
	uint32_t groups;
	uint64_t total = t->nparams; /* parameters count: they are locals 0..n-1 */

	RD(wa_rd_u32, &groups);
	/* First pass: count, so the locals array is allocated once and the cap holds before it. */
	for (uint32_t i = 0; i < groups; i++) {
		uint32_t n;
		uint8_t ty;
		RD(wa_rd_u32, &n);
		total += n;
		if (total > v->m->max_locals) {
			v->op_at = v->r.pos;
			return fail(v, "too many locals (implementation limit %u)", v->m->max_locals);
		}
		RD(wa_rd_u8, &ty);
	}
	v->locals = malloc(total ? total : 1);
	if (!v->locals) return fail_why(v, "out of memory");
	memcpy(v->locals, t->params, t->nparams);
	v->nlocals = t->nparams;
	v->r.pos = groups_at;
	RD(wa_rd_u32, &groups);
	for (uint32_t i = 0; i < groups; i++) {
		uint32_t n;
		uint8_t ty;
		RD(wa_rd_u32, &n);
		v->op_at = v->r.pos;
		RD(wa_rd_u8, &ty);
		switch (ty) {
			case WA_T_I32:
			case WA_T_I64:
			case WA_T_F32:
			case WA_T_F64: break;
			case WA_T_FUNCREF:
			case WA_T_EXTERNREF: return profile_fail(v, "reference types (reference-typed local)");
			case 0x7b: return profile_fail(v, "SIMD (v128 local)");
			default: return fail(v, "malformed value type (local)");
		}
		memset(v->locals + v->nlocals, ty, n);
		v->nlocals += n;
	}
	return 0;
}

int wa_body_validate(const struct wa_module *m, uint32_t funcidx, const struct wa_body *body, struct wa_err *e)
{
	const struct wa_functype *t = &m->types[m->func_type[funcidx]];
	struct val v;
	bool done = false;
	int rc = -1;

	memset(&v, 0, sizeof v);
	v.m = m;
	v.e = e;
	v.func = funcidx;
	v.r.buf = m->bytes;
	v.r.pos = body->offset;
	v.r.end = body->offset + body->size;
	v.op_at = v.r.pos;
	if (read_locals(&v, t)) goto out;
	if (push_ctrl(&v, 0x00, NULL, 0, t->results, t->nresults)) goto out;
	while (!done) {
		if (v.r.pos >= v.r.end) {
			fail_why(&v, "unexpected end of function body (END opcode expected)");
			goto out;
		}
		if (op_one(&v, &done)) goto out;
	}
	if (v.r.pos != v.r.end) {
		fail_why(&v, "section size mismatch: bytes after the function's final end");
		goto out;
	}
	rc = 0;
out:
	free(v.locals);
	free(v.stack);
	free(v.ctrl);
	return rc;
}
