// The Node host against the plugin's own sources and binaries: wa_limits.h and abi.c hold the same
// numbers and tables; gate.wasm meters byte-for-byte as the native gate (wasm-auth-check
// --meter); the CLI prints what wa-call prints for the same calls. Binary comparisons skip, visibly, when the C
// side is not built.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { pbkdf2Sync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as limits from '../limits.js';
import { HOOKS, IMPORTS } from '../abi.js';
import { meter, meterModule } from '../gate.js';
import { main as cli } from '../cli.js';
import { CHECK_BIN, CLI_JS, FIXTURES, ROOT, WA_CALL, fixture, runBin } from './helpers.js';

// The CLI run in-process (one Node start per call would dominate the test time).
function runCli(args: string[], input = ''): { status: number; stdout: string; stderr: string } {
  let stdout = '';
  let stderr = '';
  const status = cli(['call', ...args], { stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; }, stdin: () => input });
  return { status, stdout, stderr };
}

const tmp = mkdtempSync(join(tmpdir(), 'wa-parity-'));
// Files the `full` fixture streams in plugin_init (stream_file, option_file_read_at).
const STREAM = join(tmp, 'stream.txt');
writeFileSync(STREAM, 'first line\r\n\nthird line, longer than one chunk\nlast');
const STREAM_LONG = join(tmp, 'stream-long.txt');
writeFileSync(STREAM_LONG, 'ok\n' + 'x'.repeat(65) + '\n');

test('limits.ts holds the values of plugin-c/runtime/wa_limits.h (and abi.h\'s WA_ABI_VERSION)', () => {
  const header = ['wa_limits.h', 'abi.h'].map((h) => readFileSync(join(ROOT, 'plugin-c/runtime', h), 'utf8')).join('\n');
  const defines = new Map<string, number>();
  for (const m of header.matchAll(/^#define\s+(WA_\w+)\s+(.+?)\s*(?:\/\*.*)?$/gm)) {
    // Values are integer expressions such as (8u * 1024u * 1024u).
    const expr = m[2].replace(/(\d+)u\b/g, '$1');
    if (/^[\d\s()*+]+$/.test(expr)) defines.set(m[1], Function(`return (${expr});`)() as number);
  }
  for (const [name, value] of Object.entries(limits)) {
    assert.ok(defines.has(name), `${name} is not in wa_limits.h or abi.h`);
    assert.equal(value, defines.get(name), name);
  }
});

test('abi.ts holds the hook and import tables of plugin-c/runtime/abi.c', () => {
  const src = readFileSync(join(ROOT, 'plugin-c/runtime/abi.c'), 'utf8');
  const hooks = [...src.matchAll(/\{\s*"(\w+)",\s*\{([^}]*)\},\s*(\d)\s*\}/g)].map((m) => ({
    name: m[1],
    signatures: [...m[2].matchAll(/"([^"]+)"/g)].map((s) => s[1]),
    isRequest: m[3] === '1',
  }));
  assert.deepEqual(hooks, HOOKS.map((h) => ({ ...h, signatures: [...h.signatures] })));
  const imports = [...src.matchAll(/\{\s*"(\w+)",\s*"([\w.]+)",\s*"([^"]+)",\s*(?:NULL|"[^"]*")\s*\}/g)].map((m) => ({ module: m[1], name: m[2], signature: m[3] }));
  assert.deepEqual(imports, [...IMPORTS]);
});

test('metering is byte-for-byte the gate\'s', (t) => {
  let compared = 0;
  for (const name of ['full', 'short', 'v2', 'topicmatch']) {
    const file = join(FIXTURES, `${name}.wasm`);
    const out = join(tmp, `${name}.metered.wasm`);
    const r = runBin(CHECK_BIN, ['--meter', out, file]);
    if (r === null) {
      t.skip(`no ${CHECK_BIN}`);
      return;
    }
    assert.equal(r.status, 0, r.stderr);
    // gate.wasm (what the Node host runs) and the native gate: the same C, two compilers.
    const mine = meterModule(fixture(name));
    assert.deepEqual(Buffer.from(mine), readFileSync(out), name);
    compared++;
  }
  assert.equal(compared, 4);
});

