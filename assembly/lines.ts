// Line-by-line reading of a configuration file, with the whitespace rules of the C library
// mosquitto uses (isspace in the C locale).
import { ONES, zeroBytes } from "../sdk/assembly/utf8";

const NEWLINES: u64 = 0x0a * ONES;

/** True for the bytes C's isspace() accepts: space, \t, \n, \v, \f, \r. */
// @ts-ignore: decorator
@inline
export function isSpace(c: u32): bool {
  return c == 0x20 || (c >= 0x09 && c <= 0x0d);
}

/**
 * Offset of the first "\n" in `[from, size)` of the bytes at `base`, or `size`: eight bytes per
 * step (a data file's parse is mostly this scan), never reading past `size`.
 */
export function lineEnd(base: usize, from: i32, size: i32): i32 {
  let i = from;
  while (i + 8 <= size) {
    const z = zeroBytes(load<u64>(base + <usize>i) ^ NEWLINES);
    if (z != 0) return i + <i32>(ctz(z) >> 3);
    i += 8;
  }
  while (i < size && <u32>load<u8>(base + <usize>i) != 0x0a) i++;
  return i;
}

/**
 * Index of the first byte of the `n` bytes at `p` that is NUL or equal to `c` (a byte times
 * ONES: e.g. COLONS), or `n` when none is: eight bytes per step, never reading past `n`. Under the
 * interpreter a byte loop costs ~20 instructions per byte, fuel check included; this ~2.
 */
export function findByteOrNul(p: usize, n: i32, c: u64): i32 {
  let i = 0;
  while (i + 8 <= n) {
    const w = load<u64>(p + <usize>i);
    const z = zeroBytes(w) | zeroBytes(w ^ c);
    if (z != 0) return i + <i32>(ctz(z) >> 3);
    i += 8;
  }
  while (i < n) {
    const b = <u64>load<u8>(p + <usize>i);
    if (b == 0 || b == (c & 0xff)) return i;
    i++;
  }
  return n;
}

/** True when the `n` bytes at `p` hold a NUL byte (C's line handling would cut the line there). */
// @ts-ignore: decorator
@inline
export function hasNulAt(p: usize, n: i32): bool {
  return findByteOrNul(p, n, 0) < n;
}

/** A byte repeated in every byte of a word, for findByteOrNul. */
// @ts-ignore: decorator
@inline
export function everyByte(c: u32): u64 {
  return <u64>c * ONES;
}

/** Readable bytes after the end of every line a Lines gives (whatever they hold). */
export const LINE_SLACK: i32 = 8;

/**
 * The lines of a file; after `next()`, `[base + start, base + end)` is the current line without
 * "\n", followed by at least LINE_SLACK readable bytes (so a parser may load a whole word at any
 * byte of the line and mask off what lies past its end).
 */
export abstract class Lines {
  /** Address the offsets count from (may change at every next()). */
  base: usize = 0;
  /** 1-based number of the current line. */
  lineNo: i32 = 0;
  /** Offset of the current line's first byte. */
  start: i32 = 0;
  /** Offset just past the current line's last byte (its "\n" excluded). */
  end: i32 = 0;
  /** Why the lines ended early, or null. */
  error: string | null = null;

  /** Advances to the next line; false at the end of the file (or on error). */
  abstract next(): bool;

  /**
   * Advances to the next run of whole lines, `[base + start, base + end)` (each line but the
   * file's last ends in "\n"); false at the end of the file (or on error). For parsers that
   * split lines themselves (lineEnd), without a call per line. Do not mix with next().
   */
  abstract nextChunk(): bool;

  /** Byte at offset `i`. */
  // Inline: as a call it costs a shadow-stack prologue (managed `this`) per byte, which was
  // most of a password file's load time (~360K Ir per line for 1,001 users).
  // @ts-ignore: decorator
  @inline
  at(i: i32): u32 {
    return <u32>load<u8>(this.base + <usize>i);
  }

  /** True when the current line holds a NUL byte (C's line handling would cut it there). */
  hasNul(): bool {
    return hasNulAt(this.base + <usize>this.start, this.end - this.start);
  }

  /** Drops trailing whitespace from the current line, as mosquitto does before parsing it. */
  trimEnd(): void {
    while (this.end > this.start && isSpace(this.at(this.end - 1))) this.end--;
  }

  /** `[from, to)` of the file as text (for log lines); allocates. */
  text(from: i32, to: i32): string {
    return String.UTF8.decodeUnsafe(this.base + <usize>from, <usize>(to - from));
  }

  /** True when `[from, to)` holds exactly the ASCII text `s`. */
  equals(from: i32, to: i32, s: string): bool {
    if (to - from != s.length) return false;
    for (let i = 0; i < s.length; i++) {
      if (this.at(from + i) != <u32>s.charCodeAt(i)) return false;
    }
    return true;
  }
}

/** The lines of a file held in memory. */
export class LineReader extends Lines {
  private size: i32;
  private pos: i32 = 0;

  // A copy with LINE_SLACK spare bytes: the parsers load whole words up to the end of a line.
  private data: StaticArray<u8>;

  constructor(data: Uint8Array) {
    super();
    const copy = new StaticArray<u8>(data.length + LINE_SLACK);
    memory.copy(changetype<usize>(copy), data.dataStart, <usize>data.length);
    this.data = copy;
    this.base = changetype<usize>(copy);
    this.size = data.length;
  }

  /** Advances to the next line; false at the end of the file. */
  next(): bool {
    const i = this.pos;
    if (i >= this.size) return false;
    this.start = i;
    const e = lineEnd(this.base, i, this.size);
    this.end = e;
    this.pos = e + 1;
    this.lineNo++;
    return true;
  }

  /** The whole file, as one run of lines. */
  nextChunk(): bool {
    if (this.pos >= this.size) return false;
    this.start = this.pos;
    this.end = this.pos = this.size;
    return true;
  }
}
