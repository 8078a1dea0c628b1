// json-users: users and roles from a JSON file (plugin_opt_users_file), read in security_init and
// again on every SIGHUP (a file that does not load keeps the users in force). See README.md for
// the format. A role grants topic patterns to read and to write; `%u` and `%c` in a pattern stand
// for the username and client id (as in mosquitto's acl_file). SUBSCRIBE and UNSUBSCRIBE are
// allowed to every client that logged in, and what is delivered is filtered by the read patterns
// (READ), as mosquitto's acl_file does.
//
// security_init turns the JSON into flat tables: a hash table of users (names as UTF-8 bytes),
// each pointing at its roles, each role holding its patterns as UTF-8 bytes. acl_check and
// unpwd_check then look the username up by its bytes and match patterns in place: no allocation.
export * from "../../sdk/assembly/abi";
import { Access, Decision, JsonValue, Options, PasswordHash, Str, log, topicMatchesPatternStr } from "../../sdk/assembly";

const NAME = "json-users";
const FILE_OPTION = "users_file";

class Role {
  constructor(public name: string, public read: Str[], public write: Str[]) {}

  free(): void {
    for (let i = 0; i < this.read.length; i++) unchecked(this.read[i]).free();
    for (let i = 0; i < this.write.length; i++) unchecked(this.write[i]).free();
  }
}

class User {
  constructor(public name: Str, public hash: PasswordHash, public roles: Role[]) {}
}

// FNV-1a over the name's bytes: the hot path hashes the request's username in place.
function hashBytes(p: usize, n: u32): u32 {
  let h: u32 = 0x811c9dc5;
  for (let i: u32 = 0; i < n; i++) h = (h ^ <u32>load<u8>(p + <usize>i)) * 0x01000193;
  return h;
}

/** Everything the file defines, ready for the hot path. */
class Table {
  users: User[] = [];
  roles: Role[] = [];
  anonymous: Role[] | null = null;
  // Open addressing: index + 1 into `users`, 0 = empty; at most half full.
  slots: StaticArray<i32> = new StaticArray<i32>(8);

  index(): void {
    let size = 8;
    while (size < this.users.length * 2) size <<= 1;
    const slots = new StaticArray<i32>(size);
    const mask = <u32>size - 1;
    for (let i = 0; i < this.users.length; i++) {
      const name = unchecked(this.users[i]).name;
      let s = hashBytes(name.ptr, name.len) & mask;
      while (unchecked(slots[s]) != 0) s = (s + 1) & mask;
      unchecked((slots[s] = i + 1));
    }
    this.slots = slots;
  }

  /** The user named by these bytes, or null. No allocation. */
  find(name: Str): User | null {
    const mask = <u32>this.slots.length - 1;
    let s = hashBytes(name.ptr, name.len) & mask;
    while (true) {
      const i = unchecked(this.slots[s]);
      if (i == 0) return null;
      const u = unchecked(this.users[i - 1]);
      if (u.name.equalsStr(name)) return u;
      s = (s + 1) & mask;
    }
  }

  free(): void {
    for (let i = 0; i < this.users.length; i++) unchecked(this.users[i]).name.free();
    for (let i = 0; i < this.roles.length; i++) unchecked(this.roles[i]).free();
  }
}

let table: Table | null = null;

// --- loading: every mistake in the file is named (where, what), and refuses the file ----------

let problem: string | null = null;

function fail(where: string, what: string): void {
  if (problem === null) problem = where + ": " + what;
}

// A subscription filter with `+`/`#` as whole levels and `#` last, as mosquitto requires.
function validFilter(f: string): bool {
  if (f.length == 0) return false;
  for (let i = 0; i < f.length; i++) {
    const c = f.charCodeAt(i);
    if (c != 0x2b && c != 0x23) continue;
    if (i > 0 && f.charCodeAt(i - 1) != 0x2f) return false;
    if (i + 1 < f.length && (c == 0x23 || f.charCodeAt(i + 1) != 0x2f)) return false;
  }
  return true;
}

