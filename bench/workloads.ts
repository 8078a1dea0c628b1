// Broker workloads W1-W4 (docs/BENCHMARKS.md "Workloads"), driven by bench/run.ts
// (`make bench`, `make bench-workloads`). Each workload runs against a real mosquitto under
// callgrind for every configuration of policy P; the figure is exact instructions (Ir) per
// message, marginal: the broker serves N messages uninstrumented (connections, authentication,
// first checks, caches and grants filling), then 4N more with instrumentation on. That is the
// issue's "a run of 5N minus a run of N" taken inside one broker process, so start-up and the
// first N messages cancel exactly and nothing differs between the two runs but the extra 4N.
import { existsSync, mkdirSync, mkdtempSync, copyFileSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Proc, freePort, run, type BrokerConfig } from "./proc.js";
import { PYAUTH_LABEL, buildPyauth, pyauthConf, pyauthEnv, type PyauthBuild } from "./pyauth.js";

export interface WorkloadEnv {
  benchDir: string;      // <build>/bench: workload, native_p.so, data/
  plugin: string;
  defaultWasm: string;
  runDir: string;
  pyauthScript: string;  // ../shared/anchors/build-pyauth.sh (absent: pyauth skipped)
  pyauthPolicyDir: string; // directory of pyauth_policy_p.py
  scale: number;         // multiplies every workload's N
  configs: string[];     // configuration keys to run (empty: all)
  profiles: boolean;     // keep every run's dump and callgrind_annotate's per-function profile
  glibcTunables: string; // GLIBC_TUNABLES for the broker ("" leaves glibc's defaults)
  log(msg: string): void;
}

export interface Workload {
  key: string;
  what: string;
  args: string[];        // bench/workload options
  warm: number;          // N: messages before the measured 4N
  fanout: number;        // deliveries per message
  checks: number;        // ACL checks per message (WRITE at ingress + one READ per delivery)
}

export const WORKLOADS: Workload[] = [
  { key: "W1", what: "one topic (load L): `bench` publishes to `users/bench/x`, one subscriber as `bench` on `users/bench/#`",
    args: ["-p", "0", "-t", "1", "-s", "1"], warm: 5000, fanout: 1, checks: 2 },
  { key: "W2", what: "100 topics: `bench` publishes round-robin to `users/bench/t0` .. `t99`, one subscriber as `bench` on `users/bench/#`",
    args: ["-p", "0", "-t", "100", "-s", "1"], warm: 5000, fanout: 1, checks: 2 },
  // P lets only u read users/u/#, so a message reaches its own user's connections only: each
  // client subscribes to its own subtree (a subscriber on users/+/# would be refused or, under
  // acl_file, which grants every subscription, receive nothing).
  { key: "W3", what: "1,000 clients x 20 topics: `user0000`..`user0999` (one connection each, subscribed to its own `users/<u>/#`) publish in turn, " +
    "each message to one of the client's 20 topics `users/<u>/t0`..`t19` chosen Zipf(1.1) from a fixed-seed generator",
    args: ["-p", "1000", "-t", "20", "-z", "1.1", "-s", "0"], warm: 20000, fanout: 1, checks: 2 },
  // Fan-out: P gives no user WRITE on public/#, so the readers share the publisher's subtree.
  { key: "W4", what: "fan-out: `bench` publishes round-robin to `users/bench/t0`..`t9`, 50 subscribers as `bench` (50 connections) on `users/bench/#`: " +
    "1 WRITE and 50 READ checks per message",
    args: ["-p", "0", "-t", "10", "-s", "50"], warm: 1000, fanout: 50, checks: 51 },
];


const DYNSEC_SO = "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so";
const MOSQUITTO = "/usr/sbin/mosquitto";
// Under valgrind the policy's init runs far slower than the plugin's wall-clock limit for
// lifecycle hooks allows; the limit's value does not change the code path.
const VALGRIND_WASM = ["plugin_opt_wasm_timeout_ms 3600000"];

