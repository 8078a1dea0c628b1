// A real mosquitto per test suite (MOSQUITTO_BIN: Debian's /usr/sbin/mosquitto 2.0.11, or 2.1.2
// from tests/mosquitto21.mk): own temp dir, own loopback port(s), config written here, log captured
// from stderr. Nothing is shared between brokers, so test files can run in
// parallel. Every broker (and its temp dir) is torn down on stop(), and any that a failing test
// left behind is killed when the test process exits.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MOSQUITTO_BIN, PLUGIN_SO, requireFile } from './paths.js';

/** What a config function gets: the temp dir and the ports reserved for this broker. */
export interface ConfigContext {
  dir: string;
  /** ports[0], the first listener's port. */
  port: number;
  ports: number[];
  /** Absolute path of a file in the broker's temp dir. */
  file(name: string): string;
}

export interface BrokerSpec {
  /** Used in error messages and the temp dir name. */
  name?: string;
  /** How many loopback ports to reserve (one per listener). Default 1. */
  ports?: number;
  /** Files written into the temp dir before start: name -> content or a function of the context. */
  files?: Record<string, string | Uint8Array | ((ctx: ConfigContext) => string | Uint8Array)>;
  /** Commands to run (in the temp dir) after the files are written, e.g. mosquitto_passwd. */
  setup?: (ctx: ConfigContext) => Promise<void> | void;
  /** The config after the harness's own header (logging, user). */
  config: (ctx: ConfigContext) => string;
  /** How long to wait for "running" or an exit. */
  startTimeoutMs?: number;
}

export interface ExitResult {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const live = new Set<Broker>();

process.on('exit', () => {
  for (const b of live) b.killNow();
});
// The test runner stops a test file with a signal (timeout, Ctrl-C): take the brokers along.
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    for (const b of live) b.killNow();
    process.exit(128 + (sig === 'SIGINT' ? 2 : 15));
  });
}

/** Reserves a free loopback port by binding port 0 and releasing it. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error('no port'));
        return;
      }
      srv.close(() => resolvePort(addr.port));
    });
  });
}

/** The harness's header: log everything to stderr, keep root so temp files are readable. */
function header(): string {
  return [
    'log_dest stderr',
    'log_type all',
    'log_timestamp false',
    'persistence false',
    'user root',
    '',
  ].join('\n');
}

/** `listener PORT 127.0.0.1` */
export function listener(port: number): string {
  return `listener ${port} 127.0.0.1`;
}

export interface PluginConf {
  module?: string;
  /** Extra options, written as plugin_opt_KEY / auth_opt_KEY in this order. */
  opts?: Record<string, string | number>;
  /** 'plugin' (default) or the older 'auth_plugin' + 'auth_opt_' spelling. */
  spelling?: 'plugin' | 'auth_plugin';
  so?: string;
}

/** Config lines loading our plugin with `wasm_module` and any other options. */
export function pluginConf(p: PluginConf): string {
  const so = p.so ?? requireFile(PLUGIN_SO, 'the plugin (PLUGIN_SO)');
  const [pl, opt] = p.spelling === 'auth_plugin' ? ['auth_plugin', 'auth_opt_'] : ['plugin', 'plugin_opt_'];
  const lines = [`${pl} ${so}`];
  if (p.module !== undefined) lines.push(`${opt}wasm_module ${p.module}`);
  for (const [k, v] of Object.entries(p.opts ?? {})) lines.push(`${opt}${k} ${v}`);
  return lines.join('\n');
}

type Waiter = {
  re: RegExp;
  since: number;
  resolve: (m: RegExpExecArray) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
};

export class Broker {
  readonly name: string;
  readonly ctx: ConfigContext;
  readonly conf: string;
  private proc: ChildProcess;
  private buf = '';
  private waiters: Waiter[] = [];
  private exitResult: ExitResult | undefined;
  /** Resolves when the broker process exits, however that happens. */
  readonly exited: Promise<ExitResult>;

  constructor(name: string, ctx: ConfigContext, conf: string) {
    this.name = name;
    this.ctx = ctx;
    this.conf = conf;
    const confPath = ctx.file('mosquitto.conf');
    writeFileSync(confPath, conf);
    this.proc = spawn(MOSQUITTO_BIN, ['-c', confPath], { cwd: ctx.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    const onData = (d: Buffer) => {
      this.buf += d.toString('utf8');
      this.checkWaiters();
    };
    this.proc.stdout?.on('data', onData);
    this.proc.stderr?.on('data', onData);
    // A broker a failing test forgot must not keep the test process alive; the exit handler
    // above kills it. Whoever waits on the broker (waitForLog, stop) holds a timer meanwhile.
    this.proc.unref();
    for (const s of [this.proc.stdout, this.proc.stderr]) (s as unknown as { unref?: () => void } | null)?.unref?.();
    this.exited = new Promise((res) => {
      // 'close' (not 'exit'): all of the log has been read by then.
      this.proc.on('close', (code, signal) => {
        this.exitResult = { code, signal };
        live.delete(this);
        for (const w of this.waiters.splice(0)) {
          clearTimeout(w.timer);
          w.reject(new Error(`${this.name}: broker exited (${code ?? signal}) while waiting for ${w.re}\n${this.describe()}`));
        }
        res(this.exitResult);
      });
      this.proc.on('error', (e) => {
        this.buf += `\n[harness] spawn error: ${e.message}\n`;
      });
    });
    live.add(this);
  }

  get port(): number {
    return this.ctx.port;
  }

  get ports(): number[] {
    return this.ctx.ports;
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  get running(): boolean {
    return this.exitResult === undefined;
  }

  /** Everything the broker has logged so far. */
  log(): string {
    return this.buf;
  }

  lines(since = 0): string[] {
    return this.buf.slice(since).split('\n').filter((l) => l.length > 0);
  }

  /** A position in the log; pass it as `since` to only look at what comes after. */
  mark(): number {
    return this.buf.length;
  }

  /** Config and log, for failure messages. */
  describe(): string {
    return `--- ${this.name} config ---\n${this.conf}\n--- ${this.name} log ---\n${this.buf}--- end ---`;
  }

  private checkWaiters(): void {
    for (const w of [...this.waiters]) {
      const m = w.re.exec(this.buf.slice(w.since));
      if (m) {
        clearTimeout(w.timer);
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  }

  /**
   * Waits until the log (from `since`) matches `re`. Rejects with the whole log if the broker
   * exits first or nothing matches within the timeout: a bounded wait, not a timing assertion.
   */
  waitForLog(re: RegExp, opts: { since?: number; timeoutMs?: number } = {}): Promise<RegExpExecArray> {
    const since = opts.since ?? 0;
    const m = re.exec(this.buf.slice(since));
    if (m) return Promise.resolve(m);
    if (!this.running) {
      return Promise.reject(new Error(`${this.name}: broker not running; log never matched ${re}\n${this.describe()}`));
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`${this.name}: log did not match ${re} within ${opts.timeoutMs ?? 10000} ms\n${this.describe()}`));
      }, opts.timeoutMs ?? 10000);
      const w: Waiter = { re, since, resolve, reject, timer };
      this.waiters.push(w);
    });
  }

