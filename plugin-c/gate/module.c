/* Module decoder: the binary format's sections in spec order, with the validation rules that
 * are not about function bodies (index spaces, limits, constant expressions, exports, start,
 * segment kinds) and the feature profile's restrictions. Function bodies go to body.c. */
#include <stdlib.h>
#include <string.h>
#include "gate_internal.h"

/* Section ids in the order the binary format requires them (datacount 12 sits before code). */
static int section_rank(uint8_t id)
{
	static const int rank[13] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 10 };
	return id <= 12 ? rank[id] : -1;
}

static const char *section_name(uint8_t id)
{
	static const char *names[13] = {
		"custom section", "type section",   "import section",    "function section", "table section",
		"memory section", "global section", "export section",    "start section",    "element section",
		"code section",   "data section",   "datacount section",
	};
	return id <= 12 ? names[id] : "section";
}

struct dec {
	struct wa_module *m;
	struct wa_err *e;
	struct wa_rd r;
	const char *where; /* current section's name, for messages */
};

/* Reports a decoding failure at the reader's current position. */
static int fail(struct dec *d, size_t off, const char *why)
{
	wa_err_set(d->e, d->where, WA_NO_FUNC, off, "%s", why);
	return -1;
}

/* Calls a reader function on the current section; on failure reports its reason at the
 * position where reading stopped. */
#define RD(fn, ...)                                                                                                    \
	do {                                                                                                           \
		const char *why_ = "malformed";                                                                        \
		if (fn(&d->r, __VA_ARGS__, &why_)) return fail(d, d->r.pos, why_);                                     \
	} while (0)

static int profile_fail(struct dec *d, size_t off, const char *feature)
{
	wa_err_set(d->e, d->where, WA_NO_FUNC, off, "not in the feature profile: %s", feature);
	return -1;
}

/* A count whose entries take at least min_bytes each cannot exceed what is left: checking
 * that first keeps allocations proportional to the input. */
static int read_count(struct dec *d, uint32_t *n, size_t min_bytes)
{
	size_t at = d->r.pos;
	RD(wa_rd_u32, n);
	if ((uint64_t)*n * min_bytes > d->r.end - d->r.pos) {
		return fail(d, at, "unexpected end: count exceeds section size");
	}
	return 0;
}

static int read_valtype(struct dec *d, uint8_t *t)
{
	size_t at = d->r.pos;
	RD(wa_rd_u8, t);
	switch (*t) {
		case WA_T_I32:
		case WA_T_I64:
		case WA_T_F32:
		case WA_T_F64: return 0;
		case WA_T_FUNCREF:
		case WA_T_EXTERNREF: return profile_fail(d, at, "reference types (funcref/externref values)");
		case 0x7b: return profile_fail(d, at, "SIMD (v128)");
		default: return fail(d, at, "malformed value type");
	}
}

static int read_limits(struct dec *d, struct wa_limits *l, bool memory)
{
	size_t at = d->r.pos;
	uint8_t flags;

	RD(wa_rd_u8, &flags);
	if (memory && (flags == 2 || flags == 3)) return profile_fail(d, at, "threads (shared memory)");
	if (memory && flags >= 4 && flags <= 7) return profile_fail(d, at, "memory64");
	if (flags > 1) return fail(d, at, "malformed limits flags");
	RD(wa_rd_u32, &l->min);
	l->has_max = flags == 1;
	l->max = 0;
	if (l->has_max) RD(wa_rd_u32, &l->max);
	if (memory && (l->min > WA_PAGE_LIMIT || (l->has_max && l->max > WA_PAGE_LIMIT))) {
		return fail(d, at, "memory size must be at most 65536 pages (4GiB)");
	}
	if (l->has_max && l->min > l->max) {
		return fail(d, at, "size minimum must not be greater than maximum");
	}
	return 0;
}

static int read_tabletype(struct dec *d, struct wa_limits *l)
{
	size_t at = d->r.pos;
	uint8_t t;

	RD(wa_rd_u8, &t);
	if (t == WA_T_EXTERNREF) return profile_fail(d, at, "reference types (externref table)");
	if (t != WA_T_FUNCREF) return fail(d, at, "malformed reference type");
	if (read_limits(d, l, false)) return -1;
	d->m->ntables++;
	if (d->m->ntables > 1) return profile_fail(d, at, "reference types (multiple tables)");
	return 0;
}

