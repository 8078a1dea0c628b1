/* Fuel metering: rewrites a valid module so that it charges a mutable i64 global, exported as
 * WA_FUEL_GLOBAL, and executes `unreachable` as soon as the budget would go below zero.
 *
 * Where it charges: at the entry of every defined function and right after every `loop`
 * opcode (the only target of backward branches). Each such point starts a *region*: the
 * function's top level, or one loop's body, minus the loops nested in it. The charge is the
 * number of instructions in the region. Any instruction runs at most once per entry into its
 * innermost region (reaching it again needs a branch back to that region's loop header, or a
 * new call), so the fuel spent bounds the instructions executed: no straight-line path or
 * loop runs for free. Calls into the host and bulk memory instructions count as one each.
 *
 * Indices do not move: the fuel global is appended after every existing global, no function
 * is added (the check is inlined), and no local is added. */
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
	if(o->oom) return;
	if(n > o->cap - o->n){
		size_t ncap = o->cap ? o->cap : 1024;
		uint8_t *nb;
		while(ncap - o->n < n){
			if(ncap > SIZE_MAX / 2){
				o->oom = true;
				return;
			}
			ncap *= 2;
		}
		nb = realloc(o->b, ncap);
		if(!nb){
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
	do{
		uint8_t b = v & 0x7f;
		v >>= 7;
		if(v) b |= 0x80;
		put_u8(o, b);
	}while(v);
}

static void put_s64(struct out *o, int64_t v)
{
	for(;;){
		uint8_t b = (uint8_t)(v & 0x7f);
		v >>= 7; /* arithmetic shift on every compiler we target (gcc, clang) */
		if((v == 0 && !(b & 0x40)) || (v == -1 && (b & 0x40))){
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

/* global.get F; i64.const cost; i64.sub; global.set F;
 * global.get F; i64.const 0; i64.lt_s; if unreachable end */
static void put_charge(struct out *o, uint32_t fuel, uint64_t cost)
{
	put_u8(o, 0x23); put_u32(o, fuel);
	put_u8(o, 0x42); put_s64(o, (int64_t)cost);
	put_u8(o, 0x7d);
	put_u8(o, 0x24); put_u32(o, fuel);
	put_u8(o, 0x23); put_u32(o, fuel);
	put_u8(o, 0x42); put_u8(o, 0x00);
	put_u8(o, 0x53);
	put_u8(o, 0x04); put_u8(o, 0x40);
	put_u8(o, 0x00);
	put_u8(o, 0x0b);
}

/* Skips one instruction's immediates; the module was validated, so the encoding is known good
 * and every read is still bounds-checked. Returns -1 only on a malformed instruction. */
static int skip_immediates(struct wa_rd *r, uint8_t op)
{
	const char *why;
	uint32_t n, x;
	int32_t s32;
	int64_t s64;
	const uint8_t *p;
	uint8_t b;

	switch(op){
		case 0x02: case 0x03: case 0x04:
			return wa_rd_s33(r, &s64, &why);
		case 0x0c: case 0x0d: case 0x10: case 0x20: case 0x21: case 0x22: case 0x23: case 0x24:
			return wa_rd_u32(r, &x, &why);
		case 0x0e:
			if(wa_rd_u32(r, &n, &why)) return -1;
			for(uint64_t i = 0; i <= n; i++) if(wa_rd_u32(r, &x, &why)) return -1;
			return 0;
		case 0x11:
			if(wa_rd_u32(r, &x, &why)) return -1;
			return wa_rd_u8(r, &b, &why);
		case 0x1c:
			if(wa_rd_u32(r, &n, &why)) return -1;
			return wa_rd_bytes(r, n, &p, &why);
		case 0x3f: case 0x40:
			return wa_rd_u8(r, &b, &why);
		case 0x41:
			return wa_rd_s32(r, &s32, &why);
		case 0x42:
			return wa_rd_s64(r, &s64, &why);
		case 0x43:
			return wa_rd_bytes(r, 4, &p, &why);
		case 0x44:
			return wa_rd_bytes(r, 8, &p, &why);
		case 0xfc:
			if(wa_rd_u32(r, &n, &why)) return -1;
			switch(n){
				case 8: /* memory.init data 0 */
					if(wa_rd_u32(r, &x, &why)) return -1;
					return wa_rd_u8(r, &b, &why);
				case 9: case 13:
					return wa_rd_u32(r, &x, &why);
				case 10: case 12: case 14:
					if(n == 10) return wa_rd_bytes(r, 2, &p, &why);
					if(wa_rd_u32(r, &x, &why)) return -1;
					return wa_rd_u32(r, &x, &why);
				case 11:
					return wa_rd_u8(r, &b, &why);
				default:
					return n <= 7 ? 0 : -1;
			}
		default:
			if(op >= 0x28 && op <= 0x3e){ /* memarg */
				if(wa_rd_u32(r, &x, &why)) return -1;
				return wa_rd_u32(r, &x, &why);
			}
			return 0;
	}
}

/* Pass 1: instruction count per region, regions numbered in order of appearance (0 = the
 * function's top level, k = the k-th loop). Pass 2 emits the body with the charges. */
struct regions {
	uint64_t *cost;
	size_t n, cap;
	uint32_t *open; /* per open block: region it belongs to if it is a loop, else UINT32_MAX */
	uint32_t *cur;  /* stack of current regions */
	size_t nopen, capopen, ncur, capcur;
};

/* Grows array p (of *p elements) to hold at least need elements; -1 when out of memory. */
#define GROW(p, cap, need) \
	((need) <= (cap) ? 0 : grow_array((void *)&(p), &(cap), (need), sizeof *(p), (p)))

static int grow_array(void *pp, size_t *cap, size_t need, size_t elem, void *old)
{
	size_t ncap = *cap ? *cap * 2 : 64;
	void *np;

	while(ncap < need) ncap *= 2;
	if(ncap > SIZE_MAX / elem) return -1;
	np = realloc(old, ncap * elem);
	if(!np) return -1;
	memcpy(pp, &np, sizeof np); /* stores the new pointer without type-punning the lvalue */
	*cap = ncap;
	return 0;
}

static int count_regions(const uint8_t *bytes, size_t start, size_t end, struct regions *rg)
{
	struct wa_rd r = { bytes, start, end };
	const char *why;

	rg->n = 1;
	rg->nopen = 0;
	rg->ncur = 1;
	if(GROW(rg->cost, rg->cap, 1) || GROW(rg->cur, rg->capcur, 1)) return -1;
	rg->cost[0] = 0;
	rg->cur[0] = 0;
	while(r.pos < r.end){
		uint8_t op;
		if(wa_rd_u8(&r, &op, &why)) return -1;
		rg->cost[rg->cur[rg->ncur - 1]]++;
		if(skip_immediates(&r, op)) return -1;
		if(op == 0x02 || op == 0x03 || op == 0x04){
			uint32_t region = UINT32_MAX;
			if(op == 0x03){
				if(GROW(rg->cost, rg->cap, rg->n + 1) || GROW(rg->cur, rg->capcur, rg->ncur + 1)) return -1;
				region = (uint32_t)rg->n++;
				rg->cost[region] = 0;
				rg->cur[rg->ncur++] = region;
			}
			if(GROW(rg->open, rg->capopen, rg->nopen + 1)) return -1;
			rg->open[rg->nopen++] = region;
		}else if(op == 0x0b && rg->nopen > 0){
			/* The loop's own end runs inside its body: it was counted above, then the region closes. */
			if(rg->open[--rg->nopen] != UINT32_MAX) rg->ncur--;
		}
	}
	return 0;
}

static int meter_body(const struct wa_module *m, const struct wa_body *body, uint32_t fuel,
                      struct regions *rg, struct out *o)
{
	struct wa_rd r = { m->bytes, body->offset, body->offset + body->size };
	const char *why;
	uint32_t groups;
	size_t loop = 0;
	size_t code;

	/* Locals: copied as they are. */
	if(wa_rd_u32(&r, &groups, &why)) return -1;
	for(uint32_t i = 0; i < groups; i++){
		uint32_t n;
		uint8_t t;
		if(wa_rd_u32(&r, &n, &why) || wa_rd_u8(&r, &t, &why)) return -1;
	}
	code = r.pos;
	if(count_regions(m->bytes, code, r.end, rg)) return -1;
	put(o, m->bytes + body->offset, code - body->offset);
	put_charge(o, fuel, rg->cost[0]);
	while(r.pos < r.end){
		size_t at = r.pos;
		uint8_t op;
		if(wa_rd_u8(&r, &op, &why) || skip_immediates(&r, op)) return -1;
		put(o, m->bytes + at, r.pos - at);
		if(op == 0x03) put_charge(o, fuel, rg->cost[++loop]);
	}
	return 0;
}

static int meter_code(const struct wa_module *m, uint32_t fuel, struct out *sec, struct wa_err *e)
{
	struct regions rg;
	struct out body = { 0 };
	int rc = 0;

	memset(&rg, 0, sizeof rg);
	put_u32(sec, m->nbodies);
	for(uint32_t i = 0; i < m->nbodies && rc == 0; i++){
		body.n = 0;
		if(meter_body(m, &m->bodies[i], fuel, &rg, &body)){
			wa_err_set(e, "metering", m->nfunc_imports + i, m->bodies[i].offset, "cannot decode function body");
			rc = -1;
			break;
		}
		if(body.oom || body.n > UINT32_MAX){
			wa_err_set(e, "metering", WA_NO_FUNC, WA_NO_OFF, "out of memory");
			rc = -1;
			break;
		}
		put_u32(sec, (uint32_t)body.n);
		put(sec, body.b, body.n);
	}
	free(body.b);
	free(rg.cost);
	free(rg.open);
	free(rg.cur);
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

	if(wa_rd_u32(&r, &n, &why) || n == UINT32_MAX) return -1;
	put_u32(c, n + 1);
	put(c, m->bytes + r.pos, r.end - r.pos);
	return 0;
}

static int section_rank(uint8_t id)
{
	static const int rank[13] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 10 };
	return rank[id];
}

int wa_gate_meter(const uint8_t *bytes, size_t len, uint8_t **out, size_t *outlen,
                  char *err, size_t errlen)
{
	struct wa_err e = { err, errlen, false };
	struct wa_module m;
	struct out o = { 0 }, c = { 0 };
	bool globals_done = false, exports_done = false;
	uint32_t fuel;
	size_t pos;
	int rc = -1;

	if(err && errlen) err[0] = '\0';
	*out = NULL;
	*outlen = 0;
	if(!bytes){
		wa_err_set(&e, "metering", WA_NO_FUNC, WA_NO_OFF, "no module");
		return -1;
	}
	if(wa_module_decode(bytes, len, false, &m, &e)) goto done;
	for(uint32_t i = 0; i < m.nexports; i++){
		if(m.exports[i].name_len == strlen(WA_FUEL_GLOBAL)
				&& !memcmp(m.exports[i].name, WA_FUEL_GLOBAL, m.exports[i].name_len)){
			wa_err_set(&e, "metering", WA_NO_FUNC, m.exports[i].offset, "module already exports %s", WA_FUEL_GLOBAL);
			goto done;
		}
	}
	if(m.nglobals == UINT32_MAX){
		wa_err_set(&e, "metering", WA_NO_FUNC, WA_NO_OFF, "no room for the fuel global");
		goto done;
	}
	fuel = m.nglobals;

	put(&o, bytes, 8);
	pos = 8;
	while(pos < len){
		struct wa_rd r = { bytes, pos, len };
		const char *why;
		uint8_t id;
		uint32_t size;

		if(wa_rd_u8(&r, &id, &why) || wa_rd_u32(&r, &size, &why)) goto bad;
		/* New sections go where the binary format's order puts them. */
		if(id != 0 && !globals_done && section_rank(id) > section_rank(6)){
			c.n = 0;
			put_u32(&c, 1);
			put_fuel_global(&c);
			put_section(&o, 6, &c);
			globals_done = true;
		}
		if(id != 0 && !exports_done && section_rank(id) > section_rank(7)){
			c.n = 0;
			put_u32(&c, 1);
			put_fuel_export(&c, fuel);
			put_section(&o, 7, &c);
			exports_done = true;
		}
		c.n = 0;
		if(id == 6){
			if(extend_vector(&m, 6, &c)) goto bad;
			put_fuel_global(&c);
			put_section(&o, 6, &c);
			globals_done = true;
		}else if(id == 7){
			if(extend_vector(&m, 7, &c)) goto bad;
			put_fuel_export(&c, fuel);
			put_section(&o, 7, &c);
			exports_done = true;
		}else if(id == 10){
			if(meter_code(&m, fuel, &c, &e)) goto done;
			put_section(&o, 10, &c);
		}else{
			put(&o, bytes + pos, r.pos + size - pos);
		}
		pos = r.pos + size;
	}
	if(!globals_done){
		c.n = 0;
		put_u32(&c, 1);
		put_fuel_global(&c);
		put_section(&o, 6, &c);
	}
	if(!exports_done){
		c.n = 0;
		put_u32(&c, 1);
		put_fuel_export(&c, fuel);
		put_section(&o, 7, &c);
	}
	if(o.oom || c.oom){
		wa_err_set(&e, "metering", WA_NO_FUNC, WA_NO_OFF, "out of memory");
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
		if(bad){
			wa_err_set(&e, "metering", WA_NO_FUNC, WA_NO_OFF, "metered module is invalid: %s", why);
			goto done;
		}
	}
	*out = o.b;
	*outlen = o.n;
	o.b = NULL;
	rc = 0;
	goto done;
bad:
	wa_err_set(&e, "metering", WA_NO_FUNC, pos, "cannot re-read the section headers");
done:
	free(o.b);
	free(c.b);
	wa_module_free(&m);
	return rc;
}
