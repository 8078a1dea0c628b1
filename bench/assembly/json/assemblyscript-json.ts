// JSON bench loader: assemblyscript-json (not a dependency: bench/json.ts installs it in a
// temporary directory). Same work as sdk-reader.ts: users_file -> name -> hash.
export * from "../../../sdk/assembly/abi";
import { Decision, Options, Str } from "../../../sdk/assembly";
import { JSON } from "assemblyscript-json/assembly";

let users = new Map<string, string>();

export function security_init(opts: Options, reload: bool): bool {
  const b = opts.readFile("users_file");
  if (b === null) return false;
  // The library takes the bytes (or a string); bad data aborts (traps).
  const doc = <JSON.Obj>JSON.parse(b);
  const u = doc.getObj("users");
  if (u === null) return false;
  const m = new Map<string, string>();
  const keys = u.keys;
  for (let i = 0; i < keys.length; i++) {
    const entry = <JSON.Obj>u.getObj(keys[i]);
    const pw = entry.getString("password");
    if (pw !== null) m.set(keys[i], pw.valueOf());
  }
  users = m;
  return true;
}

export function unpwd_check(username: Str | null, password: Str | null): Decision {
  return username !== null && users.has(username.toString()) ? Decision.Allow : Decision.Deny;
}
