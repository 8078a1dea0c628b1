// A policy that misbehaves on some requests: abort/trap, endless loop (fuel), unbounded recursion,
// memory exhaustion, an invalid decision value. Each such request gets the failure decision
// (deny), the broker keeps running, other clients keep working, and the instance is re-created
// (its globals are lost) before the next call.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Broker } from '../harness/broker.js';
import { type Client, connect, deliveries, endAll, publishWhenServed, subDeniedCode } from '../harness/mqtt.js';
import { fixture } from '../harness/paths.js';
import { startPolicyBroker } from '../harness/policy-broker.js';

describe('hostile requests get the failure decision (deny)', () => {
  let broker: Broker;
  let bystanderSub: Client;
  let bystanderPub: Client;

  before(async () => {
    broker = await startPolicyBroker({ name: 'hostile', module: fixture('rules') });
    // Connected before any trap and kept for the whole suite: must never notice anything.
    bystanderSub = await connect({ port: broker.port, version: 4, username: 'bob', password: 'bob-pw' });
    bystanderPub = await connect({ port: broker.port, version: 5, username: 'bob', password: 'bob-pw' });
    assert.deepEqual(await bystanderSub.subscribe('open/#', 0), [0]);
  });
  after(async () => {
    await endAll(bystanderSub, bystanderPub);
    await broker?.stop();
  });

  async function bystandersStillWork(label: string): Promise<void> {
    const { arrived, codes } = await deliveries(bystanderPub, bystanderSub, [{ topic: `open/after-${label}`, qos: 1 }], `open/marker-${label}`);
    assert.deepEqual(arrived, [true], `bystander message after ${label}`);
    assert.deepEqual(codes, [0]);
  }

  for (const kind of ['trap', 'spin', 'recurse', 'oom', 'bad-decision']) {
    test(`${kind}: PUBLISH and SUBSCRIBE denied, broker and other clients unaffected`, async () => {
      const c = await connect({ port: broker.port, version: 5, username: 'alice', password: 'alice-pw' });
      try {
        assert.equal(await c.publish(`${kind}/x`, 'x', { qos: 1 }), 135);
        assert.deepEqual(await c.subscribe(`${kind}/#`, 0), [subDeniedCode(5)]);
        // The same client's next ordinary request is decided normally, once its share of policy
        // time has refilled (a spin spends it: the breaker refuses the client meanwhile).
        await publishWhenServed(c, 'open/x');
      } finally {
        await c.end();
      }
      assert.ok(broker.running, 'broker still running');
      await bystandersStillWork(kind);
    });
  }

  test('the abort message reached the broker log', async () => {
    await broker.waitForLog(/wasm-auth: .*fixture trap requested/);
  });

  test('after a trap the instance is fresh: guest globals start over', async () => {
    const c = await connect({ port: broker.port, version: 5, username: 'alice', password: 'alice-pw' });
    try {
      // Reset whatever state earlier tests left, then count: the policy allows count/# three times.
      assert.equal(await c.publish('trap/reset', 'x', { qos: 1 }), 135);
      const first: number[] = [];
      for (let i = 0; i < 4; i++) first.push(await c.publish(`count/${i}`, 'x', { qos: 1 }));
      assert.deepEqual(first, [0, 0, 0, 135], 'state is kept between ordinary calls');
      assert.equal(await c.publish('trap/reset', 'x', { qos: 1 }), 135);
      assert.equal(await c.publish('count/again', 'x', { qos: 1 }), 0, 'counter restarted after the trap');
    } finally {
      await c.end();
    }
  });
});
