// static-users: a users table compiled into the module, and one rule set written by hand for
// speed (this is the benchmark's "hand-written policy"):
//   - user U may read, write, subscribe and unsubscribe `users/U` and everything below it;
//   - everyone may read, subscribe and unsubscribe `public` and everything below it;
//   - everything else is denied.
// With plugin_opt_password_file set, the users come from that mosquitto_passwd file instead of
// the built-in table (same rules), so the benchmark can give it a thousand users.
//
// The ACL check compares raw bytes in place with word-sized loads: no allocation, no UTF-16
// decoding, one pass over the topic prefix and the username.
export * from "../../sdk/assembly/abi";
import { Access, Decision, Fallback, Grants, Options, PasswordHash, Str, log } from "../../sdk/assembly";

/**
 * The built-in users: name and mosquitto_passwd hash ($7$ = PBKDF2-SHA512, 101 iterations).
 * Passwords: alice-secret, bob-secret, sensor-1-secret. Make more with
 * `mosquitto_passwd -c -b FILE NAME PASSWORD` and copy the part after the colon.
 */
const BUILTIN_USERS: string[][] = [
  ["alice", "$7$101$1fQgQ3mPeWAq4Ppr$GCs6506FTRpKAtlNwIsHc1QsboqI4k/mO+7A7vK0CqT/vxKih+BGnmdrgR/I60gDqliVAyiD5xn5B5tQBOhiOg=="],
  ["bob", "$7$101$WGcywqCs3+uwtqvM$TGy0scSXNNWXnBkfMGW+siPTzcIUPzinC84IqarpKrjvky9RpBA4Y/0nKCbECzlwkvBqfLocza5QG8xfldXY3w=="],
  ["sensor-1", "$7$101$xI/jgOrjXoVHkKof$aqdq7byvfpHwNFXBBeAfNPEXtS/G+xP4nmuJ9YC6NL5QOaH3klRhueTt2V+edmDpJyjgUQCj6DAajuhyY/q0Ow=="],
];

let users = new Map<string, PasswordHash>();

// Reads `user:hash` lines; false (with the line number logged) on a line without a colon.
function loadPasswordFile(text: string, into: Map<string, PasswordHash>): bool {
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line.length == 0 || line.startsWith("#")) continue;
    const colon = line.indexOf(":");
    if (colon <= 0) {
      log.error("static-users: password_file line " + (i + 1).toString() + ": expected username:hash");
      return false;
    }
    into.set(line.substring(0, colon), new PasswordHash(line.substring(colon + 1)));
  }
  return true;
}

/** Loads the users: plugin_opt_password_file when set, the built-in table otherwise. */
export function plugin_init(opts: Options): bool {
  const table = new Map<string, PasswordHash>();
  if (opts.has("password_file")) {
    const text = opts.readTextFile("password_file");
    if (text === null) {
      log.error("static-users: cannot read " + opts.lastFileError()!);
      return false;
    }
    if (!loadPasswordFile(text, table)) return false;
  } else {
    for (let i = 0; i < BUILTIN_USERS.length; i++) table.set(BUILTIN_USERS[i][0], new PasswordHash(BUILTIN_USERS[i][1]));
  }
  users = table;
  log.info("static-users: " + table.size.toString() + " users");
  return true;
}

/** Allows a known user whose password matches; denies everyone else, anonymous clients included. */
export function unpwd_check(username: Str | null, password: Str | null): Decision {
  if (username === null || password === null) return Decision.Deny;
  const name = username.toString();
  if (!users.has(name)) return Decision.Deny;
  return users.get(name).verify(password) ? Decision.Allow : Decision.Deny;
}

// --- hot path: bytes compared in place -----------------------------------------------------------

// "user" and "publ" as little-endian u32, "s/" and "ic" as u16: each prefix is two loads.
const USER4: u32 = 0x72657375;
const S_SLASH2: u32 = 0x2f73;
const PUBL4: u32 = 0x6c627570;
const IC2: u32 = 0x6369;
const SLASH: u32 = 0x2f;
const USERS_PREFIX = memory.data<u8>([0x75, 0x73, 0x65, 0x72, 0x73, 0x2f]); // "users/"

const ONES: u64 = 0x0101010101010101;
const HIGHS: u64 = 0x8080808080808080;

// Non-zero when a byte of `w` equals the byte repeated in `rep` ("has a zero byte" on w ^ rep).
// @ts-ignore: decorator
@inline
function hasByte(w: u64, rep: u64): u64 {
  const x = w ^ rep;
  return (x - ONES) & ~x & HIGHS;
}

