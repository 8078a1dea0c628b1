// `make bench-reload`: a bystander's publish round trip while a real broker reloads the default
// policy (SIGHUP) with a large password_file + acl_file (docs/BENCHMARKS.md "Reload under load").
//
// For each user count (--users, default 10000,100000) and build ("after" = --build, this
// checkout; "before" = --base-build, the previous release, skipped when not given): start
// /usr/sbin/mosquitto with the build's plugin and default.wasm, wait for the first load, connect
// a bystander (MQTT 5) that publishes QoS 1 to a topic it is subscribed to, back to back
// (tests/harness/bystander.ts), send SIGHUP, wait for the reload to end (at most --timeout-s),
// probe --tail-ms more, and record over [SIGHUP, end + tail]: the slowest and the median round
// trip, the reload time (SIGHUP to the completion line), and whether the log shows a trap.
// --runs rounds, interleaved (every round runs every configuration); the table shows medians.
//
// Completion lines:
//   after:  "wasm-auth: reloaded policy FILE" (put in service at a main-loop tick) or
//           "wasm-auth: reload of FILE failed, keeping the previous policy: ..."
//   before: the policy's own "default policy: N users" (the reload ran synchronously on the
//           main thread; after a trapped security_init the instance is re-created on the next
//           request, and that prints the line), or a failure line.
// Broker.sighup() waits for the after build's line, so the signal is sent here directly.
//
// The broker's main thread and this process's are sampled (/proc/.../schedstat, every ~2 ms)
// to say, for the slowest probe, whether the broker was computing, waiting for a CPU, or the
// prober itself was descheduled. BENCH_RELOAD_DEBUG=1 also lists each run's five slowest probes.
//
// Data: "$7$" lines (PBKDF2-SHA512, 101 iterations, 12-byte salt, as mosquitto_passwd writes),
// two acl_file rules per user, as tests/integration/availability.test.ts test 9; generated once
// per user count into a temp dir shared by the runs.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { type Broker, listener, pluginConf, startBroker } from "../tests/harness/broker.js";
import { Prober } from "../tests/harness/bystander.js";
import { type Client, connect, uniqueId } from "../tests/harness/mqtt.js";
import { median, sleep } from "./proc.js";
import { passwdLine } from "./users.js";

interface Args {
  build: string;
  plugin: string;
  defaultWasm: string;
  baseBuild: string;
  users: number[];
  runs: number;
  timeoutS: number;
  tailMs: number;
  /** Options for every broker of both builds, per user count (after the defaults below). */
  opts: Map<number, Record<string, string>>;
  /** Options for the after build only (e.g. wasm_init_timeout_ms, which before does not know). */
  afterOpts: Map<number, Record<string, string>>;
}

/** Caps per user count, the same for both builds (see docs/BENCHMARKS.md "Reload under load"): the defaults. */
const DEFAULT_OPTS: Record<number, Record<string, string>> = {
  10000: {},
  100000: {},
};
const DEFAULT_AFTER_OPTS: Record<number, Record<string, string>> = {
  10000: {},
  100000: {},
};

