/* The sessions the policy let in (unpwd_check allowed), kept while the policy exports
 * session_check, so that after a reload each one can be asked again and those it refuses
 * disconnected (docs/ABI.md, "Revocation"). Keyed by mosquitto's client pointer, with copies of
 * the client id and username: a session is asked and kicked by name, never through a pointer
 * that may be stale by then. Main thread only. */
#ifndef WASM_AUTH_SESSIONS_H
#define WASM_AUTH_SESSIONS_H

#include <stddef.h>

struct wa_sessions;

/* What a visit of a session under recheck says. */
enum wa_session_visit {
	WA_SESSION_STOP,   /* stop for now: the session stays to be asked */
	WA_SESSION_ASKED,  /* asked: it stays */
	WA_SESSION_REVOKE, /* asked: its client id is handed back to be disconnected */
};

struct wa_sessions *wa_sessions_new(void);
void wa_sessions_free(struct wa_sessions *s);

/* Records a session (replacing one of the same client). -1 when out of memory or past
 * WA_MAX_SESSIONS: that session is not tracked (it will not be asked after a reload). */
int wa_sessions_add(struct wa_sessions *s, const void *client, const char *clientid, const char *username);

/* 1 when client's session is recorded with this client id and username. */
int wa_sessions_has(const struct wa_sessions *s, const void *client, const char *clientid, const char *username);

/* Forgets a client's session, if any. */
void wa_sessions_remove(struct wa_sessions *s, const void *client);

/* Forgets every session. */
void wa_sessions_clear(struct wa_sessions *s);

size_t wa_sessions_count(const struct wa_sessions *s);

/* Marks every session recorded so far to be asked again (a session added later is not: the
 * policy in service let it in). */
void wa_sessions_recheck_all(struct wa_sessions *s);

/* Sessions still to be asked. */
size_t wa_sessions_pending(const struct wa_sessions *s);

/* Visits at most max sessions still to be asked, until visit says WA_SESSION_STOP. The client
 * ids of the sessions visit revokes are copied to revoked[] (at most max; the caller frees
 * each) and those sessions forgotten. Returns how many ids were written. */
unsigned wa_sessions_recheck(struct wa_sessions *s, unsigned max,
                             enum wa_session_visit (*visit)(const char *clientid, const char *username, void *ud),
                             void *ud, char **revoked);

#endif
