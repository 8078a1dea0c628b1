#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonl.h"
#include "../gate/gate.h"

void wa_jsonl_reset(struct wa_jsonl *j)
{
	j->len = 0;
	j->over = 0;
}

void wa_jsonl_free(struct wa_jsonl *j)
{
	free(j->buf);
	j->buf = NULL;
	j->len = j->cap = 0;
}

/* Room for n more bytes (and a terminating NUL), or 0 (then `over`). */
static int room(struct wa_jsonl *j, size_t n)
{
	size_t need;
	char *b;

	if (j->over) return 0;
	need = j->len + n + 1;
	if (need <= j->cap) return 1;
	if (need > j->max + 1) {
		j->over = 1;
		return 0;
	}
	need = need < 256 ? 256 : need;
	if (need < j->cap * 2) need = j->cap * 2 < j->max + 1 ? j->cap * 2 : j->max + 1;
	b = realloc(j->buf, need);
	if (!b) {
		j->over = 1;
		return 0;
	}
	j->buf = b;
	j->cap = need;
	return 1;
}

void wa_jsonl_raw(struct wa_jsonl *j, const char *s, size_t n)
{
	if (!room(j, n)) return;
	memcpy(j->buf + j->len, s, n);
	j->len += n;
	j->buf[j->len] = '\0';
}

void wa_jsonl_printf(struct wa_jsonl *j, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof tmp) {
		j->over = 1;
		return;
	}
	wa_jsonl_raw(j, tmp, (size_t)n);
}

/* The code point at b[i] when it is one the log sanitiser neutralises above ASCII (C1 controls,
 * bidirectional formatting, line and paragraph separators: text.c), in valid UTF-8, else 0; *n
 * its bytes. Escaped as \uXXXX, such a character can neither break a line nor reorder what a
 * reader sees, and the text stays exact. */
static uint32_t hidden_at(const uint8_t *b, size_t i, size_t len, size_t *n)
{
	uint8_t c = b[i];

	if (i + 1 < len && c == 0xC2 && b[i + 1] <= 0x9F) {
		*n = 2;
		return b[i + 1];
	}
	if (i + 1 < len && c == 0xD8 && b[i + 1] == 0x9C) {
		*n = 2;
		return 0x061C;
	}
	if (i + 2 < len && c == 0xE2) {
		uint32_t cp = 0x2000u | ((uint32_t)(b[i + 1] & 0x3Fu) << 6) | (b[i + 2] & 0x3Fu);
		*n = 3;
		if (cp == 0x200E || cp == 0x200F || (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069))
			return cp;
	}
	return 0;
}

void wa_jsonl_str(struct wa_jsonl *j, const char *s, size_t n)
{
	const uint8_t *b = (const uint8_t *)s;
	int utf8;
	size_t i = 0;

	if (!s) {
		wa_jsonl_raw(j, "null", 4);
		return;
	}
	utf8 = wa_utf8_valid(b, n);
	wa_jsonl_raw(j, "\"", 1);
	while (i < n && !j->over) {
		size_t run = i, k = 1;
		uint32_t cp;

		/* Plain bytes go in runs. */
		while (run < n && b[run] >= 0x20 && b[run] < 0x7f && b[run] != '"' && b[run] != '\\') run++;
		if (run > i) {
			wa_jsonl_raw(j, s + i, run - i);
			i = run;
		} else if (b[i] == '"' || b[i] == '\\') {
			char esc[2] = { '\\', (char)b[i++] };
			wa_jsonl_raw(j, esc, 2);
		} else if (b[i] < 0x20 || b[i] == 0x7f) {
			wa_jsonl_printf(j, "\\u%04x", b[i++]);
		} else if (!utf8) {
			wa_jsonl_raw(j, "?", 1);
			i++;
		} else if ((cp = hidden_at(b, i, n, &k)) != 0) {
			wa_jsonl_printf(j, "\\u%04x", (unsigned)cp);
			i += k;
		} else {
			wa_jsonl_raw(j, s + i, 1);
			i++;
		}
	}
	wa_jsonl_raw(j, "\"", 1);
}

void wa_jsonl_base64(struct wa_jsonl *j, const uint8_t *p, size_t n)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char quad[4];

	wa_jsonl_raw(j, "\"", 1);
	for (size_t i = 0; i < n && !j->over; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < n) v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n) v |= p[i + 2];
		quad[0] = abc[v >> 18];
		quad[1] = abc[(v >> 12) & 63u];
		quad[2] = i + 1 < n ? abc[(v >> 6) & 63u] : '=';
		quad[3] = i + 2 < n ? abc[v & 63u] : '=';
		wa_jsonl_raw(j, quad, 4);
	}
	wa_jsonl_raw(j, "\"", 1);
}
