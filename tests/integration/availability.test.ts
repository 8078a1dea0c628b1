// Availability under a hostile or merely heavy policy. Mosquitto serves every client from one
// thread, and the plugin runs the policy on it: whatever holds a policy call up holds up every
// client. Each test starts a broker (wasm_timeout_ms 100, the default) with a policy that attacks
// that thread in one way, and checks
//   (a) the hostile request gets the failure decision (MQTT 5 PUBACK 135, a refused CONNACK, a
//       message not delivered), and
//   (b) a bystander, another user connected before, keeps being served: it publishes QoS 1
//       messages to a topic it is subscribed to, back to back (tests/harness/bystander.ts), from
//       before the hostile packet until after its answer, and its slowest round trip must stay
//       under BOUND_MS. The target is 2 x wasm_timeout_ms; BOUND_MS leaves room for a loaded
//       2-core machine, and is still far below what the attacks cost without the defences
//       (seconds to hours).
// Classes, one test each: bulk memory in a call-free loop; a loop of expensive host calls; a
// huge function compiled on first use; a trap after a heavy security_init (re-creating the
// instance); a guest log flood; control characters in guest log lines; a fan-out of READ checks
// that each burn their budget; unpwd_check failing under wasm_on_error defer (must not admit);
// a SIGHUP reload of a large default-policy configuration; a start function / security_init
// that never ends, at startup and on reload; session_check burning its budget for every session.
//
// Some attacks would hold the broker for hours without the defences; those tests lower
// wasm_fuel so that they end in seconds either way (noted at each). Every wait is bounded.
import assert from 'node:assert/strict';
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { describe, test } from 'node:test';
import { Broker, type ConfigContext, freePort, listener, pluginConf, startBroker } from '../harness/broker.js';
import { describeProbes, Prober, type ProbeSummary } from '../harness/bystander.js';
import { type Client, connect, endAll, publishWhenServed, refusedCode, tryConnect, uniqueId, type Version } from '../harness/mqtt.js';
import { DEFAULT_POLICY_WASM, fixture, requireFile } from '../harness/paths.js';
import { type PolicyBrokerOptions, policyBrokerSpec } from '../harness/policy-broker.js';
import { concat, I32, ModuleBuilder, OP, constBody, s32, u32 } from '../hostile/wasm-builder.js';

/** wasm_timeout_ms for every broker here (the default, written out). */
const TIMEOUT_MS = 100;
/** Slowest bystander round trip allowed while a request-time attack runs (target: 2 x TIMEOUT_MS). */
const BOUND_MS = 1000;
/** Slowest bystander round trip allowed during a SIGHUP reload of the default policy. */
const RELOAD_BOUND_MS = 500;
/** A lifecycle hook gets 100 x wasm_timeout_ms (10 s): a start that never ends must be over by this. */
const STARTUP_BOUND_MS = 20_000;
/** Per-test ceiling, so that a broker held for hours (no defences) fails the test instead of hanging it. */
const TEST_TIMEOUT_MS = 90_000;

const AVAILABILITY = fixture('availability');

// ---- helpers ------------------------------------------------------------------------------------

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The promise's value, or a rejection naming `what` after ms. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** SIGTERM; a broker stuck inside a policy call cannot act on it, so SIGKILL after graceMs. */
async function stopQuickly(b: Broker | undefined, graceMs = 3000): Promise<void> {
  if (!b) return;
  const t = setTimeout(() => b.killNow(), graceMs);
  try {
    await b.stop();
  } finally {
    clearTimeout(t);
  }
}

async function startPolicy(o: PolicyBrokerOptions & { startTimeoutMs?: number }): Promise<Broker> {
  return startBroker({ ...policyBrokerSpec(o), startTimeoutMs: o.startTimeoutMs });
}

interface Bystander {
  client: Client;
  topic: string;
}

/** A different user from the attacker's, connected before the attack, subscribed to its own topic. */
async function bystander(b: Broker, username = 'bob', password = 'bob-pw'): Promise<Bystander> {
  const client = await connect({ port: b.port, version: 5, username, password, clientId: uniqueId('bystander') });
  const topic = `by/${uniqueId('t')}`;
  assert.deepEqual(await client.subscribe(topic, 1), [1], 'bystander subscription granted');
  return { client, topic };
}

