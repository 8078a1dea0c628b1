/* Verifies a password against a mosquitto_passwd hash (the part after "user:"):
 *   $6$SALT$HASH             HASH = base64(SHA-512(password || salt))
 *   $7$ITERATIONS$SALT$HASH  HASH = base64(PBKDF2-HMAC-SHA512(password, salt, ITERATIONS, 64 bytes))
 *   $argon2id$v=19$m=KIB,t=PASSES,p=LANES$SALT$HASH
 *                            HASH = base64(Argon2id(password, salt), 4..64 bytes), version 0x13 only
 * SALT is base64 too. Parsing and checking are separate so that the host can charge for the
 * check (the PBKDF2 iterations, Argon2's memory passes) before doing it. */
#ifndef WASM_AUTH_PWHASH_H
#define WASM_AUTH_PWHASH_H

#include <stddef.h>
#include <stdint.h>

#include "wa_limits.h"

#define WA_PW_DIGEST_BYTES 64u /* SHA-512; also the longest Argon2 output read */

/* A parsed hash. iterations is 0 for $6$ (one SHA-512) and for $argon2id$ (argon2_kib > 0). */
struct wa_pw_hash {
	uint32_t iterations;
	uint32_t argon2_kib;    /* m */
	uint32_t argon2_passes; /* t */
	uint32_t argon2_lanes;  /* p */
	uint32_t saltlen;
	uint32_t digestlen;
	uint8_t salt[WA_MAX_PW_SALT_BYTES];
	uint8_t digest[WA_PW_DIGEST_BYTES];
};

#define WA_PW_MALFORMED (-1) /* unsupported or malformed hash */
/* a well-formed hash above a cost cap: $7$ over WA_MAX_PW_ITERATIONS, $argon2id$ over
 * WA_MAX_PW_ARGON2_KIB (m, or m x t) or WA_MAX_PW_ARGON2_LANES */
#define WA_PW_TOO_COSTLY (-2)

/* 0 = *out holds the hash; WA_PW_MALFORMED; WA_PW_TOO_COSTLY (out's cost fields say how much).
 * Linear in hashlen, no hashing. */
int wa_pw_parse(const char *hash, size_t hashlen, struct wa_pw_hash *out);

/* 1 = match (constant-time compare), 0 = no match, -1 = the password cannot be hashed (longer
 * than INT_MAX bytes), the hash is above a cap, or the digest failed. Argon2 runs on the calling
 * thread (threads = 1), its m KiB allocated for the call and freed. h must come from wa_pw_parse returning 0. */
int wa_pw_check(const struct wa_pw_hash *h, const uint8_t *pw, size_t pwlen);

/* wa_pw_parse then wa_pw_check: 1 = match, 0 = no match (also for a hash above the iteration
 * cap, which is never checked and never matches), -1 = unsupported or malformed hash. */
int wa_pw_verify(const char *hash, size_t hashlen, const uint8_t *pw, size_t pwlen);

#endif
