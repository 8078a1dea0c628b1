// Modules the host must refuse, with the plugin's reasons. Each refused module is also run
// through build/bin/wasm-auth-check (the plugin's gate) when it exists: both must give the same
// message, word for word.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicy, PolicyLoadError, readModuleFile } from '../index.js';
import { CHECK_BIN, I32, I64, F64, WA_CALL, abiFuncs, buildModule, i32c, runBin, type ModuleSpec } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'wa-rules-'));
const ACL = { params: [I32, I32, I32, I32], results: [I32], body: i32c(1), export: 'acl_check' };
// How every refused import's message ends: the list of allowed imports (mosquitto.{topic_matches_sub,
// ...,subscribe_set_topic,subscribe_set_qos} env.{abort,trace,seed,Date.now}) no longer fits the
// gate's one-line budget (rules.c IMPORT_REASON_BUDGET), so the message says where it is.
const ALLOWED = 'the host functions listed in docs/ABI\\.md';

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
    expect: new RegExp('^import section: import mosquitto\\.nope not allowed: not a host function of this ABI \\(an SDK newer than this host\\?\\); ' +
      'allowed: ' + ALLOWED + '$'),
  },
  {
    name: 'an import from another module',
    spec: { imports: [{ module: 'wasi_snapshot_preview1', name: 'fd_write', params: [I32, I32, I32, I32], results: [I32] }], funcs: [...abiFuncs(), ACL] },
    expect: /import wasi_snapshot_preview1\.fd_write not allowed: WASI is not available to a policy: build without a WASI shim; use log\(\) and option files \(Options\) from the SDK; allowed: the host functions listed in docs\/ABI\.md$/,
  },
  {
    name: 'console.log, with the function that calls it and the SDK\'s alternative',
    spec: {
      imports: [{ module: 'env', name: 'console.log', params: [I32] }],
      funcs: [...abiFuncs(), { ...ACL, body: [...i32c(0), 0x10, 0x00, ...i32c(1)] }],
    },
    expect: new RegExp('^import section: import env\\.console\\.log not allowed \\(called from acl_check\\): log with log\\(\\) or logAt\\(\\) ' +
      'from the SDK; allowed: ' + ALLOWED + '$'),
  },
  {
    name: 'a cacheable policy that reads the clock',
    spec: {
      imports: [{ module: 'env', name: 'Date.now', results: [F64] }],
      funcs: [...abiFuncs(), { ...ACL, body: [0x10, 0x00, 0x1a, ...i32c(1)] }, { results: [I32], body: i32c(1), export: 'wasm_auth_acl_cacheable' }],
    },
    expect: /^export section: exports wasm_auth_acl_cacheable but imports env\.Date\.now \(called from acl_check\), whose answer \(the time\) changes between calls; a cached decision would be wrong: remove the export or the import$/,
  },
  {
    name: 'an allowed import with the wrong signature',
    spec: { imports: [{ module: 'mosquitto', name: 'log', params: [I32, I32], results: [] }], funcs: [...abiFuncs(), ACL] },
    expect: /^import section, offset 0x[0-9a-f]+: import mosquitto\.log has type \(i32,i32\)->\(\) but the host provides \(i32,i32,i32\)->\(\)$/,
  },
  {
    name: 'an imported memory',
    spec: { importMemory: true, funcs: [...abiFuncs(), ACL] },
    expect: /import env\.memory: imported memories are not allowed \(the module must define its own \(asc --importMemory\)\)$/,
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
    expect: /^export section: no request hook exported \(need at least one of unpwd_check, acl_check, psk_key_get, on_message\)$/,
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

test('refuses a module above the size cap, in the plugin\'s words', () => {
  const bytes = buildModule({ funcs: [...abiFuncs(), ACL] });
  const msg = refusal(bytes, { maxModuleBytes: 100 });
  assert.equal(msg, `the module is ${bytes.length} bytes, above the cap of 100 (wasm_max_module_bytes)`);
  const gate = gateMessage(bytes, ['--max-module-bytes', '100']);
  if (gate !== null) assert.equal(msg, gate);
});

test('refuses bytes that are not a module, in the gate\'s words', () => {
  const cases: [Uint8Array, string][] = [
    [new Uint8Array([0, 0x61, 0x73, 0x6d, 2, 0, 0, 0]), 'header, offset 0x4: unknown binary version'],
    [new TextEncoder().encode('#!/bin/sh\necho hi\n'), 'header, offset 0x0: magic header not detected'],
  ];
  for (const [bytes, want] of cases) {
    const msg = refusal(bytes);
    assert.equal(msg, want);
    const gate = gateMessage(bytes);
    if (gate !== null) assert.equal(msg, gate);
  }
});

test('refuses instructions outside the gate\'s profile (SIMD), as the gate does', () => {
  // v128.const 0; drop: valid for V8, outside the plugin's feature profile.
  const simd = [0xfd, 0x0c, ...new Array(16).fill(0), 0x1a];
  const bytes = buildModule({ funcs: [...abiFuncs(), { ...ACL, body: [...simd, ...i32c(1)] }] });
  const msg = refusal(bytes);
  assert.match(msg, /^code section, function 2, offset 0x[0-9a-f]+: /);
  const gate = gateMessage(bytes);
  if (gate !== null) assert.equal(msg, gate);
});

test('refuses a module built for another ABI version', () => {
  // A constant version: the gate sees it (so wasm-auth-check does too) and says how to fix it.
  const constant = buildModule({ funcs: [...abiFuncs(2), ACL] });
  assert.equal(refusal(constant), 'built for ABI 2, this plugin speaks 1 (wasm_auth_abi_version returns 2: build with an SDK for ABI 1)');
  const gate = gateMessage(constant);
  if (gate !== null) assert.equal(refusal(constant), gate);
  // Computed: known only once called.
  const computed = buildModule({ funcs: [{ results: [I32], body: [...i32c(1), ...i32c(1), 0x6a], export: 'wasm_auth_abi_version' }, abiFuncs()[1], ACL] });
  assert.equal(refusal(computed), 'built for ABI 2, this plugin speaks 1 (wasm_auth_abi_version returns 2: build with an SDK for ABI 1)');
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

// What the plugin's runtime (wa-call) says when it refuses the same bytes while loading them,
// or null when wa-call is not built.
function pluginMessage(bytes: Uint8Array | string, opts: [string, string][] = []): string | null {
  let file = bytes;
  if (typeof file !== 'string') {
    file = join(tmp, `m${n++}.wasm`);
    writeFileSync(file, bytes);
  }
  const r = runBin(WA_CALL, [file, ...opts.flatMap(([k, v]) => ['--opt', `${k}=${v}`]), 'acl_check', 'c', 'u', 't', 'write']);
  if (r === null) return null;
  const prefix = `wasm-auth: cannot load policy ${file}: `;
  const line = r.stderr.split('\n').find((l) => l.startsWith(prefix));
  assert.ok(line !== undefined, `wa-call did not refuse the module: ${r.stderr}${r.stdout}`);
  return line.slice(prefix.length);
}

test('a start function that never ends runs out of its lifecycle fuel, as in the plugin', () => {
  const spin = { body: [0x03, 0x40, 0x0c, 0x00, 0x0b] }; // loop br 0 end
  const bytes = insertStart(buildModule({ funcs: [...abiFuncs(), ACL, spin] }), 3);
  const msg = refusal(bytes, { options: [['wasm_fuel', '1000']] });
  assert.match(msg, /^start function trapped: fuel exhausted \(wasm_init_fuel \d+ reached; raise plugin_opt_wasm_init_fuel\)$/);
  const plugin = pluginMessage(bytes, [['wasm_fuel', '1000']]);
  if (plugin !== null) assert.equal(msg, plugin);
});

test('a start function may call the host (log), as in the plugin', () => {
  // log(NOTICE, 16, 4): "hi" in UTF-16LE from a data segment.
  const start = { body: [...i32c(2), ...i32c(16), ...i32c(4), 0x10, 0x00] };
  const bytes = insertStart(buildModule({
    imports: [{ module: 'mosquitto', name: 'log', params: [I32, I32, I32] }],
    funcs: [...abiFuncs(), ACL, start],
    data: [{ offset: 16, bytes: [0x68, 0, 0x69, 0] }],
  }), 4);
  const logs: string[] = [];
  loadPolicy(bytes, { onLog: (_l, m) => logs.push(m) }).cleanup();
  assert.deepEqual(logs, ['hi']);
});

test('a data segment outside memory fails instantiation in wasm3\'s words', () => {
  const bytes = buildModule({ funcs: [...abiFuncs(), ACL], data: [{ offset: 65536 - 2, bytes: [1, 2, 3, 4] }] });
  const msg = refusal(bytes);
  assert.equal(msg, 'instantiating: data segment out of bounds');
  const plugin = pluginMessage(bytes);
  if (plugin !== null) assert.equal(msg, plugin);
});

// Inserts section `id` before the first section with a higher id (modules from buildModule
// have no custom sections, whose position would not follow that order).
function insertSection(bytes: Uint8Array, id: number, content: number[]): Uint8Array {
  let pos = 8;
  while (pos < bytes.length) {
    let size = 0;
    let shift = 0;
    let p = pos + 1;
    for (;;) {
      const b = bytes[p++];
      size |= (b & 0x7f) << shift;
      if (!(b & 0x80)) break;
      shift += 7;
    }
    if (bytes[pos] > id) break;
    pos = p + size;
  }
  return new Uint8Array([...bytes.subarray(0, pos), id, content.length, ...content, ...bytes.subarray(pos)]);
}

// Adds a start section naming function `func`.
function insertStart(bytes: Uint8Array, func: number): Uint8Array {
  return insertSection(bytes, 8, [func]);
}

test('an element segment outside the table fails instantiation in wasm3\'s words', () => {
  const bytes = insertSection(
    insertSection(buildModule({ funcs: [...abiFuncs(), ACL] }), 4, [1, 0x70, 0x00, 2]), // table of 2 funcref
    9, [1, 0x00, ...i32c(1), 0x0b, 2, 0, 1]); // elem (i32.const 1) 0 1: one past the end
  const msg = refusal(bytes);
  assert.equal(msg, 'instantiating: out of bounds table access');
  const plugin = pluginMessage(bytes);
  if (plugin !== null) assert.equal(msg, plugin);
});

test('accepts a minimal hand-made policy and uses its decision', () => {
  const policy = loadPolicy(buildModule({ funcs: [...abiFuncs(), ACL] }), { onLog: () => {} });
  assert.equal(policy.aclCheck({ clientid: 'c', username: null, topic: 't', access: 1 }), 'allow');
  assert.equal(policy.unpwdCheck('u', 'p'), 'defer', 'unexported hook: the plugin would not register it');
  policy.cleanup();
});

test('reads module files as the plugin does, with its messages', () => {
  const bytes = buildModule({ funcs: [...abiFuncs(), ACL] });
  const file = join(tmp, 'read.wasm');
  writeFileSync(file, bytes);
  assert.deepEqual(readModuleFile(file, bytes.length), bytes);
  const cases: [string, number, string][] = [
    [file, bytes.length - 1, `the module is ${bytes.length} bytes, above the cap of ${bytes.length - 1} (wasm_max_module_bytes)`],
    [tmp, 1000, 'not a regular file'],
    [join(tmp, 'absent.wasm'), 1000, 'No such file or directory'],
  ];
  for (const [path, cap, want] of cases) {
    assert.throws(() => readModuleFile(path, cap), (e: unknown) => e instanceof Error && e.message === want);
    const plugin = pluginMessage(path, [['wasm_max_module_bytes', String(cap)]]);
    if (plugin !== null) assert.equal(plugin, want);
  }
});

// The gate's counts that options lower (plugin_opt_wasm_max_table_elems, _functions, _globals,
// _data_bytes): the same refusal from the option, from the LoadOptions field, from wa-call given
// the option and from wasm-auth-check given the flag.
test('options lower the table, function, global and data caps, with the plugin\'s words', () => {
  const base = { funcs: [...abiFuncs(), ACL], memory: { min: 1 } };
  const withData = buildModule({ ...base, data: [{ offset: 0, bytes: [1, 2, 3, 4, 5] }] });
  const nfuncs = base.funcs.length;
  const cases: { option: string; field: string; flag: string; cap: number; bytes: Uint8Array; want: RegExp }[] = [
    {
      option: 'wasm_max_table_elems', field: 'maxTableElems', flag: '--max-table-elems', cap: 1,
      bytes: insertSection(buildModule(base), 4, [1, 0x70, 0x00, 2]), // table of 2 funcref
      want: /^table section, offset 0x[0-9a-f]+: table of 2 elements exceeds the cap of 1 \(wasm_max_table_elems\)$/,
    },
    {
      option: 'wasm_max_functions', field: 'maxFunctions', flag: '--max-functions', cap: nfuncs - 1,
      bytes: buildModule(base),
      want: new RegExp(`^function section: ${nfuncs} functions exceed the cap of ${nfuncs - 1} \\(wasm_max_functions\\)$`),
    },
    {
      option: 'wasm_max_globals', field: 'maxGlobals', flag: '--max-globals', cap: 1,
      // two immutable i32 globals initialised to 0
      bytes: insertSection(buildModule(base), 6, [2, 0x7f, 0x00, ...i32c(0), 0x0b, 0x7f, 0x00, ...i32c(0), 0x0b]),
      want: /^global section: 2 globals exceed the cap of 1 \(wasm_max_globals\)$/,
    },
    {
      option: 'wasm_max_data_bytes', field: 'maxDataBytes', flag: '--max-data-bytes', cap: 4,
      bytes: withData,
      want: /^data section: 5 bytes of data segments exceed the cap of 4 \(wasm_max_data_bytes\)$/,
    },
  ];
  for (const c of cases) {
    // Accepted at the default caps: the lowered cap is what refuses it.
    loadPolicy(c.bytes, { onLog: () => {} }).cleanup();
    const msg = refusal(c.bytes, { options: [[c.option, String(c.cap)]] });
    assert.match(msg, c.want, c.option);
    assert.equal(refusal(c.bytes, { [c.field]: c.cap }), msg, `${c.field} and ${c.option} disagree`);
    const gate = gateMessage(c.bytes, [c.flag, String(c.cap)]);
    if (gate !== null) assert.equal(msg, gate, `wasm-auth-check ${c.flag} disagrees`);
    const plugin = pluginMessage(c.bytes, [[c.option, String(c.cap)]]);
    if (plugin !== null) assert.equal(msg, plugin, `wa-call --opt ${c.option} disagrees`);
  }
});

test('the gate cap options are validated as in the plugin', () => {
  const bytes = buildModule({ funcs: [...abiFuncs(), ACL] });
  const cases: [string, string, string][] = [
    ['wasm_max_table_elems', '10000001', 'option wasm_max_table_elems: "10000001" is not a whole number from 0 to 10000000'],
    ['wasm_max_functions', '0', 'option wasm_max_functions: "0" is not a whole number from 1 to 1000000'],
    ['wasm_max_globals', 'x', 'option wasm_max_globals: "x" is not a whole number from 0 to 1000000'],
    ['wasm_max_data_bytes', '1073741825', 'option wasm_max_data_bytes: "1073741825" is not a whole number from 0 to 1073741824'],
  ];
  for (const [option, value, want] of cases) {
    assert.equal(refusal(bytes, { options: [[option, value]] }), want);
  }
});

test('a malformed name section is ignored, as the spec says, by both hosts', (t) => {
  const good = buildModule({ funcs: [...abiFuncs(), ACL] });
  // Custom section "name", function-names subsection claiming more bytes than it has.
  const custom = [0x04, ...Buffer.from('name'), 0x01, 0x7f, 0x01, 0x02, 0x02, 0xff, 0xfe];
  const bytes = new Uint8Array([...good, 0x00, custom.length, ...custom]);
  const policy = loadPolicy(bytes, { onLog: () => {} });
  assert.equal(policy.aclCheck({ clientid: 'c', username: 'u', topic: 't', access: 1 }), 'allow');
  policy.cleanup();
  const file = join(tmp, `m${n++}.wasm`);
  writeFileSync(file, bytes);
  const r = runBin(WA_CALL, [file, 'acl_check', 'c', 'u', 't', 'read']);
  if (r === null) {
    t.skip(`no ${WA_CALL}`);
    return;
  }
  assert.deepEqual([r.status, r.stdout], [0, 'allow\n'], r.stderr);
});
