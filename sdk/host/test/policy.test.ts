// The Node host running real policies (sdk/host/test/fixtures/*.ts, built with the SDK):
// decisions, request fields, the client, options and option files, failure semantics and
// instance re-creation, lifecycle order, reload.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { PolicyLoadError, loadPolicy } from '../index.js';
import { LOG_ERR, LOG_INFO, LOG_WARNING } from '../abi.js';
const REBUILD_BACKOFF_MS = 1000; // limits.h WA_REBUILD_BACKOFF_MS
import { fixture, load } from './helpers.js';

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

test('a trap gives the failure decision and a fresh instance', () => {
  const { policy, logs } = load('full');
  assert.equal(policy.aclCheck(acl('count/1')), 'allow');
  assert.equal(policy.aclCheck(acl('count/2')), 'allow');
  assert.equal(policy.aclCheck(acl('trap')), 'deny');
  assert.match(logs.at(-1)!.message, /^acl_check failed, request denied: unreachable executed$/);
  assert.equal(logs.at(-1)!.level, LOG_ERR);
  // The restored instance starts counting again: what it accumulated was lost.
  assert.equal(policy.aclCheck(acl('count/1')), 'allow');
  assert.equal(policy.instances, 2);
  // Restored to its state after init, as the plugin does: the hooks' lines are not logged again.
  const inits = logs.filter((l) => l.message.startsWith('plugin_init') || l.message.startsWith('security_init reload=0'));
  assert.equal(inits.length, 2);
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
    ['loop', /failed, request denied: fuel exhausted \(wasm_fuel \d+ reached; raise plugin_opt_wasm_fuel\)$/],
  ];
  let instances = policy.instances;
  for (const [topic, why] of cases) {
    assert.equal(policy.aclCheck(acl(topic)), 'deny', topic);
    assert.match(logs.at(-1)!.message, why);
    assert.equal(policy.aclCheck(acl('allow/x')), 'allow', `recovers after ${topic}`);
    assert.equal(policy.instances, ++instances, `${topic} discards the instance`);
  }
  policy.cleanup();
});

test('the memory cap stops a guest that allocates without end', () => {
  const { policy, logs } = load('full', { maxMemoryPages: 40 });
  assert.equal(policy.aclCheck(acl('memgrow/1')), 'allow');
  assert.equal(policy.aclCheck(acl('memgrow/100')), 'deny', 'memory.grow beyond the cap fails');
  assert.equal(policy.aclCheck(acl('grow')), 'deny');
  assert.match(logs.at(-1)!.message, /request denied: unreachable executed$/, 'the allocator traps when memory cannot grow');
  assert.equal(policy.aclCheck(acl('allow/x')), 'allow');
  policy.cleanup();
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
  assert.equal(policy.aclCheck(acl('optfile')), 'allow', 'option_file_size is -1 outside the init hooks');
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
  assert.deepEqual(calls, [
    'plugin_init options=0', 'security_init reload=0',
    'security_cleanup reload=1', 'security_init reload=1',
    'security_cleanup reload=0', 'plugin_cleanup',
  ]);
  assert.throws(() => policy.aclCheck(acl('allow/x')), /cleaned up/);
});

test('reload with a new module: new init first, then old cleanup', () => {
  const { policy, logs } = load('full', { name: 'full.wasm' });
  assert.equal(policy.reload(fixture('v2')), true);
  const calls = logs.map((l) => l.message);
  assert.deepEqual(calls.slice(2), [
    'security_cleanup reload=1', 'v2 plugin_init', 'v2 security_init reload=1', 'plugin_cleanup', 'reloaded policy full.wasm',
  ]);
  assert.equal(policy.aclCheck(acl('v2/x')), 'allow');
  assert.equal(policy.aclCheck(acl('allow/x')), 'deny');
  assert.equal(policy.unpwdCheck('a', 'b'), 'defer', 'v2 exports no unpwd_check');
  policy.cleanup();
});

test('a new module that fails keeps the previous policy', () => {
  const { policy, logs } = load('full', { name: 'full.wasm', options: [['refuse_v2', '1']] });
  assert.equal(policy.reload(fixture('v2')), false);
  assert.ok(logs.some((l) => l.message === 'reload of full.wasm failed, keeping the previous policy: plugin_init returned 0 (refused)'));
  assert.equal(logs.at(-1)!.message, 'security_init reload=1', 'the previous policy gets security_init(1) back');
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

test('a re-creation that fails gives the failure decision until the retry interval has passed', async () => {
  const file = join(tmp, 'required');
  writeFileSync(file, 'x');
  const { policy, logs } = load('full', { options: [['require_file', file]] });
  assert.equal(policy.aclCheck(acl('allow/x')), 'allow');
  rmSync(file);
  assert.equal(policy.aclCheck(acl('trap')), 'deny');
  // The next request must re-create the instance; plugin_init now refuses.
  assert.equal(policy.aclCheck(acl('allow/x')), 'deny');
  assert.equal(logs.at(-1)!.message, 'acl_check failed, request denied: re-creating the policy instance failed: plugin_init returned 0 (refused)');
  writeFileSync(file, 'x');
  // Within the retry interval the host does not try again.
  assert.equal(policy.aclCheck(acl('allow/x')), 'deny');
  assert.equal(logs.at(-1)!.message, 'acl_check failed, request denied: the policy instance is unavailable (re-creating it failed)');
  await new Promise((r) => setTimeout(r, REBUILD_BACKOFF_MS + 50));
  assert.equal(policy.aclCheck(acl('allow/x')), 'allow');
  policy.cleanup();
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
