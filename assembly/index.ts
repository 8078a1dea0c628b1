// The default policy: mosquitto's own password_file + acl_file, as a wasm policy.
//
//   plugin_opt_password_file PATH   mosquitto_passwd file ($6$ and $7$ hashes)
//   plugin_opt_acl_file PATH        mosquitto acl_file (topic / user / pattern lines)
//   plugin_opt_allow_anonymous B    true/false; unset: clients without a username are left to
//                                   the broker's own allow_anonymous (which defaults to false)
//
// Semantics are mosquitto 2.0.11's, checked against the real broker (assembly/README.md); the
// files are parsed once per start or reload into compact tables, and acl_check never allocates.
export * from "../sdk/assembly/abi";
import { Access, Decision, Grants, Lines, Options, Reason, Str, log } from "../sdk/assembly";
import { Acl } from "./load/acl";
import { install, installAllowAll, uninstall } from "./check/hot";
import { Passwords } from "./load/passwd";
import { Users } from "./load/users";
import { aclGrants } from "./check/grants";

const NAME = "default policy";

// Reasons for denials (the audit log), encoded once: a denial pays only the host call.
const NOT_LOADED = new Reason("no configuration loaded");
const NO_ANONYMOUS = new Reason("anonymous clients are not allowed (allow_anonymous false)");
const WRONG_PASSWORD = new Reason("wrong password");
const UNKNOWN_USER = new Reason("unknown user");

// Anonymous-client handling, from plugin_opt_allow_anonymous.
const ANON_DEFER: i32 = -1;
const ANON_DENY: i32 = 0;
const ANON_ALLOW: i32 = 1;

/** Everything the configuration says, built at once so a failed reload leaves the old one in force. */
class Config {
  passwords: Passwords | null = null;
  acl: Acl | null = null;
  anonymous: i32 = ANON_DEFER;
}

let current: Config | null = null;

// Makes `cfg` the configuration in force.
function activate(cfg: Config): void {
  current = cfg;
  const acl = cfg.acl;
  if (acl !== null) install(acl);
  else installAllowAll();
}

function fileError(key: string, opts: Options, line: i32, message: string): void {
  const path = opts.get(key);
  log.error(NAME + ": " + key + " " + (path !== null ? path : "") + " line " + line.toString() + ": " + message);
}

// The lines of the file named by option `key`, streamed in chunks (a 100k-user file never sits
// in guest memory whole): null with an error logged when set but unreadable.
function readOption(opts: Options, key: string): Lines | null {
  const lines = opts.lines(key);
  // e.g. "cannot read acl_file (/etc/mosquitto/acl): permission denied"
  if (lines === null) log.error(NAME + ": cannot read " + opts.lastFileError()!);
  return lines;
}

function load(opts: Options): Config | null {
  const cfg = new Config();
  // One record per user for both files (users.ts).
  const users = new Users();
  const anon = opts.get("allow_anonymous");
  if (anon !== null) {
    if (anon == "true") cfg.anonymous = ANON_ALLOW;
    else if (anon == "false") cfg.anonymous = ANON_DENY;
    else {
      log.error(NAME + ": allow_anonymous must be true or false, not \"" + anon + "\"");
      return null;
    }
  }
  if (opts.has("password_file")) {
    const data = readOption(opts, "password_file");
    if (data === null) return null;
    const pw = Passwords.read(data, users);
    const err = pw.error;
    if (err !== null) {
      fileError("password_file", opts, err.line, err.message);
      return null;
    }
    cfg.passwords = pw;
  }
  if (opts.has("acl_file")) {
    const data = readOption(opts, "acl_file");
    if (data === null) return null;
    const acl = Acl.read(data, users);
    const err = acl.error;
    if (err !== null) {
      fileError("acl_file", opts, err.line, err.message);
      return null;
    }
    for (let i = 0; i < acl.warnings.length; i++) log.warning(NAME + ": " + acl.warnings[i]);
    cfg.acl = acl;
  }
  return cfg;
}

function describe(cfg: Config): string {
  const pw = cfg.passwords;
  const acl = cfg.acl;
  let s = NAME + ": ";
  s += pw !== null ? pw.count.toString() + " users" : "no password_file";
  s += acl !== null
    ? ", " + acl.topicRuleCount.toString() + " topic rules for " + acl.userCount.toString() + " users and anonymous, " + acl.patternCount.toString() + " patterns"
    : ", no acl_file (every authenticated client may publish and subscribe anywhere)";
  return s;
}

/**
 * Parses password_file and acl_file (on start and on every reload). Returns false, with the file
 * and line logged, when a file is unreadable or malformed: the broker then refuses to start, or
 * keeps the previous configuration on reload.
 */
export function security_init(opts: Options, reload: bool): bool {
  // Every load, reload included, runs in a fresh instance: the host keeps the previous one in
  // service when this returns false and says so.
  const cfg = load(opts);
  if (cfg === null) return false;
  activate(cfg);
  log.info(describe(cfg));
  return true;
}

/**
 * Nothing to release on reload: the tables stay in force until security_init has built their
 * replacement, so a reload that fails changes nothing. On unload they are dropped.
 */
export function security_cleanup(reload: bool): void {
  if (!reload) {
    current = null;
    uninstall();
  }
}

/**
 * Username/password check against password_file. A client without a username gets
 * plugin_opt_allow_anonymous (defer to the broker when unset). Without a password_file every
 * client with a username is deferred, as mosquitto's own check does.
 */
export function unpwd_check(username: Str | null, password: Str | null): Decision {
  const cfg = current;
  if (cfg === null) return NOT_LOADED.deny();
  if (username === null) {
    if (cfg.anonymous == ANON_DEFER) return Decision.Defer;
    return cfg.anonymous == ANON_ALLOW ? Decision.Allow : NO_ANONYMOUS.deny();
  }
  const pw = cfg.passwords;
  if (pw === null) return Decision.Defer;
  if (pw.verify(username, password)) return Decision.Allow;
  // Reasons for the audit log only: the client is told nothing more than "not authorised".
  return pw.has(username) ? WRONG_PASSWORD.deny() : UNKNOWN_USER.deny();
}

/**
 * Revocation: after a reload the plugin asks this of every session unpwd_check let in, and
 * disconnects those denied. A session goes when its user is no longer in password_file (a
 * changed password takes effect at the next login, as in mosquitto). Anonymous sessions, and
 * every session when there is no password_file, stay.
 */
export function session_check(clientid: Str, username: Str | null): Decision {
  const cfg = current;
  if (cfg === null) return Decision.Deny;
  const pw = cfg.passwords;
  if (username === null || pw === null) return Decision.Allow;
  return pw.has(username) ? Decision.Allow : Decision.Deny;
}

// acl_file check, mosquitto 2.0.11 semantics, never allocating: hot.ts.
export { acl_check } from "./check/hot";

/** Opts in to the host's ACL decision cache: acl_check depends only on its arguments and the rules security_init loaded. */
export function wasm_auth_acl_cacheable(): i32 { return 1; }

/**
 * The client's grants: acl_check's decisions as filters the host matches itself, so that its
 * READ and WRITE checks run no guest code (grants.ts). null before the configuration is loaded
 * (acl_check then decides: it denies).
 */
export function wasm_auth_acl_grants(clientid: Str, username: Str | null): Grants | null {
  const cfg = current;
  if (cfg === null) return null;
  return aclGrants(cfg.acl, clientid, username);
}
