// The scram example in a real broker: MQTT.js v5 clients run SCRAM-SHA-256 (RFC 5802/7677)
// through CONNECT and AUTH packets (ext_auth_start, ext_auth_continue); the client checks the
// server's signature in the CONNACK. Wrong passwords, unknown users and garbage AUTH data are
// refused, garbage with one log line; clients without an authentication method still meet
// unpwd_check and allow_anonymous.
import assert from 'node:assert/strict';
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import mqtt, { type IClientOptions, type Packet } from 'mqtt';
import { type Broker } from '../harness/broker.js';
import { endAll, REFUSED_V5, tryConnect, uniqueId } from '../harness/mqtt.js';
import { example, requireFile } from '../harness/paths.js';
import { startPolicyBroker } from '../harness/policy-broker.js';

const METHOD = 'SCRAM-SHA-256';

// node:crypto's typings take plain Uint8Arrays, not every Buffer.
const u8 = (b: Buffer): Uint8Array => new Uint8Array(b);
const hmac = (key: Uint8Array, text: string): Uint8Array => u8(createHmac('sha256', key).update(text).digest());
const sha = (b: Uint8Array): Uint8Array => u8(createHash('sha256').update(b).digest());
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

function userLine(user: string, password: string, salt: Uint8Array, iterations: number): string {
  const salted = u8(pbkdf2Sync(password, salt, iterations, 32, 'sha256'));
  const storedKey = sha(hmac(salted, 'Client Key'));
  return `${user}:${b64(salt)}:${iterations}:${b64(storedKey)}:${b64(hmac(salted, 'Server Key'))}`;
}

/** The client-final message for a server-first, and the server signature it predicts. */
function clientFinal(password: string, bare: string, clientNonce: string, serverFirst: string):
  { final: string; serverSignature: Uint8Array } | Error {
  const m = /^r=([^,]+),s=([^,]+),i=(\d+)$/.exec(serverFirst);
  if (!m || !m[1].startsWith(clientNonce)) return new Error(`unexpected server-first ${serverFirst}`);
  const salted = u8(pbkdf2Sync(password, u8(Buffer.from(m[2], 'base64')), Number(m[3]), 32, 'sha256'));
  const clientKey = hmac(salted, 'Client Key');
  const withoutProof = `c=${Buffer.from('n,,').toString('base64')},r=${m[1]}`;
  const authMessage = `${bare},${serverFirst},${withoutProof}`;
  const signature = hmac(sha(clientKey), authMessage);
  const proof = new Uint8Array(32);
  for (let i = 0; i < 32; i++) proof[i] = clientKey[i] ^ signature[i];
  return { final: `${withoutProof},p=${b64(proof)}`, serverSignature: hmac(hmac(salted, 'Server Key'), authMessage) };
}

/** The server-final's signature ("v=...") equals the expected one. */
function verified(serverFinal: Buffer | undefined, expected: Uint8Array | null): boolean {
  const v = serverFinal?.toString() ?? '';
  const got = u8(v.startsWith('v=') ? Buffer.from(v.slice(2), 'base64') : Buffer.alloc(0));
  return expected !== null && got.length === 32 && timingSafeEqual(got, expected);
}

interface Outcome {
  /** CONNACK reason code, or -1 when the connection closed without one. */
  code: number;
  /** The server's signature (server-final) matched what the password predicts. */
  serverVerified: boolean;
  client: mqtt.MqttClient;
}

/**
 * Connects with SCRAM-SHA-256. `final` may replace the client-final message (garbage tests);
 * `first` the client-first.
 */
