// Where the built artifacts live. Tests run from build/js/tests/..., so the repository root is
// found by walking up to our package.json instead of counting directories. Every path can be
// overridden from the environment so tests.mk can pass its make variables through.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      const name = (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name;
      if (name === 'mosquitto-wasm-auth') return dir;
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the mosquitto-wasm-auth repository root');
    dir = up;
  }
}

export const ROOT = process.env.WA_ROOT ? resolve(process.env.WA_ROOT) : findRoot();
export const BUILD = resolve(ROOT, process.env.BUILD ?? 'build');

function artifact(envName: string, rel: string): string {
  const v = process.env[envName];
  return v ? resolve(ROOT, v) : join(BUILD, rel);
}

export const PLUGIN_SO = artifact('PLUGIN_SO', 'mosquitto_wasm_auth.so');
/**
 * Whose headers PLUGIN_SO was built against: '2.1' for tests/mosquitto21.mk's build/2.1 plugin
 * (MOSQ_EVT_MESSAGE_OUT and MOSQ_EVT_SUBSCRIBE hooks), '2.0' otherwise.
 */
export const PLUGIN_HEADERS = process.env.PLUGIN_HEADERS === '2.1' ? '2.1' : '2.0';
export const WA_CALL_BIN = artifact('WA_CALL_BIN', 'bin/wa-call');
export const CHECK_BIN = artifact('CHECK_BIN', 'bin/wasm-auth-check');
export const DEFAULT_POLICY_WASM = artifact('DEFAULT_POLICY_WASM', 'policies/default.wasm');
export const HOST_INDEX_JS = join(BUILD, 'js/sdk/host/index.js');
export const FIXTURES_DIR = join(BUILD, 'fixtures');

export const MOSQUITTO_BIN = process.env.MOSQUITTO_BIN ?? '/usr/sbin/mosquitto';

export interface MosquittoVersion {
  major: number;
  minor: number;
  patch: number;
  text: string;
}
let version: MosquittoVersion | undefined;

/**
 * The broker's version, from the first line of `mosquitto -h` ("mosquitto version 2.0.11"), read
 * on first use. The suite runs against 2.0.11 (Debian) and 2.1.2 (tests/mosquitto21.mk);
 * expectations that differ between them ask `brokerAtLeast`. The mosquitto_* tools on PATH are
 * taken to be the broker's own (tests/mosquitto21.mk puts 2.1.2's first).
 */
export function mosquittoVersion(): MosquittoVersion {
  if (version) return version;
  const r = spawnSync(MOSQUITTO_BIN, ['-h'], { encoding: 'utf8' });
  const m = /mosquitto version (\d+)\.(\d+)\.(\d+)/.exec(`${r.stdout ?? ''}${r.stderr ?? ''}`);
  if (!m) throw new Error(`cannot read the broker's version from \`${MOSQUITTO_BIN} -h\`: ${r.error?.message ?? r.stdout}`);
  version = { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), text: `${m[1]}.${m[2]}.${m[3]}` };
  return version;
}

/** Whether the broker under test is MAJOR.MINOR or newer. */
export function brokerAtLeast(major: number, minor: number): boolean {
  const v = mosquittoVersion();
  return v.major > major || (v.major === major && v.minor >= minor);
}

export const DYNSEC_SO =
  process.env.DYNSEC_SO ?? '/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so';

/** build/examples/NAME.wasm */
export function example(name: string): string {
  return join(BUILD, 'examples', `${name}.wasm`);
}

/** build/fixtures/NAME.wasm (tests/fixtures, compiled by tests.mk) */
export function fixture(name: string): string {
  return join(FIXTURES_DIR, `${name}.wasm`);
}

/**
 * Fails with a message that says which part of the build is missing, instead of letting a test
 * die later with a confusing broker or spawn error.
 */
export function requireFile(path: string, what: string): string {
  if (!existsSync(path)) {
    throw new Error(`${what} is missing: ${path} (run \`make test-integration\`, which builds it)`);
  }
  return path;
}
