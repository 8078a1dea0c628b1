// The `wasm-auth` command of the host package: `check` answers as build/bin/wasm-auth-check does
// (same lines, same exit status, for the same files and caps), `call` as wa-call does, and every
// bad input ends in a non-zero exit and exactly one line on stderr.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../wasm-auth.js';
import { CHECK_BIN, FIXTURES, abiFuncs, buildModule, i32c, I32, runBin } from './helpers.js';

function run(args: string[]): { status: number; stdout: string; stderr: string } {
  let stdout = '';
  let stderr = '';
  const status = main(args, { stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; }, stdin: () => '' });
  return { status, stdout, stderr };
}

const tmp = mkdtempSync(join(tmpdir(), 'wa-cli-'));
const ACL = { params: [I32, I32, I32, I32], results: [I32], body: i32c(1), export: 'acl_check' };
const good = join(tmp, 'good.wasm');
writeFileSync(good, buildModule({ funcs: [...abiFuncs(1), ACL] }));
const abi2 = join(tmp, 'abi2.wasm');
writeFileSync(abi2, buildModule({ funcs: [...abiFuncs(2), ACL] }));
const notWasm = join(tmp, 'not.wasm');
writeFileSync(notWasm, 'export function acl_check() {}\n');
const noAbi = join(tmp, 'noabi.wasm');
writeFileSync(noAbi, buildModule({ funcs: [ACL] }));

// The SDK fixtures (AssemblyScript policies), the gate's .wat fixtures, and the modules above.
const files = [
  ...readdirSync(FIXTURES).filter((f) => f.endsWith('.wasm')).sort().map((f) => join(FIXTURES, f)),
  good, abi2, notWasm, noAbi, join(tmp, 'missing.wasm'),
];

for (const flags of [[], ['--validate-only'], ['--max-functions', '3', '--max-data-bytes', '10'], ['--max-module-bytes', '2000']]) {
  test(`check ${flags.join(' ')} prints what wasm-auth-check prints`, (t) => {
    const js = run(['check', ...flags, ...files]);
    const c = runBin(CHECK_BIN, [...flags, ...files]);
    if (c === null) {
      t.skip(`no ${CHECK_BIN}`);
      return;
    }
    assert.equal(js.stdout, c.stdout);
    assert.equal(js.stderr, c.stderr);
    assert.equal(js.status, c.status);
    // Both streams have something to compare: some files are accepted, some refused.
    assert.notEqual(c.stdout, '');
    assert.notEqual(c.stderr, '');
  });
}

test('check --meter writes the metered module wasm-auth-check writes', (t) => {
  const js = join(tmp, 'js.metered.wasm');
  const c = join(tmp, 'c.metered.wasm');
  assert.equal(run(['check', '--meter', js, good]).status, 0);
  if (runBin(CHECK_BIN, ['--meter', c, good]) === null) {
    t.skip(`no ${CHECK_BIN}`);
    return;
  }
  assert.deepEqual(readFileSync(js), readFileSync(c));
});

test('call answers as the policy does', () => {
  const r = run(['call', good, 'acl_check', 'cid', 'alice', 't', 'read']);
  assert.deepEqual(r, { status: 0, stdout: 'allow\n', stderr: '' });
});

test('--version names the package version and the ABI', () => {
  const r = run(['--version']);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /^wasm-auth \d+\.\d+\.\d+ \(ABI 1\)\n$/);
});

const bad: [string, string[], RegExp][] = [
  ['no command', [], /^wasm-auth: no command given \(commands: check, call, replay; see wasm-auth --help\)$/],
  ['unknown command', ['chek', good], /^wasm-auth: unknown command "chek" \(commands: check, call, replay; see wasm-auth --help\)$/],
  ['check: no file', ['check'], /^wasm-auth check: no FILE\.wasm given/],
  ['check: unknown option', ['check', '--max-fuel', '3', good], /^wasm-auth check: unknown option --max-fuel/],
  ['check: bad number', ['check', '--max-globals', '-1', good], /^wasm-auth check: --max-globals takes a number from 0 to 4294967295, not "-1"/],
  ['check: missing value', ['check', '--max-globals'], /^wasm-auth check: --max-globals needs a value/],
  ['check: --meter with two files', ['check', '--meter', join(tmp, 'x.wasm'), good, good], /^wasm-auth check: --meter takes one FILE\.wasm only/],
  ['check: missing file', ['check', join(tmp, 'missing.wasm')], /^wasm-auth: cannot load policy \S+missing\.wasm: No such file or directory$/],
  ['check: not wasm', ['check', notWasm], /^wasm-auth: cannot load policy \S+not\.wasm: header, offset 0x0: /],
  ['check: no ABI exports', ['check', noAbi], /^wasm-auth: cannot load policy \S+noabi\.wasm: export section: missing export wasm_auth_abi_version/],
  ['call: no policy', ['call'], /^wasm-auth call: no POLICY\.wasm given/],
  ['replay: no policy', ['replay', 'x.jsonl'], /^wasm-auth replay: takes FILE POLICY\.wasm$/],
  ['replay: unknown option', ['replay', 'x.jsonl', good, '--opts', 'a=b'], /^wasm-auth replay: unknown option --opts$/],
  ['replay: bad --show', ['replay', 'x.jsonl', good, '--show', 'all'], /^wasm-auth replay: bad --show: all$/],
  ['call: no hook', ['call', good], /^wasm-auth call: no HOOK given$/],
  ['call: unknown hook', ['call', good, 'acl', 'x'], /^wasm-auth call: unknown hook acl \(unpwd_check, acl_check, psk_key_get, on_tick, on_disconnect, session_check, on_message, ext_auth_start, ext_auth_continue, on_message_out, on_subscribe, actions\)$/],
  ['call: bad option', ['call', good, '--client', 'x', 'acl_check', 'c', 'u', 't', 'read'], /^wasm-auth call: unknown option --client$/],
  ['call: bad --opt', ['call', good, '--opt', 'fuel', 'acl_check', 'c', 'u', 't', 'read'], /^wasm-auth call: --opt takes KEY=VALUE, not fuel$/],
  ['call: bad host setting', ['call', good, '--opt', 'wasm_fuel=lots', 'acl_check', 'c', 'u', 't', 'read'], /^wasm-auth: cannot load policy: /],
  ['call: missing file', ['call', join(tmp, 'missing.wasm'), 'acl_check', 'c', 'u', 't', 'read'], /^wasm-auth: cannot load policy \S+: No such file or directory$/],
  ['call: not wasm', ['call', notWasm, 'acl_check', 'c', 'u', 't', 'read'], /^wasm-auth: cannot load policy \S+: header, offset 0x0: /],
  ['call: wrong ABI', ['call', abi2, 'acl_check', 'c', 'u', 't', 'read'],
    /^wasm-auth: cannot load policy \S+abi2\.wasm: built for ABI 2, this plugin speaks 1 \(wasm_auth_abi_version returns 2: build with an SDK for ABI 1\)$/],
];

for (const [name, args, line] of bad) {
  test(`bad input, ${name}: non-zero exit and one line`, () => {
    const r = run(args);
    assert.notEqual(r.status, 0);
    assert.equal(r.stdout, '');
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 1, `expected one line, got:\n${r.stderr}`);
    assert.match(lines[0], line);
  });
}
