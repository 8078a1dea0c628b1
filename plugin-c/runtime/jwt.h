/* JSON Web Tokens for jwt_verify (docs/ABI.md, "JWT"): compact JWS parsing, key files (PEM
 * public key or certificate, JWKS, raw HMAC secret) and the signature and time checks, with
 * libcrypto. Engine- and fuel-neutral: the host function (hostfns.c) sequences these steps and
 * charges each one's price (wa_jwt_price) before it runs. */
#ifndef WASM_AUTH_JWT_H
#define WASM_AUTH_JWT_H

#include <stddef.h>
#include <stdint.h>

#include "abi.h"
#include "wa_limits.h"

enum wa_jwt_alg {
	WA_JWT_HS256,
	WA_JWT_HS384,
	WA_JWT_HS512,
	WA_JWT_RS256,
	WA_JWT_RS384,
	WA_JWT_RS512,
	WA_JWT_PS256,
	WA_JWT_PS384,
	WA_JWT_PS512,
	WA_JWT_ES256,
	WA_JWT_ES384,
	WA_JWT_EDDSA,
	WA_JWT_ALG_COUNT
};

/* What a key is, which decides the algorithms it may verify: an HMAC secret only HS*, an RSA key
 * only RS* and PS*, a P-256 key only ES256, a P-384 key only ES384, an Ed25519 key only EdDSA. */
enum wa_jwt_kind { WA_JWK_OCT, WA_JWK_RSA, WA_JWK_P256, WA_JWK_P384, WA_JWK_ED25519 };

struct wa_jwt_keyset; /* opaque: the keys one key file holds */

/* A token split and decoded (wa_jwt_parse). The buffers hold the decoded parts. */
struct wa_jwt_token {
	enum wa_jwt_alg alg;
	int has_kid;
	size_t kidlen;
	char kid[WA_JWT_MAX_KID_BYTES];
	size_t signing_len; /* header.payload: the bytes the signature covers (a prefix of the token) */
	size_t payloadlen, siglen;
	uint8_t payload[WA_MAX_JWT_BYTES * 3 / 4];
	uint8_t sig[WA_JWT_MAX_SIG_BYTES];
};

/* The algorithm's name ("RS256"). */
const char *wa_jwt_alg_name(enum wa_jwt_alg alg);

/* Reads a key file's bytes: 0 with *out (free with wa_jwt_keyset_free), or -1 with detail
 * ("not a PEM public key or certificate (BEGIN PRIVATE KEY)"). keys: how many keys it held, for
 * the price of building them (WA_FUEL_JWT_KEY each), set on success and failure alike. */
int wa_jwt_keyset_parse(const uint8_t *data, size_t len, struct wa_jwt_keyset **out, unsigned *keys, char *detail,
                        size_t cap);
void wa_jwt_keyset_free(struct wa_jwt_keyset *ks);

/* Splits and decodes tok (at most WA_MAX_JWT_BYTES): 0, or WA_JWT_MALFORMED /
 * WA_JWT_UNSUPPORTED_ALG with detail. Linear in len; no cryptography. */
int wa_jwt_parse(const uint8_t *tok, size_t len, struct wa_jwt_token *t, char *detail, size_t cap);

/* The key that verifies t: the first key fitting t's alg (kind, and the JWK's alg if it has one)
 * whose kid equals t's, or that has no kid, or any fitting key when t has no kid. Index >= 0, or
 * WA_JWT_NO_KEY with detail. */
int wa_jwt_select(const struct wa_jwt_keyset *ks, const struct wa_jwt_token *t, char *detail, size_t cap);

/* Fuel for checking t's signature with key `key` of ks (WA_FUEL_JWT_* by algorithm and key size,
 * plus hashing the signed bytes). */
uint64_t wa_jwt_price(const struct wa_jwt_keyset *ks, int key, const struct wa_jwt_token *t);

/* 0 = the signature over tok[0, t->signing_len) verifies with that key; WA_JWT_BAD_SIGNATURE. */
int wa_jwt_check_signature(const struct wa_jwt_keyset *ks, int key, const struct wa_jwt_token *t, const uint8_t *tok);

/* The payload must be a JSON object whose exp and nbf, when present, are numbers: 0, or
 * WA_JWT_MALFORMED / WA_JWT_EXPIRED (now >= exp + leeway) / WA_JWT_NOT_YET_VALID
 * (now + leeway < nbf) with detail. now in seconds since the epoch. */
int wa_jwt_check_claims(const struct wa_jwt_token *t, int64_t now, int64_t leeway, char *detail, size_t cap);

#endif