static int read_memtype(struct dec *d, struct wa_limits *l)
{
	size_t at = d->r.pos;

	if (read_limits(d, l, true)) return -1;
	d->m->nmems++;
	if (d->m->nmems > 1) return profile_fail(d, at, "multi-memory (multiple memories)");
	return 0;
}

static int read_globaltype(struct dec *d, struct wa_global *g)
{
	size_t at;
	uint8_t mut;

	if (read_valtype(d, &g->type)) return -1;
	at = d->r.pos;
	RD(wa_rd_u8, &mut);
	if (mut > 1) return fail(d, at, "malformed mutability");
	g->mut = mut == 1;
	return 0;
}

/* Constant expressions: exactly one constant instruction of the expected type, then end.
 * ref.null func / ref.func x only where elem_expr (element segment items). global.get may read
 * only imported immutable globals (globals_visible): Wasm 2.0 also lets segment offsets read
 * module-defined globals, the profile (like wabt without reference types) does not. */
static int read_const_expr(struct dec *d, uint8_t want, uint32_t globals_visible, bool elem_expr)
{
	size_t at = d->r.pos;
	uint8_t op, got = 0, end;

	RD(wa_rd_u8, &op);
	switch (op) {
		case 0x41: {
			int32_t v;
			RD(wa_rd_s32, &v);
			got = WA_T_I32;
			break;
		}
		case 0x42: {
			int64_t v;
			RD(wa_rd_s64, &v);
			got = WA_T_I64;
			break;
		}
		case 0x43: {
			const uint8_t *p;
			RD(wa_rd_bytes, 4, &p);
			got = WA_T_F32;
			break;
		}
		case 0x44: {
			const uint8_t *p;
			RD(wa_rd_bytes, 8, &p);
			got = WA_T_F64;
			break;
		}
		case 0x23: {
			uint32_t idx;
			RD(wa_rd_u32, &idx);
			if (idx >= globals_visible || idx >= d->m->nglobals) {
				return fail(d, at,
				            "unknown global (constant expressions may only read imported globals)");
			}
			if (d->m->globals[idx].mut) return fail(d, at, "constant expression required (mutable global)");
			got = d->m->globals[idx].type;
			break;
		}
		case 0xd0: {
			uint8_t t;
			if (!elem_expr) return profile_fail(d, at, "reference types (ref.null)");
			RD(wa_rd_u8, &t);
			if (t == WA_T_EXTERNREF) return profile_fail(d, at, "reference types (externref)");
			if (t != WA_T_FUNCREF) return fail(d, at, "malformed reference type");
			got = WA_T_FUNCREF;
			break;
		}
		case 0xd2: {
			uint32_t idx;
			if (!elem_expr) return profile_fail(d, at, "reference types (ref.func)");
			RD(wa_rd_u32, &idx);
			if (idx >= d->m->nfuncs) return fail(d, at, "unknown function");
			if (d->m->func_in_elem) d->m->func_in_elem[idx] = true;
			got = WA_T_FUNCREF;
			break;
		}
		case 0x0b: return fail(d, at, "type mismatch: empty constant expression");
		default:
			if (op == 0x6a || op == 0x6b || op == 0x6c || op == 0x7c || op == 0x7d || op == 0x7e) {
				return profile_fail(d, at, "extended constant expressions");
			}
			return fail(d, at, "constant expression required");
	}
	at = d->r.pos;
	RD(wa_rd_u8, &end);
	if (end != 0x0b) {
		/* A second instruction: either a non-constant one or a stack of two values. */
		return fail(d, at, "constant expression required (one instruction, then end)");
	}
	if (got != want) {
		wa_err_set(d->e, d->where, WA_NO_FUNC, at, "type mismatch in constant expression: expected %s, got %s",
		           wa_type_name(want), wa_type_name(got));
		return -1;
	}
	return 0;
}

/* Every instruction's validation work grows with the arity of the types it uses: capping it
 * bounds the gate's (and wasm3's) load time. */
static int arity_fail(struct dec *d, size_t off, const char *what, uint64_t n)
{
	wa_err_set(d->e, d->where, WA_NO_FUNC, off, "function type with %llu %s (implementation limit %u)",
	           (unsigned long long)n, what, WA_MAX_FUNC_ARITY);
	return -1;
}

