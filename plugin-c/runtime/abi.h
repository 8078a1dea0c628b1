/* The host<->guest ABI (docs/ABI.md) as data: hook exports and host imports with their wasm
 * signatures. The gate checks modules against these tables and the runtime links/calls by them,
 * so there is exactly one list. Signature strings use wasm3's notation: "i(ii)" = (i32,i32)->i32,
 * "v()" = no params, no result; F = f64. */
#ifndef WASM_AUTH_ABI_H
#define WASM_AUTH_ABI_H

#include "wa_limits.h"

/* The ABI's major version (docs/ABI.md, "Versions"): what wasm_auth_abi_version must return. */
#define WA_ABI_VERSION 1

#define WA_EXPORT_ABI_VERSION   "wasm_auth_abi_version" /* () -> i32 */
#define WA_EXPORT_BUFFER        "wasm_auth_buffer"      /* (i32) -> i32 */
#define WA_EXPORT_MEMORY        "memory"
#define WA_EXPORT_ACL_CACHEABLE "wasm_auth_acl_cacheable" /* () -> i32, optional: 1 = acl decisions may be cached */
#define WA_EXPORT_ACL_GRANTS    "wasm_auth_acl_grants"    /* (Str*, Str* | 0) -> Grants* | 0, optional (grants.h) */
#define WA_RESERVED_PREFIX      "__wasm_auth_"

enum wa_decision { WA_DENY = 0, WA_ALLOW = 1, WA_DEFER = 2 };
/* ext_auth_start / ext_auth_continue only: send auth_data_out's bytes in an AUTH packet and wait. */
#define WA_CONTINUE 3

/* auth_data_out's and the crypto imports' negative results (docs/ABI.md). */
enum wa_auth_data_error {
	WA_AUTH_DATA_OUTSIDE_HOOK = -1, /* auth_data_out outside ext_auth_start / ext_auth_continue */
	WA_AUTH_DATA_TOO_LARGE = -2     /* above WA_MAX_AUTH_DATA_BYTES */
};
enum wa_crypto_error {
	WA_CRYPTO_TOO_LARGE = -1,      /* an input above WA_MAX_CRYPTO_INPUT_BYTES */
	WA_CRYPTO_BAD_ITERATIONS = -2, /* pbkdf2_sha256: 0 or above WA_MAX_PBKDF2_SHA256_ITERATIONS */
	WA_CRYPTO_FAILED = -3          /* libcrypto refused (out of memory) */
};

/* Why option_file_size / option_file_read / option_file_read_at could not give a file (docs/ABI.md, "Option files"):
 * their negative results. -1 carries no reason (what every failure returned before the others
 * existed); guests treat any negative result as "no file". */
enum wa_option_file_error {
	WA_OPTION_FILE_UNREADABLE = -1,      /* no reason given */
	WA_OPTION_FILE_ABSENT = -2,          /* the option is not set (or empty) */
	WA_OPTION_FILE_NOT_FILE_OPTION = -3, /* the key does not end in "_file" */
	WA_OPTION_FILE_OUTSIDE_INIT = -4,    /* called outside plugin_init / security_init */
	WA_OPTION_FILE_TOO_BIG = -5,         /* above WA_MAX_OPTION_FILE_BYTES (read_at: _STREAM_BYTES) */
	WA_OPTION_FILE_NOT_FOUND = -6,       /* ENOENT, ENOTDIR */
	WA_OPTION_FILE_PERMISSION = -7,      /* EACCES, EPERM */
	WA_OPTION_FILE_NOT_REGULAR = -8,     /* a directory, FIFO, device, socket */
	WA_OPTION_FILE_READ_ERROR = -9       /* any other error opening or reading it */
};

/* What kick_client / kick_user / publish return (docs/ABI.md, "Deferred actions"): 0 = queued,
 * carried out on the broker's main thread after the hook; negative = refused, nothing queued. */
