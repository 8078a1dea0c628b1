// Per-client publish rate limits through a real broker (examples/rate-limit): a burst of QoS 1
// publishes gets PUBACK 0 for the first N and 135 (not authorized) for the rest, the refused
// messages are not delivered, the client may publish again after a second, another client is
// unaffected, on_tick reports the refusals, and on_disconnect frees the client's state.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Broker } from '../harness/broker.js';
import { NOT_AUTHORIZED_V5, connect, endAll, uniqueId, type Client } from '../harness/mqtt.js';
import { example } from '../harness/paths.js';
import { startPolicyBroker } from '../harness/policy-broker.js';

const RATE = 5;

// Publishes `n` QoS 1 messages back to back (all sent before the first PUBACK comes back) and
// returns the PUBACK reason codes in order, with the time the burst took.
async function burst(c: Client, topic: string, n: number): Promise<{ codes: number[]; ms: number }> {
  const t0 = performance.now();
  const codes = await Promise.all(Array.from({ length: n }, (_, i) => c.publish(topic, `m${i}`, { qos: 1 })));
  return { codes, ms: performance.now() - t0 };
}

// The first RATE publishes pass and the rest are refused, give or take the tokens the bucket got
// back while the burst was under way (one per 1000 / RATE ms: none on an idle machine).
function assertLimited(r: { codes: number[]; ms: number }, what: string): number {
  const allowed = r.codes.filter((c) => c === 0).length;
  const refills = Math.floor((r.ms * RATE) / 1000);
  assert.deepEqual(r.codes.slice(0, RATE), Array(RATE).fill(0), `${what}: ${r.codes.join(',')}`);
  assert.ok(r.codes.every((c) => c === 0 || c === NOT_AUTHORIZED_V5), `${what}: ${r.codes.join(',')}`);
  assert.ok(allowed <= RATE + refills, `${what}: ${allowed} allowed in ${r.ms.toFixed(0)} ms: ${r.codes.join(',')}`);
  if (refills === 0) {
    assert.deepEqual(r.codes, [...Array(RATE).fill(0), ...Array(r.codes.length - RATE).fill(NOT_AUTHORIZED_V5)], what);
  }
  return allowed;
}

describe('rate-limit: publishes per second per client', () => {
  let broker: Broker;
  before(async () => {
    broker = await startPolicyBroker({
      name: 'rate-limit',
      module: example('rate-limit'),
      allowAnonymous: true,
      opts: { publish_rate: RATE, report_interval_s: 1, wasm_tick_ms: 100 },
    });
  });
  after(() => broker?.stop());

  test('a burst of 20: PUBACK 0 for the first N, 135 for the rest; allowed again after a second; others unaffected; state freed on disconnect', async () => {
    const since = broker.mark();
    const sub = await connect({ port: broker.port, version: 5 });
    const idA = uniqueId('rl-a');
    const idB = uniqueId('rl-b');
    const a = await connect({ port: broker.port, version: 5, clientId: idA });
    const b = await connect({ port: broker.port, version: 5, clientId: idB });
    try {
      // Subscribing (and reading) is never limited.
      assert.deepEqual(await sub.subscribe('rl/#', 1), [1]);

      const first = burst(a, 'rl/a', 20);
      const allowedA = assertLimited(await first, 'client A, first burst');

      // Another client has a bucket of its own.
      const rb = await burst(b, 'rl/b', RATE);
      assert.deepEqual(rb.codes, Array(RATE).fill(0), 'client B');

      // Only the allowed messages were delivered (a marker from B, after its bucket refilled,
      // says A's messages are all in).
      await new Promise((r) => setTimeout(r, 1100));
      assert.equal(await b.publish('rl/marker', 'end', { qos: 1 }), 0);
      await sub.waitForMessage((m) => m.topic === 'rl/marker');
      assert.equal(sub.received.filter((m) => m.topic === 'rl/a').length, allowedA);
      assert.equal(sub.received.filter((m) => m.topic === 'rl/b').length, RATE);

      // A second later A has its bucket back.
      assertLimited(await burst(a, 'rl/a', 10), 'client A, a second later');

      // on_tick reports the refusals of the interval, both clients tracked.
      await broker.waitForLog(/wasm-auth: rate-limit: \d+ publishes denied in the last 1 s \(2 clients tracked\)/, { since });

      // A leaves: its state goes, B's stays.
      const gone = broker.mark();
      await a.end();
      const escaped = idA.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      await broker.waitForLog(new RegExp(`wasm-auth: rate-limit: forgot ${escaped} \\(1 clients tracked\\)`), { since: gone });
      // B's refusals are now reported with only B tracked.
      const rb2 = await burst(b, 'rl/b', 20);
      assert.ok(rb2.codes.includes(NOT_AUTHORIZED_V5), `client B: ${rb2.codes.join(',')}`);
      await broker.waitForLog(/wasm-auth: rate-limit: \d+ publishes denied in the last 1 s \(1 clients tracked\)/, { since: gone });
    } finally {
      await endAll(sub, a, b);
    }
  });

  test('a client that comes back after disconnecting starts with a full bucket', async () => {
    const id = uniqueId('rl-back');
    const c1 = await connect({ port: broker.port, version: 5, clientId: id });
    const since = broker.mark();
    try {
      assertLimited(await burst(c1, 'rl/back', 10), 'first connection');
    } finally {
      await endAll(c1);
    }
    await broker.waitForLog(/wasm-auth: rate-limit: forgot /, { since });
    const c2 = await connect({ port: broker.port, version: 5, clientId: id });
    try {
      assertLimited(await burst(c2, 'rl/back', 10), 'second connection');
    } finally {
      await endAll(c2);
    }
  });
});
