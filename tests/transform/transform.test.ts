// The hook-signature transform (sdk/transform) in asc, as the repository's policies are built
// (asconfig.json, --transform): a policy in tests/transform/assembly/ with `// expect:` lines
// must fail with exactly those errors, one without must build. Then the transform is loaded the
// ways an installed SDK offers it: by package name and by path, from a project's asconfig.json.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { BUILD, ROOT } from '../harness/paths.js';

const ASC = join(ROOT, 'node_modules/assemblyscript/bin/asc.js');
const TRANSFORM_JS = join(BUILD, 'js/sdk/transform');
const POLICIES = join(ROOT, 'tests/transform/assembly');

interface Run { code: number | null; stderr: string }

function asc(args: string[], cwd: string): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [ASC, ...args], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.on('error', reject);
    // asc colours its messages when the environment says so (CI=true does): compare plain text.
    child.on('close', (code) => resolvePromise({ code, stderr: stderr.replace(/\x1b\[[0-9;]*m/g, '') }));
  });
}

/** The messages of asc's `ERROR AS102: User-defined: ...` lines, in order. */
function userErrors(stderr: string): string[] {
  return [...stderr.matchAll(/^ERROR AS102: User-defined: (.*)$/gm)].map((m) => m[1]);
}

const scratch = mkdtempSync(join(tmpdir(), 'wa-transform-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

describe('asc with asconfig.json and --transform', () => {
  const files = readdirSync(POLICIES).filter((f) => f.endsWith('.ts')).sort();
  test('there are policies to compile, right and wrong', () => {
    assert.ok(files.includes('accepted.ts'));
    assert.ok(files.length >= 4, files.join(', '));
  });
  for (const file of files) {
    const expected = [...readFileSync(join(POLICIES, file), 'utf8').matchAll(/^\/\/ expect: (.*)$/gm)].map((m) => m[1]);
    const what = expected.length ? `fails with ${expected.length} message(s) naming the hook and its signature` : 'builds';
    test(`${file} ${what}`, async () => {
      const r = await asc([join(POLICIES, file), '--config', 'asconfig.json', '--target', 'release',
        '--transform', join(TRANSFORM_JS, 'index.js'), '-o', join(scratch, file.replace(/\.ts$/, '.wasm'))], ROOT);
      assert.deepEqual(userErrors(r.stderr), expected, r.stderr);
      if (expected.length) {
        assert.notEqual(r.code, 0);
        // Nothing else went wrong: the transform's errors are the only ones.
        assert.match(r.stderr, new RegExp(`FAILURE ${expected.length} compile error\\(s\\)`));
      } else {
        assert.equal(r.code, 0, r.stderr);
      }
    });
  }
});

describe('loading the transform from an installed package', () => {
  // A project with the SDK package in node_modules, shaped as the SDK package ships it.
  const project = join(scratch, 'project');
  const pkg = join(project, 'node_modules/mosquitto-wasm-auth');
  mkdirSync(join(pkg, 'transform'), { recursive: true });
  for (const f of readdirSync(TRANSFORM_JS).filter((n) => n.endsWith('.js'))) cpSync(join(TRANSFORM_JS, f), join(pkg, 'transform', f));
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({
    name: 'mosquitto-wasm-auth', type: 'module', exports: { './transform': './transform/index.js' },
  }));
  symlinkSync(join(ROOT, 'node_modules/assemblyscript'), join(project, 'node_modules/assemblyscript'), 'dir');
  // No SDK import needed: the transform judges the declared types.
  writeFileSync(join(project, 'policy.ts'),
    'export function acl_check(clientid: string, username: string | null, topic: string, access: i32): bool { return false; }\n');
  const want = "acl_check: parameter 1 'clientid' is 'string'; it must be 'Str' — " +
    'acl_check(clientid: Str, username: Str | null, topic: Str, access: Access): Decision';

  // asc resolves a package name with Node's resolver from the asconfig's directory (so the
  // package's "exports" apply), and a relative path against that directory, which works only when
  // the directory is absolute: `--config asconfig.json` turns "./x.js" into the bare name "x.js".
  const cases = [
    { spec: 'mosquitto-wasm-auth/transform', config: 'asconfig.json' },
    { spec: './node_modules/mosquitto-wasm-auth/transform/index.js', config: join(project, 'asconfig.json') },
  ];
  for (const { spec, config } of cases) {
    test(`"transform": ["${spec}"] in the project's asconfig.json, --config ${config}`, async () => {
      writeFileSync(join(project, 'asconfig.json'), JSON.stringify({ options: { transform: [spec] } }));
      const r = await asc(['policy.ts', '--config', config, '--noEmit'], project);
      assert.notEqual(r.code, 0, r.stderr);
      assert.deepEqual(userErrors(r.stderr).slice(0, 1), [want], r.stderr);
    });
  }
});
