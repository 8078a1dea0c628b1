// Shared helpers for the .wasm-level policy tests: built modules, temp dirs, the real
// mosquitto_passwd, and a Node host loader that collects log lines.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicy, type LoadOptions, type Policy } from '../../sdk/host/index.js';
import { DEFAULT_POLICY_WASM, example, requireFile } from '../harness/paths.js';

export { DEFAULT_POLICY_WASM, example };

/** The bytes of a built module (fails with the make target to run when it is missing). */
export function wasm(path: string): Uint8Array {
  return new Uint8Array(readFileSync(requireFile(path, 'policy module')));
}

/** A fresh temporary directory; remove() deletes it. */
export function tempDir(prefix: string): { dir: string; file: (name: string) => string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `wa-${prefix}-`));
  return { dir, file: (name) => join(dir, name), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Adds a user to a password file with the real mosquitto_passwd (-b), $7$ unless sha512 ($6$). */
export function mosquittoPasswd(file: string, user: string, password: string, kind: 'pbkdf2' | 'sha512' = 'pbkdf2', create = false): void {
  const args = [...(kind === 'sha512' ? ['-H', 'sha512'] : []), ...(create ? ['-c'] : []), '-b', file, user, password];
  execFileSync('mosquitto_passwd', args, { stdio: 'pipe' });
}

export interface Logged {
  level: number;
  message: string;
}

/** Loads a policy with the given options, collecting its log lines into `logs`. */
export function load(bytes: Uint8Array, options: [string, string][], logs: Logged[] = [], extra: LoadOptions = {}): Policy {
  return loadPolicy(bytes, { options, onLog: (level, message) => logs.push({ level, message }), ...extra });
}

/** mosquitto access values. */
export const READ = 1;
export const WRITE = 2;
export const SUBSCRIBE = 4;
export const UNSUBSCRIBE = 8;
