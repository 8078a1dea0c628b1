/* Request marshalling and guest-memory bounds (abi_marshal.h) on a fake linear memory. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "../runtime/abi_marshal.h"

static uint8_t memory[1024];
static const struct wa_mem mem = { memory, sizeof memory };

static uint32_t u32_at(uint32_t off)
{
	return (uint32_t)memory[off] | ((uint32_t)memory[off + 1] << 8) | ((uint32_t)memory[off + 2] << 16) |
	       ((uint32_t)memory[off + 3] << 24);
}

static void ranges(void)
{
	CHECK(wa_mem_range(mem, 0, 0) == memory);
	CHECK(wa_mem_range(mem, 0, 1) == NULL);          /* null pointer with a length */
	CHECK(wa_mem_range(mem, 1, 1023) == memory + 1); /* up to the last byte */
	CHECK(wa_mem_range(mem, 1, 1024) == NULL);
	CHECK(wa_mem_range(mem, 1024, 0) == memory + 1024);
	CHECK(wa_mem_range(mem, 1025, 0) == NULL);
	CHECK(wa_mem_range(mem, 0xFFFFFFFFu, 2) == NULL); /* no 32-bit wrap-around */
	CHECK(wa_mem_range(mem, 2, 0xFFFFFFFFu) == NULL);
}

static void strings(void)
{
	const uint8_t *data;
	uint32_t len;

	memset(memory, 0, sizeof memory);
	memory[100] = 4; /* length 4 at 100, text at 104 */
	memcpy(memory + 104, "a\0b\0", 4);
	CHECK_INT(wa_mem_string(mem, 104, &data, &len), 0);
	CHECK_INT(len, 4);
	CHECK(data == memory + 104);
	memory[100] = 3; /* odd byte length: not UTF-16 */
	CHECK_INT(wa_mem_string(mem, 104, &data, &len), -1);
	memory[100] = 0xFF;
	memory[101] = 0x03; /* 1023 bytes: past the end */
	CHECK_INT(wa_mem_string(mem, 104, &data, &len), -1);
	CHECK_INT(wa_mem_string(mem, 0, &data, &len), -1);
	CHECK_INT(wa_mem_string(mem, 3, &data, &len), -1);
	CHECK_INT(wa_mem_string(mem, 1026, &data, &len), -1);
}

static void fields(void)
{
	struct wa_field f[3] = { { "client", 6, 1 }, { NULL, 0, 0 }, { "a/b", 3, 1 } };
	uint32_t args[3], need = wa_marshal_fields_size(f, 3);

	memset(memory, 0xAA, sizeof memory);
	CHECK_INT(need, 3 + 3 * 8 + 9);
	/* Buffer at an unaligned address: descriptors start at the next multiple of 4. */
	CHECK_INT(wa_marshal_fields(mem, 201, need, f, 3, args), 0);
	CHECK_INT(args[0], 204);
	CHECK_INT(args[1], 0);
	CHECK_INT(args[2], 220);
	CHECK_INT(u32_at(204), 228);
	CHECK_INT(u32_at(208), 6);
	CHECK(memcmp(memory + 228, "client", 6) == 0);
	CHECK_INT(u32_at(220), 234);
	CHECK_INT(u32_at(224), 3);
	CHECK(memcmp(memory + 234, "a/b", 3) == 0);
	CHECK_INT(memory[237], 0xAA); /* nothing written past the last field */
	CHECK_INT(memory[200], 0xAA); /* nor before the buffer */

	CHECK_INT(wa_marshal_fields(mem, 201, need - 1, f, 3, args), -1); /* does not fit */
	CHECK_INT(wa_marshal_fields(mem, 1000, need, f, 3, args), -1);    /* buffer past memory */
	CHECK_INT(wa_marshal_fields(mem, 0, need, f, 3, args), -1);       /* null buffer */
	CHECK_INT(wa_marshal_fields(mem, 0xFFFFFFFEu, 64, f, 3, args), -1);

	/* Empty present field: a descriptor with length 0, not an absent one. */
	struct wa_field empty[1] = { { "", 0, 1 } };
	CHECK_INT(wa_marshal_fields(mem, 300, 64, empty, 1, args), 0);
	CHECK_INT(args[0], 300);
	CHECK_INT(u32_at(304), 0);
}

/* Field bytes of every length up to 40 (the short ones are copied without memcpy), from an
 * exact-size heap block (ASan catches any read past it) at every destination alignment: exactly
 * the bytes are written, nothing before or after them. */
static void field_lengths(void)
{
	unsigned bad = 0;

	for (uint32_t len = 0; len <= 40; len++) {
		uint8_t *src = malloc(len ? len : 1);
		for (uint32_t i = 0; i < len; i++) src[i] = (uint8_t)(0x41 + i);
		for (uint32_t at = 600; at < 604; at++) {
			struct wa_field f[1] = { { src, len, 1 } };
			uint32_t arg = 0, data = ((at + 3u) & ~3u) + 8u;
			memset(memory, 0xAA, sizeof memory);
			if (wa_marshal_fields(mem, at, wa_marshal_fields_size(f, 1), f, 1, &arg) != 0) bad++;
			if (u32_at(arg) != data || u32_at(arg + 4) != len) bad++;
			if (len && memcmp(memory + data, src, len) != 0) bad++;
			if (memory[data - 9] != 0xAA || memory[data + len] != 0xAA) bad++;
		}
		free(src);
	}
	CHECK_INT(bad, 0);
}

static void options(void)
{
	struct wa_opt items[2] = { { "wasm_module", 11, "p.wasm", 6 }, { "k", 1, "", 0 } };
	struct wa_options opts = { 2, items };
	uint32_t arg = 0, need = wa_marshal_options_size(&opts);

	CHECK_INT(need, 3 + 4 + 2 * 16 + 11 + 6 + 1);
	CHECK_INT(wa_marshal_options(mem, 400, need, &opts, &arg), 0);
	CHECK_INT(arg, 400);
	CHECK_INT(u32_at(400), 2);
	CHECK_INT(u32_at(404), 436); /* key 0 */
	CHECK_INT(u32_at(408), 11);
	CHECK_INT(u32_at(412), 447); /* value 0 */
	CHECK_INT(u32_at(416), 6);
	CHECK_INT(u32_at(420), 453); /* key 1 */
	CHECK_INT(u32_at(424), 1);
	CHECK_INT(u32_at(432), 0); /* value 1: empty */
	CHECK(memcmp(memory + 436, "wasm_modulep.wasmk", 18) == 0);
	CHECK_INT(wa_marshal_options(mem, 400, need - 4, &opts, &arg), -1);
	CHECK_INT(wa_marshal_options(mem, 1000, need, &opts, &arg), -1);

	struct wa_options none = { 0, NULL };
	CHECK_INT(wa_marshal_options(mem, 500, wa_marshal_options_size(&none), &none, &arg), 0);
	CHECK_INT(u32_at(500), 0);
}

int main(void)
{
	ranges();
	strings();
	fields();
	field_lengths();
	options();
	return check_done();
}
