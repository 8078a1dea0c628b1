// The host imports of docs/ABI.md, implemented for Node with the plugin's behaviour
// (plugin-c/runtime/hostfns.c): same results, same bounds rules, same trap messages, the same fuel
// charged at the same points, the same guest log rate limit. Used by the Node host (policy.ts)
// and by the as-pect specs (aspect.ts).
import { closeSync, constants as fsConstants, fstatSync, openSync, readSync } from 'node:fs';
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { GuestError, GuestMemory } from './memory.js';
import { topicMatchesSub, validFilter } from './topic.js';
import { PW_TOO_COSTLY, pwCapWarning, pwCheck, pwParse } from './password.js';
import { checkClaims, checkSignature, isJwks, JwtFailure, parseKeyFile, parseToken, price as jwtPrice, selectKey, type JwtKey } from './jwt.js';
import { sanitizeControls, utf16leToText, formatG17 } from './text.js';
import {
  JWT_BAD_SIGNATURE, JWT_KEY_FILE, LOG_DEBUG, LOG_ERR, LOG_INFO, LOG_NOTICE, LOG_WARNING,
  OPTION_FILE_ABSENT, OPTION_FILE_NOT_FILE_OPTION, OPTION_FILE_NOT_FOUND, OPTION_FILE_NOT_REGULAR, OPTION_FILE_OUTSIDE_INIT,
  OPTION_FILE_PERMISSION, OPTION_FILE_READ_ERROR, OPTION_FILE_TOO_BIG,
  AUTH_DATA_OUTSIDE_HOOK, AUTH_DATA_TOO_LARGE, CRYPTO_BAD_ITERATIONS, CRYPTO_TOO_LARGE,
  ACTION_INVALID, ACTION_NO_PREFIX, ACTION_OUTSIDE_PREFIX, ACTION_QUEUE_FULL, ACTION_QUEUED, ACTION_RATE_LIMITED, ACTION_TOO_LARGE,
  REASON_INVALID,
} from './abi.js';
import {
  WA_FUEL_CLOCK, WA_FUEL_COPY_32, WA_FUEL_HASH_32, WA_FUEL_HOST_CALL, WA_FUEL_LOG_LINE, WA_FUEL_OPEN_FILE,
  WA_FUEL_ARGON2, WA_FUEL_ARGON2_KIB, WA_FUEL_PBKDF2, WA_FUEL_PBKDF2_ITERATION, WA_FUEL_PW_VERIFY, WA_FUEL_SCAN_32, WA_FUEL_SEED, WA_FUEL_TEXT_32, WA_FUEL_TRACE_ARG,
  WA_LOG_BURST_BYTES, WA_LOG_BURST_LINES, WA_LOG_BYTES_PER_S, WA_LOG_LINES_PER_S, WA_MAX_LOG_BYTES,
  WA_MAX_OPTION_FILE_BYTES, WA_MAX_OPTION_FILE_STREAM_BYTES, WA_OPTION_FILE_LOG_KEY_BYTES,
  WA_OPTION_FILE_LOG_PATH_BYTES, WA_OPTION_FILE_STREAMS,
  WA_ACTION_LOG_TOPIC_BYTES, WA_ACTION_QUEUE_BYTES, WA_ACTION_QUEUE_ENTRIES, WA_ERROR_LOG_INTERVAL_S, WA_FUEL_ACTION,
  WA_KICKS_BURST, WA_KICKS_PER_S, WA_MAX_FIELD_BYTES, WA_MAX_PAYLOAD_BYTES, WA_PUBLISHES_BURST, WA_PUBLISHES_PER_S,
  WA_FUEL_REWRITE_COPY_32, WA_FUEL_JWT_KEY, WA_JWT_KEY_OPTIONS, WA_JWT_MAX_KEY_FILE_BYTES, WA_JWT_MAX_KEYS, WA_MAX_JWT_BYTES,
  WA_MAX_REASON_BYTES,
  WA_FUEL_DIGEST, WA_FUEL_PBKDF2_SHA256_ITERATION, WA_MAX_AUTH_DATA_BYTES, WA_MAX_CRYPTO_INPUT_BYTES,
  WA_MAX_PBKDF2_SHA256_ITERATIONS,
} from './limits.js';

/** The client behind a request, as `client_*` imports report it. */
export interface ClientInfo {
  id?: string | null;
  address?: string | null;
  /** 3 (MQTT 3.1), 4 (3.1.1), 5 (5.0); 0 unknown. */
  protocolVersion?: number;
}

/**
 * Enhanced authentication (hostfns.h in_ext_auth / auth_out): `active` while ext_auth_start or
 * ext_auth_continue runs; `out` = what auth_data_out last gave during that call.
 */
export interface AuthDataOut {
  active: boolean;
  out: Uint8Array;
}

/** What the imports need from whoever runs the guest. */
export interface ImportContext {
  memory(): WebAssembly.Memory;
  /** The current request's client, or null (lifecycle hooks, no client). */
  client(): ClientInfo | null;
  /** One guest log line (no prefix) at a MOSQ_LOG_* level. */
  log(level: number, message: string): void;
  /** Path named by option `key` (already known to end in `_file`), or null when it is not set. */
  optionFile(key: string): string | null;
  /**
   * True while option files may be read: during plugin_init and security_init. Absent: always
   * (then `optionFile` alone decides, as before this member existed).
   */
  inInit?(): boolean;
  /**
   * The guest's fuel counter (the gate's metering global), or null: every import charges its
   * price (limits.ts WA_FUEL_*) to it before its work, and traps with "fuel exhausted" when that
   * takes it below 0 or it already was. Without it nothing is charged.
   */
  fuel?(): WebAssembly.Global | null | undefined;
  /**
   * The guest log rate limit. The plugin keeps one per policy, across re-created instances (a
   * new instance must not get a new burst): pass the same object to every instance. Fresh if absent.
   */
  logLimit?: LogLimit;
  /** Monotonic milliseconds for the rate limit; default Math.floor(performance.now()). */
  now?(): number;
  /**
   * The files `option_file_read_at` keeps open. They are for one init hook call: whoever runs
   * the guest closes them with `closeOptionFileStreams` when each plugin_init / security_init
   * call returns, as the plugin does. Absent: a set of its own, which nothing closes.
   */
  optionFileStreams?: OptionFileStreams;
  /** Where auth_data_out copies to; absent: auth_data_out answers "outside the hooks". */
  authData?: AuthDataOut;
  /**
   * Where kick_client, kick_user and publish queue their actions (docs/ABI.md, "Deferred
   * actions"), with their rate limits: one per policy, across instances. Fresh if absent.
   */
  actions?: ActionQueue;
  /** wasm_publish_prefix without its trailing '/'; null or absent: publish is refused. */
  publishPrefix?(): string | null;
  /** wasm_max_payload: publish refuses larger payloads. Default WA_MAX_PAYLOAD_BYTES. */
  maxPayload?: number;
  /**
   * Receives what `set_reason` keeps ('' when it refused invalid UTF-8): the reason of the
   * decision the current hook returns. Whoever runs the guest clears it before each hook call.
   */
  setReason?(reason: string): void;
  /**
   * Where message_set_* stage on_message's rewrite (docs/ABI.md, "Message hook"); they trap
   * unless its `active` is true. Absent: they always trap.
   */
  rewrite?: MessageRewrite;
  /** Where subscribe_set_* stage on_subscribe's rewrite; as `rewrite`. */
  subRewrite?: SubscribeRewrite;
}

