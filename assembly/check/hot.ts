// The acl_check hot path: the compiled acl_file (rule.ts) read through plain addresses kept in
// globals, never through managed objects. install() is the only writer, and keeps the Acl whose
// tables the addresses point into alive. Why it is written the way it is (plain `if`s, no
// managed references, globals read where needed, word loads past short values): assembly/README.md,
// "How a check is made fast".
import { Acl } from "../load/acl";
import { F_CHECK_CLIENT, F_CHECK_USER, F_CLIENT, F_DENY, RESULT_SHIFT, RULE_BYTES, SHAPE_MASK, SHAPE_SHIFT, S_EXACT, S_GENERIC, S_LONG, S_PREFIX, S_VALUE_PREFIX, rule } from "../rule";
import { hasWildcardAt, hasWildcardSlow, LOW_BYTES_NOT_BIT3, lowBytes, mayBeWild, mayBeWild2, sameBytes } from "../../sdk/assembly/words";
import { matchFilter } from "./match";
import { beginCheck, memoInit, valueAtCall, valueClean } from "./memo";
import { lookupUser, UserRecord } from "../load/users";
import { Access, Decision, Reason, Str, reasonsMaybeWanted } from "../../sdk/assembly";
import { DOLLAR, SLASH } from "../../sdk/assembly/utf8";

// What acl_check does, in one global (a file of patterns only is 0, the cheapest test). The last
// two are acl_check's answers plus STATE_ANSWER.
const STATE_PATTERNS: i32 = 0;              // check the installed acl_file, which has only patterns
const STATE_RULES: i32 = 1;                 // check the installed acl_file: topic rules, then patterns
const STATE_ANSWER: i32 = 2;
const STATE_UNLOADED: i32 = STATE_ANSWER + Decision.Deny; // no configuration: deny
const STATE_NO_ACL: i32 = STATE_ANSWER + Decision.Allow;   // no acl_file: allow, as mosquitto does
let state: i32 = STATE_UNLOADED;

// Never read on the hot path: only keeps the tables alive for the garbage collector.
let installed: Acl | null = null;
// Rule records; anonymous and pattern rules as address ranges [start, end).
let rules: usize = 0;
let code: usize = 0;
let arena: usize = 0;
let anonRules: usize = 0;
let anonRulesEnd: usize = 0;
// A copy of Acl.patByFirst (per first byte of the topic, the address of a list of pattern rule
// records) at a fixed address: one load with a constant offset finds a list.
const PAT_BY_FIRST_BYTES: i32 = 256 * 4;
const PAT_BY_FIRST: usize = memory.data(PAT_BY_FIRST_BYTES);
// The user table (users.ts); userCount 0 when no user has a rule.
let userCount: i32 = 0;
let userSlots: usize = 0;
let userMask: u32 = 0;

/** Points the hot path at `acl`'s tables: acl_check enforces them from now on. */
export function install(acl: Acl): void {
  // A file of patterns only (like P) skips the per-client rule lookup with the state test.
  state = acl.anonEnd > acl.anonStart || acl.userCount != 0 ? STATE_RULES : STATE_PATTERNS;
  installed = acl;
  const r = acl.rulesPtr;
  rules = r;
  code = acl.codePtr;
  arena = acl.arenaPtr;
  anonRules = r + <usize>acl.anonStart * RULE_BYTES;
  anonRulesEnd = r + <usize>acl.anonEnd * RULE_BYTES;
  memory.copy(PAT_BY_FIRST, acl.patByFirstPtr, PAT_BY_FIRST_BYTES);
  const u = acl.users;
  userCount = acl.userCount;
  userSlots = u.slotsPtr;
  userMask = u.slotMask;
  memoInit();
}

/** A configuration without acl_file: acl_check allows everything, as mosquitto does. */
export function installAllowAll(): void {
  uninstall();
  state = STATE_NO_ACL;
}

