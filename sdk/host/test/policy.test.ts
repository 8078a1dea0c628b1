// The Node host running real policies (sdk/host/test/fixtures/*.ts, built with the SDK):
// decisions, request fields, the client, options and option files, failure semantics and
// the restore after a failure, budgets, lifecycle order, reload.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, openSync, closeSync, readdirSync, renameSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { PolicyLoadError, hostSettings, loadPolicy } from '../index.js';
import {
  LOG_ERR, LOG_INFO, LOG_NOTICE, LOG_WARNING, OPTION_FILE_ABSENT, OPTION_FILE_NOT_FILE_OPTION, OPTION_FILE_NOT_FOUND,
  OPTION_FILE_NOT_REGULAR, OPTION_FILE_OUTSIDE_INIT, OPTION_FILE_READ_ERROR, OPTION_FILE_TOO_BIG,
} from '../abi.js';
import { I32, abiFuncs, buildModule, fixture, load } from './helpers.js';

// The host imports directly (the tests at the end of this file).
import * as L from '../limits.js';
import { closeOptionFileStreams, createImports, newLogLimit, newOptionFileStreams, per32, type ClientInfo } from '../imports.js';
import { pbkdf2Sync } from 'node:crypto';

const READ = 1;
const WRITE = 2;
const acl = (topic: string, extra: Partial<{ clientid: string; username: string | null; access: number; payload: string | Uint8Array; qos: number; retain: boolean }> = {}) =>
  ({ clientid: 'c1', username: 'bob', topic, access: WRITE, ...extra });

const tmp = mkdtempSync(join(tmpdir(), 'wa-host-'));

// A password file made by the real mosquitto_passwd when installed (both hash kinds).
function passwordFile(): string | null {
  const file = join(tmp, 'passwd');
  writeFileSync(file, '');
  const a = spawnSync('mosquitto_passwd', ['-b', file, 'alice', 'secret'], { encoding: 'utf8' });
  if (a.error || a.status !== 0) return null;
  spawnSync('mosquitto_passwd', ['-H', 'sha512', '-b', file, 'bob', 'hunter2']);
  return file;
}

test('decisions come back as the policy returns them', () => {
  const { policy } = load('full');
  assert.equal(policy.aclCheck(acl('allow/x')), 'allow');
  assert.equal(policy.aclCheck(acl('deny/x')), 'deny');
  assert.equal(policy.aclCheck(acl('defer/x')), 'defer');
  assert.equal(policy.aclCheck(acl('nothing')), 'deny');
  assert.equal(policy.unpwdCheck(null, null), 'defer');
  policy.cleanup();
});

test('request fields reach the guest intact', () => {
  const { policy } = load('full');
  for (const access of [0, 1, 2, 4, 8]) {
    assert.equal(policy.aclCheck(acl(`access/${access}`, { access })), 'allow', `access ${access}`);
    assert.equal(policy.aclCheck(acl(`access/${access ^ 1}`, { access })), 'deny');
  }
  assert.equal(policy.aclCheck(acl('clientid/sensör-7', { clientid: 'sensör-7' })), 'allow');
  assert.equal(policy.aclCheck(acl('user/ålice', { username: 'ålice' })), 'allow');
  assert.equal(policy.aclCheck(acl('user/@null', { username: null })), 'allow', 'absent username');
  assert.equal(policy.aclCheck(acl('user/', { username: '' })), 'allow', 'empty username is present');
  assert.equal(policy.aclCheck(acl('payload/hello', { payload: 'hello' })), 'allow');
  assert.equal(policy.aclCheck(acl('payload/hello', { payload: 'hellO' })), 'deny');
  assert.equal(policy.aclCheck(acl('payload/', {})), 'allow', 'no payload = empty payload');
  assert.equal(policy.aclCheck(acl('qos/2/1', { qos: 2, retain: true })), 'allow');
  assert.equal(policy.aclCheck(acl('qos/0/0', {})), 'allow');
  assert.equal(policy.aclCheck(acl('pattern/bob/c1')), 'allow');
  assert.equal(policy.aclCheck(acl('pattern/b+b/c1', { username: 'b+b' })), 'deny', 'CVE-2017-7650');
  policy.cleanup();
});

test('binary payloads and passwords are passed as bytes', () => {
  const { policy } = load('full');
  const bin = new Uint8Array([0x00, 0xff, 0x2f, 0x80]);
  // The payload holds a '/', so it cannot equal level 1 of any topic: compare by topic level 1 = payload minus that.
  assert.equal(policy.aclCheck(acl('payload/\u0000', { payload: new Uint8Array([0]) })), 'allow');
  assert.equal(policy.aclCheck(acl('payload/x', { payload: bin })), 'deny');
  policy.cleanup();
});

test('large fields make the host ask for a bigger request buffer', () => {
  const { policy } = load('full');
  const big = 'big/' + 'x'.repeat(65000);
  assert.equal(policy.aclCheck(acl(big)), 'allow');
  assert.equal(policy.aclCheck(acl('allow/x', { payload: new Uint8Array(500000) })), 'allow');
  assert.equal(policy.aclCheck(acl('allow/again')), 'allow', 'the grown buffer is reused');
  policy.cleanup();
});

test('fields above the MQTT limit and payloads above wasm_max_payload get the failure decision', () => {
  const { policy, logs } = load('full', { maxPayload: 1000 });
  assert.equal(policy.aclCheck(acl('allow/' + 'x'.repeat(70000))), 'deny');
  assert.match(logs.at(-1)!.message, /^acl_check failed, request denied: a field is longer than 65535 bytes$/);
  assert.equal(policy.aclCheck(acl('allow/x', { payload: new Uint8Array(1001) })), 'deny');
  assert.match(logs.at(-1)!.message, /payload of 1001 bytes exceeds wasm_max_payload \(1000\)/);
  assert.equal(policy.aclCheck(acl('allow/x', { payload: new Uint8Array(1000) })), 'allow');
  assert.equal(policy.instances, 1, 'refusing oversized input does not discard the instance');
  policy.cleanup();
});

test('the client is visible through client.*', () => {
  const { policy } = load('full', { client: { address: '10.1.2.3', protocolVersion: 5 } });
  assert.equal(policy.aclCheck(acl('client/c1/10.1.2.3/5')), 'allow', 'id defaults to the clientid');
  assert.equal(policy.aclCheck(acl('client/other/@null/3', { clientid: 'c1' }) as never), 'deny');
  assert.equal(policy.aclCheck({ ...acl('client/other/@null/3'), client: { id: 'other', address: null, protocolVersion: 3 } }), 'allow');
  policy.cleanup();
});

test('a trap gives the failure decision and the instance as it was after its lifecycle hooks', () => {
  const { policy, logs } = load('full');
  const epoch = policy.epoch;
  assert.equal(policy.aclCheck(acl('count/1')), 'allow');
  assert.equal(policy.aclCheck(acl('count/2')), 'allow');
  assert.equal(policy.aclCheck(acl('trap')), 'deny');
  assert.equal(logs.at(-1)!.message, 'acl_check failed, request denied: unreachable executed');
  assert.equal(logs.at(-1)!.level, LOG_ERR);
  // Restored on the spot: the next request finds it ready, without what it had counted.
  assert.equal(policy.instances, 2);
  const lines = logs.length;
  assert.equal(policy.aclCheck(acl('count/1')), 'allow');
  assert.equal(policy.aclCheck(acl('count/2')), 'allow');
  // As in the plugin no hook ran again where one can see it: no plugin_init/security_init lines.
  assert.equal(logs.length, lines);
  assert.deepEqual(logs.map((l) => l.message).filter((m) => /^(plugin|security)_init/.test(m)),
    ['plugin_init options=0', 'security_init reload=0']);
  // What the policy derived from its options stays (plugin_init counted them).
  assert.equal(policy.aclCheck(acl('options/0/-1')), 'allow');
  assert.equal(policy.epoch, epoch, 'a restore keeps the epoch');
  policy.cleanup();
});

test('a policy built by a reload is restored to its state after security_init(1)', () => {
  const { policy, logs } = load('full');
  const epoch = policy.epoch;
  assert.equal(policy.reload(), true);
  assert.notEqual(policy.epoch, epoch, 'a reload is a new instance');
  const reloaded = policy.epoch;
  assert.equal(policy.aclCheck(acl('count/1')), 'allow');
  const lines = logs.length;
  assert.equal(policy.aclCheck(acl('trap')), 'deny');
  assert.equal(logs.length, lines + 1, 'only the failure line');
  assert.equal(policy.aclCheck(acl('count/1')), 'allow');
  assert.equal(policy.epoch, reloaded);
  policy.cleanup();
});

