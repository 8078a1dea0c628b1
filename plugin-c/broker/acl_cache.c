/* The ACL decision cache (acl_cache.h). A hash table of clients by pointer (chained); each
 * client holds WA_ACL_CACHE_ENTRIES decisions in two-way sets (a pair of topics that share a set
 * does not evict each other on every call), indexed by a hash of topic and access. A slot is
 * compared in full (hash, access, length, bytes): a hash collision is a miss, never a wrong
 * decision. Memory: entries are fixed-size and the identity strings are
 * counted; past WA_ACL_CACHE_MAX_BYTES whole clients are evicted. Each client counts its hits
 * over a window of lookups and bypasses the cache while they are too rare to pay for the misses
 * (wa_limits.h, WA_ACL_CACHE_WINDOW). */
#define _POSIX_C_SOURCE 200809L /* strnlen */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "acl_cache.h"
#include "../runtime/grants.h"
#include "../runtime/short_str.h"
#include "../runtime/wa_limits.h"

#if (WA_ACL_CACHE_ENTRIES & (WA_ACL_CACHE_ENTRIES - 1u)) || (WA_ACL_CACHE_BUCKETS & (WA_ACL_CACHE_BUCKETS - 1u))
#error "WA_ACL_CACHE_ENTRIES and WA_ACL_CACHE_BUCKETS must be powers of two"
#endif
#if WA_ACL_CACHE_ENTRIES < 2u
#error "WA_ACL_CACHE_ENTRIES holds two-way sets: at least 2"
#endif

/* What a lookup compares before the topic bytes: eight bytes without padding, compared as one
 * word (memcmp of a constant size). */
struct key {
	uint32_t hash;
	uint16_t len; /* topic bytes */
	uint8_t access;
	uint8_t used; /* 0 empty, 1 filled */
};
_Static_assert(sizeof(struct key) == 8, "struct key has no padding");

struct entry {
	struct key k;
	uint8_t decision; /* enum wa_decision */
	char topic[WA_ACL_CACHE_TOPIC_BYTES];
};

struct client {
	struct client *next; /* same bucket */
	const void *key;
	char *clientid;
	char *username;                     /* NULL: no username */
	struct wa_short id_head, user_head; /* both, terminator included, when short (same_client) */
	unsigned short_ident;               /* 0, or 1 + whether it has a username: both heads hold all */
	size_t bytes;                       /* this block and its strings */
	uint32_t lookups;                   /* in the current window */
	uint32_t misses;
	uint32_t bypass;          /* checks left that skip the cache */
	uint32_t bypass_next;     /* length of the next bypass */
	struct wa_grants *grants; /* NULL: not asked for (grants.h) */
	struct entry *e;          /* WA_ACL_CACHE_ENTRIES, allocated at the first store */
};

struct wa_acl_cache {
	struct client *bucket[WA_ACL_CACHE_BUCKETS];
	size_t bytes;
	unsigned clients;
	unsigned sweep;      /* next bucket to evict from */
	unsigned generation; /* moves whenever a client block is freed (a key's owner may be gone) */
	unsigned min_hit_percent;
};

static unsigned bucket_of(const void *key)
{
	uintptr_t v = (uintptr_t)key;
	v ^= v >> 17;
	v *= (uintptr_t)0x9E3779B97F4A7C15ull;
	return (unsigned)(v >> 20) & (WA_ACL_CACHE_BUCKETS - 1u);
}

#define SETS (WA_ACL_CACHE_ENTRIES / 2u)

/* Bytes [s, s + n) for n < 8 folded into a word, reading exactly those bytes (no libc call for
 * a size known only at run time). Two different strings may fold alike (the 4-byte halves
 * overlap): for hashing only. */
static inline uint64_t fold_short(const char *s, size_t n)
{
	uint32_t a, b;

	if (n >= 4) {
		memcpy(&a, s, 4);
		memcpy(&b, s + n - 4, 4);
		return a | (uint64_t)b << 32;
	}
	if (n == 0) return 0;
	return (uint64_t)(unsigned char)s[0] | (uint64_t)(unsigned char)s[n / 2] << 8 |
	       (uint64_t)(unsigned char)s[n - 1] << 16;
}

