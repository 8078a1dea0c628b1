// Standard base64 (RFC 4648 section 4, the alphabet mosquitto_passwd and dynamic-security write)
// between byte runs in memory, without allocating: for decoding data files once and keeping the
// bytes, which take three quarters of the text's room.

// The alphabet, and its inverse (255: not a base64 character).
const ENCODE: usize = memory.data<u8>([
  65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90,
  97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122,
  48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 43, 47,
]);
const DECODE: usize = memory.data<u8>([
  255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
  255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 62, 255, 255, 255, 63, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 255, 255, 255, 255, 255, 255,
  255, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 255, 255, 255, 255, 255,
  255, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 255, 255, 255, 255, 255,
  255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
  255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
  255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
  255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
]);
const PAD: u32 = 0x3d; // `=`

/**
 * Bytes that the `n` characters of base64 text at `p` decode to, judging by the length and the
 * padding only (base64Decode checks the characters), or -1 when no byte count encodes to that
 * length (the padding may be left out: RFC 4648 section 3.2).
 */
export function base64DecodedLength(p: usize, n: i32): i32 {
  let pad = 0;
  if (n > 0 && <u32>load<u8>(p + <usize>(n - 1)) == PAD) pad++;
  if (n > 1 && <u32>load<u8>(p + <usize>(n - 2)) == PAD) pad++;
  const chars = n - pad;
  if ((pad != 0 && (n & 3) != 0) || (chars & 3) == 1) return -1;
  return (chars >> 2) * 3 + ((chars & 3) == 0 ? 0 : (chars & 3) - 1);
}

/**
 * Decodes the `n` characters of base64 text at `p` into `out`, which has room for
 * base64DecodedLength bytes; returns that length, or -1 when the text is not base64 (a character
 * outside the alphabet, `=` other than one or two at the end, a length no byte count encodes
 * to). Bits past the last whole byte are dropped. Four characters per step: under an
 * interpreter a loop's turn costs as much as its body, so a data file's hashes decode ~4x faster
 * than character by character.
 */
export function base64Decode(p: usize, n: i32, out: usize): i32 {
  const bytes = base64DecodedLength(p, n);
  if (bytes < 0) return -1;
  while (n > 0 && <u32>load<u8>(p + <usize>(n - 1)) == PAD) n--;
  const end = p + <usize>(n & ~3);
  // 255 (not base64, `=` included) sets bit 7 of `bad`.
  let bad: u32 = 0;
  while (p < end) {
    const w = load<u32>(p);
    const a = <u32>load<u8>(DECODE + <usize>(w & 0xff));
    const b = <u32>load<u8>(DECODE + <usize>((w >> 8) & 0xff));
    const c = <u32>load<u8>(DECODE + <usize>((w >> 16) & 0xff));
    const d = <u32>load<u8>(DECODE + <usize>(w >> 24));
    bad |= a | b | c | d;
    const v = (a << 18) | (b << 12) | (c << 6) | d;
    store<u8>(out, <u8>(v >> 16));
    store<u8>(out, <u8>(v >> 8), 1);
    store<u8>(out, <u8>v, 2);
    p += 4;
    out += 3;
  }
  // The last 2 or 3 characters: 1 or 2 bytes.
  const rest = n & 3;
  if (rest != 0) {
    const a = <u32>load<u8>(DECODE + <usize>load<u8>(p));
    const b = <u32>load<u8>(DECODE + <usize>load<u8>(p, 1));
    const c = rest == 3 ? <u32>load<u8>(DECODE + <usize>load<u8>(p, 2)) : 0;
    bad |= a | b | c;
    const v = (a << 18) | (b << 12) | (c << 6);
    store<u8>(out, <u8>(v >> 16));
    if (rest == 3) store<u8>(out, <u8>(v >> 8), 1);
  }
  return (bad & 0x80) != 0 ? -1 : bytes;
}

/** Characters the base64 text of `n` bytes takes, padding included. */
// @ts-ignore: decorator
@inline
export function base64EncodedLength(n: i32): i32 {
  return ((n + 2) / 3) << 2;
}

/** Writes the padded base64 text of the `n` bytes at `p` to `out`; returns its length. */
export function base64Encode(p: usize, n: i32, out: usize): i32 {
  const start = out;
  let i = 0;
  for (; i + 3 <= n; i += 3) {
    const v = (<u32>load<u8>(p + <usize>i) << 16) | (<u32>load<u8>(p + <usize>i + 1) << 8) | <u32>load<u8>(p + <usize>i + 2);
    store<u8>(out, load<u8>(ENCODE + <usize>(v >> 18)));
    store<u8>(out, load<u8>(ENCODE + <usize>((v >> 12) & 63)), 1);
    store<u8>(out, load<u8>(ENCODE + <usize>((v >> 6) & 63)), 2);
    store<u8>(out, load<u8>(ENCODE + <usize>(v & 63)), 3);
    out += 4;
  }
  const rest = n - i;
  if (rest > 0) {
    let v = <u32>load<u8>(p + <usize>i) << 16;
    if (rest == 2) v |= <u32>load<u8>(p + <usize>i + 1) << 8;
    store<u8>(out, load<u8>(ENCODE + <usize>(v >> 18)));
    store<u8>(out, load<u8>(ENCODE + <usize>((v >> 12) & 63)), 1);
    store<u8>(out, rest == 2 ? load<u8>(ENCODE + <usize>((v >> 6) & 63)) : <u8>PAD, 2);
    store<u8>(out, <u8>PAD, 3);
    out += 4;
  }
  return <i32>(out - start);
}