function configs(env: WorkloadEnv, py: PyauthBuild): BrokerConfig[] {
  const data = join(env.benchDir, "data");
  const wasm = (extra: string[]): string[] => ["allow_anonymous false", `plugin ${env.plugin}`,
    `plugin_opt_wasm_module ${env.defaultWasm}`, `plugin_opt_password_file ${data}/passwd`,
    `plugin_opt_acl_file ${data}/acl`, ...extra, ...VALGRIND_WASM];
  const native = join(env.benchDir, "native_p.so");
  const list: BrokerConfig[] = [
    { key: "noauth", label: "no auth (baseline)", ours: false, needs: [], conf: () => ["allow_anonymous true"] },
    { key: "file", label: "password_file + acl_file", ours: false, needs: [],
      conf: () => ["allow_anonymous false", `password_file ${data}/passwd`, `acl_file ${data}/acl`] },
    { key: "dynsec", label: "dynamic-security", ours: false, needs: [DYNSEC_SO],
      conf: (dir) => {
        copyFileSync(join(data, "dynsec.json"), join(dir, "dynsec.json")); // dynsec rewrites it
        return ["allow_anonymous false", `plugin ${DYNSEC_SO}`, `plugin_opt_config_file ${dir}/dynsec.json`];
      } },
    { key: "native", label: "native C plugin", ours: false, needs: [native],
      conf: () => ["allow_anonymous false", `plugin ${native}`, `plugin_opt_password_file ${data}/passwd`] },
  ];
  if (py.so !== null) {
    const so = py.so;
    list.push({ key: "pyauth", label: PYAUTH_LABEL, ours: false, needs: [so], conf: () => pyauthConf(so, data),
      env: pyauthEnv(py) });
  }
  list.push(
    // No cache/grants options: the plugin's defaults (cache on, grants on) are what is measured.
    { key: "wasm_default", label: "default policy, default configuration (cache + grants)", ours: true,
      needs: [env.plugin, env.defaultWasm], conf: () => wasm([]) },
    { key: "wasm_cache", label: "default policy, cache only (`wasm_acl_grants off`)", ours: true,
      needs: [env.plugin, env.defaultWasm], conf: () => wasm(["plugin_opt_wasm_acl_grants off"]) },
    { key: "wasm_nocache", label: "default policy, no cache (`wasm_acl_cache off`)", ours: true,
      needs: [env.plugin, env.defaultWasm], conf: () => wasm(["plugin_opt_wasm_acl_cache off"]) },
  );
  return list.filter((c) => {
    const missing = c.needs.filter((f) => !existsSync(f));
    if (missing.length) env.log(`workloads: skipping ${c.key}: missing ${missing.join(", ")}`);
    return missing.length === 0;
  });
}

function callgrindTotal(file: string): number {
  const text = readFileSync(file, "utf8");
  const m = /^totals:\s*(\d+)/m.exec(text) ?? /^summary:\s*(\d+)/m.exec(text);
  if (!m) throw new Error(`no totals in ${file}`);
  return Number(m[1]);
}

export interface WorkloadRow {
  config: string; label: string; ours: boolean; warm: number; measured: number;
  ir_measured: number; ir_per_msg: number; ir_above_noauth_per_msg: number; ir_per_acl_check: number;
  /** Inclusive Ir of the broker's mosquitto_acl_check (every ACL check enters there: $-topic
   * rules, acl_file, plugins v4 and v5), and per check above no-auth's: the checks' own cost,
   * free of what a configuration changes elsewhere in the broker (see workloadsMarkdown). */
  ir_acl_path: number; ir_acl_path_per_check: number;
  /** Inclusive Ir of plugin__handle_tick (the broker calls it every main-loop iteration). */
  ir_tick: number;
  wall_s: number;
}

/** Inclusive Ir of one function of the dump (0 when it never ran). */
async function inclusiveIr(dump: string, fns: string[]): Promise<Record<string, number>> {
  const out = await run("callgrind_annotate", ["--inclusive=yes", "--threshold=100", "--auto=no", dump]);
  const res: Record<string, number> = {};
  for (const fn of fns) {
    const m = new RegExp(`^\\s*([\\d,]+)\\s+\\([\\d. %]+\\)\\s+\\S*:${fn} \\[`, "m").exec(out);
    res[fn] = m ? Number(m[1].replace(/,/g, "")) : 0;
  }
  return res;
}

