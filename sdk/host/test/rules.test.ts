// Modules the host must refuse, with the plugin's reasons. Each refused module is also run
// through build/bin/wasm-auth-check (the plugin's gate) when it exists: both must give the same
// message, word for word.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicy, PolicyLoadError } from '../index.js';
import { CHECK_BIN, I32, I64, F64, abiFuncs, buildModule, i32c, runBin, type ModuleSpec } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'wa-rules-'));
const ACL = { params: [I32, I32, I32, I32], results: [I32], body: i32c(1), export: 'acl_check' };

function refusal(bytes: Uint8Array, opts = {}): string {
  try {
    loadPolicy(bytes, { onLog: () => {}, ...opts }).cleanup();
  } catch (e) {
    assert.ok(e instanceof PolicyLoadError, `expected PolicyLoadError, got ${String(e)}`);
    return e.message;
  }
  assert.fail('the module was accepted');
}

let n = 0;
// The gate's message for the same bytes, or null when wasm-auth-check is not built.
function gateMessage(bytes: Uint8Array, args: string[] = []): string | null {
  const file = join(tmp, `m${n++}.wasm`);
  writeFileSync(file, bytes);
  const r = runBin(CHECK_BIN, [...args, file]);
  if (r === null) return null;
  assert.notEqual(r.status, 0, 'wasm-auth-check accepted the module');
  const prefix = `wasm-auth: cannot load policy ${file}: `;
  const line = (r.stderr + r.stdout).split('\n').find((l) => l.startsWith(prefix));
  assert.ok(line !== undefined, `unexpected wasm-auth-check output: ${r.stderr}${r.stdout}`);
  return line.slice(prefix.length);
}

const cases: { name: string; spec: ModuleSpec; expect: RegExp; opts?: { maxMemoryPages?: number }; gateArgs?: string[] }[] = [
  {
    name: 'an import not on the allow-list',
    spec: { imports: [{ module: 'mosquitto', name: 'nope' }], funcs: [...abiFuncs(), ACL] },
    expect: /^import section, offset 0x[0-9a-f]+: import mosquitto\.nope not allowed$/,
  },
  {
    name: 'an import from another module',
    spec: { imports: [{ module: 'wasi_snapshot_preview1', name: 'fd_write', params: [I32, I32, I32, I32], results: [I32] }], funcs: [...abiFuncs(), ACL] },
    expect: /import wasi_snapshot_preview1\.fd_write not allowed$/,
  },
  {
    name: 'an allowed import with the wrong signature',
    spec: { imports: [{ module: 'mosquitto', name: 'log', params: [I32, I32], results: [] }], funcs: [...abiFuncs(), ACL] },
    expect: /^import section, offset 0x[0-9a-f]+: import mosquitto\.log has type \(i32,i32\)->\(\) but the host provides \(i32,i32,i32\)->\(\)$/,
  },
  {
    name: 'an imported memory',
    spec: { importMemory: true, funcs: [...abiFuncs(), ACL] },
    expect: /import env\.memory: imported memories are not allowed \(the module must define its own\)$/,
  },
  {
    name: 'no exported memory',
    spec: { exportMemory: false, funcs: [...abiFuncs(), ACL] },
    expect: /^export section: the module must export its memory as "memory"$/,
  },
  {
    name: 'no wasm_auth_abi_version',
    spec: { funcs: [abiFuncs()[1], ACL] },
    expect: /^export section: missing export wasm_auth_abi_version: \(\)->i32 \(not built with the wasm-auth SDK\?\)$/,
  },
  {
    name: 'no wasm_auth_buffer',
    spec: { funcs: [abiFuncs()[0], ACL] },
    expect: /^export section: missing export wasm_auth_buffer: \(i32\)->i32/,
  },
  {
    name: 'no request hook',
    spec: { funcs: [...abiFuncs(), { params: [I32], export: 'plugin_init' }] },
    expect: /^export section: no request hook exported \(need at least one of unpwd_check, acl_check, psk_key_get\)$/,
  },
  {
    name: 'a hook with the wrong signature',
    spec: { funcs: [...abiFuncs(), { params: [I32, I32, I32, I32, I32], results: [I32], body: i32c(1), export: 'acl_check' }] },
    expect: /export acl_check has type \(i32,i32,i32,i32,i32\)->i32 but the host calls it as \(i32,i32,i32,i32\)->i32 or \(i32,i32,i32,i32,i32,i32,i32\)->i32$/,
  },
  {
    name: 'a hook that is not a function',
    spec: { funcs: [...abiFuncs()], exports: [['psk_key_get', 0x02, 0]] },
    expect: /export psk_key_get must be a function$/,
  },
  {
    name: 'an export in the host\'s reserved namespace',
    spec: { funcs: [...abiFuncs(), ACL, { results: [I64], body: [0x42, 0x00], export: '__wasm_auth_fuel' }] },
    expect: /export __wasm_auth_fuel uses the prefix __wasm_auth_ reserved for the host$/,
  },
  {
    name: 'initial memory above the cap',
    spec: { memory: { min: 20 }, funcs: [...abiFuncs(), ACL] },
    opts: { maxMemoryPages: 16 },
    gateArgs: ['--max-memory-pages', '16'],
    expect: /^memory section, offset 0x[0-9a-f]+: initial memory of 20 pages exceeds wasm_max_memory_pages 16$/,
  },
  {
    name: 'declared maximum above the cap',
    spec: { memory: { min: 1, max: 300 }, funcs: [...abiFuncs(), ACL] },
    expect: /^memory section, offset 0x[0-9a-f]+: declared memory maximum of 300 pages exceeds wasm_max_memory_pages 256 \(build with a lower --maximumMemory, or none\)$/,
  },
  {
    name: 'an abi version export of the wrong type',
    spec: { funcs: [{ results: [F64], body: [0x44, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f], export: 'wasm_auth_abi_version' }, abiFuncs()[1], ACL] },
    expect: /export wasm_auth_abi_version has type \(\)->f64 but the host calls it as \(\)->i32$/,
  },
];

