// `wasm-auth check`: the module gate as a command, built on gate.wasm (the plugin's own gate), with
// build/bin/wasm-auth-check's options, output and exit status, so a policy author without a C
// toolchain sees what the plugin would say at load time:
//   stdout  FILE: ok: hooks H,...; N functions (M imported); P memory pages; B bytes
//   stderr  wasm-auth: cannot load policy FILE: REASON
// Exit 0 if every file is accepted, 1 if any is refused, 2 on a usage error. Unlike the C tool,
// a usage error is one line naming what is wrong (the C tool prints its usage).
import { writeFileSync } from 'node:fs';
import { checkModule, meter, ModuleError, readModuleFile, systemErrorText, validateModule, type RuleLimits } from './gate.js';
import {
  WA_MAX_DATA_BYTES, WA_MAX_FUNCTIONS, WA_MAX_GLOBALS, WA_MAX_MEMORY_PAGES, WA_MAX_MODULE_BYTES, WA_MAX_TABLE_ELEMS,
} from './limits.js';
import type { Output } from './call.js';

export function checkUsage(cmd: string): string {
  return `usage: ${cmd} [options] FILE.wasm...
  Checks policy modules exactly as the mosquitto plugin does before loading them.
  --validate-only          WebAssembly validation against the feature profile only
                           (no caps, no ABI rules)
  --max-module-bytes N     cap (default ${WA_MAX_MODULE_BYTES}, plugin_opt_wasm_max_module_bytes)
  --max-memory-pages N     cap (default ${WA_MAX_MEMORY_PAGES}, plugin_opt_wasm_max_memory_pages)
  --max-table-elems N      cap (default ${WA_MAX_TABLE_ELEMS}, plugin_opt_wasm_max_table_elems)
  --max-functions N        cap (default ${WA_MAX_FUNCTIONS}, plugin_opt_wasm_max_functions)
  --max-globals N          cap (default ${WA_MAX_GLOBALS}, plugin_opt_wasm_max_globals)
  --max-data-bytes N       cap (default ${WA_MAX_DATA_BYTES}, plugin_opt_wasm_max_data_bytes)
  --meter OUT.wasm         also write the fuel-metered module the plugin would run
                           (one FILE only)
Exit status 0 if every file is accepted, 1 if any is refused, 2 on a usage error.
`;
}

const CAPS: Record<string, keyof RuleLimits> = {
  '--max-module-bytes': 'maxModuleBytes',
  '--max-memory-pages': 'maxMemoryPages',
  '--max-table-elems': 'maxTableElems',
  '--max-functions': 'maxFunctions',
  '--max-globals': 'maxGlobals',
  '--max-data-bytes': 'maxDataBytes',
};

// --validate-only has no size cap of its own; 1 GiB keeps a stray argument from exhausting memory.
const VALIDATE_ONLY_CAP = 2 ** 30;

// strtoull's decimal, as check_main.c's parse_u32 accepts it.
function parseU32(s: string): number | null {
  if (!/^[\t\n\v\f\r ]*\+?[0-9]+$/.test(s)) return null;
  const v = Number(s.trim());
  return v <= 0xffffffff ? v : null;
}

function checkOne(path: string, limits: RuleLimits, validateOnly: boolean, meterOut: string | null, out: Output): number {
  let line: string;
  try {
    const bytes = readModuleFile(path, validateOnly ? VALIDATE_ONLY_CAP : limits.maxModuleBytes);
    if (validateOnly) {
      const r = validateModule(bytes);
      line = `${path}: valid: ${r.functions} functions (${r.imports} imported), ${r.memoryPages} memory pages, ${bytes.length} bytes`;
    } else {
      const { hooks, report: r } = checkModule(bytes, limits);
      line = `${path}: ok: hooks ${Object.keys(hooks).join(',')}; ${r.functions} functions (${r.imports} imported); ` +
        `${r.memoryPages} memory pages; ${bytes.length} bytes`;
    }
    if (meterOut !== null) {
      const code = meter(bytes).code;
      try {
        writeFileSync(meterOut, code);
      } catch (e) {
        throw new ModuleError(`cannot write ${meterOut}: ${systemErrorText(e)}`);
      }
    }
  } catch (e) {
    if (!(e instanceof ModuleError)) throw e;
    out.stderr(`wasm-auth: cannot load policy ${path}: ${e.message}\n`);
    return 1;
  }
  out.stdout(`${line}\n`);
  return 0;
}

/** Runs `check` on argv (options and files): its exit status. Usage errors: one line, `PROG: `. */
export function runCheck(argv: string[], out: Output, prog: string): number {
  const limits: RuleLimits = {
    maxModuleBytes: WA_MAX_MODULE_BYTES, maxMemoryPages: WA_MAX_MEMORY_PAGES, maxTableElems: WA_MAX_TABLE_ELEMS,
    maxFunctions: WA_MAX_FUNCTIONS, maxGlobals: WA_MAX_GLOBALS, maxDataBytes: WA_MAX_DATA_BYTES,
  };
  let validateOnly = false;
  let meterOut: string | null = null;
  const usage = (why: string): number => {
    out.stderr(`${prog}: ${why} (see ${prog} --help)\n`);
    return 2;
  };
  let i = 0;
  for (; i < argv.length && argv[i].startsWith('--'); i++) {
    const a = argv[i];
    if (a === '--') {
      i++;
      break;
    } else if (a === '--help') {
      out.stdout(checkUsage(prog));
      return 0;
    } else if (a === '--validate-only') {
      validateOnly = true;
    } else if (a in CAPS || a === '--meter') {
      const v = argv[++i];
      if (v === undefined) return usage(`${a} needs a value`);
      if (a === '--meter') {
        meterOut = v;
        continue;
      }
      const n = parseU32(v);
      if (n === null) return usage(`${a} takes a number from 0 to 4294967295, not "${v}"`);
      limits[CAPS[a]] = n;
    } else {
      return usage(`unknown option ${a}`);
    }
  }
  const files = argv.slice(i);
  if (files.length === 0) return usage('no FILE.wasm given');
  if (meterOut !== null && files.length !== 1) return usage('--meter takes one FILE.wasm only');
  let status = 0;
  for (const f of files) {
    if (checkOne(f, limits, validateOnly, meterOut, out) !== 0) status = 1;
  }
  return status;
}
