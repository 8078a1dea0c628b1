/* Every cap the plugin enforces, in one place. Values marked "option" are defaults that
 * mosquitto.conf can lower or raise (plugin_opt_<name>); the rest are hard ceilings. */
#ifndef WASM_AUTH_LIMITS_H
#define WASM_AUTH_LIMITS_H

/* Module gate */
#define WA_MAX_MODULE_BYTES (8u * 1024u * 1024u) /* option wasm_max_module_bytes */
#define WA_MAX_MEMORY_PAGES 256u                 /* option wasm_max_memory_pages (16 MiB) */
#define WA_MAX_TABLE_ELEMS  10000u               /* option wasm_max_table_elems */
#define WA_MAX_FUNCTIONS    50000u               /* option wasm_max_functions (defined + imported) */
#define WA_MAX_GLOBALS      1000u                /* option wasm_max_globals (defined + imported) */
#define WA_MAX_DATA_BYTES   (4u * 1024u * 1024u) /* option wasm_max_data_bytes (all segments) */
/* Implementation limits: the gate applies them even with --validate-only, so that a module it
 * accepts is one wasm3 loads (checked by the gate's tests), and to bound its own time and memory.
 * Frames and names are wasm3's validator limits (d_m3ValCtrlDepth, d_m3MaxSaneUtf8Length).
 * Locals and operands share wasm3's compiler budget per function (8000 stack entries, 16000
 * slots; an i64/f64 may take two), so each gets well under half. Arity is far below wasm3's
 * 1000: wasm3's compiled code for a call grows with it (8 MB of calls to a 1000-ary function
 * exhausted 4 GB), and ABI hooks need at most 7 parameters. */
#define WA_MAX_LOCALS_PER_FUNC 4000u  /* parameters + declared locals of one function */
#define WA_MAX_OPERAND_STACK   3000u  /* values on the operand stack of one function */
#define WA_MAX_BLOCK_DEPTH     1000u  /* control frames, the function's own included */
#define WA_MAX_FUNC_ARITY      16u    /* parameters + results of one function type */
#define WA_MAX_NAME_BYTES      10000u /* an import, export or custom section name */

/* Execution */
#define WA_STACK_BYTES      (256u * 1024u)  /* wasm3 value stack per runtime */
#define WA_MAX_NATIVE_STACK (1024u * 1024u) /* C stack wasm3 may use per call */
/* option wasm_fuel: units per request hook call. About 6 ms of guest time here (0.6 ns a unit,
 * docs/SECURITY.md): 9x the default policy's worst check at 65,535-byte fields (1.1M units,
 * tests/policies/fuel.test.ts), and room for one pw_verify at WA_MAX_PW_ITERATIONS (6.4M) or at
 * WA_MAX_PW_ARGON2_KIB (7.4M). A hostile call stops within it: a larger budget lets each failing
 * call run longer, and failing calls then spend the breaker's shares (refusing other clients). */
#define WA_DEFAULT_FUEL       10000000u
#define WA_DEFAULT_TIMEOUT_MS 100u /* option wasm_timeout_ms: wall clock per hook call */
/* defaults of wasm_init_fuel / wasm_init_timeout_ms: these many times the request budget. Init
 * runs off the main thread (worker.c), once per start or reload: 4e9 units (~2.4 s here) parse
 * the default policy's 100k users and 200k rules (1.6e9) with room to spare, and stay under the
 * init timeout. */
#define WA_INIT_FUEL_FACTOR       400u
#define WA_INIT_TIMEOUT_FACTOR    100u
#define WA_REBUILD_BACKOFF_MS     1000u  /* after a failed re-creation, the first wait; doubles */
#define WA_REBUILD_BACKOFF_MAX_MS 60000u /* ... up to this */
#define WA_DEFAULT_CPU_SHARE      50u    /* option wasm_cpu_share: percent of broker time */
/* option wasm_client_share: percent of broker time one client's requests may take; either share
 * may be used at once up to wasm_timeout_ms (a client) or twice it (the policy) */
#define WA_DEFAULT_CLIENT_SHARE 10u

