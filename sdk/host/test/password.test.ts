// pw_verify against entries made by the real mosquitto_passwd (skipped, visibly, without it) and
// by the argon2 tool (tests/fixtures/argon2id.txt, shared with plugin-c/tests/test_pwhash.c), and
// the plugin's parsing rules for malformed hashes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { createHash, pbkdf2Sync, randomBytes } from 'node:crypto';
import { PW_MALFORMED, PW_TOO_COSTLY, pwCapWarning, pwCheck, pwParse, pwVerify } from '../password.js';
import { WA_MAX_PW_ARGON2_KIB, WA_MAX_PW_ARGON2_LANES, WA_MAX_PW_ITERATIONS } from '../limits.js';
import { ROOT } from './helpers.js';

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

// name -> [password, hash] from tests/fixtures/argon2id.txt.
function argon2Fixtures(): Map<string, [string, string]> {
  const out = new Map<string, [string, string]>();
  for (const line of readFileSync(join(ROOT, 'tests/fixtures/argon2id.txt'), 'utf8').split('\n')) {
    const f = line.split('\t');
    if (line.startsWith('#') || f.length !== 3) continue;
    out.set(f[0], [f[1], f[2]]);
  }
  return out;
}

test('argon2id: the argon2 tool\'s hashes, the same answers as libargon2', () => {
  const fx = argon2Fixtures();
  for (const name of ['default', 'lanes', 'minimal', 'at-cap']) {
    const [pw, hash] = fx.get(name) ?? assert.fail(`no fixture ${name}`);
    assert.equal(pwVerify(hash, utf8.encode(pw)), 1, `${name} with its password`);
    assert.equal(pwVerify(hash, utf8.encode('wrong')), 0, `${name} with a wrong password`);
    assert.equal(pwVerify(hash, new Uint8Array()), 0, `${name} with an empty password`);
    const i = hash.length - 3;
    const flipped = hash.slice(0, i) + (hash[i] === 'A' ? 'B' : 'A') + hash.slice(i + 1);
    assert.equal(pwVerify(flipped, utf8.encode(pw)), 0, `${name}, one digest character changed`);
  }
  const p = pwParse(fx.get('default')![1]);
  assert.equal(p.status, 0);
  assert.deepEqual(p.hash?.argon2, { kib: 47104, passes: 1, lanes: 1 });
  assert.equal(p.hash?.digest.length, 64);
});

test('argon2id is capped: m x t at WA_MAX_PW_ARGON2_KIB, p at WA_MAX_PW_ARGON2_LANES; above, no match without computing', () => {
  assert.equal(WA_MAX_PW_ARGON2_KIB, 49152);
  assert.equal(WA_MAX_PW_ARGON2_LANES, 8);
  const fx = argon2Fixtures();
  const warnings: Record<string, string> = {
    'over-memory': 'pw_verify: an $argon2id$ hash asks for m=49153 KiB x t=1, above the cap of 49152 KiB (WA_MAX_PW_ARGON2_KIB): no match',
    'over-passes': 'pw_verify: an $argon2id$ hash asks for m=24577 KiB x t=2, above the cap of 49152 KiB (WA_MAX_PW_ARGON2_KIB): no match',
    'over-lanes': 'pw_verify: an $argon2id$ hash asks for 9 lanes, above the cap of 8 (WA_MAX_PW_ARGON2_LANES): no match',
  };
  for (const [name, warning] of Object.entries(warnings)) {
    const [pw, hash] = fx.get(name)!;
    const p = pwParse(hash);
    assert.equal(p.status, PW_TOO_COSTLY, name);
    assert.equal(pwVerify(hash, utf8.encode(pw)), 0, `${name}: the right password, no match`);
    assert.equal(pwCheck(p.hash!, utf8.encode(pw)), -1, `${name}: refuses to compute it`);
    assert.equal(pwCapWarning(p.hash!), warning);
  }
  const t0 = performance.now();
  const huge = pwParse('$argon2id$v=19$m=999999999,t=999999999,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA');
  assert.equal(huge.status, PW_TOO_COSTLY);
  assert.deepEqual(huge.hash?.argon2, { kib: 999999999, passes: 999999999, lanes: 1 });
  assert.equal(pwVerify('$argon2id$v=19$m=999999999,t=999999999,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA', utf8.encode('x')), 0);
  assert.ok(performance.now() - t0 < 50);
  assert.equal(pwParse('$argon2id$v=19$m=999999999,t=1,p=16777215$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA').status, PW_TOO_COSTLY);
});

test('argon2id: malformed strings are -1 (the list of plugin-c/tests/test_pwhash.c)', () => {
  const bad = [
    '$argon2id$',
    '$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ',
    '$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$AAAAAAAA$',
    '$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAA',
    '$argon2d$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAA',
    '$ARGON2ID$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAA',
    '$argon2id$v=16$m=64,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAA',
    '$argon2id$v=190$m=64,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAA',
    '$argon2id$m=64,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAA',
    '$argon2id$v=19$m=64,t=1$c2FsdHNhbHQ$AAAAAAAAAAA',
    '$argon2id$v=19$t=1,m=64,p=1$c2FsdHNhbHQ$AAAAAAAAAAA',
    '$argon2id$v=19$m=64,t=1,p=1,x=2$c2FsdHNhbHQ$AAAAAAAAAAA',
    '$argon2id$v=19$m=64,t=0,p=1$c2FsdHNhbHQ$AAAAAAAAAAA',
    '$argon2id$v=19$m=64,t=1,p=0$c2FsdHNhbHQ$AAAAAAAAAAA',
    '$argon2id$v=19$m=7,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAA',
    '$argon2id$v=19$m=64,t=1,p=9$c2FsdHNhbHQ$AAAAAAAAAAA',
    '$argon2id$v=19$m=64,t=-1,p=1$c2FsdHNhbHQ$AAAAAAAAAAA',
    '$argon2id$v=19$m=64,t=1,p=16777216$c2FsdHNhbHQ$AAAAAAAAAAA',
    '$argon2id$v=19$m=1234567890,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAA',
    '$argon2id$v=19$m=64,t=1,p=1$c2FsdA$AAAAAAAAAAA',
    '$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$AAA',
    `$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$${'A'.repeat(88)}`,
    '$argon2id$v=19$m=64,t=1,p=1$c2Fsd*NhbHQ$AAAAAAAAAAA',
    '$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAB',
    '$argon2id$v=19$m= 64,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAA',
    '$argon2id$v=19$$m=64,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAA',
    `$argon2id$v=19$m=64,t=1,p=1$${'A'.repeat(400)}$AAAAAAAAAAA`,
    '$argon2id$v=19$m=64,t=1,p=1\0$c2FsdHNhbHQ$AAAAAAAAAAA',
  ];
  for (const h of bad) assert.equal(pwVerify(h, utf8.encode('secret')), -1, JSON.stringify(h));
});
