// The default policy against mosquitto itself: the same password file (written by the real
// mosquitto_passwd, both hash kinds) and the same acl_file, one broker using mosquitto's built-in
// password_file/acl_file and one using our plugin with default.wasm. Every observable outcome
// (CONNACK codes, SUBACK codes, which messages are delivered, MQTT 5 PUBACK codes) must be the
// same. A few outcomes of the reference broker are also asserted, so the scenario is known to
// tell allowed from denied at all.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { type Broker, type BrokerSpec, type ConfigContext, listener, startBroker } from '../harness/broker.js';
import { type Client, connect, deliveries, endAll, tryConnect, type Version, VERSIONS } from '../harness/mqtt.js';
import { DEFAULT_POLICY_WASM } from '../harness/paths.js';
import { policyBrokerSpec } from '../harness/policy-broker.js';

const run = promisify(execFile);

const USERS: Array<{ name: string; pw: string; hash?: 'sha512' | 'sha512-pbkdf2' }> = [
  { name: 'admin', pw: 'admin-pw' },
  { name: 'alice', pw: 'alice-pw' },
  { name: 'bob', pw: 'bob-pw', hash: 'sha512' }, // the older $6$ form
  { name: 'café', pw: 'café-pw' },
  { name: '+', pw: 'plus-pw' },
  { name: '#', pw: 'hash-pw' }, // mosquitto reads this line as a comment: the user does not exist
];

// Lines before the first `user` apply to anonymous clients. `deny` wins over grants. Patterns
// apply to everyone, but not to usernames or client ids containing + or # (CVE-2017-7650).
const ACL = `# reference ACL for the parity test
topic read public/#
topic readwrite anon/#

user admin
topic readwrite #

user alice
topic readwrite alice/#
topic read shared/#
topic write drop/#
topic deny shared/secret/#

user bob
topic read shared/+/news
topic readwrite bob/#

user café
topic readwrite café/#

user +
topic readwrite plus/#

pattern readwrite users/%u/#
pattern read clients/%c/#
pattern write inbox/%c
`;

async function writeFiles(ctx: ConfigContext): Promise<void> {
  const file = ctx.file('passwd');
  let first = true;
  for (const u of USERS) {
    const args = [...(u.hash ? ['-H', u.hash] : []), ...(first ? ['-c'] : []), '-b', file, u.name, u.pw];
    await run('mosquitto_passwd', args);
    first = false;
  }
}

function nativeSpec(allowAnonymous: boolean): BrokerSpec {
  return {
    name: 'parity-native',
    files: { acl: ACL },
    setup: writeFiles,
    config: (ctx) =>
      [
        listener(ctx.port),
        `allow_anonymous ${allowAnonymous}`,
        `password_file ${ctx.file('passwd')}`,
        `acl_file ${ctx.file('acl')}`,
      ].join('\n'),
  };
}

function pluginSpec(allowAnonymous: boolean): BrokerSpec {
  return policyBrokerSpec({
    name: 'parity-plugin',
    module: DEFAULT_POLICY_WASM,
    allowAnonymous,
    files: { acl: ACL },
    setup: writeFiles,
    opts: { password_file: (ctx) => ctx.file('passwd'), acl_file: (ctx) => ctx.file('acl') },
  });
}

interface Principal {
  label: string;
  username?: string;
  password?: string;
  clientId: string;
  /** A topic this principal may read and write on the reference broker: the positive control. */
  marker: string;
}

const PRINCIPALS: Principal[] = [
  { label: 'admin', username: 'admin', password: 'admin-pw', clientId: 'admin-cid', marker: 'admin/marker' },
  { label: 'alice', username: 'alice', password: 'alice-pw', clientId: 'alice-cid', marker: 'alice/marker' },
  { label: 'alice with client id "+"', username: 'alice', password: 'alice-pw', clientId: '+', marker: 'alice/marker' },
  { label: 'bob', username: 'bob', password: 'bob-pw', clientId: 'bob-cid', marker: 'bob/marker' },
  { label: 'café', username: 'café', password: 'café-pw', clientId: 'café-cid', marker: 'café/marker' },
  { label: '+', username: '+', password: 'plus-pw', clientId: 'plus-cid', marker: 'plus/marker' },
  { label: 'anonymous', clientId: 'anon-cid', marker: 'anon/marker' },
];

const LOGINS: Array<{ label: string; username?: string; password?: string }> = [
  ...USERS.map((u) => ({ label: `${u.name} right password`, username: u.name, password: u.pw })),
  { label: 'alice wrong password', username: 'alice', password: 'bob-pw' },
  { label: 'alice empty password', username: 'alice', password: '' },
  { label: 'alice no password', username: 'alice' },
  { label: 'bob wrong case', username: 'bob', password: 'BOB-PW' },
  { label: 'unknown user', username: 'mallory', password: 'x' },
  { label: 'username is a prefix', username: 'alic', password: 'alice-pw' },
  { label: 'anonymous' },
];

