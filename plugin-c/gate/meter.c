/* Fuel metering: rewrites a valid module so that it charges a mutable i64 global, exported as
 * WA_FUEL_GLOBAL, and executes `unreachable` as soon as the budget would go below zero.
 *
 * Price list (docs/SECURITY.md, "Fuel metering", with the calibration):
 *   every instruction                          1, paid in advance (below)
 *   branch back to a loop                      the loop's instructions, before it branches
 *   memory.fill, memory.copy, memory.init      + length >> WA_FUEL_BYTE_SHIFT   (1 per 32 bytes)
 *   memory.grow                                + pages << WA_FUEL_PAGE_SHIFT    (2048 per page,
 *                                                granted or not)
 *   table.copy, table.init                     + elements << WA_FUEL_ELEM_SHIFT (32 per element)
 * (table.fill and table.grow are reference types: the gate never lets them through.)
 *
 * Where it charges: at the entry of every defined function, the number of instructions in its
 * whole body; and at every branch to a loop label (br, br_if, br_table), before it branches,
 * the number of instructions in that loop (after its `loop` opcode, up to and including its
 * end). Between
 * two charges no instruction can run twice: running one again needs a new call (charged at the
 * entry) or a branch back to the header of a loop around it (charged at that branch, with the
 * cost of the whole loop, so the nested loops' first iterations too). Each charge thus pays in
 * advance for every instruction that can run before the next one, and the fuel spent bounds the
 * instructions executed: no straight-line path or loop runs for free. A loop entered and left
 * without branching back costs nothing beyond its function's entry charge. Calls into the host
 * count as one here; the host charges its own work (plugin-c/runtime/hostfns.c, charge()).
 *
 * Bulk instructions, whose work grows with their last operand (the i32 on top of the stack),
 * also pay that operand, scaled as above, at run time just before they run (their own unit is
 * in the counts like any other instruction's, so a zero-length one still costs 1): the operand
 * is set aside in a scratch local, charged, and pushed back (put_operand_charge). A function
 * with such an instruction gets that one i32 local after all of its own.
 *
 * Host-paid entries (rep): a hook only the host can enter loses its entry charge, and the gate
 * reports it for the host to subtract before the call (gate.h, struct wa_meter_report).
 *
 * Indices do not move: the fuel global is appended after every existing global, no function
 * is added (the check is inlined), and the scratch local comes after every parameter and local.
 * What the charges add to a function (an `if` frame, two operands, the local) is room the gate
 * keeps below wasm3's limits (gate_internal.h, WA_METER_EXTRA_*). */
#include <stdlib.h>
#include <string.h>
#include "gate_internal.h"

struct out {
	uint8_t *b;
	size_t n, cap;
	bool oom;
};

static void put(struct out *o, const void *p, size_t n)
{
	if (o->oom) return;
	if (n > o->cap - o->n) {
		size_t ncap = o->cap ? o->cap : 1024;
		uint8_t *nb;
		while (ncap - o->n < n) {
			if (ncap > SIZE_MAX / 2) {
				o->oom = true;
				return;
			}
			ncap *= 2;
		}
		nb = realloc(o->b, ncap);
		if (!nb) {
			o->oom = true;
			return;
		}
		o->b = nb;
		o->cap = ncap;
	}
	memcpy(o->b + o->n, p, n);
	o->n += n;
}

static void put_u8(struct out *o, uint8_t v)
{
	put(o, &v, 1);
}

static void put_u32(struct out *o, uint32_t v)
{
	do {
		uint8_t b = v & 0x7f;
		v >>= 7;
		if (v) b |= 0x80;
		put_u8(o, b);
	} while (v);
}

static void put_s64(struct out *o, int64_t v)
{
	for (;;) {
		uint8_t b = (uint8_t)(v & 0x7f);
		v >>= 7; /* arithmetic shift on every compiler we target (gcc, clang) */
		if ((v == 0 && !(b & 0x40)) || (v == -1 && (b & 0x40))) {
			put_u8(o, b);
			return;
		}
		put_u8(o, b | 0x80);
	}
}

/* Appends section `id` with the contents in c. */
static void put_section(struct out *o, uint8_t id, const struct out *c)
{
	put_u8(o, id);
	put_u32(o, (uint32_t)c->n);
	put(o, c->b, c->n);
}

