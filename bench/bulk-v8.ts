// V8's side of the calibration of the bulk instructions' prices (plugin-c/gate/gate.h WA_FUEL_*;
// docs/SECURITY.md, "Fuel metering"). make bench-gate measures wasm3, the plugin's engine, which
// the prices are set for; this measures V8, the Node host's, and is the only measurement of
// table.copy / table.init, which the plugin's wasm3 does not run. For each: ns per element or
// byte unmetered, and ns per unit of fuel of a metered loop of it that runs until the default
// budget is spent, next to ordinary code's (spin: 7 instructions per iteration).
//   node build/js/bench/bulk-v8.js build/gate-tests/bulk.wasm build/gate-tests/bulk_table.wasm
// (make bench-gate-v8). Best of five runs; each run a fresh instance of one compiled module.
import { readFileSync } from "node:fs";
import { meterModule } from "../sdk/host/gate.js";
import { WA_DEFAULT_FUEL } from "../sdk/host/limits.js";

type Exports = Record<string, (...args: number[]) => number> & { __wasm_auth_fuel?: WebAssembly.Global };

const [bulkPath, tablePath] = process.argv.slice(2);
if (!bulkPath || !tablePath) {
  console.error("usage: bulk-v8.js BULK.wasm BULK_TABLE.wasm");
  process.exit(2);
}

function compile(path: string): { plain: WebAssembly.Module; metered: WebAssembly.Module } {
  const bytes = new Uint8Array(readFileSync(path));
  return { plain: new WebAssembly.Module(bytes), metered: new WebAssembly.Module(new Uint8Array(meterModule(bytes))) };
}

/** Best time (ns) of fn(args) over runs, each in a fresh instance; with fuel, the fuel spent too. */
function best(m: WebAssembly.Module, fn: string, args: number[], fuel?: bigint): { ns: number; spent: number } {
  let ns = Infinity;
  let spent = 0;
  for (let i = 0; i < 5; i++) {
    const e = new WebAssembly.Instance(m, {}).exports as Exports;
    if (fuel !== undefined) e.__wasm_auth_fuel!.value = fuel;
    const t0 = process.hrtime.bigint();
    try {
      e[fn](...args);
    } catch (x) {
      if (fuel === undefined || !/unreachable/.test((x as Error).message)) throw x;
    }
    const t = Number(process.hrtime.bigint() - t0);
    if (fuel !== undefined) spent = Number(fuel - (e.__wasm_auth_fuel!.value as bigint));
    ns = Math.min(ns, t);
  }
  return { ns, spent };
}

const bulk = compile(bulkPath);
const table = compile(tablePath);
const spinN = 20_000_000;
const spin = best(bulk.metered, "spin", [spinN], 1n << 62n);
const ordinary = spin.ns / spin.spent;
console.log(`V8: ordinary code (spin) ${ordinary.toFixed(3)} ns/fuel`);

interface Case { m: { plain: WebAssembly.Module; metered: WebAssembly.Module }; fn: string; args: number[]; lenArg: number; len: number; unit: string }
const cases: Case[] = [
  ...[64, 4096, 65536, 1 << 20, 16 << 20].map((len) => ({ m: bulk, fn: "fill", args: [0, 0], lenArg: 0, len, unit: "byte" })),
  ...[64, 4096, 65536, 1 << 20, 8 << 20].map((len) => ({ m: bulk, fn: "copy", args: [8 << 20, 0, 0, 0], lenArg: 2, len, unit: "byte" })),
  { m: bulk, fn: "init", args: [0, 0], lenArg: 0, len: 64, unit: "byte" },
  { m: bulk, fn: "grow", args: [0, 0], lenArg: 0, len: 1, unit: "page" },
  ...[8, 1000, 9900].map((len) => ({ m: table, fn: "tcopy", args: [100, 0, 0, 0], lenArg: 2, len, unit: "element" })),
  { m: table, fn: "tinit", args: [0, 0], lenArg: 0, len: 8, unit: "element" },
];
for (const c of cases) {
  const grow = c.fn === "grow";
  const per = c.unit === "byte" ? 1 << 30 : 1 << 24; // about this much work unmetered
  const runs = grow ? 256 : Math.max(20, Math.min(2_000_000, Math.floor(per / c.len)));
  const args = [...c.args];
  args[c.lenArg] = c.len;
  args[args.length - 1] = runs;
  const plain = best(c.m.plain, c.fn, args);
  // Metered until the default budget is spent (grow: the 256 pages it can grow).
  args[args.length - 1] = grow ? 256 : 0;
  const metered = best(c.m.metered, c.fn, args, grow ? 1n << 62n : BigInt(WA_DEFAULT_FUEL));
  const unitNs = plain.ns / runs / (grow ? 1 : c.len);
  const fuelNs = metered.ns / metered.spent;
  console.log(`${c.fn.padEnd(5)} ${String(c.len).padStart(8)}: ${unitNs.toFixed(4).padStart(9)} ns/${c.unit} unmetered; ` +
    `metered loop ${fuelNs.toFixed(3)} ns/fuel (${(fuelNs / ordinary).toFixed(2)}x ordinary code)`);
}
