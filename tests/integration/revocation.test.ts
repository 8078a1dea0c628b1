// Revocation through a real broker: the default policy with a password_file written by
// mosquitto_passwd; after a user is removed from the file and the broker reloads (SIGHUP), the
// plugin asks session_check of every session the policy let in, and exactly that user's sessions
// are disconnected. Everyone else goes on being served, and the removed user cannot log in again.
// Sessions that MQTT 5 enhanced authentication let in are asked the same way.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import type { Broker, ConfigContext } from '../harness/broker.js';
import { type Client, connect, endAll, tryConnect, uniqueId } from '../harness/mqtt.js';
import { DEFAULT_POLICY_WASM, fixture, requireFile } from '../harness/paths.js';
import { startPolicyBroker } from '../harness/policy-broker.js';

const run = promisify(execFile);

const ACL = 'pattern readwrite users/%u/#\n';
const USERS = ['alice', 'bob', 'carol'];

async function writePasswords(file: string, users: string[]): Promise<void> {
  writeFileSync(file, '');
  for (const u of users) await run('mosquitto_passwd', ['-b', file, u, `${u}-pw`]);
}

const closed = (c: Client): Promise<void> =>
  new Promise((resolve) => {
    if (!c.mqtt.connected) resolve();
    else c.mqtt.once('close', () => resolve());
  });