/* global.get F; i64.const cost; i64.sub; global.set F */
static void put_spend(struct out *o, uint32_t fuel, uint64_t cost)
{
	put_u8(o, 0x23);
	put_u32(o, fuel);
	put_u8(o, 0x42);
	put_s64(o, (int64_t)cost);
	put_u8(o, 0x7d);
	put_u8(o, 0x24);
	put_u32(o, fuel);
}

/* global.get F; i64.const 0; i64.lt_s; if unreachable end */
static void put_check(struct out *o, uint32_t fuel)
{
	put_u8(o, 0x23);
	put_u32(o, fuel);
	put_u8(o, 0x42);
	put_u8(o, 0x00);
	put_u8(o, 0x53);
	put_u8(o, 0x04);
	put_u8(o, 0x40);
	put_u8(o, 0x00);
	put_u8(o, 0x0b);
}

/* spend; check */
static void put_charge(struct out *o, uint32_t fuel, uint64_t cost)
{
	put_spend(o, fuel, cost);
	put_check(o, fuel);
}

/* Instructions whose work grows with their last operand (an i32, on top of the stack), and how
 * that operand becomes fuel (gate.h, WA_FUEL_*_SHIFT). table.fill and table.grow are reference
 * types, outside the profile: the gate never lets them through. */
enum price {
	PRICE_NONE,
	PRICE_BYTES, /* memory.fill, memory.copy, memory.init: length >> WA_FUEL_BYTE_SHIFT */
	PRICE_PAGES, /* memory.grow: pages << WA_FUEL_PAGE_SHIFT */
	PRICE_ELEMS  /* table.copy, table.init: elements << WA_FUEL_ELEM_SHIFT */
};

/* The price of instruction op; r is positioned right after the opcode byte (not moved). */
static enum price price_of(const struct wa_rd *r, uint8_t op)
{
	struct wa_rd t = *r;
	const char *why;
	uint32_t n;

	if (op == 0x40) return PRICE_PAGES;
	if (op != 0xfc || wa_rd_u32(&t, &n, &why)) return PRICE_NONE;
	switch (n) {
		case 8:
		case 10:
		case 11: return PRICE_BYTES;
		case 12:
		case 14: return PRICE_ELEMS;
		default: return PRICE_NONE;
	}
}

/* Before an instruction priced by its operand, with local t the function's scratch i32:
 *   local.set t  global.get F  local.get t  i64.extend_i32_u  i64.const SHIFT  i64.shr_u|i64.shl
 *   i64.sub  global.set F  check  local.get t
 * The operand leaves the stack while the charge runs, so the charge needs no more room than the
 * others (two operands, one frame: WA_METER_EXTRA_*), and comes back unchanged for the
 * instruction. The instruction's own unit is in the counts like any other. */
static void put_operand_charge(struct out *o, uint32_t fuel, uint32_t t, enum price p)
{
	put_u8(o, 0x21);
	put_u32(o, t);
	put_u8(o, 0x23);
	put_u32(o, fuel);
	put_u8(o, 0x20);
	put_u32(o, t);
	put_u8(o, 0xad);
	switch (p) {
		case PRICE_BYTES:
			put_u8(o, 0x42);
			put_s64(o, WA_FUEL_BYTE_SHIFT);
			put_u8(o, 0x88);
			break;
		case PRICE_PAGES:
			put_u8(o, 0x42);
			put_s64(o, WA_FUEL_PAGE_SHIFT);
			put_u8(o, 0x86);
			break;
		case PRICE_ELEMS:
			put_u8(o, 0x42);
			put_s64(o, WA_FUEL_ELEM_SHIFT);
			put_u8(o, 0x86);
			break;
		case PRICE_NONE: break;
	}
	put_u8(o, 0x7d);
	put_u8(o, 0x24);
	put_u32(o, fuel);
	put_check(o, fuel);
	put_u8(o, 0x20);
	put_u32(o, t);
}

/* A charged back-edge in place of `br l`: spend; global.get F; i64.const 0; i64.ge_s;
 * br_if l; unreachable. Branches only with fuel left, and traps otherwise. */
static void put_charged_br(struct out *o, uint32_t fuel, uint64_t cost, uint32_t l)
{
	put_spend(o, fuel, cost);
	put_u8(o, 0x23);
	put_u32(o, fuel);
	put_u8(o, 0x42);
	put_u8(o, 0x00);
	put_u8(o, 0x59);
	put_u8(o, 0x0d);
	put_u32(o, l);
	put_u8(o, 0x00);
}

