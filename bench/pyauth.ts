// The seed plugin, mosquitto_pyauth, as a configuration of policy P for bench/run.ts's in-process
// and broker rows and bench/workloads.ts's workloads: built by ../shared/anchors/build-pyauth.sh
// (not part of this repository), running P written in Python (bench/pyauth_policy_p.py). When the
// script is absent or fails, every pyauth row says so ("pyauth skipped: REASON") and the rest of
// the benchmark runs.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { run } from "./proc.js";

export const PYAUTH_LABEL = "seed pyauth (Python policy P)";
const MODULE = "pyauth_policy_p";

export interface PyauthBuild {
  /** The built auth_plugin_pyauth.so, or null when it could not be built. */
  so: string | null;
  /** "pyauth built by SCRIPT", or "pyauth skipped: REASON". */
  note: string;
  /** Directory of pyauth_policy_p.py: the plugin imports it from PYTHONPATH. */
  policyDir: string;
}

// make bench builds once for its in-process, broker and workload stages.
const builds = new Map<string, Promise<PyauthBuild>>();

/** Builds pyauth into outDir with the script; never rejects (a failure is a skip note). */
export function buildPyauth(script: string, policyDir: string, outDir: string,
  log: (msg: string) => void): Promise<PyauthBuild> {
  const [s, p, o] = [resolve(script), resolve(policyDir), resolve(outDir)];
  const key = `${s}\0${p}\0${o}`;
  let b = builds.get(key);
  if (b === undefined) {
    b = build(s, p, o, log);
    builds.set(key, b);
  }
  return b;
}

async function build(script: string, policyDir: string, outDir: string, log: (msg: string) => void): Promise<PyauthBuild> {
  const skip = (reason: string): PyauthBuild => {
    const note = `pyauth skipped: ${reason}`;
    log(note);
    return { so: null, note, policyDir };
  };
  if (!existsSync(script)) return skip(`${script} not found`);
  if (!existsSync(join(policyDir, `${MODULE}.py`))) return skip(`no ${MODULE}.py in ${policyDir}`);
  try {
    await run("bash", [script, outDir]);
  } catch (e) {
    return skip(`${script} failed: ${failure(e)}`);
  }
  return { so: join(outDir, "auth_plugin_pyauth.so"), note: `pyauth built by ${script}`, policyDir };
}

/** One line for a run() rejection: the exit status and the last line the command printed (for
 * pyauth, Python's exception or the script's error; valgrind's own "==PID==" lines skipped), not
 * the whole command line. */
export function failure(e: unknown): string {
  const lines = (e instanceof Error ? e.message : String(e)).split("\n");
  const status = /exited \(?\d+\)?/.exec(lines[0])?.[0] ?? lines[0];
  const last = lines.slice(1).map((l) => l.trim()).filter((l) => l !== "" && !/^==\d+==/.test(l)).at(-1);
  return last === undefined ? status : `${status}: ${last}`;
}

/** The environment the plugin's process needs: Python finds P's module on PYTHONPATH. */
export function pyauthEnv(b: PyauthBuild): NodeJS.ProcessEnv {
  return { ...process.env, PYTHONPATH: b.policyDir };
}

/** mosquitto.conf lines: pyauth as a v4 auth plugin with P's password file. */
export function pyauthConf(so: string, dataDir: string): string[] {
  return ["allow_anonymous false", `auth_plugin ${so}`, `auth_opt_pyauth_module ${MODULE}`,
    `auth_opt_password_file ${dataDir}/passwd`];
}

/** bench/inproc options: the same module and password file, given as the broker gives auth_opt_*. */
export function pyauthInprocOpts(so: string, dataDir: string): string[] {
  return ["-o", `pyauth_module=${MODULE}`, "-o", `password_file=${dataDir}/passwd`, so];
}