/* Host buffers */
#define WA_MAX_FIELD_BYTES            65535u          /* MQTT string fields are at most this long */
#define WA_MAX_PAYLOAD_BYTES          (1024u * 1024u) /* option wasm_max_payload */
#define WA_INITIAL_REQUEST_BUFFER     4096u
#define WA_MAX_LOG_BYTES              1024u /* one log line from the guest */
#define WA_MAX_OPTIONS                256u
#define WA_LOG_QUEUE_LINES            256u /* log lines a worker thread may queue between flushes */
#define WA_MAX_OPTION_FILE_BYTES      (16u * 1024u * 1024u)
#define WA_OPTION_FILE_LOG_KEY_BYTES  64u  /* an option file warning shows this much of the key */
#define WA_OPTION_FILE_LOG_PATH_BYTES 256u /* ... and of the path */
#define WA_MAX_PSK_KEY_CHARS          512u /* hex chars; mosquitto allows 64 bytes of key */
#define WA_ERROR_LOG_INTERVAL_S       10u  /* rate limit for per-request failure logs */
/* pw_verify: PBKDF2 iterations a $7$ hash may ask for; one call must fit well inside
 * wasm_timeout_ms on a small device (4 ms here, ~40 ms 10x slower) and in the default fuel
 * (docs/SECURITY.md); above it: no match */
#define WA_MAX_PW_ITERATIONS 10000u
#define WA_MAX_PW_SALT_BYTES 256u /* pw_verify: decoded salt */
/* pw_verify: an $argon2id$ hash's m x t (KiB of memory times passes: the blocks filled, on one
 * thread); t >= 1, so also its memory. mosquitto_passwd 2.1's m=47104,t=1,p=1 takes 48 ms here,
 * half of wasm_timeout_ms; above it: no match */
#define WA_MAX_PW_ARGON2_KIB   49152u
#define WA_MAX_PW_ARGON2_LANES 8u /* ... and its p (lanes, filled one after another) */
/* option_file_read_at: the guest holds one chunk at a time, never the whole file, so a file may
 * be larger than its memory; this bounds the time an init hook can spend reading one. During one
 * init hook call the host keeps up to WA_OPTION_FILE_STREAMS files open (the one opened first is
 * closed for a new one), so that every chunk of a file comes from the same open file. */
#define WA_MAX_OPTION_FILE_STREAM_BYTES (1024u * 1024u * 1024u)
#define WA_OPTION_FILE_STREAMS          4u

/* jwt_verify (docs/ABI.md, "JWT"). A token's three parts are decoded into host buffers sized by
 * WA_MAX_JWT_BYTES; keys come from files read at init only (up to WA_JWT_KEY_OPTIONS key
 * options per policy, each file at most WA_JWT_MAX_KEY_FILE_BYTES and WA_JWT_MAX_KEYS keys).
 * RSA keys between 2048 and 4096 bits (shorter ones are weak; longer ones would make one
 * verification cost more than the price below covers); HMAC secrets of at least 32 bytes
 * (RFC 7518 3.2: as long as HS256's hash). */
#define WA_MAX_JWT_BYTES          8192u
#define WA_JWT_MAX_KID_BYTES      256u
#define WA_JWT_MAX_SIG_BYTES      512u /* an RSA-4096 signature */
#define WA_JWT_MAX_KEYS           32u
#define WA_JWT_MAX_KEY_FILE_BYTES (1024u * 1024u)
#define WA_JWT_KEY_OPTIONS        8u
#define WA_JWT_MIN_RSA_BITS       2048u
#define WA_JWT_MAX_RSA_BITS       4096u
#define WA_JWT_MIN_SECRET_BYTES   32u
#define WA_JWT_MAX_SECRET_BYTES   1024u
#define WA_JWT_LOG_KID_BYTES      64u /* a jwt_verify warning shows this much of a kid */

/* Guest logging (log, trace and pw_verify's warning), per policy: token buckets refilled at
 * these rates up to the burst; lines over the limit are dropped and counted (the first drop of a
 * flood says so), and the next line let through is preceded by "N guest log lines (B bytes)
 * suppressed". Bytes are the line's text after conversion, truncation to WA_MAX_LOG_BYTES and
 * sanitising. */
#define WA_LOG_LINES_PER_S 20u
#define WA_LOG_BYTES_PER_S 8192u
#define WA_LOG_BURST_LINES 100u
#define WA_LOG_BURST_BYTES 32768u

/* Host function prices, in fuel units (the gate's metering: about one wasm instruction, 0.4-0.8
 * ns of wasm3 on the project machine), so that fuel ~ time: plugin-c/tests/calibrate_hostfns.c
 * measures both. Every call pays WA_FUEL_HOST_CALL on entry, before anything else; the parts
 * that depend on sizes are paid once the sizes are known, before the work. "_32" prices are per
 * 32 bytes (rounded up). Table: docs/SECURITY.md, "Host function prices". */