// Where in the file: `section.name` + `rest`, built only for a message (names stay unjoined
// otherwise: loading builds nothing it does not keep).
function path(section: string, name: string, rest: string = ""): string {
  return (name.length > 0 ? section + "." + name : section) + rest;
}

// A list of patterns (member `key` of role `role`, optional) as UTF-8 bytes.
function patterns(role: JsonValue, key: string, roleName: string): Str[] {
  const out: Str[] = [];
  const v = role.get(key);
  if (v === null) return out;
  if (!v.isArray()) {
    fail(path("roles", roleName, "." + key), "expected an array of topic patterns");
    return out;
  }
  for (let i = 0; i < v.length; i++) {
    const p = v.at(i)!.asString();
    if (p === null) fail(item(path("roles", roleName, "." + key), i), "expected a topic pattern (a string)");
    else if (!validFilter(p)) fail(item(path("roles", roleName, "." + key), i), "\"" + p + "\" is not a valid topic filter ('+' and '#' must be whole levels, '#' the last)");
    else out.push(Str.fromString(p));
  }
  return out;
}

function item(where: string, i: i32): string {
  return where + "[" + i.toString() + "]";
}

const TOP_KEYS = ["roles", "users", "anonymous"];
const ROLE_KEYS = ["read", "write"];
const USER_KEYS = ["password", "roles"];
const ANONYMOUS_KEYS = ["roles"];

// Member names `obj` may have: anything else is a typo to report, not to ignore.
function onlyKeys(obj: JsonValue, allowed: string[], section: string, name: string): void {
  for (let i = 0; i < obj.length; i++) {
    const k = obj.nameAt(i)!;
    if (!allowed.includes(k)) fail(path(section, name), "unknown member \"" + k + "\" (expected " + allowed.join(", ") + ")");
  }
}

// The roles a user (or "anonymous") lists, resolved by name.
function roleList(entry: JsonValue, section: string, name: string, byName: Map<string, Role>): Role[] {
  const out: Role[] = [];
  const list = entry.getArray("roles");
  if (list === null) {
    fail(path(section, name, ".roles"), "expected an array of role names");
    return out;
  }
  for (let i = 0; i < list.length; i++) {
    const role = list.at(i)!.asString();
    if (role === null) fail(item(path(section, name, ".roles"), i), "expected a role name (a string)");
    else if (!byName.has(role)) fail(item(path(section, name, ".roles"), i), "unknown role \"" + role + "\"");
    else out.push(byName.get(role));
  }
  return out;
}

function build(doc: JsonValue): Table {
  const t = new Table();
  onlyKeys(doc, TOP_KEYS, "the top level", "");
  const roles = doc.getObject("roles");
  const users = doc.getObject("users");
  if (roles === null) fail("roles", "expected an object of roles (\"roles\": {\"name\": {\"read\": [...], \"write\": [...]}})");
  if (users === null) fail("users", "expected an object of users (\"users\": {\"name\": {\"password\": \"$7$...\", \"roles\": [...]}})");
  if (roles === null || users === null) return t;
  const byName = new Map<string, Role>();
  for (let i = 0; i < roles.length; i++) {
    const name = roles.nameAt(i)!;
    const r = roles.at(i)!;
    if (!r.isObject()) {
      fail(path("roles", name), "expected an object with \"read\" and/or \"write\" patterns");
      continue;
    }
    onlyKeys(r, ROLE_KEYS, "roles", name);
    const role = new Role(name, patterns(r, "read", name), patterns(r, "write", name));
    t.roles.push(role);
    byName.set(name, role);
  }
  for (let i = 0; i < users.length; i++) {
    const name = users.nameAt(i)!;
    const u = users.at(i)!;
    if (name.length == 0) fail("users", "an empty username");
    if (!u.isObject()) {
      fail(path("users", name), "expected an object with \"password\" and \"roles\"");
      continue;
    }
    onlyKeys(u, USER_KEYS, "users", name);
    const hash = u.getString("password");
    if (hash === null || !(hash.startsWith("$6$") || hash.startsWith("$7$"))) {
      fail(path("users", name, ".password"), "expected a mosquitto_passwd hash (\"$7$...\" or \"$6$...\"; make one with mosquitto_passwd)");
      continue;
    }
    t.users.push(new User(Str.fromString(name), new PasswordHash(hash), roleList(u, "users", name, byName)));
  }
  const anon = doc.get("anonymous");
  if (anon !== null) {
    if (!anon.isObject()) fail("anonymous", "expected an object with \"roles\"");
    else {
      onlyKeys(anon, ANONYMOUS_KEYS, "anonymous", "");
      t.anonymous = roleList(anon, "anonymous", "", byName);
    }
  }
  t.index();
  return t;
}

