// Options: the plugin_opt_* / auth_opt_* settings passed to plugin_init and security_init.
import { Str } from "./str";
import { host_option_file_size, host_option_file_read } from "./imports";

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
   * Contents of the file named by option `key` (the key must end in `_file`), or null when the
   * option is absent, the file unreadable or too big. Only works during plugin_init / security_init.
   */
  readFile(key: string): Uint8Array | null {
    const k = String.UTF8.encode(key);
    const kp = changetype<usize>(k);
    const kl = <u32>k.byteLength;
    const size = host_option_file_size(kp, kl);
    if (size < 0) return null;
    const out = new Uint8Array(size);
    if (size == 0) return out;
    const n = host_option_file_read(kp, kl, out.dataStart, <u32>size);
    if (n < 0) return null;
    // The file may have shrunk between the two calls.
    return n < size ? out.slice(0, n) : out;
  }

  /** {@link readFile} decoded as UTF-8; allocates. */
  readTextFile(key: string): string | null {
    const b = this.readFile(key);
    if (b === null) return null;
    return String.UTF8.decodeUnsafe(b.dataStart, <usize>b.length);
  }
}
