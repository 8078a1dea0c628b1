// Rewriting a subscription from on_subscribe (mosquitto 2.1 builds; docs/ABI.md, "Per-subscriber
// and subscription hooks"):
//
//   export function on_subscribe(clientid: Str, username: Str | null, topic: Str, qos: i32): Decision
//
// runs after the broker's SUBSCRIBE ACL check allowed the filter the client sent, before the
// subscription is added. Decision.Allow keeps it with whatever the set* functions below staged,
// Decision.Defer keeps it as it came (what was staged is discarded), Decision.Deny refuses it:
// mosquitto 2.1.2 then disconnects the client (it has no SUBACK failure at this point; refuse with a
// SUBACK failure code from acl_check's SUBSCRIBE check instead). A bad value traps: the subscription
// is refused and one line logged (rate-limited), as for any failure of on_subscribe.
import { host_subscribe_set_qos, host_subscribe_set_topic } from "./imports";
import { Str } from "./str";

/**
 * Makes the subscription's filter `topic` (a `string`, sent as UTF-8, or a `Str`). It must be a
 * valid subscription filter: 1 to 65535 bytes of UTF-8, `+` and `#` alone in their level, `#`
 * last, no NUL; anything else traps (the subscription is refused). The broker does not check the
 * new filter against its ACLs again (each delivered message still gets its READ check). Only in
 * on_subscribe. A `string` is copied to UTF-8 first (allocates).
 */
export function setSubscribeTopic<T>(topic: T): void {
  if (isString<T>()) {
    const b = String.UTF8.encode(changetype<string>(topic));
    host_subscribe_set_topic(changetype<usize>(b), <u32>b.byteLength);
  } else {
    const s = changetype<Str>(topic);
    host_subscribe_set_topic(s.ptr, s.len);
  }
}

/**
 * Sets the subscription's QoS, 0 to 2 (anything else traps). The plugin applies it only when it is
 * lower than the QoS the broker granted; the SUBACK keeps the granted one. Only in on_subscribe.
 */
export function setSubscribeQos(qos: i32): void {
  host_subscribe_set_qos(qos);
}
