// The default policy (build/policies/default.wasm) through the Node host, with password files
// written by the real mosquitto_passwd: logins with both hash kinds, acl_file decisions, load
// errors that name file and line, reloads (new rules, and a broken file keeping the old ones),
// and a large configuration within the plugin's init budget (the host meters fuel like the plugin).
import assert from 'node:assert/strict';
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { PolicyLoadError, type Policy } from '../../sdk/host/index.js';
import { DEFAULT_POLICY_WASM, READ, SUBSCRIBE, UNSUBSCRIBE, WRITE, load, mosquittoPasswd, tempDir, wasm, type Logged } from './util.js';

const ACL = `# test acl_file
topic read public/#

user alice
topic readwrite alice/#
topic read shared/#
topic deny shared/secret/#

user bob
topic write bob/#

pattern readwrite users/%u/#
pattern read clients/%c/#
`;

describe('default policy: logins', () => {
  const tmp = tempDir('default-login');
  const bytes = wasm(DEFAULT_POLICY_WASM);
  let policy: Policy;
  before(() => {
    const pw = tmp.file('passwd');
    mosquittoPasswd(pw, 'alice', 'alice-pw', 'pbkdf2', true);
    mosquittoPasswd(pw, 'bob', 'bob-pw', 'sha512');
    mosquittoPasswd(pw, 'zoë', 'zoë-pw');
    policy = load(bytes, [['password_file', pw]]);
  });
  after(() => tmp.remove());

  test('mosquitto_passwd hashes of both kinds', () => {
    assert.equal(policy.unpwdCheck('alice', 'alice-pw'), 'allow');
    assert.equal(policy.unpwdCheck('bob', 'bob-pw'), 'allow');
    assert.equal(policy.unpwdCheck('zoë', 'zoë-pw'), 'allow');
  });

  test('wrong, empty and missing passwords, unknown users', () => {
    assert.equal(policy.unpwdCheck('alice', 'bob-pw'), 'deny');
    assert.equal(policy.unpwdCheck('alice', ''), 'deny');
    assert.equal(policy.unpwdCheck('alice', null), 'deny');
    assert.equal(policy.unpwdCheck('bob', new Uint8Array([0x62, 0x6f, 0x62, 0xff, 0x70, 0x77])), 'deny');
    assert.equal(policy.unpwdCheck('mallory', 'alice-pw'), 'deny');
    assert.equal(policy.unpwdCheck('zoe', 'zoë-pw'), 'deny');
  });

  test('anonymous clients: the broker decides unless allow_anonymous is set', () => {
    assert.equal(policy.unpwdCheck(null, null), 'defer');
    assert.equal(load(bytes, [['allow_anonymous', 'true']]).unpwdCheck(null, null), 'allow');
    assert.equal(load(bytes, [['allow_anonymous', 'false']]).unpwdCheck(null, null), 'deny');
  });

  test('without a password_file every username is deferred', () => {
    assert.equal(load(bytes, []).unpwdCheck('alice', 'alice-pw'), 'defer');
  });
});

describe('default policy: acl_file', () => {
  const tmp = tempDir('default-acl');
  let policy: Policy;
  const acl = (username: string | null, clientid: string, topic: string, access: number) =>
    policy.aclCheck({ clientid, username, topic, access });
  before(() => {
    writeFileSync(tmp.file('acl'), ACL);
    policy = load(wasm(DEFAULT_POLICY_WASM), [['acl_file', tmp.file('acl')]]);
  });
  after(() => tmp.remove());

  test('user rules, deny over grants, patterns, anonymous rules', () => {
    assert.equal(acl('alice', 'a1', 'alice/x', WRITE), 'allow');
    assert.equal(acl('alice', 'a1', 'shared/x', READ), 'allow');
    assert.equal(acl('alice', 'a1', 'shared/x', WRITE), 'deny');
    assert.equal(acl('alice', 'a1', 'shared/secret/x', READ), 'deny');
    assert.equal(acl('bob', 'b1', 'bob/x', READ), 'deny');
    assert.equal(acl('bob', 'b1', 'users/bob/x', READ), 'allow');
    assert.equal(acl('bob', 'b1', 'users/alice/x', READ), 'deny');
    assert.equal(acl('bob', 'b1', 'clients/b1/x', READ), 'allow');
    assert.equal(acl(null, 'anon', 'public/x', READ), 'allow');
    assert.equal(acl(null, 'anon', 'public/x', WRITE), 'deny');
    assert.equal(acl('alice', 'a1', 'public/x', READ), 'deny');
  });

  test('patterns refuse usernames and client ids holding + or #', () => {
    assert.equal(acl('bob', 'b#', 'users/bob/x', WRITE), 'deny');
    assert.equal(acl('b+b', 'b1', 'users/b+b/x', WRITE), 'deny');
  });

  test('SUBSCRIBE and UNSUBSCRIBE are granted, as by mosquitto 2.0.11', () => {
    assert.equal(acl('bob', 'b1', '#', SUBSCRIBE), 'allow');
    assert.equal(acl(null, 'anon', 'alice/#', UNSUBSCRIBE), 'allow');
  });

  test('without an acl_file everything is allowed', () => {
    const open = load(wasm(DEFAULT_POLICY_WASM), []);
    assert.equal(open.aclCheck({ clientid: 'c', username: 'x', topic: 'any/thing', access: WRITE }), 'allow');
  });
});

