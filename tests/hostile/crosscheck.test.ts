// The gate against wabt on every module the tests produce: the hostile suite's fixtures and
// generated modules, the integration fixtures, the C tests' fixtures, the default policy, the
// examples and the fuzzers' echo policy all go through `wasm-auth-check --validate-only` and
// `wasm-validate` (the gate's feature profile) via fuzz/crosscheck.sh. A disagreement is a bug
// in one of them; the script allows only the gate's own implementation limits and wabt's known
// gaps, and says so.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BUILD, CHECK_BIN, FIXTURES_DIR, requireFile, ROOT } from '../harness/paths.js';
import { REFUSED, LOADABLE, writeAll } from './generate.js';
import { HOSTILE_DIR } from './support.js';

test('wasm-auth-check --validate-only and wasm-validate agree on every module the tests produce', async () => {
  const gen = join(HOSTILE_DIR, 'gen-crosscheck');
  const written = writeAll(gen);
  assert.equal(written.size, REFUSED.length + LOADABLE.length);
  const dirs = [HOSTILE_DIR, gen, FIXTURES_DIR, join(BUILD, 'tests-c', 'fixtures'), join(BUILD, 'policies'),
    join(BUILD, 'examples'), join(BUILD, 'fuzz', 'echo.wasm')].filter((d) => existsSync(d));
  const out = await new Promise<{ code: number; stdout: string; stderr: string }>((res) => {
    execFile(join(ROOT, 'fuzz', 'crosscheck.sh'), [requireFile(CHECK_BIN, 'wasm-auth-check'), ...dirs],
      { maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
        res({ code: err ? Number((err as { code?: number }).code ?? -1) : 0, stdout, stderr });
      });
  });
  const summary = /crosscheck: (\d+) modules: (\d+) agree, (\d+) gate-only implementation limits, (\d+) known wabt gaps, (\d+) disagreements/
    .exec(out.stdout);
  assert.ok(summary, `no summary line\n${out.stdout}${out.stderr}`);
  assert.ok(Number(summary[1]) >= written.size, `every generated module was checked: ${summary[0]}`);
  assert.equal(Number(summary[5]), 0, `disagreements:\n${out.stdout}`);
  assert.equal(out.code, 0, out.stdout + out.stderr);
});
