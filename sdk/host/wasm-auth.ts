// The `wasm-auth` command of the host package: the plugin's module gate (`check`) and the Node
// host (`call`) for policy authors, no C toolchain needed. Each command's bad input (missing file,
// not wasm, wrong ABI, bad option, unknown command) ends in a non-zero exit and one line saying
// what to change.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { callUsage, runCall, type Output } from './call.js';
import { checkUsage, runCheck } from './check.js';
import { replayUsage, runReplay } from './replay.js';
import { WA_ABI_VERSION } from './limits.js';

const COMMANDS = 'check, call, replay';

const USAGE = `usage: wasm-auth COMMAND [ARGS...]
  wasm-auth check [options] FILE.wasm...   what the plugin's module gate says about a policy
  wasm-auth call POLICY.wasm [options] HOOK ARGS...
                                           ask a policy what the broker would ask it
  wasm-auth replay FILE POLICY.wasm [options]
                                           put recorded requests to a policy, print what differs
  wasm-auth COMMAND --help                 the command's options
  wasm-auth --version                      package version and the ABI it speaks
`;

// The version of the package this file ships in (the repository's when run from build/).
function version(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) return (JSON.parse(readFileSync(pkg, 'utf8')) as { version?: string }).version ?? 'unknown';
    const up = dirname(dir);
    if (up === dir) return 'unknown';
    dir = up;
  }
}

/** Runs wasm-auth on argv (without node and the script): its exit status. */
export function main(argv: string[], out: Output): number {
  const [cmd, ...rest] = argv;
  const help = (a: string | undefined): boolean => a === '--help' || a === '-h';
  if (cmd === undefined) {
    out.stderr(`wasm-auth: no command given (commands: ${COMMANDS}; see wasm-auth --help)\n`);
    return 2;
  }
  if (help(cmd) || cmd === 'help') {
    out.stdout(USAGE);
    return 0;
  }
  if (cmd === '--version' || cmd === '-v') {
    out.stdout(`wasm-auth ${version()} (ABI ${WA_ABI_VERSION})\n`);
    return 0;
  }
  if (cmd === 'check') return runCheck(rest, out, 'wasm-auth check');
  if (cmd === 'call') {
    if (help(rest[0])) {
      out.stdout(callUsage('wasm-auth call'));
      return 0;
    }
    if (rest.length === 0 || rest[0].startsWith('--')) {
      out.stderr('wasm-auth call: no POLICY.wasm given: wasm-auth call POLICY.wasm [options] HOOK ARGS... (see wasm-auth call --help)\n');
      return 2;
    }
    return runCall(rest, out, 'wasm-auth call');
  }
  if (cmd === 'replay') {
    if (help(rest[0])) {
      out.stdout(replayUsage('wasm-auth replay'));
      return 0;
    }
    return runReplay(rest, out, 'wasm-auth replay');
  }
  out.stderr(`wasm-auth: unknown command "${cmd}" (commands: ${COMMANDS}; see wasm-auth --help)\n`);
  return 2;
}
