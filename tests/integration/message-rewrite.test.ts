// The message hook through a real broker: on_message drops, re-routes, retains and redacts
// (examples/message-rewrite), and every bad rewrite drops the message with one log line while
// the broker keeps serving (tests/fixtures/assembly/message-hostile.ts).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Broker } from '../harness/broker.js';
import { connect, endAll, got, settle, uniqueId, VERSIONS } from '../harness/mqtt.js';
import { example, fixture } from '../harness/paths.js';
import { startPolicyBroker } from '../harness/policy-broker.js';

const FAILED = /on_message failed, message dropped: /g;

describe('examples/message-rewrite', () => {
  let broker: Broker;
  before(async () => {
    broker = await startPolicyBroker({ name: 'message-rewrite', module: example('message-rewrite'), allowAnonymous: true });
  });
  after(() => broker?.stop());

  for (const v of VERSIONS) {
    test(`v${v}: drops drop/..., moves in/... under the tenant, redacts passwords, keeps the rest`, async () => {
      const pub = await connect({ port: broker.port, version: v, username: 'acme' });
      const sub = await connect({ port: broker.port, version: v });
      try {
        await sub.subscribe('#', 1);
        const denied = v === 5 ? 135 : 0;
        assert.equal(await pub.publish('drop/x', 'gone', { qos: 1 }), denied);
        assert.equal(await pub.publish('in/sensor/1', '21.5', { qos: 1 }), 0);
        assert.equal(await pub.publish('in/login', '{"user":"a","password":"s3cret"}', { qos: 0 }), 0);
        assert.equal(await pub.publish('plain', 'as it came', { qos: 1 }), 0);
        await settle(pub, sub);
        assert.deepEqual(got(sub, 'drop/x'), []);
        assert.deepEqual(got(sub, 'in/sensor/1'), []);
        assert.deepEqual(got(sub, 'tenants/acme/in/sensor/1').map((m) => [m.payload.toString(), m.qos]), [['21.5', 1]]);
        assert.deepEqual(got(sub, 'tenants/acme/in/login').map((m) => m.payload.toString()), ['{"user":"a","password":"***"}']);
        assert.deepEqual(got(sub, 'plain').map((m) => m.payload.toString()), ['as it came']);
      } finally {
        await endAll(pub, sub);
      }
    });
  }

  test('status/... is stored retained: a later subscriber gets it with the retain flag', async () => {
    const pub = await connect({ port: broker.port, version: 5, username: 'dev' });
    try {
      const status = `status/${uniqueId('dev')}`;
      assert.equal(await pub.publish(status, 'online', { qos: 1, retain: false }), 0);
      const late = await connect({ port: broker.port, version: 5 });
      try {
        await late.subscribe(status, 1);
        const m = await late.waitForMessage((x) => x.topic === status);
        assert.equal(m.payload.toString(), 'online');
        assert.equal(m.retain, true);
      } finally {
        await late.end();
      }
    } finally {
      await pub.end();
    }
  });

  test('in/... from a client without a username is dropped', async () => {
    const anon = await connect({ port: broker.port, version: 5 });
    try {
      await anon.subscribe('#', 1);
      assert.equal(await anon.publish('in/x', 'who?', { qos: 1 }), 135);
      await settle(anon, anon);
      assert.equal(anon.received.filter((m) => m.topic.endsWith('in/x')).length, 0);
    } finally {
      await anon.end();
    }
  });
});

// mosquitto 2.0.0 to 2.0.14 forget the topic a plugin replaces, 2.0.15 and 2.1 free it
// (plugin-c/broker/topic_leak.h): either way the broker's heap must not grow with every
// rewritten message.
describe('lengthened topics cost the broker no memory per message', () => {
  let broker: Broker;
  before(async () => {
    broker = await startPolicyBroker({
      name: 'message-heap', module: example('message-rewrite'), allowAnonymous: true, after: () => 'sys_interval 1',
      // One client's burst, all of it through the hook: the breaker is not under test here.
      opts: { wasm_client_share: 100, wasm_cpu_share: 100 },
    });
  });
  after(() => broker?.stop());

  // The heap as the broker publishes it next: a fresh subscription's first message is the
  // retained (older) value, its second one is published after the subscription.
  async function heapNow(): Promise<number> {
    const c = await connect({ port: broker.port, version: 4 });
    try {
      await c.subscribe('$SYS/broker/heap/current', 0);
      await c.waitForMessage(() => c.received.length >= 2, 5000);
      return Number(c.received[1].payload.toString());
    } finally {
      await c.end();
    }
  }

  test('20,000 messages moved under their tenant leave the heap where it was', async () => {
    const pub = await connect({ port: broker.port, version: 4, username: 'acme' });
    const sub = await connect({ port: broker.port, version: 4 });
    try {
      // Only the last message has a subscriber: the others are freed as soon as they are handled,
      // so nothing queued for a slow subscriber counts as heap.
      await sub.subscribe('tenants/acme/in/done', 1);
      const flood = async (n: number, tag: string) => {
        for (let i = 0; i < n; i++) void pub.publish('in/sensor/temperature', 'x');
        // PUBACK comes after the broker has handled every earlier message of this connection.
        await pub.publish('in/done', tag, { qos: 1 });
        await sub.waitForMessage((m) => m.payload.toString() === tag, 60000);
      };
      await flood(200, 'warm-up');
      const before = await heapNow();
      const n = 20000;
      await flood(n, 'measured');
      const grown = (await heapNow()) - before;
      // A leaked topic costs its bytes plus the allocator's header: about 24 bytes each here.
      assert.ok(grown < n * 8, `heap grew by ${grown} bytes over ${n} rewritten messages`);
    } finally {
      await endAll(pub, sub);
    }
  });
});

