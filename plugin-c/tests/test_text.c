/* UTF-16LE -> UTF-8 conversion (guest log/abort/psk text), log sanitising (C0, DEL, C1, bidi
 * controls), hex check. */
#include <string.h>

#include "check.h"
#include "../runtime/text.h"

static size_t conv(const uint16_t *units, size_t n, char *out, size_t cap)
{
	uint8_t bytes[64];
	for (size_t i = 0; i < n; i++) {
		bytes[2 * i] = (uint8_t)units[i];
		bytes[2 * i + 1] = (uint8_t)(units[i] >> 8);
	}
	return wa_utf16le_to_utf8(bytes, 2 * n, out, cap);
}

static void conversions(void)
{
	char out[64];
	const uint16_t ascii[] = { 'h', 'i' };
	const uint16_t latin[] = { 0xE9 };           /* é */
	const uint16_t euro[] = { 0x20AC };          /* € */
	const uint16_t emoji[] = { 0xD83D, 0xDE00 }; /* U+1F600 */
	const uint16_t lone_high[] = { 'a', 0xD83D, 'b' };
	const uint16_t lone_low[] = { 0xDE00, 'c' };
	const uint16_t high_at_end[] = { 'a', 0xD83D };
	const uint8_t odd[] = { 'a', 0, 'b' };

	CHECK_INT(conv(ascii, 2, out, sizeof out), 2);
	CHECK_STR(out, "hi");
	CHECK_INT(conv(latin, 1, out, sizeof out), 2);
	CHECK_STR(out, "\xC3\xA9");
	CHECK_INT(conv(euro, 1, out, sizeof out), 3);
	CHECK_STR(out, "\xE2\x82\xAC");
	CHECK_INT(conv(emoji, 2, out, sizeof out), 4);
	CHECK_STR(out, "\xF0\x9F\x98\x80");
	CHECK_INT(conv(lone_high, 3, out, sizeof out), 5);
	CHECK_STR(out, "a\xEF\xBF\xBD"
	               "b");
	CHECK_INT(conv(lone_low, 2, out, sizeof out), 4);
	CHECK_STR(out, "\xEF\xBF\xBD"
	               "c");
	CHECK_INT(conv(high_at_end, 2, out, sizeof out), 4);
	CHECK_STR(out, "a\xEF\xBF\xBD");
	CHECK_INT(wa_utf16le_to_utf8(odd, 3, out, sizeof out), 4);
	CHECK_STR(out, "a\xEF\xBF\xBD");
	CHECK_INT(wa_utf16le_to_utf8(odd, 0, out, sizeof out), 0);
	CHECK_STR(out, "");
}

static void truncation(void)
{
	char out[5];
	const uint16_t text[] = { 'a', 'b', 0x20AC, 'c' };

	/* Room for 4 bytes + NUL: "ab" fits, the 3-byte euro sign does not: cut before it. */
	CHECK_INT(conv(text, 4, out, sizeof out), 2);
	CHECK_STR(out, "ab");
	CHECK_INT(conv(text, 4, out, 1), 0);
	CHECK_STR(out, "");
}

static void sanitising(void)
{
	char line[] = "one\ntwo\r\x1b[31m\x7f"
	              "end";
	char with_nul[] = { 'a', '\0', 'b', '\0' };

	CHECK_INT(wa_text_sanitize_controls(line, strlen(line)), 17);
	CHECK_STR(line, "one?two??[31m?end");
	CHECK_INT(wa_text_sanitize_controls(with_nul, 3), 3);
	CHECK_STR(with_nul, "a?b");
}

/* s sanitised in a copy: the result and the returned length must agree. */
static int sanitised(const char *s, const char *want)
{
	char buf[128];
	size_t n = strlen(s);

	memcpy(buf, s, n + 1);
	n = wa_text_sanitize_controls(buf, n);
	return CHECK_INT(n, strlen(want)) && CHECK_STR(buf, want);
}

