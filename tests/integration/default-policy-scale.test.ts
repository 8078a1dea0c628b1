// The default policy at scale in a real broker, at the plugin's DEFAULT caps (no wasm_* option:
// 16 MiB of guest memory, the default init fuel and timeouts): 100,000 users with mosquitto_passwd
// `$7$` hashes and 200,000 topic rules (assembly/README.md, "Loading large files"). The files are
// generated here (about 21 MB, well under a second); a handful of users, spread over the file, have
// real hashes, the rest random salt and hash bytes of the same shape. Logins and access are then
// checked for users at the start, middle and end of both files, before and after a SIGHUP reload
// of the same data. Nothing is timed: the start gets a generous timeout for slow machines.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { pbkdf2Sync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { PW_HASH_BYTES, PW_ITERATIONS, PW_SALT_BYTES, SeededBytes, passwdEntry, pwFields, scaleUser } from '../../bench/users.js';
import { type Broker, startBroker } from '../harness/broker.js';
import { type Client, type Version, VERSIONS, connect, deliveries, endAll, refusedCode, tryConnect } from '../harness/mqtt.js';
import { DEFAULT_POLICY_WASM, brokerAtLeast, mosquittoVersion } from '../harness/paths.js';
import { policyBrokerSpec } from '../harness/policy-broker.js';

const run = promisify(execFile);

const USERS = 100000;
/** Users with real hashes: first, second, middle, last but one, last. */
const REAL = [0, 1, USERS / 2, USERS - 2, USERS - 1];
const password = (i: number): string => `pw-${scaleUser(i)}`;
/** A `$7$` line as 2.0's mosquitto_passwd writes it (101 iterations, 12-byte salt), anchored. */
const PW_LINE = /^(user\d{6}):\$7\$101\$([A-Za-z0-9+/]{16})\$([A-Za-z0-9+/]{86}==)$/;
/**
 * 2.1's mosquitto_passwd writes `$7$` lines with 1000 iterations (PW_DEFAULT_ITERATIONS in 2.1.2's
 * libcommon/password_common.c) and a 64-byte salt (2.1 ChangeLog: "Password salts are now 64 bytes
 * long"); 2.1 still reads 2.0's lines.
 */
const PW_LINE_21 = /^(user\d{6}):\$7\$(1000)\$([A-Za-z0-9+/]{86}==)\$([A-Za-z0-9+/]{86}==)$/;
const LOADED = `default policy: ${USERS} users, ${2 * USERS} topic rules for ${USERS} users and anonymous, 1 patterns`;

/**
 * passwd: `user000000:$7$101$SALT$HASH` per user (bench/users.ts's format and names), from a fixed
 * seed. acl: per user `user NAME`, `topic readwrite users/NAME/#`, `topic read shared/NAME/status`,
 * after one pattern: whoever connects with client id NAME may write shared/NAME/status (nobody
 * else may), so that NAME's read rule can be seen at work, with a writer that is not NAME.
 */
function generate(dir: string): { passwd: string; acl: string } {
  const rng = new SeededBytes(7);
  const pw: string[] = [];
  const acl: string[] = ['pattern write shared/%c/status', ''];
  for (let i = 0; i < USERS; i++) {
    const u = scaleUser(i);
    const salt = rng.bytes(PW_SALT_BYTES);
    const f = REAL.includes(i) ? pwFields(password(i), salt)
      : { salt: salt.toString('base64'), hash: rng.bytes(PW_HASH_BYTES).toString('base64') };
    pw.push(passwdEntry(u, f));
    acl.push(`user ${u}`, `topic readwrite users/${u}/#`, `topic read shared/${u}/status`, '');
  }
  const files = { passwd: join(dir, 'passwd'), acl: join(dir, 'acl') };
  writeFileSync(files.passwd, pw.join('\n') + '\n');
  writeFileSync(files.acl, acl.join('\n'));
  return files;
}

