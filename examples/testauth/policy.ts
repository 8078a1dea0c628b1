// testauth: the wasm counterpart of mosquitto_pyauth's test module. Every hook logs what it was
// called with and allows; psk_key_get answers with the key from plugin_opt_psk_key, if any.
// Useful to watch what the broker asks a policy and when (mosquitto -v shows the lines).
//
// Passwords are logged by length only: a test policy still runs in real brokers.
export * from "../../sdk/assembly/abi";
import {
  Decision, Options, Str, log, client,
  MOSQ_ACL_NONE, MOSQ_ACL_READ, MOSQ_ACL_WRITE, MOSQ_ACL_SUBSCRIBE, MOSQ_ACL_UNSUBSCRIBE,
} from "../../sdk/assembly";

const TAG = "testauth: ";

/** The key psk_key_get hands out (hex), from plugin_opt_psk_key; null when unset. */
let pskKey: string | null = null;

function quoted(s: Str | null): string {
  return s === null ? "(none)" : "\"" + s.toString() + "\"";
}

function describeOptions(opts: Options): string {
  let s = "{";
  for (let i = 0; i < <i32>opts.count; i++) {
    if (i > 0) s += ", ";
    s += opts.keyAt(i).toString() + ": \"" + opts.valueAt(i).toString() + "\"";
  }
  return s + "}";
}

// Access value as mosquitto's constant name.
function accessName(access: i32): string {
  if (access == MOSQ_ACL_NONE) return "MOSQ_ACL_NONE";
  if (access == MOSQ_ACL_READ) return "MOSQ_ACL_READ";
  if (access == MOSQ_ACL_WRITE) return "MOSQ_ACL_WRITE";
  if (access == MOSQ_ACL_SUBSCRIBE) return "MOSQ_ACL_SUBSCRIBE";
  if (access == MOSQ_ACL_UNSUBSCRIBE) return "MOSQ_ACL_UNSUBSCRIBE";
  return "access " + access.toString();
}

/** Logs the options and remembers plugin_opt_psk_key. */
export function plugin_init(opts: Options): void {
  log.info(TAG + "plugin_init (opts: " + describeOptions(opts) + ")");
  pskKey = opts.get("psk_key");
}

/** Logs the call. */
export function plugin_cleanup(): void {
  log.info(TAG + "plugin_cleanup");
}

/** Logs the options and the reload flag. */
export function security_init(opts: Options, reload: bool): void {
  log.info(TAG + "security_init (reload: " + (reload ? "true" : "false") + ", opts: " + describeOptions(opts) + ")");
}

/** Logs the reload flag. */
export function security_cleanup(reload: bool): void {
  log.info(TAG + "security_cleanup (reload: " + (reload ? "true" : "false") + ")");
}

/** Logs the username and the password's length, and allows. */
export function unpwd_check(username: Str | null, password: Str | null): Decision {
  const pw = password === null ? "(none)" : password.length.toString() + " bytes";
  log.info(TAG + "unpwd_check (username: " + quoted(username) + ", password: " + pw + ", protocol: " +
    client.protocolVersion().toString() + ")");
  return Decision.Allow;
}

/** Logs the request and allows. */
export function acl_check(clientid: Str, username: Str | null, topic: Str, access: i32): Decision {
  log.info(TAG + "acl_check (clientid: " + quoted(clientid) + ", username: " + quoted(username) + ", topic: " +
    quoted(topic) + ", access: " + accessName(access) + ")");
  return Decision.Allow;
}

/** Logs the identity and hint; returns plugin_opt_psk_key (null: no key, the handshake fails). */
export function psk_key_get(identity: Str, hint: Str): string | null {
  log.info(TAG + "psk_key_get (identity: " + quoted(identity) + ", hint: " + quoted(hint) + ", key: " +
    (pskKey !== null ? "from psk_key" : "none") + ")");
  return pskKey;
}
