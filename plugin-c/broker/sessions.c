/* The sessions table (sessions.h): the sessions in an array (a pass walks it), found by client
 * through an open-addressing index of array positions. Removal moves the last session into the
 * hole, so a pass that walked past the hole may have a session to ask behind it: a pass wraps
 * around until none is left to ask. */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sessions.h"
#include "../runtime/wa_limits.h"

struct session {
	const void *client;
	char *clientid;
	char *username; /* NULL: none */
	int pending;    /* to be asked in the current pass */
};

struct wa_sessions {
	struct session *v;
	size_t n, cap;
	uint32_t *index; /* 0 empty, else position in v + 1 */
	size_t mask;     /* index slots - 1 (a power of two, at least twice n) */
	size_t pending;
	size_t cursor;
};

static size_t slot_of(const struct wa_sessions *s, const void *client)
{
	uint64_t h = (uint64_t)(uintptr_t)client * UINT64_C(0x9E3779B97F4A7C15);
	return (size_t)(h >> 32) & s->mask;
}

/* The index slot holding client, or the empty slot where it would go. */
static size_t find(const struct wa_sessions *s, const void *client)
{
	size_t i = slot_of(s, client);

	while (s->index[i] && s->v[s->index[i] - 1].client != client) i = (i + 1) & s->mask;
	return i;
}

static int reindex(struct wa_sessions *s, size_t slots)
{
	uint32_t *index = calloc(slots, sizeof *index);

	if (!index) return -1;
	free(s->index);
	s->index = index;
	s->mask = slots - 1;
	for (size_t k = 0; k < s->n; k++) s->index[find(s, s->v[k].client)] = (uint32_t)(k + 1);
	return 0;
}

struct wa_sessions *wa_sessions_new(void)
{
	struct wa_sessions *s = calloc(1, sizeof *s);

	if (s && reindex(s, 64) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

static void drop_strings(struct session *e)
{
	free(e->clientid);
	free(e->username);
}

void wa_sessions_clear(struct wa_sessions *s)
{
	for (size_t k = 0; k < s->n; k++) drop_strings(&s->v[k]);
	memset(s->index, 0, (s->mask + 1) * sizeof *s->index);
	s->n = s->pending = s->cursor = 0;
}

void wa_sessions_free(struct wa_sessions *s)
{
	if (!s) return;
	wa_sessions_clear(s);
	free(s->v);
	free(s->index);
	free(s);
}

size_t wa_sessions_count(const struct wa_sessions *s)
{
	return s->n;
}

size_t wa_sessions_pending(const struct wa_sessions *s)
{
	return s->pending;
}

/* Empties index slot i, moving later slots of the same probe run back (no tombstones). */
static void unindex(struct wa_sessions *s, size_t i)
{
	size_t j = i;

	s->index[i] = 0;
	for (;;) {
		size_t home;

		j = (j + 1) & s->mask;
		if (!s->index[j]) return;
		home = slot_of(s, s->v[s->index[j] - 1].client);
		/* The entry at j may move to the hole at i if its home is not cyclically in (i, j]. */
		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			s->index[i] = s->index[j];
			s->index[j] = 0;
			i = j;
		}
	}
}

/* Removes the session at index slot i: the last session takes its place in the array. */
static void remove_at(struct wa_sessions *s, size_t i)
{
	size_t k = s->index[i] - 1;

	if (s->v[k].pending) s->pending--;
	unindex(s, i);
	if (k != s->n - 1) {
		s->v[k] = s->v[s->n - 1];
		s->index[find(s, s->v[k].client)] = (uint32_t)(k + 1);
	}
	s->n--;
}

int wa_sessions_add(struct wa_sessions *s, const void *client, const char *clientid, const char *username)
{
	struct session e = { client, strdup(clientid ? clientid : ""), username ? strdup(username) : NULL, 0 };
	size_t i;

	if (!e.clientid || (username && !e.username)) goto fail;
	i = find(s, client);
	if (s->index[i]) {
		struct session *old = &s->v[s->index[i] - 1];
		if (old->pending) s->pending--;
		drop_strings(old);
		*old = e;
		return 0;
	}
	if (s->n >= WA_MAX_SESSIONS) goto fail;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct session *v = realloc(s->v, cap * sizeof *v);
		if (!v) goto fail;
		s->v = v;
		s->cap = cap;
	}
	if ((s->n + 1) * 2 > s->mask + 1) {
		if (reindex(s, (s->mask + 1) * 2) != 0) goto fail;
		i = find(s, client);
	}
	s->v[s->n] = e;
	s->index[i] = (uint32_t)(++s->n);
	return 0;
fail:
	drop_strings(&e);
	return -1;
}

int wa_sessions_has(const struct wa_sessions *s, const void *client, const char *clientid, const char *username)
{
	size_t i = find(s, client);
	const struct session *e;

	if (!s->index[i] || !clientid) return 0;
	e = &s->v[s->index[i] - 1];
	if (strcmp(e->clientid, clientid) != 0) return 0;
	return e->username && username ? strcmp(e->username, username) == 0 : e->username == username;
}

void wa_sessions_remove(struct wa_sessions *s, const void *client)
{
	size_t i = find(s, client);
	size_t k;

	if (!s->index[i]) return;
	k = s->index[i] - 1;
	drop_strings(&s->v[k]);
	remove_at(s, i);
}

void wa_sessions_recheck_all(struct wa_sessions *s)
{
	for (size_t k = 0; k < s->n; k++) s->v[k].pending = 1;
	s->pending = s->n;
	s->cursor = 0;
}

unsigned wa_sessions_recheck(struct wa_sessions *s, unsigned max,
                             enum wa_session_visit (*visit)(const char *clientid, const char *username, void *ud),
                             void *ud, char **revoked)
{
	unsigned asked = 0, out = 0;

	/* Each step either asks a pending session or passes one that is not: at most n + max steps. */
	for (size_t steps = s->n + max; s->pending && asked < max && steps; steps--) {
		struct session *e;

		if (s->cursor >= s->n) s->cursor = 0;
		e = &s->v[s->cursor];
		if (!e->pending) {
			s->cursor++;
			continue;
		}
		switch (visit(e->clientid, e->username, ud)) {
			case WA_SESSION_STOP: return out;
			case WA_SESSION_ASKED:
				e->pending = 0;
				s->pending--;
				s->cursor++;
				break;
			case WA_SESSION_REVOKE:
				revoked[out++] = e->clientid; /* the caller's now */
				free(e->username);
				remove_at(s, find(s, e->client)); /* the last session moves here: not passed */
				break;
		}
		asked++;
	}
	return out;
}
