/* Grants: reading the guest's descriptor (bounds, caps, tier order, filter syntax) and deciding
 * a check from them. The copy is one allocation: a list of entries per access (READ, WRITE: an
 * entry giving both is in both), then the filters' bytes. Within a tier the lists put deny
 * entries first, so the first matching entry decides; and each filter is classified, so the
 * common shapes (`a/b`, `a/b/#`) are compared without the general matcher. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi.h"
#include "grants.h"
#include "short_str.h"
#include "wa_limits.h"
#include "topic.h"

#define DESC_BYTES 16u
_Static_assert(WA_GRANTS_MAX_WORK / WA_GRANTS_MAX_ENTRIES >= 16u, "max_topic would wrap");
#define ENTRY_BYTES 12u

enum shape {
	SHAPE_EXACT,   /* no wildcard: the topic is the filter */
	SHAPE_PREFIX,  /* L/# without wildcards in L: the topic is L or starts with L/ */
	SHAPE_GENERIC, /* anything else: wa_topic_matches_sub */
};

/* A filter of either common shape that fits WA_SHORT_BYTES is matched by short_match: SHAPE_EXACT
 * "a/b" holds "a/b\0"; SHAPE_PREFIX "L/#" holds "L/" and, in l_mask, the mask of L alone (the
 * topic L itself matches too). */
struct grant {
	struct wa_short head; /* empty when the filter is not short */
	uint64_t l_mask[2];
	uint32_t off, len; /* the filter, in text */
	uint8_t decision;  /* WA_DENY for a deny entry, else WA_ALLOW */
	uint8_t shape;
};

/* The entries giving one access, in decision order. */
struct grant_list {
	const struct grant *g, *end;
	uint8_t fallback;   /* when none matches */
	uint8_t short_only; /* not empty, and every filter is matched by short_match */
};

struct wa_grants {
	struct grant_list list[4]; /* by access & 3: [MOSQ_ACL_READ], [MOSQ_ACL_WRITE]; [0] and [3] empty */
	uint8_t fallback[4];       /* READ, WRITE, SUBSCRIBE, UNSUBSCRIBE */
	size_t max_topic;          /* longer topics are asked of acl_check (WA_GRANTS_MAX_WORK) */
	size_t bytes;
	const char *text;
	struct grant g[]; /* READ's list, then WRITE's */
};

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int fail(char *err, size_t errlen, const char *why)
{
	snprintf(err, errlen, "%s: %s", WA_EXPORT_ACL_GRANTS, why);
	return -1;
}

/* Checks the descriptor and its entries in place; *text_bytes gets the filters' total size. */
static int check(struct wa_mem m, uint32_t ptr, uint32_t *count, const uint8_t **entries, uint32_t *text,
                 size_t *text_bytes, char *err, size_t errlen)
{
	const uint8_t *d = wa_mem_range(m, ptr, DESC_BYTES);
	uint32_t n, base, prev_tier = 0;
	size_t total = 0;

	if (!d || (ptr & 3u)) return fail(err, errlen, "descriptor outside memory or not 4-byte aligned");
	n = get_u32(d);
	for (int i = 0; i < 4; i++) {
		if (d[4 + i] > WA_GRANTS_ASK) return fail(err, errlen, "fallback byte above 3");
	}
	if (n > WA_GRANTS_MAX_ENTRIES) return fail(err, errlen, "more than WA_GRANTS_MAX_ENTRIES entries");
	*entries = wa_mem_range(m, get_u32(d + 8), n * ENTRY_BYTES);
	if (n && !*entries) return fail(err, errlen, "entries outside memory");
	base = get_u32(d + 12);
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *e = *entries + i * ENTRY_BYTES;
		uint32_t off = get_u32(e), len = get_u32(e + 4), tier = (uint32_t)e[10] | (uint32_t)e[11] << 8;
		const uint8_t *f;

		if (e[8] == 0 || (e[8] & ~3u)) return fail(err, errlen, "an entry's access is not READ and/or WRITE");
		if (e[9] > 1) return fail(err, errlen, "an entry's deny is neither 0 nor 1");
		if (tier < prev_tier) return fail(err, errlen, "entries out of tier order");
		prev_tier = tier;
		if (len > WA_GRANTS_MAX_BYTES || (uint64_t)base + off > UINT32_MAX)
			return fail(err, errlen, "a filter outside memory");
		f = wa_mem_range(m, base + off, len);
		if (!f) return fail(err, errlen, "a filter outside memory");
		if (!wa_filter_valid(f, len))
			return fail(err, errlen, "an entry's filter is not a valid subscription filter");
		total += len + 1u;
		if (total > WA_GRANTS_MAX_BYTES) return fail(err, errlen, "more than WA_GRANTS_MAX_BYTES of filters");
	}
	*count = n;
	*text = base;
	*text_bytes = total;
	return 0;
}

