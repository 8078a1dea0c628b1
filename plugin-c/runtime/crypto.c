#include <limits.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "crypto.h"

/* libcrypto's pointers must not be NULL even for empty inputs (guest memory at offset 0 may be). */
static const uint8_t *nonnull(const uint8_t *p)
{
	static const uint8_t empty[1];
	return p ? p : empty;
}

int wa_sha256(const uint8_t *msg, size_t len, uint8_t out[WA_SHA256_BYTES])
{
	unsigned outlen = 0;

	if (EVP_Digest(nonnull(msg), len, out, &outlen, EVP_sha256(), NULL) == 1 && outlen == WA_SHA256_BYTES) return 0;
	memset(out, 0, WA_SHA256_BYTES);
	return -1;
}

int wa_hmac_sha256(const uint8_t *key, size_t keylen, const uint8_t *msg, size_t msglen, uint8_t out[WA_SHA256_BYTES])
{
	unsigned outlen = 0;

	if (keylen <= INT_MAX &&
	    HMAC(EVP_sha256(), nonnull(key), (int)keylen, nonnull(msg), msglen, out, &outlen) != NULL &&
	    outlen == WA_SHA256_BYTES)
		return 0;
	memset(out, 0, WA_SHA256_BYTES);
	return -1;
}

int wa_pbkdf2_sha256(const uint8_t *pw, size_t pwlen, const uint8_t *salt, size_t saltlen, uint32_t iterations,
                     uint8_t out[WA_SHA256_BYTES])
{
	if (pwlen <= INT_MAX && saltlen <= INT_MAX && iterations <= INT_MAX &&
	    PKCS5_PBKDF2_HMAC((const char *)nonnull(pw), (int)pwlen, nonnull(salt), (int)saltlen, (int)iterations,
	                      EVP_sha256(), (int)WA_SHA256_BYTES, out) == 1)
		return 0;
	memset(out, 0, WA_SHA256_BYTES);
	return -1;
}
