// `make install DESTDIR=INSTALL_ROOT PREFIX=INSTALL_PREFIX`, run by packaging.mk's test-install
// just before this file: the tree it leaves, the files' modes and contents, the stripped
// binaries still working, and the sample configuration naming the installed paths.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { DEFAULT_POLICY_WASM, ROOT } from '../harness/paths.js';
import {
  assertCheckerAccepts,
  assertModulesAsBuilt,
  assertStripped,
  expectedInstall,
  listFiles,
  mode,
  PACKAGE,
  PLUGIN_EXPORTS,
} from './layout.js';

function env(name: string): string {
  const v = process.env[name];
  if (v === undefined || v === '') throw new Error(`${name} is not set (run \`make test-install\`)`);
  return v;
}

const root = env('INSTALL_ROOT');
const prefix = env('INSTALL_PREFIX');
const multiarch = process.env.MULTIARCH ?? '';
const pluginDir = `${prefix}/lib${multiarch ? `/${multiarch}` : ''}`;
const pluginPath = `${pluginDir}/mosquitto_wasm_auth.so`;
const shareDir = `${prefix}/share/${PACKAGE}`;
const at = (p: string) => join(root, p);

describe(`make install DESTDIR=... PREFIX=${prefix}`, () => {
  test('installs exactly the plugin, the checker, the policies and the samples', () => {
    assert.deepEqual(listFiles(root), expectedInstall(prefix, pluginDir.replace(/^\//, '')));
  });

  test('the plugin and the checker are stripped, the plugin still exports its entry points', () => {
    assertStripped(at(pluginPath), PLUGIN_EXPORTS);
    assertStripped(at(`${prefix}/bin/wasm-auth-check`));
    assert.equal(mode(at(pluginPath)), '0644');
    assert.equal(mode(at(`${prefix}/bin/wasm-auth-check`)), '0755');
    for (const f of listFiles(at(shareDir))) assert.equal(mode(at(`${shareDir}/${f}`)), '0644', f);
  });

  test('the policy modules are the build output, and the installed checker accepts each', () => {
    assertModulesAsBuilt(at(shareDir), DEFAULT_POLICY_WASM);
    assertCheckerAccepts(at(`${prefix}/bin/wasm-auth-check`), at(shareDir));
  });

  test('the sample configuration names the installed plugin and default policy', () => {
    const conf = readFileSync(at(`${shareDir}/mosquitto.conf.example`), 'utf8');
    assert.doesNotMatch(conf, /@[A-Z_]+@/, 'a placeholder was left unsubstituted');
    assert.match(conf, new RegExp(`^plugin ${pluginPath}$`, 'm'));
    assert.match(conf, new RegExp(`^plugin_opt_wasm_module ${shareDir}/default-policy\\.wasm$`, 'm'));
    assert.equal(readFileSync(at(`${shareDir}/acl.example`), 'utf8'), readFileSync(join(ROOT, 'assembly/run/demo.acl'), 'utf8'));
  });
});
