// Zero-allocation comparisons between AssemblyScript strings (UTF-16) and UTF-8 bytes in memory.
// Host fields arrive as UTF-8 while policy constants are UTF-16 string literals; encoding a code
// unit on the fly is much cheaper than decoding the field into a new string (docs/ABI.md).
// Lone surrogates are encoded the way String.UTF8.encode does by default (WTF-8, 3 bytes), so
// `Str.fromString(s).equals(s)` holds for every string.

import { HIGHS, ONES, bytesEqual, memoryEnd, zeroBytes } from "./words";
export { HIGHS, ONES, bytesEqual, bytesEqualBelow, memoryEnd, zeroBytes } from "./words";

/** Byte `/`, the topic level separator. */
export const SLASH: u32 = 0x2f;
/** Byte `+`, the single-level wildcard. */
export const PLUS: u32 = 0x2b;
/** Byte `#`, the multi-level wildcard. */
export const HASH: u32 = 0x23;
/** Byte `$`, the first character of system topics such as `$SYS`. */
export const DOLLAR: u32 = 0x24;
/** Byte `%`, which starts `%u` and `%c` in acl_file patterns. */
export const PERCENT: u32 = 0x25;
/** Byte `u`, of `%u` (the username). */
export const LOWER_U: u32 = 0x75;
/** Byte `c`, of `%c` (the client id). */
export const LOWER_C: u32 = 0x63;
/** Byte `:`, between a name and its hash in a mosquitto_passwd file. */
export const COLON: u32 = 0x3a;

// Word-at-a-time helpers. Every byte loop here runs in an interpreter (wasm3) where each
// iteration also pays the fuel check the gate injects at loop back-edges: eight bytes per iteration
// cut the cost of a typical topic level or username by 3-5x (docs/BENCHMARKS.md, "Hot path").
// Loops are entered only when they will iterate (`if (c) do {} while (c)`): most levels and
// names are shorter than a word, so the common case runs no loop at all (and, since the gate
// charges back-edges, a loop whose body is skipped pays no fuel check either).
// Loads never leave linear memory: whole words inside the range, and a last partial word only
// when the 8 bytes fit below the end of memory (its bytes past the range are masked off; they
// are the guest's own memory, read but never used), bytes one by one otherwise.

/** The low `n` bytes (1-7) of a word, as a mask of their 0x80 bits. */
// @ts-ignore: decorator
@inline
function lowHighs(n: i32): u64 {
  return HIGHS >> (<u64>(8 - n) << 3);
}


/**
 * Compares the UTF-16 code units `[from, to)` at string pointer `sp`, encoded as WTF-8, with the
 * bytes at `base + off` that end before `base + end`. Returns the offset just after the encoded
 * units when they all match, or -1.
 * Inline: ASCII four units per step (policy constants are nearly always ASCII); the first
 * non-ASCII unit hands over to {@link matchUtf16From}.
 */
// @ts-ignore: decorator
@inline
export function matchUtf16(sp: usize, from: i32, to: i32, base: usize, off: i32, end: i32): i32 {
  let i = from;
  let o = off;
  if (i + 4 <= to && o + 4 <= end) {
    do {
      const u = load<u64>(sp + (<usize>i << 1));
      if ((u & 0xff80ff80ff80ff80) != 0) break;
      // Four units below 0x80 -> four bytes: a | b << 8 | c << 16 | d << 24.
      const x = u | (u >> 8);
      if (<u32>((x & 0xffff) | ((x >> 16) & 0xffff0000)) != load<u32>(base + <usize>o)) return -1;
      i += 4;
      o += 4;
    } while (i + 4 <= to && o + 4 <= end);
  }
  // What is left after whole chunks is 0-3 units: unrolled, no loop. Anything else (a
  // non-ASCII unit, fewer than 4 bytes left) goes to the general path.
  if (i == to) return o;
  if (i + 3 < to) return matchUtf16From(sp, i, to, base, o, end);
  let cp = <u32>load<u16>(sp + (<usize>i << 1));
  if (cp >= 0x80) return matchUtf16From(sp, i, to, base, o, end);
  if (o >= end || <u32>load<u8>(base + <usize>o) != cp) return -1;
  if (++i == to) return o + 1;
  cp = <u32>load<u16>(sp + (<usize>i << 1));
  if (cp >= 0x80) return matchUtf16From(sp, i, to, base, o + 1, end);
  if (o + 1 >= end || <u32>load<u8>(base + <usize>o + 1) != cp) return -1;
  if (++i == to) return o + 2;
  cp = <u32>load<u16>(sp + (<usize>i << 1));
  if (cp >= 0x80) return matchUtf16From(sp, i, to, base, o + 2, end);
  if (o + 2 >= end || <u32>load<u8>(base + <usize>o + 2) != cp) return -1;
  return o + 3;
}

