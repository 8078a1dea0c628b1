// The default policy's grants (docs/ABI.md, "Grants"): acl_file's decision for one client as
// filters the host matches itself. Tier 0 is the client's own `topic` rules, tier 1 the patterns
// with %u and %c replaced by its username and client id; in each, a matching deny beats a grant,
// as in acl_check (hot.ts). Everything else is denied; SUBSCRIBE and UNSUBSCRIBE are allowed.
import { Acl, NAME_MARK } from "../load/acl";
import { Access, Fallback, Grants, Str } from "../../sdk/assembly";
import { hasWildcardAt } from "../../sdk/assembly/words";
import { LOWER_C, LOWER_U, PERCENT } from "../../sdk/assembly/utf8";


/** Grants equal to acl_check's decisions under `acl` (null: no acl_file, everything allowed). */
export function aclGrants(acl: Acl | null, clientid: Str, username: Str | null): Grants {
  const g = new Grants()
    .otherwise(Access.Subscribe, Fallback.Allow)
    .otherwise(Access.Unsubscribe, Fallback.Allow);
  if (acl === null) return g.otherwise(Access.Read, Fallback.Allow).otherwise(Access.Write, Fallback.Allow);
  g.otherwise(Access.Read, Fallback.Deny).otherwise(Access.Write, Fallback.Deny);
  const own = acl.ownRules(username);
  for (let i = own[0]; i < own[1]; i++) addRule(g, acl, i, false, clientid, username);
  // No pattern applies to a username or client id holding `+` or `#` (CVE-2017-7650).
  if (acl.patEnd == acl.patStart) return g;
  if (username !== null && hasWildcardAt(username.ptr, <i32>username.len)) return g;
  if (hasWildcardAt(clientid.ptr, <i32>clientid.len)) return g;
  g.nextTier();
  for (let i = acl.patStart; i < acl.patEnd; i++) addRule(g, acl, i, true, clientid, username);
  return g;
}

// Adds rule `i` as a grant, its filter as the client's values make it.
function addRule(g: Grants, acl: Acl, i: i32, pattern: bool, clientid: Str, username: Str | null): void {
  const f = substitute(acl.filterPtr(i), acl.filterLen(i), pattern, clientid, username);
  if (f !== null) g.addBytes(changetype<usize>(f), f.length, acl.ruleAccess(i), acl.isDeny(i));
}

// The filter with the user's name (NAME_MARK, in a user's own rules) and, in a pattern, every %u
// and %c replaced as plain text; null when it needs a username and there is none (a pattern that
// does not apply), or the result is empty (it matches nothing).
function substitute(p: usize, n: i32, pattern: bool, clientid: Str, username: Str | null): StaticArray<u8> | null {
  let size = 0;
  for (let i = 0; i < n; i++) {
    const c = <u32>load<u8>(p + <usize>i);
    if (c == NAME_MARK) {
      if (username === null) return null;
      size += <i32>username.len;
      continue;
    }
    if (pattern && c == PERCENT && i + 1 < n) {
      const t = <u32>load<u8>(p + <usize>i + 1);
      if (t == LOWER_U) {
        if (username === null) return null;
        size += <i32>username.len;
        i++;
        continue;
      }
      if (t == LOWER_C) {
        size += <i32>clientid.len;
        i++;
        continue;
      }
    }
    size++;
  }
  if (size == 0) return null;
  const out = new StaticArray<u8>(size);
  const o = changetype<usize>(out);
  let at: usize = 0;
  for (let i = 0; i < n; i++) {
    const c = <u32>load<u8>(p + <usize>i);
    if (c == NAME_MARK) {
      memory.copy(o + at, username!.ptr, <usize>username!.len);
      at += <usize>username!.len;
      continue;
    }
    if (pattern && c == PERCENT && i + 1 < n) {
      const t = <u32>load<u8>(p + <usize>i + 1);
      const v: Str | null = t == LOWER_U ? username : t == LOWER_C ? clientid : null;
      if (v !== null) {
        memory.copy(o + at, v.ptr, <usize>v.len);
        at += <usize>v.len;
        i++;
        continue;
      }
    }
    store<u8>(o + at, <u8>c);
    at++;
  }
  return out;
}