/** p, or a failure naming what did not happen within 10 s (a regression fails, never hangs). */
function within<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within 10 s`)), 10000);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** A round trip on the user's own topic: the session is served. */
async function roundTrip(c: Client, user: string): Promise<void> {
  const topic = `users/${user}/${uniqueId('t')}`;
  assert.deepEqual(await c.subscribe(topic, 1), [1]);
  assert.equal(await c.publish(topic, 'ping', { qos: 1 }), 0);
  await c.waitForMessage((m) => m.topic === topic);
}

describe('revocation: sessions of users removed from password_file are disconnected on reload', () => {
  let broker: Broker;
  let passwd = '';
  before(async () => {
    broker = await startPolicyBroker({
      name: 'revocation',
      module: DEFAULT_POLICY_WASM,
      allowAnonymous: true, // anonymous clients are the broker's (no plugin_opt_allow_anonymous)
      files: { acl: ACL },
      setup: async (ctx: ConfigContext) => {
        passwd = ctx.file('passwd');
        await writePasswords(passwd, USERS);
      },
      opts: { password_file: (ctx) => ctx.file('passwd'), acl_file: (ctx) => ctx.file('acl') },
    });
  });
  after(() => broker?.stop());

  test('only the removed user\'s sessions go, each named in the log; the others are served', async () => {
    const login = (user: string, version: 4 | 5 = 5) =>
      connect({ port: broker.port, version, clientId: uniqueId(user), username: user, password: `${user}-pw` });
    const alice = await login('alice');
    const bob1 = await login('bob');
    const bob2 = await login('bob', 4);
    const carol = await login('carol', 4);
    const anon = await connect({ port: broker.port, version: 5 });
    try {
      for (const [c, u] of [[alice, 'alice'], [bob1, 'bob'], [carol, 'carol']] as const) await roundTrip(c, u);
      const bobGone = Promise.all([closed(bob1), closed(bob2)]);

      await writePasswords(passwd, ['alice', 'carol']);
      const since = await broker.sighup();
      await broker.waitForLog(/session_check after the reload: 4 sessions asked, 2 disconnected/, { since });
      await within(bobGone, "bob's sessions closed");
      for (const id of [bob1.mqtt.options.clientId, bob2.mqtt.options.clientId]) {
        assert.match(broker.log().slice(since), new RegExp(`disconnecting client ${id}: session_check refused its session after the reload`));
      }
      assert.equal(bob1.mqtt.connected, false);
      assert.equal(bob2.mqtt.connected, false);

      // Everyone else stays connected and is served by the reloaded policy.
      for (const c of [alice, carol, anon]) assert.equal(c.mqtt.connected, true);
      await roundTrip(alice, 'alice');
      await roundTrip(carol, 'carol');
      // bob cannot come back; alice can still log in.
      const again = await tryConnect({ port: broker.port, version: 5, username: 'bob', password: 'bob-pw' });
      if (again.ok) await endAll(again.client);
      assert.equal(again.ok, false);
      assert.equal(again.code, 135); // MQTT 5: not authorized
      await endAll(await login('alice', 4));
    } finally {
      await endAll(alice, bob1, bob2, carol, anon);
    }
  });

  test('a reload that removes nobody disconnects nobody, and sessions made since are asked', async () => {
    const alice = await connect({ port: broker.port, version: 5, clientId: uniqueId('alice'), username: 'alice', password: 'alice-pw' });
    try {
      const since = await broker.sighup();
      await broker.waitForLog(/session_check after the reload: \d+ sessions asked, 0 disconnected/, { since });
      assert.equal(alice.mqtt.connected, true);
      await roundTrip(alice, 'alice');
    } finally {
      await endAll(alice);
    }
  });
});

describe('revocation: sessions enhanced authentication let in are asked too', () => {
  let broker: Broker;
  let revoked = '';
  before(async () => {
    broker = await startPolicyBroker({
      name: 'revocation-extauth',
      module: requireFile(fixture('token-sessions'), 'fixture token-sessions'),
      allowAnonymous: true, // unpwd_check defers: only ext_auth_start lets sessions in
      files: { 'revoked.txt': '' },
      opts: { revoked_file: (ctx: ConfigContext) => { revoked = ctx.file('revoked.txt'); return revoked; } },
    });
  });
  after(() => broker?.stop());

  /** An MQTT 5 client authenticated by ext_auth_start (method TOKEN). */
  function tokenClient(clientId: string): Promise<mqtt.MqttClient> {
    return new Promise((resolve, reject) => {
      const c = mqtt.connect({
        protocolVersion: 5, clientId, reconnectPeriod: 0, connectTimeout: 5000, host: '127.0.0.1', port: broker.port,
        properties: { authenticationMethod: 'TOKEN', authenticationData: Buffer.from('let-me-in') },
      });
      c.once('connect', () => resolve(c));
      c.once('error', reject);
    });
  }

  test('a reload whose session_check refuses a token session disconnects it; the others stay', async () => {
    const tokId = uniqueId('tok');
    const tok = await tokenClient(tokId);
    const other = await tokenClient(uniqueId('tok'));
    const anon = await connect({ port: broker.port, version: 5, clientId: uniqueId('anon') });
    try {
      const gone = new Promise<void>((resolve) => tok.once('close', () => resolve()));
      writeFileSync(revoked, `${tokId}\n`);
      const since = await broker.sighup();
      await within(gone, 'the revoked token session closed');
      await broker.waitForLog(new RegExp(`disconnecting client ${tokId}: session_check refused its session`), { since });
      // The two token sessions; the anonymous one was let in by allow_anonymous, not the policy.
      await broker.waitForLog(/session_check after the reload: 2 sessions asked, 1 disconnected/, { since });
      assert.equal(other.connected, true, 'the other token session stays');
      await roundTrip(anon, 'anon');
    } finally {
      tok.end(true);
      other.end(true);
      await endAll(anon);
    }
  });

  test('mosquitto\'s re-check at a reload does not ask the policy being replaced about sessions session_check covers', async () => {
    const since0 = broker.mark();
    const pat = await connect({ port: broker.port, version: 5, username: 'pat', password: 'pat-pw', clientId: uniqueId('pat') });
    try {
      await broker.waitForLog(/unpwd_check asked for pat/, { since: since0 });
      const since = await broker.sighup();
      await broker.waitForLog(/session_check after the reload: 1 sessions asked, 0 disconnected/, { since });
      assert.deepEqual(broker.lines(since).filter((l) => /unpwd_check asked/.test(l)), [],
        'unpwd_check is not asked again at the reload (session_check was)');
      await roundTrip(pat, 'pat');
    } finally {
      await endAll(pat);
    }
  });
});
