// The host<->guest ABI (docs/ABI.md) as data, mirroring plugin-c/runtime/abi.c: hook exports and host
// imports with their signatures in wasm3's notation ("i(ii)" = (i32,i32)->i32, "v()" = no result,
// F = f64, I = i64, f = f32). A test compares these tables with abi.c.

export const EXPORT_ABI_VERSION = 'wasm_auth_abi_version';
export const EXPORT_BUFFER = 'wasm_auth_buffer';
export const EXPORT_ACL_CACHEABLE = 'wasm_auth_acl_cacheable';
export const EXPORT_MEMORY = 'memory';
export const RESERVED_PREFIX = '__wasm_auth_';

export type HookName =
  | 'plugin_init'
  | 'plugin_cleanup'
  | 'security_init'
  | 'security_cleanup'
  | 'unpwd_check'
  | 'acl_check'
  | 'psk_key_get'
  | 'on_disconnect'
  | 'on_tick'
  | 'session_check'
  | 'on_message'
  | 'ext_auth_start'
  | 'ext_auth_continue'
  | 'on_message_out'
  | 'on_subscribe';

export interface HookAbi {
  name: HookName;
  /** Accepted signatures; the index of the one a module uses tells the host how to call it. */
  signatures: readonly string[];
  isRequest: boolean;
}

export const HOOKS: readonly HookAbi[] = [
  { name: 'plugin_init', signatures: ['v(i)', 'i(i)'], isRequest: false },
  { name: 'plugin_cleanup', signatures: ['v()'], isRequest: false },
  { name: 'security_init', signatures: ['v(ii)', 'i(ii)'], isRequest: false },
  { name: 'security_cleanup', signatures: ['v(i)'], isRequest: false },
  { name: 'unpwd_check', signatures: ['i(ii)'], isRequest: true },
  { name: 'acl_check', signatures: ['i(iiii)', 'i(iiiiiii)'], isRequest: true },
  { name: 'psk_key_get', signatures: ['i(ii)'], isRequest: true },
  { name: 'on_disconnect', signatures: ['v(ii)'], isRequest: false },
  { name: 'on_tick', signatures: ['v()'], isRequest: false },
  { name: 'session_check', signatures: ['i(ii)'], isRequest: false },
  { name: 'on_message', signatures: ['i(iiiiii)'], isRequest: true },
  { name: 'ext_auth_start', signatures: ['i(iii)'], isRequest: false },
  { name: 'ext_auth_continue', signatures: ['i(iii)'], isRequest: false },
  { name: 'on_message_out', signatures: ['i(iiiiii)'], isRequest: false },
  { name: 'on_subscribe', signatures: ['i(iiii)'], isRequest: false },
];

export interface ImportAbi {
  module: string;
  name: string;
  signature: string;
}

export const IMPORTS: readonly ImportAbi[] = [
  { module: 'mosquitto', name: 'topic_matches_sub', signature: 'i(iiii)' },
  { module: 'mosquitto', name: 'log', signature: 'v(iii)' },
  { module: 'mosquitto', name: 'client_id', signature: 'i(ii)' },
  { module: 'mosquitto', name: 'client_address', signature: 'i(ii)' },
  { module: 'mosquitto', name: 'client_protocol_version', signature: 'i()' },
  { module: 'mosquitto', name: 'pw_verify', signature: 'i(iiii)' },
  { module: 'mosquitto', name: 'option_file_size', signature: 'i(ii)' },
  { module: 'mosquitto', name: 'option_file_read', signature: 'i(iiii)' },
  { module: 'mosquitto', name: 'option_file_read_at', signature: 'i(iiIii)' },
  { module: 'mosquitto', name: 'kick_client', signature: 'i(ii)' },
  { module: 'mosquitto', name: 'kick_user', signature: 'i(ii)' },
  { module: 'mosquitto', name: 'publish', signature: 'i(iiiiii)' },
  { module: 'mosquitto', name: 'jwt_verify', signature: 'i(iiiiiii)' },
  { module: 'mosquitto', name: 'message_set_topic', signature: 'v(ii)' },
  { module: 'mosquitto', name: 'message_set_payload', signature: 'v(ii)' },
  { module: 'mosquitto', name: 'message_set_retain', signature: 'v(i)' },
  { module: 'mosquitto', name: 'set_reason', signature: 'i(ii)' },
  { module: 'mosquitto', name: 'reasons_wanted', signature: 'i()' },
  { module: 'mosquitto', name: 'auth_data_out', signature: 'i(ii)' },
  { module: 'mosquitto', name: 'sha256', signature: 'i(iii)' },
  { module: 'mosquitto', name: 'hmac_sha256', signature: 'i(iiiii)' },
  { module: 'mosquitto', name: 'pbkdf2_sha256', signature: 'i(iiiiii)' },
  { module: 'mosquitto', name: 'subscribe_set_topic', signature: 'v(ii)' },
  { module: 'mosquitto', name: 'subscribe_set_qos', signature: 'v(i)' },
  { module: 'env', name: 'abort', signature: 'v(iiii)' },
  { module: 'env', name: 'trace', signature: 'v(iiFFFFF)' },
  { module: 'env', name: 'seed', signature: 'F()' },
  { module: 'env', name: 'Date.now', signature: 'F()' },
];

