// `make bench-json`: JSON in a policy (docs/BENCHMARKS.md "JSON data files"). Four loaders with
// the same job (security_init reads users_file, {"users": {name: {"password", "roles"}}}, and
// keeps name -> hash; bench/assembly/json/): no parsing (the baseline), the SDK's reader, and the
// two AssemblyScript JSON libraries on npm, assemblyscript-json and json-as. The libraries are not
// dependencies of this project: they are installed (pinned versions below) into a temporary
// directory for the run, so the registry must be reachable.
//
// For each loader: the module size and the gate's verdict (wasm-auth-check); for 1,000 and 10,000
// users (and the example's users.json shape), the time of one security_init in wasm3 (wa-call
// --batch: K reloads minus none, divided by K, best of 3) and in the Node host (V8, in process,
// median of K reloads), whether the default wasm_init_fuel and wasm_max_memory_pages suffice,
// and what each makes of hostile files (deep nesting, a long string, invalid UTF-8, a trailing
// comma, trailing data). Prints markdown tables.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadPolicy } from '../sdk/host/index.js';
import { CHECK_BIN, ROOT, WA_CALL_BIN } from '../tests/harness/paths.js';

const LIBRARIES = ['assemblyscript-json@1.1.0', 'json-as@1.6.0'];
const RELOADS = 5;
// Room to measure what a loader needs when the defaults are not enough.
const BIG = ['--opt', 'wasm_init_fuel=100000000000', '--opt', 'wasm_max_memory_pages=4096'];

const tmp = mkdtempSync(join(tmpdir(), 'wa-bench-json-'));
const ASC_VERSION = (JSON.parse(readFileSync(join(ROOT, 'node_modules/assemblyscript/package.json'), 'utf8')) as { version: string }).version;

function run(cmd: string, args: string[], input = ''): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { input, encoding: 'utf8', cwd: ROOT, maxBuffer: 1 << 26 });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

// One hash for every user: the bench measures parsing, not password checks.
const HASH = '$7$101$WGcywqCs3+uwtqvM$TGy0scSXNNWXnBkfMGW+siPTzcIUPzinC84IqarpKrjvky9RpBA4Y/0nKCbECzlwkvBqfLocza5QG8xfldXY3w==';

function usersFile(n: number): string {
  const users: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) users[`user${i}`] = { password: HASH, roles: i % 10 ? ['member'] : ['device', 'visitor'] };
  const file = join(tmp, `users-${n}.json`);
  writeFileSync(file, JSON.stringify({ users }, null, 2));
  return file;
}

const HOSTILE: [string, string | Uint8Array][] = [
  ['nesting 100,000 deep', `{"users": {"a": {"password": ${'['.repeat(100000)}${']'.repeat(100000)}}}}`],
  ['a 4 MB string', `{"users": {"a": {"password": "${'x'.repeat(4 << 20)}"}}}`],
  ['invalid UTF-8 in a name', new Uint8Array([...Buffer.from('{"users": {"a'), 0xc3, ...Buffer.from('": {"password": "x"}}}')])],
  ['trailing comma', '{"users": {"a": {"password": "x"},}}'],
  ['data after the value', '{"users": {}} {"users": {}}'],
];

function compile(name: string, libs: string): string {
  const out = join(tmp, `${name}.wasm`);
  const args = [join(ROOT, `bench/assembly/json/${name}.ts`), '--config', join(ROOT, 'asconfig.json'), '--target', 'release',
    '--path', join(libs, 'node_modules'), '-o', out];
  if (name === 'json-as') args.push('--transform', join(libs, 'node_modules/json-as/transform/lib/index.js'));
  const r = run(join(ROOT, 'node_modules/.bin/asc'), args);
  if (r.status !== 0) throw new Error(`asc ${name}: ${r.stderr}`);
  return out;
}

// ms of one security_init in wasm3: (K reloads - none) / K, best of 3.
function waCallMs(wasm: string, file: string): number | string {
  const base = [wasm, '--opt', `users_file=${file}`, ...BIG, '--batch'];
  const once = (k: number): number => {
    const t = performance.now();
    const r = run(WA_CALL_BIN, base, 'reload\n'.repeat(k) + 'unpwd_check user7 x\n');
    if (r.status !== 0 || /failed/.test(r.stdout)) throw new Error(r.stderr.split('\n').find((l) => /cannot|failed/.test(l)) ?? r.stderr);
    return performance.now() - t;
  };
  try {
    let best = Infinity;
    for (let i = 0; i < 3; i++) best = Math.min(best, (once(RELOADS) - once(0)) / RELOADS);
    return best;
  } catch (e) {
    return (e as Error).message.replace(/^wasm-auth: /, '');
  }
}