static void unicode_controls(void)
{
	char edge[] = "\xC2\x9B";
	char cut_c1[] = { 'a', (char)0xC2 };
	char cut_bidi[] = { (char)0xE2, (char)0x80 };

	/* C1 controls, two bytes each: U+0080, U+0085 NEL, U+009B CSI (an ANSI escape without ESC), U+009F. */
	sanitised("a\xC2\x80"
	          "b",
	          "a?b");
	sanitised("next\xC2\x85line", "next?line");
	sanitised("\xC2\x9B"
	          "31mred",
	          "?31mred");
	sanitised("x\xC2\x9F", "x?");
	/* Bidi formatting, three bytes each (two for U+061C): the whole code point becomes one '?'. */
	sanitised("user \xE2\x80\xAE"
	          "nimda",
	          "user ?nimda");                                              /* U+202E RIGHT-TO-LEFT OVERRIDE */
	sanitised("\xE2\x80\xAA\xE2\x80\xAB\xE2\x80\xAC\xE2\x80\xAD", "????"); /* U+202A-U+202D */
	sanitised("\xE2\x81\xA6"
	          "a\xE2\x81\xA7"
	          "b\xE2\x81\xA8"
	          "c\xE2\x81\xA9",
	          "?a?b?c?"); /* U+2066-U+2069 */
	sanitised("l\xE2\x80\x8E"
	          "r\xE2\x80\x8F",
	          "l?r?"); /* U+200E, U+200F marks */
	sanitised("\xD8\x9C"
	          "x",
	          "?x"); /* U+061C ARABIC LETTER MARK */
	sanitised("a\xE2\x80\xA8"
	          "b\xE2\x80\xA9"
	          "c",
	          "a?b?c"); /* U+2028, U+2029 separators */
	/* Legitimate text is kept byte for byte, neighbours of the ranges included. */
	sanitised("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80",
	          "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");            /* é € U+1F600 */
	sanitised("\xC2\xA0\xC2\xA9\xC2\xBF", "\xC2\xA0\xC2\xA9\xC2\xBF"); /* U+00A0 U+00A9 U+00BF */
	sanitised("\xE2\x80\x8D\xE2\x80\x90\xE2\x80\xA7\xE2\x80\xAF",
	          "\xE2\x80\x8D\xE2\x80\x90\xE2\x80\xA7\xE2\x80\xAF");     /* U+200D U+2010 U+2027 U+202F */
	sanitised("\xE2\x81\xA5\xE2\x81\xAA", "\xE2\x81\xA5\xE2\x81\xAA"); /* U+2065, U+206A */
	sanitised("\xD8\x9B\xD8\x9D", "\xD8\x9B\xD8\x9D");                 /* U+061B, U+061D */
	sanitised("\xEF\xBF\xBD", "\xEF\xBF\xBD");                         /* U+FFFD */
	/* Bytes that are not UTF-8 stay (the converter never produces them). */
	sanitised("\x80\x9B\xC2", "\x80\x9B\xC2");
	/* A sequence cut by the length given is not matched past it. */
	CHECK_INT(wa_text_sanitize_controls(cut_c1, 2), 2);
	CHECK(cut_c1[0] == 'a' && (unsigned char)cut_c1[1] == 0xC2);
	CHECK_INT(wa_text_sanitize_controls(cut_bidi, 2), 2);
	CHECK((unsigned char)cut_bidi[0] == 0xE2 && (unsigned char)cut_bidi[1] == 0x80);
	/* Exactly the buffer: shrinking writes a NUL inside it, never past the given length. */
	CHECK_INT(wa_text_sanitize_controls(edge, 2), 1);
	CHECK_STR(edge, "?");
}

/* Guest text as the host sees it: UTF-16 in, converted, then sanitised. */
static void converted_and_sanitised(void)
{
	const uint16_t units[] = { 'o', 'k', 0x009B, '2', 'J', 0x202E, 0x00E9, 0x2066, 0xD83D, 0xDE00, 0x0085, '\n' };
	char out[64];
	size_t n = conv(units, sizeof units / sizeof units[0], out, sizeof out);

	n = wa_text_sanitize_controls(out, n);
	CHECK_STR(out, "ok?2J?\xC3\xA9?\xF0\x9F\x98\x80??");
	CHECK_INT(n, strlen(out));
}

static void hex(void)
{
	CHECK(wa_is_hex("00ff", 4));
	CHECK(wa_is_hex("DEADbeef0123456789", 18));
	CHECK(!wa_is_hex("", 0));
	CHECK(!wa_is_hex("xyz", 3));
	CHECK(!wa_is_hex("00 f", 4));
	CHECK(wa_is_hex("00fg", 3)); /* only the given length counts */
}

int main(void)
{
	conversions();
	truncation();
	sanitising();
	unicode_controls();
	converted_and_sanitised();
	hex();
	return check_done();
}
