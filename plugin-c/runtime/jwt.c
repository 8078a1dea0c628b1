#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "jwt.h"

/* Nesting a token's header and claims or a JWKS may have: far more than any real one needs,
 * and the recursion stays shallow. The Node host uses the same. */
#define JSON_MAX_DEPTH 32

struct wa_jwt_key {
	enum wa_jwt_kind kind;
	int alg; /* the JWK's "alg", or -1: any algorithm of its kind */
	int has_kid;
	size_t kidlen;
	char kid[WA_JWT_MAX_KID_BYTES];
	unsigned bits;   /* RSA modulus bits */
	EVP_PKEY *pkey;  /* asymmetric kinds */
	uint8_t *secret; /* WA_JWK_OCT */
	size_t secretlen;
};

struct wa_jwt_keyset {
	unsigned count;
	struct wa_jwt_key keys[WA_JWT_MAX_KEYS];
};

static const char *const alg_names[WA_JWT_ALG_COUNT] = {
	"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
};

const char *wa_jwt_alg_name(enum wa_jwt_alg alg)
{
	return alg_names[alg];
}

static int alg_of(const uint8_t *s, size_t n)
{
	for (int i = 0; i < WA_JWT_ALG_COUNT; i++) {
		if (strlen(alg_names[i]) == n && memcmp(alg_names[i], s, n) == 0) return i;
	}
	return -1;
}

static enum wa_jwt_kind kind_for(enum wa_jwt_alg alg)
{
	switch (alg) {
		case WA_JWT_HS256:
		case WA_JWT_HS384:
		case WA_JWT_HS512: return WA_JWK_OCT;
		case WA_JWT_ES256: return WA_JWK_P256;
		case WA_JWT_ES384: return WA_JWK_P384;
		case WA_JWT_EDDSA: return WA_JWK_ED25519;
		default: return WA_JWK_RSA;
	}
}

static const EVP_MD *md_for(enum wa_jwt_alg alg)
{
	switch (alg) {
		case WA_JWT_HS256:
		case WA_JWT_RS256:
		case WA_JWT_PS256:
		case WA_JWT_ES256: return EVP_sha256();
		case WA_JWT_HS384:
		case WA_JWT_RS384:
		case WA_JWT_PS384:
		case WA_JWT_ES384: return EVP_sha384();
		case WA_JWT_EDDSA: return NULL; /* Ed25519 hashes internally */
		default: return EVP_sha512();
	}
}

/* Guest-chosen bytes in a message: printable ASCII, others '?', at most max bytes ("..." after a
 * cut). The Node host shows them the same way. */
static void shown(const uint8_t *s, size_t len, size_t max, char *out, size_t cap)
{
	size_t n = len < max ? len : max;

	if (n > cap - 4) n = cap - 4;
	for (size_t i = 0; i < n; i++) out[i] = s[i] >= 0x20 && s[i] < 0x7f ? (char)s[i] : '?';
	strcpy(out + n, len > n ? "..." : "");
}

/* ---- base64url (RFC 7515 2: no padding, no other characters) ---- */

static int b64url_value(uint8_t c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '-') return 62;
	if (c == '_') return 63;
	return -1;
}

/* Decoded length, -1 if malformed (a stray character, a lone last character, non-zero leftover
 * bits: each text decodes one way only), -2 if longer than cap. */
static long b64url_decode(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t n = 0;

	if (len % 4 == 1) return -1;
	if (len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0) > cap) return -2;
	for (size_t i = 0; i < len; i++) {
		int v = b64url_value(in[i]);
		if (v < 0) return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	if ((acc & ((1u << bits) - 1u)) != 0) return -1;
	return (long)n;
}

/* ---- strict JSON (RFC 8259), enough to validate a whole text and pick members ---- */

struct jcur {
	const uint8_t *p, *end;
};

