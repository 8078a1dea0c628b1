#!/usr/bin/env node
// wasm-auth-node: the Node host's counterpart of build/bin/wa-call, with the same arguments and
// output, so one case file can run through both hosts:
//   node build/js/sdk/host/cli.js call POLICY.wasm [--opt KEY=VALUE]... [--client-id ID]
//        [--address ADDR] [--protocol N] HOOK ARGS...
//   node build/js/sdk/host/cli.js call POLICY.wasm [options] --batch    (requests on stdin)
// Prints allow, deny or defer; psk_key_get prints the key (hex), none, or defer. Host log lines
// go to stderr prefixed "wasm-auth: ". Exit status 0, or 2 for usage and load errors.
// The packaged command is `wasm-auth call` (wasm-auth.ts); both run call.ts.
import { pathToFileURL } from 'node:url';
import { callUsage, runCall, type Output } from './call.js';

export type { Output } from './call.js';

const USAGE = callUsage('cli.js call');

/** Runs the CLI on `argv` (without node and the script): its exit status. */
export function main(argv: string[], out: Output): number {
  if (argv[0] === '--help' || argv[0] === '-h') {
    out.stdout(USAGE);
    return 0;
  }
  if (argv.length > 0 && argv[0] !== 'call') {
    out.stderr(`cli.js: unknown command "${argv[0]}" (the command is call; see cli.js --help)\n`);
    return 2;
  }
  if (argv.length < 3) {
    out.stderr(USAGE);
    return 2;
  }
  // Messages name the command wa-call, as the C tool's do: the parity cases compare them.
  return runCall(argv.slice(1), out, 'wa-call');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2), {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
  });
}
