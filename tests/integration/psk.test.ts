// TLS-PSK: the broker asks psk_key_get for the identity's key. MQTT.js connects over Node's TLS
// with a PSK cipher (TLS 1.2); a wrong key or unknown identity fails the handshake. With
// use_identity_as_username the identity becomes the username the ACL sees.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Broker, listener, pluginConf, startBroker } from '../harness/broker.js';
import { connect, tryConnect, VERSIONS } from '../harness/mqtt.js';
import { fixture, requireFile } from '../harness/paths.js';

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