static void jws(struct jcur *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static int hex4(const uint8_t *p, const uint8_t *end, uint32_t *v)
{
	*v = 0;
	if (end - p < 4) return -1;
	for (int i = 0; i < 4; i++) {
		uint8_t ch = p[i];
		int d = ch >= '0' && ch <= '9'   ? ch - '0'
		        : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
		        : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
		                                 : -1;
		if (d < 0) return -1;
		*v = *v << 4 | (uint32_t)d;
	}
	return 0;
}

/* Appends code point cp as UTF-8 where it fits; counts every byte in *n. */
static void put_utf8(uint32_t cp, uint8_t *out, size_t cap, size_t *n)
{
	uint8_t b[4];
	size_t k;

	if (cp < 0x80) {
		b[0] = (uint8_t)cp;
		k = 1;
	} else if (cp < 0x800) {
		b[0] = (uint8_t)(0xC0 | cp >> 6);
		b[1] = (uint8_t)(0x80 | (cp & 0x3F));
		k = 2;
	} else if (cp < 0x10000) {
		b[0] = (uint8_t)(0xE0 | cp >> 12);
		b[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
		b[2] = (uint8_t)(0x80 | (cp & 0x3F));
		k = 3;
	} else {
		b[0] = (uint8_t)(0xF0 | cp >> 18);
		b[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
		b[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
		b[3] = (uint8_t)(0x80 | (cp & 0x3F));
		k = 4;
	}
	for (size_t i = 0; i < k; i++, (*n)++) {
		if (out && *n < cap) out[*n] = b[i];
	}
}

/* One UTF-8 sequence at c->p (well-formed: no overlong forms, surrogates or values above
 * U+10FFFF): its code point, or -1. */
static long utf8_char(struct jcur *c)
{
	uint8_t b0 = *c->p;
	uint32_t cp, min;
	int k;

	if (b0 < 0x80) {
		c->p++;
		return b0;
	}
	if ((b0 & 0xE0) == 0xC0) {
		k = 1, cp = b0 & 0x1Fu, min = 0x80;
	} else if ((b0 & 0xF0) == 0xE0) {
		k = 2, cp = b0 & 0x0Fu, min = 0x800;
	} else if ((b0 & 0xF8) == 0xF0) {
		k = 3, cp = b0 & 0x07u, min = 0x10000;
	} else {
		return -1;
	}
	if (c->end - c->p <= k) return -1;
	for (int i = 1; i <= k; i++) {
		if ((c->p[i] & 0xC0) != 0x80) return -1;
		cp = cp << 6 | (c->p[i] & 0x3Fu);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
	c->p += k + 1;
	return (long)cp;
}

/* A string at c->p ('"'), decoded into out (up to cap bytes; out may be NULL); *n = its full
 * decoded length. 0 or -1 (malformed). */
static int jstring(struct jcur *c, uint8_t *out, size_t cap, size_t *n)
{
	*n = 0;
	if (c->p >= c->end || *c->p != '"') return -1;
	c->p++;
	while (c->p < c->end) {
		uint8_t ch = *c->p;
		if (ch == '"') {
			c->p++;
			return 0;
		}
		if (ch < 0x20) return -1;
		if (ch == '\\') {
			uint32_t cp, lo;
			if (c->end - c->p < 2) return -1;
			ch = c->p[1];
			c->p += 2;
			switch (ch) {
				case '"':
				case '\\':
				case '/': cp = ch; break;
				case 'b': cp = '\b'; break;
				case 'f': cp = '\f'; break;
				case 'n': cp = '\n'; break;
				case 'r': cp = '\r'; break;
				case 't': cp = '\t'; break;
				case 'u':
					if (hex4(c->p, c->end, &cp)) return -1;
					c->p += 4;
					if (cp >= 0xDC00 && cp <= 0xDFFF) return -1; /* a lone low surrogate */
					if (cp >= 0xD800 && cp <= 0xDBFF) {
						if (c->end - c->p < 6 || c->p[0] != '\\' || c->p[1] != 'u' ||
						    hex4(c->p + 2, c->end, &lo) || lo < 0xDC00 || lo > 0xDFFF)
							return -1;
						c->p += 6;
						cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
					}
					break;
				default: return -1;
			}
			put_utf8(cp, out, cap, n);
			continue;
		}
		long cp = utf8_char(c);
		if (cp < 0) return -1;
		put_utf8((uint32_t)cp, out, cap, n);
	}
	return -1;
}

static int digits(struct jcur *c)
{
	const uint8_t *s = c->p;
	while (c->p < c->end && *c->p >= '0' && *c->p <= '9') c->p++;
	return c->p > s ? 0 : -1;
}

static int jnumber(struct jcur *c)
{
	if (c->p < c->end && *c->p == '-') c->p++;
	if (c->p < c->end && *c->p == '0') {
		c->p++;
	} else if (digits(c)) {
		return -1;
	}
	if (c->p < c->end && *c->p == '.') {
		c->p++;
		if (digits(c)) return -1;
	}
	if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
		c->p++;
		if (c->p < c->end && (*c->p == '+' || *c->p == '-')) c->p++;
		if (digits(c)) return -1;
	}
	return 0;
}

static int jliteral(struct jcur *c, const char *w)
{
	size_t n = strlen(w);
	if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n) != 0) return -1;
	c->p += n;
	return 0;
}

/* A member wanted from an object: its value's span, if present. */
struct jfield {
	const char *name;
	const uint8_t *v, *vend;
};

static int jvalue(struct jcur *c, int depth);

/* An object at c->p, validated whole; fields named in f get their value spans (NULL if absent).
 * A wanted name given twice is malformed (which one counts would differ between readers). */
static int jobject(struct jcur *c, int depth, struct jfield *f, unsigned nf)
{
	for (unsigned i = 0; i < nf; i++) f[i].v = f[i].vend = NULL;
	if (depth > JSON_MAX_DEPTH || c->p >= c->end || *c->p != '{') return -1;
	c->p++;
	jws(c);
	if (c->p < c->end && *c->p == '}') {
		c->p++;
		return 0;
	}
	for (;;) {
		uint8_t name[32];
		size_t n;
		jws(c);
		if (jstring(c, name, sizeof name, &n)) return -1;
		jws(c);
		if (c->p >= c->end || *c->p != ':') return -1;
		c->p++;
		jws(c);
		const uint8_t *v = c->p;
		if (jvalue(c, depth + 1)) return -1;
		for (unsigned i = 0; i < nf; i++) {
			if (n == strlen(f[i].name) && memcmp(name, f[i].name, n) == 0) {
				if (f[i].v) return -1;
				f[i].v = v;
				f[i].vend = c->p;
			}
		}
		jws(c);
		if (c->p < c->end && *c->p == ',') {
			c->p++;
			continue;
		}
		if (c->p < c->end && *c->p == '}') {
			c->p++;
			return 0;
		}
		return -1;
	}
}

static int jvalue(struct jcur *c, int depth)
{
	size_t n;

	if (c->p >= c->end) return -1;
	switch (*c->p) {
		case '{': return jobject(c, depth, NULL, 0);
		case '[':
			if (depth > JSON_MAX_DEPTH) return -1;
			c->p++;
			jws(c);
			if (c->p < c->end && *c->p == ']') {
				c->p++;
				return 0;
			}
			for (;;) {
				jws(c);
				if (jvalue(c, depth + 1)) return -1;
				jws(c);
				if (c->p < c->end && *c->p == ',') {
					c->p++;
					continue;
				}
				if (c->p < c->end && *c->p == ']') {
					c->p++;
					return 0;
				}
				return -1;
			}
		case '"': return jstring(c, NULL, 0, &n);
		case 't': return jliteral(c, "true");
		case 'f': return jliteral(c, "false");
		case 'n': return jliteral(c, "null");
		default: return jnumber(c);
	}
}

/* A whole text that is one object (whitespace around it allowed), members picked into f. */
static int jdocument(const uint8_t *s, size_t len, struct jfield *f, unsigned nf)
{
	struct jcur c = { s, s + len };

	jws(&c);
	if (jobject(&c, 1, f, nf)) return -1;
	jws(&c);
	return c.p == c.end ? 0 : -1;
}

/* A member's value as a string decoded into out (cap bytes): its length, -1 if not a string
 * or longer than cap. */
static long jfield_string(const struct jfield *f, uint8_t *out, size_t cap)
{
	struct jcur c = { f->v, f->vend };
	size_t n;

	if (!f->v || jstring(&c, out, cap, &n) || n > cap) return -1;
	return (long)n;
}

/* A member's value as a number: 0 with *v, -1 if not a number. */
static int jfield_number(const struct jfield *f, double *v)
{
	char buf[64];
	size_t n = (size_t)(f->vend - f->v);

	if (!f->v || (*f->v != '-' && (*f->v < '0' || *f->v > '9'))) return -1;
	if (n >= sizeof buf) {
		/* Longer than any real time: only its magnitude matters; strtod on a copy of the
		 * digits would need a larger buffer, so read it whole from a heap copy. */
		char *big = malloc(n + 1);
		if (!big) return -1;
		memcpy(big, f->v, n);
		big[n] = '\0';
		*v = strtod(big, NULL);
		free(big);
		return 0;
	}
	memcpy(buf, f->v, n);
	buf[n] = '\0';
	*v = strtod(buf, NULL);
	return 0;
}

/* ---- keys ---- */

static void key_free(struct wa_jwt_key *k)
{
	EVP_PKEY_free(k->pkey);
	if (k->secret) OPENSSL_clear_free(k->secret, k->secretlen);
	k->pkey = NULL;
	k->secret = NULL;
}

void wa_jwt_keyset_free(struct wa_jwt_keyset *ks)
{
	if (!ks) return;
	for (unsigned i = 0; i < ks->count; i++) key_free(&ks->keys[i]);
	free(ks);
}

/* The kind of an asymmetric key: 0 with k->kind (and k->bits), or -1 with detail. */
static int classify(struct wa_jwt_key *k, char *detail, size_t cap)
{
	char group[32];
	size_t glen = 0;

	switch (EVP_PKEY_get_base_id(k->pkey)) {
		case EVP_PKEY_RSA: {
			int bits = EVP_PKEY_get_bits(k->pkey);
			if (bits < (int)WA_JWT_MIN_RSA_BITS || bits > (int)WA_JWT_MAX_RSA_BITS) {
				snprintf(detail, cap, "RSA key of %d bits (%u to %u are accepted)", bits,
				         WA_JWT_MIN_RSA_BITS, WA_JWT_MAX_RSA_BITS);
				return -1;
			}
			k->kind = WA_JWK_RSA;
			k->bits = (unsigned)bits;
			return 0;
		}
		case EVP_PKEY_EC:
			if (EVP_PKEY_get_utf8_string_param(k->pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
			                                   &glen) == 1) {
				if (strcmp(group, "prime256v1") == 0) {
					k->kind = WA_JWK_P256;
					return 0;
				}
				if (strcmp(group, "secp384r1") == 0) {
					k->kind = WA_JWK_P384;
					return 0;
				}
			}
			snprintf(detail, cap, "EC key on a curve other than P-256 and P-384");
			return -1;
		case EVP_PKEY_ED25519: k->kind = WA_JWK_ED25519; return 0;
		default:
			snprintf(detail, cap, "key type not supported (RSA, EC P-256/P-384 and Ed25519 are)");
			return -1;
	}
}

/* A PEM file: its first block must be a public key or a certificate (never a private key: the
 * broker needs none, and a file holding one should not be readable by it). */
static int parse_pem(const uint8_t *data, size_t len, struct wa_jwt_keyset *ks, char *detail, size_t cap)
{
	static const char pub[] = "-----BEGIN PUBLIC KEY-----", cert[] = "-----BEGIN CERTIFICATE-----";
	const uint8_t *s = data;
	struct wa_jwt_key *k = &ks->keys[0];
	BIO *bio;

	while (s < data + len && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')) s++;
	bio = BIO_new_mem_buf(s, (int)(data + len - s));
	if (!bio) {
		snprintf(detail, cap, "out of memory");
		return -1;
	}
	if ((size_t)(data + len - s) >= sizeof pub - 1 && memcmp(s, pub, sizeof pub - 1) == 0) {
		k->pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	} else if ((size_t)(data + len - s) >= sizeof cert - 1 && memcmp(s, cert, sizeof cert - 1) == 0) {
		X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		if (x) k->pkey = X509_get_pubkey(x);
		X509_free(x);
	} else {
		BIO_free(bio);
		snprintf(detail, cap, "PEM file whose first block is not a PUBLIC KEY or CERTIFICATE");
		return -1;
	}
	BIO_free(bio);
	if (!k->pkey) {
		snprintf(detail, cap, "invalid PEM public key or certificate");
		return -1;
	}
	ks->count = 1;
	k->alg = -1;
	return classify(k, detail, cap);
}

/* A base64url member decoded into out: its length, or -1. */
static long jfield_b64(const struct jfield *f, uint8_t *out, size_t cap)
{
	uint8_t text[1400];
	long n = jfield_string(f, text, sizeof text);

	if (n < 0) return -1;
	n = b64url_decode(text, (size_t)n, out, cap);
	return n < 0 ? -1 : n;
}

static EVP_PKEY *from_params(const char *type, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = bld ? OSSL_PARAM_BLD_to_param(bld) : NULL;
	EVP_PKEY_CTX *ctx = params ? EVP_PKEY_CTX_new_from_name(NULL, type, NULL) : NULL;
	EVP_PKEY *pkey = NULL;

	if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 || EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pkey;
}

/* The public point must be on the curve (EVP_PKEY_fromdata does not check). */
static int public_ok(EVP_PKEY *pkey)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	int ok = ctx && EVP_PKEY_public_check(ctx) == 1;
	EVP_PKEY_CTX_free(ctx);
	return ok;
}

enum { F_KTY, F_KID, F_ALG, F_USE, F_N, F_E, F_CRV, F_X, F_Y, F_K, F_COUNT };

/* One JWK of a JWKS: 1 = added as ks->keys[ks->count], 0 = skipped (another use, kty or curve),
 * -1 = invalid (detail). */
static int parse_jwk(struct jfield *f, struct wa_jwt_keyset *ks, unsigned index, char *detail, size_t cap)
{
	struct wa_jwt_key *k = &ks->keys[ks->count];
	uint8_t kty[8], crv[16], use[8], alg[8], a[WA_JWT_MAX_RSA_BITS / 8 + 1], b[WA_JWT_MAX_RSA_BITS / 8 + 1];
	long ktylen = jfield_string(&f[F_KTY], kty, sizeof kty), crvlen = -1, n, e;
	OSSL_PARAM_BLD *bld = NULL;
	int asymmetric = 1;

	memset(k, 0, sizeof *k);
	k->alg = -1;
	if (ktylen < 0) {
		snprintf(detail, cap, "key %u: no kty", index);
		return -1;
	}
	if (f[F_USE].v) {
		long ul = jfield_string(&f[F_USE], use, sizeof use);
		if (ul != 3 || memcmp(use, "sig", 3) != 0) return 0;
	}
	if (f[F_KID].v) {
		long kl = jfield_string(&f[F_KID], (uint8_t *)k->kid, sizeof k->kid);
		if (kl < 0) {
			snprintf(detail, cap, "key %u: kid is not a string of at most %u bytes", index,
			         WA_JWT_MAX_KID_BYTES);
			return -1;
		}
		k->has_kid = 1;
		k->kidlen = (size_t)kl;
	}
	if (f[F_ALG].v) {
		long al = jfield_string(&f[F_ALG], alg, sizeof alg);
		k->alg = al < 0 ? -1 : alg_of(alg, (size_t)al);
		if (k->alg < 0) return 0; /* an algorithm this host does not verify: not a key for it */
	}
	if (f[F_CRV].v) crvlen = jfield_string(&f[F_CRV], crv, sizeof crv);
	if (ktylen == 3 && memcmp(kty, "oct", 3) == 0) {
		uint8_t secret[WA_JWT_MAX_SECRET_BYTES];
		long sl = jfield_b64(&f[F_K], secret, sizeof secret);
		if (sl < (long)WA_JWT_MIN_SECRET_BYTES) {
			snprintf(detail, cap, "key %u: k is not base64url of %u to %u bytes", index,
			         WA_JWT_MIN_SECRET_BYTES, WA_JWT_MAX_SECRET_BYTES);
			OPENSSL_cleanse(secret, sizeof secret);
			return -1;
		}
		k->kind = WA_JWK_OCT;
		asymmetric = 0;
		k->secret = OPENSSL_memdup(secret, (size_t)sl);
		k->secretlen = (size_t)sl;
		OPENSSL_cleanse(secret, sizeof secret);
		if (!k->secret) {
			snprintf(detail, cap, "out of memory");
			return -1;
		}
	} else if (ktylen == 3 && memcmp(kty, "RSA", 3) == 0) {
		BIGNUM *bn_n, *bn_e;
		n = jfield_b64(&f[F_N], a, sizeof a);
		e = jfield_b64(&f[F_E], b, 8);
		if (n <= 0 || e <= 0) {
			snprintf(detail, cap, "key %u: n or e is not base64url of an RSA key of at most %u bits", index,
			         WA_JWT_MAX_RSA_BITS);
			return -1;
		}
		bn_n = BN_bin2bn(a, (int)n, NULL);
		bn_e = BN_bin2bn(b, (int)e, NULL);
		bld = OSSL_PARAM_BLD_new();
		if (bld && bn_n && bn_e && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) == 1 &&
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) == 1)
			k->pkey = from_params("RSA", bld);
		BN_free(bn_n);
		BN_free(bn_e);
	} else if (ktylen == 2 && memcmp(kty, "EC", 2) == 0) {
		int p384 = crvlen == 5 && memcmp(crv, "P-384", 5) == 0;
		size_t size = p384 ? 48 : 32;
		uint8_t point[1 + 2 * 48];
		if (!(crvlen == 5 && (p384 || memcmp(crv, "P-256", 5) == 0))) return 0; /* another curve */
		if (jfield_b64(&f[F_X], point + 1, size) != (long)size ||
		    jfield_b64(&f[F_Y], point + 1 + size, size) != (long)size) {
			snprintf(detail, cap, "key %u: x or y is not base64url of %zu bytes", index, size);
			return -1;
		}
		point[0] = 4; /* uncompressed */
		bld = OSSL_PARAM_BLD_new();
		if (bld &&
		    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, p384 ? "secp384r1" : "prime256v1",
		                                    0) == 1 &&
		    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * size) == 1)
			k->pkey = from_params("EC", bld);
		if (k->pkey && !public_ok(k->pkey)) {
			EVP_PKEY_free(k->pkey);
			k->pkey = NULL;
		}
	} else if (ktylen == 3 && memcmp(kty, "OKP", 3) == 0) {
		if (!(crvlen == 7 && memcmp(crv, "Ed25519", 7) == 0)) return 0; /* Ed448, X25519... */
		if (jfield_b64(&f[F_X], a, 32) != 32) {
			snprintf(detail, cap, "key %u: x is not base64url of 32 bytes", index);
			return -1;
		}
		k->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, a, 32);
	} else {
		return 0; /* another key type */
	}
	OSSL_PARAM_BLD_free(bld);
	if (asymmetric) {
		if (!k->pkey) {
			snprintf(detail, cap, "key %u: not a valid public key", index);
			return -1;
		}
		if (classify(k, detail, cap)) {
			char inner[160];
			snprintf(inner, sizeof inner, "%s", detail);
			snprintf(detail, cap, "key %u: %s", index, inner);
			key_free(k);
			return -1;
		}
	}
	if (k->alg >= 0 && kind_for((enum wa_jwt_alg)k->alg) != k->kind) {
		snprintf(detail, cap, "key %u: alg %s does not fit its kty", index, alg_names[k->alg]);
		key_free(k);
		return -1;
	}
	ks->count++;
	return 1;
}

