/* The ACL decision cache: hits, misses, slot collisions, the topic cap, identity changes,
 * invalidation and the memory cap. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS (page_edge.h) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../broker/acl_cache.h"
#include "../runtime/wa_limits.h"
#include "check.h"
#include "page_edge.h"

static int a, b; /* two distinct client pointers */

static int get(struct wa_acl_cache *c, const void *client, const char *clientid, const char *username,
               const char *topic, int access, enum wa_decision *d)
{
	struct wa_acl_miss m;
	return wa_acl_cache_get(c, client, clientid, username, topic, access, d, &m) == WA_ACL_HIT;
}

/* A store without a lookup before it (the cache hashes and finds the client itself). */
static void put(struct wa_acl_cache *c, const void *client, const char *clientid, const char *username,
                const char *topic, int access, enum wa_decision d)
{
	wa_acl_cache_put(c, client, clientid, username, topic, access, d, NULL);
}

/* The plugin's sequence: a lookup, then on a miss the store of the same key. */
static int check(struct wa_acl_cache *c, const void *client, const char *topic, enum wa_decision decided,
                 enum wa_decision *d)
{
	struct wa_acl_miss m;
	switch (wa_acl_cache_get(c, client, "c", "u", topic, 1, d, &m)) {
		case WA_ACL_HIT: return 1;
		case WA_ACL_MISS: wa_acl_cache_put(c, client, "c", "u", topic, 1, decided, &m); break;
		case WA_ACL_BYPASS: break;
	}
	*d = decided;
	return 0;
}

static void test_hit_miss(void)
{
	struct wa_acl_cache *c = wa_acl_cache_new(0);
	enum wa_decision d = WA_DEFER;

	CHECK(!get(c, &a, "c1", "u1", "t/1", 1, &d));
	put(c, &a, "c1", "u1", "t/1", 1, WA_ALLOW);
	CHECK(get(c, &a, "c1", "u1", "t/1", 1, &d));
	CHECK_INT(d, WA_ALLOW);
	/* another access, topic, or client: a miss */
	CHECK(!get(c, &a, "c1", "u1", "t/1", 2, &d));
	CHECK(!get(c, &a, "c1", "u1", "t/2", 1, &d));
	CHECK(!get(c, &a, "c1", "u1", "t/1x", 1, &d));
	CHECK(!get(c, &b, "c1", "u1", "t/1", 1, &d));
	put(c, &a, "c1", "u1", "t/1", 2, WA_DENY);
	CHECK(get(c, &a, "c1", "u1", "t/1", 2, &d));
	CHECK_INT(d, WA_DENY);
	put(c, &a, "c1", "u1", "t/3", 4, WA_DEFER);
	CHECK(get(c, &a, "c1", "u1", "t/3", 4, &d));
	CHECK_INT(d, WA_DEFER);
	CHECK_INT(wa_acl_cache_clients(c), 1);
	wa_acl_cache_free(c);
}

/* More topics than slots: every hit is right, and some earlier entries were overwritten. */
static void test_collision(void)
{
	struct wa_acl_cache *c = wa_acl_cache_new(0);
	enum wa_decision d;
	char t[32];
	unsigned hits = 0, n = WA_ACL_CACHE_ENTRIES * 4u;

	for (unsigned i = 0; i < n; i++) {
		snprintf(t, sizeof t, "t/%u", i);
		put(c, &a, "c", "u", t, 1, (i % 3u) ? WA_ALLOW : WA_DENY);
	}
	for (unsigned i = 0; i < n; i++) {
		snprintf(t, sizeof t, "t/%u", i);
		if (get(c, &a, "c", "u", t, 1, &d)) {
			hits++;
			CHECK_INT(d, (i % 3u) ? WA_ALLOW : WA_DENY);
		}
	}
	CHECK(hits > 0);
	CHECK(hits <= WA_ACL_CACHE_ENTRIES);
	CHECK(hits < n);
	wa_acl_cache_free(c);
}

static void test_long_topic(void)
{
	struct wa_acl_cache *c = wa_acl_cache_new(0);
	enum wa_decision d;
	char t[WA_ACL_CACHE_TOPIC_BYTES + 2];

	memset(t, 'x', sizeof t - 1);
	t[sizeof t - 1] = '\0';
	put(c, &a, "c", "u", t, 1, WA_ALLOW);
	CHECK(!get(c, &a, "c", "u", t, 1, &d));
	t[WA_ACL_CACHE_TOPIC_BYTES] = '\0'; /* exactly the cap: still not cached */
	put(c, &a, "c", "u", t, 1, WA_ALLOW);
	CHECK(!get(c, &a, "c", "u", t, 1, &d));
	t[WA_ACL_CACHE_TOPIC_BYTES - 1] = '\0'; /* one below: cached */
	put(c, &a, "c", "u", t, 1, WA_ALLOW);
	CHECK(get(c, &a, "c", "u", t, 1, &d));
	CHECK_INT(d, WA_ALLOW);
	/* a longer topic sharing that prefix is not taken for it */
	t[WA_ACL_CACHE_TOPIC_BYTES - 1] = 'x';
	CHECK(!get(c, &a, "c", "u", t, 1, &d));
	wa_acl_cache_free(c);
}