/* Skips one LEB128 of at most max bytes without decoding it: only its end matters here, and
 * the module was validated (wa_rd_* range checks already ran on it), so the end byte is known
 * good. The reads stay bounds-checked. This file's passes skip every immediate several times,
 * so this is the gate's metering hot path. */
static int skip_leb(struct wa_rd *r, unsigned max)
{
	for (unsigned i = 0; i < max; i++) {
		if (r->pos >= r->end) return -1;
		if (!(r->buf[r->pos++] & 0x80)) return 0;
	}
	return -1;
}

/* Skips one instruction's immediates; the module was validated, so the encoding is known good
 * and every read is still bounds-checked. Returns -1 only on a malformed instruction. */
static int skip_immediates(struct wa_rd *r, uint8_t op)
{
	const char *why;
	uint32_t n, x;
	const uint8_t *p;
	uint8_t b;

	switch (op) {
		case 0x02:
		case 0x03:
		case 0x04: return skip_leb(r, 5); /* s33 */
		case 0x0c:
		case 0x0d:
		case 0x10:
		case 0x20:
		case 0x21:
		case 0x22:
		case 0x23:
		case 0x24: return skip_leb(r, 5);
		case 0x0e:
			if (wa_rd_u32(r, &n, &why)) return -1;
			for (uint64_t i = 0; i <= n; i++)
				if (skip_leb(r, 5)) return -1;
			return 0;
		case 0x11:
			if (wa_rd_u32(r, &x, &why)) return -1;
			return wa_rd_u8(r, &b, &why);
		case 0x1c:
			if (wa_rd_u32(r, &n, &why)) return -1;
			return wa_rd_bytes(r, n, &p, &why);
		case 0x3f:
		case 0x40: return wa_rd_u8(r, &b, &why);
		case 0x41: return skip_leb(r, 5);
		case 0x42: return skip_leb(r, 10);
		case 0x43: return wa_rd_bytes(r, 4, &p, &why);
		case 0x44: return wa_rd_bytes(r, 8, &p, &why);
		case 0xfc:
			if (wa_rd_u32(r, &n, &why)) return -1;
			switch (n) {
				case 8: /* memory.init data 0 */
					if (wa_rd_u32(r, &x, &why)) return -1;
					return wa_rd_u8(r, &b, &why);
				case 9:
				case 13: return wa_rd_u32(r, &x, &why);
				case 10:
				case 12:
				case 14:
					if (n == 10) return wa_rd_bytes(r, 2, &p, &why);
					if (wa_rd_u32(r, &x, &why)) return -1;
					return wa_rd_u32(r, &x, &why);
				case 11: return wa_rd_u8(r, &b, &why);
				default: return n <= 7 ? 0 : -1;
			}
		default:
			if (op >= 0x28 && op <= 0x3e) { /* memarg: alignment, offset */
				if (skip_leb(r, 5)) return -1;
				return skip_leb(r, 5);
			}
			return 0;
	}
}

/* Per function body: pass 1 counts, pass 2 emits. Loops are numbered in order of appearance. */
struct counts {
	uint64_t total;  /* instructions of the whole body, its final end included */
	uint64_t priced; /* instructions priced by their operand (enum price) */
	uint64_t *loop;  /* per loop: instructions after its `loop` opcode up to its end, included */
	size_t nloops, caploop;
	uint64_t *open; /* per open block: pass 1, loop number + 1 (0 = not a loop) and start count;
	                   * pass 2, the loop's cost (0 = not a loop: a branch to it goes forward) */
	uint64_t *start;
	bool *params; /* pass 2, per open block: a loop whose label carries values (type index) */
	size_t nopen, capopen, capstart, capparams;
};

/* Grows array p (of *p elements) to hold at least need elements; -1 when out of memory. */
#define GROW(p, cap, need) ((need) <= (cap) ? 0 : grow_array((void *)&(p), &(cap), (need), sizeof *(p), (p)))

static int grow_array(void *pp, size_t *cap, size_t need, size_t elem, void *old)
{
	size_t ncap = *cap ? *cap * 2 : 64;
	void *np;

	while (ncap < need) ncap *= 2;
	if (ncap > SIZE_MAX / elem) return -1;
	np = realloc(old, ncap * elem);
	if (!np) return -1;
	memcpy(pp, &np, sizeof np); /* stores the new pointer without type-punning the lvalue */
	*cap = ncap;
	return 0;
}

