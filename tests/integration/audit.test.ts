// The audit log (plugin_opt_wasm_audit, plugin_opt_wasm_audit_file) through real brokers and the
// default policy: a denied publish and a failed login each write one JSON line with the client,
// the access, the decision and the policy's reason (never the password); `all` records allows
// too (here decided by the client's grants); `off` writes nothing; without a file the records
// go to mosquitto's log; past the rate limit records are counted and a "N audit lines
// suppressed" line precedes the next one.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { Broker, ConfigContext } from '../harness/broker.js';
import { NOT_AUTHORIZED_V5, connect, endAll, tryConnect, uniqueId } from '../harness/mqtt.js';
import { DEFAULT_POLICY_WASM } from '../harness/paths.js';
import { startPolicyBroker } from '../harness/policy-broker.js';

const run = promisify(execFile);
const PASSWORD = 'alice-secret-pw';
const ACL = 'user alice\ntopic write allowed/#\ntopic read allowed/#\n';
// WA_AUDIT_BURST_LINES: records written at once before the rate limit holds them back.
const BURST = 200;

interface AuditRecord {
  time?: string;
  client_id?: string | null;
  username?: string | null;
  access?: string;
  topic?: string | null;
  decision?: string;
  source?: string;
  reason?: string;
  fuel?: number;
  suppressed?: number;
  message?: string;
}

async function writePasswords(ctx: ConfigContext): Promise<void> {
  await run('mosquitto_passwd', ['-c', '-b', ctx.file('passwd'), 'alice', PASSWORD]);
}

function startAudited(name: string, opts: Record<string, string | number | ((ctx: ConfigContext) => string)>): Promise<Broker> {
  return startPolicyBroker({
    name,
    module: DEFAULT_POLICY_WASM,
    files: { acl: ACL },
    setup: writePasswords,
    opts: { password_file: (ctx) => ctx.file('passwd'), acl_file: (ctx) => ctx.file('acl'), ...opts },
  });
}

function records(path: string): AuditRecord[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as AuditRecord);
}

