// What `make install` must produce, derived from the sources (not from the makefile that does
// the installing), and checks shared by the install and Debian package tests.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { BUILD, ROOT } from '../harness/paths.js';

export const PACKAGE = 'mosquitto-wasm-auth';

/** examples/NAME/policy.ts -> NAME, as examples.mk builds them. */
export function exampleNames(): string[] {
  return readdirSync(join(ROOT, 'examples'))
    .filter((n) => existsSync(join(ROOT, 'examples', n, 'policy.ts')))
    .sort();
}

/** examples/NAME/FILE that an example reads at run time: anything but sources, specs and docs. */
export function exampleDataFiles(): string[] {
  const out: string[] = [];
  for (const n of readdirSync(join(ROOT, 'examples'))) {
    const dir = join(ROOT, 'examples', n);
    if (!statSync(dir).isDirectory()) continue;
    for (const f of readdirSync(dir)) {
      if (statSync(join(dir, f)).isFile() && !f.endsWith('.ts') && !f.endsWith('.md')) out.push(`examples/${n}/${f}`);
    }
  }
  return out.sort();
}

/**
 * Every file `make install PREFIX=prefix` installs, relative to DESTDIR (no leading slash).
 * `pluginDir` is where the plugin goes, e.g. usr/lib/x86_64-linux-gnu.
 */
export function expectedInstall(prefix: string, pluginDir: string): string[] {
  const p = prefix.replace(/^\/+/, '');
  const share = `${p}/share/${PACKAGE}`;
  return [
    `${pluginDir}/mosquitto_wasm_auth.so`,
    `${p}/bin/wasm-auth-check`,
    `${share}/default-policy.wasm`,
    `${share}/mosquitto.conf.example`,
    `${share}/acl.example`,
    ...exampleNames().map((n) => `${share}/examples/${n}.wasm`),
    ...exampleDataFiles().map((f) => `${share}/${f}`),
  ].sort();
}

/** Every regular file (and symlink) under root, relative, '/'-separated, sorted. */
export function listFiles(root: string, skip: (rel: string) => boolean = () => false): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const abs = join(dir, e.name);
      const rel = relative(root, abs).split(sep).join('/');
      if (skip(rel)) continue;
      if (e.isDirectory()) walk(abs);
      else out.push(rel);
    }
  };
  walk(root);
  return out.sort();
}

/** No symbol table and no debug sections left, and the plugin entry points still exported. */
export function assertStripped(path: string, exports: string[] = []): void {
  const sections = execFileSync('readelf', ['-S', '--wide', path], { encoding: 'utf8' });
  assert.doesNotMatch(sections, /\] \.symtab\s/, `${path} still has a symbol table: not stripped`);
  assert.doesNotMatch(sections, /\] \.debug_\w+\s/, `${path} still has debug sections: not stripped`);
  if (exports.length === 0) return;
  const dyn = execFileSync('readelf', ['--dyn-syms', '--wide', path], { encoding: 'utf8' });
  for (const sym of exports) {
    assert.match(dyn, new RegExp(`\\bFUNC\\s+GLOBAL\\s+DEFAULT\\s+\\d+\\s+${sym}$`, 'm'), `${path} does not export ${sym}`);
  }
}

export const PLUGIN_EXPORTS = ['mosquitto_plugin_version', 'mosquitto_plugin_init', 'mosquitto_plugin_cleanup'];

/** Installed policy modules hold the very bytes the build produced. */
export function assertModulesAsBuilt(shareDir: string, defaultPolicyWasm: string): void {
  assert.equal(sha256(join(shareDir, 'default-policy.wasm')), sha256(defaultPolicyWasm), `default-policy.wasm differs from ${defaultPolicyWasm}`);
  for (const n of exampleNames()) {
    const built = join(BUILD, 'examples', `${n}.wasm`);
    assert.equal(sha256(join(shareDir, 'examples', `${n}.wasm`)), sha256(built), `examples/${n}.wasm differs from ${built}`);
  }
}

/** The installed checker accepts every installed module (and so runs at all once stripped). */
export function assertCheckerAccepts(checker: string, shareDir: string): void {
  const modules = [join(shareDir, 'default-policy.wasm'), ...exampleNames().map((n) => join(shareDir, 'examples', `${n}.wasm`))];
  for (const m of modules) {
    const out = execFileSync(checker, [m], { encoding: 'utf8' });
    assert.match(out, /: ok: hooks /, `${checker} ${m}: ${out}`);
  }
}

export function mode(path: string): string {
  return (statSync(path).mode & 0o7777).toString(8).padStart(4, '0');
}

function sha256(path: string): string {
  return createHash('sha256').update(new Uint8Array(readFileSync(path))).digest('hex');
}
