// Fuel prices of bulk instructions, in V8: the Node host meters with the plugin's own C
// (gate.wasm), so a metered module charges the same fuel in both hosts. The fixtures are
// plugin-c/gate/tests/bulk.wat (also run in wasm3 by test_meter.c, with the same expectations) and
// bulk_table.wat, whose table.copy / table.init only V8 runs (the plugin's wasm3 has no reference
// types). The prices come from plugin-c/gate/gate.h (WA_FUEL_*_SHIFT).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { meterModule } from '../gate.js';
import { WA_DEFAULT_FUEL } from '../limits.js';
import { ROOT, fixture } from './helpers.js';

function gateDefine(name: string): number {
  const header = readFileSync(join(ROOT, 'plugin-c/gate/gate.h'), 'utf8');
  const m = new RegExp(`^#define\\s+${name}\\s+(.+?)\\s*$`, 'm').exec(header);
  assert.ok(m, `${name} in gate.h`);
  const expr = m[1].replace(/WA_FUEL_\w+/g, (n) => String(gateDefine(n)));
  assert.match(expr, /^[\d\s()+-]+$/, `${name} = ${m[1]}`);
  return Function(`return (${expr});`)() as number;
}

const BYTE_SHIFT = gateDefine('WA_FUEL_BYTE_SHIFT');
const PAGE_SHIFT = gateDefine('WA_FUEL_PAGE_SHIFT');
const ELEM_SHIFT = gateDefine('WA_FUEL_ELEM_SHIFT');
const BIG = 1n << 40n;

type Exports = Record<string, (...args: number[]) => number> & {
  __wasm_auth_fuel: WebAssembly.Global;
  count: WebAssembly.Global;
};

const metered = new Map<string, WebAssembly.Module>();

function instance(name: string): Exports {
  let m = metered.get(name);
  if (m === undefined) {
    m = new WebAssembly.Module(new Uint8Array(meterModule(fixture(name))));
    metered.set(name, m);
  }
  return new WebAssembly.Instance(m, {}).exports as unknown as Exports;
}

interface Run {
  error?: string;
  spent: bigint;
  count: number;
  result?: number;
}

function call(e: Exports, fn: string, args: number[], fuel: bigint): Run {
  e.__wasm_auth_fuel.value = fuel;
  let error: string | undefined;
  let result: number | undefined;
  try {
    result = e[fn](...args);
  } catch (x) {
    error = (x as Error).message;
  }
  return { error, spent: fuel - (e.__wasm_auth_fuel.value as bigint), count: e.count.value as number, result };
}

function run(name: string, fn: string, args: number[], fuel: bigint): Run {
  return call(instance(name), fn, args, fuel);
}

interface Case {
  module: string;
  fn: string;
  /** Arguments; the operand goes to args[lenArg], the run count (0: forever) last. */
  args: number[];
  lenArg: number;
  entry: number;
  loop: number;
  price: (n: number) => number;
  lens: number[];
  big: number;
}

const bytes = (n: number): number => Math.floor(n / 2 ** BYTE_SHIFT);
const CASES: Case[] = [
  { module: 'bulk', fn: 'fill', args: [0, 0], lenArg: 0, entry: 15, loop: 13, price: bytes,
    lens: [0, 1, 31, 32, 33, 64, 65536, 16 << 20], big: 16 << 20 },
  { module: 'bulk', fn: 'copy', args: [8 << 20, 0, 0, 0], lenArg: 2, entry: 15, loop: 13, price: bytes,
    lens: [0, 31, 32, 4096, 8 << 20], big: 8 << 20 },
  { module: 'bulk', fn: 'init', args: [0, 0], lenArg: 0, entry: 15, loop: 13, price: bytes, lens: [0, 31, 32, 63, 64], big: 64 },
  { module: 'bulk', fn: 'grow', args: [0, 0], lenArg: 0, entry: 15, loop: 12, price: (n) => n * 2 ** PAGE_SHIFT,
    lens: [0, 1, 3, 300], big: 1 },
  { module: 'bulk_table', fn: 'tcopy', args: [100, 0, 0, 0], lenArg: 2, entry: 15, loop: 13, price: (n) => n * 2 ** ELEM_SHIFT,
    lens: [0, 1, 8, 9900], big: 9900 },
  { module: 'bulk_table', fn: 'tinit', args: [0, 0], lenArg: 0, entry: 15, loop: 13, price: (n) => n * 2 ** ELEM_SHIFT,
    lens: [0, 1, 8], big: 8 },
];

for (const k of CASES) {
  test(`${k.fn}: pays its price before it runs, and a loop of it stops`, () => {
    const args = [...k.args];
    const last = args.length - 1;
    for (const len of k.lens) {
      args[k.lenArg] = len;
      args[last] = 1;
      const once = run(k.module, k.fn, args, BIG);
      args[last] = 2;
      const twice = run(k.module, k.fn, args, BIG);
      assert.equal(once.error, undefined, `${k.fn}(${args})`);
      assert.equal(twice.error, undefined, `${k.fn}(${args})`);
      assert.equal(once.spent, BigInt(k.entry + k.price(len)), `${k.fn} operand ${len}: first run`);
      assert.equal(twice.spent - once.spent, BigInt(k.loop + k.price(len)), `${k.fn} operand ${len}: each further run`);
    }
    // Forever with the default budget: run n pays before it runs, so it runs iff
    // entry + n * price + (n - 1) * loop <= budget.
    const budget = WA_DEFAULT_FUEL;
    const c = k.price(k.big);
    const expect = Math.floor((budget - k.entry + k.loop) / (c + k.loop));
    args[k.lenArg] = k.big;
    args[last] = 0;
    const r = run(k.module, k.fn, args, BigInt(budget));
    assert.match(r.error ?? 'returned', /unreachable/);
    assert.ok(r.spent > BigInt(budget), 'out of fuel');
    assert.equal(r.count, expect, `${k.fn}(${k.big}) forever: runs`);
    assert.ok(r.count <= budget / c);
  });
}

test('metered bulk instructions compute what they compute unmetered', () => {
  assert.equal(run('bulk', 'grow', [1, 1], BIG).result, 256);
  assert.equal(run('bulk', 'grow', [300, 1], BIG).result, -1, 'refused (max 512 pages), and paid for');
  const plain = new WebAssembly.Module(new Uint8Array(fixture('bulk')));
  for (const n of [0, 1, 16, 256, 4096, 65536]) {
    const fresh = new WebAssembly.Instance(plain, {}).exports as unknown as Exports;
    assert.equal(run('bulk', 'mix', [n], BIG).result, fresh.mix(n), `mix(${n})`);
  }
  // Tables: what table.init and table.copy moved is there to call.
  const t = instance('bulk_table');
  assert.match(call(t, 'call', [3], BIG).error ?? 'returned', /null|signature|table/i, 'an empty slot');
  assert.equal(call(t, 'tinit', [8, 1], BIG).error, undefined);
  assert.equal(call(t, 'call', [3], BIG).result, 3);
  assert.equal(call(t, 'tcopy', [100, 0, 8, 2], BIG).error, undefined);
  assert.equal(call(t, 'call', [105], BIG).result, 105);
});