test('a restore that fails drops the instance until a reload builds a new one', () => {
  const file = join(tmp, 'required');
  writeFileSync(file, 'x');
  const { policy, logs } = load('full', { options: [['require_file', file]] });
  assert.equal(policy.aclCheck(acl('allow/x')), 'allow');
  // The restore is emulated by running plugin_init again (runtime.ts), which now refuses.
  rmSync(file);
  const epoch = policy.epoch;
  assert.equal(policy.aclCheck(acl('trap')), 'deny');
  assert.deepEqual(logs.slice(-2).map((l) => l.message), [
    'acl_check failed, request denied: unreachable executed',
    'the policy instance could not be restored after a failure: dropped until it is re-created' +
      ' (re-running its lifecycle hooks: plugin_init returned 0 (refused))',
  ]);
  assert.notEqual(policy.epoch, epoch, 'dropping the instance changes the epoch');
  // No re-creation on the request path: the failure decision, every time.
  for (let i = 0; i < 3; i++) {
    assert.equal(policy.aclCheck(acl('allow/x')), 'deny');
    assert.equal(logs.at(-1)!.message, 'acl_check failed, request denied: the policy instance is unavailable until it is re-created');
  }
  assert.equal(policy.unpwdCheck('nopass', null), 'deny');
  assert.equal(logs.at(-1)!.message, 'unpwd_check failed, request denied: the policy instance is unavailable until it is re-created');
  assert.equal(policy.psk('key', 'beef').decision, 'deny');
  // A reload builds a new instance; the dropped one gets its cleanup hooks, which do not run.
  writeFileSync(file, 'x');
  const before = logs.length;
  assert.equal(policy.reload(), true);
  assert.deepEqual(logs.slice(before).map((l) => l.message), ['plugin_init options=1', 'security_init reload=1', 'reloaded policy policy']);
  assert.equal(policy.aclCheck(acl('allow/x')), 'allow');
  policy.cleanup();
});

test('an anonymous unpwd_check that fails is denied, even with wasm_on_error defer', () => {
  const { policy, logs } = load('full', { options: [['wasm_on_error', 'defer']] });
  const long = 'x'.repeat(70000);
  assert.equal(policy.unpwdCheck(null, long), 'deny');
  assert.equal(logs.at(-1)!.message, 'unpwd_check failed, request denied: a field is longer than 65535 bytes');
  assert.equal(policy.unpwdCheck('someone', long), 'defer', 'with a username: wasm_on_error');
  assert.equal(logs.at(-1)!.message, 'unpwd_check failed, request deferred: a field is longer than 65535 bytes');
  assert.equal(policy.unpwdCheck('trap', 'x'), 'defer');
  assert.equal(policy.unpwdCheck(null, null), 'defer', 'a working anonymous check decides as the policy says');
  assert.equal(policy.aclCheck(acl('trap', { username: null })), 'defer', 'only unpwd_check');
  policy.cleanup();
});

test('host settings come from the wasm_* options like in the plugin', () => {
  const a = load('full', { options: [['wasm_on_error', 'defer'], ['wasm_max_payload', '4']] }).policy;
  assert.equal(a.aclCheck(acl('trap')), 'defer');
  assert.equal(a.aclCheck(acl('payload/abcde', { payload: 'abcde' })), 'defer', 'above wasm_max_payload');
  assert.equal(a.aclCheck(acl('payload/abcd', { payload: 'abcd' })), 'allow');
  a.cleanup();
  const b = load('full', { options: [['wasm_on_error', 'defer']], failureDecision: 'deny' }).policy;
  assert.equal(b.aclCheck(acl('trap')), 'deny', 'an explicit LoadOptions field wins');
  b.cleanup();
  assert.throws(() => loadPolicy(fixture('full'), { options: [['wasm_fuel', 'lots']] }),
    /^PolicyLoadError: option wasm_fuel: "lots" is not a whole number from 1 to 1000000000000000$/);
});

test('failure decision defer, like plugin_opt_wasm_on_error defer', () => {
  const { policy, logs } = load('full', { failureDecision: 'defer' });
  assert.equal(policy.aclCheck(acl('trap')), 'defer');
  assert.match(logs.at(-1)!.message, /request deferred/);
  assert.equal(policy.psk('trap', 'h').decision, 'defer');
  assert.equal(policy.aclCheck(acl('deny/x')), 'deny', 'a normal deny stays deny');
  policy.cleanup();
});

test('abort, invalid decisions, bad pointers and fuel exhaustion are failures', () => {
  const { policy, logs } = load('full', { fuel: 100000 });
  const cases: [string, RegExp][] = [
    ['abort', /failed, request denied: abort: boom at .*full\.ts:\d+:\d+$/],
    ['bad', /failed, request denied: returned 7, not a decision \(0 deny, 1 allow, 2 defer\)$/],
    ['badptr', /failed, request denied: log: pointer out of bounds$/],
    ['loop', /failed, request denied: fuel exhausted \(wasm_fuel 100000 reached; raise plugin_opt_wasm_fuel\)$/],
  ];
  let instances = policy.instances;
  for (const [topic, why] of cases) {
    assert.equal(policy.aclCheck(acl(topic)), 'deny', topic);
    assert.match(logs.at(-1)!.message, why);
    assert.equal(policy.aclCheck(acl('allow/x')), 'allow', `recovers after ${topic}`);
    assert.equal(policy.instances, ++instances, `${topic} restores the instance`);
  }
  policy.cleanup();
});

test('the memory cap stops a guest that allocates without end', () => {
  const { policy, logs } = load('full', { maxMemoryPages: 40 });
  assert.equal(policy.aclCheck(acl('memgrow/1')), 'allow');
  assert.equal(policy.aclCheck(acl('memgrow/100')), 'deny', 'memory.grow beyond the cap fails');
  assert.equal(policy.aclCheck(acl('grow')), 'deny');
  // The allocator traps when memory cannot grow; memory is then past half the cap, which the
  // plugin takes for an allocation that failed.
  assert.match(logs.at(-1)!.message, /^acl_check failed, request denied: unreachable executed \(probably out of memory: \d+ of wasm_max_memory_pages 40 pages \(2 MiB\) in use; raise plugin_opt_wasm_max_memory_pages\)$/);
  assert.equal(policy.aclCheck(acl('allow/x')), 'allow');
  policy.cleanup();
});

test('a trap with memory at its cap names wasm_max_memory_pages', () => {
  const { policy, logs } = load('full', { maxMemoryPages: 19 });
  assert.equal(policy.aclCheck(acl('grow')), 'deny');
  assert.match(logs.at(-1)!.message, /^acl_check failed, request denied: unreachable executed \(probably out of memory: \d+ of wasm_max_memory_pages 19 pages \(1 MiB\) in use; raise plugin_opt_wasm_max_memory_pages\)$/);
  // The restored instance has its memory of after init again: a trap there is no memory hint.
  assert.equal(policy.aclCheck(acl('trap')), 'deny');
  assert.equal(logs.at(-1)!.message, 'acl_check failed, request denied: unreachable executed');
  policy.cleanup();
});

test('a guest that recurses without end: stack overflow, named as the plugin names it', () => {
  // f() { f() } exported as acl_check (4 arguments).
  const bytes = buildModule({
    funcs: [...abiFuncs(), { params: [I32, I32, I32, I32], results: [I32], body: [0x20, 0, 0x20, 1, 0x20, 2, 0x20, 3, 0x10, 2], export: 'acl_check' }],
  });
  const { policy, logs } = load(bytes, { fuel: 0 });
  assert.equal(policy.aclCheck(acl('x')), 'deny');
  assert.equal(logs.at(-1)!.message, 'acl_check failed, request denied: stack overflow' +
    ' (the 256 KiB value stack or the native stack bound; the policy recurses too deep)');
  policy.cleanup();
});

