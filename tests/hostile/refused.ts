// Modules that must be refused at load, each through three doors that must agree:
//   wasm-auth-check  refuses it (for what the gate can see statically), with reason R;
//   mosquitto        refuses to start: non-zero exit, no crash, exactly one log line naming the
//                    file, "wasm-auth: cannot load policy FILE: R";
//   the Node host    loadPolicy throws PolicyLoadError with message R.
// And the boundary modules just inside every cap must load and serve through both hosts.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { listener, pluginConf, runBrokerExpectingExit } from '../harness/broker.js';
import { connect } from '../harness/mqtt.js';
import { startPolicyBroker } from '../harness/policy-broker.js';
import { type Group, LOADABLE, REFUSED, type RefusedCase, writeAll } from './generate.js';
import { gateCheck, HOSTILE_DIR, hostileFixture, refusalReason, runHost } from './support.js';

export interface Refusal {
  name: string;
  what: string;
  path: () => string;
  reason: RegExp;
  opts?: Record<string, string>;
  atRuntime?: boolean;
}

/**
 * Generates the refused modules of these groups that are refused statically (or, with
 * atRuntime, those refused while loading), plus the loadable ones if asked, into
 * build/hostile/DIRNAME (each test file its own directory, so files can run in parallel).
 */
export function generated(dirName: string, groups: Group[], atRuntime: boolean, loadable: boolean):
  { refusals: Refusal[]; paths: () => Map<string, string> } {
  let paths: Map<string, string> | null = null;
  const cases = REFUSED.filter((c: RefusedCase) => groups.includes(c.group) && (c.atRuntime === true) === atRuntime);
  const names = new Set([...cases.map((c) => c.name), ...(loadable ? LOADABLE.map((c) => c.name) : [])]);
  before(() => {
    paths = writeAll(join(HOSTILE_DIR, dirName), names);
  });
  const get = () => {
    if (paths === null) throw new Error('modules not generated yet');
    return paths;
  };
  const refusals = cases.map((c) => ({
    name: c.name,
    what: `${c.group}: ${c.what}`,
    path: () => get().get(c.name) as string,
    reason: c.reason,
    opts: c.opts,
    atRuntime: c.atRuntime,
  }));
  return { refusals, paths: get };
}

/** The three-door check for one refused module. */
export async function expectRefused(r: Refusal): Promise<void> {
  const path = r.path();
  const gate = await gateCheck(path);
  if (!r.atRuntime) {
    assert.equal(gate.ok, false, `wasm-auth-check must refuse ${path}`);
    assert.match(gate.reason, r.reason, 'wasm-auth-check says why');
  }

  const res = await runBrokerExpectingExit({
    name: `hostile-${r.name}`,
    config: (ctx) => `${listener(ctx.port)}\n${pluginConf({ module: path, opts: r.opts })}`,
  });
  assert.equal(res.signal, null, `the broker must exit, not crash\n${res.describe}`);
  assert.notEqual(res.code, 0, `exit status must be non-zero\n${res.describe}`);
  const naming = res.lines.filter((l) => l.includes(path));
  assert.equal(naming.length, 1, `exactly one log line names the module\n${res.describe}`);
  const reason = refusalReason(naming[0], path);
  assert.ok(reason !== null, `the line is "wasm-auth: cannot load policy FILE: REASON": ${naming[0]}`);
  assert.match(reason, r.reason, 'the line says why');
  if (!gate.ok) assert.equal(reason, gate.reason, 'the plugin and wasm-auth-check give the same reason');

  const node = await runHost(path, [], r.opts);
  assert.equal(node.thrown, null, node.thrown ?? '');
  assert.ok(node.loadError !== null, 'the Node host must refuse the module');
  assert.equal(node.loadError.name, 'PolicyLoadError');
  assert.equal(node.loadError.message, reason, 'the Node host gives the plugin\'s reason');
}

/** Lifecycle-hook traps that make a policy refuse to start. */
export const LIFECYCLE_REFUSALS: Refusal[] = ['plugin_init', 'security_init'].map((hook) => ({
  name: `trap-in-${hook}`,
  what: `trap in ${hook}`,
  path: () => hostileFixture('lifecycle'),
  reason: new RegExp(`${hook} trapped|${hook}.*unreachable`),
  opts: { trap_in: hook },
  atRuntime: true,
}));

/** Boundary modules: a broker starts with each and serves a client; the Node host allows. */
export function loadableSuite(paths: () => Map<string, string>): void {
  describe('modules just inside the caps load and serve', () => {
    for (const c of LOADABLE) {
      test(`${c.what} (${c.name})`, async () => {
        const path = paths().get(c.name) as string;
        const gate = await gateCheck(path);
        assert.equal(gate.ok, true, `wasm-auth-check accepts it: ${gate.reason}`);
        const broker = await startPolicyBroker({ name: `hostile-${c.name}`, module: path });
        try {
          const client = await connect({ port: broker.port, version: 5, username: 'any', password: 'x' });
          assert.equal(await client.publish('t/x', 'x', { qos: 1 }), 0);
          await client.end();
        } finally {
          await broker.stop();
        }
        const node = await runHost(path, [{ hook: 'acl_check', clientid: 'c', username: 'u', topic: 't/x', access: 2 }]);
        assert.equal(node.loadError, null, node.loadError?.message);
        assert.deepEqual(node.results, ['allow']);
      });
    }
  });
}