#define WA_FUEL_HOST_CALL        10u   /* every host call */
#define WA_FUEL_COPY_32          1u    /* bytes copied: client_id/client_address, option file reads */
#define WA_FUEL_SCAN_32          16u   /* bytes compared or parsed: topic_matches_sub, a pw_verify hash */
#define WA_FUEL_TEXT_32          40u   /* guest text converted and sanitised: log, trace */
#define WA_FUEL_HASH_32          48u   /* bytes hashed once with SHA-512: pw_verify's password */
#define WA_FUEL_LOG_LINE         1000u /* a log or trace line, written or dropped by the rate limit */
#define WA_FUEL_TRACE_ARG        300u  /* each number a trace line formats */
#define WA_FUEL_PW_VERIFY        1000u /* pw_verify's fixed work (a SHA-512 digest set up and run) */
#define WA_FUEL_PBKDF2           2000u /* a $7$ hash's PBKDF2 set-up (HMAC key, OpenSSL fetches) */
#define WA_FUEL_PBKDF2_ITERATION 640u  /* one PBKDF2-HMAC-SHA512 iteration (~375 ns here) */
#define WA_FUEL_OPEN_FILE        3500u /* option_file_*: open, fstat, close */
#define WA_FUEL_SEED             400u  /* seed: getrandom */
#define WA_FUEL_CLOCK            50u   /* Date.now: clock_gettime */
/* pw_verify of an $argon2id$ hash: its set-up (H0, each lane's first blocks, the output), then
 * each KiB block of each pass (m x t). Priced below its time (~0.95 us a block here at 46 MiB,
 * which the time rate would make ~1,600 units): memory-hard by design, one verification at the
 * cap takes ~45 ms, and at the time rate it would need 8x the default wasm_fuel. At this price
 * one fits the default budget and a second does not; with a raised wasm_fuel the deadline bounds
 * a loop of them (the watchdog drives the fuel below zero, and the next charge traps), so a call
 * ends within one verification of its deadline. */
#define WA_FUEL_ARGON2     25000u
#define WA_FUEL_ARGON2_KIB 150u
/* jwt_verify: one signature check by algorithm class, paid with the signed bytes' hashing
 * (WA_FUEL_HASH_32) once the header has named the algorithm and the key is chosen; the token's
 * decoding and parsing are paid per byte (WA_FUEL_SCAN_32) first. Whole calls measured here
 * (docs/SECURITY.md): HS256 1.8 us, RS256-2048 17-20 us, RS256-4096 55 us, ES256 49 us, ES384
 * 500 us, EdDSA 73 us. */
#define WA_FUEL_JWT_HMAC    3000u   /* HS*: HMAC set-up and compare */
#define WA_FUEL_JWT_RSA_1K2 8000u   /* RS*, PS*: per (modulus bits / 1024)^2: 32000 at 2048 */
#define WA_FUEL_JWT_P256    85000u  /* ES256 */
#define WA_FUEL_JWT_P384    850000u /* ES384 */
#define WA_FUEL_JWT_ED25519 125000u /* EdDSA */
#define WA_FUEL_JWT_KEY     160000u /* building one key from a key file (PEM or JWK decode, point checks) */

/* Events and deferred actions (docs/ABI.md, "Events", "Deferred actions"). */
#define WA_DEFAULT_TICK_MS 1000u /* option wasm_tick_ms: on_tick at most this often; 0 = never */
/* $SYS metrics (broker/metrics.h): published every wasm_sys_interval seconds, mosquitto's own
 * sys_interval default; at most WA_METRICS_MAX_TOPICS topics, each name and value bounded. */
#define WA_DEFAULT_SYS_INTERVAL_S 10u
#define WA_MAX_SYS_INTERVAL_S     86400u
#define WA_METRICS_MAX_TOPICS     160u
#define WA_METRICS_TOPIC_BYTES    96u
#define WA_METRICS_VALUE_BYTES    256u
/* kick_client + kick_user, per policy: a token bucket refilled at WA_KICKS_PER_S up to
 * WA_KICKS_BURST; beyond it a kick is refused (-1). Likewise publish. */