describe('bad rewrites drop the message with one log line (message-hostile fixture)', () => {
  let broker: Broker;
  before(async () => {
    broker = await startPolicyBroker({
      name: 'message-hostile', module: fixture('message-hostile'), allowAnonymous: true, opts: { wasm_max_payload: 1024 },
    });
  });
  after(() => broker?.stop());

  test('each bad rewrite is dropped, staged changes of a refusal are not applied, others are served', async () => {
    const pub = await connect({ port: broker.port, version: 5 });
    const sub = await connect({ port: broker.port, version: 4 });
    try {
      await sub.subscribe('#', 1);
      const since = broker.mark();
      assert.equal(await pub.publish('bad/wild', 'w', { qos: 1 }), 135);
      await broker.waitForLog(/on_message failed, message dropped: message_set_topic: not a topic to publish to/, { since });
      const bad = ['bad/dollar', 'bad/big', 'bad/retain', 'bad/oob', 'bad/answer', 'bad/spin', 'staged/deny'];
      for (const t of bad) assert.equal(await pub.publish(t, 'x', { qos: 1 }), 135, t);
      assert.equal(await pub.publish('staged/defer', 'kept', { qos: 1 }), 0);
      assert.equal(await pub.publish('ok/rewrite', 'original', { qos: 1 }), 0);
      await settle(pub, sub);
      for (const t of ['bad/wild', ...bad, 'x/+', '$SYS/x']) assert.deepEqual(got(sub, t), [], t);
      // Deferred: as it came, nothing staged applied; allowed: every staged change.
      assert.deepEqual(got(sub, 'staged/defer').map((m) => m.payload.toString()), ['kept']);
      assert.deepEqual(got(sub, 'ok/rewrite'), []);
      assert.deepEqual(got(sub, 'out/rewritten').map((m) => m.payload.toString()), ['REWRITTEN']);
      // Eight failures within WA_ERROR_LOG_INTERVAL_S: one line; the next one will count the rest.
      assert.equal([...broker.log().slice(since).matchAll(FAILED)].length, 1, broker.describe());
      // Nothing leaked into a retained message but the allowed rewrite.
      const late = await connect({ port: broker.port, version: 4 });
      try {
        await late.subscribe('out/rewritten', 0);
        const m = await late.waitForMessage((x) => x.topic === 'out/rewritten');
        assert.equal(m.retain, true);
        assert.equal(m.payload.toString(), 'REWRITTEN');
      } finally {
        await late.end();
      }
    } finally {
      await endAll(pub, sub);
    }
  });
});

describe('a rewrite outside on_message fails the hook that made it', () => {
  let broker: Broker;
  before(async () => {
    broker = await startPolicyBroker({ name: 'message-outside', module: fixture('message-hostile'), allowAnonymous: true });
  });
  after(() => broker?.stop());

  test('acl_check calling message_set_topic gets the failure decision, and nothing is rewritten', async () => {
    const c = await connect({ port: broker.port, version: 5 });
    try {
      await c.subscribe('#', 1);
      const since = broker.mark();
      assert.equal(await c.publish('outside/hook', 'x', { qos: 1 }), 135);
      await broker.waitForLog(/acl_check failed, request denied: message_set_topic: called outside on_message/, { since });
      await settle(c, c);
      assert.deepEqual(got(c, 'outside/hook'), []);
      assert.deepEqual(got(c, 'out/rewritten'), []);
    } finally {
      await c.end();
    }
  });
});
