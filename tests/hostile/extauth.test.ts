// Enhanced authentication hooks that misbehave (tests/fixtures/assembly/hostile-auth.ts) in a
// real broker: spinning, trapping, answering garbage, flooding auth_data_out, pointing outside
// memory, hashing at the cap in a loop, in ext_auth_start and in ext_auth_continue. Each client
// is refused (never admitted, even with wasm_on_error defer), the failure logged, and the broker
// keeps serving clients with and without an authentication method.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import mqtt, { type Packet } from 'mqtt';
import type { Broker } from '../harness/broker.js';
import { endAll, REFUSED_V5, tryConnect, uniqueId } from '../harness/mqtt.js';
import { fixture } from '../harness/paths.js';
import { startPolicyBroker } from '../harness/policy-broker.js';

/** CONNECT with method M and `first`; an AUTH from the broker is answered with `second`. The CONNACK code, -1 without one. */
function authConnect(port: number, first: string, second = 'ok'): Promise<{ code: number; data: string }> {
  return new Promise((resolve) => {
    const c = mqtt.connect({
      protocolVersion: 5, clientId: uniqueId('h'), reconnectPeriod: 0, connectTimeout: 8000, host: '127.0.0.1', port,
      properties: { authenticationMethod: 'M', authenticationData: Buffer.from(first) },
    });
    let done = false;
    const settle = (code: number, data: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      c.end(true);
      resolve({ code, data });
    };
    const timer = setTimeout(() => settle(-1, 'timeout'), 10000);
    c.handleAuth = (_p, cb) => cb(undefined, { cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'M', authenticationData: Buffer.from(second) } });
    c.on('packetreceive', (p: Packet) => {
      if (p.cmd === 'connack') settle(p.reasonCode ?? 0, p.properties?.authenticationData?.toString() ?? '');
    });
    c.on('error', () => undefined);
    c.on('close', () => settle(-1, 'closed'));
  });
}

describe('hostile enhanced authentication', () => {
  let broker: Broker;
  before(async () => {
    broker = await startPolicyBroker({
      name: 'hostile-auth',
      module: fixture('hostile-auth'),
      // A failure must deny even where requests' failures defer. wasm_fuel 10M (a tenth of the
      // default): a hashing loop stops after one hash at the cap instead of running to the
      // deadline twice, which would spend the policy's whole share of broker time (the breaker
      // then refuses the next client until it refills: right, but not what is tested here).
      opts: { wasm_on_error: 'defer', wasm_timeout_ms: 50, wasm_fuel: 10000000 },
    });
  });
  after(() => broker?.stop());

  async function stillServing(label: string): Promise<void> {
    const good = await authConnect(broker.port, 'ok', 'ok');
    assert.equal(good.code, 0, `an exchange after ${label}`);
    const plain = await tryConnect({ port: broker.port, version: 5, username: 'u', password: 'p' });
    assert.equal(plain.code, 0, `a password login after ${label}`);
    if (plain.ok) await endAll(plain.client);
    assert.ok(broker.running);
  }

  test('a well-behaved exchange through the fixture: continue, then allow', async () => {
    await stillServing('nothing');
  });

  for (const how of ['spin', 'trap', 'bad', 'badptr', 'hash']) {
    test(`${how} in ext_auth_start and in ext_auth_continue: refused, the broker serving`, async () => {
      const since = broker.mark();
      assert.equal((await authConnect(broker.port, how)).code, REFUSED_V5, `${how} at start`);
      assert.equal((await authConnect(broker.port, 'ok', how)).code, REFUSED_V5, `${how} at continue`);
      // Failure lines are rate-limited per policy (WA_ERROR_LOG_INTERVAL_S): the first case's shows.
      if (how === 'spin') await broker.waitForLog(/wasm-auth: ext_auth_start failed, request denied: (timeout|fuel exhausted)/, { since });
      await stillServing(how);
    });
  }

  test('flooding auth_data_out: bounded, refused beyond the cap, the exchange goes on', async () => {
    const r = await authConnect(broker.port, 'flood', 'ok');
    // 64 KiB is above WA_MAX_AUTH_DATA_BYTES: every call refused, nothing sent, the exchange continues.
    assert.equal(r.code, 0);
    await stillServing('flood');
  });
});
