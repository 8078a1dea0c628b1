// The Debian package from `make deb` (DEB_FILE): its metadata and contents, installed by dpkg
// into a temporary root (this machine's root is left alone), and Debian's own mosquitto run with
// the plugin and the default policy from that root, configured by the packaged sample
// configuration and acl, with real MQTT clients allowed and denied.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { type Broker, listener, startBroker } from '../harness/broker.js';
import { connect, deliveries, endAll, NOT_AUTHORIZED_V5, refusedCode, tryConnect, VERSIONS } from '../harness/mqtt.js';
import { DEFAULT_POLICY_WASM } from '../harness/paths.js';
import {
  assertCheckerAccepts,
  assertModulesAsBuilt,
  assertStripped,
  expectedInstall,
  listFiles,
  PACKAGE,
  PLUGIN_EXPORTS,
} from './layout.js';

const run = promisify(execFile);

function env(name: string): string {
  const v = process.env[name];
  if (v === undefined || v === '') throw new Error(`${name} is not set (run \`make test-deb\`)`);
  return v;
}

const DEB = env('DEB_FILE');
const VERSION = env('PACKAGE_VERSION');
const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8' });

/** Where Debian's mosquitto package keeps its own plugin (dynamic-security), without the leading slash. */
function debianPluginDir(): string {
  const so = sh('dpkg', ['-L', 'mosquitto']).split('\n').find((l) => l.endsWith('/mosquitto_dynamic_security.so'));
  assert.ok(so, 'dpkg -L mosquitto lists no mosquitto_dynamic_security.so: is Debian\'s mosquitto installed?');
  return dirname(so).replace(/^\//, '');
}

/** `Name (op version)` alternatives of a Depends field, each satisfied by an installed package. */
function assertSatisfiedHere(depends: string): void {
  for (const clause of depends.split(',').map((c) => c.trim())) {
    const ok = clause.split('|').some((alt) => {
      const m = /^([a-z0-9][a-z0-9+.-]*)(?::\S+)?(?:\s*\((<<|<=|=|>=|>>)\s*([^)\s]+)\))?$/.exec(alt.trim());
      assert.ok(m, `cannot parse the dependency "${alt.trim()}"`);
      let status: string;
      try {
        status = sh('dpkg-query', ['-W', '-f', '${db:Status-Status} ${Version}', m[1]]);
      } catch {
        return false;
      }
      const [state, installed] = status.split(' ');
      if (state !== 'installed') return false;
      if (m[2] === undefined) return true;
      const op = { '<<': 'lt', '<=': 'le', '=': 'eq', '>=': 'ge', '>>': 'gt' }[m[2]] as string;
      try {
        execFileSync('dpkg', ['--compare-versions', installed, op, m[3]]);
        return true;
      } catch {
        return false;
      }
    });
    assert.ok(ok, `Depends: "${clause}" is not satisfied by the packages installed on this machine`);
  }
}

