/* Recording requests for replay (README "Operating", `wasm-auth replay`): with
 * plugin_opt_wasm_record FILE, every basic auth and ACL decision becomes one JSON line: time,
 * client id, username, address, protocol, access, topic, qos, retain, the decision, and with
 * plugin_opt_wasm_record_payloads on the payload (base64, up to WA_RECORD_PAYLOAD_BYTES).
 * Passwords are never written: a connect says only whether one was given ("password":
 * "<redacted>" or null).
 *
 * The file (mode 0600) is opened at load and at every reload; lines wait in a buffer of
 * WA_RECORD_BUFFER_BYTES written when full and at every tick. When the file would grow beyond
 * wasm_record_max_bytes it is renamed FILE.1 (replacing the one before) and a new FILE begun.
 * Errors are logged once until the next reopen, and the records meanwhile counted as lost. Main
 * thread only. */
#ifndef WASM_AUTH_RECORD_H
#define WASM_AUTH_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "../runtime/abi.h"

struct wa_record;

struct wa_record_entry {
	const char *clientid; /* NULL: absent */
	const char *username;
	const char *address;
	int protocol;       /* 3, 4, 5; 0 unknown */
	const char *access; /* "connect", "read", "write", "subscribe", "unsubscribe" */
	const char *topic;  /* NULL for connect */
	int qos, retain;
	const void *payload; /* written only when payloads are recorded */
	uint32_t payloadlen;
	int password_given; /* connect */
	enum wa_decision decision;
};

/* NULL when out of memory (logged). A file that cannot be opened is logged. */
struct wa_record *wa_record_new(const char *path, int payloads, uint64_t max_bytes);
void wa_record_free(struct wa_record *r); /* writes what is buffered first */
void wa_record_reopen(struct wa_record *r);
void wa_record_flush(struct wa_record *r);

void wa_record_write(struct wa_record *r, const struct wa_record_entry *e);
/* The same at a given wall time (tests). */
void wa_record_write_at(struct wa_record *r, const struct wa_record_entry *e, const struct timespec *wall);

/* The line of an entry into j (tests): 0, or -1 when it does not fit. */
struct wa_jsonl;
int wa_record_format(struct wa_jsonl *j, const struct wa_record_entry *e, int payloads, const struct timespec *wall);

#endif
