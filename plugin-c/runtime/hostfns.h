/* The host functions a policy may import (abi.c's wa_imports, docs/ABI.md), engine-neutral:
 * each gets the guest memory as it is at the moment of the call and plain integer arguments.
 * The engine binding (engine_wasm3.c) only unpacks arguments and forwards here. */
#ifndef WASM_AUTH_HOSTFNS_H
#define WASM_AUTH_HOSTFNS_H

#include <stdint.h>

#include "abi_marshal.h"
#include "wa_limits.h"
#include "options.h"

/* How the runtime asks the embedder about the client behind the current request: the plugin
 * answers with mosquitto_client_id() etc., wa-call with its command line. A NULL callback or
 * result means "not known". */
struct wa_client_ops {
	const char *(*id)(const void *client);
	const char *(*address)(const void *client);
	int (*protocol_version)(const void *client);
	int reads_reasons; /* the embedder reads every decision's reason (wa-call); else only under wasm_audit */
};

/* The guest log rate limit (docs/SECURITY.md, "Guest logging"): two token buckets kept as debts
 * in thousandths (a line adds 1000 line-thousandths and 1000 per byte; each millisecond takes
 * away WA_LOG_LINES_PER_S and WA_LOG_BYTES_PER_S of them), so all-zero is a fresh, full bucket. */
struct wa_log_limit {
	uint64_t last_ms;       /* monotonic time of the last line offered */
	uint64_t line_debt;     /* at most WA_LOG_BURST_LINES * 1000 */
	uint64_t byte_debt;     /* at most WA_LOG_BURST_BYTES * 1000 */
	uint64_t dropped_lines; /* dropped since the last line let through */
	uint64_t dropped_bytes;
	uint32_t noticed; /* the "limit reached" notice was written; cleared once the buckets are full again */
};

/* 1 = a line of `bytes` bytes offered at now_ms may be written (and is counted), 0 = it is
 * dropped (counted in dropped_*). The caller writes the "suppressed" line when it gets 1 with
 * dropped_lines set, then clears dropped_*; and one notice at the first drop while `noticed` is
 * 0 (which this clears when it finds both buckets full). Exposed for the tests, which pick the
 * times. */
int wa_log_limit_take(struct wa_log_limit *l, uint64_t now_ms, uint64_t bytes);

/* A file option_file_read_at opened during the current init hook call: every later chunk of it
 * is read from this open file (pread), so renaming another file over the path between chunks
 * cannot give the policy a mix of two versions. opt NULL = a free entry. */
struct wa_option_stream {
	const struct wa_opt *opt; /* the option naming it: the same entry for the same key */
	int fd;
	int64_t size;    /* at open: reads stop there, whatever the file does later */
	uint64_t opened; /* order of opening: the oldest entry makes room for a new file */
};

/* A deferred action (docs/ABI.md, "Deferred actions"): what kick_client, kick_user and publish
 * queue; the embedder carries it out on the broker's main thread (wa_policy_take_actions). */
enum wa_action_kind { WA_ACTION_KICK_CLIENT, WA_ACTION_KICK_USER, WA_ACTION_PUBLISH };

struct wa_action {
	enum wa_action_kind kind;
	char *target;     /* NUL-terminated, no NUL inside: the client id, the username or the topic */
	uint8_t *payload; /* publish: payloadlen bytes (NULL when 0) */
	uint32_t payloadlen;
	int qos, retain;
};

/* A token bucket kept as a debt in thousandths (like struct wa_log_limit). */
struct wa_rate_limit {
	uint64_t last_ms;
	uint64_t debt;
};

/* The actions the guest queued and not yet carried out, their rate limits and the refusal
 * warnings' own rate limit (one line per function and reason per WA_ERROR_LOG_INTERVAL_S, so
 * that a flood of one kind cannot hide another). All-zero = empty. */