interface Attacked<T> {
  result: T;
  /** How long the attack itself took to be answered. */
  attackMs: number;
  probes: ProbeSummary;
}

/**
 * Runs the bystander's prober from before `attack` until `after` probes past its answer, and
 * returns the attack's result with the round trips. The attack gets `attackMs` to be answered.
 */
async function whileAttacked<T>(
  by: Bystander,
  attack: () => Promise<T>,
  opts: { after?: number; attackMs?: number; what?: string } = {},
): Promise<Attacked<T>> {
  const p = new Prober(by.client, by.topic, TEST_TIMEOUT_MS).start();
  let result: T;
  let attackMs: number;
  try {
    await within(p.until(2), 10_000, 'bystander warm-up');
    const t0 = performance.now();
    result = await within(attack(), opts.attackMs ?? 60_000, opts.what ?? 'hostile request');
    attackMs = performance.now() - t0;
    await within(p.more(opts.after ?? 3), 60_000, 'bystander probes after the attack');
  } catch (e) {
    const probes = await p.stop(0).catch(() => undefined);
    throw new Error(`${(e as Error).message}${probes ? `; bystander so far: ${describeProbes(probes)}` : ''}`);
  }
  return { result, attackMs, probes: await p.stop() };
}

/** The part of node:test's TestContext used here. */
interface Diagnostics {
  diagnostic(message: string): void;
}

function report(t: Diagnostics, label: string, a: { attackMs?: number; probes: ProbeSummary }): void {
  const attack = a.attackMs === undefined ? '' : `hostile request answered in ${a.attackMs.toFixed(0)} ms; `;
  t.diagnostic(`${label}: ${attack}bystander ${describeProbes(a.probes)}`);
}

function assertServed(probes: ProbeSummary, bound: number, what: string): void {
  assert.ok(
    probes.max < bound,
    `${what}: the bystander's slowest publish round trip was ${probes.max.toFixed(0)} ms (bound ${bound} ms; ${describeProbes(probes)})`,
  );
}

/** Waits until the broker has logged a publish on a fresh topic: every earlier log line is in. */
async function logBarrier(b: Broker, c: Client): Promise<void> {
  const topic = `mark/${uniqueId('log')}`;
  const since = b.mark();
  assert.equal(await c.publish(topic, 'x', { qos: 1 }), 0);
  await b.waitForLog(new RegExp(`Received PUBLISH from .*'${topic}'`), { since, timeoutMs: 10_000 });
}

/** Replaces the module file atomically (write aside, rename over). */
function install(b: Broker, from: string): void {
  const tmp = b.ctx.file('policy.wasm.new');
  copyFileSync(requireFile(from, 'replacement module'), tmp);
  renameSync(tmp, b.ctx.file('policy.wasm'));
}

// ---- class 3: a huge module whose big function is compiled on its first call ---------------------

/**
 * A valid policy of about 7 MiB (under wasm_max_module_bytes, 8 MiB): acl_check allows every
 * topic except those starting with 'h', for which it calls one function made of 998 nested
 * blocks around br_tables with ~3.6 million targets, every one naming the outermost block.
 * wasm3 compiles a function at its first call and walks the block chain for each target, so
 * without compiling at load that first call spends seconds in the compiler (about 5 s on the
 * project machine), on the broker's thread. The function returns 0 (deny) once compiled.
 */
