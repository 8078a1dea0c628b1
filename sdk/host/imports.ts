// The host imports of docs/ABI.md, implemented for Node. Used by the Node host (policy.ts) and by
// the as-pect specs (aspect.ts), so a spec sees the same behaviour a policy gets from the plugin.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { GuestError, GuestMemory } from './memory.js';
import { topicMatchesSub } from './topic.js';
import { pwVerify } from './password.js';
import { sanitizeControls, utf16leToText } from './text.js';
import { LOG_DEBUG, LOG_ERR } from './abi.js';
import { WA_MAX_LOG_BYTES, WA_MAX_OPTION_FILE_BYTES } from './limits.js';

/** The client behind a request, as `client_*` imports report it. */
export interface ClientInfo {
  id?: string | null;
  address?: string | null;
  /** 3 (MQTT 3.1), 4 (3.1.1), 5 (5.0). */
  protocolVersion?: number;
}

/** What the imports need from whoever runs the guest. */
export interface ImportContext {
  memory(): WebAssembly.Memory;
  /** The current request's client, or null (lifecycle hooks, no client). */
  client(): ClientInfo | null;
  /** One guest log line (no prefix) at a MOSQ_LOG_* level. */
  log(level: number, message: string): void;
  /** Path named by option `key` when option files may be read now (init hooks), else null. */
  optionFile(key: string): string | null;
}

export type ImportObject = Record<string, Record<string, (...args: number[]) => number | void>>;

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8');

function toUtf8(s: string | null | undefined): Uint8Array | null {
  return s === null || s === undefined ? null : utf8.encode(s);
}

// Copies `value` into the guest buffer (truncated to cap); returns its full length, -1 when absent.
function copyOut(mem: GuestMemory, value: Uint8Array | null, ptr: number, cap: number, what: string): number {
  const buf = mem.bytes(ptr, cap, what);
  if (value === null) return -1;
  buf.set(value.subarray(0, Math.min(value.length, buf.length)));
  return value.length;
}

// Reads a regular file named by an option, within WA_MAX_OPTION_FILE_BYTES; null when unavailable.
function openOptionFile(path: string): { fd: number; size: number } | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  const st = fstatSync(fd);
  if (!st.isFile() || st.size > WA_MAX_OPTION_FILE_BYTES) {
    closeSync(fd);
    return null;
  }
  return { fd, size: st.size };
}

function guestString(mem: GuestMemory, ptr: number): string {
  const b = mem.asString(ptr);
  return b === null ? '<invalid>' : sanitizeControls(utf16leToText(b, WA_MAX_LOG_BYTES));
}

/** Thrown by `env.abort`: the guest aborted; the call traps. */
export class GuestAbort extends GuestError {
  constructor(message: string) {
    super(message);
    this.name = 'GuestAbort';
  }
}

/** The `mosquitto` and `env` import modules for one guest instance. */
export function createImports(ctx: ImportContext): ImportObject {
  const mem = new GuestMemory(() => ctx.memory());
  const keyOf = (ptr: number, len: number, what: string): string => utf8Decoder.decode(mem.bytes(ptr, len, what));

  const mosquitto = {
    topic_matches_sub(subPtr: number, subLen: number, topicPtr: number, topicLen: number): number {
      const sub = mem.bytes(subPtr, subLen, 'topic_matches_sub(sub)');
      const topic = mem.bytes(topicPtr, topicLen, 'topic_matches_sub(topic)');
      return topicMatchesSub(sub, topic);
    },
    log(level: number, ptr: number, byteLen: number): void {
      const b = mem.bytes(ptr, byteLen, 'log');
      ctx.log(level, sanitizeControls(utf16leToText(b, WA_MAX_LOG_BYTES)));
    },
    client_id(ptr: number, cap: number): number {
      const c = ctx.client();
      return copyOut(mem, c === null ? null : toUtf8(c.id), ptr, cap, 'client_id');
    },
    client_address(ptr: number, cap: number): number {
      const c = ctx.client();
      return copyOut(mem, c === null ? null : toUtf8(c.address), ptr, cap, 'client_address');
    },
    client_protocol_version(): number {
      const c = ctx.client();
      return c === null ? 0 : c.protocolVersion ?? 0;
    },
    pw_verify(hashPtr: number, hashLen: number, pwPtr: number, pwLen: number): number {
      const hash = utf8Decoder.decode(mem.bytes(hashPtr, hashLen, 'pw_verify(hash)'));
      const pw = mem.bytes(pwPtr, pwLen, 'pw_verify(password)').slice();
      return pwVerify(hash, pw);
    },
    option_file_size(keyPtr: number, keyLen: number): number {
      const path = ctx.optionFile(keyOf(keyPtr, keyLen, 'option_file_size(key)'));
      if (path === null) return -1;
      const f = openOptionFile(path);
      if (f === null) return -1;
      closeSync(f.fd);
      return f.size;
    },
    option_file_read(keyPtr: number, keyLen: number, bufPtr: number, bufCap: number): number {
      const path = ctx.optionFile(keyOf(keyPtr, keyLen, 'option_file_read(key)'));
      const buf = mem.bytes(bufPtr, bufCap, 'option_file_read(buffer)');
      if (path === null) return -1;
      const f = openOptionFile(path);
      if (f === null) return -1;
      try {
        let n = 0;
        while (n < buf.length) {
          const got = readSync(f.fd, buf, n, buf.length - n, null);
          if (got === 0) break;
          n += got;
        }
        return n;
      } finally {
        closeSync(f.fd);
      }
    },
  };

  const env = {
    abort(msgPtr: number, filePtr: number, line: number, col: number): void {
      const text = `abort: ${guestString(mem, msgPtr)} at ${guestString(mem, filePtr)}:${line >>> 0}:${col >>> 0}`;
      ctx.log(LOG_ERR, text);
      throw new GuestAbort(text);
    },
    trace(msgPtr: number, n: number, a0: number, a1: number, a2: number, a3: number, a4: number): void {
      const args = [a0, a1, a2, a3, a4].slice(0, Math.max(0, Math.min(5, n | 0)));
      const tail = args.length ? ' ' + args.join(', ') : '';
      ctx.log(LOG_DEBUG, `trace: ${guestString(mem, msgPtr)}${tail}`);
    },
    seed(): number {
      return randomBytes(6).readUIntLE(0, 6);
    },
    'Date.now'(): number {
      return Date.now();
    },
  };

  return { mosquitto, env };
}