/* Pass 1: the body's instruction count and each loop's (the instructions one more iteration can
 * run: its whole body, nested loops' first iterations included). */
static int count_body(const uint8_t *bytes, size_t start, size_t end, struct counts *c)
{
	struct wa_rd r = { bytes, start, end };
	const char *why;

	c->total = 0;
	c->priced = 0;
	c->nloops = 0;
	c->nopen = 0;
	while (r.pos < r.end) {
		uint8_t op;
		if (wa_rd_u8(&r, &op, &why)) return -1;
		if ((op == 0x40 || op == 0xfc) && price_of(&r, op) != PRICE_NONE) c->priced++;
		if (skip_immediates(&r, op)) return -1;
		c->total++;
		if (op == 0x02 || op == 0x03 || op == 0x04) {
			if (GROW(c->open, c->capopen, c->nopen + 1) || GROW(c->start, c->capstart, c->nopen + 1) ||
			    GROW(c->params, c->capparams, c->nopen + 1))
				return -1;
			c->open[c->nopen] = 0;
			if (op == 0x03) {
				if (GROW(c->loop, c->caploop, c->nloops + 1)) return -1;
				c->loop[c->nloops] = 0;
				c->open[c->nopen] = ++c->nloops;
			}
			c->start[c->nopen++] = c->total;
		} else if (op == 0x0b && c->nopen > 0) {
			c->nopen--;
			if (c->open[c->nopen]) c->loop[c->open[c->nopen] - 1] = c->total - c->start[c->nopen];
		}
	}
	return 0;
}

/* Cost to charge before a branch to label depth l: the target loop's, or 0 for a forward
 * branch (a block, an if, or the function's own label). */
static uint64_t branch_cost(const struct counts *c, uint32_t l)
{
	return l < c->nopen ? c->open[c->nopen - 1 - l] : 0;
}

/* Pass 2. The entry charge pays for every instruction once: straight-line code and the first
 * iteration of every loop (a loop entered and left without branching back costs nothing more).
 * Each branch back to a loop pays that loop's cost before it branches: `br` becomes the charge
 * followed by its own check as the branch (br_if when fuel is left, else unreachable); `br_if`
 * becomes `if` + that, so only a taken branch pays (a loop label carrying values cannot go
 * through an `if` without a new type: that br_if is charged before, taken or not); br_table is
 * charged before with the dearest loop among its targets. *entry gets the entry cost; with
 * host_entry it is not charged in the body (the host pays it before the call). */
static int meter_body(const struct wa_module *m, uint32_t f, const struct wa_body *body, uint32_t fuel, bool host_entry,
                      struct counts *c, uint64_t *entry, struct out *o)
{
	struct wa_rd r = { m->bytes, body->offset, body->offset + body->size };
	const char *why;
	uint32_t groups;
	uint64_t nlocals = m->types[m->func_type[f]].nparams;
	uint32_t scratch = 0;
	size_t loop = 0;
	size_t groups_end, code;

