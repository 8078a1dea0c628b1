// JSON bench loader: json-as (not a dependency: bench/json.ts installs it in a temporary
// directory and compiles with its transform). Same work as sdk-reader.ts: users_file -> name -> hash.
export * from "../../../sdk/assembly/abi";
import { Decision, Options, Str } from "../../../sdk/assembly";
import { JSON } from "json-as";

@json
class Entry {
  password: string = "";
  roles: string[] = [];
}

@json
class Users {
  users: Map<string, Entry> = new Map();
}

let users = new Map<string, string>();

export function security_init(opts: Options, reload: bool): bool {
  // json-as parses strings: the file is decoded to UTF-16 first. Bad data aborts (traps).
  const text = opts.readTextFile("users_file");
  if (text === null) return false;
  const doc = JSON.parse<Users>(text);
  const m = new Map<string, string>();
  const keys = doc.users.keys();
  for (let i = 0; i < keys.length; i++) m.set(keys[i], doc.users.get(keys[i]).password);
  users = m;
  return true;
}

export function unpwd_check(username: Str | null, password: Str | null): Decision {
  return username !== null && users.has(username.toString()) ? Decision.Allow : Decision.Deny;
}
