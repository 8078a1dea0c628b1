/* The sessions table (broker/sessions.c): adding, replacing, removing while a pass runs, and a
 * pass that asks every session exactly once whatever is removed meanwhile. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "../broker/sessions.h"

#define N 1000

static int clients[N]; /* their addresses are the client pointers */
static int asked[N];
static unsigned stop_after; /* WA_SESSION_STOP once this many were asked in one call (0: never) */
static unsigned asked_now;
static struct wa_sessions *table;
static int remove_during; /* each visit also removes the session after the one asked */

static int index_of(const char *clientid)
{
	return atoi(clientid + 1);
}

static enum wa_session_visit visit(const char *clientid, const char *username, void *ud)
{
	int i = index_of(clientid);

	(void)ud;
	if (stop_after && asked_now == stop_after) return WA_SESSION_STOP;
	asked_now++;
	asked[i]++;
	if (remove_during && i + 1 < N) wa_sessions_remove(table, &clients[i + 1]);
	return username && strcmp(username, "gone") == 0 ? WA_SESSION_REVOKE : WA_SESSION_ASKED;
}

static void add_all(void)
{
	char id[16];

	for (int i = 0; i < N; i++) {
		snprintf(id, sizeof id, "c%d", i);
		CHECK_INT(wa_sessions_add(table, &clients[i], id, i % 3 == 0 ? "gone" : (i % 3 == 1 ? "stay" : NULL)),
		          0);
	}
}

/* Runs a whole pass, max per call; returns the sessions revoked. */
static unsigned run_pass(unsigned max)
{
	char *revoked[64];
	unsigned total = 0;

	memset(asked, 0, sizeof asked);
	wa_sessions_recheck_all(table);
	for (int calls = 0; wa_sessions_pending(table) && calls < 10 * N; calls++) {
		unsigned n;

		asked_now = 0;
		n = wa_sessions_recheck(table, max, visit, NULL, revoked);
		for (unsigned k = 0; k < n; k++) {
			CHECK(index_of(revoked[k]) % 3 == 0);
			free(revoked[k]);
		}
		total += n;
	}
	return total;
}

int main(void)
{
	table = wa_sessions_new();
	if (!CHECK(table != NULL)) return check_done();

	add_all();
	CHECK_INT(wa_sessions_count(table), N);
	/* Replacing a client's session does not add one. */
	CHECK_INT(wa_sessions_add(table, &clients[5], "c5", "stay"), 0);
	CHECK_INT(wa_sessions_count(table), N);
	CHECK_INT(wa_sessions_add(table, &clients[5], "c5", NULL), 0);
	/* Found only under the same client, id and username (none is a username of its own). */
	CHECK(wa_sessions_has(table, &clients[5], "c5", NULL));
	CHECK(!wa_sessions_has(table, &clients[5], "c5", "stay"));
	CHECK(!wa_sessions_has(table, &clients[5], "c6", NULL));
	CHECK(!wa_sessions_has(table, &clients[5], NULL, NULL));
	CHECK(!wa_sessions_has(table, &clients[6], "c5", NULL));

	/* Every session asked once; every third revoked and forgotten. */
	CHECK_INT(run_pass(64), 334);
	for (int i = 0; i < N; i++) CHECK_INT(asked[i], 1);
	CHECK_INT(wa_sessions_count(table), N - 334);
	CHECK_INT(wa_sessions_pending(table), 0);

	/* A pass stopped by the visit goes on where it stopped. */
	wa_sessions_clear(table);
	CHECK_INT(wa_sessions_count(table), 0);
	add_all();
	stop_after = 7;
	CHECK_INT(run_pass(64), 334);
	for (int i = 0; i < N; i++) CHECK_INT(asked[i], 1);
	stop_after = 0;

	/* Sessions removed while a pass runs (clients disconnecting) are never asked, and every other
	 * session is asked once, although removal moves sessions behind the pass. */
	wa_sessions_clear(table);
	add_all();
	remove_during = 1;
	run_pass(16);
	remove_during = 0;
	for (int i = 0; i < N; i++) CHECK(asked[i] <= 1);
	CHECK_INT(wa_sessions_pending(table), 0);

	/* Sessions added during a pass are not part of it; removal of unknown clients is harmless. */
	wa_sessions_clear(table);
	add_all();
	wa_sessions_recheck_all(table);
	wa_sessions_remove(table, &asked[0]);
	wa_sessions_remove(table, &clients[1]);
	wa_sessions_remove(table, &clients[1]);
	CHECK_INT(wa_sessions_pending(table), N - 1);
	CHECK_INT(wa_sessions_count(table), N - 1);
	for (int i = 0; i < N; i++) wa_sessions_remove(table, &clients[i]);
	CHECK_INT(wa_sessions_count(table), 0);
	CHECK_INT(wa_sessions_pending(table), 0);

	wa_sessions_free(table);
	return check_done();
}
