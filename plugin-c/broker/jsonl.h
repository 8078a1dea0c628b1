/* Building JSON text (the record file, the audit log): a line buffer that grows up to a cap (or
 * a caller's fixed buffer: cap = max + 1), and JSON strings whose control characters (C0, DEL,
 * C1, bidirectional formatting, line separators) are escaped, so that a reader of the file or
 * log sees neither a broken line nor reordered text, while valid UTF-8 stays exact (in a string
 * that is not UTF-8, each byte above 0x7f becomes '?'). Past the cap only `over` is set. */
#ifndef WASM_AUTH_JSONL_H
#define WASM_AUTH_JSONL_H

#include <stddef.h>
#include <stdint.h>

struct wa_jsonl {
	char *buf;
	size_t len, cap;
	size_t max; /* the longest line */
	int over;   /* something did not fit: the line is incomplete */
};

/* Empties the line (keeping its buffer). */
void wa_jsonl_reset(struct wa_jsonl *j);
void wa_jsonl_free(struct wa_jsonl *j);

void wa_jsonl_raw(struct wa_jsonl *j, const char *s, size_t n);
void wa_jsonl_printf(struct wa_jsonl *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A JSON string of s[0..n), or null when s is NULL. */
void wa_jsonl_str(struct wa_jsonl *j, const char *s, size_t n);
/* A JSON string holding the base64 of p[0..n). */
void wa_jsonl_base64(struct wa_jsonl *j, const uint8_t *p, size_t n);

#endif
