// Policy P (docs/BENCHMARKS.md) written the idiomatic way with the SDK's topic helpers
// (Str.levelEquals / levelEqualsStr / hasWildcard): users and hashes from plugin_opt_password_file
// (mosquitto_passwd format) loaded once, an ACL check that reads in place and never allocates.
// `make bench` measures it next to policy-p.ts (same policy, byte-level) to show what the
// helpers cost per call.
//   - user U may read, write, subscribe and unsubscribe users/U and users/U/...;
//   - anyone may read, subscribe and unsubscribe public and public/...;
//   - everything else is denied.
export * from "../../sdk/assembly/abi";
import { Str, Access, Decision, Options, PasswordHash, log } from "../../sdk/assembly";

const users = new Map<string, PasswordHash>();

/**
 * Loads the password file named by `plugin_opt_password_file`; refuses to start without it.
 * Lines are `user:hash`; blank lines and `#` comments are skipped.
 */
export function plugin_init(opts: Options): bool {
  const text = opts.readTextFile("password_file");
  if (text === null) {
    log.error("policy-p: plugin_opt_password_file is missing or unreadable");
    return false;
  }
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i];
    if (line.endsWith("\r")) line = line.substring(0, line.length - 1);
    if (line.length == 0 || line.startsWith("#")) continue;
    const colon = line.indexOf(":");
    if (colon <= 0) {
      log.error("policy-p: password_file line " + (i + 1).toString() + " has no user:hash");
      return false;
    }
    users.set(line.substring(0, colon), new PasswordHash(line.substring(colon + 1)));
  }
  log.info("policy-p: " + users.size.toString() + " users");
  return true;
}

/** Allows a known user whose password matches its mosquitto_passwd hash (checked by the host). */
export function unpwd_check(username: Str | null, password: Str | null): Decision {
  if (username === null || password === null) return Decision.Deny;
  const name = username.toString();
  if (!users.has(name)) return Decision.Deny;
  return users.get(name).verify(password) ? Decision.Allow : Decision.Deny;
}

/** Own subtree: everything; public subtree: read side only; else deny. Allocation-free. */
export function acl_check(clientid: Str, username: Str | null, topic: Str, access: i32): Decision {
  // A username holding a wildcard must not widen its own subtree (cf. CVE-2017-7650).
  if (username !== null && topic.levelEquals(0, "users") && topic.levelEqualsStr(1, username)
      && !username.hasWildcard()) {
    return Decision.Allow;
  }
  if (access != Access.Write && topic.levelEquals(0, "public")) return Decision.Allow;
  return Decision.Deny;
}