test('lifecycle hooks get wasm_init_fuel; requests and cleanup hooks wasm_fuel', () => {
  // Too little for the start function: the load names wasm_init_fuel.
  assert.throws(() => loadPolicy(fixture('full'), { options: [['wasm_init_fuel', '3000']], onLog: () => {} }),
    (e: unknown) => e instanceof PolicyLoadError &&
      e.message === 'start function trapped: fuel exhausted (wasm_init_fuel 3000 reached; raise plugin_opt_wasm_init_fuel)');
  // Its default follows wasm_fuel: x400 (here 400,000, enough to start).
  const a = load('full', { options: [['wasm_fuel', '1000']] });
  assert.deepEqual(a.logs.map((l) => l.message), ['plugin_init options=1', 'security_init reload=0']);
  // Cleanup hooks run under wasm_fuel, which is too little for security_cleanup's log line here.
  a.policy.cleanup();
  assert.equal(a.logs.at(-1)!.message, 'security_cleanup trapped: fuel exhausted');
  // LoadOptions.fuel moves the default too; LoadOptions.initFuel and wasm_init_fuel set it.
  assert.throws(() => loadPolicy(fixture('full'), { fuel: 30, onLog: () => {} }), /wasm_init_fuel 12000 reached/);
  assert.throws(() => loadPolicy(fixture('full'), { initFuel: 30, onLog: () => {} }), /wasm_init_fuel 30 reached/);
  assert.throws(() => loadPolicy(fixture('full'), { fuel: 30, options: [['wasm_init_fuel', '40']], onLog: () => {} }),
    /wasm_init_fuel 40 reached/);
  load('full', { fuel: 0 }).policy.cleanup(); // 0: unlimited, lifecycle calls too
});

test('the new options are checked as the plugin checks them', () => {
  const refused = (key: string, value: string): string => {
    try {
      loadPolicy(fixture('full'), { options: [[key, value]], onLog: () => {} }).cleanup();
    } catch (e) {
      return (e as Error).message;
    }
    return 'loaded';
  };
  assert.equal(refused('wasm_init_fuel', '0'), 'option wasm_init_fuel: "0" is not a whole number from 1 to 1000000000000000');
  assert.equal(refused('wasm_init_timeout_ms', '3600001'), 'option wasm_init_timeout_ms: "3600001" is not a whole number from 1 to 3600000');
  assert.equal(refused('wasm_client_share', '0'), 'option wasm_client_share: "0" is not a whole number from 1 to 100');
  assert.equal(refused('wasm_cpu_share', '101'), 'option wasm_cpu_share: "101" is not a whole number from 1 to 100');
  assert.equal(refused('wasm_acl_cache', 'maybe'), 'option wasm_acl_cache: "maybe" is neither on nor off');
  for (const [k, v] of [['wasm_init_timeout_ms', '3600000'], ['wasm_client_share', '1'], ['wasm_cpu_share', '100'], ['wasm_acl_cache', 'off']]) {
    assert.equal(refused(k, v), 'loaded', `${k}=${v}`);
  }
  // Defaults as options.c derives them.
  const s = hostSettings([['wasm_fuel', '1000000000000000'], ['wasm_timeout_ms', '50000']]);
  assert.equal(s.initFuel, 400000000000000000n);
  assert.equal(s.initTimeoutMs, 3600000);
  assert.equal(s.clientShare, 10);
  assert.equal(s.cpuShare, 50);
  const d = hostSettings([]);
  assert.deepEqual([d.initFuel, d.initTimeoutMs, d.clientShare], [4000000000n, 10000, 10]);
});

test('psk_key_get: hex keys only', () => {
  const { policy, logs } = load('full');
  assert.deepEqual(policy.psk('key', '00ff10AB'), { decision: 'allow', key: '00ff10AB' });
  assert.equal(policy.pskKeyGet('none', 'x'), null);
  assert.deepEqual(policy.psk('key', 'xyz'), { decision: 'deny', key: null });
  assert.match(logs.at(-1)!.message, /^psk_key_get: the key is not hexadecimal, denying$/);
  assert.equal(logs.at(-1)!.level, LOG_WARNING);
  assert.equal(policy.pskKeyGet('key', ''), null, 'an empty key is no key');
  assert.equal(policy.pskKeyGet('key', 'a'.repeat(513)), null);
  assert.match(logs.at(-1)!.message, /key of 513 hex digits is too long/);
  assert.equal(policy.pskKeyGet('key', 'a'.repeat(512)), 'a'.repeat(512));
  const before = policy.instances;
  assert.deepEqual(policy.psk('badptr', 'x'), { decision: 'deny', key: null });
  assert.match(logs.at(-1)!.message, /^psk_key_get failed, request denied: returned a string pointer outside memory$/);
  assert.equal(policy.pskKeyGet('key', 'beef'), 'beef');
  assert.equal(policy.instances, before + 1);
  policy.cleanup();
});

test('passwords from a mosquitto_passwd file read through an option file in plugin_init', (t) => {
  const file = passwordFile();
  if (file === null) {
    t.skip('mosquitto_passwd is not installed');
    return;
  }
  const { policy } = load('full', { options: [['users_file', file]] });
  assert.equal(policy.unpwdCheck('alice', 'secret'), 'allow');
  assert.equal(policy.unpwdCheck('alice', 'Secret'), 'deny');
  assert.equal(policy.unpwdCheck('bob', 'hunter2'), 'allow');
  assert.equal(policy.unpwdCheck('bob', new TextEncoder().encode('hunter2')), 'allow');
  assert.equal(policy.unpwdCheck('bob', null), 'deny');
  assert.equal(policy.unpwdCheck('carol', 'x'), 'deny');
  assert.equal(policy.unpwdCheck('nopass', null), 'allow', 'absent password');
  assert.equal(policy.unpwdCheck('nopass', ''), 'deny', 'empty password is present');
  policy.cleanup();
});

test('options reach plugin_init in order; option files only there', () => {
  const file = join(tmp, 'data.txt');
  writeFileSync(file, 'not a user line\nx:y\n');
  const { policy } = load('full', { options: [['wasm_module', 'p.wasm'], ['users_file', file], ['other', 'v']] });
  const size = Buffer.byteLength('not a user line\nx:y\n');
  assert.equal(policy.aclCheck(acl(`options/3/${size}`)), 'allow');
  assert.equal(policy.aclCheck(acl('optfile')), 'allow', 'option_file_size says "outside init" (-4) in a request hook');
  policy.cleanup();
  const none = load('full', { options: [['users_file', join(tmp, 'missing')]] }).policy;
  assert.equal(none.aclCheck(acl('options/1/-1')), 'allow', 'a missing file reads as absent');
  none.cleanup();
});

test('lifecycle order: load, reload, cleanup', () => {
  const { policy, logs } = load('full');
  policy.reload();
  policy.cleanup();
  const calls = logs.filter((l) => l.level === LOG_INFO).map((l) => l.message);
  // A reload always builds a fresh instance; the old one is cleaned up once it is ready.
  assert.deepEqual(calls, [
    'plugin_init options=0', 'security_init reload=0',
    'plugin_init options=0', 'security_init reload=1', 'security_cleanup reload=1', 'plugin_cleanup',
    'security_cleanup reload=0', 'plugin_cleanup',
  ]);
  assert.deepEqual(logs.filter((l) => l.level === LOG_NOTICE).map((l) => l.message), ['reloaded policy policy']);
  assert.throws(() => policy.aclCheck(acl('allow/x')), /cleaned up/);
});

test('reload with a new module: new init first, then old cleanup', () => {
  const { policy, logs } = load('full', { name: 'full.wasm' });
  assert.equal(policy.reload(fixture('v2')), true);
  const calls = logs.map((l) => l.message);
  assert.deepEqual(calls.slice(2), [
    'v2 plugin_init', 'v2 security_init reload=1', 'security_cleanup reload=1', 'plugin_cleanup', 'reloaded policy full.wasm',
  ]);
  assert.equal(policy.aclCheck(acl('v2/x')), 'allow');
  assert.equal(policy.aclCheck(acl('allow/x')), 'deny');
  assert.equal(policy.unpwdCheck('a', 'b'), 'defer', 'v2 exports no unpwd_check');
  policy.cleanup();
});

