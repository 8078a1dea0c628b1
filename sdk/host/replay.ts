// `wasm-auth replay FILE POLICY.wasm [--opt KEY=VALUE]...`: the requests a broker recorded
// (plugin_opt_wasm_record, README "Operating") put to a policy, in order,
// against one instance, and every decision that differs from the recorded one printed. A policy
// change is so tested against real traffic before it is deployed: exit 0 when no decision
// differs, 1 when some do, 2 for bad arguments, a policy that does not load, or a bad record.
import { closeSync, openSync, readSync } from 'node:fs';
import { addOption, loadForCli, type Output, UsageError, withUsage } from './call.js';
import type { Decision, Policy } from './policy.js';

const ACCESS: Record<string, number> = { read: 1, write: 2, subscribe: 4, unsubscribe: 8 };
const DECISIONS = new Set(['allow', 'deny', 'defer']);
const DEFAULT_SHOW = 100;
const CHUNK = 1 << 20;
/** A record line longer than this is refused: the recorder writes none near it (a topic and a
 * payload of at most 64 KiB and 1 MiB, base64 included). */
const MAX_LINE = 8 << 20;

export function replayUsage(cmd: string): string {
  return `usage: ${cmd} FILE POLICY.wasm [--opt KEY=VALUE]... [--show N]
Puts the requests recorded in FILE (JSON lines written by the plugin's plugin_opt_wasm_record)
to POLICY.wasm, loaded with the options given as the plugin would be, one request after another
against the same instance, and prints each whose decision differs from the recorded one:
  FILE:LINE: ACCESS TOPIC client ID user NAME: recorded DECISION, now DECISION
then a summary line. Connects recorded with a password are skipped (the recorder never keeps
passwords); so are lines that are not requests.
--show N   print at most N differences (default ${DEFAULT_SHOW}); all are counted
Exit status 0 when no decision differs, 1 when some do, 2 for bad arguments, a policy that does
not load or a line that is not a record.
`;
}

interface Recorded {
  access: string;
  clientid: string | null;
  username: string | null;
  address: string | null;
  protocol: number;
  topic: string | null;
  qos: number;
  retain: boolean;
  payload: Uint8Array | null;
  passwordRecorded: boolean;
  decision: Decision;
}

type Field = string | number | boolean | null | undefined | object;

function str(o: { [k: string]: Field }, k: string, what: string): string | null {
  const v = o[k];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw new UsageError(`"${k}" is not a string (${what})`);
  return v;
}

