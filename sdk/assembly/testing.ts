// Helpers for as-pect specs of policies: build the descriptors a host would pass to a hook.
// Everything here allocates blocks that are never freed; fine for tests, not for hot paths.
import { Str } from "./str";
import { Options } from "./options";

/** A Str holding the UTF-8 encoding of `s`. */
export function str(s: string): Str {
  return Str.fromString(s);
}

/** A Str holding the given bytes (e.g. a binary password). */
export function bytes(b: u8[]): Str {
  const a = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i++) a[i] = b[i];
  return Str.fromBytes(a);
}

/** An Options descriptor with `pairs` ([key, value] each) in order, laid out as the host does. */
export function options(pairs: string[][]): Options {
  const n = pairs.length;
  const block = heap.alloc(4 + <usize>n * 16);
  store<u32>(block, <u32>n);
  for (let i = 0; i < n; i++) {
    const pair = pairs[i];
    if (pair.length != 2) throw new Error("options(): each pair needs [key, value]");
    const k = Str.fromString(pair[0]);
    const v = Str.fromString(pair[1]);
    const e = block + 4 + <usize>i * 16;
    store<u32>(e, <u32>k.ptr);
    store<u32>(e, k.len, 4);
    store<u32>(e, <u32>v.ptr, 8);
    store<u32>(e, v.len, 12);
  }
  return changetype<Options>(block);
}

// Test-only host imports, provided by as-pect.config.js (sdk/host/aspect.ts). The plugin does not
// provide them, so only specs may use the functions below.
// @ts-ignore: decorator
@external("wasm_auth_test", "set_client")
declare function test_set_client(idPtr: usize, idLen: i32, addrPtr: usize, addrLen: i32, protocol: i32): void;
// @ts-ignore: decorator
@external("wasm_auth_test", "set_option_file")
declare function test_set_option_file(keyPtr: usize, keyLen: i32, pathPtr: usize, pathLen: i32): void;
// @ts-ignore: decorator
@external("wasm_auth_test", "log_count")
declare function test_log_count(): i32;
// @ts-ignore: decorator
@external("wasm_auth_test", "log_level")
declare function test_log_level(i: i32): i32;
// @ts-ignore: decorator
@external("wasm_auth_test", "log_message")
declare function test_log_message(i: i32, ptr: usize, cap: i32): i32;
// @ts-ignore: decorator
@external("wasm_auth_test", "log_clear")
declare function test_log_clear(): void;

/** Sets the client later hooks see through `client.*` (null id: no client at all). */
export function setClient(id: string | null, address: string | null = null, protocolVersion: i32 = 4): void {
  if (id === null) {
    test_set_client(0, -1, 0, -1, 0);
    return;
  }
  const i = String.UTF8.encode(id);
  if (address === null) {
    test_set_client(changetype<usize>(i), i.byteLength, 0, -1, protocolVersion);
  } else {
    const a = String.UTF8.encode(address);
    test_set_client(changetype<usize>(i), i.byteLength, changetype<usize>(a), a.byteLength, protocolVersion);
  }
}

/**
 * Makes option `key` (ending in `_file`) name the file at `path` for Options.readFile() and
 * OptionFileLines; the files option_file_read_at kept open are closed (as at the end of an init
 * hook call).
 */
export function setOptionFile(key: string, path: string): void {
  const k = String.UTF8.encode(key);
  const p = String.UTF8.encode(path);
  test_set_option_file(changetype<usize>(k), k.byteLength, changetype<usize>(p), p.byteLength);
}

/** Number of lines the guest logged since the start or the last clearLogs(). */
export function logCount(): i32 {
  return test_log_count();
}

/** MOSQ_LOG_* level of logged line `i`, -1 if there is none. */
export function logLevel(i: i32): i32 {
  return test_log_level(i);
}

/** Text of logged line `i` as the host received it (after conversion), null if there is none. */
export function logMessage(i: i32): string | null {
  const n = test_log_message(i, 0, 0);
  if (n < 0) return null;
  const buf = new ArrayBuffer(n > 0 ? n : 1);
  test_log_message(i, changetype<usize>(buf), n);
  return String.UTF8.decodeUnsafe(changetype<usize>(buf), <usize>n);
}

