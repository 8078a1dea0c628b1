// Every accepted spelling at once: builds with the transform (no expect lines).
export * from "../../../sdk/assembly/abi";
export * from "./lib/psk";
export { check as acl_check } from "./lib/acl";
import { AuthDecision, Decision, Grants, Str, Options } from "../../../sdk/assembly";

type Name = Str | null;
type Answer = bool;

export function plugin_init(opts: Options): bool { return opts.count >= 0; }
export function plugin_cleanup(): void {}
export function security_init(opts: Options, reload: bool): void {}
export function security_cleanup(reload: bool): void {}
export function unpwd_check(username: Name, password: Str | null): Answer { return username != null && password != null; }
export function wasm_auth_acl_cacheable(): bool { return true; }
// Exports that are not hooks and are not near a hook's name are left alone.
export function helper_for_tests(): i32 { return 1; }
export function on_disconnect(clientid: Str, username: Name): void {}
export function on_tick(): void {}
export function session_check(clientid: Str, username: Name): Answer { return username !== null; }
export function on_message(clientid: Str, username: Name, topic: Str, payload: Str, qos: i32, retain: bool): Answer { return qos >= 0; }
export function wasm_auth_acl_grants(clientid: Str, username: Name): Grants | null { return username === null ? null : new Grants(); }
export function ext_auth_start(clientid: Str, method: Str, data: Str): AuthDecision { return AuthDecision.Continue; }
export function ext_auth_continue(clientid: Str, method: Str, data: Str): i32 { return 1; }
export function on_message_out(clientid: Str, username: Name, topic: Str, payload: Str, qos: i32, retain: i32): Answer { return retain >= 0; }
export function on_subscribe(clientid: Str, username: Name, topic: Str, qos: i32): Decision { return Decision.Defer; }
