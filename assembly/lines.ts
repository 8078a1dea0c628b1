// Line-by-line reading of a configuration file, with the whitespace rules of the C library
// mosquitto uses (isspace in the C locale).

/** True for the bytes C's isspace() accepts: space, \t, \n, \v, \f, \r. */
// @ts-ignore: decorator
@inline
export function isSpace(c: u32): bool {
  return c == 0x20 || (c >= 0x09 && c <= 0x0d);
}

/** The lines of a file; after `next()`, `[base + start, base + end)` is the current line without "\n". */
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
    for (let i = this.start; i < this.end; i++) if (this.at(i) == 0) return true;
    return false;
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

  constructor(private data: Uint8Array) {
    super();
    this.base = data.dataStart;
    this.size = data.length;
  }

  /** Advances to the next line; false at the end of the file. */
  next(): bool {
    if (this.pos >= this.size) return false;
    this.start = this.pos;
    let i = this.pos;
    while (i < this.size && load<u8>(this.base + <usize>i) != 0x0a) i++;
    this.end = i;
    this.pos = i + 1;
    this.lineNo++;
    return true;
  }
}