	if (wa_rd_u32(&r, &groups, &why)) return -1;
	groups_end = r.pos;
	for (uint32_t i = 0; i < groups; i++) {
		uint32_t n;
		uint8_t t;
		if (wa_rd_u32(&r, &n, &why) || wa_rd_u8(&r, &t, &why)) return -1;
		nlocals += n;
	}
	code = r.pos;
	if (count_body(m->bytes, code, r.end, c)) return -1;
	*entry = c->total;
	/* Locals: copied as they are, plus one i32 group at the end (no index moves) when an
	 * instruction is priced by its operand: the charge's scratch. The validator held the
	 * function to WA_MAX_LOCALS_PER_FUNC, so the index fits. */
	if (c->priced) {
		if (groups == UINT32_MAX || nlocals >= UINT32_MAX) return -1;
		scratch = (uint32_t)nlocals;
		put_u32(o, groups + 1);
		put(o, m->bytes + groups_end, code - groups_end);
		put_u32(o, 1);
		put_u8(o, WA_T_I32);
	} else {
		put(o, m->bytes + body->offset, code - body->offset);
	}
	if (!host_entry) put_charge(o, fuel, c->total);
	c->nopen = 0;
	while (r.pos < r.end) {
		size_t at = r.pos;
		uint64_t cost = 0;
		uint32_t l = 0, n;
		enum price price = PRICE_NONE;
		uint8_t op;

		if (wa_rd_u8(&r, &op, &why)) return -1;
		if (op == 0x40 || op == 0xfc) price = price_of(&r, op);
		if (op == 0x0c || op == 0x0d) {
			if (wa_rd_u32(&r, &l, &why)) return -1;
			cost = branch_cost(c, l);
		} else if (op == 0x0e) {
			if (wa_rd_u32(&r, &n, &why)) return -1;
			for (uint64_t i = 0; i <= n; i++) {
				uint32_t t;
				if (wa_rd_u32(&r, &t, &why)) return -1;
				if (branch_cost(c, t) > cost) cost = branch_cost(c, t);
			}
		} else if (skip_immediates(&r, op)) {
			return -1;
		}
		if (cost && op == 0x0c) {
			/* br to a loop: the charge's own check does the branch. */
			put_charged_br(o, fuel, cost, l);
			continue;
		}
		if (cost && op == 0x0d && !c->params[c->nopen - 1 - l]) {
			/* br_if to a loop without parameters: `if` takes the condition, so the charge runs
			 * only when the branch is taken and nothing below the condition moves. */
			put_u8(o, 0x04);
			put_u8(o, 0x40);
			put_charged_br(o, fuel, cost, l + 1);
			put_u8(o, 0x0b);
			continue;
		}
		/* br_table with a loop among its targets, or br_if carrying values to a loop: charged
		 * before, whether or not (or wherever) it branches. */
		if (cost) put_charge(o, fuel, cost);
		/* An instruction priced by its operand pays it now, before it runs. */
		if (price != PRICE_NONE) put_operand_charge(o, fuel, scratch, price);
		put(o, m->bytes + at, r.pos - at);
		if (op == 0x02 || op == 0x03 || op == 0x04) {
			/* count_body grew open[] and params[] to the deepest nesting already. */
			bool params = false;
			if (op == 0x03) {
				struct wa_rd bt = { m->bytes, at + 1, r.pos };
				int64_t t;
				if (wa_rd_s33(&bt, &t, &why)) return -1;
				params = t >= 0 && (uint64_t)t < m->ntypes && m->types[t].nparams > 0;
			}
			c->params[c->nopen] = params;
			c->open[c->nopen++] = op == 0x03 ? c->loop[loop++] : 0;
		} else if (op == 0x0b && c->nopen > 0) {
			c->nopen--;
		}
	}
	return 0;
}

/* Functions some `call` names, in live code or dead: the validator recorded them while it
 * decoded every body (struct wa_module, func_called). */
static void mark_called(const struct wa_module *m, bool *called)
{
	for (uint32_t f = 0; m->func_called && f < m->nfuncs; f++)
		if (m->func_called[f]) called[f] = true;
}

/* The hook a function export's name names, or -1. */
static int hook_named(const struct wa_export *x)
{
	for (int h = 0; h < WA_HOOK_COUNT; h++) {
		if (x->name_len == strlen(wa_hooks[h].name) && !memcmp(x->name, wa_hooks[h].name, x->name_len))
			return h;
	}
	return -1;
}

/* host_only[i] (i = function index) for the functions only the host can enter: exported only
 * under hook names, never the target of a `call`, in no element segment (so no call_indirect
 * reaches them), not the start function. */
static int find_host_only(const struct wa_module *m, bool *host_only)
{
	bool *reached = calloc(m->nfuncs ? m->nfuncs : 1, sizeof *reached);

	if (!reached) return -1;
	mark_called(m, reached);
	if (m->has_start) reached[m->start] = true;
	for (uint32_t f = 0; f < m->nfuncs; f++)
		if (m->func_in_elem && m->func_in_elem[f]) reached[f] = true;
	for (uint32_t i = 0; i < m->nexports; i++) {
		const struct wa_export *x = &m->exports[i];
		if (x->kind == 0 && x->index >= m->nfunc_imports && hook_named(x) >= 0) host_only[x->index] = true;
	}
	/* A second pass: another export name (wasm_auth_buffer, or one no host knows) disqualifies
	 * whatever the order of the exports. */
	for (uint32_t i = 0; i < m->nexports; i++) {
		const struct wa_export *x = &m->exports[i];
		if (x->kind == 0 && hook_named(x) < 0) host_only[x->index] = false;
	}
	for (uint32_t f = 0; f < m->nfuncs; f++)
		if (reached[f]) host_only[f] = false;
	free(reached);
	return 0;
}

