// The policy's metrics under $SYS/broker/wasm-auth/ (README, "Operating"), read by a real MQTT
// subscriber from a real broker running the default policy: retained like mosquitto's own $SYS
// messages, moved by exactly what clients did, published from no client (no WRITE check: the
// plugin's own publications never reach the policy's write rules), a reload counted, and
// nothing at all with plugin_opt_wasm_sys_interval 0. The subscriber needs the policy's READ
// permission on $SYS like any other.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, renameSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { Broker, ConfigContext } from '../harness/broker.js';
import { type Client, connect, endAll, tryConnect } from '../harness/mqtt.js';
import { DEFAULT_POLICY_WASM, fixture, requireFile } from '../harness/paths.js';
import { startPolicyBroker } from '../harness/policy-broker.js';

const run = promisify(execFile);
const PREFIX = '$SYS/broker/wasm-auth/';

const ACL = `user alice
topic readwrite a/#

user mon
topic read $SYS/#
topic read a/#
`;

async function passwords(ctx: ConfigContext): Promise<void> {
  await run('mosquitto_passwd', ['-c', '-b', ctx.file('passwd'), 'alice', 'alice-pw']);
  await run('mosquitto_passwd', ['-b', ctx.file('passwd'), 'mon', 'mon-pw']);
  copyFileSync(requireFile(DEFAULT_POLICY_WASM, 'default policy'), ctx.file('policy.wasm'));
}

function startMetricsBroker(name: string, interval: number): Promise<Broker> {
  return startPolicyBroker({
    name,
    module: (ctx) => ctx.file('policy.wasm'),
    files: { acl: ACL },
    setup: passwords,
    opts: {
      password_file: (ctx) => ctx.file('passwd'),
      acl_file: (ctx) => ctx.file('acl'),
      wasm_sys_interval: interval,
    },
  });
}

/** The latest value of each metric a subscriber received (topic without PREFIX -> number or text). */
function latest(c: Client): Map<string, string> {
  const m = new Map<string, string>();
  for (const msg of c.received) {
    if (msg.topic.startsWith(PREFIX)) m.set(msg.topic.slice(PREFIX.length), msg.payload.toString());
  }
  return m;
}

function valueOf(c: Client, name: string): number {
  const v = latest(c).get(name);
  assert.ok(v !== undefined, `${PREFIX}${name} was never published; got ${[...latest(c).keys()].join(' ')}`);
  return Number(v);
}

/**
 * Waits (bounded) until every named metric's latest value is exactly the one wanted: a counter
 * that overshoots never matches, so the wait fails with what was seen.
 */
async function waitForValues(c: Client, want: Record<string, number>, timeoutMs = 15000): Promise<void> {
  const matches = () => Object.entries(want).every(([k, v]) => latest(c).get(k) === String(v));
  const deadline = Date.now() + timeoutMs;
  while (!matches()) {
    if (Date.now() > deadline) {
      const seen = Object.fromEntries(Object.keys(want).map((k) => [k, latest(c).get(k)]));
      assert.fail(`metrics never reached ${JSON.stringify(want)}; latest ${JSON.stringify(seen)}`);
    }
    await c.waitForMessage(() => matches(), Math.max(1, deadline - Date.now())).catch(() => undefined);
  }
}

/** Resolves once the plugin has published again (a value the subscriber had not seen yet). */
async function nextPublication(c: Client): Promise<void> {
  const count = c.received.length;
  await c.waitForMessage((m) => m.topic.startsWith(PREFIX) && c.received.indexOf(m) >= count, 15000);
}

