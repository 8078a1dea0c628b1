// Process helpers for the benchmark driver: spawning with line-wise output, /proc sampling,
// free loopback ports, medians.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { createInterface } from "node:readline";

/** A child process whose stdout+stderr lines are kept and can be awaited. */
export class Proc {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  /** Arrival time (process.hrtime.bigint) of each line. */
  readonly times: bigint[] = [];
  private waiters: { re: RegExp; resolve: (l: string) => void; from: number }[] = [];
  private exitCode: number | null = null;
  private exited: Promise<number>;

  constructor(cmd: string, args: string[], opts: { stdin?: boolean; env?: NodeJS.ProcessEnv } = {}) {
    this.child = spawn(cmd, args, {
      stdio: [opts.stdin ? "pipe" : "ignore", "pipe", "pipe"],
      env: opts.env ?? process.env,
    });
    for (const stream of [this.child.stdout, this.child.stderr]) {
      if (stream === null) continue;
      createInterface({ input: stream }).on("line", (l) => this.onLine(l));
    }
    this.exited = new Promise((resolve) => {
      this.child.on("exit", (code, signal) => {
        this.exitCode = code ?? (signal ? 128 : 1);
        resolve(this.exitCode);
      });
    });
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error("process did not start");
    return this.child.pid;
  }

  private onLine(l: string): void {
    this.times.push(process.hrtime.bigint());
    this.lines.push(l);
    const idx = this.lines.length - 1;
    this.waiters = this.waiters.filter((w) => {
      if (idx >= w.from && w.re.test(l)) {
        w.resolve(l);
        return false;
      }
      return true;
    });
  }

  /** Resolves with the first line (at or after line index `from`) matching `re`. */
  waitLine(re: RegExp, timeoutMs: number, from = 0): Promise<string> {
    for (let i = from; i < this.lines.length; i++) {
      if (re.test(this.lines[i])) return Promise.resolve(this.lines[i]);
    }
    return new Promise((resolve, reject) => {
      const w = { re, resolve: (l: string) => { clearTimeout(t); resolve(l); }, from };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`timeout waiting for ${re} from ${this.child.spawnfile}; last lines:\n  ` +
          this.lines.slice(-8).join("\n  ")));
      }, timeoutMs);
      this.waiters.push(w);
      void this.exited.then((code) => {
        if (this.waiters.includes(w)) {
          this.waiters = this.waiters.filter((x) => x !== w);
          clearTimeout(t);
          reject(new Error(`${this.child.spawnfile} exited (${code}) before ${re}; last lines:\n  ` +
            this.lines.slice(-8).join("\n  ")));
        }
      });
    });
  }

  write(s: string): void {
    this.child.stdin?.write(s);
  }

  endInput(): void {
    this.child.stdin?.end();
  }

  /** Waits for exit; sends `signal` first when given. Kills hard after `graceMs`. */
  async stop(signal: NodeJS.Signals | null = "SIGTERM", graceMs = 10000): Promise<number> {
    if (this.exitCode !== null) return this.exitCode;
    if (signal) this.child.kill(signal);
    const t = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    const code = await this.exited;
    clearTimeout(t);
    return code;
  }

  wait(): Promise<number> {
    return this.exited;
  }
}

/** Runs a command to completion; resolves with its stdout (rejects on non-zero exit). */
export async function run(cmd: string, args: string[], timeoutMs = 600000, env?: NodeJS.ProcessEnv): Promise<string> {
  const p = new Proc(cmd, args, { env });
  const t = setTimeout(() => p.child.kill("SIGKILL"), timeoutMs);
  const code = await p.wait();
  clearTimeout(t);
  if (code !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} exited ${code}:\n  ${p.lines.slice(-15).join("\n  ")}`);
  }
  return p.lines.join("\n");
}

/** CPU counters of a process: utime/stime in clock ticks (/proc/PID/stat), run time in ns
 * (/proc/PID/schedstat, main thread: mosquitto 2.0 is single-threaded). */
/** A broker configuration a benchmark runs: its mosquitto.conf lines and what it needs built. */
export interface BrokerConfig {
  key: string;
  label: string;
  /** This project's plugin (rather than a baseline). */
  ours: boolean;
  /** Files that must exist for it to run. */
  needs: string[];
  /** mosquitto.conf lines, given the run's directory. */
  conf(dir: string): string[];
  env?: NodeJS.ProcessEnv;
}

export interface CpuSample { utime: number; stime: number; runNs: number }

export function cpuSample(pid: number): CpuSample {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the parenthesised command name, which may itself contain spaces.
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const sched = readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ");
  return { utime: Number(f[11]), stime: Number(f[12]), runNs: Number(sched[0]) };
}

/** VmRSS of a process in kB. */
export function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : NaN;
}

/** A loopback port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      const port = typeof a === "object" && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export function median(xs: number[]): number {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
