// The plugin's per-client ACL decision cache (docs/ABI.md, "Decision cache"): a policy that
// exports wasm_auth_acl_cacheable() gets its acl decisions remembered per client. Cached
// decisions must never outlive what they were decided from: a reload that re-reads the rules,
// a replaced module, or another user behind the same client id.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, renameSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { Broker } from '../harness/broker.js';
import { type Client, connect, endAll, uniqueId } from '../harness/mqtt.js';
import { DEFAULT_POLICY_WASM, example, requireFile } from '../harness/paths.js';
import { startPolicyBroker } from '../harness/policy-broker.js';

const run = promisify(execFile);
const CACHING = /acl decisions cacheable: caching them per client/;
const DENIED = 135;

/** Replaces a file atomically (write aside, rename over), as a deploy would. */
function install(broker: Broker, name: string, from: string | Uint8Array): void {
  const tmp = broker.ctx.file(`${name}.new`);
  if (typeof from === 'string') copyFileSync(from, tmp);
  else writeFileSync(tmp, from);
  renameSync(tmp, broker.ctx.file(name));
}

/** A broker running a copy of the default policy (policy.wasm) on a password_file of `users`
 * (name, password) and an acl_file `acl`, with `extra` plugin options. */
function startDefaultPolicyBroker(name: string, users: Array<[string, string]>, acl: string,
  extra: Record<string, string | number> = {}): Promise<Broker> {
  const def = requireFile(DEFAULT_POLICY_WASM, 'default policy');
  return startPolicyBroker({
    name,
    setup: async (ctx) => {
      copyFileSync(def, ctx.file('policy.wasm'));
      for (const [i, [user, password]] of users.entries()) {
        await run('mosquitto_passwd', [...(i === 0 ? ['-c'] : []), '-b', ctx.file('passwd'), user, password]);
      }
      writeFileSync(ctx.file('acl'), acl);
    },
    module: (ctx) => ctx.file('policy.wasm'),
    opts: { password_file: (ctx) => ctx.file('passwd'), acl_file: (ctx) => ctx.file('acl'), ...extra },
  });
}

describe('acl decision cache', () => {
  let broker: Broker;

  before(async () => {
    requireFile(example('static-users'), 'example static-users');
    broker = await startDefaultPolicyBroker('acl-cache', [['alice', 'alice-secret'], ['bob', 'bob-secret']],
      'user alice\ntopic write a/#\n');
  });
  after(async () => {
    await broker?.stop();
  });

  test('the default policy opts in: the plugin says it caches', async () => {
    await broker.waitForLog(CACHING);
  });

  test('reload: re-read rules and a replaced module take effect at once for a connected client', async () => {
    const c = await connect({ port: broker.port, version: 5, username: 'alice', password: 'alice-secret' });
    try {
      // Twice each: the second answer comes from the cache.
      for (let i = 0; i < 2; i++) {
        assert.equal(await c.publish('a/1', 'x', { qos: 1 }), 0);
        assert.equal(await c.publish('b/1', 'x', { qos: 1 }), DENIED);
      }
      // Same module, new acl_file: security_init(1) re-reads it.
      install(broker, 'acl', new TextEncoder().encode('user alice\ntopic write b/#\n'));
      // The broker reloads before it reads the next packet (as in reload.test.ts).
      await broker.sighup();
      assert.equal(await c.publish('b/1', 'x', { qos: 1 }), 0, 'rules re-read: b/1 now allowed');
      assert.equal(await c.publish('a/1', 'x', { qos: 1 }), DENIED, 'rules re-read: a/1 now denied');
      // Another cacheable module: static-users allows users/alice/... only.
      assert.equal(await c.publish('users/alice/1', 'x', { qos: 1 }), DENIED);
      install(broker, 'policy.wasm', example('static-users'));
      const since = await broker.sighup();
      await broker.waitForLog(/reloaded policy/, { since });
      assert.equal(await c.publish('b/1', 'x', { qos: 1 }), DENIED, 'new module: b/1 denied');
      assert.equal(await c.publish('users/alice/1', 'x', { qos: 1 }), 0, 'new module: users/alice/1 allowed');
    } finally {
      await endAll(c);
    }
  });

  test('same client id, another user after reconnecting: that user\'s decisions', async () => {
    // The static-users module is in force now (previous test).
    const id = uniqueId('cache');
    const a = await connect({ port: broker.port, version: 5, clientId: id, username: 'alice', password: 'alice-secret' });
    assert.equal(await a.publish('users/alice/x', 'x', { qos: 1 }), 0);
    assert.equal(await a.publish('users/alice/x', 'x', { qos: 1 }), 0);
    assert.equal(await a.publish('users/bob/x', 'x', { qos: 1 }), DENIED);
    await a.end();
    const b = await connect({ port: broker.port, version: 5, clientId: id, username: 'bob', password: 'bob-secret' });
    try {
      assert.equal(await b.publish('users/alice/x', 'x', { qos: 1 }), DENIED);
      assert.equal(await b.publish('users/bob/x', 'x', { qos: 1 }), 0);
    } finally {
      await endAll(b);
    }
  });

  test('a client cycling through more topics than its cache holds: every decision right, before, during and after its bypass', async () => {
    // 64 lookups that mostly miss start a bypass of 1,024 checks; 2,400 checks cover the first
    // window, the whole bypass and the windows after it.
    const c = await connect({ port: broker.port, version: 5, username: 'alice', password: 'alice-secret' });
    try {
      for (let i = 0; i < 1200; i++) {
        const t = i % 150;
        assert.equal(await c.publish(`users/alice/t${t}`, 'x', { qos: 1 }), 0, `users/alice/t${t} (publish ${i})`);
        assert.equal(await c.publish(`users/bob/t${t}`, 'x', { qos: 1 }), DENIED, `users/bob/t${t} (publish ${i})`);
      }
      // Back to a few topics: the cache serves them again, and still right.
      for (let i = 0; i < 200; i++) {
        assert.equal(await c.publish('users/alice/x', 'x', { qos: 1 }), 0);
        assert.equal(await c.publish('users/bob/x', 'x', { qos: 1 }), DENIED);
      }
    } finally {
      await endAll(c);
    }
  });
});

