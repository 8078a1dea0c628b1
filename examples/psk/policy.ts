// psk: TLS-PSK keys from a file, and topic access by PSK identity.
//
//   plugin_opt_psk_file PATH      lines `identity:hexkey` (mosquitto's own psk_file format);
//                                 `#` comments and blank lines are skipped. Re-read on reload.
//
// The broker asks psk_key_get for the key of the identity a client presents; with
// `use_identity_as_username true` on the PSK listener the identity then becomes the client's
// username, and acl_check gives each known identity:
//   - read, write, subscribe, unsubscribe under `devices/<identity>`;
//   - read, subscribe, unsubscribe under `broadcast`;
//   - nothing else (unknown usernames: nothing at all).
export * from "../../sdk/assembly/abi";
import { Access, Decision, Options, Str, log } from "../../sdk/assembly";

/** Longest key accepted, in hex digits (the plugin's WA_MAX_PSK_KEY_CHARS). */
const MAX_KEY_HEX = 512;

// Identities as UTF-8 bytes sorted byte-wise, with their keys at the same index. Managed
// buffers, so a reload's replacement lets the collector free the old ones.
let identities: ArrayBuffer[] = [];
let keys: string[] = [];

// Byte-wise order (memcmp, then length) of `n` bytes at `a` and `m` bytes at `b`.
function compareBytes(a: usize, n: i32, b: usize, m: i32): i32 {
  const c = memory.compare(a, b, <usize>(n < m ? n : m));
  return c != 0 ? c : n - m;
}

function compareIds(a: ArrayBuffer, b: ArrayBuffer): i32 {
  return compareBytes(changetype<usize>(a), a.byteLength, changetype<usize>(b), b.byteLength);
}

// Index of `name` in `identities`, or -1. No allocation.
function find(name: Str): i32 {
  let lo = 0;
  let hi = identities.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const id = unchecked(identities[mid]);
    const c = compareBytes(changetype<usize>(id), id.byteLength, name.ptr, <i32>name.len);
    if (c == 0) return mid;
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

function isHex(s: string): bool {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

/**
 * Loads psk_file (on start and on every reload). Returns false, naming the line, on a missing
 * file, a line without `identity:hexkey`, a key that is not hex or a repeated identity; a failed
 * reload keeps the keys in force.
 */
export function security_init(opts: Options, reload: bool): bool {
  const text = opts.readTextFile("psk_file");
  if (text === null) {
    log.error("psk: " + (opts.has("psk_file") ? "cannot read " + opts.lastFileError()! : "set plugin_opt_psk_file"));
    return false;
  }
  const names: string[] = [];
  const byName = new Map<string, string>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line.length == 0 || line.startsWith("#")) continue;
    const colon = line.indexOf(":");
    const where = "psk: psk_file line " + (i + 1).toString() + ": ";
    if (colon <= 0) {
      log.error(where + "expected identity:hexkey");
      return false;
    }
    const id = line.substring(0, colon);
    const key = line.substring(colon + 1);
    if (key.length == 0 || key.length > MAX_KEY_HEX || !isHex(key)) {
      log.error(where + "the key of \"" + id + "\" must be 1 to " + MAX_KEY_HEX.toString() + " hex digits");
      return false;
    }
    if (byName.has(id)) {
      log.error(where + "identity \"" + id + "\" is listed twice");
      return false;
    }
    byName.set(id, key);
    names.push(id);
  }
  // Sort by UTF-8 bytes, the order find() searches in.
  const ids = names.map<ArrayBuffer>((n: string) => String.UTF8.encode(n));
  ids.sort((a: ArrayBuffer, b: ArrayBuffer): i32 => compareIds(a, b));
  const ks = new Array<string>(ids.length);
  for (let i = 0; i < ids.length; i++) ks[i] = byName.get(String.UTF8.decode(ids[i]));
  identities = ids;
  keys = ks;
  log.info("psk: " + ids.length.toString() + " identities" + (reload ? " (reloaded)" : ""));
  return true;
}

/** The hex key of `identity`, or null (unknown identity: the handshake fails). No allocation. */
export function psk_key_get(identity: Str, hint: Str): string | null {
  const i = find(identity);
  return i < 0 ? null : unchecked(keys[i]);
}

// True when the topic (or filter) is `prefix` followed by the end or "/"; `prefix` is ASCII.
function under(topic: Str, prefix: string): bool {
  return topic.startsWith(prefix) && (topic.length == prefix.length || topic.byteAt(prefix.length) == 0x2f);
}

/**
 * `devices/<identity>/...` for the identity itself (every access), `broadcast/...` for reading
 * and subscribing; nothing else. An identity with `/`, `+` or `#` owns no subtree (it would
 * reach into another's, or turn `devices/+/#` into everyone's). No allocation.
 */
export function acl_check(clientid: Str, username: Str | null, topic: Str, access: i32): Decision {
  if (username === null || find(username) < 0) return Decision.Deny;
  if (under(topic, "broadcast")) {
    return access & (Access.Read | Access.Subscribe | Access.Unsubscribe) ? Decision.Allow : Decision.Deny;
  }
  if (topic.startsWith("devices/") && username.len > 0 && username.indexOfByte(0x2f) < 0 && !username.hasWildcard()) {
    // Level 1 must be the identity, and nothing but "/" may follow it.
    if (topic.levelEqualsStr(1, username)) return access != Access.None ? Decision.Allow : Decision.Deny;
  }
  return Decision.Deny;
}
