// ACL topic filters, compiled once and matched in place.
//
// A filter is stored as a short token program in an i32 table:
//   [dollar, count, token...]
// with tokens
//   LIT off len        literal bytes (may span levels: "a/b/"), at `off` in the byte arena
//   LIT_HASH off len   literal bytes, then the final "/#" (the "/" is not part of len)
//   PLUS               a whole `+` level
//   HASH               a whole `#` filter (only when the filter is just "#")
//   USER / CLIENT      the username / client id bytes (acl_file `pattern` lines only)
// and `dollar` saying whether the filter, as it reads after substitution, starts with `$`
// (0 no, 1 yes, 2 depends on the substituted value).
//
// Matching is mosquitto 2.0.11's: `pattern` lines substitute `%u`/`%c` as plain text wherever
// they appear (checked against the real broker: `pattern read mid%u/#` grants `midbob/1` to bob,
// and a username "me/x" spans two levels), then match the result like
// mosquitto_topic_matches_sub: `+` takes one level (possibly empty), `#` the rest including the
// parent (`a/#` matches `a`), and a filter starting with `$` matches only topics starting with
// `$` and the other way round. Because the values are compared as byte runs, no substituted
// filter is ever built: the hot path allocates nothing.
import { ByteBuf, IntBuf, eqBytes } from "./buf";
import { Str } from "../sdk/assembly";

/** Token kinds (see the file comment). */
export const T_LIT: i32 = 0;
export const T_LIT_HASH: i32 = 1;
export const T_PLUS: i32 = 2;
export const T_HASH: i32 = 3;
export const T_USER: i32 = 4;
export const T_CLIENT: i32 = 5;

const C_SLASH: u32 = 0x2f;
const C_PLUS: u32 = 0x2b;
const C_HASH: u32 = 0x23;
const C_DOLLAR: u32 = 0x24;
const C_PERCENT: u32 = 0x25;
const C_LOWER_U: u32 = 0x75;
const C_LOWER_C: u32 = 0x63;

/**
 * mosquitto_sub_topic_check on `n` bytes at `p`: `+` and `#` only as whole levels, `#` only last,
 * at most 65535 bytes. Empty text is rejected too (an acl_file line can never produce it).
 */
