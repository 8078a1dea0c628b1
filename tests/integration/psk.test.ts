// TLS-PSK: the broker asks psk_key_get for the identity's key. MQTT.js connects over Node's TLS
// with a PSK cipher (TLS 1.2); a wrong key or unknown identity fails the handshake. With
// use_identity_as_username the identity becomes the username the ACL sees.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { type Broker, listener, pluginConf, startBroker } from '../harness/broker.js';
import { connect, tryConnect, VERSIONS } from '../harness/mqtt.js';
import { example, fixture, requireFile } from '../harness/paths.js';

const FIXTURE_KEY = '00112233445566778899aabbccddeeff';

function pskBroker(name: string, module: string, hint: string): Promise<Broker> {
  requireFile(module, `policy module for ${name}`);
  return startBroker({
    name,
    ports: 2,
    config: (ctx) =>
      [
        listener(ctx.ports[0]),
        listener(ctx.ports[1]),
        `psk_hint ${hint}`,
        'use_identity_as_username true',
        pluginConf({ module }),
      ].join('\n'),
  });
}

describe('PSK with the fixture policy', () => {
  let broker: Broker;
  before(async () => {
    broker = await pskBroker('psk-fixture', fixture('rules'), 'fixture-hint');
  });
  after(() => broker?.stop());

  for (const v of VERSIONS) {
    test(`v${v}: right identity and key connect; identity is the username`, async () => {
      const c = await connect({ port: broker.ports[1], version: v, psk: { identity: 'fixture-id', keyHex: FIXTURE_KEY } });
      try {
        // user/<username>/# is allowed only for that username.
        assert.deepEqual(await c.subscribe('user/fixture-id/#', 0), [0]);
        assert.deepEqual(await c.subscribe('user/alice/#', 0), [v === 5 ? 135 : 128]);
      } finally {
        await c.end();
      }
    });

    test(`v${v}: wrong key or unknown identity fails the TLS handshake`, async () => {
      const wrongKey = await tryConnect({ port: broker.ports[1], version: v, psk: { identity: 'fixture-id', keyHex: 'ff' + FIXTURE_KEY.slice(2) } });
      assert.equal(wrongKey.ok, false);
      assert.equal(wrongKey.code, -1, 'no CONNACK: the handshake failed');
      const unknown = await tryConnect({ port: broker.ports[1], version: v, psk: { identity: 'nobody', keyHex: FIXTURE_KEY } });
      assert.equal(unknown.ok, false);
      assert.equal(unknown.code, -1);
    });
  }

  test('the plain listener is unaffected and the broker still runs', async () => {
    const c = await connect({ port: broker.ports[0], version: 4, username: 'alice', password: 'alice-pw' });
    await c.end();
    assert.ok(broker.running);
  });
});

describe('PSK with the psk example (keys from psk_file, ACL by identity)', () => {
  const DEV1 = { identity: 'dev-1', keyHex: 'a1b2c3d4e5f60718293a4b5c6d7e8f90' };
  const DEV2 = { identity: 'dev-2', keyHex: '0f1e2d3c4b5a69788796a5b4c3d2e1f0' };
  let broker: Broker;
  before(async () => {
    const mod = requireFile(example('psk'), 'example psk');
    broker = await startBroker({
      name: 'psk-example',
      ports: 2,
      files: { psk: `# identity:hexkey\n${DEV1.identity}:${DEV1.keyHex}\n` },
      config: (ctx) =>
        [
          listener(ctx.ports[0]),
          listener(ctx.ports[1]),
          'psk_hint example-hint',
          'use_identity_as_username true',
          pluginConf({ module: mod, opts: { psk_file: ctx.file('psk') } }),
        ].join('\n'),
    });
  });
  after(() => broker?.stop());

  for (const v of VERSIONS) {
    test(`v${v}: a listed identity connects and owns devices/<identity>`, async () => {
      const c = await connect({ port: broker.ports[1], version: v, psk: DEV1 });
      try {
        const denied = v === 5 ? 135 : 0;
        assert.equal(await c.publish('devices/dev-1/temp', '21', { qos: 1 }), 0);
        assert.equal(await c.publish('devices/dev-2/temp', '21', { qos: 1 }), denied);
        assert.equal(await c.publish('broadcast/all', 'x', { qos: 1 }), denied, 'broadcast is read-only');
        assert.deepEqual(await c.subscribe('broadcast/#', 0), [0]);
        assert.deepEqual(await c.subscribe('devices/dev-2/#', 0), [v === 5 ? 135 : 128]);
      } finally {
        await c.end();
      }
    });

    test(`v${v}: wrong key and unlisted identity fail the handshake`, async () => {
      const flipped = (parseInt(DEV1.keyHex.slice(0, 2), 16) ^ 0xff).toString(16).padStart(2, '0') + DEV1.keyHex.slice(2);
      assert.equal((await tryConnect({ port: broker.ports[1], version: v, psk: { ...DEV1, keyHex: flipped } })).code, -1);
      assert.equal((await tryConnect({ port: broker.ports[1], version: v, psk: DEV2 })).code, -1);
    });
  }

  test('SIGHUP re-reads psk_file: a new identity gets in', async () => {
    writeFileSync(broker.ctx.file('psk'), `${DEV1.identity}:${DEV1.keyHex}\n${DEV2.identity}:${DEV2.keyHex}\n`);
    await broker.sighup();
    const c = await connect({ port: broker.ports[1], version: 5, psk: DEV2 });
    try {
      assert.equal(await c.publish('devices/dev-2/temp', '19', { qos: 1 }), 0);
    } finally {
      await c.end();
    }
  });
});
