// The module gate of the Node host: the plugin's own gate (plugin-c/gate, C) compiled to
// WebAssembly as gate.wasm (make: build/gate.wasm, copied next to this file). Running the same
// code is what makes the two hosts refuse the same modules with the same words, down to the
// offset of a bad LEB128; no rule of the gate is written twice. Also here: reading a module
// file as the plugin reads it (plugin-c/runtime/auth.c), with its messages.
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { HOOKS, type HookName } from './abi.js';
import { WA_MAX_DATA_BYTES, WA_MAX_FUNCTIONS, WA_MAX_GLOBALS, WA_MAX_TABLE_ELEMS } from './limits.js';

/** A module the gate refuses; `message` is the plugin's reason, word for word. */
export class ModuleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModuleError';
  }
}

/** Exported hooks, each with the index of the signature it uses in HOOKS[].signatures. */
export type HookSignatures = Partial<Record<HookName, number>>;

/**
 * The caps that plugin options set (the others are wa_limits.h's, inside the gate). The four counts
 * are optional: absent means wa_limits.h's default, as in the plugin.
 */
export interface RuleLimits {
  maxModuleBytes: number;
  maxMemoryPages: number;
  /** Initial table size; plugin_opt_wasm_max_table_elems. */
  maxTableElems?: number;
  /** Defined + imported functions; plugin_opt_wasm_max_functions. */
  maxFunctions?: number;
  /** Defined + imported globals; plugin_opt_wasm_max_globals. */
  maxGlobals?: number;
  /** All data segments together; plugin_opt_wasm_max_data_bytes. */
  maxDataBytes?: number;
}

/** What the gate reports about a module it accepted (struct wa_gate_report). */
export interface GateReport {
  /** Defined + imported. */
  functions: number;
  imports: number;
  /** Initial memory size. */
  memoryPages: number;
  dataBytes: number;
}

export interface CheckedModule {
  hooks: HookSignatures;
  report: GateReport;
}

// plugin-c/gate/gate_wasm.c's exports.
interface GateExports {
  memory: WebAssembly.Memory;
  _initialize(): void;
  wa_js_err_len(): number;
  wa_js_hook_count(): number;
  wa_js_check(bytes: number, len: number, maxModuleBytes: number, maxMemoryPages: number, maxTableElems: number,
    maxFunctions: number, maxGlobals: number, maxDataBytes: number, report: number, err: number): number;
  wa_js_validate(bytes: number, len: number, report: number, err: number): number;
  wa_js_meter(bytes: number, len: number, out: number, err: number): number;
  wa_js_malloc(n: number): number;
  wa_js_free(p: number): void;
}

// Next to the compiled host (make copies it there), or at the root of the build directory when
// the host runs from build/js/sdk/host.
const GATE_FILES = [new URL('./gate.wasm', import.meta.url), new URL('../../../gate.wasm', import.meta.url)];

let gateInstance: GateExports | null = null;

function gate(): GateExports {
  if (gateInstance !== null) return gateInstance;
  const file = GATE_FILES.find((u) => existsSync(u));
  if (file === undefined) {
    throw new Error(`the module gate gate.wasm is missing (looked for ${GATE_FILES.map((u) => fileURLToPath(u)).join(' and ')}): run make`);
  }
  const module = new WebAssembly.Module(new Uint8Array(readFileSync(file)));
  // wasi-libc's printf family references stdio's file functions, which the gate never reaches
  // (it only formats into buffers): each answers ENOSYS.
  const ENOSYS = 52;
  const imports: Record<string, Record<string, () => number>> = {};
  for (const im of WebAssembly.Module.imports(module)) {
    if (im.kind !== 'function') throw new Error(`${fileURLToPath(file)}: unexpected import ${im.module}.${im.name}`);
    (imports[im.module] ??= {})[im.name] = () => ENOSYS;
  }
  const g = new WebAssembly.Instance(module, imports).exports as unknown as GateExports;
  g._initialize();
  if (g.wa_js_hook_count() !== HOOKS.length) {
    throw new Error(`${fileURLToPath(file)} was built for ${g.wa_js_hook_count()} hooks, this host knows ${HOOKS.length}: run make`);
  }
  gateInstance = g;
  return g;
}

// Runs fn with `bytes` copied into the gate's memory and an error buffer; frees both.
function withBytes<T>(g: GateExports, bytes: Uint8Array, fn: (ptr: number, err: number) => T): T {
  const ptr = g.wa_js_malloc(bytes.length);
  const err = g.wa_js_malloc(g.wa_js_err_len());
  try {
    if (ptr === 0 || err === 0) throw new ModuleError('out of memory');
    new Uint8Array(g.memory.buffer, ptr, bytes.length).set(bytes);
    return fn(ptr, err);
  } finally {
    g.wa_js_free(ptr);
    g.wa_js_free(err);
  }
}

// The NUL-terminated message at err (views are made after the call: memory may have grown).
function message(g: GateExports, err: number): string {
  const b = new Uint8Array(g.memory.buffer, err, g.wa_js_err_len());
  const end = b.indexOf(0);
  return new TextDecoder().decode(b.subarray(0, end < 0 ? b.length : end));
}

function sizeMessage(size: number, cap: number): string {
  return `the module is ${size} bytes, above the cap of ${cap} (wasm_max_module_bytes)`;
}

/**
 * Checks `bytes` exactly as the plugin does before loading a policy (wa_gate_check with the
 * plugin's caps). Throws ModuleError with the plugin's reason when the module is refused.
 */