// Whether the plugin's defaults (wasm_init_fuel, wasm_max_memory_pages) are enough.
function defaults(wasm: string, file: string): string {
  const r = run(WA_CALL_BIN, [wasm, '--opt', `users_file=${file}`, 'unpwd_check', 'user7', 'x']);
  if (r.status === 0) return 'yes';
  if (/fuel exhausted/.test(r.stderr)) return 'no: wasm_init_fuel';
  if (/out of memory|wasm_max_memory_pages/.test(r.stderr)) return 'no: wasm_max_memory_pages';
  return `no: ${r.stderr.trim().split('\n')[0]}`;
}

// ms of one security_init in the Node host (V8): median of K reloads.
function nodeMs(wasm: string, file: string): number | string {
  try {
    const p = loadPolicy(readFileSync(wasm), {
      options: [['users_file', file], ['wasm_init_fuel', '100000000000'], ['wasm_max_memory_pages', '4096']],
      onLog: () => {},
    });
    const times: number[] = [];
    for (let i = 0; i < RELOADS; i++) {
      const t = performance.now();
      if (!p.reload()) throw new Error('reload failed');
      times.push(performance.now() - t);
    }
    p.cleanup();
    return times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
  } catch (e) {
    return (e as Error).message;
  }
}

function hostile(wasm: string, data: string | Uint8Array): string {
  const file = join(tmp, 'hostile.json');
  writeFileSync(file, data);
  const r = run(WA_CALL_BIN, [wasm, '--opt', `users_file=${file}`, 'unpwd_check', 'a', 'x']);
  if (r.status === 0) return `loaded (${r.stdout.trim()} for user "a")`;
  const why = r.stderr.split('\n').filter((l) => l && !/option_file_size/.test(l));
  return why.map((l) => l.replace(/^wasm-auth: /, '').replace(/cannot load policy \S+: /, '').replace(tmp, 'DIR')).join(' / ').slice(0, 220);
}

function ms(v: number | string): string {
  return typeof v === 'number' ? v.toFixed(1) : v.slice(0, 80);
}

function main(): void {
  const libs = join(tmp, 'libs');
  // json-as's transform imports the compiler as a package of its own: the same asc, next to it.
  const npm = run('npm', ['install', '--prefix', libs, '--no-save', '--no-audit', '--no-fund', '--no-package-lock', ...LIBRARIES, `assemblyscript@${ASC_VERSION}`]);
  if (npm.status !== 0) throw new Error(`npm install ${LIBRARIES.join(' ')}: ${npm.stderr}`);
  const loaders = ['none', 'sdk-reader', 'assemblyscript-json', 'json-as'];
  const wasms = new Map(loaders.map((n) => [n, compile(n, libs)]));
  const files = [1000, 10000].map((n) => [n, usersFile(n)] as const);
  console.log(`JSON loaders (${LIBRARIES.join(', ')}; asc ${ASC_VERSION})\n`);
  console.log('| loader | module bytes | gate | users | file bytes | wasm3 ms | V8 ms | plugin defaults suffice |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const [name, wasm] of wasms) {
    const gate = run(CHECK_BIN, [wasm]);
    const verdict = gate.status === 0 ? 'ok' : gate.stderr.trim();
    for (const [n, file] of files) {
      console.log(`| ${name} | ${statSync(wasm).size} | ${verdict} | ${n} | ${statSync(file).size} | ${ms(waCallMs(wasm, file))} | ${ms(nodeMs(wasm, file))} | ${defaults(wasm, file)} |`);
    }
  }
  console.log('\nHostile files (wa-call, plugin defaults):\n');
  console.log(`| file | ${loaders.slice(1).join(' | ')} |`);
  console.log(`|---|${loaders.slice(1).map(() => '---').join('|')}|`);
  for (const [what, data] of HOSTILE) {
    console.log(`| ${what} | ${loaders.slice(1).map((n) => hostile(wasms.get(n)!, data).replace(/\|/g, '\\|')).join(' | ')} |`);
  }
}

main();
