// `make bench`: the whole benchmark of docs/BENCHMARKS.md in one run.
//   1. in-process: bench/inproc (ns per acl_check / unpwd_check) for the default policy, the
//      hand-written AssemblyScript example, the native C floor and the seed pyauth (when
//      ../shared can build it: bench/pyauth.ts), rounds interleaved;
//   2. instructions per acl_check in-process (callgrind, toggled on inproc_measured);
//   3. load+validate+instantiate (plugin_init) for the default policy and a ~1 MB policy,
//      reload (unchanged and changed module);
//   4. real broker: user CPU per message for every configuration of policy P (pyauth included)
//      and no-auth, round-robin, medians of --rounds; broker RSS; SIGHUP reload;
//   5. real broker under callgrind: instructions per delivered message (instrumentation switched
//      on after the clients connected, off when the last message arrived);
//   6. stripped .so sizes;
//   7. broker workloads W1-W4 under callgrind (bench/workloads.ts): marginal Ir per message and
//      per ACL check for every configuration, pyauth included when ../shared can build it.
//      --only-workloads runs this stage alone (make bench-workloads);
//   8. scale (bench/scale.ts): load time and RSS of 10,000 to 1,000,000 users and 2 topic rules
//      each in a real broker, acl_file, dynamic-security and the default policy (make
//      bench-scale runs it alone; --scale-args passes its flags, --skip scale leaves it out).
// Writes <build>/bench/results.json and <build>/bench/benchmarks.svg, prints a table and the targets.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync,
  statSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { cpus, release } from "node:os";
import { join, resolve } from "node:path";
import { barChart, type Panel } from "./chart.js";
import { Proc, cpuSample, freePort, median, rssKb, run, sleep, type BrokerConfig as Config, type CpuSample } from "./proc.js";
import { PYAUTH_LABEL, buildPyauth, failure, pyauthConf, pyauthEnv, pyauthInprocOpts, type PyauthBuild } from "./pyauth.js";
import { WORKLOADS, benchWorkloads, workloadsMarkdown, type WorkloadResults } from "./workloads.js";
import { benchScale, parseScaleArgs, shellLine, writeScale, type ScaleArgs } from "./scale.js";

interface Args {
  build: string;
  plugin: string;
  defaultWasm: string;
  exampleWasm: string;
  rounds: number;
  inprocRounds: number;
  msgs: number;
  cgMsgs: number;
  inprocCalls: number;
  window: number;
  chart: string;
  skip: Set<string>;
  workloads: string[];
  wlScale: number;
  onlyWorkloads: boolean;
  pyauthScript: string;
  pyauthPolicyDir: string;
  wlConfigs: string[];
  wlProfiles: boolean;
  wlGlibcTunables: string;
  /** bench/scale.ts's flags (SCALE_USAGE there). */
  scaleArgs: string[];
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    // utime is sampled per 10 ms tick: 400k messages give ~1000+ user ticks per run.
    build: "build", plugin: "", defaultWasm: "", exampleWasm: "", rounds: 5, inprocRounds: 3, msgs: 400000,
    cgMsgs: 20000, inprocCalls: 2000000, window: 5000, chart: "", skip: new Set(),
    workloads: WORKLOADS.map((w) => w.key), wlScale: 1, onlyWorkloads: false,
    // The seed plugin's build script and the Python module for P, relative to the checkout
    // (make runs from its root).
    pyauthScript: "../shared/anchors/build-pyauth.sh", pyauthPolicyDir: "bench", wlConfigs: [], wlProfiles: false,
    // A deep tcache makes every malloc of the broker's per-delivery bursts a cache hit, so a
    // configuration's Ir no longer depends on where its start-up left free chunks (with glibc's
    // 7 entries per size, W4's no-auth broker ran 2,500 Ir per message above the native
    // plugin's). docs/BENCHMARKS.md "Workloads".
    wlGlibcTunables: "glibc.malloc.tcache_count=2000",
    scaleArgs: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = (): string => {
      if (i + 1 >= argv.length) throw new Error(`${k} needs a value`);
      return argv[++i];
    };
    switch (k) {
      case "--build": a.build = v(); break;
      case "--plugin": a.plugin = v(); break;
      case "--default-wasm": a.defaultWasm = v(); break;
      case "--example-wasm": a.exampleWasm = v(); break;
      case "--rounds": a.rounds = Number(v()); break;
      case "--inproc-rounds": a.inprocRounds = Number(v()); break;
      case "--msgs": a.msgs = Number(v()); break;
      case "--cg-msgs": a.cgMsgs = Number(v()); break;
      case "--inproc-calls": a.inprocCalls = Number(v()); break;
      case "--window": a.window = Number(v()); break;
      case "--chart": a.chart = v(); break;
      // inproc, inproc-callgrind, load, broker, broker-callgrind, reload, size, workloads, scale
      case "--skip": for (const s of v().split(",")) a.skip.add(s); break;
      case "--workloads": a.workloads = v().split(",").filter((x) => x !== ""); break;
      // multiplies every workload's message count (bench/workloads.ts WORKLOADS)
      case "--wl-scale": a.wlScale = Number(v()); break;
      case "--only-workloads": a.onlyWorkloads = true; break;
      // noauth, file, dynsec, native, pyauth, wasm_default, wasm_cache, wasm_nocache (default: all)
      case "--wl-configs": a.wlConfigs = v().split(",").filter((x) => x !== ""); break;
      // keeps <build>/bench/callgrind-<workload>-<config>.out and .txt (per-function Ir) of every run
      case "--wl-profiles": a.wlProfiles = true; break;
      // GLIBC_TUNABLES for the workloads' brokers; "" keeps glibc's defaults
      case "--wl-glibc-tunables": a.wlGlibcTunables = v(); break;
      case "--pyauth-script": a.pyauthScript = v(); break;
      case "--pyauth-policy-dir": a.pyauthPolicyDir = v(); break;
      // one word list, e.g. "--users 10000,100000 --runs 1" (make: BENCH_SCALE_ARGS)
      case "--scale-args": a.scaleArgs = v().split(/\s+/).filter((x) => x !== ""); break;
      default: throw new Error(`unknown argument ${k}`);
    }
  }
  a.plugin ||= join(a.build, "mosquitto_wasm_auth.so");
  a.defaultWasm ||= join(a.build, "policies/default.wasm");
  a.exampleWasm ||= join(a.build, "examples/static-users.wasm");
  return a;
}

const args = parseArgs(process.argv.slice(2));
// Parsed now: a mistyped scale flag fails before the other stages' minutes, not after them.
const scaleArgs: ScaleArgs | null = args.skip.has("scale") || args.onlyWorkloads ? null
  : parseScaleArgs(args.scaleArgs, { build: args.build, plugin: args.plugin, defaultWasm: args.defaultWasm });
const B = resolve(args.build, "bench");
if (args.chart === "") args.chart = join(B, "benchmarks.svg");
const DATA = join(B, "data");
const INPROC = join(B, "inproc");
const LOAD = join(B, "load");
const NATIVE = join(B, "native_p.so");
const BIG = join(B, "big-policy.wasm");
const DYNSEC_SO = "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so";
const MOSQUITTO = "/usr/sbin/mosquitto";
const PLUGIN = resolve(args.plugin);
const DEFAULT_WASM = resolve(args.defaultWasm);
const EXAMPLE_WASM = resolve(args.exampleWasm);
const RUN_DIR = join(B, "run");
// Under valgrind the policy's init (parsing P's files) runs ~50x slower than the plugin's
// wall-clock limit for lifecycle hooks allows; the limit's value does not change the code path.
const VALGRIND_WASM_OPTS = ["wasm_timeout_ms=3600000"];
const CLK_TCK = 100; // USER_HZ on Linux/x86-64 (getconf CLK_TCK)
const USER = "bench";
const PASSWORD = "pw-bench";
const TOPIC = "users/bench/x";
const FILTER = "users/bench/#";

