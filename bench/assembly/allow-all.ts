// Allows every ACL request without looking at it. Not a policy anyone should run: the benchmark
// uses it to measure the plugin's fixed cost per acl_check (marshalling the request, the wasm3
// call, fuel metering entry, reading the result), which every real policy pays on top of its own
// logic (docs/BENCHMARKS.md).
export * from "../../sdk/assembly/abi";
import { Str, Decision } from "../../sdk/assembly";

/** Always Allow. */
export function acl_check(clientid: Str, username: Str | null, topic: Str, access: i32): Decision {
  return Decision.Allow;
}
