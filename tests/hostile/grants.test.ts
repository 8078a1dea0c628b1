// Hostile grants (fixtures/grants.wat; docs/ABI.md, "Grants"): a cacheable policy whose
// wasm_auth_acl_grants loops, traps or returns descriptors that are out of bounds, unaligned,
// over the caps, out of tier order, or hold an invalid filter or fallback. For each, through a
// real broker: that client's PUBLISH gets the failure decision, the failure is logged, the broker
// stays up, a client with valid grants is served by them, and one without grants by acl_check.
// The Node host gives the failure decision for each too.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { listener, pluginConf, startBroker, type Broker } from '../harness/broker.js';
import { connect, deliveries, endAll, type Client } from '../harness/mqtt.js';
import { hostileFixture, runHost } from './support.js';

const DENIED = 135;
const TRIGGERS: { word: string; logged: RegExp }[] = [
  { word: 'loop', logged: /fuel exhausted|timeout|ran longer/ },
  { word: 'trap', logged: /unreachable/ },
  { word: 'oobp', logged: /descriptor outside memory/ },
  { word: 'unal', logged: /not 4-byte aligned/ },
  { word: 'many', logged: /WA_GRANTS_MAX_ENTRIES/ },
  { word: 'entr', logged: /entries outside memory/ },
  { word: 'filt', logged: /not a valid subscription filter/ },
  { word: 'fall', logged: /fallback byte/ },
  { word: 'ordr', logged: /tier order/ },
  { word: 'lenx', logged: /filter outside memory/ },
];

// One broker per case: the plugin logs one failure line per WA_ERROR_LOG_INTERVAL_S.
async function withBroker(name: string, body: (broker: Broker, good: Client, plain: Client) => Promise<void>): Promise<void> {
  const module = hostileFixture('grants');
  const broker = await startBroker({
    name: `hostile-grants-${name}`,
    config: (ctx) => [listener(ctx.ports[0]), 'allow_anonymous false', pluginConf({ module })].join('\n'),
  });
  let good: Client | undefined;
  let plain: Client | undefined;
  try {
    good = await connect({ port: broker.port, version: 5, username: 'good', password: 'x' });
    plain = await connect({ port: broker.port, version: 5, username: 'plain', password: 'x' });
    assert.deepEqual(await good.subscribe('good/#', 1), [1]);
    await body(broker, good, plain);
  } finally {
    await endAll(...[good, plain].filter((c): c is Client => c !== undefined));
    await broker.stop();
  }
}

describe('hostile grants through a real broker', () => {
  test('valid grants decide; without grants acl_check does', async () => {
    await withBroker('good', async (broker, good, plain) => {
      await broker.waitForLog(/the policy provides grants/);
      assert.equal(await good.publish('good/x', 'x', { qos: 1 }), 0);
      assert.equal(await good.publish('other/x', 'x', { qos: 1 }), DENIED, 'READ/WRITE fallback: deny');
      assert.deepEqual(await good.subscribe('anything/#', 1), [1], 'SUBSCRIBE fallback: allow');
      assert.equal(await plain.publish('other/x', 'x', { qos: 1 }), 0, 'no grants: acl_check allows');
    });
  });

  for (const t of TRIGGERS) {
    test(`${t.word}: the failure decision for that client, the broker keeps serving`, async () => {
      await withBroker(t.word, async (broker, good) => {
        const start = broker.mark();
        const bad = await connect({ port: broker.port, version: 5, username: `${t.word}-user`, password: 'x' });
        try {
          assert.equal(await bad.publish('good/x', 'x', { qos: 1 }), DENIED);
          assert.equal(await bad.publish('good/y', 'x', { qos: 1 }), DENIED, 'asked again, refused again');
        } finally {
          await endAll(bad);
        }
        assert.ok(broker.running, 'the broker is still running');
        const { arrived, codes } = await deliveries(good, good, [{ topic: `good/after-${t.word}`, qos: 1 }], 'good/marker');
        assert.deepEqual(arrived, [true], 'the good client is still served');
        assert.deepEqual(codes, [0]);
        const lines = broker.lines(start).filter((l) => l.includes('wasm-auth:') && t.logged.test(l));
        assert.ok(lines.length >= 1, `the failure is logged (${t.logged})\n${broker.describe()}`);
      });
    });
  }
});

describe('hostile grants in the Node host', () => {
  test('each trigger gives the failure decision; good grants decide', async () => {
    const module = hostileFixture('grants');
    const calls = TRIGGERS.map((t) => ({ hook: 'grants' as const, clientid: 'c1', username: `${t.word}-user` }));
    const out = await runHost(module, [...calls, { hook: 'grants', clientid: 'c1', username: 'good' },
      { hook: 'grants', clientid: 'c1', username: 'plain' }]);
    assert.equal(out.thrown, null);
    for (let i = 0; i < TRIGGERS.length; i++) {
      assert.equal(out.results[i], 'deny', TRIGGERS[i].word);
      assert.ok(out.logs.some((l) => TRIGGERS[i].logged.test(l.message)), `${TRIGGERS[i].word} logged`);
    }
    assert.equal(out.results[TRIGGERS.length], 'write=allow other=deny subscribe=allow');
    assert.equal(out.results[TRIGGERS.length + 1], 'write=ask other=ask subscribe=ask', 'no grants (0): everything asks');
  });
});
