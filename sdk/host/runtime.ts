// One loaded policy module and the ABI's calls into it: the Node counterpart of
// plugin-c/runtime/policy.c, with the same rules, messages and failure recovery.
//
// Failure recovery: after a trap, an invalid decision or a bad result pointer the instance may be
// half-way through updating its heap, so it is never called again as it is. The plugin puts it
// back, on the spot, exactly as it was right after its lifecycle hooks (wa_policy_seal: a
// snapshot of its memory, globals and table). V8 does not expose a module's unexported globals,
// so the Node host emulates that restore: at the failure it re-instantiates the module from the
// checked bytes and runs the start function, plugin_init and security_init again (with the
// reload flag of the sealed load: 0, or 1 for a policy a reload built), with the guest's log
// lines suppressed. As in the plugin, the next request finds the instance ready, no hook runs
// then, no plugin_init/security_init line is logged, and the epoch does not change. What the
// policy accumulated while serving requests (counters, caches) is lost; what it derived from its
// options and files stays. One difference: the emulation reads the option files again, so a file
// changed or removed since the load is seen, where the plugin keeps what it had read. If the
// restore fails, the instance is dropped (a new epoch) and every request gets the failure
// decision ("the policy instance is unavailable until it is re-created") until a reload builds a
// new one. The plugin also re-creates a dropped instance off the request path, on its worker
// thread, retrying with a backoff (WA_REBUILD_BACKOFF_MS); the Node host has no thread for that
// and leaves it to reload().
//
// Budgets: the start function, plugin_init and security_init get wasm_init_fuel; requests,
// wasm_auth_abi_version, wasm_auth_buffer and the cleanup hooks get wasm_fuel. A failure names
// the limit it hit and the option that raises it, in the words of policy.c's limit_hint().
// Validated (policy.ts) but not enforced here: wasm_timeout_ms and wasm_init_timeout_ms (V8
// cannot interrupt a synchronous call; fuel bounds execution), wasm_client_share and
// wasm_cpu_share (the plugin's breaker).
import { GuestError, GuestMemory } from './memory.js';
import {
  clearMessageRewrite, clearSubscribeRewrite, closeOptionFileStreams, createImports, newActionQueue, newMessageRewrite, newSubscribeRewrite, newLogLimit, newOptionFileStreams, takeActions, truncateActions,
  type Action, type AuthDataOut, type ClientInfo,
} from './imports.js';
import { checkModule, meter, ModuleError, type HookSignatures } from './gate.js';
import { forV8, START_EXPORT } from './v8-module.js';
import { isHex } from './text.js';
import { EXPORT_ACL_GRANTS, readGrants, type ClientGrants } from './grants.js';
import {
  DECISION_ALLOW, DECISION_CONTINUE, DECISION_DEFER, DECISION_DENY, EXPORT_ABI_VERSION, EXPORT_ACL_CACHEABLE, EXPORT_BUFFER, HOOKS, LOG_ERR, LOG_WARNING,
  type HookName,
} from './abi.js';
import {
  WA_ABI_VERSION, WA_ERROR_LOG_INTERVAL_S, WA_INITIAL_REQUEST_BUFFER,
  WA_MAX_AUTH_DATA_BYTES, WA_MAX_FIELD_BYTES, WA_MAX_PSK_KEY_CHARS, WA_STACK_BYTES,
} from './limits.js';

export type Decision = 'allow' | 'deny' | 'defer';

/** What on_message made of a message: 'drop', or deliver with these changes (none: as it came). */
export type MessageOutcome = 'drop' | { topic?: string; payload?: Uint8Array; retain?: boolean };

/** What on_subscribe made of a subscription: 'deny', or keep it with these changes (none: as it came). */
export type SubscribeOutcome = 'deny' | { topic?: string; qos?: number };

/** The host settings (plugin_opt_wasm_* in the plugin). */
export interface RuntimeConfig {
  onError: 'deny' | 'defer';
  maxModuleBytes: number;
  maxMemoryPages: number;
  /** The gate's counts (plugin_opt_wasm_max_table_elems, _functions, _globals, _data_bytes). */
  maxTableElems: number;
  maxFunctions: number;
  maxGlobals: number;
  maxDataBytes: number;
  maxPayload: number;
  /** Fuel units per request hook call and per cleanup hook call (the gate's metering); 0 = unlimited. */
  fuel: number;
  /**
   * Fuel units per lifecycle call: the start function, plugin_init, security_init
   * (plugin_opt_wasm_init_fuel; by default wasm_fuel x WA_INIT_FUEL_FACTOR). 0n = unlimited.
   * A bigint: the plugin's default goes up to 1e17, past a double's exact integers.
   */
  initFuel: bigint;
  /** plugin_opt_wasm_timeout_ms: named in messages, not enforced (V8 cannot interrupt a synchronous call). */
  timeoutMs: number;
  /** plugin_opt_wasm_init_timeout_ms: likewise. */
  initTimeoutMs: number;
  /** Per-request error lines are logged at most once per this many ms (0 = every one). */
  errorLogIntervalMs: number;
  /** plugin_opt_wasm_publish_prefix without its trailing '/'; null: publish is refused. */
  publishPrefix: string | null;
}

export type LogFn = (level: number, message: string) => void;

/** One Str argument: bytes, or text sent as UTF-8; null = absent (descriptor pointer 0). */
export type Field = Uint8Array | string | null;

/** What ext_auth_start / ext_auth_continue answered, and the AUTH data to send. */
export interface ExtAuthResult {
  decision: Decision | 'continue';
  out: Uint8Array;
}

const fieldLength = (f: Field): number => (f === null ? 0 : typeof f === 'string' ? Buffer.byteLength(f, 'utf8') : f.length);

