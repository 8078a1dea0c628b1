#include <limits.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <argon2.h>

#include "wa_limits.h"
#include "pwhash.h"

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

/* 1..999999999 (at most 9 digits, so the value fits), or -1. The cap is checked by the caller:
 * a count above it is well-formed, just too costly. */
static long parse_iterations(const char *s, size_t len)
{
	long v = 0;

	if (len == 0 || len > 9) return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9') return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v >= 1 ? v : -1;
}

static int sha512_salted(const uint8_t *pw, size_t pwlen, const uint8_t *salt, size_t saltlen,
                         uint8_t out[WA_PW_DIGEST_BYTES])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned outlen = 0;
	int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha512(), NULL) == 1 && EVP_DigestUpdate(ctx, pw, pwlen) == 1 &&
	         EVP_DigestUpdate(ctx, salt, saltlen) == 1 && EVP_DigestFinal_ex(ctx, out, &outlen) == 1 &&
	         outlen == WA_PW_DIGEST_BYTES;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

static int field_is(const char *f, size_t len, const char *want)
{
	return len == strlen(want) && memcmp(f, want, len) == 0;
}

/* "NAME=DIGITS" at *s (advanced past it and one following sep, if sep is not 0): the value, or -1. */
static long argon2_param(const char **s, const char *end, char name, char sep)
{
	const char *p = *s, *digits;
	long v;

	if (end - p < 2 || p[0] != name || p[1] != '=') return -1;
	digits = p + 2;
	for (p = digits; p < end && *p != sep;) p++;
	v = parse_iterations(digits, (size_t)(p - digits));
	if (sep && p == end) return -1; /* the separator is missing */
	*s = sep ? p + 1 : p;
	return v;
}

/* "$argon2id$v=19$m=M,t=T,p=P$SALT$HASH" split at '$' (f[2] onwards). The structural rules are
 * libargon2's (a salt of 8 bytes or more, output 4 or more, m >= 8 p, p < 2^24); the caps are
 * checked last: a hash above one is well-formed, just too costly. */
static int argon2_parse(const char *const *f, const size_t *fl, struct wa_pw_hash *out)
{
	const char *p = f[3], *end = f[3] + fl[3];
	long m, t, lanes, saltlen, wantlen;
	uint8_t want[WA_PW_DIGEST_BYTES + 1];

	if (!field_is(f[2], fl[2], "v=19")) return WA_PW_MALFORMED;
	m = argon2_param(&p, end, 'm', ',');
	t = m < 0 ? -1 : argon2_param(&p, end, 't', ',');
	lanes = t < 0 ? -1 : argon2_param(&p, end, 'p', 0);
	if (lanes < 0 || p != end || lanes > (long)ARGON2_MAX_LANES || m < 8 * lanes) return WA_PW_MALFORMED;
	saltlen = b64_decode(f[4], fl[4], out->salt, sizeof out->salt);
	wantlen = b64_decode(f[5], fl[5], want, sizeof want);
	if (saltlen < (long)ARGON2_MIN_SALT_LENGTH || wantlen < (long)ARGON2_MIN_OUTLEN ||
	    wantlen > (long)WA_PW_DIGEST_BYTES)
		return WA_PW_MALFORMED;
	out->iterations = 0;
	out->argon2_kib = (uint32_t)m;
	out->argon2_passes = (uint32_t)t;
	out->argon2_lanes = (uint32_t)lanes;
	out->saltlen = (uint32_t)saltlen;
	out->digestlen = (uint32_t)wantlen;
	memcpy(out->digest, want, (size_t)wantlen);
	if ((uint64_t)m * (uint64_t)t > WA_MAX_PW_ARGON2_KIB || lanes > (long)WA_MAX_PW_ARGON2_LANES)
		return WA_PW_TOO_COSTLY;
	return 0;
}

