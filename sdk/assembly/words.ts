// Word-at-a-time byte helpers: eight bytes per step where an interpreter charges every loop turn
// (a byte loop costs about 20 instructions per byte under wasm3 with fuel metering). Two
// contracts: bytesEqual and bytesEqualBelow never load past the end of memory (any byte run);
// the others load whole words past the end of their runs and need readable bytes there (see
// "Word loads past the end of a value" below). No allocation.

/** True when the `n` bytes at `a` and `b` are equal (8 bytes per step, then bytes). */
// @ts-ignore: decorator
@inline
export function eqBytes(a: usize, b: usize, n: i32): bool {
  while (n >= 8) {
    if (load<u64>(a) != load<u64>(b)) return false;
    a += 8;
    b += 8;
    n -= 8;
  }
  while (n > 0) {
    if (load<u8>(a) != load<u8>(b)) return false;
    a++;
    b++;
    n--;
  }
  return true;
}

// Word loads past the end of a value. Every byte run the hot path reads has at least 8 readable
// bytes after its end, so a u64 load at any position up to the end stays inside linear memory
// without asking for its size (memory.size costs as much as a dozen instructions under wasm3):
// - request fields (topic, username, client id) live in the SDK's request buffer, which keeps
//   STR_SLACK spare bytes after the capacity the host writes into (sdk/assembly/abi.ts), and the
//   Strs specs make with Str.fromString carry the same slack (sdk/assembly/str.ts);
// - the literal bytes of the rules live in the arena, which ByteBuf.finish() ends with 8 spare
//   bytes.
// The bytes read past a value are whatever follows it: callers mask them off or have checked
// the lengths first.

// lowBytes(n) for n = 0..8, as a table: one load instead of five arithmetic instructions, and
// n = 0 needs no special case (a shift by 64 bits would be a shift by 0 in wasm).
const LOW_BYTES: usize = memory.data<u64>([
  0, 0xff, 0xffff, 0xffffff, 0xffffffff, 0xffffffffff, 0xffffffffffff, 0xffffffffffffff, 0xffffffffffffffff,
]);

/** Mask keeping the low `n` bytes (0..8) of a little-endian word. */
// @ts-ignore: decorator
@inline
export function lowBytes(n: i32): u64 {
  return load<u64>(<usize>n << 3, LOW_BYTES); // the table's address as the load's constant offset: no add
}

/** Every byte without bit 3 (wildBits' first step). */
export const NOT_BIT3: u64 = 0xf7f7f7f7f7f7f7f7;
const HASHES: u64 = 0x2323232323232323;

// Non-zero when a byte of `w` is `+` (0x2b) or `#` (0x23): exactly the two bytes that read 0x23
// with bit 3 cleared, so one "word has a zero byte" test on `(w & ~0x08...) ^ 0x23...` finds
// both. A masked-off byte is 0, which is neither.
// @ts-ignore: decorator
@inline
export function wildBits(w: u64): u64 {
  const x = (w & NOT_BIT3) ^ HASHES;
  return (x - ONES) & ~x & HIGHS;
}

/** lowBytes(n) & NOT_BIT3 for n = 0..8 (u64 each): keeps a value's bytes for mayBeWild. */
// prettier-ignore
export const LOW_BYTES_NOT_BIT3: usize = memory.data<u64>([
  0x0, 0xf7, 0xf7f7, 0xf7f7f7, 0xf7f7f7f7, 0xf7f7f7f7f7, 0xf7f7f7f7f7f7, 0xf7f7f7f7f7f7f7, 0xf7f7f7f7f7f7f7f7,
]);

/**
 * Non-zero when the bytes of `w` that `maskNotBit3` keeps (a LOW_BYTES_NOT_BIT3 entry or
 * NOT_BIT3) may hold `+` or `#`: exact for ASCII, a false alarm possible from byte 0x80 on (the
 * high bit is not looked at); hasWildcardSlow then decides.
 */