static int parse_jwks(const uint8_t *data, size_t len, struct wa_jwt_keyset *ks, char *detail, size_t cap)
{
	struct jfield top = { "keys", NULL, NULL };
	struct jcur c;
	unsigned index = 0;

	if (jdocument(data, len, &top, 1) || !top.v || *top.v != '[') {
		snprintf(detail, cap, "not a JWKS (a JSON object with a keys array)");
		return -1;
	}
	c.p = top.v + 1;
	c.end = top.vend;
	jws(&c);
	while (c.p < c.end && *c.p != ']') {
		struct jfield f[F_COUNT] = {
			[F_KTY] = { "kty", 0, 0 }, [F_KID] = { "kid", 0, 0 }, [F_ALG] = { "alg", 0, 0 },
			[F_USE] = { "use", 0, 0 }, [F_N] = { "n", 0, 0 },     [F_E] = { "e", 0, 0 },
			[F_CRV] = { "crv", 0, 0 }, [F_X] = { "x", 0, 0 },     [F_Y] = { "y", 0, 0 },
			[F_K] = { "k", 0, 0 },
		};
		if (*c.p != '{' || jobject(&c, 3, f, F_COUNT)) {
			snprintf(detail, cap, "key %u: not a JSON object with distinct members", index);
			return -1;
		}
		if (ks->count == WA_JWT_MAX_KEYS) {
			snprintf(detail, cap, "more than %u keys (WA_JWT_MAX_KEYS)", WA_JWT_MAX_KEYS);
			return -1;
		}
		if (parse_jwk(f, ks, index, detail, cap) < 0) return -1;
		index++;
		jws(&c);
		if (c.p < c.end && *c.p == ',') c.p++;
		jws(&c);
	}
	if (!ks->count) {
		snprintf(detail, cap, "no usable key (RSA, EC P-256/P-384, OKP Ed25519 or oct, use sig)");
		return -1;
	}
	return 0;
}