/** Why an init hook did not succeed (the policy refuses to start / keeps the previous one). */
export class HookRefused extends Error {}

/** Why a request to a dropped instance fails (policy.c unavailable()). */
export const UNAVAILABLE = 'the policy instance is unavailable until it is re-created';

// Source of epoch values: unique across every runtime of the process (policy.c new_epoch).
let epochs = 0;
const newEpoch = (): number => ++epochs;

/** Which budget a guest call gets: wasm_fuel, or wasm_init_fuel. */
type Budget = 'request' | 'lifecycle';

type GuestFn = (...args: number[]) => number | undefined;

interface Instance {
  exports: Record<string, GuestFn> & { memory: WebAssembly.Memory; [FUEL_GLOBAL]?: WebAssembly.Global };
  mem: GuestMemory;
}

/** Gate-checked, metered and compiled module bytes, reusable for any number of instances. */
export interface CompiledModule {
  /** The module as given (reload compares against it). */
  bytes: Uint8Array;
  hooks: HookSignatures;
  module: WebAssembly.Module;
  /** Entry charges the host pays before calling these hooks (gate.ts meter). */
  hookEntryFuel: Partial<Record<HookName, bigint>>;
}

/** The fuel counter the gate's metering adds (gate.h WA_FUEL_GLOBAL). */
const FUEL_GLOBAL = '__wasm_auth_fuel';

const STR_BYTES = 8;
const ALIGN_SLACK = 3; // descriptors are 4-byte aligned: the buffer start may need slack

const UNLIMITED_FUEL = (1n << 63n) - 1n;

// V8's trap messages in wasm3's words, so both hosts log the same reason.
const TRAP_WORDS: [RegExp, string][] = [
  [/^unreachable$/, 'unreachable executed'],
  [/^memory access out of bounds$/, 'out of bounds memory access'],
  [/^divide by zero$/, 'integer divide by zero'],
  [/^remainder by zero$/, 'integer divide by zero'],
  [/^divide result unrepresentable$/, 'integer overflow'],
  [/^float unrepresentable in integer range$/, 'invalid conversion to integer'],
  [/^table index is out of bounds$/, 'undefined element'],
  [/^null function or function signature mismatch$/, 'indirect call signature mismatch'],
  [/call stack size exceeded/i, 'stack overflow'],
];

function errorText(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  if (e instanceof GuestError) return e.message;
  for (const [re, words] of TRAP_WORDS) if (re.test(e.message)) return words;
  return e.message;
}

// Why instantiation failed (segment initialization; the start function runs later), in wasm3's
// words as the plugin logs them ("instantiating: ..."). Not covered: an element segment at a
// negative offset (wasm3: "table underflow"), and a module with both kinds of segment out of
// bounds (wasm3 copies data first, V8 elements first).
const INSTANTIATE_WORDS: [RegExp, string][] = [
  [/data segment.*out of bounds/i, 'data segment out of bounds'],
  [/table index is out of bounds|(table initializer|elem(ent)? segment).*out of bounds/i, 'out of bounds table access'],
];

function instantiateText(e: unknown): string {
  const text = e instanceof Error ? e.message.replace(/^WebAssembly\.Instance\(\): /, '') : String(e);
  for (const [re, words] of INSTANTIATE_WORDS) if (re.test(text)) return words;
  return text;
}

/**
 * The plugin's load (plugin-c/runtime/policy.c): the gate (its rules, caps and messages), then its fuel
 * metering, then V8 compiles the metered module. Throws ModuleError with the plugin's reason.
 */
export function compileModule(wasm: Uint8Array, cfg: RuntimeConfig): CompiledModule {
  const bytes = new Uint8Array(wasm); // own copy: the caller may reuse its buffer
  const checked = checkModule(bytes, cfg);
  const metered = meter(bytes);
  const code = forV8(metered.code, cfg.maxMemoryPages);
  const hookEntryFuel: Partial<Record<HookName, bigint>> = {};
  for (const [h, n] of Object.entries(metered.hookEntryFuel)) hookEntryFuel[h as HookName] = BigInt(n);
  if (!HOOKS.some((h) => h.isRequest && checked.hooks[h.name] !== undefined)) {
    throw new ModuleError('exports no request hook (unpwd_check, acl_check, psk_key_get, on_message)');
  }
  let module: WebAssembly.Module;
  try {
    module = new WebAssembly.Module(code);
  } catch (e) {
    // The gate accepted it, so this is a disagreement between the gate and V8: say so.
    throw new ModuleError(`V8 refused the module the gate accepted: ${errorText(e)}`);
  }
  return { bytes, hooks: checked.hooks, module, hookEntryFuel };
}

export class Runtime {
  private inst: Instance | null = null;
  private aclGrantsExported = false;
  private buf = 0;
  private cap = 0;
  private requestClient: ClientInfo | null = null;
  private inInit = false;
  // Set while a restore is emulated: the guest's log lines are dropped and the epoch stays.
  private restoring = false;
  // seal() was called: a failure restores that state, with security_init(sealedReload).
  private sealed = false;
  private sealedReload: 0 | 1 = 0;
  // The current request is an unpwd_check without a username (failureDecision).
  private anonymous = false;
  private epochValue = 0;
  // The fuel global's value for each budget (budget()).
  private readonly requestFuel: bigint;
  private readonly lifecycleFuel: bigint;
  // Rate limit of per-request error lines.
  private reported = false;
  private lastReport = 0;
  private suppressed = 0;
  // The guest log rate limit, kept across re-created instances (struct wa_host in the plugin).
  private readonly logLimit = newLogLimit();
  // Files option_file_read_at keeps open during one init hook call (struct wa_host too).
  private readonly optionFileStreams = newOptionFileStreams();
  // Actions kick_client / kick_user / publish queued, with their rate limits (struct wa_host too).
  private readonly actions = newActionQueue();
  // What auth_data_out gave during the current ext_auth_* call (struct wa_host auth_out).
  private readonly authData: AuthDataOut = { active: false, out: new Uint8Array(0) };
  // Actions queued before the current call: a failed call's are dropped (policy.c action_mark).
  private actionMark = 0;
  // on_message's staged rewrite (struct wa_host too).
  private readonly rewrite = newMessageRewrite();
  private readonly subRewrite = newSubscribeRewrite();
  // What set_reason kept during the last guest call (cleared as each call starts).
  private reasonText = '';