function scramConnect(port: number, user: string, password: string,
  tamper: { first?: string; final?: (proper: string) => string; username?: string; password?: string } = {}): Promise<Outcome> {
  const clientNonce = randomBytes(18).toString('base64');
  const bare = `n=${user.replace(/=/g, '=3D').replace(/,/g, '=2C')},r=${clientNonce}`;
  const first = tamper.first ?? `n,,${bare}`;
  let expectedServerSignature: Uint8Array | null = null;
  const opts: IClientOptions = {
    protocolVersion: 5, clientId: uniqueId('scram'), clean: true, reconnectPeriod: 0, connectTimeout: 5000,
    host: '127.0.0.1', port, protocol: 'mqtt',
    properties: { authenticationMethod: METHOD, authenticationData: Buffer.from(first) },
  };
  if (tamper.username !== undefined) opts.username = tamper.username;
  if (tamper.password !== undefined) opts.password = tamper.password;
  return new Promise((resolve) => {
    const c = mqtt.connect(opts);
    let settled = false;
    const settle = (code: number, serverVerified: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (code !== 0) c.end(true);
      resolve({ code, serverVerified, client: c });
    };
    const timer = setTimeout(() => settle(-1, false), 8000);
    c.handleAuth = (packet, cb) => {
      const step = clientFinal(password, bare, clientNonce, packet.properties?.authenticationData?.toString() ?? '');
      if (step instanceof Error) {
        cb(step);
        return;
      }
      expectedServerSignature = step.serverSignature;
      const final = tamper.final ? tamper.final(step.final) : step.final;
      cb(undefined, { cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: METHOD, authenticationData: Buffer.from(final) } });
    };
    c.on('packetreceive', (p: Packet) => {
      if (p.cmd !== 'connack') return;
      settle(p.reasonCode ?? 0, verified(p.properties?.authenticationData, expectedServerSignature));
    });
    c.on('error', () => undefined);
    c.on('close', () => settle(-1, false));
  });
}

interface Reauth {
  /** The broker's AUTH success (0), or -1 when it disconnected the client instead. */
  code: number;
  serverVerified: boolean;
  /** The DISCONNECT's reason code when the broker sent one. */
  disconnectReason?: number;
}

/**
 * MQTT 5 re-authentication on a connected client: AUTH (0x19, re-authenticate) with a fresh
 * client-first, the server-first in AUTH (0x18), the client-final, then AUTH success with the
 * server-final, or a DISCONNECT. MQTT.js answers the broker's AUTH packets through handleAuth but
 * has no call that starts a re-authentication, so the first AUTH goes out through _sendPacket.
 */
function reauthenticate(c: mqtt.MqttClient, user: string, password: string): Promise<Reauth> {
  const clientNonce = randomBytes(18).toString('base64');
  const bare = `n=${user},r=${clientNonce}`;
  let expected: Uint8Array | null = null;
  return new Promise((resolve) => {
    let settled = false;
    const settle = (r: Reauth): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const timer = setTimeout(() => settle({ code: -2, serverVerified: false }), 8000);
    c.handleAuth = (packet, cb) => {
      if (packet.reasonCode === 0) {
        settle({ code: 0, serverVerified: verified(packet.properties?.authenticationData, expected) });
        cb(undefined);
        return;
      }
      const step = clientFinal(password, bare, clientNonce, packet.properties?.authenticationData?.toString() ?? '');
      if (step instanceof Error) {
        cb(step);
        return;
      }
      expected = step.serverSignature;
      cb(undefined, { cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: METHOD, authenticationData: Buffer.from(step.final) } });
    };
    c.on('packetreceive', (p: Packet) => {
      if (p.cmd === 'disconnect') settle({ code: -1, serverVerified: false, disconnectReason: p.reasonCode ?? 0 });
    });
    c.on('close', () => settle({ code: -1, serverVerified: false }));
    (c as unknown as { _sendPacket(p: Packet): void })._sendPacket({
      cmd: 'auth', reasonCode: 0x19, properties: { authenticationMethod: METHOD, authenticationData: Buffer.from(`n,,${bare}`) },
    });
  });
}

