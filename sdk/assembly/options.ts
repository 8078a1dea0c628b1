// Options: the plugin_opt_* / auth_opt_* settings passed to plugin_init and security_init.
import { Str } from "./str";
import { host_option_file_size, host_option_file_read } from "./imports";
import { JsonValue, parseJson, JSON_MAX_DEPTH, JSON_MAX_STRING_BYTES } from "./json";
import { OptionFileLines } from "./lines";

/**
 * Why {@link Options.readFile} (or {@link OptionFileLines.open}) gave null: the host's negative
 * results of `option_file_size` / `option_file_read` / `option_file_read_at` (docs/ABI.md,
 * "Option files"), plus `Json` for {@link Options.readJson}.
 */
export enum OptionFileError {
  /** The last read succeeded. */
  None = 0,
  /** The host gave no reason (a host older than these codes). */
  Unreadable = -1,
  /** The option is not set (or set to nothing). */
  Absent = -2,
  /** The key does not end in `_file`: only such options name files a policy may read. */
  NotFileOption = -3,
  /** Called outside plugin_init / security_init. */
  OutsideInit = -4,
  /**
   * Larger than the host's cap: 16 MiB (WA_MAX_OPTION_FILE_BYTES) for a whole file, 1 GiB
   * (WA_MAX_OPTION_FILE_STREAM_BYTES) for {@link OptionFileLines}.
   */
  TooBig = -5,
  /** No such file (or a path component is not a directory). */
  NotFound = -6,
  /** The broker's user may not read it. */
  PermissionDenied = -7,
  /** A directory, FIFO, device or socket. */
  NotRegularFile = -8,
  /** Another error opening or reading it (the broker log names it). */
  ReadError = -9,
  /** Read, but not valid JSON ({@link Options.readJson} only). */
  Json = -100,
}

// What the last readFile / readTextFile / readJson / OptionFileLines found: module state, since
// Options is a view of host memory that cannot hold fields of its own.
let lastCode: OptionFileError = OptionFileError.None;
let lastMessage: string | null = null;

function fileErrorText(code: i32): string {
  switch (code) {
    case OptionFileError.Absent: return "not set";
    case OptionFileError.NotFileOption: return "not a file option (only options whose name ends in _file name files a policy may read)";
    case OptionFileError.OutsideInit: return "option files can be read only in plugin_init and security_init";
    case OptionFileError.TooBig: return "larger than the host's cap of 16 MiB (WA_MAX_OPTION_FILE_BYTES)";
    case OptionFileError.NotFound: return "not found";
    case OptionFileError.PermissionDenied: return "permission denied";
    case OptionFileError.NotRegularFile: return "not a regular file";
    case OptionFileError.ReadError: return "cannot be read (the broker log says why)";
    default: return "cannot be read";
  }
}

/**
 * Records that option file `key` could not be read, for {@link Options.lastFileError}, and
 * returns the message. For lines.ts; not part of the SDK's API (index.ts does not export it).
 */
export function recordFileError(opts: Options, key: string, code: i32, detail: string | null): string {
  lastCode = <OptionFileError>code;
  // Outside init this Options may be stale: its path is not read then.
  let path: Str | null = null;
  if (code != OptionFileError.NotFileOption && code != OptionFileError.OutsideInit) path = opts.getStr(key);
  const where = path === null || path.length == 0 ? key : key + " (" + path.toString() + ")";
  const message = where + ": " + (detail !== null ? detail : fileErrorText(code));
  lastMessage = message;
  return message;
}

/** Records that the last option file read succeeded. For lines.ts, like {@link recordFileError}. */
export function recordFileSuccess(): void {
  lastCode = OptionFileError.None;
  lastMessage = null;
}

// Entry layout: { key: Str, value: Str } = 16 bytes, after the 4-byte count (docs/ABI.md).
const ENTRY_BYTES: usize = 16;
const ENTRIES_OFFSET: usize = 4;

/**
 * The host's option list, read in place: `count` entries of key/value in configuration order,
 * `plugin_opt_`/`auth_opt_` prefix stripped. Valid only during the hook that received it.
 * When a key repeats, the last occurrence wins (as a later line in mosquitto.conf would).
 */
@unmanaged
export class Options {
  /** Number of entries. */
  count: u32;

  /** Key of entry `i` (0-based); traps when out of range. */
  keyAt(i: i32): Str {
    if (<u32>i >= this.count) throw new RangeError("Options.keyAt: index out of range");
    return changetype<Str>(changetype<usize>(this) + ENTRIES_OFFSET + <usize>i * ENTRY_BYTES);
  }