/** {@link matchUtf16} one unit at a time, any unit: the non-ASCII path. */
export function matchUtf16From(sp: usize, from: i32, to: i32, base: usize, off: i32, end: i32): i32 {
  let i = from;
  let o = off;
  while (i < to) {
    let cp = <u32>load<u16>(sp + (<usize>i << 1));
    i++;
    if (cp < 0x80) {
      // ASCII fast path: one byte per unit.
      if (o >= end || <u32>load<u8>(base + <usize>o) != cp) return -1;
      o++;
      continue;
    }
    let n: i32;
    if (cp < 0x800) {
      n = 2;
    } else if ((cp & 0xfc00) == 0xd800 && i < to) {
      const lo = <u32>load<u16>(sp + (<usize>i << 1));
      if ((lo & 0xfc00) == 0xdc00) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        i++;
        n = 4;
      } else {
        n = 3;
      }
    } else {
      n = 3;
    }
    if (end - o < n) return -1;
    // Lead byte: n-1 high bits set followed by a zero bit, then the top payload bits.
    const lead = n == 2 ? (0xc0 | (cp >> 6)) : n == 3 ? (0xe0 | (cp >> 12)) : (0xf0 | (cp >> 18));
    if (<u32>load<u8>(base + <usize>o) != lead) return -1;
    for (let k = 1; k < n; k++) {
      const shift = <u32>(6 * (n - 1 - k));
      if (<u32>load<u8>(base + <usize>(o + k)) != (0x80 | ((cp >> shift) & 0x3f))) return -1;
    }
    o += n;
  }
  return o;
}

/** Number of bytes the UTF-16 code units `[from, to)` at `sp` take as WTF-8. */
export function utf8LengthOf(sp: usize, from: i32, to: i32): i32 {
  let n = 0;
  let i = from;
  while (i < to) {
    const c = <u32>load<u16>(sp + (<usize>i << 1));
    i++;
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if ((c & 0xfc00) == 0xd800 && i < to && (<u32>load<u16>(sp + (<usize>i << 1)) & 0xfc00) == 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** Index of byte `b` in `[from, end)` at `base`, or `end` when absent (`from` when `from >= end`). */
// @ts-ignore: decorator
@inline
export function findByte(base: usize, from: i32, end: i32, b: u32): i32 {
  return findByteBelow(base, from, end, b, memoryEnd());
}

/** {@link findByte} reading no word that ends past `limit`. */
// @ts-ignore: decorator
@inline
export function findByteBelow(base: usize, from: i32, end: i32, b: u32, limit: usize): i32 {
  let i = from;
  if (i >= end) return i;
  if (b > 0xff) return end;
  const rep = <u64>b * ONES;
  if (i + 8 <= end) {
    do {
      const m = zeroBytes(load<u64>(base + <usize>i) ^ rep);
      if (m != 0) return i + <i32>(ctz(m) >> 3);
      i += 8;
    } while (i + 8 <= end);
    if (i == end) return end;
  }
  if (base + <usize>i + 8 <= limit) {
    const m = zeroBytes(load<u64>(base + <usize>i) ^ rep) & lowHighs(end - i);
    return m != 0 ? i + <i32>(ctz(m) >> 3) : end;
  }
  do {
    if (<u32>load<u8>(base + <usize>i) == b) return i;
    i++;
  } while (i < end);
  return end;
}

const PLUS8: u64 = 0x2b2b2b2b2b2b2b2b;
const HASH8: u64 = 0x2323232323232323;

/** True when `[from, end)` at `base` contains a `+` or `#` byte. */
// @ts-ignore: decorator
@inline
export function hasWildcardBytes(base: usize, from: i32, end: i32): bool {
  return hasWildcardBytesBelow(base, from, end, memoryEnd());
}

/** {@link hasWildcardBytes} reading no word that ends past `limit`. */
// @ts-ignore: decorator
@inline
export function hasWildcardBytesBelow(base: usize, from: i32, end: i32, limit: usize): bool {
  let i = from;
  if (i + 8 <= end) {
    do {
      const w = load<u64>(base + <usize>i);
      if ((zeroBytes(w ^ PLUS8) | zeroBytes(w ^ HASH8)) != 0) return true;
      i += 8;
    } while (i + 8 <= end);
  }
  if (i >= end) return false;
  if (base + <usize>i + 8 <= limit) {
    const w = load<u64>(base + <usize>i);
    return ((zeroBytes(w ^ PLUS8) | zeroBytes(w ^ HASH8)) & lowHighs(end - i)) != 0;
  }
  do {
    const c = <u32>load<u8>(base + <usize>i);
    if (c == PLUS || c == HASH) return true;
    i++;
  } while (i < end);
  return false;
}
