// scram: MQTT 5 enhanced authentication with SCRAM-SHA-256 (RFC 5802, RFC 7677), server side.
//
//   plugin_opt_scram_users_file PATH   lines `username:salt_b64:iterations:StoredKey_b64:ServerKey_b64`
//                                      (`#` comments and blank lines skipped); re-read on reload.
//
// The file holds no password: StoredKey = SHA-256(HMAC(SaltedPassword, "Client Key")) and
// ServerKey = HMAC(SaltedPassword, "Server Key"), SaltedPassword = PBKDF2-HMAC-SHA-256(password,
// salt, iterations), computed where the password is set (README.md shows a line of Node).
//
// A CONNECT with authentication method SCRAM-SHA-256 and the client-first message asks
// ext_auth_start: the answer is server-first (the client's nonce + 18 random bytes, the salt, the
// iterations) in an AUTH packet. The client's AUTH with client-final asks ext_auth_continue: a
// proof that checks out gets the CONNACK with server-final (v=ServerSignature). Anything else is
// refused, with one log line (at most one a second; the next says how many were left out). An
// unknown username gets a made-up salt and fails at the proof, like a wrong password, so the
// exchange does not tell which usernames exist. Other methods are deferred (another plugin may
// know them).
//
// Clients without an authentication method reach unpwd_check: a username and password are
// refused (SCRAM users never send their password), an anonymous client is deferred to
// mosquitto's allow_anonymous. Authenticated clients may use every topic (acl_check).
export * from "../../sdk/assembly/abi";
import { AuthDecision, Decision, Options, Str, log, setAuthDataString } from "../../sdk/assembly";
import { SHA256_BYTES, sha256 } from "../../sdk/assembly";
import { ClientFirst, b64, parseClientFinal, parseClientFirst, unb64, utf8, verifyProof } from "./scram";

const METHOD = "SCRAM-SHA-256";
/** Exchanges in progress at once; beyond it a new one is refused (each holds ~1 KiB). */
const MAX_EXCHANGES = 10000;
/** Iterations a user line may name: RFC 7677's minimum up to the host's pbkdf2 cap. */
const MIN_ITERATIONS = 4096;
const MAX_ITERATIONS = 20000;
const NONCE_BYTES = 18;
const LOG_INTERVAL_MS: i64 = 1000;

class User {
  constructor(public salt: string, public iterations: i32, public storedKey: Uint8Array, public serverKey: Uint8Array) {}
}

class Exchange {
  constructor(public user: User, public gs2: string, public authStart: string, public nonce: string) {}
}

let users = new Map<string, User>();
// Per client id: the exchange between server-first and client-final.
const exchanges = new Map<string, Exchange>();
// The made-up users' salts derive from this, so that they are stable for a name.
let fakeSecret = "";

// One refusal line per LOG_INTERVAL_MS: a client sending garbage must not flood the log.
let lastLog: i64 = -LOG_INTERVAL_MS;
let unlogged = 0;
function refuse(clientid: Str, why: string): AuthDecision {
  exchanges.delete(clientid.toString());
  const now = Date.now();
  // A clock that went back (Date.now is the wall clock) starts a new interval.
  if (now >= lastLog && now - lastLog < LOG_INTERVAL_MS) {
    unlogged++;
    return AuthDecision.Deny;
  }
  const more = unlogged > 0 ? " (" + unlogged.toString() + " more refusals not logged)" : "";
  log.warning("scram: client " + clientid.toString() + " refused: " + why + more);
  lastLog = now;
  unlogged = 0;
  return AuthDecision.Deny;
}

// The host's getrandom, 53 bits a call: Math.random is a generator seeded once from it, whose
// later outputs follow from earlier ones, and a nonce must not be guessable from the last.
// @ts-ignore: decorator
@external("env", "seed")
declare function hostRandom(): f64;

function randomText(n: i32): string {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i += 6) {
    let r = <u64>hostRandom();
    for (let j = i; j < n && j < i + 6; j++) {
      b[j] = <u8>r;
      r >>= 8;
    }
  }
  return b64(b);
}