/** on_message's staged rewrite (hostfns.h struct wa_message_rewrite); null / undefined = unchanged. */
export interface MessageRewrite {
  active: boolean;
  topic: string | null;
  payload: Uint8Array | null;
  retain: boolean | null;
}

export function newMessageRewrite(): MessageRewrite {
  return { active: false, topic: null, payload: null, retain: null };
}

/** Empties the staged rewrite (hostfns.c wa_host_message_clear). */
export function clearMessageRewrite(r: MessageRewrite, active: boolean): void {
  r.active = active;
  r.topic = null;
  r.payload = null;
  r.retain = null;
}

/** on_subscribe's staged rewrite (hostfns.h struct wa_subscribe_rewrite); null = unchanged. */
export interface SubscribeRewrite {
  active: boolean;
  topic: string | null;
  qos: number | null;
}

export function newSubscribeRewrite(): SubscribeRewrite {
  return { active: false, topic: null, qos: null };
}

/** Empties the staged rewrite (hostfns.c wa_host_subscribe_clear). */
export function clearSubscribeRewrite(r: SubscribeRewrite, active: boolean): void {
  r.active = active;
  r.topic = null;
  r.qos = null;
}

/** A deferred action (hostfns.h struct wa_action), as the host would carry it out. */
export type Action =
  | { kind: 'kick_client'; clientid: string }
  | { kind: 'kick_user'; username: string }
  | { kind: 'publish'; topic: string; payload: Uint8Array; qos: number; retain: boolean };

/** A token bucket kept as a debt in thousandths (hostfns.h struct wa_rate_limit). */
export interface RateLimit {
  lastMs: number;
  debt: number;
}

/** The queued actions and their limits (hostfns.h struct wa_actions). */
export interface ActionQueue {
  items: Action[];
  bytes: number;
  kicks: RateLimit;
  publishes: RateLimit;
  /** Per function (kick_client, kick_user, publish) and reason (-result): when a refusal was last logged, refusals since not logged. */
  warnedMs: number[][];
  unwarned: number[][];
  warned: boolean[][];
}

export function newActionQueue(): ActionQueue {
  return {
    items: [], bytes: 0, kicks: { lastMs: 0, debt: 0 }, publishes: { lastMs: 0, debt: 0 },
    warnedMs: [0, 1, 2].map(() => new Array<number>(7).fill(0)),
    unwarned: [0, 1, 2].map(() => new Array<number>(7).fill(0)),
    warned: [0, 1, 2].map(() => new Array<boolean>(7).fill(false)),
  };
}

/** Bytes an action holds in the queue (its target, a NUL, its payload), as hostfns.c counts them. */
function actionBytes(a: Action): number {
  const target = a.kind === 'kick_client' ? a.clientid : a.kind === 'kick_user' ? a.username : a.topic;
  return Buffer.byteLength(target, 'utf8') + 1 + (a.kind === 'publish' ? a.payload.length : 0);
}

/** Drops queued actions from the end down to `keep` (a hook that failed). */
export function truncateActions(q: ActionQueue, keep: number): void {
  while (q.items.length > keep) q.bytes -= actionBytes(q.items.pop()!);
}

/** Every queued action, in order; the queue is empty afterwards. */
export function takeActions(q: ActionQueue): Action[] {
  const out = q.items.splice(0);
  q.bytes = 0;
  return out;
}

