// Ways of loading the plugin: the older auth_plugin/auth_opt_ spelling, and per_listener_settings
// with the plugin on one listener only.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Broker, listener, pluginConf, runBrokerExpectingExit, startBroker } from '../harness/broker.js';
import { connect, deliveries, endAll, refusedCode, tryConnect, VERSIONS } from '../harness/mqtt.js';
import { fixture, requireFile } from '../harness/paths.js';
import { startPolicyBroker } from '../harness/policy-broker.js';

describe('auth_plugin + auth_opt_wasm_module spelling', () => {
  let broker: Broker;
  before(async () => {
    broker = await startPolicyBroker({ name: 'auth-plugin-spelling', module: fixture('rules'), spelling: 'auth_plugin' });
  });
  after(() => broker?.stop());

  test('the config really uses the old spelling', () => {
    assert.match(broker.conf, /^auth_plugin /m);
    assert.match(broker.conf, /^auth_opt_wasm_module /m);
    assert.doesNotMatch(broker.conf, /^plugin(_opt_)? /m);
  });

  for (const v of VERSIONS) {
    test(`v${v}: the policy decides logins and ACLs`, async () => {
      const r = await tryConnect({ port: broker.port, version: v, username: 'alice', password: 'wrong' });
      assert.equal(r.code, refusedCode(v));
      const c = await connect({ port: broker.port, version: v, username: 'alice', password: 'alice-pw' });
      try {
        // read-only/ may be read (and subscribed) but not written.
        assert.deepEqual(await c.subscribe(['open/#', 'read-only/#'], 0), [0, 0]);
        const { arrived } = await deliveries(c, c, [{ topic: 'read-only/1' }, { topic: 'open/1' }], 'open/marker');
        assert.deepEqual(arrived, [false, true]);
      } finally {
        await c.end();
      }
    });
  }
});

describe('per_listener_settings true: two plugin instances, one policy each', () => {
  let broker: Broker;
  before(async () => {
    const rules = requireFile(fixture('rules'), 'fixture rules');
    const allowAll = requireFile(fixture('allow-all'), 'fixture allow-all');
    broker = await startBroker({
      name: 'per-listener-two',
      ports: 2,
      config: (ctx) =>
        [
          'per_listener_settings true',
          listener(ctx.ports[0]),
          pluginConf({ module: rules }),
          listener(ctx.ports[1]),
          pluginConf({ module: allowAll }),
        ].join('\n'),
    });
  });
  after(() => broker?.stop());

  for (const v of VERSIONS) {
    test(`v${v}: each listener answers with its own policy`, async () => {
      const [p0, p1] = broker.ports;
      // carol is unknown to rules, any login passes allow-all.
      assert.equal((await tryConnect({ port: p0, version: v, username: 'carol', password: 'x' })).code, refusedCode(v));
      const carol = await connect({ port: p1, version: v, username: 'carol', password: 'x' });
      const alice = await connect({ port: p0, version: v, username: 'alice', password: 'alice-pw' });
      try {
        const denied = v === 5 ? 135 : 0;
        assert.equal(await alice.publish('nothing/x', 'x', { qos: 1 }), denied, 'rules on the first listener');
        assert.equal(await carol.publish('nothing/x', 'x', { qos: 1 }), 0, 'allow-all on the second');
        // READ is decided by the subscriber's listener: rules let alice subscribe to
        // sub-no-read/# but not read it; allow-all lets carol read everything.
        assert.deepEqual(await alice.subscribe(['open/#', 'sub-no-read/#'], 0), [0, 0]);
        assert.deepEqual(await carol.subscribe('#', 0), [0]);
        const { arrived } = await deliveries(carol, alice, [{ topic: 'sub-no-read/y' }, { topic: 'open/y' }], 'open/marker');
        assert.deepEqual(arrived, [false, true]);
        await carol.waitForMessage((m) => m.topic === 'open/marker');
        assert.ok(carol.received.some((m) => m.topic === 'sub-no-read/y'), 'carol, on the allow-all listener, reads it');
      } finally {
        await endAll(carol, alice);
      }
    });
  }
});

