/* Guest memory access by the ABI's rules (docs/ABI.md): bounds-checked ranges, Str and Options
 * descriptors written into the request buffer, UTF-16 string pointers read back. Engine-neutral:
 * it sees linear memory as base + size, re-read by the caller after every guest call. */
#ifndef WASM_AUTH_ABI_MARSHAL_H
#define WASM_AUTH_ABI_MARSHAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "options.h"

struct wa_mem {
	uint8_t *base;
	uint32_t size;
};

/* Host bytes for one Str argument. present = 0: the descriptor pointer is 0 ("absent"). */
struct wa_field {
	const void *data;
	uint32_t len;
	int present;
};

#define WA_STR_BYTES 8u
/* The buffer start may need up to 3 bytes of slack to align the descriptors. */
#define WA_ALIGN_SLACK 3u

/* Pointer to guest bytes [ptr, ptr+len) or NULL if out of bounds. ptr 0 is refused unless
 * len is 0 (nothing is read or written then). */
uint8_t *wa_mem_range(struct wa_mem m, uint32_t ptr, uint32_t len);

/* A guest string pointer (UTF-16LE, byte length in the u32 at ptr-4): 0 with data and len set, or
 * -1 if any part is out of bounds or the length is odd. */
int wa_mem_string(struct wa_mem m, uint32_t ptr, const uint8_t **data, uint32_t *len);

/* Little-endian, as wasm; compilers turn it into one store on little-endian hosts. */
static inline void wa_put_u32le(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* memcpy for request fields, which are mostly short (client ids, usernames, topics): up to 16
 * bytes with two (possibly overlapping) loads and stores of the same width, no call; longer
 * ones through memcpy. Reads exactly [src, src+n), writes exactly [dst, dst+n). */
static inline void wa_copy_field(uint8_t *dst, const void *src, uint32_t n)
{
	const uint8_t *s = src;

	if (n >= 8 && n <= 16) {
		uint64_t a, b;
		memcpy(&a, s, 8);
		memcpy(&b, s + n - 8, 8);
		memcpy(dst, &a, 8);
		memcpy(dst + n - 8, &b, 8);
	} else if (n >= 4 && n < 8) {
		uint32_t a, b;
		memcpy(&a, s, 4);
		memcpy(&b, s + n - 4, 4);
		memcpy(dst, &a, 4);
		memcpy(dst + n - 4, &b, 4);
	} else if (n > 16) {
		memcpy(dst, s, n);
	} else if (n > 0) {
		dst[0] = s[0];
		dst[n / 2] = s[n / 2];
		dst[n - 1] = s[n - 1];
	}
}

/* Bytes the request buffer needs for n fields (descriptors, bytes, alignment slack), or
 * UINT32_MAX if it would not fit in 32 bits. */
static inline uint32_t wa_marshal_fields_size(const struct wa_field *f, unsigned n)
{
	uint64_t total = WA_ALIGN_SLACK + (uint64_t)n * WA_STR_BYTES;

#pragma GCC unroll 8
	for (unsigned i = 0; i < n; i++) total += f[i].present ? f[i].len : 0u;
	return total > UINT32_MAX ? UINT32_MAX : (uint32_t)total;
}

/* Writes n Str descriptors and their bytes into the buffer [buf, buf+cap); args[i] receives the
 * guest pointer of descriptor i (0 for absent fields). -1 if it does not fit or is out of
 * bounds.
 * Inline because it is every request's hot path: with n known at the call site the loops
 * unroll. One bounds check covers every write: they all lie in [start, start + need - slack),
 * inside [buf, buf + cap), inside memory. */
static inline int wa_marshal_fields(struct wa_mem m, uint32_t buf, uint32_t cap, const struct wa_field *f, unsigned n,
                                    uint32_t *args)
{
	uint32_t start = (buf + 3u) & ~3u; /* descriptors are 4-byte aligned */
	uint32_t desc = start, data = start + n * WA_STR_BYTES;

	if (buf == 0 || start < buf || wa_marshal_fields_size(f, n) > cap || (uint64_t)buf + cap > m.size) return -1;
#pragma GCC unroll 8
	for (unsigned i = 0; i < n; i++, desc += WA_STR_BYTES) {
		if (!f[i].present) {
			args[i] = 0;
			continue;
		}
		wa_put_u32le(m.base + desc, data);
		wa_put_u32le(m.base + desc + 4, f[i].len);
		wa_copy_field(m.base + data, f[i].data, f[i].len);
		data += f[i].len;
		args[i] = desc;
	}
	return 0;
}

uint32_t wa_marshal_options_size(const struct wa_options *opts);

/* Writes an Options descriptor (count, inline key/value Str pairs) and the bytes; *arg receives
 * its guest pointer. -1 if it does not fit or is out of bounds. */
int wa_marshal_options(struct wa_mem m, uint32_t buf, uint32_t cap, const struct wa_options *opts, uint32_t *arg);

#endif