// The file is written on the plugin's tick (at least every 100 ms): a bounded wait, not a timing
// assertion.
async function waitForRecord(path: string, match: (r: AuditRecord) => boolean, what: string): Promise<AuditRecord> {
  const deadline = Date.now() + 10000;
  for (;;) {
    const r = records(path).find(match);
    if (r) return r;
    if (Date.now() > deadline) assert.fail(`no audit record for ${what} in ${path}:\n${existsSync(path) ? readFileSync(path, 'utf8') : '(no file)'}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

describe('audit: deny, to a file', () => {
  let broker: Broker;
  let file: string;
  before(async () => {
    // Without the cache, every check is the policy's own (its reasons come through).
    broker = await startAudited('audit-deny', { wasm_audit: 'deny', wasm_audit_file: (ctx) => ctx.file('audit.jsonl'), wasm_acl_cache: 'off' });
    file = broker.ctx.file('audit.jsonl');
  });
  after(() => broker?.stop());

  test('a denied publish: one record with the client, the topic and the policy reason', async () => {
    const id = uniqueId('audit-pub');
    const c = await connect({ port: broker.port, version: 5, username: 'alice', password: PASSWORD, clientId: id });
    try {
      assert.equal(await c.publish('secret/x', 'payload-not-logged', { qos: 1 }), NOT_AUTHORIZED_V5);
      assert.equal(await c.publish('allowed/x', 'fine', { qos: 1 }), 0);
      const r = await waitForRecord(file, (x) => x.client_id === id && x.access === 'write', 'the denied publish');
      assert.equal(r.username, 'alice');
      assert.equal(r.topic, 'secret/x');
      assert.equal(r.decision, 'deny');
      assert.equal(r.source, 'policy');
      assert.equal(r.reason, 'no acl rule grants write on the topic');
      assert.ok(typeof r.fuel === 'number' && r.fuel > 0, `fuel ${r.fuel}`);
      assert.match(r.time ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      // deny: the allowed publish has no record, and no payload is ever written.
      const mine = records(file).filter((x) => x.client_id === id);
      assert.deepEqual(mine.map((x) => `${x.access} ${x.topic} ${x.decision}`), ['write secret/x deny']);
      assert.doesNotMatch(readFileSync(file, 'utf8'), /payload-not-logged/);
    } finally {
      await endAll(c);
    }
  });

  test('a failed login: a connect record with the reason, never the password', async () => {
    const id = uniqueId('audit-login');
    const wrong = `wrong-${PASSWORD}`;
    const r1 = await tryConnect({ port: broker.port, version: 5, username: 'alice', password: wrong, clientId: id });
    assert.notEqual(r1.code, 0);
    const r = await waitForRecord(file, (x) => x.client_id === id && x.access === 'connect', 'the failed login');
    assert.equal(r.username, 'alice');
    assert.equal(r.topic, null);
    assert.equal(r.decision, 'deny');
    assert.equal(r.reason, 'wrong password');
    const id2 = uniqueId('audit-login');
    const r2 = await tryConnect({ port: broker.port, version: 5, username: 'mallory', password: 'x', clientId: id2 });
    assert.notEqual(r2.code, 0);
    const u = await waitForRecord(file, (x) => x.client_id === id2, 'the unknown user');
    assert.equal(u.reason, 'unknown user');
    const text = readFileSync(file, 'utf8');
    assert.ok(!text.includes(wrong) && !text.includes(PASSWORD), 'no password in the audit file');
  });

  test('past the rate limit: records are counted, and a suppressed-count line precedes the next one', async () => {
    const id = uniqueId('audit-flood');
    const c = await connect({ port: broker.port, version: 5, username: 'alice', password: PASSWORD, clientId: id });
    try {
      const n = BURST + 100;
      for (let i = 0; i < n; i++) void c.publish(`flood/${i}`, 'x', { qos: 0 });
      // A QoS 1 publish after them: when its PUBACK is back, the broker has checked them all.
      assert.equal(await c.publish('flood/sync', 'x', { qos: 1 }), NOT_AUTHORIZED_V5);
      // The bucket refills (WA_AUDIT_LINES_PER_S); the next record brings the count.
      await new Promise((res) => setTimeout(res, 1100));
      assert.equal(await c.publish('flood/last', 'x', { qos: 1 }), NOT_AUTHORIZED_V5);
      await waitForRecord(file, (x) => x.client_id === id && x.topic === 'flood/last', 'the record after the flood');
      const all = records(file);
      const at = all.findIndex((x) => x.client_id === id);
      const after = all.slice(at);
      const written = after.filter((x) => x.client_id === id).length;
      const suppressed = after.reduce((s, x) => s + (x.suppressed ?? 0), 0);
      assert.ok(suppressed > 0, 'some records were suppressed');
      const line = after.find((x) => x.suppressed !== undefined)!;
      assert.equal(line.message, `${line.suppressed} audit lines suppressed`);
      // Every denial is accounted for: written, or counted in a suppressed line.
      assert.equal(written + suppressed, n + 2);
      const last = after.findIndex((x) => x.topic === 'flood/last');
      assert.ok(after[last - 1].suppressed !== undefined, 'the suppressed line comes right before the next record');
    } finally {
      await endAll(c);
    }
  });
});

describe('audit: all, to a file, with grants', () => {
  let broker: Broker;
  before(async () => {
    broker = await startAudited('audit-all', { wasm_audit: 'all', wasm_audit_file: (ctx) => ctx.file('audit.jsonl') });
  });
  after(() => broker?.stop());

  test('allows are recorded too: a login by the policy, a publish by the grants', async () => {
    const file = broker.ctx.file('audit.jsonl');
    const id = uniqueId('audit-all');
    const c = await connect({ port: broker.port, version: 5, username: 'alice', password: PASSWORD, clientId: id });
    try {
      assert.equal(await c.publish('allowed/y', 'x', { qos: 1 }), 0);
      assert.equal(await c.publish('secret/y', 'x', { qos: 1 }), NOT_AUTHORIZED_V5);
      const login = await waitForRecord(file, (x) => x.client_id === id && x.access === 'connect', 'the login');
      assert.equal(login.decision, 'allow');
      assert.equal(login.source, 'policy');
      const ok = await waitForRecord(file, (x) => x.client_id === id && x.topic === 'allowed/y', 'the allowed publish');
      assert.equal(ok.decision, 'allow');
      assert.equal(ok.source, 'grant');
      assert.equal(ok.reason, 'grant');
      const no = await waitForRecord(file, (x) => x.client_id === id && x.topic === 'secret/y', 'the denied publish');
      assert.equal(no.decision, 'deny');
      assert.equal(no.source, 'grant');
      assert.equal(no.fuel, 0, 'no guest code ran for a check the grants answered');
    } finally {
      await endAll(c);
    }
  });
});

describe('audit: off, and to the log', () => {
  let off: Broker;
  let logged: Broker;
  before(async () => {
    off = await startAudited('audit-off', { wasm_audit: 'off', wasm_audit_file: (ctx) => ctx.file('audit.jsonl'), wasm_acl_cache: 'off' });
    logged = await startAudited('audit-log', { wasm_audit: 'deny', wasm_acl_cache: 'off' });
  });
  after(async () => {
    await off?.stop();
    await logged?.stop();
  });

  test('off: denials and failed logins write nothing', async () => {
    const id = uniqueId('audit-off');
    const c = await connect({ port: off.port, version: 5, username: 'alice', password: PASSWORD, clientId: id });
    try {
      assert.equal(await c.publish('secret/z', 'x', { qos: 1 }), NOT_AUTHORIZED_V5);
    } finally {
      await endAll(c);
    }
    assert.notEqual((await tryConnect({ port: off.port, version: 5, username: 'alice', password: 'nope' })).code, 0);
    // Past a tick (which would have flushed a record).
    await new Promise((res) => setTimeout(res, 300));
    assert.deepEqual(records(off.ctx.file('audit.jsonl')), []);
    assert.ok(!off.lines().some((l) => l.includes('audit:')), 'no audit line in the log');
  });

  test('without a file: one notice line per denial in mosquitto\'s log', async () => {
    const since = logged.mark();
    const id = uniqueId('audit-log');
    const c = await connect({ port: logged.port, version: 5, username: 'alice', password: PASSWORD, clientId: id });
    try {
      assert.equal(await c.publish('secret/w', 'x', { qos: 1 }), NOT_AUTHORIZED_V5);
      await logged.waitForLog(
        new RegExp(`wasm-auth: audit: deny write client_id="${id}" username="alice" topic="secret/w" source=policy reason="no acl rule grants write on the topic" fuel=\\d+`),
        { since },
      );
    } finally {
      await endAll(c);
    }
  });
});
