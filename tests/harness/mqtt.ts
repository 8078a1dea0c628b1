// MQTT.js 5 helpers for the integration tests. Outcomes are read from the packets themselves
// (CONNACK return/reason code, SUBACK granted list, PUBACK reason code), not from MQTT.js's error
// strings. "Not received" is only ever asserted behind a positive control: a later message on an
// allowed topic from the same publisher must arrive first (MQTT keeps per-connection order).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { ConnectionOptions as TlsOptions, PSKCallbackNegotation } from 'node:tls';
import mqtt from 'mqtt';
import type { IClientOptions, IPublishPacket, MqttClient, Packet } from 'mqtt';

export type Version = 4 | 5;
export const VERSIONS: Version[] = [4, 5];

export const REFUSED_V311 = 5; // CONNACK "not authorized"
export const REFUSED_V5 = 135; // 0x87 Not authorized
export const SUBACK_FAILURE_V311 = 128;
export const NOT_AUTHORIZED_V5 = 135;
const NO_MATCHING_SUBSCRIBERS = 16;

/** The refusal code a broker sends for "not authorized" in that protocol version. */
export function refusedCode(v: Version): number {
  return v === 5 ? REFUSED_V5 : REFUSED_V311;
}

/** The SUBACK code for a denied subscription in that protocol version. */
export function subDeniedCode(v: Version): number {
  return v === 5 ? NOT_AUTHORIZED_V5 : SUBACK_FAILURE_V311;
}

export interface PskOptions {
  identity: string;
  /** The key as hex, as mosquitto and our policies hold it. */
  keyHex: string;
  ciphers?: string;
}

export interface ConnectOptions {
  port: number;
  version?: Version;
  username?: string;
  password?: string | Buffer;
  clientId?: string;
  psk?: PskOptions;
  /** false: a session that outlives the connection (MQTT 3.1.1 clean session off). Default true. */
  clean?: boolean;
  /** Bounded wait for CONNACK / close. */
  timeoutMs?: number;
}

export interface Message {
  topic: string;
  payload: Buffer;
  qos: number;
  retain: boolean;
}

export type ConnectResult =
  | { ok: true; client: Client; code: 0 }
  /** code: the CONNACK code, or -1 if the connection closed (or TLS failed) without a CONNACK. */
  | { ok: false; code: number; error?: string };

export function uniqueId(prefix = 'wa'): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

/** A connected client that records every message it receives. */
export class Client {
  readonly mqtt: MqttClient;
  readonly version: Version;
  readonly received: Message[] = [];
  private listeners: Array<() => void> = [];

  constructor(c: MqttClient, version: Version) {
    this.mqtt = c;
    this.version = version;
    c.on('message', (topic: string, payload: Buffer, packet: IPublishPacket) => {
      this.received.push({ topic, payload, qos: packet.qos, retain: packet.retain });
      for (const l of [...this.listeners]) l();
    });
  }

  /** Subscribes; resolves with the SUBACK codes as the broker sent them (0-2 granted QoS, >=128 failure). */
  subscribe(filter: string | string[], qos: 0 | 1 | 2 = 0): Promise<number[]> {
    return new Promise((resolve, reject) => {
      const onPacket = (p: Packet) => {
        if (p.cmd === 'suback') {
          this.mqtt.removeListener('packetreceive', onPacket);
          resolve([...(p.granted as number[])]);
        }
      };
      this.mqtt.on('packetreceive', onPacket);
      this.mqtt.subscribe(filter, { qos }, (err) => {
        // A denied subscription makes MQTT.js report an error; the SUBACK codes are the result.
        if (err && !('code' in err)) {
          this.mqtt.removeListener('packetreceive', onPacket);
          reject(err);
        }
      });
    });
  }

  /**
   * Publishes. QoS 0: resolves 0 once written. QoS 1/2: resolves with the PUBACK/PUBREC reason
   * code: always 0 in MQTT 3.1.1; in MQTT 5, 135 when the publish was not authorized. MQTT 5's
   * 16 ("no matching subscribers") is reported as 0: it too means the publish was authorized,
   * and whether anyone was subscribed is not what the tests ask.
   */
  publish(topic: string, payload: string | Buffer, opts: { qos?: 0 | 1 | 2; retain?: boolean } = {}): Promise<number> {
    return new Promise((resolve, reject) => {
      this.mqtt.publish(topic, payload, { qos: opts.qos ?? 0, retain: opts.retain ?? false }, (err, packet) => {
        if (err) {
          const code = (err as { code?: unknown }).code;
          if (typeof code === 'number') resolve(code);
          else reject(err);
          return;
        }
        const rc = (packet as { reasonCode?: number } | undefined)?.reasonCode;
        resolve(typeof rc === 'number' && rc !== NO_MATCHING_SUBSCRIBERS ? rc : 0);
      });
    });
  }

  /** Waits (bounded) for a received message matching `pred`, including ones already received. */
  waitForMessage(pred: (m: Message) => boolean, timeoutMs = 5000): Promise<Message> {
    const found = this.received.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const check = () => {
        const m = this.received.find(pred);
        if (m) {
          clearTimeout(timer);
          this.listeners.splice(this.listeners.indexOf(check), 1);
          resolve(m);
        }
      };
      const timer = setTimeout(() => {
        this.listeners.splice(this.listeners.indexOf(check), 1);
        reject(new Error(`no matching message within ${timeoutMs} ms; received: ${JSON.stringify(this.received.map((m) => m.topic))}`));
      }, timeoutMs);
      this.listeners.push(check);
    });
  }

  end(): Promise<void> {
    return new Promise((resolve) => {
      this.mqtt.end(true, {}, () => resolve());
    });
  }
}

