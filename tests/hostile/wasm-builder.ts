// A minimal WebAssembly binary writer for the hostile suite's generated modules: enough to build
// valid policies of any size (100k functions, megabytes of data) and, through the raw helpers,
// modules that are malformed on purpose. Sections are emitted in the binary format's order.

import { type Bytes, concat, HEADER, I32, name, s32, section, u32, vec } from '../../sdk/host/test/wasm-bytes.js';

// The format's building blocks are shared with the Node host's tests (sdk/host/test/wasm-bytes.ts).
export { type Bytes, concat, F64, HEADER, I32, I64, name, s32, section, u32, vec } from '../../sdk/host/test/wasm-bytes.js';

/** Opcodes used by the generators. */
export const OP = {
  unreachable: 0x00,
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  return: 0x0f,
  call: 0x10,
  drop: 0x1a,
  localGet: 0x20,
  i32Const: 0x41,
  i32Eq: 0x46,
  i32Add: 0x6a,
  memoryGrow: 0x40,
  voidBlock: 0x40,
} as const;

interface Func {
  type: number;
  locals: Bytes; // already encoded local declarations vector
  body: Bytes; // instructions, final `end` included
}

interface Import {
  module: string;
  name: string;
  desc: Bytes; // kind byte + type
}

/** Builds a module section by section; indices are returned as functions are added. */
export class ModuleBuilder {
  private types: string[] = [];
  private typeBytes: Uint8Array[] = [];
  private imports: Import[] = [];
  private importedFuncs = 0;
  private funcs: Func[] = [];
  private memory: { min: number; max?: number } | null = null;
  private globals: Bytes[] = [];
  private exports: Bytes[] = [];
  private startIndex: number | null = null;
  private data: Bytes[] = [];
  private customs: Uint8Array[] = [];

  /** Index of the function type (params) -> (results), added once. */
  type(params: number[], results: number[]): number {
    const key = `${params.join(',')}>${results.join(',')}`;
    let i = this.types.indexOf(key);
    if (i < 0) {
      i = this.types.length;
      this.types.push(key);
      this.typeBytes.push(concat([[0x60], vec(params.map((p) => [p])), vec(results.map((r) => [r]))]));
    }
    return i;
  }

  /** Imports a function; returns its function index. Must precede every func(). */
  importFunc(module: string, field: string, params: number[], results: number[]): number {
    if (this.funcs.length > 0) throw new Error('imports must come before defined functions');
    this.imports.push({ module, name: field, desc: [0x00, ...u32(this.type(params, results))] });
    return this.importedFuncs++;
  }

  /** Imports something other than a function (kind byte + type bytes). */
  importRaw(module: string, field: string, desc: Bytes): void {
    this.imports.push({ module, name: field, desc });
  }

  /** Defines a function; body is the instruction bytes without the final `end`. */
  func(params: number[], results: number[], body: Bytes, locals: Array<[number, number]> = []): number {
    const decl = vec(locals.map(([n, t]) => [...u32(n), t]));
    this.funcs.push({ type: this.type(params, results), locals: decl, body: concat([body, [OP.end]]) });
    return this.importedFuncs + this.funcs.length - 1;
  }

  /** Number of functions (imported + defined) so far. */
  get functionCount(): number {
    return this.importedFuncs + this.funcs.length;
  }

  setMemory(min: number, max?: number): void {
    this.memory = { min, max };
  }

  /** A mutable or immutable global with an i32.const initializer; returns its index. */
  globalI32(value: number, mutable: boolean): number {
    this.globals.push([I32, mutable ? 1 : 0, OP.i32Const, ...s32(value), OP.end]);
    return this.globals.length - 1;
  }

  exportFunc(field: string, index: number): void {
    this.exports.push([...name(field), 0x00, ...u32(index)]);
  }

  exportMemory(field = 'memory'): void {
    this.exports.push([...name(field), 0x02, 0x00]);
  }

  start(index: number): void {
    this.startIndex = index;
  }

  /** An active data segment for memory 0 at a constant offset. */
  dataActive(offset: number, bytes: Bytes): void {
    this.data.push(concat([[0x00, OP.i32Const, ...s32(offset), OP.end], u32(bytes.length), bytes]));
  }

  custom(field: string, bytes: Bytes): void {
    this.customs.push(section(0, concat([name(field), bytes])));
  }

  build(): Uint8Array {
    const parts: Bytes[] = [HEADER];
    if (this.types.length) parts.push(section(1, vec(this.typeBytes)));
    if (this.imports.length) {
      parts.push(section(2, vec(this.imports.map((im) => concat([name(im.module), name(im.name), im.desc])))));
    }
    if (this.funcs.length) parts.push(section(3, vec(this.funcs.map((f) => u32(f.type)))));
    if (this.memory) {
      const m = this.memory;
      const limits = m.max === undefined ? [0x00, ...u32(m.min)] : [0x01, ...u32(m.min), ...u32(m.max)];
      parts.push(section(5, vec([limits])));
    }
    if (this.globals.length) parts.push(section(6, vec(this.globals)));
    if (this.exports.length) parts.push(section(7, vec(this.exports)));
    if (this.startIndex !== null) parts.push(section(8, u32(this.startIndex)));
    if (this.funcs.length) {
      parts.push(section(10, vec(this.funcs.map((f) => {
        const body = concat([f.locals, f.body]);
        return concat([u32(body.length), body]);
      }))));
    }
    if (this.data.length) parts.push(section(11, vec(this.data)));
    parts.push(...this.customs);
    return concat(parts);
  }
}

/** Body of a function returning the constant v. */
export function constBody(v: number): number[] {
  return [OP.i32Const, ...s32(v)];
}

/**
 * The smallest module the ABI accepts: exported memory (1 page), wasm_auth_abi_version = 1,
 * wasm_auth_buffer returning a fixed buffer at 1024 (enough for the small requests the hostile
 * suite makes), and acl_check + unpwd_check allowing everything. Callers add their hostile part
 * before build(); `beforeDefs` runs first so it can add imports.
 */
export function basePolicy(beforeDefs?: (b: ModuleBuilder) => void): ModuleBuilder {
  const b = new ModuleBuilder();
  beforeDefs?.(b);
  b.setMemory(1);
  b.exportMemory();
  b.exportFunc('wasm_auth_abi_version', b.func([], [I32], constBody(1)));
  b.exportFunc('wasm_auth_buffer', b.func([I32], [I32], constBody(1024)));
  b.exportFunc('unpwd_check', b.func([I32, I32], [I32], constBody(1)));
  b.exportFunc('acl_check', b.func([I32, I32, I32, I32], [I32], constBody(1)));
  return b;
}