// [hook args...] run through both hosts with the same options.
const CALLS: string[][] = [
  ['acl_check', 'c1', 'bob', 'allow/x', 'write'],
  ['acl_check', 'c1', 'bob', 'deny/x', 'read'],
  ['acl_check', 'c1', 'bob', 'defer/x', 'subscribe'],
  ['acl_check', 'c1', 'bob', 'trap', 'write'],
  ['acl_check', 'c1', 'bob', 'bad', 'write'],
  ['acl_check', 'c1', 'bob', 'abort', 'write'],
  ['acl_check', 'c1', 'bob', 'loop', 'write'],
  ['acl_check', 'c1', 'bob', 'badptr', 'write'],
  ['acl_check', 'c1', '@null', 'user/@null', 'write'],
  ['acl_check', 'c1', 'bob', 'access/8', 'unsubscribe'],
  ['acl_check', 'c1', 'bob', 'payload/hi', 'write', 'hi', '1', '1'],
  ['acl_check', 'c1', 'bob', 'qos/2/1', 'write', 'x', '2', '1'],
  ['acl_check', 'c1', 'bob', 'client/c1/@null/0', 'write'],
  ['acl_check', 'c1', 'bob', 'pattern/bob/c1', 'write'],
  ['acl_check', 'c1', 'b+b', 'pattern/b+b/c1', 'write'],
  ['acl_check', 'c1', 'bob', 'hostmatch/a/x', 'write'],
  ['acl_check', 'c1', 'bob', 'hostmatch/a/y', 'write'],
  ['acl_check', 'c1', 'bob', 'memgrow/1', 'write'],
  ['acl_check', 'c1', 'bob', 'memgrow/300', 'write'],
  ['acl_check', 'c1', 'bob', 'fill/65536/4', 'write'],
  ['--opt', 'wasm_fuel=100000', 'acl_check', 'c1', 'bob', 'fill/1048576/3', 'write'],
  ['unpwd_check', '@null', '@null'],
  ['unpwd_check', 'trap', 'x'],
  ['unpwd_check', 'nopass', '@null'],
  ['unpwd_check', 'nopass', ''],
  ['psk_key_get', 'key', 'c0ffee'],
  ['psk_key_get', 'key', 'not-hex'],
  ['psk_key_get', 'none', 'x'],
  ['psk_key_get', 'badptr', 'x'],
  ['--client-id', 'id9', '--address', '192.0.2.1', '--protocol', '5', 'acl_check', 'c1', 'bob', 'client/id9/192.0.2.1/5', 'read'],
  ['--opt', 'wasm_on_error=defer', 'acl_check', 'c1', 'bob', 'trap', 'write'],
  ['--opt', 'wasm_on_error=defer', 'psk_key_get', 'trap', 'x'],
  ['--opt', 'wasm_fuel=1000', 'acl_check', 'c1', 'bob', 'loop', 'write'],
  ['--opt', 'wasm_max_payload=3', 'acl_check', 'c1', 'bob', 'payload/abcd', 'write', 'abcd'],
  ['--opt', 'other=1', 'acl_check', 'c1', 'bob', 'options/2/-1', 'write'],
  // Cleanup hooks run under wasm_fuel (too little here for security_cleanup), not wasm_init_fuel.
  ['--opt', 'wasm_fuel=1000', 'unpwd_check', '@null', '@null'],
  ['--opt', 'wasm_fuel=1000', '--opt', 'wasm_init_fuel=100000000', 'unpwd_check', '@null', '@null'],
  ['--opt', 'wasm_on_error=defer', 'unpwd_check', '@null', 'x'.repeat(70000)],
  ['--opt', 'wasm_on_error=defer', 'unpwd_check', '@empty', 'x'.repeat(70000)],
  // Option files that cannot be read: the result and the warning naming key, path and reason.
  ['--opt', 'users_file=/nonexistent/users', 'acl_check', 'c1', 'bob', 'options/1/-1', 'write'],
  ['--opt', 'users_file=/tmp', 'acl_check', 'c1', 'bob', 'options/1/-1', 'write'],
  ['--opt', 'users_file=', 'acl_check', 'c1', 'bob', 'options/1/-1', 'write'],
  ['--opt', `users_file=/${'\u00e9'.repeat(200)}\u009b`, 'acl_check', 'c1', 'bob', 'options/1/-1', 'write'],
  ['--opt', 'require_file=/nonexistent/required', 'acl_check', 'c1', 'bob', 'allow/x', 'write'],
  ['acl_check', 'c1', 'bob', 'optfile', 'write'],
  // Option files streamed in chunks (option_file_read_at): lines, refusals, a line too long.
  ['--opt', `stream_file=${STREAM}`, 'acl_check', 'c1', 'bob', 'stream/4/48', 'write'],
  ['--opt', `stream_file=${STREAM}`, '--opt', 'stream_chunk=1', 'acl_check', 'c1', 'bob', 'stream/4/48', 'write'],
  ['--opt', `stream_file=${STREAM_LONG}`, 'acl_check', 'c1', 'bob', 'stream/-1/-1', 'write'],
  ['--opt', 'stream_file=/nonexistent/stream', 'acl_check', 'c1', 'bob', 'stream/-1/-1', 'write'],
  ['--opt', 'stream_file=/tmp', 'acl_check', 'c1', 'bob', 'stream/-1/-1', 'write'],
  // Guest text with C1 (U+009B CSI, U+0085 NEL) and bidi (U+202E, U+2066) controls, and é.
  ['acl_check', 'c1', 'bob', 'log/\u00e9\u009b31m\u202ex\u2066\u0085!', 'write'],
];