/** One broker under callgrind for one workload and configuration: warm N, then 4N measured. */
async function runOne(env: WorkloadEnv, w: Workload, cfg: BrokerConfig): Promise<WorkloadRow> {
  const dir = mkdtempSync(join(env.runDir, `wl-${w.key}-${cfg.key}-`));
  const cg = join(dir, "callgrind.out");
  const port = await freePort();
  const conf = join(dir, "mosquitto.conf");
  // sys_interval 0: no $SYS publishing, whose cost would depend on the run's wall time.
  writeFileSync(conf, [`listener ${port} 127.0.0.1`, "user root", "sys_interval 0", ...cfg.conf(dir)].join("\n") + "\n");
  const t0 = Date.now();
  const brokerEnv = { ...(cfg.env ?? process.env) };
  if (env.glibcTunables !== "") brokerEnv.GLIBC_TUNABLES = env.glibcTunables;
  const broker = new Proc("valgrind", ["--tool=callgrind", "--instr-atstart=no", `--callgrind-out-file=${cg}`,
    ...(env.profiles ? ["--dump-instr=yes"] : []), MOSQUITTO, "-c", conf], { env: brokerEnv });
  const warm = Math.max(1, Math.round(w.warm * env.scale));
  const measured = 4 * warm;
  try {
    await broker.waitLine(/mosquitto version \S+ running/, 600000);
    const load = new Proc(join(env.benchDir, "workload"), [...w.args, String(port), join(env.benchDir, "data", "passwords.txt")],
      { stdin: true });
    try {
      await load.waitLine(/^READY/, 900000);
      const phase = async (n: number, from: number): Promise<void> => {
        load.write(`${n}\n`);
        const done = await load.waitLine(/^DONE/, 3600000, from);
        const [, sent, received] = done.split(" ").map(Number);
        if (sent !== n || received !== n * w.fanout) {
          throw new Error(`${w.key} ${cfg.key}: sent ${sent} of ${n}, received ${received} of ${n * w.fanout}: configuration does not implement P?`);
        }
      };
      await phase(warm, 0);
      await run("callgrind_control", ["-i", "on", String(broker.pid)]);
      await phase(measured, load.lines.findIndex((l) => l.startsWith("DONE")) + 1);
      await run("callgrind_control", ["-i", "off", String(broker.pid)]);
    } finally {
      load.endInput();
      await load.stop(null, 60000);
    }
    await broker.stop(); // callgrind writes its dump at exit
    if (!existsSync(cg) || statSync(cg).size === 0) throw new Error(`${w.key} ${cfg.key}: callgrind wrote no dump`);
    const ir = callgrindTotal(cg);
    const incl = await inclusiveIr(cg, ["mosquitto_acl_check", "plugin__handle_tick"]);
    if (env.profiles) {
      const excl = await run("callgrind_annotate", ["--threshold=99", "--auto=no", cg]);
      const incl = await run("callgrind_annotate", ["--inclusive=yes", "--threshold=99", "--auto=no", cg]);
      writeFileSync(join(env.benchDir, `callgrind-${w.key}-${cfg.key}.txt`), `# exclusive\n${excl}\n\n# inclusive\n${incl}\n`);
      copyFileSync(cg, join(env.benchDir, `callgrind-${w.key}-${cfg.key}.out`)); // for callgrind_annotate --tree
    }
    return { config: cfg.key, label: cfg.label, ours: cfg.ours, warm, measured, ir_measured: ir,
      ir_per_msg: ir / measured, ir_above_noauth_per_msg: NaN, ir_per_acl_check: NaN,
      ir_acl_path: incl.mosquitto_acl_check, ir_acl_path_per_check: NaN, ir_tick: incl.plugin__handle_tick,
      wall_s: (Date.now() - t0) / 1000 };
  } finally {
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface WorkloadResults {
  pyauth: string;
  workloads: { key: string; what: string; checks_per_msg: number; warm: number; measured: number; rows: WorkloadRow[] }[];
}

export async function benchWorkloads(env: WorkloadEnv, keys: string[]): Promise<WorkloadResults> {
  mkdirSync(env.runDir, { recursive: true });
  const py = await buildPyauth(env.pyauthScript, env.pyauthPolicyDir, join(env.benchDir, "pyauth"),
    (m) => env.log(`workloads: ${m}`));
  const cfgs = configs(env, py).filter((c) => env.configs.length === 0 || env.configs.includes(c.key));
  const res: WorkloadResults = { pyauth: py.note, workloads: [] };
  for (const key of keys) {
    const w = WORKLOADS.find((x) => x.key === key);
    if (!w) throw new Error(`unknown workload ${key} (known: ${WORKLOADS.map((x) => x.key).join(", ")})`);
    const rows: WorkloadRow[] = [];
    for (const cfg of cfgs) {
      env.log(`workload ${w.key} under callgrind: ${cfg.key}`);
      const r = await runOne(env, w, cfg);
      env.log(`  ${fmt(r.ir_per_msg, 0)} Ir/msg (${fmt(r.wall_s, 0)} s)`);
      rows.push(r);
    }
    const noauth = rows.find((r) => r.config === "noauth");
    for (const r of rows) {
      r.ir_above_noauth_per_msg = r.ir_per_msg - (noauth?.ir_per_msg ?? NaN);
      r.ir_per_acl_check = r.ir_above_noauth_per_msg / w.checks;
      r.ir_acl_path_per_check = (r.ir_acl_path - (noauth?.ir_acl_path ?? NaN)) / (r.measured * w.checks);
    }
    res.workloads.push({ key: w.key, what: w.what, checks_per_msg: w.checks, warm: rows[0]?.warm ?? NaN,
      measured: rows[0]?.measured ?? NaN, rows });
  }
  return res;
}

function fmt(v: number, d = 1): string {
  return Number.isFinite(v) ? v.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d }) : "n/a";
}

