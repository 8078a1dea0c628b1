// The values of plugin-c/limits.h that the Node host uses too. A test (test/parity.test.ts) reads
// limits.h and checks every value here against it, so the two hosts cannot drift apart; limits.h
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
export const WA_INIT_BUDGET_FACTOR = 100;
export const WA_DEFAULT_CLIENT_SHARE = 10;
export const WA_DEFAULT_CPU_SHARE = 50;
export const WA_MAX_FIELD_BYTES = 65535;
export const WA_MAX_PAYLOAD_BYTES = 1024 * 1024;
export const WA_INITIAL_REQUEST_BUFFER = 4096;
export const WA_MAX_LOG_BYTES = 1024;
export const WA_MAX_OPTIONS = 256;
export const WA_MAX_OPTION_FILE_BYTES = 16 * 1024 * 1024;
export const WA_MAX_PSK_KEY_CHARS = 512;
export const WA_ERROR_LOG_INTERVAL_S = 10;
export const WA_MAX_PW_ITERATIONS = 1000000;
export const WA_MAX_PW_SALT_BYTES = 256;
