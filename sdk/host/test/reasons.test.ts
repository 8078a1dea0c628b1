// set_reason (docs/ABI.md, "Reasons") in the Node host, and its parity with the plugin's runtime
// (wa-call): the same decision and the same reason for each case, hostile calls included (a
// pointer out of bounds or a length past memory traps; bytes that are not UTF-8 are refused and
// leave no reason; a long reason is cut on a character boundary at WA_MAX_REASON_BYTES).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { FIXTURES, WA_CALL, load, runBin } from './helpers.js';
import { WA_MAX_REASON_BYTES } from '../limits.js';

const CASES: Array<{ user: string; decision: string; reason: string; trap?: string }> = [
  { user: 'plain', decision: 'deny', reason: 'no such user' },
  { user: 'allow', decision: 'allow', reason: 'admin override' },
  { user: 'none', decision: 'deny', reason: '' },
  { user: 'twice', decision: 'deny', reason: 'second' },
  // 100 two-byte characters: 64 fit in 128 bytes.
  { user: 'long', decision: 'deny', reason: 'é'.repeat(WA_MAX_REASON_BYTES / 2) },
  { user: 'invalid', decision: 'deny', reason: '' },
  { user: 'oob', decision: 'deny', reason: '', trap: 'set_reason: pointer out of bounds' },
  { user: 'huge', decision: 'deny', reason: '', trap: 'set_reason: pointer out of bounds' },
];

test('the Node host keeps what set_reason gives, per hook call', () => {
  const { policy, logs } = load('reasons');
  try {
    for (const c of CASES) {
      logs.length = 0;
      assert.equal(policy.unpwdCheck(c.user, 'x'), c.decision, c.user);
      assert.equal(policy.reason, c.reason, c.user);
      if (c.trap) assert.ok(logs.some((l) => l.message.includes(`unpwd_check failed, request denied: ${c.trap}`)), c.user);
    }
    // Each call starts without a reason: a deny after an allow-with-reason has none.
    policy.unpwdCheck('allow', 'x');
    policy.unpwdCheck('none', 'x');
    assert.equal(policy.reason, '');
    // A huge length inside memory reads (and pays for) the kept prefix only.
    assert.equal(policy.unpwdCheck('inside', 'x'), 'deny');
    assert.equal(Buffer.byteLength(policy.reason), WA_MAX_REASON_BYTES);
    assert.equal(policy.aclCheck({ clientid: 'c', username: 'u', topic: 'a/b', access: 2 }), 'deny');
    assert.equal(policy.reason, 'a/b');
  } finally {
    policy.cleanup();
  }
});

test('wa-call (the plugin\'s runtime) gives the same decisions and reasons', (t) => {
  const wasm = join(FIXTURES, 'reasons.wasm');
  for (const c of CASES) {
    const r = runBin(WA_CALL, [wasm, 'unpwd_check', c.user, 'x']);
    if (r === null) {
      t.skip(`${WA_CALL} not built`);
      return;
    }
    assert.equal(r.status, 0, c.user);
    assert.equal(r.stdout.trim(), c.decision, c.user);
    const shown = r.stderr.split('\n').find((l) => l.startsWith('reason: '));
    assert.equal(shown === undefined ? '' : shown.slice('reason: '.length), c.reason, c.user);
    if (c.trap) assert.match(r.stderr, new RegExp(`unpwd_check failed, request denied: ${c.trap}`), c.user);
  }
});
