// message-rewrite: on_message, the message hook (docs/ABI.md, "Message hook"). It sees every
// message a client publishes, after the broker's WRITE check, and delivers it (rewritten or not)
// or drops it:
//   - `drop` and `drop/...`: dropped (in MQTT 5 a QoS 1/2 publisher gets "not authorized");
//   - `in/...` from a client with a username: delivered to `tenants/USERNAME/in/...`, so every
//     tenant's devices publish to the same topics and each tenant subscribes under its own prefix;
//     without a username, or with one that is not a single topic level: dropped;
//   - `status/...`: delivered retained, so a late subscriber sees each device's last status;
//   - a payload with a JSON member "password" whose value is a string: the value becomes "***"
//     (a shape check, not a JSON parser; payloads above 64 KiB are left alone).
// Everything else is delivered as it came. Authentication and ACLs are left to the broker (or to
// other hooks); subscribers' READ checks see the rewritten topic.
export * from "../../sdk/assembly/abi";
import { Decision, Str, setMessagePayload, setMessageRetain, setMessageTopic } from "../../sdk/assembly";

const SECRET_KEY = '"password"';
const REDACTED = '"***"';
const MAX_REDACT_BYTES: i32 = 65536;

// `topic` is `level` or lies below it.
function under(topic: Str, level: string): bool {
  return topic.equals(level) || (topic.startsWith(level) && topic.byteAt(level.length) == 0x2f);
}

// A username usable as one topic level: not empty, no '/', '+', '#' (the host would refuse the
// topic; better to drop the message here than to fail).
function oneLevel(s: Str): bool {
  if (s.isEmpty()) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.byteAt(i);
    if (c == 0x2f || c == 0x2b || c == 0x23 || c == 0) return false;
  }
  return true;
}

// @ts-ignore: decorator
@inline
function isWs(c: u8): bool {
  return c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d;
}

// End (exclusive) of the JSON string starting with the quote at `i`, or -1 if it is unterminated.
function stringEnd(p: Str, i: i32): i32 {
  for (let j = i + 1; j < p.length; j++) {
    const c = p.byteAt(j);
    if (c == 0x5c) j++;
    else if (c == 0x22) return j + 1;
  }
  return -1;
}

/**
 * The payload with the string value of every `"password": "..."` member replaced by "***", or
 * null when there is none (the payload then stays as it is).
 */
export function redacted(p: Str): Uint8Array | null {
  if (p.length > MAX_REDACT_BYTES) return null;
  const key = String.UTF8.encode(SECRET_KEY);
  const keyBytes = Uint8Array.wrap(key);
  const stars = Uint8Array.wrap(String.UTF8.encode(REDACTED));
  const out = new Array<u8>();
  let copied = 0;
  let found = false;
  for (let i = 0; i + keyBytes.length <= p.length; i++) {
    let hit = true;
    for (let k = 0; k < keyBytes.length && hit; k++) hit = p.byteAt(i + k) == keyBytes[k];
    if (!hit) continue;
    let j = i + keyBytes.length;
    while (j < p.length && isWs(p.byteAt(j))) j++;
    if (j >= p.length || p.byteAt(j) != 0x3a) continue;
    j++;
    while (j < p.length && isWs(p.byteAt(j))) j++;
    if (j >= p.length || p.byteAt(j) != 0x22) continue;
    const end = stringEnd(p, j);
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

/** Drops, re-routes, retains and redacts as described at the top; qos is delivered as it came. */
export function on_message(clientid: Str, username: Str | null, topic: Str, payload: Str, qos: i32, retain: bool): Decision {
  if (under(topic, "drop")) return Decision.Deny;
  if (under(topic, "in")) {
    if (username === null || !oneLevel(username)) return Decision.Deny;
    setMessageTopic("tenants/" + username.toString() + "/" + topic.toString());
  }
  if (under(topic, "status") && !retain) setMessageRetain(true);
  const r = redacted(payload);
  if (r !== null) setMessagePayload(r);
  return Decision.Allow;
}