  /**
   * SIGHUP, then waits for mosquitto's "Reloading config." line and for the plugin's outcome:
   * the policy is rebuilt on the plugin's worker thread and put in service at a later main-loop
   * tick ("wasm-auth: reloaded policy"), or kept ("wasm-auth: reload of ... failed"). Any client
   * request made after this resolves is handled by the reloaded policy. Returns the log mark
   * taken before the signal.
   */
  async sighup(): Promise<number> {
    const since = this.mark();
    this.proc.kill('SIGHUP');
    await this.waitForLog(/Reloading config/, { since });
    await this.waitForLog(/wasm-auth: (reloaded policy|reload of .* failed)/, { since, timeoutMs: 30000 });
    return since;
  }

  /** SIGTERM, wait (SIGKILL after 10 s), remove the temp dir. Returns how it exited. */
  async stop(): Promise<ExitResult> {
    if (this.running) {
      this.proc.kill('SIGTERM');
      const t = setTimeout(() => this.proc.kill('SIGKILL'), 10000);
      await this.exited;
      clearTimeout(t);
    }
    rmSync(this.ctx.dir, { recursive: true, force: true });
    return this.exitResult as ExitResult;
  }

  /** Synchronous last resort for process exit. */
  killNow(): void {
    if (this.running) this.proc.kill('SIGKILL');
    rmSync(this.ctx.dir, { recursive: true, force: true });
  }
}

async function prepare(spec: BrokerSpec): Promise<{ ctx: ConfigContext; conf: string; name: string }> {
  const name = spec.name ?? 'broker';
  const dir = mkdtempSync(join(tmpdir(), `wa-${name.replace(/[^A-Za-z0-9_-]/g, '_')}-`));
  const ports: number[] = [];
  for (let i = 0; i < (spec.ports ?? 1); i++) {
    let p = await freePort();
    while (ports.includes(p)) p = await freePort();
    ports.push(p);
  }
  const ctx: ConfigContext = { dir, port: ports[0], ports, file: (n) => join(dir, n) };
  try {
    for (const [fname, content] of Object.entries(spec.files ?? {})) {
      writeFileSync(ctx.file(fname), typeof content === 'function' ? content(ctx) : content);
    }
    if (spec.setup) await spec.setup(ctx);
    return { ctx, conf: header() + spec.config(ctx) + '\n', name };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

const RUNNING = /mosquitto version \S+ running/;

/**
 * Starts a broker and waits until it reports "running" (all listeners open, plugins loaded).
 * If it exits instead, throws with its config and log. A start that lost the race for a port
 * (another process bound it between our probe and mosquitto's bind) is retried with new ports.
 */
export async function startBroker(spec: BrokerSpec): Promise<Broker> {
  for (let attempt = 0; ; attempt++) {
    const { ctx, conf, name } = await prepare(spec);
    const b = new Broker(name, ctx, conf);
    try {
      await b.waitForLog(RUNNING, { timeoutMs: spec.startTimeoutMs ?? 15000 });
      return b;
    } catch (e) {
      const portLost = /Address already in use/.test(b.log());
      await b.stop();
      if (portLost && attempt < 3) continue;
      throw e;
    }
  }
}

/**
 * Runs a broker whose start is expected to fail. Resolves with the exit status and log; throws
 * (after stopping it) if the broker comes up instead.
 */
export async function runBrokerExpectingExit(
  spec: BrokerSpec,
): Promise<ExitResult & { log: string; lines: string[]; describe: string }> {
  const { ctx, conf, name } = await prepare(spec);
  const b = new Broker(name, ctx, conf);
  const outcome = await Promise.race([
    b.exited.then(() => 'exited' as const),
    b.waitForLog(RUNNING, { timeoutMs: spec.startTimeoutMs ?? 15000 }).then(
      () => 'running' as const,
      () => (b.running ? ('hung' as const) : ('exited' as const)),
    ),
  ]);
  const describe = b.describe();
  if (outcome !== 'exited') {
    await b.stop();
    throw new Error(`${name}: broker ${outcome === 'running' ? 'started' : 'neither started nor exited'} although it should have refused to start\n${describe}`);
  }
  const res = await b.exited;
  await b.stop();
  return { ...res, log: b.log(), lines: b.lines(), describe };
}