/** Forgets the logged lines. */
export function clearLogs(): void {
  test_log_clear();
}

// @ts-ignore: decorator
@external("wasm_auth_test", "alloc_count")
declare function test_alloc_count(): i32;

/** Number of heap allocations the module has made so far (specs only: needs RTRACE). */
export function allocations(): i32 {
  return test_alloc_count();
}

// Deferred actions (docs/ABI.md, "Deferred actions"): what a spec's hooks queued with kickClient,
// kickUser and publish, as the host queued them (rate limits and refusals included).
// @ts-ignore: decorator
@external("wasm_auth_test", "set_publish_prefix")
declare function test_set_publish_prefix(ptr: usize, len: i32): void;
// @ts-ignore: decorator
@external("wasm_auth_test", "action_count")
declare function test_action_count(): i32;
// @ts-ignore: decorator
@external("wasm_auth_test", "action_kind")
declare function test_action_kind(i: i32): i32;
// @ts-ignore: decorator
@external("wasm_auth_test", "action_target")
declare function test_action_target(i: i32, ptr: usize, cap: i32): i32;
// @ts-ignore: decorator
@external("wasm_auth_test", "action_payload")
declare function test_action_payload(i: i32, ptr: usize, cap: i32): i32;
// @ts-ignore: decorator
@external("wasm_auth_test", "action_clear")
declare function test_action_clear(): void;

/** Sets plugin_opt_wasm_publish_prefix for publish (null: unset, every publish refused; the default). */
export function setPublishPrefix(prefix: string | null): void {
  if (prefix === null) {
    test_set_publish_prefix(0, -1);
    return;
  }
  const p = String.UTF8.encode(prefix);
  test_set_publish_prefix(changetype<usize>(p), p.byteLength);
}

/** Number of actions queued since the start or the last clearActions(). */
export function actionCount(): i32 {
  return test_action_count();
}

/** Kind of action `i`: 0 kick_client, 1 kick_user, 2 publish; -1 if there is none. */
export function actionKind(i: i32): i32 {
  return test_action_kind(i);
}

function actionText(i: i32, payload: bool): string | null {
  const n = payload ? test_action_payload(i, 0, 0) : test_action_target(i, 0, 0);
  if (n < 0) return null;
  const buf = new ArrayBuffer(n > 0 ? n : 1);
  if (payload) test_action_payload(i, changetype<usize>(buf), n);
  else test_action_target(i, changetype<usize>(buf), n);
  return String.UTF8.decodeUnsafe(changetype<usize>(buf), <usize>n);
}

/** Client id (kick_client), username (kick_user) or topic (publish) of action `i`; null if none. */
export function actionTarget(i: i32): string | null {
  return actionText(i, false);
}

/** Payload of publish `i` as UTF-8 text; null if it is not a publish. */
export function actionPayload(i: i32): string | null {
  return actionText(i, true);
}

/** Forgets the queued actions. */
export function clearActions(): void {
  test_action_clear();
}

// @ts-ignore: decorator
@external("wasm_auth_test", "set_clock")
declare function test_set_clock(ms: f64): void;

/**
 * Makes `Date.now()` answer `ms` (milliseconds since the epoch) until the next call; NaN gives the
 * real clock back (the default). For specs of policies that read the clock (rate limits, expiry):
 * the plugin gives a policy the wall clock, as-pect none, so the spec host provides one it controls.
 */
export function setClock(ms: f64): void {
  test_set_clock(ms);
}

// The message hook (docs/ABI.md, "Message hook"): what a spec's on_message staged with
// setMessageTopic, setMessagePayload and setMessageRetain. In specs they work in any function.
// @ts-ignore: decorator
@external("wasm_auth_test", "rewrite_topic")
declare function test_rewrite_topic(ptr: usize, cap: i32): i32;
// @ts-ignore: decorator
@external("wasm_auth_test", "rewrite_payload")
declare function test_rewrite_payload(ptr: usize, cap: i32): i32;
// @ts-ignore: decorator
@external("wasm_auth_test", "rewrite_retain")
declare function test_rewrite_retain(): i32;
// @ts-ignore: decorator
@external("wasm_auth_test", "rewrite_clear")
declare function test_rewrite_clear(): void;

