// Traps in the lifecycle hooks that run after start (fixtures/lifecycle.wat, option trap_in):
// security_cleanup and security_init during a SIGHUP reload, plugin_cleanup at shutdown and when
// a reload replaces the module. None may take the broker down or stop it serving; each is logged.
// (Traps in plugin_init and security_init at start refuse the module: refused-load.test.ts.)
import assert from 'node:assert/strict';
import { copyFileSync, renameSync } from 'node:fs';
import { describe, test } from 'node:test';
import type { Broker } from '../harness/broker.js';
import { connect, endAll } from '../harness/mqtt.js';
import { startPolicyBroker } from '../harness/policy-broker.js';
import { hostileFixture, runHost } from './support.js';

function lifecycleBroker(name: string, trapIn: string): Promise<Broker> {
  return startPolicyBroker({
    name,
    setup: (ctx) => copyFileSync(hostileFixture('lifecycle'), ctx.file('policy.wasm')),
    module: (ctx) => ctx.file('policy.wasm'),
    opts: { trap_in: trapIn },
  });
}

/** One reload; then the connected client and a new one are still served. */
async function reloadKeepsServing(trapIn: string, logged: RegExp): Promise<void> {
  const broker = await lifecycleBroker(`hostile-lc-${trapIn}`, trapIn);
  const before = await connect({ port: broker.port, version: 5, username: 'u1', password: 'x' });
  try {
    const since = await broker.sighup();
    await broker.waitForLog(logged, { since });
    assert.ok(broker.running, 'the broker is still running');
    assert.equal(await before.publish('t/x', 'x', { qos: 1 }), 0, 'the client connected before is served');
    const after = await connect({ port: broker.port, version: 5, username: 'u2', password: 'x' });
    assert.equal(await after.publish('t/y', 'x', { qos: 1 }), 0, 'a new client is served');
    await after.end();
  } finally {
    await endAll(before);
    await broker.stop();
  }
}

describe('lifecycle traps through a real broker', () => {
  test('trap in security_cleanup during a reload', () => reloadKeepsServing('security_cleanup', /wasm-auth: .*security_cleanup.*(trapped|unreachable)/));

  test('trap in security_init during a reload', () => reloadKeepsServing('security_init_reload', /wasm-auth: .*security_init.*(trapped|unreachable)/));

  test('trap in plugin_cleanup when a reload replaces the module', async () => {
    const broker = await lifecycleBroker('hostile-lc-plugin_cleanup-reload', 'plugin_cleanup');
    const c = await connect({ port: broker.port, version: 5, username: 'u1', password: 'x' });
    try {
      assert.equal(await c.publish('trap/x', 'x', { qos: 1 }), 0, 'the lifecycle policy allows everything');
      // Replace the module atomically with the hostile policy, which denies trap/...
      const tmp = broker.ctx.file('policy.wasm.new');
      copyFileSync(hostileFixture('hostile'), tmp);
      renameSync(tmp, broker.ctx.file('policy.wasm'));
      const since = await broker.sighup();
      await broker.waitForLog(/wasm-auth: .*plugin_cleanup.*(trapped|unreachable)/, { since });
      assert.ok(broker.running, 'the broker is still running');
      assert.equal(await c.publish('trap/x', 'x', { qos: 1 }), 135, 'the new module is in force');
      assert.equal(await c.publish('ok/x', 'x', { qos: 1 }), 0);
    } finally {
      await endAll(c);
      await broker.stop();
    }
  });

  test('trap in plugin_cleanup at shutdown: clean exit, logged', async () => {
    const broker = await lifecycleBroker('hostile-lc-plugin_cleanup-exit', 'plugin_cleanup');
    const c = await connect({ port: broker.port, version: 5, username: 'u1', password: 'x' });
    await c.end();
    const exit = await broker.stop();
    assert.equal(exit.signal, null, `no crash at shutdown\n${broker.describe()}`);
    assert.equal(exit.code, 0, `clean exit\n${broker.describe()}`);
    assert.match(broker.log(), /wasm-auth: .*plugin_cleanup.*(trapped|unreachable)/);
  });
});

describe('lifecycle traps through the Node host', () => {
  for (const [trapIn, hook] of [
    ['security_cleanup', 'security_cleanup'],
    ['security_init_reload', 'security_init'],
    ['plugin_cleanup', 'plugin_cleanup'],
  ] as const) {
    test(`trap in ${trapIn}: reload and cleanup do not throw, requests are served, the trap is logged`, async () => {
      const module = hostileFixture('lifecycle');
      const hostile = hostileFixture('hostile');
      const calls = trapIn === 'plugin_cleanup'
        ? [
            { hook: 'reload' as const, wasm: hostile },
            { hook: 'acl_check' as const, clientid: 'c', username: 'u', topic: 'trap/x', access: 2 },
            { hook: 'acl_check' as const, clientid: 'c', username: 'u', topic: 'ok/x', access: 2 },
          ]
        : [
            { hook: 'reload' as const },
            { hook: 'unpwd_check' as const, username: 'u', password: 'x' },
            { hook: 'acl_check' as const, clientid: 'c', username: 'u', topic: 't/x', access: 2 },
            { hook: 'cleanup' as const },
          ];
      const out = await runHost(module, calls, { trap_in: trapIn });
      assert.equal(out.loadError, null, out.loadError?.message);
      assert.equal(out.thrown, null, out.thrown ?? '');
      const want = trapIn === 'plugin_cleanup'
        ? ['reloaded', 'deny', 'allow'] // the hostile policy is in force after the replacing reload
        : ['reloaded', 'allow', 'allow', 'cleaned up'];
      assert.deepEqual(out.results, want);
      assert.ok(out.logs.some((l) => l.message.includes(hook)), `the ${hook} trap is logged: ${JSON.stringify(out.logs)}`);
    });
  }
});
