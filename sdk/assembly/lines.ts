// Line-by-line reading of a configuration file, with the whitespace rules of the C library
// mosquitto uses (isspace in the C locale): of bytes already in memory (LineReader), or of the
// file an option names, streamed in chunks (OptionFileLines), so that a policy's memory holds one
// chunk and one line of a large file instead of all of it.
import { host_option_file_read_at } from "./imports";
import { Options, OptionFileError, recordFileError, recordFileSuccess } from "./options";
import { ONES, zeroBytes } from "./words";

/**
 * Readable bytes after the end of every line (and run of lines) a {@link Lines} gives, whatever
 * they hold: a parser may load a whole word at any byte of a line and mask off what lies past
 * its end.
 */
export const LINE_SLACK: i32 = 8;

const NEWLINES: u64 = 0x0a * ONES;

/** A byte repeated in every byte of a word, for {@link findByteOrNul}. */
// @ts-ignore: decorator
@inline
export function everyByte(c: u32): u64 {
  return <u64>(c & 0xff) * ONES;
}

/**
 * Offset of the first "\n" in `[from, size)` of the bytes at `base`, or `size`. Eight bytes per
 * step, never reading past `size`: under an interpreter with fuel metering a byte loop costs
 * about 20 instructions per byte, this about 3.
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
 * Index of the first of the `n` bytes at `p` that is NUL or the byte `c` is made of (`c` from
 * {@link everyByte}), or `n` when none is. Eight bytes per step, never reading past `n`.
 */
export function findByteOrNul(p: usize, n: i32, c: u64): i32 {
  let i = 0;
  while (i + 8 <= n) {
    const w = load<u64>(p + <usize>i);
    const z = zeroBytes(w) | zeroBytes(w ^ c);
    if (z != 0) return i + <i32>(ctz(z) >> 3);
    i += 8;
  }
  const b = c & 0xff;
  while (i < n) {
    const x = <u64>load<u8>(p + <usize>i);
    if (x == 0 || x == b) return i;
    i++;
  }
  return n;
}

/** True when the `n` bytes at `p` hold a NUL byte. */
// @ts-ignore: decorator
@inline
export function hasNulAt(p: usize, n: i32): bool {
  return findByteOrNul(p, n, 0) < n;
}

/** True for the bytes C's isspace() accepts: space, \t, \n, \v, \f, \r. */
// @ts-ignore: decorator
@inline
export function isSpace(c: u32): bool {
  return c == 0x20 || (c >= 0x09 && c <= 0x0d);
}

/**
 * The lines of a file. After a `next()` that returned true, the current line is the bytes
 * `[base + start, base + end)`, without its "\n" (a "\r" before it stays; `trimEnd` drops it),
 * followed by at least {@link LINE_SLACK} readable bytes. Every reader gives the same lines for
 * the same bytes. A parser that splits lines itself (with {@link lineEnd}) reads runs of whole
 * lines with `nextChunk()` instead, without a call per line.
 */
export abstract class Lines {
  /** Address `start` and `end` count from; may change at every `next()`. */
  base: usize = 0;
  /** Offset of the current line's first byte. */
  start: i32 = 0;
  /** Offset just past the current line's last byte (its "\n" excluded). */
  end: i32 = 0;
  /** 1-based number of the current line. */
  lineNo: i32 = 0;
  /** Why the lines ended before the end of the file, or null. */
  error: string | null = null;

  /** Advances to the next line; false at the end of the file, or when `error` is set. */
  abstract next(): bool;

  /**
   * Advances to the next run of whole lines, `[base + start, base + end)`: every line in it ends
   * in "\n" but the file's last, and it is followed by at least {@link LINE_SLACK} readable
   * bytes. False at the end of the file, or when `error` is set (a line longer than the reader
   * allows: `longer than M bytes`, the line being the one after the last the caller counted).
   * `lineNo` is not kept; do not mix with `next()`.
   */
  abstract nextChunk(): bool;

  /** Byte at offset `i`. */
  // Inline and not virtual: as a call it costs a shadow-stack prologue (managed `this`) per
  // byte, which was most of a password file's load time under wasm3 (~360K Ir per line for
  // 1,001 users).
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

  /** `[from, to)` of the current line's buffer as text (for log lines); allocates. */
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

/** The lines of a file held in memory (a copy with {@link LINE_SLACK} spare bytes). */
export class LineReader extends Lines {
  /** File size in bytes. */
  size: i32;
  private pos: i32 = 0;
  private data: StaticArray<u8>;

  /** Lines of `data`. */
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

/**
 * The lines of the file an option names, read through the host's `option_file_read_at` in
 * chunks: memory holds one buffer of `chunkBytes`, grown (doubling) only while one line is longer
 * than it, never the whole file, so a file may be larger than the policy's memory (up to the
 * host's 1 GiB, WA_MAX_OPTION_FILE_STREAM_BYTES). Like every option file it can be read only
 * during plugin_init and security_init; within one such call the host reads every chunk from the
 * file it opened first, so a file replaced meanwhile is read whole from one version. The lines
 * are those {@link LineReader} gives for the same bytes.
 */
export class OptionFileLines extends Lines {
  // buf[pos, len) is what the file gave that no line has taken yet; no "\n" in buf[pos, scan).
  private pos: i32 = 0;
  private scan: i32 = 0;
  private len: i32 = 0;
  // File offset of the byte after buf's last, and whether the host has said it was the end.
  private offset: i64 = 0;
  private eof: bool = false;
  // Whether nextChunk() reads these lines.
  private chunked: bool = false;

