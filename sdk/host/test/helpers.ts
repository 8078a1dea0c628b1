// Shared by the host tests: where things are, fixture modules, a tiny wasm module builder for
// ABI edge cases, and a log collector.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { loadPolicy, type LoadOptions, type Policy } from '../index.js';
import { type Bytes, concat, HEADER, I32, name, s32, section, u32, vec } from './wasm-bytes.js';

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'mosquitto-wasm-auth') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the repository root');
    dir = up;
  }
}

export const ROOT = findRoot();
export const BUILD = resolve(ROOT, process.env.BUILD ?? 'build');
export const FIXTURES = resolve(ROOT, process.env.SDK_FIXTURE_DIR ?? join(BUILD, 'sdk-fixtures'));
export const WA_CALL = resolve(ROOT, process.env.WA_CALL_BIN ?? join(BUILD, 'bin/wa-call'));
export const CHECK_BIN = resolve(ROOT, process.env.CHECK_BIN ?? join(BUILD, 'bin/wasm-auth-check'));
export const CLI_JS = join(BUILD, 'js/sdk/host/cli.js');

export function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(FIXTURES, `${name}.wasm`)));
}

export interface LogLine {
  level: number;
  message: string;
}

/** Loads a fixture with a log collector; every per-request error is logged (no rate limit). */
export function load(name: string | Uint8Array, opts: LoadOptions = {}): { policy: Policy; logs: LogLine[] } {
  const logs: LogLine[] = [];
  const policy = loadPolicy(typeof name === 'string' ? fixture(name) : name, {
    errorLogIntervalMs: 0,
    onLog: (level, message) => logs.push({ level, message }),
    ...opts,
  });
  return { policy, logs };
}

/** Runs a command (with `input` on stdin); null when the binary does not exist (the caller skips, visibly). */
export function runBin(bin: string, args: string[], input?: string): { status: number; stdout: string; stderr: string } | null {
  if (!existsSync(bin)) return null;
  const r = spawnSync(bin, args, { encoding: 'utf8', input });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

// ---- a minimal wasm module builder, for modules AssemblyScript would never emit ----

export { F64, I32, I64 } from './wasm-bytes.js';

export interface FuncSpec {
  params?: number[];
  results?: number[];
  /** Instruction bytes without the final `end`. */
  body?: number[];
  export?: string;
}

export interface ModuleSpec {
  imports?: { module: string; name: string; params?: number[]; results?: number[] }[];
  /** Import the memory instead of defining it. */
  importMemory?: boolean;
  memory?: { min: number; max?: number } | null;
  funcs?: FuncSpec[];
  exportMemory?: boolean;
  /** Extra exports: [name, kind, index]. */
  exports?: [string, number, number][];
  /** Data segment at offset 0 of memory. */
  data?: { offset: number; bytes: number[] }[];
}

/** Builds a module; functions are numbered after the imports, in order. */
export function buildModule(spec: ModuleSpec): Uint8Array {
  const types: number[][] = [];
  const typeIndex = (params: number[] = [], results: number[] = []): number => {
    const t = [0x60, ...vec(params.map((p) => [p])), ...vec(results.map((r) => [r]))];
    const key = t.join(',');
    const i = types.findIndex((x) => x.join(',') === key);
    if (i >= 0) return i;
    types.push(t);
    return types.length - 1;
  };
  const imports = (spec.imports ?? []).map((im) => [...name(im.module), ...name(im.name), 0x00, ...u32(typeIndex(im.params, im.results))]);
  if (spec.importMemory) imports.push([...name('env'), ...name('memory'), 0x02, 0x00, 0x01]);
  const funcs = spec.funcs ?? [];
  const funcTypes = funcs.map((f) => u32(typeIndex(f.params, f.results)));
  const nImports = spec.imports?.length ?? 0;
  const exports: number[][] = [];
  funcs.forEach((f, i) => { if (f.export !== undefined) exports.push([...name(f.export), 0x00, ...u32(nImports + i)]); });
  const memory = spec.importMemory ? null : spec.memory === undefined ? { min: 1 } : spec.memory;
  if (memory !== null && (spec.exportMemory ?? true)) exports.push([...name('memory'), 0x02, 0x00]);
  for (const [n, kind, index] of spec.exports ?? []) exports.push([...name(n), kind, ...u32(index)]);
  const code = funcs.map((f) => {
    const body = [0x00, ...(f.body ?? []), 0x0b];
    return [...u32(body.length), ...body];
  });
  const out: Bytes[] = [HEADER];
  out.push(section(1, vec(types)));
  if (imports.length) out.push(section(2, vec(imports)));
  if (funcs.length) out.push(section(3, vec(funcTypes)));
  if (memory !== null) {
    const lim = memory.max === undefined ? [0x00, ...u32(memory.min)] : [0x01, ...u32(memory.min), ...u32(memory.max)];
    out.push(section(5, vec([lim])));
  }
  if (exports.length) out.push(section(7, vec(exports)));
  if (funcs.length) out.push(section(10, vec(code)));
  if (spec.data?.length) {
    out.push(section(11, vec(spec.data.map((d) => [0x00, 0x41, ...s32(d.offset), 0x0b, ...u32(d.bytes.length), ...d.bytes]))));
  }
  return concat(out);
}

/** i32.const v */
export const i32c = (v: number): number[] => [0x41, ...s32(v)];

/** The two required exports: abi version `version`, buffer at a fixed address 1024. */
export function abiFuncs(version = 1, bufferPtr = 1024): FuncSpec[] {
  return [
    { results: [I32], body: i32c(version), export: 'wasm_auth_abi_version' },
    { params: [I32], results: [I32], body: i32c(bufferPtr), export: 'wasm_auth_buffer' },
  ];
}
