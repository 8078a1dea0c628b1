#!/usr/bin/env node
// create-mosquitto-wasm-auth: writes a policy project (template/) into a new directory, with the
// SDK and host pinned at this package's version, from the registry or (--from DIR) from the
// tarballs `make pack` writes, copied into the project's vendor/ so it stands on its own.
//   npm create mosquitto-wasm-auth DIR [-- --from PACKDIR] [--no-install]
// Exit 0, 1 when the project cannot be written or installed, 2 on bad arguments; each failure is
// one line on stderr.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const PROG = 'create-mosquitto-wasm-auth';
const HERE = fileURLToPath(new URL('.', import.meta.url));
const TEMPLATE = join(HERE, 'template');

// Exactly the repository's versions, so a project builds and tests as the repository does.
const ASSEMBLYSCRIPT = '0.27.37';
const ASPECT = '8.1.0';
const SDK = 'mosquitto-wasm-auth';
const HOST = '@mosquitto-wasm-auth/host';

const USAGE = `usage: ${PROG} DIR [--from PACKDIR] [--no-install]
  Writes a mosquitto-wasm-auth policy project into DIR (new or empty) and runs npm install.
  --from PACKDIR   install the SDK and host from the npm pack tarballs in PACKDIR
  --no-install     write the files only
`;

class Failure extends Error {
  constructor(message: string, readonly status: number) {
    super(message);
  }
}

interface Args {
  dir: string;
  from: string | null;
  install: boolean;
}

function parseArgs(argv: string[]): Args | null {
  let dir: string | null = null;
  let from: string | null = null;
  let install = true;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') return null;
    if (a === '--no-install') {
      install = false;
    } else if (a === '--from') {
      from = argv[++i] ?? null;
      if (from === null) throw new Failure('--from needs a directory of tarballs', 2);
    } else if (a.startsWith('-')) {
      throw new Failure(`unknown option ${a} (see ${PROG} --help)`, 2);
    } else if (dir === null) {
      dir = a;
    } else {
      throw new Failure(`one project directory only, got ${dir} and ${a}`, 2);
    }
  }
  if (dir === null) throw new Failure(`no project directory given: ${PROG} DIR (see ${PROG} --help)`, 2);
  return { dir, from, install };
}

function ownVersion(): string {
  return (JSON.parse(readFileSync(join(HERE, 'package.json'), 'utf8')) as { version: string }).version;
}

// npm's rules for a package name, applied to the directory's name.
function packageName(dir: string): string {
  const name = basename(resolve(dir)).toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[._-]+/, '');
  return name === '' ? 'policy' : name.slice(0, 214);
}

// Where `make install` (PREFIX /usr or /usr/local) and the Debian package put the plugin; the
// first that exists goes into mosquitto.conf, else Debian's path for this machine.
function pluginPath(): string {
  const triplet = `${process.arch === 'arm64' ? 'aarch64' : process.arch === 'x64' ? 'x86_64' : process.arch}-linux-gnu`;
  const candidates = ['/usr/lib', '/usr/local/lib'].flatMap((d) => [`${d}/${triplet}`, d]).map((d) => `${d}/mosquitto_wasm_auth.so`);
  return candidates.find((f) => existsSync(f)) ?? candidates[0];
}

function copyTree(from: string, to: string, subst: (text: string) => string): void {
  mkdirSync(to, { recursive: true });
  for (const e of readdirSync(from, { withFileTypes: true })) {
    // npm pack drops .gitignore files, so the template holds it without the dot.
    const target = join(to, e.name === 'gitignore' ? '.gitignore' : e.name);
    if (e.isDirectory()) copyTree(join(from, e.name), target, subst);
    else writeFileSync(target, subst(readFileSync(join(from, e.name), 'utf8')));
  }
}

// The SDK and host as dependency specs: registry versions, or tarballs copied into vendor/.
function dependencies(project: string, version: string, from: string | null): Record<string, string> {
  if (from === null) return { [SDK]: version, [HOST]: version };
  const tarballs = [[SDK, `mosquitto-wasm-auth-${version}.tgz`], [HOST, `mosquitto-wasm-auth-host-${version}.tgz`]];
  for (const [, file] of tarballs) {
    if (!existsSync(join(from, file))) throw new Failure(`--from ${from}: no ${file} there (make pack writes it to build/pack)`, 1);
  }
  const deps: Record<string, string> = {};
  const vendor = join(project, 'vendor');
  mkdirSync(vendor, { recursive: true });
  for (const [name, file] of tarballs) {
    copyFileSync(join(from, file), join(vendor, file));
    deps[name] = `file:vendor/${file}`;
  }
  return deps;
}

function create(args: Args): string {
  const project = resolve(args.dir);
  if (existsSync(project)) {
    if (!statSync(project).isDirectory()) throw new Failure(`${args.dir} exists and is not a directory: choose another name`, 1);
    if (readdirSync(project).length > 0) throw new Failure(`${args.dir} is not empty: choose a new directory name`, 1);
  }
  if (args.from !== null && !existsSync(args.from)) throw new Failure(`--from ${args.from}: no such directory`, 1);
  const version = ownVersion();
  const name = packageName(args.dir);
  const deps = dependencies(project, version, args.from === null ? null : resolve(args.from));
  const plugin = pluginPath();
  copyTree(TEMPLATE, project, (t) => t.replaceAll('{{NAME}}', name).replaceAll('{{PROJECT_DIR}}', project).replaceAll('{{PLUGIN}}', plugin));
  const pkg = {
    name,
    version: '0.1.0',
    private: true,
    type: 'module',
    description: 'A mosquitto-wasm-auth policy',
    scripts: {
      build: 'asc --config asconfig.json --target release',
      test: 'asp --summary --no-logo && npm run --silent build && node --test test/',
      check: 'npm run --silent build && wasm-auth check build/policy.wasm',
      watch: 'node scripts/watch.js',
    },
    devDependencies: {
      '@as-pect/cli': ASPECT,
      assemblyscript: ASSEMBLYSCRIPT,
      ...deps,
    },
  };
  writeFileSync(join(project, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
  if (args.install) {
    process.stdout.write(`${PROG}: npm install in ${args.dir}\n`);
    const r = spawnSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['install', '--no-audit', '--no-fund'], { cwd: project, stdio: 'inherit' });
    if (r.status !== 0) throw new Failure(`npm install failed in ${args.dir} (the files are written; run it there again)`, 1);
  }
  return project;
}

function main(argv: string[]): number {
  try {
    const args = parseArgs(argv);
    if (args === null) {
      process.stdout.write(USAGE);
      return 0;
    }
    create(args);
    const cd = `cd ${args.dir}`;
    process.stdout.write(`Created ${args.dir}. Next:\n  ${cd}${args.install ? '' : ' && npm install'}\n  npm test\n  npm run check\n`);
    return 0;
  } catch (e) {
    if (!(e instanceof Failure)) throw e;
    process.stderr.write(`${PROG}: ${e.message}\n`);
    return e.status;
  }
}

process.exitCode = main(process.argv.slice(2));