  /** Use {@link OptionFileLines.open}: it reads the first chunk and says why it could not. */
  constructor(
    private opts: Options,
    private name: string,
    private key: ArrayBuffer,
    private buf: Uint8Array,
    private maxLine: i32,
  ) {
    super();
    this.base = buf.dataStart;
  }

  /**
   * The lines of the file named by option `key` (the key must end in `_file`), or null when it
   * cannot be read: `opts.lastFileError()` and `opts.lastFileErrorCode()` then say why, as for
   * {@link Options.readFile} (the host also logs a warning with the path, except when the option
   * is just not set). `chunkBytes` (at least 1) is what each host call asks for; a line longer
   * than `maxLineBytes` ends the lines with `error` set to `line N is longer than M bytes`. A
   * read failing later ends them with `error` set to the text `lastFileError()` gives.
   */
  static open(opts: Options, key: string, chunkBytes: i32 = 65536, maxLineBytes: i32 = 1 << 20): OptionFileLines | null {
    const k = String.UTF8.encode(key);
    const buf = new Uint8Array(max(chunkBytes, 1) + LINE_SLACK);
    const n = host_option_file_read_at(changetype<usize>(k), <u32>k.byteLength, 0, buf.dataStart, <u32>(buf.length - LINE_SLACK));
    if (n < 0) {
      recordFileError(opts, key, n, streamErrorDetail(n));
      return null;
    }
    recordFileSuccess();
    const lines = new OptionFileLines(opts, key, k, buf, max(maxLineBytes, 0));
    lines.len = n;
    lines.offset = n;
    lines.eof = n < buf.length - LINE_SLACK; // the host gives fewer bytes than asked only at the end
    return lines;
  }

  /** Advances to the next line; false at the end of the file, or when `error` is set. */
  next(): bool {
    if (this.error !== null) return false;
    while (true) {
      const base = this.buf.dataStart;
      const len = this.len;
      const i = lineEnd(base, this.scan, len);
      // A line: up to a "\n", or the rest of the file when it does not end in one.
      if (i < len || (this.eof && this.pos < len)) {
        if (i - this.pos > this.maxLine) return this.tooLong();
        this.base = base;
        this.start = this.pos;
        this.end = i;
        this.pos = this.scan = i + 1;
        this.lineNo++;
        return true;
      }
      if (this.eof) return false;
      this.scan = len;
      if (!this.refill()) return false;
    }
  }

  /** Advances to the next run of whole lines (see {@link Lines.nextChunk}). */
  nextChunk(): bool {
    if (this.error !== null) return false;
    this.chunked = true;
    while (true) {
      const base = this.buf.dataStart;
      const pos = this.pos;
      // The run ends after the last "\n" read so far (searched from the end: it is within the
      // last line), or at the end of the file.
      let last = this.len;
      if (!this.eof) {
        while (last > pos && <u32>load<u8>(base + <usize>(last - 1)) != 0x0a) last--;
      }
      if (last > pos) {
        this.base = base;
        this.start = pos;
        this.end = last;
        this.pos = this.scan = last;
        return true;
      }
      if (this.eof) return false;
      this.scan = this.len;
      if (!this.refill()) return false;
    }
  }

  // Moves the partial line at the end of the buffer to its front and reads on after it; the
  // buffer doubles (up to maxLine + 1 bytes) only when that line fills it. False = error set.
  private refill(): bool {
    let base = this.buf.dataStart;
    const pos = this.pos;
    if (pos > 0) {
      memory.copy(base, base + <usize>pos, <usize>(this.len - pos));
      this.len -= pos;
      this.scan -= pos;
      this.pos = 0;
    }
    const capacity = this.buf.length - LINE_SLACK;
    if (this.len == capacity) {
      if (this.len > this.maxLine) return this.tooLong();
      const grown = new Uint8Array(<i32>min<i64>(<i64>capacity << 1, <i64>this.maxLine + 1) + LINE_SLACK);
      memory.copy(grown.dataStart, base, <usize>this.len);
      this.buf = grown;
      base = grown.dataStart;
    }
    const want = this.buf.length - LINE_SLACK - this.len;
    const k = this.key;
    const n = host_option_file_read_at(changetype<usize>(k), <u32>k.byteLength, this.offset, base + <usize>this.len, <u32>want);
    if (n < 0) {
      this.error = recordFileError(this.opts, this.name, n, streamErrorDetail(n));
      return false;
    }
    this.len += n;
    this.offset += n;
    if (n < want) this.eof = true;
    return true;
  }

  private tooLong(): bool {
    // nextChunk() keeps no line count: its caller names the line.
    const line = this.chunked ? "" : "line " + (this.lineNo + 1).toString() + " is ";
    this.error = line + "longer than " + this.maxLine.toString() + " bytes";
    return false;
  }
}

// What a result of option_file_read_at says beyond the code's usual text: its cap is not
// option_file_read's.
function streamErrorDetail(code: i32): string | null {
  return code == OptionFileError.TooBig ? "larger than the host's cap of 1 GiB (WA_MAX_OPTION_FILE_STREAM_BYTES)" : null;
}