// Whole logs compared, failure lines included: their reasons and the limit they name.
const EXACT_CALLS: string[][] = [
  ['--opt', 'wasm_fuel=100000', 'acl_check', 'c1', 'bob', 'loop', 'write'],
  ['--opt', 'wasm_max_memory_pages=19', 'acl_check', 'c1', 'bob', 'grow', 'write'],
  ['--opt', 'wasm_max_memory_pages=18', 'acl_check', 'c1', 'bob', 'grow', 'write'],
  ['--opt', 'wasm_on_error=defer', 'unpwd_check', '@null', 'x'.repeat(70000)],
  ['--opt', 'wasm_on_error=defer', 'unpwd_check', 'trap', 'x'],
  ['acl_check', 'c1', 'bob', 'trap', 'write'],
];

test('the CLI prints what wa-call prints', (t) => {
  const wasm = join(FIXTURES, 'full.wasm');
  let compared = 0;
  for (const call of CALLS) {
    // Options come before the hook in both tools; the policy path comes first.
    const c = runBin(WA_CALL, [wasm, ...call]);
    if (c === null) {
      t.skip(`no ${WA_CALL}`);
      return;
    }
    const n = runCli([wasm, ...call]);
    assert.equal(n.status, c.status, `exit status of ${call.join(' ')}: ${n.stderr}`);
    assert.equal(n.stdout, c.stdout, call.join(' '));
    // Same log lines too, except the wording of traps, which comes from each engine.
    const lines = (s: string): string[] => s.split('\n').filter((l) => l && !/failed, request/.test(l));
    assert.deepEqual(lines(n.stderr), lines(c.stderr), `log of ${call.join(' ')}`);
    compared++;
  }
  assert.equal(compared, CALLS.length);
});

test('failures name the same limit in both hosts', (t) => {
  const wasm = join(FIXTURES, 'full.wasm');
  for (const call of EXACT_CALLS) {
    const c = runBin(WA_CALL, [wasm, ...call]);
    if (c === null) {
      t.skip(`no ${WA_CALL}`);
      return;
    }
    const n = runCli([wasm, ...call]);
    const name = call.join(' ').slice(0, 120);
    assert.equal(n.status, c.status, name);
    assert.equal(n.stdout, c.stdout, name);
    assert.equal(n.stderr, c.stderr, name);
  }
});

