// asc transform that fails the build when a hook is declared with types the host does not pass
// (sdk/transform/hooks.ts). Such a hook compiles to the same wasm signature (every reference is
// an i32), passes the gate and then misreads every request. Loaded with `asc --transform PATH`
// (the repository's make rules), or from an asconfig as `"transform": ["mosquitto-wasm-auth/transform"]`
// once the SDK package is installed (docs/ABI.md says which forms asc 0.27 resolves).
// Self-contained on purpose: it imports nothing but assemblyscript, so it can ship on its own.
import { DiagnosticCode } from "assemblyscript";
import type { Program } from "assemblyscript";
import { Transform } from "assemblyscript/transform";
import { checkProgram } from "./check.js";

export default class HookSignatures extends Transform {
  afterInitialize(program: Program): void {
    for (const p of checkProgram(program)) program.error(DiagnosticCode.User_defined_0, p.range, p.message);
  }
}
