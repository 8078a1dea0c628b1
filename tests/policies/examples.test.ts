// The example policies (build/examples/*.wasm) through the Node host: what each shows works on
// the built module, with real files (password files from the real mosquitto_passwd).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { READ, SUBSCRIBE, WRITE, example, load, mosquittoPasswd, tempDir, wasm, type Logged } from './util.js';

describe('example testauth', () => {
  test('logs every hook with its arguments and allows', () => {
    const logs: Logged[] = [];
    const p = load(wasm(example('testauth')), [['wasm_module', 'testauth.wasm'], ['psk_key', 'c0ffee']], logs);
    assert.match(logs[0].message, /^testauth: plugin_init \(opts: \{wasm_module: "testauth.wasm", psk_key: "c0ffee"\}\)$/);
    assert.match(logs[1].message, /^testauth: security_init \(reload: false, /);
    assert.equal(p.unpwdCheck('alice', 'secret'), 'allow');
    assert.match(logs[2].message, /unpwd_check \(username: "alice", password: 6 bytes/);
    assert.ok(!logs[2].message.includes('secret'));
    assert.equal(p.aclCheck({ clientid: 'c1', username: null, topic: 'a/b', access: WRITE }), 'allow');
    assert.equal(logs[3].message, 'testauth: acl_check (clientid: "c1", username: (none), topic: "a/b", access: MOSQ_ACL_WRITE)');
    assert.equal(p.pskKeyGet('dev', 'hint'), 'c0ffee');
    assert.ok(p.reload());
    assert.ok(logs.some((l) => l.message === 'testauth: security_cleanup (reload: true)'));
    p.cleanup();
    assert.equal(logs[logs.length - 1].message, 'testauth: plugin_cleanup');
  });

  test('without psk_key there is no key', () => {
    assert.equal(load(wasm(example('testauth')), []).pskKeyGet('dev', 'hint'), null);
  });
});

describe('example static-users', () => {
  const tmp = tempDir('static-users');
  after(() => tmp.remove());

  test('built-in users and the hand-written ACL', () => {
    const p = load(wasm(example('static-users')), []);
    assert.equal(p.unpwdCheck('alice', 'alice-secret'), 'allow');
    assert.equal(p.unpwdCheck('alice', 'bob-secret'), 'deny');
    assert.equal(p.unpwdCheck(null, null), 'deny');
    const acl = (u: string | null, topic: string, access: number) => p.aclCheck({ clientid: 'c', username: u, topic, access });
    assert.equal(acl('alice', 'users/alice/x', WRITE), 'allow');
    assert.equal(acl('alice', 'users/alice/#', SUBSCRIBE), 'allow');
    assert.equal(acl('alice', 'users/bob/x', READ), 'deny');
    assert.equal(acl('alice', 'users/+/x', SUBSCRIBE), 'deny');
    assert.equal(acl('+', 'users/+/#', SUBSCRIBE), 'deny');
    assert.equal(acl(null, 'public/news', READ), 'allow');
    assert.equal(acl('bob', 'public/news', WRITE), 'deny');
    assert.equal(acl('bob', '#', SUBSCRIBE), 'deny');
  });

  test('users from a password_file made by mosquitto_passwd', () => {
    const pw = tmp.file('passwd');
    mosquittoPasswd(pw, 'carol', 'carol-pw', 'pbkdf2', true);
    mosquittoPasswd(pw, 'dave', 'dave-pw', 'sha512');
    const p = load(wasm(example('static-users')), [['password_file', pw]]);
    assert.equal(p.unpwdCheck('carol', 'carol-pw'), 'allow');
    assert.equal(p.unpwdCheck('dave', 'dave-pw'), 'allow');
    assert.equal(p.unpwdCheck('alice', 'alice-secret'), 'deny');
    assert.equal(p.aclCheck({ clientid: 'c', username: 'dave', topic: 'users/dave/a/b', access: WRITE }), 'allow');
  });
});

describe('example psk', () => {
  const tmp = tempDir('psk');
  after(() => tmp.remove());

  test('keys by identity, ACL by identity as username, reload', () => {
    const file = tmp.file('psk');
    writeFileSync(file, 'sensor-1:00112233\ngateway:abcdef01\n');
    const logs: Logged[] = [];
    const p = load(wasm(example('psk')), [['psk_file', file]], logs);
    assert.equal(p.pskKeyGet('sensor-1', 'hint'), '00112233');
    assert.equal(p.pskKeyGet('nobody', 'hint'), null);
    assert.equal(p.aclCheck({ clientid: 'c', username: 'sensor-1', topic: 'devices/sensor-1/t', access: WRITE }), 'allow');
    assert.equal(p.aclCheck({ clientid: 'c', username: 'sensor-1', topic: 'devices/gateway/t', access: WRITE }), 'deny');
    assert.equal(p.aclCheck({ clientid: 'c', username: 'gateway', topic: 'broadcast/x', access: READ }), 'allow');
    writeFileSync(file, 'sensor-1:44556677\n');
    assert.ok(p.reload());
    assert.equal(p.pskKeyGet('sensor-1', 'hint'), '44556677');
    assert.equal(p.pskKeyGet('gateway', 'hint'), null);
    writeFileSync(file, 'sensor-1:not-hex\n');
    assert.equal(p.reload(), false);
    assert.ok(logs.some((l) => /psk_file line 1/.test(l.message)));
    assert.equal(p.pskKeyGet('sensor-1', 'hint'), '44556677', 'a failed reload keeps the keys');
  });
});

describe('example defer-dynsec', () => {
  test('decides a few things and defers the rest', () => {
    const p = load(wasm(example('defer-dynsec')), []);
    assert.equal(p.unpwdCheck('dyn-user', 'dyn-pw'), 'defer');
    assert.equal(p.unpwdCheck('a+b', 'pw'), 'deny');
    assert.equal(p.aclCheck({ clientid: 'c', username: 'u', topic: '$SYS/x', access: WRITE }), 'deny');
    assert.equal(p.aclCheck({ clientid: 'c', username: 'u', topic: 'public/x', access: READ }), 'allow');
    assert.equal(p.aclCheck({ clientid: 'c', username: 'u', topic: 'dyn/x', access: WRITE }), 'defer');
  });
});

describe('example rate-limit', () => {
  test('publish_rate publishes per client (real clock), reads always; on_disconnect frees the state', () => {
    const logs: Logged[] = [];
    const p = load(wasm(example('rate-limit')), [['publish_rate', '5']], logs);
    const pub = (clientid: string) => p.aclCheck({ clientid, username: null, topic: 't', access: WRITE });
    const a = Array.from({ length: 20 }, () => pub('a'));
    assert.deepEqual(a.slice(0, 5), Array(5).fill('allow'));
    // At most one token back if the 20 checks took over 200 ms.
    assert.ok(a.filter((d) => d === 'allow').length <= 6, a.join(','));
    assert.equal(a[a.length - 1], 'deny');
    assert.equal(p.aclCheck({ clientid: 'a', username: null, topic: 't', access: READ }), 'allow');
    assert.equal(p.aclCheck({ clientid: 'a', username: null, topic: 't/#', access: SUBSCRIBE }), 'allow');
    assert.equal(pub('b'), 'allow');
    p.disconnect('a', null);
    assert.ok(logs.some((l) => l.message === 'rate-limit: forgot a (1 clients tracked)'), JSON.stringify(logs));
    assert.equal(pub('a'), 'allow');
  });

  test('a bad option refuses to start', () => {
    assert.throws(() => load(wasm(example('rate-limit')), [['publish_rate', '0']]));
    assert.throws(() => load(wasm(example('rate-limit')), [['report_interval_s', 'ten']]));
  });
});

describe('example payload-rules', () => {
  test('sees payload, qos and retain through the 7-argument acl_check', () => {
    const p = load(wasm(example('payload-rules')), [['max_payload', '16']]);
    assert.equal(p.hooks.acl_check, 1, 'the long form is exported');
    const pub = (topic: string, payload: string | Uint8Array, qos = 0, retain = false) =>
      p.aclCheck({ clientid: 'c', username: 'u', topic, access: WRITE, payload, qos, retain });
    assert.equal(pub('telemetry/t', '{"t":1}'), 'allow');
    assert.equal(pub('telemetry/t', '{"t":1}', 0, true), 'deny');
    assert.equal(pub('telemetry/t', 'plain'), 'deny');
    assert.equal(pub('other', 'plain', 1, true), 'allow');
    assert.equal(pub('other', 'x', 2), 'deny');
    assert.equal(pub('other', new Uint8Array(17)), 'deny');
    assert.equal(pub('other', new Uint8Array(16)), 'allow');
  });

  test('a bad option refuses to start', () => {
    assert.throws(() => load(wasm(example('payload-rules')), [['max_qos', '7']]));
  });
});

describe('example subscriber-views', () => {
  const p = load(wasm(example('subscriber-views')), []);
  const copy = (topic: string, payload: string, username: string | null) =>
    p.messageOut({ clientid: 'c1', username, topic, payload, qos: 1 });
  const sub = (topic: string, username: string | null) => p.subscribe({ clientid: 'c2', username, topic, qos: 1 });

  test('one report, a payload per subscriber; staff/... for staff only', () => {
    assert.deepEqual(copy('reports/r', '{"secret": "s"}', 'admin'), {});
    const r = copy('reports/r', '{"secret": "s"}', 'bob');
    assert.ok(r !== 'drop' && Buffer.from(r.payload!).toString() === '{"secret": "***"}');
    assert.equal(copy('reports/r', 'x'.repeat(65537), 'bob'), 'drop', 'too large to redact: not sent unredacted');
    assert.deepEqual(copy('staff/n', 'x', 'staff-carol'), {});
    assert.equal(copy('staff/n', 'x', 'bob'), 'drop');
  });

  test('inbox is each user\'s own; without a username it is refused', () => {
    assert.deepEqual(sub('inbox', 'alice'), { topic: 'users/alice/inbox' });
    assert.equal(sub('inbox/#', null), 'deny');
    assert.deepEqual(sub('news/#', null), {});
  });
});

describe('example message-rewrite', () => {
  const p = load(wasm(example('message-rewrite')), []);
  const msg = (topic: string, payload: string, username: string | null = 'acme', retain = false) =>
    p.message({ clientid: 'c1', username, topic, payload, qos: 1, retain });
  const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : Buffer.from(b).toString());

  test('drops drop/..., and in/... without a usable username', () => {
    assert.equal(msg('drop/a', 'x'), 'drop');
    assert.equal(msg('in/a', 'x', null), 'drop');
    assert.equal(msg('in/a', 'x', 'a/b'), 'drop');
  });

  test('moves in/... under the tenant, retains status/..., redacts passwords, leaves the rest', () => {
    const r = msg('in/login', '{"password": "pw", "n": 1}');
    assert.ok(r !== 'drop');
    assert.equal(r.topic, 'tenants/acme/in/login');
    assert.equal(text(r.payload), '{"password": "***", "n": 1}');
    assert.equal(r.retain, undefined);
    assert.deepEqual(msg('status/d1', 'up'), { retain: true });
    assert.deepEqual(msg('status/d1', 'up', 'acme', true), {});
    assert.deepEqual(msg('other', 'x'), {});
  });
});
