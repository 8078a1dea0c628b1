// The jwt example in a real broker with real MQTT clients: tokens signed here with node:crypto.
// One broker reads a JWKS holding an RSA, a P-256, an Ed25519 and an HMAC key: HS256, RS256, ES256
// and EdDSA tokens log in; a wrong signature, alg none, an expired token and a sub that is not
// the username are refused, each with the host's reason in the log; the acl claim decides
// publish, subscribe and delivery. A second broker reads an RSA public key as PEM: an HS256 token
// "signed" with that PEM text (the algorithm confusion attack) is refused. A third disconnects a
// client whose token expires while it is connected (on_tick, kick_client).
import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { type Broker } from '../harness/broker.js';
import { type Client, connect, deliveries, endAll, refusedCode, tryConnect, uniqueId, VERSIONS } from '../harness/mqtt.js';
import { example, requireFile } from '../harness/paths.js';
import { startPolicyBroker } from '../harness/policy-broker.js';

const b64u = (b: Uint8Array | string): string => (typeof b === 'string' ? Buffer.from(b, 'utf8') : Buffer.from(b)).toString('base64url');
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const ed = generateKeyPairSync('ed25519');
const secret = b64u('integration-test-secret-of-32-bytes-or-more');
const rsaPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string;
const now = (): number => Math.floor(Date.now() / 1000);

type Alg = 'HS256' | 'RS256' | 'ES256' | 'EdDSA' | 'none';

function jwt(alg: Alg, claims: Record<string, unknown>, opts: { hmacKey?: string; signer?: KeyObject } = {}): string {
  const input = `${b64u(JSON.stringify({ alg, typ: 'JWT' }))}.${b64u(JSON.stringify(claims))}`;
  let sig: Buffer;
  switch (alg) {
    case 'none': sig = Buffer.alloc(0); break;
    case 'HS256': sig = createHmac('sha256', opts.hmacKey ?? secret).update(input).digest(); break;
    case 'RS256': sig = sign('sha256', new Uint8Array(Buffer.from(input)), opts.signer ?? rsa.privateKey); break;
    case 'ES256': sig = sign('sha256', new Uint8Array(Buffer.from(input)), { key: opts.signer ?? ec.privateKey, dsaEncoding: 'ieee-p1363' }); break;
    case 'EdDSA': sig = sign(null, new Uint8Array(Buffer.from(input)), opts.signer ?? ed.privateKey); break;
  }
  return `${input}.${b64u(new Uint8Array(sig))}`;
}

const ACL = { pub: ['data/%u/#'], sub: ['cmd/%c'], all: ['shared/+'] };
const claims = (sub: string, extra: Record<string, unknown> = {}): Record<string, unknown> =>
  ({ sub, exp: now() + 3600, acl: ACL, ...extra });

