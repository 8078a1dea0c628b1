// Policy P's users (docs/BENCHMARKS.md), shared by both AssemblyScript versions of P: users and
// hashes from plugin_opt_password_file (mosquitto_passwd format), loaded once at plugin_init.
import { Str, Decision, Options, PasswordHash, log } from "../../sdk/assembly";

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