/* Whether [a, a + n) and [b, b + n) hold the same bytes: short ones compared a word or two at a
 * time (overlapping loads cover every byte), longer ones by memcmp. */
static inline int same_bytes(const char *a, const char *b, size_t n)
{
	if (n >= 8 && n <= 16) {
		uint64_t a0, a1, b0, b1;
		memcpy(&a0, a, 8);
		memcpy(&a1, a + n - 8, 8);
		memcpy(&b0, b, 8);
		memcpy(&b1, b + n - 8, 8);
		return ((a0 ^ b0) | (a1 ^ b1)) == 0;
	}
	if (n >= 4 && n < 8) {
		uint32_t a0, a1, b0, b1;
		memcpy(&a0, a, 4);
		memcpy(&a1, a + n - 4, 4);
		memcpy(&b0, b, 4);
		memcpy(&b1, b + n - 4, 4);
		return ((a0 ^ b0) | (a1 ^ b1)) == 0;
	}
	if (n > 16) return memcmp(a, b, n) == 0;
	/* n < 4: bytes 0, n / 2 and n - 1 are all of them */
	return n == 0 || (a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1]);
}

/* A multiplicative hash of the topic taken 8 bytes at a time (the last word overlaps the one
 * before it), its length and the access bits: a byte-wise hash cost more than the rest of a hit.
 * *len gets the topic length, WA_ACL_CACHE_TOPIC_BYTES or more when it is not cacheable. */
static inline uint32_t topic_hash(const char *topic, int access, size_t *len)
{
	size_t n = strnlen(topic, WA_ACL_CACHE_TOPIC_BYTES);
	uint64_t h = (uint64_t)n * 0x9E3779B97F4A7C15ull ^ (uint64_t)(unsigned)access;
	uint64_t w;
	size_t i = 0;

	*len = n;
	if (n < 8) {
		h = (h ^ fold_short(topic, n)) * 0xFF51AFD7ED558CCDull;
	} else {
		for (; i + 8 < n; i += 8) {
			memcpy(&w, topic + i, 8);
			h = (h ^ w) * 0xFF51AFD7ED558CCDull;
		}
		memcpy(&w, topic + n - 8, 8);
		h = (h ^ w) * 0xFF51AFD7ED558CCDull;
	}
	/* A product's low bits depend only on its operands' low bits: fold the high half down. */
	h ^= h >> 29;
	h *= 0xBF58476D1CE4E5B9ull;
	h ^= h >> 32;
	return (uint32_t)h;
}

/* The key a filled entry for (h, access, len) has. len < WA_ACL_CACHE_TOPIC_BYTES and access
 * fits 8 bits (checked by the callers). */
static inline struct key key_of(uint32_t h, int access, size_t len)
{
	struct key k = { h, (uint16_t)len, (uint8_t)access, 1 };
	return k;
}

static inline int entry_is(const struct entry *en, const struct key *k, const char *topic)
{
	return memcmp(&en->k, k, sizeof *k) == 0 && same_bytes(en->topic, topic, k->len);
}

/* Whether the broker's string s is ours (NULL is only NULL); head: ours, when short. */
static inline int same_ident(const char *ours, const struct wa_short *head, const char *s)
{
	int r;

	if (!ours || !s) return ours == s;
	r = wa_short_eq(s, head);
	return r >= 0 ? r : strcmp(ours, s) == 0;
}

/* Whether cl was made for this identity: both strings in one compare when short (a missing
 * username has an empty mask, so the client id's bytes stand in for it). */
