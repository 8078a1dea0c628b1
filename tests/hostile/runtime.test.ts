// Run-time hostility: a policy that passes the gate and then misbehaves on some requests
// (fixtures/hostile.wat: endless loops with and without calls, recursion bomb, memory.grow bombs,
// an endless loop of memory.fill, abort and host calls with out-of-bounds pointers or a negative
// file offset, an endless loop of option file reads, traps, invalid results). For each kind:
//   broker     the hostile CONNECT, PUBLISH, SUBSCRIBE and TLS-PSK handshake get the failure
//              decision (deny), the broker stays up, clients connected before keep being served,
//              well-behaved requests right after are allowed, and the failure is in the log;
//   Node host  the same requests give the failure decision (deny, and defer with
//              failureDecision 'defer'), well-behaved ones are allowed, each failure is logged;
//   wa-call    the C runtime without a broker gives defer with wasm_on_error defer too.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, test } from 'node:test';
import { listener, pluginConf, startBroker } from '../harness/broker.js';
import { connect, deliveries, endAll, subDeniedCode, tryConnect } from '../harness/mqtt.js';
import { requireFile, WA_CALL_BIN } from '../harness/paths.js';
import { hostileFixture, runHost } from './support.js';

interface Kind {
  word: string;
  what: string;
  /** What the logged failure says (wasm3 and V8 word some traps differently: both allowed). */
  logged: RegExp;
}

const KINDS: Kind[] = [
  { word: 'spin', what: 'endless loop without calls', logged: /fuel|timeout|ran longer/ },
  { word: 'brif', what: 'endless loop on a br_if back-edge', logged: /fuel exhausted/ },
  { word: 'brtab', what: 'endless loop on a br_table back-edge', logged: /fuel exhausted/ },
  { word: 'outer', what: 'endless loop: an inner loop branching to the outer one', logged: /fuel exhausted/ },
  { word: 'calls', what: 'endless loop calling a guest function and a host import', logged: /fuel|timeout|ran longer/ },
  { word: 'recurse', what: 'unbounded recursion', logged: /stack/ },
  // On a loaded machine the deadline may stop the page-by-page growing before the trap.
  { word: 'grow', what: 'memory.grow bomb (then the allocator traps)', logged: /unreachable|timeout|ran longer/ },
  { word: 'bigrow', what: 'memory.grow of 4 GiB (priced per page: over the budget)', logged: /fuel exhausted/ },
  { word: 'fill', what: 'endless loop of memory.fill over all of memory (priced per byte)', logged: /fuel exhausted/ },
  { word: 'abortlen', what: 'abort with a string whose length header runs past memory', logged: /abort: <invalid>/ },
  { word: 'abort', what: 'abort with out-of-bounds string pointers', logged: /abort: <invalid> at <invalid>/ },
  { word: 'logbad', what: 'mosquitto.log with an out-of-bounds pointer', logged: /log: pointer out of bounds/ },
  { word: 'wrap', what: 'topic_matches_sub with a range wrapping past 2^32', logged: /topic_matches_sub: pointer out of bounds/ },
  { word: 'trap', what: 'trap in unpwd_check, acl_check and psk_key_get', logged: /unreachable/ },
  { word: 'baddec', what: 'invalid decision (psk: key pointer past memory)', logged: /not a decision|invalid decision|outside memory|invalid/ },
  { word: 'badkey', what: 'result pointer past memory', logged: /not a decision|invalid decision|outside memory|invalid/ },
  { word: 'nonhex', what: 'psk key that is not hexadecimal', logged: /not a decision|invalid decision|hexadecimal/ },
  { word: 'readloop', what: 'endless loop of option_file_read_at at offset 2^62 outside init', logged: /fuel exhausted/ },
  { word: 'readneg', what: 'option_file_read_at with a negative offset', logged: /option_file_read_at: negative offset/ },
];

// Cases that must end by running out of fuel, not by the wall clock: their deadline is raised so
// that a loaded machine's slow interpreter cannot reach it first (the fuel still runs out in
// tens of milliseconds).
const FUEL_ONLY_TIMEOUT_MS = 10000;
const fuelOnly = (k: Kind): boolean => k.logged.source === 'fuel exhausted';

const KEY = '00112233';
const PSK_HINT = 'hostile-hint';

function waCall(args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((res) => {
    execFile(requireFile(WA_CALL_BIN, 'wa-call (WA_CALL_BIN)'), args, (err, stdout, stderr) => {
      res({ stdout: stdout.trim(), stderr, code: err ? Number((err as { code?: number }).code ?? -1) : 0 });
    });
  });
}

