// Rewriting a message from on_message (docs/ABI.md, "Message hook"):
//
//   export function on_message(clientid: Str, username: Str | null, topic: Str, payload: Str,
//                              qos: i32, retain: bool): Decision
//
// returns Decision.Deny to drop the message, Decision.Allow to deliver it with whatever the
// set* functions below staged, Decision.Defer to deliver it as it came (what was staged is
// discarded). The host copies each value at the call, so the policy's memory may change after it;
// a later call of the same function replaces the earlier value. A bad value traps: the message is
// dropped and one line logged (rate-limited), as for any failure of on_message. The qos cannot be
// changed: mosquitto ignores a qos changed by a plugin at this point.
//
// The same functions stage the rewrite of on_message_out (mosquitto 2.1 builds), called for each
// subscriber's copy just before it is sent, with the subscriber's clientid and username:
//
//   export function on_message_out(clientid: Str, username: Str | null, topic: Str, payload: Str,
//                                  qos: i32, retain: bool): Decision
//
// Deny drops this subscriber's copy only; the others are decided on their own.
import { host_message_set_payload, host_message_set_retain, host_message_set_topic } from "./imports";
import { Str } from "./str";

/**
 * Makes the message go to `topic` (a `string`, sent as UTF-8, or a `Str`, e.g. a slice of the
 * topic on_message was given). It must be a topic a client may publish to: 1 to 65535 bytes of
 * UTF-8, no `+`, `#` or NUL, not starting with `$`; anything else traps (the message is dropped).
 * Only in on_message. A `string` is copied to UTF-8 first (allocates).
 */
export function setMessageTopic<T>(topic: T): void {
  if (isString<T>()) {
    const b = String.UTF8.encode(changetype<string>(topic));
    host_message_set_topic(changetype<usize>(b), <u32>b.byteLength);
  } else {
    // Otherwise a Str (the declared types say which).
    const s = changetype<Str>(topic);
    host_message_set_topic(s.ptr, s.len);
  }
}

/**
 * Replaces the payload with `payload`: a `string` (sent as UTF-8), a `Uint8Array` or a `Str`. At
 * most wasm_max_payload bytes (default 1 MiB); more traps (the message is dropped). Only in
 * on_message. A `string` is copied to UTF-8 first (allocates).
 */
export function setMessagePayload<T>(payload: T): void {
  if (isString<T>()) {
    const b = String.UTF8.encode(changetype<string>(payload));
    host_message_set_payload(changetype<usize>(b), <u32>b.byteLength);
  } else if (payload instanceof Uint8Array) {
    const a = changetype<Uint8Array>(payload);
    host_message_set_payload(a.dataStart, <u32>a.byteLength);
  } else {
    const s = changetype<Str>(payload);
    host_message_set_payload(s.ptr, s.len);
  }
}

/** Sets the message's retain flag (a retained message replaces the topic's retained one). Only in on_message. */
export function setMessageRetain(retain: bool): void {
  host_message_set_retain(retain ? 1 : 0);
}
