/* What a refusal tells the policy's author besides the rule it broke: which functions call a
 * refused import (named from the "name" custom section when the module has one: asc writes it
 * with --debug), what to use instead, and what is allowed. Only refusals call these; every read
 * of the name section is bounds-checked, since it is as hostile as the rest of the module and,
 * being a custom section, was not validated. */
#include <stdio.h>
#include <string.h>
#include "gate_internal.h"

/* Longest function or import name quoted in a message: the advice and the allowed list must
 * still fit in a log line after it. */
#define NAME_SHOWN 40

/* Copies n bytes of a name for a message: printable ASCII only (no line breaks, no bidi
 * controls from the module), cut at NAME_SHOWN with "...". */
static void put_name(char *buf, size_t len, const uint8_t *p, size_t n)
{
	size_t k = 0;

	if (len == 0) return;
	for (size_t i = 0; i < n && k + 1 < len; i++) {
		if (i == NAME_SHOWN) {
			for (int d = 0; d < 3 && k + 1 < len; d++) buf[k++] = '.';
			break;
		}
		buf[k++] = (p[i] >= 0x20 && p[i] < 0x7f) ? (char)p[i] : '?';
	}
	buf[k] = '\0';
}

/* The function names subsection (id 1): a vector of (index, name), indices increasing. */
static bool name_from_section(const struct wa_module *m, uint32_t func, const uint8_t **name, uint32_t *len)
{
	struct wa_rd r = { m->bytes, m->names_start, m->names_end };
	const char *why;

	if (m->names_end == 0 || m->names_end > m->len || m->names_start > m->names_end) return false;
	while (r.pos < r.end) {
		uint8_t id;
		uint32_t size, count;
		struct wa_rd sub;

		if (wa_rd_u8(&r, &id, &why) || wa_rd_u32(&r, &size, &why) || size > r.end - r.pos) return false;
		sub = (struct wa_rd){ m->bytes, r.pos, r.pos + size };
		r.pos += size;
		if (id != 1) continue; /* module name (0), local names (2), ... */
		if (wa_rd_u32(&sub, &count, &why)) return false;
		/* Each entry takes at least two bytes, so the loop ends with the subsection. */
		for (uint32_t i = 0; i < count; i++) {
			uint32_t idx;
			if (wa_rd_u32(&sub, &idx, &why) || wa_rd_name(&sub, name, len, &why)) return false;
			if (idx == func) return true;
			if (idx > func) return false;
		}
		return false;
	}
	return false;
}

void wa_func_name(const struct wa_module *m, uint32_t func, char *buf, size_t len)
{
	const uint8_t *name;
	uint32_t n;

	if (name_from_section(m, func, &name, &n) && n > 0) {
		put_name(buf, len, name, n);
		return;
	}
	for (uint32_t i = 0; i < m->nexports; i++) {
		if (m->exports[i].kind == 0 && m->exports[i].index == func) {
			put_name(buf, len, m->exports[i].name, m->exports[i].name_len);
			return;
		}
	}
	snprintf(buf, len, "function %u", func);
}

void wa_import_callers(const struct wa_module *m, uint32_t idx, char *buf, size_t len)
{
	const struct wa_callers *c;
	size_t k = 0;
	int w;

	if (len == 0) return;
	buf[0] = '\0';
	if (!m->import_callers || idx >= m->nfunc_imports) return;
	c = &m->import_callers[idx];
	if (c->n == 0) return;
	for (uint32_t i = 0; i < c->n && k < len; i++) {
		char name[NAME_SHOWN + 8];
		wa_func_name(m, c->func[i], name, sizeof name);
		w = snprintf(buf + k, len - k, "%s%s", i ? ", " : " (called from ", name);
		if (w < 0) return;
		k += (size_t)w;
	}
	if (k < len && c->more) k += (size_t)snprintf(buf + k, len - k, " and %u more", c->more);
	if (k < len) snprintf(buf + k, len - k, ")");
}

static bool starts(const uint8_t *p, uint32_t n, const char *prefix)
{
	size_t l = strlen(prefix);
	return n >= l && !memcmp(p, prefix, l);
}

static bool equals(const uint8_t *p, uint32_t n, const char *s)
{
	return strlen(s) == n && !memcmp(p, s, n);
}

size_t wa_name_distance(const void *name, size_t n, const char *to)
{
	const uint8_t *a = name;
	size_t row[WA_NAME_DISTANCE_MAX_LEN + 1], nb = strlen(to);

	if (n > WA_NAME_DISTANCE_MAX_LEN || nb > WA_NAME_DISTANCE_MAX_LEN) return SIZE_MAX;
	for (size_t j = 0; j <= nb; j++) row[j] = j;
	for (size_t i = 1; i <= n; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= nb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != (uint8_t)to[j - 1]);
			if (up + 1 < best) best = up + 1;
			if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[nb];
}

const char *wa_import_advice(const struct wa_import *im, char *buf, size_t len)
{
	const uint8_t *mod = im->module, *name = im->name;
	uint32_t ml = im->module_len, nl = im->name_len;
	const struct wa_import_abi *close = NULL;
	size_t best = 3; /* "did you mean" only within two edits, and one per three letters */

	if (equals(mod, ml, "env") && starts(name, nl, "console.")) return "log with log() or logAt() from the SDK";
	if (equals(mod, ml, "env") && equals(name, nl, "performance.now"))
		return "for the time use Date.now() (env.Date.now)";
	if (equals(mod, ml, "env") && equals(name, nl, "process.exit")) {
		return "a policy cannot exit: return a Decision, or throw to fail the request";
	}
	if (equals(mod, ml, "env") && starts(name, nl, "process.")) return "process is not available to a policy";
	if (starts(mod, ml, "wasi")) {
		return "WASI is not available to a policy: build without a WASI shim; use log() and option files "
		       "(Options) from the SDK";
	}
	for (unsigned k = 0; k < wa_import_count; k++) {
		size_t d;
		if (!equals(mod, ml, wa_imports[k].module)) continue;
		d = wa_name_distance(name, nl, wa_imports[k].name);
		if (d < best && d * 3 <= strlen(wa_imports[k].name)) {
			best = d;
			close = &wa_imports[k];
		}
	}
	if (close) {
		snprintf(buf, len, "did you mean %s.%s?", close->module, close->name);
		return buf;
	}
	if (equals(mod, ml, "mosquitto")) return "not a host function of this ABI (an SDK newer than this host?)";
	return NULL;
}

void wa_allowed_imports(char *buf, size_t len)
{
	size_t k = 0;
	int w;

	if (len == 0) return;
	buf[0] = '\0';
	for (unsigned i = 0; i < wa_import_count && k < len; i++) {
		bool first = i == 0 || strcmp(wa_imports[i - 1].module, wa_imports[i].module);
		bool last = i + 1 == wa_import_count || strcmp(wa_imports[i + 1].module, wa_imports[i].module);
		w = snprintf(buf + k, len - k, "%s%s%s%s%s", first && i ? " " : "", first ? wa_imports[i].module : "",
		             first ? ".{" : ",", wa_imports[i].name, last ? "}" : "");
		if (w < 0) return;
		k += (size_t)w;
	}
}
