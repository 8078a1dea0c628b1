// expect: security_init: parameter 1 'options' is 'Str'; it must be 'Options' — security_init(opts: Options, reload: bool): void
// expect: acl_check: has 5 parameters; it must have 4 or 7 — acl_check(clientid: Str, username: Str | null, topic: Str, access: Access): Decision, or acl_check(clientid: Str, username: Str | null, topic: Str, access: Access, payload: Str, qos: i32, retain: bool): Decision
// expect: psk_key_get: the result is 'Str | null'; it must be 'string | null' or 'string' — psk_key_get(identity: Str, hint: Str): string | null
export * from "../../../sdk/assembly/abi";
import { Str, Decision, Options } from "../../../sdk/assembly";

export function security_init(options: Str, reload: bool): void {}

export function acl_check(clientid: Str, username: Str | null, topic: Str, access: i32, payload: Str): Decision {
  return Decision.Deny;
}

export function psk_key_get(identity: Str, hint: Str): Str | null {
  return null;
}
