// The hostile suite's generated modules: the ones too big to keep as fixtures (8 MiB module,
// 100k functions, megabytes of data) and the byte-level malformations (sections, LEB128s) that
// no text format can express. Each case says why the plugin must refuse it, or, for the
// boundary cases, that it must load. Written at test time (and by `make fuzz-corpus`, as gate
// seeds) with:  node build/js/tests/hostile/generate.js OUTDIR
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT } from '../harness/paths.js';
import {
  basePolicy, concat, constBody, F64, HEADER, I32, I64, ModuleBuilder, name, OP, s32, section, u32, vec,
  type Bytes,
} from './wasm-builder.js';

/** The caps in plugin-c/runtime/wa_limits.h, read from the header so the boundaries follow it. */
function limitsH(): Map<string, number> {
  const text = readFileSync(join(ROOT, 'plugin-c', 'runtime', 'wa_limits.h'), 'utf8');
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^#define\s+(WA_\w+)\s+\(?([\du\s*]+)\)?/gm)) {
    // Values are products of unsigned constants, e.g. (8u * 1024u * 1024u).
    const factors = m[2].split('*').map((f) => Number(f.trim().replace(/u$/, '')));
    if (factors.every((f) => Number.isInteger(f))) out.set(m[1], factors.reduce((a, b) => a * b, 1));
  }
  return out;
}

const LIMITS = limitsH();
function cap(name: string): number {
  const v = LIMITS.get(name);
  if (v === undefined) throw new Error(`plugin-c/runtime/wa_limits.h has no ${name}`);
  return v;
}

export const MAX_MODULE_BYTES = cap('WA_MAX_MODULE_BYTES');
export const MAX_FUNCTIONS = cap('WA_MAX_FUNCTIONS');
export const MAX_DATA_BYTES = cap('WA_MAX_DATA_BYTES');
export const MAX_MEMORY_PAGES = cap('WA_MAX_MEMORY_PAGES');
export const MAX_TABLE_ELEMS = cap('WA_MAX_TABLE_ELEMS');
export const MAX_GLOBALS = cap('WA_MAX_GLOBALS');
export const MAX_LOCALS = cap('WA_MAX_LOCALS_PER_FUNC');
export const MAX_BLOCK_DEPTH = cap('WA_MAX_BLOCK_DEPTH');

export type Group = 'size' | 'malformed' | 'imports' | 'signatures' | 'abi' | 'start';

export interface RefusedCase {
  name: string;
  group: Group;
  /** What is wrong with it, for test names. */
  what: string;
  bytes: () => Uint8Array;
  /** The reason the gate/plugin/Node host give must match this. */
  reason: RegExp;
  /** Plugin options (and their Node host equivalents) the case runs with. */
  opts?: Record<string, string>;
  /** Valid by the gate's static checks; refused only when loading runs it (instantiation, ABI calls). */
  atRuntime?: true;
}

export interface LoadableCase {
  name: string;
  what: string;
  bytes: () => Uint8Array;
}

// ---- helpers ------------------------------------------------------------------------------------

interface RawSection {
  id: number;
  content: Uint8Array;
}

/** Top-level sections of a well-formed module (the generators' own output). */
function split(bytes: Uint8Array): RawSection[] {
  const out: RawSection[] = [];
  let i = 8;
  while (i < bytes.length) {
    const id = bytes[i++];
    let size = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[i++];
      size |= (b & 0x7f) << shift;
      shift += 7;
      if ((b & 0x80) === 0) break;
    }
    out.push({ id, content: bytes.subarray(i, i + size) });
    i += size;
  }
  return out;
}

function join8(sections: Bytes[], header: Bytes = HEADER): Uint8Array {
  return concat([header, ...sections]);
}

/** The base policy's sections, re-encoded with `edit` applied to the list. */
function edited(edit: (s: RawSection[]) => Bytes[]): Uint8Array {
  return join8(edit(split(basePolicy().build())));
}

