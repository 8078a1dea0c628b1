// The broker's authentication and authorization policy, compiled to build/policy.wasm by
// `npm run build` and run by the mosquitto-wasm-auth plugin (mosquitto.conf).
//
// Users, their passwords and the topics each may use come from the file that
// plugin_opt_users_file names (data/users.txt): one user per line,
//   NAME HASH FILTER...
// HASH is a mosquitto_passwd hash; each FILTER is a topic filter whose topics the user may publish
// to and receive, where %u stands for the user's name and %c for the client id. As with
// mosquitto's acl_file, any subscription is allowed and each message it would deliver is
// checked, so a wide filter only ever delivers the user's topics. Everything else is denied, and
// so are clients without a username.
//
// Hooks are the functions exported here with the names and types the plugin calls (see the
// SDK's README): plugin_init runs once at start and on reload, unpwd_check on every CONNECT,
// acl_check on every PUBLISH, SUBSCRIBE and delivery.
import { Access, Decision, Options, PasswordHash, Str, log, topicMatchesPattern } from "mosquitto-wasm-auth";

class User {
  constructor(public hash: PasswordHash, public filters: string[]) {}
}

let users = new Map<string, User>();

/** The users in `text` (users_file's format), or null when a line is malformed (logged). */
export function parseUsers(text: string): Map<string, User> | null {
  const table = new Map<string, User>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line.length == 0 || line.startsWith("#")) continue;
    const words = line.split(" ").filter((w: string) => w.length > 0);
    if (words.length < 2) {
      log.error("users_file line " + (i + 1).toString() + ": expected NAME HASH FILTER...");
      return null;
    }
    table.set(words[0], new User(new PasswordHash(words[1]), words.slice(2)));
  }
  return table;
}

/** Loads the users; false refuses to start the broker (or keeps the previous policy on reload). */
export function plugin_init(opts: Options): bool {
  const text = opts.readTextFile("users_file");
  if (text === null) {
    const path = opts.get("users_file");
    log.error(path === null ? "plugin_opt_users_file is not set" : "cannot read users_file " + path);
    return false;
  }
  const table = parseUsers(text);
  if (table === null) return false;
  users = table;
  log.info(users.size.toString() + " users");
  return true;
}

/** Allows a known user with the right password; denies everyone else. */
export function unpwd_check(username: Str | null, password: Str | null): Decision {
  if (username === null) return Decision.Deny;
  const name = username.toString();
  if (!users.has(name)) return Decision.Deny;
  return users.get(name).hash.verify(password) ? Decision.Allow : Decision.Deny;
}

/** Allows publishing and receiving a topic one of the user's filters matches. */
export function acl_check(clientid: Str, username: Str | null, topic: Str, access: i32): Decision {
  if (username === null) return Decision.Deny;
  const name = username.toString();
  if (!users.has(name)) return Decision.Deny;
  if (access == Access.Subscribe || access == Access.Unsubscribe) return Decision.Allow;
  const filters = users.get(name).filters;
  for (let i = 0; i < filters.length; i++) {
    if (topicMatchesPattern(filters[i], topic, username, clientid)) return Decision.Allow;
  }
  return Decision.Deny;
}