// Requests against one loaded policy (--batch): restore after failures, reloads, rate limits.
const BATCHES: { opts: string[]; input: string[] }[] = [
  {
    opts: [],
    input: [
      'acl_check c1 bob count/1 write', 'acl_check c1 bob count/2 write', 'acl_check c1 bob trap write',
      'acl_check c1 bob count/1 write', 'acl_check c1 bob count/2 write', 'acl_check c1 bob bad write',
      'acl_check c1 bob count/1 write', 'psk_key_get badptr x', 'psk_key_get key c0ffee', 'unpwd_check @null @null',
      'reload', 'acl_check c1 bob count/1 write', 'acl_check c1 bob trap write', 'acl_check c1 bob count/1 write',
      'acl_check c1 bob options/1/-1 write', 'bogus x', 'acl_check c1 bob allow/x sometimes', 'reload',
    ],
  },
  {
    opts: ['--opt', 'wasm_fuel=100000', '--opt', 'wasm_max_memory_pages=19', '--opt', 'wasm_on_error=defer'],
    input: [
      'acl_check c1 bob loop write', 'acl_check c1 bob allow/x write', 'reload', 'acl_check c1 bob grow write',
      'acl_check c1 bob allow/x write', 'reload', 'unpwd_check trap x', 'reload', 'unpwd_check @null @null',
    ],
  },
  {
    opts: ['--opt', 'refuse_reload=1'],
    input: ['acl_check c1 bob count/1 write', 'reload', 'acl_check c1 bob count/2 write', 'acl_check c1 bob trap write', 'acl_check c1 bob count/1 write'],
  },
];

/**
 * One batch through wa-call and the Node host: the same status, stdout and stderr (asserted).
 * The Node host's output, or null (the test skipped) without wa-call.
 */
function sameBatch(t: { skip(message?: string): void }, wasm: string, opts: string[], input: string[]): { stdout: string; stderr: string } | null {
  const text = input.join('\n') + '\n';
  const c = runBin(WA_CALL, [wasm, ...opts, '--batch'], text);
  if (c === null) {
    t.skip(`no ${WA_CALL}`);
    return null;
  }
  const n = runCli([wasm, ...opts, '--batch'], text);
  const name = [...opts, ...input].join(' ');
  assert.equal(n.status, c.status, name);
  assert.equal(n.stdout, c.stdout, name);
  assert.equal(n.stderr, c.stderr, name);
  return n;
}

test('a batch of requests prints the same in both hosts', (t) => {
  const wasm = join(FIXTURES, 'full.wasm');
  for (const { opts, input } of BATCHES) {
    if (sameBatch(t, wasm, opts, input) === null) return;
  }
});

// The smallest budget with which `call` gives its unlimited result (found with the Node host),
// and both hosts compared at that budget, one unit below it, and the same around the host-paid
// entry of acl_check. Returns that budget, or null when wa-call is not built (skipped).
function fuelBoundary(t: { skip(msg: string): void }, call: string[]): number | null {
  const wasm = join(FIXTURES, 'full.wasm');
  const run = (fuel: number) => runCli([wasm, '--opt', `wasm_fuel=${fuel}`, ...call]);
  // acl_check is entered only by the host: its entry charge is the host's to pay.
  const entry = meter(fixture('full')).hookEntryFuel.acl_check;
  assert.ok(entry !== undefined && entry > 1, `acl_check has a host-paid entry (${entry})`);
  const enough = run(1e9);
  assert.equal(enough.status, 0, enough.stderr);
  // The smallest budget that gives the unlimited result: every smaller one runs out.
  let lo = 1;
  let hi = 1e9;
  assert.notEqual(run(lo).stdout, enough.stdout);
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (run(mid).stdout === enough.stdout) hi = mid;
    else lo = mid;
  }
  assert.ok(hi > entry, `the call needs more (${hi}) than its entry (${entry})`);
  let compared = 0;
  for (const fuel of [entry - 1, entry, hi - 1, hi]) {
    const c = runBin(WA_CALL, [wasm, '--opt', `wasm_fuel=${fuel}`, ...call]);
    if (c === null) {
      t.skip(`no ${WA_CALL}`);
      return null;
    }
    const n = run(fuel);
    assert.equal(n.status, c.status, `exit status with fuel ${fuel}: ${n.stderr}`);
    assert.equal(n.stdout, c.stdout, `fuel ${fuel}`);
    assert.equal(n.stderr, c.stderr, `log with fuel ${fuel}`);
    if (fuel < hi) assert.match(c.stderr, /fuel exhausted/, `fuel ${fuel}`);
    compared++;
  }
  assert.equal(compared, 4);
  return hi;
}

