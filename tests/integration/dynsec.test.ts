// Defer: a decision of 2 hands the request to the next plugin, here mosquitto's own
// dynamic-security. Allow and deny from the policy are final; dynamic-security only sees what was
// deferred. With wasm_on_error defer, a trapping request is also handed on.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { type Broker, type ConfigContext, listener, startBroker } from '../harness/broker.js';
import { connect, refusedCode, tryConnect, VERSIONS } from '../harness/mqtt.js';
import { DYNSEC_SO, example, fixture, requireFile } from '../harness/paths.js';
import { startPolicyBroker } from '../harness/policy-broker.js';

const run = promisify(execFile);
// Administers dynamic-security while provisioning only. (Changing the roles of the client that
// is itself connected makes dynamic-security kick it, and mosquitto_ctrl then waits 10 s.)
const ADMIN = 'admin';
const ADMIN_PW = 'admin-pw';
// The rules fixture defers exactly this login; dynamic-security knows it.
const DEFERRED = 'defer';
const DEFERRED_PW = 'dynsec-pw';

/**
 * Creates dynamic-security.json in ctx.dir with the real tools: `mosquitto_ctrl dynsec init`,
 * then a short-lived broker running only dynamic-security, administered with mosquitto_ctrl.
 */
async function provisionDynsec(ctx: ConfigContext, commands: string[][]): Promise<string> {
  const file = ctx.file('dynamic-security.json');
  await run('mosquitto_ctrl', ['dynsec', 'init', file, ADMIN, ADMIN_PW]);
  const prov = await startBroker({
    name: 'dynsec-provision',
    config: (p) => [listener(p.port), `plugin ${requireFile(DYNSEC_SO, 'dynamic-security plugin')}`, `plugin_opt_config_file ${file}`].join('\n'),
  });
  try {
    for (const cmd of commands) {
      await run('mosquitto_ctrl', ['-h', '127.0.0.1', '-p', String(prov.port), '-u', ADMIN, '-P', ADMIN_PW, 'dynsec', ...cmd]);
    }
  } finally {
    await prov.stop();
  }
  return file;
}

/** dynamic-security lets the DEFERRED client publish to these (nothing/# too, which the policy denies). */
const ROLE_COMMANDS = [
  ['createClient', DEFERRED, '-p', DEFERRED_PW],
  ['createRole', 'app'],
  ['addRoleACL', 'app', 'publishClientSend', 'defer/allowed/#', 'allow'],
  ['addRoleACL', 'app', 'publishClientSend', 'nothing/#', 'allow'],
  ['addRoleACL', 'app', 'publishClientSend', 'trap/#', 'allow'],
  ['addClientRole', DEFERRED, 'app'],
];

function dynsecBroker(name: string, module: string, opts: Record<string, string> = {}): Promise<Broker> {
  let dynsecFile = '';
  return startPolicyBroker({
    name,
    module,
    opts,
    setup: async (ctx) => {
      dynsecFile = await provisionDynsec(ctx, ROLE_COMMANDS);
    },
    // Loaded after ours: it is asked only when our policy defers.
    after: () => [`plugin ${DYNSEC_SO}`, `plugin_opt_config_file ${dynsecFile}`].join('\n'),
  });
}

