// expect: acl_check: parameter 3 'topic' is 'string'; it must be 'Str' — acl_check(clientid: Str, username: Str | null, topic: Str, access: Access): Decision
export * from "../../../sdk/assembly/abi";
import { Str, Decision } from "../../../sdk/assembly";

export function acl_check(clientid: Str, username: Str | null, topic: string, access: i32): Decision {
  return topic.startsWith("public/") ? Decision.Allow : Decision.Deny;
}