function rewriteText(payload: bool): string | null {
  const n = payload ? test_rewrite_payload(0, 0) : test_rewrite_topic(0, 0);
  if (n < 0) return null;
  const buf = new ArrayBuffer(n > 0 ? n : 1);
  if (payload) test_rewrite_payload(changetype<usize>(buf), n);
  else test_rewrite_topic(changetype<usize>(buf), n);
  return String.UTF8.decodeUnsafe(changetype<usize>(buf), <usize>n);
}

/** The topic staged since the last clearRewrite(), null if none. */
export function rewrittenTopic(): string | null {
  return rewriteText(false);
}

/** The payload staged since the last clearRewrite() as UTF-8 text, null if none. */
export function rewrittenPayload(): string | null {
  return rewriteText(true);
}

/** The retain flag staged since the last clearRewrite(): 0 or 1, -1 if none. */
export function rewrittenRetain(): i32 {
  return test_rewrite_retain();
}

/** Forgets what was staged (the host does so before every on_message call). */
export function clearRewrite(): void {
  test_rewrite_clear();
}

// The subscription hook: what a spec's on_subscribe staged with setSubscribeTopic and
// setSubscribeQos. In specs they work in any function.
// @ts-ignore: decorator
@external("wasm_auth_test", "subscribe_topic")
declare function test_subscribe_topic(ptr: usize, cap: i32): i32;
// @ts-ignore: decorator
@external("wasm_auth_test", "subscribe_qos")
declare function test_subscribe_qos(): i32;
// @ts-ignore: decorator
@external("wasm_auth_test", "subscribe_clear")
declare function test_subscribe_clear(): void;

/** The subscription filter staged since the last clearSubscribeRewrite(), null if none. */
export function rewrittenSubscribeTopic(): string | null {
  const n = test_subscribe_topic(0, 0);
  if (n < 0) return null;
  const buf = new ArrayBuffer(n > 0 ? n : 1);
  test_subscribe_topic(changetype<usize>(buf), n);
  return String.UTF8.decodeUnsafe(changetype<usize>(buf), <usize>n);
}

/** The subscription QoS staged since the last clearSubscribeRewrite(), -1 if none. */
export function rewrittenSubscribeQos(): i32 {
  return test_subscribe_qos();
}

/** Forgets what was staged (the host does so before every on_subscribe call). */
export function clearSubscribeRewrite(): void {
  test_subscribe_clear();
}

// Reasons (docs/ABI.md, "Reasons"): what the host kept of the last setReason / deny(reason).
// @ts-ignore: decorator
@external("wasm_auth_test", "reason")
declare function test_reason(ptr: usize, cap: i32): i32;
// @ts-ignore: decorator
@external("wasm_auth_test", "reason_clear")
declare function test_reason_clear(): void;

/** The reason the host holds for the current decision ("" when none was given or it was refused). */
export function lastReason(): string {
  const n = test_reason(0, 0);
  const buf = new ArrayBuffer(n > 0 ? n : 1);
  test_reason(changetype<usize>(buf), n);
  return String.UTF8.decodeUnsafe(changetype<usize>(buf), <usize>n);
}

/** Forgets the reason, as the host does when a hook call starts. */
export function clearReason(): void {
  test_reason_clear();
}

// @ts-ignore: decorator
@external("wasm_auth_test", "auth_data")
declare function test_auth_data(ptr: usize, cap: i32): i32;
// @ts-ignore: decorator
@external("wasm_auth_test", "auth_data_clear")
declare function test_auth_data_clear(): void;

/**
 * What the policy last gave auth_data_out (the AUTH data the plugin would send), as UTF-8 text;
 * "" when nothing since {@link clearAuthData}. In specs auth_data_out works in any call.
 */
export function authDataOut(): string {
  const n = test_auth_data(0, 0);
  const buf = new ArrayBuffer(n > 0 ? n : 1);
  test_auth_data(changetype<usize>(buf), n);
  return String.UTF8.decodeUnsafe(changetype<usize>(buf), <usize>n);
}

/** Forgets what auth_data_out gave. */
export function clearAuthData(): void {
  test_auth_data_clear();
}