test('a new module that fails keeps the previous policy', () => {
  const { policy, logs } = load('full', { name: 'full.wasm', options: [['refuse_v2', '1']] });
  assert.equal(policy.reload(fixture('v2')), false);
  // The previous policy was not touched: no cleanup, no security_init(1) for it.
  assert.deepEqual(logs.slice(2).map((l) => l.message), [
    'v2 plugin_init', 'reload of full.wasm failed, keeping the previous policy: plugin_init returned 0 (refused)',
  ]);
  assert.equal(policy.aclCheck(acl('allow/x')), 'allow');
  assert.equal(policy.reload(new Uint8Array([1, 2, 3])), false);
  assert.ok(logs.some((l) => l.message === 'reload of full.wasm failed, keeping the previous policy: header, offset 0x0: magic header not detected'));
  assert.equal(policy.aclCheck(acl('allow/x')), 'allow');
  policy.cleanup();
});

test('init hooks that refuse or trap stop the load', () => {
  assert.throws(() => loadPolicy(fixture('full'), { options: [['refuse_init', '1']], onLog: () => {} }),
    (e: unknown) => e instanceof PolicyLoadError && e.message === 'plugin_init returned 0 (refused)');
  const logs: string[] = [];
  assert.throws(() => loadPolicy(fixture('full'), { options: [['refuse_security', '1']], onLog: (_l, m) => logs.push(m) }),
    /^PolicyLoadError: security_init returned 0 \(refused\)$/);
  assert.equal(logs.at(-1), 'plugin_cleanup', 'plugin_cleanup runs when security_init refuses');
  assert.throws(() => loadPolicy(fixture('full'), { options: [['trap_security', '1']], onLog: () => {} }),
    /security_init trapped: unreachable executed/);
});

test('unexported hooks answer defer; the 4-argument acl_check sees no payload', () => {
  const { policy } = load('short');
  assert.deepEqual(policy.hooks, { acl_check: 0 });
  assert.equal(policy.aclCheck(acl('public/x', { access: READ, payload: new Uint8Array(5_000_000) })), 'allow',
    'the payload cap does not apply to the short form');
  assert.equal(policy.aclCheck(acl('public/x', { access: WRITE })), 'deny');
  assert.equal(policy.unpwdCheck('u', 'p'), 'defer');
  assert.deepEqual(policy.psk('i', 'h'), { decision: 'defer', key: null });
  policy.cleanup();
});

test('per-request error lines are rate-limited like the plugin', () => {
  const { policy, logs } = load('full', { errorLogIntervalMs: 60_000 });
  for (let i = 0; i < 5; i++) assert.equal(policy.aclCheck(acl('trap')), 'deny');
  assert.equal(logs.filter((l) => l.level === LOG_ERR).length, 1);
  policy.cleanup();
});

// ---- the host imports directly: prices, fuel exhaustion, the guest log limit, sanitising ----
// The same cases and numbers as plugin-c/tests/test_hostfns.c.

const START = 100_000_000n;

function hostImports(fuelStart: bigint = START) {
  const memory = new WebAssembly.Memory({ initial: 1 });
  const fuel = new WebAssembly.Global({ value: 'i64', mutable: true }, fuelStart);
  const logs: { level: number; message: string }[] = [];
  const limit = newLogLimit();
  const state = { clock: 1000, client: null as ClientInfo | null, files: new Map<string, string>(), inInit: true };
  const streams = newOptionFileStreams();
  const { mosquitto: m, env } = createImports({
    memory: () => memory,
    client: () => state.client,
    log: (level, message) => logs.push({ level, message }),
    optionFile: (key) => state.files.get(key) ?? null,
    inInit: () => state.inInit,
    fuel: () => fuel,
    logLimit: limit,
    now: () => state.clock,
    optionFileStreams: streams,
  });
  const bytes = new Uint8Array(memory.buffer);
  const put = (off: number, b: string | Uint8Array): number => {
    bytes.set(typeof b === 'string' ? new Uint8Array(Buffer.from(b)) : b, off);
    return off;
  };
  // An AssemblyScript string: UTF-16LE at off, its byte length in the u32 before it.
  const putString = (off: number, s: string): number => {
    const b = new Uint8Array(Buffer.from(s, 'utf16le'));
    new DataView(memory.buffer).setUint32(off - 4, b.length, true);
    put(off, b);
    return off;
  };
  const used = (): bigint => START - (fuel.value as bigint);
  const reset = (v: bigint = START): void => { fuel.value = v; };
  return { m, env, memory, fuel, logs, limit, state, streams, bytes, put, putString, used, reset };
}

function pbkdf2Hash(pw: string, iterations: number): string {
  const salt = new Uint8Array(Buffer.from('0123456789ab'));
  const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
  return `$7$${iterations}$${b64(salt)}$${b64(new Uint8Array(pbkdf2Sync(pw, salt, iterations, 64, 'sha512')))}`;
}

const H6 = '$6$c2FsdA==$oPeb5nMm4U4xiTpjSVruRPjXz2QaN/TSTSakuCiJtR8qzibNgZZ412rWVSMttxWmz05EMhOAaVT07opmzYU/tg==';

