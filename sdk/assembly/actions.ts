// Deferred actions (docs/ABI.md, "Deferred actions"): a policy asks the broker to disconnect a
// client or to publish a message. Nothing happens during the hook: the host checks the request,
// queues it and carries it out on the broker's main thread after the hook (at its next tick),
// so a hook's answer never waits on it. Each call returns at once, 0 when queued.
import { host_kick_client, host_kick_user, host_publish } from "./imports";
import { Str } from "./str";

/** What kickClient, kickUser and publish return: Queued (0), or why the host refused (nothing queued). */
export enum ActionResult {
  /** Queued: carried out after the hook. */
  Queued = 0,
  /** Over the host's rate (WA_KICKS_PER_S / WA_PUBLISHES_PER_S and their bursts). */
  RateLimited = -1,
  /** The queue of actions not yet carried out is full. */
  QueueFull = -2,
  /** An empty id or name, or one holding a NUL byte; not a valid topic (wildcards, empty, not UTF-8); qos not 0-2. */
  Invalid = -3,
  /** publish: the operator did not set plugin_opt_wasm_publish_prefix, so the policy may not publish. */
  NoPrefix = -4,
  /** publish: the topic is not under wasm_publish_prefix (on a level boundary). */
  OutsidePrefix = -5,
  /** publish: the payload is larger than wasm_max_payload. */
  TooLarge = -6,
}

// kick_client (user = false) or kick_user with the UTF-8 bytes of a string (copied) or a Str (in place).
function kick<T>(user: bool, v: T): ActionResult {
  let ptr: usize = 0;
  let len: u32 = 0;
  if (isString<T>()) {
    const b = String.UTF8.encode(changetype<string>(v));
    ptr = changetype<usize>(b);
    len = <u32>b.byteLength;
  } else {
    // Otherwise a Str (the declared types say which): read in place.
    const s = changetype<Str>(v);
    ptr = s.ptr;
    len = s.len;
  }
  return <ActionResult>(user ? host_kick_user(ptr, len) : host_kick_client(ptr, len));
}

/**
 * Disconnects the client with this client id (a `string`, or a `Str` a hook was given), without
 * its will, after the hook returns; a client gone by then is nothing to do. Rate-limited together
 * with kickUser (WA_KICKS_PER_S, bursts of WA_KICKS_BURST). A `string` is copied (allocates).
 */
export function kickClient<T>(clientid: T): ActionResult {
  return kick<T>(false, clientid);
}

/** Disconnects every client logged in with this username (a `string` or a `Str`), without wills, after the hook returns. */
export function kickUser<T>(username: T): ActionResult {
  return kick<T>(true, username);
}

/**
 * Publishes `payload` (a `string`, sent as UTF-8, or a `Uint8Array`) to `topic` as the broker,
 * after the hook returns. Only under the prefix the operator sets with
 * plugin_opt_wasm_publish_prefix (the prefix itself or a topic below it: `events` allows `events`
 * and `events/x`, not `eventsx`); without it every publish is refused (NoPrefix, logged). The
 * payload is copied, at most wasm_max_payload bytes. Rate-limited (WA_PUBLISHES_PER_S, bursts of
 * WA_PUBLISHES_BURST). Allocates the UTF-8 copy of the topic and of a string payload.
 */
export function publish<P>(topic: string, payload: P, qos: i32 = 0, retain: bool = false): ActionResult {
  const t = String.UTF8.encode(topic);
  const r = retain ? 1 : 0;
  if (isString<P>()) {
    const b = String.UTF8.encode(changetype<string>(payload));
    return <ActionResult>host_publish(changetype<usize>(t), <u32>t.byteLength, changetype<usize>(b), <u32>b.byteLength, qos, r);
  } else {
    // Otherwise a Uint8Array (the declared types say which).
    const b = changetype<Uint8Array>(payload);
    return <ActionResult>host_publish(changetype<usize>(t), <u32>t.byteLength, b.dataStart, <u32>b.byteLength, qos, r);
  }
}
