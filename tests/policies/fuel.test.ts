// The default policy's cost per check, in fuel (the gate's metering, which the Node host applies
// as the plugin does): any authenticated client chooses its client id, and often its topic, up to
// MQTT's 65,535 bytes, so no check may cost the fields' lengths times the number of rules. For
// adversarial acl_files (30 %c and 30 %u patterns behind runs of `+`, at one depth and at 30,
// 1,000 plain rules, `#` rules, rules of 100 levels, values inside levels) and fields of 65,535
// bytes (a topic of 32,768 levels, one without `/`, one of `/` only, one that repeats the client
// id; client ids and usernames holding `/`, almost equal to the topic, holding `+`), every
// acl_check and unpwd_check must finish within FUEL_BOUND, and grow linearly with the fields:
// fuel(64 KiB) <= 20 x fuel(4 KiB) + LINEAR_SLACK.
//
// The fuel a call used is read from the metered instance's counter (`__wasm_auth_fuel`, which the
// host sets before each call); independently, a second instance of each configuration runs every
// check with FUEL_BOUND as its budget and must answer every one of them itself (no failure
// decision, no new instance).
import assert from 'node:assert/strict';
import { pbkdf2Sync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import type { Policy } from '../../sdk/host/index.js';
import { DEFAULT_POLICY_WASM, READ, WRITE, load, tempDir, wasm } from './util.js';

/** Every check must finish within this (a fifth of the default wasm_fuel, 10,000,000). */
const FUEL_BOUND = 2_000_000;
/** The bounded instances' init budget: the files load under the default (4e9), not FUEL_BOUND's share of it. */
const INIT_FUEL = 4_000_000_000;
/** fuel(64 KiB fields) <= 20 * fuel(4 KiB fields) + this. */
const LINEAR_SLACK = 100_000;
/** Budget of the measuring instance: never the limit. */
const MEASURE_FUEL = 1e12;

const MAX = 65535;
const SMALL = 4096;

const rep = (unit: string, n: number): string => unit.repeat(Math.ceil(n / unit.length)).slice(0, n);
const plus = (k: number): string => Array(k).fill('+').join('/');
// `k` levels of `+` then a `/` ("" for none).
const pluses = (k: number): string => (k > 0 ? plus(k) + '/' : '');

// Rule sets, by name. Patterns whose literal does not start them are candidates for every topic.
const RULE_SETS: Record<string, () => string> = {
  // The reported one: 503 users with a rule each, and 30 %c patterns behind two `+` levels.
  'c30-same-depth': () => {
    let a = '';
    for (let u = 0; u < 503; u++) a += `user u${u}\ntopic readwrite u${u}/#\n`;
    for (let n = 1; n <= 30; n++) a += `pattern readwrite +/+/%c/${n}/#\n`;
    return a;
  },
  'u30-same-depth': () => Array.from({ length: 30 }, (_, n) => `pattern readwrite +/+/%u/${n}/#\n`).join(''),
  // A value at 30 depths: 30 positions to compare it at.
  'c30-depths': () => Array.from({ length: 30 }, (_, k) => `pattern read ${pluses(k)}%c/#\n`).join(''),
  'c30-depths-deepest-first': () => Array.from({ length: 30 }, (_, k) => `pattern deny ${pluses(29 - k)}%c/#\n`).join(''),
  'c30-depths-zigzag': () =>
    Array.from({ length: 30 }, (_, n) => `pattern read ${pluses(n % 2 ? 29 - (n >> 1) : n >> 1)}%c/#\n`).join(''),
  'u30-depths-then-literal': () => Array.from({ length: 30 }, (_, k) => `pattern readwrite ${pluses(k)}%u/zz\n`).join(''),
  'cu60-depths': () =>
    Array.from({ length: 30 }, (_, k) => `pattern read ${pluses(k)}%c/#\npattern deny ${'x/'.repeat(k)}%u/x\n`).join(''),
  // Values inside levels, two in a row, several in a rule.
  'values-mid-level': () =>
    Array.from({ length: 30 }, (_, k) => `pattern read ${'x/'.repeat(k)}x%c%u/+\npattern read %c/+/%u/${pluses(k)}#\n`).join(''),
  // 1,000 rules of one user, 1,000 anonymous ones, 1,000 patterns, most sharing a long prefix.
  'plain-1000': () => {
    let a = '';
    for (let n = 0; n < 1000; n++) a += `topic read x/x/x/x/x/x/a${n}/b\n`;
    a += `user ${'x/'.repeat(8)}\n`;
    for (let n = 0; n < 1000; n++) a += `topic readwrite x/x/x/x/x/x/${n}/+/#\n`;
    a += 'user x\n';
    for (let n = 0; n < 1000; n++) a += `topic deny x/x/x/x/x/x/x/x/x/x/${n}\n`;
    for (let n = 0; n < 1000; n++) a += `pattern read x/x/x/x/x/p${n}/%c\n`;
    return a;
  },
  // `#` everywhere.
  'hash': () => {
    let a = 'topic read #\ntopic deny x/#\nuser x\ntopic read #\n';
    for (let n = 0; n < 30; n++) a += `pattern read ${plus(n + 1)}/#\npattern deny %c/${pluses(n)}#\npattern read %u/#\n`;
    return a;
  },
  // Rules of 100 levels.
  'levels-100': () => {
    let a = `topic read ${plus(100)}/#\nuser x\ntopic read ${plus(100)}\n`;
    for (let n = 0; n < 30; n++) {
      a += `pattern read ${plus(100)}/${n}\n`;
      a += `pattern read ${'x/+/'.repeat(50)}%c/${n}/#\n`;
      a += `pattern deny ${Array(50).fill('%c').join('/+/')}/${n}\n`;
    }
    return a;
  },
};

// Topics of n bytes; `cid` is the client id they may repeat.
const TOPICS: Record<string, (n: number, cid: string) => string> = {
  'levels': (n) => rep('x/', n),
  'no-slash': (n) => 'x'.repeat(n),
  'slashes-only': (n) => '/'.repeat(n),
  // (a PUBLISH topic never holds `+` or `#`: the broker refuses it before any check)
  'repeats-client-id': (n, cid) => ('x/x/' + cid).slice(0, n).replace(/[+#]/g, 'x'),
  'levels-one-defect': (n) => rep('x/', n - 101) + 'Z' + rep('/x', 100),
};

// Client ids and usernames of about n bytes.
const VALUES: Record<string, (n: number) => string> = {
  'short': () => 'c1',
  'levels': (n) => rep('x/', n),
  'no-slash': (n) => 'x'.repeat(n),
  'levels-but-last': (n) => rep('x/', n - 71) + 'Y',
  'levels-shorter': (n) => rep('x/', n - 201) + 'x',
  'plus-last': (n) => rep('x/', n - 1) + '+',
};

interface Fields {
  clientid: string;
  username: string;
  topic: string;
}

function fieldSets(n: number): { name: string; fields: Fields }[] {
  const out: { name: string; fields: Fields }[] = [];
  for (const [t, topic] of Object.entries(TOPICS)) {
    for (const [c, cid] of Object.entries(VALUES)) {
      for (const [u, user] of Object.entries(VALUES)) {
        const clientid = cid(n);
        out.push({ name: `topic ${t}, client id ${c}, username ${u}`, fields: { clientid, username: user(n), topic: topic(n, clientid) } });
      }
    }
  }
  return out;
}

// The fuel the last guest call used, from the metered instance's counter (the host sets it to
// the budget before each call).
function fuelLeft(policy: Policy): bigint {
  const rt = (policy as unknown as { rt?: { inst?: { exports?: Record<string, unknown> } } }).rt;
  const g = rt?.inst?.exports?.['__wasm_auth_fuel'];
  assert.ok(g instanceof WebAssembly.Global, 'the Node host keeps the metered instance at policy.rt.inst (fuel.test.ts reads its counter)');
  return g.value as bigint;
}

function measured(policy: Policy, call: () => string): { decision: string; fuel: number } {
  const decision = call();
  return { decision, fuel: MEASURE_FUEL - Number(fuelLeft(policy)) };
}

interface Row {
  set: string;
  small: number;
  max: number;
  worst: string;
}

describe('default policy: fuel per check is linear in the fields, whatever the rules', () => {
  const tmp = tempDir('default-fuel');
  const bytes = wasm(DEFAULT_POLICY_WASM);
  const rows: Row[] = [];
  after(() => {
    tmp.remove();
    const w = (s: string, n: number) => s.padEnd(n);
    console.log(`# fuel per acl_check, worst over the fields (bound ${FUEL_BOUND}):`);
    console.log(`# ${w('acl_file', 26)} ${w('4 KiB', 10)} ${w('64 KiB', 10)} worst at 64 KiB`);
    for (const r of rows) console.log(`# ${w(r.set, 26)} ${w(String(r.small), 10)} ${w(String(r.max), 10)} ${r.worst}`);
  });

  for (const [set, text] of Object.entries(RULE_SETS)) {
    test(`acl_file "${set}": every check within ${FUEL_BOUND} units, linear in the fields`, () => {
      const file = tmp.file(`${set}.acl`);
      writeFileSync(file, text());
      const opts: [string, string][] = [['acl_file', file]];
      const meter = load(bytes, opts, [], { fuel: MEASURE_FUEL });
      const bounded = load(bytes, opts, [], { fuel: FUEL_BOUND, initFuel: INIT_FUEL, failureDecision: 'defer' });
      const small = fieldSets(SMALL);
      const big = fieldSets(MAX);
      const row: Row = { set, small: 0, max: 0, worst: '' };
      for (let i = 0; i < big.length; i++) {
        for (const access of [READ, WRITE]) {
          const check = (p: Policy, f: Fields) => () => p.aclCheck({ ...f, access });
          const s = measured(meter, check(meter, small[i].fields));
          const b = measured(meter, check(meter, big[i].fields));
          const what = `${big[i].name}, ${access === READ ? 'read' : 'write'}`;
          assert.ok(b.fuel <= FUEL_BOUND, `${what}: ${b.fuel} units`);
          assert.ok(b.fuel <= 20 * s.fuel + LINEAR_SLACK, `${what}: ${s.fuel} units at ${SMALL} bytes, ${b.fuel} at ${MAX}`);
          // The same check with the bound as its budget: answered, and the same answer.
          assert.equal(check(bounded, big[i].fields)(), b.decision, `${what}: within a budget of ${FUEL_BOUND}`);
          row.small = Math.max(row.small, s.fuel);
          if (b.fuel > row.max) {
            row.max = b.fuel;
            row.worst = what;
          }
        }
      }
      assert.equal(meter.instances, 1, 'no check failed');
      assert.equal(bounded.instances, 1, `no check ran out of ${FUEL_BOUND} units`);
      rows.push(row);
    });
  }
});

describe('default policy: fuel per login is linear in the fields', () => {
  const tmp = tempDir('default-fuel-login');
  after(() => tmp.remove());

  test(`unpwd_check with 65,535-byte usernames and passwords, 503 users: within ${FUEL_BOUND} units`, () => {
    const lines: string[] = [];
    const salt = new Uint8Array(Buffer.from('0123456789ab'));
    const line = (user: string, password: string) =>
      `${user}:$7$101$${Buffer.from(salt).toString('base64')}$${pbkdf2Sync(password, salt, 101, 64, 'sha512').toString('base64')}`;
    for (let i = 0; i < 503; i++) lines.push(line(`u${i}`, `pw${i}`));
    // Users with names of 4,096 and 65,535 bytes.
    for (const n of [SMALL, MAX]) lines.push(line(rep('x/', n), 'pw'));
    const pw = tmp.file('passwd');
    writeFileSync(pw, lines.join('\n') + '\n');
    const opts: [string, string][] = [['password_file', pw]];
    const meter = load(wasm(DEFAULT_POLICY_WASM), opts, [], { fuel: MEASURE_FUEL });
    const bounded = load(wasm(DEFAULT_POLICY_WASM), opts, [], { fuel: FUEL_BOUND, initFuel: INIT_FUEL, failureDecision: 'defer' });
    const cases: [string, (n: number) => [string, string]][] = [
      ['unknown long username', (n) => [rep('x/', n - 1) + 'y', 'pw']],
      ['long username of a user, wrong password', (n) => [rep('x/', n), 'wrong']],
      ['long username of a user', (n) => [rep('x/', n), 'pw']],
      ['known user, long password', (n) => ['u7', 'p'.repeat(n)]],
    ];
    for (const [name, make] of cases) {
      const [su, sp] = make(SMALL);
      const [bu, bp] = make(MAX);
      const s = measured(meter, () => meter.unpwdCheck(su, sp));
      const b = measured(meter, () => meter.unpwdCheck(bu, bp));
      assert.ok(b.fuel <= FUEL_BOUND, `${name}: ${b.fuel} units`);
      assert.ok(b.fuel <= 20 * s.fuel + LINEAR_SLACK, `${name}: ${s.fuel} units at ${SMALL} bytes, ${b.fuel} at ${MAX}`);
      assert.equal(bounded.unpwdCheck(bu, bp), b.decision, `${name}: within a budget of ${FUEL_BOUND}`);
      console.log(`# unpwd_check, ${name}: ${s.fuel} units at ${SMALL} bytes, ${b.fuel} at ${MAX}`);
    }
    assert.equal(meter.unpwdCheck(rep('x/', MAX), 'pw'), 'allow');
    assert.equal(bounded.instances, 1);
  });
});
