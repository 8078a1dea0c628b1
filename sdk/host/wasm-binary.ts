// A small reader for the parts of a wasm binary the ABI rules need: function types, imports,
// exports and the memory section. JavaScript's WebAssembly API does not expose function
// signatures, so the host reads them itself; V8 does the full validation when it compiles.
// The memory section can also be rewritten to carry a maximum, which is how the host enforces
// wasm_max_memory_pages: `memory.grow` beyond it then fails inside the guest.

export const NO_OFFSET = -1;

/** A module that breaks a rule; `message` is phrased like the plugin's gate (plugin-c/gate). */
export class ModuleError extends Error {
  constructor(where: string | null, offset: number, what: string) {
    let text = '';
    if (where !== null) {
      text = where;
      if (offset !== NO_OFFSET) text += `, offset 0x${offset.toString(16)}`;
      text += ': ';
    }
    super(text + what);
    this.name = 'ModuleError';
  }
}

export interface FuncType {
  params: number[];
  results: number[];
}

export interface ImportEntry {
  module: string;
  name: string;
  kind: number; // 0 function, 1 table, 2 memory, 3 global
  typeIndex: number; // functions only
  offset: number;
}

export interface ExportEntry {
  name: string;
  kind: number; // 0 function, 1 table, 2 memory, 3 global
  index: number;
  offset: number;
}

export interface MemoryLimits {
  min: number;
  max: number | null;
  /** Byte range of the whole memory section (id byte included), for rewriting. */
  sectionStart: number;
  /** Offset of the section's contents (after id and size), where the gate's messages point. */
  contentStart: number;
  sectionEnd: number;
}

export interface ModuleSummary {
  types: FuncType[];
  imports: ImportEntry[];
  /** Type index of every function, imported ones first (the wasm function index space). */
  funcTypes: number[];
  exports: ExportEntry[];
  memory: MemoryLimits | null;
}

const T_I32 = 0x7f;
const T_I64 = 0x7e;
const T_F32 = 0x7d;
const T_F64 = 0x7c;

/** wasm3 signature letter of a value type ('?' for types the ABI never uses). */
export function abiChar(t: number): string {
  switch (t) {
    case T_I32: return 'i';
    case T_I64: return 'I';
    case T_F32: return 'f';
    case T_F64: return 'F';
    default: return '?';
  }
}

function abiType(c: string): number {
  switch (c) {
    case 'i': return T_I32;
    case 'I': return T_I64;
    case 'f': return T_F32;
    case 'F': return T_F64;
    default: return 0;
  }
}

/** Name of a value type as the gate prints it. */
export function typeName(t: number): string {
  switch (t) {
    case T_I32: return 'i32';
    case T_I64: return 'i64';
    case T_F32: return 'f32';
    case T_F64: return 'f64';
    case 0x7b: return 'v128';
    case 0x70: return 'funcref';
    case 0x6f: return 'externref';
    default: return `0x${t.toString(16)}`;
  }
}

/** "(i32,i32)->i32", "()->()": the form used in every gate message. */
export function sigText(params: number[], results: number[]): string {
  const res = results.length === 1 ? typeName(results[0]) : `(${results.map(typeName).join(',')})`;
  return `(${params.map(typeName).join(',')})->${res}`;
}

/** A wasm3-notation signature ("i(ii)") in the gate's text form. */
export function abiSigText(sig: string): string {
  const result = sig[0] === 'v' ? [] : [abiType(sig[0])];
  const params = [...sig.slice(2, sig.indexOf(')'))].map(abiType);
  return sigText(params, result);
}

/** True when `t` has exactly the wasm3-notation signature `sig`. */
export function sigMatches(t: FuncType, sig: string): boolean {
  const want = sig[0] === 'v' ? '' : sig[0];
  const have = t.results.map(abiChar).join('');
  if (have !== want || t.results.length > 1) return false;
  return t.params.map(abiChar).join('') === sig.slice(2, sig.indexOf(')'));
}