  /** Instances created so far: the first one, then one per emulated restore (see the top). */
  instances = 0;

  /** Instantiates, runs the start function, checks the ABI version, gets the request buffer. */
  constructor(
    readonly compiled: CompiledModule,
    private readonly cfg: RuntimeConfig,
    private readonly options: readonly (readonly [string, string])[],
    private readonly log: LogFn,
  ) {
    this.requestFuel = cfg.fuel > 0 ? BigInt(cfg.fuel) : UNLIMITED_FUEL;
    this.lifecycleFuel = cfg.initFuel > 0n ? cfg.initFuel : UNLIMITED_FUEL;
    this.instantiate();
  }

  get hooks(): HookSignatures {
    return this.compiled.hooks;
  }

  /**
   * policy.c's wa_policy_epoch: a new value when the instance is created, at each security_init
   * (the policy may have re-read its rules) and when the instance is dropped; the same after a
   * restore. The plugin's ACL decision cache serves only entries of the current epoch.
   */
  get epoch(): number {
    return this.epochValue;
  }

  /**
   * The reason the last hook call gave its decision with set_reason (docs/ABI.md, "Reasons"),
   * '' when it gave none: the text the plugin's audit records carry as the policy's.
   */
  get reason(): string {
    return this.reasonText;
  }

  // ---- lifecycle ----

  pluginInit(): void {
    this.initHook('plugin_init', []);
  }

  securityInit(reload: 0 | 1): void {
    this.epochValue = newEpoch(); // the policy may have re-read its rules
    this.initHook('security_init', [reload]);
  }

  /**
   * Once the lifecycle hooks have run (security_init with `reload`): from now on a failure
   * restores this state instead of dropping the instance (policy.c wa_policy_seal).
   */
  seal(reload: 0 | 1): void {
    if (this.inst === null) throw new Error('the instance was dropped');
    this.sealed = true;
    this.sealedReload = reload;
  }

  securityCleanup(reload: 0 | 1): void {
    this.cleanupHook('security_cleanup', [reload]);
  }

  pluginCleanup(): void {
    this.cleanupHook('plugin_cleanup', []);
  }

  // ---- requests ----

  unpwdCheck(client: ClientInfo | null, username: Field, password: Field): Decision {
    const hook = 'unpwd_check';
    this.anonymous = username === null;
    if (!this.ready(hook)) return this.failureDecision(hook);
    if (this.tooLong([username, password])) return this.fail(hook, false, `a field is longer than ${WA_MAX_FIELD_BYTES} bytes`);
    return this.call(hook, client, [username, password], (e, d) => e.unpwd_check(d[0], d[1]), (v) => this.decide(hook, v));
  }

  aclCheck(client: ClientInfo | null, clientid: string, username: Field, topic: string, access: number,
    payload: Field, qos: number, retain: boolean): Decision {
    const hook = 'acl_check';
    if (!this.ready(hook)) return this.cfg.onError;
    const fields: Field[] = [clientid, username, topic];
    if (this.tooLong(fields)) return this.fail(hook, false, `a field is longer than ${WA_MAX_FIELD_BYTES} bytes`);
    // Only the 7-argument form sees the payload: only it pays for the copy.
    const long = this.compiled.hooks.acl_check === 1;
    if (long) {
      const n = fieldLength(payload);
      if (n > this.cfg.maxPayload) {
        return this.fail(hook, false, `payload of ${n} bytes exceeds wasm_max_payload (${this.cfg.maxPayload})`);
      }
      fields.push(payload);
    }
    return this.call(hook, client, fields,
      (e, d) => (long ? e.acl_check(d[0], d[1], d[2], access, d[3], qos, retain ? 1 : 0) : e.acl_check(d[0], d[1], d[2], access)),
      (v) => this.decide(hook, v));
  }

  /** The client's grants (grants.ts), or the failure decision. As the plugin's, a request. */
  aclGrants(client: ClientInfo | null, clientid: string, username: Field): ClientGrants | Decision {
    const hook = 'acl_check';
    if (!this.ready(hook)) return this.cfg.onError;
    if (!this.aclGrantsExported) return this.fail(hook, false, `${EXPORT_ACL_GRANTS} is not exported by a cacheable policy`);
    if (this.tooLong([clientid, username])) return this.fail(hook, false, `a field is longer than ${WA_MAX_FIELD_BYTES} bytes`);
    const out: { grants: ClientGrants | null } = { grants: null };
    const d = this.call(hook, client, [clientid, username], (e, a) => e[EXPORT_ACL_GRANTS](a[0], a[1]), (v) => {
      const g = readGrants(this.inst!.mem, v);
      if (typeof g === 'string') return this.fail(hook, true, g);
      out.grants = g;
      return 'allow';
    }, false);
    return out.grants ?? d;
  }

  // ---- events (policy.c wa_policy_disconnect, wa_policy_tick) ----

