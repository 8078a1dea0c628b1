// What a module must satisfy to be a policy, checked before it is compiled: the same rules and
// the same messages as the plugin's gate (plugin-c/gate/rules.c), minus what V8's own validation
// covers. Caps: module size and memory pages; ABI: import allow-list with exact signatures,
// required exports, hook signatures, at least one request hook.
import {
  HOOKS, IMPORTS, EXPORT_ABI_VERSION, EXPORT_BUFFER, EXPORT_MEMORY, RESERVED_PREFIX, type HookName,
} from './abi.js';
import {
  ModuleError, NO_OFFSET, abiSigText, sigMatches, sigText, summarize, type ExportEntry, type ModuleSummary,
} from './wasm-binary.js';

export interface RuleLimits {
  maxModuleBytes: number;
  maxMemoryPages: number;
}

/** Exported hooks, each with the index of the signature it uses in HOOKS[].signatures. */
export type HookSignatures = Partial<Record<HookName, number>>;

export interface CheckedModule {
  summary: ModuleSummary;
  hooks: HookSignatures;
}

const KINDS = ['functions', 'tables', 'memories', 'globals'];

function checkCaps(s: ModuleSummary, limits: RuleLimits): void {
  const m = s.memory;
  if (m === null) return;
  if (m.min > limits.maxMemoryPages) {
    throw new ModuleError('memory section', m.contentStart,
      `initial memory of ${m.min} pages exceeds wasm_max_memory_pages ${limits.maxMemoryPages}`);
  }
  if (m.max !== null && m.max > limits.maxMemoryPages) {
    throw new ModuleError('memory section', m.contentStart,
      `declared memory maximum of ${m.max} pages exceeds wasm_max_memory_pages ${limits.maxMemoryPages} ` +
      '(build with a lower --maximumMemory, or none)');
  }
}

function checkImports(s: ModuleSummary): void {
  for (const im of s.imports) {
    const what = `import ${im.module}.${im.name}`;
    if (im.kind !== 0) {
      throw new ModuleError('import section', im.offset,
        `${what}: imported ${KINDS[im.kind]} are not allowed (the module must define its own)`);
    }
    const host = IMPORTS.find((h) => h.module === im.module && h.name === im.name);
    if (host === undefined) throw new ModuleError('import section', im.offset, `${what} not allowed`);
    const t = s.types[im.typeIndex];
    if (t === undefined) throw new RangeError('import of an unknown type');
    if (!sigMatches(t, host.signature)) {
      throw new ModuleError('import section', im.offset,
        `${what} has type ${sigText(t.params, t.results)} but the host provides ${abiSigText(host.signature)}`);
    }
  }
}

// A required or hook export must be a function of one of `sigs`; returns the index that matched.
function checkFuncExport(s: ModuleSummary, ex: ExportEntry, sigs: readonly string[]): number {
  if (ex.kind !== 0) throw new ModuleError('export section', ex.offset, `export ${ex.name} must be a function`);
  const typeIndex = s.funcTypes[ex.index];
  const t = typeIndex === undefined ? undefined : s.types[typeIndex];
  if (t === undefined) throw new RangeError('export of an unknown function');
  const which = sigs.findIndex((sig) => sigMatches(t, sig));
  if (which >= 0) return which;
  throw new ModuleError('export section', ex.offset,
    `export ${ex.name} has type ${sigText(t.params, t.results)} but the host calls it as ${sigs.map(abiSigText).join(' or ')}`);
}

function checkExports(s: ModuleSummary): HookSignatures {
  const find = (name: string): ExportEntry | undefined => s.exports.find((e) => e.name === name);
  for (const ex of s.exports) {
    if (ex.name.startsWith(RESERVED_PREFIX)) {
      throw new ModuleError('export section', ex.offset,
        `export ${ex.name} uses the prefix ${RESERVED_PREFIX} reserved for the host`);
    }
  }
  const mem = find(EXPORT_MEMORY);
  if (mem === undefined || mem.kind !== 2) {
    throw new ModuleError('export section', NO_OFFSET, `the module must export its memory as "${EXPORT_MEMORY}"`);
  }
  const ver = find(EXPORT_ABI_VERSION);
  if (ver === undefined) {
    throw new ModuleError('export section', NO_OFFSET,
      `missing export ${EXPORT_ABI_VERSION}: ()->i32 (not built with the wasm-auth SDK?)`);
  }
  checkFuncExport(s, ver, ['i()']);
  const buf = find(EXPORT_BUFFER);
  if (buf === undefined) {
    throw new ModuleError('export section', NO_OFFSET,
      `missing export ${EXPORT_BUFFER}: (i32)->i32 (not built with the wasm-auth SDK?)`);
  }
  checkFuncExport(s, buf, ['i(i)']);
  const hooks: HookSignatures = {};
  let request = false;
  for (const h of HOOKS) {
    const ex = find(h.name);
    if (ex === undefined) continue;
    hooks[h.name] = checkFuncExport(s, ex, h.signatures);
    if (h.isRequest) request = true;
  }
  if (!request) {
    throw new ModuleError('export section', NO_OFFSET,
      'no request hook exported (need at least one of unpwd_check, acl_check, psk_key_get)');
  }
  return hooks;
}

/**
 * Applies the gate's rules to `bytes`. Throws ModuleError (message phrased like the plugin's) when
 * the module is refused. A binary this reader cannot parse is handed to V8 for the diagnostic.
 */
export function checkModule(bytes: Uint8Array, limits: RuleLimits): CheckedModule {
  if (bytes.length > limits.maxModuleBytes) {
    throw new ModuleError('module', NO_OFFSET,
      `${bytes.length} bytes exceed wasm_max_module_bytes ${limits.maxModuleBytes}`);
  }
  let summary: ModuleSummary;
  try {
    summary = summarize(bytes);
  } catch (e) {
    invalidModule(bytes, e);
  }
  try {
    checkCaps(summary, limits);
    checkImports(summary);
    return { summary, hooks: checkExports(summary) };
  } catch (e) {
    if (e instanceof ModuleError) throw e;
    invalidModule(bytes, e);
  }
}

// The module is malformed: prefer V8's diagnostic, which names the exact problem.
function invalidModule(bytes: Uint8Array, readerError: unknown): never {
  try {
    new WebAssembly.Module(new Uint8Array(bytes));
  } catch (e) {
    throw new ModuleError(null, NO_OFFSET, `invalid module: ${(e as Error).message}`);
  }
  throw new ModuleError(null, NO_OFFSET, `invalid module: ${(readerError as Error).message}`);
}
