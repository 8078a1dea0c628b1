// MQTT 5 enhanced authentication (docs/ABI.md, "Enhanced authentication"): a CONNECT with an
// authentication method asks the policy's ext_auth_start, each AUTH packet after it
// ext_auth_continue, both with (clientid, method, data):
//   export function ext_auth_start(clientid: Str, method: Str, data: Str): AuthDecision
// The exchange's state between the calls is the policy's to keep (keyed by client id; free it
// in on_disconnect); a failure of the hook refuses the client.
import { host_auth_data_out } from "./imports";

/** What ext_auth_start / ext_auth_continue return. */
export enum AuthDecision {
  /** Refuse the client (CONNACK / AUTH with reason "not authorized"). */
  Deny = 0,
  /** Authenticated: the data set with {@link setAuthData}, if any, goes out with the CONNACK. */
  Allow = 1,
  /** Let the next plugin decide. */
  Defer = 2,
  /** Send the data set with {@link setAuthData} in an AUTH packet and wait for the client's answer. */
  Continue = 3,
}

/** The longest AUTH data the host sends (WA_MAX_AUTH_DATA_BYTES). */
export const AUTH_DATA_MAX_BYTES: i32 = 65535;

/**
 * The AUTH data to send with the decision of the current ext_auth_* call (the last call wins):
 * true, or false outside those hooks or above {@link AUTH_DATA_MAX_BYTES} (nothing set).
 */
export function setAuthData(data: Uint8Array): bool {
  return host_auth_data_out(data.dataStart, <u32>data.length) == 0;
}

/** {@link setAuthData} with text, sent as UTF-8. */
export function setAuthDataString(s: string): bool {
  const b = String.UTF8.encode(s);
  return host_auth_data_out(changetype<usize>(b), <u32>b.byteLength) == 0;
}
