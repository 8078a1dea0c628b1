// `call`: one request (or a batch from stdin) against a policy .wasm in the Node host, with
// wa-call's arguments, output and exit status, so one case file runs through both hosts. Shared by
// the repository's cli.js (which names itself wa-call in messages, as the C tool does) and the
// packaged `wasm-auth call`.
import { readFileSync } from 'node:fs';
import {
  hostSettings, loadPolicy, PolicyLoadError, type ClientInfo, type HostSettings, type MessageOutcome, type Policy, type SubscribeOutcome,
} from './policy.js';
import { WA_MAX_OPTIONS } from './limits.js';
import { ModuleError, readModuleFile } from './gate.js';
import { sanitizeControls } from './text.js';

const NULL_TOKEN = '@null';
const EMPTY_TOKEN = '@empty';
const BATCH_MAX_TOKENS = 16; // wa-call: further tokens of a line are ignored

/** The arguments of `CMD`, e.g. "wasm-auth call". */
export function callUsage(cmd: string): string {
  return `usage: ${cmd} POLICY.wasm [--opt KEY=VALUE]... [--client-id ID] [--address ADDR] [--protocol N]
                   HOOK ARGS...
  unpwd_check USERNAME PASSWORD
  acl_check CLIENTID USERNAME TOPIC ACCESS [PAYLOAD [QOS [RETAIN]]]
  psk_key_get IDENTITY HINT
  on_tick | on_disconnect CLIENTID USERNAME | session_check CLIENTID USERNAME | actions
  on_message | on_message_out CLIENTID USERNAME TOPIC PAYLOAD [QOS [RETAIN]]
  on_subscribe CLIENTID USERNAME FILTER [QOS]
  ext_auth_start | ext_auth_continue CLIENTID METHOD DATA
ACCESS: none|read|write|subscribe|unsubscribe or its number (0, 1, 2, 4, 8).
Any string argument may be ${NULL_TOKEN} for an absent value (no username, no password, ...).
       ${cmd} POLICY.wasm [options] --batch
  reads one request per line from stdin (HOOK ARGS... separated by spaces, ${EMPTY_TOKEN} for an
  empty string, or the word reload) and prints one answer line each (reload: ok or failed),
  all against the same loaded policy, so state and recovery across requests can be tested.
The client behind the request: --client-id (default: acl_check's CLIENTID), --address
(default: unknown), --protocol 3|4|5 (default: 0, unknown).
Host settings come from the wasm_* options as in the plugin (wasm_on_error, wasm_fuel,
wasm_init_fuel, wasm_max_payload, wasm_max_memory_pages, wasm_max_module_bytes,
wasm_max_table_elems, wasm_max_functions, wasm_max_globals, wasm_max_data_bytes);
wasm_timeout_ms, wasm_init_timeout_ms, wasm_client_share, wasm_cpu_share and wasm_acl_cache
are checked as the plugin checks them but not enforced.
Prints allow, deny or defer (and the policy's reason, when it gave one, as "reason: TEXT" on
stderr); psk_key_get prints the key (hex) or none; on_tick, on_disconnect and
actions print the deferred actions queued so far, then forget them: kick_client:ID, kick_user:NAME,
publish:TOPIC:QOS:RETAIN:PAYLOAD (bytes outside ! to ~ as .), separated by spaces, or none.
on_message and on_message_out print drop, or deliver followed by what it rewrote: topic:T payload:P
retain:R. on_subscribe prints deny, or allow followed by what it rewrote: topic:F qos:Q.
ext_auth_* print allow, deny, defer or continue, then the AUTH data out if any (bytes outside ! to ~ as .).
Exit status 0, or 2 for usage and load errors.
`;
}

/** Bad arguments: the caller prints `PROG: message` and exits 2. */
export class UsageError extends Error {}

const value = (s: string): string | null => (s === NULL_TOKEN ? null : s === EMPTY_TOKEN ? '' : s);

function parseInt10(s: string, min: number, max: number, what: string): number {
  if (!/^[+-]?[0-9]+$/.test(s)) throw new UsageError(`bad ${what}: ${s}`);
  const v = Number(s);
  if (v < min || v > max) throw new UsageError(`bad ${what}: ${s}`);
  return v;
}

const ACCESS: Record<string, number> = { none: 0, read: 1, write: 2, subscribe: 4, unsubscribe: 8 };

