/* Every cap the plugin enforces, in one place. Values marked "option" are defaults that
 * mosquitto.conf can lower or raise (plugin_opt_<name>); the rest are hard ceilings. */
#ifndef WASM_AUTH_LIMITS_H
#define WASM_AUTH_LIMITS_H

#define WA_ABI_VERSION            1

/* Module gate */
#define WA_MAX_MODULE_BYTES       (8u * 1024u * 1024u)   /* option wasm_max_module_bytes */
#define WA_MAX_MEMORY_PAGES       256u                   /* option wasm_max_memory_pages (16 MiB) */
#define WA_MAX_TABLE_ELEMS        10000u
#define WA_MAX_FUNCTIONS          50000u
#define WA_MAX_GLOBALS            1000u
#define WA_MAX_DATA_BYTES         (4u * 1024u * 1024u)
#define WA_MAX_LOCALS_PER_FUNC    50000u
#define WA_MAX_BLOCK_DEPTH        1024u                  /* nested blocks per function: wasm3 compiles them recursively */

/* Execution */
#define WA_STACK_BYTES            (256u * 1024u)         /* wasm3 value stack per runtime */
#define WA_MAX_NATIVE_STACK       (1024u * 1024u)        /* C stack wasm3 may use per call */
#define WA_DEFAULT_FUEL           10000000u              /* option wasm_fuel: units per hook call */
#define WA_DEFAULT_TIMEOUT_MS     100u                   /* option wasm_timeout_ms: wall clock per hook call */

/* Host buffers */
#define WA_MAX_FIELD_BYTES        65535u                 /* MQTT string fields are at most this long */
#define WA_MAX_PAYLOAD_BYTES      (1024u * 1024u)        /* option wasm_max_payload */
#define WA_INITIAL_REQUEST_BUFFER 4096u
#define WA_MAX_LOG_BYTES          1024u                  /* one log line from the guest */
#define WA_MAX_OPTIONS            256u
#define WA_MAX_OPTION_FILE_BYTES  (16u * 1024u * 1024u)
#define WA_MAX_PSK_KEY_CHARS      512u                   /* hex chars; mosquitto allows 64 bytes of key */
#define WA_ERROR_LOG_INTERVAL_S   10u                    /* rate limit for per-request failure logs */

#endif