int wa_jwt_keyset_parse(const uint8_t *data, size_t len, struct wa_jwt_keyset **out, unsigned *keys, char *detail,
                        size_t cap)
{
	struct wa_jwt_keyset *ks = calloc(1, sizeof *ks);
	const uint8_t *s = data;
	int r;

	*out = NULL;
	*keys = 0;
	if (!ks) {
		snprintf(detail, cap, "out of memory");
		return -1;
	}
	while (s < data + len && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')) s++;
	if (s < data + len && *s == '{') {
		r = parse_jwks(data, len, ks, detail, cap);
	} else if ((size_t)(data + len - s) >= 11 && memcmp(s, "-----BEGIN ", 11) == 0) {
		r = parse_pem(data, len, ks, detail, cap);
	} else if (len < WA_JWT_MIN_SECRET_BYTES || len > WA_JWT_MAX_SECRET_BYTES) {
		snprintf(detail, cap, "HMAC secret of %zu bytes (%u to %u are accepted)", len, WA_JWT_MIN_SECRET_BYTES,
		         WA_JWT_MAX_SECRET_BYTES);
		r = -1;
	} else {
		/* Neither JSON nor PEM: the file's bytes are the HMAC secret, exactly (a trailing
		 * newline is part of it). */
		struct wa_jwt_key *k = &ks->keys[0];
		k->kind = WA_JWK_OCT;
		k->alg = -1;
		k->secret = OPENSSL_memdup(data, len);
		k->secretlen = len;
		ks->count = k->secret ? 1 : 0;
		r = k->secret ? 0 : -1;
		if (r) snprintf(detail, cap, "out of memory");
	}
	*keys = ks->count;
	if (r) {
		wa_jwt_keyset_free(ks);
		return -1;
	}
	*out = ks;
	return 0;
}

/* ---- tokens ---- */

int wa_jwt_parse(const uint8_t *tok, size_t len, struct wa_jwt_token *t, char *detail, size_t cap)
{
	const uint8_t *d1, *d2;
	uint8_t header[WA_MAX_JWT_BYTES * 3 / 4], algname[16];
	long hl, n;
	struct jfield f[3] = { { "alg", 0, 0 }, { "kid", 0, 0 }, { "crit", 0, 0 } };

	memset(t, 0, offsetof(struct wa_jwt_token, payload));
	if (len > WA_MAX_JWT_BYTES) {
		snprintf(detail, cap, "token of %zu bytes, above the cap of %u (WA_MAX_JWT_BYTES)", len,
		         WA_MAX_JWT_BYTES);
		return WA_JWT_MALFORMED;
	}
	d1 = memchr(tok, '.', len);
	d2 = d1 ? memchr(d1 + 1, '.', (size_t)(tok + len - d1 - 1)) : NULL;
	if (!d1 || !d2 || memchr(d2 + 1, '.', (size_t)(tok + len - d2 - 1)) || d1 == tok || d2 == d1 + 1) {
		snprintf(detail, cap, "not three base64url parts separated by dots");
		return WA_JWT_MALFORMED;
	}
	hl = b64url_decode(tok, (size_t)(d1 - tok), header, sizeof header);
	if (hl < 0) {
		snprintf(detail, cap, "bad base64url in the header");
		return WA_JWT_MALFORMED;
	}
	n = b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), t->payload, sizeof t->payload);
	if (n < 0) {
		snprintf(detail, cap, "bad base64url in the payload");
		return WA_JWT_MALFORMED;
	}
	t->payloadlen = (size_t)n;
	n = b64url_decode(d2 + 1, (size_t)(tok + len - d2 - 1), t->sig, sizeof t->sig);
	if (n == -2) {
		snprintf(detail, cap, "signature longer than %u bytes", WA_JWT_MAX_SIG_BYTES);
		return WA_JWT_MALFORMED;
	}
	if (n < 0) {
		snprintf(detail, cap, "bad base64url in the signature");
		return WA_JWT_MALFORMED;
	}
	t->siglen = (size_t)n;
	t->signing_len = (size_t)(d2 - tok);
	if (jdocument(header, (size_t)hl, f, 3)) {
		snprintf(detail, cap, "header is not a JSON object with distinct alg, kid and crit");
		return WA_JWT_MALFORMED;
	}
	n = jfield_string(&f[0], algname, sizeof algname);
	if (!f[0].v || (n < 0 && *f[0].v != '"')) {
		snprintf(detail, cap, "header has no alg string");
		return WA_JWT_MALFORMED;
	}
	if (f[1].v) {
		long kl = jfield_string(&f[1], (uint8_t *)t->kid, sizeof t->kid);
		if (kl < 0) {
			snprintf(detail, cap, "kid is not a string of at most %u bytes", WA_JWT_MAX_KID_BYTES);
			return WA_JWT_MALFORMED;
		}
		t->has_kid = 1;
		t->kidlen = (size_t)kl;
	}
	if (n == 4 && memcmp(algname, "none", 4) == 0) {
		snprintf(detail, cap, "alg none is never accepted");
		return WA_JWT_UNSUPPORTED_ALG;
	}
	if (n < 0 || alg_of(algname, (size_t)n) < 0) {
		char s[32];
		shown(algname, n < 0 ? sizeof algname : (size_t)n, 16, s, sizeof s);
		snprintf(detail, cap, "alg %s is not supported", n < 0 ? "(too long)" : s);
		return WA_JWT_UNSUPPORTED_ALG;
	}
	if (f[2].v) {
		snprintf(detail, cap, "crit header parameters are not supported");
		return WA_JWT_UNSUPPORTED_ALG;
	}
	t->alg = (enum wa_jwt_alg)alg_of(algname, (size_t)n);
	return 0;
}