test('both hosts run out of fuel at the same budget, host-paid hook entries included', (t) => {
  fuelBoundary(t, ['acl_check', 'c1', 'bob', 'pattern/bob/c1', 'write']);
});

test('both hosts run out of fuel at the same budget in bulk memory instructions', (t) => {
  // fill/N/K: memory.fill of a new N-byte buffer, K more, and one memory.copy of N - 1 bytes,
  // priced per byte at run time (gate.h WA_FUEL_BYTE_SHIFT).
  const n = 1 << 20;
  const small = fuelBoundary(t, ['acl_check', 'c1', 'bob', `fill/${n}/1`, 'write']);
  const large = fuelBoundary(t, ['acl_check', 'c1', 'bob', `fill/${n}/3`, 'write']);
  if (small === null || large === null) return;
  // Two more fills of N bytes: 2 * N / 32 more fuel, give or take the loop's few instructions.
  const extra = large - small;
  assert.ok(extra >= (2 * n) / 32 && extra < (2 * n) / 32 + 200, `two more 1 MiB fills cost ${extra}`);
  assert.ok(small > (2 * n) / 32, `a 1 MiB buffer, filled and copied, costs ${small}`);
});

// A users_file (user:hash) for the `full` fixture, hashes made with OpenSSL directly.
function usersFile(name: string, iterations: number): string {
  const salt = new Uint8Array(Buffer.from('0123456789ab'));
  const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
  const dk = new Uint8Array(pbkdf2Sync('secret', salt, iterations, 64, 'sha512'));
  const file = join(tmp, name);
  writeFileSync(file, `alice:$7$${iterations}$${b64(salt)}$${b64(dk)}\n`);
  return file;
}

// tests/fixtures/argon2id.txt: "minimal" (password "x") and "over-lanes" (password "secret").
const A2_MIN = '$argon2id$v=19$m=8,t=1,p=1$bWluaW1hbC1zYWx0$5DlURA';
const A2_OVER_LANES = '$argon2id$v=19$m=72,t=1,p=9$bGFuZXNjYXAtc2FsdC0xNg$2Gb2DZvtXBMK5Bfe66DFJBq3fuNPNU2DUQzhkX7R1tw';

function argon2Users(name: string, hash: string): string {
  const file = join(tmp, name);
  writeFileSync(file, `alice:${hash}\n`);
  return file;
}

test('both hosts charge host calls the same: the same fuel boundary inside them', (t) => {
  const wasm = join(FIXTURES, 'full.wasm');
  const users = usersFile('users-101', 101);
  const cases: { call: string[]; atLeast: number }[] = [
    { call: ['acl_check', 'c1', 'bob', 'hostmatch/a/x', 'write'], atLeast: limits.WA_FUEL_HOST_CALL },
    { call: ['acl_check', 'c1', 'bob', 'log/hello', 'write'], atLeast: limits.WA_FUEL_LOG_LINE },
    { call: ['--client-id', 'id9', '--address', '192.0.2.1', '--protocol', '5', 'acl_check', 'c1', 'bob', 'client/id9/192.0.2.1/5', 'read'],
      atLeast: 3 * limits.WA_FUEL_HOST_CALL },
    // pw_verify with mosquitto_passwd's default 101 iterations: the PBKDF2 price dominates.
    { call: ['--opt', `users_file=${users}`, 'unpwd_check', 'alice', 'secret'],
      atLeast: limits.WA_FUEL_PW_VERIFY + limits.WA_FUEL_PBKDF2 + 101 * limits.WA_FUEL_PBKDF2_ITERATION },
    // pw_verify of an $argon2id$ hash (m=8: cheap to compute, the price is still its own).
    { call: ['--opt', `users_file=${argon2Users('users-argon2-min', A2_MIN)}`, 'unpwd_check', 'alice', 'x'],
      atLeast: limits.WA_FUEL_PW_VERIFY + limits.WA_FUEL_ARGON2 + 8 * limits.WA_FUEL_ARGON2_KIB },
  ];
  let compared = 0;
  for (const { call, atLeast } of cases) {
    const run = (fuel: number) => runCli([wasm, '--opt', `wasm_fuel=${fuel}`, ...call]);
    const enough = run(1e9);
    assert.equal(enough.status, 0, enough.stderr);
    assert.match(enough.stdout, /^allow\n$/, call.join(' '));
    let lo = 1;
    let hi = 1e9;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (run(mid).stdout === enough.stdout) hi = mid;
      else lo = mid;
    }
    assert.ok(hi > atLeast, `${call.join(' ')} needs ${hi}, more than its host calls' ${atLeast}`);
    for (const fuel of [hi - 1, hi]) {
      const c = runBin(WA_CALL, [wasm, '--opt', `wasm_fuel=${fuel}`, ...call]);
      if (c === null) {
        t.skip(`no ${WA_CALL}`);
        return;
      }
      const n = run(fuel);
      assert.equal(n.status, c.status, `exit status with fuel ${fuel}: ${n.stderr}`);
      assert.equal(n.stdout, c.stdout, `${call.join(' ')}, fuel ${fuel}`);
      assert.equal(n.stderr, c.stderr, `log of ${call.join(' ')}, fuel ${fuel}`);
      if (fuel < hi) assert.match(c.stderr, /fuel exhausted/);
    }
    compared++;
  }
  assert.equal(compared, cases.length);
});

