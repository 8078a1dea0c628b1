// The Node host's public API: load a policy .wasm and ask it what the broker would ask, with the
// plugin's loading, reloading and failure behaviour (plugin-c/runtime/auth.c, plugin-c/runtime/policy.c) and
// without a broker. Hooks a module does not export answer `defer`: the plugin would not have
// registered for the event, so mosquitto would ask the next plugin (or its own checks).
import {
  Runtime, compileModule, DEFAULT_ERROR_LOG_INTERVAL_MS, type CompiledModule, type Decision, type MessageOutcome, type SubscribeOutcome, type ExtAuthResult, type RuntimeConfig,
} from './runtime.js';
import type { Action, ClientInfo } from './imports.js';
import type { HookSignatures } from './gate.js';
import type { ClientGrants } from './grants.js';
import { LOG_ERR, LOG_NOTICE } from './abi.js';
import { badLoadOption, unknownOptionName } from './load-options.js';
import {
  WA_DEFAULT_CLIENT_SHARE, WA_DEFAULT_CPU_SHARE, WA_DEFAULT_FUEL, WA_DEFAULT_TIMEOUT_MS, WA_INIT_FUEL_FACTOR, WA_INIT_TIMEOUT_FACTOR, WA_MAX_DATA_BYTES, WA_MAX_FUNCTIONS,
  WA_MAX_GLOBALS, WA_MAX_MEMORY_PAGES, WA_MAX_TABLE_ELEMS, WA_MAX_MODULE_BYTES, WA_MAX_OPTIONS, WA_MAX_PAYLOAD_BYTES,
  WA_DEFAULT_TICK_MS, WA_MAX_FIELD_BYTES, WA_DEFAULT_RECORD_MAX_BYTES, WA_RECORD_MIN_BYTES, WA_DEFAULT_SYS_INTERVAL_S, WA_MAX_SYS_INTERVAL_S, WA_DEFAULT_SHADOW_SHARE,
} from './limits.js';

export type { Decision, MessageOutcome, SubscribeOutcome, ExtAuthResult } from './runtime.js';

/**
 * Bytes as callers have them: a Uint8Array or a Node Buffer (e.g. from readFileSync). Listed
 * separately because with TypeScript 5.9 and @types/node 20 a Buffer is not a Uint8Array.
 */
export type ByteInput = Uint8Array | Buffer;
export type { Action, ClientInfo } from './imports.js';

/** psk_key_get's outcome: a hex key, no key (deny), or defer (only as the failure decision). */
export type PskOutcome = { decision: 'allow'; key: string } | { decision: 'deny' | 'defer'; key: null };

export interface LoadOptions {
  /**
   * plugin_opt_* settings without the prefix, in configuration order, as the policy sees them
   * (Options). The plugin always includes `wasm_module`; add it if the policy reads it. The host
   * settings among them (wasm_on_error, wasm_fuel, wasm_init_fuel, wasm_max_payload,
   * wasm_max_memory_pages, wasm_max_module_bytes, wasm_max_table_elems, wasm_max_functions,
   * wasm_max_globals, wasm_max_data_bytes) apply as in the plugin, unless the fields below
   * override them. wasm_timeout_ms, wasm_init_timeout_ms, wasm_client_share, wasm_cpu_share and
   * wasm_acl_cache are checked as the plugin checks them (a bad value refuses the load with its
   * message) but not enforced: see HostSettings.
   */
  options?: [string, string][];
  /** Decision for a request whose hook fails (trap, bad result); overrides wasm_on_error. Default deny. */
  failureDecision?: 'deny' | 'defer';
  /** Default client for requests that do not name one (acl checks default its id to the clientid). */
  client?: ClientInfo;
  /** Receives guest log lines and host messages, without the `wasm-auth: ` prefix. Default: stderr. */
  onLog?: (level: number, message: string) => void;
  /** Payloads above this many bytes get the failure decision (7-argument acl_check only). */
  maxPayload?: number;
  /** Cap on the guest's linear memory, in 64 KiB pages; plugin_opt_wasm_max_memory_pages. */
  maxMemoryPages?: number;
  /** Cap on the module size; plugin_opt_wasm_max_module_bytes. */
  maxModuleBytes?: number;
  /** Cap on the initial table size; plugin_opt_wasm_max_table_elems. */
  maxTableElems?: number;
  /** Cap on functions, defined + imported; plugin_opt_wasm_max_functions. */
  maxFunctions?: number;
  /** Cap on globals, defined + imported; plugin_opt_wasm_max_globals. */
  maxGlobals?: number;
  /** Cap on all data segments together, in bytes; plugin_opt_wasm_max_data_bytes. */
  maxDataBytes?: number;
  /** Fuel per request hook call and per cleanup hook call; plugin_opt_wasm_fuel. 0 = unlimited. */
  fuel?: number;
  /**
   * Fuel per lifecycle call (start function, plugin_init, security_init); plugin_opt_wasm_init_fuel.
   * Default: wasm_init_fuel if given, else the request fuel x 40 (unlimited with fuel 0). 0 = unlimited.
   */
  initFuel?: number | bigint;
  /** Per-request error lines at most once per this many ms, like the plugin (10 s). 0 = log all. */
  errorLogIntervalMs?: number;
  /** Name used in load/reload messages (the plugin uses the module's path). */
  name?: string;
}

