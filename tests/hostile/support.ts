// Shared pieces of the hostile suite: where its modules are, the gate and wasm-validate as
// commands, the Node host in a worker with a bounded wait, and reading the plugin's refusal line.
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { BUILD, CHECK_BIN, HOST_INDEX_JS, requireFile } from '../harness/paths.js';

export const HOSTILE_DIR = process.env.HOSTILE_DIR ? resolve(process.env.HOSTILE_DIR) : join(BUILD, 'hostile');

/** build/hostile/NAME.wasm: a fixture from tests/hostile/fixtures/, compiled by hostile.mk. */
export function hostileFixture(name: string): string {
  return requireFile(join(HOSTILE_DIR, `${name}.wasm`), `hostile fixture ${name} (make hostile-modules)`);
}

/** The gate's feature profile, as wasm-validate flags (same as tests/conformance/run.ts). */
export const WASM_VALIDATE_PROFILE = ['--disable-reference-types', '--disable-simd'];

export interface Verdict {
  ok: boolean;
  /** The refusal reason (first line of the tool's error output), '' if accepted. */
  reason: string;
}

function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    execFile(cmd, args, { maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err && typeof (err as { code?: unknown }).code !== 'number') {
        rej(err);
        return;
      }
      res({ code: err ? Number((err as { code?: number }).code) : 0, stdout, stderr });
    });
  });
}

/** wasm-auth-check on one file; the reason is what follows "cannot load policy FILE: ". */
export async function gateCheck(path: string, validateOnly = false): Promise<Verdict> {
  const args = validateOnly ? ['--validate-only', '--', path] : ['--', path];
  const r = await run(requireFile(CHECK_BIN, 'wasm-auth-check (CHECK_BIN)'), args);
  if (r.code === 0) return { ok: true, reason: '' };
  if (r.code !== 1) throw new Error(`wasm-auth-check exited ${r.code}: ${r.stderr}`);
  return { ok: false, reason: refusalReason(r.stderr.split('\n')[0] ?? '', path) ?? r.stderr.trim() };
}

/** wasm-validate with the gate's features. */
export async function wasmValidate(path: string): Promise<Verdict> {
  const r = await run('wasm-validate', [...WASM_VALIDATE_PROFILE, path]);
  return r.code === 0 ? { ok: true, reason: '' } : { ok: false, reason: r.stderr.trim().split('\n')[0] ?? '' };
}

/** REASON from "... wasm-auth: cannot load policy PATH: REASON" (mosquitto may prefix a timestamp). */
export function refusalReason(line: string, path: string): string | null {
  const marker = `wasm-auth: cannot load policy ${path}: `;
  const i = line.indexOf(marker);
  return i < 0 ? null : line.slice(i + marker.length);
}

// ---- the Node host in a worker ----------------------------------------------------------------

export type HostCall =
  | { hook: 'unpwd_check'; username: string | null; password: string | null }
  | { hook: 'acl_check'; clientid: string; username: string | null; topic: string; access: number; payload?: string }
  | { hook: 'psk_key_get'; identity: string; hint: string }
  /** Policy.grants: the failure decision, "none", or the grants' answers for good/x WRITE,
   * other/x WRITE and a SUBSCRIBE ("write=allow other=deny subscribe=allow"). */
  | { hook: 'grants'; clientid: string; username: string | null }
  | { hook: 'reload'; wasm?: string }
  | { hook: 'cleanup' };

export interface HostJob {
  hostIndex: string;
  wasm: string;
  /** LoadOptions (without onLog, which the worker supplies). */
  opts: Record<string, unknown>;
  calls: HostCall[];
}

export interface HostOutcome {
  loadError: { name: string; message: string } | null;
  /** Per call: allow/deny/defer, or for psk_key_get the key (or deny/defer). */
  results: string[];
  logs: Array<{ level: number; message: string }>;
  /** Set if a call threw instead of returning a decision (a host bug). */
  thrown: string | null;
}

/** How long the Node host may take for one job before the test gives up on it. */
const HOST_WAIT_MS = 60000;

/**
 * Plugin options as the Node host's LoadOptions: the same settings under their host names, and
 * all of them (plus wasm_module, as the plugin passes it) as the policy's Options.
 */
export function loadOptions(wasm: string, pluginOpts: Record<string, string> = {}): Record<string, unknown> {
  const o: Record<string, unknown> = {
    name: wasm,
    options: [['wasm_module', wasm], ...Object.entries(pluginOpts)],
    errorLogIntervalMs: 0,
  };
  if (pluginOpts.wasm_fuel !== undefined) o.fuel = Number(pluginOpts.wasm_fuel);
  if (pluginOpts.wasm_on_error !== undefined) o.failureDecision = pluginOpts.wasm_on_error;
  return o;
}

/** Runs a job in a worker; rejects if it does not answer within HOST_WAIT_MS. */
export function runHost(wasm: string, calls: HostCall[], pluginOpts: Record<string, string> = {}): Promise<HostOutcome> {
  const job: HostJob = {
    hostIndex: requireFile(HOST_INDEX_JS, 'the Node host (HOST_JS)'),
    wasm,
    opts: loadOptions(wasm, pluginOpts),
    calls,
  };
  return new Promise((res, rej) => {
    const w = new Worker(new URL('./host-worker.js', import.meta.url), { workerData: job });
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      void w.terminate();
      rej(new Error(`the Node host did not return within ${HOST_WAIT_MS} ms for ${wasm} (a guest it failed to stop?)`));
    }, HOST_WAIT_MS);
    w.once('message', (o: HostOutcome) => {
      settled = true;
      clearTimeout(timer);
      void w.terminate();
      res(o);
    });
    w.once('error', (e) => {
      settled = true;
      clearTimeout(timer);
      rej(e);
    });
    w.once('exit', (code) => {
      if (settled) return;
      clearTimeout(timer);
      rej(new Error(`the Node host's worker exited (code ${code}) without an answer for ${wasm}`));
    });
  });
}
