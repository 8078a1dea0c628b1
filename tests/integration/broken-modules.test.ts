// A module the plugin cannot use stops the broker at start: non-zero exit, and exactly one log
// line that names the module file (or the missing option) and says why.
import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { type ConfigContext, listener, pluginConf, runBrokerExpectingExit } from '../harness/broker.js';
import { fixture, requireFile } from '../harness/paths.js';

interface Broken {
  name: string;
  /** Creates the module in the broker's temp dir and returns its path. */
  make: (ctx: ConfigContext) => string;
  reason: RegExp;
  opts?: Record<string, string>;
}

/** Copies a built fixture into the temp dir under a name unique to the case. */
function copied(name: string): (ctx: ConfigContext) => string {
  return (ctx) => {
    const dst = ctx.file(`${name}-module.wasm`);
    copyFileSync(requireFile(fixture(name), `fixture ${name}`), dst);
    return dst;
  };
}

function written(fname: string, content: string | Uint8Array): (ctx: ConfigContext) => string {
  return (ctx) => {
    const dst = ctx.file(fname);
    writeFileSync(dst, content);
    return dst;
  };
}

const cases: Broken[] = [
  { name: 'missing file', make: (ctx) => ctx.file('does-not-exist.wasm'), reason: /no such file|not found|cannot (open|read)|missing/i },
  { name: 'not wasm (text)', make: written('text.wasm', 'this is not a wasm module\n'), reason: /magic|not a (webassembly|wasm)|header/i },
  { name: 'empty file', make: written('empty.wasm', new Uint8Array(0)), reason: /empty|magic|header|truncated|too short|unexpected end/i },
  {
    name: 'truncated module',
    make: written('truncated.wasm', Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01])),
    reason: /truncated|unexpected end|length|out of bounds|section/i,
  },
  { name: 'wrong ABI version', make: copied('abi-v2'), reason: /ABI\D*2/i },
  { name: 'unknown import', make: copied('unknown-import'), reason: /mosquitto\W+system|\bsystem\b/ },
  { name: 'allowed import with wrong signature', make: copied('bad-import-sig'), reason: /\blog\b/ },
  { name: 'wrong hook signature', make: copied('bad-hook-sig'), reason: /acl_check/ },
  { name: 'no request hook', make: copied('no-hooks'), reason: /hook|unpwd_check|acl_check|psk_key_get/i },
  { name: 'memory above the cap', make: copied('huge-memory'), reason: /memory|pages/i },
  { name: 'ill-typed code', make: copied('ill-typed'), reason: /type|invalid|validat/i },
  { name: 'start function traps', make: copied('start-trap'), reason: /start|trap|unreachable/i },
];

describe('broken modules are refused at broker start', () => {
  for (const c of cases) {
    test(c.name, async () => {
      let modulePath = '';
      const res = await runBrokerExpectingExit({
        name: `broken-${c.name}`,
        config: (ctx) => {
          modulePath = c.make(ctx);
          return `${listener(ctx.port)}\n${pluginConf({ module: modulePath, opts: c.opts })}`;
        },
      });
      assert.equal(res.signal, null, `broker must exit, not crash (signal ${res.signal})\n${res.describe}`);
      assert.notEqual(res.code, 0, `exit status must be non-zero\n${res.describe}`);
      const naming = res.lines.filter((l) => l.includes(modulePath));
      assert.equal(naming.length, 1, `exactly one log line names ${modulePath}\n${res.describe}`);
      assert.match(naming[0], /wasm-auth/, 'the line comes from the plugin');
      assert.match(naming[0], c.reason, 'the line says why');
    });
  }

  test('missing wasm_module option', async () => {
    const res = await runBrokerExpectingExit({
      name: 'broken-no-module-option',
      config: (ctx) => `${listener(ctx.port)}\n${pluginConf({})}`,
    });
    assert.equal(res.signal, null, res.describe);
    assert.notEqual(res.code, 0, res.describe);
    const naming = res.lines.filter((l) => l.includes('wasm_module'));
    assert.equal(naming.length, 1, `exactly one log line names the option\n${res.describe}`);
    assert.match(naming[0], /wasm-auth/);
    assert.match(naming[0], /missing|required|no |not set/i);
  });

  test('invalid plugin option value', async () => {
    const res = await runBrokerExpectingExit({
      name: 'broken-bad-option',
      config: (ctx) =>
        `${listener(ctx.port)}\n${pluginConf({ module: requireFile(fixture('rules'), 'fixture rules'), opts: { wasm_on_error: 'sometimes' } })}`,
    });
    assert.equal(res.signal, null, res.describe);
    assert.notEqual(res.code, 0, res.describe);
    const naming = res.lines.filter((l) => l.includes('wasm_on_error'));
    assert.equal(naming.length, 1, `exactly one log line names the option\n${res.describe}`);
    assert.match(naming[0], /sometimes/);
  });
});