struct wa_actions {
	struct wa_action items[WA_ACTION_QUEUE_ENTRIES];
	unsigned count;
	size_t bytes;
	uint64_t *wake; /* set to 0 when an action is queued (wa_policy_wake_on_action), or NULL */
	struct wa_rate_limit kicks, publishes;
	/* per kind (enum wa_action_kind) and reason (-result) */
	uint64_t warned_ms[3][WA_ACTION_REASONS]; /* when such a refusal was last logged */
	uint64_t unwarned[3][WA_ACTION_REASONS];  /* refusals since, not logged */
	int warned[3][WA_ACTION_REASONS];
};

/* The keys jwt_verify loaded for one key option (docs/ABI.md, "JWT"): loaded during an init
 * hook call, used by requests until the next init call loads them again. opt NULL = free. */
struct wa_jwt_cached {
	const struct wa_opt *opt;
	struct wa_jwt_keyset *keys; /* NULL: the last load failed (requests get WA_JWT_KEY_FILE) */
	int fresh;                  /* loaded (or failed) during the current init hook call */
};

/* on_message's rewrites (docs/ABI.md, "Message hook"): message_set_* stage copies here while
 * on_message runs (active); the embedder applies them only when the hook allows the message, then
 * clears them (wa_host_message_clear). NULL topic / has_payload 0 / retain -1 = unchanged. */
struct wa_message_rewrite {
	int active;
	char *topic; /* NUL-terminated, no NUL inside, a topic one may publish to */
	uint32_t topiclen;
	uint8_t *payload; /* payloadlen bytes and a NUL after them; NULL when empty */
	uint32_t payloadlen;
	int has_payload;
	int retain;
};

/* on_subscribe's rewrite (docs/ABI.md, "Per-subscriber and subscription hooks"): as
 * wa_message_rewrite. NULL topic / qos -1 = unchanged. */
struct wa_subscribe_rewrite {
	int active;
	char *topic; /* NUL-terminated, a valid subscription filter */
	uint32_t topiclen;
	int qos;
};

/* Per-instance state the host functions read and write. All-zero (then opts, client_ops...)
 * is a valid start; it may outlive one guest instance (the log limit should: a re-created
 * instance must not get a fresh burst). */
struct wa_host {
	const struct wa_options *opts; /* option_file_* look keys up here */
	const struct wa_client_ops *client_ops;
	const char *log_prefix; /* starts each guest log line (wa_config.log_prefix), or NULL */
	const void *client;     /* the current request's client, NULL if none */
	int in_init;            /* 1 while plugin_init/security_init run */
	/* The guest's fuel counter (the gate's metering global), set by the engine; NULL in unit
	 * tests without an engine. Host functions charge what they do to it before doing it, and
	 * trap with "fuel exhausted" below 0. The engine's watchdog drives it below 0 when the
	 * call's deadline passes, so a charge is also the host's deadline check. */
	int64_t *fuel;
	/* Why the last host function trapped ("" if none): an abort's message, a bad pointer,
	 * "fuel exhausted". */
	char trap[WA_MAX_LOG_BYTES * 3 + 64];
	/* The host function whose charge found the fuel gone (diagnostics and tests; set with
	 * trap = "fuel exhausted", never cleared by the host functions). */
	const char *fuel_fn;
	/* Guest log lines (log, trace, pw_verify's warning) let through and dropped. */
	struct wa_log_limit log_limit;
	/* Files option_file_read_at keeps open; wa_host_option_files_close empties it. */
	struct wa_option_stream streams[WA_OPTION_FILE_STREAMS];
	uint64_t streams_opened;
	/* publish: wasm_publish_prefix without its trailing '/' (NULL = not set: refused) and
	 * wasm_max_payload. */
	const char *publish_prefix;
	size_t publish_prefix_len;
	uint32_t max_payload;
	struct wa_actions actions;
	/* jwt_verify's keys per key option; wa_host_jwt_free frees them. */
	struct wa_jwt_cached jwt[WA_JWT_KEY_OPTIONS];
	struct wa_message_rewrite rewrite;
	struct wa_subscribe_rewrite sub_rewrite;
	/* set_reason's text (UTF-8, not terminated): only the embedder's audit reads it, and clears
	 * reason_len before each decision it records. */
	char reason[WA_MAX_REASON_BYTES];
	uint32_t reason_len;
	int reasons_wanted; /* reasons_wanted's answer: someone reads them (wasm_audit on, wa-call) */
	/* Enhanced authentication: in_ext_auth while ext_auth_start/continue run; what the guest
	 * last gave auth_data_out during that call (auth_out_len bytes). */
	int in_ext_auth;
	uint32_t auth_out_len;
	uint8_t auth_out[WA_MAX_AUTH_DATA_BYTES];
};

