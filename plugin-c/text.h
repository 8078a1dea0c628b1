/* Text conversions at the host/guest boundary. */
#ifndef WASM_AUTH_TEXT_H
#define WASM_AUTH_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Converts UTF-16LE (len bytes) to UTF-8 in out (cap bytes, NUL-terminated, cap >= 1).
 * Unpaired surrogates and a trailing odd byte become U+FFFD. Output is cut at a character
 * boundary when it does not fit. Returns the UTF-8 length written (without the NUL). */
size_t wa_utf16le_to_utf8(const uint8_t *in, size_t len, char *out, size_t cap);

/* Replaces control characters (C0 including NUL, DEL) in s[0..len) with '?' so guest text can
 * neither forge log lines nor cut them short. */
void wa_text_sanitize_controls(char *s, size_t len);

/* 1 if s[0..len) is non-empty and all hexadecimal digits, else 0. */
int wa_is_hex(const char *s, size_t len);

#endif
