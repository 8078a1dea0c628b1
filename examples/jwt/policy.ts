// jwt: the MQTT password is a JSON Web Token, checked by the host (jwt_verify: signature, alg
// rules, exp and nbf) with the keys of plugin_opt_jwt_key_file (a PEM public key or certificate,
// a JWKS, or an HMAC secret file; docs/ABI.md, "JWT"):
//   - the username must equal the token's `sub` claim;
//   - an `acl` claim in EMQX's form, {"pub": [...], "sub": [...], "all": [...]}, lists topic
//     filters with `%u` (username) and `%c` (client id): PUBLISH needs a match in pub or all,
//     READ (a delivery) in sub or all; SUBSCRIBE is allowed when the filter is one of sub or
//     all with %u and %c put in, or, without wildcards, matches one of them (what is delivered
//     is then checked as READ); UNSUBSCRIBE is always allowed. No acl claim: nothing but the
//     login. A username or client id holding + or # never stands in for %u or %c.
// plugin_opt_jwt_leeway (seconds, default 0) allows for clock differences in exp and nbf.
//
// A client's rules are kept from its login (unpwd_check) by client id, with the username they
// were granted to and the token's `exp`: a later login under the same client id replaces them, a
// refused one removes them, a disconnect (on_disconnect) frees them. on_tick (every
// plugin_opt_wasm_tick_ms) disconnects the clients whose token has expired (exp + leeway), so an
// expired token does not outlive its session.
export * from "../../sdk/assembly/abi";
import { Access, Decision, JwtClaims, JwtVerifier, Options, Str, client, kickClient, log, topicMatchesPattern } from "../../sdk/assembly";

const verifier = new JwtVerifier("jwt_key_file");
let leeway: i32 = 0;

/** The rules a client's token granted. */
class Grant {
  constructor(public username: string, public pub: string[], public sub: string[], public filters: string[],
              /** The token's exp in seconds (NaN: none). */ public exp: f64) {}
}

// The rules with %u and %c put in (for SUBSCRIBE's exact match); rules using a value that holds
// + or # are left out, as topicMatchesPattern never matches them.
function expand(rules: string[], username: string, clientid: string): string[] {
  const out = new Array<string>();
  const unsafe = (v: string): bool => v.includes("+") || v.includes("#");
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i];
    if ((r.includes("%u") && unsafe(username)) || (r.includes("%c") && unsafe(clientid))) continue;
    // split/join, not replaceAll: asc 0.27.37's replaceAll trapped (out of bounds) here with
    // client ids of 12 bytes and more (the spec's long client id checks this path).
    out.push(r.split("%u").join(username).split("%c").join(clientid));
  }
  return out;
}

const grants = new Map<string, Grant>();

// The strings of acl.NAME, or [] when absent; null when present but not an array of strings.
function list(acl: JwtClaims | null, name: string): string[] | null {
  if (acl === null || !acl.has(name)) return [];
  return acl.stringArray(name);
}

/** Loads the keys (at every start and SIGHUP: the file is read again) and the leeway. */
export function security_init(opts: Options, reload: bool): bool {
  const l = opts.get("jwt_leeway");
  if (l !== null) {
    const n = I32.parseInt(l);
    if (n < 0 || n > 3600 || n.toString() != l) {
      log.error("jwt: jwt_leeway must be a whole number of seconds from 0 to 3600");
      return false;
    }
    leeway = n;
  }
  if (verifier.load() != 0) {
    // The host has logged why (not set, not found, not a key...).
    log.error("jwt: no keys from jwt_key_file");
    return false;
  }
  log.info("jwt: keys loaded from jwt_key_file" + (reload ? " (reloaded)" : ""));
  return true;
}

export function unpwd_check(username: Str | null, password: Str | null): Decision {
  const id = client.id();
  if (id !== null) grants.delete(id);
  if (username === null || password === null) return Decision.Deny;
  const claims = verifier.verify(password, leeway).claims;
  if (claims === null) return Decision.Deny; // the host logged why
  if (!claims.stringIs("sub", username)) {
    log.warning("jwt: token sub is not the username " + username.toString());
    return Decision.Deny;
  }
  const acl = claims.object("acl");
  const pub = list(acl, "pub"), sub = list(acl, "sub"), all = list(acl, "all");
  if (pub === null || sub === null || all === null || (claims.has("acl") && acl === null)) {
    log.warning("jwt: the acl claim of " + username.toString() + " is not {\"pub\": [...], \"sub\": [...], \"all\": [...]} of strings");
    return Decision.Deny;
  }
  if (id !== null) {
    const user = username.toString();
    const reads = sub.concat(all);
    grants.set(id, new Grant(user, pub.concat(all), reads, expand(reads, user, id), claims.number("exp")));
  }
  return Decision.Allow;
}

function any(rules: string[], topic: Str, username: Str | null, clientid: Str): bool {
  for (let i = 0; i < rules.length; i++) {
    if (topicMatchesPattern(rules[i], topic, username, clientid)) return true;
  }
  return false;
}

export function acl_check(clientid: Str, username: Str | null, topic: Str, access: Access): Decision {
  if (access == Access.Unsubscribe) return Decision.Allow;
  const id = clientid.toString();
  if (!grants.has(id) || username === null) return Decision.Deny;
  const g = grants.get(id);
  if (!username.equals(g.username)) return Decision.Deny;
  if (access == Access.Write) return any(g.pub, topic, username, clientid) ? Decision.Allow : Decision.Deny;
  if (access == Access.Subscribe) {
    for (let i = 0; i < g.filters.length; i++) if (topic.equals(g.filters[i])) return Decision.Allow;
  }
  return any(g.sub, topic, username, clientid) ? Decision.Allow : Decision.Deny;
}

/** Frees the rules of a client that left. */
export function on_disconnect(clientid: Str, username: Str | null): void {
  grants.delete(clientid.toString());
}

/**
 * Disconnects the clients whose token has expired (the broker carries the kick out after this
 * hook); their rules go at once, so nothing more is allowed to them meanwhile.
 */
export function on_tick(): void {
  const now = <f64>Date.now() / 1000;
  const ids = grants.keys();
  for (let i = 0; i < ids.length; i++) {
    const g = grants.get(ids[i]);
    if (!isNaN(g.exp) && now >= g.exp + <f64>leeway) {
      grants.delete(ids[i]);
      if (kickClient(ids[i]) == 0) log.info("jwt: the token of " + g.username + " (client " + ids[i] + ") expired: disconnecting");
    }
  }
}
