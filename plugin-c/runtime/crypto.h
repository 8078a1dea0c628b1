/* SHA-256, HMAC-SHA-256 and PBKDF2-HMAC-SHA-256 over libcrypto: the primitives behind the sha256,
 * hmac_sha256 and pbkdf2_sha256 imports (docs/ABI.md, "Crypto"). Callers bound the sizes and pay
 * for them first (hostfns.c); these only compute. */
#ifndef WASM_AUTH_CRYPTO_H
#define WASM_AUTH_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define WA_SHA256_BYTES 32u

/* 0, or -1 when libcrypto failed (out of memory): out is then zeroed. */
int wa_sha256(const uint8_t *msg, size_t len, uint8_t out[WA_SHA256_BYTES]);
int wa_hmac_sha256(const uint8_t *key, size_t keylen, const uint8_t *msg, size_t msglen, uint8_t out[WA_SHA256_BYTES]);
int wa_pbkdf2_sha256(const uint8_t *pw, size_t pwlen, const uint8_t *salt, size_t saltlen, uint32_t iterations,
                     uint8_t out[WA_SHA256_BYTES]);

#endif
