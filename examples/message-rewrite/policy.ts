// message-rewrite: on_message, the message hook (docs/ABI.md, "Message hook"). It sees every
// message a client publishes, after the broker's WRITE check, and delivers it (rewritten or not)
// or drops it:
//   - `drop` and `drop/...`: dropped (in MQTT 5 a QoS 1/2 publisher gets "not authorized");
//   - `in/...` from a client with a username: delivered to `tenants/USERNAME/in/...`, so every
//     tenant's devices publish to the same topics and each tenant subscribes under its own prefix;
//     without a username, or with one that is not a single topic level: dropped;
//   - `status/...`: delivered retained, so a late subscriber sees each device's last status;
//   - a payload with a JSON member "password" whose value is a string: the value becomes "***"
//     (a shape check, not a JSON parser; payloads above 64 KiB are left alone).
// Everything else is delivered as it came. Authentication and ACLs are left to the broker (or to
// other hooks); subscribers' READ checks see the rewritten topic.
export * from "../../sdk/assembly/abi";
import { Decision, Str, isTopicLevel, redactJsonStrings, setMessagePayload, setMessageRetain, setMessageTopic, topicUnder } from "../../sdk/assembly";

const MAX_REDACT_BYTES: i32 = 65536;

/**
 * The payload with the string value of every `"password": "..."` member replaced by "***", or
 * null when there is none or the payload is above 64 KiB (the payload then stays as it is).
 */
export function redacted(p: Str): Uint8Array | null {
  return p.length > MAX_REDACT_BYTES ? null : redactJsonStrings(p, "password");
}

/** Drops, re-routes, retains and redacts as described at the top; qos is delivered as it came. */
export function on_message(clientid: Str, username: Str | null, topic: Str, payload: Str, qos: i32, retain: bool): Decision {
  if (topicUnder(topic, "drop")) return Decision.Deny;
  if (topicUnder(topic, "in")) {
    if (username === null || !isTopicLevel(username)) return Decision.Deny;
    setMessageTopic("tenants/" + username.toString() + "/" + topic.toString());
  }
  if (topicUnder(topic, "status") && !retain) setMessageRetain(true);
  const r = redacted(payload);
  if (r !== null) setMessagePayload(r);
  return Decision.Allow;
}
