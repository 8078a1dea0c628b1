/* Byte-level decoding: LEB128 with the spec's exact length and unused-bit rules, names, UTF-8.
 * Every read is bounds-checked against the cursor's end, never against the whole file. */
#include <stdio.h>
#include <string.h>
#include "gate_internal.h"

void wa_err_set(struct wa_err *e, const char *where, uint32_t func, size_t off, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	wa_err_vset(e, where, func, off, fmt, ap);
	va_end(ap);
}

void wa_err_vset(struct wa_err *e, const char *where, uint32_t func, size_t off, const char *fmt, va_list ap)
{
	char msg[WA_GATE_ERR_LEN];
	int n = 0;

	if (e->set || !e->buf || e->len == 0) {
		e->set = true;
		return;
	}
	e->set = true;
	vsnprintf(msg, sizeof msg, fmt, ap);
	/* Messages quote names from the module, which may hold any bytes: the message ends up on one
	 * log line, so control characters (a newline would forge a second line) become '?'. */
	for (char *c = msg; *c; c++) {
		if ((unsigned char)*c < 0x20 || *c == 0x7f) *c = '?';
	}
	e->buf[0] = '\0';
	if (where) {
		n = snprintf(e->buf, e->len, "%s", where);
		if (func != WA_NO_FUNC && n >= 0 && (size_t)n < e->len) {
			n += snprintf(e->buf + n, e->len - (size_t)n, ", function %u", func);
		}
		if (off != WA_NO_OFF && n >= 0 && (size_t)n < e->len) {
			n += snprintf(e->buf + n, e->len - (size_t)n, ", offset 0x%zx", off);
		}
		if (n >= 0 && (size_t)n < e->len) {
			n += snprintf(e->buf + n, e->len - (size_t)n, ": ");
		}
	}
	if (n >= 0 && (size_t)n < e->len) {
		snprintf(e->buf + n, e->len - (size_t)n, "%s", msg);
	}
}

int wa_rd_u8(struct wa_rd *r, uint8_t *v, const char **why)
{
	if (r->pos >= r->end) {
		*why = "unexpected end";
		return -1;
	}
	*v = r->buf[r->pos++];
	return 0;
}

int wa_rd_bytes(struct wa_rd *r, size_t n, const uint8_t **p, const char **why)
{
	if (n > r->end - r->pos) {
		*why = "unexpected end: length out of bounds";
		return -1;
	}
	*p = r->buf + r->pos;
	r->pos += n;
	return 0;
}

/* Unsigned LEB128 of at most `bits` bits (32 here): at most ceil(bits/7) bytes, and the
 * bits of the last byte above `bits` must be zero. */
int wa_rd_u32(struct wa_rd *r, uint32_t *v, const char **why)
{
	uint32_t result = 0;
	unsigned shift = 0;

	for (unsigned i = 0; i < 5; i++) {
		uint8_t b;
		if (wa_rd_u8(r, &b, why)) return -1;
		if (i == 4) {
			if (b & 0x80) {
				*why = "integer representation too long";
				return -1;
			}
			if (b & 0x70) {
				*why = "integer too large";
				return -1;
			}
		}
		result |= (uint32_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80)) {
			*v = result;
			return 0;
		}
	}
	*why = "integer representation too long";
	return -1;
}

/* Signed LEB128 of `bits` bits: in the last allowed byte, the unused high bits must all
 * equal the sign bit. */
static int rd_signed(struct wa_rd *r, unsigned bits, int64_t *v, const char **why)
{
	uint64_t result = 0;
	unsigned shift = 0;
	unsigned maxbytes = (bits + 6) / 7;

	for (unsigned i = 0; i < maxbytes; i++) {
		uint8_t b;
		if (wa_rd_u8(r, &b, why)) return -1;
		if (i == maxbytes - 1) {
			unsigned used = bits - 7 * (maxbytes - 1); /* value bits in this byte, sign included */
			uint8_t sign = (uint8_t)((b >> (used - 1)) & 1);
			uint8_t unused_mask = (uint8_t)(0x7f & ~((1u << used) - 1));
			if (b & 0x80) {
				*why = "integer representation too long";
				return -1;
			}
			if ((b & unused_mask) != (sign ? unused_mask : 0)) {
				*why = "integer too large";
				return -1;
			}
		}
		result |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80)) {
			if (shift < 64 && (b & 0x40)) {
				result |= ~(uint64_t)0 << shift;
			}
			*v = (int64_t)result;
			return 0;
		}
	}
	*why = "integer representation too long";
	return -1;
}

int wa_rd_s32(struct wa_rd *r, int32_t *v, const char **why)
{
	int64_t x;
	if (rd_signed(r, 32, &x, why)) return -1;
	*v = (int32_t)x;
	return 0;
}

int wa_rd_s33(struct wa_rd *r, int64_t *v, const char **why)
{
	return rd_signed(r, 33, v, why);
}

int wa_rd_s64(struct wa_rd *r, int64_t *v, const char **why)
{
	return rd_signed(r, 64, v, why);
}

/* UTF-8 per RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF. */
bool wa_utf8_valid(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = p[i];
		uint32_t cp;
		size_t k;

		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			k = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			k = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			k = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (n - i <= k) return false;
		for (size_t j = 1; j <= k; j++) {
			if ((p[i + j] & 0xc0) != 0x80) return false;
			cp = (cp << 6) | (p[i + j] & 0x3f);
		}
		if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff)) {
			return false;
		}
		i += k + 1;
	}
	return true;
}

int wa_rd_name(struct wa_rd *r, const uint8_t **p, uint32_t *len, const char **why)
{
	if (wa_rd_u32(r, len, why)) return -1;
	if (*len > WA_MAX_NAME_BYTES) {
		*why = "name too long (implementation limit WA_MAX_NAME_BYTES)";
		return -1;
	}
	if (wa_rd_bytes(r, *len, p, why)) return -1;
	if (!wa_utf8_valid(*p, *len)) {
		*why = "malformed UTF-8 encoding";
		return -1;
	}
	return 0;
}

const char *wa_type_name(uint8_t t)
{
	switch (t) {
		case WA_T_I32: return "i32";
		case WA_T_I64: return "i64";
		case WA_T_F32: return "f32";
		case WA_T_F64: return "f64";
		case WA_T_FUNCREF: return "funcref";
		case WA_T_EXTERNREF: return "externref";
		case WA_T_ANY: return "any";
		default: return "?";
	}
}
