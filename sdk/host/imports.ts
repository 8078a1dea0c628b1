// The host imports of docs/ABI.md, implemented for Node with the plugin's behaviour
// (plugin-c/hostfns.c): same results, same bounds rules, same trap messages. Used by the Node
// host (policy.ts) and by the as-pect specs (aspect.ts).
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { GuestError, GuestMemory } from './memory.js';
import { topicMatchesSub } from './topic.js';
import { pwVerify } from './password.js';
import { sanitizeControls, utf16leToText, formatG17 } from './text.js';
import { LOG_DEBUG, LOG_ERR, LOG_INFO, LOG_NOTICE, LOG_WARNING } from './abi.js';
import { WA_MAX_LOG_BYTES, WA_MAX_OPTION_FILE_BYTES } from './limits.js';

/** The client behind a request, as `client_*` imports report it. */
export interface ClientInfo {
  id?: string | null;
  address?: string | null;
  /** 3 (MQTT 3.1), 4 (3.1.1), 5 (5.0); 0 unknown. */
  protocolVersion?: number;
}

/** What the imports need from whoever runs the guest. */
export interface ImportContext {
  memory(): WebAssembly.Memory;
  /** The current request's client, or null (lifecycle hooks, no client). */
  client(): ClientInfo | null;
  /** One guest log line (no prefix) at a MOSQ_LOG_* level. */
  log(level: number, message: string): void;
  /**
   * Path named by option `key` (already known to end in `_file`) when option files may be read
   * now (plugin_init / security_init), else null.
   */
  optionFile(key: string): string | null;
}

export type ImportObject = Record<string, Record<string, (...args: number[]) => number | void>>;

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8');
const OPTION_FILE_SUFFIX = '_file';
const TEXT_CAP = WA_MAX_LOG_BYTES + 1; // the C side's buffer, NUL included

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
function copyOut(mem: GuestMemory, fn: string, value: string | null | undefined, ptr: number, cap: number): number {
  if (value === null || value === undefined) return -1;
  const dst = mem.bytes(ptr, cap, fn, 'buffer');
  const b = utf8.encode(value);
  dst.set(b.subarray(0, Math.min(b.length, dst.length)));
  return Math.min(b.length, 0x7fffffff);
}

// One guest string for a message: converted, sanitised, "<invalid>" if it cannot be read.
function guestText(mem: GuestMemory, ptr: number): string {
  const b = mem.asString(ptr);
  return b === null ? '<invalid>' : sanitizeControls(utf16leToText(b, TEXT_CAP));
}

/** The `mosquitto` and `env` import modules for one guest instance. */
export function createImports(ctx: ImportContext): ImportObject {
  const mem = new GuestMemory(() => ctx.memory());

  // The file named by option `key` if the rules allow (keys ending in "_file", init hooks only,
  // regular files up to WA_MAX_OPTION_FILE_BYTES): an open fd and its size, or null.
  const openOptionFile = (fn: string, keyPtr: number, keyLen: number): { fd: number; size: number } | null => {
    const k = mem.bytes(keyPtr, keyLen, fn);
    if (k.length <= OPTION_FILE_SUFFIX.length) return null;
    const key = utf8Decoder.decode(k);
    if (!key.endsWith(OPTION_FILE_SUFFIX)) return null;
    const path = ctx.optionFile(key);
    if (path === null || path === '') return null;
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch {
      return null;
    }
    try {
      const st = fstatSync(fd);
      if (st.isFile() && st.size <= WA_MAX_OPTION_FILE_BYTES) return { fd, size: st.size };
    } catch {
      // fall through: unreadable
    }
    closeSync(fd);
    return null;
  };

  const mosquitto = {
    topic_matches_sub(subPtr: number, subLen: number, topicPtr: number, topicLen: number): number {
      const sub = mem.range(subPtr, subLen);
      const topic = mem.range(topicPtr, topicLen);
      if (sub === null || topic === null) throw new GuestError('topic_matches_sub: pointer out of bounds');
      return topicMatchesSub(sub, topic);
    },
    log(level: number, ptr: number, byteLen: number): void {
      const b = mem.bytes(ptr, byteLen, 'log');
      ctx.log(logLevel(level), sanitizeControls(utf16leToText(b, TEXT_CAP)));
    },
    client_id(ptr: number, cap: number): number {
      return copyOut(mem, 'client_id', ctx.client()?.id, ptr, cap);
    },
    client_address(ptr: number, cap: number): number {
      return copyOut(mem, 'client_address', ctx.client()?.address, ptr, cap);
    },
    client_protocol_version(): number {
      return ctx.client()?.protocolVersion ?? 0;
    },
    pw_verify(hashPtr: number, hashLen: number, pwPtr: number, pwLen: number): number {
      const hash = mem.range(hashPtr, hashLen);
      const pw = mem.range(pwPtr, pwLen);
      if (hash === null || pw === null) throw new GuestError('pw_verify: pointer out of bounds');
      return pwVerify(utf8Decoder.decode(hash), pw.slice());
    },
    option_file_size(keyPtr: number, keyLen: number): number {
      const f = openOptionFile('option_file_size', keyPtr, keyLen);
      if (f === null) return -1;
      closeSync(f.fd);
      return f.size;
    },
    option_file_read(keyPtr: number, keyLen: number, bufPtr: number, bufCap: number): number {
      const dst = mem.bytes(bufPtr, bufCap, 'option_file_read', 'buffer');
      const f = openOptionFile('option_file_read', keyPtr, keyLen);
      if (f === null) return -1;
      try {
        const want = Math.min(f.size, dst.length);
        let got = 0;
        while (got < want) {
          const r = readSync(f.fd, dst, got, want - got, null);
          if (r <= 0) break;
          got += r;
        }
        return got === want ? got : -1;
      } catch {
        return -1;
      } finally {
        closeSync(f.fd);
      }
    },
  };

  const env = {
    abort(msgPtr: number, filePtr: number, line: number, col: number): void {
      throw new GuestAbort(`abort: ${guestText(mem, msgPtr)} at ${guestText(mem, filePtr)}:${line >>> 0}:${col >>> 0}`);
    },
    trace(msgPtr: number, n: number, a0: number, a1: number, a2: number, a3: number, a4: number): void {
      const args = [a0, a1, a2, a3, a4];
      let line = `trace: ${guestText(mem, msgPtr)}`;
      for (let i = 0; i < n && i < 5; i++) line += (i ? ', ' : ' ') + formatG17(args[i]);
      ctx.log(LOG_DEBUG, line);
    },
    seed(): number {
      // 53 random bits: every value is an exact, finite double.
      return Number(randomBytes(8).readBigUInt64LE(0) >> 11n);
    },
    'Date.now'(): number {
      return Date.now();
    },
  };

  return { mosquitto, env };
}