static inline int same_client(const struct client *cl, const char *clientid, const char *username)
{
	const char *u = username ? username : clientid;

	if (cl->short_ident == 1u + (username != NULL) && clientid && wa_short_loadable(clientid) &&
	    wa_short_loadable(u))
		return (wa_short_diff(clientid, &cl->id_head) | wa_short_diff(u, &cl->user_head)) == 0;
	return same_ident(cl->clientid, &cl->id_head, clientid) && same_ident(cl->username, &cl->user_head, username);
}

struct wa_acl_cache *wa_acl_cache_new(unsigned min_hit_percent)
{
	struct wa_acl_cache *c = calloc(1, sizeof *c);

	if (c) {
		c->generation = 1;
		c->min_hit_percent = min_hit_percent;
	}
	return c;
}

static void client_free(struct wa_acl_cache *c, struct client *cl)
{
	if (++c->generation == 0) c->generation = 1;
	c->bytes -= cl->bytes;
	c->clients--;
	wa_grants_free(cl->grants);
	free(cl->e);
	free(cl->clientid);
	free(cl->username);
	free(cl);
}

void wa_acl_cache_clear(struct wa_acl_cache *c)
{
	if (!c) return;
	for (unsigned b = 0; b < WA_ACL_CACHE_BUCKETS; b++) {
		while (c->bucket[b]) {
			struct client *cl = c->bucket[b];
			c->bucket[b] = cl->next;
			client_free(c, cl);
		}
	}
}

void wa_acl_cache_free(struct wa_acl_cache *c)
{
	wa_acl_cache_clear(c);
	free(c);
}

int wa_acl_cache_gate(struct wa_acl_cache_gate *g, uint64_t now_ms, uint64_t hits, uint64_t asked,
                      unsigned min_hit_percent)
{
	uint64_t h = hits - g->hits, n = asked - g->asked;

	if (g->off_until_ms) {
		if (now_ms < g->off_until_ms) return 0;
		g->off_until_ms = 0; /* consulted again: the next verdict judges from here */
		g->hits = hits;
		g->asked = asked;
		return 1;
	}
	if (n < WA_ACL_CACHE_JUDGE_LOOKUPS) return 1;
	if (!g->off_ms) g->off_ms = WA_ACL_CACHE_OFF_MIN_MS;
	g->hits = hits;
	g->asked = asked;
	if (h * 100u >= n * min_hit_percent) {
		g->off_ms = WA_ACL_CACHE_OFF_MIN_MS;
		return 1;
	}
	g->off_until_ms = now_ms + g->off_ms;
	if (g->off_ms < WA_ACL_CACHE_OFF_MAX_MS) g->off_ms *= 2u;
	return 0;
}

static struct client *find(struct wa_acl_cache *c, const void *client)
{
	for (struct client *cl = c->bucket[bucket_of(client)]; cl; cl = cl->next) {
		if (cl->key == client) return cl;
	}
	return NULL;
}

void wa_acl_cache_forget(struct wa_acl_cache *c, const void *client)
{
	struct client **pp = &c->bucket[bucket_of(client)];

	for (; *pp; pp = &(*pp)->next) {
		if ((*pp)->key == client) {
			struct client *cl = *pp;
			*pp = cl->next;
			client_free(c, cl);
			return;
		}
	}
}

/* The end of cl's window of lookups: starts a bypass if hits were too rare. Returns whether cl
 * now bypasses the cache. */
static int end_window(const struct wa_acl_cache *c, struct client *cl)
{
	int bypass = (WA_ACL_CACHE_WINDOW - cl->misses) * 100u < c->min_hit_percent * WA_ACL_CACHE_WINDOW;

	if (bypass) {
		cl->bypass = cl->bypass_next;
		if (cl->bypass_next < WA_ACL_CACHE_BYPASS_MAX) cl->bypass_next *= 2u;
	} else {
		cl->bypass_next = WA_ACL_CACHE_BYPASS_MIN;
	}
	cl->lookups = cl->misses = 0;
	return bypass;
}

enum wa_acl_lookup wa_acl_cache_get(struct wa_acl_cache *c, const void *client, const char *clientid,
                                    const char *username, const char *topic, int access, enum wa_decision *d,
                                    struct wa_acl_miss *m)
{
	struct client *cl = find(c, client);
	const struct entry *en;
	struct key k;
	uint32_t h;
	size_t len;

