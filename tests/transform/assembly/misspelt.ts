// expect: plugin_init: parameter 1 'opts' is optional or a rest parameter; the host passes every argument, declare it plainly — plugin_init(opts: Options): void
// expect: export 'acl_chek' is not a hook the host calls; did you mean 'acl_check'? — acl_check(clientid: Str, username: Str | null, topic: Str, access: Access): Decision, or acl_check(clientid: Str, username: Str | null, topic: Str, access: Access, payload: Str, qos: i32, retain: bool): Decision
export * from "../../../sdk/assembly/abi";
import { Str, Decision, Options } from "../../../sdk/assembly";

export function plugin_init(opts: Options | null = null): void {}

export function unpwd_check(username: Str | null, password: Str | null): Decision {
  return Decision.Deny;
}

export function acl_chek(clientid: Str, username: Str | null, topic: Str, access: i32): Decision {
  return Decision.Allow;
}
