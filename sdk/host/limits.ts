// The values of plugin-c/runtime/wa_limits.h that the Node host uses too. A test (test/parity.test.ts) reads
// wa_limits.h and checks every value here against it, so the two hosts cannot drift apart; wa_limits.h
// constants the Node host has no use for (the watchdog's, the breaker's, the worker thread's,
// the ACL cache's) are not repeated here.

export const WA_ABI_VERSION = 1;
export const WA_MAX_MODULE_BYTES = 8 * 1024 * 1024;
export const WA_MAX_MEMORY_PAGES = 256;
export const WA_MAX_TABLE_ELEMS = 10000;
export const WA_MAX_FUNCTIONS = 50000;
export const WA_MAX_GLOBALS = 1000;
export const WA_MAX_DATA_BYTES = 4 * 1024 * 1024;
export const WA_STACK_BYTES = 256 * 1024;
export const WA_DEFAULT_FUEL = 10000000;
export const WA_DEFAULT_TIMEOUT_MS = 100;
export const WA_INIT_FUEL_FACTOR = 400;
export const WA_INIT_TIMEOUT_FACTOR = 100;
export const WA_DEFAULT_CLIENT_SHARE = 10;
export const WA_DEFAULT_CPU_SHARE = 50;
export const WA_MAX_FIELD_BYTES = 65535;
export const WA_MAX_PAYLOAD_BYTES = 1024 * 1024;
export const WA_INITIAL_REQUEST_BUFFER = 4096;
export const WA_MAX_LOG_BYTES = 1024;
export const WA_MAX_OPTIONS = 256;
export const WA_MAX_OPTION_FILE_BYTES = 16 * 1024 * 1024;
export const WA_MAX_OPTION_FILE_STREAM_BYTES = 1024 * 1024 * 1024;
export const WA_OPTION_FILE_STREAMS = 4;
export const WA_OPTION_FILE_LOG_KEY_BYTES = 64;
export const WA_OPTION_FILE_LOG_PATH_BYTES = 256;
export const WA_MAX_PSK_KEY_CHARS = 512;
export const WA_GRANTS_MAX_ENTRIES = 4096;
export const WA_GRANTS_MAX_BYTES = 256 * 1024;
export const WA_GRANTS_MAX_WORK = 256 * 1024;
export const WA_ERROR_LOG_INTERVAL_S = 10;
export const WA_MAX_PW_ITERATIONS = 10000;
export const WA_MAX_PW_SALT_BYTES = 256;
export const WA_MAX_PW_ARGON2_KIB = 49152;
export const WA_MAX_PW_ARGON2_LANES = 8;

// set_reason keeps at most this many bytes of UTF-8 (docs/ABI.md, "Reasons").
export const WA_MAX_REASON_BYTES = 128;

// jwt_verify (docs/ABI.md, "JWT").
export const WA_MAX_JWT_BYTES = 8192;
export const WA_JWT_MAX_KID_BYTES = 256;
export const WA_JWT_MAX_SIG_BYTES = 512;
export const WA_JWT_MAX_KEYS = 32;
export const WA_JWT_MAX_KEY_FILE_BYTES = 1024 * 1024;
export const WA_JWT_KEY_OPTIONS = 8;
export const WA_JWT_MIN_RSA_BITS = 2048;
export const WA_JWT_MAX_RSA_BITS = 4096;
export const WA_JWT_MIN_SECRET_BYTES = 32;
export const WA_JWT_MAX_SECRET_BYTES = 1024;
export const WA_JWT_LOG_KID_BYTES = 64;

// Guest logging (log, trace, pw_verify's warning): rate limit per policy (docs/SECURITY.md).
export const WA_LOG_LINES_PER_S = 20;
export const WA_LOG_BYTES_PER_S = 8192;
export const WA_LOG_BURST_LINES = 100;
export const WA_LOG_BURST_BYTES = 32768;

// Host function prices in fuel units (docs/SECURITY.md, "Host function prices"); _32 = per 32 bytes.
export const WA_FUEL_HOST_CALL = 10;
export const WA_FUEL_COPY_32 = 1;
export const WA_FUEL_SCAN_32 = 16;
export const WA_FUEL_TEXT_32 = 40;
export const WA_FUEL_HASH_32 = 48;
export const WA_FUEL_LOG_LINE = 1000;
export const WA_FUEL_TRACE_ARG = 300;
export const WA_FUEL_PW_VERIFY = 1000;
export const WA_FUEL_PBKDF2 = 2000;
export const WA_FUEL_PBKDF2_ITERATION = 640;
export const WA_FUEL_ARGON2 = 25000;
export const WA_FUEL_ARGON2_KIB = 150;
export const WA_FUEL_OPEN_FILE = 3500;
export const WA_FUEL_SEED = 400;
export const WA_FUEL_CLOCK = 50;

// Events and deferred actions (docs/ABI.md, "Events", "Deferred actions").
export const WA_DEFAULT_TICK_MS = 1000;
export const WA_DEFAULT_RECORD_MAX_BYTES = 64 * 1024 * 1024;
export const WA_RECORD_MIN_BYTES = 1024 * 1024;
// The broker's $SYS metrics (plugin-c/broker/metrics.h): the option is checked, nothing is published.
export const WA_DEFAULT_SYS_INTERVAL_S = 10;
export const WA_MAX_SYS_INTERVAL_S = 86400;
export const WA_KICKS_PER_S = 10;
export const WA_KICKS_BURST = 20;
export const WA_PUBLISHES_PER_S = 100;
export const WA_PUBLISHES_BURST = 200;
export const WA_ACTION_QUEUE_ENTRIES = 256;
export const WA_ACTION_QUEUE_BYTES = 4 * 1024 * 1024;
export const WA_ACTION_LOG_TOPIC_BYTES = 64;
export const WA_FUEL_ACTION = 500;
export const WA_FUEL_REWRITE_COPY_32 = 2;
export const WA_FUEL_JWT_HMAC = 3000;
export const WA_FUEL_JWT_RSA_1K2 = 8000;
export const WA_FUEL_JWT_P256 = 85000;
export const WA_FUEL_JWT_P384 = 850000;
export const WA_FUEL_JWT_ED25519 = 125000;
export const WA_FUEL_JWT_KEY = 160000;

// Shadow rollout (plugin-only: the Node host runs one policy; the option is checked as the plugin does).
export const WA_DEFAULT_SHADOW_SHARE = 10;
// MQTT 5 enhanced authentication and the crypto imports (docs/ABI.md, "Enhanced authentication", "Crypto").
export const WA_MAX_AUTH_DATA_BYTES = 65535;
export const WA_MAX_CRYPTO_INPUT_BYTES = 1024 * 1024;
export const WA_MAX_PBKDF2_SHA256_ITERATIONS = 20000;
export const WA_FUEL_DIGEST = 1000;
export const WA_FUEL_PBKDF2_SHA256_ITERATION = 400;
