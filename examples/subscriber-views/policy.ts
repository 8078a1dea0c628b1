// subscriber-views: mosquitto 2.1's per-subscriber and subscription hooks (docs/ABI.md,
// "Per-subscriber and subscription hooks"); they run only in the plugin built against 2.1's
// headers (make plugin-2.1), and the 2.0 build logs that it does not call them.
//   - on_subscribe: a client with username U subscribing to `inbox` or `inbox/...` gets
//     `users/U/inbox...` instead, so every user subscribes to the same filter and reads their
//     own inbox; without a username usable as one topic level the subscription is refused
//     (mosquitto 2.1.2 then disconnects the client). Other filters are kept as they came.
//   - on_message_out, for each subscriber's copy: `reports/...` goes to the subscriber `admin`
//     as published, to everyone else with the value of each JSON member "secret" replaced by
//     "***" (a shape check, not a parser; copies above 64 KiB are dropped for them rather than
//     sent unredacted); `staff/...` goes only to `admin` and usernames starting `staff-`.
// acl_check allows every request: access is not what this example is about.
export * from "../../sdk/assembly/abi";
import { Access, Decision, Str, isTopicLevel, redactJsonStrings, setMessagePayload, setSubscribeTopic, topicUnder } from "../../sdk/assembly";

const MAX_REDACT_BYTES: i32 = 65536;

/** The payload with the string value of every `"secret": "..."` member replaced by "***", or null when there is none. */
export function redacted(p: Str): Uint8Array | null {
  return redactJsonStrings(p, "secret");
}

function isAdmin(username: Str | null): bool {
  return username !== null && username.equals("admin");
}

export function acl_check(clientid: Str, username: Str | null, topic: Str, access: Access): Decision {
  return Decision.Allow;
}

/** Moves `inbox` and `inbox/...` under the subscriber's own prefix; keeps other filters. */
export function on_subscribe(clientid: Str, username: Str | null, topic: Str, qos: i32): Decision {
  if (!topicUnder(topic, "inbox")) return Decision.Defer;
  if (username === null || !isTopicLevel(username)) return Decision.Deny;
  setSubscribeTopic("users/" + username.toString() + "/" + topic.toString());
  return Decision.Allow;
}

/** Decides one subscriber's copy: redacted reports for all but admin, staff/... for staff only. */
export function on_message_out(clientid: Str, username: Str | null, topic: Str, payload: Str, qos: i32, retain: bool): Decision {
  if (topicUnder(topic, "staff")) {
    return isAdmin(username) || (username !== null && username.startsWith("staff-")) ? Decision.Defer : Decision.Deny;
  }
  if (topicUnder(topic, "reports") && !isAdmin(username)) {
    if (payload.length > MAX_REDACT_BYTES) return Decision.Deny;
    const r = redacted(payload);
    if (r !== null) setMessagePayload(r);
    return Decision.Allow;
  }
  return Decision.Defer;
}