/* Every function returns 0 (result in *ret where there is one) or -1 when the guest must trap;
 * host->trap then says why. Each charges its price (wa_limits.h WA_FUEL_*, docs/SECURITY.md "Host
 * function prices") to *fuel before doing the work, and traps with "fuel exhausted", the work
 * not done, when that takes the counter below 0 or it already was; abort is free (it traps). */
int wa_host_topic_matches_sub(struct wa_host *h, struct wa_mem m, uint32_t sub, uint32_t sublen, uint32_t topic,
                              uint32_t topiclen, int32_t *ret);
int wa_host_log(struct wa_host *h, struct wa_mem m, int32_t level, uint32_t ptr, uint32_t len);
int wa_host_client_id(struct wa_host *h, struct wa_mem m, uint32_t buf, uint32_t cap, int32_t *ret);
int wa_host_client_address(struct wa_host *h, struct wa_mem m, uint32_t buf, uint32_t cap, int32_t *ret);
int wa_host_client_protocol_version(struct wa_host *h, int32_t *ret);
int wa_host_pw_verify(struct wa_host *h, struct wa_mem m, uint32_t hash, uint32_t hashlen, uint32_t pw, uint32_t pwlen,
                      int32_t *ret);
int wa_host_option_file_size(struct wa_host *h, struct wa_mem m, uint32_t key, uint32_t keylen, int32_t *ret);
int wa_host_option_file_read(struct wa_host *h, struct wa_mem m, uint32_t key, uint32_t keylen, uint32_t buf,
                             uint32_t cap, int32_t *ret);
/* option_file_read_at (docs/ABI.md, "Option files"): up to cap bytes of the file from offset. A
 * negative offset traps, like a bad pointer. */
int wa_host_option_file_read_at(struct wa_host *h, struct wa_mem m, uint32_t key, uint32_t keylen, int64_t offset,
                                uint32_t buf, uint32_t cap, int32_t *ret);
/* jwt_verify (docs/ABI.md, "JWT"): verifies the compact JWS token with the keys of option `key`
 * (loaded from its file during init hook calls) and copies its claims (the payload's JSON) to
 * out: *ret = the claims' length (copy truncated to cap), or a negative enum wa_jwt_error (one
 * warning logged). An empty token only loads the keys (init) or checks they are loaded. */
int wa_host_jwt_verify(struct wa_host *h, struct wa_mem m, uint32_t tok, uint32_t toklen, uint32_t key, uint32_t keylen,
                       int32_t leeway, uint32_t out, uint32_t cap, int32_t *ret);
int wa_host_abort(struct wa_host *h, struct wa_mem m, uint32_t msg, uint32_t file, uint32_t line, uint32_t col);
int wa_host_trace(struct wa_host *h, struct wa_mem m, uint32_t msg, int32_t n, const double a[5]);
int wa_host_seed(struct wa_host *h, double *ret);
/* set_reason (docs/ABI.md, "Reasons"): keeps the guest's UTF-8 reason for the decision it is
 * about to return, cut at a character boundary to WA_MAX_REASON_BYTES: *ret = the bytes kept, or
 * WA_REASON_INVALID (the reason cleared) when they are not UTF-8. */
int wa_host_set_reason(struct wa_host *h, struct wa_mem m, uint32_t ptr, uint32_t len, int32_t *ret);
/* reasons_wanted: 1 when reasons are read (wasm_audit on), else 0, so that a policy gives none
 * (and pays nothing for them) when nobody reads them. Fixed for an instance's life. */
int wa_host_reasons_wanted(struct wa_host *h, int32_t *ret);
int wa_host_date_now(struct wa_host *h, double *ret);

/* kick_client, kick_user, publish (docs/ABI.md, "Deferred actions"): *ret = 0 when queued, else a
 * negative enum wa_action_result (refusals logged, rate-limited). Pointers out of bounds trap. */
