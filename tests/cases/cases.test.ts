// Runs every case in cases.json through BOTH the Node host (sdk/host) and wa-call (the C runtime
// the plugin uses) and asserts each gives the expected value. One test per case and side, named
// "... [node host]" / "... [wa-call]", so a failure says which implementation is wrong.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { loadPolicy, PolicyLoadError } from '../../sdk/host/index.js';
import { BUILD, ROOT, WA_CALL_BIN, requireFile } from '../harness/paths.js';
import { messageLine, subscribeLine } from '../../sdk/host/call.js';

type Piece = string | { repeat: string; times: number };
type Arg = string | number | null | { hex: string } | { repeat: string; times: number } | { concat: Piece[] };

/** The text of a repeat or a concat argument. */
function built(a: { repeat: string; times: number } | { concat: Piece[] }): string {
  if ('repeat' in a) return a.repeat.repeat(a.times);
  return a.concat.map((p) => (typeof p === 'string' ? p : p.repeat.repeat(p.times))).join('');
}
type Expect = string | { refused: string };
type Hook = 'unpwd_check' | 'acl_check' | 'psk_key_get' | 'on_message' | 'on_message_out' | 'on_subscribe';

interface ClientSpec {
  id?: string;
  address?: string;
  protocol?: number;
}

interface Case {
  name: string;
  policy?: string;
  options?: Record<string, string>;
  options_list?: [string, string][];
  client?: ClientSpec;
  hook: Hook;
  args: Arg[];
  expect: Expect;
}

interface Group {
  name: string;
  policy: string;
  options?: Record<string, string>;
  cases: Case[];
}

const ACCESS: Record<string, number> = { none: 0, read: 1, write: 2, subscribe: 4, unsubscribe: 8 };

const file = join(ROOT, 'tests/cases/cases.json');
const groups = (JSON.parse(readFileSync(file, 'utf8')) as { groups: Group[] }).groups;

/** build/... follows the BUILD directory; everything else is relative to the repository root. */
function repoPath(p: string): string {
  if (isAbsolute(p)) return p;
  if (p === 'build' || p.startsWith('build/')) return join(BUILD, p.slice('build/'.length));
  return resolve(ROOT, p);
}

/** Options in order: the group's, then the case's (same key: replaced in place), or options_list. */
function optionsOf(g: Group, c: Case): [string, string][] {
  let list: [string, string][];
  if (c.options_list) {
    list = c.options_list.map(([k, v]) => [k, v]);
  } else {
    list = Object.entries(g.options ?? {});
    for (const [k, v] of Object.entries(c.options ?? {})) {
      const i = list.findIndex(([key]) => key === k);
      if (i >= 0) list[i] = [k, v];
      else list.push([k, v]);
    }
  }
  return list.map(([k, v]) => [k, k.endsWith('_file') ? repoPath(v) : v]);
}

function bytes(a: Arg): Uint8Array | null {
  if (a === null) return null;
  if (typeof a === 'string' || typeof a === 'number') return new TextEncoder().encode(String(a));
  if ('hex' in a) return Uint8Array.from(Buffer.from(a.hex, 'hex'));
  return new TextEncoder().encode(built(a));
}

function text(a: Arg): string | null {
  if (a === null) return null;
  if (typeof a === 'string') return a;
  if (typeof a === 'number') return String(a);
  if ('repeat' in a || 'concat' in a) return built(a);
  throw new Error('raw bytes where the host API takes text');
}

/** The value wa-call prints for an outcome. */
type Outcome = { printed: string } | { refused: string };

function describeExpect(e: Expect): string {
  return typeof e === 'string' ? e : `refused /${e.refused}/`;
}

function check(side: string, outcome: Outcome, expect: Expect): void {
  if (typeof expect === 'string') {
    if ('refused' in outcome) assert.fail(`${side}: expected ${expect}, but the module was refused: ${outcome.refused}`);
    assert.equal(outcome.printed, expect, `${side}: expected ${expect}, got ${outcome.printed}`);
  } else {
    if (!('refused' in outcome)) assert.fail(`${side}: expected the module to be refused, got ${outcome.printed}`);
    assert.match(outcome.refused, new RegExp(expect.refused), `${side}: refusal reason`);
  }
}

// ---- Node host ---------------------------------------------------------------------------------

