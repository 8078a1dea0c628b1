// ACL topic filters, compiled once and matched in place.
//
// A filter is stored as a short token program in an i32 table:
//   [dollar | count << 2, token...]      every token two i32s: [kind | len << 3, off]
// with token kinds
//   LIT        `len` literal bytes at `off` in the byte arena (may span levels: "a/b/")
//   LIT_HASH   the same, then the final "/#" (the "/" is not part of len)
//   PLUS       `runs` times a `+` level and a "/", then a `+` level, then `len` literal bytes at
//              `off` (the literal that follows, which starts with "/"; len 0 when none does):
//              [PLUS | len << 3 | runs << 19, off]
//   HASH       a whole `#` filter (only when the filter is just "#")
//   USER       the username bytes (`pattern` lines, and templates of `topic` rules: acl.ts)
//   CLIENT     the client id bytes (idem)
// and `dollar` saying whether the filter, as it reads after substitution, starts with `$`
// (0 no, 1 yes, 2 depends on the substituted value).
//
// Matching is mosquitto 2.0.11's: `pattern` lines substitute `%u`/`%c` as plain text wherever
// they appear (checked against the real broker: `pattern read mid%u/#` grants `midbob/1` to bob,
// and a username "me/x" spans two levels), then match the result like
// mosquitto_topic_matches_sub: `+` takes one level (possibly empty), `#` the rest including the
// parent (`a/#` matches `a`), and a filter starting with `$` matches only topics starting with
// `$` and the other way round. Because the values are compared as byte runs, no substituted
// filter is ever built: the hot path allocates nothing. The SDK's topicMatchesPattern has the
// same semantics (a spec checks both against the broker's), but re-reads the pattern text on
// every call; the token program here is compiled once, which is what the hot path needs.
import { ByteBuf, IntBuf, eqBytesLong, lowBytes } from "./buf";
import { levelEndLong, slashBits, valueAtCall } from "./memo";
import { Str } from "../sdk/assembly";
import { DOLLAR, HASH, LOWER_C, LOWER_U, PERCENT, PLUS, SLASH } from "../sdk/assembly/utf8";

/** Token kind: literal bytes. */
export const T_LIT: i32 = 0;
/** Token kind: literal bytes, then the final "/#". */
export const T_LIT_HASH: i32 = 1;
/** Token kind: a `+` level. */
export const T_PLUS: i32 = 2;
/** Token kind: the filter "#". */
export const T_HASH: i32 = 3;
/** Token kind: the username (patterns). */
export const T_USER: i32 = 4;
/** Token kind: the client id (patterns). */
export const T_CLIENT: i32 = 5;

/** A PLUS token's literal length: bits 3..18 (a filter has at most 65,535 bytes). */
export const PLUS_LEN_MASK: i32 = 0xffff;
/** A PLUS token's run count (the "+/" levels before its own `+`): bits 19..31. */
export const PLUS_RUNS_SHIFT: i32 = 19;
const PLUS_RUNS_MAX: i32 = 8191;


/**
 * mosquitto_sub_topic_check on `n` bytes at `p`: `+` and `#` only as whole levels, `#` only last,
 * at most 65535 bytes. Empty text is rejected too (an acl_file line can never produce it).
 */
export function validFilter(p: usize, n: i32): bool {
  if (n <= 0 || n > 65535) return false;
  for (let i = 0; i < n; i++) {
    const c = <u32>load<u8>(p + <usize>i);
    if (c != PLUS && c != HASH) continue;
    const prevOk = i == 0 || <u32>load<u8>(p + <usize>(i - 1)) == SLASH;
    if (!prevOk) return false;
    if (c == HASH) {
      if (i != n - 1) return false;
    } else if (i != n - 1 && <u32>load<u8>(p + <usize>(i + 1)) != SLASH) {
      return false;
    }
  }
  return true;
}

/** What compiling a filter found out about it. */
export class CompiledFilter {
  /** Index of the filter's program in the code table. */
  index: i32 = 0;
  /** The pattern refers to `%u`: mosquitto skips it for clients without a username. */
  usesUser: bool = false;
  /** The pattern refers to `%c`. */
  usesClient: bool = false;
}

/**
 * Compiles the (already validated) filter text of `n` bytes at `p` into `code`, copying literal
 * bytes into `arena`. With `substitute`, `%u` and `%c` become USER / CLIENT tokens; a NUL byte
 * (the user's own name in a `topic` rule template, acl.ts) is a USER token in every filter.
 */