  /** on_disconnect(clientid, username), when exported: nothing to decide; a failure is logged and undone. */
  disconnect(client: ClientInfo | null, clientid: string, username: Field): void {
    const hook = 'on_disconnect';
    this.actionMark = this.actions.items.length;
    if (this.inst === null || this.compiled.hooks.on_disconnect === undefined) return;
    if (this.tooLong([clientid, username])) {
      this.eventFailed(hook, false, `a field is longer than ${WA_MAX_FIELD_BYTES} bytes`);
      return;
    }
    this.event(hook, client, [clientid, username], (e, d) => e.on_disconnect(d[0], d[1]));
  }

  /** on_tick(), when exported. */
  tick(): void {
    const hook = 'on_tick';
    this.actionMark = this.actions.items.length;
    if (this.inst === null || this.compiled.hooks.on_tick === undefined) return;
    this.event(hook, null, [], (e) => e.on_tick());
  }

  /**
   * session_check(clientid, username) (policy.c wa_policy_session_check): 'allow' when not
   * exported; a failure gets the failure decision. No client: the session may be gone.
   */
  sessionCheck(clientid: string, username: Field): Decision {
    const hook = 'session_check';
    if (!this.ready(hook)) return this.failureDecision(hook);
    if (this.compiled.hooks.session_check === undefined) return 'allow';
    if (this.tooLong([clientid, username])) return this.fail(hook, false, `a field is longer than ${WA_MAX_FIELD_BYTES} bytes`);
    return this.call(hook, null, [clientid, username], (e, d) => e.session_check(d[0], d[1]), (v) => this.decide(hook, v));
  }

  // ---- the message hook (policy.c wa_policy_message) ----

  /**
   * on_message(clientid, username, topic, payload, qos, retain): 'drop', or deliver with what the
   * guest rewrote (nothing when it deferred). Every failure drops, whatever wasm_on_error says.
   * A module that does not export on_message delivers unchanged.
   */
  message(client: ClientInfo | null, clientid: string, username: Field, topic: string, payload: Uint8Array,
    qos: number, retain: boolean): MessageOutcome {
    return this.messageHook('on_message', client, clientid, username, topic, payload, qos, retain);
  }

  /**
   * on_message_out (mosquitto 2.1: one subscriber's copy; clientid and username are the
   * subscriber's): as message(), the same rewrite and failure decision (drop).
   */
  messageOut(client: ClientInfo | null, clientid: string, username: Field, topic: string, payload: Uint8Array,
    qos: number, retain: boolean): MessageOutcome {
    return this.messageHook('on_message_out', client, clientid, username, topic, payload, qos, retain);
  }

  /**
   * on_subscribe(clientid, username, topic, qos) (policy.c wa_policy_subscribe): 'deny', or keep
   * the subscription with what the guest rewrote (nothing when it deferred). Every failure denies,
   * whatever wasm_on_error says. A module that does not export on_subscribe keeps it unchanged.
   */
  subscribe(client: ClientInfo | null, clientid: string, username: Field, topic: string, qos: number): SubscribeOutcome {
    const hook = 'on_subscribe';
    clearSubscribeRewrite(this.subRewrite, false);
    if (!this.ready(hook)) return 'deny';
    if (this.compiled.hooks.on_subscribe === undefined) return {};
    const fields: Field[] = [clientid, username, topic];
    if (this.tooLong(fields)) {
      this.fail(hook, false, `a field is longer than ${WA_MAX_FIELD_BYTES} bytes`);
      return 'deny';
    }
    this.subRewrite.active = true;
    const d = this.call(hook, client, fields, (e, a) => {
      try {
        return e.on_subscribe(a[0], a[1], a[2], qos);
      } finally {
        this.subRewrite.active = false;
      }
    }, (v) => {
      if (v === DECISION_DENY || v === DECISION_ALLOW || v === DECISION_DEFER) return v === DECISION_DENY ? 'deny' : v === DECISION_ALLOW ? 'allow' : 'defer';
      clearSubscribeRewrite(this.subRewrite, false);
      return this.fail(hook, true, `returned ${v}, not a decision (0 deny, 1 allow, 2 allow unchanged)`);
    });
    const r = this.subRewrite;
    const out: SubscribeOutcome = d !== 'allow' ? (d === 'defer' ? {} : 'deny') : {
      ...(r.topic !== null ? { topic: r.topic } : {}),
      ...(r.qos !== null ? { qos: r.qos } : {}),
    };
    clearSubscribeRewrite(this.subRewrite, false);
    return out;
  }

  private messageHook(hook: 'on_message' | 'on_message_out', client: ClientInfo | null, clientid: string, username: Field,
    topic: string, payload: Uint8Array, qos: number, retain: boolean): MessageOutcome {
    clearMessageRewrite(this.rewrite, false);
    if (!this.ready(hook)) return 'drop';
    if (this.compiled.hooks[hook] === undefined) return {};
    const fields: Field[] = [clientid, username, topic, payload];
    let why: string | null = null;
    if (this.tooLong(fields.slice(0, 3))) why = `a field is longer than ${WA_MAX_FIELD_BYTES} bytes`;
    else if (payload.length > this.cfg.maxPayload) why = `payload of ${payload.length} bytes exceeds wasm_max_payload (${this.cfg.maxPayload})`;
    if (why !== null) {
      this.fail(hook, false, why);
      return 'drop';
    }
    this.rewrite.active = true;
    const d = this.call(hook, client, fields, (e, a) => {
      try {
        return e[hook](a[0], a[1], a[2], a[3], qos, retain ? 1 : 0);
      } finally {
        this.rewrite.active = false; // before a failure's restore runs any lifecycle hook
      }
    }, (v) => {
      if (v === DECISION_DENY || v === DECISION_ALLOW || v === DECISION_DEFER) return v === DECISION_DENY ? 'deny' : v === DECISION_ALLOW ? 'allow' : 'defer';
      clearMessageRewrite(this.rewrite, false);
      return this.fail(hook, true, `returned ${v}, not a decision (0 drop, 1 deliver, 2 deliver unchanged)`);
    });
    const r = this.rewrite;
    const out: MessageOutcome = d !== 'allow' ? (d === 'defer' ? {} : 'drop') : {
      ...(r.topic !== null ? { topic: r.topic } : {}),
      ...(r.payload !== null ? { payload: r.payload } : {}),
      ...(r.retain !== null ? { retain: r.retain } : {}),
    };
    clearMessageRewrite(this.rewrite, false);
    return out;
  }