/**
 * What user `me` may do, seen by real clients (MQTT 5, so denied publishes show as PUBACK 135):
 * its own users/ME/# round trip, none of another user's users/OTHER/x, shared/ME/status readable
 * (written by `other` under client id ME, the pattern's writer) but not writable by ME.
 */
async function checkAccess(port: number, me: number, other: number): Promise<void> {
  const [u, o] = [scaleUser(me), scaleUser(other)];
  const v: Version = 5;
  let mine: Client | undefined;
  let writer: Client | undefined;
  try {
    mine = await connect({ port, version: v, username: u, password: password(me), clientId: `own-${u}` });
    // mosquitto 2.0.11's acl_file grants every SUBSCRIBE (so does the policy): READ at delivery decides.
    assert.deepEqual(await mine.subscribe(['users/+/x', `users/${u}/#`, `shared/${u}/status`, `shared/${o}/status`], 1), [1, 1, 1, 1]);
    const own = await deliveries(mine, mine, [
      { topic: `users/${u}/x`, qos: 1 },
      { topic: `users/${u}/deeper/y`, qos: 1 },
      { topic: `shared/${u}/status`, qos: 1 },
      { topic: `users/${o}/x`, qos: 1 },
    ], `users/${u}/marker`);
    assert.deepEqual(own.codes, [0, 0, 135, 135], `${u}: writes its own users/${u}/#, not shared/${u}/status nor users/${o}/x`);
    assert.deepEqual(own.arrived, [true, true, false, false], `${u}: its own messages come back; the denied ones were not delivered`);

    // `other` as client id ME: writes users/OTHER/x (its own) and, by the pattern, shared/ME/status.
    writer = await connect({ port, version: v, username: o, password: password(other), clientId: u });
    const theirs = await deliveries(writer, mine, [
      { topic: `users/${o}/x`, qos: 1 },
      { topic: `users/${u}/x`, qos: 1 },
      { topic: `shared/${o}/status`, qos: 1 },
    ], `shared/${u}/status`);
    assert.deepEqual(theirs.codes, [0, 135, 135], `${o} (client id ${u}): writes users/${o}/x and shared/${u}/status only`);
    // The marker's arrival is the read of shared/ME/status; users/OTHER/x was published but not delivered.
    assert.deepEqual(theirs.arrived, [false, false, false], `${u} reads shared/${u}/status, not users/${o}/x`);
  } finally {
    await endAll(mine, writer);
  }
}

async function checkLogins(port: number, v: Version, users: number[]): Promise<void> {
  for (const i of users) {
    const u = scaleUser(i);
    const ok = await tryConnect({ port, version: v, username: u, password: password(i) });
    assert.equal(ok.code, 0, `${u} with its password`);
    if (ok.ok) await ok.client.end();
    assert.equal((await tryConnect({ port, version: v, username: u, password: password(i === 0 ? 1 : 0) })).code, refusedCode(v), `${u} with another's password`);
    assert.equal((await tryConnect({ port, version: v, username: u, password: '' })).code, refusedCode(v), `${u} with an empty password`);
  }
  // A user whose hash is random bytes, and a user who is not in the file.
  assert.equal((await tryConnect({ port, version: v, username: scaleUser(2), password: password(2) })).code, refusedCode(v));
  assert.equal((await tryConnect({ port, version: v, username: scaleUser(USERS), password: password(USERS) })).code, refusedCode(v));
}

