// acl_check through the plugin: READ, WRITE, SUBSCRIBE and UNSUBSCRIBE are separate decisions,
// the username and client id reach the policy, the host imports answer for the right client,
// and denials show up as the protocol says (SUBACK 128/135, PUBACK 135, silent drop).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Packet } from 'mqtt';
import type { Broker } from '../harness/broker.js';
import { type Client, connect, deliveries, endAll, subDeniedCode, uniqueId, VERSIONS } from '../harness/mqtt.js';
import { fixture } from '../harness/paths.js';
import { startPolicyBroker } from '../harness/policy-broker.js';

let broker: Broker;
before(async () => {
  broker = await startPolicyBroker({ name: 'acl', module: fixture('rules') });
});
after(() => broker?.stop());

function alice(v: 4 | 5, clientId?: string): Promise<Client> {
  return connect({ port: broker.port, version: v, username: 'alice', password: 'alice-pw', clientId });
}

for (const v of VERSIONS) {
  describe(`acl (MQTT v${v})`, () => {
    test('SUBSCRIBE is decided per filter', async () => {
      const c = await alice(v);
      try {
        const denied = subDeniedCode(v);
        assert.deepEqual(await c.subscribe('open/#', 1), [1]);
        assert.deepEqual(await c.subscribe('read-only/#', 1), [1]);
        assert.deepEqual(await c.subscribe('sub-no-read/#', 0), [0]);
        assert.deepEqual(await c.subscribe('write-only/#', 1), [denied]);
        assert.deepEqual(await c.subscribe('nothing/#', 1), [denied]);
        assert.deepEqual(await c.subscribe('user/alice/#', 2), [2]);
        assert.deepEqual(await c.subscribe('user/bob/#', 0), [denied]);
        // One SUBSCRIBE packet, several filters: each gets its own code.
        assert.deepEqual(await c.subscribe(['open/a', 'write-only/a', 'read-only/a'], 1), [1, denied, 1]);
      } finally {
        await c.end();
      }
    });

    test('READ and WRITE are separate: only messages both allowed arrive', async () => {
      const sub = await alice(v);
      const pub = await alice(v);
      try {
        await sub.subscribe(['open/#', 'read-only/#', 'sub-no-read/#', 'user/alice/#'], 0);
        const { arrived } = await deliveries(
          pub,
          sub,
          [
            { topic: 'read-only/1' }, // WRITE denied
            { topic: 'sub-no-read/1' }, // WRITE allowed, READ denied
            { topic: 'open/1' }, // both allowed
            { topic: 'user/alice/1' }, // allowed for this username
          ],
          'open/marker',
        );
        assert.deepEqual(arrived, [false, false, true, true]);
      } finally {
        await endAll(sub, pub);
      }
    });

    test('QoS 1 publish: PUBACK says whether WRITE was allowed', async () => {
      const c = await alice(v);
      try {
        const refused = v === 5 ? 135 : 0; // MQTT 3.1.1 has no reason code: PUBACK is always 0
        assert.equal(await c.publish('open/q', 'x', { qos: 1 }), 0);
        assert.equal(await c.publish('write-only/q', 'x', { qos: 1 }), 0);
        assert.equal(await c.publish('sub-no-read/q', 'x', { qos: 1 }), 0);
        assert.equal(await c.publish('read-only/q', 'x', { qos: 1 }), refused);
        assert.equal(await c.publish('nothing/q', 'x', { qos: 1 }), refused);
        assert.equal(await c.publish('user/alice/q', 'x', { qos: 1 }), 0);
        assert.equal(await c.publish('user/bob/q', 'x', { qos: 1 }), refused);
        assert.equal(await c.publish('defer/q', 'x', { qos: 1 }), refused, 'defer with no other plugin denies');
      } finally {
        await c.end();
      }
    });

    test('client id reaches the policy', async () => {
      const id = uniqueId('cid');
      const c = await alice(v, id);
      const other = await alice(v);
      try {
        assert.deepEqual(await c.subscribe([`client/${id}/#`, 'open/#'], 0), [0, 0]);
        assert.deepEqual(await other.subscribe(`client/${id}/#`, 0), [subDeniedCode(v)]);
        // other may not write into c's space; c may. c reads its own messages.
        const { arrived } = await deliveries(
          c,
          c,
          [{ topic: `client/${id}/self` }],
          'open/marker-cid',
        );
        assert.deepEqual(arrived, [true]);
        const fromOther = await deliveries(other, c, [{ topic: `client/${id}/from-other` }], 'open/marker-cid2');
        assert.deepEqual(fromOther.arrived, [false]);
      } finally {
        await endAll(c, other);
      }
    });

    test('host imports client_id / client_address / client_protocol_version answer for this client', async () => {
      const c = await alice(v);
      try {
        assert.deepEqual(await c.subscribe('whoami/#', 0), [0]);
        assert.deepEqual(await c.subscribe('v5-only/#', 0), [v === 5 ? 0 : subDeniedCode(v)]);
      } finally {
        await c.end();
      }
    });

    test('host topic_matches_sub answers 1, 0 and -1 inside the broker', async () => {
      const c = await alice(v);
      try {
        // The fixture grants SUBSCRIBE under match/ only where the host calls the filter invalid
        // as a topic (-1), and READ/WRITE where match/+/x matches (1).
        assert.deepEqual(await c.subscribe('match/#', 0), [0]);
        assert.deepEqual(await c.subscribe('match/a/x', 0), [subDeniedCode(v)]);
        await c.subscribe('open/#', 0);
        const { arrived, codes } = await deliveries(
          c,
          c,
          [{ topic: 'match/a/x', qos: 1 }, { topic: 'match/a/y', qos: 1 }, { topic: 'match/a/b/x', qos: 1 }],
          'open/marker-match',
        );
        assert.deepEqual(arrived, [true, false, false]);
        assert.deepEqual(codes, v === 5 ? [0, 135, 135] : [0, 0, 0]);
      } finally {
        await c.end();
      }
    });

    test('retained messages are checked for READ when delivered at subscribe time', async () => {
      const pub = await alice(v);
      const sub = await alice(v);
      const tag = uniqueId('r');
      try {
        // WRITE is allowed on both; only open/ may be read.
        await pub.publish(`sub-no-read/${tag}`, 'hidden', { qos: 1, retain: true });
        await pub.publish(`open/${tag}`, 'visible', { qos: 1, retain: true });
        assert.deepEqual(await sub.subscribe(`sub-no-read/${tag}`, 0), [0]);
        // The second subscription's retained message is the positive control: retained messages
        // are sent in subscription order, so once it is here the first would have been too.
        assert.deepEqual(await sub.subscribe(`open/${tag}`, 0), [0]);
        const m = await sub.waitForMessage((x) => x.topic === `open/${tag}`);
        assert.equal(m.payload.toString(), 'visible');
        assert.equal(m.retain, true);
        assert.equal(sub.received.some((x) => x.topic === `sub-no-read/${tag}`), false);
      } finally {
        await endAll(pub, sub);
      }
    });
  });
}

describe('acl: UNSUBSCRIBE is its own access type (MQTT 5 UNSUBACK reason codes)', () => {
  test('unsubscribe from a filter the policy allows only for READ/SUBSCRIBE is refused', async () => {
    const c = await alice(5);
    try {
      await c.subscribe(['open/#', 'read-only/#'], 0);
      const codes = await new Promise<number[]>((resolve, reject) => {
        const onPacket = (p: Packet) => {
          if (p.cmd === 'unsuback') {
            c.mqtt.removeListener('packetreceive', onPacket);
            resolve([...((p as { granted?: number[] }).granted ?? [])]);
          }
        };
        c.mqtt.on('packetreceive', onPacket);
        c.mqtt.unsubscribe(['open/#', 'read-only/#'], (err) => {
          if (err) reject(err);
        });
      });
      // 0 success, 135 not authorized (mosquitto asks acl_check with access UNSUBSCRIBE = 8).
      assert.deepEqual(codes, [0, 135]);
    } finally {
      await c.end();
    }
  });
});
