/* Comparing a string the broker owns (a client id, a username, a topic) with a short one we keep,
 * without a call and without measuring theirs first: the hot path of every ACL check decided by
 * grants compares two identities and a topic prefix, and a call to strcmp or strlen costs more
 * than the compare itself.
 *
 * Sixteen bytes of theirs are loaded at once when that stays inside their memory page, as libc's
 * own string functions do: a load inside a mapped page cannot fault, whatever follows the string.
 * Bytes past their terminator are loaded but never decide: the mask covers only bytes of ours
 * (with our terminator when the whole string must be equal), and a shorter string of theirs
 * differs from ours at its own terminator. The sanitizers are told (these loads are meant). */
#ifndef WASM_AUTH_SHORT_STR_H
#define WASM_AUTH_SHORT_STR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define WA_SHORT_BYTES 16u
#define WA_SHORT_PAGE  4096u /* the smallest page of any supported platform */

/* Up to WA_SHORT_BYTES bytes to compare, zero-padded, and which of them count (0xFF bytes). A
 * zero mask: too long, compared another way. */
struct wa_short {
	uint64_t w[2];
	uint64_t m[2];
};

/* One unaligned load that does not alias anything else (and that the sanitizers leave alone). */
typedef uint64_t __attribute__((may_alias, aligned(1))) wa_short_word;

/* Keeps s[0, n) (n <= WA_SHORT_BYTES, else an empty mask). */
static inline void wa_short_set(struct wa_short *k, const char *s, size_t n)
{
	unsigned char b[WA_SHORT_BYTES] = { 0 }, m[WA_SHORT_BYTES] = { 0 };

	if (n <= WA_SHORT_BYTES) {
		memcpy(b, s, n);
		memset(m, 0xFF, n);
	}
	memcpy(k->w, b, sizeof b);
	memcpy(k->m, m, sizeof m);
}

/* Whether sixteen bytes from s stay inside s's page. */
static inline int wa_short_loadable(const char *s)
{
	return ((uintptr_t)s & (WA_SHORT_PAGE - 1u)) <= WA_SHORT_PAGE - WA_SHORT_BYTES;
}

/* Zero when s holds k's bytes where k's mask says; s is wa_short_loadable. */
__attribute__((no_sanitize_address)) static inline uint64_t wa_short_diff(const char *s, const struct wa_short *k)
{
	return ((*(const wa_short_word *)s ^ k->w[0]) & k->m[0]) |
	       ((*(const wa_short_word *)(s + 8) ^ k->w[1]) & k->m[1]);
}

/* 1: theirs holds k's bytes where k's mask says; 0: it does not; -1: not compared (k is empty,
 * or sixteen bytes from s would cross a page). */
static inline int wa_short_eq(const char *s, const struct wa_short *k)
{
	if (!k->m[0] || !wa_short_loadable(s)) return -1;
	return wa_short_diff(s, k) == 0;
}

#endif