	if (cl && cl->bypass) {
		cl->bypass--;
		return WA_ACL_BYPASS;
	}
	h = topic_hash(topic, access, &len);
	if (len >= WA_ACL_CACHE_TOPIC_BYTES || access < 0 || access > UINT8_MAX) return WA_ACL_BYPASS;
	if (cl && !same_client(cl, clientid, username)) cl = NULL;
	if (cl && cl->e) {
		k = key_of(h, access, len);
		en = &cl->e[(h & (SETS - 1u)) * 2u];
		if (entry_is(en, &k, topic) || entry_is(++en, &k, topic)) {
			if (++cl->lookups == WA_ACL_CACHE_WINDOW) end_window(c, cl);
			*d = (enum wa_decision)en->decision;
			return WA_ACL_HIT;
		}
		cl->misses++;
		if (++cl->lookups == WA_ACL_CACHE_WINDOW && end_window(c, cl)) return WA_ACL_BYPASS;
	}
	m->owner = cl;
	m->hash = h;
	m->len = (uint32_t)len;
	m->generation = c->generation;
	return WA_ACL_MISS;
}

static char *dup_or_null(const char *s, size_t *bytes)
{
	char *r;
	size_t n;

	if (!s) return NULL;
	n = strlen(s) + 1;
	r = malloc(n);
	if (r) {
		memcpy(r, s, n);
		*bytes += n;
	}
	return r;
}

static void unlink_client(struct wa_acl_cache *c, const struct client *cl)
{
	struct client **pp = &c->bucket[bucket_of(cl->key)];

	while (*pp != cl) pp = &(*pp)->next;
	*pp = cl->next;
}

static void link_client(struct wa_acl_cache *c, struct client *cl)
{
	unsigned b = bucket_of(cl->key);

	cl->next = c->bucket[b];
	c->bucket[b] = cl;
}

/* Frees whole clients, sweeping the buckets, until need more bytes fit the cap; never keep (a
 * client about to grow, or NULL). Returns whether they fit. */
static int make_room(struct wa_acl_cache *c, size_t need, struct client *keep)
{
	int fits;

	if (c->bytes + need <= WA_ACL_CACHE_MAX_BYTES) return 1;
	if (keep) unlink_client(c, keep);
	while (c->clients > (keep ? 1u : 0u) && c->bytes + need > WA_ACL_CACHE_MAX_BYTES) {
		struct client *cl = c->bucket[c->sweep];
		if (cl) {
			c->bucket[c->sweep] = cl->next;
			client_free(c, cl);
		} else {
			c->sweep = (c->sweep + 1u) & (WA_ACL_CACHE_BUCKETS - 1u);
		}
	}
	fits = c->bytes + need <= WA_ACL_CACHE_MAX_BYTES;
	if (keep) link_client(c, keep);
	return fits;
}

/* A new client block holding this identity (the client's previous block, if any, is gone). */
static struct client *add(struct wa_acl_cache *c, const void *client, const char *clientid, const char *username)
{
	size_t need =
	    sizeof(struct client) + (clientid ? strlen(clientid) + 1 : 0) + (username ? strlen(username) + 1 : 0);
	struct client *cl;

	if (need > WA_ACL_CACHE_MAX_BYTES) return NULL;
	if (!make_room(c, need, NULL)) return NULL;
	cl = calloc(1, sizeof *cl);
	if (!cl) return NULL;
	cl->bytes = sizeof *cl;
	cl->bypass_next = WA_ACL_CACHE_BYPASS_MIN;
	cl->key = client;
	cl->clientid = dup_or_null(clientid, &cl->bytes);
	cl->username = dup_or_null(username, &cl->bytes);
	if ((clientid && !cl->clientid) || (username && !cl->username)) {
		free(cl->clientid);
		free(cl->username);
		free(cl);
		return NULL;
	}
	if (clientid) wa_short_set(&cl->id_head, clientid, strlen(clientid) + 1u);
	if (username) wa_short_set(&cl->user_head, username, strlen(username) + 1u);
	if (cl->id_head.m[0] && (!username || cl->user_head.m[0])) cl->short_ident = 1u + (username != NULL);
	link_client(c, cl);
	c->bytes += cl->bytes;
	c->clients++;
	return cl;
}