describe('jwt example: JWKS with RSA, P-256, Ed25519 and HMAC keys', () => {
  let broker: Broker;
  before(async () => {
    const jwks = JSON.stringify({
      keys: [
        rsa.publicKey.export({ format: 'jwk' }),
        ec.publicKey.export({ format: 'jwk' }),
        ed.publicKey.export({ format: 'jwk' }),
        { kty: 'oct', k: b64u(secret) },
      ],
    });
    broker = await startPolicyBroker({
      name: 'jwt',
      module: requireFile(example('jwt'), 'example jwt'),
      files: { 'jwks.json': jwks },
      opts: { jwt_key_file: (ctx) => ctx.file('jwks.json') },
    });
    await broker.waitForLog(/jwt: keys loaded from jwt_key_file\n/);
  });
  after(() => broker?.stop());

  for (const v of VERSIONS) {
    test(`v${v}: HS256, RS256, ES256 and EdDSA tokens log in`, async () => {
      for (const alg of ['HS256', 'RS256', 'ES256', 'EdDSA'] as const) {
        const c = await connect({ port: broker.port, version: v, username: 'alice', password: jwt(alg, claims('alice')) });
        await c.end();
      }
    });

    test(`v${v}: bad tokens are refused with the host's reason`, async () => {
      const good = jwt('RS256', claims('alice'));
      const cases: [string, string, RegExp][] = [
        ['wrong signature', `${good.slice(0, good.lastIndexOf('.'))}.${b64u(new Uint8Array(256).fill(7))}`, /jwt_verify \(jwt_key_file\): bad signature\n/],
        ['another key', jwt('RS256', claims('alice'), { signer: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey }), /jwt_verify \(jwt_key_file\): bad signature\n/],
        ['alg none', jwt('none', claims('alice')), /jwt_verify \(jwt_key_file\): alg none is never accepted\n/],
        ['expired', jwt('ES256', claims('alice', { exp: now() - 60 })), /jwt_verify \(jwt_key_file\): expired \(now \d+, leeway 0 s\)\n/],
        ['not yet valid', jwt('EdDSA', claims('alice', { nbf: now() + 600 })), /jwt_verify \(jwt_key_file\): not yet valid/],
        ['truncated', good.slice(0, 40), /jwt_verify \(jwt_key_file\): /],
        ['sub is not the username', jwt('HS256', claims('bob')), /jwt: token sub is not the username alice\n/],
      ];
      for (const [what, password, log] of cases) {
        const since = broker.mark();
        const r = await tryConnect({ port: broker.port, version: v, username: 'alice', password });
        assert.equal(r.code, refusedCode(v), what);
        await broker.waitForLog(log, { since });
      }
    });

    test(`v${v}: the acl claim decides publish, subscribe and delivery (%u, %c)`, async () => {
      const id = uniqueId('dev');
      const alice = await connect({ port: broker.port, version: v, username: 'alice', password: jwt('RS256', claims('alice')), clientId: id });
      const watcher = await connect({ port: broker.port, version: v, username: 'bob', password: jwt('EdDSA', { sub: 'bob', exp: now() + 3600, acl: { all: ['#'] } }) });
      try {
        const denied = v === 5 ? 135 : 0;
        await watcher.subscribe('#', 1);
        const pub = await deliveries(alice, watcher, [
          { topic: 'data/alice/t', qos: 1 }, { topic: 'data/bob/t', qos: 1 }, { topic: 'shared/x', qos: 1 }, { topic: `cmd/${id}`, qos: 1 },
        ], 'shared/marker');
        assert.deepEqual(pub.arrived, [true, false, true, false]);
        assert.deepEqual(pub.codes, [0, denied, 0, denied]);
        const granted = await alice.subscribe([`cmd/${id}`, 'cmd/#', 'shared/+', 'data/alice/#'], 1);
        const refused = v === 5 ? 135 : 128;
        assert.deepEqual(granted, [1, refused, 1, refused]);
        const got = await deliveries(watcher, alice, [{ topic: `cmd/${id}`, qos: 1 }, { topic: 'cmd/other', qos: 1 }], 'shared/marker2');
        assert.deepEqual(got.arrived, [true, false]);
      } finally {
        await endAll(alice, watcher);
      }
    });
  }
});

test('jwt example: an HS256 token signed with the RSA public key is refused (algorithm confusion)', async () => {
  const broker = await startPolicyBroker({
    name: 'jwt-pem',
    module: requireFile(example('jwt'), 'example jwt'),
    files: { 'rsa.pem': rsaPem },
    opts: { jwt_key_file: (ctx) => ctx.file('rsa.pem') },
  });
  try {
    const ok = await connect({ port: broker.port, version: 5, username: 'alice', password: jwt('RS256', claims('alice')) });
    await ok.end();
    const since = broker.mark();
    const r = await tryConnect({ port: broker.port, version: 5, username: 'alice', password: jwt('HS256', claims('alice'), { hmacKey: rsaPem }) });
    assert.equal(r.code, refusedCode(5));
    await broker.waitForLog(/jwt_verify \(jwt_key_file\): no key for alg HS256\n/, { since });
  } finally {
    await broker.stop();
  }
});

test('jwt example: a client is disconnected when its token expires, one with a valid token stays', async () => {
  const broker = await startPolicyBroker({
    name: 'jwt-exp',
    module: requireFile(example('jwt'), 'example jwt'),
    files: { 'rsa.pem': rsaPem },
    opts: { jwt_key_file: (ctx) => ctx.file('rsa.pem'), wasm_tick_ms: 100 },
  });
  let short: Client | undefined;
  let long: Client | undefined;
  try {
    const id = uniqueId('short');
    short = await connect({ port: broker.port, version: 5, clientId: id, username: 'alice', password: jwt('RS256', claims('alice', { exp: now() + 2 })) });
    long = await connect({ port: broker.port, version: 5, username: 'bob', password: jwt('RS256', claims('bob')) });
    const shortClient = short;
    const closed = new Promise<void>((resolve) => shortClient.mqtt.once('close', () => resolve()));
    // Allowed while the token is valid.
    assert.equal(await short.publish('data/alice/x', 'x', { qos: 1 }), 0);
    await closed;
    await broker.waitForLog(new RegExp(`jwt: the token of alice \\(client ${id}\\) expired: disconnecting\n`));
    assert.equal(short.mqtt.connected, false);
    // The other session is untouched.
    assert.equal(await long.publish('data/bob/x', 'x', { qos: 1 }), 0);
  } finally {
    await endAll(short, long);
    await broker.stop();
  }
});