test('host imports charge the plugin\'s prices before their work', () => {
  const h = hostImports();
  const { m, env } = h;
  const n = (x: number): bigint => BigInt(x);
  h.put(100, 'a/+');
  h.put(200, 'a/b');
  assert.equal(m.topic_matches_sub(100, 3, 200, 3), 1);
  assert.equal(h.used(), n(L.WA_FUEL_HOST_CALL + per32(6, L.WA_FUEL_SCAN_32)));
  assert.equal(h.used(), 13n);
  h.reset();
  assert.throws(() => m.topic_matches_sub(100, 3, 65535, 3), /topic_matches_sub: pointer out of bounds/);
  assert.equal(h.used(), n(L.WA_FUEL_HOST_CALL), 'a bad pointer pays the entry only');

  h.reset();
  const p = h.putString(300, 'hello\nworld');
  m.log(1, p, 22);
  assert.equal(h.used(), 1038n);
  assert.equal(h.used(), n(L.WA_FUEL_HOST_CALL + per32(22, L.WA_FUEL_TEXT_32) + L.WA_FUEL_LOG_LINE));
  assert.deepEqual(h.logs.at(-1), { level: 1, message: 'hello?world' });
  h.reset();
  m.log(1, 8, 4000);
  assert.equal(h.used(), n(L.WA_FUEL_HOST_CALL + per32(2 * L.WA_MAX_LOG_BYTES, L.WA_FUEL_TEXT_32) + L.WA_FUEL_LOG_LINE),
    'text past one line is not converted, not paid for');

  h.reset();
  assert.equal(m.client_id(100, 16), -1);
  assert.equal(h.used(), n(L.WA_FUEL_HOST_CALL));
  h.state.client = { id: 'client-1', address: '192.0.2.1', protocolVersion: 5 };
  h.reset();
  assert.equal(m.client_id(100, 16), 8);
  assert.equal(h.used(), n(L.WA_FUEL_HOST_CALL + per32(8, L.WA_FUEL_COPY_32)));
  h.reset();
  assert.equal(m.client_address(100, 0), 9);
  assert.equal(h.used(), n(L.WA_FUEL_HOST_CALL + per32(9, L.WA_FUEL_COPY_32)));
  h.reset();
  assert.equal(m.client_protocol_version(), 5);
  assert.equal(h.used(), n(L.WA_FUEL_HOST_CALL));
  h.state.client = null;

  h.put(1000, H6);
  h.put(2000, 'pw');
  h.reset();
  assert.equal(m.pw_verify(1000, H6.length, 2000, 2), 1);
  assert.equal(h.used(), n(L.WA_FUEL_HOST_CALL + L.WA_FUEL_PW_VERIFY + per32(H6.length, L.WA_FUEL_SCAN_32) + per32(2, L.WA_FUEL_HASH_32)));
  const h101 = pbkdf2Hash('pw', 101);
  h.put(1000, h101);
  h.reset();
  assert.equal(m.pw_verify(1000, h101.length, 2000, 2), 1);
  assert.equal(h.used(), n(L.WA_FUEL_HOST_CALL + L.WA_FUEL_PW_VERIFY + per32(h101.length, L.WA_FUEL_SCAN_32) +
    per32(2, L.WA_FUEL_HASH_32) + L.WA_FUEL_PBKDF2 + 101 * L.WA_FUEL_PBKDF2_ITERATION));
  h.reset();
  assert.equal(m.pw_verify(1000, 5, 2000, 2), -1);
  assert.equal(h.used(), n(L.WA_FUEL_HOST_CALL + L.WA_FUEL_PW_VERIFY + per32(5, L.WA_FUEL_SCAN_32)), 'malformed: parsed, not hashed');
  // $argon2id$: the set-up and every KiB block of every pass, paid before the hashing (test_hostfns.c).
  const a2 = '$argon2id$v=19$m=8,t=1,p=1$bWluaW1hbC1zYWx0$5DlURA'; // "x", tests/fixtures/argon2id.txt
  h.put(1000, a2);
  h.put(2000, 'x');
  h.reset();
  assert.equal(m.pw_verify(1000, a2.length, 2000, 1), 1);
  assert.equal(h.used(), n(L.WA_FUEL_HOST_CALL + L.WA_FUEL_PW_VERIFY + per32(a2.length, L.WA_FUEL_SCAN_32) +
    per32(1, L.WA_FUEL_HASH_32) + L.WA_FUEL_ARGON2 + 8 * L.WA_FUEL_ARGON2_KIB));
  const over = '$argon2id$v=19$m=72,t=1,p=9$bGFuZXNjYXAtc2FsdC0xNg$2Gb2DZvtXBMK5Bfe66DFJBq3fuNPNU2DUQzhkX7R1tw'; // "secret"
  h.put(1000, over);
  h.put(2000, 'secret');
  h.reset();
  const logged = h.logs.length;
  assert.equal(m.pw_verify(1000, over.length, 2000, 6), 0);
  assert.equal(h.used(), n(L.WA_FUEL_HOST_CALL + L.WA_FUEL_PW_VERIFY + per32(over.length, L.WA_FUEL_SCAN_32) + L.WA_FUEL_LOG_LINE),
    'above a cap: parsed, a warning, not hashed');
  assert.deepEqual(h.logs.slice(logged), [{ level: LOG_WARNING,
    message: 'pw_verify: an $argon2id$ hash asks for 9 lanes, above the cap of 8 (WA_MAX_PW_ARGON2_LANES): no match' }]);

  const file = join(tmp, 'data');
  writeFileSync(file, 'hello file\n');
  h.put(100, 'data_file');
  h.state.inInit = false;
  h.reset();
  assert.equal(m.option_file_size(100, 9), OPTION_FILE_OUTSIDE_INIT, 'outside init');
  assert.equal(h.used(), n(L.WA_FUEL_HOST_CALL + L.WA_FUEL_LOG_LINE), 'a refusal pays for its warning, opens nothing');
  h.state.inInit = true;
  h.reset();
  assert.equal(m.option_file_size(100, 9), OPTION_FILE_ABSENT);
  assert.equal(h.used(), n(L.WA_FUEL_HOST_CALL), 'not set: nothing opened, nothing logged');
  h.state.files.set('data_file', file);
  h.reset();
  assert.equal(m.option_file_size(100, 9), 11);
  assert.equal(h.used(), n(L.WA_FUEL_HOST_CALL + L.WA_FUEL_OPEN_FILE));
  h.reset();
  assert.equal(m.option_file_read(100, 9, 3000, 64), 11);
  assert.equal(h.used(), n(L.WA_FUEL_HOST_CALL + L.WA_FUEL_OPEN_FILE + per32(11, L.WA_FUEL_COPY_32)));

  const x = h.putString(304, 'x');
  h.reset();
  env.trace(x, 2, 1, 2, 3, 4, 5);
  assert.equal(h.used(), n(L.WA_FUEL_HOST_CALL + per32(2, L.WA_FUEL_TEXT_32) + L.WA_FUEL_LOG_LINE + 2 * L.WA_FUEL_TRACE_ARG));
  h.reset();
  env.trace(x, 99, 1, 2, 3, 4, 5);
  assert.equal(h.used(), n(L.WA_FUEL_HOST_CALL + per32(2, L.WA_FUEL_TEXT_32) + L.WA_FUEL_LOG_LINE + 5 * L.WA_FUEL_TRACE_ARG));
  h.reset();
  env.trace(0, -3, 0, 0, 0, 0, 0);
  assert.equal(h.logs.at(-1)!.message, 'trace: <invalid>');
  assert.equal(h.used(), n(L.WA_FUEL_HOST_CALL + L.WA_FUEL_LOG_LINE));
  h.reset();
  env.seed();
  assert.equal(h.used(), n(L.WA_FUEL_HOST_CALL + L.WA_FUEL_SEED));
  h.reset();
  env['Date.now']();
  assert.equal(h.used(), n(L.WA_FUEL_HOST_CALL + L.WA_FUEL_CLOCK));
  h.reset();
  assert.throws(() => env.abort(x, x, 1, 2), /^GuestAbort: abort: x at x:1:2$/);
  assert.equal(h.used(), 0n, 'abort is free');
});

test('option files: every refusal has its own result and one warning naming key and path (as test_hostfns.c)', () => {
  const h = hostImports();
  const { m } = h;
  const dir = mkdtempSync(join(tmp, 'optdir-'));
  const file = join(dir, 'data');
  writeFileSync(file, 'hello file\n');
  const fifo = join(dir, 'fifo');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo');
  const big = join(dir, 'big');
  writeFileSync(big, '');
  truncateSync(big, L.WA_MAX_OPTION_FILE_BYTES + 1); // sparse: no disk
  const longPath = '/' + '\u00e9'.repeat(149); // 299 bytes: the cut at 256 falls inside a character
  for (const [k, v] of [['data_file', file], ['missing_file', '/nonexistent/x'], ['empty_file', ''], ['dir_file', dir],
    ['fifo_file', fifo], ['big_file', big], ['long_file', longPath]]) h.state.files.set(k, v);
  // The result for `key` from both imports, and the warning each logged (none: null).
  const refused = (key: string | Uint8Array, code: number, line: string | null): void => {
    const k = h.put(2000, key);
    const len = typeof key === 'string' ? Buffer.byteLength(key) : key.length;
    const before = h.logs.length;
    assert.equal(m.option_file_size(k, len), code, String(line));
    assert.equal(h.logs.length, before + (line === null ? 0 : 1));
    if (line !== null) assert.deepEqual(h.logs.at(-1), { level: LOG_WARNING, message: line });
    assert.equal(m.option_file_read(k, len, 1000, 64), code, String(line));
    assert.equal(h.logs.length, before + (line === null ? 0 : 2));
    if (line !== null) assert.equal(h.logs.at(-1)!.message, line.replace(/^option_file_size/, 'option_file_read'));
  };
  h.state.inInit = false;
  refused('data_file', OPTION_FILE_OUTSIDE_INIT, 'option_file_size: option file data_file: option files can be read only in plugin_init and security_init');
  h.state.inInit = true;
  assert.equal(m.option_file_size(h.put(100, 'data_file'), 9), 11);
  const notFile = 'not a file option (only options whose name ends in _file name files a policy may read)';
  refused('data', OPTION_FILE_NOT_FILE_OPTION, `option_file_size: option file data: ${notFile}`);
  refused('_file', OPTION_FILE_NOT_FILE_OPTION, `option_file_size: option file _file: ${notFile}`);
  // An option not set: the policy may have probed an optional one; no warning.
  refused('absent_file', OPTION_FILE_ABSENT, null);
  refused('empty_file', OPTION_FILE_ABSENT, null);
  refused('missing_file', OPTION_FILE_NOT_FOUND, 'option_file_size: option file missing_file (/nonexistent/x): not found');
  refused('dir_file', OPTION_FILE_NOT_REGULAR, `option_file_size: option file dir_file (${dir}): is a directory`);
  refused('fifo_file', OPTION_FILE_NOT_REGULAR, `option_file_size: option file fifo_file (${fifo}): not a regular file`);
  refused('big_file', OPTION_FILE_TOO_BIG, `option_file_size: option file big_file (${big}): ${L.WA_MAX_OPTION_FILE_BYTES + 1} bytes, `
    + `above the cap of ${L.WA_MAX_OPTION_FILE_BYTES} (WA_MAX_OPTION_FILE_BYTES)`);
  refused('long_file', OPTION_FILE_READ_ERROR,
    `option_file_size: option file long_file (/${'\u00e9'.repeat(127)}...): cannot be read (ENAMETOOLONG)`);
  const key = new Uint8Array(100).fill(0x6b);
  key.set([0xc3, 0xa9, 0x0a]);
  refused(key, OPTION_FILE_NOT_FILE_OPTION, `option_file_size: option file ???${'k'.repeat(61)}...: ${notFile}`);
  rmSync(dir, { recursive: true });
});