function hugeModule(): Uint8Array {
  const DEPTH = 998; // + the function's own frame + metering's if = the gate's 1000-frame limit
  const TABLES = 4;
  const SIZE = 7 * 1024 * 1024;
  const b = new ModuleBuilder();
  b.setMemory(1);
  b.exportMemory();
  b.exportFunc('wasm_auth_abi_version', b.func([], [I32], constBody(1)));
  b.exportFunc('wasm_auth_buffer', b.func([I32], [I32], constBody(1024)));
  b.exportFunc('unpwd_check', b.func([I32, I32], [I32], constBody(1)));
  const label = u32(DEPTH - 1);
  const perTable = Math.floor((SIZE - 4096) / TABLES / label.length);
  const targets = new Uint8Array(perTable * label.length);
  for (let i = 0; i < perTable; i++) targets.set(label, i * label.length);
  const brTable = concat([[OP.i32Const, 0, 0x0e], u32(perTable), targets, label]);
  const open = new Uint8Array(2 * DEPTH);
  for (let i = 0; i < DEPTH; i++) open.set([OP.block, OP.voidBlock], 2 * i);
  const heavy = b.func(
    [],
    [I32],
    concat([open, ...Array<Uint8Array>(TABLES).fill(brTable), new Uint8Array(DEPTH).fill(OP.end), constBody(0)]),
  );
  // acl_check(clientid, username, topic, access): the topic Str is {ptr, len}; its first byte.
  const I32_LOAD = 0x28;
  const I32_LOAD8_U = 0x2d;
  const I32_EQ = 0x46;
  const ELSE = 0x05;
  b.exportFunc(
    'acl_check',
    b.func([I32, I32, I32, I32], [I32], [
      OP.localGet, 2, I32_LOAD, 2, 0, I32_LOAD8_U, 0, 0, OP.i32Const, ...s32(0x68 /* 'h' */), I32_EQ,
      OP.if, I32, OP.call, ...u32(heavy), ELSE, ...constBody(1), OP.end,
    ]),
  );
  return b.build();
}

// ---- class 9: a large default-policy configuration ----------------------------------------------

const RELOAD_USERS = 10_000;

/** mosquitto_passwd's $7$ line (PBKDF2-SHA512, 101 iterations, 12-byte salt). */
function passwdLine(user: string, pw: string): string {
  const salt = Uint8Array.from(randomBytes(12));
  const hash = pbkdf2Sync(pw, salt, 101, 64, 'sha512');
  return `${user}:$7$101$${Buffer.from(salt).toString('base64')}$${hash.toString('base64')}`;
}

/** 10,000 users (+ the bystander) and 20,000 ACL rules (+ the bystander's). */
function writeLargeConfig(ctx: ConfigContext): void {
  const pw = [passwdLine('bystander', 'by-pw')];
  const acl = ['user bystander', 'topic readwrite by/#', 'topic readwrite mark/#', ''];
  for (let i = 0; i < RELOAD_USERS; i++) {
    pw.push(passwdLine(`u${i}`, `pw${i}`));
    acl.push(`user u${i}`, `topic readwrite u${i}/#`, `topic read shared/u${i}/+`, '');
  }
  writeFileSync(ctx.file('passwd'), pw.join('\n') + '\n');
  writeFileSync(ctx.file('acl'), acl.join('\n'));
}

// ---- class 10: a broker that should refuse to start --------------------------------------------

interface StartOutcome {
  exited: boolean;
  code: number | null;
  signal: NodeJS.Signals | null;
  elapsedMs: number;
  lines: string[];
  describe: string;
}

/**
 * Starts a broker with the policy `module` and waits at most boundMs for it to exit. A broker
 * still up by then (running, or stuck in the policy) is killed: exited = false.
 */
async function startExpectingExit(name: string, module: string, boundMs: number): Promise<StartOutcome> {
  const dir = mkdtempSync(join(tmpdir(), `wa-${name}-`));
  const port = await freePort();
  const ctx: ConfigContext = { dir, port, ports: [port], file: (n) => join(dir, n) };
  const conf = [
    'log_dest stderr',
    'log_type all',
    'log_timestamp false',
    'persistence false',
    'user root',
    listener(port),
    'allow_anonymous false',
    // The largest lifecycle fuel: the deadline, not fuel, must stop these (avail-start-fill's
    // fills are priced per byte and would otherwise run out of fuel first).
    pluginConf({ module, opts: { wasm_timeout_ms: TIMEOUT_MS, wasm_init_fuel: 1_000_000_000_000_000 } }),
    '',
  ].join('\n');
  const t0 = performance.now();
  const b = new Broker(name, ctx, conf);
  // The harness unrefs the broker process: hold the event loop open while waiting on it.
  const keepAlive = setInterval(() => undefined, 1000);
  try {
    let timer: NodeJS.Timeout | undefined;
    const exited = await Promise.race([
      b.exited.then(() => true),
      new Promise<false>((r) => {
        timer = setTimeout(() => r(false), boundMs);
      }),
    ]);
    clearTimeout(timer);
    const elapsedMs = performance.now() - t0;
    const describe = b.describe();
    const lines = b.lines();
    if (!exited) b.killNow();
    const res = await b.exited;
    await b.stop();
    return { exited, code: res.code, signal: res.signal, elapsedMs, lines, describe };
  } finally {
    clearInterval(keepAlive);
  }
}

