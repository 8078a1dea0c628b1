// The json-users example in a real broker: users and roles from a JSON file, %u/%c patterns,
// anonymous clients; SIGHUP re-reads the file, and a broken file keeps the users in force with
// the reason (line and column) in the log; a missing file stops the start with the host's and
// the policy's reasons.
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Broker, runBrokerExpectingExit } from '../harness/broker.js';
import { connect, deliveries, endAll, refusedCode, tryConnect, uniqueId, VERSIONS } from '../harness/mqtt.js';
import { ROOT, example, requireFile } from '../harness/paths.js';
import { policyBrokerSpec, startPolicyBroker } from '../harness/policy-broker.js';

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const USERS_JSON = readFileSync(join(ROOT, 'examples/json-users/users.json'), 'utf8');

describe('json-users', () => {
  let broker: Broker;
  let usersFile: string;
  before(async () => {
    const mod = requireFile(example('json-users'), 'example json-users');
    broker = await startPolicyBroker({
      name: 'json-users',
      module: mod,
      // mosquitto lets anonymous clients reach the plugin; the file decides.
      allowAnonymous: true,
      files: { 'users.json': USERS_JSON },
      opts: { users_file: (ctx) => ctx.file('users.json') },
    });
    usersFile = broker.ctx.file('users.json');
  });
  after(() => broker?.stop());

  test('start: the file is read in security_init', async () => {
    await broker.waitForLog(/json-users: 3 users, 4 roles, anonymous clients allowed\n/);
  });

  for (const v of VERSIONS) {
    test(`v${v}: logins by the file's hashes; roles grant their patterns with %u and %c`, async () => {
      assert.equal((await tryConnect({ port: broker.port, version: v, username: 'bob', password: 'alice-secret' })).code, refusedCode(v));
      assert.equal((await tryConnect({ port: broker.port, version: v, username: 'mallory', password: 'x' })).code, refusedCode(v));
      const bob = await connect({ port: broker.port, version: v, username: 'bob', password: 'bob-secret' });
      const alice = await connect({ port: broker.port, version: v, username: 'alice', password: 'alice-secret' });
      const sensor = await connect({ port: broker.port, version: v, username: 'sensor-1', password: 'sensor-1-secret', clientId: 'sensor-1' });
      const anon = await connect({ port: broker.port, version: v, clientId: uniqueId('anon') });
      try {
        // Subscriptions are allowed; deliveries are checked as READ.
        await bob.subscribe(['users/bob/#', 'public/#', 'users/alice/#'], 1);
        const seen = await deliveries(alice, bob,
          [{ topic: 'users/bob/inbox', qos: 1 }, { topic: 'users/alice/private', qos: 1 }, { topic: 'public/news', qos: 1 }], 'users/bob/marker');
        assert.deepEqual(seen.arrived, [true, false, true]);
        const denied = v === 5 ? 135 : 0;
        assert.equal(await bob.publish('users/bob/x', 'x', { qos: 1 }), 0);
        assert.equal(await bob.publish('users/alice/x', 'x', { qos: 1 }), denied);
        assert.equal(await bob.publish('public/x', 'x', { qos: 1 }), denied);
        // %c: sensor-1 writes its own telemetry under its client id.
        await alice.subscribe('devices/#', 1);
        const telemetry = await deliveries(sensor, alice, [{ topic: 'devices/sensor-1/telemetry/t', qos: 1 }, { topic: 'devices/sensor-2/telemetry/t', qos: 1 }],
          'devices/sensor-1/telemetry/marker');
        assert.deepEqual(telemetry.arrived, [true, false]);
        assert.equal(await anon.publish('public/x', 'x', { qos: 1 }), denied);
        await anon.subscribe('public/#', 1);
        const pub = await deliveries(alice, anon, [{ topic: 'public/a', qos: 1 }, { topic: 'users/bob/a', qos: 1 }], 'public/marker');
        assert.deepEqual(pub.arrived, [true, false]);
      } finally {
        await endAll(bob, alice, sensor, anon);
      }
    });
  }

  test('SIGHUP re-reads the file; a broken file is refused with its line and column, the users in force kept', async () => {
    const data = JSON.parse(USERS_JSON) as { users: Record<string, unknown> };
    data.users.carol = { password: (data.users.bob as { password: string }).password, roles: ['member'] };
    delete data.users.bob;
    writeFileSync(usersFile, JSON.stringify(data, null, 2));
    let since = await broker.sighup();
    await broker.waitForLog(/json-users: 3 users, 4 roles, anonymous clients allowed \(reloaded\)\n/, { since });
    const carol = await connect({ port: broker.port, version: 5, username: 'carol', password: 'bob-secret' });
    await carol.end();
    assert.equal((await tryConnect({ port: broker.port, version: 5, username: 'bob', password: 'bob-secret' })).code, refusedCode(5));

    writeFileSync(usersFile, '{\n  "roles": {},\n  "users": {"dave": {"password": "$7$x", "roles": [],}}\n}\n');
    since = await broker.sighup();
    await broker.waitForLog(new RegExp(`json-users: users_file \\(${escapeRe(usersFile)}\\): line 3, column 54: trailing ',' before '}'\n`), { since });
    const still = await connect({ port: broker.port, version: 5, username: 'carol', password: 'bob-secret' });
    await still.end();

    // The reload runs on the plugin's worker thread: the host's warning is queued there and
    // logged by the main thread, like the policy's line.
    rmSync(usersFile);
    since = await broker.sighup();
    const gone = escapeRe(usersFile);
    await broker.waitForLog(new RegExp(`wasm-auth: option_file_size: option file users_file \\(${gone}\\): not found\n`), { since });
    await broker.waitForLog(new RegExp(`json-users: users_file \\(${gone}\\): not found\n`), { since });
    const kept = await connect({ port: broker.port, version: 5, username: 'carol', password: 'bob-secret' });
    await kept.end();
  });
});

test('json-users: a users_file that cannot be read stops the start, the reason and path in the log', async () => {
  const res = await runBrokerExpectingExit(policyBrokerSpec({
    name: 'json-users-missing',
    module: requireFile(example('json-users'), 'example json-users'),
    opts: { users_file: (ctx) => ctx.file('no-such.json') },
  }));
  assert.notEqual(res.code, 0, res.describe);
  // The host's warning, then the policy's error (its own words for the same reason).
  assert.match(res.log, /wasm-auth: option_file_size: option file users_file \(\/[^)]*no-such\.json\): not found\n/, res.describe);
  assert.match(res.log, /wasm-auth: json-users: users_file \(\/[^)]*no-such\.json\): not found\n/, res.describe);
});