describe(`the Debian package ${DEB}`, () => {
  const pluginDir = debianPluginDir();
  const doc = `usr/share/doc/${PACKAGE}`;
  const expectedFiles = [...expectedInstall('/usr', pluginDir), `${doc}/changelog.Debian.gz`, `${doc}/copyright`].sort();
  let root = '';

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'wa-deb-root-'));
    const admin = join(root, 'var/lib/dpkg');
    mkdirSync(join(admin, 'info'), { recursive: true });
    mkdirSync(join(admin, 'updates'), { recursive: true });
    writeFileSync(join(admin, 'status'), '');
    writeFileSync(join(admin, 'available'), '');
  });
  after(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  test('control: name, version from package.json, this architecture, dependencies this machine satisfies', () => {
    const field = (f: string) => sh('dpkg-deb', ['-f', DEB, f]).trim();
    assert.equal(field('Package'), PACKAGE);
    assert.equal(field('Version'), `${VERSION}-1`);
    assert.equal(field('Architecture'), sh('dpkg', ['--print-architecture']).trim());
    assert.match(field('Maintainer'), /^.+ <[^<>@\s]+@[^<>@\s]+>$/);
    assert.match(field('Installed-Size'), /^[1-9]\d*$/);
    const depends = field('Depends');
    assert.match(depends, /(^|, )libc6 \(>= [^)]+\)/);
    assert.match(depends, /(^|, )libssl3\S* \(>= 3[^)]*\)/, 'libcrypto.so.3 comes from libssl3');
    assert.match(depends, /(^|, )mosquitto \(>= 2\.0\)/);
    assertSatisfiedHere(depends);
  });

  test('contents: the files of `make install PREFIX=/usr` beside mosquitto\'s own plugin, plus copyright and changelog, all root-owned', () => {
    const entries = sh('dpkg-deb', ['-c', DEB]).trim().split('\n');
    const files: string[] = [];
    for (const e of entries) {
      const m = /^(\S+) (\S+)\s+\d+ \S+ \S+ \.\/(.*)$/.exec(e);
      assert.ok(m, `unexpected dpkg-deb -c line: ${e}`);
      assert.equal(m[2], 'root/root', e);
      if (!m[1].startsWith('d')) files.push(m[3]);
    }
    assert.deepEqual(files.sort(), expectedFiles);
  });

  test('dpkg installs it into a temporary root, and its md5sums verify', async () => {
    // --force-depends: the temporary root's dpkg database holds no other package; the test
    // above checks the dependencies against this machine's.
    await run('dpkg', [`--root=${root}`, '--force-not-root', '--force-depends', '-i', DEB]);
    assert.match(sh('dpkg', [`--root=${root}`, '-s', PACKAGE]), /^Status: install ok installed$/m);
    assert.equal(sh('dpkg', [`--root=${root}`, '--verify', PACKAGE]), '', 'dpkg --verify found modified files');
    assert.deepEqual(listFiles(root, (rel) => rel === 'var'), expectedFiles);
    const listed = new Set(sh('dpkg', [`--root=${root}`, '-L', PACKAGE]).split('\n'));
    for (const f of expectedFiles) assert.ok(listed.has(`/${f}`), `dpkg -L does not list /${f}`);
  });

  test('installed: stripped binaries, the modules as built, the checker accepting them', () => {
    const share = join(root, 'usr/share', PACKAGE);
    assertStripped(join(root, pluginDir, 'mosquitto_wasm_auth.so'), PLUGIN_EXPORTS);
    assertStripped(join(root, 'usr/bin/wasm-auth-check'));
    assertModulesAsBuilt(share, DEFAULT_POLICY_WASM);
    assertCheckerAccepts(join(root, 'usr/bin/wasm-auth-check'), share);
  });

  test('copyright (Expat, with wasm3 and the AssemblyScript runtime) and changelog', () => {
    const docDir = join(root, doc);
    const copyright = readFileSync(join(docDir, 'copyright'), 'utf8');
    assert.match(copyright, /^Format: https:\/\/www\.debian\.org\/doc\/packaging-manuals\/copyright-format\/1\.0\/$/m);
    assert.match(copyright, /^Files: \*\nCopyright: .+\nLicense: Expat$/m);
    assert.match(copyright, /^Copyright: 2019 Steven Massey, Volodymyr Shymanskyy$/m);
    assert.match(copyright, /^License: Apache-2\.0$/m);
    assert.match(copyright, /THE SOFTWARE IS PROVIDED "AS IS"/);
    const changelog = gunzipSync(new Uint8Array(readFileSync(join(docDir, 'changelog.Debian.gz')))).toString('utf8');
    assert.match(changelog, new RegExp(`^${PACKAGE} \\(${VERSION.replace(/\./g, '\\.')}-1\\) unstable; urgency=medium\n`));
    assert.match(changelog, /\n -- .+ <\S+@\S+>  \w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}\n$/);
  });

  describe('Debian\'s mosquitto with the packaged plugin, default policy, sample configuration and acl', () => {
    let broker: Broker | undefined;

    before(async () => {
      const share = join(root, 'usr/share', PACKAGE);
      const sample = readFileSync(join(share, 'mosquitto.conf.example'), 'utf8');
      broker = await startBroker({
        name: 'deb',
        setup: async (ctx) => {
          copyFileSync(join(share, 'acl.example'), ctx.file('acl'));
          await run('mosquitto_passwd', ['-c', '-b', ctx.file('passwd'), 'alice', 'alice-secret']);
          await run('mosquitto_passwd', ['-b', ctx.file('passwd'), 'bob', 'bob-secret']);
        },
        // The sample as installed, moved into the temporary root: the listener on the test's
        // port, /usr/... under the root, /etc/mosquitto/... in the broker's directory.
        config: (ctx) => {
          const conf = sample
            .replace(/^listener .*$/m, listener(ctx.port))
            .replace(/^(plugin|plugin_opt_wasm_module) \/usr\//gm, `$1 ${root}/usr/`)
            .replace(/^(plugin_opt_\w+) \/etc\/mosquitto\//gm, `$1 ${ctx.dir}/`);
          assert.match(conf, new RegExp(`^plugin ${root}/${pluginDir}/mosquitto_wasm_auth\\.so$`, 'm'));
          assert.match(conf, new RegExp(`^plugin_opt_wasm_module ${root}/usr/share/${PACKAGE}/default-policy\\.wasm$`, 'm'));
          return conf;
        },
      });
    });
    after(async () => {
      await broker?.stop();
    });

    for (const v of VERSIONS) {
      test(`MQTT v${v}: alice may use users/alice/..., bob may not; a wrong password and anonymous are refused`, async () => {
        const port = (broker as Broker).port;
        const alice = await connect({ port, version: v, username: 'alice', password: 'alice-secret' });
        const bob = await connect({ port, version: v, username: 'bob', password: 'bob-secret' });
        try {
          assert.deepEqual(await alice.subscribe('users/alice/#', 1), [1]);
          // mosquitto's acl_file semantics: the subscription is accepted, delivery is checked
          // per message (READ); public/# is readable by everyone: the positive control.
          assert.deepEqual(await bob.subscribe(['users/alice/#', 'public/#'], 1), [1, 1]);
          const { arrived, codes } = await deliveries(alice, bob, [{ topic: 'users/alice/hello', qos: 1 }], 'public/marker');
          assert.deepEqual(codes, [0]);
          assert.deepEqual(arrived, [false], 'bob received a message on users/alice/hello');
          await alice.waitForMessage((m) => m.topic === 'users/alice/hello');
          // Bob's own write to alice's tree: MQTT 5 says so in the PUBACK.
          if (v === 5) assert.equal(await bob.publish('users/alice/hello', 'from bob', { qos: 1 }), NOT_AUTHORIZED_V5);
          assert.equal((await tryConnect({ port, version: v, username: 'alice', password: 'bob-secret' })).code, refusedCode(v));
          assert.equal((await tryConnect({ port, version: v })).code, refusedCode(v));
        } finally {
          await endAll(alice, bob);
        }
      });
    }
  });
});
