// Record and replay through a real broker: the default policy with plugin_opt_wasm_record and
// payloads on records every connect and ACL decision of real clients; `wasm-auth replay` puts the
// recording to the same policy (no decision differs: exit 0) and to a changed acl_file (exactly
// the requests whose decision changed are printed: exit 1). Passwords never reach the file.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { Broker, ConfigContext } from '../harness/broker.js';
import { connect, endAll, tryConnect, uniqueId } from '../harness/mqtt.js';
import { BUILD, DEFAULT_POLICY_WASM } from '../harness/paths.js';
import { startPolicyBroker } from '../harness/policy-broker.js';

const run = promisify(execFile);
const WASM_AUTH = join(BUILD, 'js/sdk/host/wasm-auth-bin.js');

const ACL = `user alice
topic readwrite alice/#
topic read news/#
pattern readwrite users/%u/#
`;
// The candidate: alice may no longer write under alice/private/.
const ACL_CHANGED = `user alice
topic deny alice/private/#
topic readwrite alice/#
topic read news/#
pattern readwrite users/%u/#
`;

interface Replay {
  status: number;
  stdout: string;
  stderr: string;
}

async function replay(file: string, dir: string, acl: string): Promise<Replay> {
  try {
    const r = await run(process.execPath, [WASM_AUTH, 'replay', file, DEFAULT_POLICY_WASM,
      '--opt', `password_file=${join(dir, 'passwd')}`, '--opt', `acl_file=${join(dir, acl)}`]);
    return { status: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { status: err.code ?? -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

describe('record and replay: a recording of real traffic tests a policy change', () => {
  let broker: Broker;
  let dir = '';
  let recording = '';
  before(async () => {
    broker = await startPolicyBroker({
      name: 'record-replay',
      module: DEFAULT_POLICY_WASM,
      files: { acl: ACL, 'acl.changed': ACL_CHANGED },
      setup: async (ctx: ConfigContext) => {
        dir = ctx.dir;
        recording = ctx.file('requests.jsonl');
        await run('mosquitto_passwd', ['-c', '-b', ctx.file('passwd'), 'alice', 'alice-secret-pw']);
      },
      opts: {
        password_file: (ctx) => ctx.file('passwd'),
        acl_file: (ctx) => ctx.file('acl'),
        wasm_record: (ctx) => ctx.file('requests.jsonl'),
        wasm_record_payloads: 'on',
      },
    });
  });
  after(() => broker?.stop());

  test('every decision is recorded, passwords never; replay against the same policy finds no difference, against a changed one exactly the changed requests', async () => {
    const alice = await connect({ port: broker.port, version: 5, clientId: uniqueId('alice'), username: 'alice', password: 'alice-secret-pw' });
    const wrong = await tryConnect({ port: broker.port, version: 5, username: 'alice', password: 'wrong-pw-xyz' });
    if (wrong.ok) await endAll(wrong.client);
    assert.equal(wrong.ok, false);
    try {
      assert.deepEqual(await alice.subscribe('alice/#', 1), [1]);
      assert.equal(await alice.publish('alice/private/diary', 'dear diary', { qos: 1 }), 0);
      assert.equal(await alice.publish('alice/public/x', 'hello', { qos: 1 }), 0);
      assert.equal(await alice.publish('news/today', 'no', { qos: 1 }), 135); // read only
      await alice.waitForMessage((m) => m.topic === 'alice/public/x');
    } finally {
      await endAll(alice);
    }
    // Records reach the file at the plugin's next turn on the tick (every 10 ms or so, at most
    // 100 ms apart on either broker version), so a flush may fall between two of them.
    const deadline = Date.now() + 5000;
    let text = '';
    while (Date.now() < deadline) {
      text = readFileSync(recording, 'utf8');
      if (text.includes('"topic":"alice/public/x","qos":1,"retain":false,"payload":"aGVsbG8=","decision":"allow"') &&
          text.includes('"topic":"news/today"') && (text.match(/"access":"read"/g) ?? []).length >= 2) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const lines = text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(!text.includes('alice-secret-pw') && !text.includes('wrong-pw-xyz'), 'no password in the recording');
    const connects = lines.filter((l) => l.access === 'connect');
    assert.deepEqual(connects.map((l) => [l.username, l.password, l.decision]),
      [['alice', '<redacted>', 'allow'], ['alice', '<redacted>', 'deny']]);
    const write = lines.find((l) => l.access === 'write' && l.topic === 'alice/private/diary');
    assert.deepEqual([write?.decision, write?.qos, write?.payload], ['allow', 1, Buffer.from('dear diary').toString('base64')]);
    assert.ok(lines.some((l) => l.access === 'write' && l.topic === 'news/today' && l.decision === 'deny'));
    assert.ok(lines.some((l) => l.access === 'read' && l.topic === 'alice/private/diary' && l.decision === 'allow'));

    const same = await replay(recording, dir, 'acl');
    assert.equal(same.status, 0, same.stdout + same.stderr);
    assert.match(same.stdout, new RegExp(`^replayed ${lines.length - 2} requests from .*: 0 differ; 2 lines skipped \\(2 connects with a password`, 'm'));

    const changed = await replay(recording, dir, 'acl.changed');
    assert.equal(changed.status, 1, changed.stdout + changed.stderr);
    const diffs = changed.stdout.split('\n').filter((l) => l.includes(': recorded '));
    // The publish to alice/private/diary and its delivery back to alice: now denied.
    assert.deepEqual(diffs.map((l) => l.replace(/^.*requests\.jsonl:\d+: /, '').replace(/ client \S+/, '')), [
      'write alice/private/diary user alice: recorded allow, now deny',
      'read alice/private/diary user alice: recorded allow, now deny',
    ]);
    assert.match(changed.stdout, /: 2 differ;/);
  });

  test('a bad record: exit 2 and one line saying what is wrong; a last line cut short is skipped', async () => {
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, '{"access":"write","topic":"a","decision":"maybe"}\n{"access":"write","topic":"a","decision":"allow"}\n');
    const r = await replay(bad, dir, 'acl');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^wasm-auth replay: .*bad\.jsonl:1: not a record: "decision" is "maybe", not allow, deny or defer$/m);
    // A recording cut short while its last line was written: that line is skipped, and said so.
    const cut = join(dir, 'cut.jsonl');
    writeFileSync(cut, '{"client_id":"c","username":"alice","access":"write","topic":"alice/x","decision":"allow"}\n{"suppressed":3}\n{"client_id":"c","userna');
    const c = await replay(cut, dir, 'acl');
    assert.equal(c.status, 0, c.stdout + c.stderr);
    assert.match(c.stdout, /replayed 1 requests from .*: 0 differ; 2 lines skipped \(0 connects with a password, which is never recorded; 1 not requests; the last line, cut short\)/);
    const missing = await replay(join(dir, 'missing.jsonl'), dir, 'acl');
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /wasm-auth replay: cannot read .*missing\.jsonl: ENOENT/);
  });
});
