// mosquitto 2.1's HTTP API listener (`protocol http_api`) asks the security plugins for basic
// authentication, then an ACL check, from libmicrohttpd's own thread, with a client of its own
// on that thread's stack. The plugin answers on mosquitto's main thread only: such logins are
// refused (HTTP 401) before anything of the plugin's is touched, the first one with one log line,
// and MQTT clients are served throughout. Runs against a 2.1 broker built with the HTTP API
// (tests/mosquitto21.mk when libmicrohttpd-dev is installed); skipped with the reason otherwise.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { get } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { type Broker } from '../harness/broker.js';
import { connect, endAll, uniqueId } from '../harness/mqtt.js';
import { brokerAtLeast, fixture, MOSQUITTO_BIN, requireFile } from '../harness/paths.js';
import { startPolicyBroker } from '../harness/policy-broker.js';

function whyNot(): string | false {
  if (!brokerAtLeast(2, 1)) return 'the HTTP API listener is mosquitto 2.1\'s (this broker is older)';
  const ldd = spawnSync('ldd', [MOSQUITTO_BIN], { encoding: 'utf8' });
  if (!/libmicrohttpd/.test(ldd.stdout ?? '')) return `${MOSQUITTO_BIN} was built without the HTTP API (libmicrohttpd)`;
  return false;
}

/** GET path with HTTP basic authentication: the status code. */
function httpGet(port: number, path: string, auth: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path, auth, timeout: 10000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: no answer within 10 s`)));
    req.on('error', reject);
  });
}

const skip = whyNot();

describe('HTTP API logins (mosquitto 2.1)', { skip }, () => {
  let broker: Broker;
  before(async () => {
    // allow-all would let every login in: what is refused here is refused for the thread alone.
    broker = await startPolicyBroker({
      name: 'http-api',
      module: requireFile(fixture('allow-all'), 'fixture allow-all'),
      ports: 2,
      after: (ctx) => `listener ${ctx.ports[1]} 127.0.0.1\nprotocol http_api`,
    });
  });
  after(() => broker?.stop());

  test('logins from the HTTP API thread are refused with one line; MQTT clients are served meanwhile', async () => {
    const since = broker.mark();
    const c = await connect({ port: broker.port, username: 'alice', password: 'anything', clientId: uniqueId('mqtt') });
    try {
      const topic = `http-api/${uniqueId('t')}`;
      await c.subscribe(topic, 1);
      const requests: Promise<number>[] = [];
      for (let i = 0; i < 40; i++) {
        requests.push(httpGet(broker.ports[1], '/api/v1/version', i % 4 === 0 ? undefined : `user${i}:pw${i}`));
      }
      // MQTT round trips while the HTTP requests are being refused.
      for (let i = 0; i < 20; i++) {
        assert.equal(await c.publish(topic, `m${i}`, { qos: 1 }), 0);
      }
      await c.waitForMessage((m) => m.topic === topic && m.payload.toString() === 'm19');
      const codes = await Promise.all(requests);
      assert.deepEqual([...new Set(codes)], [401], `HTTP status codes: ${codes.join(',')}`);
      await broker.waitForLog(/refused: the policy answers on the main thread only/, { since });
      const lines = broker.lines(since).filter((l) => /outside mosquitto's main thread/.test(l));
      assert.equal(lines.length, 1, lines.join(' | '));
    } finally {
      await endAll(c);
    }
    // Still the same broker, still serving.
    const later = await connect({ port: broker.port, username: 'bob', password: 'x', clientId: uniqueId('mqtt') });
    await endAll(later);
    assert.ok(broker.running, 'the broker is still running');
  });
});