test('both hosts charge option_file_read_at the same: the same init fuel boundary', (t) => {
  // plugin_init streams the file in 7-byte chunks: one open, then every chunk's bytes.
  const wasm = join(FIXTURES, 'full.wasm');
  const call = ['--opt', `stream_file=${STREAM}`, 'acl_check', 'c1', 'bob', 'stream/4/48', 'write'];
  const run = (fuel: number) => runCli([wasm, '--opt', `wasm_init_fuel=${fuel}`, ...call]);
  assert.equal(run(1e9).stdout, 'allow\n', run(1e9).stderr);
  let lo = 1;
  let hi = 1e9;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (run(mid).stdout === 'allow\n') hi = mid;
    else lo = mid;
  }
  assert.ok(hi > limits.WA_FUEL_OPEN_FILE + 7 * limits.WA_FUEL_HOST_CALL, `plugin_init needs ${hi}`);
  for (const fuel of [hi - 1, hi]) {
    const c = runBin(WA_CALL, [wasm, '--opt', `wasm_init_fuel=${fuel}`, ...call]);
    if (c === null) {
      t.skip(`no ${WA_CALL}`);
      return;
    }
    const n = run(fuel);
    assert.equal(n.status, c.status, `exit status with init fuel ${fuel}: ${n.stderr}`);
    assert.equal(n.stdout, c.stdout, `init fuel ${fuel}`);
    assert.equal(n.stderr, c.stderr, `log with init fuel ${fuel}`);
    if (fuel < hi) assert.match(c.stderr, /fuel exhausted/);
  }
});

test('a hash above the iteration cap: no match and the same warning in both hosts', (t) => {
  const wasm = join(FIXTURES, 'full.wasm');
  const args = [wasm, '--opt', `users_file=${usersFile('users-above', limits.WA_MAX_PW_ITERATIONS + 1)}`, 'unpwd_check', 'alice', 'secret'];
  const c = runBin(WA_CALL, args);
  const n = runCli(args);
  assert.equal(n.stdout, 'deny\n', 'the right password does not match');
  assert.ok(n.stderr.includes(`wasm-auth: pw_verify: a $7$ hash asks for ${limits.WA_MAX_PW_ITERATIONS + 1} PBKDF2 iterations, `
    + `above the cap of ${limits.WA_MAX_PW_ITERATIONS} (WA_MAX_PW_ITERATIONS): no match\n`), n.stderr);
  if (c === null) {
    t.skip(`no ${WA_CALL}`);
    return;
  }
  assert.equal(n.status, c.status);
  assert.equal(n.stdout, c.stdout);
  assert.equal(n.stderr, c.stderr);
});

