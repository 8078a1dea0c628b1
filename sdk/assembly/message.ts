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

// @ts-ignore: decorator
@inline
function isJsonSpace(c: u8): bool {
  return c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d;
}

// End (exclusive) of the JSON string whose opening quote is at `i`, or -1 if it is unterminated.
function jsonStringEnd(p: Str, i: i32): i32 {
  for (let j = i + 1; j < p.length; j++) {
    const c = p.byteAt(j);
    if (c == 0x5c) j++;
    else if (c == 0x22) return j + 1;
  }
  return -1;
}

/**
 * `payload` with the string value of every `"key": "..."` member replaced by `"replacement"`,
 * ready for setMessagePayload; null when there is no such member (or the first one's string is
 * unterminated), so the payload can stay as it came. A shape check over the bytes, not a JSON
 * parser: a `"key"` inside a string value is matched too, which errs on the side of redacting.
 * Time grows with the payload's length times the key's: bound the length before calling.
 */
export function redactJsonStrings(payload: Str, key: string, replacement: string = "***"): Uint8Array | null {
  const k = Uint8Array.wrap(String.UTF8.encode('"' + key + '"'));
  const stars = Uint8Array.wrap(String.UTF8.encode('"' + replacement + '"'));
  const p = payload;
  const out = new Array<u8>();
  let copied = 0;
  let found = false;
  for (let i = 0; i + k.length <= p.length; i++) {
    let hit = true;
    for (let x = 0; x < k.length && hit; x++) hit = p.byteAt(i + x) == k[x];
    if (!hit) continue;
    let j = i + k.length;
    while (j < p.length && isJsonSpace(p.byteAt(j))) j++;
    if (j >= p.length || p.byteAt(j) != 0x3a) continue;
    j++;
    while (j < p.length && isJsonSpace(p.byteAt(j))) j++;
    if (j >= p.length || p.byteAt(j) != 0x22) continue;
    const end = jsonStringEnd(p, j);
    if (end < 0) break;
    for (let c = copied; c < j; c++) out.push(p.byteAt(c));
    for (let s = 0; s < stars.length; s++) out.push(stars[s]);
    copied = end;
    i = end - 1;
    found = true;
  }
  if (!found) return null;
  for (let c = copied; c < p.length; c++) out.push(p.byteAt(c));
  const r = new Uint8Array(out.length);
  for (let c = 0; c < out.length; c++) r[c] = out[c];
  return r;
}