int wa_jwt_select(const struct wa_jwt_keyset *ks, const struct wa_jwt_token *t, char *detail, size_t cap)
{
	char kid[WA_JWT_LOG_KID_BYTES + 4];

	for (unsigned i = 0; i < ks->count; i++) {
		const struct wa_jwt_key *k = &ks->keys[i];
		if (k->kind != kind_for(t->alg) || (k->alg >= 0 && k->alg != (int)t->alg)) continue;
		if (t->has_kid && k->has_kid && (k->kidlen != t->kidlen || memcmp(k->kid, t->kid, t->kidlen) != 0))
			continue;
		return (int)i;
	}
	if (t->has_kid) {
		shown((const uint8_t *)t->kid, t->kidlen, WA_JWT_LOG_KID_BYTES, kid, sizeof kid);
		snprintf(detail, cap, "no key with kid \"%s\" for alg %s", kid, alg_names[t->alg]);
	} else {
		snprintf(detail, cap, "no key for alg %s", alg_names[t->alg]);
	}
	return WA_JWT_NO_KEY;
}

uint64_t wa_jwt_price(const struct wa_jwt_keyset *ks, int key, const struct wa_jwt_token *t)
{
	const struct wa_jwt_key *k = &ks->keys[key];
	uint64_t hash = ((uint64_t)t->signing_len * WA_FUEL_HASH_32 + 31u) / 32u, r;

	switch (k->kind) {
		case WA_JWK_OCT: return hash + WA_FUEL_JWT_HMAC + (k->secretlen * WA_FUEL_HASH_32 + 31u) / 32u;
		case WA_JWK_RSA: r = (k->bits + 1023u) / 1024u; return hash + r * r * WA_FUEL_JWT_RSA_1K2;
		case WA_JWK_P256: return hash + WA_FUEL_JWT_P256;
		case WA_JWK_P384: return hash + WA_FUEL_JWT_P384;
		default: return hash + WA_FUEL_JWT_ED25519;
	}
}