test('load errors look the same in the CLI and wa-call', (t) => {
  const bad = join(tmp, 'bad.wasm');
  writeFileSync(bad, new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
  const full = join(FIXTURES, 'full.wasm');
  const cases: string[][] = [
    [bad, 'acl_check', 'a', 'b', 'c', 'read'],
    [join(tmp, 'missing.wasm'), 'acl_check', 'a', 'b', 'c', 'read'],
    [tmp, 'acl_check', 'a', 'b', 'c', 'read'],
    [full, '--opt', 'wasm_max_module_bytes=1000', 'acl_check', 'a', 'b', 'c', 'read'],
    [full, '--opt', 'wasm_on_error=maybe', 'acl_check', 'a', 'b', 'c', 'read'],
    [full, '--opt', 'wasm_fuel=0', 'acl_check', 'a', 'b', 'c', 'read'],
    [full, '--opt', 'wasm_max_memory_pages=-1', 'acl_check', 'a', 'b', 'c', 'read'],
    [full, '--opt', 'wasm_timeout_ms=9999999', 'acl_check', 'a', 'b', 'c', 'read'],
    [full, '--opt', 'wasm_init_fuel=0', 'acl_check', 'a', 'b', 'c', 'read'],
    [full, '--opt', 'wasm_init_fuel=1', 'acl_check', 'a', 'b', 'c', 'read'],
    [full, '--opt', 'wasm_fuel=30', 'acl_check', 'a', 'b', 'c', 'read'],
    [full, '--opt', 'wasm_init_timeout_ms=3600001', 'acl_check', 'a', 'b', 'c', 'read'],
    [full, '--opt', 'wasm_client_share=x', 'acl_check', 'a', 'b', 'c', 'read'],
    [full, '--opt', 'wasm_cpu_share=0', 'acl_check', 'a', 'b', 'c', 'read'],
    [full, '--opt', 'wasm_cpu_share=101', 'acl_check', 'a', 'b', 'c', 'read'],
    [full, '--opt', 'wasm_acl_cache=maybe', 'acl_check', 'a', 'b', 'c', 'read'],
    [full, '--opt', 'trap_security=1', 'acl_check', 'a', 'b', 'c', 'read'],
    [full, '--batch', 'acl_check', 'a', 'b', 'c', 'read'],
    [full, '--opt', 'refuse_init=1', 'acl_check', 'a', 'b', 'c', 'read'],
    [full, '--opt', 'refuse_security=1', 'acl_check', 'a', 'b', 'c', 'read'],
    [full, 'unknown_hook', 'x'],
    [full, 'acl_check', 'a', 'b', 'c', 'sometimes'],
  ];
  for (const args of cases) {
    const c = runBin(WA_CALL, args);
    if (c === null) {
      t.skip(`no ${WA_CALL}`);
      return;
    }
    const n = runCli(args);
    assert.equal(n.status, c.status, args.join(' '));
    assert.equal(n.stdout, c.stdout, args.join(' '));
    assert.equal(n.stderr, c.stderr, args.join(' '));
  }
  // Once through the real entry point: node cli.js.
  const r = runBin(process.execPath, [CLI_JS, 'call', bad, 'acl_check', 'a', 'b', 'c', 'read'])!;
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^wasm-auth: cannot load policy .*bad\.wasm: export section: the module must export its memory as "memory"\n$/);
  const ok = runBin(process.execPath, [CLI_JS, 'call', full, 'acl_check', 'a', 'b', 'allow/x', 'read'])!;
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(ok.stdout, 'allow\n');
});

// Events and deferred actions (fixtures/events.ts) in both hosts: the actions queued, the
// refusals' results and warnings word for word, a failed hook's actions dropped. (Storms are
// left out: where a rate limit cuts depends on the milliseconds each host takes.)
const EVENT_BATCHES: { opts: string[]; input: string[] }[] = [
  {
    opts: ['--opt', 'wasm_publish_prefix=ev/', '--opt', 'wasm_max_payload=4'],
    input: [
      'on_tick', 'on_disconnect c1 @null', 'on_disconnect c2 alice', 'acl_check victim bob kick write',
      'acl_check c mallory kickuser write', 'acl_check c bob kickempty write', 'actions',
      'acl_check c bob pub/ev write', 'acl_check c bob pub/ev/a/b write', 'acl_check c bob pub/evx write',
      'acl_check c bob pub/ev/+ write', 'acl_check c bob qos/3/ev/q write', 'acl_check c bob qos/2/ev/q write',
      'acl_check c bob bytes/ev/b write', 'actions',
      'acl_check c bob trap write', 'on_disconnect trapper @null', 'on_tick', 'actions',
      'session_check c1 alice', 'session_check c2 revoked', 'session_check c3 trap', 'session_check c4 @null',
    ],
  },
  { opts: [], input: ['acl_check c bob pub/ev/x write', 'on_tick', 'actions'] },
];

