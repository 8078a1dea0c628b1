// session-events: a policy that acts on its own, through the events and deferred actions of
// docs/ABI.md:
//   - on_tick (every plugin_opt_wasm_tick_ms) publishes a heartbeat to `heartbeat_topic`
//     (default `wasm/heartbeat`): `{"ticks":N,"disconnects":M,"kicks":K}`;
//   - a client that publishes to `kick/me` is refused and disconnected (kick_client of itself),
//     and the kick is announced to `kicked_topic` (default `wasm/kicked`) with the client id as
//     payload;
//   - on_disconnect counts the clients that left;
//   - everything else is allowed (a demonstration, not an access policy).
// The broker publishes only under plugin_opt_wasm_publish_prefix: with `wasm` both topics above
// are fine; a topic outside it is refused, and the refusal logged (the integration test sets
// `kicked_topic` outside on purpose).
export * from "../../sdk/assembly/abi";
import { Access, ActionResult, Decision, Options, Str, kickClient, log, publish } from "../../sdk/assembly";

let heartbeatTopic = "wasm/heartbeat";
let kickedTopic = "wasm/kicked";
let ticks: u64 = 0;
let disconnects: u64 = 0;
let kicks: u64 = 0;

/** Reads the two topics from the policy's options. */
export function plugin_init(opts: Options): void {
  const h = opts.get("heartbeat_topic");
  if (h !== null) heartbeatTopic = h;
  const k = opts.get("kicked_topic");
  if (k !== null) kickedTopic = k;
}

/** Publishing to `kick/me` is refused and gets the client disconnected; everything else is allowed. */
export function acl_check(clientid: Str, username: Str | null, topic: Str, access: i32): Decision {
  if (access == Access.Write && topic.equals("kick/me")) {
    if (kickClient(clientid) == ActionResult.Queued) {
      kicks++;
      publish(kickedTopic, clientid.toString());
    }
    return Decision.Deny;
  }
  return Decision.Allow;
}

/** Counts the clients that left. */
export function on_disconnect(clientid: Str, username: Str | null): void {
  disconnects++;
}

/** The heartbeat. A refusal (no prefix configured, topic outside it) is logged by the host. */
export function on_tick(): void {
  ticks++;
  const r = publish(heartbeatTopic,
    `{"ticks":${ticks.toString()},"disconnects":${disconnects.toString()},"kicks":${kicks.toString()}}`);
  if (r == ActionResult.NoPrefix && ticks == 1) log.notice("session-events: no heartbeats without plugin_opt_wasm_publish_prefix");
}
