// expect: on_disconnect: parameter 1 'clientid' is 'string'; it must be 'Str' — on_disconnect(clientid: Str, username: Str | null): void
// expect: on_disconnect: parameter 2 'username' is 'Str'; it must be 'Str | null' — on_disconnect(clientid: Str, username: Str | null): void
// expect: on_tick: has 1 parameter; it must have 0 — on_tick(): void
// expect: session_check: parameter 1 'clientid' is 'string'; it must be 'Str' — session_check(clientid: Str, username: Str | null): Decision
// expect: on_message: parameter 4 'payload' is 'string'; it must be 'Str' — on_message(clientid: Str, username: Str | null, topic: Str, payload: Str, qos: i32, retain: bool): Decision
// expect: ext_auth_start: parameter 3 'data' is 'Uint8Array'; it must be 'Str' — ext_auth_start(clientid: Str, method: Str, data: Str): AuthDecision
// expect: ext_auth_continue: the result is 'void'; it must be 'AuthDecision', 'Decision' or 'i32' — ext_auth_continue(clientid: Str, method: Str, data: Str): AuthDecision
// expect: on_message_out: parameter 2 'username' is 'Str'; it must be 'Str | null' — on_message_out(clientid: Str, username: Str | null, topic: Str, payload: Str, qos: i32, retain: bool): Decision
// expect: on_subscribe: parameter 3 'topic' is 'string'; it must be 'Str' — on_subscribe(clientid: Str, username: Str | null, topic: Str, qos: i32): Decision
export * from "../../../sdk/assembly/abi";
import { AuthDecision, Str, Decision } from "../../../sdk/assembly";

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
export function ext_auth_start(clientid: Str, method: Str, data: Uint8Array): AuthDecision {
  return AuthDecision.Deny;
}

export function ext_auth_continue(clientid: Str, method: Str, data: Str): void {}

export function on_message_out(clientid: Str, username: Str, topic: Str, payload: Str, qos: i32, retain: bool): Decision {
  return Decision.Allow;
}

export function on_subscribe(clientid: Str, username: Str | null, topic: string, qos: i32): Decision {
  return Decision.Allow;
}
