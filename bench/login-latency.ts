// Logins with wasm_login_thread off and on (docs/BENCHMARKS.md "Login thread"): a real mosquitto
// 2.1 broker with the plugin built against its headers and the default policy, whose
// password_file holds a mosquitto_passwd 2.1 `-H argon2id` hash (tests/fixtures/argon2id.txt,
// m=47104: ~45 ms a check). For each setting, N logins one after another (CONNECT to CONNACK,
// the right password), while a bystander connected before publishes QoS 1 messages to itself
// back to back (and once without it); then N logins all at once. Prints a markdown table: login latency median and p90,
// and the bystander's slowest round trip (the time the main thread was held); then a second one:
// a reload (SIGHUP) with the N sessions (and the bystander) connected, which mosquitto answers by
// asking basic authentication again of every client.
//   make bench-login                        (BENCH_LOGIN_ARGS="--logins 40")
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type Broker, listener, pluginConf, startBroker } from '../tests/harness/broker.js';
import { Prober } from '../tests/harness/bystander.js';
import { connect, tryConnect, uniqueId } from '../tests/harness/mqtt.js';
import { ROOT } from '../tests/harness/paths.js';
import { median } from './proc.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
}

const PLUGIN = arg('plugin', '');
const POLICY = arg('default-wasm', '');
const LOGINS = Number(arg('logins', '20'));

function p90(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * 0.9))];
}

// name -> [password, hash] from tests/fixtures/argon2id.txt
function argon2(): [string, string] {
  for (const line of readFileSync(join(ROOT, 'tests/fixtures/argon2id.txt'), 'utf8').split('\n')) {
    const f = line.split('\t');
    if (f[0] === 'default' && f.length === 3) return [f[1], f[2]];
  }
  throw new Error('tests/fixtures/argon2id.txt has no "default" line');
}

async function login(port: number, pw: string): Promise<number> {
  const t0 = performance.now();
  const r = await tryConnect({ port, version: 4, username: 'user', password: pw, timeoutMs: 30_000 });
  const ms = performance.now() - t0;
  if (!r.ok) throw new Error(`login refused: ${r.code}`);
  await r.client.end();
  return ms;
}

interface Row { setting: string; mode: string; median: number; p90: number; bystanderMax: number }
interface ReloadRow { setting: string; sessions: number; passMs: number; bystanderMax: number }

async function measure(lane: boolean, pw: string, hash: string, reloads: ReloadRow[]): Promise<Row[]> {
  const broker: Broker = await startBroker({
    name: `login-${lane ? 'on' : 'off'}`,
    files: { passwd: `user:${hash}\nbystander:${hash}\n` },
    config: (ctx) => `${listener(ctx.port)}\nallow_anonymous false\n${pluginConf({
      so: PLUGIN, module: POLICY,
      // One client address for all: the breaker's shares at their most, so that only the
      // placement of the check is compared.
      opts: { password_file: ctx.file('passwd'), wasm_login_thread: lane ? 'on' : 'off', wasm_client_share: 100, wasm_cpu_share: 100, wasm_timeout_ms: 5000 },
    })}`,
  });
  const rows: Row[] = [];
  try {
    if (lane) await broker.waitForLog(/login thread: loaded policy/);
    const topic = `probe/${uniqueId()}`;
    const bystander = await connect({ port: broker.port, username: 'bystander', password: pw, timeoutMs: 30_000 });
    await bystander.subscribe(topic, 1);
    for (const mode of ['sequential, no bystander', 'sequential', 'concurrent'] as const) {
      const probing = mode !== 'sequential, no bystander';
      const prober = new Prober(bystander, topic);
      if (probing) {
        prober.start();
        await prober.until(5);
      }
      const from = prober.rtts.length;
      let times: number[];
      if (mode !== 'concurrent') {
        times = [];
        for (let i = 0; i < LOGINS; i++) times.push(await login(broker.port, pw));
      } else {
        times = await Promise.all(Array.from({ length: LOGINS }, () => login(broker.port, pw)));
      }
      const during = probing ? (await prober.stop()).rtts.slice(from) : [];
      rows.push({
        setting: lane ? 'on' : 'off', mode, median: median(times), p90: p90(times),
        bystanderMax: during.length ? Math.max(...during) : NaN,
      });
    }
    // A reload with LOGINS sessions connected: mosquitto asks basic authentication again of
    // every client, against the policy being replaced.
    const held = [];
    for (let i = 0; i < LOGINS; i++) held.push(await connect({ port: broker.port, version: 4, username: 'user', password: pw, timeoutMs: 30_000 }));
    const prober = new Prober(bystander, topic).start();
    await prober.until(5);
    const from = prober.rtts.length;
    const t0 = performance.now();
    const since = await broker.sighup();
    await broker.waitForLog(/session_check after the reload/, { since, timeoutMs: 120_000 });
    const passMs = performance.now() - t0;
    const during = (await prober.stop()).rtts.slice(from);
    reloads.push({ setting: lane ? 'on' : 'off', sessions: LOGINS + 1, passMs, bystanderMax: Math.max(...during) });
    for (const c of held) await c.end();
    await bystander.end();
  } finally {
    await broker.stop();
  }
  return rows;
}

async function main(): Promise<void> {
  if (!PLUGIN || !POLICY) throw new Error('usage: login-latency.js --plugin build/2.1/mosquitto_wasm_auth.so --default-wasm build/policies/default.wasm [--logins N]');
  const [pw, hash] = argon2();
  const reloads: ReloadRow[] = [];
  const rows = [...(await measure(false, pw, hash, reloads)), ...(await measure(true, pw, hash, reloads))];
  const lines = [
    `| wasm_login_thread | ${LOGINS} argon2id logins | login median ms | login p90 ms | bystander slowest round trip ms |`,
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.setting} | ${r.mode} | ${r.median.toFixed(1)} | ${r.p90.toFixed(1)} | ${Number.isNaN(r.bystanderMax) ? '-' : r.bystanderMax.toFixed(1)} |`),
    '',
    '| wasm_login_thread | argon2id sessions connected | SIGHUP to the end of the session_check pass ms | bystander slowest round trip ms |',
    '|---|---:|---:|---:|',
    ...reloads.map((r) => `| ${r.setting} | ${r.sessions} | ${r.passMs.toFixed(0)} | ${r.bystanderMax.toFixed(1)} |`),
  ];
  console.log(lines.join('\n'));
  const out = arg('out', '');
  if (out) writeFileSync(out, lines.join('\n') + '\n');
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