static uint16_t tier_of(const uint8_t *e)
{
	return (uint16_t)(e[10] | e[11] << 8);
}

static enum shape shape_of(const char *f, uint32_t n)
{
	int wild_before_end = memchr(f, '+', n) || memchr(f, '#', n - 1u); /* n > 0: checked */

	if (!wild_before_end && f[n - 1] != '#') return SHAPE_EXACT;
	if (!wild_before_end && n >= 3 && f[n - 2] == '/') return SHAPE_PREFIX;
	return SHAPE_GENERIC;
}

/* short_match's view of e, whose filter is f (its shape set). */
static void set_head(struct grant *e, const char *f)
{
	struct wa_short l;

	if (e->shape == SHAPE_EXACT) {
		wa_short_set(&e->head, f, e->len + 1u);
	} else if (e->shape == SHAPE_PREFIX) {
		wa_short_set(&e->head, f, e->len - 1u);
		wa_short_set(&l, f, e->len - 2u);
		memcpy(e->l_mask, l.m, sizeof e->l_mask);
	} else {
		wa_short_set(&e->head, f, SIZE_MAX);
	}
}

/* The entries' indices in decision order (tier by tier, its deny entries before its grants). */
static void order_entries(const uint8_t *entries, uint32_t n, uint32_t *order)
{
	uint32_t at = 0;

	for (uint32_t start = 0; start < n;) {
		uint32_t end = start;
		while (end < n && tier_of(entries + end * ENTRY_BYTES) == tier_of(entries + start * ENTRY_BYTES)) end++;
		for (int deny = 1; deny >= 0; deny--) {
			for (uint32_t i = start; i < end; i++) {
				if (entries[i * ENTRY_BYTES + 9] == deny) order[at++] = i;
			}
		}
		start = end;
	}
}

struct wa_grants *wa_grants_read(struct wa_mem m, uint32_t ptr, char *err, size_t errlen)
{
	const uint8_t *entries = NULL;
	uint32_t n = 0, text = 0, per_access[2] = { 0, 0 }, *order, *offs;
	size_t text_bytes = 0, size;
	struct wa_grants *g;
	struct grant *d;
	char *out;

	if (ptr && check(m, ptr, &n, &entries, &text, &text_bytes, err, errlen) != 0) return NULL;
	for (uint32_t i = 0; i < n; i++) {
		for (int a = 0; a < 2; a++) per_access[a] += (entries[i * ENTRY_BYTES + 8] >> a) & 1u;
	}
	size = sizeof *g + (per_access[0] + per_access[1]) * sizeof(struct grant) + text_bytes;
	g = malloc(size);
	order = malloc((n ? n : 1u) * 2u * sizeof *order);
	if (!g || !order) {
		free(g);
		free(order);
		fail(err, errlen, "out of memory");
		return NULL;
	}
	offs = order + n; /* each entry's filter in text, by index */
	g->bytes = size;
	g->max_topic = n ? WA_GRANTS_MAX_WORK / n - 16u : SIZE_MAX;
	memset(g->fallback, WA_GRANTS_ASK, sizeof g->fallback);
	if (ptr) memcpy(g->fallback, wa_mem_range(m, ptr + 4u, 4), 4);
	d = g->g;
	out = (char *)&g->g[per_access[0] + per_access[1]];
	g->text = out;
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *e = entries + i * ENTRY_BYTES;
		uint32_t len = get_u32(e + 4);
		/* Checked above: inside memory at the same size (nothing ran in between). */
		memcpy(out, m.base + text + get_u32(e), len);
		out[len] = '\0';
		offs[i] = (uint32_t)(out - g->text);
		out += len + 1u;
	}
	order_entries(entries, n, order);
	memset(g->list, 0, sizeof g->list);
	for (int a = 0; a < 2; a++) {
		struct grant_list *l = &g->list[1 << a];
		l->g = d;
		l->fallback = g->fallback[a];
		l->short_only = per_access[a] > 0;
		for (uint32_t k = 0; k < n; k++) {
			const uint8_t *e = entries + order[k] * ENTRY_BYTES;
			if (!((e[8] >> a) & 1u)) continue;
			d->off = offs[order[k]];
			d->len = get_u32(e + 4);
			d->shape = (uint8_t)shape_of(g->text + d->off, d->len);
			d->decision = e[9] ? WA_DENY : WA_ALLOW;
			set_head(d, g->text + d->off);
			l->short_only &= d->head.m[0] != 0;
			d++;
		}
		l->end = d;
	}
	free(order);
	return g;
}