const enc = (s: RawSection): Uint8Array => section(s.id, s.content);
const byId = (list: RawSection[], id: number): RawSection => {
  const s = list.find((x) => x.id === id);
  if (!s) throw new Error(`base policy has no section ${id}`);
  return s;
};

/** A u32 LEB128 padded to `width` bytes (width 5 is still valid; 6 is not). */
function paddedU32(n: number, width: number): number[] {
  const out: number[] = [];
  let v = n >>> 0;
  for (let i = 0; i < width; i++) {
    const last = i === width - 1;
    out.push((v & 0x7f) | (last ? 0 : 0x80));
    v >>>= 7;
  }
  return out;
}

/** The base policy with one more defined function exported as `hook` with the given type. */
function withHook(hook: string, params: number[], results: number[], body: number[]): Uint8Array {
  const b = new ModuleBuilder();
  b.setMemory(1);
  b.exportMemory();
  b.exportFunc('wasm_auth_abi_version', b.func([], [I32], constBody(1)));
  b.exportFunc('wasm_auth_buffer', b.func([I32], [I32], constBody(1024)));
  if (hook !== 'acl_check') b.exportFunc('acl_check', b.func([I32, I32, I32, I32], [I32], constBody(1)));
  b.exportFunc(hook, b.func(params, results, body));
  return b.build();
}

/** The base policy importing one function (called from nowhere: importing is enough). */
function withImport(module: string, field: string, params: number[], results: number[]): Uint8Array {
  return basePolicy((b) => b.importFunc(module, field, params, results)).build();
}

/** The base policy with a start function made of `body` (and `extra` helpers defined first). */
function withStart(body: (b: ModuleBuilder) => number[]): Uint8Array {
  const b = basePolicy();
  const start = b.func([], [], body(b));
  b.start(start);
  return b.build();
}

/** The base policy padded with a custom section to exactly `total` bytes. */
function paddedTo(total: number): Uint8Array {
  const base = basePolicy().build();
  const nameBytes = name('padding');
  // section = id (1) + size LEB + name + payload; the size LEB of an 8 MiB section is 4 bytes.
  let payload = total - base.length - 1 - nameBytes.length;
  payload -= u32(payload + nameBytes.length).length;
  const b = basePolicy();
  b.custom('padding', new Uint8Array(payload));
  const out = b.build();
  if (out.length !== total) throw new Error(`padding arithmetic: ${out.length} != ${total}`);
  return out;
}

/** A policy with n functions in all (the ABI's four plus n - 4 empty ones). */
function manyFunctions(n: number): Uint8Array {
  const b = basePolicy();
  for (let i = b.functionCount; i < n; i++) b.func([], [], []);
  return b.build();
}

/** A policy whose memory is big enough for `bytes` of data in `segments` active segments. */
function withData(bytes: number, segments: number, pages = MAX_MEMORY_PAGES): Uint8Array {
  const b = new ModuleBuilder();
  b.setMemory(pages);
  b.exportMemory();
  b.exportFunc('wasm_auth_abi_version', b.func([], [I32], constBody(1)));
  b.exportFunc('wasm_auth_buffer', b.func([I32], [I32], constBody(1024)));
  b.exportFunc('unpwd_check', b.func([I32, I32], [I32], constBody(1)));
  b.exportFunc('acl_check', b.func([I32, I32, I32, I32], [I32], constBody(1)));
  const per = Math.ceil(bytes / segments);
  let left = bytes;
  for (let i = 0; i < segments && left > 0; i++) {
    const n = Math.min(per, left);
    const chunk = new Uint8Array(n).fill(0x41 + (i % 26));
    b.dataActive(65536 + i * per, chunk);
    left -= n;
  }
  return b.build();
}

/** A function body of `depth` nested blocks. */
function nestedBlocks(depth: number): number[] {
  const body: number[] = [];
  for (let i = 0; i < depth; i++) body.push(OP.block, OP.voidBlock);
  for (let i = 0; i < depth; i++) body.push(OP.end);
  return [...body, ...constBody(1)];
}

