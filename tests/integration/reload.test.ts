// SIGHUP reloads the policy: a fresh instance is built off the main thread from the file as it is
// and replaces the old one once ready; a broken replacement is refused (logged) and the old policy
// stays in force.
import assert from 'node:assert/strict';
import { copyFileSync, renameSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { Broker } from '../harness/broker.js';
import { type Client, connect, endAll } from '../harness/mqtt.js';
import { example, fixture, requireFile } from '../harness/paths.js';
import { startPolicyBroker } from '../harness/policy-broker.js';

/** Replaces the module atomically, as a deploy would (write aside, rename over). */
function install(broker: Broker, from: string | Uint8Array): void {
  const tmp = broker.ctx.file('policy.wasm.new');
  if (typeof from === 'string') copyFileSync(requireFile(from, 'replacement module'), tmp);
  else writeFileSync(tmp, from);
  renameSync(tmp, broker.ctx.file('policy.wasm'));
}

/** Index of the first line matching re in lines, or -1. */
function indexOf(lines: string[], re: RegExp): number {
  return lines.findIndex((l) => re.test(l));
}

describe('reload on SIGHUP', () => {
  let broker: Broker;
  let c: Client;

  before(async () => {
    broker = await startPolicyBroker({
      name: 'reload',
      setup: (ctx) => copyFileSync(requireFile(fixture('rules'), 'fixture rules'), ctx.file('policy.wasm')),
      module: (ctx) => ctx.file('policy.wasm'),
    });
    c = await connect({ port: broker.port, version: 5, username: 'alice', password: 'alice-pw' });
  });
  after(async () => {
    await endAll(c);
    await broker?.stop();
  });

  test('start: lifecycle hooks ran in order with reload=0', () => {
    const lines = broker.lines();
    const init = indexOf(lines, /fixture plugin_init/);
    const sec = indexOf(lines, /fixture security_init reload=0/);
    assert.ok(init >= 0 && sec > init, `plugin_init then security_init(0)\n${broker.describe()}`);
  });

  test('unchanged module: a fresh instance (plugin_init, security_init(1)), then the old one cleaned up, same decisions', async () => {
    assert.equal(await c.publish('swapped/1', 'x', { qos: 1 }), 135);
    const since = await broker.sighup();
    const lines = broker.lines(since);
    const init = indexOf(lines, /fixture security_init reload=1/);
    const cleanup = indexOf(lines, /fixture security_cleanup reload=1/);
    const gone = indexOf(lines, /fixture plugin_cleanup/);
    assert.ok(init >= 0 && cleanup > init && gone > cleanup, `init(1), then the old one's cleanup(1) and plugin_cleanup\n${broker.describe()}`);
    assert.equal(indexOf(lines, /trapped/), -1, 'a normal reload logs no trap');
    assert.equal(await c.publish('swapped/1', 'x', { qos: 1 }), 135);
    assert.equal(await c.publish('open/1', 'x', { qos: 1 }), 0);
  });

  test('broken replacement: refused with one log line, old policy stays', async () => {
    install(broker, new TextEncoder().encode('not a module'));
    const since = await broker.sighup();
    // The existing connection is served by the old policy.
    assert.equal(await c.publish('swapped/2', 'x', { qos: 1 }), 135);
    assert.equal(await c.publish('open/2', 'x', { qos: 1 }), 0);
    assert.ok(broker.running);
    const naming = broker.lines(since).filter((l) => l.includes(broker.ctx.file('policy.wasm')));
    assert.equal(naming.length, 1, `one line names the refused module\n${broker.describe()}`);
    assert.match(naming[0], /wasm-auth/);
    // New logins also still go through the old policy.
    const again = await connect({ port: broker.port, version: 4, username: 'bob', password: 'bob-pw' });
    await again.end();
  });

  test('changed module: the new one takes effect for existing and new clients', async () => {
    install(broker, fixture('allow-all'));
    const since = await broker.sighup();
    assert.equal(await c.publish('swapped/3', 'x', { qos: 1 }), 0, 'existing client, new policy');
    const lines = broker.lines(since);
    // The old instance is told it is going away (its own log lines), the new one has none.
    const cleanup = indexOf(lines, /fixture security_cleanup reload=1/);
    const gone = indexOf(lines, /fixture plugin_cleanup/);
    assert.ok(cleanup >= 0 && gone > cleanup, `security_cleanup(1) then plugin_cleanup\n${broker.describe()}`);
    // allow-all accepts any login; rules did not know "carol".
    const carol = await connect({ port: broker.port, version: 5, username: 'carol', password: 'x' });
    await carol.end();
  });

  test('and back: swapping in the first module again restores its rules', async () => {
    install(broker, fixture('rules'));
    const since = await broker.sighup();
    await broker.waitForLog(/fixture plugin_init/, { since });
    await broker.waitForLog(/fixture security_init reload=1/, { since });
    assert.equal(await c.publish('swapped/4', 'x', { qos: 1 }), 135);
  });
});

describe('reload with the testauth example (it logs every lifecycle hook)', () => {
  let broker: Broker;
  before(async () => {
    broker = await startPolicyBroker({ name: 'reload-testauth', module: example('testauth'), allowAnonymous: true });
  });
  after(() => broker?.stop());

  test('SIGHUP: security_init and security_cleanup run with reload=true', async () => {
    await broker.waitForLog(/security_init\b.*reload\W+(false|0)\b/);
    const since = await broker.sighup();
    const c = await broker.waitForLog(/security_cleanup\b.*reload\W+(true|1)\b/, { since });
    const i = await broker.waitForLog(/security_init\b.*reload\W+(true|1)\b/, { since });
    assert.ok(i.index < c.index, 'the new instance is ready before the old one is cleaned up');
  });

  test('stop: security_cleanup(reload=false) and plugin_cleanup run', async () => {
    const since = broker.mark();
    const res = await broker.stop();
    assert.equal(res.code, 0);
    const tail = broker.log().slice(since);
    assert.match(tail, /security_cleanup\b.*reload\W+(false|0)\b/);
    assert.match(tail, /plugin_cleanup/);
  });
});