/** Loads users_file; false (the reason logged) keeps the users in force, or refuses to start. */
export function security_init(opts: Options, reload: bool): bool {
  const doc = opts.readJson(FILE_OPTION);
  if (doc === null) {
    const why = opts.lastFileError()!;
    log.error(NAME + ": " + (opts.has(FILE_OPTION) ? why : "set plugin_opt_" + FILE_OPTION + " to the users and roles JSON file"));
    return false;
  }
  problem = null;
  const t = build(doc);
  const p = problem;
  if (p !== null) {
    t.free();
    log.error(NAME + ": " + FILE_OPTION + " " + opts.get(FILE_OPTION)! + ": " + p);
    return false;
  }
  const old = table;
  table = t;
  if (old !== null) old.free();
  log.info(NAME + ": " + t.users.length.toString() + " users, " + t.roles.length.toString() + " roles" +
    (t.anonymous !== null ? ", anonymous clients allowed" : "") + (reload ? " (reloaded)" : ""));
  return true;
}

/** A known user whose password matches; an anonymous client when the file has "anonymous". */
export function unpwd_check(username: Str | null, password: Str | null): Decision {
  const t = table;
  if (t === null) return Decision.Deny;
  if (username === null) return t.anonymous !== null ? Decision.Allow : Decision.Deny;
  const u = t.find(username);
  return u !== null && u.hash.verify(password) ? Decision.Allow : Decision.Deny;
}

// True when one of the roles grants `topic` for reading (or writing). No allocation.
function granted(roles: Role[], write: bool, topic: Str, username: Str | null, clientid: Str): bool {
  for (let i = 0; i < roles.length; i++) {
    const r = unchecked(roles[i]);
    const list = write ? r.write : r.read;
    for (let j = 0; j < list.length; j++) {
      if (topicMatchesPatternStr(unchecked(list[j]), topic, username, clientid)) return true;
    }
  }
  return false;
}

/**
 * READ and WRITE by the client's roles; SUBSCRIBE and UNSUBSCRIBE for every client that may be
 * connected (deliveries are then checked as READ). No allocation.
 */
export function acl_check(clientid: Str, username: Str | null, topic: Str, access: i32): Decision {
  const t = table;
  if (t === null) return Decision.Deny;
  let roles: Role[] | null;
  if (username === null) roles = t.anonymous;
  else {
    const u = t.find(username);
    roles = u === null ? null : u.roles;
  }
  if (roles === null) return Decision.Deny;
  if (access == Access.Subscribe || access == Access.Unsubscribe) return Decision.Allow;
  if (access != Access.Read && access != Access.Write) return Decision.Deny;
  return granted(roles, access == Access.Write, topic, username, clientid) ? Decision.Allow : Decision.Deny;
}

/**
 * Opts in to the host's ACL decision cache: acl_check depends only on its arguments and on what
 * security_init loaded (a reload clears the cache).
 */
export function wasm_auth_acl_cacheable(): i32 {
  return 1;
}
