// What V8 needs on top of the gate's metered module so that it behaves as wasm3 does in the
// plugin. Both edits leave every index and every function body alone:
//   - the memory gets a maximum of wasm_max_memory_pages (unless it declares a lower one): the
//     plugin caps wasm3's runtime instead, and either way memory.grow past the cap returns -1;
//   - the start function is no longer run by instantiation but exported as __wasm_auth_start.
//     The plugin instantiates first (data segments) and then runs the start function with the
//     lifecycle fuel budget, with its host imports working; V8 would run it inside the
//     WebAssembly.Instance constructor, before the host can set the fuel global (which the
//     gate starts at 0) or read it to tell "fuel exhausted" from a trap.
// The input is the gate's output, already validated twice (checked, then re-decoded after
// metering), so this only walks section headers; anything unexpected is a host bug.
import { RESERVED_PREFIX } from './abi.js';

/** Export under which the module's start function is reached (the host's reserved prefix). */
export const START_EXPORT = `${RESERVED_PREFIX}start`;

const SEC_MEMORY = 5;
const SEC_EXPORT = 7;
const SEC_START = 8;
const KIND_FUNC = 0;

class Cursor {
  constructor(readonly b: Uint8Array, public pos: number) {}

  u8(): number {
    if (this.pos >= this.b.length) throw new Error('internal error: unexpected end of the metered module');
    return this.b[this.pos++];
  }

  u32(): number {
    let v = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const x = this.u8();
      v += (x & 0x7f) * 2 ** shift;
      if (!(x & 0x80)) return v;
    }
    throw new Error('internal error: bad LEB128 in the metered module');
  }
}

function leb(v: number): number[] {
  const out: number[] = [];
  do {
    let b = v % 128;
    v = Math.floor(v / 128);
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return out;
}

function concat(parts: readonly (Uint8Array | number[])[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// Section `id` around its content pieces.
function section(id: number, content: readonly (Uint8Array | number[])[]): Uint8Array {
  const size = content.reduce((n, p) => n + p.length, 0);
  return concat([[id, ...leb(size)], ...content]);
}

/** The metered module as V8 must run it (see the top of this file). */
export function forV8(metered: Uint8Array, maxMemoryPages: number): Uint8Array<ArrayBuffer> {
  const r = new Cursor(metered, 8);
  const parts: Uint8Array[] = [metered.subarray(0, 8)];
  let start: number | null = null;
  let exportAt = -1;
  let exportContent: Uint8Array | null = null;
  while (r.pos < metered.length) {
    const begin = r.pos;
    const id = r.u8();
    const size = r.u32();
    const content = metered.subarray(r.pos, r.pos + size);
    r.pos += size;
    if (id === SEC_MEMORY) {
      parts.push(section(id, [withMaximum(content, maxMemoryPages)]));
    } else if (id === SEC_START) {
      start = new Cursor(content, 0).u32();
    } else if (id === SEC_EXPORT) {
      exportAt = parts.length;
      exportContent = content;
      parts.push(content); // replaced below, once the start function is known
    } else {
      parts.push(metered.subarray(begin, r.pos));
    }
  }
  if (exportContent === null) throw new Error('internal error: the metered module has no export section');
  if (start === null) {
    parts[exportAt] = section(SEC_EXPORT, [exportContent]);
  } else {
    const c = new Cursor(exportContent, 0);
    const count = c.u32();
    const name = new TextEncoder().encode(START_EXPORT);
    parts[exportAt] = section(SEC_EXPORT, [
      leb(count + 1), exportContent.subarray(c.pos), leb(name.length), name, [KIND_FUNC, ...leb(start)],
    ]);
  }
  return concat(parts);
}

// The memory section (one memory: the gate allows no other count) with a maximum of at most cap.
function withMaximum(content: Uint8Array, cap: number): number[] {
  const c = new Cursor(content, 0);
  const count = c.u32();
  if (count === 0) return [...content];
  const flags = c.u8();
  const min = c.u32();
  const max = flags & 1 ? Math.min(c.u32(), cap) : cap;
  if (count !== 1 || (flags & ~1) !== 0 || c.pos !== content.length) {
    throw new Error('internal error: unexpected memory section in the metered module');
  }
  return [1, 1, ...leb(min), ...leb(max)];
}
