#include "text.h"

#define REPLACEMENT 0xFFFDu

static unsigned utf8_len(uint32_t cp)
{
	if (cp < 0x80) return 1;
	if (cp < 0x800) return 2;
	if (cp < 0x10000) return 3;
	return 4;
}

static void utf8_put(char *out, uint32_t cp, unsigned n)
{
	switch (n) {
		case 1: out[0] = (char)cp; break;
		case 2:
			out[0] = (char)(0xC0 | (cp >> 6));
			out[1] = (char)(0x80 | (cp & 0x3F));
			break;
		case 3:
			out[0] = (char)(0xE0 | (cp >> 12));
			out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
			out[2] = (char)(0x80 | (cp & 0x3F));
			break;
		default:
			out[0] = (char)(0xF0 | (cp >> 18));
			out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
			out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
			out[3] = (char)(0x80 | (cp & 0x3F));
			break;
	}
}

size_t wa_utf16le_to_utf8(const uint8_t *in, size_t len, char *out, size_t cap)
{
	size_t i = 0, o = 0;

	while (i < len) {
		uint32_t cp;
		if (i + 1 >= len) {
			cp = REPLACEMENT; /* odd trailing byte */
			i = len;
		} else {
			uint32_t u = (uint32_t)in[i] | ((uint32_t)in[i + 1] << 8);
			i += 2;
			if (u >= 0xD800 && u <= 0xDBFF && i + 1 < len) {
				uint32_t lo = (uint32_t)in[i] | ((uint32_t)in[i + 1] << 8);
				if (lo >= 0xDC00 && lo <= 0xDFFF) {
					cp = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
					i += 2;
				} else {
					cp = REPLACEMENT;
				}
			} else if (u >= 0xD800 && u <= 0xDFFF) {
				cp = REPLACEMENT;
			} else {
				cp = u;
			}
		}
		unsigned n = utf8_len(cp);
		if (o + n >= cap) break;
		utf8_put(out + o, cp, n);
		o += n;
	}
	out[o] = '\0';
	return o;
}

/* Bytes of the code point at s[i] to neutralise, or 0. Only well-formed sequences match: the
 * input comes from wa_utf16le_to_utf8, and other bytes never encode these code points. */
static size_t control_at(const unsigned char *s, size_t i, size_t len)
{
	unsigned char c = s[i];

	if (c < 0x20 || c == 0x7F) return 1;                                            /* C0, DEL */
	if (i + 1 < len && c == 0xC2 && s[i + 1] >= 0x80 && s[i + 1] <= 0x9F) return 2; /* C1 */
	if (i + 1 < len && c == 0xD8 && s[i + 1] == 0x9C) return 2;                     /* U+061C arabic letter mark */
	if (i + 2 < len && c == 0xE2) {
		unsigned char b1 = s[i + 1], b2 = s[i + 2];
		/* U+200E, U+200F marks; U+2028, U+2029 line/paragraph separators; U+202A-U+202E embeddings and overrides */
		if (b1 == 0x80 && (b2 == 0x8E || b2 == 0x8F || (b2 >= 0xA8 && b2 <= 0xAE))) return 3;
		if (b1 == 0x81 && b2 >= 0xA6 && b2 <= 0xA9) return 3; /* U+2066-U+2069 isolates */
	}
	return 0;
}

size_t wa_text_sanitize_controls(char *s, size_t len)
{
	unsigned char *u = (unsigned char *)s;
	size_t i = 0, o = 0;

	while (i < len) {
		size_t n = control_at(u, i, len);
		if (n) {
			u[o++] = '?';
			i += n;
		} else {
			u[o++] = u[i++];
		}
	}
	if (o < len) u[o] = '\0';
	return o;
}

int wa_is_hex(const char *s, size_t len)
{
	if (len == 0) return 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return 0;
	}
	return 1;
}
