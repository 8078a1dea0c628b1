// subscriber-views: mosquitto 2.1's per-subscriber and subscription hooks (docs/ABI.md,
// "Per-subscriber and subscription hooks"); they run only in the plugin built against 2.1's
// headers (make plugin-2.1), and the 2.0 build logs that it does not call them.
//   - on_subscribe: a client with username U subscribing to `inbox` or `inbox/...` gets
//     `users/U/inbox...` instead, so every user subscribes to the same filter and reads their
//     own inbox; without a username usable as one topic level the subscription is refused
//     (mosquitto 2.1.2 then disconnects the client). Other filters are kept as they came.
//   - on_message_out, for each subscriber's copy: `reports/...` goes to the subscriber `admin`
//     as published, to everyone else with the value of each JSON member "secret" replaced by
//     "***" (a shape check, not a parser; copies above 64 KiB are dropped for them rather than
//     sent unredacted); `staff/...` goes only to `admin` and usernames starting `staff-`.
// acl_check allows every request: access is not what this example is about.
export * from "../../sdk/assembly/abi";
import { Access, Decision, Str, setMessagePayload, setSubscribeTopic } from "../../sdk/assembly";

const SECRET_KEY = '"secret"';
const REDACTED = '"***"';
const MAX_REDACT_BYTES: i32 = 65536;

// `topic` is `level` or lies below it.
function under(topic: Str, level: string): bool {
  return topic.equals(level) || (topic.startsWith(level) && topic.byteAt(level.length) == 0x2f);
}

// A username usable as one topic level (the host would refuse the filter otherwise).
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

/** The payload with the string value of every `"secret": "..."` member replaced by "***", or null when there is none. */
export function redacted(p: Str): Uint8Array | null {
  const key = Uint8Array.wrap(String.UTF8.encode(SECRET_KEY));
  const stars = Uint8Array.wrap(String.UTF8.encode(REDACTED));
  const out = new Array<u8>();
  let copied = 0;
  let found = false;
  for (let i = 0; i + key.length <= p.length; i++) {
    let hit = true;
    for (let k = 0; k < key.length && hit; k++) hit = p.byteAt(i + k) == key[k];
    if (!hit) continue;
    let j = i + key.length;
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

function isAdmin(username: Str | null): bool {
  return username !== null && username.equals("admin");
}

export function acl_check(clientid: Str, username: Str | null, topic: Str, access: Access): Decision {
  return Decision.Allow;
}

/** Moves `inbox` and `inbox/...` under the subscriber's own prefix; keeps other filters. */
export function on_subscribe(clientid: Str, username: Str | null, topic: Str, qos: i32): Decision {
  if (!under(topic, "inbox")) return Decision.Defer;
  if (username === null || !oneLevel(username)) return Decision.Deny;
  setSubscribeTopic("users/" + username.toString() + "/" + topic.toString());
  return Decision.Allow;
}

/** Decides one subscriber's copy: redacted reports for all but admin, staff/... for staff only. */
export function on_message_out(clientid: Str, username: Str | null, topic: Str, payload: Str, qos: i32, retain: bool): Decision {
  if (under(topic, "staff")) {
    return isAdmin(username) || (username !== null && username.startsWith("staff-")) ? Decision.Defer : Decision.Deny;
  }
  if (under(topic, "reports") && !isAdmin(username)) {
    if (payload.length > MAX_REDACT_BYTES) return Decision.Deny;
    const r = redacted(payload);
    if (r !== null) setMessagePayload(r);
    return Decision.Allow;
  }
  return Decision.Defer;
}
