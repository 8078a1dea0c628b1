/* auth_data_out and the SHA-256 family (hostfns.c, crypto.c) on a fake linear memory larger than
 * their input cap: known answers, the caps refused before any work, bounds traps, prices. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "../runtime/abi.h"
#include "../runtime/hostfns.h"

#define MEM_BYTES (WA_MAX_CRYPTO_INPUT_BYTES + 8192u)
static uint8_t *memory;
static struct wa_mem mem;

static const char *hex(uint32_t off)
{
	static char out[65];
	for (unsigned i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", memory[off + i]);
	return out;
}

static uint32_t put(uint32_t off, const char *s)
{
	memcpy(memory + off, s, strlen(s));
	return (uint32_t)strlen(s);
}

static uint64_t per32(uint64_t bytes, uint64_t price)
{
	return (bytes * price + 31u) / 32u;
}

static void auth_data(struct wa_host *h)
{
	int32_t r = 99;

	/* Outside ext_auth_*: refused, nothing copied. */
	put(100, "r=abc");
	CHECK_INT(wa_host_auth_data_out(h, mem, 100, 5, &r), 0);
	CHECK_INT(r, WA_AUTH_DATA_OUTSIDE_HOOK);
	CHECK_INT(h->auth_out_len, 0);
	h->in_ext_auth = 1;
	CHECK_INT(wa_host_auth_data_out(h, mem, 100, 5, &r), 0);
	CHECK_INT(r, 0);
	CHECK_INT(h->auth_out_len, 5);
	CHECK(memcmp(h->auth_out, "r=abc", 5) == 0);
	/* The last call wins; empty is allowed. */
	CHECK_INT(wa_host_auth_data_out(h, mem, 100, 0, &r), 0);
	CHECK_INT(h->auth_out_len, 0);
	CHECK_INT(wa_host_auth_data_out(h, mem, 8, WA_MAX_AUTH_DATA_BYTES + 1u, &r), 0);
	CHECK_INT(r, WA_AUTH_DATA_TOO_LARGE);
	CHECK_INT(wa_host_auth_data_out(h, mem, 8, WA_MAX_AUTH_DATA_BYTES, &r), 0);
	CHECK_INT(r, 0);
	CHECK_INT(h->auth_out_len, WA_MAX_AUTH_DATA_BYTES);
	/* Out of bounds traps, inside the hooks or not. */
	CHECK_INT(wa_host_auth_data_out(h, mem, MEM_BYTES - 2u, 5, &r), -1);
	CHECK(strstr(h->trap, "auth_data_out: pointer out of bounds") != NULL);
	h->in_ext_auth = 0;
}

static void digests(struct wa_host *h)
{
	int32_t r = 99;
	uint32_t n;

	n = put(100, "abc");
	CHECK_INT(wa_host_sha256(h, mem, 100, n, 200, &r), 0);
	CHECK_INT(r, 0);
	CHECK_STR(hex(200), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	/* RFC 4231 test case 2. */
	put(300, "Jefe");
	n = put(400, "what do ya want for nothing?");
	CHECK_INT(wa_host_hmac_sha256(h, mem, 300, 4, 400, n, 500, &r), 0);
	CHECK_STR(hex(500), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	/* RFC 7914 section 11, first 32 bytes. */
	put(600, "passwd");
	put(700, "salt");
	CHECK_INT(wa_host_pbkdf2_sha256(h, mem, 600, 6, 700, 4, 1, 800, &r), 0);
	CHECK_STR(hex(800), "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc");
	/* Caps: refused, the output untouched. */
	memset(memory + 900, 0xee, 32);
	CHECK_INT(wa_host_sha256(h, mem, 8, WA_MAX_CRYPTO_INPUT_BYTES + 1u, 900, &r), 0);
	CHECK_INT(r, WA_CRYPTO_TOO_LARGE);
	CHECK_INT(wa_host_hmac_sha256(h, mem, 8, WA_MAX_CRYPTO_INPUT_BYTES + 1u, 8, 1, 900, &r), 0);
	CHECK_INT(r, WA_CRYPTO_TOO_LARGE);
	CHECK_INT(wa_host_pbkdf2_sha256(h, mem, 600, 6, 700, 4, 0, 900, &r), 0);
	CHECK_INT(r, WA_CRYPTO_BAD_ITERATIONS);
	CHECK_INT(wa_host_pbkdf2_sha256(h, mem, 600, 6, 700, 4, WA_MAX_PBKDF2_SHA256_ITERATIONS + 1u, 900, &r), 0);
	CHECK_INT(r, WA_CRYPTO_BAD_ITERATIONS);
	CHECK_INT(wa_host_pbkdf2_sha256(h, mem, 600, 6, 700, 4, (uint32_t)-1, 900, &r), 0);
	CHECK_INT(r, WA_CRYPTO_BAD_ITERATIONS);
	CHECK_INT(memory[900], 0xee);
	/* Bounds: the input and the 32-byte output. */
	CHECK_INT(wa_host_sha256(h, mem, MEM_BYTES - 1u, 2, 200, &r), -1);
	CHECK(strstr(h->trap, "sha256: pointer out of bounds") != NULL);
	CHECK_INT(wa_host_sha256(h, mem, 100, 3, MEM_BYTES - 31u, &r), -1);
	CHECK(strstr(h->trap, "sha256: buffer out of bounds") != NULL);
	CHECK_INT(wa_host_hmac_sha256(h, mem, 300, 4, 400, n, MEM_BYTES, &r), -1);
	CHECK_INT(wa_host_pbkdf2_sha256(h, mem, MEM_BYTES, 1, 700, 4, 1, 800, &r), -1);
}

static void prices(struct wa_host *h)
{
	const int64_t start = 100000000;
	int64_t fuel = start;
	int32_t r;

	h->fuel = &fuel;
	CHECK_INT(wa_host_sha256(h, mem, 8, 1000, 200, &r), 0);
	CHECK_INT(start - fuel, WA_FUEL_HOST_CALL + WA_FUEL_DIGEST + per32(1000, WA_FUEL_HASH_32));
	fuel = start;
	CHECK_INT(wa_host_pbkdf2_sha256(h, mem, 600, 6, 700, 4, 4096, 800, &r), 0);
	CHECK_INT(start - fuel, WA_FUEL_HOST_CALL + WA_FUEL_DIGEST + per32(10, WA_FUEL_HASH_32) +
	                            4096u * WA_FUEL_PBKDF2_SHA256_ITERATION);
	/* The price is taken before the work: too little fuel traps with nothing computed. */
	fuel = 1000;
	memset(memory + 900, 0xee, 32);
	CHECK_INT(wa_host_pbkdf2_sha256(h, mem, 600, 6, 700, 4, 4096, 900, &r), -1);
	CHECK_STR(h->trap, "fuel exhausted");
	CHECK_INT(memory[900], 0xee);
	/* A refusal is charged the call only. */
	fuel = start;
	CHECK_INT(wa_host_sha256(h, mem, 8, WA_MAX_CRYPTO_INPUT_BYTES + 1u, 900, &r), 0);
	CHECK_INT(start - fuel, WA_FUEL_HOST_CALL);
	h->fuel = NULL;
}

int main(void)
{
	static struct wa_host h; /* auth_out is 64 KiB */

	memory = calloc(1, MEM_BYTES);
	if (!CHECK(memory != NULL)) return check_done();
	mem.base = memory;
	mem.size = MEM_BYTES;
	auth_data(&h);
	digests(&h);
	prices(&h);
	free(memory);
	return check_done();
}
