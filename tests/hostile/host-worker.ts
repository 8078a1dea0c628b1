// Runs one hostile case through the Node host in a worker thread, so that a guest the host fails
// to stop (an endless loop without metering) shows up as a worker the test terminates after a
// bounded wait, instead of freezing the whole test process. Protocol: workerData is a HostJob,
// the one message posted back is a HostOutcome (support.ts).
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import type { HostCall, HostJob, HostOutcome } from './support.js';

interface PolicyLike {
  unpwdCheck(username: string | null, password: string | null): string;
  aclCheck(req: { clientid: string; username: string | null; topic: string; access: number; payload?: string; qos?: number; retain?: boolean }): string;
  psk(identity: string, hint: string): { decision: string; key: string | null };
  grants(req: { clientid: string; username: string | null }): string | null | { decide(topic: string, access: number): string };
  reload(newWasm?: Uint8Array): void;
  cleanup(): void;
}

interface HostModule {
  loadPolicy(wasm: Uint8Array, opts: Record<string, unknown>): PolicyLike;
}

function run(p: PolicyLike, c: HostCall): string {
  switch (c.hook) {
    case 'unpwd_check':
      return p.unpwdCheck(c.username, c.password);
    case 'acl_check':
      return p.aclCheck({ clientid: c.clientid, username: c.username, topic: c.topic, access: c.access, payload: c.payload ?? '' });
    case 'psk_key_get': {
      const r = p.psk(c.identity, c.hint);
      return r.key ?? r.decision;
    }
    case 'grants': {
      const g = p.grants({ clientid: c.clientid, username: c.username });
      if (g === null) return 'none';
      if (typeof g === 'string') return g;
      return `write=${g.decide('good/x', 2)} other=${g.decide('other/x', 2)} subscribe=${g.decide('any/#', 4)}`;
    }
    case 'reload':
      p.reload(c.wasm === undefined ? undefined : new Uint8Array(readFileSync(c.wasm)));
      return 'reloaded';
    case 'cleanup':
      p.cleanup();
      return 'cleaned up';
  }
}

async function main(job: HostJob): Promise<HostOutcome> {
  const host = (await import(pathToFileURL(job.hostIndex).href)) as HostModule;
  const out: HostOutcome = { loadError: null, results: [], logs: [], thrown: null };
  let policy: PolicyLike;
  try {
    policy = host.loadPolicy(new Uint8Array(readFileSync(job.wasm)), {
      ...job.opts,
      onLog: (level: number, message: string) => out.logs.push({ level, message }),
    });
  } catch (e) {
    const err = e as Error;
    out.loadError = { name: err.name, message: err.message };
    return out;
  }
  for (const c of job.calls) {
    try {
      out.results.push(run(policy, c));
    } catch (e) {
      // A hook call must never throw: the host turns every guest failure into a decision.
      out.thrown = `${c.hook}: ${(e as Error).stack ?? String(e)}`;
      break;
    }
  }
  return out;
}

main(workerData as HostJob).then(
  (o) => parentPort?.postMessage(o),
  (e: unknown) => parentPort?.postMessage({ loadError: null, results: [], logs: [], thrown: `worker: ${(e as Error).stack ?? String(e)}` }),
);