int wa_pw_parse(const char *hash, size_t hashlen, struct wa_pw_hash *out)
{
	const char *f[6];
	size_t fl[6];
	uint8_t want[WA_PW_DIGEST_BYTES + 1];
	long saltlen, wantlen, iterations = 0;
	unsigned n;

	if (!hash || hashlen == 0 || hash[0] != '$') return WA_PW_MALFORMED;
	out->argon2_kib = out->argon2_passes = out->argon2_lanes = 0;
	/* "$6$s$h" splits into "", "6", "s", "h"; "$7$i$s$h" into "", "7", "i", "s", "h". */
	n = split_dollar(hash, hashlen, f, fl, 6);
	if (n == 6 && field_is(f[1], fl[1], "argon2id")) {
		return argon2_parse(f, fl, out);
	} else if (n == 4 && fl[1] == 1 && f[1][0] == '6') {
		saltlen = b64_decode(f[2], fl[2], out->salt, sizeof out->salt);
		wantlen = b64_decode(f[3], fl[3], want, sizeof want);
	} else if (n == 5 && fl[1] == 1 && f[1][0] == '7') {
		iterations = parse_iterations(f[2], fl[2]);
		if (iterations < 0) return WA_PW_MALFORMED;
		saltlen = b64_decode(f[3], fl[3], out->salt, sizeof out->salt);
		wantlen = b64_decode(f[4], fl[4], want, sizeof want);
	} else {
		return WA_PW_MALFORMED;
	}
	if (saltlen <= 0 || wantlen != (long)WA_PW_DIGEST_BYTES) return WA_PW_MALFORMED;
	out->iterations = (uint32_t)iterations;
	out->saltlen = (uint32_t)saltlen;
	out->digestlen = WA_PW_DIGEST_BYTES;
	memcpy(out->digest, want, WA_PW_DIGEST_BYTES);
	return iterations > (long)WA_MAX_PW_ITERATIONS ? WA_PW_TOO_COSTLY : 0;
}

/* On this thread: argon2_ctx with threads = 1 starts none (argon2_hash would start p). */
static int argon2id_hash(const struct wa_pw_hash *h, const uint8_t *pw, size_t pwlen, uint8_t *out)
{
	argon2_context ctx = {
		.out = out,
		.outlen = h->digestlen,
		.pwd = (uint8_t *)(uintptr_t)pw, /* read only: ARGON2_FLAG_CLEAR_PASSWORD is not set */
		.pwdlen = (uint32_t)pwlen,
		.salt = (uint8_t *)(uintptr_t)h->salt,
		.saltlen = h->saltlen,
		.t_cost = h->argon2_passes,
		.m_cost = h->argon2_kib,
		.lanes = h->argon2_lanes,
		.threads = 1,
		.version = ARGON2_VERSION_13,
		.flags = ARGON2_DEFAULT_FLAGS,
	};
	return argon2_ctx(&ctx, Argon2_id) == ARGON2_OK ? 0 : -1;
}

int wa_pw_check(const struct wa_pw_hash *h, const uint8_t *pw, size_t pwlen)
{
	uint8_t got[WA_PW_DIGEST_BYTES];

	if (pwlen > INT_MAX || h->iterations > WA_MAX_PW_ITERATIONS) return -1;
	if (h->argon2_kib) {
		if ((uint64_t)h->argon2_kib * h->argon2_passes > WA_MAX_PW_ARGON2_KIB ||
		    h->argon2_lanes > WA_MAX_PW_ARGON2_LANES || argon2id_hash(h, pw, pwlen, got) != 0)
			return -1;
	} else if (h->iterations == 0) {
		if (sha512_salted(pw, pwlen, h->salt, h->saltlen, got) != 0) return -1;
	} else if (PKCS5_PBKDF2_HMAC((const char *)pw, (int)pwlen, h->salt, (int)h->saltlen, (int)h->iterations,
	                             EVP_sha512(), (int)WA_PW_DIGEST_BYTES, got) != 1) {
		return -1;
	}
	return CRYPTO_memcmp(got, h->digest, h->digestlen) == 0 ? 1 : 0;
}

int wa_pw_verify(const char *hash, size_t hashlen, const uint8_t *pw, size_t pwlen)
{
	struct wa_pw_hash h;
	int r = wa_pw_parse(hash, hashlen, &h);

	if (r == WA_PW_TOO_COSTLY) return 0;
	if (r != 0) return -1;
	return wa_pw_check(&h, pw, pwlen);
}
