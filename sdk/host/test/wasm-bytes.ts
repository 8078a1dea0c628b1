// The WebAssembly binary format's building blocks, for the tests that write modules by hand: the
// Node host's (helpers.ts, buildModule) and the hostile suite's (tests/hostile/wasm-builder.ts).

/** Value types. */
export const I32 = 0x7f;
export const I64 = 0x7e;
export const F64 = 0x7c;

/** The magic number and version every module starts with. */
export const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

export type Bytes = Uint8Array | number[];

/** Unsigned LEB128 of a u32. */
export function u32(n: number): number[] {
  const out: number[] = [];
  let v = n >>> 0;
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
  return out;
}

/** Signed LEB128 of an i32. */
export function s32(n: number): number[] {
  const out: number[] = [];
  let v = n | 0;
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

/** A name: length-prefixed UTF-8. */
export function name(s: string): number[] {
  const b = new TextEncoder().encode(s);
  return [...u32(b.length), ...b];
}

/** Concatenates byte chunks into one array. */
export function concat(parts: Bytes[]): Uint8Array {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** A section: id, content size, content. */
export function section(id: number, content: Bytes): Uint8Array {
  return concat([[id], u32(content.length), content]);
}

/** count followed by the items. */
export function vec(items: Bytes[]): Uint8Array {
  return concat([u32(items.length), ...items]);
}
