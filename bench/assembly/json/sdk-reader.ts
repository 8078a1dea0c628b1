// JSON bench loader: the SDK's reader (parseJson on the option file's bytes). security_init
// parses users_file ({"users": {name: {"password", "roles"}}}) and keeps name -> hash; the
// request hook answers from it, so the parse cannot be optimised away.
export * from "../../../sdk/assembly/abi";
import { Decision, Options, Str, log } from "../../../sdk/assembly";

let users = new Map<string, string>();

export function security_init(opts: Options, reload: bool): bool {
  const doc = opts.readJson("users_file");
  if (doc === null) {
    log.error(opts.lastFileError()!);
    return false;
  }
  const u = doc.getObject("users");
  if (u === null) return false;
  const m = new Map<string, string>();
  for (let i = 0; i < u.length; i++) m.set(u.nameAt(i)!, u.at(i)!.getString("password")!);
  users = m;
  return true;
}

export function unpwd_check(username: Str | null, password: Str | null): Decision {
  return username !== null && users.has(username.toString()) ? Decision.Allow : Decision.Deny;
}