  /**
   * ext_auth_start / ext_auth_continue(clientid, method, data) (policy.c wa_policy_ext_auth):
   * the decision, or 'continue', with what auth_data_out gave (only with allow and continue).
   * 'defer' when not exported; a failure is 'deny' whatever wasm_on_error says.
   */
  extAuth(start: boolean, client: ClientInfo | null, clientid: string, method: string, data: Uint8Array): ExtAuthResult {
    const hook = start ? 'ext_auth_start' : 'ext_auth_continue';
    const none = new Uint8Array(0);
    if (!this.ready(hook)) return { decision: 'deny', out: none };
    if (this.compiled.hooks[hook] === undefined) return { decision: 'defer', out: none };
    if (this.tooLong([clientid, method]) || data.length > WA_MAX_AUTH_DATA_BYTES) {
      return { decision: this.fail(hook, false, `a field is longer than ${WA_MAX_FIELD_BYTES} bytes`), out: none };
    }
    let cont = false;
    this.authData.out = none;
    // Only around the guest's call: a failure's restore re-runs lifecycle hooks, which must see
    // auth_data_out refused (policy.c sets in_ext_auth around invoke alone).
    const invoke = (e: Instance['exports'], a: number[]): number | undefined => {
      this.authData.active = true;
      try {
        return e[hook](a[0], a[1], a[2]);
      } finally {
        this.authData.active = false;
      }
    };
    const d = this.call(hook, client, [clientid, method, data], invoke, (v) => {
      if (v === DECISION_CONTINUE) {
        cont = true;
        return 'allow';
      }
      return this.decide(hook, v, ' 3 continue');
    });
    if (cont) return { decision: 'continue', out: this.authData.out };
    return { decision: d, out: d === 'allow' ? this.authData.out : none };
  }

  /** The actions queued since the last call (plugin: carried out at the next tick), in order. */
  takeActions(): Action[] {
    return takeActions(this.actions);
  }

  private event(hook: HookName, client: ClientInfo | null, fields: Field[],
    invoke: (e: Instance['exports'], descs: number[]) => number | undefined): void {
    const lens = fields.map(fieldLength);
    let trap = fields.length ? this.ensureBuffer(this.fieldsSize(lens)) : null;
    if (trap === null) {
      const descs = fields.length ? this.marshalFields(fields, lens) : [];
      this.requestClient = client;
      try {
        this.budget('request', hook);
        invoke(this.inst!.exports, descs);
      } catch (e) {
        trap = this.trapText(e);
      } finally {
        this.requestClient = null;
      }
    }
    if (trap !== null) this.eventFailed(hook, true, trap);
  }

  // policy.c event_failed(): logged (rate-limited), what the call queued dropped, restored.
  private eventFailed(hook: HookName, discard: boolean, why: string): void {
    this.report(LOG_ERR, `${hook} failed (ignored): ${why}${this.limitHint(why, false)}`);
    truncateActions(this.actions, this.actionMark);
    if (discard) this.restore();
    truncateActions(this.actions, this.actionMark);
  }

  /** Whether the module is cacheable and exports wasm_auth_acl_grants. */
  get providesGrants(): boolean {
    return this.aclGrantsExported;
  }

  /** The hex key, null for no key (deny), or 'defer' (the failure decision when it is defer). */
  pskKeyGet(client: ClientInfo | null, identity: string, hint: string): string | null | 'deny' | 'defer' {
    const hook = 'psk_key_get';
    if (!this.ready(hook)) return this.cfg.onError;
    if (this.tooLong([identity, hint])) return this.fail(hook, false, `a field is longer than ${WA_MAX_FIELD_BYTES} bytes`);
    const out: { key: string | null } = { key: null };
    const d = this.call(hook, client, [identity, hint], (e, a) => e.psk_key_get(a[0], a[1]), (v) => {
      if (v === 0) return 'deny';
      const r = this.readKey(v);
      if (r === 'deny' || r === 'defer' || r === 'allow') return r;
      out.key = r;
      return 'allow';
    });
    return d === 'allow' ? out.key : d;
  }

  // ---- internals ----

  // Sets the fuel for the next guest call: wasm_fuel ('request') or wasm_init_fuel ('lifecycle'),
  // minus the entry charge the host pays for a hook only it can enter (gate.ts meter); a budget
  // that does not cover it refuses the call as out of fuel, as the plugin does.
  private budget(kind: Budget, hook?: HookName): void {
    this.reasonText = '';
    const g = this.inst?.exports[FUEL_GLOBAL];
    if (g === undefined) return;
    let fuel = kind === 'request' ? this.requestFuel : this.lifecycleFuel;
    const entry = hook === undefined ? undefined : this.compiled.hookEntryFuel[hook];
    if (entry !== undefined) {
      fuel -= entry;
      if (fuel < 0n) throw new GuestError('fuel exhausted');
    }
    g.value = fuel;
  }