export interface AclRequest {
  clientid: string;
  username: string | null;
  topic: string;
  /** mosquitto access value: 1 read, 2 write, 4 subscribe, 8 unsubscribe (0 none). */
  access: number;
  /** Seen only by the 7-argument acl_check. */
  payload?: ByteInput | string;
  qos?: number;
  retain?: boolean;
  /** The client behind the request (default: LoadOptions.client, with `id` = clientid). */
  client?: ClientInfo;
}

/** A subscription a client asked for (mosquitto 2.1's MOSQ_EVT_SUBSCRIBE), as on_subscribe sees it. */
export interface SubscribeRequest {
  clientid: string;
  username: string | null;
  /** The subscription filter. */
  topic: string;
  /** The QoS the broker granted (default 0). */
  qos?: number;
  /** The client behind the request (default: LoadOptions.client, with `id` = clientid). */
  client?: ClientInfo;
}

/**
 * A message a client published (MOSQ_EVT_MESSAGE), as on_message sees it; for on_message_out
 * (mosquitto 2.1's MOSQ_EVT_MESSAGE_OUT) the copy one subscriber is about to get, with the
 * subscriber's clientid and username.
 */
export interface MessageRequest {
  clientid: string;
  username: string | null;
  topic: string;
  payload?: ByteInput | string;
  qos?: number;
  retain?: boolean;
  /** The client behind the message (default: LoadOptions.client, with `id` = clientid). */
  client?: ClientInfo;
}

/** The module was refused or would not start. `message` is the plugin's reason. */
export class PolicyLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PolicyLoadError';
  }
}

/**
 * The plugin's host settings, read from the options as plugin-c/runtime/options.c does: the runtime's
 * configuration (one list of fields, kept in runtime.ts; timeoutMs and initTimeoutMs are named
 * in messages but not enforced: V8 cannot interrupt a synchronous call) plus the breaker's.
 */
export interface HostSettings extends Omit<RuntimeConfig, 'errorLogIntervalMs'> {
  /**
   * plugin_opt_wasm_client_share: percent of broker time one client's requests may take (default
   * 10). Validated like the plugin's, not enforced: the breaker is the plugin's only.
   */
  clientShare: number;
  /** plugin_opt_wasm_cpu_share: percent of broker time the policy may use (default 50). Likewise not enforced. */
  cpuShare: number;
  /**
   * plugin_opt_wasm_tick_ms: the plugin calls on_tick at most this often (default 1000, 0 = never).
   * Validated like the plugin's; the Node host calls on_tick when Policy.tick() is called.
   */
  tickMs: number;
}

/**
 * options.c parse_prefix(): wasm_publish_prefix without its trailing '/', or null when unset;
 * throws PolicyLoadError with the plugin's message when it is not a topic prefix.
 */