function usage(): never {
  console.error(`usage: node build/js/bench/reload.js [--build DIR] [--plugin SO] [--default-wasm F] [--base-build DIR] [--users N,N]
       [--runs N] [--timeout-s S] [--tail-ms MS] [--opt USERS:KEY=VALUE]... [--after-opt USERS:KEY=VALUE]...
  --build DIR        the build measured as "after" (default build)
  --plugin SO        the after build's plugin (default DIR/mosquitto_wasm_auth.so)
  --default-wasm F   the after build's default policy (default DIR/policies/default.wasm)
  --base-build DIR   the previous release's build, measured as "before" (default: none, rows skipped)
  --users N,N        user counts (default 10000,100000)
  --runs N           rounds (default 3); medians are reported
  --timeout-s S      longest wait for a reload to end (default 120)
  --tail-ms MS       probing after the reload ended (default 1000)
  --opt U:K=V        plugin_opt_K V for both builds at U users (replaces the default caps for that K)
  --after-opt U:K=V  the same, after build only (e.g. wasm_init_timeout_ms)`);
  process.exit(2);
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    build: "build", plugin: "", defaultWasm: "", baseBuild: "", users: [10000, 100000], runs: 3, timeoutS: 120, tailMs: 1000,
    opts: new Map(), afterOpts: new Map(),
  };
  const optInto = (m: Map<number, Record<string, string>>, s: string): void => {
    const r = /^(\d+):([A-Za-z0-9_]+)=(.*)$/.exec(s);
    if (!r) usage();
    const u = Number(r[1]);
    if (!m.has(u)) m.set(u, {});
    (m.get(u) as Record<string, string>)[r[2]] = r[3];
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = (): string => {
      if (i + 1 >= argv.length) usage();
      return argv[++i];
    };
    switch (k) {
      case "--build": a.build = v(); break;
      case "--plugin": a.plugin = v(); break;
      case "--default-wasm": a.defaultWasm = v(); break;
      case "--base-build": a.baseBuild = v(); break;
      case "--users": a.users = v().split(",").map(Number); break;
      case "--runs": a.runs = Number(v()); break;
      case "--timeout-s": a.timeoutS = Number(v()); break;
      case "--tail-ms": a.tailMs = Number(v()); break;
      case "--opt": optInto(a.opts, v()); break;
      case "--after-opt": optInto(a.afterOpts, v()); break;
      case "-h": case "--help": usage();
      // falls through (usage exits)
      default: console.error(`unknown argument ${k}`); usage();
    }
  }
  if (a.users.some((u) => !Number.isInteger(u) || u < 1) || !(a.runs >= 1)) usage();
  return a;
}

const args = parseArgs(process.argv.slice(2));

interface BuildUnderTest {
  name: "before" | "after";
  so: string;
  wasm: string;
  /** The line that ends a reload (searched from the SIGHUP on). */
  done: RegExp;
}

const FAIL = /wasm-auth: reload of .* failed|re-creating the (policy instance|instance of .*) failed|cannot load policy/;
const builds: BuildUnderTest[] = [];
{
  const dir = resolve(args.build);
  builds.push({
    name: "after", so: resolve(args.plugin || join(dir, "mosquitto_wasm_auth.so")),
    wasm: resolve(args.defaultWasm || join(dir, "policies/default.wasm")),
    done: new RegExp(`wasm-auth: reloaded policy |${FAIL.source}`),
  });
}
if (args.baseBuild) {
  const dir = resolve(args.baseBuild);
  builds.unshift({
    name: "before", so: join(dir, "mosquitto_wasm_auth.so"), wasm: join(dir, "policies/default.wasm"),
    done: new RegExp(`default policy: \\d+ users|${FAIL.source}`),
  });
}
for (const b of builds) {
  for (const f of [b.so, b.wasm]) if (!existsSync(f)) throw new Error(`${b.name}: ${f} is missing`);
}

function log(s: string): void {
  process.stderr.write(`[bench-reload] ${s}\n`);
}

/** `users` users (+ the bystander), two acl_file rules each (+ the bystander's). */
function writeData(dir: string, users: number): { passwd: string; acl: string } {
  const pw = [passwdLine("bystander", "by-pw")];
  const acl = ["user bystander", "topic readwrite by/#", ""];
  for (let i = 0; i < users; i++) {
    pw.push(passwdLine(`u${i}`, `pw${i}`));
    acl.push(`user u${i}`, `topic readwrite u${i}/#`, `topic read shared/u${i}/+`, "");
  }
  const passwd = join(dir, "passwd");
  const aclFile = join(dir, "acl");
  writeFileSync(passwd, pw.join("\n") + "\n");
  writeFileSync(aclFile, acl.join("\n"));
  return { passwd, acl: aclFile };
}

interface Result {
  build: string;
  users: number;
  run: number;
  /** SIGHUP to the completion line, ms. */
  reloadMs: number;
  /** Probes completed in [SIGHUP, end + tail] (an abandoned one counts with its wait). */
  probes: number;
  maxMs: number;
  p50Ms: number;
  trapped: boolean;
  failed: boolean;
  /** The "default policy: N users" count after the SIGHUP (-1 if none). */
  loadedUsers: number;
  /** Trap / failure lines after the SIGHUP. */
  notes: string[];
  initialLoadMs: number;
  /** The slowest probe's start and end, ms after the SIGHUP. */
  maxAtMs: [number, number];
  /** During the slowest probe (bracketing samples): ms the broker's main thread spent on a CPU,
   * ms it was runnable but waiting for one, and ms the prober's (node's) main thread waited. */
  slowest: { mainRun: number; mainWait: number; nodeWait: number };
}