static int sec_type(struct dec *d)
{
	struct wa_module *m = d->m;

	if (read_count(d, &m->ntypes, 3)) return -1;
	m->types = calloc(m->ntypes ? m->ntypes : 1, sizeof *m->types);
	if (!m->types) return fail(d, d->r.pos, "out of memory");
	for (uint32_t i = 0; i < m->ntypes; i++) {
		struct wa_functype *t = &m->types[i];
		size_t at = d->r.pos;
		uint8_t form, vt;

		RD(wa_rd_u8, &form);
		if (form != 0x60) return fail(d, at, "malformed function type (integer representation too long)");
		RD(wa_rd_u32, &t->nparams);
		if (t->nparams > WA_MAX_FUNC_ARITY) return arity_fail(d, at, "parameters", t->nparams);
		t->params = d->r.buf + d->r.pos;
		for (uint32_t k = 0; k < t->nparams; k++)
			if (read_valtype(d, &vt)) return -1;
		RD(wa_rd_u32, &t->nresults);
		if (t->nresults > WA_MAX_FUNC_ARITY - t->nparams) {
			return arity_fail(d, at, "parameters and results", t->nparams + (uint64_t)t->nresults);
		}
		t->results = d->r.buf + d->r.pos;
		for (uint32_t k = 0; k < t->nresults; k++)
			if (read_valtype(d, &vt)) return -1;
	}
	return 0;
}

static int sec_import(struct dec *d)
{
	struct wa_module *m = d->m;

	if (read_count(d, &m->nimports, 4)) return -1;
	m->imports = calloc(m->nimports ? m->nimports : 1, sizeof *m->imports);
	m->func_type = calloc(m->nimports ? m->nimports : 1, sizeof *m->func_type);
	m->globals = calloc(m->nimports ? m->nimports : 1, sizeof *m->globals);
	if (!m->imports || !m->func_type || !m->globals) return fail(d, d->r.pos, "out of memory");
	for (uint32_t i = 0; i < m->nimports; i++) {
		struct wa_import *im = &m->imports[i];
		size_t at;

		im->offset = d->r.pos;
		RD(wa_rd_name, &im->module, &im->module_len);
		RD(wa_rd_name, &im->name, &im->name_len);
		at = d->r.pos;
		RD(wa_rd_u8, &im->kind);
		switch (im->kind) {
			case 0:
				RD(wa_rd_u32, &im->index);
				if (im->index >= m->ntypes) return fail(d, at, "unknown type");
				m->func_type[m->nfuncs++] = im->index;
				m->nfunc_imports++;
				break;
			case 1:
				if (read_tabletype(d, &m->table)) return -1;
				m->table_imports++;
				break;
			case 2:
				if (read_memtype(d, &m->mem)) return -1;
				m->mem_imports++;
				break;
			case 3:
				if (read_globaltype(d, &m->globals[m->nglobals])) return -1;
				m->globals[m->nglobals++].imported = true;
				m->nglobal_imports++;
				break;
			case 4: return profile_fail(d, at, "exception handling (tag import)");
			default: return fail(d, at, "malformed import kind");
		}
	}
	return 0;
}

static int sec_function(struct dec *d)
{
	struct wa_module *m = d->m;
	uint32_t n;
	uint32_t *ft;

	if (read_count(d, &n, 1)) return -1;
	ft = realloc(m->func_type, ((size_t)m->nfuncs + n + 1) * sizeof *ft);
	if (!ft) return fail(d, d->r.pos, "out of memory");
	m->func_type = ft;
	for (uint32_t i = 0; i < n; i++) {
		size_t at = d->r.pos;
		uint32_t t;
		RD(wa_rd_u32, &t);
		if (t >= m->ntypes) return fail(d, at, "unknown type");
		m->func_type[m->nfuncs++] = t;
	}
	return 0;
}

static int sec_table(struct dec *d)
{
	uint32_t n;

	if (read_count(d, &n, 3)) return -1;
	for (uint32_t i = 0; i < n; i++) {
		if (read_tabletype(d, &d->m->table)) return -1;
	}
	return 0;
}

static int sec_memory(struct dec *d)
{
	uint32_t n;

	if (read_count(d, &n, 2)) return -1;
	for (uint32_t i = 0; i < n; i++) {
		if (read_memtype(d, &d->m->mem)) return -1;
	}
	return 0;
}