// The cache as a whole (docs/ABI.md, "Decision cache"): when its lookups hit too rarely to pay
// for themselves, every client's checks skip it for a while, a client connecting meanwhile
// included, at no cost beyond what no cache costs. Seen through the $SYS counters.
describe('acl decision cache set aside while it does not pay', () => {
  const PREFIX = '$SYS/broker/wasm-auth/';
  let broker: Broker;

  before(async () => {
    broker = await startDefaultPolicyBroker('acl-cache-gate', [['alice', 'alice-secret'], ['mon', 'mon-secret']],
      'user alice\ntopic write a/#\n\nuser mon\ntopic read $SYS/#\n', { wasm_acl_grants: 'off', wasm_sys_interval: 1 });
  });
  after(async () => {
    await broker?.stop();
  });

  test('a client cycling through many topics sets the cache aside: a new client skips it too, every decision right', async () => {
    const mon = await connect({ port: broker.port, version: 5, username: 'mon', password: 'mon-secret' });
    const alice = await connect({ port: broker.port, version: 5, username: 'alice', password: 'alice-secret' });
    let carol: Client | undefined;
    try {
      assert.deepEqual(await mon.subscribe(`${PREFIX}#`), [0]);
      const metrics = () => {
        const m = new Map<string, number>();
        for (const msg of mon.received) if (msg.topic.startsWith(PREFIX)) m.set(msg.topic.slice(PREFIX.length), Number(msg.payload.toString()));
        return m;
      };
      /** The counters of a whole publication made after one showed `allowed` allowed WRITE checks. */
      const settled = async (allowed: number) => {
        await mon.waitForMessage(() => (metrics().get('checks/acl/write/allow') ?? 0) >= allowed, 15000);
        const from = mon.received.length;
        await mon.waitForMessage((m) => m.topic === `${PREFIX}cache/bypass` && mon.received.indexOf(m) >= from, 15000);
        return metrics();
      };
      // 300 checks over 150 topics: no lookup hits, so the cache is set aside.
      for (let i = 0; i < 300; i++) {
        const [topic, want] = i % 2 ? [`b/t${i % 150}`, DENIED] : [`a/t${i % 150}`, 0];
        assert.equal(await alice.publish(topic, 'x', { qos: 1 }), want, `${topic} (publish ${i})`);
      }
      const a = await settled(150);
      // Another client's first checks, on topics nobody asked before: none looks the cache up.
      carol = await connect({ port: broker.port, version: 5, clientId: uniqueId('carol'), username: 'alice', password: 'alice-secret' });
      for (let i = 0; i < 50; i++) assert.equal(await carol.publish(`a/new${i}`, 'x', { qos: 1 }), 0);
      assert.equal(await carol.publish('b/new', 'x', { qos: 1 }), DENIED);
      const b = await settled(200);
      assert.equal(b.get('cache/misses'), a.get('cache/misses'), 'no lookup while the cache is set aside');
      assert.equal(b.get('cache/hits'), a.get('cache/hits'));
      assert.ok((b.get('cache/bypass') ?? 0) - (a.get('cache/bypass') ?? 0) >= 51, 'the checks it skipped are counted as bypasses');
    } finally {
      await endAll(mon, alice, carol);
    }
  });
});