// Open file descriptors of this process.
const openFds = (): number => readdirSync('/proc/self/fd').length;

test('option_file_read_at: chunks, refusals, prices and the files kept open (as test_hostfns.c)', () => {
  const h = hostImports();
  const { m } = h;
  const dir = mkdtempSync(join(tmp, 'stream-'));
  const data = join(dir, 'data');
  const text = new Uint8Array(2500);
  for (let i = 0; i < text.length; i++) text[i] = i % 37 === 36 ? 0x0a : 0x61 + (i % 26);
  writeFileSync(data, text);
  const big = join(dir, 'big');
  const huge = join(dir, 'huge');
  writeFileSync(big, '');
  truncateSync(big, L.WA_MAX_OPTION_FILE_BYTES + 1); // sparse: above option_file_read's cap, within the stream cap
  writeFileSync(huge, '');
  truncateSync(huge, L.WA_MAX_OPTION_FILE_STREAM_BYTES + 1);
  const many = [0, 1, 2, 3, 4].map((i) => join(dir, `m${i}`));
  for (const f of many) writeFileSync(f, '0123456789');
  for (const [k, v] of [['data_file', data], ['missing_file', '/nonexistent/x'], ['empty_file', ''], ['dir_file', dir],
    ['big_file', big], ['huge_file', huge], ...many.map((f, i) => [`m${i}_file`, f])]) h.state.files.set(k, v);
  // option_file_read_at of `key` (put at 2000) into memory at 1000.
  const readAt = (key: string, offset: bigint | number, cap: number): number =>
    m.option_file_read_at(h.put(2000, key), Buffer.byteLength(key), BigInt(offset), 1000, cap);
  const fds = openFds();

  // Chunks of any size put the file back together exactly; past the end: 0.
  for (const chunk of [1, 2, 3, 7, 64, 1000, 2499, 2500, 3000]) {
    const got: number[] = [];
    let r: number;
    while ((r = readAt('data_file', got.length, chunk)) > 0) {
      if (got.length + r < text.length) assert.equal(r, chunk, 'only the last chunk is short');
      got.push(...h.bytes.subarray(1000, 1000 + r));
    }
    assert.equal(r, 0);
    assert.deepEqual(new Uint8Array(got), text, `chunks of ${chunk}`);
  }
  assert.equal(readAt('data_file', 2500, 64), 0);
  assert.equal(readAt('data_file', 2499, 64), 1);
  assert.equal(h.bytes[1000], text[2499]);
  assert.equal(readAt('data_file', (1n << 63n) - 1n, 64), 0);
  assert.equal(readAt('data_file', 0, 0), 0, 'an empty buffer');
  assert.equal(readAt('big_file', L.WA_MAX_OPTION_FILE_BYTES, 64), 1, 'above option_file_read\'s cap: fine here');
  assert.equal(openFds(), fds + 2, 'data and big stay open for the rest of the init call');
  closeOptionFileStreams(h.streams);
  assert.equal(openFds(), fds);

  // Bad arguments trap, like bad pointers, having opened nothing.
  h.put(2000, 'data_file');
  assert.throws(() => m.option_file_read_at(2000, 9, -1n, 1000, 64), /^GuestError: option_file_read_at: negative offset$/);
  assert.throws(() => m.option_file_read_at(2000, 9, -(1n << 63n), 1000, 64), /^GuestError: option_file_read_at: negative offset$/);
  assert.throws(() => m.option_file_read_at(2000, 9, 0n, 65530, 64), /^GuestError: option_file_read_at: buffer out of bounds$/);
  assert.throws(() => m.option_file_read_at(2000, 9, 0n, 0, 64), /^GuestError: option_file_read_at: buffer out of bounds$/);
  assert.throws(() => m.option_file_read_at(65530, 9, 0n, 1000, 64), /^GuestError: option_file_read_at: pointer out of bounds$/);
  assert.equal(openFds(), fds);

  // The refusals of option_file_read, each with one warning (none for an option not set).
  const warned = (line: string): void => assert.deepEqual(h.logs.at(-1), { level: LOG_WARNING, message: line });
  const before = h.logs.length;
  h.state.inInit = false;
  assert.equal(readAt('data_file', 0, 64), OPTION_FILE_OUTSIDE_INIT);
  warned('option_file_read_at: option file data_file: option files can be read only in plugin_init and security_init');
  h.state.inInit = true;
  assert.equal(readAt('data', 0, 64), OPTION_FILE_NOT_FILE_OPTION);
  warned('option_file_read_at: option file data: not a file option (only options whose name ends in _file name files a policy may read)');
  assert.equal(readAt('absent_file', 0, 64), OPTION_FILE_ABSENT);
  assert.equal(readAt('empty_file', 0, 64), OPTION_FILE_ABSENT);
  assert.equal(h.logs.length, before + 2);
  assert.equal(readAt('missing_file', 0, 64), OPTION_FILE_NOT_FOUND);
  warned('option_file_read_at: option file missing_file (/nonexistent/x): not found');
  assert.equal(readAt('dir_file', 0, 64), OPTION_FILE_NOT_REGULAR);
  warned(`option_file_read_at: option file dir_file (${dir}): is a directory`);
  assert.equal(readAt('huge_file', 0, 64), OPTION_FILE_TOO_BIG);
  warned(`option_file_read_at: option file huge_file (${huge}): ${L.WA_MAX_OPTION_FILE_STREAM_BYTES + 1} bytes, above the cap of `
    + `${L.WA_MAX_OPTION_FILE_STREAM_BYTES} (WA_MAX_OPTION_FILE_STREAM_BYTES)`);
  assert.equal(h.logs.length, before + 5);
  assert.equal(openFds(), fds, 'a refused file is not kept');

  // Prices: the open once per file and init call, then the bytes; a refusal its warning.
  const n = (x: number): bigint => BigInt(x);
  h.reset();
  assert.equal(readAt('data_file', 0, 100), 100);
  assert.equal(h.used(), n(L.WA_FUEL_HOST_CALL + L.WA_FUEL_OPEN_FILE + per32(100, L.WA_FUEL_COPY_32)));
  h.reset();
  assert.equal(readAt('data_file', 2450, 100), 50);
  assert.equal(h.used(), n(L.WA_FUEL_HOST_CALL + per32(50, L.WA_FUEL_COPY_32)));
  h.reset();
  assert.equal(readAt('data_file', 1 << 30, 100), 0);
  assert.equal(h.used(), n(L.WA_FUEL_HOST_CALL));
  h.reset();
  assert.equal(readAt('missing_file', 0, 100), OPTION_FILE_NOT_FOUND);
  assert.equal(h.used(), n(L.WA_FUEL_HOST_CALL + L.WA_FUEL_OPEN_FILE + L.WA_FUEL_LOG_LINE));
  h.reset();
  assert.equal(readAt('absent_file', 0, 100), OPTION_FILE_ABSENT);
  assert.equal(h.used(), n(L.WA_FUEL_HOST_CALL));
  h.reset();
  assert.throws(() => m.option_file_read_at(h.put(2000, 'data_file'), 9, -1n, 1000, 64), /negative offset/);
  assert.equal(h.used(), n(L.WA_FUEL_HOST_CALL));
  closeOptionFileStreams(h.streams);
  // Fuel short of the open: nothing opened; of the bytes: the buffer untouched.
  h.bytes.fill(0, 1000, 1064);
  h.reset(n(L.WA_FUEL_HOST_CALL + L.WA_FUEL_OPEN_FILE - 1));
  assert.throws(() => readAt('data_file', 0, 64), /^GuestError: fuel exhausted$/);
  assert.equal(openFds(), fds);
  h.reset(n(L.WA_FUEL_HOST_CALL + L.WA_FUEL_OPEN_FILE + per32(64, L.WA_FUEL_COPY_32) - 1));
  assert.throws(() => readAt('data_file', 0, 64), /^GuestError: fuel exhausted$/);
  assert.equal(h.bytes[1000], 0);
  h.reset(n(L.WA_FUEL_HOST_CALL + per32(64, L.WA_FUEL_COPY_32))); // opened by the call before
  assert.equal(readAt('data_file', 0, 64), 64);
  assert.equal(h.fuel.value, 0n);
  h.reset();
  closeOptionFileStreams(h.streams);
  assert.equal(openFds(), fds);

  // A file renamed over the path between chunks: the rest still comes from the file opened
  // first, until the init call ends.
  assert.equal(readAt('data_file', 0, 1000), 1000);
  const next = join(dir, 'next');
  writeFileSync(next, 'replaced\n');
  renameSync(next, data);
  assert.equal(readAt('data_file', 1000, 1000), 1000);
  assert.deepEqual(h.bytes.slice(1000, 2000), text.slice(1000, 2000));
  assert.equal(readAt('data_file', 2000, 1000), 500);
  assert.deepEqual(h.bytes.slice(1000, 1500), text.slice(2000, 2500));
  closeOptionFileStreams(h.streams);
  assert.equal(readAt('data_file', 0, 1000), 9);
  assert.equal(Buffer.from(h.bytes.subarray(1000, 1009)).toString(), 'replaced\n');
  // Shrunk in place since it was opened: what there is, then 0; no trap, no warning.
  const logged = h.logs.length;
  const fd = openSync(data, 'r+');
  truncateSync(data, 0);
  writeSync(fd, 'rep');
  closeSync(fd);
  h.reset();
  assert.equal(readAt('data_file', 0, 1000), 3);
  assert.equal(h.used(), n(L.WA_FUEL_HOST_CALL + per32(9, L.WA_FUEL_COPY_32)), 'priced by the size at open');
  assert.equal(readAt('data_file', 5, 1000), 0);
  assert.equal(h.logs.length, logged);
  closeOptionFileStreams(h.streams);

  // WA_OPTION_FILE_STREAMS files at once; a new one closes the one opened first, which opens
  // (and pays) again when read again.
  for (let i = 0; i < 5; i++) {
    assert.equal(readAt(`m${i}_file`, i, 1), 1);
    assert.equal(h.bytes[1000], 0x30 + i);
    assert.equal(openFds(), fds + Math.min(i + 1, L.WA_OPTION_FILE_STREAMS));
  }
  h.reset();
  assert.equal(readAt('m4_file', 0, 1), 1);
  assert.equal(h.used(), n(L.WA_FUEL_HOST_CALL + per32(1, L.WA_FUEL_COPY_32)), 'still open');
  h.reset();
  assert.equal(readAt('m0_file', 0, 1), 1);
  assert.equal(h.used(), n(L.WA_FUEL_HOST_CALL + L.WA_FUEL_OPEN_FILE + per32(1, L.WA_FUEL_COPY_32)));
  h.reset();
  assert.equal(readAt('m2_file', 0, 1), 1, 'm1 went for m0: m2 is still open');
  assert.equal(h.used(), n(L.WA_FUEL_HOST_CALL + per32(1, L.WA_FUEL_COPY_32)));
  assert.equal(openFds(), fds + L.WA_OPTION_FILE_STREAMS);
  closeOptionFileStreams(h.streams);
  assert.equal(openFds(), fds);
  closeOptionFileStreams(h.streams);
  assert.equal(openFds(), fds, 'twice: nothing left to close');
  rmSync(dir, { recursive: true });
});

