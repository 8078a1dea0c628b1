// The acl_check hot path. It reads the compiled acl_file through plain addresses kept in globals,
// never through managed objects: a function holding a managed reference makes AssemblyScript
// spill it to the GC's shadow stack on every call, which costs as much as the check itself
// under the interpreter. install() is the only writer, and keeps the Acl whose tables the
// addresses point into alive.
import { Acl, NEEDS_USER, RULE_INTS, S_EXACT, S_PREFIX, S_VALUE_PREFIX } from "./acl";
import { hasWildcardAt, wordsFit } from "./buf";
import { T_USER, matchFilter, sameBytes } from "./filter";
import { lookupName } from "./names";
import { Str } from "../sdk/assembly";

// Never read on the hot path: only keeps the tables alive for the garbage collector.
let installed: Acl | null = null;
let rules: usize = 0;
let code: usize = 0;
let arena: usize = 0;
let anonStart: i32 = 0;
let anonEnd: i32 = 0;
let patStart: i32 = 0;
let patEnd: i32 = 0;
let userCount: i32 = 0;
let userSlots: usize = 0;
let userMask: u32 = 0;
let userEntries: usize = 0;
let userStride: i32 = 0;
let userArena: usize = 0;

/** Points the hot path at `acl`'s tables. */
export function install(acl: Acl): void {
  installed = acl;
  rules = acl.rulesPtr;
  code = acl.codePtr;
  arena = acl.arenaPtr;
  anonStart = acl.anonStart;
  anonEnd = acl.anonEnd;
  patStart = acl.patStart;
  patEnd = acl.patEnd;
  const u = acl.users;
  userCount = u.count;
  userSlots = u.slotsPtr;
  userMask = u.slotMask;
  userEntries = u.entriesPtr;
  userStride = u.strideBytes;
  userArena = u.arenaPtr;
}

/** Forgets the installed tables (unload); aclAllows must not be called afterwards. */
export function uninstall(): void {
  installed = null;
  rules = code = arena = 0;
  anonStart = anonEnd = patStart = patEnd = userCount = 0;
}

// Rules [from, to), deny rules first: 0 deny, 1 allow, -1 no rule decides. A deny rule's access
// word is 0 (or NEEDS_USER); a grant applies when it has the requested bit.
// @ts-ignore: decorator
@inline
function scan(from: i32, to: i32, topic: Str, access: i32, user: Str | null, client: Str | null): i32 {
  const r = rules;
  const c = code;
  const a = arena;
  const tp = topic.ptr;
  const tlen = <i32>topic.len;
  if (tlen == 0) return -1; // never a PUBLISH topic; mosquitto's matcher rejects it
  const topicDollar: i32 = <u32>load<u8>(tp) == 0x24 ? 1 : 0;
  // The topic's first 4 bytes for the rules' quick-reject keys. Past a short topic the word holds
  // whatever follows it: a rule whose key is longer than the topic cannot match it anyway.
  let head: u32 = 0;
  if (wordsFit(tp, tp)) head = load<u32>(tp);
  else for (let k = tlen < 4 ? tlen : 4; k > 0; k--) head = (head << 8) | <u32>load<u8>(tp + <usize>(k - 1));
  for (let i = from; i < to; i++) {
    const rec = r + <usize>i * (<usize>RULE_INTS << 2);
    if ((head & load<u32>(rec, 12)) != load<u32>(rec, 8)) continue;
    const word = load<i32>(rec);
    if (word & NEEDS_USER && user === null) continue;
    const bits = word & 0xff;
    if (bits != 0 && (bits & access) == 0) continue;
    // The common shapes are matched here directly; their first byte is literal, so the `$` rule
    // holds by itself (a `$` must match a `$`).
    const shape = load<i32>(rec, 16);
    const lit = a + <usize>load<i32>(rec, 20);
    const len = load<i32>(rec, 24);
    let m: bool;
    if (shape == S_PREFIX) {
      m = tlen >= len && sameBytes(lit, tp, len) && (tlen == len || <u32>load<u8>(tp + <usize>len) == 0x2f);
    } else if (shape == S_VALUE_PREFIX) {
      const v = load<i32>(rec, 28) == T_USER ? user : client;
      m = false;
      if (v !== null) {
        const vlen = <i32>v.len;
        const n = len + vlen;
        m = tlen >= n && sameBytes(lit, tp, len) && sameBytes(v.ptr, tp + <usize>len, vlen) &&
          (tlen == n || <u32>load<u8>(tp + <usize>n) == 0x2f);
      }
    } else if (shape == S_EXACT) {
      m = tlen == len && sameBytes(lit, tp, len);
    } else {
      m = matchFilter(c + (<usize>load<i32>(rec, 4) << 2), a, tp, tlen, topicDollar, user, client);
    }
    if (m) return bits != 0 ? 1 : 0;
  }
  return -1;
}

/**
 * mosquitto 2.0.11's acl_file decision for a READ or WRITE of `topic` (the caller handles
 * SUBSCRIBE/UNSUBSCRIBE): the client's own `topic` rules, then the patterns (never for a username
 * or client id containing `+` or `#`). No allocation.
 */
// @ts-ignore: decorator
@inline
export function aclAllows(clientid: Str, username: Str | null, topic: Str, access: i32): bool {
  let from = anonStart;
  let to = anonEnd;
  if (username !== null) {
    from = to = 0;
    if (userCount != 0) {
      const rec = lookupName(userSlots, userMask, userEntries, userStride, userArena, username.ptr, <i32>username.len);
      if (rec != 0) {
        from = load<i32>(rec);
        to = load<i32>(rec, 8);
      }
    }
  }
  if (from < to) {
    const d = scan(from, to, topic, access, null, null);
    if (d >= 0) return d == 1;
  }
  // mosquitto refuses every pattern to a username or client id holding `+` or `#` before trying
  // them; as such a client ends up denied either way, the scan (usually cheaper) goes first and
  // the values are checked only when a pattern grants.
  if (patEnd == patStart) return false;
  if (scan(patStart, patEnd, topic, access, username, clientid) != 1) return false;
  if (username !== null && hasWildcardAt(username.ptr, <i32>username.len)) return false;
  return !hasWildcardAt(clientid.ptr, <i32>clientid.len);
}
