// JSON bench baseline: reads users_file and parses nothing (the module size and time without JSON).
export * from "../../../sdk/assembly/abi";
import { Decision, Options, Str } from "../../../sdk/assembly";

let size = 0;

export function security_init(opts: Options, reload: bool): bool {
  const b = opts.readFile("users_file");
  if (b === null) return false;
  size = b.length;
  return true;
}

export function unpwd_check(username: Str | null, password: Str | null): Decision {
  return size > 0 ? Decision.Allow : Decision.Deny;
}
