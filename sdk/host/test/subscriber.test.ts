// The 2.1 hooks in the Node host (docs/ABI.md, "Per-subscriber and subscription hooks"):
// on_message_out decides one subscriber's copy with the message rewrites, on_subscribe keeps,
// rewrites or refuses a subscription; bad rewrites and results get the failure decision (drop,
// deny) with the plugin's log line whatever wasm_on_error says.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LOG_ERR } from '../abi.js';
import { load } from './helpers.js';

const copy = (topic: string, username: string | null = 'bob') => ({ clientid: 'c1', username, topic, payload: 'p', qos: 1 });
const sub = (topic: string, username: string | null = 'alice') => ({ clientid: 'c2', username, topic, qos: 2 });

test('on_message_out: allow applies the copy\'s rewrite, deny drops it, others as they came', () => {
  const { policy, logs } = load('views');
  assert.equal(policy.hooks.on_message_out, 0);
  const r = policy.messageOut(copy('for-me'));
  assert.ok(r !== 'drop' && Buffer.from(r.payload!).toString() === 'for bob');
  assert.equal(policy.messageOut(copy('deny')), 'drop');
  assert.deepEqual(policy.messageOut(copy('plain')), {});
  assert.equal(logs.filter((l) => l.level === LOG_ERR).length, 0);
  const { policy: short } = load('short');
  assert.deepEqual(short.messageOut(copy('for-me')), {}, 'without on_message_out: delivered');
});

test('on_subscribe: allow applies the rewrite, defer keeps the filter, deny refuses', () => {
  const { policy } = load('views');
  assert.deepEqual(policy.subscribe(sub('inbox')), { topic: 'users/alice/inbox', qos: 0 });
  assert.deepEqual(policy.subscribe(sub('defer')), {});
  assert.equal(policy.subscribe(sub('deny')), 'deny');
  assert.deepEqual(policy.subscribe(sub('news/#')), {});
  const { policy: short } = load('short');
  assert.deepEqual(short.subscribe(sub('inbox')), {}, 'without on_subscribe: kept');
});

test('bad rewrites and results: drop and deny with the reason, whatever wasm_on_error says', () => {
  const { policy, logs } = load('views', { options: [['wasm_on_error', 'defer']] });
  const cases: [() => unknown, unknown, string][] = [
    [() => policy.messageOut(copy('bad/wild')), 'drop', 'on_message_out failed, message dropped: message_set_topic: not a topic to publish to'],
    [() => policy.subscribe(sub('bad/filter')), 'deny', 'on_subscribe failed, subscription denied: subscribe_set_topic: not a subscription filter'],
    [() => policy.subscribe(sub('bad/qos')), 'deny', 'on_subscribe failed, subscription denied: subscribe_set_qos: qos 3 is not 0, 1 or 2'],
    [() => policy.subscribe(sub('bad/answer')), 'deny', 'on_subscribe failed, subscription denied: returned 9, not a decision (0 deny, 1 allow, 2 allow unchanged)'],
    [() => policy.subscribe(sub('x'.repeat(65536))), 'deny', 'on_subscribe failed, subscription denied: a field is longer than 65535 bytes'],
  ];
  for (const [call, want, line] of cases) {
    const before = logs.length;
    assert.equal(call(), want, line);
    const lines = logs.slice(before).filter((l) => l.level === LOG_ERR);
    assert.equal(lines.length, 1, line);
    assert.ok(lines[0].message.startsWith(line), lines[0].message);
  }
});

test('a subscription rewrite staged outside on_subscribe fails that hook', () => {
  const { policy, logs } = load('views');
  assert.equal(policy.aclCheck({ clientid: 'c1', username: null, topic: 'outside', access: 4 }), 'deny');
  assert.match(logs[logs.length - 1].message, /^acl_check failed, request denied: subscribe_set_topic: called outside on_subscribe/);
});