// @ts-ignore: decorator
@inline
export function mayBeWild(w: u64, maskNotBit3: u64): u64 {
  return (((w & maskNotBit3) ^ HASHES) - ONES) & HIGHS;
}

/**
 * mayBeWild(a, NOT_BIT3) | mayBeWild(b, NOT_BIT3), with one mask for both words (one
 * interpreted instruction fewer): for the two overlapping words of a 9 to 16 byte value.
 */
// @ts-ignore: decorator
@inline
export function mayBeWild2(a: u64, b: u64): u64 {
  return ((((a & NOT_BIT3) ^ HASHES) - ONES) | (((b & NOT_BIT3) ^ HASHES) - ONES)) & HIGHS;
}

/**
 * True when the `n` bytes at `p` contain `+` or `#`. Values up to 16 bytes (most usernames and
 * client ids) take one or two word loads and no loop (from 9 bytes on, the second word is the
 * one ending the value, overlapping the first). The word test is exact for ASCII but also fires
 * for a byte 0x80 + 0x23 or 0x80 + 0x2b (it does not look at the byte's high bit, which saves two
 * instructions per word); only then is the exact test (a call) run. `p` must have 8 readable
 * bytes past its end (see "Word loads past the end of a value" above).
 */
// @ts-ignore: decorator
@inline
export function hasWildcardAt(p: usize, n: i32): bool {
  if (n <= 8) {
    if (mayBeWild(load<u64>(p), load<u64>(<usize>n << 3, LOW_BYTES_NOT_BIT3))) return hasWildcardSlow(p, n);
    return false;
  }
  if (n <= 16) {
    const x = (load<u64>(p) & NOT_BIT3) ^ HASHES;
    const y = (load<u64>(p + <usize>(n - 8)) & NOT_BIT3) ^ HASHES;
    if (((x - ONES) | (y - ONES)) & HIGHS) return hasWildcardSlow(p, n);
    return false;
  }
  return hasWildcardSlow(p, n);
}

/**
 * hasWildcardAt's exact test, for any length: two words per step, then a masked word (a call:
 * rarely needed, and kept out of its callers' loops, whose every turn the fuel metering charges
 * by their size). `p` must have 8 readable bytes past its end.
 */
export function hasWildcardSlow(p: usize, n: i32): bool {
  while (n >= 32) {
    // wildBits of four words, with one mask of the high bits for all of them.
    const a = (load<u64>(p) & NOT_BIT3) ^ HASHES;
    const b = (load<u64>(p, 8) & NOT_BIT3) ^ HASHES;
    const c = (load<u64>(p, 16) & NOT_BIT3) ^ HASHES;
    const d = (load<u64>(p, 24) & NOT_BIT3) ^ HASHES;
    if (((((a - ONES) & ~a) | ((b - ONES) & ~b) | ((c - ONES) & ~c) | ((d - ONES) & ~d)) & HIGHS) != 0) return true;
    p += 32;
    n -= 32;
  }
  while (n >= 8) {
    if (wildBits(load<u64>(p)) != 0) return true;
    p += 8;
    n -= 8;
  }
  return wildBits(load<u64>(p) & lowBytes(n)) != 0;
}

/**
 * True when the `n` bytes at `a` and `b` are equal: 64 bytes per step (one test for eight words),
 * then words, then a masked word (both runs need 8 readable bytes past their end). For long
 * literals and values; a call. About one unit of fuel per byte compared.
 */
export function eqBytesLong(a: usize, b: usize, n: i32): bool {
  const end = a + <usize>n;
  while (a + 64 <= end) {
    if (((load<u64>(a) ^ load<u64>(b)) | (load<u64>(a, 8) ^ load<u64>(b, 8)) |
         (load<u64>(a, 16) ^ load<u64>(b, 16)) | (load<u64>(a, 24) ^ load<u64>(b, 24)) |
         (load<u64>(a, 32) ^ load<u64>(b, 32)) | (load<u64>(a, 40) ^ load<u64>(b, 40)) |
         (load<u64>(a, 48) ^ load<u64>(b, 48)) | (load<u64>(a, 56) ^ load<u64>(b, 56))) != 0) return false;
    a += 64;
    b += 64;
  }
  while (a + 8 <= end) {
    if (load<u64>(a) != load<u64>(b)) return false;
    a += 8;
    b += 8;
  }
  return ((load<u64>(a) ^ load<u64>(b)) & lowBytes(<i32>(end - a))) == 0;
}

