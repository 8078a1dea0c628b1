// rate-limit: each client may publish `publish_rate` messages per second (bursts of as many), with
// the SDK's RateLimiter keyed by client id:
//   - a PUBLISH over the rate is refused (WRITE denied: PUBACK 135 "not authorized" for an MQTT 5
//     client at QoS 1; the message is dropped) and counted;
//   - subscribes and reads are allowed, and so is every publish within the rate: this policy
//     limits, it does not decide who may use which topic;
//   - on_tick logs one line per `report_interval_s` (default 10) when publishes were refused
//     in it: "rate-limit: 12 publishes denied in the last 10 s (3 clients tracked)";
//   - on_disconnect frees the client's bucket (a debug line "rate-limit: forgot ID (N clients
//     tracked)"), so the table holds the connected clients that publish; beyond
//     `rate_limit_max_clients` (default 100000) the least recently seen client is forgotten.
// The clock makes every decision depend on when it is asked: this policy must not (and, importing
// Date.now, cannot) export wasm_auth_acl_cacheable.
export * from "../../sdk/assembly/abi";
import { Access, Decision, Options, RateLimiter, Str, log } from "../../sdk/assembly";

const DEFAULT_RATE: i32 = 5;
const DEFAULT_REPORT_S: i32 = 10;
const DEFAULT_MAX_CLIENTS: i32 = 100000;

let reportS: i32 = DEFAULT_REPORT_S;
let limiter = new RateLimiter(<f64>DEFAULT_RATE, DEFAULT_RATE, DEFAULT_MAX_CLIENTS);
// The report interval under way: when it started (-1: not yet) and `limiter.denied` then.
let periodStartMs: f64 = -1;
let deniedAtStart: u64 = 0;

// Option `key` as a whole number from `min` to `max`, `fallback` when unset; -1 (logged) when
// set to anything else: a typo in a limit should refuse to start, not run with a default.
function intOption(opts: Options, key: string, fallback: i32, min: i32, max: i32): i32 {
  const v = opts.get(key);
  if (v === null) return fallback;
  const n = I32.parseInt(v);
  if (n < min || n > max || n.toString() != v) {
    log.error(`rate-limit: plugin_opt_${key} must be a whole number from ${min.toString()} to ${max.toString()}`);
    return -1;
  }
  return n;
}

/** Reads `publish_rate`, `report_interval_s` and `rate_limit_max_clients`; refuses bad values. */
export function plugin_init(opts: Options): bool {
  const r = intOption(opts, "publish_rate", DEFAULT_RATE, 1, 1000000);
  const s = intOption(opts, "report_interval_s", DEFAULT_REPORT_S, 1, 86400);
  const m = intOption(opts, "rate_limit_max_clients", DEFAULT_MAX_CLIENTS, 1, 10000000);
  if (r < 0 || s < 0 || m < 0) return false;
  reportS = s;
  limiter = new RateLimiter(<f64>r, r, m);
  periodStartMs = -1;
  deniedAtStart = 0;
  log.info(`rate-limit: ${r.toString()} publishes per second per client (bursts of ${r.toString()}), ` +
    `at most ${m.toString()} clients tracked`);
  return true;
}

/** A publish spends a token of its client's bucket and is refused without one; the rest is allowed. */
export function acl_check(clientid: Str, username: Str | null, topic: Str, access: i32): Decision {
  if (access != Access.Write) return Decision.Allow;
  return limiter.take(clientid) ? Decision.Allow : Decision.Deny;
}

/** Frees the client's bucket: a client that left takes no room. */
export function on_disconnect(clientid: Str, username: Str | null): void {
  if (limiter.forget(clientid)) {
    log.debug(`rate-limit: forgot ${clientid.toString()} (${limiter.size.toString()} clients tracked)`);
  }
}

/** Every `report_interval_s`: one line with the publishes refused in it, if any. */
export function on_tick(): void {
  const now = <f64>Date.now();
  if (periodStartMs < 0) {
    // The first tick starts the first interval; refusals before it (deniedAtStart is 0 since
    // plugin_init) are reported with it.
    periodStartMs = now;
    return;
  }
  if (now - periodStartMs < <f64>reportS * 1000.0) return;
  const n = limiter.denied - deniedAtStart;
  // Quiet intervals say nothing: a line per interval whatever happened would fill the log.
  if (n > 0) {
    log.notice(`rate-limit: ${n.toString()} publishes denied in the last ${reportS.toString()} s ` +
      `(${limiter.size.toString()} clients tracked)`);
  }
  periodStartMs = now;
  deniedAtStart = limiter.denied;
}