static int sec_global(struct dec *d)
{
	struct wa_module *m = d->m;
	struct wa_global *g;
	uint32_t n;

	if (read_count(d, &n, 4)) return -1;
	g = realloc(m->globals, ((size_t)m->nglobals + n + 1) * sizeof *g);
	if (!g) return fail(d, d->r.pos, "out of memory");
	m->globals = g;
	for (uint32_t i = 0; i < n; i++) {
		struct wa_global *cur = &m->globals[m->nglobals];
		memset(cur, 0, sizeof *cur);
		if (read_globaltype(d, cur)) return -1;
		if (read_const_expr(d, cur->type, m->nglobal_imports, false)) return -1;
		m->nglobals++;
	}
	return 0;
}

static int cmp_export_name(const void *a, const void *b)
{
	const struct wa_export *x = *(const struct wa_export *const *)a, *y = *(const struct wa_export *const *)b;
	size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
	int c = n ? memcmp(x->name, y->name, n) : 0;

	if (c) return c;
	if (x->name_len != y->name_len) return x->name_len < y->name_len ? -1 : 1;
	/* Equal names: order by position, so the report names the later one. */
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Sorting, not pairwise comparison: a module may hold a million exports. */
static int check_unique_exports(struct dec *d)
{
	struct wa_module *m = d->m;
	const struct wa_export **sorted;
	int rc = 0;

	if (m->nexports < 2) return 0;
	sorted = malloc(m->nexports * sizeof *sorted);
	if (!sorted) return fail(d, d->r.pos, "out of memory");
	for (uint32_t i = 0; i < m->nexports; i++) sorted[i] = &m->exports[i];
	qsort(sorted, m->nexports, sizeof *sorted, cmp_export_name);
	for (uint32_t i = 1; i < m->nexports && rc == 0; i++) {
		if (sorted[i]->name_len == sorted[i - 1]->name_len &&
		    !memcmp(sorted[i]->name, sorted[i - 1]->name, sorted[i]->name_len)) {
			rc = fail(d, sorted[i]->offset, "duplicate export name");
		}
	}
	free(sorted);
	return rc;
}

static int sec_export(struct dec *d)
{
	struct wa_module *m = d->m;

	if (read_count(d, &m->nexports, 3)) return -1;
	m->exports = calloc(m->nexports ? m->nexports : 1, sizeof *m->exports);
	if (!m->exports) return fail(d, d->r.pos, "out of memory");
	for (uint32_t i = 0; i < m->nexports; i++) {
		struct wa_export *ex = &m->exports[i];
		uint32_t limit = 0;
		size_t at;

		ex->offset = d->r.pos;
		RD(wa_rd_name, &ex->name, &ex->name_len);
		at = d->r.pos;
		RD(wa_rd_u8, &ex->kind);
		RD(wa_rd_u32, &ex->index);
		switch (ex->kind) {
			case 0: limit = m->nfuncs; break;
			case 1: limit = m->ntables; break;
			case 2: limit = m->nmems; break;
			case 3: limit = m->nglobals; break;
			case 4: return profile_fail(d, at, "exception handling (tag export)");
			default: return fail(d, at, "malformed export kind");
		}
		if (ex->index >= limit) {
			static const char *what[4] = { "unknown function", "unknown table", "unknown memory",
				                       "unknown global" };
			return fail(d, at, what[ex->kind]);
		}
	}
	return check_unique_exports(d);
}

static int sec_start(struct dec *d)
{
	struct wa_module *m = d->m;
	size_t at = d->r.pos;
	const struct wa_functype *t;

	RD(wa_rd_u32, &m->start);
	if (m->start >= m->nfuncs) return fail(d, at, "unknown function");
	t = &m->types[m->func_type[m->start]];
	if (t->nparams || t->nresults) return fail(d, at, "start function must have type [] -> []");
	m->has_start = true;
	return 0;
}

static int read_elem_kind(struct dec *d, bool exprs)
{
	size_t at = d->r.pos;
	uint8_t k;

	RD(wa_rd_u8, &k);
	if (exprs) {
		if (k == WA_T_EXTERNREF) return profile_fail(d, at, "reference types (externref segment)");
		if (k != WA_T_FUNCREF) return fail(d, at, "malformed reference type");
	} else if (k != 0x00) {
		return fail(d, at, "malformed element kind");
	}
	return 0;
}

static int sec_element(struct dec *d)
{
	struct wa_module *m = d->m;

	if (read_count(d, &m->nelems, 2)) return -1;
	/* The function section came first, so nfuncs is final. */
	m->func_in_elem = calloc(m->nfuncs ? m->nfuncs : 1, sizeof *m->func_in_elem);
	if (!m->func_in_elem) return fail(d, d->r.pos, "out of memory");
	for (uint32_t i = 0; i < m->nelems; i++) {
		size_t at = d->r.pos;
		uint32_t flags, table = 0, n;
		bool passive, exprs, explicit_kind;

		RD(wa_rd_u32, &flags);
		if (flags > 7) return fail(d, at, "malformed elements segment kind");
		passive = flags & 1;
		exprs = flags & 4;
		explicit_kind = (flags & 3) != 0; /* all but 0 and 4 carry an element kind/type */
		if (!passive && (flags & 2)) {
			at = d->r.pos;
			RD(wa_rd_u32, &table);
		}
		if (!passive) {
			if (table >= m->ntables) return fail(d, at, "unknown table");
			if (read_const_expr(d, WA_T_I32, m->nglobal_imports, false)) return -1;
		}
		if (explicit_kind && read_elem_kind(d, exprs)) return -1;
		if (read_count(d, &n, 1)) return -1;
		for (uint32_t k = 0; k < n; k++) {
			if (exprs) {
				if (read_const_expr(d, WA_T_FUNCREF, m->nglobal_imports, true)) return -1;
			} else {
				uint32_t f;
				at = d->r.pos;
				RD(wa_rd_u32, &f);
				if (f >= m->nfuncs) return fail(d, at, "unknown function");
				m->func_in_elem[f] = true;
			}
		}
	}
	return 0;
}

static int sec_datacount(struct dec *d)
{
	RD(wa_rd_u32, &d->m->datacount);
	d->m->has_datacount = true;
	return 0;
}

/* Reads the locals of a body (so locals limits hold even before body.c) and hands the whole
 * body to the validator. */
static int sec_code(struct dec *d)
{
	struct wa_module *m = d->m;
	size_t at = d->r.pos;
	uint32_t n;

	if (read_count(d, &n, 2)) return -1;
	if (n != m->nfuncs - m->nfunc_imports) {
		return fail(d, at, "function and code section have inconsistent lengths");
	}
	m->bodies = calloc(n ? n : 1, sizeof *m->bodies);
	m->func_called = calloc(m->nfuncs ? m->nfuncs : 1, sizeof *m->func_called);
	m->import_callers = calloc(m->nfunc_imports ? m->nfunc_imports : 1, sizeof *m->import_callers);
	if (!m->bodies || !m->func_called || !m->import_callers) return fail(d, d->r.pos, "out of memory");
	m->nbodies = n;
	for (uint32_t i = 0; i < n; i++) {
		struct wa_body *b = &m->bodies[i];
		uint32_t size;
		const uint8_t *p;

		at = d->r.pos;
		RD(wa_rd_u32, &size);
		b->offset = d->r.pos;
		b->size = size;
		RD(wa_rd_bytes, size, &p);
		if (wa_body_validate(m, m->nfunc_imports + i, b, d->e)) return -1;
	}
	return 0;
}

static int sec_data(struct dec *d)
{
	struct wa_module *m = d->m;
	size_t at = d->r.pos;

	if (read_count(d, &m->ndata, 2)) return -1;
	if (m->has_datacount && m->ndata != m->datacount) {
		return fail(d, at, "data count and data section have inconsistent lengths");
	}
	for (uint32_t i = 0; i < m->ndata; i++) {
		uint32_t flags, mem = 0, n;
		const uint8_t *p;

		at = d->r.pos;
		RD(wa_rd_u32, &flags);
		if (flags > 2) return fail(d, at, "malformed data segment kind");
		if (flags == 2) {
			at = d->r.pos;
			RD(wa_rd_u32, &mem);
		}
		if (flags != 1) {
			if (mem >= m->nmems) return fail(d, at, "unknown memory");
			if (read_const_expr(d, WA_T_I32, m->nglobal_imports, false)) return -1;
		}
		RD(wa_rd_u32, &n);
		RD(wa_rd_bytes, n, &p);
		m->data_bytes += n;
	}
	return 0;
}

static int sec_custom(struct dec *d)
{
	const uint8_t *name;
	uint32_t len;

	RD(wa_rd_name, &name, &len);
	/* Contents are free-form and never interpreted here; the name section is only remembered. */
	if (len == 4 && !memcmp(name, "name", 4) && d->m->names_end == 0) {
		d->m->names_start = d->r.pos;
		d->m->names_end = d->r.end;
	}
	d->r.pos = d->r.end;
	return 0;
}

static int decode(struct dec *d, const uint8_t *bytes, size_t len)
{
	static const uint8_t magic[4] = { 0x00, 0x61, 0x73, 0x6d };
	static const uint8_t version[4] = { 0x01, 0x00, 0x00, 0x00 };
	struct wa_module *m = d->m;
	int last_rank = 0;
	size_t pos;

	d->where = "header";
	if (len < 4 || memcmp(bytes, magic, 4)) return fail(d, 0, "magic header not detected");
	if (len < 8 || memcmp(bytes + 4, version, 4)) return fail(d, 4, "unknown binary version");
	pos = 8;
	while (pos < len) {
		struct wa_rd hdr = { bytes, pos, len };
		const char *why = "malformed";
		uint8_t id;
		uint32_t size;
		int rank, rc;

		d->where = "module";
		if (wa_rd_u8(&hdr, &id, &why)) return fail(d, pos, why);
		rank = section_rank(id);
		if (rank < 0) return fail(d, pos, "malformed section id");
		d->where = section_name(id);
		if (wa_rd_u32(&hdr, &size, &why)) return fail(d, hdr.pos, why);
		if (size > len - hdr.pos) return fail(d, hdr.pos, "unexpected end: section size exceeds module");
		if (id != 0) {
			if (rank <= last_rank)
				return fail(d, pos,
				            "unexpected content after last section (section out of order or repeated)");
			last_rank = rank;
			m->sec[id].start = pos;
			m->sec[id].content = hdr.pos;
			m->sec[id].end = hdr.pos + size;
		}
		d->r.buf = bytes;
		d->r.pos = hdr.pos;
		d->r.end = hdr.pos + size;
		switch (id) {
			case 0: rc = sec_custom(d); break;
			case 1: rc = sec_type(d); break;
			case 2: rc = sec_import(d); break;
			case 3: rc = sec_function(d); break;
			case 4: rc = sec_table(d); break;
			case 5: rc = sec_memory(d); break;
			case 6: rc = sec_global(d); break;
			case 7: rc = sec_export(d); break;
			case 8: rc = sec_start(d); break;
			case 9: rc = sec_element(d); break;
			case 10: rc = sec_code(d); break;
			case 11: rc = sec_data(d); break;
			default: rc = sec_datacount(d); break;
		}
		if (rc) return -1;
		if (d->r.pos != d->r.end) return fail(d, d->r.pos, "section size mismatch");
		pos = d->r.end;
	}
	d->where = "module";
	if (m->nfuncs != m->nfunc_imports && !m->sec[10].start) {
		return fail(d, WA_NO_OFF, "function and code section have inconsistent lengths");
	}
	if (m->has_datacount && m->datacount != 0 && !m->sec[11].start) {
		return fail(d, WA_NO_OFF, "data count and data section have inconsistent lengths");
	}
	return 0;
}

int wa_module_decode(const uint8_t *bytes, size_t len, bool metered, struct wa_module *m, struct wa_err *e)
{
	struct dec d;

	memset(m, 0, sizeof *m);
	m->bytes = bytes;
	m->len = len;
	m->max_frames = metered ? WA_MAX_BLOCK_DEPTH : WA_GATE_MAX_FRAMES;
	m->max_operands = metered ? WA_MAX_OPERAND_STACK : WA_GATE_MAX_OPERANDS;
	m->max_locals = metered ? WA_MAX_LOCALS_PER_FUNC + WA_METER_EXTRA_LOCALS : WA_MAX_LOCALS_PER_FUNC;
	memset(&d, 0, sizeof d);
	d.m = m;
	d.e = e;
	if (decode(&d, bytes, len)) {
		if (!e->set) wa_err_set(e, "module", WA_NO_FUNC, WA_NO_OFF, "malformed");
		return -1;
	}
	return 0;
}

void wa_module_free(struct wa_module *m)
{
	free(m->types);
	free(m->imports);
	free(m->func_type);
	free(m->globals);
	free(m->exports);
	free(m->func_in_elem);
	free(m->bodies);
	free(m->func_called);
	free(m->import_callers);
	memset(m, 0, sizeof *m);
}