static void test_invalidate(void)
{
	struct wa_acl_cache *c = wa_acl_cache_new(0);
	enum wa_decision d;

	put(c, &a, "ca", "u", "t", 1, WA_ALLOW);
	put(c, &b, "cb", "u", "t", 1, WA_ALLOW);
	CHECK_INT(wa_acl_cache_clients(c), 2);
	wa_acl_cache_forget(c, &a);
	CHECK(!get(c, &a, "ca", "u", "t", 1, &d));
	CHECK(get(c, &b, "cb", "u", "t", 1, &d));
	CHECK_INT(wa_acl_cache_clients(c), 1);
	wa_acl_cache_forget(c, &a); /* unknown client: nothing happens */
	put(c, &a, "ca", "u", "t", 1, WA_ALLOW);
	wa_acl_cache_clear(c);
	CHECK(!get(c, &a, "ca", "u", "t", 1, &d));
	CHECK(!get(c, &b, "cb", "u", "t", 1, &d));
	CHECK_INT(wa_acl_cache_clients(c), 0);
	CHECK_INT(wa_acl_cache_bytes(c), 0);
	wa_acl_cache_free(c);
}

/* Same client pointer, another username or client id: the old decisions do not apply. */
static void test_identity(void)
{
	struct wa_acl_cache *c = wa_acl_cache_new(0);
	enum wa_decision d;

	put(c, &a, "c", "alice", "t", 1, WA_ALLOW);
	CHECK(!get(c, &a, "c", "bob", "t", 1, &d));
	CHECK(!get(c, &a, "c", NULL, "t", 1, &d));
	CHECK(!get(c, &a, "c2", "alice", "t", 1, &d));
	put(c, &a, "c", "bob", "t", 1, WA_DENY);
	CHECK(get(c, &a, "c", "bob", "t", 1, &d));
	CHECK_INT(d, WA_DENY);
	CHECK(!get(c, &a, "c", "alice", "t", 1, &d));
	put(c, &a, "c", NULL, "t", 1, WA_ALLOW);
	CHECK(get(c, &a, "c", NULL, "t", 1, &d));
	CHECK(!get(c, &a, "c", "", "t", 1, &d));
	CHECK_INT(wa_acl_cache_clients(c), 1);
	wa_acl_cache_free(c);
}

/* The identity compare loads sixteen bytes of the broker's strings at once (short_str.h): ids
 * and usernames of every length up to 20, each also ending at the end of a readable page (a load
 * past it would fault), found for the same bytes and never for one byte different or shorter. */
static void test_identity_lengths(void)
{
	struct wa_acl_cache *c = wa_acl_cache_new(0);
	char *pages = page_edge_new();
	char id[24], other[24];
	enum wa_decision d;

	if (!CHECK(c && pages)) goto out;
	for (size_t n = 0; n <= 20; n++) {
		for (size_t i = 0; i < n; i++) id[i] = (char)('a' + (n + i) % 26u);
		id[n] = '\0';
		wa_acl_cache_forget(c, &a);
		put(c, &a, id, id, "t", 1, WA_ALLOW);
		memcpy(other, id, n + 1u);
		CHECK(get(c, &a, other, other, "t", 1, &d));
		CHECK(get(c, &a, page_edge_put(pages, id), id, "t", 1, &d));
		CHECK(get(c, &a, id, page_edge_put(pages, id), "t", 1, &d));
		for (size_t i = 0; i <= n; i++) {
			memcpy(other, id, n + 1u);
			other[i] = i == n ? 'x' : '_'; /* one byte different, or one longer */
			other[n + 1u] = '\0';
			if (!CHECK(!get(c, &a, other, id, "t", 1, &d)) || !CHECK(!get(c, &a, id, other, "t", 1, &d)) ||
			    !CHECK(!get(c, &a, page_edge_put(pages, other), id, "t", 1, &d)) ||
			    !CHECK(!get(c, &a, id, page_edge_put(pages, other), "t", 1, &d))) {
				fprintf(stderr, "  id %s matched %s\n", id, other);
			}
		}
		if (n) {
			memcpy(other, id, n);
			other[n - 1u] = '\0'; /* one shorter */
			CHECK(!get(c, &a, other, id, "t", 1, &d));
			CHECK(!get(c, &a, id, other, "t", 1, &d));
			CHECK(!get(c, &a, page_edge_put(pages, other), id, "t", 1, &d));
			CHECK(!get(c, &a, id, page_edge_put(pages, other), "t", 1, &d));
		}
	}
out:
	page_edge_free(pages);
	wa_acl_cache_free(c);
}

