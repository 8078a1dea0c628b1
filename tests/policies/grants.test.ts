// Grants in the Node host (docs/ABI.md, "Grants"; sdk/host/grants.ts): the default policy's and
// examples/static-users' grants answer every check they decide as their acl_check does, on
// acl_files and requests that exercise each rule of acl_file's semantics (deny within a tier,
// user rules before patterns, %u/%c inside a level, identities holding '/', '+' or '#',
// anonymous clients, '$' topics). plugin-c/tests/test_grants.c does the same through the plugin's
// reader on generated files; this checks that the Node host reads and decides grants alike.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { ASK } from '../../sdk/host/index.js';
import { DEFAULT_POLICY_WASM, READ, SUBSCRIBE, UNSUBSCRIBE, WRITE, example, load, tempDir, wasm } from './util.js';

const ACL = `
topic read anon/#
user alice
topic readwrite users/alice/#
topic deny users/alice/secret
topic read shared/+/x
user u/3
topic write slash/#
pattern readwrite users/%u/#
pattern read clients/%c/#
pattern write mid%u/x
pattern deny users/+/private
pattern read $SYS/broker/%c
`;

const IDS = ['c1', 'c/3', 'c+4', 'c#5'];
const USERS: (string | null)[] = ['alice', 'bob', 'u/3', 'u+4', 'u#5', '', null];
const TOPICS = [
  'anon/x', 'users/alice', 'users/alice/a', 'users/alice/secret', 'users/alice/private', 'users/bob/a',
  'users/bob/private', 'shared/q/x', 'shared/q/y', 'slash/a', 'users/u/3/a', 'clients/c1/a', 'clients/c/3/a',
  'midalice/x', 'midbob/x', 'mid/x', '$SYS/broker/c1', '$SYS/x', 'public/x', 'users//a', 'users/',
];

function compare(bytes: Uint8Array, options: [string, string][]): { decided: number; asked: number } {
  const policy = load(bytes, options);
  let decided = 0;
  let asked = 0;
  try {
    for (const clientid of IDS) {
      for (const username of USERS) {
        const g = policy.grants({ clientid, username });
        assert.ok(g !== null && typeof g === 'object', `grants for ${clientid}/${username}`);
        for (const topic of TOPICS) {
          for (const access of [READ, WRITE, SUBSCRIBE, UNSUBSCRIBE]) {
            const d = g.decide(topic, access);
            if (d === ASK) {
              asked++;
              continue;
            }
            decided++;
            assert.equal(d, policy.aclCheck({ clientid, username, topic, access }),
              `client ${clientid} user ${username} topic ${topic} access ${access}`);
          }
        }
      }
    }
  } finally {
    policy.cleanup();
  }
  return { decided, asked };
}

describe('grants in the Node host', () => {
  const tmp = tempDir('grants');
  after(() => tmp.remove());

  test('the default policy: every check decided, each as acl_check decides it', () => {
    writeFileSync(tmp.file('acl'), ACL);
    const { decided, asked } = compare(wasm(DEFAULT_POLICY_WASM), [['acl_file', tmp.file('acl')]]);
    assert.equal(asked, 0);
    assert.ok(decided > 0);
  });

  test('the default policy without acl_file: everything allowed by the fallback', () => {
    const policy = load(wasm(DEFAULT_POLICY_WASM), []);
    try {
      const g = policy.grants({ clientid: 'c1', username: 'alice' });
      assert.ok(g !== null && typeof g === 'object');
      assert.equal(g.grants.length, 0);
      assert.deepEqual(g.fallback, ['allow', 'allow', 'allow', 'allow']);
    } finally {
      policy.cleanup();
    }
  });

  test('static-users: READ and WRITE decided by grants, SUBSCRIBE and UNSUBSCRIBE asked', () => {
    const { decided, asked } = compare(wasm(example('static-users')), []);
    assert.equal(decided, asked);
  });

  test('a policy without grants gives none', () => {
    const policy = load(wasm(example('testauth')), []);
    try {
      assert.equal(policy.grants({ clientid: 'c1', username: 'alice' }), null);
    } finally {
      policy.cleanup();
    }
  });
});
