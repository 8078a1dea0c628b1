// Host imports for as-pect specs (as-pect.config.js): the Node host's `mosquitto` imports, plus a
// test-only `wasm_auth_test` module that sdk/assembly/testing.ts uses to set the client and option
// files a spec's hooks see and to read back what they logged. Production policies never import
// `wasm_auth_test` (the plugin would refuse them), only specs do.
import {
  clearMessageRewrite, clearSubscribeRewrite, closeOptionFileStreams, createImports, newActionQueue, newMessageRewrite, newSubscribeRewrite, newOptionFileStreams, takeActions,
  type Action, type ClientInfo,
} from './imports.js';
import { GuestMemory } from './memory.js';

interface LogLine {
  level: number;
  message: string;
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8');

// Import modules: functions of any parameters (option_file_read_at takes a bigint).
type Modules = Record<string, Record<string, (...a: never[]) => number | void>>;

export interface AspectImports {
  /**
   * Import modules `mosquitto`, `wasm_auth_test` and `env.Date.now` (as-pect provides no clock;
   * the rest of `env` stays as-pect's).
   */
  modules: Modules;
  /**
   * Counts the guest's allocations by wrapping the `rtrace.onalloc` import as-pect installs
   * (specs are built with RTRACE=1), for `allocations()` in sdk/assembly/testing.ts.
   */
  countAllocations(finalImports: Record<string, Record<string, unknown>>): void;
}

/** Host imports for one spec instance. */
export function createAspectImports(memory: () => WebAssembly.Memory): AspectImports {
  let client: ClientInfo | null = null;
  let allocations = 0;
  const files = new Map<string, string>();
  const streams = newOptionFileStreams();
  const logs: LogLine[] = [];
  // Deferred actions the spec's hooks queue (kick_client, kick_user, publish), taken by the spec.
  const actions = newActionQueue();
  let taken: Action[] = [];
  // The clock env.Date.now answers: the real one until a spec sets it (setClock in testing.ts),
  // so specs of rate limits and expiry do not depend on how fast they run.
  let clockMs: number | null = null;
  let publishPrefix: string | null = null;
  // What message_set_* staged: specs call on_message directly, so the rewrite is always open.
  const rewrite = newMessageRewrite();
  rewrite.active = true;
  const subRewrite = newSubscribeRewrite();
  subRewrite.active = true;
  // What set_reason kept last (specs clear it, as a host does when a hook call starts).
  let reason = '';
  const echo = process.env.ASPECT_LOG === '1';
  const mem = new GuestMemory(memory);
  const text = (ptr: number, len: number, what: string): string => utf8Decoder.decode(mem.bytes(ptr, len, what));

  // Specs call ext_auth_* directly, as the plugin would: auth_data_out is always accepted here.
  const authData = { active: true, out: new Uint8Array(0) };
  const { mosquitto } = createImports({
    memory,
    client: () => client,
    log: (level, message) => {
      logs.push({ level, message });
      if (echo) process.stdout.write(`[wasm-auth log ${level}] ${message}\n`);
    },
    optionFile: (key) => files.get(key) ?? null,
    // Specs call hooks directly, as plugin_init would: option files are always readable.
    inInit: () => true,
    optionFileStreams: streams,
    actions,
    publishPrefix: () => publishPrefix,
    rewrite,
    subRewrite,
    setReason: (r) => {
      reason = r;
    },
    authData,
  });
  const copyText = (t: string, ptr: number, cap: number): number => {
    const b = utf8.encode(t);
    if (cap > 0) mem.bytes(ptr, cap, 'action').set(b.subarray(0, Math.min(cap, b.length)));
    return b.length;
  };

  const wasm_auth_test = {
    /** Sets the client of later requests; `idLen` -1 = no client at all. */
    set_client(idPtr: number, idLen: number, addrPtr: number, addrLen: number, protocol: number): void {
      if (idLen < 0) {
        client = null;
        return;
      }
      client = {
        id: text(idPtr, idLen, 'set_client(id)'),
        address: addrLen < 0 ? null : text(addrPtr, addrLen, 'set_client(address)'),
        protocolVersion: protocol,
      };
    },
    /**
     * Names the file option `key` reads (option files are always readable in specs), and closes
     * the files option_file_read_at kept open.
     */
    set_option_file(keyPtr: number, keyLen: number, pathPtr: number, pathLen: number): void {
      // A spec has no init hook calls to end: naming files is where option_file_read_at's open
      // files are let go (at most WA_OPTION_FILE_STREAMS stay open until then).
      closeOptionFileStreams(streams);
      files.set(text(keyPtr, keyLen, 'set_option_file(key)'), text(pathPtr, pathLen, 'set_option_file(path)'));
    },
    log_count(): number {
      return logs.length;
    },
    log_level(i: number): number {
      return i >= 0 && i < logs.length ? logs[i].level : -1;
    },
    /** Copies log line `i` (UTF-8) into the buffer; returns its full length, -1 if no such line. */
    log_message(i: number, ptr: number, cap: number): number {
      if (i < 0 || i >= logs.length) return -1;
      const b = utf8.encode(logs[i].message);
      if (cap > 0) mem.bytes(ptr, cap, 'log_message').set(b.subarray(0, Math.min(cap, b.length)));
      return b.length;
    },
    log_clear(): void {
      logs.length = 0;
    },
    /** Copies the reason set_reason kept (UTF-8); its full length. */
    reason(ptr: number, cap: number): number {
      return copyText(reason, ptr, cap);
    },
    reason_clear(): void {
      reason = '';
    },
    alloc_count(): number {
      return allocations;
    },
    /** Sets wasm_publish_prefix for publish (length -1: unset, publish refused). */
    set_publish_prefix(ptr: number, len: number): void {
      publishPrefix = len < 0 ? null : text(ptr, len, 'set_publish_prefix');
    },
    /** Actions queued so far and not cleared (the queue is moved to the list specs read). */
    action_count(): number {
      taken.push(...takeActions(actions));
      return taken.length;
    },
    /** 0 kick_client, 1 kick_user, 2 publish; -1 no such action. */
    action_kind(i: number): number {
      const a = i >= 0 && i < taken.length ? taken[i] : null;
      return a === null ? -1 : a.kind === 'kick_client' ? 0 : a.kind === 'kick_user' ? 1 : 2;
    },
    /** Copies the action's client id, username or topic (UTF-8); its full length, -1 if none. */
    action_target(i: number, ptr: number, cap: number): number {
      const a = i >= 0 && i < taken.length ? taken[i] : null;
      if (a === null) return -1;
      return copyText(a.kind === 'kick_client' ? a.clientid : a.kind === 'kick_user' ? a.username : a.topic, ptr, cap);
    },
    /** Copies a publish's payload; its full length, -1 if not a publish. */
    action_payload(i: number, ptr: number, cap: number): number {
      const a = i >= 0 && i < taken.length ? taken[i] : null;
      if (a === null || a.kind !== 'publish') return -1;
      if (cap > 0) mem.bytes(ptr, cap, 'action_payload').set(a.payload.subarray(0, Math.min(cap, a.payload.length)));
      return a.payload.length;
    },
    /** Sets the time env.Date.now answers, in ms (NaN: the real clock again). */
    set_clock(ms: number): void {
      clockMs = Number.isNaN(ms) ? null : ms;
    },
    /** Copies what auth_data_out last gave; its full length. auth_data_clear forgets it. */
    auth_data(ptr: number, cap: number): number {
      if (cap > 0) mem.bytes(ptr, cap, 'auth_data').set(authData.out.subarray(0, Math.min(cap, authData.out.length)));
      return authData.out.length;
    },
    auth_data_clear(): void {
      authData.out = new Uint8Array(0);
    },
    action_clear(): void {
      takeActions(actions);
      taken = [];
    },
    /** Copies the staged topic (UTF-8); its full length, -1 if none was staged. */
    rewrite_topic(ptr: number, cap: number): number {
      return rewrite.topic === null ? -1 : copyText(rewrite.topic, ptr, cap);
    },
    /** Copies the staged payload; its full length, -1 if none was staged. */
    rewrite_payload(ptr: number, cap: number): number {
      const p = rewrite.payload;
      if (p === null) return -1;
      if (cap > 0) mem.bytes(ptr, cap, 'rewrite_payload').set(p.subarray(0, Math.min(cap, p.length)));
      return p.length;
    },
    /** The staged retain flag: 0 or 1, -1 if none was staged. */
    rewrite_retain(): number {
      return rewrite.retain === null ? -1 : rewrite.retain ? 1 : 0;
    },
    rewrite_clear(): void {
      clearMessageRewrite(rewrite, true);
    },
    /** Copies the staged subscription filter (UTF-8); its full length, -1 if none was staged. */
    subscribe_topic(ptr: number, cap: number): number {
      return subRewrite.topic === null ? -1 : copyText(subRewrite.topic, ptr, cap);
    },
    /** The staged subscription QoS, -1 if none was staged. */
    subscribe_qos(): number {
      return subRewrite.qos ?? -1;
    },
    subscribe_clear(): void {
      clearSubscribeRewrite(subRewrite, true);
    },
  };

  return {
    modules: {
      mosquitto,
      wasm_auth_test,
      env: { 'Date.now': (): number => clockMs ?? Date.now() },
    },
    countAllocations(finalImports) {
      const rtrace = finalImports.rtrace;
      const inner = rtrace?.onalloc;
      if (rtrace === undefined || typeof inner !== 'function') return;
      rtrace.onalloc = (...args: unknown[]): unknown => {
        allocations++;
        return (inner as (...a: unknown[]) => unknown)(...args);
      };
    },
  };
}

type Imports = Record<string, Record<string, unknown>>;

/**
 * as-pect's `instantiate` hook with the host's imports: what an as-pect.config.js needs, as
 * `instantiate: aspectInstantiate`. The module exports its own memory; host imports read it once
 * the instance exists.
 */
export async function aspectInstantiate(
  memory: WebAssembly.Memory,
  createImports: (imports: Imports) => Imports,
  instantiate: (binary: Uint8Array, imports: Imports) => Promise<{ exports: Record<string, unknown> }>,
  binary: Uint8Array,
): Promise<{ exports: Record<string, unknown> }> {
  let exports: Record<string, unknown> | null = null;
  const host = createAspectImports(() => {
    if (exports === null) throw new Error('host import called before instantiation finished');
    return exports.memory as WebAssembly.Memory;
  });
  const imports = createImports({ ...host.modules, env: { ...host.modules.env, memory } });
  host.countAllocations(imports);
  const result = await instantiate(binary, imports);
  exports = result.exports;
  return result;
}