describe('per_listener_settings true: the plugin governs only its listener', () => {
  let broker: Broker;
  before(async () => {
    const mod = requireFile(fixture('rules'), 'fixture rules');
    broker = await startBroker({
      name: 'per-listener',
      ports: 2,
      config: (ctx) =>
        [
          'per_listener_settings true',
          listener(ctx.ports[0]),
          'allow_anonymous false',
          pluginConf({ module: mod }),
          listener(ctx.ports[1]),
          'allow_anonymous true',
        ].join('\n'),
    });
  });
  after(() => broker?.stop());

  for (const v of VERSIONS) {
    test(`v${v}: plugin listener enforces the policy`, async () => {
      const port = broker.ports[0];
      assert.equal((await tryConnect({ port, version: v, username: 'alice', password: 'nope' })).code, refusedCode(v));
      const c = await connect({ port, version: v, username: 'alice', password: 'alice-pw' });
      // Watches from the other listener, where nothing restricts reading.
      const watcher = await connect({ port: broker.ports[1], version: v });
      try {
        assert.deepEqual(await watcher.subscribe('#', 0), [0]);
        const { arrived } = await deliveries(c, watcher, [{ topic: 'nothing/1' }, { topic: 'open/1' }], 'open/marker');
        assert.deepEqual(arrived, [false, true], 'WRITE on the plugin listener follows the policy');
      } finally {
        await endAll(c, watcher);
      }
    });

    test(`v${v}: the other listener does not consult the policy`, async () => {
      const port = broker.ports[1];
      // Anonymous and an unknown user both get in; a topic the policy denies flows.
      const anon = await connect({ port, version: v });
      const stranger = await connect({ port, version: v, username: 'stranger', password: 'whatever' });
      try {
        await anon.subscribe('nothing/#', 0);
        const { arrived } = await deliveries(stranger, anon, [{ topic: 'nothing/1' }], 'nothing/marker');
        assert.deepEqual(arrived, [true]);
      } finally {
        await endAll(anon, stranger);
      }
    });
  }
});

// Like mosquitto with its own options: a wasm_ name the plugin does not know is a typo, and
// ignoring it would leave the setting at its default without a word.
describe('an unknown wasm_ option: the broker refuses to start, naming it', () => {
  const cases: { spelling?: 'auth_plugin'; key: string; want: string }[] = [
    { key: 'wasm_fule', want: "wasm-auth: cannot load policy: unknown option wasm_fule (did you mean wasm_fuel?): the wasm_ prefix is for the plugin's options" },
    { spelling: 'auth_plugin', key: 'wasm_on_eror', want: 'unknown option wasm_on_eror (did you mean wasm_on_error?)' },
    { key: 'wasm_users_file', want: "unknown option wasm_users_file: the wasm_ prefix is for the plugin's options (docs/ABI.md); give the policy's own options another name" },
  ];
  for (const c of cases) {
    test(`${c.spelling === 'auth_plugin' ? 'auth_opt_' : 'plugin_opt_'}${c.key}`, async () => {
      const res = await runBrokerExpectingExit({
        name: `unknown-option-${c.key}`,
        config: (ctx) => `${listener(ctx.port)}\n${pluginConf({
          module: requireFile(fixture('rules'), 'fixture rules'), opts: { [c.key]: '100' }, spelling: c.spelling,
        })}`,
      });
      assert.equal(res.signal, null, res.describe);
      assert.notEqual(res.code, 0, res.describe);
      const naming = res.lines.filter((l) => l.startsWith('wasm-auth:'));
      assert.equal(naming.length, 1, `exactly one line from the plugin\n${res.describe}`);
      assert.ok(naming[0].includes(c.want), `${naming[0]}\nlacks: ${c.want}`);
    });
  }

  test('options without the wasm_ prefix are the policy\'s and do not stop the broker', async () => {
    const broker = await startPolicyBroker({ name: 'policy-own-option', module: fixture('rules'), opts: { users_file: '/nonexistent', wasmish: 1 } });
    try {
      const c = await connect({ port: broker.port, version: 5, username: 'alice', password: 'alice-pw' });
      await c.end();
    } finally {
      await broker.stop();
    }
  });
});