const printable = (b: Uint8Array): string => Array.from(b, (x) => (x > 0x20 && x < 0x7f ? String.fromCharCode(x) : '.')).join('');

/** on_message's outcome as wa-call prints it: drop, or deliver and each staged change. */
export function messageLine(r: MessageOutcome): string {
  if (r === 'drop') return 'drop';
  let line = 'deliver';
  if (r.topic !== undefined) line += ` topic:${r.topic}`;
  if (r.payload !== undefined) line += ` payload:${printable(r.payload)}`;
  if (r.retain !== undefined) line += ` retain:${r.retain ? 1 : 0}`;
  return line;
}

/** on_subscribe's outcome as wa-call prints it: deny, or allow and each staged change. */
export function subscribeLine(r: SubscribeOutcome): string {
  if (r === 'deny') return 'deny';
  let line = 'allow';
  if (r.topic !== undefined) line += ` topic:${r.topic}`;
  if (r.qos !== undefined) line += ` qos:${r.qos}`;
  return line;
}

// The queued actions on one line, as wa-call prints them (taken: the plugin would carry them out now).
function actionsLine(policy: Policy): string {
  const shown = policy.takeActions().map((a) => {
    if (a.kind === 'kick_client') return `kick_client:${a.clientid}`;
    if (a.kind === 'kick_user') return `kick_user:${a.username}`;
    return `publish:${a.topic}:${a.qos}:${a.retain ? 1 : 0}:${printable(a.payload)}`;
  });
  return shown.length ? shown.join(' ') : 'none';
}

