import { Str, Access, Decision } from "../../../../sdk/assembly";

type Verdict = Decision;

export function check(clientid: Str, username: Str | null, topic: Str, access: Access, payload: Str, qos: i32, retain: bool): Verdict {
  return access == Access.Read ? Decision.Allow : Decision.Deny;
}
