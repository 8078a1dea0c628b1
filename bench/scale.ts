// `make bench-scale` (and a stage of `make bench`): how long a real broker takes to load many
// users and topic rules, and the memory they take, for mosquitto's password_file + acl_file,
// dynamic-security and the default policy (docs/BENCHMARKS.md "Scale").
//
// For each user count (--users, default 10000,100000,1000000) the data set of bench/users.ts
// (scaleData: passwd, acl with 2 topic rules per user, dynsec.json) is generated into
// <data-dir>/N/ from a fixed seed, or reused. Each configuration then starts a fresh
// /usr/sbin/mosquitto on a free loopback port; the figures of one start are:
//   load time  spawn until user000001 (password user000001) gets a successful CONNACK. The broker
//              opens its listeners only after its plugins and files are loaded, so connection
//              attempts are refused until then: they are repeated every --poll-ms.
//   RSS        the broker's VmRSS right after that login, minus the no-auth broker's measured the
//              same way in the same invocation (median of its runs).
//   login      the login worked and a wrong password was refused (CONNACK 5).
// A start that exits first reports its last log lines (a policy out of memory or fuel, a file
// over a cap); one that reaches no CONNACK within --timeout-s is killed and reported as a timeout
// (mosquitto's acl_file parse is quadratic in users), and is not retried in later runs.
// Runs are interleaved (run 1 of every configuration and count, then run 2, ...); counts listed in
// --runs-at get fewer runs (1,000,000 users: 1, by default).
//
// The default policy runs at the plugin's default caps, and, for the counts in DEFAULT_CAPS (or
// given with --opt), a second time with the caps raised by extra plugin_opt_ lines, which the
// table names.
import { closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { cpus, loadavg, release, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { Broker, freePort, type ConfigContext } from "../tests/harness/broker.js";
import { type Client, tryConnect, uniqueId } from "../tests/harness/mqtt.js";
import { cpuSample, median, rssKb, sleep } from "./proc.js";
import { scaleData, scaleUser, type ScaleData } from "./users.js";

const MOSQUITTO = "/usr/sbin/mosquitto";
const DYNSEC_SO = "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so";
/** The login that ends a load: a user with a real hash (scaleData), password = name. */
const LOGIN_USER = scaleUser(1);
const WRONG_PASSWORD = "not-the-password";
const REFUSED_V311 = 5;
const CLK_TCK = 100; // USER_HZ on Linux/x86-64 (getconf CLK_TCK)

function hwmKb(pid: number): number {
  const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : NaN;
}

/** MemAvailable, MB. */
function availableMb(): number {
  const m = /MemAvailable:\s+(\d+)/.exec(readFileSync("/proc/meminfo", "utf8"));
  return m ? Math.floor(Number(m[1]) / 1024) : NaN;
}

/** Caps raised for the default policy's second row, per user count. 100,000 users (200,000 topic
 * rules) load at the default caps (201 of the 256 pages; 1.6e9 of the 4e9 init fuel); 1,000,000
 * need 1,859 pages and 1.65e10 init fuel, and about 7 s of CPU for security_init, above the default
 * 10 s init timeout on a shared machine. The values leave room: 2,048 pages (128 MiB), 2.4 times
 * the fuel, a 120 s timeout (a cap is a ceiling: raising it further changes no timing). */
const DEFAULT_CAPS: Record<number, Record<string, string>> = {
  1000000: { wasm_max_memory_pages: "2048", wasm_init_fuel: "40000000000", wasm_init_timeout_ms: "120000" },
};
/** Counts that get fewer runs than --runs. */
const DEFAULT_RUNS_AT: Record<number, number> = { 1000000: 1 };

export interface ScaleArgs {
  build: string;
  plugin: string;
  defaultWasm: string;
  /** Where the data sets live: DIR/N/. */
  dataDir: string;
  /** Where scale.md and scale.json are written. */
  outDir: string;
  users: number[];
  runs: number;
  runsAt: Map<number, number>;
  timeoutS: number;
  /** A broker above this RSS before its login is killed: one machine's memory is shared. */
  maxRssMb: number;
  pollMs: number;
  seed: number;
  /** Extra plugin_opt_ lines of the default policy's raised-caps row, per user count. */
  caps: Map<number, Record<string, string>>;
  configs: string[];
}

export const SCALE_USAGE = `bench/scale.ts flags (make bench-scale BENCH_SCALE_ARGS="..."; make bench passes the same variable):
  --users N,N        user counts (default 10000,100000,1000000)
  --runs R           starts per configuration and count; medians are reported (default 3)
  --runs-at N:R      R runs at N users (default 1000000:1)
  --timeout-s S      longest wait for a broker to accept the login (default 120)
  --max-rss-mb MB    kill a broker whose RSS passes MB before the login (default: half of
                     MemAvailable at start)
  --opt N:KEY=VALUE  plugin_opt_KEY VALUE for the default policy's raised-caps row at N users
                     (replaces the built-in value of KEY; the row exists for every N given here
                     and for 1000000; N:none drops the row at N)
  --configs LIST     file,dynsec,wasm,wasm_caps (default all; the no-auth baseline always runs)
  --poll-ms MS       pause between connection attempts (default 10)
  --seed S           data set seed (default 1)
  --data-dir DIR     data sets (default BUILD/bench/scale)
  --build DIR, --plugin SO, --default-wasm F, --out-dir DIR (default BUILD/bench)`;

export function parseScaleArgs(argv: string[], base: { build?: string; plugin?: string; defaultWasm?: string } = {}): ScaleArgs {
  const a: ScaleArgs = {
    build: base.build ?? "build", plugin: base.plugin ?? "", defaultWasm: base.defaultWasm ?? "", dataDir: "", outDir: "",
    users: [10000, 100000, 1000000], runs: 3, runsAt: new Map(Object.entries(DEFAULT_RUNS_AT).map(([k, v]) => [Number(k), v])),
    timeoutS: 120, maxRssMb: Math.floor(availableMb() / 2), pollMs: 10, seed: 1,
    caps: new Map(Object.entries(DEFAULT_CAPS).map(([k, v]) => [Number(k), { ...v }])),
    configs: ["file", "dynsec", "wasm", "wasm_caps"],
  };
  const bad = (why: string): never => {
    throw new Error(`bench scale: ${why}\n${SCALE_USAGE}`);
  };
  const perN = (s: string): [number, string] => {
    const r = /^(\d+):(.+)$/.exec(s);
    if (!r) bad(`expected N:..., got ${s}`);
    return [Number((r as RegExpExecArray)[1]), (r as RegExpExecArray)[2]];
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = (): string => (i + 1 < argv.length ? argv[++i] : bad(`${k} needs a value`));
    switch (k) {
      case "--build": a.build = v(); break;
      case "--plugin": a.plugin = v(); break;
      case "--default-wasm": a.defaultWasm = v(); break;
      case "--data-dir": a.dataDir = v(); break;
      case "--out-dir": a.outDir = v(); break;
      case "--users": a.users = v().split(",").map(Number); break;
      case "--runs": a.runs = Number(v()); break;
      case "--runs-at": { const [n, r] = perN(v()); a.runsAt.set(n, Number(r)); break; }
      case "--timeout-s": a.timeoutS = Number(v()); break;
      case "--max-rss-mb": a.maxRssMb = Number(v()); break;
      case "--poll-ms": a.pollMs = Number(v()); break;
      case "--seed": a.seed = Number(v()); break;
      case "--configs": a.configs = v().split(",").filter((x) => x !== ""); break;
      case "--opt": {
        const [n, kv] = perN(v());
        if (kv === "none") {
          a.caps.set(n, {});
          break;
        }
        const m = /^([A-Za-z0-9_]+)=(.+)$/.exec(kv);
        if (!m) bad(`--opt wants N:KEY=VALUE, got ${kv}`);
        a.caps.set(n, { ...(a.caps.get(n) ?? {}), [(m as RegExpExecArray)[1]]: (m as RegExpExecArray)[2] });
        break;
      }
      default: bad(`unknown argument ${k}`);
    }
  }
  if (a.users.some((u) => !Number.isInteger(u) || u < 2)) bad("--users wants whole numbers >= 2 (user000001 logs in)");
  if (!(a.runs >= 1) || !(a.timeoutS > 0) || !(a.pollMs >= 0) || !(a.maxRssMb > 0)) {
    bad("--runs, --timeout-s, --max-rss-mb and --poll-ms must be positive");
  }
  for (const c of a.configs) if (!["file", "dynsec", "wasm", "wasm_caps"].includes(c)) bad(`unknown configuration ${c}`);
  // Absolute: every broker runs in its own directory.
  a.plugin = resolve(a.plugin || join(a.build, "mosquitto_wasm_auth.so"));
  a.defaultWasm = resolve(a.defaultWasm || join(a.build, "policies/default.wasm"));
  a.dataDir = resolve(a.dataDir || join(a.build, "bench/scale"));
  a.outDir = resolve(a.outDir || join(a.build, "bench"));
  return a;
}

// ---------------------------------------------------------------------------------------------
interface Config {
  key: string;
  label: string;
  /** Config lines after the listener; `dir` is the run's own directory. */
  conf(data: ScaleData, dir: string): string[];
}

function configsFor(a: ScaleArgs, users: number): Config[] {
  const policy = (d: ScaleData, extra: Record<string, string>): string[] => [
    "allow_anonymous false", `plugin ${a.plugin}`, `plugin_opt_wasm_module ${a.defaultWasm}`,
    `plugin_opt_password_file ${d.passwd}`, `plugin_opt_acl_file ${d.acl}`,
    ...Object.entries(extra).map(([k, v]) => `plugin_opt_${k} ${v}`),
  ];
  const caps = a.caps.get(users) ?? {};
  const all: Config[] = [
    { key: "file", label: "password_file + acl_file",
      conf: (d) => ["allow_anonymous false", `password_file ${d.passwd}`, `acl_file ${d.acl}`] },
    { key: "dynsec", label: "dynamic-security",
      conf: (d, dir) => {
        // The plugin rewrites its config file: each broker gets a copy (made before the clock starts).
        copyFileSync(d.dynsec, join(dir, "dynsec.json"));
        return ["allow_anonymous false", `plugin ${DYNSEC_SO}`, `plugin_opt_config_file ${join(dir, "dynsec.json")}`];
      } },
    { key: "wasm", label: "default policy (default caps)", conf: (d) => policy(d, {}) },
  ];
  if (Object.keys(caps).length) {
    all.push({ key: "wasm_caps", label: `default policy, caps raised: ${capsText(caps)}`, conf: (d) => policy(d, caps) });
  }
  return all.filter((c) => a.configs.includes(c.key));
}

function capsText(caps: Record<string, string>): string {
  return Object.entries(caps).map(([k, v]) => `\`${k} ${v}\``).join(", ");
}

const NOAUTH: Config = { key: "noauth", label: "no auth (baseline)", conf: () => ["allow_anonymous true"] };

// ---------------------------------------------------------------------------------------------
export interface StartResult {
  users: number;
  config: string;
  run: number;
  /** memory: killed for passing --max-rss-mb before it loaded. */
  outcome: "loaded" | "failed" | "timeout" | "memory";
  /** Spawn to the successful CONNACK (loaded), to the exit (failed), or to the kill. */
  ms: number;
  /** The broker's CPU time (user + system, all threads) at the same moment: what the load cost
   * apart from waiting for a CPU on a shared machine. */
  cpuMs: number;
  /** VmRSS at the login; for a start that did not load, the last sample before it ended. */
  rssKb: number;
  /** VmHWM: the most the broker held at any time up to the login (a parser's transient tree). */
  peakKb: number;
  loginOk: boolean;
  /** The wrong password was refused with CONNACK 5 (null: the configuration checks no password). */
  wrongRefused: boolean | null;
  /** The default policy's own count ("default policy: N users"), -1 when not logged. */
  policyUsers: number;
  /** Failed / timed out / refused: why, from the broker's log. */
  reason: string;
  lastLines: string[];
}

/** Log lines that say why a start failed; the broker's own banner and listener lines are noise. */
const REASON = /error|wasm-auth|default policy|out of memory|fuel|trapped|unable|refus|cap\b|denied|invalid/i;
/** Lines that follow every failed plugin load, whatever the cause: the cause is in an earlier line. */
const GENERIC = /Plugin returned \d+ when initialising|security_init returned 0 \(refused\)/;

function reasonOf(lines: string[]): { reason: string; lastLines: string[] } {
  const last = lines.slice(-12);
  const telling = last.filter((l) => REASON.test(l));
  const specific = telling.filter((l) => !GENERIC.test(l));
  return { reason: specific.at(-1) ?? telling.at(-1) ?? last.at(-1) ?? "(no log)", lastLines: telling.length ? telling : last };
}

/** One start; a start that lost its port to another process between freePort() and the
 * broker's bind is repeated on a new port. */
async function start(a: ScaleArgs, cfg: Config, data: ScaleData | null, users: number, run: number,
  runDir: string): Promise<StartResult> {
  for (let attempt = 1; ; attempt++) {
    const r = await startOnce(a, cfg, data, users, run, runDir);
    if (!r.portLost || attempt === 3) return r;
  }
}

async function startOnce(a: ScaleArgs, cfg: Config, data: ScaleData | null, users: number, run: number,
  runDir: string): Promise<StartResult & { portLost?: boolean }> {
  const dir = mkdtempSync(join(runDir, `${cfg.key}-${users}-`));
  const res: StartResult = {
    users, config: cfg.key, run, outcome: "failed", ms: NaN, cpuMs: NaN, rssKb: NaN, peakKb: NaN, loginOk: false, wrongRefused: null,
    policyUsers: -1, reason: "", lastLines: [],
  };
  const port = await freePort();
  const ctx: ConfigContext = { dir, port, ports: [port], file: (n) => join(dir, n) };
  const conf = [
    `listener ${port} 127.0.0.1`, "persistence false", "user root", "log_dest stderr", "log_timestamp false",
    // Not debug: nothing per client or per message, only what start-up and failures say.
    "log_type error", "log_type warning", "log_type notice", "log_type information",
    ...cfg.conf(data as ScaleData, dir),
  ].join("\n") + "\n";
  const t0 = performance.now();
  const broker = new Broker(`scale-${cfg.key}-${users}`, ctx, conf);
  const deadline = t0 + a.timeoutS * 1000;
  let client: Client | undefined;
  const pid = broker.pid;
  // Sampled while the broker runs: once it has exited, /proc has nothing left to read.
  const sample = (): void => {
    if (pid === undefined) return;
    try {
      const c = cpuSample(pid);
      res.cpuMs = ((c.utime + c.stime) * 1000) / CLK_TCK;
      res.rssKb = rssKb(pid);
      res.peakKb = hwmKb(pid);
    } catch {
      // Gone between the check and the read.
    }
  };
  try {
    for (;;) {
      if (!broker.running) {
        await broker.exited;
        res.ms = performance.now() - t0;
        Object.assign(res, reasonOf(broker.lines()));
        return { ...res, portLost: /Address already in use/.test(broker.log()) };
      }
      sample();
      if (res.rssKb > a.maxRssMb * 1024) {
        res.outcome = "memory";
        res.ms = performance.now() - t0;
        res.lastLines = reasonOf(broker.lines()).lastLines;
        res.reason = `killed at ${(res.rssKb / 1024).toFixed(0)} MB RSS, above --max-rss-mb ${a.maxRssMb}`;
        return res;
      }
      const left = deadline - performance.now();
      if (left <= 0) {
        res.outcome = "timeout";
        res.ms = a.timeoutS * 1000;
        res.lastLines = reasonOf(broker.lines()).lastLines;
        res.reason = `no CONNACK within ${a.timeoutS} s`;
        return res;
      }
      const r = await tryConnect({ port, username: LOGIN_USER, password: LOGIN_USER, clientId: uniqueId("scale"),
        timeoutMs: Math.max(100, Math.min(left, 5000)) });
      if (r.ok) {
        res.ms = performance.now() - t0;
        client = r.client;
        break;
      }
      if (r.code > 0) {
        // The broker answered and refused the right password: loaded, but wrong.
        res.ms = performance.now() - t0;
        Object.assign(res, reasonOf(broker.lines()));
        res.reason = `login refused (CONNACK ${r.code}); ${res.reason}`;
        return res;
      }
      await sleep(a.pollMs);
    }
    res.outcome = "loaded";
    res.loginOk = true;
    sample();
    if (cfg.key !== "noauth") {
      const w = await tryConnect({ port, username: LOGIN_USER, password: WRONG_PASSWORD, clientId: uniqueId("scale") });
      if (w.ok) await w.client.end();
      res.wrongRefused = !w.ok && w.code === REFUSED_V311;
    }
    const counted = broker.lines().map((l) => /default policy: (\d+) users/.exec(l)).find((m) => m !== null);
    if (counted) res.policyUsers = Number(counted[1]);
    return res;
  } finally {
    if (client) await client.end().catch(() => undefined);
    // SIGKILL: a broker still parsing its files handles no SIGTERM until its main loop runs.
    broker.killNow();
    // The harness unrefs the broker's process: a timer keeps Node alive until it is gone.
    const hold = setTimeout(() => undefined, 60000);
    await broker.exited;
    clearTimeout(hold);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Reads the files once, so that the first configuration to start pays no more for a cold page
 * cache than the others. */
function warmCache(files: string[]): void {
  const buf = new Uint8Array(1 << 20);
  for (const f of files) {
    const fd = openSync(f, "r");
    try {
      while (readSync(fd, buf, 0, buf.length, null) > 0) { /* reading is the point */ }
    } finally {
      closeSync(fd);
    }
  }
}

// ---------------------------------------------------------------------------------------------
export interface ScaleRow {
  users: number; config: string; label: string;
  /** Every start of this row, in run order. */
  starts: StartResult[];
  loaded: number;
  /** Medians over the starts that loaded. */
  load_ms: number; cpu_ms: number; rss_kb: number; rss_added_kb: number; peak_kb: number;
  login_ok: boolean; wrong_refused: boolean | null;
  /** The users the default policy said it read ("default policy: N users"), when it differs from
   * the data set's count in a run that loaded; -1 otherwise. */
  policy_users_mismatch: number;
  /** The last start that did not load: how it ended and why. */
  stop: { outcome: StartResult["outcome"]; ms: number; cpu_ms: number; reason: string; last_lines: string[] } | null;
  /** password_file + acl_file's load time / this row's (null: not comparable); `lower_bound`:
   * acl_file did not load within its limit, so the true ratio is above the value. */
  load_vs_file: { value: number; lower_bound: boolean } | null;
  rss_added_vs_file: number;
}

export interface ScaleResults {
  machine: Record<string, unknown>;
  params: Record<string, unknown>;
  data: { users: number; dir: string; generated: boolean; gen_s: number; bytes: Record<string, number> }[];
  noauth: ScaleRow;
  rows: ScaleRow[];
  wall_s: number;
}

function machine(): Record<string, unknown> {
  const help = spawnSync(MOSQUITTO, ["-h"], { encoding: "utf8" });
  const git = spawnSync("git", ["describe", "--always", "--dirty"], { encoding: "utf8" });
  return {
    cpu: cpus()[0]?.model ?? "?", cores: cpus().length, kernel: release(), mem_gb: Math.round(totalmem() / 2 ** 30),
    mosquitto: /mosquitto version (\S+)/.exec(`${help.stdout}${help.stderr}`)?.[1] ?? "?",
    date: new Date().toISOString(), commit: git.status === 0 ? git.stdout.trim() : "?",
    loadavg_start: loadavg().map((x) => x.toFixed(2)).join(" "),
  };
}

function summarise(users: number, cfg: Config, starts: StartResult[], baseRssKb: number): ScaleRow {
  const ok = starts.filter((s) => s.outcome === "loaded");
  const last = starts.filter((s) => s.outcome !== "loaded").at(-1);
  const rss = median(ok.map((s) => s.rssKb));
  return {
    users, config: cfg.key, label: cfg.label, starts, loaded: ok.length,
    load_ms: median(ok.map((s) => s.ms)), cpu_ms: median(ok.map((s) => s.cpuMs)), rss_kb: rss, rss_added_kb: rss - baseRssKb,
    peak_kb: median(ok.map((s) => s.peakKb)),
    login_ok: ok.length > 0 && ok.every((s) => s.loginOk),
    wrong_refused: ok.length === 0 || cfg.key === "noauth" ? null : ok.every((s) => s.wrongRefused === true),
    policy_users_mismatch: ok.find((s) => s.policyUsers >= 0 && s.policyUsers !== users)?.policyUsers ?? -1,
    stop: last ? { outcome: last.outcome, ms: last.ms, cpu_ms: last.cpuMs, reason: last.reason, last_lines: last.lastLines } : null,
    load_vs_file: null, rss_added_vs_file: NaN,
  };
}

export async function benchScale(a: ScaleArgs, log: (s: string) => void): Promise<ScaleResults> {
  const t0 = Date.now();
  const runDir = join(a.outDir, "run");
  mkdirSync(runDir, { recursive: true });
  const m0 = machine();
  const data = new Map<number, ScaleData>();
  const dataInfo: ScaleResults["data"] = [];
  for (const n of a.users) {
    const g0 = performance.now();
    const d = scaleData(join(a.dataDir, String(n)), n, a.seed);
    const genS = (performance.now() - g0) / 1000;
    log(`scale: ${n} users: data ${d.generated ? `generated in ${genS.toFixed(1)} s` : "reused"} (${d.dir})`);
    dataInfo.push({ users: n, dir: d.dir, generated: d.generated, gen_s: genS,
      bytes: { passwd: statSync(d.passwd).size, acl: statSync(d.acl).size, dynsec: statSync(d.dynsec).size } });
    data.set(n, d);
  }
  const runsFor = (n: number): number => Math.min(a.runs, a.runsAt.get(n) ?? a.runs);
  // A start that hit the time or memory limit would hit it again: not retried.
  const givenUp = new Set<string>();
  const starts: StartResult[] = [];
  const report = (r: StartResult): void => {
    const cpu = `CPU ${(r.cpuMs / 1000).toFixed(2)} s`;
    const what = r.outcome === "loaded"
      ? `loaded in ${(r.ms / 1000).toFixed(2)} s (${cpu}), RSS ${(r.rssKb / 1024).toFixed(1)} MB (peak ${(r.peakKb / 1024).toFixed(1)}), ` +
        `wrong password ${r.wrongRefused === null ? "not checked" : r.wrongRefused ? "refused" : "ACCEPTED"}`
      : `${r.outcome.toUpperCase()} after ${(r.ms / 1000).toFixed(2)} s (${cpu}): ${r.reason}`;
    log(`scale: run ${r.run} ${r.users} users ${r.config}: ${what}`);
  };
  const maxRuns = Math.max(...a.users.map(runsFor));
  for (let run = 1; run <= maxRuns; run++) {
    const nr = await start(a, NOAUTH, null, 0, run, runDir);
    starts.push(nr);
    report(nr);
    for (const n of a.users) {
      if (run > runsFor(n)) continue;
      const d = data.get(n) as ScaleData;
      warmCache([d.passwd, d.acl, d.dynsec]);
      for (const cfg of configsFor(a, n)) {
        if (givenUp.has(`${n}/${cfg.key}`)) continue;
        const r = await start(a, cfg, d, n, run, runDir);
        starts.push(r);
        report(r);
        if (r.outcome === "timeout" || r.outcome === "memory") givenUp.add(`${n}/${cfg.key}`);
      }
    }
  }

  const noauth = summarise(0, NOAUTH, starts.filter((s) => s.config === "noauth"), NaN);
  noauth.rss_added_kb = 0;
  const rows: ScaleRow[] = [];
  for (const n of a.users) {
    const group = configsFor(a, n).map((cfg) => summarise(n, cfg, starts.filter((s) => s.users === n && s.config === cfg.key), noauth.rss_kb));
    const file = group.find((r) => r.config === "file");
    for (const r of group) {
      if (!file || r.loaded === 0) continue;
      if (file.loaded > 0) r.load_vs_file = { value: file.load_ms / r.load_ms, lower_bound: false };
      else if (file.stop && file.stop.outcome !== "failed") r.load_vs_file = { value: file.stop.ms / r.load_ms, lower_bound: true };
      r.rss_added_vs_file = r.rss_added_kb / file.rss_added_kb;
    }
    rows.push(...group);
  }
  m0.loadavg_end = loadavg().map((x) => x.toFixed(2)).join(" ");
  return {
    machine: m0, params: { ...a, runsAt: Object.fromEntries(a.runsAt), caps: Object.fromEntries(a.caps) },
    data: dataInfo, noauth, rows, wall_s: (Date.now() - t0) / 1000,
  };
}

// ---------------------------------------------------------------------------------------------
const int = (x: number): string => x.toLocaleString("en-US");

function seconds(ms: number): string {
  const s = ms / 1000;
  return !Number.isFinite(s) ? "-" : s >= 100 ? s.toFixed(0) : s >= 10 ? s.toFixed(1) : s >= 1 ? s.toFixed(2) : s.toFixed(3);
}

function ratio(x: number): string {
  return !Number.isFinite(x) ? "-" : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

const mb = (kb: number): string => (Number.isFinite(kb) ? (kb / 1024).toFixed(1) : "-");
/** A log line as code; paths inside the checkout (make runs from its root) are shown relative. */
const code = (s: string): string => `\`${s.split(`${process.cwd()}/`).join("").replace(/`/g, "'")}\``;

/** The load-time cell: the median and every run, or how the row ended when no run loaded. */
function loadCell(row: ScaleRow): string {
  const each = row.starts.map((s) => (s.outcome === "loaded" ? seconds(s.ms) : s.outcome === "failed" ? "failed" : s.outcome));
  if (row.loaded > 0) return `**${seconds(row.load_ms)}** (${each.join(", ")})`;
  const stop = row.stop;
  if (!stop) return "not run";
  if (stop.outcome === "timeout") return `> ${seconds(stop.ms)} s (timeout)`;
  if (stop.outcome === "memory") return `killed after ${seconds(stop.ms)} s (memory)`;
  return `failed after ${seconds(stop.ms)} s`;
}

/** CPU of the loads; for a row killed at a limit, what the broker had used by then (on a shared
 * machine, less than the wall time says). */
function cpuCell(row: ScaleRow): string {
  if (row.loaded > 0) return seconds(row.cpu_ms);
  return row.stop && row.stop.outcome !== "failed" ? `${seconds(row.stop.cpu_ms)} by then` : "-";
}

function loginCell(row: ScaleRow): string {
  const stop = row.stop;
  if (row.loaded > 0) {
    const wrong = row.wrong_refused === null ? "-" : row.wrong_refused ? "yes" : "**no**";
    const some = stop ? `; ${row.starts.length - row.loaded} of ${row.starts.length} runs did not load: ${code(stop.reason)}` : "";
    const read = row.policy_users_mismatch >= 0 ? `; **the policy read ${int(row.policy_users_mismatch)} users**` : "";
    return `${row.login_ok ? "yes" : "**no**"} / ${wrong}${some}${read}`;
  }
  if (!stop) return "-";
  return stop.outcome === "failed" ? `**no**: ${code(stop.reason)}` : `- (${stop.reason})`;
}

export function scaleMarkdown(r: ScaleResults, command: string): string {
  const m = r.machine;
  const md: string[] = [];
  md.push(`Machine: ${String(m.cpu)}, ${String(m.cores)} cores, ${String(m.mem_gb)} GB, Linux ${String(m.kernel)}, ` +
    `mosquitto ${String(m.mosquitto)}, ${String(m.date)}, tree ${String(m.commit)}; load average ${String(m.loadavg_start)} ` +
    `at start, ${String(m.loadavg_end)} at end; ${Math.round(r.wall_s)} s.`, "");
  md.push("```", command, "```", "");
  md.push("| users | configuration | load time, s (median; runs) | broker CPU, s | RSS added, MB | " +
    "login ok / wrong password refused | acl_file load time / this | RSS added, this / acl_file |");
  md.push("|---:|---|---:|---:|---:|---|---:|---:|");
  const b = r.noauth;
  md.push(`| - | ${b.label} | ${loadCell(b)} | ${cpuCell(b)} | 0 (RSS ${mb(b.rss_kb)}) | ${loginCell(b)} | - | - |`);
  const notes: string[] = [];
  for (const row of r.rows) {
    const lr = row.load_vs_file;
    md.push(`| ${int(row.users)} | ${row.label} | ${loadCell(row)} | ${cpuCell(row)} | ` +
      `${row.loaded ? mb(row.rss_added_kb) : "-"} | ${loginCell(row)} | ` +
      `${lr ? `${lr.lower_bound ? "> " : ""}${ratio(lr.value)}` : "-"} | ${ratio(row.rss_added_vs_file)} |`);
    if (row.stop?.outcome === "failed") {
      notes.push(`- ${int(row.users)} users, ${row.label}:`, ...row.stop.last_lines.slice(-4).map((l) => `  ${code(l)}`));
    }
  }
  if (notes.length) md.push("", "The broker's last lines, where a configuration did not load:", "", ...notes);
  md.push("", "Data: " + r.data.map((d) => `${int(d.users)} users: ${(Object.values(d.bytes).reduce((x, y) => x + y, 0) / 2 ** 20).toFixed(0)} MB ` +
    `(passwd ${(d.bytes.passwd / 2 ** 20).toFixed(1)}, acl ${(d.bytes.acl / 2 ** 20).toFixed(1)}, dynsec.json ${(d.bytes.dynsec / 2 ** 20).toFixed(1)})` +
    `${d.generated ? `, generated in ${d.gen_s.toFixed(1)} s` : ", reused"}`).join("; ") +
    `; seed ${String(r.params.seed)}.`);
  return md.join("\n") + "\n";
}

/** A command line as it would be typed: arguments with spaces or quotes are single-quoted. */
export function shellLine(argv: string[]): string {
  return argv.map((x) => (/^[\w@%+=:,./-]+$/.test(x) ? x : `'${x.replace(/'/g, "'\\''")}'`)).join(" ");
}

export function writeScale(r: ScaleResults, outDir: string, command: string): string {
  const md = scaleMarkdown(r, command);
  writeFileSync(join(outDir, "scale.json"), JSON.stringify(r, null, 2) + "\n");
  writeFileSync(join(outDir, "scale.md"), md);
  return md;
}

// ---------------------------------------------------------------------------------------------
async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes("-h") || argv.includes("--help")) {
    console.log(SCALE_USAGE);
    return;
  }
  const a = parseScaleArgs(argv);
  const log = (s: string): void => void process.stderr.write(`[bench-scale] ${s}\n`);
  const r = await benchScale(a, log);
  console.log(writeScale(r, a.outDir, shellLine(["node", "build/js/bench/scale.js", ...argv])));
  log(`wrote ${join(a.outDir, "scale.md")} and ${join(a.outDir, "scale.json")}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