export function checkModule(bytes: Uint8Array, limits: RuleLimits): CheckedModule {
  // The plugin refuses an oversized file before reading it (auth.c); bytes are not even copied.
  if (bytes.length > limits.maxModuleBytes) throw new ModuleError(sizeMessage(bytes.length, limits.maxModuleBytes));
  const g = gate();
  const nhooks = HOOKS.length;
  const rep = g.wa_js_malloc(4 * (5 + nhooks));
  try {
    if (rep === 0) throw new ModuleError('out of memory');
    return withBytes(g, bytes, (ptr, err) => {
      const caps = [
        limits.maxModuleBytes, limits.maxMemoryPages, limits.maxTableElems ?? WA_MAX_TABLE_ELEMS,
        limits.maxFunctions ?? WA_MAX_FUNCTIONS, limits.maxGlobals ?? WA_MAX_GLOBALS, limits.maxDataBytes ?? WA_MAX_DATA_BYTES,
      ].map((c) => c >>> 0) as [number, number, number, number, number, number];
      if (g.wa_js_check(ptr, bytes.length, ...caps, rep, err) !== 0) {
        throw new ModuleError(message(g, err));
      }
      const r = new Uint32Array(g.memory.buffer, rep, 5 + nhooks);
      const hooks: HookSignatures = {};
      HOOKS.forEach((h, i) => {
        if (r[0] & (1 << i)) hooks[h.name] = r[5 + i];
      });
      return { hooks, report: { functions: r[1], imports: r[2], memoryPages: r[3], dataBytes: r[4] } };
    });
  } finally {
    g.wa_js_free(rep);
  }
}

/**
 * WebAssembly validation against the gate's feature profile only, without caps or ABI rules
 * (wasm-auth-check --validate-only). Throws ModuleError with the gate's reason.
 */
export function validateModule(bytes: Uint8Array): GateReport {
  const g = gate();
  const rep = g.wa_js_malloc(4 * 4);
  try {
    if (rep === 0) throw new ModuleError('out of memory');
    return withBytes(g, bytes, (ptr, err) => {
      if (g.wa_js_validate(ptr, bytes.length, rep, err) !== 0) throw new ModuleError(message(g, err));
      const r = new Uint32Array(g.memory.buffer, rep, 4);
      return { functions: r[0], imports: r[1], memoryPages: r[2], dataBytes: r[3] };
    });
  } finally {
    g.wa_js_free(rep);
  }
}

/** A metered module and the entry charges its host pays (struct wa_meter_report). */
export interface MeteredModule {
  code: Uint8Array;
  /**
   * Per hook that only the host can enter: the fuel of its entry charge, which the metering left
   * out of its body. The host subtracts it from the budget before calling the hook, and refuses
   * the call as out of fuel when the budget is smaller. Absent: the hook charges its own entry.
   */
  hookEntryFuel: Partial<Record<HookName, number>>;
}

/**
 * The fuel-metered copy of a module checkModule accepted (wa_gate_meter), as the plugin meters
 * it. Its fuel global (__wasm_auth_fuel) starts at 0; the host sets it before each call, minus
 * the hook's entry in hookEntryFuel.
 */
export function meter(bytes: Uint8Array): MeteredModule {
  const g = gate();
  const nhooks = HOOKS.length;
  const out = g.wa_js_malloc(4 * (2 + nhooks));
  try {
    if (out === 0) throw new ModuleError('out of memory');
    return withBytes(g, bytes, (ptr, err) => {
      if (g.wa_js_meter(ptr, bytes.length, out, err) !== 0) throw new ModuleError(message(g, err));
      const r = new Uint32Array(g.memory.buffer, out, 2 + nhooks);
      const code = new Uint8Array(g.memory.buffer, r[0], r[1]).slice();
      const hookEntryFuel: Partial<Record<HookName, number>> = {};
      HOOKS.forEach((h, i) => {
        if (r[2 + i] !== 0) hookEntryFuel[h.name] = r[2 + i];
      });
      g.wa_js_free(r[0]);
      return { code, hookEntryFuel };
    });
  } finally {
    g.wa_js_free(out);
  }
}

/**
 * The bytes of meter(bytes): what the plugin runs. Hooks only the host can enter have no entry
 * charge in it; a host running it must pay those itself (meter().hookEntryFuel).
 */
export function meterModule(bytes: Uint8Array): Uint8Array {
  return meter(bytes).code;
}

// strerror()'s words for the errors opening a file can give, as the plugin prints them.
const STRERROR: Record<string, string> = {
  ENOENT: 'No such file or directory', EACCES: 'Permission denied', ENOTDIR: 'Not a directory',
  ELOOP: 'Too many levels of symbolic links', ENAMETOOLONG: 'File name too long', EISDIR: 'Is a directory',
  EPERM: 'Operation not permitted', EMFILE: 'Too many open files', ENFILE: 'Too many open files in system',
  EIO: 'Input/output error', ENXIO: 'No such device or address',
};

/** strerror()'s text for a Node file system error (its message when the code is not listed). */
export function systemErrorText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  return (code !== undefined && STRERROR[code]) || (e as Error).message;
}

/**
 * Reads a module file as the plugin does (plugin-c/runtime/auth.c): a regular file, refused by its size
 * before anything is read. Throws ModuleError with the plugin's reason.
 */
export function readModuleFile(path: string, maxModuleBytes: number): Uint8Array {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new ModuleError(systemErrorText(e));
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new ModuleError('not a regular file');
    if (st.size > maxModuleBytes) throw new ModuleError(sizeMessage(st.size, maxModuleBytes));
    const buf = new Uint8Array(st.size);
    let got = 0;
    while (got < st.size) {
      let r: number;
      try {
        r = readSync(fd, buf, got, st.size - got, got);
      } catch (e) {
        throw new ModuleError(`read: ${systemErrorText(e)}`);
      }
      if (r === 0) throw new ModuleError('read: file shrank while reading');
      got += r;
    }
    return buf;
  } finally {
    closeSync(fd);
  }
}
