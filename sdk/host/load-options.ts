// What loadPolicy accepts, checked before anything runs: the wasm_* option names (as
// plugin-c/runtime/options.c checks them, same words) and every LoadOptions field. A typo must not leave
// a setting at its default, and no value may turn the failure decision into allow. Each check
// returns the one-line reason, or null when the input is fine.

/** The plugin's own options (plugin-c/runtime/options.h); every other wasm_* name is refused. */
export const HOST_OPTION_NAMES: readonly string[] = [
  'wasm_module', 'wasm_on_error', 'wasm_max_module_bytes', 'wasm_max_memory_pages', 'wasm_max_table_elems',
  'wasm_max_functions', 'wasm_max_globals', 'wasm_max_data_bytes', 'wasm_max_payload', 'wasm_fuel',
  'wasm_timeout_ms', 'wasm_acl_cache', 'wasm_acl_grants', 'wasm_init_fuel', 'wasm_init_timeout_ms', 'wasm_client_share',
  'wasm_cpu_share', 'wasm_tick_ms', 'wasm_publish_prefix', 'wasm_record', 'wasm_record_payloads', 'wasm_record_max_bytes',
  'wasm_sys_interval',
  'wasm_audit', 'wasm_audit_file',
  'wasm_shadow_module', 'wasm_shadow_share',
  'wasm_login_thread',
];

// WA_NAME_DISTANCE_MAX_LEN (plugin-c/gate/gate.h): names longer than this are never "close".
const NAME_CMP_MAX = 40;

function distance(a: string, b: string): number {
  if (a.length > NAME_CMP_MAX || b.length > NAME_CMP_MAX) return Infinity;
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length];
}

/** options.c check_option_names(): the first wasm_* name that is not a host option. */
export function unknownOptionName(options: readonly (readonly [string, string])[]): string | null {
  for (const [key] of options) {
    if (!key.startsWith('wasm_') || HOST_OPTION_NAMES.includes(key)) continue;
    let close: string | null = null;
    let best = 3; // within two edits
    for (const name of HOST_OPTION_NAMES) {
      const d = distance(key, name);
      if (d < best) {
        best = d;
        close = name;
      }
    }
    // options.c quotes at most 64 bytes of the name; these are the same for ASCII names.
    const shown = key.length > 64 ? `${key.slice(0, 64)}...` : key;
    return close !== null
      ? `unknown option ${shown} (did you mean ${close}?): the wasm_ prefix is for the plugin's options`
      : `unknown option ${shown}: the wasm_ prefix is for the plugin's options (docs/ABI.md); give the policy's own options another name`;
  }
  return null;
}

type Check = (v: unknown) => string | null;

const integer = (min: number, max: number): Check => (v) =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? null : `a whole number from ${min} to ${max}`;
const INT64_MAX_HALF = ((1n << 63n) - 1n) / 2n;

// Ranges are the options' (options.c), except that the fuel fields take 0 = unlimited.
const FIELDS: Record<string, Check> = {
  options: (v) => Array.isArray(v) && v.every((p) => Array.isArray(p) && p.length === 2 && typeof p[0] === 'string' && typeof p[1] === 'string')
    ? null : 'an array of [key, value] string pairs',
  failureDecision: (v) => (v === 'deny' || v === 'defer' ? null : '"deny" or "defer" (a failing policy never allows)'),
  client: (v) => {
    const want = 'an object { id?: string | null, address?: string | null, protocolVersion?: 0, 3, 4 or 5 }';
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return want;
    for (const [k, x] of Object.entries(v)) {
      if ((k === 'id' || k === 'address') && (x === null || x === undefined || typeof x === 'string')) continue;
      if (k === 'protocolVersion' && (x === undefined || (typeof x === 'number' && [0, 3, 4, 5].includes(x)))) continue;
      return want;
    }
    return null;
  },
  onLog: (v) => (typeof v === 'function' ? null : 'a function (level, message) => void'),
  maxPayload: integer(0, 268435455),
  maxMemoryPages: integer(1, 65536),
  maxModuleBytes: integer(8, 2 ** 30),
  maxTableElems: integer(0, 10000000),
  maxFunctions: integer(1, 1000000),
  maxGlobals: integer(0, 1000000),
  maxDataBytes: integer(0, 2 ** 30),
  fuel: integer(0, 1e15),
  initFuel: (v) => (typeof v === 'bigint' ? (v >= 0n && v <= INT64_MAX_HALF ? null : `from 0 to ${INT64_MAX_HALF}`) : integer(0, 1e15)(v)),
  errorLogIntervalMs: integer(0, 2 ** 31 - 1),
  name: (v) => (typeof v === 'string' ? null : 'a string'),
};

function shown(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 64 ? `${v.slice(0, 64)}...` : v);
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === null) return 'null';
  if (typeof v === 'function') return 'a function';
  let json: string | undefined;
  try {
    json = JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x));
  } catch {
    json = undefined; // cyclic
  }
  return json === undefined ? `a value of type ${typeof v}` : json.length > 80 ? `${json.slice(0, 80)}...` : json;
}

/** The first LoadOptions field that is unknown or out of range, as "loadPolicy: ..." */
export function badLoadOption(opts: unknown): string | null {
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) return 'loadPolicy: the options must be an object';
  for (const [key, value] of Object.entries(opts)) {
    if (value === undefined) continue;
    const check = FIELDS[key];
    if (!check) {
      const close = Object.keys(FIELDS).find((f) => distance(key.toLowerCase(), f.toLowerCase()) <= 2);
      return `loadPolicy: unknown option ${key}${close ? ` (did you mean ${close}?)` : ''}; known: ${Object.keys(FIELDS).join(', ')}`;
    }
    const want = check(value);
    if (want !== null) return `loadPolicy: ${key} must be ${want}, not ${shown(value)}`;
  }
  return null;
}