test('a file streamed in plugin_init: read in chunks, closed when the hook returns', () => {
  const file = join(tmp, 'stream.txt');
  const body = 'first line\r\n\nthird line, longer than one chunk\nlast';
  writeFileSync(file, body);
  const fds = openFds();
  for (const chunk of ['1', '7', '65536']) {
    const { policy, logs } = load('full', { options: [['stream_file', file], ['stream_chunk', chunk]] });
    assert.equal(openFds(), fds, 'closed when plugin_init returned');
    assert.equal(policy.aclCheck(acl(`stream/4/${body.length - 3}`)), 'allow', JSON.stringify(logs));
    policy.cleanup();
  }
  // Lines longer than the fixture's 64 bytes, a file that cannot be read: the reasons, as
  // warnings from the host (the path) and the policy.
  writeFileSync(file, 'ok\n' + 'x'.repeat(65) + '\n');
  const long = load('full', { options: [['stream_file', file]] });
  assert.equal(long.policy.aclCheck(acl('stream/-1/-1')), 'allow');
  assert.deepEqual(long.logs.filter((l) => l.level === LOG_WARNING).map((l) => l.message), ['stream_file: line 2 is longer than 64 bytes']);
  long.policy.cleanup();
  const gone = load('full', { options: [['stream_file', join(tmp, 'no-such-stream')]] });
  assert.deepEqual(gone.logs.filter((l) => l.level === LOG_WARNING).map((l) => l.message), [
    `option_file_read_at: option file stream_file (${join(tmp, 'no-such-stream')}): not found`,
    `stream_file: stream_file (${join(tmp, 'no-such-stream')}): not found`,
  ]);
  gone.policy.cleanup();
  assert.equal(openFds(), fds);
});

test('a host import short of fuel traps with "fuel exhausted" and does nothing', () => {
  const h = hostImports();
  const { m, env } = h;
  const p = h.putString(300, 'hello');
  const logPrice = BigInt(L.WA_FUEL_HOST_CALL + per32(10, L.WA_FUEL_TEXT_32) + L.WA_FUEL_LOG_LINE);
  h.reset(logPrice - 1n);
  assert.throws(() => m.log(1, p, 10), /^GuestError: fuel exhausted$/);
  assert.equal(h.logs.length, 0);
  assert.equal(h.fuel.value, -1n);
  h.reset(logPrice);
  m.log(1, p, 10);
  assert.equal(h.logs.length, 1);
  assert.equal(h.fuel.value, 0n);
  assert.throws(() => m.log(1, 65535, 10), /fuel exhausted/, 'nothing left: refused before the bounds check');
  assert.equal(h.fuel.value, -BigInt(L.WA_FUEL_HOST_CALL));

  h.state.client = { id: 'client-1' };
  h.reset(BigInt(L.WA_FUEL_HOST_CALL));
  assert.throws(() => m.client_id(100, 16), /fuel exhausted/);
  assert.equal(h.bytes[100], 0, 'the buffer is not written');
  h.state.client = null;

  const hash = pbkdf2Hash('pw', L.WA_MAX_PW_ITERATIONS);
  h.put(1000, hash);
  h.put(2000, 'pw');
  const price = BigInt(L.WA_FUEL_HOST_CALL + L.WA_FUEL_PW_VERIFY + per32(hash.length, L.WA_FUEL_SCAN_32) + per32(2, L.WA_FUEL_HASH_32)
    + L.WA_FUEL_PBKDF2 + L.WA_MAX_PW_ITERATIONS * L.WA_FUEL_PBKDF2_ITERATION);
  assert.ok(price < BigInt(L.WA_DEFAULT_FUEL), 'a hash at the cap fits the default budget');
  h.reset(price - 1n);
  assert.throws(() => m.pw_verify(1000, hash.length, 2000, 2), /fuel exhausted/);
  assert.equal(h.fuel.value, -1n);
  h.reset(price);
  assert.equal(m.pw_verify(1000, hash.length, 2000, 2), 1);
  assert.equal(h.fuel.value, 0n);
  // The same at the argon2id cap (tests/fixtures/argon2id.txt's "at-cap", password "secret").
  const a2 = '$argon2id$v=19$m=49152,t=1,p=1$YXR0aGVjYXAtc2FsdC0xNg$kPQxOetLpGcPUT0oLXFd+HF7HLzIGJoSe2oARvMcoTzdRnpDtjsS8t19p25mMgpjrofjHJT6uiYVc7wk6w+hXQ';
  h.put(1000, a2);
  h.put(2000, 'secret');
  const a2Price = BigInt(L.WA_FUEL_HOST_CALL + L.WA_FUEL_PW_VERIFY + per32(a2.length, L.WA_FUEL_SCAN_32) + per32(6, L.WA_FUEL_HASH_32)
    + L.WA_FUEL_ARGON2 + L.WA_MAX_PW_ARGON2_KIB * L.WA_FUEL_ARGON2_KIB);
  assert.ok(a2Price < BigInt(L.WA_DEFAULT_FUEL), 'an argon2id hash at the cap fits the default budget');
  h.reset(a2Price - 1n);
  assert.throws(() => m.pw_verify(1000, a2.length, 2000, 6), /fuel exhausted/);
  h.reset(a2Price);
  assert.equal(m.pw_verify(1000, a2.length, 2000, 6), 1);
  assert.equal(h.fuel.value, 0n);

  const file = join(tmp, 'data2');
  writeFileSync(file, 'hello file\n');
  h.state.files.set('data_file', file);
  h.put(100, 'data_file');
  h.reset(BigInt(L.WA_FUEL_HOST_CALL + L.WA_FUEL_OPEN_FILE - 1));
  assert.throws(() => m.option_file_size(100, 9), /fuel exhausted/);
  h.reset(BigInt(L.WA_FUEL_HOST_CALL + L.WA_FUEL_OPEN_FILE));
  assert.throws(() => m.option_file_read(100, 9, 3000, 64), /fuel exhausted/);
  assert.equal(h.bytes[3000], 0, 'nothing read');

  // A counter already negative (the deadline) is refused by every import and left as it is:
  // -2^63 cannot wrap around to a huge budget.
  for (const neg of [-1n, -(1n << 63n)]) {
    h.reset(neg);
    h.state.client = { id: 'c', address: 'a', protocolVersion: 4 };
    const calls: (() => unknown)[] = [
      () => m.topic_matches_sub(100, 3, 200, 3), () => m.log(1, p, 10), () => m.client_id(100, 16),
      () => m.client_address(100, 16), () => m.client_protocol_version(), () => m.pw_verify(1000, hash.length, 2000, 2),
      () => m.option_file_size(100, 9), () => m.option_file_read(100, 9, 3000, 64), () => env.trace(p, 1, 0, 0, 0, 0, 0),
      () => env.seed(), () => env['Date.now'](),
    ];
    for (const c of calls) assert.throws(c, /^GuestError: fuel exhausted$/);
    assert.equal(h.fuel.value, neg);
    assert.throws(() => env.abort(p, p, 3, 4), /abort: hello at hello:3:4/, 'abort still traps with its message');
  }
  assert.equal(h.logs.length, 1);
});

