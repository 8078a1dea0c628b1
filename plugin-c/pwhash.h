/* Verifies a password against a mosquitto_passwd hash (the part after "user:"):
 *   $6$SALT$HASH             HASH = base64(SHA-512(password || salt))
 *   $7$ITERATIONS$SALT$HASH  HASH = base64(PBKDF2-HMAC-SHA512(password, salt, ITERATIONS, 64 bytes))
 * SALT is base64 too. */
#ifndef WASM_AUTH_PWHASH_H
#define WASM_AUTH_PWHASH_H

#include <stddef.h>
#include <stdint.h>

/* 1 = match (constant-time compare), 0 = no match, -1 = unsupported or malformed hash
 * (including more than WA_MAX_PW_ITERATIONS iterations). */
int wa_pw_verify(const char *hash, size_t hashlen, const uint8_t *pw, size_t pwlen);

#endif
