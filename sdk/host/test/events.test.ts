// Events (on_disconnect, on_tick) and deferred actions (kick_client, kick_user, publish) in the
// Node host: what is queued, what is refused and with which code and warning, the rate limits,
// and that a failed hook's actions are dropped (docs/ABI.md, "Events", "Deferred actions").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PolicyLoadError, hostSettings } from '../index.js';
import {
  ACTION_INVALID, ACTION_NO_PREFIX, ACTION_OUTSIDE_PREFIX, ACTION_QUEUED, ACTION_RATE_LIMITED, ACTION_TOO_LARGE, LOG_WARNING,
} from '../abi.js';
import * as L from '../limits.js';
import { actionRateTake } from '../imports.js';
import { load } from './helpers.js';

const WRITE = 2;
const acl = (topic: string, clientid = 'c1', username: string | null = 'bob') => ({ clientid, username, topic, access: WRITE });
const PREFIX: [string, string][] = [['wasm_publish_prefix', 'ev/']];

// The ActionResult the fixture logged for its last action.
function lastResult(logs: { message: string }[]): number {
  const line = [...logs].reverse().find((l) => l.message.startsWith('result '));
  assert.ok(line, 'no result logged');
  return Number(line.message.slice(7));
}

test('the hooks are found, and nothing happens for a policy without them', () => {
  const { policy } = load('events', { options: PREFIX });
  assert.equal(policy.hooks.on_tick, 0);
  assert.equal(policy.hooks.on_disconnect, 0);
  const { policy: short } = load('short');
  short.tick();
  short.disconnect('c1', null);
  assert.deepEqual(short.takeActions(), []);
});

test('on_tick and on_disconnect queue their publishes, in order', () => {
  const { policy } = load('events', { options: PREFIX });
  policy.tick();
  policy.disconnect('c1', null);
  policy.disconnect('c2', 'alice');
  policy.tick();
  const got = policy.takeActions().map((a) => (a.kind === 'publish' ? `${a.topic}=${Buffer.from(a.payload).toString()}` : a.kind));
  assert.deepEqual(got, ['ev/tick=1', 'ev/bye=c1', 'ev/bye=c2/alice', 'ev/tick=2']);
  assert.deepEqual(policy.takeActions(), [], 'taken once');
});

test('kick_client and kick_user queue the name given; an empty one is refused', () => {
  const { policy, logs } = load('events', { options: PREFIX });
  assert.equal(policy.aclCheck(acl('kick', 'victim')), 'allow');
  assert.equal(policy.aclCheck(acl('kickuser', 'c', 'mallory')), 'allow');
  assert.deepEqual(policy.takeActions(), [{ kind: 'kick_client', clientid: 'victim' }, { kind: 'kick_user', username: 'mallory' }]);
  assert.equal(policy.aclCheck(acl('kickempty')), 'deny');
  assert.equal(lastResult(logs), ACTION_INVALID);
  assert.ok(logs.some((l) => l.level === LOG_WARNING && l.message === 'kick_client: refused: empty name'));
  assert.deepEqual(policy.takeActions(), []);
});

test('publish: refused without wasm_publish_prefix, with one warning naming the option', () => {
  const { policy, logs } = load('events');
  assert.equal(policy.aclCheck(acl('pub/ev/x')), 'deny');
  assert.equal(lastResult(logs), ACTION_NO_PREFIX);
  assert.equal(policy.aclCheck(acl('pub/ev/y')), 'deny');
  const warnings = logs.filter((l) => l.level === LOG_WARNING);
  assert.deepEqual(warnings.map((l) => l.message), [
    'publish: ev/x refused: plugin_opt_wasm_publish_prefix is not set (a policy may publish only under the topic prefix it names)',
  ]);
  assert.deepEqual(policy.takeActions(), []);
});