function log(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

// ---------------------------------------------------------------------------------------------
// Configurations of policy P (plus the no-auth baseline).

const CONFIGS: Config[] = [
  { key: "noauth", label: "no auth (baseline)", ours: false, needs: [],
    conf: () => ["allow_anonymous true"] },
  { key: "default", label: "(1) default policy (wasm)", ours: true, needs: [PLUGIN, DEFAULT_WASM],
    conf: () => ["allow_anonymous false", `plugin ${PLUGIN}`, `plugin_opt_wasm_module ${DEFAULT_WASM}`,
      "plugin_opt_wasm_acl_cache off", `plugin_opt_password_file ${DATA}/passwd`, `plugin_opt_acl_file ${DATA}/acl`] },
  // The same policy in the plugin's default configuration: its grants (and its decision cache for
  // what they leave to acl_check, here nothing) decide every check after a client's first. The
  // uncached row above is the policy's own cost.
  { key: "default_cached", label: "(1c) default policy, default configuration (grants)", ours: true, needs: [PLUGIN, DEFAULT_WASM],
    conf: () => ["allow_anonymous false", `plugin ${PLUGIN}`, `plugin_opt_wasm_module ${DEFAULT_WASM}`,
      "plugin_opt_wasm_acl_cache on", `plugin_opt_password_file ${DATA}/passwd`, `plugin_opt_acl_file ${DATA}/acl`] },
  { key: "example", label: "(2) hand-written AS (wasm)", ours: true, needs: [PLUGIN, EXAMPLE_WASM],
    conf: () => ["allow_anonymous false", `plugin ${PLUGIN}`, `plugin_opt_wasm_module ${EXAMPLE_WASM}`,
      "plugin_opt_wasm_acl_cache off", `plugin_opt_password_file ${DATA}/passwd`] },
  { key: "native", label: "(3) native C plugin", ours: false, needs: [NATIVE],
    conf: () => ["allow_anonymous false", `plugin ${NATIVE}`, `plugin_opt_password_file ${DATA}/passwd`] },
  { key: "file", label: "(4) password_file + acl_file", ours: false, needs: [],
    conf: () => ["allow_anonymous false", `password_file ${DATA}/passwd`, `acl_file ${DATA}/acl`] },
  { key: "dynsec", label: "(5) dynamic-security", ours: false, needs: [DYNSEC_SO],
    conf: (dir) => {
      // dynsec rewrites its file: give every run its own copy.
      copyFileSync(join(DATA, "dynsec.json"), join(dir, "dynsec.json"));
      return ["allow_anonymous false", `plugin ${DYNSEC_SO}`, `plugin_opt_config_file ${dir}/dynsec.json`];
    } },
];

/** The seed pyauth (6), once main has built it (bench/pyauth.ts). */
let pyauth: PyauthBuild | null = null;
/** "pyauth skipped: REASON" once pyauth could not be built or one of its runs failed: its rows
 * say so, and no later stage runs it. */
let pyauthSkip: string | null = null;

const PYAUTH_ROW = `(6) ${PYAUTH_LABEL}`;

function pyauthConfig(b: PyauthBuild, so: string): Config {
  return { key: "pyauth", label: PYAUTH_ROW, ours: false, needs: [so], conf: () => pyauthConf(so, DATA),
    env: pyauthEnv(b) };
}

function selectConfigs(): Config[] {
  const all = pyauth?.so ? [...CONFIGS, pyauthConfig(pyauth, pyauth.so)] : CONFIGS;
  return all.filter((c) => {
    const missing = c.needs.filter((f) => !existsSync(f));
    if (missing.length) log(`skipping ${c.key}: missing ${missing.join(", ")}`);
    return missing.length === 0;
  });
}

let available: Config[] = [];
const has = (k: string): boolean => available.some((c) => c.key === k);

/** One pyauth measurement: a failure becomes the rows' skip note instead of ending the run. */
async function tryPyauth<T>(what: string, f: () => Promise<T>): Promise<T | undefined> {
  try {
    return await f();
  } catch (e) {
    pyauthSkip = `pyauth skipped: ${what} ${failure(e)}`;
    log(pyauthSkip);
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// In-process harness.
type Json = Record<string, number | string>;

const EXAMPLE_SDK_WASM = join(B, "policy-p-sdk.wasm");
const ALLOW_WASM = join(B, "allow-all.wasm");
/** In-process only: P written with the SDK's topic helpers, and an allow-all policy whose cost is
 * the plugin's fixed cost per call (marshalling, wasm3 call, metering entry). */
const EXTRA_LABELS: { key: string; label: string; wasm: string }[] = [
  { key: "policy_p", label: "(2a) hand-written AS, byte by byte", wasm: join(B, "policy-p.wasm") },
  { key: "example_sdk", label: "(2b) AS with SDK topic helpers", wasm: EXAMPLE_SDK_WASM },
  { key: "allow_all", label: "allow-all policy (plugin floor)", wasm: ALLOW_WASM },
  // The plugin's default configuration: the client's grants decide every call after its first.
  { key: "default_cached", label: "(1c) default policy, default configuration (grants)", wasm: DEFAULT_WASM },
];

function inprocOpts(label: string): string[] {
  if (label === "pyauth") {
    if (!pyauth?.so) throw new Error("pyauth is not built");
    return pyauthInprocOpts(pyauth.so, DATA);
  }
  const extra = EXTRA_LABELS.find((e) => e.key === label);
  if (label === "default_cached") {
    return ["--acl-file-subscribe", "-o", `wasm_module=${DEFAULT_WASM}`, "-o", "wasm_acl_cache=on", "-o", `password_file=${DATA}/passwd`, "-o", `acl_file=${DATA}/acl`, PLUGIN];
  }
  if (extra) {
    return [...(label === "allow_all" ? ["--no-verify"] : []), "-o", `wasm_module=${extra.wasm}`,
      "-o", `password_file=${DATA}/passwd`, PLUGIN];
  }
  if (label === "default") {
    // The default policy reproduces acl_file, which does not check SUBSCRIBE (see docs).
    return ["--acl-file-subscribe", "-o", `wasm_module=${DEFAULT_WASM}`, "-o", "wasm_acl_cache=off", "-o", `password_file=${DATA}/passwd`, "-o", `acl_file=${DATA}/acl`, PLUGIN];
  }
  // wasm_acl_cache off: the headline is the uncached policy call (docs/BENCHMARKS.md "Decision cache").
  if (label === "example") return ["-o", `wasm_module=${EXAMPLE_WASM}`, "-o", "wasm_acl_cache=off", "-o", `password_file=${DATA}/passwd`, PLUGIN];
  return ["-o", `password_file=${DATA}/passwd`, NATIVE];
}

/** The environment of a configuration's process (pyauth's Python finds P's module through it). */
function envOf(label: string): NodeJS.ProcessEnv | undefined {
  return label === "pyauth" && pyauth ? pyauthEnv(pyauth) : undefined;
}

async function inproc(label: string, extra: string[]): Promise<Json[]> {
  const out = await run(INPROC, ["-l", label, ...extra, ...inprocOpts(label)], undefined, envOf(label));
  return out.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Json);
}

const num = (j: Json | undefined, k: string): number => (j && typeof j[k] === "number" ? j[k] as number : NaN);

interface InprocResult {
  acl_median_ns: number; acl_p99_ns: number; acl_L_median_ns: number; acl_L_p99_ns: number;
  unpwd_median_ns: number; unpwd_p99_ns: number; hash_median_ns: number; unpwd_over_hash: number;
  calls_per_run: number; runs: Json[]; per_case: Json[];
}

async function benchInproc(labels: string[]): Promise<Record<string, InprocResult>> {
  const runs: Record<string, Json[]> = {};
  for (const l of labels) runs[l] = [];
  for (let r = 0; r < args.inprocRounds; r++) {
    for (let i = 0; i < labels.length; i++) {
      const l = labels[(i + r) % labels.length];
      if (l === "pyauth" && pyauthSkip !== null) continue;
      log(`in-process ${l}, round ${r + 1}/${args.inprocRounds}`);
      const auth = l === "allow_all" ? "0" : "500"; // allow-all has no unpwd_check
      const perCase = r === 0 && (l === "default" || l === "example") ? ["--per-case"] : [];
      const go = (): Promise<Json[]> => inproc(l, ["--acl-calls", String(args.inprocCalls), "--auth-calls", auth, ...perCase]);
      runs[l].push(...(l === "pyauth" ? await tryPyauth("the in-process run", go) ?? [] : await go()));
    }
  }
  const res: Record<string, InprocResult> = {};
  for (const l of labels) {
    if (l === "pyauth" && pyauthSkip !== null) continue;
    const of = (m: string): Json[] => runs[l].filter((j) => j.metric === m);
    const med = (m: string, k: string): number => median(of(m).map((j) => num(j, k)));
    res[l] = {
      acl_median_ns: med("acl_check", "median_ns"), acl_p99_ns: med("acl_check", "p99_ns"),
      acl_L_median_ns: med("acl_check_L", "median_ns"), acl_L_p99_ns: med("acl_check_L", "p99_ns"),
      unpwd_median_ns: med("unpwd_check", "median_ns"), unpwd_p99_ns: med("unpwd_check", "p99_ns"),
      hash_median_ns: med("unpwd_check", "hash_median_ns"), unpwd_over_hash: med("unpwd_check", "ratio"),
      calls_per_run: args.inprocCalls, runs: runs[l],
      per_case: of("acl_case").map((j) => ({ user: j.user, topic: j.topic, access: j.access, median_ns: j.median_ns })),
    };
  }
  return res;
}

/** callgrind_annotate's per-function summary lines (not the annotated source after them): Ir, name. */
function annotateLines(text: string): { ir: number; fn: string }[] {
  const rows: { ir: number; fn: string }[] = [];
  const all = text.split("\n");
  const start = all.findIndex((l) => /file:function/.test(l));
  for (const l of all.slice(start + 2)) {
    if (/^--/.test(l)) break;
    const m = /^\s*([\d,]+)\s+(?:\([\d. %]+\)\s+)?(\S.*)$/.exec(l);
    if (m) rows.push({ ir: Number(m[1].replace(/,/g, "")), fn: m[2] });
  }
  return rows;
}

/** Where one call's instructions go, by kind of function (exclusive Ir per call). The i64
 * global/arith/compare handlers are what the gate's fuel metering compiles to (a heuristic: a
 * policy's own i64 arithmetic, e.g. the default policy's word compares, counts there too). */
function profile(rows: { ir: number; fn: string }[], calls: number): Json {
  const kinds: [string, RegExp][] = [
    ["harness", /bench\/(inproc|broker_stub)\.c:/],
    ["metering_ops", /m3_exec\.h:op_(GetGlobal_s64|SetGlobal_i64|i64_Subtract|i64_LessThan|i64_GreaterThanOrEqual)/],
    ["wasm3_entry_exit", /m3_env\.c:|m3_exec_defs\.h:m3_Call|op_Entry\b|op_Entry'|m3_Yield|__tls_get_addr/],
    ["guest_ops", /m3_exec\.h:op_/],
    ["plugin_c", /plugin-c\//],
    ["libc", /libc\.so|ld-linux/],
  ];
  const out: Record<string, number> = {};
  for (const [k] of kinds) out[k] = 0;
  out.other = 0;
  for (const r of rows) {
    const k = kinds.find(([, re]) => re.test(r.fn));
    out[k ? k[0] : "other"] += r.ir / calls;
  }
  const res: Json = {};
  for (const [k, v] of Object.entries(out)) res[`ir_${k}`] = Math.round(v);
  return res;
}

function callgrindTotal(file: string): number {
  const m = /^totals:\s*(\d+)/m.exec(readFileSync(file, "utf8")) ?? /^summary:\s*(\d+)/m.exec(readFileSync(file, "utf8"));
  if (!m) throw new Error(`no totals in ${file}`);
  return Number(m[1]);
}

/** Ir per acl_check in-process for one request set ("mix" or load L's "pair"). */
async function inprocCallgrind(l: string, set: "mix" | "pair"): Promise<Json> {
  const calls = 100000;
  const out = join(RUN_DIR, `cg-inproc-${l}-${set}.out`);
  await run("valgrind", ["--tool=callgrind", "--collect-atstart=no", "--toggle-collect=inproc_measured",
    `--callgrind-out-file=${out}`, INPROC, "-l", l, "--callgrind", "--acl-calls", String(calls),
    ...(set === "pair" ? ["--load-pair"] : []),
    ...(l === "native" || l === "pyauth" ? [] : VALGRIND_WASM_OPTS.flatMap((o) => ["-o", o])), ...inprocOpts(l)],
    undefined, envOf(l));
  const total = callgrindTotal(out);
  const excl = await run("callgrind_annotate", ["--threshold=99.9", "--auto=no", out]);
  const loop = annotateLines(excl).filter((r) => /:acl_loop\b|:inproc_measured\b/.test(r.fn))
    .reduce((s, r) => s + r.ir, 0);
  const incl = await run("callgrind_annotate", ["--inclusive=yes", "--threshold=99.9", "--auto=no", out]);
  writeFileSync(join(B, `callgrind-inproc-${l}-${set}.txt`), `# exclusive\n${excl}\n\n# inclusive\n${incl}\n`);
  return { calls, ir_total: total, ir_harness_loop: loop, ir_per_call: (total - loop) / calls,
    ...profile(annotateLines(excl), calls) };
}

async function benchInprocCallgrind(labels: string[]): Promise<Record<string, Json>> {
  const res: Record<string, Json> = {};
  for (const l of labels) {
    if (l === "pyauth") {
      if (pyauthSkip !== null) continue;
      log("in-process callgrind pyauth");
      const mix = await tryPyauth("the in-process run under callgrind", () => inprocCallgrind(l, "mix"));
      const pair = mix && await tryPyauth("the in-process run under callgrind", () => inprocCallgrind(l, "pair"));
      if (mix && pair) Object.assign(res, { pyauth: mix, pyauth_L: pair });
      continue;
    }
    log(`in-process callgrind ${l}`);
    res[l] = await inprocCallgrind(l, "mix");
    if (l !== "allow_all" && l !== "example_sdk") res[`${l}_L`] = await inprocCallgrind(l, "pair");
  }
  return res;
}

/** Instructions of one plugin_init (load, gate, wasm3, the policy's own init), by phase: the
 * inclusive Ir of the functions that exist in the current plugin build. */
async function initCallgrind(name: string, opts: string[]): Promise<Json> {
  const out = join(RUN_DIR, `cg-init-${name}.out`);
  // Startup builds the policy on the calling thread, inside plugin_init (a second toggle on a
  // function nested in it would switch collection off there).
  await run("valgrind", ["--tool=callgrind", "--collect-atstart=no", "--toggle-collect=mosquitto_plugin_init",
    `--callgrind-out-file=${out}`, INPROC, "-l", name, "--acl-calls", "0", "--auth-calls", "0",
    ...VALGRIND_WASM_OPTS.flatMap((o) => ["-o", o]), ...opts]);
  const incl = await run("callgrind_annotate", ["--inclusive=yes", "--threshold=99.99", "--auto=no", out]);
  writeFileSync(join(B, `callgrind-init-${name}.txt`), incl + "\n");
  const rows = annotateLines(incl);
  const phase = (re: RegExp): number => rows.filter((r) => re.test(r.fn)).reduce((m, r) => Math.max(m, r.ir), 0);
  return {
    ir_total: callgrindTotal(out),
    // The plugin checks and meters in one pass (wa_gate_check_meter): its check and metering
    // halves, which keep their names under LTO.
    ir_gate_check: phase(/:check_decoded\b|:wa_gate_check\b/), ir_gate_meter: phase(/:wa_meter_module\b|:wa_gate_meter\b/),
    ir_wasm3_parse: phase(/:m3_ParseModule\b/), ir_wasm3_load: phase(/:m3_LoadModule\b/),
    // Functions compile lazily: the exports at load, the rest inside the policy's init hooks.
    ir_wasm3_compile: phase(/:CompileFunction\b/), ir_wasm3_validate: phase(/:ValidateFunction\b/),
    ir_memset: phase(/memset/), ir_policy_init_hooks: phase(/:init_hook\b/),
  };
}

async function benchLoad(): Promise<Record<string, Json>> {
  const res: Record<string, Json> = {};
  const initOf = async (label: string, extra: string[], opts: string[]): Promise<Json | undefined> => {
    const out = await run(INPROC, ["-l", label, "--acl-calls", "0", "--auth-calls", "0", ...extra, ...opts]);
    return out.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Json)
      .find((j) => j.metric === "init");
  };
  if (has("default")) {
    log("load/instantiate: default policy");
    const j = await initOf("default", ["--init-repeat", "30"], inprocOpts("default"));
    if (j) res.default_with_P_data = j;
    // The module alone: no data files, so plugin_init costs only read + gate + instantiate.
    const bare = await initOf("default-bare", ["--init-repeat", "30"], ["-o", `wasm_module=${DEFAULT_WASM}`, PLUGIN])
      .catch((e: Error) => { log(`default policy without options: ${e.message.split("\n")[0]}`); return undefined; });
    if (bare) res.default_module_only = bare;
    log("load/instantiate: ~1 MB policy");
    const big = await initOf("big", ["--init-repeat", "10"], ["-o", `wasm_module=${BIG}`, PLUGIN]);
    if (big) res.big_1mb = { ...big, bytes: statSync(BIG).size };
    if (!args.skip.has("init-callgrind")) {
      log("load/instantiate under callgrind");
      res.callgrind_default_with_P_data = await initCallgrind("default", inprocOpts("default").filter((o) => o !== "--acl-file-subscribe"));
      if (bare) res.callgrind_default_module_only = await initCallgrind("default-bare", ["-o", `wasm_module=${DEFAULT_WASM}`, PLUGIN]);
      res.callgrind_big_1mb = await initCallgrind("big", ["-o", `wasm_module=${BIG}`, PLUGIN]);
    }
  }
  if (has("example")) {
    const j = await initOf("example", ["--init-repeat", "30"], inprocOpts("example"));
    if (j) res.example_with_P_data = j;
  }
  if (has("native")) {
    const j = await initOf("native", ["--init-repeat", "30"], inprocOpts("native"));
    if (j) res.native_with_P_data = j;
  }
  return res;
}

async function benchReloadInproc(): Promise<Record<string, Json>> {
  const res: Record<string, Json> = {};
  if (!has("default")) return res;
  // The harness rewrites the module file for the "changed" case: work on a copy.
  const dir = mkdtempSync(join(RUN_DIR, "reload-"));
  const wasm = join(dir, "default.wasm");
  copyFileSync(DEFAULT_WASM, wasm);
  log("reload (in-process)");
  const out = await run(INPROC, ["-l", "default", "--acl-calls", "0", "--auth-calls", "0", "--reload", "30",
    "--reload-changed", "30", "-o", `wasm_module=${wasm}`, "-o", `password_file=${DATA}/passwd`,
    "-o", `acl_file=${DATA}/acl`, PLUGIN]);
  for (const j of out.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Json)) {
    if (j.metric === "reload" || j.metric === "reload_changed") res[j.metric as string] = j;
  }
  rmSync(dir, { recursive: true, force: true });
  return res;
}

// ---------------------------------------------------------------------------------------------
// Real broker.
interface BrokerRun {
  key: string; round: number; sent: number; received: number; elapsed_ns: number;
  user_us_per_msg: number; sys_us_per_msg: number; cpu_us_per_msg: number; rss_kb: number;
  cg_total?: number;
}

async function startBroker(cfg: Config, dir: string, extraConf: string[], valgrindOut?: string): Promise<{ broker: Proc; port: number }> {
  const port = await freePort();
  const conf = join(dir, "mosquitto.conf");
  const wasmCfg = cfg.conf(dir).some((l) => l.startsWith("plugin_opt_wasm_module"));
  const vgConf = valgrindOut && wasmCfg ? VALGRIND_WASM_OPTS.map((o) => `plugin_opt_${o.replace("=", " ")}`) : [];
  writeFileSync(conf, [`listener ${port} 127.0.0.1`, "user root", ...cfg.conf(dir), ...vgConf, ...extraConf].join("\n") + "\n");
  const broker = valgrindOut
    // Instrumentation stays off through start-up and client connection; brokerRun switches it
    // on for exactly the measured interval, so the dump at exit holds only load L.
    ? new Proc("valgrind", ["--tool=callgrind", "--instr-atstart=no", `--callgrind-out-file=${valgrindOut}`, MOSQUITTO, "-c", conf], { env: cfg.env })
    : new Proc(MOSQUITTO, ["-c", conf], { env: cfg.env });
  await broker.waitLine(/mosquitto version \S+ running/, valgrindOut ? 300000 : 30000);
  return { broker, port };
}

async function brokerRun(cfg: Config, round: number, msgs: number, callgrind: boolean): Promise<BrokerRun> {
  const dir = mkdtempSync(join(RUN_DIR, `${cfg.key}-`));
  const cgOut = callgrind ? join(dir, "callgrind.out") : undefined;
  const { broker, port } = await startBroker(cfg, dir, [], cgOut);
  try {
    const load = new Proc(LOAD, [String(port), USER, PASSWORD, String(msgs), TOPIC, FILTER,
      String(callgrind ? Math.min(args.window, 500) : args.window)], { stdin: true });
    await load.waitLine(/^READY/, callgrind ? 300000 : 30000);
    const rss = rssKb(broker.pid);
    if (callgrind) await run("callgrind_control", ["-i", "on", String(broker.pid)]);
    const c0: CpuSample = cpuSample(broker.pid);
    load.write("go\n");
    const done = await load.waitLine(/^DONE/, callgrind ? 3600000 : 600000);
    const c1: CpuSample = cpuSample(broker.pid);
    if (callgrind) await run("callgrind_control", ["-i", "off", String(broker.pid)]);
    load.endInput();
    await load.wait();
    const [, sent, received, elapsed] = done.split(" ").map(Number);
    if (received !== sent || sent !== msgs) {
      throw new Error(`${cfg.key}: sent ${sent}, received ${received} of ${msgs}: configuration does not implement P?`);
    }
    const per = (ticks: number): number => (ticks * 1e6 / CLK_TCK) / received;
    const r: BrokerRun = {
      key: cfg.key, round, sent, received, elapsed_ns: elapsed,
      user_us_per_msg: per(c1.utime - c0.utime), sys_us_per_msg: per(c1.stime - c0.stime),
      cpu_us_per_msg: (c1.runNs - c0.runNs) / 1000 / received, rss_kb: rss,
    };
    if (cgOut) {
      await broker.stop(); // callgrind writes its dump at exit
      const dump = cgOut;
      if (!existsSync(dump)) throw new Error(`${cfg.key}: callgrind wrote no dump`);
      r.cg_total = callgrindTotal(dump);
      if (cfg.key === "default" || cfg.key === "example" || cfg.key === "native") {
        const excl = await run("callgrind_annotate", ["--threshold=99", "--auto=no", dump]);
        const incl = await run("callgrind_annotate", ["--inclusive=yes", "--threshold=99", "--auto=no", dump]);
        writeFileSync(join(B, `callgrind-broker-${cfg.key}.txt`), `# exclusive\n${excl}\n\n# inclusive\n${incl}\n`);
      }
    }
    return r;
  } finally {
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchBroker(): Promise<{ runs: BrokerRun[]; summary: Record<string, Json> }> {
  const runs: BrokerRun[] = [];
  for (let r = 0; r < args.rounds; r++) {
    for (let i = 0; i < available.length; i++) {
      const cfg = available[(i + r) % available.length];
      if (cfg.key === "pyauth" && pyauthSkip !== null) continue;
      log(`broker ${cfg.key}, round ${r + 1}/${args.rounds}, ${args.msgs} messages`);
      const go = (): Promise<BrokerRun> => brokerRun(cfg, r, args.msgs, false);
      const one = cfg.key === "pyauth" ? await tryPyauth("the broker run", go) : await go();
      if (one) runs.push(one);
    }
  }
  const summary: Record<string, Json> = {};
  for (const c of available) {
    const rs = runs.filter((x) => x.key === c.key);
    if (rs.length === 0) continue; // pyauth, skipped
    summary[c.key] = {
      user_us_per_msg: median(rs.map((x) => x.user_us_per_msg)),
      user_us_min: Math.min(...rs.map((x) => x.user_us_per_msg)),
      user_us_max: Math.max(...rs.map((x) => x.user_us_per_msg)),
      sys_us_per_msg: median(rs.map((x) => x.sys_us_per_msg)),
      cpu_us_per_msg: median(rs.map((x) => x.cpu_us_per_msg)),
      msgs_per_s: median(rs.map((x) => x.received / (x.elapsed_ns / 1e9))),
      rss_kb: median(rs.map((x) => x.rss_kb)),
      rounds: rs.length,
    };
  }
  return { runs, summary };
}

async function benchBrokerCallgrind(): Promise<Record<string, Json>> {
  const res: Record<string, Json> = {};
  for (const cfg of available) {
    if (cfg.key === "pyauth" && pyauthSkip !== null) continue;
    log(`broker under callgrind: ${cfg.key}, ${args.cgMsgs} messages`);
    const go = (): Promise<BrokerRun> => brokerRun(cfg, 0, args.cgMsgs, true);
    const r = cfg.key === "pyauth" ? await tryPyauth("the broker run under callgrind", go) : await go();
    if (!r) continue;
    res[cfg.key] = { ir_total: r.cg_total ?? NaN, ir_per_msg: (r.cg_total ?? NaN) / r.received, messages: r.received };
  }
  const base = res.noauth ? num(res.noauth, "ir_per_msg") : NaN;
  for (const k of Object.keys(res)) {
    const above = num(res[k], "ir_per_msg") - base;
    res[k].ir_above_noauth_per_msg = above;
    res[k].ir_per_acl_check = above / 2; // WRITE at ingress + READ at delivery
  }
  return res;
}

/** SIGHUP to the plugin's reload-complete log line, in a real broker running the default policy. */
async function benchBrokerReload(): Promise<Json> {
  const cfg = CONFIGS.find((c) => c.key === "default");
  if (!cfg || !has("default")) return {};
  const dir = mkdtempSync(join(RUN_DIR, "hup-"));
  const { broker } = await startBroker(cfg, dir, ["log_type all"]);
  const times: number[] = [];
  let lastLine = "";
  try {
    for (let i = 0; i < 10; i++) {
      const from = broker.lines.length;
      const t0 = process.hrtime.bigint();
      broker.child.kill("SIGHUP");
      await broker.waitLine(/Reloading config/, 10000, from);
      // The reload is over at the plugin's last log line after the signal (its own "reloaded
      // policy" notice, or the policy's init messages when the module did not change): wait
      // until the plugin has been quiet for 700 ms.
      let last = -1;
      for (let waited = 0; waited < 20000; waited += 100) {
        await sleep(100);
        for (let j = broker.lines.length - 1; j >= from; j--) {
          if (/wasm-auth/.test(broker.lines[j])) { last = j; break; }
        }
        if (last >= 0 && process.hrtime.bigint() - broker.times[last] > 700_000_000n) break;
      }
      if (last < 0) throw new Error("the plugin logged nothing after SIGHUP");
      lastLine = broker.lines[last];
      times.push(Number(broker.times[last] - t0) / 1e6);
    }
  } catch (e) {
    log(`broker reload: ${(e as Error).message.split("\n")[0]}`);
  } finally {
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return { median_ms: median(times), n: times.length, line: lastLine };
}

async function benchSizes(): Promise<Record<string, number>> {
  const res: Record<string, number> = {};
  const stripped = async (name: string, file: string): Promise<void> => {
    if (!existsSync(file)) return;
    const tmp = join(RUN_DIR, `${name}.stripped`);
    await run("strip", ["-o", tmp, file]);
    res[`${name}_bytes`] = statSync(file).size;
    res[`${name}_stripped_bytes`] = statSync(tmp).size;
    rmSync(tmp);
  };
  await stripped("plugin_so", PLUGIN);
  await stripped("native_so", NATIVE);
  for (const [k, f] of [["default_wasm", DEFAULT_WASM], ["example_wasm", EXAMPLE_WASM], ["big_wasm", BIG]]) {
    if (existsSync(f)) res[`${k}_bytes`] = statSync(f).size;
  }
  return res;
}

// ---------------------------------------------------------------------------------------------
function machine(): Json {
  const c = cpus();
  // `mosquitto -h` prints its version and exits non-zero.
  const help = spawnSync(MOSQUITTO, ["-h"], { encoding: "utf8" });
  const mosq = /mosquitto version (\S+)/.exec(`${help.stdout}${help.stderr}`)?.[1] ?? "?";
  const git = spawnSync("git", ["describe", "--always", "--dirty"], { encoding: "utf8" });
  return { cpu: c[0]?.model ?? "?", cores: c.length, kernel: release(), node: process.version,
    mosquitto: mosq, date: new Date().toISOString(), commit: git.status === 0 ? git.stdout.trim() : "?" };
}

interface Target { name: string; target: string; value: string; met: boolean | null }

function fmt(v: number, d = 1): string {
  return Number.isFinite(v) ? v.toFixed(d) : "n/a";
}

async function workloads(): Promise<WorkloadResults> {
  return benchWorkloads({ benchDir: B, plugin: PLUGIN, defaultWasm: DEFAULT_WASM, runDir: RUN_DIR,
    pyauthScript: resolve(args.pyauthScript), pyauthPolicyDir: resolve(args.pyauthPolicyDir),
    scale: args.wlScale, configs: args.wlConfigs, profiles: args.wlProfiles,
    glibcTunables: args.wlGlibcTunables, log }, args.workloads);
}

/** make bench-workloads: the workloads alone, into their own files (results.* stay those of the
 * last full run). */
async function mainWorkloads(): Promise<void> {
  mkdirSync(RUN_DIR, { recursive: true });
  const m0 = machine();
  const loadavg = (): string => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  const t0 = Date.now();
  const wl = await workloads();
  const head = `Machine: ${m0.cpu}, ${m0.cores} cores, Linux ${m0.kernel}, mosquitto ${m0.mosquitto}, ${m0.date}, ` +
    `tree ${m0.commit}, valgrind ${spawnSync("valgrind", ["--version"], { encoding: "utf8" }).stdout.trim()}; ` +
    `${Math.round((Date.now() - t0) / 1000)} s.`;
  const md = `${head}\n\n${workloadsMarkdown(wl)}`;
  writeFileSync(join(B, "workloads.json"), JSON.stringify({ machine: m0, params: { ...args, skip: [...args.skip] },
    loadavg_end: loadavg(), workloads: wl }, null, 2) + "\n");
  writeFileSync(join(B, "workloads.md"), md);
  console.log(md);
  log(`wrote ${join(B, "workloads.json")} and ${join(B, "workloads.md")}`);
}

async function main(): Promise<void> {
  if (args.onlyWorkloads) return mainWorkloads();
  mkdirSync(RUN_DIR, { recursive: true });
  const results: Record<string, unknown> = { machine: machine(), params: { ...args, skip: [...args.skip] } };
  pyauth = await buildPyauth(args.pyauthScript, args.pyauthPolicyDir, join(B, "pyauth"), log);
  if (pyauth.so === null) pyauthSkip = pyauth.note;
  available = selectConfigs();
  const labels = ["default", "example", "native"].filter(has);
  const extraLabels = existsSync(PLUGIN) ? EXTRA_LABELS.filter((e) => existsSync(e.wasm)).map((e) => e.key) : [];
  // Measured interleaved with the others, listed after them: its row says why when it is skipped.
  const pyLabels = has("pyauth") ? ["pyauth"] : [];
  const rowLabels = [...labels, ...extraLabels, "pyauth"];
  const loadavg = (): string => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  (results.machine as Json).loadavg_start = loadavg();

  const inp = args.skip.has("inproc") ? {} : await benchInproc([...labels, ...extraLabels, ...pyLabels]);
  results.inproc = inp;
  const icg = args.skip.has("inproc-callgrind") ? {} : await benchInprocCallgrind([...labels, ...extraLabels, ...pyLabels]);
  results.inproc_callgrind = icg;
  const load = args.skip.has("load") ? {} : await benchLoad();
  results.load = load;
  const reload = args.skip.has("reload") ? {} : await benchReloadInproc();
  results.reload = reload;
  const broker = args.skip.has("broker") ? { runs: [], summary: {} as Record<string, Json> } : await benchBroker();
  results.broker = broker;
  const bcg = args.skip.has("broker-callgrind") ? {} as Record<string, Json> : await benchBrokerCallgrind();
  results.broker_callgrind = bcg;
  const hup = args.skip.has("reload") ? {} : await benchBrokerReload();
  results.broker_reload = hup;
  const sizes = await benchSizes();
  results.sizes = sizes;
  const wl = args.skip.has("workloads") || args.workloads.length === 0 ? null : await workloads();
  results.workloads = wl;
  const scale = scaleArgs ? await benchScale(scaleArgs, log) : null;
  const scaleMd = scale ? writeScale(scale, B, shellLine(["node", "build/js/bench/run.js", ...process.argv.slice(2)])) : "";
  results.scale = scale;
  (results.machine as Json).loadavg_end = loadavg();

  // --- targets ---
  const d = (inp as Record<string, InprocResult>).default;
  const bs = broker.summary;
  const ratio = (a: number, b: number): number => a / b;
  const rssAdded = num(bs.default, "rss_kb") - num(bs.noauth, "rss_kb");
  const userAdded = (k: string): number => num(bs[k], "user_us_per_msg") - num(bs.noauth, "user_us_per_msg");
  const targets: Target[] = [];
  const t = (name: string, target: string, v: number, ok: (x: number) => boolean, show: string): void => {
    targets.push({ name, target, value: show, met: Number.isFinite(v) ? ok(v) : null });
  };
  t("acl_check median in-process, default policy", "<= 150 ns", d?.acl_median_ns ?? NaN, (x) => x <= 150, `${fmt(d?.acl_median_ns ?? NaN)} ns`);
  const irD = num(icg.default, "ir_per_call"), irN = num(icg.native, "ir_per_call");
  t("instructions per acl_check vs native floor", "<= 2x", ratio(irD, irN), (x) => x <= 2, `${fmt(irD, 0)} vs ${fmt(irN, 0)} = ${fmt(ratio(irD, irN), 2)}x`);
  t("acl_check vs pyauth (500-1100 ns)", ">= 5x faster than 500 ns", 500 / (d?.acl_median_ns ?? NaN), (x) => x >= 5,
    `${fmt(500 / (d?.acl_median_ns ?? NaN), 1)}x-${fmt(1100 / (d?.acl_median_ns ?? NaN), 1)}x`);
  // The same target against the seed itself, measured in this run.
  const py = (inp as Record<string, InprocResult>).pyauth;
  const vsPy = (py?.acl_median_ns ?? NaN) / (d?.acl_median_ns ?? NaN);
  t("acl_check vs pyauth measured in this run (in-process medians, P mix)", ">= 5x faster", vsPy, (x) => x >= 5,
    Number.isFinite(vsPy) ? `${fmt(vsPy, 1)}x (${fmt(py?.acl_median_ns ?? NaN)} vs ${fmt(d?.acl_median_ns ?? NaN)} ns)` : pyauthSkip ?? "n/a");
  t("unpwd_check / PBKDF2-SHA512 hash alone", "<= 1.10", d?.unpwd_over_hash ?? NaN, (x) => x <= 1.1, fmt(d?.unpwd_over_hash ?? NaN, 3));
  // The broker target for the default policy, uncached and with the decision cache it opts in to
  // (the issue allows the cache for policies that declare their decisions cacheable; the
  // uncached rows must meet the target too). Saturated throughput is bounded by the broker's
  // whole CPU per message (user + system); callgrind's instructions are the exact view.
  const vsFile = (m: Json | undefined, f: Json | undefined, k: string): number => ratio(num(m, k), num(f, k));
  for (const [key, how] of [["default", "default policy"], ["default_cached", "default policy in its default configuration (grants)"]]) {
    const user = vsFile(bs[key], bs.file, "user_us_per_msg");
    const total = vsFile(bs[key], bs.file, "cpu_us_per_msg");
    const ir = vsFile(bcg[key], bcg.file, "ir_per_msg");
    t(`broker user CPU/msg, ${how} vs password_file+acl_file`, "<= 1.05", user, (x) => x <= 1.05, fmt(user, 3));
    t(`broker total CPU/msg (throughput bound), ${how} vs password_file+acl_file`, "<= 1.05", total, (x) => x <= 1.05, fmt(total, 3));
    t(`broker instructions/msg, ${how} vs password_file+acl_file (callgrind)`, "<= 1.05", ir, (x) => x <= 1.05, fmt(ir, 3));
  }
  const dc = (inp as Record<string, InprocResult>).default_cached;
  t("acl_check median in-process, default policy, decision cache hits", "<= 150 ns", dc?.acl_median_ns ?? NaN, (x) => x <= 150, `${fmt(dc?.acl_median_ns ?? NaN)} ns`);
  const initBare = num(load.default_module_only, "median_us");
  t("load+validate+instantiate, default policy (module, no data files)", "<= 5 ms", initBare, (x) => x <= 5000, `${fmt(initBare / 1000, 2)} ms`);
  const initUs = num(load.default_with_P_data, "median_us");
  targets.push({ name: "plugin_init with P's data (the policy parses 1001 users + ACL in wasm)", target: "(none)",
    value: `${fmt(initUs / 1000, 2)} ms`, met: null });
  t("broker RSS added by plugin + default policy", "<= 4 MB", rssAdded, (x) => x <= 4096, `${fmt(rssAdded / 1024, 2)} MB`);
  results.targets = targets;
  results.derived = {
    user_us_added_per_msg: Object.fromEntries(available.map((c) => [c.key, userAdded(c.key)])),
    broker_user_cpu_vs_file: Object.fromEntries(available.map((c) => [c.key, vsFile(bs[c.key], bs.file, "user_us_per_msg")])),
    broker_total_cpu_vs_file: Object.fromEntries(available.map((c) => [c.key, vsFile(bs[c.key], bs.file, "cpu_us_per_msg")])),
  };
  // pyauth's rows in results.json say why they are missing, as the tables do.
  results.pyauth = pyauthSkip ?? pyauth.note;
  if (pyauthSkip !== null) {
    const skipped = { skipped: pyauthSkip };
    const mark = (o: object, key = "pyauth"): object => key in o ? o : { ...o, [key]: skipped };
    results.inproc = mark(inp);
    results.inproc_callgrind = mark(icg);
    results.broker = { ...broker, summary: mark(broker.summary) };
    results.broker_callgrind = mark(bcg);
  }
  writeFileSync(join(B, "results.json"), JSON.stringify(results, null, 2) + "\n");

  // The seed against the default policy, uncached (1) and in its default configuration (1c):
  // every figure from this run, so each ratio compares measurements taken side by side.
  const inpR = (k: string): Partial<InprocResult> => (inp as Record<string, InprocResult>)[k] ?? {};
  const vsSeed: { what: string; dp: number; of: (k: string) => number }[] = [
    { what: "acl_check in-process, P mix, median ns", dp: 1, of: (k) => inpR(k).acl_median_ns ?? NaN },
    { what: "acl_check in-process, load L pair, median ns", dp: 1, of: (k) => inpR(k).acl_L_median_ns ?? NaN },
    { what: "Ir per acl_check in-process, P mix", dp: 0, of: (k) => num(icg[k], "ir_per_call") },
    { what: "Ir per acl_check in-process, load L pair", dp: 0, of: (k) => num(icg[`${k}_L`], "ir_per_call") },
    { what: "unpwd_check in-process, median us", dp: 1, of: (k) => (inpR(k).unpwd_median_ns ?? NaN) / 1000 },
    { what: "broker user CPU per message, us", dp: 3, of: (k) => num(bs[k], "user_us_per_msg") },
    { what: "broker total CPU per message, us", dp: 2, of: (k) => num(bs[k], "cpu_us_per_msg") },
    { what: "broker Ir per ACL check above no-auth", dp: 0, of: (k) => num(bcg[k], "ir_per_acl_check") },
  ];
  const seedCells = (v: typeof vsSeed[number]): string[] => {
    const [a, b, p] = ["default", "default_cached", "pyauth"].map(v.of);
    return [fmt(a, v.dp), fmt(b, v.dp), fmt(p, v.dp), fmt(p / a, 1), fmt(p / b, 1)];
  };
  const seedNote = pyauthSkip !== null && !["pyauth", "pyauth_L"].some((k) => k in inp || k in icg) && !bs.pyauth && !bcg.pyauth
    ? pyauthSkip : null;

  const m0 = results.machine as Json;
  // --- table ---
  const lines: string[] = [];
  lines.push("", "In-process (ns per call, medians of rounds):");
  lines.push("  config       acl_check  p99    acl_L  unpwd_check  hash alone  ratio   Ir/acl_check  Ir/acl_L");
  for (const l of rowLabels) {
    const r: Partial<InprocResult> = (inp as Record<string, InprocResult>)[l] ?? {};
    if (!(l in inp) && !(l in icg)) {
      if (l === "pyauth" && pyauthSkip !== null) lines.push(`  ${l.padEnd(11)} ${pyauthSkip}`);
      continue;
    }
    const f = (v: number | undefined, dp = 1): string => fmt(v ?? NaN, dp);
    lines.push(`  ${l.padEnd(11)} ${f(r.acl_median_ns).padStart(9)} ${f(r.acl_p99_ns).padStart(6)} ${f(r.acl_L_median_ns).padStart(6)} ` +
      `${f(r.unpwd_median_ns, 0).padStart(12)} ${f(r.hash_median_ns, 0).padStart(11)} ${f(r.unpwd_over_hash, 3).padStart(6)} ` +
      `${fmt(num(icg[l], "ir_per_call"), 0).padStart(13)} ${fmt(num(icg[`${l}_L`], "ir_per_call"), 0).padStart(9)}`);
  }
  lines.push("", "Broker (per delivered message; user/sys from /proc/PID/stat, medians of rounds):");
  lines.push("  config                          user us  +vs noauth  vs file  cpu us  msg/s    RSS MB  Ir/msg  Ir/ACL check");
  const pySkipRow = pyauthSkip !== null && !bs.pyauth && !bcg.pyauth;
  for (const c of available) {
    const s = bs[c.key];
    const cg = bcg[c.key];
    if (c.key === "pyauth" && pySkipRow) continue;
    lines.push(`  ${c.label.padEnd(31)} ${fmt(num(s, "user_us_per_msg"), 3).padStart(7)} ${fmt(userAdded(c.key), 3).padStart(11)} ` +
      `${fmt(ratio(num(s, "user_us_per_msg"), num(bs.file, "user_us_per_msg")), 3).padStart(8)} ${fmt(num(s, "cpu_us_per_msg"), 2).padStart(7)} ` +
      `${fmt(num(s, "msgs_per_s"), 0).padStart(7)} ${fmt(num(s, "rss_kb") / 1024, 2).padStart(7)} ${fmt(num(cg, "ir_per_msg"), 0).padStart(7)} ` +
      `${fmt(num(cg, "ir_per_acl_check"), 0).padStart(13)}`);
  }
  if (pySkipRow) lines.push(`  ${PYAUTH_ROW.padEnd(31)} ${pyauthSkip}`);
  lines.push("", "Against the seed (this run):");
  if (seedNote !== null) {
    lines.push(`  ${seedNote}`);
  } else {
    lines.push(`  ${"".padEnd(44)} ${["(1)", "(1c)", "pyauth", "py/(1)", "py/(1c)"].map((h) => h.padStart(9)).join(" ")}`);
    for (const v of vsSeed) lines.push(`  ${v.what.padEnd(44)} ${seedCells(v).map((c) => c.padStart(9)).join(" ")}`);
  }
  lines.push("", "Load / reload / size:");
  for (const [k, v] of Object.entries(load)) {
    if (k.startsWith("callgrind_")) {
      lines.push(`  init ${k}: ${Object.entries(v).map(([a, b]) => `${a.replace(/^ir_/, "")}=${(Number(b) / 1e6).toFixed(1)}M`).join(" ")}`);
    } else {
      lines.push(`  init ${k}: median ${fmt(num(v, "median_us"))} us, min ${fmt(num(v, "min_us"))} us`);
    }
  }
  for (const [k, v] of Object.entries(reload)) lines.push(`  ${k} (in-process): median ${fmt(num(v, "median_us"))} us`);
  if (Number.isFinite(num(hup, "median_ms"))) lines.push(`  broker SIGHUP -> "${String(hup.line ?? "").slice(0, 60)}": median ${fmt(num(hup, "median_ms"), 2)} ms`);
  for (const [k, v] of Object.entries(sizes)) lines.push(`  ${k}: ${v}`);
  lines.push("", "Targets:");
  for (const x of targets) lines.push(`  [${x.met === null ? "n/a " : x.met ? "met " : "MISS"}] ${x.name}: ${x.value} (target ${x.target})`);
  console.log(lines.join("\n"));
  if (wl) console.log(`\nWorkloads (marginal Ir under callgrind):\n\n${workloadsMarkdown(wl)}`);
  if (scale) console.log(`\nScale (load time and memory of many users):\n\n${scaleMd}`);

  // --- the same as Markdown, for docs/BENCHMARKS.md ---
  const md: string[] = [];
  const labelOf = (l: string): string => l === "pyauth" ? PYAUTH_ROW
    : CONFIGS.find((c) => c.key === l)?.label ?? EXTRA_LABELS.find((e) => e.key === l)?.label ?? l;
  // A row of a table of `cols` columns whose first cell names the configuration and whose second says why it is empty.
  const skipRow = (label: string, note: string, cols: number): string => `| ${label} | ${note} |${" |".repeat(cols - 2)}`;
  md.push(`Machine: ${m0.cpu}, ${m0.cores} cores, Linux ${m0.kernel}, mosquitto ${m0.mosquitto}, ${m0.date}, tree ${m0.commit}; ` +
    `load average ${m0.loadavg_start} at start, ${String((results.machine as Json).loadavg_end)} at end. ` +
    `In-process: ${args.inprocCalls.toLocaleString("en-US")} acl_check calls per run, ${args.inprocRounds} rounds; broker: ` +
    `${args.msgs.toLocaleString("en-US")} messages per run, ${args.rounds} rounds, ${args.cgMsgs.toLocaleString("en-US")} under callgrind` +
    `${args.skip.size ? `; skipped: ${[...args.skip].join(", ")}` : ""}. ${pyauthSkip ?? pyauth.note}.`, "");
  md.push("| configuration | acl_check median ns | p99 ns | load L pair median ns | Ir/acl_check (mix) | Ir/acl_check (L) | unpwd_check us | hash alone us | ratio |");
  md.push("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const l of rowLabels) {
    const r: Partial<InprocResult> = (inp as Record<string, InprocResult>)[l] ?? {};
    if (l === "pyauth" && !(l in inp) && !(l in icg) && pyauthSkip !== null) {
      md.push(skipRow(labelOf(l), pyauthSkip, 9));
      continue;
    }
    md.push(`| ${labelOf(l)} | ${fmt(r.acl_median_ns ?? NaN)} | ${fmt(r.acl_p99_ns ?? NaN)} | ${fmt(r.acl_L_median_ns ?? NaN)} | ` +
      `${fmt(num(icg[l], "ir_per_call"), 0)} | ${fmt(num(icg[`${l}_L`], "ir_per_call"), 0)} | ${fmt((r.unpwd_median_ns ?? NaN) / 1000)} | ` +
      `${fmt((r.hash_median_ns ?? NaN) / 1000)} | ${fmt(r.unpwd_over_hash ?? NaN, 3)} |`);
  }
  const pc = (inp as Record<string, InprocResult>).default?.per_case ?? [];
  const pe = (inp as Record<string, InprocResult>).example?.per_case ?? [];
  if (pc.length) {
    md.push("", "| request (user, topic, access) | (1) default ns | (2) hand-written ns |", "|---|---:|---:|");
    pc.forEach((c, i) => md.push(`| ${c.user} \`${c.topic}\` ${({ 1: "READ", 2: "WRITE", 4: "SUBSCRIBE" } as Record<string, string>)[String(c.access)] ?? c.access} | ` +
      `${fmt(Number(c.median_ns))} | ${fmt(Number(pe[i]?.median_ns ?? NaN))} |`));
  }
  md.push("", "| configuration | user us/msg (min-max) | added vs no-auth | vs file | total CPU us/msg | msg/s | RSS MB | Ir/msg | Ir/ACL check above no-auth |");
  md.push("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const c of available) {
    const s2 = bs[c.key];
    const cg = bcg[c.key];
    if (c.key === "pyauth" && pySkipRow) continue;
    md.push(`| ${c.label} | ${fmt(num(s2, "user_us_per_msg"), 3)} (${fmt(num(s2, "user_us_min"), 2)}-${fmt(num(s2, "user_us_max"), 2)}) | ${fmt(userAdded(c.key), 3)} | ${fmt(ratio(num(s2, "user_us_per_msg"), num(bs.file, "user_us_per_msg")), 3)} | ` +
      `${fmt(num(s2, "cpu_us_per_msg"), 2)} | ${fmt(num(s2, "msgs_per_s"), 0)} | ${fmt(num(s2, "rss_kb") / 1024, 2)} | ${fmt(num(cg, "ir_per_msg"), 0)} | ${fmt(num(cg, "ir_per_acl_check"), 0)} |`);
  }
  if (pySkipRow) md.push(skipRow(PYAUTH_ROW, pyauthSkip ?? "", 9));
  md.push("", "| against the seed (this run) | (1) default policy | (1c) default configuration (grants) | (6) pyauth | pyauth / (1) | pyauth / (1c) |",
    "|---|---:|---:|---:|---:|---:|");
  if (seedNote !== null) md.push(skipRow(PYAUTH_ROW, seedNote, 6));
  else for (const v of vsSeed) md.push(`| ${v.what} | ${seedCells(v).join(" | ")} |`);
  // Where one in-process call's instructions go (profile(): exclusive Ir per call by kind).
  const kinds = ["plugin_c", "wasm3_entry_exit", "metering_ops", "guest_ops", "libc", "harness", "other"];
  md.push("", "| Ir per acl_check (in-process) | total | " + kinds.join(" | ").replace(/_/g, " ") + " |",
    "|---|" + "---:|".repeat(kinds.length + 1));
  for (const l of rowLabels) {
    for (const [key, what] of [[l, "P mix"], [`${l}_L`, "load L pair"]]) {
      const c = icg[key];
      if (!c) continue;
      md.push(`| ${labelOf(l)}, ${what} | ${fmt(num(c, "ir_total") / num(c, "calls"), 0)} | ` +
        kinds.map((k) => fmt(num(c, `ir_${k}`), 0)).join(" | ") + " |");
    }
  }
  md.push("", "| load / reload / memory / size | value |", "|---|---:|");
  const initRow = (k: string, what: string): void => {
    const v = load[k];
    if (v) md.push(`| ${what} | ${fmt(num(v, "median_us") / 1000, 2)} ms CPU (min ${fmt(num(v, "min_us") / 1000, 2)}, wall ${fmt(num(v, "wall_median_us") / 1000, 2)}) |`);
  };
  initRow("default_module_only", "plugin_init, default policy module alone (read, gate, wasm3 load + compile, start)");
  initRow("default_with_P_data", "plugin_init, default policy with P's password_file + acl_file");
  initRow("example_with_P_data", "plugin_init, hand-written AS with P's password_file");
  initRow("native_with_P_data", "plugin_init, native C plugin with P's password_file");
  initRow("big_1mb", `plugin_init, generated ${fmt(num(load.big_1mb, "bytes") / 1048576, 2)} MiB module`);
  for (const [k, v] of Object.entries(load)) {
    if (!k.startsWith("callgrind_")) continue;
    md.push(`| Ir of ${k.slice(10)} | ${fmt(num(v, "ir_total") / 1e6, 1)}M: gate ${fmt(num(v, "ir_gate_check") / 1e6, 1)}M, metering ${fmt(num(v, "ir_gate_meter") / 1e6, 1)}M, ` +
      `wasm3 parse ${fmt(num(v, "ir_wasm3_parse") / 1e6, 1)}M, load ${fmt(num(v, "ir_wasm3_load") / 1e6, 1)}M, compile ${fmt(num(v, "ir_wasm3_compile") / 1e6, 1)}M ` +
      `(its validator ${fmt(num(v, "ir_wasm3_validate") / 1e6, 1)}M), memset ${fmt(num(v, "ir_memset") / 1e6, 1)}M, policy init hooks ` +
      `${fmt(num(v, "ir_policy_init_hooks") / 1e6, 1)}M (compile included) |`);
  }
  if (reload.reload) md.push(`| RELOAD event, module unchanged (in-process, CPU) | ${fmt(num(reload.reload, "median_us") / 1000, 2)} ms |`);
  if (reload.reload_changed) md.push(`| RELOAD event, module changed (in-process, CPU) | ${fmt(num(reload.reload_changed, "median_us") / 1000, 2)} ms |`);
  if (Number.isFinite(num(hup, "median_ms"))) md.push(`| SIGHUP to the plugin's last reload log line (broker, wall) | ${fmt(num(hup, "median_ms"), 1)} ms |`);
  md.push(`| broker RSS added, default policy (vs no-auth) | ${fmt(rssAdded / 1024, 2)} MB |`);
  md.push(`| broker RSS added, hand-written AS | ${fmt((num(bs.example, "rss_kb") - num(bs.noauth, "rss_kb")) / 1024, 2)} MB |`);
  md.push(`| broker RSS added, dynamic-security | ${fmt((num(bs.dynsec, "rss_kb") - num(bs.noauth, "rss_kb")) / 1024, 2)} MB |`);
  for (const [k, v] of Object.entries(sizes)) md.push(`| ${k.replace(/_/g, " ")} | ${v.toLocaleString("en-US")} bytes |`);
  md.push("", "| targets | value | target | |", "|---|---|---|---|");
  for (const x of targets) md.push(`| ${x.name} | ${x.value} | ${x.target} | ${x.met === null ? "n/a" : x.met ? "met" : "**missed**"} |`);
  if (wl) md.push("", "Workloads (marginal Ir under callgrind):", "", workloadsMarkdown(wl));
  if (scale) md.push("", "Scale (load time and memory of many users):", "", scaleMd);
  writeFileSync(join(B, "results.md"), md.join("\n") + "\n");

  // --- chart ---
  const panels: Panel[] = [];
  if (labels.length) {
    const labelOf = (l: string): string => CONFIGS.find((c) => c.key === l)?.label ?? EXTRA_LABELS.find((e) => e.key === l)?.label ?? l;
    // Not pyauth: its bars (~20x the default policy's) would squeeze the others to slivers; the
    // tables have its figures.
    const all = [...labels, ...extraLabels];
    panels.push({ title: "In-process acl_check, policy P request mix", unit: "ns per call, median",
      bars: all.map((l) => ({ label: labelOf(l),
        value: (inp as Record<string, InprocResult>)[l]?.acl_median_ns ?? NaN, ours: l !== "native" })),
      target: { value: 150, label: "target 150 ns" } });
    panels.push({ title: "Instructions per acl_check (callgrind, in-process)", unit: "Ir per call",
      bars: all.map((l) => ({ label: labelOf(l), value: num(icg[l], "ir_per_call"), ours: l !== "native" })),
      target: Number.isFinite(irN) ? { value: 2 * irN, label: "2x native" } : undefined });
  }
  if (Object.keys(bs).length) {
    panels.push({ title: "Broker user CPU per delivered message, load L", unit: "us, median of rounds",
      bars: available.map((c) => ({ label: c.label, value: num(bs[c.key], "user_us_per_msg"), ours: c.ours })) });
  }
  if (Object.keys(bcg).length) {
    panels.push({ title: "Broker instructions per ACL check above no-auth (callgrind)", unit: "Ir",
      bars: available.filter((c) => c.key !== "noauth").map((c) => ({ label: c.label, value: num(bcg[c.key], "ir_per_acl_check"), ours: c.ours })) });
  }
  const m = results.machine as Json;
  writeFileSync(args.chart, barChart("mosquitto-wasm-auth: policy P benchmarks",
    `${m.cpu}, ${m.cores} cores, mosquitto ${m.mosquitto}, ${String(m.date).slice(0, 10)}; blue = wasm plugin`, panels));
  log(`wrote ${join(B, "results.json")} and ${args.chart}`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack ?? e.message : e);
  process.exit(1);
});
