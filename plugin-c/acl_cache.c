/* The ACL decision cache (acl_cache.h). A hash table of clients by pointer (chained); each
 * client holds WA_ACL_CACHE_ENTRIES decisions in two-way sets (a pair of topics that share a set
 * does not evict each other on every call), indexed by a hash of topic and access. A slot is
 * compared in full (hash, access, length, bytes): a hash collision is a miss, never a wrong
 * decision. Memory: entries are fixed-size and the identity strings are
 * counted; past WA_ACL_CACHE_MAX_BYTES whole clients are evicted. */
#define _POSIX_C_SOURCE 200809L /* strnlen */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "acl_cache.h"
#include "limits.h"

#if (WA_ACL_CACHE_ENTRIES & (WA_ACL_CACHE_ENTRIES - 1u)) || (WA_ACL_CACHE_BUCKETS & (WA_ACL_CACHE_BUCKETS - 1u))
#error "WA_ACL_CACHE_ENTRIES and WA_ACL_CACHE_BUCKETS must be powers of two"
#endif
#if WA_ACL_CACHE_ENTRIES < 2u
#error "WA_ACL_CACHE_ENTRIES holds two-way sets: at least 2"
#endif

struct entry {
	uint32_t hash;
	uint16_t len;     /* topic bytes */
	uint8_t access;
	uint8_t state;    /* 0 empty, else 1 + enum wa_decision */
	char topic[WA_ACL_CACHE_TOPIC_BYTES];
};

struct client {
	struct client *next;  /* same bucket */
	const void *key;
	char *clientid;
	char *username;       /* NULL: no username */
	size_t bytes;         /* this block and its strings */
	struct entry e[WA_ACL_CACHE_ENTRIES];
};

struct wa_acl_cache {
	struct client *bucket[WA_ACL_CACHE_BUCKETS];
	size_t bytes;
	unsigned clients;
	unsigned sweep;       /* next bucket to evict from */
};

static unsigned bucket_of(const void *key)
{
	uintptr_t v = (uintptr_t)key;
	v ^= v >> 17;
	v *= (uintptr_t)0x9E3779B97F4A7C15ull;
	return (unsigned)(v >> 20) & (WA_ACL_CACHE_BUCKETS - 1u);
}

#define SETS (WA_ACL_CACHE_ENTRIES / 2u)

/* A multiplicative hash of the topic taken 8 bytes at a time (the last word overlaps the one
 * before it), its length and the access bits: a byte-wise hash cost more than the rest of a hit.
 * *len gets the topic length, WA_ACL_CACHE_TOPIC_BYTES or more when it is not cacheable. */
static uint32_t topic_hash(const char *topic, int access, size_t *len)
{
	size_t n = strnlen(topic, WA_ACL_CACHE_TOPIC_BYTES);
	uint64_t h = (uint64_t)n * 0x9E3779B97F4A7C15ull ^ (uint64_t)(unsigned)access;
	uint64_t w;
	size_t i = 0;

	*len = n;
	if (n < 8) {
		w = 0;
		memcpy(&w, topic, n);
		h = (h ^ w) * 0xFF51AFD7ED558CCDull;
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

static int entry_is(const struct entry *en, uint32_t h, int access, const char *topic, size_t len)
{
	return en->state && en->hash == h && en->access == (uint8_t)access && en->len == len &&
	       memcmp(en->topic, topic, len) == 0;
}

static int same_str(const char *a, const char *b)
{
	if (!a || !b) return a == b;
	return strcmp(a, b) == 0;
}

struct wa_acl_cache *wa_acl_cache_new(void)
{
	return calloc(1, sizeof(struct wa_acl_cache));
}

static void client_free(struct wa_acl_cache *c, struct client *cl)
{
	c->bytes -= cl->bytes;
	c->clients--;
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

int wa_acl_cache_get(struct wa_acl_cache *c, const void *client, const char *clientid, const char *username,
                     const char *topic, int access, enum wa_decision *d)
{
	struct client *cl = find(c, client);
	const struct entry *en;
	uint32_t h;
	size_t len;

	if (!cl || !same_str(cl->clientid, clientid) || !same_str(cl->username, username)) return 0;
	h = topic_hash(topic, access, &len);
	if (len >= WA_ACL_CACHE_TOPIC_BYTES) return 0;
	en = &cl->e[(h & (SETS - 1u)) * 2u];
	if (!entry_is(en, h, access, topic, len) && !entry_is(++en, h, access, topic, len)) return 0;
	*d = (enum wa_decision)(en->state - 1u);
	return 1;
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

/* Frees whole clients, sweeping the buckets, until need more bytes fit the cap. */
static void make_room(struct wa_acl_cache *c, size_t need)
{
	while (c->clients && c->bytes + need > WA_ACL_CACHE_MAX_BYTES) {
		struct client *cl = c->bucket[c->sweep];
		if (cl) {
			c->bucket[c->sweep] = cl->next;
			client_free(c, cl);
		} else {
			c->sweep = (c->sweep + 1u) & (WA_ACL_CACHE_BUCKETS - 1u);
		}
	}
}

/* A new client block holding this identity (the client's previous block, if any, is gone). */
static struct client *add(struct wa_acl_cache *c, const void *client, const char *clientid, const char *username)
{
	size_t need = sizeof(struct client) + (clientid ? strlen(clientid) + 1 : 0) + (username ? strlen(username) + 1 : 0);
	struct client *cl;
	unsigned b = bucket_of(client);

	if (need > WA_ACL_CACHE_MAX_BYTES) return NULL;
	make_room(c, need);
	cl = calloc(1, sizeof *cl);
	if (!cl) return NULL;
	cl->bytes = sizeof *cl;
	cl->key = client;
	cl->clientid = dup_or_null(clientid, &cl->bytes);
	cl->username = dup_or_null(username, &cl->bytes);
	if ((clientid && !cl->clientid) || (username && !cl->username)) {
		free(cl->clientid);
		free(cl->username);
		free(cl);
		return NULL;
	}
	cl->next = c->bucket[b];
	c->bucket[b] = cl;
	c->bytes += cl->bytes;
	c->clients++;
	return cl;
}

void wa_acl_cache_put(struct wa_acl_cache *c, const void *client, const char *clientid, const char *username,
                      const char *topic, int access, enum wa_decision d)
{
	struct client *cl;
	struct entry *en;
	uint32_t h;
	size_t len;

	h = topic_hash(topic, access, &len);
	if (len >= WA_ACL_CACHE_TOPIC_BYTES || access < 0 || access > UINT8_MAX) return;
	cl = find(c, client);
	if (cl && (!same_str(cl->clientid, clientid) || !same_str(cl->username, username))) {
		/* Decided for another identity (mosquitto_set_username, a reused pointer): start over. */
		wa_acl_cache_forget(c, client);
		cl = NULL;
	}
	if (!cl) cl = add(c, client, clientid, username);
	if (!cl) return;
	en = &cl->e[(h & (SETS - 1u)) * 2u];
	/* A new topic goes to way 0 and what was there moves to way 1 (the older one leaves). */
	if (!entry_is(&en[0], h, access, topic, len)) {
		if (entry_is(&en[1], h, access, topic, len)) {
			en = &en[1];
		} else if (en[0].state) {
			en[1] = en[0];
		}
	}
	en->hash = h;
	en->len = (uint16_t)len;
	en->access = (uint8_t)access;
	en->state = (uint8_t)(1u + (unsigned)d);
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