int wa_host_kick_client(struct wa_host *h, struct wa_mem m, uint32_t id, uint32_t idlen, int32_t *ret);
int wa_host_kick_user(struct wa_host *h, struct wa_mem m, uint32_t name, uint32_t namelen, int32_t *ret);
int wa_host_publish(struct wa_host *h, struct wa_mem m, uint32_t topic, uint32_t topiclen, uint32_t payload,
                    uint32_t payloadlen, int32_t qos, int32_t retain, int32_t *ret);

/* message_set_topic, message_set_payload, message_set_retain (docs/ABI.md, "Message hook"):
 * stage a rewrite of the message on_message (or on_message_out) is deciding. They trap outside
 * those hooks (the hook
 * that called them fails) and on a bad value (the message is dropped): not a topic one may
 * publish to or starting with '$', a payload above wasm_max_payload, retain not 0/1. */
int wa_host_message_set_topic(struct wa_host *h, struct wa_mem m, uint32_t topic, uint32_t topiclen);
int wa_host_message_set_payload(struct wa_host *h, struct wa_mem m, uint32_t payload, uint32_t payloadlen);
int wa_host_message_set_retain(struct wa_host *h, int32_t retain);
/* Frees the staged rewrite and marks nothing staged; active as given (1 while on_message runs). */
void wa_host_message_clear(struct wa_host *h, int active);
/* subscribe_set_topic, subscribe_set_qos: stage a rewrite of the subscription on_subscribe is
 * deciding; they trap outside on_subscribe and on a bad value (not a valid subscription filter of
 * 1 to 65535 bytes of UTF-8, qos not 0-2). */
int wa_host_subscribe_set_topic(struct wa_host *h, struct wa_mem m, uint32_t topic, uint32_t topiclen);
int wa_host_subscribe_set_qos(struct wa_host *h, int32_t qos);
void wa_host_subscribe_clear(struct wa_host *h, int active);
/* auth_data_out (docs/ABI.md, "Enhanced authentication"): copies len bytes into h->auth_out;
 * *ret = 0, or a negative enum wa_auth_data_error (nothing copied). */
int wa_host_auth_data_out(struct wa_host *h, struct wa_mem m, uint32_t ptr, uint32_t len, int32_t *ret);
/* sha256, hmac_sha256, pbkdf2_sha256 (docs/ABI.md, "Crypto"): 32 bytes written at out; *ret = 0,
 * or a negative enum wa_crypto_error (out untouched). Pointers out of bounds trap. */
int wa_host_sha256(struct wa_host *h, struct wa_mem m, uint32_t msg, uint32_t msglen, uint32_t out, int32_t *ret);
int wa_host_hmac_sha256(struct wa_host *h, struct wa_mem m, uint32_t key, uint32_t keylen, uint32_t msg,
                        uint32_t msglen, uint32_t out, int32_t *ret);
int wa_host_pbkdf2_sha256(struct wa_host *h, struct wa_mem m, uint32_t pw, uint32_t pwlen, uint32_t salt,
                          uint32_t saltlen, uint32_t iterations, uint32_t out, int32_t *ret);

/* Queued actions: how many; the first n dropped from the end (a hook that failed); every one
 * handed to run in order, then freed (run may be NULL: just freed). */
unsigned wa_host_actions_count(const struct wa_host *h);
void wa_host_actions_truncate(struct wa_host *h, unsigned keep);
void wa_host_actions_take(struct wa_host *h, void (*run)(const struct wa_action *a, void *ud), void *ud);

/* 1 = an action of this kind queued at now_ms is within the rate (and is counted). For the tests. */
int wa_action_rate_take(struct wa_rate_limit *r, uint64_t now_ms, unsigned per_s, unsigned burst);

/* Closes every file option_file_read_at keeps open. The runtime calls it when an init hook call
 * returns (the files are for that call only) and before it frees the host state. */
void wa_host_option_files_close(struct wa_host *h);

/* Frees jwt_verify's keys: when the host state goes (the policy is freed). */
void wa_host_jwt_free(struct wa_host *h);

#endif
