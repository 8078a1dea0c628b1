// Policy.extAuthStart / extAuthContinue (fixtures/extauth.ts): answers and the AUTH data out,
// 'defer' without the hooks, 'deny' for every failure whatever wasm_on_error says, and
// auth_data_out refused outside the hooks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { load } from './helpers.js';

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');
const data = (s: string): Uint8Array => new TextEncoder().encode(s);

test('ext_auth_*: continue and allow carry the data out, deny and defer none', () => {
  const { policy } = load('extauth');
  assert.equal(policy.hooks.ext_auth_start, 0);
  let r = policy.extAuthStart('c1', 'M', data('echo/server-first'));
  assert.equal(r.decision, 'continue');
  assert.equal(text(r.out), 'server-first');
  r = policy.extAuthContinue('c1', 'M', data('allow/v=sig'));
  assert.deepEqual([r.decision, text(r.out)], ['allow', 'v=sig']);
  r = policy.extAuthStart('c1', 'M', data('deny/secret'));
  assert.deepEqual([r.decision, r.out.length], ['deny', 0]);
  r = policy.extAuthStart('c1', 'M', data('defer'));
  assert.deepEqual([r.decision, r.out.length], ['defer', 0]);
  // Nothing carried over from an earlier call.
  r = policy.extAuthStart('c1', 'M', data('sha/'));
  assert.equal(text(r.out), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
});

test('ext_auth_*: every failure denies, even with wasm_on_error defer; the policy keeps serving', () => {
  for (const onError of ['deny', 'defer']) {
    const { policy, logs } = load('extauth', { options: [['wasm_on_error', onError]] });
    for (const how of ['trap', 'bad', 'badptr', 'pbadptr']) {
      assert.equal(policy.extAuthStart('c1', 'M', data(how)).decision, 'deny', `${how}, wasm_on_error ${onError}`);
      assert.equal(policy.extAuthContinue('c1', 'M', data(how)).decision, 'deny', `${how}, wasm_on_error ${onError}`);
    }
    assert.ok(logs.some((l) => l.message.startsWith('ext_auth_start failed, request denied: unreachable')), logs.map((l) => l.message).join('\n'));
    assert.equal(policy.extAuthStart('c1', 'M', data('echo/x')).decision, 'continue');
  }
});

test('auth_data_out: bounded, refused outside the hooks; not exported: defer', () => {
  const { policy, logs } = load('extauth');
  const r = policy.extAuthStart('c1', 'M', data('big'));
  assert.equal(r.decision, 'continue');
  assert.equal(r.out.length, 65535);
  assert.ok(logs.some((l) => l.message === '65536: -2'));
  assert.equal(policy.aclCheck({ clientid: 'c1', username: 'bob', topic: 't', access: 2 }), 'allow');
  assert.ok(logs.some((l) => l.message === 'outside: -1'));
  const { policy: other } = load('short');
  assert.equal(other.hooks.ext_auth_start, undefined);
  assert.equal(other.extAuthStart('c1', 'M', data('echo/x')).decision, 'defer');
});