/** Forgets the installed tables (unload): acl_check denies everything. */
export function uninstall(): void {
  state = STATE_UNLOADED;
  installed = null;
  rules = code = arena = 0;
  anonRules = anonRulesEnd = 0;
  userCount = 0;
}

/**
 * True when the rule at `rec` (flags already read, its key test passed) matches the topic
 * (`tlen` bytes at `tp`), with %u/%c standing for `user`/`client`: every case acl_check does not
 * match itself (literals longer than 8 bytes, values longer than 8, token programs). A call, out
 * of acl_check's loops: the fuel metering charges a loop its whole size on every turn, so what
 * runs rarely is not inlined there; and a function its whole size on every call, so this one
 * only dispatches. `begun` is 0 on the check's first slow call, which starts the check's memo
 * (memo.ts): the per-check knowledge that keeps a check linear in its fields.
 */
export function slowMatch(rec: usize, flags: i32, tp: usize, tlen: i32, user: Str | null, client: Str | null, begun: i32): bool {
  if (begun == 0) beginCheck();
  if (((flags >> SHAPE_SHIFT) & SHAPE_MASK) != S_GENERIC) return directMatch(rec, flags, tp, tlen, user, client);
  // An empty topic is never a PUBLISH topic and mosquitto's matcher rejects it; the direct
  // shapes cannot match it (their literal is never empty), a program could ("#").
  if (tlen == 0) return false;
  const topicDollar: i32 = <u32>load<u8>(tp) == DOLLAR ? 1 : 0;
  return matchFilter(code + (<usize>rule(rec).prog << 2), arena, tp, tlen, topicDollar, user, client);
}

/**
 * slowMatch for the direct shapes (L/#, L, L/%u/#, L/%c/#) with a literal longer than 8 bytes or
 * a value longer than 8: their literal starts the topic (its first byte is literal, so the `$`
 * rule holds by itself), and the key test compared its first 8 bytes. Values use the check's memo
 * (slowMatch started it); topic rules, which have none, call this directly.
 */
export function directMatch(rec: usize, flags: i32, tp: usize, tlen: i32, user: Str | null, client: Str | null): bool {
  const shape = (flags >> SHAPE_SHIFT) & SHAPE_MASK;
  const len = rule(rec).len;
  if (tlen < len) return false;
  if (shape & S_LONG) {
    if (!sameBytes(arena + <usize>rule(rec).off + 8, tp + 8, len - 8)) return false;
  }
  const base = shape & ~S_LONG;
  if (base == S_EXACT) return tlen == len;
  let n = len;
  if (base == S_VALUE_PREFIX) {
    // L/%u/# or L/%c/#: the value follows L, holds no `+`/`#` (a value that does ends in a
    // denial anyway, and a grant through this rule skips the check: see acl_check) and ends the
    // topic or a level.
    const client_ = (flags & F_CLIENT) != 0;
    const v = client_ ? client : user;
    if (v === null) return false;
    const m = <i32>v.len;
    n = len + m;
    if (tlen < n) return false;
    const which = client_ ? 1 : 0;
    if (!valueAtCall(v.ptr, m, which, tp, tlen, len)) return false;
    if (!valueClean(v.ptr, m, which)) return false;
  }
  return tlen == n || <u32>load<u8>(tp + <usize>n) == SLASH; // S_PREFIX, S_VALUE_PREFIX
}

/**
 * The acl_check hook (index.ts exports it). SUBSCRIBE and UNSUBSCRIBE are always allowed (the
 * READ check at delivery filters what a subscription receives); without an acl_file everything
 * is allowed. A READ or WRITE gets mosquitto 2.0.11's acl_file decision: the client's own
 * `topic` rules (deny rules first: a matching deny denies, a matching rule holding an `access`
 * bit grants; a deny rule holds every bit), then the patterns the same way (never for a username
 * or client id containing `+` or `#`). No allocation. Every Str must have 8 readable bytes past
 * its end (true of the SDK's request buffer and of Str.fromString; words.ts explains why). Each
 * loop returns as soon as a rule decides.
 */
