// pw_verify against entries made by the real mosquitto_passwd (skipped, visibly, without it),
// and the plugin's parsing rules for malformed hashes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { createHash, pbkdf2Sync, randomBytes } from 'node:crypto';
import { PW_MALFORMED, PW_TOO_COSTLY, pwCheck, pwParse, pwVerify } from '../password.js';
import { WA_MAX_PW_ITERATIONS } from '../limits.js';

const utf8 = new TextEncoder();
const tmp = mkdtempSync(join(tmpdir(), 'wa-pw-'));

// user -> hash from a password file written by mosquitto_passwd, or null when it is missing.
function mosquittoPasswd(entries: [string, string, string[]][]): Map<string, string> | null {
  const file = join(tmp, `passwd-${Math.random().toString(16).slice(2)}`);
  writeFileSync(file, '');
  for (const [user, pw, args] of entries) {
    const r = spawnSync('mosquitto_passwd', [...args, '-b', file, user, pw], { encoding: 'utf8' });
    if (r.error) return null;
    assert.equal(r.status, 0, r.stderr);
  }
  const out = new Map<string, string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const c = line.indexOf(':');
    if (c > 0) out.set(line.slice(0, c), line.slice(c + 1));
  }
  return out;
}

test('verifies entries made by mosquitto_passwd', (t) => {
  const entries: [string, string, string[]][] = [
    ['pbkdf2', 'secret', []],
    ['pbkdf2-iter', 'päss wörd', ['-H', 'sha512-pbkdf2', '-I', '1000']],
    ['sha512', 'hunter2', ['-H', 'sha512']],
    ['empty', '', ['-H', 'sha512']],
  ];
  const hashes = mosquittoPasswd(entries);
  if (hashes === null) {
    t.skip('mosquitto_passwd is not installed');
    return;
  }
  for (const [user, pw] of entries) {
    const h: string = hashes.get(user) ?? '';
    assert.match(h, /^\$[67]\$/);
    assert.equal(pwVerify(h, utf8.encode(pw)), 1, `${user} with its password`);
    assert.equal(pwVerify(h, utf8.encode(pw + 'x')), 0, `${user} with a wrong password`);
    assert.equal(pwVerify(h, utf8.encode(pw.toUpperCase() === pw ? pw + '!' : pw.toUpperCase())), 0);
  }
});

test('both formats from their definitions, binary passwords included', () => {
  const salt = new Uint8Array(randomBytes(12));
  const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
  const pw = new Uint8Array([0, 1, 0xff, 0x80, 0x2f]);
  const h6 = `$6$${b64(salt)}$${createHash('sha512').update(pw).update(salt).digest('base64')}`;
  assert.equal(pwVerify(h6, pw), 1);
  assert.equal(pwVerify(h6, pw.subarray(0, 4)), 0);
  const h7 = `$7$7$${b64(salt)}$${b64(new Uint8Array(pbkdf2Sync(pw, salt, 7, 64, 'sha512')))}`;
  assert.equal(pwVerify(h7, pw), 1);
  assert.equal(pwVerify(h7.replace('$7$7$', '$7$8$'), pw), 0, 'the iteration count is part of the hash');
  // Padding is optional (mosquitto_passwd pads the hash, not the salt).
  assert.equal(pwVerify(h6.replace(/=+$/, ''), pw), 1);
});

test('malformed or unsupported hashes are -1, never a match', () => {
  const salt = Buffer.from('0123456789ab').toString('base64');
  const digest = createHash('sha512').update('pw').update('0123456789ab').digest('base64');
  const pw = utf8.encode('pw');
  assert.equal(pwVerify(`$6$${salt}$${digest}`, pw), 1, 'the well-formed reference');
  const bad = [
    '', 'pw', '$', '$6$', `$6$${salt}`, `$5$${salt}$${digest}`, `$6$$${digest}`, `$6$${salt}$`,
    `$6$${salt}$${digest}$x`, `6$${salt}$${digest}`, `$6$${salt}!$${digest}`, `$6$${salt}$${digest.slice(0, -4)}`,
    `$6$${salt}$${digest}AAAA`, `$7$0$${salt}$${digest}`, `$7$1000001$${salt}$AAAA`, `$7$x$${salt}$${digest}`,
    `$7$1234567890$${salt}$${digest}`, `$7$$${salt}$${digest}`, `$6$${'A'.repeat(400)}$${digest}`, `$6$${salt}$${digest}====`.replace('==', 'A'),
  ];
  for (const h of bad) assert.equal(pwVerify(h, pw), -1, JSON.stringify(h));
});

test('PBKDF2 is capped at WA_MAX_PW_ITERATIONS: above it, no match without computing', (t) => {
  assert.equal(WA_MAX_PW_ITERATIONS, 10000);
  const salt = new Uint8Array(Buffer.from('0123456789ab'));
  const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
  const pw = utf8.encode('secret');
  const h7 = (n: number): string => `$7$${n}$${b64(salt)}$${b64(new Uint8Array(pbkdf2Sync(pw, salt, n, 64, 'sha512')))}`;
  const atCap = h7(WA_MAX_PW_ITERATIONS);
  assert.equal(pwParse(atCap).status, 0);
  assert.equal(pwVerify(atCap, pw), 1);
  assert.equal(pwVerify(atCap, utf8.encode('wrong')), 0);
  // The right password and a correct digest, one iteration too many: no match.
  const above = h7(WA_MAX_PW_ITERATIONS + 1);
  const p = pwParse(above);
  assert.equal(p.status, PW_TOO_COSTLY);
  assert.equal(p.hash?.iterations, WA_MAX_PW_ITERATIONS + 1);
  assert.equal(pwVerify(above, pw), 0);
  assert.equal(pwCheck(p.hash!, pw), -1, 'refuses to compute it');
  // The largest count the format holds: refused at once.
  const huge = `$7$999999999$${b64(salt)}$${'A'.repeat(86)}==`;
  const t0 = performance.now();
  assert.equal(pwParse(huge).status, PW_TOO_COSTLY);
  assert.equal(pwVerify(huge, pw), 0);
  assert.ok(performance.now() - t0 < 50);
  assert.equal(pwParse(`$7$1234567890$${b64(salt)}$${'A'.repeat(86)}==`).status, PW_MALFORMED, '10 digits');
  assert.equal(pwParse('$7$20000$c2FsdA==$AAAA').status, PW_MALFORMED, 'malformed wins over the cap');
  // What mosquitto_passwd writes with -I above the cap.
  const hashes = mosquittoPasswd([['above', 'secret', ['-I', '10001']], ['at', 'secret', ['-I', '10000']]]);
  if (hashes === null) {
    t.skip('mosquitto_passwd is not installed');
    return;
  }
  assert.match(hashes.get('above')!, /^\$7\$10001\$/);
  assert.equal(pwVerify(hashes.get('above')!, pw), 0);
  assert.equal(pwVerify(hashes.get('at')!, pw), 1);
});