/** The request of a record line, null for a line that is not one (a suppressed-count line). */
function parseRecord(line: string): Recorded | null {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch (e) {
    throw new UsageError(`not JSON: ${(e as Error).message}`);
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new UsageError('not a JSON object');
  const r = o as { [k: string]: Field };
  if (r.access === undefined) return null;
  const access = str(r, 'access', 'read, write, subscribe, unsubscribe or connect');
  if (access === null || (access !== 'connect' && ACCESS[access] === undefined)) {
    throw new UsageError(`"access" is ${JSON.stringify(r.access)}, not read, write, subscribe, unsubscribe or connect`);
  }
  const decision = str(r, 'decision', 'allow, deny or defer');
  if (decision === null || !DECISIONS.has(decision)) throw new UsageError(`"decision" is ${JSON.stringify(r.decision)}, not allow, deny or defer`);
  const topic = str(r, 'topic', 'the topic');
  if (access !== 'connect' && topic === null) throw new UsageError(`a ${access} record without "topic"`);
  const payload = str(r, 'payload', 'base64');
  if (payload !== null && !/^[A-Za-z0-9+/]*={0,2}$/.test(payload)) throw new UsageError('"payload" is not base64');
  const qos = r.qos ?? 0;
  if (typeof qos !== 'number' || !Number.isInteger(qos) || qos < 0 || qos > 2) throw new UsageError(`"qos" is ${JSON.stringify(r.qos)}, not 0, 1 or 2`);
  const protocol = r.protocol ?? 0;
  if (typeof protocol !== 'number' || !Number.isInteger(protocol) || protocol < 0 || protocol > 5) {
    throw new UsageError(`"protocol" is ${JSON.stringify(r.protocol)}, not 0 to 5`);
  }
  return {
    access,
    clientid: str(r, 'client_id', 'the client id'),
    username: str(r, 'username', 'the username'),
    address: str(r, 'address', 'the address'),
    protocol,
    topic,
    qos,
    retain: r.retain === true,
    payload: payload === null ? null : new Uint8Array(Buffer.from(payload, 'base64')),
    passwordRecorded: r.password !== undefined && r.password !== null,
    decision: decision as Decision,
  };
}

/** The policy's decision on a record's request; null when it cannot be replayed. */
function decide(policy: Policy, r: Recorded): Decision | null {
  const client = { id: r.clientid, address: r.address, protocolVersion: r.protocol };
  if (r.access === 'connect') {
    if (r.passwordRecorded) return null;
    return policy.unpwdCheck(r.username, null, client);
  }
  return policy.aclCheck({
    clientid: r.clientid ?? '', username: r.username, topic: r.topic ?? '', access: ACCESS[r.access],
    payload: r.payload ?? '', qos: r.qos, retain: r.retain, client,
  });
}

/** Each line of the file with its number, read in chunks; the last one may lack its newline. */
function* lines(path: string): Generator<{ n: number; text: string; last: boolean }> {
  const fd = openSync(path, 'r');
  const utf8 = new TextDecoder();
  try {
    const buf = new Uint8Array(CHUNK);
    let pending = new Uint8Array(0);
    let n = 0;
    for (;;) {
      const got = readSync(fd, buf, 0, CHUNK, null);
      let data = pending;
      if (got > 0) {
        data = new Uint8Array(pending.length + got);
        data.set(pending);
        data.set(buf.subarray(0, got), pending.length);
      }
      let start = 0;
      for (let nl = data.indexOf(10, start); nl >= 0; nl = data.indexOf(10, start)) {
        yield { n: ++n, text: utf8.decode(data.subarray(start, nl)), last: false };
        start = nl + 1;
      }
      pending = data.slice(start);
      if (got === 0) {
        if (pending.length) yield { n: ++n, text: utf8.decode(pending), last: true };
        return;
      }
      if (pending.length > MAX_LINE) throw new UsageError(`line ${n + 1} is longer than ${MAX_LINE} bytes`);
    }
  } finally {
    closeSync(fd);
  }
}

function replay(argv: string[], out: Output): number {
  const [file, path, ...rest] = argv;
  if (file === undefined || path === undefined) throw new UsageError('takes FILE POLICY.wasm');
  const opts: [string, string][] = [['wasm_module', path]];
  let show = DEFAULT_SHOW;
  for (let i = 0; i < rest.length; i += 2) {
    const arg = rest[i + 1];
    if (arg === undefined) throw new UsageError(`${rest[i]} needs a value`);
    if (rest[i] === '--opt') addOption(opts, arg);
    else if (rest[i] === '--show' && /^[0-9]+$/.test(arg)) show = Number(arg);
    else if (rest[i] === '--show') throw new UsageError(`bad --show: ${arg}`);
    else throw new UsageError(`unknown option ${rest[i]}`);
  }
  const loaded = loadForCli(path, opts, out);
  if (loaded === null) return 2;
  const { policy } = loaded;
  let replayed = 0, differ = 0, withPassword = 0, other = 0, truncated = false;
  try {
    for (const { n, text, last } of lines(file)) {
      if (text.trim() === '') continue;
      let r: Recorded | null;
      try {
        r = parseRecord(text);
      } catch (e) {
        if (!(e instanceof UsageError)) throw e;
        // A record cut short by a stop while it was written: the file's last line, unterminated.
        if (last) {
          truncated = true;
          continue;
        }
        throw new UsageError(`${file}:${n}: not a record: ${e.message}`);
      }
      if (r === null) {
        other++;
        continue;
      }
      const now = decide(policy, r);
      if (now === null) {
        withPassword++;
        continue;
      }
      replayed++;
      if (now === r.decision) continue;
      differ++;
      if (differ <= show) {
        const what = r.access === 'connect' ? 'connect' : `${r.access} ${r.topic}`;
        out.stdout(`${file}:${n}: ${what} client ${r.clientid ?? '(none)'} user ${r.username ?? '(none)'}: recorded ${r.decision}, now ${now}\n`);
      }
    }
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const err = e as NodeJS.ErrnoException;
    if (err.code) throw new UsageError(`cannot read ${file}: ${err.message}`);
    throw e;
  } finally {
    policy.cleanup();
  }
  const skipped = withPassword + other + (truncated ? 1 : 0);
  out.stdout(`replayed ${replayed} requests from ${file}: ${differ} differ` +
    (differ > show ? ` (${show} shown)` : '') +
    `; ${skipped} lines skipped (${withPassword} connects with a password, which is never recorded; ${other} not requests` +
    `${truncated ? '; the last line, cut short' : ''})\n`);
  return differ > 0 ? 1 : 0;
}

/** Runs `replay` on argv (FILE, POLICY.wasm and options): its exit status. */
export function runReplay(argv: string[], out: Output, prog: string): number {
  return withUsage(out, prog, () => replay(argv, out));
}