/* Many clients: memory stays under the cap, whole clients are evicted, no wrong decision. */
static void test_memory_cap(void)
{
	struct wa_acl_cache *c = wa_acl_cache_new(0);
	static char keys[8192];
	enum wa_decision d;
	unsigned hits = 0;

	for (unsigned i = 0; i < sizeof keys; i++) {
		put(c, &keys[i], "c", "u", "t", 1, (i & 1u) ? WA_ALLOW : WA_DENY);
		CHECK(wa_acl_cache_bytes(c) <= WA_ACL_CACHE_MAX_BYTES);
	}
	CHECK(wa_acl_cache_clients(c) < sizeof keys);
	for (unsigned i = 0; i < sizeof keys; i++) {
		if (get(c, &keys[i], "c", "u", "t", 1, &d)) {
			hits++;
			if (d != ((i & 1u) ? WA_ALLOW : WA_DENY)) CHECK(!"wrong decision after eviction");
		}
	}
	CHECK_INT(hits, wa_acl_cache_clients(c));
	wa_acl_cache_free(c);
}

/* Topics of every length the compare and hash treat differently (0-3, 4-7, 8-16, longer), each
 * in a heap block of exactly its size (ASan sees any read past it): a hit for the same bytes,
 * no hit for a topic one byte different at any position. */
static void test_topic_lengths(void)
{
	struct wa_acl_cache *c = wa_acl_cache_new(0);
	enum wa_decision d;

	for (size_t n = 0; n <= 40; n++) {
		char *t = malloc(n + 1), *q = malloc(n + 1);
		if (!CHECK(t && q)) {
			free(t);
			free(q);
			break;
		}
		for (size_t i = 0; i < n; i++) t[i] = (char)('a' + (n + i) % 26u);
		t[n] = '\0';
		put(c, &a, "c", "u", t, 1, (n & 1u) ? WA_ALLOW : WA_DENY);
		memcpy(q, t, n + 1);
		d = WA_DEFER;
		CHECK(get(c, &a, "c", "u", q, 1, &d));
		CHECK_INT(d, (n & 1u) ? WA_ALLOW : WA_DENY);
		for (size_t i = 0; i < n; i++) {
			q[i] = 'Z';
			CHECK(!get(c, &a, "c", "u", q, 1, &d));
			q[i] = t[i];
		}
		free(t);
		free(q);
	}
	wa_acl_cache_free(c);
}

/* A store after its lookup reuses the lookup's work, also for a new client and after the
 * client's block was freed in between (the stale owner is not used). */
static void test_lookup_then_store(void)
{
	struct wa_acl_cache *c = wa_acl_cache_new(0);
	struct wa_acl_miss m;
	enum wa_decision d;

	CHECK(!check(c, &a, "t/1", WA_ALLOW, &d));
	CHECK(check(c, &a, "t/1", WA_DENY, &d));
	CHECK_INT(d, WA_ALLOW);
	CHECK_INT(wa_acl_cache_get(c, &a, "c", "u", "t/1", 1, &d, &m), WA_ACL_HIT);
	CHECK_INT(d, WA_ALLOW);
	CHECK_INT(wa_acl_cache_get(c, &a, "c", "u", "t/2", 1, &d, &m), WA_ACL_MISS);
	wa_acl_cache_clear(c); /* between lookup and store: the block m points at is gone */
	wa_acl_cache_put(c, &a, "c", "u", "t/2", 1, WA_DENY, &m);
	CHECK(get(c, &a, "c", "u", "t/2", 1, &d));
	CHECK_INT(d, WA_DENY);
	CHECK_INT(wa_acl_cache_clients(c), 1);
	wa_acl_cache_free(c);
}

/* A client cycling through more topics than it has entries stops using the cache; one whose
 * topics fit keeps it; after the bypass the cache is tried again; decisions stay right. */