describe(`default policy at default caps: ${USERS} users ($7$), ${2 * USERS} topic rules`, () => {
  let dir: string;
  let files: { passwd: string; acl: string };
  let broker: Broker;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wa-scale-data-'));
    files = generate(dir);
    broker = await startBroker({
      ...policyBrokerSpec({
        name: 'default-policy-scale',
        module: DEFAULT_POLICY_WASM,
        // Only the files: every cap (memory, fuel, timeouts) is the plugin's default.
        opts: { password_file: files.passwd, acl_file: files.acl },
      }),
      startTimeoutMs: 60000,
    });
  });
  after(async () => {
    await broker?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the generated lines have the shape mosquitto_passwd writes, and its hash', async () => {
    const ref = join(dir, 'mosquitto_passwd');
    await run('mosquitto_passwd', ['-c', '-b', ref, scaleUser(0), password(0)]);
    const refLine = readFileSync(ref, 'utf8').trimEnd();
    assert.equal(PW_ITERATIONS, 101);
    if (brokerAtLeast(2, 1)) {
      // 2.1's tool writes another shape; the generated lines keep 2.0's, which 2.1 still accepts
      // and the default policy reads (the logins below). Its hash is the same recipe,
      // PBKDF2-SHA512 of the password with that salt and iteration count.
      const m = PW_LINE_21.exec(refLine);
      assert.ok(m, `mosquitto ${mosquittoVersion().text}'s mosquitto_passwd line: ${refLine}`);
      assert.equal(m[1], scaleUser(0));
      assert.equal(Buffer.from(m[3], 'base64').length, 64);
      assert.equal(pbkdf2Sync(password(0), Uint8Array.from(Buffer.from(m[3], 'base64')), Number(m[2]), PW_HASH_BYTES, 'sha512').toString('base64'), m[4]);
    } else {
      const m = PW_LINE.exec(refLine);
      assert.ok(m, `mosquitto_passwd's line: ${refLine}`);
      // The same password and salt give mosquitto_passwd's hash.
      assert.equal(passwdEntry(m[1], pwFields(password(0), Buffer.from(m[2], 'base64'))), m[0]);
    }
    const lines = readFileSync(files.passwd, 'utf8').trimEnd().split('\n');
    assert.equal(lines.length, USERS);
    lines.forEach((l, i) => {
      if (!PW_LINE.test(l) || !l.startsWith(`${scaleUser(i)}:`)) assert.fail(`passwd line ${i + 1}: ${l}`);
    });
  });

  test('loads within the default caps: no wasm_* option but the module, and the policy says what it read', async () => {
    assert.deepEqual(broker.conf.split('\n').filter((l) => l.startsWith('plugin_opt_wasm_')), [`plugin_opt_wasm_module ${DEFAULT_POLICY_WASM}`]);
    assert.ok(broker.lines().includes(`wasm-auth: ${LOADED}`), broker.describe());
    assert.doesNotMatch(broker.log(), /fuel exhausted|out of memory|trapped/);
  });

  for (const v of VERSIONS) {
    test(`v${v}: real users at the start, middle and end of the file log in with their password only`, async () => {
      await checkLogins(broker.port, v, REAL);
    });
  }

  test('the first user: its own topics, not another user\'s; reads but cannot write shared/NAME/status', async () => {
    await checkAccess(broker.port, 0, USERS / 2);
  });

  test('the last user in both files', async () => {
    await checkAccess(broker.port, USERS - 1, 1);
  });

  test('SIGHUP reloads the same data and keeps serving, existing connections and new ones', async () => {
    const u = scaleUser(USERS - 2);
    const early = await connect({ port: broker.port, version: 5, username: u, password: password(USERS - 2) });
    try {
      await early.subscribe(`users/${u}/#`, 1);
      const since = await broker.sighup();
      const lines = broker.lines(since);
      assert.ok(lines.some((l) => /wasm-auth: reloaded policy /.test(l)), broker.describe());
      assert.ok(!lines.some((l) => /reload of .* failed/.test(l)), broker.describe());
      assert.ok(lines.includes(`wasm-auth: ${LOADED}`), `the reload read the files again\n${broker.describe()}`);
      assert.ok(broker.running);
      const after = await deliveries(early, early, [{ topic: `users/${u}/x`, qos: 1 }, { topic: `users/${scaleUser(0)}/x`, qos: 1 }], `users/${u}/marker`);
      assert.deepEqual(after.codes, [0, 135]);
      assert.deepEqual(after.arrived, [true, false]);
    } finally {
      await endAll(early);
    }
    await checkLogins(broker.port, 4, REAL);
    await checkAccess(broker.port, USERS / 2, USERS - 1);
    await checkAccess(broker.port, USERS - 1, 0);
  });
});
