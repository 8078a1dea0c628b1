#!/usr/bin/env node
// The `wasm-auth` executable (the host package's bin): wasm-auth.ts on the process's arguments.
// Separate from wasm-auth.ts so importing that never runs anything.
import { main } from './wasm-auth.js';

process.exitCode = main(process.argv.slice(2), {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
});