/** Bounds-checked little reader over a wasm binary. */
export class Reader {
  pos: number;
  constructor(private readonly b: Uint8Array, pos: number, readonly end: number) {
    this.pos = pos;
  }
  u8(): number {
    if (this.pos >= this.end) throw new RangeError('unexpected end');
    return this.b[this.pos++];
  }
  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = this.u8();
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) break;
      shift += 7;
      if (shift > 28) throw new RangeError('LEB128 too long');
    }
    if (result > 0xffffffff) throw new RangeError('LEB128 out of range');
    return result;
  }
  bytes(n: number): Uint8Array {
    if (n > this.end - this.pos) throw new RangeError('unexpected end');
    const out = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  name(): string {
    return new TextDecoder('utf-8', { fatal: true }).decode(this.bytes(this.u32()));
  }
  limits(): { min: number; max: number | null; flags: number } {
    const flags = this.u8();
    const min = this.u32();
    const max = flags & 1 ? this.u32() : null;
    return { min, max, flags };
  }
}

/**
 * Reads the sections the ABI rules need. Throws RangeError/TypeError on a malformed binary
 * (the caller lets V8 produce the real diagnostic then).
 */
export function summarize(bytes: Uint8Array): ModuleSummary {
  const r = new Reader(bytes, 0, bytes.length);
  const magic = r.bytes(8);
  if (magic[0] !== 0 || magic[1] !== 0x61 || magic[2] !== 0x73 || magic[3] !== 0x6d || magic[4] !== 1) {
    throw new RangeError('not a wasm module (bad magic or version)');
  }
  const s: ModuleSummary = { types: [], imports: [], funcTypes: [], exports: [], memory: null };
  while (r.pos < r.end) {
    const start = r.pos;
    const id = r.u8();
    const size = r.u32();
    const body = new Reader(bytes, r.pos, r.pos + size);
    const contentStart = body.pos;
    if (body.end > bytes.length) throw new RangeError('section runs past the end');
    r.pos = body.end;
    switch (id) {
      case 1: {
        for (let n = body.u32(); n > 0; n--) {
          if (body.u8() !== 0x60) throw new RangeError('bad function type');
          const params = [...body.bytes(body.u32())];
          const results = [...body.bytes(body.u32())];
          s.types.push({ params, results });
        }
        break;
      }
      case 2: {
        for (let n = body.u32(); n > 0; n--) {
          const offset = body.pos;
          const module = body.name();
          const name = body.name();
          const kind = body.u8();
          let typeIndex = -1;
          if (kind === 0) {
            typeIndex = body.u32();
            s.funcTypes.push(typeIndex);
          } else if (kind === 1) {
            body.u8();
            body.limits();
          } else if (kind === 2) {
            body.limits();
          } else if (kind === 3) {
            body.u8();
            body.u8();
          } else {
            throw new RangeError('bad import kind');
          }
          s.imports.push({ module, name, kind, typeIndex, offset });
        }
        break;
      }
      case 3: {
        for (let n = body.u32(); n > 0; n--) s.funcTypes.push(body.u32());
        break;
      }
      case 5: {
        const n = body.u32();
        if (n > 1) throw new RangeError('more than one memory');
        if (n === 1) {
          const l = body.limits();
          if (l.flags > 1) throw new RangeError('shared or 64-bit memory');
          s.memory = { min: l.min, max: l.max, sectionStart: start, contentStart, sectionEnd: body.end };
        }
        break;
      }
      case 7: {
        for (let n = body.u32(); n > 0; n--) {
          const offset = body.pos;
          const name = body.name();
          const kind = body.u8();
          const index = body.u32();
          s.exports.push({ name, kind, index, offset });
        }
        break;
      }
      default:
        break;
    }
  }
  return s;
}

/** Unsigned LEB128 encoding of n (0 <= n < 2^53). */
export function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** A copy of `bytes` whose memory section declares maximum `maxPages` (min unchanged). */
export function withMemoryMaximum(bytes: Uint8Array, mem: MemoryLimits, maxPages: number): Uint8Array<ArrayBuffer> {
  const content = [1, ...leb(mem.min), ...leb(maxPages)];
  const section = [5, ...leb(content.length + 1), 1, ...content];
  const out = new Uint8Array(bytes.length - (mem.sectionEnd - mem.sectionStart) + section.length);
  out.set(bytes.subarray(0, mem.sectionStart), 0);
  out.set(section, mem.sectionStart);
  out.set(bytes.subarray(mem.sectionEnd), mem.sectionStart + section.length);
  return out;
}
