// The example policies in a real broker: testauth (what mosquitto asks, seen through its log),
// static-users, payload-rules. psk and defer-dynsec have their own files (psk, dynsec).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { type Broker, listener, pluginConf, startBroker } from '../harness/broker.js';
import { connect, deliveries, endAll, refusedCode, subDeniedCode, tryConnect, uniqueId, VERSIONS } from '../harness/mqtt.js';
import { example, requireFile } from '../harness/paths.js';
import { startPolicyBroker } from '../harness/policy-broker.js';

const run = promisify(execFile);

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('testauth: every hook logs what the broker asked', () => {
  let broker: Broker;
  const KEY = 'c0ffee00c0ffee00';
  before(async () => {
    const mod = requireFile(example('testauth'), 'example testauth');
    broker = await startBroker({
      name: 'testauth',
      ports: 2,
      config: (ctx) =>
        [
          listener(ctx.ports[0]),
          'allow_anonymous true',
          listener(ctx.ports[1]),
          'psk_hint testauth-hint',
          'use_identity_as_username true',
          pluginConf({ module: mod, opts: { psk_key: KEY, some_option: 'some value' } }),
        ].join('\n'),
    });
  });
  after(() => broker?.stop());

  test('plugin_init sees every option, wasm_module first', async () => {
    const m = await broker.waitForLog(/testauth: plugin_init \(opts: \{(.*)\}\)/);
    assert.match(m[1], /^wasm_module: "[^"]*testauth\.wasm", psk_key: "c0ffee00c0ffee00", some_option: "some value"$/);
  });

  for (const v of VERSIONS) {
    test(`v${v}: login, SUBSCRIBE, WRITE, READ, UNSUBSCRIBE reach the policy as such`, async () => {
      const id = uniqueId('ta');
      const since = broker.mark();
      const c = await connect({ port: broker.port, version: v, username: 'tester', password: 'secret', clientId: id });
      try {
        await broker.waitForLog(new RegExp(`unpwd_check \\(username: "tester", password: 6 bytes, protocol: ${v}\\)`), { since });
        const who = `clientid: "${escape(id)}", username: "tester"`;
        await c.subscribe('ta/#', 0);
        await broker.waitForLog(new RegExp(`acl_check \\(${who}, topic: "ta/#", access: MOSQ_ACL_SUBSCRIBE\\)`), { since });
        await c.publish('ta/x', 'hello', { qos: 1 });
        await c.waitForMessage((m) => m.topic === 'ta/x');
        await broker.waitForLog(new RegExp(`acl_check \\(${who}, topic: "ta/x", access: MOSQ_ACL_WRITE\\)`), { since });
        await broker.waitForLog(new RegExp(`acl_check \\(${who}, topic: "ta/x", access: MOSQ_ACL_READ\\)`), { since });
        await new Promise<void>((res, rej) => c.mqtt.unsubscribe('ta/#', (e) => (e ? rej(e) : res())));
        await broker.waitForLog(new RegExp(`acl_check \\(${who}, topic: "ta/#", access: MOSQ_ACL_UNSUBSCRIBE\\)`), { since });
      } finally {
        await c.end();
      }
    });

    test(`v${v}: anonymous login reaches the policy without a username`, async () => {
      const since = broker.mark();
      const c = await connect({ port: broker.port, version: v });
      await c.end();
      await broker.waitForLog(/unpwd_check \(username: \(none\), password: \(none\)/, { since });
    });
  }

  test('PSK: the identity and hint reach psk_key_get; its key completes the handshake', async () => {
    const since = broker.mark();
    const c = await connect({ port: broker.ports[1], version: 5, psk: { identity: 'any-device', keyHex: KEY } });
    await c.end();
    await broker.waitForLog(/psk_key_get \(identity: "any-device", hint: "testauth-hint"/, { since });
    const bad = await tryConnect({ port: broker.ports[1], version: 5, psk: { identity: 'any-device', keyHex: 'c0ffee00c0ffee01' } });
    assert.equal(bad.code, -1);
  });
});

describe('static-users', () => {
  let builtin: Broker;
  let fromFile: Broker;
  before(async () => {
    const mod = requireFile(example('static-users'), 'example static-users');
    [builtin, fromFile] = await Promise.all([
      startPolicyBroker({ name: 'static-users', module: mod }),
      startPolicyBroker({
        name: 'static-users-file',
        module: mod,
        setup: async (ctx) => {
          await run('mosquitto_passwd', ['-c', '-b', ctx.file('passwd'), 'carol', 'carol-pw']);
        },
        opts: { password_file: (ctx) => ctx.file('passwd') },
      }),
    ]);
  });
  after(async () => {
    await Promise.all([builtin?.stop(), fromFile?.stop()]);
  });

  for (const v of VERSIONS) {
    test(`v${v}: built-in users; users/<name> is theirs, public is read-only`, async () => {
      assert.equal((await tryConnect({ port: builtin.port, version: v, username: 'alice', password: 'bob-secret' })).code, refusedCode(v));
      assert.equal((await tryConnect({ port: builtin.port, version: v })).code, refusedCode(v));
      const a = await connect({ port: builtin.port, version: v, username: 'alice', password: 'alice-secret' });
      const b = await connect({ port: builtin.port, version: v, username: 'bob', password: 'bob-secret' });
      try {
        assert.deepEqual(await a.subscribe(['users/alice/#', 'public/#', 'users/bob/#'], 0), [0, 0, subDeniedCode(v)]);
        // bob writes into alice's space and public, QoS 1: the PUBACK means the broker has
        // handled each one before alice's own messages below, whose marker is the control.
        await b.publish('users/alice/from-bob', 'x', { qos: 1 });
        await b.publish('public/from-bob', 'x', { qos: 1 });
        const own = await deliveries(a, a, [{ topic: 'users/alice/x' }, { topic: 'public/x' }], 'users/alice/marker');
        assert.deepEqual(own.arrived, [true, false]);
        const denied = v === 5 ? 135 : 0;
        assert.equal(await a.publish('users/bob/x', 'x', { qos: 1 }), denied);
        assert.equal(await a.publish('users/alice/y', 'x', { qos: 1 }), 0);
        assert.deepEqual(a.received.filter((m) => m.topic.endsWith('/from-bob')), [], 'bob may write neither');
      } finally {
        await endAll(a, b);
      }
    });
  }

  test('password_file replaces the built-in users', async () => {
    const c = await connect({ port: fromFile.port, version: 5, username: 'carol', password: 'carol-pw' });
    await c.end();
    assert.equal((await tryConnect({ port: fromFile.port, version: 5, username: 'alice', password: 'alice-secret' })).code, 135);
  });
});

describe('payload-rules (max_qos 1, max_payload 32)', () => {
  let broker: Broker;
  before(async () => {
    broker = await startPolicyBroker({
      name: 'payload-rules',
      module: example('payload-rules'),
      allowAnonymous: true,
      opts: { max_qos: 1, max_payload: 32 },
    });
  });
  after(() => broker?.stop());

  test('the options were read', async () => {
    await broker.waitForLog(/payload-rules: max_qos 1, max_payload 32/);
  });

  for (const v of VERSIONS) {
    test(`v${v}: retain, qos, size and JSON shape are enforced on publish`, async () => {
      const pub = await connect({ port: broker.port, version: v });
      const sub = await connect({ port: broker.port, version: v });
      try {
        await sub.subscribe('#', 2);
        const { arrived, codes } = await deliveries(
          pub,
          sub,
          [
            { topic: 'telemetry/t1', payload: '{"t":21.5}' },
            { topic: 'telemetry/t2', payload: ' [1, 2] ' },
            { topic: 'telemetry/t3', payload: 'hello' },
            { topic: 'telemetry/t4', payload: '' },
            { topic: 'telemetry/t5', payload: '{"t":1}', retain: true },
            { topic: 'telemetry/t6', payload: '{"t":1', qos: 1 },
            { topic: 'other/a', payload: 'x'.repeat(32) },
            { topic: 'other/b', payload: 'x'.repeat(33) },
            { topic: 'other/c', payload: 'q1', qos: 1 },
            { topic: 'other/d', payload: 'q2', qos: 2 },
            { topic: 'other/e', payload: 'kept', retain: true },
          ],
          'other/marker',
        );
        assert.deepEqual(arrived, [true, true, false, false, false, false, true, false, true, false, true]);
        const denied = v === 5 ? 135 : 0;
        assert.equal(codes[5], denied, 'QoS 1 publish of malformed JSON');
        assert.equal(codes[8], 0, 'QoS 1 allowed');
        assert.equal(codes[9], denied, 'QoS 2 above max_qos (PUBREC reason in MQTT 5)');
      } finally {
        await endAll(pub, sub);
      }
    });
  }
});