/**
 * True when the `n` bytes at `a` equal those at `b` and hold no `/`, `+` or `#`: a username that
 * can own a subtree. (A name with `/` would reach into another user's subtree, one with `+` or `#`
 * would turn a subscription like `users/+/#` into "everyone's".) Eight bytes per step; the last
 * partial step loads a whole word and masks it (masked bytes compare equal and are zero, which is
 * none of the three), which needs both words inside memory, else bytes one by one.
 */
// @ts-ignore: decorator
@inline
function sameSafeName(a: usize, b: usize, n: i32): bool {
  const end = <usize>memory.size() << 16;
  while (n > 0) {
    let w: u64;
    let v: u64;
    if (n >= 8) {
      w = load<u64>(a);
      v = load<u64>(b);
    } else if (a + 8 <= end && b + 8 <= end) {
      const mask = <u64>-1 >> (<u64>(8 - n) << 3);
      w = load<u64>(a) & mask;
      v = load<u64>(b) & mask;
    } else {
      for (let i = 0; i < n; i++) {
        const c = <u32>load<u8>(a + <usize>i);
        if (c != <u32>load<u8>(b + <usize>i) || c == SLASH || c == 0x2b || c == 0x23) return false;
      }
      return true;
    }
    if (w != v) return false;
    if (hasByte(w, 0x2f2f2f2f2f2f2f2f) | hasByte(w, 0x2b2b2b2b2b2b2b2b) | hasByte(w, 0x2323232323232323)) return false;
    a += 8;
    b += 8;
    n -= 8;
  }
  return true;
}

/**
 * Read/write/subscribe/unsubscribe under `users/<username>`; read/subscribe/unsubscribe under
 * `public`; nothing else. For SUBSCRIBE and UNSUBSCRIBE `topic` is the filter, so a filter is
 * allowed only inside one of those subtrees. No allocation.
 */
export function acl_check(clientid: Str, username: Str | null, topic: Str, access: i32): Decision {
  const t = topic.ptr;
  const len = <i32>topic.len;
  if (len >= 6 && load<u32>(t) == USER4 && <u32>load<u16>(t, 4) == S_SLASH2) {
    if (username === null) return Decision.Deny;
    const n = <i32>username.len;
    // users/<name> or users/<name>/...
    if (n == 0 || len < 6 + n || !sameSafeName(username.ptr, t + 6, n)) return Decision.Deny;
    if (len > 6 + n && <u32>load<u8>(t + 6 + <usize>n) != SLASH) return Decision.Deny;
    return access != Access.None ? Decision.Allow : Decision.Deny;
  }
  if (len >= 6 && load<u32>(t) == PUBL4 && <u32>load<u16>(t, 4) == IC2 && (len == 6 || <u32>load<u8>(t, 6) == SLASH)) {
    return access & (Access.Read | Access.Subscribe | Access.Unsubscribe) ? Decision.Allow : Decision.Deny;
  }
  return Decision.Deny;
}

/**
 * Opts in to the host's ACL decision cache (docs/ABI.md, "Decision cache"): acl_check above is a
 * pure function of (clientid, username, topic, access), so the plugin may remember its answers
 * per client instead of calling it again.
 */
export function wasm_auth_acl_cacheable(): i32 {
  return 1;
}

/**
 * The same rules as grants (docs/ABI.md, "Grants"), given once per client: the plugin then matches
 * the client's READ and WRITE checks against these filters itself and never calls acl_check for
 * them. SUBSCRIBE and UNSUBSCRIBE (filters, not topics) still go to acl_check.
 */
export function wasm_auth_acl_grants(clientid: Str, username: Str | null): Grants {
  const g = new Grants()
    .otherwise(Access.Read, Fallback.Deny)
    .otherwise(Access.Write, Fallback.Deny)
    .allow("public/#", Access.Read);
  if (username !== null && username.len > 0 && sameSafeName(username.ptr, username.ptr, <i32>username.len)) {
    // users/<name>/# (which also matches users/<name>), from the name's bytes as they are.
    const n = <i32>username.len;
    const f = new StaticArray<u8>(n + 8);
    const p = changetype<usize>(f);
    memory.copy(p, changetype<usize>(USERS_PREFIX), 6);
    memory.copy(p + 6, username.ptr, <usize>n);
    store<u16>(p + 6 + <usize>n, 0x232f); // "/#"
    g.addBytes(p, n + 8, Access.Read | Access.Write, false);
  }
  return g;
}
