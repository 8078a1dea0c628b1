/* The audit log (README, "Operating"): one record per decision of basic auth and ACL checks,
 * written as JSON lines to plugin_opt_wasm_audit_file or as lines to mosquitto's log. Records
 * carry who asked, for what, the decision, where it came from and why; never a password or a
 * payload. Rate-limited (WA_AUDIT_LINES_PER_S, WA_AUDIT_BURST_LINES): records over the limit are
 * counted and the next one written is preceded by "N audit lines suppressed".
 *
 * The file is opened at init and at every reload (so that it can be rotated), with O_APPEND and
 * O_NONBLOCK, and written through a buffer of WA_AUDIT_BUFFER_BYTES flushed when full and on
 * every tick: a write that would block (a FIFO without room) or fails drops what was buffered,
 * so the broker's main loop never waits on the audit. Open and write errors are logged once
 * (until the next reopen). Main thread only, like the rest of the plugin. */
#ifndef WASM_AUTH_AUDIT_H
#define WASM_AUTH_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "../runtime/abi.h"
#include "../runtime/options.h"

struct wa_audit;

struct wa_audit_record {
	const char *clientid; /* NULL: absent (written as null) */
	const char *username;
	const char *access; /* "connect", "read", "write", "subscribe", "unsubscribe", "none" */
	const char *topic;  /* NULL for connect */
	enum wa_decision decision;
	const char *source; /* "policy", "grant", "cached", "failure" */
	const char *reason; /* reason_len bytes, not terminated; any bytes (escaped, cut) */
	size_t reason_len;
	int64_t fuel; /* used by the guest call that decided; 0 when none ran */
};

/* A record as one JSON object (no newline), its string fields cut at WA_AUDIT_FIELD_BYTES on a
 * character boundary and escaped; bytes that are not UTF-8 become '?'. The length written, or 0
 * when cap is too small (WA_AUDIT_LINE_BYTES always suffices). */
#define WA_AUDIT_LINE_BYTES (5u * 6u * WA_AUDIT_FIELD_BYTES + 512u)
size_t wa_audit_format_json(char *buf, size_t cap, const struct wa_audit_record *r, const struct timespec *wall);
/* The same record as a log line's text (after "wasm-auth: "). */
size_t wa_audit_format_text(char *buf, size_t cap, const struct wa_audit_record *r);

/* The rate limit: a token bucket kept as a debt in thousandths; all zero = full. */
struct wa_audit_limit {
	uint64_t last_ms;
	uint64_t debt;
	uint64_t suppressed; /* records refused since the last one written */
};
/* 1: write the record (counted); 0: suppressed (counted in l->suppressed). */
int wa_audit_limit_take(struct wa_audit_limit *l, uint64_t now_ms);

/* path NULL: records go to mosquitto's log (wa_log: notice for denials and failures, info for
 * allows). NULL when out of memory (logged). A file that cannot be opened is logged, and its
 * records dropped until a reopen succeeds. */
struct wa_audit *wa_audit_new(enum wa_audit_level level, const char *path);
void wa_audit_free(struct wa_audit *a); /* flushes first */
void wa_audit_reopen(struct wa_audit *a);
void wa_audit_flush(struct wa_audit *a);

/* Whether a decision gets a record at this level: every one at all, all but allows at deny. */
int wa_audit_wanted(const struct wa_audit *a, enum wa_decision d);

/* Writes one record (or counts it as suppressed), now. */
void wa_audit_write(struct wa_audit *a, const struct wa_audit_record *r);
/* The same at a given monotonic and wall time (tests). */
void wa_audit_write_at(struct wa_audit *a, const struct wa_audit_record *r, uint64_t now_ms,
                       const struct timespec *wall);

#endif
