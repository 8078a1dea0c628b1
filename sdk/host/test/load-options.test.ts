// What loadPolicy and the CLI accept: wasm_* option names as the plugin checks them (same words,
// compared with wa-call's when it is built), and every LoadOptions field, so that no typo leaves
// a setting at its default and no value makes a failing policy allow.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPolicy, PolicyLoadError, type LoadOptions } from '../index.js';
import { HOST_OPTION_NAMES } from '../load-options.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI_JS, ROOT, WA_CALL, fixture, runBin } from './helpers.js';

function refusal(opts: Record<string, unknown>): string {
  try {
    loadPolicy(fixture('short'), { onLog: () => {}, ...opts } as LoadOptions).cleanup();
  } catch (e) {
    assert.ok(e instanceof PolicyLoadError, `expected PolicyLoadError, got ${String(e)}`);
    return e.message;
  }
  return 'loaded';
}

test('an unknown wasm_* option refuses the load, with the closest name', () => {
  assert.equal(refusal({ options: [['wasm_fule', '100']] }),
    "unknown option wasm_fule (did you mean wasm_fuel?): the wasm_ prefix is for the plugin's options");
  assert.equal(refusal({ options: [['wasm_module', 'p.wasm'], ['wasm_on_eror', 'defer']] }),
    "unknown option wasm_on_eror (did you mean wasm_on_error?): the wasm_ prefix is for the plugin's options");
  assert.equal(refusal({ options: [['wasm_users_file', '/etc/users']] }),
    "unknown option wasm_users_file: the wasm_ prefix is for the plugin's options (docs/ABI.md); give the policy's own options another name");
  // Options without the prefix are the policy's; every host option name is known.
  assert.equal(refusal({ options: [['users_file', '/etc/users'], ['wasmish', '1']] }), 'loaded');
  const values: Record<string, string> = {
    wasm_module: 'p.wasm', wasm_on_error: 'deny', wasm_max_module_bytes: '100000', wasm_max_memory_pages: '100',
    wasm_max_table_elems: '1000', wasm_max_functions: '1000', wasm_max_globals: '1000', wasm_max_data_bytes: '100000',
    wasm_max_payload: '1000', wasm_fuel: '1000000', wasm_timeout_ms: '1000', wasm_acl_cache: 'on', wasm_acl_grants: 'on',
    wasm_init_fuel: '10000000',
    wasm_init_timeout_ms: '1000', wasm_client_share: '10', wasm_cpu_share: '50', wasm_tick_ms: '0',
    wasm_publish_prefix: 'policy/events/', wasm_record: '/tmp/requests.jsonl', wasm_record_payloads: 'on',
    wasm_record_max_bytes: '1048576', wasm_sys_interval: '10',
    wasm_audit: 'deny', wasm_audit_file: '/var/log/mosquitto/audit.jsonl',
    wasm_shadow_module: 'candidate.wasm', wasm_shadow_share: '10',
    wasm_login_thread: 'off',
  };
  assert.deepEqual(Object.keys(values).sort(), [...HOST_OPTION_NAMES].sort());
  assert.equal(refusal({ options: Object.entries(values) }), 'loaded');
});

test('wasm_audit and wasm_audit_file are checked as the plugin checks them', () => {
  assert.equal(refusal({ options: [['wasm_audit', 'yes']] }), 'option wasm_audit: "yes" is none of off, deny, all');
  assert.equal(refusal({ options: [['wasm_audit_file', '']] }),
    "option wasm_audit_file: empty path (leave it out to audit to mosquitto's log)");
  for (const v of ['off', 'deny', 'all']) assert.equal(refusal({ options: [['wasm_audit', v]] }), 'loaded');
});