// ---- the tests ----------------------------------------------------------------------------------

/**
 * A broker with `module`, a bystander, and mallory publishing `topic` once (QoS 1) while the
 * bystander probes; `check` then looks at what happened. Everything is stopped afterwards.
 */
async function publishAttack(
  t: Diagnostics,
  o: { name: string; module: string; opts?: Record<string, string | number>; topic: string; label: string },
  check: (b: Broker, by: Bystander, a: Attacked<number>, since: number) => Promise<void> | void,
): Promise<void> {
  const b = await startPolicy({ name: o.name, module: o.module, opts: { wasm_timeout_ms: TIMEOUT_MS, ...o.opts } });
  let by: Bystander | undefined;
  let bad: Client | undefined;
  try {
    by = await bystander(b);
    bad = await connect({ port: b.port, version: 5, username: 'mallory', password: 'x' });
    const hostile = bad;
    const since = b.mark();
    const a = await whileAttacked(by, () => hostile.publish(o.topic, 'x', { qos: 1 }));
    report(t, o.label, a);
    assert.equal(a.result, 135, `the hostile publish is denied (PUBACK 135)`);
    await check(b, by, a, since);
    assertServed(a.probes, BOUND_MS, o.label);
    assert.ok(b.running, 'broker still running');
  } finally {
    await endAll(by?.client, bad);
    await stopQuickly(b);
  }
}

