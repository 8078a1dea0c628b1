// The Node host: runs a policy .wasm with the plugin's ABI (docs/ABI.md), rules and failure
// semantics, without a broker. One Policy = one module and at most one live instance; an instance
// that fails is discarded and re-created from the checked bytes before the next call, like the
// plugin does, so a trap never leaks half-updated guest state into later requests.
import { GuestError, GuestMemory } from './memory.js';
import { createImports, type ClientInfo } from './imports.js';
import { checkModule, type CheckedModule, type HookSignatures } from './rules.js';
import { ModuleError, NO_OFFSET, withMemoryMaximum } from './wasm-binary.js';
import { isHex, utf16leToText } from './text.js';
import {
  DECISION_ALLOW, DECISION_DEFER, DECISION_DENY, EXPORT_ABI_VERSION, EXPORT_BUFFER, LOG_ERR, LOG_WARNING,
  type HookName,
} from './abi.js';
import {
  WA_ABI_VERSION, WA_INITIAL_REQUEST_BUFFER, WA_MAX_FIELD_BYTES, WA_MAX_MEMORY_PAGES, WA_MAX_MODULE_BYTES,
  WA_MAX_OPTIONS, WA_MAX_PAYLOAD_BYTES, WA_MAX_PSK_KEY_CHARS,
} from './limits.js';

export type { ClientInfo } from './imports.js';

/** A request's outcome, as mosquitto sees it. */
export type Decision = 'allow' | 'deny' | 'defer';

/** psk_key_get's outcome: a hex key, or none (deny), or defer (failure decision `defer`). */
export type PskOutcome = { decision: 'allow'; key: string } | { decision: 'deny' | 'defer'; key: null };

export interface LoadOptions {
  /** plugin_opt_* settings without the prefix, in configuration order. */
  options?: [string, string][];
  /** Decision for a request whose hook fails (trap, bad result): like `plugin_opt_wasm_on_error`. Default deny. */
  failureDecision?: 'deny' | 'defer';
  /** Default client for requests that do not give one. */
  client?: ClientInfo;
  /** Receives guest log lines and host errors (without the `wasm-auth: ` prefix). Default: stderr. */
  onLog?: (level: number, message: string) => void;
  /** Payloads above this many bytes get the failure decision (7-argument acl_check only). */
  maxPayload?: number;
  /** Cap on the guest's linear memory, in 64 KiB pages. */
  maxMemoryPages?: number;
  /** Cap on the module size in bytes. */
  maxModuleBytes?: number;
}

export interface AclRequest {
  clientid: string;
  username: string | null;
  topic: string;
  /** mosquitto access value: 1 read, 2 write, 4 subscribe, 8 unsubscribe (0 none). */
  access: number;
  payload?: Uint8Array | string;
  qos?: number;
  retain?: boolean;
  /** Overrides the default client for this request (its id defaults to `clientid`). */
  client?: ClientInfo;
}

/** The module was refused or would not start; the message is phrased like the plugin's. */
export class PolicyLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PolicyLoadError';
  }
}

type GuestFn = (...args: number[]) => number | undefined;

interface Live {
  exports: Record<string, GuestFn> & { memory: WebAssembly.Memory };
  mem: GuestMemory;
  bufPtr: number;
  bufCap: number;
}

interface Compiled {
  bytes: Uint8Array;
  checked: CheckedModule;
  module: WebAssembly.Module;
}

type Field = Uint8Array | null;

const utf8 = new TextEncoder();
const bytesOf = (v: string | Uint8Array): Uint8Array => (typeof v === 'string' ? utf8.encode(v) : v);

function defaultLog(level: number, message: string): void {
  process.stderr.write(`wasm-auth: ${message}\n`);
  void level;
}

