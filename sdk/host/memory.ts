// Bounds-checked access to a guest's linear memory. The memory can grow (and its ArrayBuffer be
// replaced) during any guest call, so every access takes the current buffer.

/** A policy error found by the host (bad pointer, bad result): the request gets the failure decision. */
export class GuestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GuestError';
  }
}

export class GuestMemory {
  constructor(private readonly memory: () => WebAssembly.Memory) {}

  get size(): number {
    return this.memory().buffer.byteLength;
  }

  /** True when [ptr, ptr+len) is non-null and inside memory. */
  valid(ptr: number, len: number): boolean {
    ptr >>>= 0;
    len >>>= 0;
    return ptr !== 0 && ptr + len <= this.size;
  }

  /** A live view of [ptr, ptr+len); throws GuestError when the range is null or out of bounds. */
  bytes(ptr: number, len: number, what: string): Uint8Array {
    ptr >>>= 0;
    len >>>= 0;
    if (!this.valid(ptr, len)) {
      throw new GuestError(`${what}: invalid pointer 0x${ptr.toString(16)} (+${len}) for memory of ${this.size} bytes`);
    }
    return new Uint8Array(this.memory().buffer, ptr, len);
  }

  u32(ptr: number): number {
    return new DataView(this.memory().buffer).getUint32(ptr >>> 0, true);
  }

  setU32(ptr: number, v: number): void {
    new DataView(this.memory().buffer).setUint32(ptr >>> 0, v >>> 0, true);
  }

  /**
   * The bytes of an AssemblyScript string (UTF-16LE, byte length in the u32 at ptr-4), or null
   * when the pointer or length is out of bounds.
   */
  asString(ptr: number): Uint8Array | null {
    ptr >>>= 0;
    if (ptr < 4 || ptr > this.size) return null;
    const len = this.u32(ptr - 4);
    if (!this.valid(ptr, len)) return null;
    return new Uint8Array(this.memory().buffer, ptr, len);
  }
}
