#include <limits.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "limits.h"
#include "pwhash.h"

#define DIGEST_BYTES 64u /* SHA-512 */

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+') return 62;
	if (c == '/') return 63;
	return -1;
}

/* Standard base64, '=' padding optional (mosquitto_passwd pads the hash, not the salt).
 * Returns the decoded length, or -1 if malformed or longer than cap. */
static long b64_decode(const char *in, size_t len, uint8_t *out, size_t cap)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t n = 0;

	while (len > 0 && in[len - 1] == '=') len--;
	for (size_t i = 0; i < len; i++) {
		int v = b64_value(in[i]);
		if (v < 0) return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == cap) return -1;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	/* Leftover bits must be zero padding, and one base64 character cannot end a group. */
	if (bits >= 6 || (acc & ((1u << bits) - 1u)) != 0) return -1;
	return (long)n;
}

/* Splits "a$b$c..." at '$': fields[i] / lens[i]. Returns the number of fields, at most max. */
static unsigned split_dollar(const char *s, size_t len, const char **fields, size_t *lens, unsigned max)
{
	unsigned n = 0;
	size_t start = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i == len || s[i] == '$') {
			if (n == max) return max + 1;
			fields[n] = s + start;
			lens[n] = i - start;
			n++;
			start = i + 1;
		}
	}
	return n;
}

static long parse_iterations(const char *s, size_t len)
{
	long v = 0;

	if (len == 0 || len > 9) return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9') return -1;
		v = v * 10 + (s[i] - '0');
	}
	return (v >= 1 && v <= (long)WA_MAX_PW_ITERATIONS) ? v : -1;
}

static int sha512_salted(const uint8_t *pw, size_t pwlen, const uint8_t *salt, size_t saltlen,
                         uint8_t out[DIGEST_BYTES])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned outlen = 0;
	int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha512(), NULL) == 1 &&
	         EVP_DigestUpdate(ctx, pw, pwlen) == 1 && EVP_DigestUpdate(ctx, salt, saltlen) == 1 &&
	         EVP_DigestFinal_ex(ctx, out, &outlen) == 1 && outlen == DIGEST_BYTES;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

int wa_pw_verify(const char *hash, size_t hashlen, const uint8_t *pw, size_t pwlen)
{
	const char *f[5];
	size_t fl[5];
	uint8_t salt[WA_MAX_PW_SALT_BYTES], want[DIGEST_BYTES + 1], got[DIGEST_BYTES];
	long saltlen, wantlen, iterations = 0;
	unsigned n;

	if (!hash || hashlen == 0 || hash[0] != '$' || pwlen > INT_MAX) return -1;
	/* "$6$s$h" splits into "", "6", "s", "h"; "$7$i$s$h" into "", "7", "i", "s", "h". */
	n = split_dollar(hash, hashlen, f, fl, 5);
	if (n == 4 && fl[1] == 1 && f[1][0] == '6') {
		saltlen = b64_decode(f[2], fl[2], salt, sizeof salt);
		wantlen = b64_decode(f[3], fl[3], want, sizeof want);
	} else if (n == 5 && fl[1] == 1 && f[1][0] == '7') {
		iterations = parse_iterations(f[2], fl[2]);
		if (iterations < 0) return -1;
		saltlen = b64_decode(f[3], fl[3], salt, sizeof salt);
		wantlen = b64_decode(f[4], fl[4], want, sizeof want);
	} else {
		return -1;
	}
	if (saltlen <= 0 || wantlen != (long)DIGEST_BYTES) return -1;

	if (iterations == 0) {
		if (sha512_salted(pw, pwlen, salt, (size_t)saltlen, got) != 0) return -1;
	} else if (PKCS5_PBKDF2_HMAC((const char *)pw, (int)pwlen, salt, (int)saltlen, (int)iterations,
	                             EVP_sha512(), (int)DIGEST_BYTES, got) != 1) {
		return -1;
	}
	return CRYPTO_memcmp(got, want, DIGEST_BYTES) == 0 ? 1 : 0;
}