function errorText(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

export class Policy {
  private compiled: Compiled;
  private live: Live | null = null;
  private closed = false;
  private requestClient: ClientInfo | null = null;
  private inInit = false;
  private readonly options: [string, string][];
  private readonly failure: Decision;
  private readonly log: (level: number, message: string) => void;
  private readonly maxPayload: number;
  private readonly limits: { maxModuleBytes: number; maxMemoryPages: number };
  private readonly defaultClient: ClientInfo | undefined;

  /** Instances created so far (1 after load; +1 per re-creation after a failure or a reload). */
  instances = 0;
  /** Hook calls that ended with the failure decision. */
  failures = 0;

  /** Use loadPolicy(). */
  constructor(wasm: Uint8Array, opts: LoadOptions) {
    this.options = opts.options ?? [];
    this.failure = opts.failureDecision ?? 'deny';
    this.log = opts.onLog ?? defaultLog;
    this.maxPayload = opts.maxPayload ?? WA_MAX_PAYLOAD_BYTES;
    this.limits = {
      maxModuleBytes: opts.maxModuleBytes ?? WA_MAX_MODULE_BYTES,
      maxMemoryPages: opts.maxMemoryPages ?? WA_MAX_MEMORY_PAGES,
    };
    this.defaultClient = opts.client;
    if (this.options.length > WA_MAX_OPTIONS) {
      throw new PolicyLoadError(`${this.options.length} options exceed the cap of ${WA_MAX_OPTIONS}`);
    }
    this.compiled = this.compile(wasm);
    try {
      this.live = this.start(this.compiled, 0);
    } catch (e) {
      throw new PolicyLoadError(errorText(e));
    }
  }

  /** Hooks the module exports, with the index of the signature each uses (see abi.ts HOOKS). */
  get hooks(): HookSignatures {
    return { ...this.compiled.checked.hooks };
  }

  /** unpwd_check: `defer` when the module does not export it (the plugin would not register it). */
  unpwdCheck(username: string | null, password: string | Uint8Array | null, client?: ClientInfo): Decision {
    if (this.compiled.checked.hooks.unpwd_check === undefined) return this.notExported();
    const fields: Field[] = [username === null ? null : utf8.encode(username), password === null ? null : bytesOf(password)];
    return this.request('unpwd_check', client ?? this.defaultClient ?? null, fields, (live, d) =>
      this.decision(live.exports.unpwd_check(d[0], d[1])));
  }

  /** acl_check, short or long form depending on the signature the module exports. */
  aclCheck(req: AclRequest): Decision {
    const sig = this.compiled.checked.hooks.acl_check;
    if (sig === undefined) return this.notExported();
    const client: ClientInfo = { id: req.clientid, ...this.defaultClient, ...req.client };
    if (req.client?.id === undefined) client.id = req.clientid;
    const fields: Field[] = [utf8.encode(req.clientid), req.username === null ? null : utf8.encode(req.username), utf8.encode(req.topic)];
    if (sig === 1) {
      const payload = bytesOf(req.payload ?? new Uint8Array(0));
      if (payload.length > this.maxPayload) {
        return this.fail('acl_check', `payload of ${payload.length} bytes exceeds wasm_max_payload ${this.maxPayload}`, false);
      }
      fields.push(payload);
      const qos = req.qos ?? 0;
      const retain = req.retain ? 1 : 0;
      return this.request('acl_check', client, fields, (live, d) =>
        this.decision(live.exports.acl_check(d[0], d[1], d[2], req.access, d[3], qos, retain)));
    }
    return this.request('acl_check', client, fields, (live, d) =>
      this.decision(live.exports.acl_check(d[0], d[1], d[2], req.access)));
  }

  /** psk_key_get: the hex key, or null for no key (deny) or defer. */
  pskKeyGet(identity: string, hint: string, client?: ClientInfo): string | null {
    return this.psk(identity, hint, client).key;
  }

  /** psk_key_get with the decision spelled out (defer is possible as the failure decision). */
  psk(identity: string, hint: string, client?: ClientInfo): PskOutcome {
    if (this.compiled.checked.hooks.psk_key_get === undefined) return { decision: this.notExported() as 'defer', key: null };
    const out: { key: string | null } = { key: null };
    const d = this.request('psk_key_get', client ?? this.defaultClient ?? null, [utf8.encode(identity), utf8.encode(hint)], (live, p) => {
      out.key = this.pskKey(live, live.exports.psk_key_get(p[0], p[1]));
      return out.key === null ? 'deny' : 'allow';
    });
    if (d === 'allow' && out.key !== null) return { decision: 'allow', key: out.key };
    return { decision: d === 'defer' ? 'defer' : 'deny', key: null };
  }

  /**
   * The broker's RELOAD: security_cleanup(1); if `newWasm` is given and differs, the new module is
   * checked and, if it starts, replaces the old one (old plugin_cleanup, new plugin_init); then
   * security_init(1). A new module that is refused or fails leaves the old policy in place.
   */
  reload(newWasm?: Uint8Array): void {
    this.ensureOpen();
    this.lifecycle('security_cleanup', (live) => { live.exports.security_cleanup?.(1); });
    if (newWasm !== undefined && !sameBytes(newWasm, this.compiled.bytes)) {
      let next: Compiled;
      try {
        next = this.compile(newWasm);
      } catch (e) {
        this.log(LOG_ERR, `reload: new module refused, keeping the current policy: ${errorText(e)}`);
        this.securityInitAfterReload();
        return;
      }
      this.lifecycle('plugin_cleanup', (live) => { live.exports.plugin_cleanup?.(); });
      const old = this.compiled;
      this.live = null;
      try {
        this.live = this.start(next, 1);
        this.compiled = next;
        return;
      } catch (e) {
        this.log(LOG_ERR, `reload: new module failed to start, keeping the current policy: ${errorText(e)}`);
        this.compiled = old;
        this.live = null;
      }
    }
    this.securityInitAfterReload();
  }

  /** Unload: security_cleanup(0), plugin_cleanup(); the policy cannot be used afterwards. */
  cleanup(): void {
    if (this.closed) return;
    this.lifecycle('security_cleanup', (live) => { live.exports.security_cleanup?.(0); });
    this.lifecycle('plugin_cleanup', (live) => { live.exports.plugin_cleanup?.(); });
    this.live = null;
    this.closed = true;
  }

  // ---- internals ----

  private compile(wasm: Uint8Array): Compiled {
    const bytes = new Uint8Array(wasm); // own copy: the caller may reuse its buffer
    let checked: CheckedModule;
    try {
      checked = checkModule(bytes, this.limits);
    } catch (e) {
      throw new PolicyLoadError(errorText(e));
    }
    const mem = checked.summary.memory;
    const toCompile = mem === null ? bytes : withMemoryMaximum(bytes, mem, mem.max ?? this.limits.maxMemoryPages);
    let module: WebAssembly.Module;
    try {
      module = new WebAssembly.Module(toCompile);
    } catch (e) {
      throw new PolicyLoadError(new ModuleError(null, NO_OFFSET, `invalid module: ${errorText(e)}`).message);
    }
    return { bytes, checked, module };
  }

  // Instantiates (running the start function), checks the ABI version, gets the request buffer,
  // then plugin_init and security_init(reload). Throws on any failure or refusal.
  private start(c: Compiled, reload: 0 | 1): Live {
    let exportsRef: Live['exports'] | null = null;
    const imports = createImports({
      memory: () => {
        if (exportsRef === null) throw new GuestError('host import called before the instance exists');
        return exportsRef.memory;
      },
      client: () => this.requestClient,
      log: (level, message) => this.log(level, message),
      optionFile: (key) => this.optionFile(key),
    });
    this.instances++;
    const instance = new WebAssembly.Instance(c.module, imports as WebAssembly.Imports);
    const exports = instance.exports as Live['exports'];
    exportsRef = exports;
    const version = exports[EXPORT_ABI_VERSION]() as number;
    if (version !== WA_ABI_VERSION) {
      throw new PolicyLoadError(`built for ABI ${version}, this plugin speaks ${WA_ABI_VERSION}`);
    }
    const live: Live = { exports, mem: new GuestMemory(() => exports.memory), bufPtr: 0, bufCap: 0 };
    this.grow(live, WA_INITIAL_REQUEST_BUFFER);
    const hooks = c.checked.hooks;
    if (hooks.plugin_init !== undefined) {
      const r = this.withOptions(live, (opts) => exports.plugin_init(opts));
      if (hooks.plugin_init === 1 && r === 0) throw new PolicyLoadError('plugin_init refused to start (returned 0)');
    }
    if (hooks.security_init !== undefined) {
      const r = this.withOptions(live, (opts) => exports.security_init(opts, reload));
      if (hooks.security_init === 1 && r === 0) throw new PolicyLoadError('security_init refused to start (returned 0)');
    }
    return live;
  }

  private securityInitAfterReload(): void {
    if (this.compiled.checked.hooks.security_init === undefined) return;
    this.lifecycle('security_init', (live) => {
      const r = this.withOptions(live, (opts) => live.exports.security_init(opts, 1));
      if (this.compiled.checked.hooks.security_init === 1 && r === 0) {
        this.log(LOG_WARNING, 'security_init refused the reload (returned 0); keeping the current policy');
      }
    });
  }

  // Runs a lifecycle hook on the live instance; a failure is logged and discards the instance.
  private lifecycle(hook: HookName, run: (live: Live) => void): void {
    if (this.compiled.checked.hooks[hook] === undefined) return;
    const live = this.ensureLive(hook);
    if (live === null) return;
    try {
      run(live);
    } catch (e) {
      this.log(LOG_ERR, `${hook} failed: ${errorText(e)}`);
      this.live = null;
    }
  }

  private ensureOpen(): void {
    if (this.closed) throw new Error('policy has been cleaned up');
  }

  // The live instance, re-created if the previous one failed; null (logged) if that fails too.
  private ensureLive(hook: HookName): Live | null {
    if (this.live !== null) return this.live;
    try {
      this.live = this.start(this.compiled, 0);
      return this.live;
    } catch (e) {
      this.log(LOG_ERR, `${hook}: cannot re-create the policy instance: ${errorText(e)}`);
      this.live = null;
      return null;
    }
  }

  private notExported(): Decision {
    this.ensureOpen();
    return 'defer';
  }

  private fail(hook: HookName, why: string, discard: boolean): Decision {
    this.failures++;
    this.log(LOG_ERR, `${hook}: ${why}; failure decision: ${this.failure}`);
    if (discard) this.live = null;
    return this.failure;
  }

  // Writes the fields as Str descriptors into the request buffer and calls the hook.
  private request(hook: HookName, client: ClientInfo | null, fields: Field[], call: (live: Live, descs: number[]) => Decision): Decision {
    this.ensureOpen();
    // Text fields are MQTT strings (at most 65535 bytes); the payload has its own cap.
    for (let i = 0; i < Math.min(fields.length, 3); i++) {
      const f = fields[i];
      if (f !== null && f.length > WA_MAX_FIELD_BYTES) {
        return this.fail(hook, `field of ${f.length} bytes exceeds ${WA_MAX_FIELD_BYTES}`, false);
      }
    }
    const live = this.ensureLive(hook);
    if (live === null) return this.fail(hook, 'no policy instance', false);
    this.requestClient = client;
    try {
      return call(live, this.writeStrs(live, fields));
    } catch (e) {
      return this.fail(hook, errorText(e), true);
    } finally {
      this.requestClient = null;
    }
  }

  private decision(v: number | undefined): Decision {
    switch (v) {
      case DECISION_DENY: return 'deny';
      case DECISION_ALLOW: return 'allow';
      case DECISION_DEFER: return 'defer';
      default: throw new GuestError(`invalid decision ${String(v)}`);
    }
  }

  private pskKey(live: Live, p: number | undefined): string | null {
    if (p === 0 || p === undefined) return null;
    const b = live.mem.asString(p);
    if (b === null) throw new GuestError(`psk_key_get returned an invalid string pointer 0x${(p >>> 0).toString(16)}`);
    if (b.length / 2 > WA_MAX_PSK_KEY_CHARS) {
      throw new GuestError(`psk_key_get returned a key of ${b.length / 2} characters (cap ${WA_MAX_PSK_KEY_CHARS})`);
    }
    const key = utf16leToText(b, b.length * 2 + 2);
    if (!isHex(key)) throw new GuestError('psk_key_get returned a key that is not hexadecimal');
    return key;
  }

  // Makes the request buffer at least `size` bytes (a guest call: may trap, may grow memory).
  private grow(live: Live, size: number): void {
    const p = live.exports[EXPORT_BUFFER](size) as number;
    if (!live.mem.valid(p, size)) {
      throw new GuestError(`${EXPORT_BUFFER}(${size}) returned an invalid pointer 0x${(p >>> 0).toString(16)}`);
    }
    live.bufPtr = p >>> 0;
    live.bufCap = size;
  }

  private reserve(live: Live, size: number): void {
    if (size > live.bufCap) this.grow(live, size);
  }

  private writeStrs(live: Live, fields: Field[]): number[] {
    const total = fields.reduce((n, f) => n + 8 + (f === null ? 0 : f.length), 0);
    this.reserve(live, total);
    const base = live.bufPtr;
    let data = base + 8 * fields.length;
    const descs: number[] = [];
    fields.forEach((f, i) => {
      if (f === null) {
        descs.push(0);
        return;
      }
      const d = base + 8 * i;
      live.mem.setU32(d, data);
      live.mem.setU32(d + 4, f.length);
      live.mem.bytes(data, f.length, 'request buffer').set(f);
      data += f.length;
      descs.push(d);
    });
    return descs;
  }

  // Options descriptor { count, [key Str, value Str]... } then the bytes, at the buffer start.
  private withOptions(live: Live, call: (opts: number) => number | undefined): number | undefined {
    const enc = this.options.map(([k, v]) => [utf8.encode(k), utf8.encode(v)] as const);
    const head = 4 + 16 * enc.length;
    this.reserve(live, enc.reduce((n, [k, v]) => n + k.length + v.length, head));
    const base = live.bufPtr;
    live.mem.setU32(base, enc.length);
    let data = base + head;
    enc.forEach(([k, v], i) => {
      const e = base + 4 + 16 * i;
      live.mem.setU32(e, data);
      live.mem.setU32(e + 4, k.length);
      live.mem.bytes(data, k.length, 'options').set(k);
      data += k.length;
      live.mem.setU32(e + 8, data);
      live.mem.setU32(e + 12, v.length);
      live.mem.bytes(data, v.length, 'options').set(v);
      data += v.length;
    });
    this.inInit = true;
    try {
      return call(base);
    } finally {
      this.inInit = false;
    }
  }

  private optionFile(key: string): string | null {
    if (!this.inInit || !key.endsWith('_file')) return null;
    for (let i = this.options.length - 1; i >= 0; i--) {
      if (this.options[i][0] === key) return this.options[i][1];
    }
    return null;
  }
}

/** Checks, compiles and starts a policy (plugin_init, security_init(0)); throws PolicyLoadError if refused. */
export function loadPolicy(wasm: Uint8Array, opts: LoadOptions = {}): Policy {
  return new Policy(wasm, opts);
}