describe('metrics under $SYS/broker/wasm-auth/', () => {
  let broker: Broker;
  let mon: Client;

  before(async () => {
    broker = await startMetricsBroker('metrics', 1);
    mon = await connect({ port: broker.port, version: 5, username: 'mon', password: 'mon-pw' });
    assert.deepEqual(await mon.subscribe(`${PREFIX}#`), [0]);
  });
  after(async () => {
    await endAll(mon);
    await broker?.stop();
  });

  test('retained, with the module name and every counter, zeros included', async () => {
    const m = await mon.waitForMessage((x) => x.topic === `${PREFIX}checks/acl/write/allow`);
    assert.equal(m.retain, true, 'a new subscriber gets the values retained');
    assert.equal(latest(mon).get('policy/module'), 'policy.wasm');
    for (const name of ['checks/basic_auth/deny', 'checks/acl/write/deny', 'failures/fuel', 'failures/timeout',
      'failures/trap', 'failures/budget', 'failures/total', 'cache/hits', 'grants/hits', 'reloads/ok', 'reloads/failed']) {
      assert.ok(Number.isInteger(valueOf(mon, name)), name);
    }
    assert.equal(valueOf(mon, 'failures/total'), 0);
  });

  test('allowed and denied publishes and a failed login move their counters by exactly that much', async () => {
    // So far only mon's own login (the retained values may predate it: wait for its count).
    const base = {
      'checks/basic_auth/allow': 1,
      'checks/basic_auth/deny': 0,
      'checks/acl/write/allow': 0,
      'checks/acl/write/deny': 0,
    };
    await waitForValues(mon, base);
    const alice = await connect({ port: broker.port, version: 5, username: 'alice', password: 'alice-pw' });
    try {
      for (let i = 0; i < 2; i++) assert.equal(await alice.publish(`a/${i}`, 'x', { qos: 1 }), 0);
      for (let i = 0; i < 3; i++) assert.equal(await alice.publish(`b/${i}`, 'x', { qos: 1 }), 135);
    } finally {
      await alice.end();
    }
    const refused = await tryConnect({ port: broker.port, version: 5, username: 'alice', password: 'wrong' });
    assert.equal(refused.ok, false);
    const want = {
      'checks/basic_auth/allow': base['checks/basic_auth/allow'] + 1,
      'checks/basic_auth/deny': base['checks/basic_auth/deny'] + 1,
      'checks/acl/write/allow': base['checks/acl/write/allow'] + 2,
      'checks/acl/write/deny': base['checks/acl/write/deny'] + 3,
    };
    await waitForValues(mon, want);
    // The first guest call of a policy is sampled (mon's login): fuel and latency have values.
    assert.ok(valueOf(mon, 'samples') > 0, 'guest calls were sampled');
    assert.ok(valueOf(mon, 'fuel/p50') > 0, 'a sampled call used fuel');
    // Two more publications (each delivers changed values to mon, whose READ checks change
    // checks/acl/read/allow): the plugin's own $SYS publishes took no WRITE check.
    await nextPublication(mon);
    await nextPublication(mon);
    for (const [k, v] of Object.entries(want)) assert.equal(valueOf(mon, k), v, k);
    assert.equal(valueOf(mon, 'failures/total'), 0);
  });

  test('a reload (SIGHUP) counts as reloads/ok, a broken module as reloads/failed', async () => {
    const ok = valueOf(mon, 'reloads/ok');
    const failed = valueOf(mon, 'reloads/failed');
    await broker.sighup();
    await waitForValues(mon, { 'reloads/ok': ok + 1, 'reloads/failed': failed });
    const tmp = broker.ctx.file('policy.wasm.new');
    writeFileSync(tmp, 'not a module');
    renameSync(tmp, broker.ctx.file('policy.wasm'));
    await broker.sighup();
    await waitForValues(mon, { 'reloads/ok': ok + 1, 'reloads/failed': failed + 1 });
  });
});

describe('plugin_opt_wasm_sys_interval 0', () => {
  let broker: Broker;

  before(async () => {
    broker = await startMetricsBroker('metrics-off', 0);
  });
  after(async () => {
    await broker?.stop();
  });

  test('publishes nothing under $SYS/broker/wasm-auth/', async () => {
    const mon = await connect({ port: broker.port, version: 5, username: 'mon', password: 'mon-pw' });
    const alice = await connect({ port: broker.port, version: 5, username: 'alice', password: 'alice-pw' });
    try {
      assert.deepEqual(await mon.subscribe(['$SYS/broker/wasm-auth/#', 'a/#']), [0, 0]);
      assert.equal(await alice.publish('a/1', 'x', { qos: 1 }), 0);
      // The positive control: mon's subscriptions work (it receives a/1) ...
      await mon.waitForMessage((m) => m.topic === 'a/1');
      // ... and two seconds (two intervals of the other broker, whose first publication is at
      // its first tick) bring nothing under the prefix.
      await new Promise((r) => setTimeout(r, 2000));
      assert.deepEqual(mon.received.filter((m) => m.topic.startsWith(PREFIX)).map((m) => m.topic), []);
    } finally {
      await endAll(mon, alice);
    }
  });
});

// The rules fixture (tests/fixtures/assembly/rules.ts) fails on demand: each failure is counted by
// its kind and as a failure decision of acl_check. A long deadline, so that the spinning loop
// always ends on fuel, never on time.
describe('failures by kind', () => {
  let broker: Broker;
  let alice: Client;

  before(async () => {
    broker = await startPolicyBroker({
      name: 'metrics-failures',
      module: requireFile(fixture('rules'), 'fixture rules'),
      opts: { wasm_sys_interval: 1, wasm_timeout_ms: 10000 },
    });
    alice = await connect({ port: broker.port, version: 5, username: 'alice', password: 'alice-pw' });
    assert.deepEqual(await alice.subscribe(`${PREFIX}#`), [0]);
  });
  after(async () => {
    await endAll(alice);
    await broker?.stop();
  });

  test('an invalid decision, a trap, a stack overflow, a spin and a memory exhaustion', async () => {
    await waitForValues(alice, { 'checks/basic_auth/allow': 1, 'failures/total': 0 });
    // Out of memory last: the instance may be dropped after it (then re-created).
    for (const topic of ['bad-decision/1', 'trap/1', 'recurse/1', 'spin/1', 'oom/1']) {
      assert.equal(await alice.publish(topic, 'x', { qos: 1 }), 135, `${topic}: the failure decision (deny)`);
    }
    await waitForValues(alice, {
      'failures/trap': 2,
      'failures/stack': 1,
      'failures/fuel': 1,
      'failures/memory': 1,
      'failures/timeout': 0,
      'failures/total': 5,
      'checks/acl/failure': 5,
      'checks/acl/write/deny': 5,
      'checks/acl/write/allow': 0,
    });
  });
});