  // policy.c limit_hint(): " (wasm_fuel 100000000 reached; raise plugin_opt_wasm_fuel)" and the
  // like, naming the limit a failure hit and the option that sets it, or "". lifecycle: the
  // failure was in the start function, plugin_init or security_init. It reads the memory of the
  // instance that failed: call it before that instance is restored or dropped.
  private limitHint(why: string, lifecycle: boolean): string {
    const cfg = this.cfg;
    if (why === 'fuel exhausted') {
      const option = lifecycle ? 'wasm_init_fuel' : 'wasm_fuel';
      return ` (${option} ${lifecycle ? cfg.initFuel : cfg.fuel} reached; raise plugin_opt_${option})`;
    }
    if (why.startsWith('timeout')) {
      const option = lifecycle ? 'wasm_init_timeout_ms' : 'wasm_timeout_ms';
      return ` (${option} ${lifecycle ? cfg.initTimeoutMs : cfg.timeoutMs} reached; raise plugin_opt_${option})`;
    }
    if (why === 'stack overflow') {
      return ` (the ${WA_STACK_BYTES / 1024} KiB value stack or the native stack bound; the policy recurses too deep)`;
    }
    // An allocator that cannot grow memory traps (AssemblyScript: unreachable), often while asking
    // for as much again as it has: past half the cap, that is the likely cause (policy.c).
    const size = this.inst?.exports.memory.buffer.byteLength ?? 0;
    if (size !== 0 && size * 2 >= cfg.maxMemoryPages * 65536 && (why.includes('unreachable') || why.startsWith('abort'))) {
      return ` (probably out of memory: ${Math.floor(size / 65536)} of wasm_max_memory_pages ${cfg.maxMemoryPages} pages (${Math.floor(cfg.maxMemoryPages / 16)} MiB) in use; raise plugin_opt_wasm_max_memory_pages)`;
    }
    return '';
  }

  // Why a guest call failed: the host's reason, fuel exhaustion, or the trap.
  private trapText(e: unknown): string {
    if (e instanceof GuestError) return e.message;
    const g = this.inst?.exports[FUEL_GLOBAL];
    if (g !== undefined && (g.value as bigint) < 0n) return 'fuel exhausted';
    return errorText(e);
  }

  // A fresh instance: start function, ABI version, first request buffer. Throws the reason, the
  // instance dropped. A new epoch, unless it emulates a restore.
  private instantiate(): void {
    this.discard();
    let exportsRef: Instance['exports'] | null = null;
    const imports = createImports({
      memory: () => {
        if (exportsRef === null) throw new GuestError('host import called before the instance exists');
        return exportsRef.memory;
      },
      client: () => this.requestClient,
      // An emulated restore runs the lifecycle hooks again unseen: the plugin runs none.
      log: (level, message) => {
        if (!this.restoring) this.log(level, message);
      },
      optionFile: (key) => this.optionFile(key),
      inInit: () => this.inInit,
      // Host calls pay fuel (hostfns.c); the log limit outlives the instance, as in the plugin.
      fuel: () => exportsRef?.[FUEL_GLOBAL],
      logLimit: this.logLimit,
      optionFileStreams: this.optionFileStreams,
      actions: this.actions,
      publishPrefix: () => this.cfg.publishPrefix,
      maxPayload: this.cfg.maxPayload,
      rewrite: this.rewrite,
      subRewrite: this.subRewrite,
      setReason: (reason) => {
        this.reasonText = reason;
      },
      authData: this.authData,
    });
    this.instances++;
    let instance: WebAssembly.Instance;
    try {
      // Data and element segments; the start function is an export here (v8-module.ts).
      instance = new WebAssembly.Instance(this.compiled.module, imports as WebAssembly.Imports);
    } catch (e) {
      this.drop();
      if (e instanceof WebAssembly.LinkError) throw e;
      throw new Error(`instantiating: ${instantiateText(e)}`);
    }
    const exports = instance.exports as Instance['exports'];
    exportsRef = exports;
    const inst: Instance = { exports, mem: new GuestMemory(() => exports.memory) };
    this.inst = inst;
    try {
      const start = exports[START_EXPORT];
      if (start !== undefined) {
        this.budget('lifecycle');
        try {
          start();
        } catch (e) {
          const trap = this.trapText(e);
          throw new Error(`start function trapped: ${trap}${this.limitHint(trap, true)}`);
        }
      }
      this.budget('request');
      let version: number;
      try {
        version = exports[EXPORT_ABI_VERSION]() as number;
      } catch (e) {
        throw new Error(`${EXPORT_ABI_VERSION} trapped: ${this.trapText(e)}`);
      }
      if (version !== WA_ABI_VERSION) {
        throw new Error(`built for ABI ${version}, this plugin speaks ${WA_ABI_VERSION} ` +
          `(${EXPORT_ABI_VERSION} returns ${version}: build with an SDK for ABI ${WA_ABI_VERSION})`);
      }
      // policy.c: the cacheable declaration (4-argument acl_check only), and grants with it.
      this.aclGrantsExported = false;
      if (this.compiled.hooks.acl_check === 0 && exports[EXPORT_ACL_CACHEABLE] !== undefined) {
        let cacheable: number;
        try {
          cacheable = exports[EXPORT_ACL_CACHEABLE]() as number;
        } catch (e) {
          throw new Error(`${EXPORT_ACL_CACHEABLE} trapped: ${this.trapText(e)}`);
        }
        this.aclGrantsExported = cacheable === 1 && exports[EXPORT_ACL_GRANTS] !== undefined;
      }
      const trap = this.ensureBuffer(WA_INITIAL_REQUEST_BUFFER);
      if (trap !== null) throw new Error(`${EXPORT_BUFFER}(${WA_INITIAL_REQUEST_BUFFER}): ${trap}`);
    } catch (e) {
      this.drop();
      throw e;
    }
    if (!this.restoring) this.epochValue = newEpoch();
  }

