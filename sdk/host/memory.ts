// Bounds-checked access to a guest's linear memory, by the rules of plugin-c/runtime/abi_marshal.c. The
// memory can grow (and its ArrayBuffer be replaced) during any guest call, so every access takes
// the current buffer.

/** A policy error found by the host (bad pointer, bad result): the request gets the failure decision. */
export class GuestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GuestError';
  }
}

export class GuestMemory {
  // Views of the current buffer, rebuilt when memory grows (the ArrayBuffer is then replaced).
  private buffer: ArrayBuffer | null = null;
  private view: DataView | null = null;
  private node: Buffer | null = null;

  constructor(private readonly memory: () => WebAssembly.Memory) {}

  private current(): ArrayBuffer {
    const b = this.memory().buffer as ArrayBuffer;
    if (b !== this.buffer) {
      this.buffer = b;
      this.view = new DataView(b);
      this.node = Buffer.from(b);
    }
    return b;
  }

  get size(): number {
    return this.current().byteLength;
  }

  /** True when [ptr, ptr+len) is inside memory; pointer 0 only for an empty range. */
  valid(ptr: number, len: number): boolean {
    ptr >>>= 0;
    len >>>= 0;
    if (ptr === 0 && len !== 0) return false;
    return ptr + len <= this.size;
  }

  /** A live view of [ptr, ptr+len), or null when the range is not valid(). */
  range(ptr: number, len: number): Uint8Array | null {
    if (!this.valid(ptr, len)) return null;
    return new Uint8Array(this.current(), ptr >>> 0, len >>> 0);
  }

  /** range(), throwing GuestError(`${fn}: ${what} out of bounds`) instead of returning null. */
  bytes(ptr: number, len: number, fn: string, what = 'pointer'): Uint8Array {
    const r = this.range(ptr, len);
    if (r === null) throw new GuestError(`${fn}: ${what} out of bounds`);
    return r;
  }

  u32(ptr: number): number {
    this.current();
    return this.view!.getUint32(ptr >>> 0, true);
  }

  setU32(ptr: number, v: number): void {
    this.current();
    this.view!.setUint32(ptr >>> 0, v >>> 0, true);
  }

  /**
   * Writes `s` as UTF-8 at ptr (the caller has checked the room: Buffer.byteLength(s) bytes);
   * returns the bytes written. Unpaired surrogates become U+FFFD, as Buffer.byteLength counts them.
   */
  writeUtf8(ptr: number, s: string): number {
    this.current();
    return this.node!.write(s, ptr >>> 0, 'utf8');
  }

  /** Copies bytes to ptr (the caller has checked the room). */
  write(ptr: number, b: Uint8Array): void {
    this.current();
    this.node!.set(b, ptr >>> 0);
  }

  /**
   * The bytes of an AssemblyScript string (UTF-16LE, byte length in the u32 at ptr-4), or null
   * when any part is out of bounds or the length is odd.
   */
  asString(ptr: number): Uint8Array | null {
    ptr >>>= 0;
    if (ptr < 4 || this.range(ptr - 4, 4) === null) return null;
    const len = this.u32(ptr - 4);
    if (len % 2 !== 0) return null;
    return this.range(ptr, len);
  }
}
