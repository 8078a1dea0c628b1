// The policy author's API. A policy imports what it needs from here and re-exports the ABI:
//
//   export * from "<path>/sdk/assembly/abi";
//   import { Str, Decision, Access, topicMatchesSub } from "<path>/sdk/assembly";
//
// From the npm package (docs/PACKAGES.md) the import is `from "mosquitto-wasm-auth"`, and a
// project whose asconfig extends "mosquitto-wasm-auth/asconfig.json" needs no ABI line.
//   export function acl_check(clientid: Str, username: Str | null, topic: Str, access: i32): Decision { ... }
//
// Hooks (all optional, at least one of unpwd_check / acl_check / psk_key_get / on_message), see docs/ABI.md:
//   plugin_init(opts: Options): void | bool          plugin_cleanup(): void
//   security_init(opts: Options, reload: bool): void | bool   security_cleanup(reload: bool): void
//   unpwd_check(username: Str | null, password: Str | null): Decision | bool
//   acl_check(clientid: Str, username: Str | null, topic: Str, access: i32): Decision | bool
//   acl_check(clientid, username, topic, access, payload: Str, qos: i32, retain: bool): Decision | bool
//   psk_key_get(identity: Str, hint: Str): string | null     (hex key, null = no key)
//   on_disconnect(clientid: Str, username: Str | null): void  on_tick(): void   (events, see actions.ts)
//   on_message(clientid: Str, username: Str | null, topic: Str, payload: Str, qos: i32, retain: bool): Decision | bool
//                                    (deny = drop, allow = deliver as rewritten; see message.ts)
//   on_message_out(clientid: Str, username: Str | null, topic: Str, payload: Str, qos: i32, retain: bool): Decision | bool
//                                    (2.1 builds: one subscriber's copy, its clientid/username; see message.ts)
//   on_subscribe(clientid: Str, username: Str | null, topic: Str, qos: i32): Decision | bool
//                                    (2.1 builds: deny = refuse, allow = keep as rewritten; see subscribe.ts)
//   ext_auth_start(clientid: Str, method: Str, data: Str): AuthDecision   (MQTT 5 AUTH, see extauth.ts)
//   ext_auth_continue(clientid: Str, method: Str, data: Str): AuthDecision
// A cacheable policy (wasm_auth_acl_cacheable() returning 1) may add, see grants.ts:
//   wasm_auth_acl_grants(clientid: Str, username: Str | null): Grants | null

export {
  Access, Decision,
  MOSQ_ACL_NONE, MOSQ_ACL_READ, MOSQ_ACL_WRITE, MOSQ_ACL_SUBSCRIBE, MOSQ_ACL_UNSUBSCRIBE,
  LOG_DEBUG, LOG_INFO, LOG_NOTICE, LOG_WARNING, LOG_ERR,
} from "./constants";
export { Str, Bytes, STR_SLACK } from "./str";
export { topicMatchesSub, topicMatchesSubStr, hostTopicMatchesSub, topicMatchesPattern, topicMatchesPatternStr, topicUnder, isTopicLevel } from "./topic";
export { log, logAt } from "./log";
export { client } from "./client";
export { verifyPassword, verifyPasswordAt, PasswordHash } from "./password";
export { base64DecodedLength, base64Decode, base64EncodedLength, base64Encode } from "./base64";
export { Options, OptionFileError } from "./options";
export { isSpace, Lines, LineReader, OptionFileLines } from "./lines";
export { parseJson, parseJsonString, JsonValue, JsonKind, JsonError, JsonResult, JSON_MAX_DEPTH, JSON_MAX_STRING_BYTES } from "./json";
export { Grants, Fallback } from "./grants";
export { ActionResult, kickClient, kickUser, publish } from "./actions";
export { JwtError, JwtClaims, JwtResult, JwtVerifier, loadJwtKey, verifyJwt, JWT_MAX_BYTES, JWT_MAX_CLAIMS_BYTES } from "./jwt";
export { RateLimiter } from "./ratelimit";
export { setMessageTopic, setMessagePayload, setMessageRetain, redactJsonStrings } from "./message";
export { setSubscribeTopic, setSubscribeQos } from "./subscribe";
export { allow, defer, deny, reasonsMaybeWanted, reasonsWanted, setReason, Reason, REASON_MAX_BYTES } from "./reason";
export { AuthDecision, AUTH_DATA_MAX_BYTES, setAuthData, setAuthDataString } from "./extauth";
export { sha256, hmacSha256, pbkdf2Sha256, constantTimeEqual, SHA256_BYTES, CRYPTO_MAX_INPUT_BYTES, PBKDF2_SHA256_MAX_ITERATIONS } from "./crypto";