/** A publish round trip on a fresh topic: the client is still connected and served (5 s at most). */
async function roundTrip(c: mqtt.MqttClient): Promise<void> {
  const topic = `reauth/${uniqueId('t')}`;
  const trip = (async () => {
    await c.subscribeAsync(topic);
    const got = new Promise<string>((resolve) => c.once('message', (_t, payload) => resolve(payload.toString())));
    await c.publishAsync(topic, 'still here');
    return got;
  })();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no round trip within 5 s (connected: ${c.connected})`)), 5000);
  });
  try {
    assert.equal(await Promise.race([trip, late]), 'still here');
  } finally {
    clearTimeout(timer);
  }
}

describe('scram (MQTT 5 enhanced authentication)', () => {
  let broker: Broker;
  before(async () => {
    const mod = requireFile(example('scram'), 'example scram');
    broker = await startPolicyBroker({
      name: 'scram',
      module: mod,
      allowAnonymous: true,
      files: {
        'users.txt': [
          userLine('alice', 'wonderland', u8(randomBytes(16)), 4096),
          userLine('bob,the=builder', 'can-we-fix-it', u8(randomBytes(16)), 8192),
        ].join('\n') + '\n',
      },
      opts: { scram_users_file: (ctx) => ctx.file('users.txt') },
    });
  });
  after(() => broker?.stop());

  test('the right password connects, and the server proves it knows the key (server-final)', async () => {
    await broker.waitForLog(/scram: 2 users\n/);
    const a = await scramConnect(broker.port, 'alice', 'wonderland');
    const b = await scramConnect(broker.port, 'bob,the=builder', 'can-we-fix-it');
    try {
      assert.equal(a.code, 0);
      assert.equal(a.serverVerified, true);
      assert.equal(b.code, 0, 'a username with "," and "=" (saslname escapes)');
      assert.equal(b.serverVerified, true);
    } finally {
      a.client.end(true);
      b.client.end(true);
    }
  });

  test('a CONNECT with a method never meets unpwd_check (which refuses every password)', async () => {
    const r = await scramConnect(broker.port, 'alice', 'wonderland', { username: 'alice', password: 'anything' });
    r.client.end(true);
    assert.equal(r.code, 0);
  });

  test('a wrong password and an unknown user are refused alike', async () => {
    const since = broker.mark();
    const wrong = await scramConnect(broker.port, 'alice', 'not-the-password');
    assert.equal(wrong.code, REFUSED_V5);
    const unknown = await scramConnect(broker.port, 'mallory', 'x');
    assert.equal(unknown.code, REFUSED_V5, 'an unknown user gets a server-first too, then fails at the proof');
    await broker.waitForLog(/scram: client scram-[0-9a-f]+ refused: wrong proof/, { since });
  });

  test('garbage AUTH data is refused with one log line per second at most', async () => {
    // Past the policy's log interval since the last refusal, so that the first one here is logged.
    await new Promise((r) => setTimeout(r, 1100));
    const since = broker.mark();
    const garbage = await scramConnect(broker.port, 'alice', 'wonderland', { final: () => '\u0000\u00ff not scram at all' });
    assert.equal(garbage.code, REFUSED_V5);
    const badFirst = await scramConnect(broker.port, 'alice', 'wonderland', { first: 'p=tls-unique,,n=alice,r=x' });
    assert.equal(badFirst.code, REFUSED_V5);
    const tampered = await scramConnect(broker.port, 'alice', 'wonderland', { final: (p) => p.replace(/r=[^,]+/, 'r=other') });
    assert.equal(tampered.code, REFUSED_V5);
    const lines = broker.lines(since).filter((l) => /scram: client .* refused/.test(l));
    assert.ok(lines.length >= 1 && lines.length <= 3, `refusal lines: ${lines.join(' | ')}`);
    assert.match(lines[0], /malformed client-final message/);
    // Still serving: the policy was not broken by it.
    const ok = await scramConnect(broker.port, 'alice', 'wonderland');
    assert.equal(ok.code, 0);
    ok.client.end(true);
  });

  test('clients without an authentication method: passwords refused, anonymous by allow_anonymous', async () => {
    const pw = await tryConnect({ port: broker.port, version: 5, username: 'alice', password: 'wonderland' });
    assert.equal(pw.code, REFUSED_V5);
    const anon = await tryConnect({ port: broker.port, version: 5 });
    assert.equal(anon.code, 0);
    if (anon.ok) await endAll(anon.client);
    const anon4 = await tryConnect({ port: broker.port, version: 4 });
    assert.equal(anon4.code, 0);
    if (anon4.ok) await endAll(anon4.client);
  });

  test('re-authentication (AUTH 0x19) on a live connection: the right password keeps it, proven both ways', async () => {
    const a = await scramConnect(broker.port, 'alice', 'wonderland');
    try {
      assert.equal(a.code, 0);
      const r = await reauthenticate(a.client, 'alice', 'wonderland');
      assert.equal(r.code, 0, `re-authentication answered ${JSON.stringify(r)}`);
      assert.equal(r.serverVerified, true, 'the server-final of the re-authentication proves the key');
      await roundTrip(a.client);
      const again = await reauthenticate(a.client, 'alice', 'wonderland');
      assert.equal(again.code, 0, 'and again');
      await roundTrip(a.client);
    } finally {
      a.client.end(true);
    }
  });

  test('re-authentication with a wrong password disconnects the client; others stay', async () => {
    const a = await scramConnect(broker.port, 'alice', 'wonderland');
    const b = await scramConnect(broker.port, 'bob,the=builder', 'can-we-fix-it');
    try {
      assert.equal(a.code, 0);
      assert.equal(b.code, 0);
      const r = await reauthenticate(a.client, 'alice', 'not-the-password');
      assert.equal(r.code, -1, `a failed re-authentication must end the connection: ${JSON.stringify(r)}`);
      assert.ok(r.disconnectReason === undefined || r.disconnectReason >= 0x80, `DISCONNECT reason ${r.disconnectReason}`);
      await roundTrip(b.client);
    } finally {
      a.client.end(true);
      b.client.end(true);
    }
  });

  test('a reload keeps the sessions SCRAM let in (mosquitto asks basic authentication again of every client)', async () => {
    const named = await scramConnect(broker.port, 'alice', 'wonderland', { username: 'alice' });
    const bare = await scramConnect(broker.port, 'bob,the=builder', 'can-we-fix-it');
    try {
      assert.equal(named.code, 0);
      assert.equal(bare.code, 0);
      const since = await broker.sighup();
      await broker.waitForLog(/reloaded policy/, { since });
      await roundTrip(named.client);
      await roundTrip(bare.client);
      // A password login is still refused after the reload.
      const pw = await tryConnect({ port: broker.port, version: 5, username: 'alice', password: 'wonderland' });
      assert.equal(pw.code, REFUSED_V5);
    } finally {
      named.client.end(true);
      bare.client.end(true);
    }
  });

  test('another authentication method is deferred: mosquitto refuses it', async () => {
    const c = mqtt.connect({
      protocolVersion: 5, clientId: uniqueId('other'), reconnectPeriod: 0, connectTimeout: 5000, host: '127.0.0.1', port: broker.port,
      properties: { authenticationMethod: 'PLAIN-NOT-SUPPORTED', authenticationData: Buffer.from('x') },
    });
    const code = await new Promise<number>((resolve) => {
      const t = setTimeout(() => resolve(-2), 6000);
      c.on('packetreceive', (p: Packet) => {
        if (p.cmd === 'connack') {
          clearTimeout(t);
          resolve(p.reasonCode ?? 0);
        }
      });
      c.on('error', () => undefined);
      c.on('close', () => {
        clearTimeout(t);
        resolve(-1);
      });
    });
    c.end(true);
    assert.notEqual(code, 0);
    assert.notEqual(code, -2, 'no answer within 6 s');
  });
});
