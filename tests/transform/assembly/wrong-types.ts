// expect: unpwd_check: parameter 1 'username' is 'Str'; it must be 'Str | null' — unpwd_check(username: Str | null, password: Str | null): Decision
// expect: unpwd_check: parameter 2 'password' is 'String | null'; it must be 'Str | null' — unpwd_check(username: Str | null, password: Str | null): Decision
// expect: acl_check: parameter 4 'access' is 'i64'; it must be 'Access' or 'i32' — acl_check(clientid: Str, username: Str | null, topic: Str, access: Access): Decision
// expect: acl_check: the result is 'string'; it must be 'Decision', 'bool' or 'i32' — acl_check(clientid: Str, username: Str | null, topic: Str, access: Access): Decision
export * from "../../../sdk/assembly/abi";
import { Str, Decision } from "../../../sdk/assembly";

export function unpwd_check(username: Str, password: String | null): Decision {
  return username.length > 0 && password != null ? Decision.Allow : Decision.Deny;
}

export function acl_check(clientid: Str, username: Str | null, topic: Str, access: i64): string {
  return "allow";
}