#define WA_KICKS_PER_S            10u
#define WA_KICKS_BURST            20u
#define WA_PUBLISHES_PER_S        100u
#define WA_PUBLISHES_BURST        200u
#define WA_ACTION_QUEUE_ENTRIES   256u                 /* actions queued between two drains (main thread, each tick) */
#define WA_ACTION_QUEUE_BYTES     (4u * 1024u * 1024u) /* their copied ids, topics and payloads */
#define WA_ACTION_LOG_TOPIC_BYTES 64u                  /* a refusal warning shows this much of the topic or id */
#define WA_FUEL_ACTION            500u /* kick_client, kick_user, publish: validation, queueing, the later call */
/* Revocation (docs/ABI.md, "Revocation"): the sessions tracked for session_check (beyond it a
 * session is not asked after a reload; the broker's own memory per client is larger), and how
 * many are asked per MOSQ_EVT_TICK (each a guest call through the breaker, paid like on_tick). */
#define WA_MAX_SESSIONS            (4u * 1024u * 1024u)
#define WA_SESSION_CHECKS_PER_TICK 256u
#define WA_REVOKE_LOG_LINES        10u /* disconnections named in the log per pass; the pass's last line counts all */

/* Record and replay (README "Operating"): wasm_record's file is renamed to FILE.1 (replacing the
 * previous one) once it would grow beyond wasm_record_max_bytes; records wait in a buffer of
 * WA_RECORD_BUFFER_BYTES (written when full and at every tick). A record holds a topic and, with
 * wasm_record_payloads on, a payload of at most WA_RECORD_PAYLOAD_BYTES (larger: left out, and
 * the record says so). */
#define WA_DEFAULT_RECORD_MAX_BYTES (64u * 1024u * 1024u)
#define WA_RECORD_MIN_BYTES         (1024u * 1024u)
#define WA_RECORD_BUFFER_BYTES      (256u * 1024u)
#define WA_RECORD_PAYLOAD_BYTES     (64u * 1024u)
/* Message hook (docs/ABI.md, "Message hook"): message_set_payload copies at most
 * wasm_max_payload bytes, message_set_topic at most WA_MAX_FIELD_BYTES (paid as scanned). */
#define WA_FUEL_REWRITE_COPY_32 2u /* per 32 payload bytes: copied twice, staged and handed to the broker */

/* MQTT 5 enhanced authentication (docs/ABI.md, "Enhanced authentication"): the AUTH data a
 * hook receives or hands back with auth_data_out (mosquitto's data lengths are uint16_t). */
#define WA_MAX_AUTH_DATA_BYTES 65535u
/* sha256, hmac_sha256, pbkdf2_sha256 (docs/ABI.md, "Crypto"): input bytes per argument (above:
 * refused, nothing hashed) and PBKDF2 iterations (RFC 7677 asks at least 4096; above the cap or
 * 0: refused). Prices: the bytes hashed at WA_FUEL_HASH_32, a digest's set-up at WA_FUEL_DIGEST,
 * each PBKDF2-HMAC-SHA256 iteration (two SHA-256 compressions) at WA_FUEL_PBKDF2_SHA256_ITERATION. */
#define WA_MAX_CRYPTO_INPUT_BYTES       (1024u * 1024u)
#define WA_MAX_PBKDF2_SHA256_ITERATIONS 20000u
#define WA_FUEL_DIGEST                  1000u
#define WA_FUEL_PBKDF2_SHA256_ITERATION 400u

/* ACL decision cache (option wasm_acl_cache, only for policies that export
 * wasm_auth_acl_cacheable() returning 1 and the 4-argument acl_check). */
#define WA_ACL_CACHE_ENTRIES     32u  /* per client, in two-way sets; a power of two */
#define WA_ACL_CACHE_TOPIC_BYTES 256u /* longer topics are never cached */
/* all clients' entries and identities together; whole clients are evicted beyond it */
#define WA_ACL_CACHE_MAX_BYTES (16u * 1024u * 1024u)
#define WA_ACL_CACHE_BUCKETS   4096u /* client hash table size; a power of two */
/* Adaptive bypass: a client whose last WA_ACL_CACHE_WINDOW lookups hit less than
 * WA_ACL_CACHE_MIN_HIT_PERCENT of the time (a miss and its store cost about 40% of what a hit
 * saves: docs/BENCHMARKS.md) skips the cache for its next BYPASS_MIN checks, doubling up to
 * BYPASS_MAX while its hits stay rare; a window that hits often enough resets it. */
