// The acl_check hot path. It reads the compiled acl_file through plain addresses kept in globals,
// never through managed objects: a function holding a managed reference makes AssemblyScript
// spill it to the GC's shadow stack on every call, which costs as much as the check itself
// under the interpreter. install() is the only writer, and keeps the Acl whose tables the
// addresses point into alive.
//
// Under wasm3 every executed wasm instruction costs about as much as the next, entering a loop
// pays the fuel metering's charge (as much as ~7 instructions), and so does every call: the code
// below is written to execute few instructions for the common rule shapes. The rule records hold
// what can be computed once (acl.ts, RULE_BYTES); globals are read where they are needed (a
// local copied up front is an instruction even on paths that never use it); word loads read past
// short values without bounds checks (buf.ts, "Word loads past the end of a value").
import { Acl, F_CLIENT, RESULT_SHIFT, RULE_BYTES, R_GRANT, R_GRANT_CLIENT_CLEAN, R_GRANT_USER_CLEAN, SHAPE_SHIFT, S_EXACT, S_PREFIX, S_VALUE_PREFIX } from "./acl";
import { hasWildcardAt, lowBytes } from "./buf";
import { matchFilter, sameBytes } from "./filter";
import { lookupName } from "./names";
import { Str } from "../sdk/assembly";

const C_SLASH: u32 = 0x2f;
const C_DOLLAR: u32 = 0x24;

// Never read on the hot path: only keeps the tables alive for the garbage collector.
let installed: Acl | null = null;
// Rule records; anonymous and pattern rules as address ranges [start, end).
let rules: usize = 0;
let code: usize = 0;
let arena: usize = 0;
let anonRules: usize = 0;
let anonRulesEnd: usize = 0;
let patRules: usize = 0;
let patRulesEnd: usize = 0;
// The `user` name table (names.ts); userCount 0 when no user has a rule.
let userCount: i32 = 0;
let userSlots: usize = 0;
let userMask: u32 = 0;
let userEntries: usize = 0;
let userStride: i32 = 0;
let userArena: usize = 0;

/** Points the hot path at `acl`'s tables. */
export function install(acl: Acl): void {
  installed = acl;
  const r = acl.rulesPtr;
  rules = r;
  code = acl.codePtr;
  arena = acl.arenaPtr;
  anonRules = r + <usize>acl.anonStart * RULE_BYTES;
  anonRulesEnd = r + <usize>acl.anonEnd * RULE_BYTES;
  patRules = r + <usize>acl.patStart * RULE_BYTES;
  patRulesEnd = r + <usize>acl.patEnd * RULE_BYTES;
  const u = acl.users;
  userCount = acl.userCount;
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
  anonRules = anonRulesEnd = patRules = patRulesEnd = 0;
  userCount = 0;
}

// True when the `n` bytes at `a` equal those at `b` (both with 8 readable bytes past their end).
// Values up to 16 bytes (most usernames and client ids) need no loop; from 9 bytes on, the
// second word overlaps the first rather than being masked.
// @ts-ignore: decorator
@inline
function sameValue(a: usize, b: usize, n: i32): bool {
  if (n <= 8) return ((load<u64>(a) ^ load<u64>(b)) & lowBytes(n)) == 0;
  if (n <= 16) {
    const k = <usize>(n - 8);
    return load<u64>(a) == load<u64>(b) && load<u64>(a + k) == load<u64>(b + k);
  }
  return sameBytes(a, b, n);
}

// The literal bytes past the first 8 (the key test compared those): true when there are none.
// @ts-ignore: decorator
@inline
function restMatches(rec: usize, tp: usize, len: i32): bool {
  return len <= 8 || sameBytes(arena + <usize>load<i32>(rec, 24) + 8, tp + 8, len - 8);
}