function clientOptions(o: ConnectOptions): IClientOptions {
  const opts: IClientOptions = {
    protocolVersion: o.version ?? 4,
    clientId: o.clientId ?? uniqueId('c'),
    clean: o.clean ?? true,
    reconnectPeriod: 0,
    connectTimeout: o.timeoutMs ?? 5000,
    keepalive: 30,
  };
  if (o.username !== undefined) opts.username = o.username;
  if (o.password !== undefined) opts.password = o.password as Buffer;
  if (o.psk) {
    const psk = o.psk;
    const tlsOpts: TlsOptions = {
      // Node only offers PSK in TLS 1.2 cipher suites; mosquitto's PSK listener speaks them.
      maxVersion: 'TLSv1.2',
      ciphers: psk.ciphers ?? 'PSK-AES128-GCM-SHA256:PSK-AES128-CBC-SHA256',
      pskCallback: (): PSKCallbackNegotation => ({ psk: Uint8Array.from(Buffer.from(psk.keyHex, 'hex')), identity: psk.identity }),
      // No certificates on a PSK listener: the key is the authentication.
      checkServerIdentity: () => undefined,
      rejectUnauthorized: false,
    };
    Object.assign(opts, { protocol: 'mqtts', ...tlsOpts });
  } else {
    opts.protocol = 'mqtt';
  }
  opts.host = '127.0.0.1';
  opts.port = o.port;
  return opts;
}

/** Connects and reports the outcome; never throws for a refusal. */
export function tryConnect(o: ConnectOptions): Promise<ConnectResult> {
  const version = o.version ?? 4;
  return new Promise((resolve) => {
    const c = mqtt.connect(clientOptions(o));
    let settled = false;
    const settle = (r: ConnectResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!r.ok) c.end(true);
      resolve(r);
    };
    const timer = setTimeout(() => settle({ ok: false, code: -1, error: 'timeout waiting for CONNACK' }), (o.timeoutMs ?? 5000) + 1000);
    c.on('packetreceive', (p: Packet) => {
      if (p.cmd !== 'connack') return;
      const code = (version === 5 ? p.reasonCode : p.returnCode) ?? 0;
      if (code === 0) settle({ ok: true, client: new Client(c, version), code: 0 });
      else settle({ ok: false, code });
    });
    c.on('error', (e) => {
      if (!settled) settle({ ok: false, code: -1, error: e.message });
    });
    c.on('close', () => settle({ ok: false, code: -1, error: 'connection closed without CONNACK' }));
  });
}

/** Connects, failing the test with the refusal code if the broker refuses. */
export async function connect(o: ConnectOptions): Promise<Client> {
  const r = await tryConnect(o);
  if (!r.ok) {
    throw new Error(`connect as ${o.username ?? '<anonymous>'} (MQTT v${o.version ?? 4}) refused: code ${r.code}${r.error ? ` (${r.error})` : ''}`);
  }
  return r.client;
}

export interface Send {
  topic: string;
  payload?: string | Buffer;
  qos?: 0 | 1 | 2;
  retain?: boolean;
}

/**
 * Publishes every `sends` message from `pub`, then a marker on `markerTopic` (which the test
 * knows `sub` may read). Once the marker has arrived at `sub`, every earlier message that was
 * going to be delivered has been, so the returned list of which sends arrived is final.
 * Returns the index of each send that arrived, plus the publish result codes.
 */
export async function deliveries(
  pub: Client,
  sub: Client,
  sends: Send[],
  markerTopic: string,
): Promise<{ arrived: boolean[]; codes: number[] }> {
  const tag = uniqueId('m');
  const codes: number[] = [];
  const payloads = sends.map((s, i) => s.payload ?? `${tag}#${i}`);
  for (let i = 0; i < sends.length; i++) {
    const s = sends[i];
    codes.push(await pub.publish(s.topic, payloads[i], { qos: s.qos, retain: s.retain }));
  }
  const marker = `${tag}#marker`;
  await pub.publish(markerTopic, marker, { qos: 1 });
  await sub.waitForMessage((m) => m.topic === markerTopic && m.payload.toString() === marker);
  const arrived = sends.map((s, i) =>
    sub.received.some((m) => m.topic === s.topic && bytesOf(payloads[i]).toString('hex') === m.payload.toString('hex')),
  );
  return { arrived, codes };
}

function bytesOf(p: string | Buffer): Buffer {
  return typeof p === 'string' ? Buffer.from(p, 'utf8') : p;
}

/** Publishes a marker from `pub` (QoS 1) and waits until `sub` has it: every delivery to `sub`
 * of an earlier publish by `pub` has arrived by then. */
export async function settle(pub: Client, sub: Client, topic = 'marker'): Promise<void> {
  const tag = uniqueId('marker');
  await pub.publish(topic, tag, { qos: 1 });
  await sub.waitForMessage((m) => m.topic === topic && m.payload.toString() === tag);
}

/** The messages `sub` received on `topic`, in order. */
export function got(sub: Client, topic: string): Message[] {
  return sub.received.filter((m) => m.topic === topic);
}

/** Ends every client given, ignoring undefined. */
export async function endAll(...clients: Array<Client | undefined>): Promise<void> {
  await Promise.all(clients.filter((c): c is Client => c !== undefined).map((c) => c.end()));
}

/** QoS 1 publish, repeated while the broker refuses it (135), for a client that has just spent its
 * budget of policy time; fails after 5 s. */
export async function publishWhenServed(c: Client, topic: string): Promise<void> {
  const until = Date.now() + 5000;
  for (;;) {
    const code = await c.publish(topic, 'm', { qos: 1 });
    if (code === 0) return;
    assert.ok(Date.now() < until, `${topic}: still refused (${code}) after 5 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
