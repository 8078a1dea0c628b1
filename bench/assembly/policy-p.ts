// Policy P (docs/BENCHMARKS.md) written by hand for speed, as the benchmark's hand-written
// AssemblyScript example (2): users and hashes from plugin_opt_password_file (mosquitto_passwd
// format) loaded once; an ACL check that compares raw bytes in place: no allocation, no UTF-16
// decoding, one pass over the topic prefix.
//   - user U may read, write, subscribe and unsubscribe users/U and users/U/...;
//   - anyone may read, subscribe and unsubscribe public and public/...;
//   - everything else is denied.
// policy-p-sdk.ts is the same policy written with the SDK's topic helpers.
export * from "../../sdk/assembly/abi";
import { Str, Access, Decision } from "../../sdk/assembly";

const SLASH: u32 = 0x2f;
const PLUS: u32 = 0x2b;
const HASH: u32 = 0x23;
// "user" / "publ" as little-endian u32, "s/" / "ic" as u16: the prefixes compared in 2 loads each.
const USER4: u32 = 0x72657375;
const S_SLASH2: u32 = 0x2f73;
const PUBL4: u32 = 0x6c627570;
const IC2: u32 = 0x6369;

export { plugin_init, unpwd_check } from "./users";

/** True when `topic` is `users/<username>` or lies below it; a username with a wildcard never matches. */
function ownSubtree(topic: Str, username: Str): bool {
  const t = topic.ptr;
  const n = <usize>username.len;
  const tl = <usize>topic.len;
  if (n == 0 || tl < 6 + n) return false;
  if (load<u32>(t) != USER4 || <u32>load<u16>(t + 4) != S_SLASH2) return false;
  const u = username.ptr;
  for (let i: usize = 0; i < n; i++) {
    const c = <u32>load<u8>(u + i);
    if (c != <u32>load<u8>(t + 6 + i) || c == PLUS || c == HASH) return false;
  }
  return tl == 6 + n || <u32>load<u8>(t + 6 + n) == SLASH;
}

/** True when `topic` is `public` or lies below it. */
function publicSubtree(topic: Str): bool {
  const t = topic.ptr;
  const tl = topic.len;
  if (tl < 6 || load<u32>(t) != PUBL4 || <u32>load<u16>(t + 4) != IC2) return false;
  return tl == 6 || <u32>load<u8>(t + 6) == SLASH;
}

/** Own subtree: everything; public subtree: read side only; else deny. */
export function acl_check(clientid: Str, username: Str | null, topic: Str, access: i32): Decision {
  if (username !== null && ownSubtree(topic, username)) return Decision.Allow;
  if (access != Access.Write && publicSubtree(topic)) return Decision.Allow;
  return Decision.Deny;
}