export function validFilter(p: usize, n: i32): bool {
  if (n <= 0 || n > 65535) return false;
  for (let i = 0; i < n; i++) {
    const c = <u32>load<u8>(p + <usize>i);
    if (c != C_PLUS && c != C_HASH) continue;
    const prevOk = i == 0 || <u32>load<u8>(p + <usize>(i - 1)) == C_SLASH;
    if (!prevOk) return false;
    if (c == C_HASH) {
      if (i != n - 1) return false;
    } else if (i != n - 1 && <u32>load<u8>(p + <usize>(i + 1)) != C_SLASH) {
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
 * bytes into `arena`. With `substitute`, `%u` and `%c` become USER / CLIENT tokens.
 */
export function compileFilter(p: usize, n: i32, substitute: bool, arena: ByteBuf, code: IntBuf): CompiledFilter {
  const out = new CompiledFilter();
  const start = code.length;
  out.index = start;
  code.push(0); // dollar, set below
  code.push(0); // token count, set below
  let count = 0;
  let lastLit = -1; // index of the last LIT token, for the "/#" merge
  let runStart = 0;
  let i = 0;
  while (i < n) {
    const c = <u32>load<u8>(p + <usize>i);
    let token = -1;
    let width = 1;
    if (substitute && c == C_PERCENT && i + 1 < n) {
      const d = <u32>load<u8>(p + <usize>(i + 1));
      if (d == C_LOWER_U) token = T_USER;
      else if (d == C_LOWER_C) token = T_CLIENT;
      width = 2;
    } else if (c == C_PLUS) {
      token = T_PLUS;
    } else if (c == C_HASH) {
      token = T_HASH;
    }
    if (token < 0) {
      i++;
      continue;
    }
    if (i > runStart) {
      lastLit = code.length;
      code.push(T_LIT);
      code.push(arena.append(p + <usize>runStart, i - runStart));
      code.push(i - runStart);
      count++;
    }
    if (token == T_USER) out.usesUser = true;
    if (token == T_CLIENT) out.usesClient = true;
    // `#` right after a literal ending in "/": fold into LIT_HASH so a topic equal to the parent
    // level matches too (`a/#` matches `a`), as in mosquitto.
    if (token == T_HASH && lastLit >= 0 && lastLit == code.length - 3) {
      const off = code.get(lastLit + 1);
      const len = code.get(lastLit + 2);
      if (len > 0 && <u32>arena.data[off + len - 1] == C_SLASH) {
        code.set(lastLit, T_LIT_HASH);
        code.set(lastLit + 2, len - 1);
        i += width;
        runStart = i;
        continue;
      }
    }
    code.push(token);
    count++;
    i += width;
    runStart = i;
  }
  if (n > runStart) {
    code.push(T_LIT);
    code.push(arena.append(p + <usize>runStart, n - runStart));
    code.push(n - runStart);
    count++;
  }
  // Whether the filter starts with `$` is known now unless it starts with a substitution.
  let dollar = 0;
  if (n > 0) {
    const c0 = <u32>load<u8>(p);
    if (c0 == C_DOLLAR) dollar = 1;
    if (substitute && c0 == C_PERCENT && n > 1) {
      const d = <u32>load<u8>(p + 1);
      if (d == C_LOWER_U || d == C_LOWER_C) dollar = 2;
    }
  }
  code.set(start, dollar);
  code.set(start + 1, count);
  return out;
}

// Hot path ------------------------------------------------------------------------------------

// First byte of the filter as it reads after substitution, for the `$` rule; -1 when empty.
function firstByte(prog: usize, arena: usize, user: Str | null, client: Str | null): i32 {
  const count = load<i32>(prog, 4);
  let p = prog + 8;
  for (let k = 0; k < count; k++) {
    const kind = load<i32>(p);
    if (kind == T_LIT || kind == T_LIT_HASH) {
      const len = load<i32>(p, 8);
      if (len > 0) return <i32>load<u8>(arena + <usize>load<i32>(p, 4));
      return <i32>C_SLASH; // LIT_HASH with an empty literal reads "/#"
    }
    if (kind == T_PLUS) return <i32>C_PLUS;
    if (kind == T_HASH) return <i32>C_HASH;
    const v = kind == T_USER ? user : client;
    if (v !== null && v.len > 0) return <i32>load<u8>(v.ptr);
    p += 4;
  }
  return -1;
}

/**
 * True when `topic` matches the compiled filter at `prog` (a pointer into the code table), with
 * `%u`/`%c` standing for `user`/`client`. The caller skips USER filters when `user` is null.
 * `topic` is a PUBLISH topic (never empty, no wildcards: the broker checks that first).
 */
export function matchFilter(prog: usize, arena: usize, topic: Str, user: Str | null, client: Str | null): bool {
  const tp = topic.ptr;
  const tlen = <i32>topic.len;
  if (tlen == 0) return false;
  const dollar = load<i32>(prog);
  const topicDollar = <u32>load<u8>(tp) == C_DOLLAR;
  if (dollar == 2) {
    if ((firstByte(prog, arena, user, client) == <i32>C_DOLLAR) != topicDollar) return false;
  } else if ((dollar == 1) != topicDollar) {
    return false;
  }
  const count = load<i32>(prog, 4);
  let p = prog + 8;
  let ti = 0;
  for (let k = 0; k < count; k++) {
    const kind = load<i32>(p);
    if (kind <= T_LIT_HASH) {
      const len = load<i32>(p, 8);
      if (tlen - ti < len || !eqBytes(arena + <usize>load<i32>(p, 4), tp + <usize>ti, len)) return false;
      ti += len;
      if (kind == T_LIT_HASH) {
        // "/#" matches the end of the topic or a "/" and anything after it.
        return ti == tlen || <u32>load<u8>(tp + <usize>ti) == C_SLASH;
      }
      p += 12;
    } else if (kind == T_PLUS) {
      while (ti < tlen && <u32>load<u8>(tp + <usize>ti) != C_SLASH) ti++;
      p += 4;
    } else if (kind == T_HASH) {
      return true;
    } else {
      const v = kind == T_USER ? user : client;
      if (v === null) return false;
      const len = <i32>v.len;
      if (tlen - ti < len || !eqBytes(v.ptr, tp + <usize>ti, len)) return false;
      ti += len;
      p += 4;
    }
  }
  return ti == tlen;
}