#define WA_ACL_CACHE_WINDOW          64u
#define WA_ACL_CACHE_MIN_HIT_PERCENT 25u
#define WA_ACL_CACHE_BYPASS_MIN      1024u
#define WA_ACL_CACHE_BYPASS_MAX      65536u
/* And for every client at once, so that bypassing costs nothing: when the checks since the last
 * verdict that hit or bypassed (at least WA_ACL_CACHE_JUDGE_LOOKUPS) hit less than
 * WA_ACL_CACHE_GATE_HIT_PERCENT of the time, no check consults the cache for OFF_MIN_MS, doubling
 * up to OFF_MAX_MS while that stays so (struct wa_acl_cache_gate). A bypass costs about 40 Ir, a
 * hit saves 200 (a trivial policy) to 1,000 and more: below a few percent of hits, the bypasses
 * cost more than the hits save. Misses are not counted: a cache warming up misses, and a client
 * whose misses go on starts bypassing. */
#define WA_ACL_CACHE_JUDGE_LOOKUPS    128u
#define WA_ACL_CACHE_GATE_HIT_PERCENT 3u
#define WA_ACL_CACHE_OFF_MIN_MS       10000u
#define WA_ACL_CACHE_OFF_MAX_MS       160000u
/* Grants (docs/ABI.md "Grants"), per client; the host's copy counts towards
 * WA_ACL_CACHE_MAX_BYTES with the client's cached decisions. */
#define WA_GRANTS_MAX_ENTRIES 4096u
#define WA_GRANTS_MAX_BYTES   (256u * 1024u) /* filter bytes */
/* Matching is native and unmetered: a check that needs the general matcher (a filter that is
 * not short, grants.c) and whose entries x (topic bytes + 16) exceed this (about 0.1 ms of
 * matching here) is asked of acl_check, which the fuel, the deadline and the breaker bound. A
 * short filter costs one compare. The default policy's grants are a few entries: far below it. */
#define WA_GRANTS_MAX_WORK (256u * 1024u)

/* Decision reasons and the audit log (docs/ABI.md "Reasons", README "Operating"). set_reason
 * keeps at most WA_MAX_REASON_BYTES of UTF-8 (a longer reason is cut at a character boundary).
 * Audit records are rate-limited per plugin: a token bucket refilled at WA_AUDIT_LINES_PER_S up
 * to WA_AUDIT_BURST_LINES; records over it are counted, and the next one written is preceded by
 * "N audit lines suppressed". Each string field of a record is cut at WA_AUDIT_FIELD_BYTES;
 * the file is written through a buffer of WA_AUDIT_BUFFER_BYTES, flushed when full and on every
 * tick. set_reason pays WA_FUEL_HOST_CALL and WA_FUEL_SCAN_32 per 32 bytes it looks at. */
#define WA_MAX_REASON_BYTES   128u
#define WA_AUDIT_LINES_PER_S  100u
#define WA_AUDIT_BURST_LINES  200u
#define WA_AUDIT_FIELD_BYTES  256u
#define WA_AUDIT_BUFFER_BYTES (64u * 1024u)

/* Shadow rollout (option wasm_shadow_module, plugin-c/broker/shadow.h). The shadow pays from one
 * bucket of its own, refilled at wasm_shadow_share percent of broker time up to wasm_timeout_ms;
 * an empty bucket skips the shadow (the live decision is never held up for it). Disagreement
 * lines: a token bucket of WA_SHADOW_LOG_BURST lines refilled at WA_SHADOW_LOG_PER_S; the next
 * line after a drop says how many were not logged. Each client id, username, topic or identity
 * in such a line is cut to WA_SHADOW_LOG_FIELD_BYTES. */
#define WA_DEFAULT_SHADOW_SHARE   10u /* option wasm_shadow_share: percent of broker time */
#define WA_SHADOW_LOG_PER_S       2u
#define WA_SHADOW_LOG_BURST       20u
#define WA_SHADOW_LOG_FIELD_BYTES 128u

/* Login thread (option wasm_login_thread, mosquitto 2.1 builds; plugin-c/broker/login.h): logins
 * submitted and not yet completed on the main thread (beyond it a login is checked on the main
 * thread, as without the option); how often the idle login thread looks at its instance's build
 * (load, reload, re-creation); the tick asked of mosquitto while answers are awaited; a failure's
 * reason kept for the audit. */
#define WA_LOGIN_QUEUE         64u
#define WA_LOGIN_POLL_MS       50u
#define WA_LOGIN_TICK_MS       1u
#define WA_LOGIN_FAILURE_BYTES 256u

#endif