static int meter_code(const struct wa_module *m, uint32_t fuel, struct wa_meter_report *rep, struct out *sec,
                      struct wa_err *e)
{
	struct counts c;
	struct out body = { 0 };
	bool *host_only = calloc(m->nfuncs ? m->nfuncs : 1, sizeof *host_only);
	uint64_t *entry = calloc(m->nfuncs ? m->nfuncs : 1, sizeof *entry);
	int rc = 0;

	memset(&c, 0, sizeof c);
	if (!host_only || !entry) {
		wa_err_set(e, "metering", WA_NO_FUNC, WA_NO_OFF, "out of memory");
		rc = -1;
	} else if (rep && find_host_only(m, host_only)) {
		wa_err_set(e, "metering", WA_NO_FUNC, WA_NO_OFF, "out of memory");
		rc = -1;
	}
	put_u32(sec, m->nbodies);
	for (uint32_t i = 0; i < m->nbodies && rc == 0; i++) {
		uint32_t f = m->nfunc_imports + i;
		body.n = 0;
		if (meter_body(m, f, &m->bodies[i], fuel, host_only[f], &c, &entry[f], &body)) {
			wa_err_set(e, "metering", f, m->bodies[i].offset, "cannot decode function body");
			rc = -1;
			break;
		}
		if (body.oom || body.n > UINT32_MAX) {
			wa_err_set(e, "metering", WA_NO_FUNC, WA_NO_OFF, "out of memory");
			rc = -1;
			break;
		}
		if (entry[f] > UINT32_MAX) { /* a body is at most 4 GiB, one byte per instruction at least */
			wa_err_set(e, "metering", f, m->bodies[i].offset, "function too large");
			rc = -1;
			break;
		}
		put_u32(sec, (uint32_t)body.n);
		put(sec, body.b, body.n);
	}
	if (rc == 0 && rep) {
		memset(rep, 0, sizeof *rep);
		for (uint32_t i = 0; i < m->nexports; i++) {
			const struct wa_export *x = &m->exports[i];
			int h = x->kind == 0 ? hook_named(x) : -1;
			if (h >= 0 && host_only[x->index]) rep->hook_entry_fuel[h] = (uint32_t)entry[x->index];
		}
	}
	free(body.b);
	free(c.loop);
	free(c.open);
	free(c.start);
	free(c.params);
	free(host_only);
	free(entry);
	return rc;
}

/* The fuel global: mutable i64 = 0, so a host that forgets to set the budget traps at once. */
static void put_fuel_global(struct out *o)
{
	put_u8(o, WA_T_I64);
	put_u8(o, 0x01);
	put_u8(o, 0x42);
	put_u8(o, 0x00);
	put_u8(o, 0x0b);
}

static void put_fuel_export(struct out *o, uint32_t fuel)
{
	put_u32(o, (uint32_t)strlen(WA_FUEL_GLOBAL));
	put(o, WA_FUEL_GLOBAL, strlen(WA_FUEL_GLOBAL));
	put_u8(o, 0x03);
	put_u32(o, fuel);
}

/* Section contents with one more entry: new count, old entries, then the caller's entry. */
static int extend_vector(const struct wa_module *m, uint8_t id, struct out *c)
{
	struct wa_rd r = { m->bytes, m->sec[id].content, m->sec[id].end };
	const char *why;
	uint32_t n;

	if (wa_rd_u32(&r, &n, &why) || n == UINT32_MAX) return -1;
	put_u32(c, n + 1);
	put(c, m->bytes + r.pos, r.end - r.pos);
	return 0;
}

static int section_rank(uint8_t id)
{
	static const int rank[13] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 10 };
	return rank[id];
}

int wa_meter_module(const struct wa_module *m, uint8_t **out, size_t *outlen, struct wa_meter_report *rep,
                    struct wa_err *err)
{
	const uint8_t *bytes = m->bytes;
	size_t len = m->len;
	struct out o = { 0 }, c = { 0 };
	bool globals_done = false, exports_done = false;
	uint32_t fuel;
	size_t pos;
	int rc = -1;

	if (rep) memset(rep, 0, sizeof *rep);
	*out = NULL;
	*outlen = 0;
	for (uint32_t i = 0; i < m->nexports; i++) {
		if (m->exports[i].name_len == strlen(WA_FUEL_GLOBAL) &&
		    !memcmp(m->exports[i].name, WA_FUEL_GLOBAL, m->exports[i].name_len)) {
			wa_err_set(err, "metering", WA_NO_FUNC, m->exports[i].offset, "module already exports %s",
			           WA_FUEL_GLOBAL);
			goto done;
		}
	}
	if (m->nglobals == UINT32_MAX) {
		wa_err_set(err, "metering", WA_NO_FUNC, WA_NO_OFF, "no room for the fuel global");
		goto done;
	}
	fuel = m->nglobals;

