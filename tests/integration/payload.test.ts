// The 7-argument acl_check: payload, QoS and retain reach the policy through the broker, and
// payloads above wasm_max_payload get the failure decision without the guest being asked.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Broker } from '../harness/broker.js';
import { connect, deliveries, endAll, VERSIONS } from '../harness/mqtt.js';
import { fixture } from '../harness/paths.js';
import { startPolicyBroker } from '../harness/policy-broker.js';

describe('payload, qos and retain (payload fixture)', () => {
  let broker: Broker;
  before(async () => {
    broker = await startPolicyBroker({ name: 'payload', module: fixture('payload') });
  });
  after(() => broker?.stop());

  for (const v of VERSIONS) {
    test(`v${v}: each rule lets its allowed message through and stops the other`, async () => {
      const pub = await connect({ port: broker.port, version: v, username: 'p', password: 'x' });
      const sub = await connect({ port: broker.port, version: v, username: 's', password: 'x' });
      try {
        assert.deepEqual(await sub.subscribe('#', 1), [1]);
        const { arrived, codes } = await deliveries(
          pub,
          sub,
          [
            { topic: 'small/a', payload: '12345678' },
            { topic: 'small/b', payload: '123456789' },
            { topic: 'json/a', payload: '{"x":1}' },
            { topic: 'json/b', payload: 'x' },
            { topic: 'json/c', payload: '' },
            { topic: 'qos0/a', payload: 'q0', qos: 0 },
            { topic: 'qos0/b', payload: 'q1', qos: 1 },
            { topic: 'noretain/a', payload: 'live', retain: false },
            { topic: 'noretain/b', payload: 'kept', retain: true },
            { topic: 'empty/a', payload: '' },
            { topic: 'empty/b', payload: 'not empty' },
            { topic: 'binary/a', payload: Buffer.from([0, 255, 0, 1]) },
          ],
          'other/marker',
        );
        assert.deepEqual(arrived, [true, false, true, false, false, true, false, true, false, true, false, true]);
        // Only the QoS 1 publish has a PUBACK; MQTT 5 says it was not authorized.
        assert.equal(codes[6], v === 5 ? 135 : 0);
      } finally {
        await endAll(pub, sub);
      }
    });

    test(`v${v}: QoS 1 publishes: PUBACK follows the payload rules`, async () => {
      const c = await connect({ port: broker.port, version: v, username: 'p', password: 'x' });
      try {
        const denied = v === 5 ? 135 : 0;
        assert.equal(await c.publish('small/q', '1234', { qos: 1 }), 0);
        assert.equal(await c.publish('small/q', 'x'.repeat(100), { qos: 1 }), denied);
        assert.equal(await c.publish('json/q', '{}', { qos: 1 }), 0);
        assert.equal(await c.publish('json/q', '[]', { qos: 1 }), denied);
      } finally {
        await c.end();
      }
    });
  }
});

describe('wasm_max_payload: bigger payloads get the failure decision', () => {
  let broker: Broker;
  before(async () => {
    broker = await startPolicyBroker({ name: 'payload-cap', module: fixture('payload'), opts: { wasm_max_payload: 64 } });
  });
  after(() => broker?.stop());

  test('64 bytes pass, 65 do not (the policy itself allows any size here)', async () => {
    const c = await connect({ port: broker.port, version: 5, username: 'p', password: 'x' });
    try {
      await c.subscribe('other/#', 0);
      const { arrived, codes } = await deliveries(
        c,
        c,
        [
          { topic: 'other/a', payload: 'x'.repeat(64), qos: 1 },
          { topic: 'other/b', payload: 'x'.repeat(65), qos: 1 },
        ],
        'other/marker',
      );
      assert.deepEqual(arrived, [true, false]);
      assert.deepEqual(codes, [0, 135]);
    } finally {
      await c.end();
    }
  });
});