function parseUser(line: string): User | null {
  const f = line.split(":");
  if (f.length != 5) return null;
  const iterations = I32.parseInt(f[2]);
  const storedKey = unb64(f[3]);
  const serverKey = unb64(f[4]);
  if (unb64(f[1]) === null || iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS) return null;
  if (storedKey === null || serverKey === null || storedKey.length != SHA256_BYTES || serverKey.length != SHA256_BYTES) return null;
  return new User(f[1], iterations, storedKey, serverKey);
}

/** Loads scram_users_file; false (naming the line) when it is missing or a line is malformed. */
export function security_init(opts: Options, reload: bool): bool {
  const text = opts.readTextFile("scram_users_file");
  if (text === null) {
    log.error("scram: " + (opts.has("scram_users_file") ? "cannot read " + opts.lastFileError()! : "set plugin_opt_scram_users_file"));
    return false;
  }
  const next = new Map<string, User>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line.length == 0 || line.startsWith("#")) continue;
    const colon = line.indexOf(":");
    const u = colon > 0 ? parseUser(line) : null;
    if (u === null) {
      log.error("scram: scram_users_file line " + (i + 1).toString() + ": expected username:salt_b64:iterations:StoredKey_b64:ServerKey_b64 (iterations " +
        MIN_ITERATIONS.toString() + " to " + MAX_ITERATIONS.toString() + ")");
      return false;
    }
    next.set(line.substring(0, colon), u);
  }
  users = next;
  if (fakeSecret.length == 0) fakeSecret = randomText(32);
  log.info("scram: " + next.size.toString() + " users" + (reload ? " (reloaded)" : ""));
  return true;
}

// A user that no proof matches, with a salt stable for the name.
function madeUp(name: string): User {
  const h = sha256(utf8(fakeSecret + name))!;
  return new User(b64(h.subarray(0, 16)), MIN_ITERATIONS, sha256(h)!, h);
}

export function ext_auth_start(clientid: Str, method: Str, data: Str): AuthDecision {
  if (!method.equals(METHOD)) return AuthDecision.Defer;
  const first: ClientFirst | null = parseClientFirst(data.toString());
  if (first === null) return refuse(clientid, "malformed client-first message");
  const id = clientid.toString();
  if (!exchanges.has(id) && exchanges.size >= MAX_EXCHANGES) return refuse(clientid, "too many exchanges in progress");
  const user = users.has(first.username) ? users.get(first.username) : madeUp(first.username);
  const nonce = first.nonce + randomText(NONCE_BYTES);
  const serverFirst = "r=" + nonce + ",s=" + user.salt + ",i=" + user.iterations.toString();
  exchanges.set(id, new Exchange(user, first.gs2, first.bare + "," + serverFirst, nonce));
  setAuthDataString(serverFirst);
  return AuthDecision.Continue;
}

// method is not checked: mosquitto refuses an AUTH whose method differs from the CONNECT's
// before asking, and 2.0 passes none here (docs/ABI.md, "Enhanced authentication").
export function ext_auth_continue(clientid: Str, method: Str, data: Str): AuthDecision {
  const id = clientid.toString();
  if (!exchanges.has(id)) return refuse(clientid, "no exchange in progress");
  const x = exchanges.get(id);
  const fin = parseClientFinal(data.toString());
  if (fin === null) return refuse(clientid, "malformed client-final message");
  if (fin.channelBinding != b64(utf8(x.gs2)) || fin.nonce != x.nonce) return refuse(clientid, "channel binding or nonce mismatch");
  const v = verifyProof(x.user.storedKey, x.user.serverKey, x.authStart + "," + fin.withoutProof, fin.proof);
  if (v === null) return refuse(clientid, "wrong proof (wrong password or unknown user)");
  exchanges.delete(id);
  setAuthDataString("v=" + b64(v));
  return AuthDecision.Allow;
}

/** Password logins are refused (SCRAM users never send theirs); anonymous ones are mosquitto's. */
export function unpwd_check(username: Str | null, password: Str | null): Decision {
  return username === null ? Decision.Defer : Decision.Deny;
}

export function acl_check(clientid: Str, username: Str | null, topic: Str, access: i32): Decision {
  return Decision.Allow;
}

/** An exchange a client abandoned goes with it. */
export function on_disconnect(clientid: Str, username: Str | null): void {
  exchanges.delete(clientid.toString());
}
