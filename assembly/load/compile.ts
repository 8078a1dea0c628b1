// ACL topic filters compiled into the token programs check/match.ts runs (the format: rule.ts).
import { ByteBuf, IntBuf } from "./buffers";
import { PLUS_LEN_MASK, PLUS_RUNS_SHIFT, T_CLIENT, T_HASH, T_LIT, T_LIT_HASH, T_PLUS, T_USER } from "../rule";
import { DOLLAR, HASH, LOWER_C, LOWER_U, PERCENT, PLUS, SLASH } from "../../sdk/assembly/utf8";

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

