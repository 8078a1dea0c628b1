// The message hook in the Node host (docs/ABI.md, "Message hook"): what on_message delivers,
// rewrites or drops, that bad rewrites and failures drop with the plugin's log line, and that a
// rewrite staged outside on_message fails that hook.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LOG_ERR } from '../abi.js';
import { load } from './helpers.js';

const msg = (topic: string, payload = 'hello', extra: { username?: string | null; qos?: number; retain?: boolean } = {}) =>
  ({ clientid: 'c1', username: extra.username === undefined ? 'bob' : extra.username, topic, payload, qos: extra.qos ?? 1, retain: extra.retain ?? false });

test('allow delivers every staged change; without on_message nothing changes', () => {
  const { policy } = load('message');
  assert.equal(policy.hooks.on_message, 0);
  const r = policy.message(msg('rewrite', 'abc', { qos: 2 }));
  assert.notEqual(r, 'drop');
  if (r === 'drop') return;
  assert.equal(r.topic, 'out/bob/2');
  assert.equal(Buffer.from(r.payload!).toString(), 'ABC');
  assert.equal(r.retain, true);
  assert.deepEqual(policy.message(msg('plain')), {});
  const anon = policy.message(msg('rewrite', 'x', { username: null, retain: true }));
  assert.ok(anon !== 'drop' && anon.topic === 'out/anon/1' && anon.retain === false);
  const { policy: short } = load('short');
  assert.deepEqual(short.message(msg('rewrite')), {});
});

test('deny drops and defer delivers as it came: what they staged is never applied', () => {
  const { policy, logs } = load('message');
  assert.equal(policy.message(msg('deny')), 'drop');
  assert.deepEqual(policy.message(msg('defer')), {});
  assert.deepEqual(policy.message(msg('plain')), {}, 'nothing left over from earlier calls');
  assert.equal(logs.filter((l) => l.level === LOG_ERR).length, 0);
});

test('bad rewrites trap: the message is dropped with the reason, whatever wasm_on_error says', () => {
  const { policy, logs } = load('message', { options: [['wasm_on_error', 'defer'], ['wasm_max_payload', '64']] });
  const cases: [string, string][] = [
    ['bad/wild', 'message_set_topic: not a topic to publish to'],
    ['bad/dollar', 'message_set_topic: not a topic to publish to'],
    ['bad/nul', 'message_set_topic: not a topic to publish to'],
    ['bad/big', 'message_set_payload: payload of 65 bytes above wasm_max_payload (64)'],
    ['bad/retain', 'message_set_retain: retain 3 is not 0 or 1'],
    ['bad/answer', 'returned 5, not a decision (0 drop, 1 deliver, 2 deliver unchanged)'],
  ];
  for (const [topic, why] of cases) {
    const before = logs.length;
    assert.equal(policy.message(msg(topic, 'x'.repeat(64))), 'drop', topic);
    const lines = logs.slice(before).filter((l) => l.level === LOG_ERR);
    assert.equal(lines.length, 1, topic);
    assert.ok(lines[0].message.startsWith(`on_message failed, message dropped: ${why}`), lines[0].message);
  }
  assert.equal(policy.message(msg('big', 'x'.repeat(65))), 'drop', 'a payload above wasm_max_payload never reaches the guest');
  assert.match(logs[logs.length - 1].message, /^on_message failed, message dropped: payload of 65 bytes exceeds wasm_max_payload \(64\)/);
  // A failure restores the instance: its state is back to the sealed one.
  const r = policy.message(msg('count'));
  assert.ok(r !== 'drop' && Buffer.from(r.payload!).toString() === '1', 'calls counted from the sealed state');
});

test('a rewrite staged outside on_message fails that hook', () => {
  const { policy, logs } = load('message');
  assert.equal(policy.aclCheck({ clientid: 'c1', username: null, topic: 'outside', access: 2 }), 'deny');
  assert.match(logs[logs.length - 1].message, /^acl_check failed, request denied: message_set_topic: called outside on_message/);
  assert.deepEqual(policy.message(msg('plain')), {});
});