describe('availability: a bystander is served while the policy attacks the broker thread', () => {
  test('1. acl_check loops over memory.fill of 16 MiB without calls: denied, bystander served', { timeout: TEST_TIMEOUT_MS }, (t) =>
    // The clock is never read. Fuel prices a 16 MiB fill at 524,288 units (docs/SECURITY.md,
    // price list), so the default fuel would stop this after 19 fills; the largest wasm_fuel
    // (1e15: days of fills) leaves it to the watchdog, which is what this test is about.
    publishAttack(t, { name: 'avail-fill', module: AVAILABILITY, opts: { wasm_fuel: 1_000_000_000_000_000 }, topic: 'fill/x', label: 'memory.fill loop' }, () => {}));

  test('2. acl_check loops calling pw_verify on a $7$1000000$ hash: denied, bystander served', { timeout: TEST_TIMEOUT_MS }, (t) =>
    // A hash above WA_MAX_PW_ITERATIONS is no match at once; without that cap each call was about
    // 0.5 s of PBKDF2 that no deadline could interrupt. wasm_fuel 1,500 allows a few calls (the
    // fixture spends ~80 units per iteration besides the call's price).
    publishAttack(t, { name: 'avail-pw', module: AVAILABILITY, opts: { wasm_fuel: 1500 }, topic: 'pw/x', label: 'pw_verify loop' }, () => {}));

  test('3. a 7 MiB module whose huge br_table function is first called in acl_check: denied, bystander served', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const bytes = hugeModule();
    assert.ok(bytes.length <= 8 * 1024 * 1024 && bytes.length > 6 * 1024 * 1024, `module of ${bytes.length} bytes`);
    let b: Broker;
    try {
      // Compiling every function at load moves the seconds to startup: give it time.
      b = await startPolicy({
        name: 'avail-huge',
        module: (ctx) => ctx.file('huge.wasm'),
        files: { 'huge.wasm': bytes },
        opts: { wasm_timeout_ms: TIMEOUT_MS },
        startTimeoutMs: 60_000,
      });
    } catch (e) {
      // Refusing the module at load (one line naming it) also keeps the broker available.
      const m = /wasm-auth: cannot load policy \S*huge\.wasm: [^\n]+/.exec(String(e));
      if (m) {
        t.diagnostic(`refused at load: ${m[0]}`);
        return;
      }
      throw e;
    }
    let by: Bystander | undefined;
    let bad: Client | undefined;
    try {
      by = await bystander(b);
      bad = await connect({ port: b.port, version: 5, username: 'mallory', password: 'x' });
      const hostile = bad;
      const a = await whileAttacked(by, () => hostile.publish('huge/x', 'x', { qos: 1 }));
      report(t, 'huge function compiled at first call', a);
      assert.equal(a.result, 135, 'the hostile publish is denied (PUBACK 135)');
      assertServed(a.probes, BOUND_MS, 'huge function compiled at first call');
      assert.ok(b.running, 'broker still running');
    } finally {
      await endAll(by?.client, bad);
      await stopQuickly(b);
    }
  });

  test('4. acl_check traps on boom/# after a 2-3 s security_init: denied, bystander served after every trap', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    // wasm_fuel 100,000,000: security_init's two or three seconds of honest work (~3.2e9
    // units) fit its lifecycle budget (WA_INIT_FUEL_FACTOR 400 x: 4e10 units; 10 s). Without the
    // defences the instance is re-created inside the next request after the trap: security_init
    // again, on the broker's thread.
    const b = await startPolicy({
      name: 'avail-boom',
      module: fixture('avail-heavy-init'),
      opts: { wasm_timeout_ms: TIMEOUT_MS, wasm_fuel: 100_000_000 },
      startTimeoutMs: 30_000,
    });
    let by: Bystander | undefined;
    let bad: Client | undefined;
    try {
      by = await bystander(b);
      bad = await connect({ port: b.port, version: 5, username: 'mallory', password: 'x' });
      const hostile = bad;
      const rounds: Array<Attacked<number>> = [];
      for (let i = 0; i < 3; i++) {
        const a: Attacked<number> = await whileAttacked(by, () => hostile.publish(`boom/${i}`, 'x', { qos: 1 }), { after: 4 });
        report(t, `trap ${i + 1}`, a);
        rounds.push(a);
      }
      rounds.forEach((a, i) => {
        assert.equal(a.result, 135, `hostile publish ${i + 1} is denied (PUBACK 135)`);
        assertServed(a.probes, BOUND_MS, `after trap ${i + 1}`);
      });
      // The policy still decides: an ordinary publish of the attacker is allowed.
      assert.equal(await hostile.publish('open/x', 'x', { qos: 1 }), 0);
      assert.ok(b.running, 'broker still running');
    } finally {
      await endAll(by?.client, bad);
      await stopQuickly(b);
    }
  });

  test('5. one publish makes the policy log 30,000 lines: the log gets a bounded number and a "suppressed" line', { timeout: TEST_TIMEOUT_MS }, (t) =>
    publishAttack(t, { name: 'avail-logflood', module: AVAILABILITY, topic: 'log/x', label: 'log flood' }, async (b, by, _a, since) => {
      await logBarrier(b, by.client);
      const lines = b.lines(since);
      const flood = lines.filter((l) => l.includes('availability flood line')).length;
      const suppressed = lines.filter((l) => /suppress/i.test(l));
      t.diagnostic(`log flood: ${flood} of 30000 guest lines reached the log; ${suppressed.length} line(s) mention suppression`);
      assert.ok(flood > 0, 'the first guest lines are logged');
      assert.ok(flood < 200, `at most a bounded number of guest lines reach the log (got ${flood})`);
      assert.ok(suppressed.length > 0, 'a line says guest lines were suppressed');
    }));

  test('6. guest log and abort text with C1 controls and bidi overrides: the raw characters never reach the log', { timeout: TEST_TIMEOUT_MS }, (t) =>
    publishAttack(t, { name: 'avail-ctl', module: AVAILABILITY, topic: 'ctl/x', label: 'control characters' }, async (b, by, _a, since) => {
      await logBarrier(b, by.client);
      const text = b.log().slice(since);
      const mentions = b.lines(since).filter((l) => l.includes('ctl-test'));
      assert.ok(mentions.length >= 2, `the log line and the abort message are logged (sanitised)\n${mentions.join('\n')}`);
      const forbidden: Array<[string, string]> = [
        ['\u009b', 'U+009B (C1 CSI)'],
        ['\u0085', 'U+0085 (C1 NEL)'],
        ['\u202e', 'U+202E (right-to-left override)'],
        ['\u2066', 'U+2066 (left-to-right isolate)'],
        ['\u2069', 'U+2069 (pop directional isolate)'],
        ['\u001b', 'U+001B (ESC)'],
      ];
      const found = forbidden.filter(([ch]) => text.includes(ch)).map(([, n]) => n);
      assert.deepEqual(found, [], `raw control characters in the broker log:\n${JSON.stringify(mentions)}`);
    }));

  test('7. READ checks that each burn their whole budget, fanned out: 60 subscribers, then 60 retained messages', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    // Each READ check on slow/# spins until the fuel runs out. wasm_fuel 40,000,000 makes that
    // take most of the wall-clock budget (wasm_timeout_ms, 100 ms) on the project machine, the
    // most one check may legitimately cost; the default fuel runs out in about 15 ms.
    const b = await startPolicy({ name: 'avail-fanout', module: AVAILABILITY, opts: { wasm_timeout_ms: TIMEOUT_MS, wasm_fuel: 40_000_000 } });
    const FAN = 60;
    let by: Bystander | undefined;
    let bad: Client | undefined;
    let late: Client | undefined;
    const subs: Client[] = [];
    try {
      by = await bystander(b);
      bad = await connect({ port: b.port, version: 5, username: 'mallory', password: 'x' });
      const hostile = bad;
      const mark = `mark/${uniqueId('fan')}`;
      subs.push(...(await Promise.all(
        Array.from({ length: FAN }, (_, i) => connect({ port: b.port, version: 4, username: `sub${i}`, password: 'x' })),
      )));
      for (const s of subs) assert.deepEqual(await s.subscribe('slow/#', 0), [0]);
      assert.deepEqual(await subs[0].subscribe(mark, 0), [0]);

      // One QoS 0 publish, 60 deliveries, each a READ check burning its budget.
      const tag = uniqueId('slow');
      const fan = await whileAttacked(by, async () => {
        assert.equal(await hostile.publish('slow/x', tag, { qos: 0 }), 0);
        // Same publisher, so once the marker is at subs[0] the slow/x deliveries were decided.
        // The publisher just spent its share of policy time (the plugin's per-client budget):
        // its own next request may be refused until the budget refills.
        await publishWhenServed(hostile, mark);
        await subs[0].waitForMessage((m) => m.topic === mark, 60_000);
      });
      report(t, `one publish fanned out to ${FAN} subscribers`, fan);
      const got = subs.filter((s) => s.received.some((m) => m.topic === 'slow/x')).length;
      assert.equal(got, 0, `no subscriber gets slow/x (its READ check failed); ${got} did`);

      await endAll(...subs.splice(0));
      // 60 retained messages (the WRITE checks allow them; nobody is subscribed to them now),
      // from a client of their own: the fan-out's publisher may still be over its share of
      // policy time, and the breaker would refuse its publishes until that refills.
      const retainer = await connect({ port: b.port, version: 5, username: 'retainer', password: 'x' });
      try {
        for (let i = 0; i < FAN; i++) assert.equal(await retainer.publish(`slow/r/${i}`, 'r', { qos: 1, retain: true }), 0);
      } finally {
        await endAll(retainer);
      }
      late = await connect({ port: b.port, version: 5, username: 'late', password: 'x' });
      const lateClient = late;
      const mark2 = `mark/${uniqueId('ret')}`;
      assert.deepEqual(await lateClient.subscribe(mark2, 0), [0]);
      const retained = await whileAttacked(by, async () => {
        const granted = await lateClient.subscribe('slow/#', 0);
        await publishWhenServed(lateClient, mark2);
        await lateClient.waitForMessage((m) => m.topic === mark2, 60_000);
        return granted;
      });
      report(t, `SUBSCRIBE matching ${FAN} retained messages`, retained);
      assert.deepEqual(retained.result, [0], 'the subscription itself is allowed');
      const gotRetained = lateClient.received.filter((m) => m.topic.startsWith('slow/')).length;
      assert.equal(gotRetained, 0, `no retained slow/ message delivered (READ checks failed); ${gotRetained} were`);

      assertServed(fan.probes, BOUND_MS, `fan-out to ${FAN} subscribers`);
      assertServed(retained.probes, BOUND_MS, `${FAN} retained messages`);
      assert.ok(b.running, 'broker still running');
    } finally {
      await endAll(by?.client, bad, late, ...subs);
      await stopQuickly(b);
    }
  });

  test('8. unpwd_check traps for an anonymous client under wasm_on_error defer with allow_anonymous true: refused', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const b = await startPolicy({
      name: 'avail-failopen',
      module: AVAILABILITY,
      allowAnonymous: true,
      opts: { wasm_timeout_ms: TIMEOUT_MS, wasm_on_error: 'defer' },
    });
    let by: Bystander | undefined;
    const admitted: Client[] = [];
    try {
      by = await bystander(b);
      const versions: Version[] = [5, 4];
      const a = await whileAttacked(by, async () => {
        const codes: number[] = [];
        for (const version of versions) {
          const r = await tryConnect({ port: b.port, version, clientId: uniqueId('anon') });
          if (r.ok) admitted.push(r.client);
          codes.push(r.code);
        }
        return codes;
      });
      report(t, 'anonymous CONNECT with a failing unpwd_check', a);
      assert.equal(admitted.length, 0, `a failing unpwd_check never admits: ${admitted.length} anonymous client(s) were admitted (CONNACK 0)`);
      assert.deepEqual(a.result, versions.map((v) => refusedCode(v)), 'refused as not authorized');
      assertServed(a.probes, BOUND_MS, 'failing unpwd_check');
    } finally {
      await endAll(by?.client, ...admitted);
      await stopQuickly(b);
    }
  });

  test(`9. SIGHUP reload of the default policy with ${RELOAD_USERS} users and ${2 * RELOAD_USERS} ACL rules: bystander served, no trap`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const b = await startPolicy({
      name: 'avail-reload',
      module: DEFAULT_POLICY_WASM,
      setup: writeLargeConfig,
      opts: {
        wasm_timeout_ms: TIMEOUT_MS,
        password_file: (ctx) => ctx.file('passwd'),
        acl_file: (ctx) => ctx.file('acl'),
      },
      startTimeoutMs: 60_000,
    });
    let by: Bystander | undefined;
    try {
      await b.waitForLog(/default policy: \d+ users/);
      by = await bystander(b, 'bystander', 'by-pw');
      let since = 0;
      const a = await whileAttacked(
        by,
        async () => {
          since = await b.sighup();
          // Done when the policy has re-read its files, or failed to.
          await b.waitForLog(/default policy: \d+ users|trapped|cannot load|reload.*fail/i, { since, timeoutMs: 60_000 });
        },
        { after: 5, what: 'reload' },
      );
      report(t, 'SIGHUP reload', a);
      const trapped = b.lines(since).filter((l) => /trapped/.test(l));
      assert.deepEqual(trapped, [], 'a normal reload logs no trap');
      assert.match(b.log().slice(since), new RegExp(`default policy: ${RELOAD_USERS + 1} users`), 'the reloaded policy read every user');
      assertServed(a.probes, RELOAD_BOUND_MS, 'SIGHUP reload');
      // The reloaded rules decide: a user from the file logs in, a wrong password does not.
      const u = await connect({ port: b.port, version: 5, username: 'u4321', password: 'pw4321' });
      await u.end();
      const wrong = await tryConnect({ port: b.port, version: 5, username: 'u4321', password: 'pw1234' });
      assert.equal(wrong.ok, false, 'a wrong password is refused after the reload');
    } finally {
      await endAll(by?.client);
      await stopQuickly(b);
    }
  });

  test('11. after a SIGHUP, session_check of 20 sessions each burns its whole budget: they get the failure decision, bystander served', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    // wasm_fuel 4,000,000: each call spins about a tenth of the wall-clock budget here; the pass
    // is paid from on_tick's share of broker time, so it spreads over a few seconds.
    const b = await startPolicy({ name: 'avail-revoke', module: AVAILABILITY, opts: { wasm_timeout_ms: TIMEOUT_MS, wasm_fuel: 4_000_000 } });
    const N = 20;
    let by: Bystander | undefined;
    const slow: Client[] = [];
    try {
      by = await bystander(b);
      for (let i = 0; i < N; i++) slow.push(await connect({ port: b.port, version: 4, username: `slow/${i}`, password: 'x' }));
      const gone = Promise.all(slow.map((c) => new Promise<void>((resolve) => c.mqtt.once('close', () => resolve()))));
      let since = 0;
      const a = await whileAttacked(by, async () => {
        since = await b.sighup();
        await b.waitForLog(/session_check after the reload: \d+ sessions asked, \d+ disconnected/, { since, timeoutMs: 60_000 });
        await gone;
      }, { what: 'session_check pass' });
      report(t, `session_check of ${N} sessions burning their budget`, a);
      assert.match(b.log().slice(since), new RegExp(`session_check after the reload: ${N + 1} sessions asked, ${N} disconnected`));
      assert.ok(slow.every((c) => !c.mqtt.connected), 'every failing session is disconnected (wasm_on_error deny)');
      assert.equal(by.client.mqtt.connected, true, 'the bystander, whose session_check allows, stays');
      assertServed(a.probes, BOUND_MS, 'session_check pass');
    } finally {
      await endAll(by?.client, ...slow);
      await stopQuickly(b);
    }
  });

  test('10a. a start function / security_init that never ends: the broker refuses to start within the bound, one line naming the file', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const cases = [
      { name: 'start-fill', module: requireFile(fixture('avail-start-fill'), 'fixture avail-start-fill') },
      { name: 'init-pw', module: requireFile(fixture('avail-init-pw'), 'fixture avail-init-pw') },
    ];
    // Both at once: each is a lifecycle budget (10 s) at most, with the defences.
    const outcomes = await Promise.all(cases.map((c) => startExpectingExit(`avail-${c.name}`, c.module, STARTUP_BOUND_MS)));
    const problems: string[] = [];
    cases.forEach((c, i) => {
      const o = outcomes[i];
      t.diagnostic(`${c.name}: ${o.exited ? `exited (${o.code ?? o.signal}) after ${o.elapsedMs.toFixed(0)} ms` : `still up after ${STARTUP_BOUND_MS} ms, killed`}`);
      if (!o.exited) {
        problems.push(`${c.name}: the broker neither started nor exited within ${STARTUP_BOUND_MS} ms`);
        return;
      }
      if (o.code === 0 || o.code === null) problems.push(`${c.name}: exit ${o.code ?? o.signal}, expected a non-zero exit status`);
      const naming = o.lines.filter((l) => l.includes(c.module));
      if (naming.length !== 1 || !/wasm-auth: cannot load policy \S+: \S/.test(naming[0])) {
        problems.push(`${c.name}: expected one line "wasm-auth: cannot load policy FILE: REASON", got ${JSON.stringify(naming)}\n${o.describe}`);
      } else {
        t.diagnostic(`${c.name}: ${naming[0]}`);
      }
    });
    assert.deepEqual(problems, []);
  });

  test('10b. SIGHUP reload to a module whose security_init never ends: the old policy keeps serving, the broker stays responsive', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const b = await startPolicy({
      name: 'avail-reload-hang',
      setup: (ctx) => copyFileSync(requireFile(AVAILABILITY, 'fixture availability'), ctx.file('policy.wasm')),
      module: (ctx) => ctx.file('policy.wasm'),
      opts: { wasm_timeout_ms: TIMEOUT_MS },
    });
    let by: Bystander | undefined;
    let c: Client | undefined;
    try {
      by = await bystander(b);
      c = await connect({ port: b.port, version: 5, username: 'carol', password: 'x' });
      const client = c;
      assert.equal(await client.publish('deny/x', 'x', { qos: 1 }), 135, 'the old policy denies deny/#');
      const p = new Prober(by.client, by.topic, TEST_TIMEOUT_MS).start();
      await within(p.until(2), 10_000, 'bystander warm-up');
      install(b, requireFile(fixture('avail-init-pw'), 'fixture avail-init-pw'));
      const since = await b.sighup();
      // Watch for 3 s: a reload that holds the broker thread shows as one long probe.
      await sleep(3000);
      const probes = await p.stop(BOUND_MS);
      t.diagnostic(`reload to a never-ending security_init: bystander ${describeProbes(probes)} in the 3 s after SIGHUP`);
      // Still the old policy (the new one would allow deny/#), and still answering.
      const code = await within(client.publish('deny/x', 'x', { qos: 1 }), BOUND_MS * 2, 'publish after the reload').catch((e: Error) => e);
      assert.ok(b.running, 'broker still running');
      assert.equal(code, 135, 'the old policy keeps serving during the reload');
      assertServed(probes, BOUND_MS, 'reload to a never-ending security_init');
      assert.equal(b.lines(since).filter((l) => /wasm-auth: .*fail.*request/.test(l)).length, 0, 'no request failed meanwhile');
    } finally {
      await endAll(by?.client, c);
      await stopQuickly(b, 2000);
    }
  });
});
