// expect: wasm_auth_acl_grants: parameter 2 'username' is 'string | null'; it must be 'Str | null' — wasm_auth_acl_grants(clientid: Str, username: Str | null): Grants | null
export * from "../../../sdk/assembly/abi";
import { Decision, Grants, Str } from "../../../sdk/assembly";

export function acl_check(clientid: Str, username: Str | null, topic: Str, access: i32): Decision {
  return Decision.Deny;
}
export function wasm_auth_acl_cacheable(): i32 { return 1; }
export function wasm_auth_acl_grants(clientid: Str, username: string | null): Grants | null {
  return username === null ? null : new Grants().allow("users/" + username + "/#", 3);
}