function runHost(policyPath: string, opts: [string, string][], c: Case): Outcome {
  const logs: string[] = [];
  let policy;
  try {
    // The plugin's options always start with wasm_module; the host reads its own wasm_*
    // settings (wasm_on_error, wasm_fuel, ...) from them as the plugin does.
    policy = loadPolicy(readFileSync(policyPath), {
      options: [['wasm_module', policyPath], ...opts],
      name: policyPath,
      onLog: (_level, m) => logs.push(m),
    });
  } catch (e) {
    // Like wa-call's stderr: the refusal plus whatever the guest logged on the way.
    if (e instanceof PolicyLoadError) return { refused: [e.message, ...logs].join('\n') };
    throw e;
  }
  try {
    const client = c.client ? { id: c.client.id, address: c.client.address, protocolVersion: c.client.protocol } : undefined;
    const a = c.args;
    switch (c.hook) {
      case 'unpwd_check':
        return { printed: policy.unpwdCheck(text(a[0]), bytes(a[1]), client) };
      case 'acl_check': {
        const req = {
          clientid: text(a[0]) ?? '',
          username: text(a[1]),
          topic: text(a[2]) ?? '',
          access: ACCESS[a[3] as string] ?? Number(a[3]),
          client: client ? { ...client, id: client.id ?? text(a[0]) } : undefined,
          ...(a.length > 4 ? { payload: bytes(a[4]) ?? undefined } : {}),
          ...(a.length > 5 ? { qos: Number(a[5]) } : {}),
          ...(a.length > 6 ? { retain: Number(a[6]) === 1 } : {}),
        };
        return { printed: policy.aclCheck(req) };
      }
      case 'psk_key_get': {
        const r = policy.psk(text(a[0]) ?? '', text(a[1]) ?? '', client);
        return { printed: r.decision === 'allow' ? r.key : r.decision === 'defer' ? 'defer' : 'none' };
      }
      case 'on_message':
      case 'on_message_out': {
        const req = {
          clientid: text(a[0]) ?? '', username: text(a[1]), topic: text(a[2]) ?? '', payload: bytes(a[3]) ?? '',
          client: client ? { ...client, id: client.id ?? text(a[0]) } : undefined,
          ...(a.length > 4 ? { qos: Number(a[4]) } : {}),
          ...(a.length > 5 ? { retain: Number(a[5]) === 1 } : {}),
        };
        return { printed: messageLine(c.hook === 'on_message' ? policy.message(req) : policy.messageOut(req)) };
      }
      case 'on_subscribe':
        return {
          printed: subscribeLine(policy.subscribe({
            clientid: text(a[0]) ?? '', username: text(a[1]), topic: text(a[2]) ?? '',
            client: client ? { ...client, id: client.id ?? text(a[0]) } : undefined,
            ...(a.length > 3 ? { qos: Number(a[3]) } : {}),
          })),
        };
    }
  } finally {
    policy.cleanup();
  }
}

// ---- wa-call -----------------------------------------------------------------------------------

/** Shell-quotes a string argument. */
function sq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Runs wa-call. Raw-byte arguments cannot go through spawn (it encodes strings as UTF-8), so a
 * case with one goes through sh, where printf writes the exact bytes (a sentinel keeps trailing
 * newlines from being stripped by the command substitution).
 */
function runWaCall(policyPath: string, opts: [string, string][], c: Case): Promise<Outcome> {
  const pre: string[] = [policyPath];
  for (const [k, v] of opts) pre.push('--opt', `${k}=${v}`);
  if (c.client?.id !== undefined) pre.push('--client-id', c.client.id);
  if (c.client?.address !== undefined) pre.push('--address', c.client.address);
  if (c.client?.protocol !== undefined) pre.push('--protocol', String(c.client.protocol));
  pre.push(c.hook);
  const raw = c.args.some((a) => a !== null && typeof a === 'object' && 'hex' in a);
  let cmd: string;
  let argv: string[];
  if (!raw) {
    cmd = WA_CALL_BIN;
    argv = [...pre, ...c.args.map((a) => (a === null ? '@null' : (text(a) as string)))];
  } else {
    const lines: string[] = [];
    const words = [sq(WA_CALL_BIN), ...pre.map(sq)];
    c.args.forEach((a, i) => {
      if (a === null) words.push(sq('@null'));
      else if (typeof a === 'object' && 'hex' in a) {
        const oct = [...Buffer.from(a.hex, 'hex')].map((b) => `\\${b.toString(8).padStart(3, '0')}`).join('');
        lines.push(`a${i}="$(printf '${oct}x')"; a${i}="\${a${i}%x}"`);
        words.push(`"$a${i}"`);
      } else words.push(sq(text(a) as string));
    });
    lines.push(`exec ${words.join(' ')}`);
    cmd = '/bin/sh';
    argv = ['-c', lines.join('\n')];
  }
  return new Promise((resolvePromise, reject) => {
    execFile(cmd, argv, { maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      if (code === 0) resolvePromise({ printed: stdout.trim() });
      else if (code === 2) resolvePromise({ refused: stderr.trim() || stdout.trim() });
      else reject(new Error(`wa-call failed (exit ${err?.code ?? err?.signal}): ${stderr}`));
    });
  });
}

// ---- the tests ---------------------------------------------------------------------------------

for (const g of groups) {
  describe(g.name, { concurrency: 8 }, () => {
    for (const c of g.cases) {
      const policyPath = repoPath(c.policy ?? g.policy);
      const opts = optionsOf(g, c);
      const label = `${c.name} (${c.hook} → ${describeExpect(c.expect)})`;
      test(`${label} [node host]`, () => {
        requireFile(policyPath, 'policy module');
        check('node host', runHost(policyPath, opts, c), c.expect);
      });
      test(`${label} [wa-call]`, async () => {
        requireFile(WA_CALL_BIN, 'wa-call (WA_CALL_BIN)');
        requireFile(policyPath, 'policy module');
        check('wa-call', await runWaCall(policyPath, opts, c), c.expect);
      });
    }
  });
}
