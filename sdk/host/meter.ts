// Fuel metering, the same cost model as the plugin's gate (plugin-c/gate/meter.c): the module is
// rewritten to charge a mutable i64 global, exported as __wasm_auth_fuel, and to execute
// `unreachable` as soon as the budget would go below zero. Charges sit at the entry of every
// function and right after every `loop` opcode; each charge is the number of instructions in its
// region (the function's top level, or one loop body, minus nested loops). Both hosts therefore
// run a policy out of fuel at the same point.
//
// The walk also refuses instructions outside the gate's profile (MVP, sign-extension,
// non-trapping float-to-int, bulk memory, multi-value), which V8 alone would accept.
import { ModuleError, Reader, leb } from './wasm-binary.js';

/** Name of the exported fuel global (reserved prefix __wasm_auth_). */
export const FUEL_GLOBAL = '__wasm_auth_fuel';

const T_I64 = 0x7e;

function sleb(v: bigint): number[] {
  const out: number[] = [];
  for (;;) {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    if ((v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

function skipLeb(r: Reader): void {
  while (r.u8() & 0x80) {
    // continuation bytes
  }
}

// Skips one instruction's immediates; false when the opcode is outside the profile.
function skipImmediates(r: Reader, op: number): boolean {
  switch (op) {
    case 0x02: case 0x03: case 0x04: // block type (s33)
    case 0x0c: case 0x0d: case 0x10: case 0x20: case 0x21: case 0x22: case 0x23: case 0x24:
    case 0x41: case 0x42:
      skipLeb(r);
      return true;
    case 0x0e: {
      const n = r.u32();
      for (let i = 0; i <= n; i++) skipLeb(r);
      return true;
    }
    case 0x11:
      skipLeb(r);
      r.u8();
      return true;
    case 0x1c:
      r.bytes(r.u32());
      return true;
    case 0x3f: case 0x40:
      r.u8();
      return true;
    case 0x43:
      r.bytes(4);
      return true;
    case 0x44:
      r.bytes(8);
      return true;
    case 0xfc: {
      const sub = r.u32();
      if (sub <= 7) return true;
      switch (sub) {
        case 8: skipLeb(r); r.u8(); return true; // memory.init
        case 9: case 13: skipLeb(r); return true; // data.drop, elem.drop
        case 10: r.bytes(2); return true; // memory.copy
        case 11: r.u8(); return true; // memory.fill
        case 12: case 14: skipLeb(r); skipLeb(r); return true; // table.init, table.copy
        default: return false;
      }
    }
    default:
      if (op >= 0x28 && op <= 0x3e) {
        skipLeb(r);
        skipLeb(r);
        return true;
      }
      // Control without immediates, parametric, numeric (MVP + sign-extension).
      return op <= 0x01 || op === 0x05 || op === 0x0b || op === 0x0f || op === 0x1a || op === 0x1b ||
        (op >= 0x45 && op <= 0xc4);
  }
}

// Growable byte buffer: large modules must not go through array spreads (argument limits).
class Writer {
  buf = new Uint8Array(1024);
  n = 0;
  put(b: ArrayLike<number>): void {
    if (this.n + b.length > this.buf.length) {
      let cap = this.buf.length * 2;
      while (cap < this.n + b.length) cap *= 2;
      const nb = new Uint8Array(cap);
      nb.set(this.buf.subarray(0, this.n));
      this.buf = nb;
    }
    this.buf.set(b, this.n);
    this.n += b.length;
  }
  bytes(): Uint8Array<ArrayBuffer> {
    return this.buf.slice(0, this.n);
  }
}

interface Op {
  start: number;
  end: number;
  op: number;
}

// global.get F; i64.const cost; i64.sub; global.set F; global.get F; i64.const 0; i64.lt_s; if unreachable end
function charge(fuel: number, cost: number): number[] {
  const g = leb(fuel);
  return [0x23, ...g, 0x42, ...sleb(BigInt(cost)), 0x7d, 0x24, ...g, 0x23, ...g, 0x42, 0x00, 0x53, 0x04, 0x40, 0x00, 0x0b];
}

function meterBody(bytes: Uint8Array, start: number, end: number, fuel: number, funcIndex: number): Uint8Array {
  const r = new Reader(bytes, start, end);
  for (let groups = r.u32(); groups > 0; groups--) {
    r.u32();
    r.u8();
  }
  const codeStart = r.pos;
  const ops: Op[] = [];
  while (r.pos < r.end) {
    const at = r.pos;
    const op = r.u8();
    if (!skipImmediates(r, op)) {
      throw new ModuleError(`code section, function ${funcIndex}`, at,
        `instruction 0x${op.toString(16)}${op === 0xfc ? ' (prefixed)' : ''} is outside the supported profile`);
    }
    ops.push({ start: at, end: r.pos, op });
  }
  // Pass 1: instruction count per region (0 = top level, k = the k-th loop in order).
  const cost = [0];
  const current = [0];
  const open: number[] = []; // per open block: its region if it is a loop, else -1
  for (const { op } of ops) {
    cost[current[current.length - 1]]++;
    if (op === 0x02 || op === 0x03 || op === 0x04) {
      let region = -1;
      if (op === 0x03) {
        region = cost.length;
        cost.push(0);
        current.push(region);
      }
      open.push(region);
    } else if (op === 0x0b && open.length > 0) {
      // A loop's own `end` runs inside its body: counted above, then the region closes.
      if (open.pop() !== -1) current.pop();
    }
  }
  // Pass 2: the body with the charges.
  const out = new Writer();
  out.put(bytes.subarray(start, codeStart));
  out.put(charge(fuel, cost[0]));
  let loop = 0;
  let copied = codeStart;
  for (const o of ops) {
    if (o.op === 0x03) {
      out.put(bytes.subarray(copied, o.end));
      out.put(charge(fuel, cost[++loop]));
      copied = o.end;
    }
  }
  out.put(bytes.subarray(copied, end));
  return out.bytes();
}

// Binary order of sections (the data count section, 12, comes before code, 10).
const RANK = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 10];

/**
 * A copy of a checked module with fuel metering injected. The fuel global starts at
 * `initialFuel`, which is the start function's budget (V8 runs it while instantiating).
 */
export function meter(bytes: Uint8Array, initialFuel: bigint): Uint8Array<ArrayBuffer> {
  const r = new Reader(bytes, 8, bytes.length);
  const out = new Writer();
  out.put(bytes.subarray(0, 8));
  const section = (id: number, parts: ArrayLike<number>[]): void => {
    const len = parts.reduce((n, p) => n + p.length, 0);
    out.put([id, ...leb(len)]);
    for (const p of parts) out.put(p);
  };
  const fuelGlobal = [T_I64, 0x01, 0x42, ...sleb(initialFuel), 0x0b];
  const fuelExport = (index: number): number[] => {
    const name = [...new TextEncoder().encode(FUEL_GLOBAL)];
    return [...leb(name.length), ...name, 0x03, ...leb(index)];
  };
  let globals = 0; // index the fuel global gets: after every defined global (imported ones are refused)
  let funcImports = 0;
  let globalsDone = false;
  let exportsDone = false;
  while (r.pos < r.end) {
    const sectionStart = r.pos;
    const id = r.u8();
    const size = r.u32();
    const body = new Reader(bytes, r.pos, r.pos + size);
    r.pos += size;
    if (id !== 0 && !globalsDone && RANK[id] > RANK[6]) {
      section(6, [[1], fuelGlobal]);
      globalsDone = true;
    }
    if (id !== 0 && !exportsDone && RANK[id] > RANK[7]) {
      section(7, [[1], fuelExport(globals)]);
      exportsDone = true;
    }
    if (id === 6 || id === 7) {
      const n = body.u32();
      if (id === 6) globals = n;
      section(id, [leb(n + 1), bytes.subarray(body.pos, body.end), id === 6 ? fuelGlobal : fuelExport(globals)]);
      if (id === 6) globalsDone = true;
      else exportsDone = true;
    } else if (id === 10) {
      const n = body.u32();
      const content = new Writer();
      content.put(leb(n));
      for (let i = 0; i < n; i++) {
        const len = body.u32();
        const b = meterBody(bytes, body.pos, body.pos + len, globals, funcImports + i);
        body.pos += len;
        content.put(leb(b.length));
        content.put(b);
      }
      section(10, [content.bytes()]);
    } else {
      if (id === 2) funcImports = countFunctionImports(bytes, body.pos, body.end);
      out.put(bytes.subarray(sectionStart, body.end));
    }
  }
  if (!globalsDone) section(6, [[1], fuelGlobal]);
  if (!exportsDone) section(7, [[1], fuelExport(globals)]);
  return out.bytes();
}

// Imported functions come first in the function index space (for error messages).
function countFunctionImports(bytes: Uint8Array, start: number, end: number): number {
  const r = new Reader(bytes, start, end);
  let funcs = 0;
  for (let n = r.u32(); n > 0; n--) {
    r.bytes(r.u32());
    r.bytes(r.u32());
    const kind = r.u8();
    if (kind === 0) {
      funcs++;
      r.u32();
    } else if (kind === 1) {
      r.u8();
      r.limits();
    } else if (kind === 2) {
      r.limits();
    } else {
      r.u8();
      r.u8();
    }
  }
  return funcs;
}
