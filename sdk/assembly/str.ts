// Str: the host's text/bytes descriptor, read in place (docs/ABI.md, "Descriptors").
import { matchUtf16, utf8LengthOf, findByte, hasWildcardBytes, bytesEqual, SLASH } from "./utf8";

/**
 * Readable bytes guaranteed after the end of every Str the SDK hands to a hook or makes: the
 * request buffer ({@link wasm_auth_buffer}) keeps this many spare bytes past the capacity the
 * host writes into, and {@link Str.fromString} / {@link Str.fromBytes} allocate them too. Hot
 * paths may therefore load a whole u64 at any position up to a value's end (and mask off what
 * lies past it) without a bounds check; the bytes past the end are unspecified.
 */
export const STR_SLACK: usize = 8;

/**
 * A view of `len` bytes at `ptr` in linear memory: how every request field reaches a hook.
 * Text is UTF-8 but not guaranteed valid (passwords and payloads are arbitrary bytes).
 * The bytes live until the hook returns; call `toString()` or `toBytes()` to keep a copy.
 * Every method not marked "allocates" reads the bytes in place. The comparisons are inline and
 * word-at-a-time: a policy's acl_check runs on every message, in an interpreter, and a call
 * there costs more than the comparison itself (docs/BENCHMARKS.md, "Hot path").
 */
@unmanaged
export class Str {
  /** Address of the first byte. */
  ptr: usize;
  /** Number of bytes. */
  len: u32;

