// Events and deferred actions through a real broker (examples/session-events): on_tick's
// heartbeat published by the broker under plugin_opt_wasm_publish_prefix and seen by a real
// subscriber; a client publishing to kick/me refused and disconnected by kick_client; the
// disconnects counted by on_disconnect; a publish outside the prefix refused and logged.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Broker } from '../harness/broker.js';
import { connect, endAll, uniqueId, type Message } from '../harness/mqtt.js';
import { example } from '../harness/paths.js';
import { startPolicyBroker } from '../harness/policy-broker.js';

interface Heartbeat {
  ticks: number;
  disconnects: number;
  kicks: number;
}

const beat = (m: Message): Heartbeat => JSON.parse(m.payload.toString()) as Heartbeat;

describe('session-events: on_tick, on_disconnect, kick_client, publish', () => {
  let broker: Broker;
  before(async () => {
    broker = await startPolicyBroker({
      name: 'session-events',
      module: example('session-events'),
      allowAnonymous: true,
      // kicked_topic lies outside the prefix on purpose: that publish must be refused, and logged.
      opts: { wasm_tick_ms: 100, wasm_publish_prefix: 'wasm/', kicked_topic: 'audit/kicked' },
    });
  });
  after(() => broker?.stop());

  test('the heartbeat arrives, published by the broker under the prefix, every wasm_tick_ms', async () => {
    const sub = await connect({ port: broker.port, version: 5 });
    try {
      assert.deepEqual(await sub.subscribe('wasm/#', 0), [0]);
      const first = beat(await sub.waitForMessage((m) => m.topic === 'wasm/heartbeat'));
      const later = beat(await sub.waitForMessage((m) => m.topic === 'wasm/heartbeat' && beat(m).ticks >= first.ticks + 3));
      assert.ok(later.ticks > first.ticks);
    } finally {
      await endAll(sub);
    }
  });

  test('a client publishing to kick/me is refused and disconnected; its disconnect is counted', async () => {
    const sub = await connect({ port: broker.port, version: 4 });
    const id = uniqueId('kicked');
    const bad = await connect({ port: broker.port, version: 5, clientId: id });
    try {
      await sub.subscribe(['wasm/#', 'kick/#'], 1);
      const before = beat(await sub.waitForMessage((m) => m.topic === 'wasm/heartbeat'));
      const since = broker.mark();
      const closed = new Promise<void>((resolve) => bad.mqtt.once('close', () => resolve()));
      // QoS 1: the PUBACK says the publish was not authorized (MQTT 5), then the kick follows.
      const code = await bad.publish('kick/me', 'please', { qos: 1 });
      assert.ok(code === 135 || code === 0, `PUBACK ${code}`);
      await closed;
      assert.equal(bad.mqtt.connected, false);
      assert.ok(!sub.received.some((m) => m.topic === 'kick/me'), 'the refused publish was not delivered');
      // The kick counted, then its disconnect, in a later heartbeat.
      const after = beat(await sub.waitForMessage((m) => {
        if (m.topic !== 'wasm/heartbeat') return false;
        const b = beat(m);
        return b.kicks >= before.kicks + 1 && b.disconnects >= before.disconnects + 1;
      }));
      assert.ok(after.kicks > before.kicks);
      // The announcement to audit/kicked is outside wasm_publish_prefix: refused, and logged.
      await broker.waitForLog(/wasm-auth: publish: audit\/kicked refused: outside wasm_publish_prefix wasm/, { since });
      assert.ok(!sub.received.some((m) => m.topic.startsWith('audit/')));
      // The broker keeps serving: the subscriber is still there and the heartbeat goes on.
      await sub.waitForMessage((m) => m.topic === 'wasm/heartbeat' && beat(m).ticks > after.ticks);
    } finally {
      await endAll(sub, bad);
    }
  });

  test('ordinary clients come and go; each disconnect is counted', async () => {
    const sub = await connect({ port: broker.port, version: 5 });
    try {
      await sub.subscribe('wasm/heartbeat', 0);
      const before = beat(await sub.waitForMessage((m) => m.topic === 'wasm/heartbeat'));
      for (let i = 0; i < 3; i++) {
        const c = await connect({ port: broker.port, version: 4 });
        await c.end();
      }
      await sub.waitForMessage((m) => m.topic === 'wasm/heartbeat' && beat(m).disconnects >= before.disconnects + 3);
    } finally {
      await endAll(sub);
    }
  });

  test('a client whose session outlives its connection is counted when it goes offline', async () => {
    // mosquitto 2.1 tells plugins MOSQ_EVT_CLIENT_OFFLINE, not MOSQ_EVT_DISCONNECT, for such a client.
    const sub = await connect({ port: broker.port, version: 5 });
    try {
      await sub.subscribe('wasm/heartbeat', 0);
      const before = beat(await sub.waitForMessage((m) => m.topic === 'wasm/heartbeat'));
      const c = await connect({ port: broker.port, version: 4, clean: false, clientId: uniqueId('kept') });
      await c.end();
      await sub.waitForMessage((m) => m.topic === 'wasm/heartbeat' && beat(m).disconnects >= before.disconnects + 1);
    } finally {
      await endAll(sub);
    }
  });
});

describe('session-events without wasm_publish_prefix', () => {
  let broker: Broker;
  before(async () => {
    broker = await startPolicyBroker({
      name: 'session-events-noprefix',
      module: example('session-events'),
      allowAnonymous: true,
      opts: { wasm_tick_ms: 50 },
    });
  });
  after(() => broker?.stop());

  test('every publish is refused, with one warning naming the option', async () => {
    const sub = await connect({ port: broker.port, version: 5 });
    try {
      await sub.subscribe('#', 0);
      await broker.waitForLog(/wasm-auth: publish: wasm\/heartbeat refused: plugin_opt_wasm_publish_prefix is not set/);
      // Several ticks later, still the one line (rate-limited), and nothing published.
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(broker.lines().filter((l) => l.includes('plugin_opt_wasm_publish_prefix is not set')).length, 1, broker.describe());
      assert.ok(!sub.received.some((m) => m.topic.startsWith('wasm/')));
    } finally {
      await endAll(sub);
    }
  });
});