/**
 * Hash of `n` bytes at `p` for the name tables (not cryptographic; 16 bytes per step, then the
 * last bytes one by one: names being parsed may end their buffer). Linear in `n` with a small
 * constant: acl_check hashes the username on every check of a file with `user` blocks, and a
 * username may be 65,535 bytes long.
 */
export function hashBytes(p: usize, n: i32): u32 {
  let h: u64 = 0x9e3779b97f4a7c15 ^ <u64>n;
  while (n >= 16) {
    h = rotl<u64>((h ^ load<u64>(p)) * 0xff51afd7ed558ccd, 31);
    h = rotl<u64>((h ^ load<u64>(p, 8)) * 0xff51afd7ed558ccd, 31);
    p += 16;
    n -= 16;
  }
  if (n >= 8) {
    h = rotl<u64>((h ^ load<u64>(p)) * 0xff51afd7ed558ccd, 31);
    p += 8;
    n -= 8;
  }
  while (n > 0) {
    h = (h ^ <u64>load<u8>(p)) * 0x100000001b3;
    p++;
    n--;
  }
  h *= 0xc4ceb9fe1a85ec53;
  return <u32>(h ^ (h >> 32));
}

/**
 * True when the `len` bytes at `a` and `b` are equal. Up to 8 bytes: one masked word load on each
 * side, which may read past the bytes but never past memory (both have 8 readable bytes after
 * them: see "Word loads past the end of a value" above); longer runs by eqBytesLong (a call).
 */
// @ts-ignore: decorator
@inline
export function sameBytes(a: usize, b: usize, len: i32): bool {
  if (len <= 8) return ((load<u64>(a) ^ load<u64>(b)) & lowBytes(len)) == 0;
  return eqBytesLong(a, b, len);
}

/** 0x01 in every byte of a word. */
export const ONES: u64 = 0x0101010101010101;
/** 0x80 in every byte of a word. */
export const HIGHS: u64 = 0x8080808080808080;

/**
 * 0x80 in the lowest zero byte of `x` and possibly in bytes above it, nothing else: non-zero
 * exactly when `x` has a zero byte, and its lowest set bit marks the first one (a borrow only
 * moves upwards, so a false mark is always above a true one).
 */
// @ts-ignore: decorator
@inline
export function zeroBytes(x: u64): u64 {
  return (x - ONES) & ~x & HIGHS;
}

/** The end of linear memory now: no word may be loaded past it. */
// @ts-ignore: decorator
@inline
export function memoryEnd(): usize {
  return <usize>memory.size() << 16;
}



/** True when the `n` bytes at `a` and at `b` are equal. */
// @ts-ignore: decorator
@inline
export function bytesEqual(a: usize, b: usize, n: usize): bool {
  return bytesEqualBelow(a, b, n, memoryEnd());
}

/** {@link bytesEqual} reading no word that ends past `limit` (the specs pretend memory ends early). */
// @ts-ignore: decorator
@inline
export function bytesEqualBelow(a: usize, b: usize, n: usize, limit: usize): bool {
  let i: usize = 0;
  if (n >= 8) {
    do {
      if (load<u64>(a + i) != load<u64>(b + i)) return false;
      i += 8;
    } while (i + 8 <= n);
  }
  if (i == n) return true;
  if (a + i + 8 <= limit && b + i + 8 <= limit) {
    return ((load<u64>(a + i) ^ load<u64>(b + i)) & (<u64>-1 >> (<u64>(8 - (n - i)) << 3))) == 0;
  }
  do {
    if (load<u8>(a + i) != load<u8>(b + i)) return false;
    i++;
  } while (i < n);
  return true;
}