describe('defer to dynamic-security (fixture policy)', () => {
  let broker: Broker;
  before(async () => {
    broker = await dynsecBroker('dynsec-defer', fixture('rules'));
  });
  after(() => broker?.stop());

  for (const v of VERSIONS) {
    test(`v${v}: deferred login is decided by dynamic-security's password`, async () => {
      const ok = await connect({ port: broker.port, version: v, username: DEFERRED, password: DEFERRED_PW });
      await ok.end();
      const r = await tryConnect({ port: broker.port, version: v, username: DEFERRED, password: 'wrong' });
      assert.equal(r.code, refusedCode(v));
    });

    test(`v${v}: a login the policy allows or denies never reaches dynamic-security`, async () => {
      // alice is unknown to dynamic-security but the policy allows her.
      const ok = await connect({ port: broker.port, version: v, username: 'alice', password: 'alice-pw' });
      await ok.end();
      const r = await tryConnect({ port: broker.port, version: v, username: 'alice', password: DEFERRED_PW });
      assert.equal(r.code, refusedCode(v));
    });
  }

  test('ACL: deferred topics follow dynamic-security roles; allow/deny from the policy are final', async () => {
    const c = await connect({ port: broker.port, version: 5, username: DEFERRED, password: DEFERRED_PW });
    const a = await connect({ port: broker.port, version: 5, username: 'alice', password: 'alice-pw' });
    try {
      // The fixture defers defer/#: dynamic-security's role allows defer/allowed/# for this
      // client, and its default denies other publishes.
      assert.equal(await c.publish('defer/allowed/x', 'x', { qos: 1 }), 0, 'deferred, dynsec role allows');
      assert.equal(await c.publish('defer/other/x', 'x', { qos: 1 }), 135, 'deferred, dynsec default denies');
      assert.equal(await c.publish('open/x', 'x', { qos: 1 }), 0, 'policy allows: final');
      assert.equal(await c.publish('nothing/x', 'x', { qos: 1 }), 135, 'policy denies: final, though dynsec would allow');
      assert.equal(await c.publish('trap/x', 'x', { qos: 1 }), 135, 'trap: failure decision deny');
      assert.equal(await a.publish('defer/allowed/x', 'x', { qos: 1 }), 135, 'deferred for a client dynsec does not know');
    } finally {
      await c.end();
      await a.end();
    }
  });
});

describe('wasm_on_error defer: a trapping request is handed to dynamic-security', () => {
  let broker: Broker;
  before(async () => {
    broker = await dynsecBroker('dynsec-on-error', fixture('rules'), { wasm_on_error: 'defer' });
  });
  after(() => broker?.stop());

  test('trap/# is decided by dynamic-security', async () => {
    const c = await connect({ port: broker.port, version: 5, username: DEFERRED, password: DEFERRED_PW });
    const a = await connect({ port: broker.port, version: 5, username: 'alice', password: 'alice-pw' });
    try {
      assert.equal(await c.publish('trap/x', 'x', { qos: 1 }), 0, 'dynsec role allows trap/# for this client');
      assert.equal(await a.publish('trap/x', 'x', { qos: 1 }), 135, 'dynsec does not know alice');
      assert.equal(await c.publish('open/x', 'x', { qos: 1 }), 0);
    } finally {
      await c.end();
      await a.end();
    }
  });
});

describe('defer-dynsec example alongside dynamic-security', () => {
  let broker: Broker;
  before(async () => {
    const mod = requireFile(example('defer-dynsec'), 'example defer-dynsec');
    broker = await startPolicyBroker({
      name: 'dynsec-example',
      module: (ctx) => {
        const dst = ctx.file('defer-dynsec.wasm');
        copyFileSync(mod, dst);
        return dst;
      },
      setup: async (ctx) => {
        await provisionDynsec(ctx, [
          ['createClient', 'dyn-user', '-p', 'dyn-pw'],
          ['createRole', 'dyn'],
          ['addRoleACL', 'dyn', 'publishClientSend', 'dyn/#', 'allow'],
          ['addRoleACL', 'dyn', 'subscribePattern', 'dyn/#', 'allow'],
          ['addClientRole', 'dyn-user', 'dyn'],
        ]);
      },
      after: (ctx) => [`plugin ${DYNSEC_SO}`, `plugin_opt_config_file ${ctx.file('dynamic-security.json')}`].join('\n'),
    });
  });
  after(() => broker?.stop());

  test('a client known only to dynamic-security logs in and publishes by its role', async () => {
    const c = await connect({ port: broker.port, version: 5, username: 'dyn-user', password: 'dyn-pw' });
    try {
      assert.equal(await c.publish('dyn/x', 'x', { qos: 1 }), 0);
      assert.equal(await c.publish('elsewhere/x', 'x', { qos: 1 }), 135);
    } finally {
      await c.end();
    }
    const r = await tryConnect({ port: broker.port, version: 5, username: 'dyn-user', password: 'nope' });
    assert.equal(r.code, refusedCode(5));
  });
});