test('publish: only under the prefix, on a level boundary; valid topics, qos and payload size', () => {
  const { policy, logs } = load('events', { options: [['wasm_publish_prefix', 'ev'], ['wasm_max_payload', '4']] });
  const result = (topic: string): number => {
    policy.aclCheck(acl(topic));
    return lastResult(logs);
  };
  assert.equal(result('pub/ev'), ACTION_QUEUED);
  assert.equal(result('pub/ev/a/b'), ACTION_QUEUED);
  assert.equal(result('pub/ev/'), ACTION_QUEUED);
  assert.equal(result('pub/evx'), ACTION_OUTSIDE_PREFIX);
  assert.equal(result('pub/e'), ACTION_OUTSIDE_PREFIX);
  assert.equal(result('pub/other/ev'), ACTION_OUTSIDE_PREFIX);
  assert.equal(result('pub/ev/+'), ACTION_INVALID);
  assert.equal(result('pub/ev/#'), ACTION_INVALID);
  assert.equal(result('pub/'), ACTION_INVALID);
  assert.equal(result('qos/3/ev/q'), ACTION_INVALID);
  assert.equal(result('qos/2/ev/q'), ACTION_QUEUED);
  assert.equal(result('bytes/ev/b'), ACTION_TOO_LARGE); // 5 bytes, wasm_max_payload 4
  const queued = policy.takeActions();
  assert.deepEqual(queued.map((a) => (a.kind === 'publish' ? [a.topic, a.qos, a.retain] : a.kind)),
    [['ev', 0, false], ['ev/a/b', 0, false], ['ev/', 0, false], ['ev/q', 2, true]]);
  const warned = logs.filter((l) => l.level === LOG_WARNING).map((l) => l.message);
  assert.ok(warned.includes('publish: evx refused: outside wasm_publish_prefix ev'), warned.join('\n'));
  assert.ok(warned.includes('publish: ev/b refused: payload of 5 bytes above wasm_max_payload (4)'), warned.join('\n'));
  // One line per reason per interval: three refusals outside the prefix, one warning.
  assert.equal(warned.filter((m) => m.includes('outside wasm_publish_prefix')).length, 1);
});

test('a kick storm and a publish storm are rate-limited, with one warning each', () => {
  const { policy, logs } = load('events', { options: PREFIX });
  // How many of the storm's 300 were queued: the burst, and what refilled while it ran (a few
  // per 10 ms for publishes on a loaded machine).
  const queued = (): number => Number([...logs].reverse().find((l) => l.message.startsWith('queued '))!.message.slice(7));
  policy.aclCheck(acl('storm/kick'));
  const kicks = queued();
  assert.ok(kicks >= L.WA_KICKS_BURST && kicks <= L.WA_KICKS_BURST + 2, `${kicks} kicks queued`);
  policy.aclCheck(acl('storm/pub'));
  const publishes = queued();
  assert.ok(publishes >= L.WA_PUBLISHES_BURST && publishes <= L.WA_PUBLISHES_BURST + 20, `${publishes} publishes queued`);
  const warned = logs.filter((l) => l.level === LOG_WARNING).map((l) => l.message);
  assert.deepEqual(warned, [
    `kick_client: victim${kicks} refused: more than ${L.WA_KICKS_PER_S} kicks per second (bursts of ${L.WA_KICKS_BURST})`,
    `publish: ev/storm refused: more than ${L.WA_PUBLISHES_PER_S} publishes per second (bursts of ${L.WA_PUBLISHES_BURST})`,
  ]);
  assert.equal(policy.takeActions().length, kicks + publishes);
  // Still answering.
  assert.equal(policy.aclCheck(acl('other')), 'allow');
});

test('the rate refills with time', () => {
  const r = { lastMs: 0, debt: 0 };
  let n = 0;
  while (actionRateTake(r, 1000, L.WA_KICKS_PER_S, L.WA_KICKS_BURST)) n++;
  assert.equal(n, L.WA_KICKS_BURST);
  assert.equal(actionRateTake(r, 1000 + 1000 / L.WA_KICKS_PER_S - 1, L.WA_KICKS_PER_S, L.WA_KICKS_BURST), false);
  assert.equal(actionRateTake(r, 1000 + 1000 / L.WA_KICKS_PER_S, L.WA_KICKS_PER_S, L.WA_KICKS_BURST), true);
});

test('a hook that fails has its actions dropped; event failures are logged and ignored', () => {
  const { policy, logs } = load('events', { options: PREFIX });
  policy.tick();
  assert.equal(policy.aclCheck(acl('trap')), 'deny');
  assert.deepEqual(policy.takeActions().map((a) => a.kind), ['publish'], 'the tick\'s publish stays, the trap\'s kick goes');
  policy.disconnect('trapper', null);
  assert.ok(logs.some((l) => l.message.startsWith('on_disconnect failed (ignored): unreachable executed')), logs.map((l) => l.message).join('\n'));
  assert.deepEqual(policy.takeActions(), []);
  // Restored to its sealed state: the tick counter starts again.
  policy.tick();
  const [a] = policy.takeActions();
  assert.ok(a.kind === 'publish' && Buffer.from(a.payload).toString() === '1');
});

