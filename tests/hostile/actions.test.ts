// A policy that floods the broker with deferred actions (tests/fixtures/assembly/action-storm.ts):
// kick storms, publish storms with large payloads, publishes outside the prefix, a thousand
// publishes per tick. The host refuses beyond its rates (WA_KICKS_PER_S, WA_PUBLISHES_PER_S) and
// queue bounds (WA_ACTION_QUEUE_ENTRIES, WA_ACTION_QUEUE_BYTES) with one warning per reason per
// interval, the subscriber sees at most what the limits let through, and the broker keeps serving.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Broker } from '../harness/broker.js';
import { type Client, connect, deliveries, endAll } from '../harness/mqtt.js';
import { fixture } from '../harness/paths.js';
import { startPolicyBroker } from '../harness/policy-broker.js';

// wa_limits.h (sdk/host/limits.ts holds the same numbers, checked by the parity test).
const WA_PUBLISHES_PER_S = 100;
const WA_PUBLISHES_BURST = 200;
const WA_ACTION_QUEUE_BYTES = 4 * 1024 * 1024;
const STORM_PAYLOAD = 60 * 1024;

// Brokers with the storm policy: clients ev/#, open/#, elsewhere/# subscribed, and one to publish.
function stormBroker(name: string, tickMs: number): { get: () => { broker: Broker; sub: Client; pub: Client } } {
  let broker: Broker;
  let sub: Client;
  let pub: Client;
  before(async () => {
    broker = await startPolicyBroker({
      name,
      module: fixture('action-storm'),
      allowAnonymous: true,
      opts: { wasm_tick_ms: tickMs, wasm_publish_prefix: 'ev' },
    });
    sub = await connect({ port: broker.port, version: 4 });
    pub = await connect({ port: broker.port, version: 5 });
    assert.deepEqual(await sub.subscribe(['ev/#', 'open/#', 'elsewhere/#'], 0), [0, 0, 0]);
  });
  after(async () => {
    await endAll(sub, pub);
    await broker?.stop();
  });
  return { get: () => ({ broker, sub, pub }) };
}

async function stillServing(b: { broker: Broker; sub: Client; pub: Client }, label: string): Promise<void> {
  const { arrived } = await deliveries(b.pub, b.sub, [{ topic: `open/after-${label}`, qos: 1 }], `open/marker-${label}`);
  assert.deepEqual(arrived, [true], `bystander message after ${label}`);
  assert.ok(b.broker.running);
}

// Without ticks: each storm comes from one acl_check, against full buckets.
describe('storms from a request are refused beyond the limits and the broker keeps serving', () => {
  const b = stormBroker('action-storm', 0);

  test('a kick storm: refused beyond the rate, one warning each, nobody else disconnected', async () => {
    const { broker, sub, pub } = b.get();
    const since = broker.mark();
    assert.equal(await pub.publish('storm/kick', 'x', { qos: 1 }), 0);
    await broker.waitForLog(/wasm-auth: kick_client: no-such-client refused: more than 10 kicks per second \(bursts of 20\)/, { since });
    await broker.waitForLog(/wasm-auth: kick_user: no-such-user refused: more than 10 kicks per second/, { since });
    await stillServing(b.get(), 'kick');
    assert.equal(broker.lines(since).filter((l) => l.includes('kicks per second')).length, 2, broker.describe());
    assert.ok(sub.mqtt.connected && pub.mqtt.connected);
  });

  test('a publish storm of 60 KiB messages: bounded by the queue and the rate', async () => {
    const { broker, sub, pub } = b.get();
    const since = broker.mark();
    assert.equal(await pub.publish('storm/pub', 'x', { qos: 1 }), 0);
    await broker.waitForLog(/wasm-auth: publish: ev\/storm refused: the queue of deferred actions is full/, { since });
    await stillServing(b.get(), 'pub');
    const storm = sub.received.filter((m) => m.topic === 'ev/storm');
    assert.ok(storm.length >= 1, 'some of the storm was published');
    assert.ok(storm.length <= Math.floor(WA_ACTION_QUEUE_BYTES / STORM_PAYLOAD) + 1, `${storm.length} storm messages`);
    assert.ok(storm.every((m) => m.payload.length === STORM_PAYLOAD));
  });

  test('publishes outside the prefix or to wildcards: refused, logged once each, none delivered', async () => {
    const { broker, sub, pub } = b.get();
    const since = broker.mark();
    assert.equal(await pub.publish('storm/bad', 'x', { qos: 1 }), 0);
    await broker.waitForLog(/wasm-auth: publish: elsewhere\/x refused: outside wasm_publish_prefix ev/, { since });
    await broker.waitForLog(/wasm-auth: publish: ev\/# refused: not a topic to publish to/, { since });
    await stillServing(b.get(), 'bad');
    assert.equal(broker.lines(since).filter((l) => l.includes('outside wasm_publish_prefix')).length, 1);
    assert.ok(!sub.received.some((m) => m.topic.startsWith('elsewhere/')));
  });

});

describe('a thousand publishes per tick: no more than the rate lets through', () => {
  const b = stormBroker('action-storm-ticks', 100);
  const startedAt = Date.now();

  test('the ticks publish, within WA_PUBLISHES_PER_S and its burst; one warning', async () => {
    const { broker, sub } = b.get();
    await broker.waitForLog(/wasm-auth: publish: ev\/tick refused: more than 100 publishes per second/);
    await new Promise((r) => setTimeout(r, 1000));
    await stillServing(b.get(), 'ticks');
    const elapsedS = (Date.now() - startedAt) / 1000;
    const published = sub.received.filter((m) => m.topic === 'ev/tick').length;
    assert.ok(published > 0, 'the ticks published');
    assert.ok(published <= WA_PUBLISHES_BURST + WA_PUBLISHES_PER_S * (elapsedS + 1), `${published} in ${elapsedS} s`);
    assert.equal(broker.lines().filter((l) => l.includes('publishes per second')).length, 1, broker.describe());
  });
});