// ---- refused at load ----------------------------------------------------------------------------

const sizeCases: RefusedCase[] = [
  { name: 'huge-module', group: 'size', what: `module of ${MAX_MODULE_BYTES + 1} bytes (cap + 1)`,
    bytes: () => paddedTo(MAX_MODULE_BYTES + 1), reason: /wasm_max_module_bytes/ },
  { name: 'functions-100k', group: 'size', what: '100,000 functions',
    bytes: () => manyFunctions(100000), reason: /functions exceed|too many functions/ },
  { name: 'functions-cap-plus-1', group: 'size', what: `${MAX_FUNCTIONS + 1} functions (cap + 1)`,
    bytes: () => manyFunctions(MAX_FUNCTIONS + 1), reason: /functions exceed|too many functions/ },
  { name: 'huge-data-segment', group: 'size', what: 'one 5 MiB data segment',
    bytes: () => withData(5 * 1024 * 1024, 1), reason: /bytes of data|data.*(cap|exceed)/ },
  { name: 'data-many-segments', group: 'size', what: '2000 data segments adding up to 4 MiB + 2000 bytes',
    bytes: () => withData(MAX_DATA_BYTES + 2000, 2000), reason: /bytes of data|data.*(cap|exceed)/ },
  { name: 'data-out-of-bounds', group: 'size', what: 'data segment past the end of memory (fails at instantiation)',
    bytes: () => withData(4096, 1, 1), reason: /out of bounds|data segment/i, atRuntime: true },
  { name: 'memory-above-cap', group: 'size', what: `initial memory of ${MAX_MEMORY_PAGES + 1} pages`,
    bytes: () => {
      const b = basePolicy();
      b.setMemory(MAX_MEMORY_PAGES + 1);
      return b.build();
    }, reason: /memory|pages/ },
  { name: 'table-above-cap', group: 'size', what: `table of ${MAX_TABLE_ELEMS + 1} elements`,
    bytes: () => edited((s) => {
      const out: Bytes[] = [];
      for (const x of s) {
        if (x.id === 5) out.push(section(4, vec([[0x70, 0x00, ...u32(MAX_TABLE_ELEMS + 1)]])));
        out.push(enc(x));
      }
      return out;
    }), reason: /table.*(cap|exceed)/ },
  { name: 'globals-above-cap', group: 'size', what: `${MAX_GLOBALS + 1} globals`,
    bytes: () => {
      const b = basePolicy();
      for (let i = 0; i <= MAX_GLOBALS; i++) b.globalI32(i, true);
      return b.build();
    }, reason: /globals exceed|too many globals/ },
  { name: 'locals-above-cap', group: 'size', what: `a function with ${MAX_LOCALS + 1} locals`,
    bytes: () => {
      const b = basePolicy();
      b.func([], [], [], [[MAX_LOCALS + 1, I32]]);
      return b.build();
    }, reason: /too many locals/ },
  { name: 'nesting-above-cap', group: 'size', what: `${MAX_BLOCK_DEPTH + 1} nested blocks`,
    bytes: () => {
      const b = basePolicy();
      b.func([], [I32], nestedBlocks(MAX_BLOCK_DEPTH + 1));
      return b.build();
    }, reason: /nested deeper|depth/i },
];

