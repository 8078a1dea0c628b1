// defer-dynsec: a policy that decides a few things itself and hands everything else to the next
// plugin, here mosquitto's dynamic-security plugin (configured after this one):
//   - logins with a username containing `+`, `#` or `/` are refused (such names turn ACL
//     patterns and per-user topics into other people's); every other login is deferred;
//   - nobody may publish under `$SYS`;
//   - anyone may read, subscribe and unsubscribe under `public`;
//   - every other request is deferred: dynamic-security's clients, roles and default access
//     decide (and if no plugin decides, mosquitto denies).
export * from "../../sdk/assembly/abi";
import { Access, Decision, Str } from "../../sdk/assembly";

// True when a username could escape its own place in a topic tree.
function dangerous(username: Str): bool {
  return username.hasWildcard() || username.indexOfByte(0x2f) >= 0;
}

/** Refuses dangerous usernames; defers every other login (anonymous ones too). */
export function unpwd_check(username: Str | null, password: Str | null): Decision {
  if (username !== null && dangerous(username)) return Decision.Deny;
  return Decision.Defer;
}

// `topic` is `prefix` or lies below it.
function under(topic: Str, prefix: string): bool {
  return topic.startsWith(prefix) && (topic.length == prefix.length || topic.byteAt(prefix.length) == 0x2f);
}

/**
 * Denies publishing under `$SYS` and everything for dangerous usernames, allows reading and
 * subscribing under `public`, defers the rest. No allocation.
 */
export function acl_check(clientid: Str, username: Str | null, topic: Str, access: i32): Decision {
  if (username !== null && dangerous(username)) return Decision.Deny;
  if (access == Access.Write && under(topic, "$SYS")) return Decision.Deny;
  if (access != Access.Write && under(topic, "public")) return Decision.Allow;
  return Decision.Defer;
}