/** wa_action_rate_take: true = within the rate (and counted). */
export function actionRateTake(r: RateLimit, now: number, perS: number, burst: number): boolean {
  const elapsed = Math.max(0, now - r.lastMs);
  if (now > r.lastMs) r.lastMs = now;
  r.debt = Math.max(0, r.debt - elapsed * perS);
  if (r.debt + 1000 > burst * 1000) return false;
  r.debt += 1000;
  return true;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
function utf8Valid(b: Uint8Array): boolean {
  try {
    strictUtf8.decode(b);
    return true;
  } catch {
    return false;
  }
}

// What a refusal line shows of the guest's id or topic (hostfns.c shown_target).
function shownTarget(b: Uint8Array): string {
  let out = '';
  const n = Math.min(b.length, WA_ACTION_LOG_TOPIC_BYTES);
  for (let i = 0; i < n; i++) out += b[i] >= 0x20 && b[i] < 0x7f ? String.fromCharCode(b[i]) : '?';
  return b.length > n ? out + '...' : out;
}

/**
 * Files `option_file_read_at` opened during the current init hook call (hostfns.h struct
 * wa_option_stream): every chunk of a file is read from the same open file, so a file renamed over
 * the path between chunks cannot give the policy a mix of two versions. At most
 * WA_OPTION_FILE_STREAMS; a new one closes the one opened first.
 */
export interface OptionFileStreams {
  entries: OptionFileStream[];
  /** Files opened so far: the order of opening. */
  opened: number;
  /**
   * jwt_verify's keys per key option (hostfns.h struct wa_jwt_cached), kept here because they
   * live by the same init hook calls: loaded once per call, used by requests until the next.
   * `closeOptionFileStreams` marks them for loading again.
   */
  jwt: Map<string, { keys: JwtKey[] | null; fresh: boolean }>;
}

interface OptionFileStream {
  /** The option's key and the path it named when the file was opened. */
  key: string;
  path: string;
  /** The key as the guest gave it, for warnings. */
  keyBytes: Uint8Array;
  fd: number;
  /** At open: reads stop there, whatever the file does later. */
  size: number;
  opened: number;
}

export function newOptionFileStreams(): OptionFileStreams {
  return { entries: [], opened: 0, jwt: new Map() };
}

/** Closes every file `option_file_read_at` keeps open (wa_host_option_files_close). */
export function closeOptionFileStreams(s: OptionFileStreams): void {
  for (const e of s.entries.splice(0)) closeSync(e.fd);
  // The next init hook call loads jwt_verify's keys anew (a reload may have changed them).
  for (const c of s.jwt.values()) c.fresh = false;
}

/**
 * The guest log rate limit (plugin-c/runtime/hostfns.h, struct wa_log_limit): two token buckets kept as
 * debts in thousandths; all zero = fresh.
 */
export interface LogLimit {
  lastMs: number;
  lineDebt: number;
  byteDebt: number;
  droppedLines: number;
  droppedBytes: number;
  /** The "limit reached" notice was written; cleared once the buckets are full again. */
  noticed: boolean;
}

export function newLogLimit(): LogLimit {
  return { lastMs: 0, lineDebt: 0, byteDebt: 0, droppedLines: 0, droppedBytes: 0, noticed: false };
}

/** wa_log_limit_take: true = the line may be written (and is counted); false = dropped (counted). */
export function logLimitTake(l: LogLimit, now: number, bytes: number): boolean {
  const elapsed = Math.max(0, now - l.lastMs);
  if (now > l.lastMs) l.lastMs = now;
  l.lineDebt = Math.max(0, l.lineDebt - elapsed * WA_LOG_LINES_PER_S);
  l.byteDebt = Math.max(0, l.byteDebt - elapsed * WA_LOG_BYTES_PER_S);
  if (l.lineDebt === 0 && l.byteDebt === 0) l.noticed = false; // quiet long enough: a new flood
  if (l.lineDebt + 1000 > WA_LOG_BURST_LINES * 1000 || bytes > WA_LOG_BURST_BYTES ||
    l.byteDebt + bytes * 1000 > WA_LOG_BURST_BYTES * 1000) {
    l.droppedLines++;
    l.droppedBytes += bytes;
    return false;
  }
  l.lineDebt += 1000;
  l.byteDebt += bytes * 1000;
  return true;
}

/** The price of `bytes` bytes at `price32` units per 32 bytes, rounded up (hostfns.c per32). */
export function per32(bytes: number, price32: number): number {
  return Math.floor((bytes * price32 + 31) / 32);
}

// Guest text to convert: the conversion stops once WA_MAX_LOG_BYTES of UTF-8 are out, which
// takes at most two input bytes each.
function textPrice(utf16Bytes: number): number {
  return per32(Math.min(utf16Bytes, 2 * WA_MAX_LOG_BYTES), WA_FUEL_TEXT_32);
}

/**
 * The import modules createImports returns: functions of numbers, and of a bigint where the
 * import takes an i64 (option_file_read_at's offset).
 */
export type ImportObject = ReturnType<typeof createImports>;

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8');
// A reason is kept byte for byte: a leading BOM is part of it.
const reasonDecoder = new TextDecoder('utf-8', { ignoreBOM: true });
const OPTION_FILE_SUFFIX = '_file';
const TEXT_CAP = WA_MAX_LOG_BYTES + 1; // the C side's buffer, NUL included

// The option name as a warning shows it: the guest chose these bytes, so at most
// WA_OPTION_FILE_LOG_KEY_BYTES of them, each outside printable ASCII as '?' (as hostfns.c does).
function shownKey(k: Uint8Array): string {
  let out = '';
  const n = Math.min(k.length, WA_OPTION_FILE_LOG_KEY_BYTES);
  for (let i = 0; i < n; i++) out += k[i] >= 0x20 && k[i] < 0x7f ? String.fromCharCode(k[i]) : '?';
  return k.length > n ? out + '...' : out;
}

// The path as a warning shows it: at most WA_OPTION_FILE_LOG_PATH_BYTES bytes of UTF-8, cut at
// a character boundary ("..." marks the cut); controls neutralised as in every log line.
function shownPath(path: string): string {
  const b = utf8.encode(path);
  if (b.length <= WA_OPTION_FILE_LOG_PATH_BYTES) return sanitizeControls(path);
  let n = WA_OPTION_FILE_LOG_PATH_BYTES;
  while (n > 0 && (b[n] & 0xc0) === 0x80) n--;
  return sanitizeControls(utf8Decoder.decode(b.subarray(0, n))) + '...';
}

function endsWithBytes(b: Uint8Array, suffix: string): boolean {
  const s = utf8.encode(suffix);
  if (b.length < s.length) return false;
  for (let i = 0; i < s.length; i++) if (b[b.length - s.length + i] !== s[i]) return false;
  return true;
}

// "cannot be read (EIO)": errors other than the usual ones, by their errno name.
function errnoDetail(e: unknown): string {
  return `cannot be read (${(e as NodeJS.ErrnoException).code ?? 'unknown error'})`;
}

// An open() error as the guest's result and the warning's words (hostfns.c errno_reason).
function errnoReason(e: unknown): [number, string] {
  switch ((e as NodeJS.ErrnoException).code) {
    case 'ENOENT': case 'ENOTDIR': return [OPTION_FILE_NOT_FOUND, 'not found'];
    case 'EACCES': case 'EPERM': return [OPTION_FILE_PERMISSION, 'permission denied'];
    default: return [OPTION_FILE_READ_ERROR, errnoDetail(e)];
  }
}

/** Thrown by `env.abort`: the guest aborted; the call traps with this message. */
export class GuestAbort extends GuestError {
  constructor(message: string) {
    super(message);
    this.name = 'GuestAbort';
  }
}

// Unknown levels log at INFO, as the plugin does.
function logLevel(level: number): number {
  switch (level) {
    case LOG_INFO: case LOG_NOTICE: case LOG_WARNING: case LOG_ERR: case LOG_DEBUG:
      return level;
    default:
      return LOG_INFO;
  }
}

// Copies `value` into the guest buffer (truncated to cap); its full length, -1 when absent.
// The value's length is measured, then up to that much copied: paid per byte of it.
function copyOut(mem: GuestMemory, charge: Charge, fn: string, value: string | null | undefined, ptr: number, cap: number): number {
  if (value === null || value === undefined) return -1;
  const dst = mem.bytes(ptr, cap, fn, 'buffer');
  const b = utf8.encode(value);
  charge(fn, per32(b.length, WA_FUEL_COPY_32));
  dst.set(b.subarray(0, Math.min(b.length, dst.length)));
  return Math.min(b.length, 0x7fffffff);
}

type Charge = (fn: string, units: number) => void;

// One guest string for a message: converted, sanitised, "<invalid>" if it cannot be read.
function guestText(mem: GuestMemory, ptr: number): string {
  const b = mem.asString(ptr);
  return b === null ? '<invalid>' : sanitizeControls(utf16leToText(b, TEXT_CAP));
}

/** The `mosquitto` and `env` import modules for one guest instance. */
// The result's type is inferred: each import keeps its own parameter types (ImportObject).
export function createImports(ctx: ImportContext) {
  const mem = new GuestMemory(() => ctx.memory());
  const limit = ctx.logLimit ?? newLogLimit();
  const now = ctx.now ?? (() => Math.floor(performance.now()));

  // hostfns.c charge(): takes units before the work they pay for; a counter already below 0 (the
  // deadline) is left as it is, so nothing wraps it around.
  const charge: Charge = (_fn, units) => {
    const g = ctx.fuel?.();
    if (g === null || g === undefined) return;
    let fuel = g.value as bigint;
    if (fuel >= 0n) {
      fuel -= BigInt(units);
      g.value = fuel;
      if (fuel >= 0n) return;
    }
    throw new GuestError('fuel exhausted');
  };

  // One line the guest caused, through the rate limit: one notice when it starts dropping lines
  // (once per flood), and the count of those dropped before the next line let through.
  const guestLine = (level: number, text: string): void => {
    if (!logLimitTake(limit, now(), Buffer.byteLength(text, 'utf8'))) {
      if (!limit.noticed) {
        limit.noticed = true;
        ctx.log(LOG_WARNING, `guest log rate limit reached (${WA_LOG_LINES_PER_S} lines and ${WA_LOG_BYTES_PER_S} bytes per second, `
          + `bursts of ${WA_LOG_BURST_LINES} lines and ${WA_LOG_BURST_BYTES} bytes): further guest log lines are suppressed and counted`);
      }
      return;
    }
    if (limit.droppedLines) {
      ctx.log(LOG_WARNING, `${limit.droppedLines} guest log lines (${limit.droppedBytes} bytes) suppressed`);
      limit.droppedLines = 0;
      limit.droppedBytes = 0;
    }
    ctx.log(level, text);
  };

  // Why option file `key` could not be read: one warning through the guest log rate limit, paid
  // like a guest log line (hostfns.c option_file_failed). Returns the guest's result.
  const optionFileFailed = (fn: string, key: Uint8Array, path: string | null, code: number, detail: string): number => {
    charge(fn, WA_FUEL_LOG_LINE);
    const k = shownKey(key);
    guestLine(LOG_WARNING, path === null ? `${fn}: option file ${k}: ${detail}` : `${fn}: option file ${k} (${shownPath(path)}): ${detail}`);
    return code;
  };

  // The option `key` names if the rules let a policy read it (init hooks only, keys ending in
  // "_file" that are set): the guest's key bytes, the key and the path; or the guest's negative
  // result (an OPTION_FILE_* reason, logged unless the option is just not set).
  const findOptionFile = (fn: string, keyPtr: number, keyLen: number): { k: Uint8Array; key: string; path: string } | number => {
    const k = mem.bytes(keyPtr, keyLen, fn);
    if (ctx.inInit && !ctx.inInit()) {
      return optionFileFailed(fn, k, null, OPTION_FILE_OUTSIDE_INIT, 'option files can be read only in plugin_init and security_init');
    }
    const key = utf8Decoder.decode(k);
    if (k.length <= OPTION_FILE_SUFFIX.length || !endsWithBytes(k, OPTION_FILE_SUFFIX)) {
      return optionFileFailed(fn, k, null, OPTION_FILE_NOT_FILE_OPTION,
        'not a file option (only options whose name ends in _file name files a policy may read)');
    }
    const path = ctx.optionFile(key);
    // Not logged: probing an optional setting is normal; the policy says when it needed it.
    if (path === null || path === '') return OPTION_FILE_ABSENT;
    return { k, key, path };
  };

  // Opens the file at `path` once WA_FUEL_OPEN_FILE is paid: only a regular file of at most
  // `max` bytes (`maxName`, the cap a refusal names). An open fd and its size, or the guest's
  // negative result (logged).
  const openFound = (fn: string, k: Uint8Array, path: string, max: number, maxName: string): { fd: number; size: number } | number => {
    charge(fn, WA_FUEL_OPEN_FILE);
    let fd: number;
    try {
      // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused below).
      fd = openSync(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
    } catch (e) {
      const [code, detail] = errnoReason(e);
      return optionFileFailed(fn, k, path, code, detail);
    }
    let st;
    try {
      st = fstatSync(fd);
    } catch (e) {
      closeSync(fd);
      return optionFileFailed(fn, k, path, OPTION_FILE_READ_ERROR, errnoDetail(e));
    }
    if (!st.isFile()) {
      closeSync(fd);
      return optionFileFailed(fn, k, path, OPTION_FILE_NOT_REGULAR, st.isDirectory() ? 'is a directory' : 'not a regular file');
    }
    if (st.size > max) {
      closeSync(fd);
      return optionFileFailed(fn, k, path, OPTION_FILE_TOO_BIG, `${st.size} bytes, above the cap of ${max} (${maxName})`);
    }
    return { fd, size: st.size };
  };

  // The file named by option `key` if the rules allow, up to WA_MAX_OPTION_FILE_BYTES: an open
  // fd, its size and path; or the guest's negative result.
  const openOptionFile = (fn: string, keyPtr: number, keyLen: number): { fd: number; size: number; key: Uint8Array; path: string } | number => {
    const f = findOptionFile(fn, keyPtr, keyLen);
    if (typeof f === 'number') return f;
    const o = openFound(fn, f.k, f.path, WA_MAX_OPTION_FILE_BYTES, 'WA_MAX_OPTION_FILE_BYTES');
    if (typeof o === 'number') return o;
    return { fd: o.fd, size: o.size, key: f.k.slice(), path: f.path };
  };

  const streams = ctx.optionFileStreams ?? newOptionFileStreams();

  // Keeps a file open for option `key`: in a free entry, else in place of the file opened first.
  const addStream = (e: Omit<OptionFileStream, 'opened'>): OptionFileStream => {
    if (streams.entries.length >= WA_OPTION_FILE_STREAMS) {
      let oldest = 0;
      for (let i = 1; i < streams.entries.length; i++) if (streams.entries[i].opened < streams.entries[oldest].opened) oldest = i;
      closeSync(streams.entries.splice(oldest, 1)[0].fd);
    }
    const s = { ...e, opened: ++streams.opened };
    streams.entries.push(s);
    return s;
  };

  const actions = ctx.actions ?? newActionQueue();
  const maxPayload = ctx.maxPayload ?? WA_MAX_PAYLOAD_BYTES;
  const ACTION_FN = ['kick_client', 'kick_user', 'publish'] as const;
  type ActionFn = typeof ACTION_FN[number];

  // hostfns.c action_refused(): at most one line per function and reason per
  // WA_ERROR_LOG_INTERVAL_S, paid like a guest log line when written; returns the guest's result.
  const refused = (fn: ActionFn, code: number, text: string): number => {
    const k = ACTION_FN.indexOf(fn);
    const r = -code;
    const t = now();
    if (actions.warned[k][r] && t - actions.warnedMs[k][r] < WA_ERROR_LOG_INTERVAL_S * 1000) {
      actions.unwarned[k][r]++;
      return code;
    }
    charge(fn, WA_FUEL_LOG_LINE);
    ctx.log(LOG_WARNING, actions.unwarned[k][r]
      ? `${fn}: ${text} (${actions.unwarned[k][r]} more refused in the last ${Math.floor((t - actions.warnedMs[k][r]) / 1000)} s not logged)`
      : `${fn}: ${text}`);
    actions.warned[k][r] = true;
    actions.warnedMs[k][r] = t;
    actions.unwarned[k][r] = 0;
    return code;
  };

  // hostfns.c enqueue(): the queue's bounds, the rate, then the copy is paid and made.
  const enqueue = (fn: ActionFn, target: Uint8Array, a: Action): number => {
    const kick = fn !== 'publish';
    const size = target.length + 1 + (a.kind === 'publish' ? a.payload.length : 0);
    if (actions.items.length >= WA_ACTION_QUEUE_ENTRIES || size > WA_ACTION_QUEUE_BYTES - actions.bytes) {
      return refused(fn, ACTION_QUEUE_FULL, `${shownTarget(target)} refused: the queue of deferred actions is full (${WA_ACTION_QUEUE_ENTRIES} actions, ${WA_ACTION_QUEUE_BYTES} bytes)`);
    }
    if (!actionRateTake(kick ? actions.kicks : actions.publishes, now(), kick ? WA_KICKS_PER_S : WA_PUBLISHES_PER_S,
      kick ? WA_KICKS_BURST : WA_PUBLISHES_BURST)) {
      return refused(fn, ACTION_RATE_LIMITED, `${shownTarget(target)} refused: more than ${kick ? WA_KICKS_PER_S : WA_PUBLISHES_PER_S} `
        + `${kick ? 'kicks' : 'publishes'} per second (bursts of ${kick ? WA_KICKS_BURST : WA_PUBLISHES_BURST})`);
    }
    charge(fn, per32(size, WA_FUEL_COPY_32));
    actions.items.push(a);
    actions.bytes += size;
    return ACTION_QUEUED;
  };

  const kick = (fn: 'kick_client' | 'kick_user', ptr: number, len: number): number => {
    charge(fn, WA_FUEL_HOST_CALL + WA_FUEL_ACTION);
    const b = mem.range(ptr, len);
    if (b === null) throw new GuestError(`${fn}: pointer out of bounds`);
    charge(fn, per32(len, WA_FUEL_SCAN_32));
    // Empty or with a NUL: mosquitto takes a C string, and its NULL / "" would mean every client.
    if (len === 0 || len > WA_MAX_FIELD_BYTES || b.includes(0)) {
      return refused(fn, ACTION_INVALID, `refused: ${len === 0 ? 'empty name' : 'a name longer than 65535 bytes or holding a NUL byte'}`);
    }
    const name = utf8Decoder.decode(b);
    return enqueue(fn, b, fn === 'kick_client' ? { kind: fn, clientid: name } : { kind: fn, username: name });
  };

  // One jwt_verify refusal: a warning through the guest log rate limit, paid like a guest log
  // line (hostfns.c jwt_failed). Returns the guest's result.
  const jwtFailed = (k: Uint8Array, detail: string, code: number): number => {
    charge('jwt_verify', WA_FUEL_LOG_LINE);
    guestLine(LOG_WARNING, sanitizeControls(`jwt_verify (${shownKey(k)}): ${detail}`));
    return code;
  };

  // Reads and parses the key file at `path`, paying for it first (hostfns.c jwt_load): the keys
  // or why they are refused.
  const jwtLoad = (path: string): JwtKey[] | string => {
    const shown = shownPath(path);
    charge('jwt_verify', WA_FUEL_OPEN_FILE);
    let fd: number;
    try {
      // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused below).
      fd = openSync(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
    } catch (e) {
      return `key file ${shown}: ${errnoReason(e)[1]}`;
    }
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) return `key file ${shown}: not a regular file`;
      if (st.size > WA_JWT_MAX_KEY_FILE_BYTES) return `key file ${shown}: ${st.size} bytes, above the cap of ${WA_JWT_MAX_KEY_FILE_BYTES} (WA_JWT_MAX_KEY_FILE_BYTES)`;
      const data = new Uint8Array(st.size);
      charge('jwt_verify', per32(st.size, WA_FUEL_COPY_32 + WA_FUEL_SCAN_32));
      let got = 0;
      try {
        while (got < st.size) {
          const r = readSync(fd, data, got, st.size - got, null);
          if (r <= 0) break;
          got += r;
        }
      } catch (e) {
        return `key file ${shown}: ${errnoDetail(e)}`;
      }
      if (got !== st.size) return `key file ${shown}: shrank while being read`;
      charge('jwt_verify', WA_FUEL_JWT_KEY * (isJwks(data) ? WA_JWT_MAX_KEYS : 1));
      const keys = parseKeyFile(data);
      data.fill(0); // it may be an HMAC secret
      return typeof keys === 'string' ? `key file ${shown}: ${keys}` : keys;
    } finally {
      closeSync(fd);
    }
  };

  // The keys of key option `k` (hostfns.c jwt_keys): loaded during init hook calls (once per
  // call), looked up outside; or the guest's negative result (logged).
  const jwtKeys = (k: Uint8Array): JwtKey[] | number => {
    if (k.length <= OPTION_FILE_SUFFIX.length || !endsWithBytes(k, OPTION_FILE_SUFFIX)) {
      return jwtFailed(k, "not a file option (a key option's name ends in _file)", JWT_KEY_FILE);
    }
    const key = utf8Decoder.decode(k);
    const path = ctx.optionFile(key);
    if (path === null || path === '') return jwtFailed(k, 'option not set', JWT_KEY_FILE);
    const inInit = !ctx.inInit || ctx.inInit();
    let c = streams.jwt.get(key);
    if (c === undefined && inInit) {
      if (streams.jwt.size >= WA_JWT_KEY_OPTIONS) return jwtFailed(k, `more than ${WA_JWT_KEY_OPTIONS} key options (WA_JWT_KEY_OPTIONS)`, JWT_KEY_FILE);
      c = { keys: null, fresh: false };
      streams.jwt.set(key, c);
    }
    if (c === undefined) return jwtFailed(k, 'keys not loaded (they load in plugin_init or security_init)', JWT_KEY_FILE);
    if (inInit && !c.fresh) {
      c.keys = null;
      c.fresh = true;
      const r = jwtLoad(path);
      if (typeof r === 'string') return jwtFailed(k, r, JWT_KEY_FILE);
      c.keys = r;
    }
    if (c.keys === null) return jwtFailed(k, 'keys not loaded (the key file was refused at init)', JWT_KEY_FILE);
    return c.keys;
  };

  const SHA256_BYTES = 32;
  // hostfns.c digest_out: the 32-byte result's place, checked before any work.
  const digestOut = (fn: string, out: number): Uint8Array => mem.bytes(out, SHA256_BYTES, fn, 'buffer');

  const mosquitto = {
    auth_data_out(ptr: number, len: number): number {
      const fn = 'auth_data_out';
      charge(fn, WA_FUEL_HOST_CALL);
      const src = mem.range(ptr, len);
      if (src === null) throw new GuestError(`${fn}: pointer out of bounds`);
      const a = ctx.authData;
      if (a === undefined || !a.active) return AUTH_DATA_OUTSIDE_HOOK;
      if (src.length > WA_MAX_AUTH_DATA_BYTES) return AUTH_DATA_TOO_LARGE;
      charge(fn, per32(src.length, WA_FUEL_COPY_32));
      a.out = src.slice();
      return 0;
    },
    sha256(msgPtr: number, msgLen: number, out: number): number {
      const fn = 'sha256';
      charge(fn, WA_FUEL_HOST_CALL);
      const m = mem.range(msgPtr, msgLen);
      if (m === null) throw new GuestError(`${fn}: pointer out of bounds`);
      const dst = digestOut(fn, out);
      if (m.length > WA_MAX_CRYPTO_INPUT_BYTES) return CRYPTO_TOO_LARGE;
      charge(fn, WA_FUEL_DIGEST + per32(m.length, WA_FUEL_HASH_32));
      dst.set(createHash('sha256').update(m).digest());
      return 0;
    },
    hmac_sha256(keyPtr: number, keyLen: number, msgPtr: number, msgLen: number, out: number): number {
      const fn = 'hmac_sha256';
      charge(fn, WA_FUEL_HOST_CALL);
      const k = mem.range(keyPtr, keyLen);
      const m = mem.range(msgPtr, msgLen);
      if (k === null || m === null) throw new GuestError(`${fn}: pointer out of bounds`);
      const dst = digestOut(fn, out);
      if (k.length > WA_MAX_CRYPTO_INPUT_BYTES || m.length > WA_MAX_CRYPTO_INPUT_BYTES) return CRYPTO_TOO_LARGE;
      charge(fn, WA_FUEL_DIGEST + per32(k.length + m.length, WA_FUEL_HASH_32));
      dst.set(createHmac('sha256', k).update(m).digest());
      return 0;
    },
    pbkdf2_sha256(pwPtr: number, pwLen: number, saltPtr: number, saltLen: number, iterations: number, out: number): number {
      const fn = 'pbkdf2_sha256';
      charge(fn, WA_FUEL_HOST_CALL);
      const p = mem.range(pwPtr, pwLen);
      const s = mem.range(saltPtr, saltLen);
      if (p === null || s === null) throw new GuestError(`${fn}: pointer out of bounds`);
      const dst = digestOut(fn, out);
      if (p.length > WA_MAX_CRYPTO_INPUT_BYTES || s.length > WA_MAX_CRYPTO_INPUT_BYTES) return CRYPTO_TOO_LARGE;
      // An i32 in the ABI: the C host reads it unsigned, so a negative count is refused there too.
      const n = iterations >>> 0;
      if (n === 0 || n > WA_MAX_PBKDF2_SHA256_ITERATIONS) return CRYPTO_BAD_ITERATIONS;
      charge(fn, WA_FUEL_DIGEST + per32(p.length + s.length, WA_FUEL_HASH_32) + n * WA_FUEL_PBKDF2_SHA256_ITERATION);
      dst.set(pbkdf2Sync(p, s, n, SHA256_BYTES, 'sha256'));
      return 0;
    },
    kick_client(ptr: number, len: number): number {
      return kick('kick_client', ptr, len);
    },
    kick_user(ptr: number, len: number): number {
      return kick('kick_user', ptr, len);
    },
    publish(topicPtr: number, topicLen: number, payloadPtr: number, payloadLen: number, qos: number, retain: number): number {
      const fn = 'publish';
      charge(fn, WA_FUEL_HOST_CALL + WA_FUEL_ACTION);
      const t = mem.range(topicPtr, topicLen);
      const p = mem.range(payloadPtr, payloadLen);
      if (t === null || p === null) throw new GuestError(`${fn}: pointer out of bounds`);
      charge(fn, per32(t.length, WA_FUEL_SCAN_32));
      const prefix = ctx.publishPrefix?.() ?? null;
      if (prefix === null) {
        return refused(fn, ACTION_NO_PREFIX, `${shownTarget(t)} refused: plugin_opt_wasm_publish_prefix is not set `
          + '(a policy may publish only under the topic prefix it names)');
      }
      if (t.length > WA_MAX_FIELD_BYTES || qos < 0 || qos > 2 || (retain !== 0 && retain !== 1)
        || topicMatchesSub(t, t) !== 1 || !utf8Valid(t)) {
        return refused(fn, ACTION_INVALID, `${shownTarget(t)} refused: not a topic to publish to, or qos ${qos} / retain ${retain} out of range `
          + '(an MQTT topic: UTF-8, no + or #, no NUL, 1 to 65535 bytes; qos 0-2; retain 0 or 1)');
      }
      // Under the prefix on a level boundary: the prefix itself, or the prefix, '/', more.
      const prefixBytes = utf8.encode(prefix);
      const n = prefixBytes.length;
      if (t.length < n || !prefixBytes.every((c, i) => t[i] === c) || (t.length > n && t[n] !== 0x2f)) {
        return refused(fn, ACTION_OUTSIDE_PREFIX, `${shownTarget(t)} refused: outside wasm_publish_prefix ${prefix}`);
      }
      if (p.length > maxPayload) {
        return refused(fn, ACTION_TOO_LARGE, `${shownTarget(t)} refused: payload of ${p.length} bytes above wasm_max_payload (${maxPayload})`);
      }
      return enqueue(fn, t, { kind: 'publish', topic: utf8Decoder.decode(t), payload: p.slice(), qos, retain: retain === 1 });
    },
    topic_matches_sub(subPtr: number, subLen: number, topicPtr: number, topicLen: number): number {
      charge('topic_matches_sub', WA_FUEL_HOST_CALL);
      const sub = mem.range(subPtr, subLen);
      const topic = mem.range(topicPtr, topicLen);
      if (sub === null || topic === null) throw new GuestError('topic_matches_sub: pointer out of bounds');
      charge('topic_matches_sub', per32(sub.length + topic.length, WA_FUEL_SCAN_32));
      return topicMatchesSub(sub, topic);
    },
    log(level: number, ptr: number, byteLen: number): void {
      charge('log', WA_FUEL_HOST_CALL);
      const b = mem.bytes(ptr, byteLen, 'log');
      charge('log', textPrice(b.length) + WA_FUEL_LOG_LINE);
      guestLine(logLevel(level), sanitizeControls(utf16leToText(b, TEXT_CAP)));
    },
    client_id(ptr: number, cap: number): number {
      charge('client_id', WA_FUEL_HOST_CALL);
      return copyOut(mem, charge, 'client_id', ctx.client()?.id, ptr, cap);
    },
    client_address(ptr: number, cap: number): number {
      charge('client_address', WA_FUEL_HOST_CALL);
      return copyOut(mem, charge, 'client_address', ctx.client()?.address, ptr, cap);
    },
    client_protocol_version(): number {
      charge('client_protocol_version', WA_FUEL_HOST_CALL);
      return ctx.client()?.protocolVersion ?? 0;
    },
    pw_verify(hashPtr: number, hashLen: number, pwPtr: number, pwLen: number): number {
      charge('pw_verify', WA_FUEL_HOST_CALL);
      const hash = mem.range(hashPtr, hashLen);
      const pw = mem.range(pwPtr, pwLen);
      if (hash === null || pw === null) throw new GuestError('pw_verify: pointer out of bounds');
      charge('pw_verify', WA_FUEL_PW_VERIFY + per32(hash.length, WA_FUEL_SCAN_32));
      const p = pwParse(utf8Decoder.decode(hash));
      if (p.status === PW_TOO_COSTLY && p.hash !== null) {
        // Never computed, never a match: one warning that names the cap.
        charge('pw_verify', WA_FUEL_LOG_LINE);
        guestLine(LOG_WARNING, pwCapWarning(p.hash));
        return 0;
      }
      if (p.status !== 0 || p.hash === null) return -1;
      // The password is hashed once (the HMAC key, SHA-512's or Argon2's input), then the
      // iterations or Argon2's blocks.
      const a = p.hash.argon2;
      charge('pw_verify', per32(pw.length, WA_FUEL_HASH_32) + (p.hash.iterations ? WA_FUEL_PBKDF2 : 0)
        + p.hash.iterations * WA_FUEL_PBKDF2_ITERATION + (a ? WA_FUEL_ARGON2 + a.kib * a.passes * WA_FUEL_ARGON2_KIB : 0));
      return pwCheck(p.hash, pw.slice());
    },
    option_file_size(keyPtr: number, keyLen: number): number {
      charge('option_file_size', WA_FUEL_HOST_CALL);
      const f = openOptionFile('option_file_size', keyPtr, keyLen);
      if (typeof f === 'number') return f;
      closeSync(f.fd);
      return f.size;
    },
    option_file_read(keyPtr: number, keyLen: number, bufPtr: number, bufCap: number): number {
      charge('option_file_read', WA_FUEL_HOST_CALL);
      const dst = mem.bytes(bufPtr, bufCap, 'option_file_read', 'buffer');
      const f = openOptionFile('option_file_read', keyPtr, keyLen);
      if (typeof f === 'number') return f;
      let got = 0;
      let error: unknown = null;
      try {
        const want = Math.min(f.size, dst.length);
        charge('option_file_read', per32(want, WA_FUEL_COPY_32));
        try {
          while (got < want) {
            const r = readSync(f.fd, dst, got, want - got, null);
            if (r <= 0) break;
            got += r;
          }
        } catch (e) {
          error = e;
        }
        if (got === want) return got;
      } finally {
        closeSync(f.fd);
      }
      // Named by the key as it was asked for: the read may have overwritten the guest's copy.
      return optionFileFailed('option_file_read', f.key, f.path, OPTION_FILE_READ_ERROR,
        error === null ? 'shrank while being read' : errnoDetail(error));
    },
    option_file_read_at(keyPtr: number, keyLen: number, offset: bigint, bufPtr: number, bufCap: number): number {
      const fn = 'option_file_read_at';
      charge(fn, WA_FUEL_HOST_CALL);
      if (offset < 0n) throw new GuestError(`${fn}: negative offset`);
      const dst = mem.bytes(bufPtr, bufCap, fn, 'buffer');
      const f = findOptionFile(fn, keyPtr, keyLen);
      if (typeof f === 'number') return f;
      let s = streams.entries.find((e) => e.key === f.key && e.path === f.path);
      if (s === undefined) {
        const o = openFound(fn, f.k, f.path, WA_MAX_OPTION_FILE_STREAM_BYTES, 'WA_MAX_OPTION_FILE_STREAM_BYTES');
        if (typeof o === 'number') return o;
        s = addStream({ key: f.key, path: f.path, keyBytes: f.k.slice(), fd: o.fd, size: o.size });
      }
      // The size at open bounds every read: a file grown since cannot take the policy past the
      // cap, and the price is known before the read.
      const want = offset >= BigInt(s.size) ? 0 : Math.min(s.size - Number(offset), dst.length);
      charge(fn, per32(want, WA_FUEL_COPY_32));
      let got = 0;
      try {
        while (got < want) {
          const r = readSync(s.fd, dst, got, want - got, Number(offset) + got);
          // 0: the file shrank since it was opened; what there was is the answer.
          if (r <= 0) break;
          got += r;
        }
      } catch (e) {
        return optionFileFailed(fn, s.keyBytes, s.path, OPTION_FILE_READ_ERROR, errnoDetail(e));
      }
      return got;
    },
    // on_message's rewrites (hostfns.c): staged in host copies, applied only if it allows.
    message_set_topic(ptr: number, len: number): void {
      const fn = 'message_set_topic';
      charge(fn, WA_FUEL_HOST_CALL);
      if (!ctx.rewrite?.active) throw new GuestError(`${fn}: called outside on_message`);
      const t = mem.range(ptr, len);
      if (t === null) throw new GuestError(`${fn}: pointer out of bounds`);
      charge(fn, per32(t.length, WA_FUEL_SCAN_32));
      // As publish checks a topic, and not a '$' topic: a client may not publish to $SYS or $CONTROL.
      if (t.length === 0 || t.length > WA_MAX_FIELD_BYTES || t[0] === 0x24 || t.includes(0)
        || topicMatchesSub(t, t) !== 1 || !utf8Valid(t)) {
        throw new GuestError(`${fn}: not a topic to publish to (UTF-8, no + or #, no NUL, not starting with $, 1 to 65535 bytes)`);
      }
      ctx.rewrite.topic = utf8Decoder.decode(t);
    },
    message_set_payload(ptr: number, len: number): void {
      const fn = 'message_set_payload';
      charge(fn, WA_FUEL_HOST_CALL);
      if (!ctx.rewrite?.active) throw new GuestError(`${fn}: called outside on_message`);
      const p = mem.range(ptr, len);
      if (p === null) throw new GuestError(`${fn}: pointer out of bounds`);
      if (p.length > maxPayload) throw new GuestError(`${fn}: payload of ${p.length} bytes above wasm_max_payload (${maxPayload})`);
      charge(fn, per32(p.length, WA_FUEL_REWRITE_COPY_32));
      ctx.rewrite.payload = p.slice();
    },
    message_set_retain(retain: number): void {
      const fn = 'message_set_retain';
      charge(fn, WA_FUEL_HOST_CALL);
      if (!ctx.rewrite?.active) throw new GuestError(`${fn}: called outside on_message`);
      if (retain !== 0 && retain !== 1) throw new GuestError(`${fn}: retain ${retain} is not 0 or 1`);
      ctx.rewrite.retain = retain === 1;
    },
    // on_subscribe's rewrites (hostfns.c), staged the same way.
    subscribe_set_topic(ptr: number, len: number): void {
      const fn = 'subscribe_set_topic';
      charge(fn, WA_FUEL_HOST_CALL);
      if (!ctx.subRewrite?.active) throw new GuestError(`${fn}: called outside on_subscribe`);
      const t = mem.range(ptr, len);
      if (t === null) throw new GuestError(`${fn}: pointer out of bounds`);
      charge(fn, per32(t.length, WA_FUEL_SCAN_32));
      if (t.length > WA_MAX_FIELD_BYTES || !validFilter(t) || !utf8Valid(t)) {
        throw new GuestError(`${fn}: not a subscription filter (UTF-8, + and # alone in their level, # last, no NUL, 1 to 65535 bytes)`);
      }
      ctx.subRewrite.topic = utf8Decoder.decode(t);
    },
    subscribe_set_qos(qos: number): void {
      const fn = 'subscribe_set_qos';
      charge(fn, WA_FUEL_HOST_CALL);
      if (!ctx.subRewrite?.active) throw new GuestError(`${fn}: called outside on_subscribe`);
      if (qos < 0 || qos > 2) throw new GuestError(`${fn}: qos ${qos} is not 0, 1 or 2`);
      ctx.subRewrite.qos = qos;
    },
    jwt_verify(tokPtr: number, tokLen: number, keyPtr: number, keyLen: number, leeway: number, outPtr: number, outCap: number): number {
      const fn = 'jwt_verify';
      charge(fn, WA_FUEL_HOST_CALL);
      const tok = mem.range(tokPtr, tokLen);
      const k = mem.range(keyPtr, keyLen);
      if (tok === null || k === null) throw new GuestError(`${fn}: pointer out of bounds`);
      const dst = mem.range(outPtr, outCap);
      if (dst === null) throw new GuestError(`${fn}: buffer out of bounds`);
      const keys = jwtKeys(k.slice());
      if (typeof keys === 'number') return keys;
      if (tok.length === 0) return 0; // the keys are loaded: what an empty token asks
      // Decoding the three parts and reading the header, before anything else. Over the cap the
      // length alone is the answer: nothing is read.
      if (tok.length <= WA_MAX_JWT_BYTES) charge(fn, per32(tok.length, WA_FUEL_SCAN_32));
      const t = parseToken(tok);
      if (t instanceof JwtFailure) return jwtFailed(k, t.detail, t.code);
      const i = selectKey(keys, t);
      if (i instanceof JwtFailure) return jwtFailed(k, i.detail, i.code);
      charge(fn, jwtPrice(keys[i], t));
      if (!checkSignature(keys[i], t, tok)) return jwtFailed(k, 'bad signature', JWT_BAD_SIGNATURE);
      // The claims are parsed after the signature: only what the key holder signed is read.
      charge(fn, per32(t.payload.length, WA_FUEL_SCAN_32) + WA_FUEL_CLOCK);
      const f = checkClaims(t, Math.floor(Date.now() / 1000), leeway | 0);
      if (f !== null) return jwtFailed(k, f.detail, f.code);
      charge(fn, per32(t.payload.length, WA_FUEL_COPY_32));
      dst.set(t.payload.subarray(0, Math.min(t.payload.length, dst.length)));
      return t.payload.length;
    },
    // hostfns.c wa_host_reasons_wanted: the Node host always reads reasons (Policy.reason).
    reasons_wanted(): number {
      charge('reasons_wanted', WA_FUEL_HOST_CALL);
      return 1;
    },
    // hostfns.c wa_host_set_reason: only the kept prefix is looked at (and paid for).
    set_reason(ptr: number, len: number): number {
      const fn = 'set_reason';
      charge(fn, WA_FUEL_HOST_CALL);
      const b = mem.range(ptr, len);
      if (b === null) throw new GuestError(`${fn}: pointer out of bounds`);
      let n = b.length;
      if (n > WA_MAX_REASON_BYTES) {
        // Back to the start of the character cut (at most 3 continuation bytes in valid UTF-8).
        n = WA_MAX_REASON_BYTES;
        for (let k = 0; k < 3 && (b[n] & 0xc0) === 0x80; k++) n--;
      }
      charge(fn, per32(n, WA_FUEL_SCAN_32));
      const kept = b.subarray(0, n);
      if (!utf8Valid(kept)) {
        ctx.setReason?.('');
        return REASON_INVALID;
      }
      ctx.setReason?.(reasonDecoder.decode(kept));
      return n;
    },
  };

  const env = {
    // Free: the call ends here whatever happens, its message is only the trap's reason (which
    // the runtime logs, rate-limited), and the work is bounded by WA_MAX_LOG_BYTES.
    abort(msgPtr: number, filePtr: number, line: number, col: number): void {
      throw new GuestAbort(`abort: ${guestText(mem, msgPtr)} at ${guestText(mem, filePtr)}:${line >>> 0}:${col >>> 0}`);
    },
    trace(msgPtr: number, n: number, a0: number, a1: number, a2: number, a3: number, a4: number): void {
      const count = n < 0 ? 0 : n > 5 ? 5 : n;
      charge('trace', WA_FUEL_HOST_CALL);
      charge('trace', textPrice(mem.asString(msgPtr)?.length ?? 0) + WA_FUEL_LOG_LINE + count * WA_FUEL_TRACE_ARG);
      const args = [a0, a1, a2, a3, a4];
      let line = `trace: ${guestText(mem, msgPtr)}`;
      for (let i = 0; i < count; i++) line += (i ? ', ' : ' ') + formatG17(args[i]);
      guestLine(LOG_DEBUG, line);
    },
    seed(): number {
      charge('seed', WA_FUEL_HOST_CALL + WA_FUEL_SEED);
      // 53 random bits: every value is an exact, finite double.
      return Number(randomBytes(8).readBigUInt64LE(0) >> 11n);
    },
    'Date.now'(): number {
      charge('Date.now', WA_FUEL_HOST_CALL + WA_FUEL_CLOCK);
      return Date.now();
    },
  };

  return { mosquitto, env };
}
