/* Guest memory access by the ABI's rules (docs/ABI.md): bounds-checked ranges, Str and Options
 * descriptors written into the request buffer, UTF-16 string pointers read back. Engine-neutral:
 * it sees linear memory as base + size, re-read by the caller after every guest call. */
#ifndef WASM_AUTH_ABI_MARSHAL_H
#define WASM_AUTH_ABI_MARSHAL_H

#include <stddef.h>
#include <stdint.h>

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

/* Pointer to guest bytes [ptr, ptr+len) or NULL if out of bounds. ptr 0 is refused unless
 * len is 0 (nothing is read or written then). */
uint8_t *wa_mem_range(struct wa_mem m, uint32_t ptr, uint32_t len);

/* A guest string pointer (UTF-16LE, byte length in the u32 at ptr-4): 0 with data and len set, or
 * -1 if any part is out of bounds or the length is odd. */
int wa_mem_string(struct wa_mem m, uint32_t ptr, const uint8_t **data, uint32_t *len);

/* Bytes the request buffer needs for n fields (descriptors, bytes, alignment slack), or
 * UINT32_MAX if it would not fit in 32 bits. */
uint32_t wa_marshal_fields_size(const struct wa_field *f, unsigned n);

/* Writes n Str descriptors and their bytes into the buffer [buf, buf+cap); args[i] receives the
 * guest pointer of descriptor i (0 for absent fields). -1 if it does not fit or is out of
 * bounds. */
int wa_marshal_fields(struct wa_mem m, uint32_t buf, uint32_t cap, const struct wa_field *f,
                      unsigned n, uint32_t *args);

uint32_t wa_marshal_options_size(const struct wa_options *opts);

/* Writes an Options descriptor (count, inline key/value Str pairs) and the bytes; *arg receives
 * its guest pointer. -1 if it does not fit or is out of bounds. */
int wa_marshal_options(struct wa_mem m, uint32_t buf, uint32_t cap, const struct wa_options *opts,
                       uint32_t *arg);

#endif