  private discard(): void {
    closeOptionFileStreams(this.optionFileStreams);
    this.inst = null;
    this.buf = 0;
    this.cap = 0;
  }

  // Discards an instance that can no longer be trusted (policy.c drop()).
  private drop(): void {
    this.discard();
    this.epochValue = newEpoch(); // no cached decision of the discarded instance is served meanwhile
  }

  // After a failure: back to the sealed state (emulated: see the top), or dropped. The epoch
  // stays: the decisions of a cacheable policy depend on its requests and on what it loaded at
  // init, which the restore puts back.
  private restore(): void {
    let why = '';
    if (this.sealed) {
      this.restoring = true;
      try {
        this.instantiate();
        this.initHook('plugin_init', []);
        this.initHook('security_init', [this.sealedReload]);
        return;
      } catch (e) {
        // Only the emulation can fail this way (the plugin's restore fails only without memory).
        why = ` (re-running its lifecycle hooks: ${errorText(e)})`;
      } finally {
        this.restoring = false;
      }
    }
    this.report(LOG_ERR, `the policy instance could not be restored after a failure: dropped until it is re-created${why}`);
    this.drop();
  }

  // Makes the request buffer hold at least `need` bytes; null, or why it could not.
  private ensureBuffer(need: number): string | null {
    const inst = this.inst;
    if (inst === null) return 'no instance';
    if (need <= this.cap && this.buf !== 0) return null;
    let size = Math.max(need, WA_INITIAL_REQUEST_BUFFER);
    // Grow geometrically so a slowly growing request size does not ask every time.
    if (this.cap !== 0 && size < this.cap * 2) size = this.cap * 2;
    if (size > 0x7fffffff) return 'request too large';
    let ptr: number;
    try {
      this.budget('request');
      ptr = inst.exports[EXPORT_BUFFER](size) as number;
    } catch (e) {
      return this.trapText(e);
    }
    if (ptr === 0 || !inst.mem.valid(ptr, size)) {
      this.buf = this.cap = 0;
      return `${EXPORT_BUFFER} returned a buffer outside memory`;
    }
    this.buf = ptr >>> 0;
    this.cap = size;
    return null;
  }