/** run_time and wait_time (runnable, not running) of one thread, ns (/proc/.../schedstat). */
function schedstat(pid: number, tid: number): [number, number] {
  try {
    const f = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ");
    return [Number(f[0]), Number(f[1])];
  } catch {
    return [NaN, NaN];
  }
}

interface Sample { t: number; main: [number, number]; node: [number, number] }

/** Samples the broker's main thread and our own every ~2 ms, to tell a busy or descheduled
 * broker from a descheduled prober for the slowest probe. */
class SchedSampler {
  readonly samples: Sample[] = [];
  private timer: NodeJS.Timeout;
  constructor(private readonly pid: number) {
    this.take();
    this.timer = setInterval(() => this.take(), 2);
  }
  private take(): void {
    this.samples.push({ t: performance.now(), main: schedstat(this.pid, this.pid), node: schedstat(process.pid, process.pid) });
  }
  stop(): void {
    clearInterval(this.timer);
    this.take();
  }
  /** Deltas (ms) over the smallest sampled interval containing [t0, t1]. */
  over(t0: number, t1: number): { mainRun: number; mainWait: number; nodeWait: number } {
    let a = this.samples[0];
    let b = this.samples[this.samples.length - 1];
    for (const x of this.samples) if (x.t <= t0) a = x;
    for (let i = this.samples.length - 1; i >= 0; i--) if (this.samples[i].t >= t1) b = this.samples[i];
    return {
      mainRun: (b.main[0] - a.main[0]) / 1e6, mainWait: (b.main[1] - a.main[1]) / 1e6, nodeWait: (b.node[1] - a.node[1]) / 1e6,
    };
  }
}

