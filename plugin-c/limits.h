/* Every cap the plugin enforces, in one place. Values marked "option" are defaults that
 * mosquitto.conf can lower or raise (plugin_opt_<name>); the rest are hard ceilings. */
#ifndef WASM_AUTH_LIMITS_H
#define WASM_AUTH_LIMITS_H

#define WA_ABI_VERSION            1

/* Module gate */
#define WA_MAX_MODULE_BYTES       (8u * 1024u * 1024u)   /* option wasm_max_module_bytes */
#define WA_MAX_MEMORY_PAGES       256u                   /* option wasm_max_memory_pages (16 MiB) */
#define WA_MAX_TABLE_ELEMS        10000u                 /* option wasm_max_table_elems */
#define WA_MAX_FUNCTIONS          50000u                 /* option wasm_max_functions (defined + imported) */
#define WA_MAX_GLOBALS            1000u                  /* option wasm_max_globals (defined + imported) */
#define WA_MAX_DATA_BYTES         (4u * 1024u * 1024u)   /* option wasm_max_data_bytes (all segments) */
/* Implementation limits: the gate applies them even with --validate-only, so that a module it
 * accepts is one wasm3 loads (checked by the gate's tests), and to bound its own time and memory.
 * Frames and names are wasm3's validator limits (d_m3ValCtrlDepth, d_m3MaxSaneUtf8Length).
 * Locals and operands share wasm3's compiler budget per function (8000 stack entries, 16000
 * slots; an i64/f64 may take two), so each gets well under half. Arity is far below wasm3's
 * 1000: wasm3's compiled code for a call grows with it (8 MB of calls to a 1000-ary function
 * exhausted 4 GB), and ABI hooks need at most 7 parameters. */
#define WA_MAX_LOCALS_PER_FUNC    4000u                  /* parameters + declared locals of one function */
#define WA_MAX_OPERAND_STACK      3000u                  /* values on the operand stack of one function */
#define WA_MAX_BLOCK_DEPTH        1000u                  /* control frames, the function's own included */
#define WA_MAX_FUNC_ARITY         16u                    /* parameters + results of one function type */
#define WA_MAX_NAME_BYTES         10000u                 /* an import, export or custom section name */

/* Execution */
#define WA_STACK_BYTES            (256u * 1024u)         /* wasm3 value stack per runtime */
#define WA_MAX_NATIVE_STACK       (1024u * 1024u)        /* C stack wasm3 may use per call */
#define WA_DEFAULT_FUEL           10000000u              /* option wasm_fuel: units per hook call */
#define WA_DEFAULT_TIMEOUT_MS     100u                   /* option wasm_timeout_ms: wall clock per hook call */
#define WA_INIT_BUDGET_FACTOR     100u                   /* defaults of wasm_init_fuel / wasm_init_timeout_ms:
                                                            this many times the request budget */
#define WA_REBUILD_BACKOFF_MS     1000u                  /* after a failed re-creation, the first wait; doubles */
#define WA_REBUILD_BACKOFF_MAX_MS 60000u                 /* ... up to this */
#define WA_DEFAULT_CPU_SHARE      50u                    /* option wasm_cpu_share: percent of broker time */
#define WA_DEFAULT_CLIENT_SHARE   10u                    /* option wasm_client_share: percent of broker time
                                                            one client's requests may take; either share may
                                                            be used at once up to wasm_timeout_ms (a client)
                                                            or twice it (the policy) */

/* Host buffers */
#define WA_MAX_FIELD_BYTES        65535u                 /* MQTT string fields are at most this long */
#define WA_MAX_PAYLOAD_BYTES      (1024u * 1024u)        /* option wasm_max_payload */
#define WA_INITIAL_REQUEST_BUFFER 4096u
#define WA_MAX_LOG_BYTES          1024u                  /* one log line from the guest */
#define WA_MAX_OPTIONS            256u
#define WA_LOG_QUEUE_LINES        256u                   /* log lines a worker thread may queue between flushes */
#define WA_MAX_OPTION_FILE_BYTES  (16u * 1024u * 1024u)
#define WA_MAX_PSK_KEY_CHARS      512u                   /* hex chars; mosquitto allows 64 bytes of key */
#define WA_ERROR_LOG_INTERVAL_S   10u                    /* rate limit for per-request failure logs */
#define WA_MAX_PW_ITERATIONS      1000000u               /* pw_verify: PBKDF2 iterations a $7$ hash may ask for */
#define WA_MAX_PW_SALT_BYTES      256u                   /* pw_verify: decoded salt */

/* ACL decision cache (option wasm_acl_cache, only for policies that export
 * wasm_auth_acl_cacheable() returning 1 and the 4-argument acl_check). */
#define WA_ACL_CACHE_ENTRIES      32u                    /* per client, in two-way sets; a power of two */
#define WA_ACL_CACHE_TOPIC_BYTES  256u                   /* longer topics are never cached */
#define WA_ACL_CACHE_MAX_BYTES    (16u * 1024u * 1024u)  /* all clients' entries and identities together;
                                                            whole clients are evicted beyond it */
#define WA_ACL_CACHE_BUCKETS      4096u                  /* client hash table size; a power of two */

#endif
