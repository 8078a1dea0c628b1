// Growable byte and i32 buffers used while a configuration is parsed (it runs once per start or
// reload, and may allocate).

/** Appends bytes and i32s during parsing; `finish()` returns the compact, final array. */
export class ByteBuf {
  /** Backing store; only the first `length` bytes are used. */
  data: Uint8Array = new Uint8Array(256);
  /** Bytes written so far. */
  length: i32 = 0;

  /** Makes room for `n` more bytes (written at `data.dataStart + length`). */
  reserve(n: i32): void {
    if (this.length + n <= this.data.length) return;
    let cap = this.data.length << 1;
    while (cap < this.length + n) cap <<= 1;
    const next = new Uint8Array(cap);
    memory.copy(next.dataStart, this.data.dataStart, <usize>this.length);
    this.data = next;
  }

  /** Appends one byte. */
  push(b: u8): void {
    this.reserve(1);
    store<u8>(this.data.dataStart + <usize>this.length, b);
    this.length++;
  }

  /** Copies `n` bytes from `src`; returns the offset where they start. */
  append(src: usize, n: i32): i32 {
    this.reserve(n);
    const off = this.length;
    memory.copy(this.data.dataStart + <usize>off, src, <usize>n);
    this.length += n;
    return off;
  }

  /**
   * The bytes written, in a right-sized array that never moves (the GC does not compact), plus 8
   * spare bytes so eqBytes() may read a whole word past any string in it.
   */
  finish(): StaticArray<u8> {
    const out = new StaticArray<u8>(this.length + 8);
    memory.copy(changetype<usize>(out), this.data.dataStart, <usize>this.length);
    return out;
  }
}

/** Growable list of i32 used to lay out rule and filter tables. */
export class IntBuf {
  /** Backing store; only the first `length` entries are used. */
  data: StaticArray<i32> = new StaticArray<i32>(64);
  /** Entries written so far. */
  length: i32 = 0;

  /** Appends `v`; returns its index. */
  push(v: i32): i32 {
    if (this.length == this.data.length) {
      const next = new StaticArray<i32>(this.length << 1);
      memory.copy(changetype<usize>(next), changetype<usize>(this.data), <usize>this.length << 2);
      this.data = next;
    }
    const i = this.length;
    unchecked((this.data[i] = v));
    this.length = i + 1;
    return i;
  }

  /** Entry `i`. */
  get(i: i32): i32 {
    return this.data[i];
  }

  /** Overwrites entry `i`. */
  set(i: i32, v: i32): void {
    this.data[i] = v;
  }

  /** Drops entries from index `n` on. */
  truncate(n: i32): void {
    this.length = n;
  }

  /** The entries written, right-sized (at least one entry, so the address is always valid). */
  finish(): StaticArray<i32> {
    const out = new StaticArray<i32>(this.length > 0 ? this.length : 1);
    memory.copy(changetype<usize>(out), changetype<usize>(this.data), <usize>this.length << 2);
    return out;
  }
}
