// The packages as a policy author gets them (docs/PACKAGES.md): the scaffolder, installed from
// its tarball, creates a project outside the repository from the tarballs in PACK_DIR (make
// pack); the project's own npm install, test, build and check pass; nothing in it (our installed
// packages included) refers back into the repository; and its policy, with its data file and its
// sample mosquitto.conf, runs in a real broker with the repository's plugin.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { type Broker, listener, startBroker } from '../harness/broker.js';
import { connect, endAll, tryConnect, uniqueId } from '../harness/mqtt.js';
import { PLUGIN_SO, ROOT, requireFile } from '../harness/paths.js';

const execFileP = promisify(execFile);
const PACK_DIR = resolve(ROOT, process.env.PACK_DIR ?? 'build/pack');
const VERSION = process.env.PACK_VERSION ?? (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** Runs a command in `cwd`; on failure, throws with everything it printed. */
async function run(cmd: string, args: string[], cwd: string): Promise<string> {
  try {
    // Without NODE_TEST_CONTEXT, which would make the project's own `node --test` skip its files
    // as if run by this test runner.
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const r = await execFileP(cmd, args, { cwd, maxBuffer: 64 << 20, env: { ...env, NO_COLOR: '1' } });
    return (r.stdout + r.stderr).replace(/\x1b\[[0-9;]*m/g, ''); // as-pect colours regardless
  } catch (e) {
    const x = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) failed: ${x.message}\n${x.stdout ?? ''}${x.stderr ?? ''}`);
  }
}

/** Files whose content names `needle`, and symlinks that point under it, below `dir`. */
function referencesTo(dir: string, needle: string): string[] {
  const found: string[] = [];
  const bytes = Buffer.from(needle);
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = lstatSync(p);
      if (st.isSymbolicLink()) {
        const target = resolve(d, readlinkSync(p));
        if (target.startsWith(needle) || realpathSync(p).startsWith(needle)) found.push(`${p} -> ${target}`);
      } else if (st.isDirectory()) {
        walk(p);
      } else if (st.isFile() && readFileSync(p).includes(bytes)) {
        found.push(p);
      }
    }
  };
  walk(dir);
  return found;
}

describe('packages: a project made by the scaffolder from the tarballs', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'wa-packages-'));
  const project = join(tmp, 'my-policy');
  let broker: Broker | undefined;
  const out: Record<string, string> = {};
  // The scaffolder as npm create gets it: installed from its tarball (outside the project), run through its bin.
  const CREATE = (): string => join(tmp, 'tool/node_modules/.bin/create-mosquitto-wasm-auth');

  before(async () => {
    assert.ok(!tmp.startsWith(ROOT), `${tmp} is inside the repository`);
    requireFile(join(PACK_DIR, `create-mosquitto-wasm-auth-${VERSION}.tgz`), 'the scaffolder tarball (make pack)');
    await run('npm', ['install', '--prefix', join(tmp, 'tool'), '--no-audit', '--no-fund', join(PACK_DIR, `create-mosquitto-wasm-auth-${VERSION}.tgz`)], tmp);
    out.create = await run(CREATE(), ['my-policy', '--from', PACK_DIR, '--no-install'], tmp);
    out.install = await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], project);
    out.test = await run('npm', ['test'], project);
    out.build = await run('npm', ['run', 'build'], project);
    out.check = await run('npm', ['run', 'check'], project);
  });

  after(async () => {
    await broker?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('the scaffolder refuses a directory that is not empty, in one line', async () => {
    await assert.rejects(execFileP(CREATE(), ['my-policy', '--no-install'], { cwd: tmp }), (e: { code?: number; stderr?: string }) => {
      assert.equal(e.code, 1);
      assert.equal(e.stderr, 'create-mosquitto-wasm-auth: my-policy is not empty: choose a new directory name\n');
      return true;
    });
  });

  test('wasm-auth --version names the package version and the ABI', async () => {
    const r = await execFileP(join(project, 'node_modules/.bin/wasm-auth'), ['--version'], { cwd: project });
    assert.equal(r.stdout, `wasm-auth ${VERSION} (ABI 1)\n`);
  });

  test('npm test runs the as-pect specs and the Node host tests, and they pass', () => {
    assert.match(out.test, /\[Tests\]: \d+ \/ \d+/);
    const [, passed, total] = /\[Tests\]: (\d+) \/ (\d+)/.exec(out.test) ?? [];
    assert.equal(passed, total);
    assert.match(out.test, /^# pass [1-9]\d*$/m);
    assert.match(out.test, /^# fail 0$/m);
  });

  test('npm run check: the plugin\'s gate accepts the built policy', () => {
    assert.match(out.check, /^build\/policy\.wasm: ok: hooks plugin_init,unpwd_check,acl_check; /m);
  });

  test('nothing in the project refers back into the repository', () => {
    assert.deepEqual(referencesTo(project, ROOT), []);
    const pkg = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    assert.equal(pkg.devDependencies['mosquitto-wasm-auth'], `file:vendor/mosquitto-wasm-auth-${VERSION}.tgz`);
    assert.equal(pkg.devDependencies['@mosquitto-wasm-auth/host'], `file:vendor/mosquitto-wasm-auth-host-${VERSION}.tgz`);
  });

  test('a hook declared with the wrong types fails the build, naming the hook', async (t) => {
    if (!existsSync(join(project, 'node_modules/mosquitto-wasm-auth/transform/index.js'))) {
      t.skip('the SDK package was packed without the hook-signature transform (build/js/sdk/transform/ not built)');
      return;
    }
    writeFileSync(join(project, 'assembly/wrong.ts'),
      'import { Decision } from "mosquitto-wasm-auth";\n' +
      'export function unpwd_check(username: string | null, password: string | null): Decision { return Decision.Allow; }\n');
    writeFileSync(join(project, 'asconfig.wrong.json'), JSON.stringify({
      extends: 'mosquitto-wasm-auth/asconfig.json', entries: ['assembly/wrong.ts'], options: { outFile: 'build/wrong.wasm' },
    }));
    try {
      await assert.rejects(run('npx', ['asc', '--config', 'asconfig.wrong.json', '--target', 'release'], project), /unpwd_check: parameter 1 'username'/);
      assert.ok(!existsSync(join(project, 'build/wrong.wasm')));
    } finally {
      rmSync(join(project, 'assembly/wrong.ts'));
      rmSync(join(project, 'asconfig.wrong.json'));
    }
  });

  describe('its policy in a real broker, configured by its mosquitto.conf', () => {
    before(async () => {
      const sample = readFileSync(join(project, 'mosquitto.conf'), 'utf8');
      assert.match(sample, new RegExp(`^plugin_opt_wasm_module ${project}/build/policy\\.wasm$`, 'm'));
      assert.match(sample, new RegExp(`^plugin_opt_users_file ${project}/data/users\\.txt$`, 'm'));
      // The sample as it is, but on a free port and with the plugin this tree built.
      broker = await startBroker({
        name: 'packages',
        config: (ctx) => sample
          .replace(/^listener .*$/m, listener(ctx.port))
          .replace(/^plugin .*$/m, `plugin ${requireFile(PLUGIN_SO, 'the plugin (PLUGIN_SO)')}`),
      });
      await broker.waitForLog(/wasm-auth: 2 users/);
    });

    test('logins: a user from data/users.txt with its password only', async () => {
      const ok = await connect({ port: broker!.port, version: 5, username: 'alice', password: 'alice-secret' });
      await ok.end();
      assert.equal((await tryConnect({ port: broker!.port, version: 5, username: 'alice', password: 'bob-secret' })).code, 135);
      assert.equal((await tryConnect({ port: broker!.port, version: 5 })).code, 135);
    });

    test('publishing: the user\'s own topics only', async () => {
      const alice = await connect({ port: broker!.port, version: 5, username: 'alice', password: 'alice-secret', clientId: uniqueId('alice') });
      try {
        assert.deepEqual(await alice.subscribe('users/alice/#', 1), [1]);
        assert.equal(await alice.publish('users/alice/door', 'open', { qos: 1 }), 0);
        await alice.waitForMessage((m) => m.topic === 'users/alice/door' && m.payload.toString() === 'open');
        assert.equal(await alice.publish('users/bob/door', 'open', { qos: 1 }), 135);
        assert.equal(await alice.publish('elsewhere', 'x', { qos: 1 }), 135);
      } finally {
        await endAll(alice);
      }
    });
  });
});