async function once(b: BuildUnderTest, users: number, data: { passwd: string; acl: string }, run: number): Promise<Result> {
  const opts: Record<string, string> = {
    password_file: data.passwd,
    acl_file: data.acl,
    ...(DEFAULT_OPTS[users] ?? {}),
    ...(args.opts.get(users) ?? {}),
    ...(b.name === "after" ? { ...(DEFAULT_AFTER_OPTS[users] ?? {}), ...(args.afterOpts.get(users) ?? {}) } : {}),
  };
  const t0 = performance.now();
  let broker: Broker;
  try {
    broker = await startBroker({
      name: `reload-${b.name}-${users}`,
      config: (ctx) => [listener(ctx.port), "allow_anonymous false", pluginConf({ so: b.so, module: b.wasm, opts })].join("\n"),
      startTimeoutMs: args.timeoutS * 1000 * 3,
    });
  } catch (e) {
    // The harness's message holds the config and the whole log: keep the first and the plugin's lines.
    const lines = (e as Error).message.split("\n");
    const plugin = [...new Set(lines.filter((l) => /^wasm-auth|default policy/.test(l)))];
    throw new Error(`${b.name} ${users} users run ${run}: ${lines[0]}\n  ${plugin.join("\n  ")}`);
  }
  let client: Client | undefined;
  let prober: Prober | undefined;
  let sampler: SchedSampler | undefined;
  try {
    const first = await broker.waitForLog(/default policy: (\d+) users/, { timeoutMs: args.timeoutS * 1000 });
    const initialLoadMs = performance.now() - t0;
    if (Number(first[1]) !== users + 1) throw new Error(`first load read ${first[1]} users, not ${users + 1}`);
    client = await connect({ port: broker.port, version: 5, username: "bystander", password: "by-pw", clientId: uniqueId("bystander") });
    const topic = `by/${uniqueId("t")}`;
    const granted = await client.subscribe(topic, 1);
    if (granted[0] !== 1) throw new Error(`bystander subscription refused: ${granted}`);
    prober = new Prober(client, topic, args.timeoutS * 1000 * 2);
    // When each probe completed (the Prober keeps round trips only): to place the slowest one.
    const ends: number[] = [];
    const rttsOf = prober.rtts;
    const push = rttsOf.push.bind(rttsOf);
    rttsOf.push = (...xs: number[]): number => {
      for (let i = 0; i < xs.length; i++) ends.push(performance.now());
      return push(...xs);
    };
    prober.start();
    await prober.until(50);
    await sleep(200);
    // The probe in flight at the signal is counted: it is the first one the reload can hold.
    const from = prober.rtts.length;
    const since = broker.mark();
    const pid = broker.pid;
    if (pid === undefined) throw new Error("broker has no pid");
    sampler = new SchedSampler(pid);
    const tHup = performance.now();
    process.kill(pid, "SIGHUP");
    const m = await broker.waitForLog(b.done, { since, timeoutMs: args.timeoutS * 1000 });
    const reloadMs = performance.now() - tHup;
    const failed = FAIL.test(m[0]);
    await sleep(args.tailMs);
    const summary = await prober.stop(args.timeoutS * 1000);
    sampler.stop();
    prober = undefined;
    const rtts = summary.rtts.slice(from);
    let iMax = 0;
    for (let i = 1; i < rtts.length; i++) if (rtts[i] > rtts[iMax]) iMax = i;
    const maxEnd = ends[from + iMax] - tHup;
    const slow = rtts.map((r, i) => ({ r, end: ends[from + i] - tHup })).filter((x) => x.r >= 10)
      .sort((x, y) => y.r - x.r).slice(0, 5).map((x) => `${fmtMs(x.r)}@+${fmtMs(x.end - x.r)}`);
    if (process.env.BENCH_RELOAD_DEBUG) log(`  slow probes (ms@start): ${slow.join(" ")}; done at +${fmtMs(reloadMs)}`);
    const after = broker.lines(since);
    const loaded = after.map((l) => /default policy: (\d+) users/.exec(l)).find((x) => x !== null);
    const notes = after.filter((l) => /trapped|out of memory|failed|fuel|did not finish/i.test(l));
    return {
      build: b.name, users, run, reloadMs, probes: rtts.length,
      maxMs: rtts.length ? rtts[iMax] : NaN,
      p50Ms: median(rtts),
      trapped: after.some((l) => /trapped/.test(l)),
      failed, loadedUsers: loaded ? Number(loaded[1]) : -1, notes, initialLoadMs,
      maxAtMs: [maxEnd - rtts[iMax], maxEnd],
      slowest: sampler.over(tHup + maxEnd - rtts[iMax], tHup + maxEnd),
    };
  } catch (e) {
    const msg = (e as Error).message.split("\n")[0];
    const tail = broker.lines().filter((l) => /wasm-auth|default policy/.test(l)).slice(-8);
    throw new Error(`${b.name} ${users} users run ${run}: ${msg}\n  ${tail.join("\n  ")}`);
  } finally {
    sampler?.stop();
    if (prober) await prober.stop(1000).catch(() => undefined);
    if (client) await client.end().catch(() => undefined);
    const t = setTimeout(() => broker.killNow(), 30000);
    await broker.stop();
    clearTimeout(t);
  }
}

