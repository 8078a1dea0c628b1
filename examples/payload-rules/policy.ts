// payload-rules: the long form of acl_check, which also sees the message (payload, QoS, retain
// flag) of a PUBLISH. Things pyauth's 4-argument hook could not express:
//   - no retained messages under `telemetry` (a stale retained reading misleads new subscribers);
//   - no publish above QoS plugin_opt_max_qos (default 1);
//   - no payload above plugin_opt_max_payload bytes (default 1024);
//   - under `telemetry`, only payloads that look like JSON: a `{...}` object or `[...]` array
//     (whitespace around it allowed), never empty.
// Everything else is allowed: reads, subscriptions and other publishes. The checks apply to
// WRITE, when the client publishes; a refused QoS 1/2 publish gets "not authorized" (MQTT 5
// reason 135), a refused QoS 0 publish is dropped. Authentication is left to the broker.
//
// The plugin copies the payload into the module only for this 7-argument form; payloads larger
// than the plugin's wasm_max_payload are refused before the hook runs.
export * from "../../sdk/assembly/abi";
import { Access, Decision, Options, Str, log } from "../../sdk/assembly";

let maxQos: i32 = 1;
let maxPayload: i32 = 1024;

// A non-negative decimal option within [lo, hi]; -1 when malformed or out of range.
function intOption(opts: Options, key: string, lo: i32, hi: i32, dflt: i32): i32 {
  const v = opts.get(key);
  if (v === null) return dflt;
  if (v.length == 0 || v.length > 9) return -1;
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n >= lo && n <= hi ? n : -1;
}

/** Reads plugin_opt_max_qos (0-2) and plugin_opt_max_payload (bytes); refuses bad values. */
export function plugin_init(opts: Options): bool {
  const q = intOption(opts, "max_qos", 0, 2, 1);
  const p = intOption(opts, "max_payload", 0, 100000000, 1024);
  if (q < 0 || p < 0) {
    log.error("payload-rules: max_qos must be 0, 1 or 2 and max_payload a number of bytes");
    return false;
  }
  maxQos = q;
  maxPayload = p;
  log.info("payload-rules: max_qos " + q.toString() + ", max_payload " + p.toString());
  return true;
}

// JSON's whitespace: space, tab, LF, CR.
// @ts-ignore: decorator
@inline
function isWs(c: u32): bool {
  return c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d;
}

/**
 * True when `payload`, without surrounding whitespace, starts with `{` and ends with `}` or starts
 * with `[` and ends with `]`. A cheap shape check, not a parser. No allocation.
 */
function looksLikeJson(payload: Str): bool {
  let i = 0;
  let j = payload.length - 1;
  while (i <= j && isWs(<u32>payload.byteAt(i))) i++;
  while (j > i && isWs(<u32>payload.byteAt(j))) j--;
  if (j <= i) return false;
  const first = <u32>payload.byteAt(i);
  const last = <u32>payload.byteAt(j);
  return (first == 0x7b && last == 0x7d) || (first == 0x5b && last == 0x5d);
}

// `topic` is `prefix` or lies below it.
function under(topic: Str, prefix: string): bool {
  return topic.startsWith(prefix) && (topic.length == prefix.length || topic.byteAt(prefix.length) == 0x2f);
}

/**
 * Applies the message rules to publishes (WRITE); allows every other request. No allocation.
 */
export function acl_check(clientid: Str, username: Str | null, topic: Str, access: i32,
                          payload: Str, qos: i32, retain: bool): Decision {
  if (access != Access.Write) return Decision.Allow;
  if (qos > maxQos) return Decision.Deny;
  if (payload.length > maxPayload) return Decision.Deny;
  if (under(topic, "telemetry")) {
    if (retain) return Decision.Deny;
    if (!looksLikeJson(payload)) return Decision.Deny;
  }
  return Decision.Allow;
}