void wa_grants_free(struct wa_grants *g)
{
	free(g);
}

size_t wa_grants_bytes(const struct wa_grants *g)
{
	return g->bytes;
}

static int fallback(const struct wa_grants *g, int access)
{
	switch (access) {
		case 1: return g->fallback[0];
		case 2: return g->fallback[1];
		case 4: return g->fallback[2];
		case 8: return g->fallback[3];
		default: return WA_GRANTS_ASK;
	}
}

/* a[0, n) == b[0, n), both readable that far: a word at a time (filters are short, and a call
 * to memcmp costs more than the compare). */
static inline int same_bytes(const char *a, const char *b, size_t n)
{
	uint64_t x, y;
	uint32_t u, v;

	if (n >= 8u) {
		for (size_t i = 0; i + 8u < n; i += 8u) {
			memcpy(&x, a + i, 8);
			memcpy(&y, b + i, 8);
			if (x != y) return 0;
		}
		memcpy(&x, a + n - 8u, 8); /* the last word, overlapping the one before */
		memcpy(&y, b + n - 8u, 8);
		return x == y;
	}
	if (n >= 4u) {
		memcpy(&u, a, 4);
		memcpy(&v, b, 4);
		if (u != v) return 0;
		memcpy(&u, a + n - 4u, 4);
		memcpy(&v, b + n - 4u, 4);
		return u == v;
	}
	for (size_t i = 0; i < n; i++) {
		if (a[i] != b[i]) return 0;
	}
	return 1;
}

static inline int matches(const struct wa_grants *g, const struct grant *e, const char *topic, size_t tlen)
{
	const char *f = g->text + e->off;
	size_t l;

	switch (e->shape) {
		case SHAPE_EXACT: return tlen == e->len && same_bytes(f, topic, tlen);
		case SHAPE_PREFIX:
			l = e->len - 2u; /* L of L/# */
			return tlen >= l && same_bytes(f, topic, l) && (tlen == l || topic[l] == '/');
		default: return wa_topic_matches_sub(f, e->len, topic, tlen) == 1;
	}
}

/* matches() for a short filter, without the topic's length; topic is wa_short_loadable. */
__attribute__((no_sanitize_address)) static inline int short_match(const struct grant *e, const char *topic)
{
	uint64_t x0 = *(const wa_short_word *)topic ^ e->head.w[0],
	         x1 = *(const wa_short_word *)(topic + 8) ^ e->head.w[1];

	if (((x0 & e->head.m[0]) | (x1 & e->head.m[1])) == 0) return 1;
	/* L/# matches L: L's bytes (none is NUL), then the topic's end. */
	return e->shape == SHAPE_PREFIX && ((x0 & e->l_mask[0]) | (x1 & e->l_mask[1])) == 0 &&
	       topic[e->len - 2u] == '\0';
}

/* wa_grants_decide over access's list l: short filters by short_match while the topic can be
 * loaded that way, the others (and all of them when it cannot) by the general matcher once the
 * topic is measured. Out of line: the common case keeps to a few registers. */
__attribute__((noinline)) static int decide_from(const struct wa_grants *g, const struct grant_list *l,
                                                 const char *topic, int access)
{
	int loadable = wa_short_loadable(topic);
	size_t tlen = SIZE_MAX; /* measured when a filter first needs it */

	/* Entries give READ and WRITE only: any other access gets its fallback. */
	if (access != 1 && access != 2) return fallback(g, access); /* MOSQ_ACL_READ, MOSQ_ACL_WRITE */
	for (const struct grant *e = l->g; e < l->end; e++) {
		int m;

		if (loadable && e->head.m[0]) {
			m = short_match(e, topic);
		} else {
			if (tlen == SIZE_MAX && (tlen = strlen(topic)) > g->max_topic) return WA_GRANTS_ASK;
			m = matches(g, e, topic, tlen);
		}
		if (m) return e->decision;
	}
	return l->fallback;
}

int wa_grants_decide(const struct wa_grants *g, const char *topic, int access)
{
	const struct grant_list *l = &g->list[access & 3];
	const struct grant *e = l->g;

	if (!l->short_only || !wa_short_loadable(topic)) return decide_from(g, l, topic, access);
	/* Deny entries come first in each tier: the first entry that matches decides. The work
	 * bound (max_topic) is for the general matcher: a short filter costs one compare. */
	do {
		if (short_match(e, topic)) return e->decision;
	} while (++e < l->end);
	return l->fallback;
}