  private optionsSize(): number {
    return this.options.reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), ALIGN_SLACK + 4 + this.options.length * 2 * STR_BYTES);
  }

  // Options descriptor { count, [key Str, value Str]... } then the bytes; its guest pointer.
  private marshalOptions(): number {
    const inst = this.inst!;
    const start = (this.buf + 3) & ~3;
    inst.mem.setU32(start, this.options.length);
    let entry = start + 4;
    let data = entry + this.options.length * 2 * STR_BYTES;
    for (const [k, v] of this.options) {
      for (const text of [k, v]) {
        const n = Buffer.byteLength(text, 'utf8');
        inst.mem.setU32(entry, data);
        inst.mem.setU32(entry + 4, n);
        inst.mem.writeUtf8(data, text);
        data += n;
        entry += STR_BYTES;
      }
    }
    return start;
  }

  private fieldsSize(lens: number[]): number {
    return lens.reduce((n, x) => n + x, ALIGN_SLACK + lens.length * STR_BYTES);
  }

  // Writes Str descriptors and their bytes into the request buffer; their guest pointers (0 = absent).
  private marshalFields(f: Field[], lens: number[]): number[] {
    const mem = this.inst!.mem;
    const start = (this.buf + 3) & ~3;
    let data = start + f.length * STR_BYTES;
    return f.map((x, i) => {
      if (x === null) return 0;
      const desc = start + i * STR_BYTES;
      mem.setU32(desc, data);
      mem.setU32(desc + 4, lens[i]);
      if (typeof x === 'string') mem.writeUtf8(data, x);
      else mem.write(data, x);
      data += lens[i];
      return desc;
    });
  }

  // Runs a lifecycle hook: null, or why it trapped. Sets `refused` when an i32 variant returned 0.
  private callLifecycle(hook: HookName, withOpts: boolean, args: number[]): { trap: string | null; refused: boolean } {
    const sig = this.compiled.hooks[hook];
    const inst = this.inst;
    if (inst === null || sig === undefined) return { trap: null, refused: false };
    const full = [...args];
    if (withOpts) {
      const trap = this.ensureBuffer(this.optionsSize());
      if (trap !== null) return { trap, refused: false };
      full.unshift(this.marshalOptions());
    }
    this.inInit = withOpts;
    try {
      // Cleanup hooks run on the broker's main thread in the plugin: the request budget.
      this.budget(withOpts ? 'lifecycle' : 'request', hook);
      const r = inst.exports[hook](...full);
      // plugin_init / security_init: signature 1 is the i32 variant (abi.ts HOOKS).
      return { trap: null, refused: sig === 1 && withOpts && r === 0 };
    } catch (e) {
      return { trap: this.trapText(e), refused: false };
    } finally {
      this.inInit = false;
      // Files the hook streamed were for this call only: a later call opens them again.
      closeOptionFileStreams(this.optionFileStreams);
    }
  }

  private initHook(hook: 'plugin_init' | 'security_init', args: number[]): void {
    if (this.inst === null) throw new HookRefused(`${hook}: the instance was dropped after an earlier failure`);
    const { trap, refused } = this.callLifecycle(hook, true, args);
    if (trap !== null) {
      const hint = this.limitHint(trap, true);
      this.drop();
      throw new HookRefused(`${hook} trapped: ${trap}${hint}`);
    }
    if (refused) throw new HookRefused(`${hook} returned 0 (refused)`);
  }

  private cleanupHook(hook: 'plugin_cleanup' | 'security_cleanup', args: number[]): void {
    const { trap } = this.callLifecycle(hook, false, args);
    if (trap !== null) {
      this.report(LOG_ERR, `${hook} trapped: ${trap}`);
      this.drop();
    }
  }

  // Before a request: true = ready; a dropped instance gives the failure decision (logged).
  private ready(hook: HookName): boolean {
    this.actionMark = this.actions.items.length;
    this.reasonText = '';
    if (this.inst !== null) return true;
    this.fail(hook, false, UNAVAILABLE);
    return false;
  }

  private tooLong(f: Field[]): boolean {
    return f.some((x) => fieldLength(x) > WA_MAX_FIELD_BYTES);
  }

  // hookEntry: the call enters the hook itself, whose entry charge the host pays (budget()); not
  // for the ABI's other exports.
  private call(hook: HookName, client: ClientInfo | null, fields: Field[],
    invoke: (e: Instance['exports'], descs: number[]) => number | undefined, result: (v: number) => Decision,
    hookEntry = true): Decision {
    const lens = fields.map(fieldLength);
    let trap = this.ensureBuffer(this.fieldsSize(lens));
    let v = 0;
    if (trap === null) {
      const descs = this.marshalFields(fields, lens);
      this.requestClient = client;
      try {
        this.budget('request', hookEntry ? hook : undefined);
        v = (invoke(this.inst!.exports, descs) ?? 0) | 0;
      } catch (e) {
        trap = this.trapText(e);
      } finally {
        this.requestClient = null;
      }
    }
    if (trap !== null) return this.fail(hook, true, trap);
    return result(v);
  }

  private decide(hook: HookName, v: number, more = ''): Decision {
    if (v === DECISION_DENY) return 'deny';
    if (v === DECISION_ALLOW) return 'allow';
    if (v === DECISION_DEFER) return 'defer';
    return this.fail(hook, true, `returned ${v}, not a decision (0 deny, 1 allow, 2 defer${more ? ',' + more : ''})`);
  }

  // The key comes back as a guest string (UTF-16LE): hex digits only, copied as ASCII.
  private readKey(ptr: number): string | Decision {
    const data = this.inst!.mem.asString(ptr);
    if (data === null) return this.fail('psk_key_get', true, 'returned a string pointer outside memory');
    const chars = data.length / 2;
    if (chars > WA_MAX_PSK_KEY_CHARS) {
      this.report(LOG_WARNING, `psk_key_get: key of ${chars} hex digits is too long, denying`);
      return 'deny';
    }
    let key = '';
    for (let i = 0; i < chars; i++) {
      const u = data[2 * i] | (data[2 * i + 1] << 8);
      key += u < 0x80 ? String.fromCharCode(u) : '?';
    }
    if (!isHex(key)) {
      this.report(LOG_WARNING, 'psk_key_get: the key is not hexadecimal, denying');
      return 'deny';
    }
    return key;
  }

  // wasm_on_error, except that an anonymous CONNECT is never deferred: if every plugin defers,
  // mosquitto admits an anonymous client where allow_anonymous is true, so a failure would admit
  // a client that the policy's own deny refuses (policy.c failure_decision).
  private failureDecision(hook: HookName): Decision {
    // A message is dropped: deferring would deliver it, unchecked (policy.c).
    if (hook === 'on_message' || hook === 'on_message_out') return 'deny';
    // A subscription is refused: deferring would keep it, unchecked (policy.c).
    if (hook === 'on_subscribe') return 'deny';
    // Enhanced authentication never defers on a failure either (policy.c failure_decision).
    if (hook === 'ext_auth_start' || hook === 'ext_auth_continue') return 'deny';
    return hook === 'unpwd_check' && this.anonymous ? 'deny' : this.cfg.onError;
  }

  // The failure decision for a request, logged with the limit it hit; discard = the instance is
  // no longer trusted: it is restored (or dropped).
  private fail(hook: HookName, discard: boolean, why: string): Decision {
    const decision = this.failureDecision(hook);
    const word = hook === 'on_message' || hook === 'on_message_out' ? 'message dropped'
      : hook === 'on_subscribe' ? 'subscription denied'
        : decision === 'defer' ? 'request deferred' : 'request denied';
    this.report(LOG_ERR, `${hook} failed, ${word}: ${why}${this.limitHint(why, false)}`);
    // Like the instance's state, what the failed call queued is undone (and what the emulated
    // restore's lifecycle hooks queue: the plugin runs none).
    truncateActions(this.actions, this.actionMark);
    if (discard) this.restore();
    truncateActions(this.actions, this.actionMark);
    return decision;
  }

  // One line per interval: a broken policy must not flood the log. The next line says how many were left out.
  private report(level: number, line: string): void {
    const now = performance.now();
    const interval = this.cfg.errorLogIntervalMs;
    if (this.reported && interval > 0 && now - this.lastReport < interval) {
      this.suppressed++;
      return;
    }
    if (this.suppressed) {
      line += ` (${this.suppressed} more errors in the last ${Math.floor((now - this.lastReport) / 1000)} s not logged)`;
    }
    this.log(level, line);
    this.reported = true;
    this.lastReport = now;
    this.suppressed = 0;
  }

  private optionFile(key: string): string | null {
    for (let i = this.options.length - 1; i >= 0; i--) {
      if (this.options[i][0] === key) return this.options[i][1];
    }
    return null;
  }
}

export const DEFAULT_ERROR_LOG_INTERVAL_MS = WA_ERROR_LOG_INTERVAL_S * 1000;
