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
 * Bytes that the `n` characters of base64 text at `p` decode to, or -1 when they are not base64:
 * a character outside the alphabet, `=` other than one or two at the end, or a length that no
 * byte count encodes to (the padding may be left out).
 */
export function base64DecodedLength(p: usize, n: i32): i32 {
  let pad = 0;
  if (n > 0 && <u32>load<u8>(p + <usize>(n - 1)) == PAD) pad++;
  if (n > 1 && <u32>load<u8>(p + <usize>(n - 2)) == PAD) pad++;
  const chars = n - pad;
  if ((pad != 0 && (n & 3) != 0) || (chars & 3) == 1) return -1;
  for (let i = 0; i < chars; i++) {
    if (load<u8>(DECODE + <usize>load<u8>(p + <usize>i)) == 255) return -1;
  }
  return (chars >> 2) * 3 + ((chars & 3) == 0 ? 0 : (chars & 3) - 1);
}

/**
 * Decodes the `n` characters of base64 text at `p` (valid: base64DecodedLength is not -1) into
 * `out`, which has room for base64DecodedLength bytes. Bits past the last whole byte are dropped.
 */
export function base64Decode(p: usize, n: i32, out: usize): void {
  while (n > 0 && <u32>load<u8>(p + <usize>(n - 1)) == PAD) n--;
  let acc: u32 = 0;
  let bits = 0;
  for (let i = 0; i < n; i++) {
    acc = (acc << 6) | <u32>load<u8>(DECODE + <usize>load<u8>(p + <usize>i));
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      store<u8>(out++, <u8>(acc >> <u32>bits));
    }
  }
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