/* A JOSE ECDSA signature (r || s, each `size` bytes) as the DER OpenSSL verifies. */
static int ecdsa_der(const uint8_t *sig, size_t size, uint8_t *der, size_t cap, size_t *derlen)
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, (int)size, NULL), *s = BN_bin2bn(sig + size, (int)size, NULL);
	unsigned char *p = der;
	int n = -1;

	if (es && r && s && ECDSA_SIG_set0(es, r, s) == 1) {
		r = s = NULL; /* owned by es */
		if (i2d_ECDSA_SIG(es, NULL) <= (int)cap) n = i2d_ECDSA_SIG(es, &p);
	}
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	if (n <= 0) return -1;
	*derlen = (size_t)n;
	return 0;
}

int wa_jwt_check_signature(const struct wa_jwt_keyset *ks, int key, const struct wa_jwt_token *t, const uint8_t *tok)
{
	const struct wa_jwt_key *k = &ks->keys[key];
	const EVP_MD *md = md_for(t->alg);
	const uint8_t *sig = t->sig;
	size_t siglen = t->siglen;
	uint8_t der[2 * 48 + 16];
	EVP_MD_CTX *ctx;
	EVP_PKEY_CTX *pctx = NULL;
	int ok;

	if (k->kind == WA_JWK_OCT) {
		uint8_t mac[EVP_MAX_MD_SIZE];
		unsigned maclen = 0;
		if (!HMAC(md, k->secret, (int)k->secretlen, tok, t->signing_len, mac, &maclen))
			return WA_JWT_BAD_SIGNATURE;
		return maclen == siglen && CRYPTO_memcmp(mac, sig, maclen) == 0 ? 0 : WA_JWT_BAD_SIGNATURE;
	}
	if (k->kind == WA_JWK_P256 || k->kind == WA_JWK_P384) {
		size_t size = k->kind == WA_JWK_P384 ? 48 : 32;
		if (siglen != 2 * size || ecdsa_der(sig, size, der, sizeof der, &siglen)) return WA_JWT_BAD_SIGNATURE;
		sig = der;
	}
	ctx = EVP_MD_CTX_new();
	ok = ctx && EVP_DigestVerifyInit(ctx, &pctx, md, NULL, k->pkey) == 1;
	if (ok && (t->alg == WA_JWT_PS256 || t->alg == WA_JWT_PS384 || t->alg == WA_JWT_PS512)) {
		/* RFC 7518 3.5: MGF1 with the same hash, salt as long as the hash. */
		ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
		     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1 &&
		     EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) == 1;
	}
	ok = ok && EVP_DigestVerify(ctx, sig, siglen, tok, t->signing_len) == 1;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : WA_JWT_BAD_SIGNATURE;
}