/** The results as markdown: a table per workload, then the default configuration's ratios.
 * Two figures per check: the whole broker's marginal Ir above no-auth divided by the checks
 * (the measure: everything a configuration costs, including what it changes outside the
 * check: a plugin's threads put glibc on its multi-threaded paths in every system call and
 * malloc, a plugin's tick hook runs every main-loop iteration, and the heap's layout moves
 * malloc's cost), and the ACL path alone (inclusive Ir of mosquitto_acl_check above no-auth's). */
export function workloadsMarkdown(res: WorkloadResults): string {
  const md: string[] = [];
  const get = (rows: WorkloadRow[], k: string, f: keyof WorkloadRow): number => {
    const v = rows.find((r) => r.config === k)?.[f];
    return typeof v === "number" ? v : NaN;
  };
  for (const w of res.workloads) {
    md.push(`**${w.key}**: ${w.what}. ${w.checks_per_msg} ACL checks per message; ` +
      `${w.warm.toLocaleString("en-US")} messages warm-up, ${w.measured.toLocaleString("en-US")} measured.`, "");
    md.push("| configuration | Ir/msg | above no-auth per msg | Ir per ACL check | vs acl_file | vs native | ACL path Ir per check | path vs acl_file | path vs native |",
      "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    const file = get(w.rows, "file", "ir_per_acl_check"), native = get(w.rows, "native", "ir_per_acl_check");
    const fileP = get(w.rows, "file", "ir_acl_path_per_check"), nativeP = get(w.rows, "native", "ir_acl_path_per_check");
    for (const r of w.rows) {
      if (r.config === "noauth") {
        md.push(`| ${r.label} | ${fmt(r.ir_per_msg, 0)} | - | - | - | - | - | - | - |`);
        continue;
      }
      md.push(`| ${r.label} | ${fmt(r.ir_per_msg, 0)} | ${fmt(r.ir_above_noauth_per_msg, 0)} | ` +
        `${fmt(r.ir_per_acl_check, 0)} | ${fmt(r.ir_per_acl_check / file, 2)} | ${fmt(r.ir_per_acl_check / native, 2)} | ` +
        `${fmt(r.ir_acl_path_per_check, 0)} | ${fmt(r.ir_acl_path_per_check / fileP, 2)} | ${fmt(r.ir_acl_path_per_check / nativeP, 2)} |`);
    }
    md.push("");
  }
  md.push("| default policy, default configuration | " + res.workloads.map((w) => w.key).join(" | ") + " |",
    "|---|" + "---:|".repeat(res.workloads.length));
  const row = (label: string, f: (rows: WorkloadRow[]) => number, d: number): void => {
    md.push(`| ${label} | ` + res.workloads.map((w) => fmt(f(w.rows), d)).join(" | ") + " |");
  };
  const ratio = (k: "ir_per_acl_check" | "ir_acl_path_per_check", base: string) =>
    (r: WorkloadRow[]): number => get(r, "wasm_default", k) / get(r, base, k);
  row("Ir per ACL check, whole broker", (r) => get(r, "wasm_default", "ir_per_acl_check"), 0);
  row("vs acl_file (target <= 1)", ratio("ir_per_acl_check", "file"), 2);
  row("vs native (target <= 1.2)", ratio("ir_per_acl_check", "native"), 2);
  row("Ir per ACL check, ACL path", (r) => get(r, "wasm_default", "ir_acl_path_per_check"), 0);
  row("vs acl_file, ACL path", ratio("ir_acl_path_per_check", "file"), 2);
  row("vs native, ACL path", ratio("ir_acl_path_per_check", "native"), 2);
  md.push("", res.pyauth);
  return md.join("\n") + "\n";
}