test('session_check: its answers, allow without the hook, the failure decision when it fails', () => {
  const { policy, logs } = load('events', { options: PREFIX });
  assert.equal(policy.hooks.session_check, 0);
  assert.equal(policy.sessionCheck('c1', 'alice'), 'allow');
  assert.equal(policy.sessionCheck('c1', null), 'allow');
  assert.equal(policy.sessionCheck('c2', 'revoked'), 'deny');
  assert.equal(policy.sessionCheck('c3', 'trap'), 'deny');
  assert.ok(logs.some((l) => l.message.startsWith('session_check failed, request denied: unreachable executed')), logs.map((l) => l.message).join('\n'));
  assert.equal(policy.sessionCheck('c1', 'alice'), 'allow');
  const { policy: deferring } = load('events', { options: [...PREFIX, ['wasm_on_error', 'defer']] });
  assert.equal(deferring.sessionCheck('c3', 'trap'), 'defer');
  const { policy: short } = load('short');
  assert.equal(short.hooks.session_check, undefined);
  assert.equal(short.sessionCheck('c2', 'revoked'), 'allow');
});

test('wasm_sys_interval is checked as options.c checks it', () => {
  assert.doesNotThrow(() => hostSettings([['wasm_sys_interval', '0']]));
  assert.doesNotThrow(() => hostSettings([['wasm_sys_interval', String(L.WA_MAX_SYS_INTERVAL_S)]]));
  assert.throws(() => hostSettings([['wasm_sys_interval', '86401']]), { message: 'option wasm_sys_interval: "86401" is not a whole number from 0 to 86400' });
});

test('wasm_shadow_module and wasm_shadow_share are accepted and checked as options.c checks them', () => {
  assert.doesNotThrow(() => hostSettings([['wasm_shadow_module', 'candidate.wasm'], ['wasm_shadow_share', '25']]));
  assert.throws(() => hostSettings([['wasm_shadow_share', '0']]), { message: 'option wasm_shadow_share: "0" is not a whole number from 1 to 100' });
  assert.throws(() => hostSettings([['wasm_shadow_module', '']]), { message: 'option wasm_shadow_module: empty (the candidate policy .wasm file, or leave it out)' });
  assert.throws(() => hostSettings([['wasm_shadow_modul', 'x']]), (e: unknown) => e instanceof PolicyLoadError && /did you mean wasm_shadow_module\?/.test(e.message));
});

test('wasm_login_thread is accepted and checked as options.c checks it', () => {
  assert.doesNotThrow(() => hostSettings([['wasm_login_thread', 'on']]));
  assert.doesNotThrow(() => hostSettings([['wasm_login_thread', 'off']]));
  assert.throws(() => hostSettings([['wasm_login_thread', 'yes']]), { message: 'option wasm_login_thread: "yes" is neither on nor off' });
  assert.throws(() => hostSettings([['wasm_login_threads', 'on']]), (e: unknown) => e instanceof PolicyLoadError && /did you mean wasm_login_thread\?/.test(e.message));
});

test('wasm_tick_ms and wasm_publish_prefix are checked as options.c checks them', () => {
  assert.equal(hostSettings([]).tickMs, L.WA_DEFAULT_TICK_MS);
  assert.equal(hostSettings([['wasm_tick_ms', '0']]).tickMs, 0);
  assert.equal(hostSettings([]).publishPrefix, null);
  assert.equal(hostSettings([['wasm_publish_prefix', 'a/b/']]).publishPrefix, 'a/b');
  assert.throws(() => hostSettings([['wasm_tick_ms', '-1']]), { message: 'option wasm_tick_ms: "-1" is not a whole number from 0 to 3600000' });
  for (const bad of ['', '/', '$SYS', 'a/+', 'a/#']) {
    assert.throws(() => hostSettings([['wasm_publish_prefix', bad]]), (e: unknown) => e instanceof PolicyLoadError
      && e.message === `option wasm_publish_prefix: "${bad}" is not a topic prefix (one or more topic levels, such as policy/events, without + or # and not starting with $)`);
  }
});