for (const c of cases) {
  test(`refuses ${c.name}`, () => {
    const bytes = buildModule(c.spec);
    const msg = refusal(bytes, c.opts);
    assert.match(msg, c.expect);
    const gate = gateMessage(bytes, c.gateArgs);
    if (gate !== null) assert.equal(msg, gate, 'the Node host and the plugin gate disagree');
  });
}

test('refuses a module above the size cap', () => {
  const bytes = buildModule({ funcs: [...abiFuncs(), ACL] });
  assert.equal(refusal(bytes, { maxModuleBytes: 100 }), `module: ${bytes.length} bytes exceed wasm_max_module_bytes 100`);
});

test('refuses bytes that are not a module, with V8\'s diagnostic', () => {
  assert.match(refusal(new Uint8Array([0, 0x61, 0x73, 0x6d, 2, 0, 0, 0])), /^invalid module: /);
  assert.match(refusal(new TextEncoder().encode('#!/bin/sh\necho hi\n')), /^invalid module: /);
});

test('refuses instructions outside the gate\'s profile (SIMD)', () => {
  // v128.const 0; drop: valid for V8, outside the plugin's feature profile.
  const simd = [0xfd, 0x0c, ...new Array(16).fill(0), 0x1a];
  const bytes = buildModule({ funcs: [...abiFuncs(), { ...ACL, body: [...simd, ...i32c(1)] }] });
  assert.match(refusal(bytes), /outside the supported profile/);
  const gate = gateMessage(bytes);
  if (gate !== null) assert.ok(gate.length > 0);
});

test('refuses a module built for another ABI version', () => {
  assert.equal(refusal(buildModule({ funcs: [...abiFuncs(2), ACL] })), 'built for ABI 2, this plugin speaks 1');
});

test('refuses a buffer outside memory', () => {
  assert.match(refusal(buildModule({ funcs: [...abiFuncs(1, 0), ACL] })), /^wasm_auth_buffer\(4096\): wasm_auth_buffer returned a buffer outside memory$/);
  assert.match(refusal(buildModule({ funcs: [...abiFuncs(1, 65536 - 100), ACL] })), /returned a buffer outside memory$/);
});

test('refuses a module whose start function traps', () => {
  const bytes = buildModule({ funcs: [...abiFuncs(), ACL, { body: [0x00] }] });
  // Add a start section pointing at the trapping function (index 3): section 8 goes after exports.
  const withStart = insertStart(bytes, 3);
  assert.equal(refusal(withStart), 'start function trapped: unreachable executed');
});

// Inserts a start section (id 8) before the code section (id 10).
function insertStart(bytes: Uint8Array, func: number): Uint8Array {
  let pos = 8;
  while (pos < bytes.length) {
    const id = bytes[pos];
    let size = 0;
    let shift = 0;
    let p = pos + 1;
    for (;;) {
      const b = bytes[p++];
      size |= (b & 0x7f) << shift;
      if (!(b & 0x80)) break;
      shift += 7;
    }
    if (id === 10) break;
    pos = p + size;
  }
  return new Uint8Array([...bytes.subarray(0, pos), 8, 1, func, ...bytes.subarray(pos)]);
}

test('accepts a minimal hand-made policy and uses its decision', () => {
  const policy = loadPolicy(buildModule({ funcs: [...abiFuncs(), ACL] }), { onLog: () => {} });
  assert.equal(policy.aclCheck({ clientid: 'c', username: null, topic: 't', access: 1 }), 'allow');
  assert.equal(policy.unpwdCheck('u', 'p'), 'defer', 'unexported hook: the plugin would not register it');
  policy.cleanup();
});
