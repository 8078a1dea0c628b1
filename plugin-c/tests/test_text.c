/* UTF-16LE -> UTF-8 conversion (guest log/abort/psk text), log sanitising, hex check. */
#include <string.h>

#include "check.h"
#include "../text.h"

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
	const uint16_t latin[] = { 0xE9 };                 /* é */
	const uint16_t euro[] = { 0x20AC };                /* € */
	const uint16_t emoji[] = { 0xD83D, 0xDE00 };       /* U+1F600 */
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
	CHECK_STR(out, "a\xEF\xBF\xBD" "b");
	CHECK_INT(conv(lone_low, 2, out, sizeof out), 4);
	CHECK_STR(out, "\xEF\xBF\xBD" "c");
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
	char line[] = "one\ntwo\r\x1b[31m\x7f" "end";
	char with_nul[] = { 'a', '\0', 'b', '\0' };

	wa_text_sanitize_controls(line, strlen(line));
	CHECK_STR(line, "one?two??[31m?end");
	wa_text_sanitize_controls(with_nul, 3);
	CHECK_STR(with_nul, "a?b");
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
	hex();
	return check_done();
}