const TOPICS = [
  'public/a', 'anon/a', 'alice/a', 'alice/b/c', 'alice', 'shared/x', 'shared/secret/x', 'shared/a/news',
  'shared/a/b/news', 'drop/a', 'bob/a', 'café/a', 'plus/a', 'users/alice/a', 'users/bob/a', 'users/café/x',
  'users/+', 'clients/alice-cid/a', 'clients/bob-cid/a', 'clients/anon-cid/a', 'inbox/alice-cid', 'inbox/bob-cid',
  'inbox/anon-cid', 'shared//x', 'alice//x', '/alice', 'nothing/a',
].filter((t) => !t.includes('+'));

const FILTERS = ['#', 'alice/#', 'shared/+/news', 'shared/secret/#', 'users/+/a', 'public/#', 'nothing/#', '$SYS/#', 'clients/alice-cid/#'];

type Outcomes = {
  connect: Record<string, number>;
  subscribe: Record<string, number[]>;
  read: Record<string, Record<string, boolean | 'no-marker'>>;
  write: Record<string, Record<string, boolean | 'no-marker'>>;
  puback: Record<string, Record<string, number>>;
};

async function principalConnect(port: number, v: Version, p: Principal, suffix = ''): Promise<Client> {
  return connect({ port, version: v, username: p.username, password: p.password, clientId: p.clientId + suffix });
}

/** Like deliveries(), but a marker that never arrives is an outcome to compare, not a crash. */
async function delivered(pub: Client, sub: Client, topics: string[], marker: string): Promise<Record<string, boolean | 'no-marker'>> {
  const out: Record<string, boolean | 'no-marker'> = {};
  try {
    const { arrived } = await deliveries(pub, sub, topics.map((topic) => ({ topic })), marker);
    topics.forEach((t, i) => (out[t] = arrived[i]));
  } catch {
    for (const t of topics) out[t] = 'no-marker';
  }
  return out;
}

async function observe(port: number, v: Version): Promise<Outcomes> {
  const o: Outcomes = { connect: {}, subscribe: {}, read: {}, write: {}, puback: {} };
  for (const l of LOGINS) {
    const r = await tryConnect({ port, version: v, username: l.username, password: l.password });
    o.connect[l.label] = r.code;
    if (r.ok) await r.client.end();
  }
  const admin = PRINCIPALS[0];
  for (const p of PRINCIPALS) {
    const r = await tryConnect({ port, version: v, username: p.username, password: p.password, clientId: p.clientId });
    if (!r.ok) continue;
    const me = r.client;
    let watcher: Client | undefined;
    try {
      o.subscribe[p.label] = [];
      for (const f of FILTERS) o.subscribe[p.label].push(...(await me.subscribe(f, 0)));
      // READ: the admin writes every topic, then this principal's marker.
      const writer = await principalConnect(port, v, admin, '-writer');
      try {
        o.read[p.label] = await delivered(writer, me, TOPICS, p.marker);
      } finally {
        await writer.end();
      }
      // WRITE: this principal writes every topic; the admin (reads everything) watches.
      watcher = await principalConnect(port, v, admin, '-watcher');
      await watcher.subscribe('#', 0);
      o.write[p.label] = await delivered(me, watcher, TOPICS, p.marker);
      if (v === 5) {
        o.puback[p.label] = {};
        for (const t of TOPICS) o.puback[p.label][t] = await me.publish(t, 'q', { qos: 1 });
      }
    } finally {
      await endAll(me, watcher);
    }
  }
  return o;
}

for (const allowAnonymous of [false, true]) {
  describe(`default policy vs mosquitto password_file + acl_file (allow_anonymous ${allowAnonymous})`, () => {
    let native: Broker;
    let plugin: Broker;
    before(async () => {
      const specs = [nativeSpec(allowAnonymous), pluginSpec(allowAnonymous)];
      const started = await Promise.allSettled(specs.map((s) => startBroker(s)));
      if (started[0].status === 'fulfilled') native = started[0].value;
      if (started[1].status === 'fulfilled') plugin = started[1].value;
      for (const r of started) if (r.status === 'rejected') throw r.reason;
    });
    after(async () => {
      await Promise.all([native?.stop(), plugin?.stop()]);
    });

    for (const v of VERSIONS) {
      test(`MQTT v${v}: same outcomes`, async () => {
        const [ref, ours] = await Promise.all([observe(native.port, v), observe(plugin.port, v)]);
        // The reference scenario distinguishes: some logins in, some out; some reads/writes not.
        assert.equal(ref.connect['alice right password'], 0);
        assert.equal(ref.connect['bob right password'], 0, '$6$ hashes work');
        assert.notEqual(ref.connect['alice wrong password'], 0);
        assert.notEqual(ref.connect['# right password'], 0, '"#" line is a comment');
        assert.equal(ref.read.alice['shared/x'], true);
        assert.equal(ref.read.alice['shared/secret/x'], false);
        assert.equal(ref.write.alice['drop/a'], true);
        assert.equal(ref.read.alice['drop/a'], false);
        assert.equal(ref.read.bob['shared/a/news'], true);
        assert.equal(ref.read['alice with client id "+"']['clients/bob-cid/a'], false, 'no %c expansion for "+"');
        assert.equal(ref.read.alice['clients/alice-cid/a'], true);
        for (const key of ['connect', 'subscribe', 'read', 'write', 'puback'] as const) {
          assert.deepEqual(ours[key], ref[key], `${key}: plugin+default.wasm (actual) vs mosquitto (expected)`);
        }
      });
    }
  });
}
