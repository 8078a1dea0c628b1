/* Plugin options: an owned copy of every plugin_opt_* / auth_opt_* pair (prefix stripped, in
 * configuration order: the policy sees them all as its Options), and the host's own settings
 * parsed from them. */
#ifndef WASM_AUTH_OPTIONS_H
#define WASM_AUTH_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "abi.h"
#include "../gate/gate.h"

struct wa_kv {
	const char *key;
	const char *value;
};

struct wa_opt {
	char *key;
	size_t keylen;
	char *value;
	size_t valuelen;
};

struct wa_options {
	unsigned count;
	struct wa_opt *items;
};

/* wasm_audit: which decisions get an audit record (README, "Operating"). */
enum wa_audit_level { WA_AUDIT_OFF, WA_AUDIT_DENY, WA_AUDIT_ALL };

/* The host's settings (docs/ABI.md, wa_limits.h). */
struct wa_config {
	const char *module_path;   /* wasm_module (required), points into the options */
	enum wa_decision on_error; /* wasm_on_error: deny (default) | defer */
	struct wa_gate_caps
	    caps; /* wasm_max_module_bytes, _memory_pages, _table_elems, _functions, _globals, _data_bytes */
	uint32_t max_payload;     /* wasm_max_payload */
	int64_t fuel;             /* wasm_fuel: per request hook call */
	uint32_t timeout_ms;      /* wasm_timeout_ms: per request hook call */
	int64_t init_fuel;        /* wasm_init_fuel: per lifecycle hook call (start, plugin_init, ...) */
	uint32_t init_timeout_ms; /* wasm_init_timeout_ms: per lifecycle hook call, and a whole load */
	uint32_t
	    client_share;   /* wasm_client_share: percent of broker time one client's requests may take (breaker.h) */
	uint32_t cpu_share; /* wasm_cpu_share: percent of broker time the policy may take (breaker.h) */
	int acl_cache;      /* wasm_acl_cache: on (default; used only if the policy opts in) | off */
	int acl_grants;     /* wasm_acl_grants: on (default; with acl_cache, if the policy exports grants) | off */
	uint32_t tick_ms;   /* wasm_tick_ms: on_tick at most this often (ms); 0 = never */
	/* wasm_publish_prefix: the topic level(s) under which the policy may publish, without a
	 * trailing '/', pointing into the options; NULL = publish refused (not set). */
	const char *publish_prefix;
	size_t publish_prefix_len;
	const char *record_path;   /* wasm_record: the file requests are recorded to; NULL = off */
	int record_payloads;       /* wasm_record_payloads: off (default) | on */
	uint64_t record_max_bytes; /* wasm_record_max_bytes: the file is rotated beyond this */
	uint32_t sys_interval_s;   /* wasm_sys_interval: $SYS/broker/wasm-auth/ metrics every this many s; 0 = off */
	enum wa_audit_level audit; /* wasm_audit: off (default) | deny | all */
	const char *audit_file;    /* wasm_audit_file: JSON lines appended here; NULL = mosquitto's log */
	/* wasm_shadow_module: a second policy asked every request after the live one (shadow.h);
	 * NULL = none. Points into the options. */
	const char *shadow_module;
	uint32_t shadow_share; /* wasm_shadow_share: percent of broker time the shadow may take */
	int login_thread;      /* wasm_login_thread: off (default) | on (mosquitto 2.1 builds, broker/login.h) */
	/* Set by the embedder, not an option: starts the policy's own failure lines, so that the
	 * shadow's are told from the live policy's. NULL = nothing. */
	const char *log_prefix;
};

#define WA_OPT_MODULE           "wasm_module"
#define WA_OPT_ON_ERROR         "wasm_on_error"
#define WA_OPT_MAX_MODULE_BYTES "wasm_max_module_bytes"
#define WA_OPT_MAX_MEMORY_PAGES "wasm_max_memory_pages"
#define WA_OPT_MAX_TABLE_ELEMS  "wasm_max_table_elems"
#define WA_OPT_MAX_FUNCTIONS    "wasm_max_functions"
#define WA_OPT_MAX_GLOBALS      "wasm_max_globals"
#define WA_OPT_MAX_DATA_BYTES   "wasm_max_data_bytes"
#define WA_OPT_MAX_PAYLOAD      "wasm_max_payload"
#define WA_OPT_FUEL             "wasm_fuel"
#define WA_OPT_TIMEOUT_MS       "wasm_timeout_ms"
#define WA_OPT_ACL_CACHE        "wasm_acl_cache"
#define WA_OPT_ACL_GRANTS       "wasm_acl_grants"
#define WA_OPT_INIT_FUEL        "wasm_init_fuel"
#define WA_OPT_INIT_TIMEOUT_MS  "wasm_init_timeout_ms"
#define WA_OPT_CLIENT_SHARE     "wasm_client_share"
#define WA_OPT_CPU_SHARE        "wasm_cpu_share"
#define WA_OPT_TICK_MS          "wasm_tick_ms"
#define WA_OPT_PUBLISH_PREFIX   "wasm_publish_prefix"
#define WA_OPT_RECORD           "wasm_record"
#define WA_OPT_RECORD_PAYLOADS  "wasm_record_payloads"
#define WA_OPT_RECORD_MAX_BYTES "wasm_record_max_bytes"
#define WA_OPT_SYS_INTERVAL     "wasm_sys_interval"
#define WA_OPT_AUDIT            "wasm_audit"
#define WA_OPT_AUDIT_FILE       "wasm_audit_file"
#define WA_OPT_SHADOW_MODULE    "wasm_shadow_module"
#define WA_OPT_SHADOW_SHARE     "wasm_shadow_share"
#define WA_OPT_LOGIN_THREAD     "wasm_login_thread"

/* Copies n pairs (NULL keys or values count as empty). NULL on allocation failure or when n is
 * above WA_MAX_OPTIONS (err says which). */
struct wa_options *wa_options_new(const struct wa_kv *kv, unsigned n, char *err, size_t errlen);
void wa_options_free(struct wa_options *opts);

/* The last pair with this key (later lines win), or NULL. */
const struct wa_opt *wa_options_find(const struct wa_options *opts, const char *key, size_t keylen);

/* Fills cfg from opts (defaults from wa_limits.h). -1 with err ("option wasm_fuel: ...") if an
 * option is missing or out of range. */
int wa_config_parse(const struct wa_options *opts, struct wa_config *cfg, char *err, size_t errlen);

#endif