function publishPrefix(s: string | undefined): string | null {
  if (s === undefined) return null;
  const p = s.endsWith('/') ? s.slice(0, -1) : s;
  if (p.length === 0 || Buffer.byteLength(p) > WA_MAX_FIELD_BYTES || s.startsWith('$') || /[+#\0]/.test(s)) {
    const shown = Buffer.byteLength(s) > 64 ? `${Buffer.from(s).subarray(0, 64).toString()}...` : s;
    throw new PolicyLoadError(`option wasm_publish_prefix: "${shown}" is not a topic prefix (one or more topic levels, such as `
      + 'policy/events, without + or # and not starting with $)');
  }
  return p;
}

type OptionList = readonly (readonly [string, string])[];

// The last occurrence of an option, as the plugin reads it.
function optionValue(options: OptionList, key: string): string | undefined {
  for (let i = options.length - 1; i >= 0; i--) if (options[i][0] === key) return options[i][1];
  return undefined;
}

const INT64_MAX = (1n << 63n) - 1n;

/** options.c: wasm_init_fuel's default, wasm_fuel x WA_INIT_FUEL_FACTOR, at most INT64_MAX / 2. */
function defaultInitFuel(fuel: number): bigint {
  const f = BigInt(fuel) * BigInt(WA_INIT_FUEL_FACTOR);
  return f > INT64_MAX / 2n ? INT64_MAX / 2n : f;
}

/** Parses the wasm_* options (last occurrence wins); throws PolicyLoadError with the plugin's message. */
export function hostSettings(options: OptionList): HostSettings {
  const get = (key: string): string | undefined => optionValue(options, key);
  const unknown = unknownOptionName(options);
  if (unknown !== null) throw new PolicyLoadError(unknown);
  // options.c parse_number: digits only, in [min, max]; absent = the default.
  const number = (key: string, min: number, max: number, dflt: number): number => {
    const s = get(key);
    if (s === undefined) return dflt;
    const v = /^[0-9]+$/.test(s) ? Number(s) : NaN;
    if (!(v >= min && v <= max)) throw new PolicyLoadError(`option ${key}: "${s}" is not a whole number from ${min} to ${max}`);
    return v;
  };
  const onError = get('wasm_on_error') ?? 'deny';
  if (onError !== 'deny' && onError !== 'defer') {
    throw new PolicyLoadError(`option wasm_on_error: "${onError}" is neither deny nor defer`);
  }
  // The Node host has no ACL decision cache and does not use grants itself (Policy.grants gives
  // them); the values are checked as the plugin checks them.
  // wasm_record* too: the plugin's recorder (README "Operating"); nothing here records.
  // wasm_login_thread: the plugin's 2.1 builds check logins on a thread (README "Mosquitto 2.0
  // and 2.1"); here every call is the caller's.
  for (const key of ['wasm_acl_cache', 'wasm_acl_grants', 'wasm_record_payloads', 'wasm_login_thread']) {
    const v = get(key) ?? 'on';
    if (v !== 'on' && v !== 'off') throw new PolicyLoadError(`option ${key}: "${v}" is neither on nor off`);
  }
  // In options.c's order: the first bad option is the one reported. 0 = not given.
  const maxModuleBytes = number('wasm_max_module_bytes', 8, 2 ** 30, WA_MAX_MODULE_BYTES);
  const maxMemoryPages = number('wasm_max_memory_pages', 1, 65536, WA_MAX_MEMORY_PAGES);
  const maxTableElems = number('wasm_max_table_elems', 0, 10000000, WA_MAX_TABLE_ELEMS);
  const maxFunctions = number('wasm_max_functions', 1, 1000000, WA_MAX_FUNCTIONS);
  const maxGlobals = number('wasm_max_globals', 0, 1000000, WA_MAX_GLOBALS);
  const maxDataBytes = number('wasm_max_data_bytes', 0, 2 ** 30, WA_MAX_DATA_BYTES);
  const maxPayload = number('wasm_max_payload', 0, 268435455, WA_MAX_PAYLOAD_BYTES);
  const fuel = number('wasm_fuel', 1, 1e15, WA_DEFAULT_FUEL);
  const timeoutMs = number('wasm_timeout_ms', 1, 3600000, WA_DEFAULT_TIMEOUT_MS);
  const initFuel = number('wasm_init_fuel', 1, 1e15, 0);
  const initTimeoutMs = number('wasm_init_timeout_ms', 1, 3600000, 0);
  const clientShare = number('wasm_client_share', 1, 100, WA_DEFAULT_CLIENT_SHARE);
  const cpuShare = number('wasm_cpu_share', 1, 100, WA_DEFAULT_CPU_SHARE);
  const tickMs = number('wasm_tick_ms', 0, 3600000, WA_DEFAULT_TICK_MS);
  number('wasm_record_max_bytes', WA_RECORD_MIN_BYTES, 2 ** 40, WA_DEFAULT_RECORD_MAX_BYTES);
  // The broker's $SYS metrics: checked as options.c checks it; the Node host publishes none.
  number('wasm_sys_interval', 0, WA_MAX_SYS_INTERVAL_S, WA_DEFAULT_SYS_INTERVAL_S);
  // The shadow (a second policy beside the live one) is the plugin's alone: checked, not run.
  number('wasm_shadow_share', 1, 100, WA_DEFAULT_SHADOW_SHARE);
  const prefix = publishPrefix(get('wasm_publish_prefix'));
  if (get('wasm_record') === '') throw new PolicyLoadError('option wasm_record: give the file requests are recorded to (or leave the option out)');
  // The Node host keeps no audit log (Policy.reason gives the policy's reasons); the values are
  // checked as the plugin checks them.
  const audit = get('wasm_audit') ?? 'off';
  if (audit !== 'off' && audit !== 'deny' && audit !== 'all') {
    throw new PolicyLoadError(`option wasm_audit: "${audit.length > 64 ? `${audit.slice(0, 64)}...` : audit}" is none of off, deny, all`);
  }
  if (get('wasm_audit_file') === '') {
    throw new PolicyLoadError('option wasm_audit_file: empty path (leave it out to audit to mosquitto\'s log)');
  }
  if (get('wasm_shadow_module') === '') {
    throw new PolicyLoadError('option wasm_shadow_module: empty (the candidate policy .wasm file, or leave it out)');
  }
  return {
    onError,
    maxModuleBytes,
    maxMemoryPages,
    maxTableElems,
    maxFunctions,
    maxGlobals,
    maxDataBytes,
    maxPayload,
    fuel,
    initFuel: initFuel !== 0 ? BigInt(initFuel) : defaultInitFuel(fuel),
    timeoutMs,
    initTimeoutMs: initTimeoutMs !== 0 ? initTimeoutMs : Math.min(timeoutMs * WA_INIT_TIMEOUT_FACTOR, 3600000),
    clientShare,
    cpuShare,
    tickMs,
    publishPrefix: prefix,
  };
}

const utf8 = new TextEncoder();
const bytesOf = (v: string | ByteInput): Uint8Array => (typeof v === 'string' ? utf8.encode(v) : new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
// Text stays a string (written into guest memory as UTF-8 without a copy); bytes as a view.
const fieldOf = (v: string | ByteInput): string | Uint8Array => (typeof v === 'string' ? v : bytesOf(v));

function defaultLog(_level: number, message: string): void {
  process.stderr.write(`wasm-auth: ${message}\n`);
}

function reason(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class Policy {
  private rt: Runtime;
  private closed = false;
  private readonly cfg: RuntimeConfig;
  private readonly options: [string, string][];
  private readonly log: (level: number, message: string) => void;
  private readonly defaultClient: ClientInfo | undefined;
  private readonly name: string;

  /** Use loadPolicy(). */
  constructor(wasm: ByteInput, opts: LoadOptions) {
    // JavaScript callers pass anything: checked before use, so nothing falls back to a default.
    const bad = badLoadOption(opts);
    if (bad !== null) throw new PolicyLoadError(bad);
    this.options = (opts.options ?? []).map(([k, v]) => [k, v]);
    this.log = opts.onLog ?? defaultLog;
    this.defaultClient = opts.client;
    this.name = opts.name ?? 'policy';
    if (this.options.length > WA_MAX_OPTIONS) {
      throw new PolicyLoadError(`${this.options.length} options given, at most ${WA_MAX_OPTIONS} are supported`);
    }
    const fromOptions = hostSettings(this.options);
    const fuel = opts.fuel ?? fromOptions.fuel;
    // wasm_init_fuel's default follows the request fuel, also when LoadOptions sets that.
    let initFuel = fromOptions.initFuel;
    if (opts.initFuel !== undefined) initFuel = BigInt(opts.initFuel);
    else if (opts.fuel !== undefined && optionValue(this.options, 'wasm_init_fuel') === undefined) {
      initFuel = opts.fuel > 0 ? defaultInitFuel(opts.fuel) : 0n;
    }
    this.cfg = {
      onError: opts.failureDecision ?? fromOptions.onError,
      maxModuleBytes: opts.maxModuleBytes ?? fromOptions.maxModuleBytes,
      maxMemoryPages: opts.maxMemoryPages ?? fromOptions.maxMemoryPages,
      maxTableElems: opts.maxTableElems ?? fromOptions.maxTableElems,
      maxFunctions: opts.maxFunctions ?? fromOptions.maxFunctions,
      maxGlobals: opts.maxGlobals ?? fromOptions.maxGlobals,
      maxDataBytes: opts.maxDataBytes ?? fromOptions.maxDataBytes,
      maxPayload: opts.maxPayload ?? fromOptions.maxPayload,
      fuel,
      initFuel,
      timeoutMs: fromOptions.timeoutMs,
      initTimeoutMs: fromOptions.initTimeoutMs,
      errorLogIntervalMs: opts.errorLogIntervalMs ?? DEFAULT_ERROR_LOG_INTERVAL_MS,
      publishPrefix: fromOptions.publishPrefix,
    };
    try {
      this.rt = this.load(compileModule(bytesOf(wasm), this.cfg), 0);
    } catch (e) {
      throw new PolicyLoadError(reason(e));
    }
  }

  /** Hooks the module exports, each with the index of the signature it uses (abi.ts HOOKS). */
  get hooks(): HookSignatures {
    return { ...this.rt.hooks };
  }

  /**
   * V8 instances created for the current policy: 1, plus one per failure the instance was
   * restored from (the restore is emulated by re-instantiating: runtime.ts).
   */
  get instances(): number {
    return this.rt.instances;
  }

  /**
   * The plugin's policy epoch (plugin-c/runtime/policy.c wa_policy_epoch), which its ACL decision cache
   * keys on: new for a new instance (load, reload), at security_init and when an instance is
   * dropped; unchanged when an instance is restored after a failure.
   */
  get epoch(): number {
    return this.rt.epoch;
  }

  /**
   * The reason the last request gave its decision with `set_reason` (docs/ABI.md, "Reasons"), ''
   * when it gave none: what the plugin's audit log records as the policy's reason.
   */
  get reason(): string {
    return this.rt.reason;
  }

  /** MOSQ_EVT_BASIC_AUTH. null = absent (anonymous client, no password). */
  unpwdCheck(username: string | null, password: string | ByteInput | null, client?: ClientInfo): Decision {
    this.ensureOpen();
    if (this.rt.hooks.unpwd_check === undefined) return 'defer';
    return this.rt.unpwdCheck(client ?? this.defaultClient ?? null, username, password === null ? null : fieldOf(password));
  }

  /** MOSQ_EVT_ACL_CHECK. */
  aclCheck(req: AclRequest): Decision {
    this.ensureOpen();
    if (this.rt.hooks.acl_check === undefined) return 'defer';
    const client: ClientInfo = { ...this.defaultClient, ...req.client };
    if (client.id === undefined || client.id === null) client.id = req.clientid;
    return this.rt.aclCheck(client, req.clientid, req.username, req.topic, req.access,
      req.payload === undefined ? '' : fieldOf(req.payload), req.qos ?? 0, req.retain ?? false);
  }

  /**
   * The client's grants as the plugin gets them at its first ACL check (docs/ABI.md, "Grants"):
   * `decide(topic, access)` answers as the plugin would without calling acl_check, or 'ask'. null
   * when the policy gives no grants (not cacheable, or no wasm_auth_acl_grants export); the
   * failure decision when computing them failed. Tests compare them with aclCheck.
   */
  grants(req: { clientid: string; username: string | null; client?: ClientInfo }): ClientGrants | Decision | null {
    this.ensureOpen();
    if (!this.rt.providesGrants) return null;
    const client: ClientInfo = { ...this.defaultClient, ...req.client };
    if (client.id === undefined || client.id === null) client.id = req.clientid;
    return this.rt.aclGrants(client, req.clientid, req.username);
  }

  /** MOSQ_EVT_PSK_KEY: the hex key, or null (no key, or the failure decision). */
  pskKeyGet(identity: string, hint: string, client?: ClientInfo): string | null {
    return this.psk(identity, hint, client).key;
  }

  /** MOSQ_EVT_PSK_KEY with the decision spelled out. */
  psk(identity: string, hint: string, client?: ClientInfo): PskOutcome {
    this.ensureOpen();
    if (this.rt.hooks.psk_key_get === undefined) return { decision: 'defer', key: null };
    const r = this.rt.pskKeyGet(client ?? this.defaultClient ?? null, identity, hint);
    if (r === 'deny' || r === null) return { decision: 'deny', key: null };
    if (r === 'defer') return { decision: 'defer', key: null };
    if (r === 'allow') return { decision: 'deny', key: null }; // not reachable: keys are hex
    return { decision: 'allow', key: r };
  }

  /**
   * MOSQ_EVT_MESSAGE: on_message when the policy exports it (docs/ABI.md, "Message hook"):
   * 'drop', or delivered with the changes it staged ({} = unchanged; also without on_message).
   * Every failure drops the message, whatever wasm_on_error says.
   */
  message(req: MessageRequest): MessageOutcome {
    this.ensureOpen();
    const client: ClientInfo = { ...this.defaultClient, ...req.client };
    if (client.id === undefined || client.id === null) client.id = req.clientid;
    return this.rt.message(client, req.clientid, req.username, req.topic,
      req.payload === undefined ? new Uint8Array(0) : bytesOf(req.payload), req.qos ?? 0, req.retain ?? false);
  }

  /**
   * MOSQ_EVT_MESSAGE_OUT (mosquitto 2.1 builds): on_message_out for one subscriber's copy
   * (docs/ABI.md, "Per-subscriber and subscription hooks"): 'drop' (this subscriber only), or
   * delivered with the changes it staged. Every failure drops, whatever wasm_on_error says.
   */
  messageOut(req: MessageRequest): MessageOutcome {
    this.ensureOpen();
    const client: ClientInfo = { ...this.defaultClient, ...req.client };
    if (client.id === undefined || client.id === null) client.id = req.clientid;
    return this.rt.messageOut(client, req.clientid, req.username, req.topic,
      req.payload === undefined ? new Uint8Array(0) : bytesOf(req.payload), req.qos ?? 0, req.retain ?? false);
  }

  /**
   * MOSQ_EVT_SUBSCRIBE (mosquitto 2.1 builds): on_subscribe (docs/ABI.md, "Per-subscriber and
   * subscription hooks"): 'deny', or the subscription kept with the changes it staged ({} =
   * unchanged; also without on_subscribe). Every failure denies, whatever wasm_on_error says.
   */
  subscribe(req: SubscribeRequest): SubscribeOutcome {
    this.ensureOpen();
    const client: ClientInfo = { ...this.defaultClient, ...req.client };
    if (client.id === undefined || client.id === null) client.id = req.clientid;
    return this.rt.subscribe(client, req.clientid, req.username, req.topic, req.qos ?? 0);
  }

  /**
   * MOSQ_EVT_DISCONNECT: on_disconnect(clientid, username) when the policy exports it (else
   * nothing). Nothing to decide: a failure is logged and undone, as in the plugin.
   */
  disconnect(clientid: string, username: string | null, client?: ClientInfo): void {
    this.ensureOpen();
    const c: ClientInfo = { ...this.defaultClient, ...client };
    if (c.id === undefined || c.id === null) c.id = clientid;
    this.rt.disconnect(c, clientid, username);
  }

  /**
   * MOSQ_EVT_TICK: on_tick() when the policy exports it. The plugin calls it at most every
   * wasm_tick_ms; here each call is one tick.
   */
  tick(): void {
    this.ensureOpen();
    this.rt.tick();
  }

  /**
   * Revocation (docs/ABI.md, "Revocation"): what the policy says of a session it let in before a
   * reload. The plugin asks every session unpwd_check allowed, after each reload, and
   * disconnects those denied; 'allow' when the policy does not export session_check.
   */
  sessionCheck(clientid: string, username: string | null): Decision {
    this.ensureOpen();
    return this.rt.sessionCheck(clientid, username);
  }

  /**
   * MQTT 5 enhanced authentication (docs/ABI.md, "Enhanced authentication"): a CONNECT with an
   * authentication method (or a re-authentication) asks ext_auth_start, each AUTH packet after
   * it ext_auth_continue. 'continue' sends `out` in an AUTH packet and waits; 'allow' sends `out`
   * (if any) with the CONNACK. 'defer' when the hook is not exported; a failure is 'deny'.
   */
  extAuthStart(clientid: string, method: string, data: Uint8Array, client: ClientInfo = {}): ExtAuthResult {
    this.ensureOpen();
    return this.rt.extAuth(true, { ...client, id: client.id ?? clientid }, clientid, method, data);
  }

  /** The AUTH packets after ext_auth_start: see {@link Policy.extAuthStart}. */
  extAuthContinue(clientid: string, method: string, data: Uint8Array, client: ClientInfo = {}): ExtAuthResult {
    this.ensureOpen();
    return this.rt.extAuth(false, { ...client, id: client.id ?? clientid }, clientid, method, data);
  }

  /**
   * The actions the policy queued with kick_client, kick_user and publish since the last call, in
   * order, which the plugin would carry out at its next tick (docs/ABI.md, "Deferred actions");
   * the queue is empty afterwards. Actions of a hook that failed are not among them.
   */
  takeActions(): Action[] {
    this.ensureOpen();
    return this.rt.takeActions();
  }

  /**
   * MOSQ_EVT_RELOAD, as the plugin does it (plugin-c/runtime/auth.c): a fresh instance is always built,
   * from `newWasm` or else the current module (gate, start function, plugin_init,
   * security_init(1)), while the current one is left alone. When it is ready it replaces the
   * current one, which then gets security_cleanup(1) and plugin_cleanup, and "reloaded policy
   * NAME" is logged. If it fails, one line "reload of NAME failed, keeping the previous policy:
   * REASON" and the current one stays as it was. A reload also replaces an instance that was
   * dropped after a failure. Returns false when the reload failed.
   */
  reload(newWasm?: ByteInput): boolean {
    this.ensureOpen();
    let next: Runtime;
    try {
      // The same bytes pass the gate the same way: their compiled module is reused.
      const compiled = newWasm === undefined || sameBytes(newWasm, this.rt.compiled.bytes)
        ? this.rt.compiled
        : compileModule(bytesOf(newWasm), this.cfg);
      next = this.load(compiled, 1);
    } catch (e) {
      this.log(LOG_ERR, `reload of ${this.name} failed, keeping the previous policy: ${reason(e)}`);
      return false;
    }
    const old = this.rt;
    this.rt = next;
    old.securityCleanup(1);
    old.pluginCleanup();
    this.log(LOG_NOTICE, `reloaded policy ${this.name}`);
    return true;
  }

  /** Unload: security_cleanup(0), plugin_cleanup. The policy cannot be used afterwards. */
  cleanup(): void {
    if (this.closed) return;
    this.rt.securityCleanup(0);
    this.rt.pluginCleanup();
    this.closed = true;
  }

  // A ready runtime from a compiled module: instance, plugin_init, security_init(reload), sealed
  // (auth.c load()). Throws the reason.
  private load(compiled: CompiledModule, reload: 0 | 1): Runtime {
    const rt = new Runtime(compiled, this.cfg, this.options, this.log);
    rt.pluginInit();
    try {
      rt.securityInit(reload);
      rt.seal(reload);
    } catch (e) {
      rt.pluginCleanup();
      throw e;
    }
    return rt;
  }

  private ensureOpen(): void {
    if (this.closed) throw new Error('the policy has been cleaned up');
  }
}

function sameBytes(x: ByteInput, b: Uint8Array): boolean {
  const a = bytesOf(x);
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Checks, compiles and starts a policy (plugin_init, security_init(0)); throws PolicyLoadError if refused. */
export function loadPolicy(wasm: ByteInput, opts: LoadOptions = {}): Policy {
  return new Policy(wasm, opts);
}