  /** Value of entry `i` (0-based); traps when out of range. */
  valueAt(i: i32): Str {
    if (<u32>i >= this.count) throw new RangeError("Options.valueAt: index out of range");
    return changetype<Str>(changetype<usize>(this) + ENTRIES_OFFSET + <usize>i * ENTRY_BYTES + 8);
  }

  /** Index of the last entry whose key is `key`, or -1. No allocation. */
  indexOf(key: string): i32 {
    for (let i = <i32>this.count - 1; i >= 0; i--) {
      if (this.keyAt(i).equals(key)) return i;
    }
    return -1;
  }

  /** True when option `key` is set. */
  has(key: string): bool {
    return this.indexOf(key) >= 0;
  }

  /** Value of option `key` as a new string, or null; allocates. */
  get(key: string): string | null {
    const i = this.indexOf(key);
    return i < 0 ? null : this.valueAt(i).toString();
  }

  /** Value of option `key` read in place, or null. No allocation. */
  getStr(key: string): Str | null {
    const i = this.indexOf(key);
    return i < 0 ? null : this.valueAt(i);
  }

  /**
   * Contents of the file named by option `key` (the key must end in `_file`), or null when it
   * cannot be read: {@link lastFileError} then says why (the host also logs a warning with the
   * path, except when the option is just not set). Only works during plugin_init / security_init.
   */
  readFile(key: string): Uint8Array | null {
    const k = String.UTF8.encode(key);
    const kp = changetype<usize>(k);
    const kl = <u32>k.byteLength;
    const size = host_option_file_size(kp, kl);
    if (size < 0) return this.failed(key, size, null);
    const out = new Uint8Array(size);
    if (size > 0) {
      const n = host_option_file_read(kp, kl, out.dataStart, <u32>size);
      if (n < 0) return this.failed(key, n, null);
      // The file may have shrunk between the two calls.
      if (n < size) return this.succeeded(out.slice(0, n));
    }
    return this.succeeded(out);
  }

  /**
   * {@link readFile} decoded as UTF-8; allocates. Bytes that are not valid UTF-8 are not
   * reported: use {@link readJson}, or check the bytes, where that matters.
   */
  readTextFile(key: string): string | null {
    const b = this.readFile(key);
    if (b === null) return null;
    return String.UTF8.decodeUnsafe(b.dataStart, <usize>b.length);
  }

  /**
   * The file named by option `key` parsed as JSON (RFC 8259, strictly: UTF-8, no comments,
   * no trailing commas, no duplicate member names), or null: {@link lastFileError} then says
   * why, with the line and column of a syntax error. `maxDepth` bounds nesting and
   * `maxStringBytes` each string (see {@link parseJson}).
   */
  readJson(key: string, maxDepth: i32 = JSON_MAX_DEPTH, maxStringBytes: i32 = JSON_MAX_STRING_BYTES): JsonValue | null {
    const b = this.readFile(key);
    if (b === null) return null;
    const r = parseJson(b, maxDepth, maxStringBytes);
    const err = r.error;
    if (err !== null) {
      this.failed(key, OptionFileError.Json, err.toString());
      return null;
    }
    return r.value;
  }

  /**
   * The lines of the file named by option `key`, read in chunks of `chunkBytes` (a policy's
   * memory holds one chunk and the longest line, not the file); null when it cannot be read.
   * {@link OptionFileLines.open}, which says more.
   */
  lines(key: string, chunkBytes: i32 = 65536, maxLineBytes: i32 = 1 << 20): OptionFileLines | null {
    return OptionFileLines.open(this, key, chunkBytes, maxLineBytes);
  }

  /**
   * Why the last {@link readFile}, {@link readTextFile}, {@link readJson} or {@link lines}
   * (on any Options) gave null, or why an {@link OptionFileLines} could not read on, as one
   * line naming the option and its path, e.g.
   * `users_file (/etc/mosquitto/users.json): line 3, column 7: expected ':' after a member name`;
   * null when it succeeded.
   */
  lastFileError(): string | null {
    return lastMessage;
  }

  /** The reason of {@link lastFileError} as a code; `OptionFileError.None` when it succeeded. */
  lastFileErrorCode(): OptionFileError {
    return lastCode;
  }

  private succeeded(b: Uint8Array): Uint8Array {
    recordFileSuccess();
    return b;
  }

  private failed(key: string, code: i32, detail: string | null): Uint8Array | null {
    recordFileError(this, key, code, detail);
    return null;
  }
}