static void test_bypass(void)
{
	struct wa_acl_cache *c = wa_acl_cache_new(WA_ACL_CACHE_MIN_HIT_PERCENT);
	unsigned n = WA_ACL_CACHE_ENTRIES * 4u, hits = 0, calls = WA_ACL_CACHE_WINDOW * 40u;
	enum wa_decision d;
	size_t bytes;
	char t[32];

	for (unsigned i = 0; i < calls; i++) {
		snprintf(t, sizeof t, "t/%u", i % n);
		hits += (unsigned)check(c, &a, t, (i % n) & 1u ? WA_ALLOW : WA_DENY, &d);
		CHECK_INT(d, (i % n) & 1u ? WA_ALLOW : WA_DENY);
	}
	CHECK(hits < calls / 10u);
	/* Bypassing: the client's entries no longer change and nothing new is stored. */
	bytes = wa_acl_cache_bytes(c);
	CHECK(!check(c, &a, "fresh", WA_ALLOW, &d));
	CHECK(!get(c, &a, "c", "u", "fresh", 1, &d));
	CHECK_INT(wa_acl_cache_bytes(c), bytes);
	/* Another client with few topics hits on nearly every lookup. */
	hits = 0;
	for (unsigned i = 0; i < calls; i++) {
		snprintf(t, sizeof t, "t/%u", i % 4u);
		hits += (unsigned)check(c, &b, t, WA_ALLOW, &d);
	}
	CHECK_INT(hits, calls - 4u);
	/* After the bypass (BYPASS_MIN checks) the first client is looked up again. */
	for (unsigned i = 0; i < WA_ACL_CACHE_BYPASS_MIN * 4u; i++) check(c, &a, "same", WA_ALLOW, &d);
	CHECK(check(c, &a, "same", WA_DENY, &d));
	CHECK_INT(d, WA_ALLOW);
	wa_acl_cache_free(c);
}

/* The whole cache set aside while its lookups hit too rarely: for OFF_MIN_MS, doubling up to
 * OFF_MAX_MS while that stays so, back to OFF_MIN_MS after a verdict that it pays. */
static void test_gate(void)
{
	struct wa_acl_cache_gate g = { 0 };
	const uint64_t n = WA_ACL_CACHE_JUDGE_LOOKUPS;
	uint64_t hits = 0, asked = 0, now = 1000, off = WA_ACL_CACHE_OFF_MIN_MS;

	/* Too few lookups for a verdict, however they went. */
	asked += n - 1u;
	CHECK_INT(wa_acl_cache_gate(&g, now, hits, asked, 25), 1);
	/* Exactly the threshold rate pays; one hit fewer does not. */
	hits += n / 4u;
	asked += 1u;
	CHECK_INT(wa_acl_cache_gate(&g, now, hits, asked, 25), 1);
	hits += n / 4u - 1u;
	asked += n;
	CHECK_INT(wa_acl_cache_gate(&g, now, hits, asked, 25), 0);
	/* Set aside for OFF_MIN_MS, then consulted again and judged on what comes after. */
	for (int round = 0; round < 8; round++) {
		CHECK_INT(wa_acl_cache_gate(&g, now + off - 1u, hits, asked, 25), 0);
		now += off;
		CHECK_INT(wa_acl_cache_gate(&g, now, hits, asked, 25), 1);
		asked += n; /* no hits: set aside again, for twice as long (up to OFF_MAX_MS) */
		CHECK_INT(wa_acl_cache_gate(&g, now, hits, asked, 25), 0);
		off = off * 2u > WA_ACL_CACHE_OFF_MAX_MS ? WA_ACL_CACHE_OFF_MAX_MS : off * 2u;
	}
	CHECK_INT((int)g.off_ms, (int)WA_ACL_CACHE_OFF_MAX_MS);
	now += off;
	CHECK_INT(wa_acl_cache_gate(&g, now, hits, asked, 25), 1);
	/* A verdict that it pays resets the length. */
	hits += n;
	asked += n;
	CHECK_INT(wa_acl_cache_gate(&g, now, hits, asked, 25), 1);
	CHECK_INT((int)g.off_ms, (int)WA_ACL_CACHE_OFF_MIN_MS);
	asked += n;
	CHECK_INT(wa_acl_cache_gate(&g, now, hits, asked, 25), 0);
	CHECK_INT(wa_acl_cache_gate(&g, now + WA_ACL_CACHE_OFF_MIN_MS - 1u, hits, asked, 25), 0);
	CHECK_INT(wa_acl_cache_gate(&g, now + WA_ACL_CACHE_OFF_MIN_MS, hits, asked, 25), 1);
	/* min_hit_percent 0: never set aside. */
	memset(&g, 0, sizeof g);
	CHECK_INT(wa_acl_cache_gate(&g, now, 0, 10u * n, 0), 1);
}

int main(void)
{
	test_lookup_then_store();
	test_bypass();
	test_gate();
	test_topic_lengths();
	test_hit_miss();
	test_collision();
	test_long_topic();
	test_invalidate();
	test_identity();
	test_identity_lengths();
	test_memory_cap();
	return check_done();
}