function run(policy: Policy, client: ClientInfo, hook: string, args: string[]): string {
  const has = policy.hooks;
  const notExported = (): never => {
    throw new UsageError(`the policy does not export ${hook} (the plugin would not register for it)`);
  };
  switch (hook) {
    case 'unpwd_check': {
      if (args.length !== 2) throw new UsageError('unpwd_check takes USERNAME PASSWORD');
      if (has.unpwd_check === undefined) notExported();
      return policy.unpwdCheck(value(args[0]), value(args[1]), client);
    }
    case 'acl_check': {
      if (args.length < 4 || args.length > 7) throw new UsageError('acl_check takes CLIENTID USERNAME TOPIC ACCESS [PAYLOAD [QOS [RETAIN]]]');
      const access = ACCESS[args[3]] ?? parseInt10(args[3], 0, 255, 'ACCESS');
      const payload = args.length > 4 ? value(args[4]) : null;
      const qos = args.length > 5 ? parseInt10(args[5], 0, 2, 'QOS') : 0;
      const retain = args.length > 6 ? parseInt10(args[6], 0, 1, 'RETAIN') === 1 : false;
      if (has.acl_check === undefined) notExported();
      const clientid = value(args[0]) ?? '';
      return policy.aclCheck({
        clientid, username: value(args[1]), topic: value(args[2]) ?? '', access,
        payload: payload ?? '', qos, retain, client: { ...client, id: client.id ?? value(args[0]) },
      });
    }
    case 'psk_key_get': {
      if (args.length !== 2) throw new UsageError('psk_key_get takes IDENTITY HINT');
      if (has.psk_key_get === undefined) notExported();
      const r = policy.psk(value(args[0]) ?? '', value(args[1]) ?? '', client);
      return r.decision === 'allow' ? r.key : r.decision === 'defer' ? 'defer' : 'none';
    }
    case 'on_tick': {
      if (args.length !== 0) throw new UsageError('on_tick takes no arguments');
      if (has.on_tick === undefined) notExported();
      policy.tick();
      return actionsLine(policy);
    }
    case 'on_disconnect': {
      if (args.length !== 2) throw new UsageError('on_disconnect takes CLIENTID USERNAME');
      if (has.on_disconnect === undefined) notExported();
      policy.disconnect(value(args[0]) ?? '', value(args[1]), { ...client, id: client.id ?? value(args[0]) });
      return actionsLine(policy);
    }
    case 'session_check': {
      if (args.length !== 2) throw new UsageError('session_check takes CLIENTID USERNAME');
      if (has.session_check === undefined) notExported();
      return policy.sessionCheck(value(args[0]) ?? '', value(args[1]));
    }
    case 'on_message':
    case 'on_message_out': {
      if (args.length < 4 || args.length > 6) throw new UsageError(`${hook} takes CLIENTID USERNAME TOPIC PAYLOAD [QOS [RETAIN]]`);
      const qos = args.length > 4 ? parseInt10(args[4], 0, 2, 'QOS') : 0;
      const retain = args.length > 5 ? parseInt10(args[5], 0, 1, 'RETAIN') === 1 : false;
      if (has[hook] === undefined) notExported();
      const req = {
        clientid: value(args[0]) ?? '', username: value(args[1]), topic: value(args[2]) ?? '', payload: value(args[3]) ?? '',
        qos, retain, client: { ...client, id: client.id ?? value(args[0]) },
      };
      return messageLine(hook === 'on_message' ? policy.message(req) : policy.messageOut(req));
    }
    case 'on_subscribe': {
      if (args.length < 3 || args.length > 4) throw new UsageError('on_subscribe takes CLIENTID USERNAME FILTER [QOS]');
      const qos = args.length > 3 ? parseInt10(args[3], 0, 2, 'QOS') : 0;
      if (has.on_subscribe === undefined) notExported();
      return subscribeLine(policy.subscribe({
        clientid: value(args[0]) ?? '', username: value(args[1]), topic: value(args[2]) ?? '', qos,
        client: { ...client, id: client.id ?? value(args[0]) },
      }));
    }
    case 'ext_auth_start':
    case 'ext_auth_continue': {
      if (args.length !== 3) throw new UsageError(`${hook} takes CLIENTID METHOD DATA`);
      if (has[hook] === undefined) notExported();
      const clientid = value(args[0]) ?? '';
      const data = new TextEncoder().encode(value(args[2]) ?? '');
      const c = { ...client, id: client.id ?? value(args[0]) };
      const r = hook === 'ext_auth_start'
        ? policy.extAuthStart(clientid, value(args[1]) ?? '', data, c)
        : policy.extAuthContinue(clientid, value(args[1]) ?? '', data, c);
      const shown = Array.from(r.out, (b) => (b > 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
      return shown ? `${r.decision} ${shown}` : r.decision;
    }
    case 'actions': {
      if (args.length !== 0) throw new UsageError('actions takes no arguments');
      return actionsLine(policy);
    }
    default:
      throw new UsageError(`unknown hook ${hook} (unpwd_check, acl_check, psk_key_get, on_tick, on_disconnect, session_check, on_message, ext_auth_start, ext_auth_continue, on_message_out, on_subscribe, actions)`);
  }
}

// The answer line, then the policy's reason for a decision on stderr: stdout stays one word, as
// scripts and the shared case files read it.
function answer(policy: Policy, client: ClientInfo, hook: string, args: string[], out: Output): void {
  out.stdout(run(policy, client, hook, args) + '\n');
  if ((hook === 'unpwd_check' || hook === 'acl_check') && policy.reason !== '') {
    out.stderr(`reason: ${sanitizeControls(policy.reason)}\n`);
  }
}

/** Where the CLI writes: process streams, or buffers when run in-process (tests). */
export interface Output {
  stdout(text: string): void;
  stderr(text: string): void;
  /** All of standard input, for --batch (default: the process's). */
  stdin?(): string;
}

// --batch, as wa-call: one request per line, against the same policy; "reload" re-reads the
// file. A bad line answers "error" (the reason on stderr) and the batch goes on; exit status 2
// if any line was bad.
function batch(policy: Policy, path: string, settings: HostSettings, defaults: ClientInfo, out: Output, prog: string): number {
  const input = out.stdin ? out.stdin() : readFileSync(0, 'utf8');
  let status = 0;
  for (const line of input.split('\n')) {
    const tok = line.split(/[ \t\r]+/).filter((t) => t !== '').slice(0, BATCH_MAX_TOKENS);
    if (tok.length === 0) continue;
    if (tok[0] === 'reload' && tok.length === 1) {
      out.stdout(`${reload(policy, path, settings, out) ? 'ok' : 'failed'}\n`);
      continue;
    }
    try {
      answer(policy, { ...defaults }, tok[0], tok.slice(1), out);
    } catch (e) {
      if (!(e instanceof UsageError)) throw e;
      out.stderr(`${prog}: ${e.message}\n`);
      out.stdout('error\n');
      status = 2;
    }
  }
  return status;
}

// The plugin's reload: the file as it is now (read as at load), then Policy.reload.
function reload(policy: Policy, path: string, settings: HostSettings, out: Output): boolean {
  let bytes: Uint8Array;
  try {
    bytes = readModuleFile(path, settings.maxModuleBytes);
  } catch (e) {
    if (!(e instanceof ModuleError)) throw e;
    out.stderr(`wasm-auth: reload of ${path} failed, keeping the previous policy: ${e.message}\n`);
    return false;
  }
  return policy.reload(bytes);
}

/** `--opt KEY=VALUE`'s value added to opts (wasm_module first, as the plugin gets them). */
export function addOption(opts: [string, string][], arg: string): void {
  const eq = arg.indexOf('=');
  if (eq <= 0) throw new UsageError(`--opt takes KEY=VALUE, not ${arg}`);
  if (opts.length === WA_MAX_OPTIONS) throw new UsageError('too many options');
  opts.push([arg.slice(0, eq), arg.slice(eq + 1)]);
}

/**
 * Loads the policy at path as the plugin would with opts: settings first ("cannot load policy:
 * REASON"), then the file and the module ("cannot load policy FILE: REASON"), each one line on
 * stderr. Host log lines go to stderr, prefixed as the plugin's. null when it cannot be loaded.
 */
export function loadForCli(path: string, opts: [string, string][], out: Output): { policy: Policy; settings: HostSettings } | null {
  let settings: HostSettings;
  try {
    settings = hostSettings(opts);
  } catch (e) {
    out.stderr(`wasm-auth: cannot load policy: ${(e as Error).message}\n`);
    return null;
  }
  const refuse = (why: string): null => {
    out.stderr(`wasm-auth: cannot load policy ${path}: ${why}\n`);
    return null;
  };
  let bytes: Uint8Array;
  try {
    bytes = readModuleFile(path, settings.maxModuleBytes);
  } catch (e) {
    if (e instanceof ModuleError) return refuse(e.message);
    throw e;
  }
  try {
    const policy = loadPolicy(bytes, {
      options: opts,
      name: path,
      onLog: (_level, message) => out.stderr(`wasm-auth: ${message}\n`),
    });
    return { policy, settings };
  } catch (e) {
    if (e instanceof PolicyLoadError) return refuse(e.message);
    throw e;
  }
}

function call(argv: string[], out: Output, prog: string): number {
  const [path, ...rest] = argv;
  const opts: [string, string][] = [['wasm_module', path]];
  const client: ClientInfo = { id: null, address: null, protocolVersion: 0 };
  let i = 0;
  for (; i < rest.length && rest[i].startsWith('--') && rest[i] !== '--batch'; i += 2) {
    const opt = rest[i];
    const arg = rest[i + 1];
    if (arg === undefined) throw new UsageError(`${opt} needs a value`);
    if (opt === '--opt') {
      addOption(opts, arg);
    } else if (opt === '--client-id') {
      client.id = value(arg);
    } else if (opt === '--address') {
      client.address = value(arg);
    } else if (opt === '--protocol') {
      client.protocolVersion = parseInt10(arg, 0, 5, '--protocol');
    } else {
      throw new UsageError(`unknown option ${opt}`);
    }
  }
  if (i >= rest.length) throw new UsageError('no HOOK given');
  const isBatch = rest[i] === '--batch';
  if (isBatch && i + 1 !== rest.length) throw new UsageError('--batch takes no HOOK');
  const loaded = loadForCli(path, opts, out);
  if (loaded === null) return 2;
  const { policy, settings } = loaded;
  // Like wa-call: the answer (or the usage error) comes before the cleanup hooks' output.
  let status = 0;
  try {
    if (isBatch) status = batch(policy, path, settings, client, out, prog);
    else answer(policy, client, rest[i], rest.slice(i + 1), out);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    out.stderr(`${prog}: ${e.message}\n`);
    status = 2;
  } finally {
    policy.cleanup();
  }
  return status;
}

/**
 * Runs `call` on argv (POLICY.wasm and what follows): its exit status. Usage errors are one line
 * on stderr, prefixed `PROG: `.
 */
export function runCall(argv: string[], out: Output, prog: string): number {
  return withUsage(out, prog, () => call(argv, out, prog));
}

/** A command's exit status: body's, or 2 with its UsageError as one line `PROG: message` on stderr. */
export function withUsage(out: Output, prog: string, body: () => number): number {
  try {
    return body();
  } catch (e) {
    if (e instanceof UsageError) {
      out.stderr(`${prog}: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}
