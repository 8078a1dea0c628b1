/* A tiny WebAssembly module builder for the gate's tests: byte buffers, LEB128, sections in
 * binary-format order. Test code only (aborts on allocation failure). */
#ifndef WASM_AUTH_GATE_TEST_MB_H
#define WASM_AUTH_GATE_TEST_MB_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mb {
	uint8_t *b;
	size_t n, cap;
};

/* B(0x60, 0x00) expands to "pointer, length" of a byte list literal. */
#define B(...) (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ })

static inline void mb_bytes(struct mb *m, const void *p, size_t n)
{
	if (m->n + n > m->cap) {
		size_t ncap = m->cap ? m->cap : 256;
		while (ncap < m->n + n) ncap *= 2;
		m->b = realloc(m->b, ncap);
		if (!m->b) {
			fprintf(stderr, "out of memory\n");
			abort();
		}
		m->cap = ncap;
	}
	if (n) memcpy(m->b + m->n, p, n);
	m->n += n;
}

static inline void mb_u8(struct mb *m, uint8_t v)
{
	mb_bytes(m, &v, 1);
}

static inline void mb_u32(struct mb *m, uint32_t v)
{
	do {
		uint8_t b = v & 0x7f;
		v >>= 7;
		mb_u8(m, (uint8_t)(b | (v ? 0x80 : 0)));
	} while (v);
}

static inline void mb_name(struct mb *m, const char *s)
{
	mb_u32(m, (uint32_t)strlen(s));
	mb_bytes(m, s, strlen(s));
}

static inline void mb_reset(struct mb *m)
{
	m->n = 0;
}

static inline void mb_free(struct mb *m)
{
	free(m->b);
	memset(m, 0, sizeof *m);
}

static inline void mb_section(struct mb *m, uint8_t id, const struct mb *content)
{
	mb_u8(m, id);
	mb_u32(m, (uint32_t)content->n);
	mb_bytes(m, content->b, content->n);
}

/* Header plus every non-NULL sec[id] in the order the binary format requires. */
static inline void mb_module(struct mb *m, const struct mb *const sec[13])
{
	static const uint8_t order[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 10, 11 };

	mb_reset(m);
	mb_bytes(m, B(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00));
	for (int i = 0; i < 12; i++) {
		if (sec[order[i]]) mb_section(m, order[i], sec[order[i]]);
	}
}

/* One code-section entry: size, then the body (locals vector + instructions + end). */
static inline void mb_body(struct mb *code, const uint8_t *body, size_t n)
{
	mb_u32(code, (uint32_t)n);
	mb_bytes(code, body, n);
}

#endif