enum wa_action_result {
	WA_ACTION_QUEUED = 0,
	WA_ACTION_RATE_LIMITED = -1,   /* over WA_KICKS_PER_S / WA_PUBLISHES_PER_S and their bursts */
	WA_ACTION_QUEUE_FULL = -2,     /* WA_ACTION_QUEUE_ENTRIES or WA_ACTION_QUEUE_BYTES reached */
	WA_ACTION_INVALID = -3,        /* empty or NUL-holding id/name, invalid topic, qos not 0-2 */
	WA_ACTION_NO_PREFIX = -4,      /* publish: plugin_opt_wasm_publish_prefix is not set */
	WA_ACTION_OUTSIDE_PREFIX = -5, /* publish: the topic is not under wasm_publish_prefix */
	WA_ACTION_TOO_LARGE = -6       /* publish: payload above wasm_max_payload */
};
#define WA_ACTION_REASONS 7 /* 0 .. -6 */

/* jwt_verify's negative results (docs/ABI.md, "JWT"): why a token was refused. */
enum wa_jwt_error {
	WA_JWT_MALFORMED = -1,       /* not a compact JWS, bad base64url or JSON, over WA_MAX_JWT_BYTES */
	WA_JWT_BAD_SIGNATURE = -2,   /* the signature does not verify with the key chosen */
	WA_JWT_UNSUPPORTED_ALG = -3, /* alg missing, "none", unknown, or a crit header */
	WA_JWT_NO_KEY = -4,          /* the key file holds no key for this alg (and kid) */
	WA_JWT_KEY_FILE = -5,     /* the key option's keys are not loaded (not set, unreadable, invalid, not at init) */
	WA_JWT_EXPIRED = -6,      /* now >= exp + leeway */
	WA_JWT_NOT_YET_VALID = -7 /* now + leeway < nbf */
};

/* set_reason's result when the bytes kept are not UTF-8 (docs/ABI.md, "Reasons"). */
#define WA_REASON_INVALID (-1)

enum wa_hook {
	WA_HOOK_PLUGIN_INIT,
	WA_HOOK_PLUGIN_CLEANUP,
	WA_HOOK_SECURITY_INIT,
	WA_HOOK_SECURITY_CLEANUP,
	WA_HOOK_UNPWD_CHECK,
	WA_HOOK_ACL_CHECK,
	WA_HOOK_PSK_KEY_GET,
	/* Events (docs/ABI.md, "Events"): optional, nothing to decide, not request hooks. */
	WA_HOOK_ON_DISCONNECT,
	WA_HOOK_ON_TICK,
	/* Asked after a reload of every session unpwd_check allowed (docs/ABI.md, "Revocation"). */
	WA_HOOK_SESSION_CHECK,
	/* Decides a message (docs/ABI.md, "Message hook"): deliver, rewritten or not, or drop. */
	WA_HOOK_ON_MESSAGE,
	/* MQTT 5 enhanced authentication (docs/ABI.md, "Enhanced authentication"). */
	WA_HOOK_EXT_AUTH_START,
	WA_HOOK_EXT_AUTH_CONTINUE,
	/* Mosquitto 2.1 builds only (docs/ABI.md, "Per-subscriber and subscription hooks"). */
	WA_HOOK_ON_MESSAGE_OUT,
	WA_HOOK_ON_SUBSCRIBE,
	WA_HOOK_COUNT
};

/* A hook may be exported with any one of its accepted signatures (NULL-terminated list). */
struct wa_hook_abi {
	const char *name;
	const char *signatures[3];
	int is_request; /* at least one request hook must be exported */
};

struct wa_import_abi {
	const char *module;
	const char *name;
	const char *signature;
	/* Non-NULL: what the answer depends on besides the arguments ("the time"...). A module that
	 * imports it may not declare its acl decisions cacheable (docs/ABI.md, "Decision cache"). */
	const char *varies;
};

extern const struct wa_hook_abi wa_hooks[WA_HOOK_COUNT];
extern const struct wa_import_abi wa_imports[];
extern const unsigned wa_import_count;

#endif