const malformedCases: RefusedCase[] = [
  { name: 'empty-file', group: 'malformed', what: 'zero bytes', bytes: () => new Uint8Array(0),
    reason: /magic|header|empty|unexpected end|truncated/i },
  { name: 'bad-magic', group: 'malformed', what: 'wrong magic number',
    bytes: () => { const b = basePolicy().build(); b[1] = 0x62; return b; }, reason: /magic/i },
  { name: 'bad-version', group: 'malformed', what: 'binary format version 2',
    bytes: () => { const b = basePolicy().build(); b[4] = 2; return b; }, reason: /version/i },
  { name: 'truncated-half', group: 'malformed', what: 'a valid module cut in half',
    bytes: () => { const b = basePolicy().build(); return b.subarray(0, b.length >> 1); },
    reason: /unexpected end|truncated|past the end|beyond|exceeds/i },
  { name: 'leb-six-bytes', group: 'malformed', what: 'section size as a 6-byte LEB128',
    bytes: () => edited((s) => s.map((x) => x.id === 1 ? concat([[1], paddedU32(x.content.length, 6), x.content]) : enc(x))),
    reason: /LEB|integer|too long|representation/i },
  { name: 'leb-unused-bits', group: 'malformed', what: 'section size LEB128 with bits above 2^32 set',
    bytes: () => edited((s) => s.map((x) => {
      if (x.id !== 1) return enc(x);
      const l = paddedU32(x.content.length, 5);
      l[4] |= 0x70;
      return concat([[1], l, x.content]);
    })), reason: /LEB|integer|too large|unused bits|representation/i },
  { name: 'leb-truncated', group: 'malformed', what: 'file ends inside a LEB128',
    bytes: () => join8([[0x01, 0x80, 0x80]]), reason: /unexpected end|truncated|LEB|past the end/i },
  { name: 'i32-const-overlong', group: 'malformed', what: 'i32.const with a 6-byte signed LEB128',
    bytes: () => {
      const b = basePolicy();
      b.func([], [I32], [OP.i32Const, 0x81, 0x80, 0x80, 0x80, 0x80, 0x00]);
      return b.build();
    }, reason: /LEB|integer|too long|representation/i },
  { name: 'section-past-end', group: 'malformed', what: 'section size beyond the end of the file',
    bytes: () => edited((s) => s.map((x) => x.id === 10 ? concat([[10], u32(x.content.length + 100), x.content]) : enc(x))),
    reason: /past the end|beyond|unexpected end|truncated|exceeds/i },
  { name: 'section-size-mismatch', group: 'malformed', what: 'type section longer than its content',
    bytes: () => edited((s) => s.map((x) => x.id === 1 ? section(1, concat([x.content, [0x00]])) : enc(x))),
    reason: /size mismatch|trailing|junk/i },
  { name: 'sections-out-of-order', group: 'malformed', what: 'memory section before the function section',
    bytes: () => edited((s) => {
      const f = byId(s, 3);
      const m = byId(s, 5);
      return s.flatMap((x) => (x.id === 3 ? [enc(m), enc(f)] : x.id === 5 ? [] : [enc(x)]));
    }), reason: /order|repeated|unexpected content/i },
  { name: 'section-duplicate', group: 'malformed', what: 'two memory sections',
    bytes: () => edited((s) => s.flatMap((x) => x.id === 5 ? [enc(x), enc(x)] : [enc(x)])),
    reason: /duplicate|order|repeated|unexpected content/i },
  { name: 'unknown-section', group: 'malformed', what: 'section id 14',
    bytes: () => join8([...split(basePolicy().build()).map(enc), section(14, [0x00])]),
    reason: /section id|unknown section/i },
  { name: 'function-code-mismatch', group: 'malformed', what: 'function section declares one more function than the code section has',
    bytes: () => edited((s) => s.map((x) => {
      if (x.id !== 3) return enc(x);
      return section(3, concat([u32(x.content[0] + 1), x.content.subarray(1), [0x00]]));
    })), reason: /count|mismatch|inconsistent/i },
  { name: 'huge-vector-count', group: 'malformed', what: 'type section claiming 2^32-1 types in 6 bytes',
    bytes: () => edited((s) => s.map((x) => x.id === 1 ? section(1, [0xff, 0xff, 0xff, 0xff, 0x0f, 0x60]) : enc(x))),
    reason: /count|unexpected end|truncated|past the end|too many/i },
  { name: 'bad-type-index', group: 'malformed', what: 'function with type index 99',
    bytes: () => edited((s) => s.map((x) => {
      if (x.id !== 3) return enc(x);
      const c = Uint8Array.from(x.content);
      c[1] = 99;
      return section(3, c);
    })), reason: /type/i },
  { name: 'bad-utf8-name', group: 'malformed', what: 'export name that is not UTF-8',
    bytes: () => {
      const good = basePolicy().build();
      const s = split(good);
      const ex = byId(s, 7);
      // Append one more export named "\xff\xfe" (the ABI ignores unknown exports; validity does not).
      const count = ex.content[0];
      const body = concat([[count + 1], ex.content.subarray(1), [2, 0xff, 0xfe, 0x00, 0x00]]);
      return join8(s.map((x) => (x.id === 7 ? section(7, body) : enc(x))));
    }, reason: /UTF-8|utf8|name|invalid/i },
  { name: 'body-past-section', group: 'malformed', what: 'function body size past the end of the code section',
    bytes: () => edited((s) => s.map((x) => {
      if (x.id !== 10) return enc(x);
      const c = Uint8Array.from(x.content);
      c[1] = 0x7f; // first body's size
      return section(10, c);
    })), reason: /past the end|beyond|unexpected end|out of bounds/i },
  { name: 'locals-overflow', group: 'malformed', what: 'two local declarations of 2^32-1 locals each',
    bytes: () => {
      const b = basePolicy();
      b.func([], [], [], [[0xffffffff, I32], [0xffffffff, I32]]);
      return b.build();
    }, reason: /local/i },
  { name: 'missing-end', group: 'malformed', what: 'function body without its final end',
    bytes: () => edited((s) => s.map((x) => {
      if (x.id !== 10) return enc(x);
      // Bodies are [size, 0 locals, i32.const 1, end]: drop the end of the first one.
      const c = Uint8Array.from(x.content);
      const size = c[1];
      const body = concat([c.subarray(0, 1), [size - 1], c.subarray(2, 2 + size - 1), c.subarray(2 + size)]);
      return section(10, body);
    })), reason: /END|end of (the )?function|unexpected end/i },
  { name: 'unknown-opcode', group: 'malformed', what: 'opcode 0xff in a body',
    bytes: () => {
      const b = basePolicy();
      b.func([], [], [0xff]);
      return b.build();
    }, reason: /opcode|instruction|unknown|illegal|not allowed|0xff/i },
  { name: 'simd-opcode', group: 'malformed', what: 'a SIMD instruction (outside the feature profile)',
    bytes: () => {
      const b = basePolicy();
      b.func([], [], [0xfd, 0x0c, ...new Array(16).fill(0), OP.drop]);
      return b.build();
    }, reason: /SIMD|simd|opcode|instruction|not allowed|v128|feature/i },
  { name: 'custom-name-past-end', group: 'malformed', what: 'custom section whose name length runs past it',
    bytes: () => join8([...split(basePolicy().build()).map(enc), section(0, [0x64, 0x61])]),
    reason: /past the end|beyond|unexpected end|out of bounds/i },
  { name: 'ill-typed', group: 'malformed', what: 'i32.add on an i64 and an i32',
    bytes: () => {
      const b = basePolicy();
      b.func([], [I32], [0x42, 0x01, OP.i32Const, 0x01, OP.i32Add]);
      return b.build();
    }, reason: /type|mismatch|expected/i },
];

