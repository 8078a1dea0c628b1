// A bystander's view of the broker's availability: a client that publishes QoS 1 messages to a
// topic it is subscribed to, one after another, and times each from the publish to the delivery
// back to itself. Mosquitto runs every client on one thread, so anything that holds that thread
// (a policy call that does not return, a reload, a re-created instance) shows up as one long
// round trip for whichever probe was in flight or queued behind it.
import { performance } from 'node:perf_hooks';
import type { IPublishPacket } from 'mqtt';
import { type Client, uniqueId } from './mqtt.js';

export interface ProbeSummary {
  /** Every completed round trip, in ms, in order; a probe abandoned by stop() counts with the time it had waited. */
  rtts: number[];
  /** The largest of them. */
  max: number;
  /** How many probes were abandoned by stop() (still waiting for their delivery). */
  abandoned: number;
}

export class Prober {
  readonly rtts: number[] = [];
  private running = false;
  private loop: Promise<void> | undefined;
  private failure: Error | undefined;
  private inFlightSince: number | undefined;
  private waiters: Array<{ n: number; resolve: () => void; reject: (e: Error) => void }> = [];
  private abandon: (() => void) | undefined;
  private readonly tag = uniqueId('probe');

  /**
   * @param client a connected client subscribed (QoS 1) to `topic`
   * @param probeTimeoutMs a probe waiting longer than this fails the prober (a bounded wait)
   */
  constructor(readonly client: Client, readonly topic: string, private readonly probeTimeoutMs = 120_000) {}

  /** Starts probing back to back. */
  start(): this {
    if (this.running) return this;
    this.running = true;
    this.loop = this.run().catch((e: unknown) => {
      this.failure = e instanceof Error ? e : new Error(String(e));
      for (const w of this.waiters.splice(0)) w.reject(this.failure);
    });
    return this;
  }

  private async run(): Promise<void> {
    for (let seq = 0; this.running; seq++) {
      const payload = `${this.tag}#${seq}`;
      const t0 = performance.now();
      this.inFlightSince = t0;
      const outcome = await this.probe(payload);
      this.inFlightSince = undefined;
      if (outcome === 'abandoned') return;
      this.rtts.push(performance.now() - t0);
      for (const w of [...this.waiters]) {
        if (this.rtts.length >= w.n) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve();
        }
      }
    }
  }

  /** One round trip: resolves when the message came back, or 'abandoned' if stop() gave up on it. */
  private probe(payload: string): Promise<'done' | 'abandoned'> {
    const mq = this.client.mqtt;
    return new Promise((resolve, reject) => {
      const finish = (how: 'done' | 'abandoned' | Error) => {
        mq.removeListener('message', onMessage);
        clearTimeout(timer);
        this.abandon = undefined;
        if (how instanceof Error) reject(how);
        else resolve(how);
      };
      const onMessage = (topic: string, body: Buffer, _packet: IPublishPacket) => {
        if (topic === this.topic && body.toString() === payload) finish('done');
      };
      const timer = setTimeout(
        () => finish(new Error(`bystander probe on ${this.topic} not delivered within ${this.probeTimeoutMs} ms`)),
        this.probeTimeoutMs,
      );
      this.abandon = () => finish('abandoned');
      mq.on('message', onMessage);
      this.client.publish(this.topic, payload, { qos: 1 }).then(
        (code) => {
          if (code !== 0) finish(new Error(`bystander probe on ${this.topic} refused: PUBACK ${code}`));
        },
        (e: unknown) => finish(e instanceof Error ? e : new Error(String(e))),
      );
    });
  }

  /** Resolves once `n` probes have completed since start(). */
  until(n: number): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.rtts.length >= n) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ n, resolve, reject }));
  }

  /** Resolves once `k` more probes have completed. */
  more(k: number): Promise<void> {
    return this.until(this.rtts.length + k);
  }

  /** How long the probe in flight has been waiting, 0 if none. */
  get waitingMs(): number {
    return this.inFlightSince === undefined ? 0 : performance.now() - this.inFlightSince;
  }

  /**
   * Stops probing. A probe still in flight is given `graceMs` to come back; if it does not, it is
   * abandoned and counted with the time it had waited (a lower bound of that round trip).
   */
  async stop(graceMs = 2000): Promise<ProbeSummary> {
    this.running = false;
    let abandoned = 0;
    if (this.loop) {
      const grace = new Promise<'late'>((r) => setTimeout(() => r('late'), graceMs).unref());
      const outcome = await Promise.race([this.loop.then(() => 'done' as const), grace]);
      if (outcome === 'late' && this.abandon) {
        this.rtts.push(this.waitingMs);
        abandoned = 1;
        this.abandon();
      }
      await this.loop;
    }
    for (const w of this.waiters.splice(0)) w.reject(new Error('prober stopped'));
    if (this.failure) throw this.failure;
    return { rtts: [...this.rtts], max: this.rtts.length ? Math.max(...this.rtts) : 0, abandoned };
  }
}

/** "12 probes, max 734 ms (p50 3 ms)" */
export function describeProbes(s: ProbeSummary): string {
  const sorted = [...s.rtts].sort((a, b) => a - b);
  const p50 = sorted.length ? sorted[Math.floor(sorted.length / 2)] : 0;
  const abandoned = s.abandoned ? `, ${s.abandoned} still waiting when abandoned` : '';
  return `${s.rtts.length} probes, max ${s.max.toFixed(0)} ms (p50 ${p50.toFixed(1)} ms${abandoned})`;
}