export function compileFilter(p: usize, n: i32, substitute: bool, arena: ByteBuf, code: IntBuf): CompiledFilter {
  const out = new CompiledFilter();
  const start = code.length;
  out.index = start;
  code.push(0); // header, set below
  let count = 0;
  let lastLit = -1; // index of the last LIT token, for the "/#" merge
  let runStart = 0;
  let i = 0;
  while (i <= n) {
    let token = -1;
    let width = 1;
    if (i < n) {
      const c = <u32>load<u8>(p + <usize>i);
      if (c == 0) {
        token = T_USER; // a template's name (acl.ts: NAME_MARK)
      } else if (substitute && c == PERCENT && i + 1 < n) {
        const d = <u32>load<u8>(p + <usize>(i + 1));
        if (d == LOWER_U) token = T_USER;
        else if (d == LOWER_C) token = T_CLIENT;
        width = 2;
      } else if (c == PLUS) {
        token = T_PLUS;
      } else if (c == HASH) {
        token = T_HASH;
      }
      if (token < 0) {
        i++;
        continue;
      }
    }
    // A token (or the end): the literal run before it becomes a LIT token.
    if (i > runStart) {
      lastLit = code.length;
      const len = i - runStart;
      code.push(T_LIT | (len << 3));
      code.push(arena.append(p + <usize>runStart, len));
      count++;
    }
    if (i == n) break;
    if (token == T_USER) out.usesUser = true;
    if (token == T_CLIENT) out.usesClient = true;
    i += width;
    runStart = i;
    // `#` right after a literal ending in "/": fold into LIT_HASH so a topic equal to the parent
    // level matches too (`a/#` matches `a`), as in mosquitto.
    if (token == T_HASH && lastLit >= 0 && lastLit == code.length - 2) {
      const len = code.get(lastLit) >> 3;
      if (<u32>arena.data[code.get(lastLit + 1) + len - 1] == SLASH) {
        code.set(lastLit, T_LIT_HASH | ((len - 1) << 3));
        continue;
      }
    }
    code.push(token);
    code.push(0);
    count++;
  }
  // Whether the filter starts with `$` is known now unless it starts with a substitution.
  let dollar = 0;
  if (n > 0) {
    const c0 = <u32>load<u8>(p);
    if (c0 == DOLLAR) dollar = 1;
    if (c0 == 0) dollar = 2;
    if (substitute && c0 == PERCENT && n > 1) {
      const d = <u32>load<u8>(p + 1);
      if (d == LOWER_U || d == LOWER_C) dollar = 2;
    }
  }
  // Merge each PLUS with the literal after it (always "/..."), and a PLUS whose literal is just
  // "/" into the PLUS after it (its run count): `+/+/+/x` is then one token, not 6, and the
  // matcher takes its levels in a loop of its own, smaller than the token loop (the fuel metering
  // charges a loop its size on every turn). A LIT_HASH stays on its own.
  let to = start + 1;
  let merged = 0;
  for (let k = start + 1; k < code.length; k += 2) {
    const kl = code.get(k);
    const off = code.get(k + 1);
    if (to > start + 1) {
      const prev = code.get(to - 2);
      if ((prev & 7) == T_PLUS && ((prev >> 3) & PLUS_LEN_MASK) == 0 && (kl & 7) == T_LIT) {
        code.set(to - 2, prev | (kl & ~7));
        code.set(to - 1, off);
        merged++;
        continue;
      }
      if ((prev & 7) == T_PLUS && ((prev >> 3) & PLUS_LEN_MASK) == 1 && kl == T_PLUS &&
          <u32>arena.data[code.get(to - 1)] == SLASH && (prev >>> PLUS_RUNS_SHIFT) < PLUS_RUNS_MAX) {
        code.set(to - 2, T_PLUS | (((prev >>> PLUS_RUNS_SHIFT) + 1) << PLUS_RUNS_SHIFT));
        code.set(to - 1, 0);
        merged++;
        continue;
      }
    }
    code.set(to, kl);
    code.set(to + 1, off);
    to += 2;
  }
  code.truncate(to);
  code.set(start, dollar | ((count - merged) << 2));
  return out;
}

// Hot path ------------------------------------------------------------------------------------

