// CONNECT through the plugin: unpwd_check decides, with the refusal codes of each protocol
// version, binary passwords, anonymous clients, a trapping login and a deferred login.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Broker } from '../harness/broker.js';
import { connect, refusedCode, tryConnect, VERSIONS } from '../harness/mqtt.js';
import { fixture } from '../harness/paths.js';
import { startPolicyBroker } from '../harness/policy-broker.js';

// Not valid UTF-8. No NUL byte: mosquitto 2.0 passes the password to plugins as a C string, so
// bytes after a NUL never reach any plugin (nor its own password_file check).
const BINARY_PW = Buffer.from([0xff, 0xc3, 0x28, 0x01]);

describe('connect: unpwd_check decides (fixture rules, allow_anonymous true)', () => {
  let broker: Broker;
  // The broker lets anonymous clients through its own check, so the policy's answer is what counts.
  before(async () => {
    broker = await startPolicyBroker({ name: 'connect', module: fixture('rules'), allowAnonymous: true });
  });
  after(() => broker?.stop());

  for (const v of VERSIONS) {
    test(`v${v}: good password connects, wrong/unknown/empty are refused with ${refusedCode(v)}`, async () => {
      const ok = await connect({ port: broker.port, version: v, username: 'alice', password: 'alice-pw' });
      await ok.end();
      for (const [username, password] of [
        ['alice', 'bob-pw'],
        ['alice', 'alice-pw '],
        ['alice', ''],
        ['mallory', 'alice-pw'],
        ['', 'alice-pw'],
      ] as const) {
        const r = await tryConnect({ port: broker.port, version: v, username, password });
        assert.equal(r.code, refusedCode(v), `${JSON.stringify(username)}/${JSON.stringify(password)}`);
      }
    });

    test(`v${v}: password is passed as raw bytes (not UTF-8)`, async () => {
      const ok = await connect({ port: broker.port, version: v, username: 'binary', password: BINARY_PW });
      await ok.end();
      // The same bytes decoded lossily as UTF-8 and re-encoded differ: must be refused.
      const lossy = Buffer.from(BINARY_PW.toString('utf8'), 'utf8');
      assert.notDeepEqual(lossy, BINARY_PW);
      const r = await tryConnect({ port: broker.port, version: v, username: 'binary', password: lossy });
      assert.equal(r.code, refusedCode(v));
    });

    test(`v${v}: username without password reaches the policy as "no password"`, async () => {
      const r = await tryConnect({ port: broker.port, version: v, username: 'alice' });
      assert.equal(r.code, refusedCode(v));
    });

    test(`v${v}: anonymous client is refused when the policy says so`, async () => {
      const r = await tryConnect({ port: broker.port, version: v });
      assert.equal(r.code, refusedCode(v));
    });

    test(`v${v}: a login that traps is refused and the next login still works`, async () => {
      const r = await tryConnect({ port: broker.port, version: v, username: 'trap', password: 'x' });
      assert.equal(r.code, refusedCode(v));
      const ok = await connect({ port: broker.port, version: v, username: 'bob', password: 'bob-pw' });
      await ok.end();
    });

    test(`v${v}: a deferred login with no other plugin is refused`, async () => {
      const r = await tryConnect({ port: broker.port, version: v, username: 'defer', password: 'x' });
      assert.equal(r.code, refusedCode(v));
    });
  }

  test('the trapping login was logged with the policy abort message', async () => {
    await broker.waitForLog(/wasm-auth: .*fixture login trap/);
    assert.ok(broker.running);
  });
});

describe('connect: anonymous allowed by a policy option', () => {
  let broker: Broker;
  before(async () => {
    broker = await startPolicyBroker({
      name: 'connect-anon',
      module: fixture('rules'),
      allowAnonymous: true,
      opts: { fixture_anonymous: 'allow' },
    });
  });
  after(() => broker?.stop());

  for (const v of VERSIONS) {
    test(`v${v}: anonymous connects; a wrong password is still refused`, async () => {
      const c = await connect({ port: broker.port, version: v });
      await c.end();
      const r = await tryConnect({ port: broker.port, version: v, username: 'alice', password: 'nope' });
      assert.equal(r.code, refusedCode(v));
    });
  }
});