test('guest log lines are rate-limited, and the dropped ones counted before the next line', () => {
  const h = hostImports();
  const { m, env } = h;
  const p = h.putString(300, 'spam');
  for (let i = 0; i < L.WA_LOG_BURST_LINES + 50; i++) m.log(1, p, 8);
  const notice = 'guest log rate limit reached (20 lines and 8192 bytes per second, bursts of 100 lines and 32768 bytes): '
    + 'further guest log lines are suppressed and counted';
  assert.equal(h.logs.length, L.WA_LOG_BURST_LINES + 1, 'the burst goes out, then one notice');
  assert.deepEqual(h.logs.at(-1), { level: LOG_WARNING, message: notice });
  assert.equal(h.limit.noticed, true);
  assert.equal(h.used(), BigInt((L.WA_LOG_BURST_LINES + 50) * (L.WA_FUEL_HOST_CALL + per32(8, L.WA_FUEL_TEXT_32) + L.WA_FUEL_LOG_LINE)),
    'every line is paid for, written or not');
  assert.equal(h.limit.droppedLines, 50);
  assert.equal(h.limit.droppedBytes, 200);
  // trace and pw_verify's warning share the limit.
  env.trace(p, 1, 0, 0, 0, 0, 0);
  const hash = pbkdf2Hash('pw', L.WA_MAX_PW_ITERATIONS + 1);
  h.put(1000, hash);
  h.put(2000, 'pw');
  assert.equal(m.pw_verify(1000, hash.length, 2000, 2), 0, 'above the cap: no match, even unlogged');
  const warning = `pw_verify: a $7$ hash asks for ${L.WA_MAX_PW_ITERATIONS + 1} PBKDF2 iterations, above the cap of `
    + `${L.WA_MAX_PW_ITERATIONS} (WA_MAX_PW_ITERATIONS): no match`;
  assert.equal(h.logs.length, L.WA_LOG_BURST_LINES + 1, 'no second notice');
  assert.equal(h.limit.droppedLines, 52);
  assert.equal(h.limit.droppedBytes, 200 + 'trace: spam 0'.length + warning.length);
  h.state.clock += 49;
  m.log(1, p, 8);
  assert.equal(h.logs.length, L.WA_LOG_BURST_LINES + 1, '49 ms: not a whole line yet');
  h.state.clock += 1;
  assert.equal(m.pw_verify(1000, hash.length, 2000, 2), 0);
  assert.deepEqual(h.logs.slice(L.WA_LOG_BURST_LINES + 1), [
    { level: LOG_WARNING, message: `53 guest log lines (${200 + 4 + 'trace: spam 0'.length + warning.length} bytes) suppressed` },
    { level: LOG_WARNING, message: warning },
  ]);
  m.log(1, p, 8);
  assert.equal(h.logs.length, L.WA_LOG_BURST_LINES + 3, 'one line per 50 ms');
  assert.equal(h.limit.droppedLines, 1);
  // Quiet until both buckets are full again: the next flood gets its own notice.
  h.state.clock += 5000;
  for (let i = 0; i < L.WA_LOG_BURST_LINES + 1; i++) m.log(1, p, 8);
  assert.equal(h.logs.at(-1)!.message, notice);
  assert.equal(h.logs.filter((l) => l.message === notice).length, 2);
  // Bytes: lines are cut at WA_MAX_LOG_BYTES, so 32 of them fill the 32 KiB burst.
  const b = hostImports();
  const big = b.putString(8, 'y'.repeat(4096));
  for (let i = 0; i < 40; i++) b.m.log(1, big, 8192);
  assert.equal(b.logs.length, L.WA_LOG_BURST_BYTES / L.WA_MAX_LOG_BYTES + 1, 'and the notice');
  assert.equal(b.limit.droppedLines, 40 - L.WA_LOG_BURST_BYTES / L.WA_MAX_LOG_BYTES);
  assert.equal(b.limit.droppedBytes, b.limit.droppedLines * L.WA_MAX_LOG_BYTES);
  b.state.clock += 125; // 8192 bytes per second: 1024 bytes
  b.m.log(1, big, 8192);
  assert.equal(b.logs.at(-2)!.message, `8 guest log lines (${8 * L.WA_MAX_LOG_BYTES} bytes) suppressed`);
  assert.equal(b.logs.at(-1)!.message.length, L.WA_MAX_LOG_BYTES);
});

test('guest text reaches the log with C1 and bidi controls neutralised, other text kept', () => {
  const h = hostImports();
  const s = '\u00e9\u009b2J\u202ex\u2066\u0085\u20ac\u061c\u200f\u2028!\u{1F600}';
  const p = h.putString(500, s);
  h.m.log(1, p, Buffer.byteLength(s, 'utf16le'));
  assert.equal(h.logs.at(-1)!.message, '\u00e9?2J?x??\u20ac???!\u{1F600}');
  h.env.trace(p, 0, 0, 0, 0, 0, 0);
  assert.equal(h.logs.at(-1)!.message, 'trace: \u00e9?2J?x??\u20ac???!\u{1F600}');
  assert.throws(() => h.env.abort(p, p, 1, 1), (e: Error) => e.message === 'abort: \u00e9?2J?x??\u20ac???!\u{1F600} at \u00e9?2J?x??\u20ac???!\u{1F600}:1:1');
});

test('the log limit is the policy\'s: a re-created instance gets no new burst', async () => {
  const { policy, logs } = load('full');
  const spam = (): number => logs.filter((l) => l.message === 'spam').length;
  for (let i = 0; i < L.WA_LOG_BURST_LINES + 20; i++) assert.equal(policy.aclCheck(acl('log/spam')), 'allow');
  const first = spam();
  // plugin_init and security_init logged a line each: the burst is shared with them.
  assert.ok(first >= L.WA_LOG_BURST_LINES - 2 && first <= L.WA_LOG_BURST_LINES + 3, `${first} lines`);
  const instances = policy.instances;
  assert.equal(policy.aclCheck(acl('trap')), 'deny');
  for (let i = 0; i < 10; i++) policy.aclCheck(acl('log/spam'));
  assert.ok(policy.instances > instances, 're-created');
  assert.ok(spam() <= first + 2, 'still limited after re-creation');
  await new Promise((r) => setTimeout(r, 120));
  policy.aclCheck(acl('log/spam'));
  let i = logs.length - 1;
  while (i >= 0 && !/guest log lines \(\d+ bytes\) suppressed$/.test(logs[i].message)) i--;
  assert.ok(i >= 0, 'the count is logged');
  assert.equal(logs[i].level, LOG_WARNING);
  assert.equal(logs[i + 1].message, 'spam');
  policy.cleanup();
});