describe('default policy: refusing bad files', () => {
  const tmp = tempDir('default-bad');
  after(() => tmp.remove());

  function refusal(opts: [string, string][]): string {
    const logs: Logged[] = [];
    assert.throws(() => load(wasm(DEFAULT_POLICY_WASM), opts, logs), PolicyLoadError);
    return logs.map((l) => l.message).join('\n');
  }

  test('a malformed acl_file names the file and the line', () => {
    writeFileSync(tmp.file('bad.acl'), 'user a\ntopic read a/#\ntopic read a/#/b\n');
    assert.match(refusal([['acl_file', tmp.file('bad.acl')]]), new RegExp(`acl_file ${tmp.file('bad.acl')} line 3: invalid ACL topic "a/#/b"`));
  });

  test('a password file with a plain-text password names the line', () => {
    const pw = tmp.file('bad.passwd');
    mosquittoPasswd(pw, 'alice', 'alice-pw', 'pbkdf2', true);
    writeFileSync(pw, 'bob:plain-text\n', { flag: 'a' });
    assert.match(refusal([['password_file', pw]]), /password_file .*bad\.passwd line 2: password of user "bob" is not a \$6\$, \$7\$ or \$argon2id\$ mosquitto_passwd hash/);
  });

  test('a missing file', () => {
    assert.match(refusal([['acl_file', tmp.file('nope')]]), /cannot read acl_file \(.*nope\): not found/);
  });
});

describe('default policy: reload', () => {
  const tmp = tempDir('default-reload');
  after(() => tmp.remove());

  test('new rules and passwords take effect; a broken file keeps the old ones', () => {
    const pw = tmp.file('passwd');
    const aclFile = tmp.file('acl');
    mosquittoPasswd(pw, 'alice', 'one', 'pbkdf2', true);
    writeFileSync(aclFile, 'user alice\ntopic readwrite first/#\n');
    const logs: Logged[] = [];
    const policy = load(wasm(DEFAULT_POLICY_WASM), [['password_file', pw], ['acl_file', aclFile]], logs);
    const write = (topic: string) => policy.aclCheck({ clientid: 'c', username: 'alice', topic, access: WRITE });
    assert.equal(write('first/x'), 'allow');
    assert.equal(policy.unpwdCheck('alice', 'one'), 'allow');

    mosquittoPasswd(pw, 'alice', 'two');
    writeFileSync(aclFile, 'user alice\ntopic readwrite second/#\n');
    assert.equal(policy.reload(), true);
    assert.equal(write('first/x'), 'deny');
    assert.equal(write('second/x'), 'allow');
    assert.equal(policy.unpwdCheck('alice', 'one'), 'deny');
    assert.equal(policy.unpwdCheck('alice', 'two'), 'allow');

    writeFileSync(aclFile, 'user alice\ntopic readwrite third/#\nnonsense\n');
    assert.equal(policy.reload(), false);
    assert.ok(logs.some((l) => /acl_file .* line 3: invalid line "nonsense"/.test(l.message)), 'the bad line is logged');
    assert.ok(logs.some((l) => /reload of .* failed, keeping the previous policy: security_init returned 0/.test(l.message)));
    assert.equal(write('second/x'), 'allow', 'previous rules still in force');
    assert.equal(write('third/x'), 'deny');
    assert.equal(policy.unpwdCheck('alice', 'two'), 'allow');
  });
});

describe('default policy: a large configuration', () => {
  const tmp = tempDir('default-large');
  after(() => tmp.remove());

  test('5000 users and 10000 rules load within the init budget and decide correctly', () => {
    // $7$ lines as mosquitto_passwd writes them (PBKDF2-SHA512, 101 iterations), made here because
    // mosquitto_passwd rewrites the whole file per user; two are made by mosquitto_passwd itself.
    const N = 5000;
    const lines: string[] = [];
    let acl = 'pattern read public/#\n';
    for (let i = 0; i < N; i++) {
      const user = `user${i}`;
      const salt = new Uint8Array(randomBytes(12));
      const hash = pbkdf2Sync(`pw${i}`, salt, 101, 64, 'sha512');
      lines.push(`${user}:$7$101$${Buffer.from(salt).toString('base64')}$${hash.toString('base64')}`);
      acl += `user ${user}\ntopic readwrite devices/${user}/#\ntopic deny devices/${user}/locked/#\n`;
    }
    const pw = tmp.file('passwd');
    writeFileSync(pw, lines.join('\n') + '\n');
    mosquittoPasswd(pw, 'real-a', 'real-a-pw');
    mosquittoPasswd(pw, 'real-b', 'real-b-pw', 'sha512');
    writeFileSync(tmp.file('acl'), acl);
    const policy = load(wasm(DEFAULT_POLICY_WASM), [['password_file', pw], ['acl_file', tmp.file('acl')]]);
    for (const i of [0, 1, 2499, 4999]) {
      assert.equal(policy.unpwdCheck(`user${i}`, `pw${i}`), 'allow');
      assert.equal(policy.unpwdCheck(`user${i}`, `pw${i + 1}`), 'deny');
      const w = (topic: string) => policy.aclCheck({ clientid: 'c', username: `user${i}`, topic, access: WRITE });
      assert.equal(w(`devices/user${i}/x`), 'allow');
      assert.equal(w(`devices/user${i}/locked/x`), 'deny');
      assert.equal(w(`devices/user${(i + 1) % N}/x`), 'deny');
    }
    assert.equal(policy.unpwdCheck('real-a', 'real-a-pw'), 'allow');
    assert.equal(policy.unpwdCheck('real-b', 'real-b-pw'), 'allow');
  });
});