/** Hook decision values (the i32 a request hook returns). */
export const DECISION_DENY = 0;
export const DECISION_ALLOW = 1;
export const DECISION_DEFER = 2;

/** mosquitto's MOSQ_LOG_* levels, as the guest passes them to `log`. */
export const LOG_INFO = 1;
export const LOG_NOTICE = 2;
export const LOG_WARNING = 4;
export const LOG_ERR = 8;
export const LOG_DEBUG = 16;

/**
 * Negative results of `option_file_size` / `option_file_read` / `option_file_read_at` (plugin-c/runtime/abi.h
 * wa_option_file_error): why there is no file. -1 carries no reason.
 */
export const OPTION_FILE_UNREADABLE = -1;
export const OPTION_FILE_ABSENT = -2;
export const OPTION_FILE_NOT_FILE_OPTION = -3;
export const OPTION_FILE_OUTSIDE_INIT = -4;
export const OPTION_FILE_TOO_BIG = -5;
export const OPTION_FILE_NOT_FOUND = -6;
export const OPTION_FILE_PERMISSION = -7;
export const OPTION_FILE_NOT_REGULAR = -8;
export const OPTION_FILE_READ_ERROR = -9;

/**
 * Results of `kick_client` / `kick_user` / `publish` (plugin-c/runtime/abi.h wa_action_result):
 * 0 queued, negative refused (docs/ABI.md, "Deferred actions").
 */
export const ACTION_QUEUED = 0;
export const ACTION_RATE_LIMITED = -1;
export const ACTION_QUEUE_FULL = -2;
export const ACTION_INVALID = -3;
export const ACTION_NO_PREFIX = -4;
export const ACTION_OUTSIDE_PREFIX = -5;
export const ACTION_TOO_LARGE = -6;

/** Negative results of `jwt_verify` (plugin-c/runtime/abi.h wa_jwt_error; docs/ABI.md, "JWT"). */
export const JWT_MALFORMED = -1;
export const JWT_BAD_SIGNATURE = -2;
export const JWT_UNSUPPORTED_ALG = -3;
export const JWT_NO_KEY = -4;
export const JWT_KEY_FILE = -5;
export const JWT_EXPIRED = -6;
export const JWT_NOT_YET_VALID = -7;

/** `set_reason`'s result when the bytes it keeps are not UTF-8 (plugin-c/runtime/abi.h WA_REASON_INVALID). */
export const REASON_INVALID = -1;

/** ext_auth_start / ext_auth_continue only: send the AUTH data out and wait (docs/ABI.md). */
export const DECISION_CONTINUE = 3;

/** Negative results of `auth_data_out` (plugin-c/runtime/abi.h wa_auth_data_error). */
export const AUTH_DATA_OUTSIDE_HOOK = -1;
export const AUTH_DATA_TOO_LARGE = -2;

/** Negative results of `sha256` / `hmac_sha256` / `pbkdf2_sha256` (abi.h wa_crypto_error). */
export const CRYPTO_TOO_LARGE = -1;
export const CRYPTO_BAD_ITERATIONS = -2;
export const CRYPTO_FAILED = -3;