function fmtMs(x: number): string {
  if (!Number.isFinite(x)) return "-";
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

async function main(): Promise<void> {
  if (!args.baseBuild) log('no --base-build: the "before" rows are skipped');
  log(`${cpus().length} CPUs, load average ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
  const results: Result[] = [];
  const errors: string[] = [];
  const tmp = mkdtempSync(join(tmpdir(), "wa-bench-reload-"));
  try {
    const data = new Map<number, { passwd: string; acl: string }>();
    for (const u of args.users) {
      const t = performance.now();
      data.set(u, writeData(mkdtempSync(join(tmp, `${u}-`)), u));
      log(`data for ${u} users written in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    }
    for (let run = 1; run <= args.runs; run++) {
      for (const u of args.users) {
        for (const b of builds) {
          try {
            const r = await once(b, u, data.get(u) as { passwd: string; acl: string }, run);
            results.push(r);
            log(`run ${run} ${b.name} ${u} users: reload ${fmtMs(r.reloadMs)} ms, max ${fmtMs(r.maxMs)} ms, ` +
              `p50 ${fmtMs(r.p50Ms)} ms, ${r.probes} probes, slowest from +${fmtMs(r.maxAtMs[0])} to +${fmtMs(r.maxAtMs[1])} ms ` +
              `(broker main thread on CPU ${fmtMs(r.slowest.mainRun)}, waiting for CPU ${fmtMs(r.slowest.mainWait)}, ` +
              `prober waiting for CPU ${fmtMs(r.slowest.nodeWait)}), ` +
              `users read ${r.loadedUsers}, ` +
              `initial load ${fmtMs(r.initialLoadMs)} ms${r.trapped ? ", TRAP" : ""}${r.failed ? ", FAILED" : ""}`);
            for (const n of r.notes) log(`    ${n}`);
          } catch (e) {
            errors.push((e as Error).message);
            log(`ERROR ${(e as Error).message}`);
          }
        }
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }

  const caps = (u: number, b: string): string => {
    const o = { ...(DEFAULT_OPTS[u] ?? {}), ...(args.opts.get(u) ?? {}),
      ...(b === "after" ? { ...(DEFAULT_AFTER_OPTS[u] ?? {}), ...(args.afterOpts.get(u) ?? {}) } : {}) };
    const s = Object.entries(o).map(([k, v]) => `${k}=${v}`).join(" ");
    return s || "defaults";
  };
  const out: string[] = [];
  out.push(`| users | build | max round trip, ms (median; runs) | p50, ms | reload, ms (median) | probes | trap | ` +
    `slowest probe of the median run: broker main thread on CPU / waiting for CPU / prober waiting, ms | caps |`);
  out.push(`|---:|---|---:|---:|---:|---:|---|---|---|`);
  const med = new Map<string, number>();
  for (const u of args.users) {
    for (const b of builds) {
      const rs = results.filter((r) => r.users === u && r.build === b.name);
      if (rs.length === 0) {
        out.push(`| ${u.toLocaleString("en-US")} | ${b.name} | no result | | | | | | ${caps(u, b.name)} |`);
        continue;
      }
      const mx = median(rs.map((r) => r.maxMs));
      med.set(`${b.name}/${u}`, mx);
      const trap = rs.filter((r) => r.trapped).length;
      const mid = [...rs].sort((x, y) => x.maxMs - y.maxMs)[(rs.length - 1) >> 1].slowest;
      const fail = rs.filter((r) => r.failed).length;
      out.push(`| ${u.toLocaleString("en-US")} | ${b.name} | **${fmtMs(mx)}** (${rs.map((r) => fmtMs(r.maxMs)).join(", ")}) | ` +
        `${fmtMs(median(rs.map((r) => r.p50Ms)))} | ${fmtMs(median(rs.map((r) => r.reloadMs)))} | ` +
        `${median(rs.map((r) => r.probes))} | ${trap ? `${trap}/${rs.length} trapped` : "no"}${fail ? `, ${fail}/${rs.length} failed` : ""} | ` +
        `${fmtMs(mid.mainRun)} / ${fmtMs(mid.mainWait)} / ${fmtMs(mid.nodeWait)} | ${caps(u, b.name)} |`);
    }
  }
  if (builds.length === 2) {
    out.push("");
    for (const u of args.users) {
      const a = med.get(`after/${u}`);
      const bf = med.get(`before/${u}`);
      if (a !== undefined && bf !== undefined) {
        out.push(`- ${u.toLocaleString("en-US")} users: max round trip after/before = ${(a / bf).toFixed(3)} ` +
          `(${fmtMs(a)} / ${fmtMs(bf)} ms); target <= 100 ms: ${a <= 100 ? "met" : "not met"}`);
      }
    }
  }
  out.push("", `machine: ${cpus().length} CPUs (${cpus()[0]?.model ?? "?"}), load average at the end ` +
    `${loadavg().map((x) => x.toFixed(2)).join(" ")}; ${args.runs} runs, interleaved`);
  out.push(`command: node build/js/bench/reload.js ${process.argv.slice(2).join(" ")}`);
  console.log(out.join("\n"));
  console.log(`\n<!-- raw: ${JSON.stringify(results.map(({ notes, ...r }) => ({ ...r, notes: notes.length })))} -->`);
  if (errors.length) {
    console.log("\nerrors:\n" + errors.map((e) => `- ${e}`).join("\n"));
    process.exitCode = 1;
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
