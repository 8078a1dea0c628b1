// Host imports of module "mosquitto" (docs/ABI.md, "Host imports"). Declared once here so the
// names and signatures cannot drift between SDK files; policy authors use the wrappers instead.

/** `mosquitto_topic_matches_sub` on UTF-8 bytes: 1 match, 0 no match, -1 invalid. */
// @ts-ignore: decorator
@external("mosquitto", "topic_matches_sub")
export declare function host_topic_matches_sub(subPtr: usize, subLen: u32, topicPtr: usize, topicLen: u32): i32;

/** Writes UTF-16LE text (`byteLen` bytes at `ptr`) to the broker log at a MOSQ_LOG_* level. */
// @ts-ignore: decorator
@external("mosquitto", "log")
export declare function host_log(level: i32, ptr: usize, byteLen: u32): void;

/** Copies the current client's id (UTF-8) into the buffer; returns its full length or -1. */
// @ts-ignore: decorator
@external("mosquitto", "client_id")
export declare function host_client_id(bufPtr: usize, bufCap: u32): i32;

/** Copies the current client's address (UTF-8) into the buffer; returns its full length or -1. */
// @ts-ignore: decorator
@external("mosquitto", "client_address")
export declare function host_client_address(bufPtr: usize, bufCap: u32): i32;

/** MQTT protocol version of the current client (3, 4, 5), 0 without a client. */
// @ts-ignore: decorator
@external("mosquitto", "client_protocol_version")
export declare function host_client_protocol_version(): i32;

/** Checks a password against a mosquitto_passwd hash: 1 match, 0 no match, -1 bad hash. */
// @ts-ignore: decorator
@external("mosquitto", "pw_verify")
export declare function host_pw_verify(hashPtr: usize, hashLen: u32, pwPtr: usize, pwLen: u32): i32;

/** Size of the file named by option `key` (must end in `_file`), or a negative OptionFileError. */
// @ts-ignore: decorator
@external("mosquitto", "option_file_size")
export declare function host_option_file_size(keyPtr: usize, keyLen: u32): i32;

/** Reads the file named by option `key` into the buffer; bytes read or a negative OptionFileError. */
// @ts-ignore: decorator
@external("mosquitto", "option_file_read")
export declare function host_option_file_read(keyPtr: usize, keyLen: u32, bufPtr: usize, bufCap: u32): i32;

/**
 * Reads up to `bufCap` bytes of the file named by option `key` from byte `offset` into the
 * buffer: the bytes read (fewer than `bufCap` only at the end of the file, 0 from there on), or a
 * negative OptionFileError. Within one init hook call every chunk comes from the same open file.
 */
// @ts-ignore: decorator
@external("mosquitto", "option_file_read_at")
export declare function host_option_file_read_at(keyPtr: usize, keyLen: u32, offset: i64, bufPtr: usize, bufCap: u32): i32;

/**
 * Queues a disconnect of the client with this id (UTF-8), carried out by the broker after the
 * hook: 0 queued, or a negative ActionResult.
 */
// @ts-ignore: decorator
@external("mosquitto", "kick_client")
export declare function host_kick_client(idPtr: usize, idLen: u32): i32;

/** Queues a disconnect of every client logged in with this username: 0 or a negative ActionResult. */
// @ts-ignore: decorator
@external("mosquitto", "kick_user")
export declare function host_kick_user(namePtr: usize, nameLen: u32): i32;

/**
 * Queues a message published by the broker after the hook, under wasm_publish_prefix only: 0 or a
 * negative ActionResult.
 */
// @ts-ignore: decorator
@external("mosquitto", "publish")
export declare function host_publish(topicPtr: usize, topicLen: u32, payloadPtr: usize, payloadLen: u32, qos: i32, retain: i32): i32;

/**
 * Verifies the compact JWS `token` with the keys of key option `key` (docs/ABI.md, "JWT") and
 * copies its claims (JSON) into the buffer: their full length (copy truncated to `outCap`), or a
 * negative JwtError. An empty token only loads the keys (at init) or checks they are loaded: 0.
 */
// @ts-ignore: decorator
@external("mosquitto", "jwt_verify")
export declare function host_jwt_verify(tokPtr: usize, tokLen: u32, keyPtr: usize, keyLen: u32, leewaySeconds: i32, outPtr: usize, outCap: u32): i32;

/**
 * Stage a rewrite of the message on_message is deciding, applied if it returns allow (docs/ABI.md,
 * "Message hook"). Each traps outside on_message or on a bad value (the message is then dropped).
 */
// @ts-ignore: decorator
@external("mosquitto", "message_set_topic")
export declare function host_message_set_topic(topicPtr: usize, topicLen: u32): void;
// @ts-ignore: decorator
@external("mosquitto", "message_set_payload")
export declare function host_message_set_payload(payloadPtr: usize, payloadLen: u32): void;
// @ts-ignore: decorator
@external("mosquitto", "message_set_retain")
export declare function host_message_set_retain(retain: i32): void;

/**
 * Stage a rewrite of the subscription on_subscribe is deciding (mosquitto 2.1 builds), applied if
 * it returns allow (docs/ABI.md, "Per-subscriber and subscription hooks"). Each traps outside
 * on_subscribe or on a bad value (the subscription is then refused).
 */
// @ts-ignore: decorator
@external("mosquitto", "subscribe_set_topic")
export declare function host_subscribe_set_topic(topicPtr: usize, topicLen: u32): void;
// @ts-ignore: decorator
@external("mosquitto", "subscribe_set_qos")
export declare function host_subscribe_set_qos(qos: i32): void;

/**
 * Gives the decision the current hook is about to return a reason (docs/ABI.md, "Reasons"): UTF-8
 * bytes, of which the host keeps at most WA_MAX_REASON_BYTES (cut at a character boundary). The
 * bytes kept, or -1 when they are not UTF-8 (no reason then).
 */
// @ts-ignore: decorator
@external("mosquitto", "set_reason")
export declare function host_set_reason(ptr: usize, len: u32): i32;

/** 1 when the host reads reasons (the plugin under wasm_audit, wa-call, the Node host), else 0. */
// @ts-ignore: decorator
@external("mosquitto", "reasons_wanted")
export declare function host_reasons_wanted(): i32;

/**
 * During ext_auth_start / ext_auth_continue only: the AUTH data to send back (copied by the
 * host; the last call wins). 0, -1 outside those hooks, -2 above 65535 bytes.
 */
// @ts-ignore: decorator
@external("mosquitto", "auth_data_out")
export declare function host_auth_data_out(ptr: usize, len: u32): i32;

/** SHA-256 of `msgLen` bytes into 32 bytes at `out`: 0, or -1 above 1 MiB of input. */
// @ts-ignore: decorator
@external("mosquitto", "sha256")
export declare function host_sha256(msgPtr: usize, msgLen: u32, out: usize): i32;

/** HMAC-SHA-256 into 32 bytes at `out`: 0, or -1 when the key or the message is above 1 MiB. */
// @ts-ignore: decorator
@external("mosquitto", "hmac_sha256")
export declare function host_hmac_sha256(keyPtr: usize, keyLen: u32, msgPtr: usize, msgLen: u32, out: usize): i32;

/**
 * PBKDF2-HMAC-SHA-256 (32-byte output at `out`): 0, -1 an input above 1 MiB, -2 iterations 0 or
 * above 20000.
 */
// @ts-ignore: decorator
@external("mosquitto", "pbkdf2_sha256")
export declare function host_pbkdf2_sha256(pwPtr: usize, pwLen: u32, saltPtr: usize, saltLen: u32, iterations: i32, out: usize): i32;
