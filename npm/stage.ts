// make pack: stages the three npm packages in BUILD/pack/stage/ and runs `npm pack` on each, so
// BUILD/pack/ holds the tarballs an author installs with no access to this repository.
//   node build/js/npm/stage.js ROOT BUILD PACKDIR
// Every package gets the root package.json's version; the SDK and host say which ABI they speak
// (plugin-c/runtime/abi.h, WA_ABI_VERSION) in package.json's "mosquittoWasmAuth".
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { WA_ABI_VERSION } from '../sdk/host/limits.js';

const [root, build, packDir] = process.argv.slice(2).map((p) => resolve(p));
if (packDir === undefined) {
  process.stderr.write('usage: stage.js ROOT BUILD PACKDIR\n');
  process.exit(2);
}

const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  version: string;
  license: string;
  dependencies: Record<string, string>;
};
const version = rootPkg.version;
const stage = join(packDir, 'stage');
const common = {
  version,
  license: rootPkg.license,
  type: 'module',
  mosquittoWasmAuth: { abiVersion: WA_ABI_VERSION },
};

function writeJson(file: string, value: unknown): void {
  writeFileSync(file, JSON.stringify(value, null, 2) + '\n');
}

function readme(from: string, to: string): void {
  const text = readFileSync(from, 'utf8').replaceAll('{{ABI}}', String(WA_ABI_VERSION)).replaceAll('{{VERSION}}', version);
  writeFileSync(join(to, 'README.md'), text);
}

// The SDK: sdk/assembly's sources at the package root, where asc 0.27 resolves a bare import
// ("mosquitto-wasm-auth" -> index.ts, "mosquitto-wasm-auth/testing" -> testing.ts; it does not
// read package.json "exports"), and an asconfig.json for a project's to extend: the repository's
// release settings, abi.ts as an extra entry (asc exports an entry file's exports, so a policy
// needs no `export * from ".../abi"`), and the hook-signature transform when it is built.
function sdk(): void {
  const dir = join(stage, 'sdk');
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(join(root, 'sdk/assembly'))) {
    if (f.endsWith('.ts')) copyFileSync(join(root, 'sdk/assembly', f), join(dir, f));
  }
  const asconfig = JSON.parse(readFileSync(join(root, 'asconfig.json'), 'utf8')) as { options?: Record<string, unknown> };
  const out: Record<string, unknown> = { entries: ['./abi.ts'], ...asconfig };
  const transformDir = join(build, 'js/sdk/transform');
  if (existsSync(join(transformDir, 'index.js'))) {
    mkdirSync(join(dir, 'transform'));
    for (const f of readdirSync(transformDir)) {
      if (f.endsWith('.js')) writeFileSync(join(dir, 'transform', f), stripSourceMap(readFileSync(join(transformDir, f), 'utf8')));
    }
    out.options = { ...asconfig.options, transform: ['./transform/index.js'] };
  } else {
    process.stdout.write(`stage: ${transformDir}/index.js not built: the SDK package ships without the hook-signature transform\n`);
  }
  writeJson(join(dir, 'asconfig.json'), out);
  readme(join(root, 'npm/sdk/README.md'), dir);
  writeJson(join(dir, 'package.json'), {
    name: 'mosquitto-wasm-auth',
    description: 'AssemblyScript SDK for Mosquitto authentication and authorization policies run by the mosquitto-wasm-auth plugin',
    keywords: ['mosquitto', 'mqtt', 'assemblyscript', 'webassembly', 'authentication', 'authorization'],
    ...common,
    peerDependencies: { assemblyscript: '~0.27.37' },
  });
}

function stripSourceMap(js: string): string {
  return js.replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n');
}

// The host: the compiled Node host (build/js/sdk/host) with its .d.ts, the gate prebuilt
// (gate.wasm next to gate.js, where gate.ts looks first) and the wasm-auth bin. cli.js is the
// repository's wa-call twin, not part of the package.
function host(): void {
  const dir = join(stage, 'host');
  const js = join(build, 'js/sdk/host');
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(js)) {
    if (f.startsWith('cli.')) continue;
    if (f.endsWith('.js')) writeFileSync(join(dir, f), stripSourceMap(readFileSync(join(js, f), 'utf8')));
    else if (f.endsWith('.d.ts')) copyFileSync(join(js, f), join(dir, f));
  }
  copyFileSync(join(build, 'gate.wasm'), join(dir, 'gate.wasm'));
  readme(join(root, 'npm/host/README.md'), dir);
  writeJson(join(dir, 'package.json'), {
    name: '@mosquitto-wasm-auth/host',
    description: 'Runs mosquitto-wasm-auth policies in Node as the Mosquitto plugin does; the wasm-auth check and call command',
    keywords: ['mosquitto', 'mqtt', 'webassembly', 'authentication', 'authorization'],
    ...common,
    main: './index.js',
    types: './index.d.ts',
    exports: {
      '.': { types: './index.d.ts', default: './index.js' },
      './aspect': { types: './aspect.d.ts', default: './aspect.js' },
      './package.json': './package.json',
    },
    bin: { 'wasm-auth': './wasm-auth-bin.js' },
    // The root's runtime dependencies are the host's (@noble/hashes: Argon2id), pinned the same.
    dependencies: rootPkg.dependencies,
    engines: { node: '>=20' },
    publishConfig: { access: 'public' },
  });
}

// The scaffolder: create.js and the project template.
function create(): void {
  const dir = join(stage, 'create');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'create.js'), stripSourceMap(readFileSync(join(build, 'js/npm/create/create.js'), 'utf8')));
  cpSync(join(root, 'npm/create/template'), join(dir, 'template'), { recursive: true });
  readme(join(root, 'npm/create/README.md'), dir);
  const { mosquittoWasmAuth: _abi, ...rest } = common;
  writeJson(join(dir, 'package.json'), {
    name: 'create-mosquitto-wasm-auth',
    description: 'npm create mosquitto-wasm-auth: a new mosquitto-wasm-auth policy project',
    keywords: ['mosquitto', 'mqtt', 'assemblyscript', 'create'],
    ...rest,
    bin: { 'create-mosquitto-wasm-auth': './create.js' },
    engines: { node: '>=20' },
  });
}

rmSync(stage, { recursive: true, force: true });
sdk();
host();
create();
for (const p of ['sdk', 'host', 'create']) {
  execFileSync('npm', ['pack', '--silent', '--pack-destination', packDir], { cwd: join(stage, p), stdio: ['ignore', 'ignore', 'inherit'] });
}
process.stdout.write(`stage: ${readdirSync(packDir).filter((f) => f.endsWith('.tgz')).join(' ')} in ${packDir}\n`);
