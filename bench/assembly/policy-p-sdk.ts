// Policy P (docs/BENCHMARKS.md) written the idiomatic way with the SDK's topic helpers
// (Str.levelEquals / levelEqualsStr / hasWildcard): users and hashes from plugin_opt_password_file
// (mosquitto_passwd format) loaded once, an ACL check that reads in place and never allocates.
// `make bench` measures it next to policy-p.ts (same policy, byte-level) to show what the
// helpers cost per call.
//   - user U may read, write, subscribe and unsubscribe users/U and users/U/...;
//   - anyone may read, subscribe and unsubscribe public and public/...;
//   - everything else is denied.
export * from "../../sdk/assembly/abi";
import { Str, Access, Decision } from "../../sdk/assembly";

export { plugin_init, unpwd_check } from "./users";

/** Own subtree: everything; public subtree: read side only; else deny. Allocation-free. */
export function acl_check(clientid: Str, username: Str | null, topic: Str, access: i32): Decision {
  // A username holding a wildcard must not widen its own subtree (cf. CVE-2017-7650).
  if (username !== null && topic.levelEquals(0, "users") && topic.levelEqualsStr(1, username)
      && !username.hasWildcard()) {
    return Decision.Allow;
  }
  if (access != Access.Write && topic.levelEquals(0, "public")) return Decision.Allow;
  return Decision.Deny;
}