// Written out here rather than inlined from a helper: the parameters of an inlined function
// become copies of the caller's values, each one an instruction on every call.
export function acl_check(clientid: Str, username: Str | null, topic: Str, access: i32): Decision {
  // One test for READ and WRITE, the common case. The rule tables keep flags above the access
  // byte, so no other bit may reach them (mosquitto never sends such a value).
  if (<u32>access > <u32>Access.Write) {
    if (access == Access.Subscribe || access == Access.Unsubscribe) return Decision.Allow;
    if (<u32>access > 0xff) {
      access &= 0xff;
      if (access == Access.Subscribe || access == Access.Unsubscribe) return Decision.Allow;
    }
  }
  const tp = topic.ptr;
  let rec: usize = 0;
  let end: usize = 0;
  // Set once the check has called slowMatch (which started the check's memo on that first call).
  let begun: i32 = 0;
  if (state != STATE_PATTERNS) {
    const s = state;
    if (s != STATE_RULES) return <Decision>(s - STATE_ANSWER);
    // The topic's first word for the rules' keys: bytes past a short topic included (a rule whose
    // key is longer than the topic cannot match it, and the lengths are checked before a key
    // counts as a match).
    const w = load<u64>(tp);
    if (username === null) {
      rec = anonRules;
      end = anonRulesEnd;
    } else if (userCount != 0) {
      const user = changetype<UserRecord | null>(lookupUser(userSlots, userMask, username.ptr, <i32>username.len));
      if (user !== null) {
        rec = rules + <usize>user.ruleStart * RULE_BYTES;
        end = rules + <usize>user.ruleEnd * RULE_BYTES;
      }
    }
    if (rec < end) {
      const tlen = <i32>topic.len;
      do {
        if ((w & rule(rec).mask) != rule(rec).key) continue;
        const flags = rule(rec).flags;
        if ((flags & access) == 0) continue;
        // L/# and L with L up to 8 bytes (the key test compared it) right here, anything else in
        // slowMatch (a user's rules are templates: the username stands for the user's name).
        const shape = <i32>rule(rec).shape;
        if (shape == S_PREFIX) {
          const len = rule(rec).len;
          if (tlen < len) continue;
          if ((tlen != len) & (<u32>load<u8>(tp + <usize>len) != SLASH)) continue;
        } else if (shape == S_EXACT) {
          if (tlen != rule(rec).len) continue;
        } else {
          const r = slowMatch(rec, flags, tp, tlen, username, null, begun);
          begun = 1;
          if (!r) continue;
        }
        return <Decision>(flags >> RESULT_SHIFT); // R_DENY, R_GRANT
      } while ((rec += RULE_BYTES) < end);
    }
  }
  // Only the patterns that can match a topic starting with this byte (with P: at most one); the
  // common shapes are matched right here, the rest in slowMatch. The list ends with a record
  // whose flags are 0.
  let at = load<usize>(<usize>load<u8>(tp) << 2, PAT_BY_FIRST);
  if (rule(at).flags != 0) {
    do {
      rec = at;
      if ((load<u64>(tp) & rule(rec).mask) != rule(rec).key) continue;
      const flags = rule(rec).flags;
      if ((flags & access) != 0) {
        const tlen = <i32>topic.len;
        const shape = <i32>rule(rec).shape;
        if ((shape & SHAPE_MASK) == S_VALUE_PREFIX) {
          // L/%u/# or L/%c/# with L up to 8 bytes, which the key test compared: the value must
          // follow it, hold no `+`/`#` (slowMatch explains why) and end the topic or a level.
          const v = shape == S_VALUE_PREFIX ? username : clientid; // F_CLIENT clear: %u
          if (v === null) continue;
          const vlen = <i32>v.len;
          if (vlen <= 8) {
            const len = rule(rec).len;
            const n = len + vlen;
            if (tlen < n) continue;
            const x = load<u64>(v.ptr);
            if (((x ^ load<u64>(tp + <usize>len)) & lowBytes(vlen)) != 0) continue;
            if (mayBeWild(x, load<u64>(<usize>vlen << 3, LOW_BYTES_NOT_BIT3)) != 0) {
              if (hasWildcardSlow(v.ptr, vlen)) continue;
            }
            if ((tlen != n) & (<u32>load<u8>(tp + <usize>n) != SLASH)) continue; // n <= tlen: the byte is readable
          } else {
            const r = slowMatch(rec, flags, tp, tlen, username, clientid, begun);
            begun = 1;
            if (!r) continue;
          }
        } else if (shape == S_PREFIX) {
          // L/# with L up to 8 bytes: L is the whole topic or a level of it.
          const len = rule(rec).len;
          if (tlen < len) continue;
          if ((tlen != len) & (<u32>load<u8>(tp + <usize>len) != SLASH)) continue;
        } else {
          const r = slowMatch(rec, flags, tp, tlen, username, clientid, begun);
          begun = 1;
          if (!r) continue;
        }
      // The pattern decides. mosquitto refuses every pattern to a username or client id holding
      // `+` or `#` before trying them; as such a client ends up denied either way, the scan
      // (usually cheaper) goes first and the values are checked only when a pattern grants, and
      // not when the grant proved them clean (no F_CHECK_USER/F_CHECK_CLIENT).
      if (flags & (F_DENY | F_CHECK_USER)) { // one test on the path of a %u grant
        if (flags & F_DENY) return denied(DENIED_BY_PATTERN);
        if (username !== null) {
          if (hasWildcardAt(username.ptr, <i32>username.len)) return denied(DENIED_WILDCARD);
        }
      }
      if (flags & F_CHECK_CLIENT) {
        // hasWildcardAt(clientid) written out as statements (see above): client ids are often
        // 9 to 16 bytes, and this test runs on nearly every granted request.
        const cp = clientid.ptr;
        const cn = <i32>clientid.len;
        if (cn <= 8) {
          if (mayBeWild(load<u64>(cp), load<u64>(<usize>cn << 3, LOW_BYTES_NOT_BIT3)) != 0) {
            if (hasWildcardSlow(cp, cn)) return denied(DENIED_WILDCARD);
          }
        } else if (cn <= 16) {
          if (mayBeWild2(load<u64>(cp), load<u64>(cp + <usize>(cn - 8))) != 0) {
            if (hasWildcardSlow(cp, cn)) return denied(DENIED_WILDCARD);
          }
        } else if (hasWildcardSlow(cp, cn)) return denied(DENIED_WILDCARD);
      }
        return Decision.Allow;
      }
    } while (rule((at += RULE_BYTES)).flags != 0);
  }
  return denied(access == Access.Read ? DENIED_NO_READ : DENIED_NO_WRITE);
}

// Reasons for denials (the audit log), out of line: only a denial pays for them, and the
// metering charges acl_check's loops for what is written inside them. One function for all of
// them, called from several places, stays a call (the optimiser would inline a function called
// once, reshaping acl_check's allow paths: measured, 8 instructions more per check). A user's
// own deny rule returns from its loop without one, which keeps a test off the path of its grants.
const DENIED_BY_PATTERN: i32 = 0;
const DENIED_WILDCARD: i32 = 1;
const DENIED_NO_READ: i32 = 2;
const DENIED_NO_WRITE: i32 = 3;
const REASONS: StaticArray<Reason> = [
  new Reason("an acl_file deny pattern matches the topic"),
  new Reason("username or client id holds + or #: no pattern applies"),
  new Reason("no acl rule grants read on the topic"),
  new Reason("no acl rule grants write on the topic"),
];
// @ts-ignore: decorator
@inline function denied(why: i32): Decision {
  if (reasonsMaybeWanted()) giveReason(why); // plugin without wasm_audit: a load and a branch
  return Decision.Deny;
}
function giveReason(why: i32): void {
  unchecked(REASONS[why]).set();
}
