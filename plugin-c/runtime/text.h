/* Text conversions at the host/guest boundary. */
#ifndef WASM_AUTH_TEXT_H
#define WASM_AUTH_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Converts UTF-16LE (len bytes) to UTF-8 in out (cap bytes, NUL-terminated, cap >= 1).
 * Unpaired surrogates and a trailing odd byte become U+FFFD. Output is cut at a character
 * boundary when it does not fit. Returns the UTF-8 length written (without the NUL). */
size_t wa_utf16le_to_utf8(const uint8_t *in, size_t len, char *out, size_t cap);

/* Neutralises what could forge, cut or disguise a log line: each C0 control (NUL included),
 * DEL, C1 control (U+0080-U+009F, UTF-8 C2 80..C2 9F: U+0085 NEL, U+009B CSI), bidirectional
 * formatting character (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069) and Unicode line
 * or paragraph separator (U+2028, U+2029) in s[0..len) becomes one '?' (the whole code point).
 * Other bytes, valid UTF-8 or not, stay as they are. The text never grows: returns the new
 * length, and when it shrank, s[new length] is set to NUL. */
size_t wa_text_sanitize_controls(char *s, size_t len);

/* 1 if s[0..len) is non-empty and all hexadecimal digits, else 0. */
int wa_is_hex(const char *s, size_t len);

#endif