	put(&o, bytes, 8);
	pos = 8;
	while (pos < len) {
		struct wa_rd r = { bytes, pos, len };
		const char *why;
		uint8_t id;
		uint32_t size;

		if (wa_rd_u8(&r, &id, &why) || wa_rd_u32(&r, &size, &why)) goto bad;
		/* New sections go where the binary format's order puts them. */
		if (id != 0 && !globals_done && section_rank(id) > section_rank(6)) {
			c.n = 0;
			put_u32(&c, 1);
			put_fuel_global(&c);
			put_section(&o, 6, &c);
			globals_done = true;
		}
		if (id != 0 && !exports_done && section_rank(id) > section_rank(7)) {
			c.n = 0;
			put_u32(&c, 1);
			put_fuel_export(&c, fuel);
			put_section(&o, 7, &c);
			exports_done = true;
		}
		c.n = 0;
		if (id == 6) {
			if (extend_vector(m, 6, &c)) goto bad;
			put_fuel_global(&c);
			put_section(&o, 6, &c);
			globals_done = true;
		} else if (id == 7) {
			if (extend_vector(m, 7, &c)) goto bad;
			put_fuel_export(&c, fuel);
			put_section(&o, 7, &c);
			exports_done = true;
		} else if (id == 10) {
			if (meter_code(m, fuel, rep, &c, err)) goto done;
			put_section(&o, 10, &c);
		} else if (id == 0) {
			/* Custom sections are dropped: nothing needs them at run time, and wasm3 parses the
			 * name section, refusing a malformed one that the gate (as the spec says) ignored. */
		} else {
			put(&o, bytes + pos, r.pos + size - pos);
		}
		pos = r.pos + size;
	}
	if (!globals_done) {
		c.n = 0;
		put_u32(&c, 1);
		put_fuel_global(&c);
		put_section(&o, 6, &c);
	}
	if (!exports_done) {
		c.n = 0;
		put_u32(&c, 1);
		put_fuel_export(&c, fuel);
		put_section(&o, 7, &c);
	}
	if (o.oom || c.oom) {
		wa_err_set(err, "metering", WA_NO_FUNC, WA_NO_OFF, "out of memory");
		goto done;
	}
	/* The output must be a valid module within wasm3's limits; a failure here is a gate bug,
	 * reported instead of handed to the interpreter. */
	{
		struct wa_module check;
		char why[WA_GATE_ERR_LEN];
		struct wa_err ce = { why, sizeof why, false };
		int bad = wa_module_decode(o.b, o.n, true, &check, &ce);
		wa_module_free(&check);
		if (bad) {
			wa_err_set(err, "metering", WA_NO_FUNC, WA_NO_OFF, "metered module is invalid: %s", why);
			goto done;
		}
	}
	*out = o.b;
	*outlen = o.n;
	o.b = NULL;
	rc = 0;
	goto done;
bad:
	wa_err_set(err, "metering", WA_NO_FUNC, pos, "cannot re-read the section headers");
done:
	if (rc && rep) memset(rep, 0, sizeof *rep);
	free(o.b);
	free(c.b);
	return rc;
}

int wa_gate_meter(const uint8_t *bytes, size_t len, uint8_t **out, size_t *outlen, struct wa_meter_report *rep,
                  char *err, size_t errlen)
{
	struct wa_err e = { err, errlen, false };
	struct wa_module m;
	int rc = -1;

	if (err && errlen) err[0] = '\0';
	if (rep) memset(rep, 0, sizeof *rep);
	*out = NULL;
	*outlen = 0;
	if (!bytes) {
		wa_err_set(&e, "metering", WA_NO_FUNC, WA_NO_OFF, "no module");
		return -1;
	}
	/* Decoding validates every body again: this entry point takes any bytes, and the rewrite
	 * below relies on valid encodings (wa_gate_check_meter does both in one decode). */
	if (wa_module_decode(bytes, len, false, &m, &e) == 0) rc = wa_meter_module(&m, out, outlen, rep, &e);
	wa_module_free(&m);
	return rc;
}