test('events and deferred actions print the same in both hosts', (t) => {
  const wasm = join(FIXTURES, 'events.wasm');
  for (const { opts, input } of EVENT_BATCHES) {
    const n = sameBatch(t, wasm, opts, input);
    if (n === null) return;
    // Something was queued where a prefix is set; nothing where it is not.
    if (opts.length) assert.match(n.stdout, /kick_client:victim.*\n(.|\n)*publish:ev\/tick/);
    else assert.match(n.stderr, /plugin_opt_wasm_publish_prefix is not set/);
  }
});

test('argon2id: the same answers and the same cap warning in both hosts', (t) => {
  const wasm = join(FIXTURES, 'full.wasm');
  const cases: [string, string, string, string][] = [
    [A2_MIN, 'x', 'allow\n', ''],
    [A2_MIN, 'y', 'deny\n', ''],
    [A2_OVER_LANES, 'secret', 'deny\n',
      'wasm-auth: pw_verify: an $argon2id$ hash asks for 9 lanes, above the cap of 8 (WA_MAX_PW_ARGON2_LANES): no match\n'],
  ];
  for (const [i, [hash, pw, out, warning]] of cases.entries()) {
    const args = [wasm, '--opt', `users_file=${argon2Users(`users-argon2-${i}`, hash)}`, 'unpwd_check', 'alice', pw];
    const n = runCli(args);
    assert.equal(n.stdout, out, `${hash} with ${pw}: ${n.stderr}`);
    assert.ok(n.stderr.includes(warning), n.stderr);
    const c = runBin(WA_CALL, args);
    if (c === null) {
      t.skip(`no ${WA_CALL}`);
      return;
    }
    assert.equal(n.status, c.status);
    assert.equal(n.stdout, c.stdout);
    assert.equal(n.stderr, c.stderr);
  }
});

// Enhanced authentication and the SHA-256 imports (fixtures/extauth.ts) in both hosts: answers,
// AUTH data out, refusals and failures word for word.
const EXT_AUTH_BATCH = [
  'ext_auth_start c1 M echo/server-first', 'ext_auth_continue c1 M allow/v=sig', 'ext_auth_start c1 M deny/secret',
  'ext_auth_start c1 M defer', 'ext_auth_start c1 M trap', 'ext_auth_continue c1 M bad', 'ext_auth_start c1 M badptr',
  'ext_auth_start c1 M pbadptr', 'ext_auth_start c1 M sha/abc', 'ext_auth_start c1 M hmac/Jefe/what',
  'ext_auth_start c1 M pbkdf2/passwd/salt/1', 'ext_auth_start c1 M pbkdf2/p/s/0', 'ext_auth_start c1 M pbkdf2/p/s/20001',
  'ext_auth_start c1 M big', 'ext_auth_continue c1 @empty echo/x', 'acl_check c1 bob t write',
];

test('enhanced authentication and the SHA-256 imports print the same in both hosts', (t) => {
  const wasm = join(FIXTURES, 'extauth.wasm');
  for (const opts of [[], ['--opt', 'wasm_on_error=defer'], ['--opt', 'wasm_fuel=20000']]) {
    const n = sameBatch(t, wasm, opts, EXT_AUTH_BATCH);
    if (n === null) return;
    if (opts.length === 0) {
      const lines = n.stdout.split('\n');
      assert.deepEqual(lines.slice(0, 9), [
        'continue server-first', 'allow v=sig', 'deny', 'defer', 'deny', 'deny', 'deny', 'deny',
        'continue ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
      ]);
      assert.equal(lines[10], 'continue 55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc');
      assert.deepEqual(lines.slice(11, 13), ['continue null', 'continue null']);
      assert.match(n.stderr, /65536: -2/);
      assert.match(n.stderr, /outside: -1/);
    }
    // A failure never defers an authentication, whatever wasm_on_error says.
    if (opts[1] === 'wasm_on_error=defer') assert.match(n.stderr, /ext_auth_start failed, request denied/);
  }
});
