// expect: on_disconnect: parameter 1 'clientid' is 'string'; it must be 'Str' — on_disconnect(clientid: Str, username: Str | null): void
// expect: on_disconnect: parameter 2 'username' is 'Str'; it must be 'Str | null' — on_disconnect(clientid: Str, username: Str | null): void
// expect: on_tick: has 1 parameter; it must have 0 — on_tick(): void
// expect: session_check: parameter 1 'clientid' is 'string'; it must be 'Str' — session_check(clientid: Str, username: Str | null): Decision
// expect: on_message: parameter 4 'payload' is 'string'; it must be 'Str' — on_message(clientid: Str, username: Str | null, topic: Str, payload: Str, qos: i32, retain: bool): Decision
export * from "../../../sdk/assembly/abi";
import { Str, Decision } from "../../../sdk/assembly";

export function acl_check(clientid: Str, username: Str | null, topic: Str, access: i32): Decision {
  return Decision.Allow;
}

export function on_disconnect(clientid: string, username: Str): void {}

export function on_tick(now: i32): void {}

export function session_check(clientid: string, username: Str | null): Decision {
  return Decision.Allow;
}

export function on_message(clientid: Str, username: Str | null, topic: Str, payload: string, qos: i32, retain: bool): Decision {
  return Decision.Allow;
}
