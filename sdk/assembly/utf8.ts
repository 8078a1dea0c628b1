// Zero-allocation comparisons between AssemblyScript strings (UTF-16) and UTF-8 bytes in memory.
// Host fields arrive as UTF-8 while policy constants are UTF-16 string literals; encoding a code
// unit on the fly is much cheaper than decoding the field into a new string (docs/ABI.md).
// Lone surrogates are encoded the way String.UTF8.encode does by default (WTF-8, 3 bytes), so
// `Str.fromString(s).equals(s)` holds for every string.

/** Byte `/`, the topic level separator. */
export const SLASH: u32 = 0x2f;
/** Byte `+`, the single-level wildcard. */
export const PLUS: u32 = 0x2b;
/** Byte `#`, the multi-level wildcard. */
export const HASH: u32 = 0x23;
/** Byte `$`, the first character of system topics such as `$SYS`. */
export const DOLLAR: u32 = 0x24;

/**
 * Compares the UTF-16 code units `[from, to)` at string pointer `sp`, encoded as WTF-8, with the
 * bytes at `base + off` that end before `base + end`. Returns the offset just after the encoded
 * units when they all match, or -1.
 */
export function matchUtf16(sp: usize, from: i32, to: i32, base: usize, off: i32, end: i32): i32 {
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

/** Index of byte `b` in `[from, end)` at `base`, or `end` when absent. */
// @ts-ignore: decorator
@inline
export function findByte(base: usize, from: i32, end: i32, b: u32): i32 {
  let i = from;
  while (i < end && <u32>load<u8>(base + <usize>i) != b) i++;
  return i;
}

/** True when `[from, end)` at `base` contains a `+` or `#` byte. */
export function hasWildcardBytes(base: usize, from: i32, end: i32): bool {
  for (let i = from; i < end; i++) {
    const b = <u32>load<u8>(base + <usize>i);
    if (b == PLUS || b == HASH) return true;
  }
  return false;
}