int wa_jwt_check_claims(const struct wa_jwt_token *t, int64_t now, int64_t leeway, char *detail, size_t cap)
{
	struct jfield f[2] = { { "exp", 0, 0 }, { "nbf", 0, 0 } };
	double exp, nbf;

	if (leeway < 0) leeway = 0;
	if (jdocument(t->payload, t->payloadlen, f, 2)) {
		snprintf(detail, cap, "claims are not a JSON object with distinct exp and nbf");
		return WA_JWT_MALFORMED;
	}
	if (f[0].v && jfield_number(&f[0], &exp)) {
		snprintf(detail, cap, "exp is not a number");
		return WA_JWT_MALFORMED;
	}
	if (f[1].v && jfield_number(&f[1], &nbf)) {
		snprintf(detail, cap, "nbf is not a number");
		return WA_JWT_MALFORMED;
	}
	if (f[0].v && (double)now >= exp + (double)leeway) {
		snprintf(detail, cap, "expired (now %lld, leeway %lld s)", (long long)now, (long long)leeway);
		return WA_JWT_EXPIRED;
	}
	if (f[1].v && (double)now + (double)leeway < nbf) {
		snprintf(detail, cap, "not yet valid (now %lld, leeway %lld s)", (long long)now, (long long)leeway);
		return WA_JWT_NOT_YET_VALID;
	}
	return 0;
}