// 1 when the filter (its tokens from `p` to `stop`) as it reads after substitution starts with
// `$`, else 0 (empty filter too). Recursive over the leading empty values (rarely more than
// one): a recursive function is not inlined, and the matcher's size is charged on every call.
function dynamicDollar(p: usize, stop: usize, arena: usize, user: Str | null, client: Str | null): i32 {
  if (p >= stop) return 0;
  const kl = load<i32>(p);
  const kind = kl & 7;
  let c: u32 = 0;
  if (kind <= T_LIT_HASH) {
    // A LIT_HASH with an empty literal reads "/#".
    c = (kl >> 3) > 0 ? <u32>load<u8>(arena + <usize>load<i32>(p, 4)) : SLASH;
  } else if (kind >= T_USER) {
    const v = kind == T_USER ? user : client;
    if (v === null || v.len == 0) return dynamicDollar(p + 8, stop, arena, user, client);
    c = <u32>load<u8>(v.ptr);
  }
  return c == DOLLAR ? 1 : 0;
}

/**
 * True when the topic (`tlen > 0` bytes at `tp`; `topicDollar` 1 when it starts with `$`)
 * matches the compiled filter at `prog` (a pointer into the code table), with `%u`/`%c` standing
 * for `user`/`client`. The caller skips USER filters when `user` is null. The topic is a PUBLISH
 * topic (no wildcards: the broker checks that first). The caller has started the check's memo
 * (memo.ts beginCheck) since the topic or a value last changed.
 *
 * Each token costs a constant plus the bytes it compares, never a rescan: a `+` takes the level
 * up to the next `/` with one word test when the level is shorter than a word, else from the
 * memo (each level scanned once per check, whatever the number of rules); a literal compares its
 * own bytes (a masked word up to 8); a value compares once per position and check (memo.ts).
 * A call (the patterns' generic path): the fuel metering charges a loop by its size on every
 * turn, so the token loop stays small and the long cases are calls.
 */
export function matchFilter(prog: usize, arena: usize, tp: usize, tlen: i32, topicDollar: i32,
                            user: Str | null, client: Str | null): bool {
  const head = load<i32>(prog);
  let p = prog + 4;
  const stop = p + (<usize>(head >> 2) << 3);
  const dollar = head & 3;
  if (dollar != topicDollar) {
    if (dollar != 2) return false;
    if (dynamicDollar(p, stop, arena, user, client) != topicDollar) return false;
  }
  let ti = 0;
  while (p < stop) {
    const kl = load<i32>(p);
    const kind = kl & 7;
    if (kind >= T_HASH) {
      if (kind == T_HASH) return true;
      // The username or the client id (a call: memo.ts).
      const v = kind == T_USER ? user : client;
      if (v === null) return false;
      const m = <i32>v.len;
      if (tlen - ti < m) return false;
      if (!valueAtCall(v.ptr, m, kind - T_USER, tp, tlen, ti)) return false;
      ti += m;
    } else {
      if (kind == T_PLUS) {
        // A `+` always starts a level (a filter allows it only after a `/` or first), and takes
        // the bytes up to the next `/` or the end (none at the end: an empty level). `runs`
        // levels first, each followed by its "/".
        let runs = kl >>> PLUS_RUNS_SHIFT;
        while (true) {
          if (ti < tlen) {
            const z = slashBits(load<u64>(tp + <usize>ti));
            if (z != 0) {
              ti += <i32>(ctz(z) >> 3);
              if (ti > tlen) ti = tlen; // the `/` was past the end
            } else {
              ti = levelEndLong(tp, tlen, ti);
            }
          }
          if (runs == 0) break;
          if (ti >= tlen) return false; // no "/" after the level
          ti++;
          runs--;
        }
      }
      // The literal bytes (a PLUS's: those after its level, maybe none).
      const len = (kl >> 3) & PLUS_LEN_MASK;
      if (tlen - ti < len) return false;
      const a = arena + <usize>load<i32>(p, 4);
      if (len <= 8) {
        if (((load<u64>(a) ^ load<u64>(tp + <usize>ti)) & lowBytes(len)) != 0) return false;
      } else if (!eqBytesLong(a, tp + <usize>ti, len)) return false;
      ti += len;
      // "/#" matches the end of the topic, or a "/" and anything after it.
      if (kind == T_LIT_HASH) return ti == tlen || <u32>load<u8>(tp + <usize>ti) == SLASH;
    }
    p += 8;
  }
  return ti == tlen;
}

/**
 * True when the `len` bytes at `a` and `b` are equal. Up to 8 bytes: one masked word load on each
 * side, which may read past the bytes but never past memory (both have 8 readable bytes after
 * them: see buf.ts, "Word loads past the end of a value"); longer runs by eqBytesLong (a call).
 */
// @ts-ignore: decorator
@inline
export function sameBytes(a: usize, b: usize, len: i32): bool {
  if (len <= 8) return ((load<u64>(a) ^ load<u64>(b)) & lowBytes(len)) == 0;
  return eqBytesLong(a, b, len);
}