const importCases: RefusedCase[] = [
  { name: 'import-mosquitto-system', group: 'imports', what: 'mosquitto.system',
    bytes: () => withImport('mosquitto', 'system', [I32], [I32]), reason: /mosquitto\.system/ },
  { name: 'import-env-memcpy', group: 'imports', what: 'env.memcpy',
    bytes: () => withImport('env', 'memcpy', [I32, I32, I32], [I32]), reason: /env\.memcpy/ },
  { name: 'import-wasi-fd-write', group: 'imports', what: 'wasi_snapshot_preview1.fd_write',
    bytes: () => withImport('wasi_snapshot_preview1', 'fd_write', [I32, I32, I32, I32], [I32]),
    reason: /wasi_snapshot_preview1\.fd_write/ },
  { name: 'import-memory', group: 'imports', what: 'an imported memory (env.memory)',
    bytes: () => {
      const b = new ModuleBuilder();
      b.importRaw('env', 'memory', [0x02, 0x00, 0x01]);
      b.exportMemory();
      b.exportFunc('wasm_auth_abi_version', b.func([], [I32], constBody(1)));
      b.exportFunc('wasm_auth_buffer', b.func([I32], [I32], constBody(1024)));
      b.exportFunc('acl_check', b.func([I32, I32, I32, I32], [I32], constBody(1)));
      return b.build();
    }, reason: /env\.memory/ },
  { name: 'import-global', group: 'imports', what: 'an imported global (env.g)',
    bytes: () => basePolicy((b) => b.importRaw('env', 'g', [0x03, I32, 0x00])).build(), reason: /env\.g\b/ },
  { name: 'import-table', group: 'imports', what: 'an imported table (env.table)',
    bytes: () => basePolicy((b) => b.importRaw('env', 'table', [0x01, 0x70, 0x00, 0x01])).build(), reason: /env\.table/ },
  // A cached decision must not depend on what changes between calls.
  { name: 'import-clock-cacheable', group: 'imports', what: 'env.Date.now in a policy exporting wasm_auth_acl_cacheable',
    bytes: () => {
      const b = basePolicy((m) => m.importFunc('env', 'Date.now', [], [F64]));
      b.exportFunc('wasm_auth_acl_cacheable', b.func([], [I32], constBody(1)));
      return b.build();
    }, reason: /exports wasm_auth_acl_cacheable but imports env\.Date\.now, whose answer \(the time\) changes between calls/ },
  { name: 'import-client-address-cacheable', group: 'imports', what: 'mosquitto.client_address in a policy exporting wasm_auth_acl_cacheable',
    bytes: () => {
      const b = basePolicy((m) => m.importFunc('mosquitto', 'client_address', [I32, I32], [I32]));
      b.exportFunc('wasm_auth_acl_cacheable', b.func([], [I32], constBody(1)));
      return b.build();
    }, reason: /exports wasm_auth_acl_cacheable but imports mosquitto\.client_address, whose answer \(the client's address\)/ },
];

const signatureCases: RefusedCase[] = [
  { name: 'sig-import-log', group: 'signatures', what: 'mosquitto.log imported as (i32)->()',
    bytes: () => withImport('mosquitto', 'log', [I32], []), reason: /mosquitto\.log/ },
  { name: 'sig-import-abort', group: 'signatures', what: 'env.abort imported with an i64 parameter',
    bytes: () => withImport('env', 'abort', [I64, I32, I32, I32], []), reason: /env\.abort/ },
  { name: 'sig-import-seed', group: 'signatures', what: 'env.seed imported as ()->i32',
    bytes: () => withImport('env', 'seed', [], [I32]), reason: /env\.seed/ },
  { name: 'sig-hook-acl-i64', group: 'signatures', what: 'acl_check returning i64',
    bytes: () => withHook('acl_check', [I32, I32, I32, I32], [I64], [0x42, 0x01]), reason: /acl_check/ },
  { name: 'sig-hook-unpwd-noargs', group: 'signatures', what: 'unpwd_check taking no arguments',
    bytes: () => withHook('unpwd_check', [], [I32], constBody(1)), reason: /unpwd_check/ },
  { name: 'sig-hook-psk-void', group: 'signatures', what: 'psk_key_get returning nothing',
    bytes: () => withHook('psk_key_get', [I32, I32], [], []), reason: /psk_key_get/ },
  { name: 'sig-hook-init-f64', group: 'signatures', what: 'plugin_init taking an f64',
    bytes: () => withHook('plugin_init', [F64], [], []), reason: /plugin_init/ },
  { name: 'sig-abi-version', group: 'signatures', what: 'wasm_auth_abi_version taking an argument',
    bytes: () => {
      const b = new ModuleBuilder();
      b.setMemory(1);
      b.exportMemory();
      b.exportFunc('wasm_auth_abi_version', b.func([I32], [I32], constBody(1)));
      b.exportFunc('wasm_auth_buffer', b.func([I32], [I32], constBody(1024)));
      b.exportFunc('acl_check', b.func([I32, I32, I32, I32], [I32], constBody(1)));
      return b.build();
    }, reason: /wasm_auth_abi_version/ },
  { name: 'sig-buffer', group: 'signatures', what: 'wasm_auth_buffer taking no argument',
    bytes: () => {
      const b = new ModuleBuilder();
      b.setMemory(1);
      b.exportMemory();
      b.exportFunc('wasm_auth_abi_version', b.func([], [I32], constBody(1)));
      b.exportFunc('wasm_auth_buffer', b.func([], [I32], constBody(1024)));
      b.exportFunc('acl_check', b.func([I32, I32, I32, I32], [I32], constBody(1)));
      return b.build();
    }, reason: /wasm_auth_buffer/ },
];

const abiCases: RefusedCase[] = [
  // A constant version: refused by the gate already, with the words the host uses at load.
  { name: 'abi-version-2', group: 'abi', what: 'wasm_auth_abi_version returns 2',
    bytes: () => {
      const b = new ModuleBuilder();
      b.setMemory(1);
      b.exportMemory();
      b.exportFunc('wasm_auth_abi_version', b.func([], [I32], constBody(2)));
      b.exportFunc('wasm_auth_buffer', b.func([I32], [I32], constBody(1024)));
      b.exportFunc('acl_check', b.func([I32, I32, I32, I32], [I32], constBody(1)));
      return b.build();
    }, reason: /ABI 2/ },
  { name: 'abi-buffer-out-of-bounds', group: 'abi', atRuntime: true, what: 'wasm_auth_buffer returns a pointer past the end of memory',
    bytes: () => {
      const b = new ModuleBuilder();
      b.setMemory(1);
      b.exportMemory();
      b.exportFunc('wasm_auth_abi_version', b.func([], [I32], constBody(1)));
      b.exportFunc('wasm_auth_buffer', b.func([I32], [I32], constBody(-16)));
      b.exportFunc('acl_check', b.func([I32, I32, I32, I32], [I32], constBody(1)));
      return b.build();
    }, reason: /wasm_auth_buffer/ },
  { name: 'abi-version-traps', group: 'abi', atRuntime: true, what: 'wasm_auth_abi_version traps',
    bytes: () => {
      const b = new ModuleBuilder();
      b.setMemory(1);
      b.exportMemory();
      b.exportFunc('wasm_auth_abi_version', b.func([], [I32], [OP.unreachable]));
      b.exportFunc('wasm_auth_buffer', b.func([I32], [I32], constBody(1024)));
      b.exportFunc('acl_check', b.func([I32, I32, I32, I32], [I32], constBody(1)));
      return b.build();
    }, reason: /unreachable|wasm_auth_abi_version/ },
  { name: 'no-memory-export', group: 'abi', what: 'memory exported under another name',
    bytes: () => {
      const b = new ModuleBuilder();
      b.setMemory(1);
      b.exportMemory('mem');
      b.exportFunc('wasm_auth_abi_version', b.func([], [I32], constBody(1)));
      b.exportFunc('wasm_auth_buffer', b.func([I32], [I32], constBody(1024)));
      b.exportFunc('acl_check', b.func([I32, I32, I32, I32], [I32], constBody(1)));
      return b.build();
    }, reason: /memory/ },
  { name: 'no-request-hook', group: 'abi', what: 'no request hook exported',
    bytes: () => {
      const b = new ModuleBuilder();
      b.setMemory(1);
      b.exportMemory();
      b.exportFunc('wasm_auth_abi_version', b.func([], [I32], constBody(1)));
      b.exportFunc('wasm_auth_buffer', b.func([I32], [I32], constBody(1024)));
      b.exportFunc('plugin_init', b.func([I32], [], []));
      return b.build();
    }, reason: /hook|unpwd_check|acl_check|psk_key_get/ },
  { name: 'reserved-export', group: 'abi', what: 'an export using the host-reserved prefix __wasm_auth_',
    bytes: () => {
      const b = basePolicy();
      b.exportFunc('__wasm_auth_fuel', 0);
      return b.build();
    }, reason: /__wasm_auth_/ },
];

const startCases: RefusedCase[] = [
  { name: 'start-unreachable', group: 'start', atRuntime: true, what: 'start function executes unreachable',
    bytes: () => withStart(() => [OP.unreachable]), reason: /start/ },
  { name: 'start-spin', group: 'start', atRuntime: true, what: 'start function loops forever',
    bytes: () => withStart(() => [OP.loop, OP.voidBlock, OP.br, 0x00, OP.end]), reason: /start/,
    opts: { wasm_fuel: '100000' } },
  { name: 'start-recurse', group: 'start', atRuntime: true, what: 'start function recurses without end',
    bytes: () => withStart((b) => {
      const self = b.functionCount; // the start function's own index
      return [OP.call, ...u32(self)];
    }), reason: /start/ },
  { name: 'start-grow-trap', group: 'start', atRuntime: true, what: 'start function grows memory until refused, then traps',
    bytes: () => withStart(() => [
      OP.loop, OP.voidBlock, OP.i32Const, 0x01, OP.memoryGrow, 0x00, OP.i32Const, ...s32(-1), OP.i32Eq,
      0x45 /* i32.eqz */, OP.brIf, 0x00, OP.end, OP.unreachable]), reason: /start/ },
];

export const REFUSED: RefusedCase[] = [
  ...sizeCases, ...malformedCases, ...importCases, ...signatureCases, ...abiCases, ...startCases,
];

// ---- must load (the boundaries just inside the caps, and valid encodings) ----------------------

export const LOADABLE: LoadableCase[] = [
  { name: 'module-at-cap', what: `module of exactly ${MAX_MODULE_BYTES} bytes`, bytes: () => paddedTo(MAX_MODULE_BYTES) },
  { name: 'functions-at-cap', what: `${MAX_FUNCTIONS} functions`, bytes: () => manyFunctions(MAX_FUNCTIONS) },
  { name: 'data-at-cap', what: `${MAX_DATA_BYTES} bytes of data`, bytes: () => withData(MAX_DATA_BYTES, 1) },
  { name: 'nesting-deep', what: `${MAX_BLOCK_DEPTH >> 1} nested blocks (wasm3 compiles blocks recursively)`,
    bytes: () => {
      const b = basePolicy();
      b.func([], [I32], nestedBlocks(MAX_BLOCK_DEPTH >> 1));
      return b.build();
    } },
  { name: 'leb-five-bytes', what: 'section sizes and indices as padded 5-byte LEB128s (valid)',
    bytes: () => edited((s) => s.map((x) => concat([[x.id], paddedU32(x.content.length, 5), x.content]))) },
];

/** Writes every case's module (or those named) as OUTDIR/NAME.wasm; returns the paths by name. */
export function writeAll(outDir: string, only?: Set<string>): Map<string, string> {
  mkdirSync(outDir, { recursive: true });
  const paths = new Map<string, string>();
  for (const c of [...REFUSED, ...LOADABLE]) {
    if (only && !only.has(c.name)) continue;
    const p = join(outDir, `${c.name}.wasm`);
    writeFileSync(p, c.bytes());
    paths.set(c.name, p);
  }
  return paths;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = process.argv[2];
  if (!out) {
    console.error('usage: node generate.js OUTDIR');
    process.exit(2);
  }
  const paths = writeAll(out);
  console.log(`generated ${paths.size} modules in ${out}`);
}