describe('run-time hostility through a real broker', () => {
  for (const k of KINDS) {
    test(`${k.word}: ${k.what}`, async () => {
      const module = hostileFixture('hostile');
      const broker = await startBroker({
        name: `hostile-rt-${k.word}`,
        ports: 2,
        config: (ctx) => [
          listener(ctx.ports[0]),
          listener(ctx.ports[1]),
          `psk_hint ${PSK_HINT}`,
          'allow_anonymous false',
          pluginConf({ module, opts: fuelOnly(k) ? { wasm_timeout_ms: FUEL_ONLY_TIMEOUT_MS } : {} }),
        ].join('\n'),
      });
      const port = broker.ports[0];
      const sub = await connect({ port, version: 4, username: 'good-sub', password: 'x' });
      const pub = await connect({ port, version: 5, username: 'good-pub', password: 'x' });
      try {
        assert.deepEqual(await sub.subscribe('ok/#', 0), [0]);
        const start = broker.mark();

        const login = await tryConnect({ port, version: 5, username: `${k.word}-user`, password: 'x' });
        assert.equal(login.ok, false, 'hostile CONNECT refused');
        assert.equal(login.code, 135);
        assert.equal(await pub.publish(`${k.word}/x`, 'x', { qos: 1 }), 135, 'hostile PUBLISH denied');
        assert.deepEqual(await sub.subscribe(`${k.word}/#`, 0), [subDeniedCode(4)], 'hostile SUBSCRIBE denied');
        const psk = await tryConnect({ port: broker.ports[1], version: 4, psk: { identity: `${k.word}-id`, keyHex: KEY } });
        assert.equal(psk.ok, false, 'hostile PSK identity gets no key');

        assert.ok(broker.running, 'the broker is still running');
        // Well-behaved requests right after: a PSK login with the policy's key, a new login,
        // and the clients connected before, whose messages still flow.
        const goodPsk = await connect({ port: broker.ports[1], version: 4, psk: { identity: 'good-id', keyHex: KEY } });
        const fresh = await connect({ port, version: 5, username: 'good-new', password: 'x' });
        await endAll(goodPsk, fresh);
        const { arrived, codes } = await deliveries(pub, sub, [{ topic: `ok/after-${k.word}`, qos: 1 }], 'ok/marker');
        assert.deepEqual(arrived, [true], 'a bystander message still arrives');
        assert.deepEqual(codes, [0]);

        const failures = broker.lines(start).filter((l) => l.includes('wasm-auth:') && k.logged.test(l));
        assert.ok(failures.length >= 1, `the failure is logged (${k.logged})\n${broker.describe()}`);
      } finally {
        await endAll(sub, pub);
        await broker.stop();
      }
    });
  }
});

describe('run-time hostility through the Node host', () => {
  for (const k of KINDS) {
    for (const failure of ['deny', 'defer'] as const) {
      test(`${k.word} (failure decision ${failure}): ${k.what}`, async () => {
        const module = hostileFixture('hostile');
        const out = await runHost(module, [
          { hook: 'unpwd_check', username: `${k.word}-user`, password: 'x' },
          { hook: 'acl_check', clientid: 'c1', username: 'good', topic: `${k.word}/x`, access: 2 },
          { hook: 'acl_check', clientid: 'c1', username: 'good', topic: `${k.word}/#`, access: 4 },
          { hook: 'psk_key_get', identity: `${k.word}-id`, hint: PSK_HINT },
          { hook: 'unpwd_check', username: 'good', password: 'x' },
          { hook: 'acl_check', clientid: 'c1', username: 'good', topic: 'ok/x', access: 2 },
          { hook: 'psk_key_get', identity: 'good-id', hint: PSK_HINT },
        ], { wasm_on_error: failure });
        assert.equal(out.loadError, null, out.loadError?.message);
        assert.equal(out.thrown, null, out.thrown ?? '');
        // A psk key that is not hexadecimal is "no key" (deny) in both hosts, even with the
        // failure decision defer; every other misbehaviour gets the failure decision.
        const pskFailure = k.word === 'nonhex' ? 'deny' : failure;
        assert.deepEqual(out.results, [failure, failure, failure, pskFailure, 'allow', 'allow', KEY]);
        const logged = out.logs.filter((l) => k.logged.test(l.message));
        assert.ok(logged.length >= 1, `the failure is logged (${k.logged}): ${JSON.stringify(out.logs)}`);
      });
    }
  }
});

describe('run-time hostility through the C runtime without a broker (wa-call), failure decision defer', () => {
  for (const k of KINDS) {
    test(`${k.word}: every hook defers`, async () => {
      const module = hostileFixture('hostile');
      const opt = ['--opt', 'wasm_on_error=defer', ...(fuelOnly(k) ? ['--opt', `wasm_timeout_ms=${FUEL_ONLY_TIMEOUT_MS}`] : [])];
      const runs = await Promise.all([
        waCall([module, ...opt, 'unpwd_check', `${k.word}-user`, 'x']),
        waCall([module, ...opt, 'acl_check', 'c1', 'good', `${k.word}/x`, 'write', 'p', '0', '0']),
        waCall([module, ...opt, 'psk_key_get', `${k.word}-id`, PSK_HINT]),
      ]);
      assert.deepEqual(runs.map((r) => r.stdout), ['defer', 'defer', k.word === 'nonhex' ? 'none' : 'defer'],
        runs.map((r) => r.stderr).join(''));
      assert.ok(runs.every((r) => k.logged.test(r.stderr)), `each failure is logged (${k.logged})`);
    });
  }
});