// Rule records [rec, end), deny rules first: the matching rule's result (R_DENY, R_GRANT...), or
// -1 when no rule decides. `w` is the
// topic's first word (bytes past a short topic included: a rule whose key is longer than the
// topic cannot match it anyway, and the lengths are checked before a key counts as a match).
// A deny rule holds every access bit, so one test skips the grants of other accesses.
// @ts-ignore: decorator
@inline
function scan(rec: usize, end: usize, tp: usize, tlen: i32, w: u64, access: i32, user: Str | null, client: Str | null): i32 {
  for (; rec < end; rec += RULE_BYTES) {
    if ((w & load<u64>(rec, 8)) != load<u64>(rec)) continue;
    const flags = load<i32>(rec, 16);
    if ((flags & access) == 0) continue;
    // The common shapes are matched here directly; their first byte is literal, so the `$` rule
    // holds by itself (a `$` must match a `$`).
    const shape = (flags >> SHAPE_SHIFT) & 3;
    const len = load<i32>(rec, 20);
    let m: bool;
    if (shape == S_VALUE_PREFIX) {
      const v = flags & F_CLIENT ? client : user;
      m = false;
      if (v !== null) {
        const vlen = <i32>v.len;
        const n = len + vlen;
        m = tlen >= n && restMatches(rec, tp, len) && sameValue(v.ptr, tp + <usize>len, vlen) &&
          (tlen == n || <u32>load<u8>(tp + <usize>n) == C_SLASH);
      }
    } else if (shape == S_PREFIX) {
      m = tlen >= len && restMatches(rec, tp, len) && (tlen == len || <u32>load<u8>(tp + <usize>len) == C_SLASH);
    } else if (shape == S_EXACT) {
      m = tlen == len && restMatches(rec, tp, len);
    } else {
      const topicDollar: i32 = <u32>load<u8>(tp) == C_DOLLAR ? 1 : 0;
      m = matchFilter(code + (<usize>load<i32>(rec, 28) << 2), arena, tp, tlen, topicDollar, user, client);
    }
    if (m) return flags >> RESULT_SHIFT;
  }
  return -1;
}

/**
 * mosquitto 2.0.11's acl_file decision for a READ or WRITE of `topic` (the caller handles
 * SUBSCRIBE/UNSUBSCRIBE): the client's own `topic` rules, then the patterns (never for a username
 * or client id containing `+` or `#`). No allocation. Every Str must have 8 readable bytes past
 * its end (true of the SDK's request buffer and of Str.fromString; buf.ts explains why).
 */
// @ts-ignore: decorator
@inline
export function aclAllows(clientid: Str, username: Str | null, topic: Str, access: i32): bool {
  const tp = topic.ptr;
  const tlen = <i32>topic.len;
  if (tlen == 0) return false; // never a PUBLISH topic; mosquitto's matcher rejects it
  const w = load<u64>(tp);
  let d = -1;
  if (username === null) {
    d = scan(anonRules, anonRulesEnd, tp, tlen, w, access, null, null);
  } else if (userCount != 0) {
    const rec = lookupName(userSlots, userMask, userEntries, userStride, userArena, username.ptr, <i32>username.len);
    if (rec != 0) {
      const r = rules;
      d = scan(r + <usize>load<i32>(rec) * RULE_BYTES, r + <usize>load<i32>(rec, 8) * RULE_BYTES, tp, tlen, w, access, null, null);
    }
  }
  if (d >= 0) return d == R_GRANT;
  // mosquitto refuses every pattern to a username or client id holding `+` or `#` before trying
  // them; as such a client ends up denied either way, the scan (usually cheaper) goes first and
  // the values are checked only when a pattern grants, and not when the grant proved them clean.
  const g = scan(patRules, patRulesEnd, tp, tlen, w, access, username, clientid);
  if (g < R_GRANT) return false;
  if (g != R_GRANT_USER_CLEAN && username !== null && hasWildcardAt(username.ptr, <i32>username.len)) return false;
  return g == R_GRANT_CLIENT_CLEAN || !hasWildcardAt(clientid.ptr, <i32>clientid.len);
}