test('the host option names are plugin-c/runtime/options.h\'s', () => {
  const header = readFileSync(join(ROOT, 'plugin-c/runtime/options.h'), 'utf8');
  const names = [...header.matchAll(/^#define WA_OPT_\w+\s+"(wasm_\w+)"/gm)].map((m) => m[1]);
  assert.deepEqual([...HOST_OPTION_NAMES].sort(), names.sort());
});

test('the plugin (wa-call) and the Node CLI say the same about an unknown option', (t) => {
  const file = `${process.env.SDK_FIXTURE_DIR ?? 'build/sdk-fixtures'}/short.wasm`;
  const args = [file, '--opt', 'wasm_fule=100', 'acl_check', 'c', 'u', 't', 'read'];
  const native = runBin(WA_CALL, args);
  const node = runBin(process.execPath, [CLI_JS, 'call', ...args]);
  if (native === null) {
    t.skip(`no ${WA_CALL}`);
    return;
  }
  assert.ok(node !== null);
  const line = "wasm-auth: cannot load policy: unknown option wasm_fule (did you mean wasm_fuel?): the wasm_ prefix is for the plugin's options\n";
  assert.deepEqual([native.status, native.stdout, native.stderr], [2, '', line]);
  assert.deepEqual([node.status, node.stdout, node.stderr], [2, '', line]);
});

test('failureDecision allow is refused: a failing policy never allows', () => {
  assert.equal(refusal({ failureDecision: 'allow' }),
    'loadPolicy: failureDecision must be "deny" or "defer" (a failing policy never allows), not "allow"');
  assert.equal(refusal({ failureDecision: 1 }),
    'loadPolicy: failureDecision must be "deny" or "defer" (a failing policy never allows), not 1');
  assert.equal(refusal({ failureDecision: 'defer' }), 'loaded');
});

test('every LoadOptions field is checked for type and range', () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ fule: 100 }, 'loadPolicy: unknown option fule (did you mean fuel?); known: '],
    [{ maxMemoryPage: 4 }, 'loadPolicy: unknown option maxMemoryPage (did you mean maxMemoryPages?)'],
    [{ options: { wasm_fuel: '1' } }, 'loadPolicy: options must be an array of [key, value] string pairs, not {"wasm_fuel":"1"}'],
    [{ options: [['wasm_fuel', 100]] }, 'loadPolicy: options must be an array of [key, value] string pairs, not [["wasm_fuel",100]]'],
    [{ client: { id: 3 } }, 'loadPolicy: client must be an object { id?: string | null, address?: string | null, protocolVersion?: 0, 3, 4 or 5 }, not {"id":3}'],
    [{ client: { protocolVersion: 6 } }, 'loadPolicy: client must be an object'],
    [{ onLog: 'stderr' }, 'loadPolicy: onLog must be a function (level, message) => void, not "stderr"'],
    [{ maxPayload: '100' }, 'loadPolicy: maxPayload must be a whole number from 0 to 268435455, not "100"'],
    [{ maxMemoryPages: 0 }, 'loadPolicy: maxMemoryPages must be a whole number from 1 to 65536, not 0'],
    [{ maxModuleBytes: 1.5 }, 'loadPolicy: maxModuleBytes must be a whole number from 8 to 1073741824, not 1.5'],
    [{ maxTableElems: -1 }, 'loadPolicy: maxTableElems must be a whole number from 0 to 10000000, not -1'],
    [{ maxFunctions: NaN }, 'loadPolicy: maxFunctions must be a whole number from 1 to 1000000, not NaN'],
    [{ maxGlobals: 1e7 }, 'loadPolicy: maxGlobals must be a whole number from 0 to 1000000, not 10000000'],
    [{ maxDataBytes: 2 ** 31 }, 'loadPolicy: maxDataBytes must be a whole number from 0 to 1073741824, not 2147483648'],
    [{ fuel: -1 }, 'loadPolicy: fuel must be a whole number from 0 to 1000000000000000, not -1'],
    [{ initFuel: -1n }, 'loadPolicy: initFuel must be from 0 to 4611686018427387903, not -1n'],
    [{ errorLogIntervalMs: Infinity }, 'loadPolicy: errorLogIntervalMs must be a whole number from 0 to 2147483647, not Infinity'],
    [{ name: 7 }, 'loadPolicy: name must be a string, not 7'],
  ];
  for (const [opts, want] of cases) assert.ok(refusal(opts).startsWith(want), `${JSON.stringify(opts, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))}: ${refusal(opts)}`);
  // In range, and undefined fields (left out), load.
  assert.equal(refusal({ fuel: 0, initFuel: 10n ** 9n, maxPayload: 0, client: { id: null, address: '::1', protocolVersion: 5 }, name: 'p', errorLogIntervalMs: 0, maxGlobals: undefined }), 'loaded');
});
