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
import { connect, endAll, uniqueId } from '../harness/mqtt.js';
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

describe('acl decision cache', () => {
  let broker: Broker;

  before(async () => {
    const def = requireFile(DEFAULT_POLICY_WASM, 'default policy');
    requireFile(example('static-users'), 'example static-users');
    broker = await startPolicyBroker({
      name: 'acl-cache',
      setup: async (ctx) => {
        copyFileSync(def, ctx.file('policy.wasm'));
        await run('mosquitto_passwd', ['-c', '-b', ctx.file('passwd'), 'alice', 'alice-secret']);
        await run('mosquitto_passwd', ['-b', ctx.file('passwd'), 'bob', 'bob-secret']);
        writeFileSync(ctx.file('acl'), 'user alice\ntopic write a/#\n');
      },
      module: (ctx) => ctx.file('policy.wasm'),
      opts: { password_file: (ctx) => ctx.file('passwd'), acl_file: (ctx) => ctx.file('acl') },
    });
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
