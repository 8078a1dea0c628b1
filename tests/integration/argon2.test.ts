// $argon2id$ password_file lines through the default policy on a real broker, with the default
// wasm_fuel (sized for one check at the cap): a committed hash (tests/fixtures/argon2id.txt, the argon2 tool)
// and one written by Mosquitto 2.1.2's own `mosquitto_passwd -H argon2id` (build/mosquitto-2.1,
// built WITH_ARGON2 by tests/mosquitto21.mk; that case skips, saying why, without it). A hash above
// WA_MAX_PW_ARGON2_KIB refuses the right password and the broker logs the cap's name.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { Broker, ConfigContext } from '../harness/broker.js';
import { connect, refusedCode, tryConnect, VERSIONS } from '../harness/mqtt.js';
import { BUILD, DEFAULT_POLICY_WASM, ROOT } from '../harness/paths.js';
import { startPolicyBroker } from '../harness/policy-broker.js';

const run = promisify(execFile);
const PASSWD_21 = join(BUILD, 'mosquitto-2.1/apps/mosquitto_passwd/mosquitto_passwd');

// name -> [password, hash] from tests/fixtures/argon2id.txt.
function fixtures(): Map<string, [string, string]> {
  const out = new Map<string, [string, string]>();
  for (const line of readFileSync(join(ROOT, 'tests/fixtures/argon2id.txt'), 'utf8').split('\n')) {
    const f = line.split('\t');
    if (!line.startsWith('#') && f.length === 3) out.set(f[0], [f[1], f[2]]);
  }
  return out;
}

// A line from 2.1.2's mosquitto_passwd -H argon2id, or why there is none.
async function passwd21Line(ctx: ConfigContext, user: string, pw: string): Promise<string> {
  if (!existsSync(PASSWD_21)) throw new Error(`${PASSWD_21} is absent (make mosquitto-2.1 builds it from ../shared)`);
  const file = ctx.file('passwd-21');
  try {
    await run(PASSWD_21, ['-H', 'argon2id', '-c', '-b', file, user, pw]);
  } catch (e) {
    throw new Error(`mosquitto_passwd 2.1 -H argon2id failed (built without WITH_ARGON2?): ${(e as Error).message.trim()}`);
  }
  return readFileSync(file, 'utf8').trim();
}

describe('argon2id hashes in the default policy', () => {
  const fx = fixtures();
  const [pw, hash] = fx.get('default')!;
  const [overPw, over] = fx.get('over-memory')!;
  let broker: Broker;
  let from21: string | null = null;
  let why21 = '';
  before(async () => {
    broker = await startPolicyBroker({
      name: 'argon2',
      module: DEFAULT_POLICY_WASM,
      // Every client here comes from 127.0.0.1, one breaker bucket: at ~50 ms of policy time per
      // check, the default 10% share (at most wasm_timeout_ms at once) lets about two logins a
      // second through, and the next get the failure decision until it refills. The test is not
      // about that throttle, so both shares are at their most.
      // A check takes ~50 ms on an idle machine and several times that under a loaded test run: the
      // deadline is raised so that only the outcome is tested, never the time.
      opts: { password_file: (ctx) => ctx.file('passwd'), wasm_client_share: 100, wasm_cpu_share: 100, wasm_timeout_ms: 5000 },
      setup: async (ctx) => {
        const lines = [`fixture:${hash}`, `over:${over}`];
        try {
          from21 = await passwd21Line(ctx, 'made21', 'made21-pw');
          lines.push(from21);
        } catch (e) {
          why21 = (e as Error).message;
        }
        writeFileSync(ctx.file('passwd'), lines.join('\n') + '\n');
      },
    });
  });
  after(() => broker?.stop());

  for (const v of VERSIONS) {
    test(`v${v}: the committed hash (mosquitto_passwd 2.1's parameters): right password connects, wrong refused`, async () => {
      const c = await connect({ port: broker.port, version: v, username: 'fixture', password: pw });
      await c.end();
      const wrong = await tryConnect({ port: broker.port, version: v, username: 'fixture', password: pw + 'x' });
      assert.equal(wrong.ok, false);
      assert.equal(wrong.code, refusedCode(v), broker.describe());
    });
  }

  test('a hash written by Mosquitto 2.1.2\'s mosquitto_passwd -H argon2id', async (t) => {
    if (from21 === null) {
      t.skip(why21);
      process.stdout.write(`# argon2: SKIPPED the mosquitto_passwd 2.1 case: ${why21}\n`);
      return;
    }
    assert.match(from21, /^made21:\$argon2id\$v=19\$m=47104,t=1,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
    const c = await connect({ port: broker.port, version: 5, username: 'made21', password: 'made21-pw' });
    await c.end();
    const wrong = await tryConnect({ port: broker.port, version: 5, username: 'made21', password: 'made21-PW' });
    assert.equal(wrong.code, refusedCode(5));
  });

  test('above WA_MAX_PW_ARGON2_KIB: the right password is refused and the log names the cap', async () => {
    const since = broker.mark();
    const r = await tryConnect({ port: broker.port, version: 4, username: 'over', password: overPw });
    assert.equal(r.code, refusedCode(4));
    await broker.waitForLog(
      /wasm-auth: pw_verify: an \$argon2id\$ hash asks for m=49153 KiB x t=1, above the cap of 49152 KiB \(WA_MAX_PW_ARGON2_KIB\): no match/,
      { since });
    // The broker still serves: the refusal was a decision, not a failure.
    const c = await connect({ port: broker.port, version: 4, username: 'fixture', password: pw });
    await c.end();
  });
});