/* A client's entries, allocated at its first store (a client whose grants decide every check
 * never needs them). NULL when memory is short. */
static struct entry *new_entries(struct wa_acl_cache *c, struct client *cl)
{
	const size_t size = WA_ACL_CACHE_ENTRIES * sizeof(struct entry);
	struct entry *e;

	if (!make_room(c, size, cl)) return NULL;
	e = calloc(WA_ACL_CACHE_ENTRIES, sizeof *e);
	if (e) {
		cl->bytes += size;
		c->bytes += size;
	}
	return e;
}

const struct wa_grants *wa_acl_cache_grants(struct wa_acl_cache *c, const void *client, const char *clientid,
                                            const char *username)
{
	struct client *cl = find(c, client);

	if (!cl || !cl->grants || !same_client(cl, clientid, username)) return NULL;
	return cl->grants;
}

const struct wa_grants *wa_acl_cache_set_grants(struct wa_acl_cache *c, const void *client, const char *clientid,
                                                const char *username, struct wa_grants *g)
{
	struct client *cl = find(c, client);
	size_t size = wa_grants_bytes(g);

	if (cl && !same_client(cl, clientid, username)) {
		wa_acl_cache_forget(c, client);
		cl = NULL;
	}
	if (!cl) cl = add(c, client, clientid, username);
	if (!cl || !make_room(c, size, cl)) {
		wa_grants_free(g);
		return NULL;
	}
	if (cl->grants) {
		cl->bytes -= wa_grants_bytes(cl->grants);
		c->bytes -= wa_grants_bytes(cl->grants);
		wa_grants_free(cl->grants);
	}
	cl->grants = g;
	cl->bytes += size;
	c->bytes += size;
	return g;
}

void wa_acl_cache_put(struct wa_acl_cache *c, const void *client, const char *clientid, const char *username,
                      const char *topic, int access, enum wa_decision d, const struct wa_acl_miss *m)
{
	struct client *cl = NULL;
	struct entry *en;
	struct key k;
	uint32_t h;
	size_t len;

	if (m && m->generation == c->generation) {
		cl = m->owner;
		h = m->hash;
		len = m->len;
	} else {
		h = topic_hash(topic, access, &len);
		if (len >= WA_ACL_CACHE_TOPIC_BYTES || access < 0 || access > UINT8_MAX) return;
	}
	if (!cl) {
		cl = find(c, client);
		if (cl && !same_client(cl, clientid, username)) {
			/* Decided for another identity (mosquitto_set_username, a reused pointer): start over. */
			wa_acl_cache_forget(c, client);
			cl = NULL;
		}
		if (!cl) cl = add(c, client, clientid, username);
		if (!cl) return;
	}
	if (!cl->e && !(cl->e = new_entries(c, cl))) return;
	k = key_of(h, access, len);
	en = &cl->e[(h & (SETS - 1u)) * 2u];
	/* A new topic goes to way 0 and what was there moves to way 1 (the older one leaves). */
	if (!entry_is(&en[0], &k, topic)) {
		if (entry_is(&en[1], &k, topic)) {
			en = &en[1];
		} else if (en[0].k.used) {
			en[1] = en[0];
		}
	}
	en->k = k;
	en->decision = (uint8_t)d;
	memcpy(en->topic, topic, len);
}

size_t wa_acl_cache_bytes(const struct wa_acl_cache *c)
{
	return c->bytes;
}

unsigned wa_acl_cache_clients(const struct wa_acl_cache *c)
{
	return c->clients;
}