  /**
   * Copies a string (as UTF-8) into a new heap block; allocates. The garbage collector does not
   * see the block: it lives until {@link Str.free}. A policy that builds one in security_init
   * frees it in security_cleanup (which runs before every reload), or builds it once in
   * plugin_init; otherwise every reload leaks the block.
   */
  static fromString(s: string): Str {
    const n = String.UTF8.byteLength(s);
    const d = Str.alloc(n);
    String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, d.ptr);
    return d;
  }

  /** Copies bytes into a new heap block; allocates. Lives until {@link Str.free}, as {@link Str.fromString}. */
  static fromBytes(b: Uint8Array): Str {
    const d = Str.alloc(b.length);
    memory.copy(d.ptr, b.dataStart, <usize>b.length);
    return d;
  }

  /**
   * Frees a Str made by {@link Str.fromString} or {@link Str.fromBytes}; it must not be used
   * afterwards. Only for those: a Str the host passed to a hook lives in the request buffer and
   * is not the guest's to free (one whose bytes do not directly follow it is left alone).
   */
  free(): void {
    const block = changetype<usize>(this);
    if (this.ptr != block + offsetof<Str>()) return;
    heap.free(block);
  }

  // One unmanaged block holds the descriptor followed by the bytes (and STR_SLACK spare bytes),
  // so a Str built by the guest stays valid until free() and the GC can never free its bytes
  // under it.
  private static alloc(n: i32): Str {
    const block = heap.alloc(offsetof<Str>() + <usize>n + STR_SLACK);
    const d = changetype<Str>(block);
    d.ptr = block + offsetof<Str>();
    d.len = <u32>n;
    return d;
  }

  /** Number of bytes (not characters). */
  // @ts-ignore: decorator
  @inline
  get length(): i32 {
    return <i32>this.len;
  }

  /** Byte at index `i`; traps (abort) when `i` is out of range. */
  byteAt(i: i32): u8 {
    if (<u32>i >= this.len) throw new RangeError("Str.byteAt: index out of range");
    return load<u8>(this.ptr + <usize>i);
  }

  /** True when there are no bytes. */
  // @ts-ignore: decorator
  @inline
  isEmpty(): bool {
    return this.len == 0;
  }

  /** True when the bytes are exactly the UTF-8 encoding of `s`. */
  // @ts-ignore: decorator
  @inline
  equals(s: string): bool {
    const end = <i32>this.len;
    // A UTF-16 unit takes 1-3 bytes (a pair 4 bytes for 2 units): cheap length rejection first.
    const units = s.length;
    if (end < units || end > units * 3) return false;
    return matchUtf16(changetype<usize>(s), 0, units, this.ptr, 0, end) == end;
  }

  /** True when both hold the same bytes. */
  // @ts-ignore: decorator
  @inline
  equalsStr(o: Str): bool {
    return this.len == o.len && bytesEqual(this.ptr, o.ptr, <usize>this.len);
  }

  /** True when the bytes begin with the UTF-8 encoding of `s`. */
  // @ts-ignore: decorator
  @inline
  startsWith(s: string): bool {
    return matchUtf16(changetype<usize>(s), 0, s.length, this.ptr, 0, <i32>this.len) >= 0;
  }

  /** True when the bytes end with the UTF-8 encoding of `s`. */
  endsWith(s: string): bool {
    const sp = changetype<usize>(s);
    const n = utf8LengthOf(sp, 0, s.length);
    const off = <i32>this.len - n;
    if (off < 0) return false;
    return matchUtf16(sp, 0, s.length, this.ptr, off, <i32>this.len) == <i32>this.len;
  }

  /** True when the bytes begin with the bytes of `o`. */
  // @ts-ignore: decorator
  @inline
  startsWithStr(o: Str): bool {
    return o.len <= this.len && bytesEqual(this.ptr, o.ptr, <usize>o.len);
  }

  /** Index of the first byte `b` at or after `from`, or -1. */
  // @ts-ignore: decorator
  @inline
  indexOfByte(b: u8, from: i32 = 0): i32 {
    const end = <i32>this.len;
    if (from < 0) from = 0;
    const i = findByte(this.ptr, from, end, <u32>b);
    return i < end ? i : -1;
  }

  /** True when the bytes contain a topic wildcard (`+` or `#`). */
  // @ts-ignore: decorator
  @inline
  hasWildcard(): bool {
    return hasWildcardBytes(this.ptr, 0, <i32>this.len);
  }

  /** Number of `/`-separated topic levels (empty levels count; "" has 1, "a/" has 2). */
  levelCount(): i32 {
    let n = 1;
    const end = <i32>this.len;
    for (let i = 0; i < end; i++) {
      if (<u32>load<u8>(this.ptr + <usize>i) == SLASH) n++;
    }
    return n;
  }

  /** Byte offset where topic level `n` (0-based) starts, or -1 when there are fewer levels. */
  // @ts-ignore: decorator
  @inline
  levelStart(n: i32): i32 {
    if (n <= 0) return n == 0 ? 0 : -1;
    const end = <i32>this.len;
    let i = findByte(this.ptr, 0, end, SLASH) + 1;
    if (i > end) return -1;
    // Level 1 (the usual "users/<name>" case) without entering a loop.
    if (n > 1) {
      do {
        i = findByte(this.ptr, i, end, SLASH);
        if (i >= end) return -1;
        i++;
      } while (--n > 1);
    }
    return i;
  }

  /** Byte offset just after topic level `n` given its start (see {@link levelStart}). */
  // @ts-ignore: decorator
  @inline
  levelEnd(start: i32): i32 {
    return findByte(this.ptr, start, <i32>this.len, SLASH);
  }

  /** True when topic level `n` is exactly the UTF-8 encoding of `s`; false when there is no level `n`. */
  // @ts-ignore: decorator
  @inline
  levelEquals(n: i32, s: string): bool {
    const start = this.levelStart(n);
    if (start < 0) return false;
    const end = this.levelEnd(start);
    return matchUtf16(changetype<usize>(s), 0, s.length, this.ptr, start, end) == end;
  }

  /** True when topic level `n` holds exactly the bytes of `s`; false when there is no level `n`. */
  // @ts-ignore: decorator
  @inline
  levelEqualsStr(n: i32, s: Str): bool {
    const start = this.levelStart(n);
    if (start < 0) return false;
    const end = this.levelEnd(start);
    return <u32>(end - start) == s.len && bytesEqual(this.ptr + <usize>start, s.ptr, <usize>s.len);
  }

  /** Decodes the bytes as UTF-8 into a new string; allocates. Invalid UTF-8 is decoded leniently, not rejected. */
  toString(): string {
    return String.UTF8.decodeUnsafe(this.ptr, <usize>this.len);
  }

  /** Copies the bytes into a new Uint8Array; allocates. */
  toBytes(): Uint8Array {
    const out = new Uint8Array(<i32>this.len);
    memory.copy(out.dataStart, this.ptr, <usize>this.len);
    return out;
  }

  /** Topic level `n` as a new string, "" when there is no level `n`; allocates. */
  level(n: i32): string {
    const start = this.levelStart(n);
    if (start < 0) return "";
    const end = this.levelEnd(start);
    return String.UTF8.decodeUnsafe(this.ptr + <usize>start, <usize>(end - start));
  }
}

/** Alias of {@link Str} for fields that are binary (passwords, payloads). */
export type Bytes = Str;
