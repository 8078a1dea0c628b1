// MQTT topic filter matching in the guest, without allocation and without a host call.
// Semantics are mosquitto's (mosquitto_topic_matches_sub): `+` matches one level (also an empty
// one), `#` matches the rest including the parent level (`a/#` matches `a`), topics starting with
// `$` are not matched by a filter starting with a wildcard, and a topic containing `+`/`#` or an
// invalid filter never matches. mosquitto 2.0.11 returns a match for a few invalid filters (e.g.
// `a/+/#b` against `a/x`); here every invalid filter is refused, which is what the broker's own
// subscription check would have done before matching.
import { Str } from "./str";
import { matchUtf16, findByte, hasWildcardBytes, bytesEqual, SLASH, PLUS, HASH, DOLLAR } from "./utf8";
import { host_topic_matches_sub } from "./imports";

const PERCENT: u32 = 0x25;
const LOWER_U: u32 = 0x75;
const LOWER_C: u32 = 0x63;

// Filter text is read through one of two unit widths: u16 for AssemblyScript strings, u8 for Str
// bytes. Every character that matters for structure (/ + # $ %) is ASCII, so the two forms have
// the same structure unit by unit; only literal comparison differs.
// @ts-ignore: decorator
@inline
function unitAt<W>(p: usize, i: i32): u32 {
  if (sizeof<W>() == 1) return <u32>load<u8>(p + <usize>i);
  return <u32>load<u16>(p + (<usize>i << 1));
}

function findUnit<W>(p: usize, from: i32, end: i32, c: u32): i32 {
  let i = from;
  while (i < end && unitAt<W>(p, i) != c) i++;
  return i;
}

function hasWildcardUnits<W>(p: usize, from: i32, end: i32): bool {
  for (let i = from; i < end; i++) {
    const c = unitAt<W>(p, i);
    if (c == PLUS || c == HASH) return true;
  }
  return false;
}

// Literal filter level [from, to) against topic bytes [off, end): offset after the match or -1.
function matchLiteral<W>(fp: usize, from: i32, to: i32, tp: usize, off: i32, end: i32): i32 {
  if (sizeof<W>() == 2) return matchUtf16(fp, from, to, tp, off, end);
  const n = to - from;
  if (end - off < n) return -1;
  return bytesEqual(fp + <usize>from, tp + <usize>off, <usize>n) ? off + n : -1;
}

/**
 * Core matcher. `fp/flen`: filter (units of W); `tp/tlen`: topic bytes. With `patterns`, a filter
 * level that is exactly `%u` / `%c` stands for the username / client id bytes (mosquitto acl_file
 * `pattern`); an absent value or one containing a wildcard makes the filter never match.
 */
function matchFilter<W>(fp: usize, flen: i32, tp: usize, tlen: i32, patterns: bool, user: Str | null, client: Str | null): bool {
  if (flen == 0 || tlen == 0) return false;

  // `$` rule, applied to the filter as it reads after substitution.
  let filterDollar = unitAt<W>(fp, 0) == DOLLAR;
  if (patterns && unitAt<W>(fp, 0) == PERCENT && flen >= 2 && (flen == 2 || unitAt<W>(fp, 2) == SLASH)) {
    const c1 = unitAt<W>(fp, 1);
    const v: Str | null = c1 == LOWER_U ? user : c1 == LOWER_C ? client : null;
    if (v !== null) filterDollar = v.len > 0 && <u32>load<u8>(v.ptr) == DOLLAR;
  }
  if (filterDollar != (<u32>load<u8>(tp) == DOLLAR)) return false;

  let fi = 0;
  let ti = 0;
  while (true) {
    const fe = findUnit<W>(fp, fi, flen, SLASH);
    const n = fe - fi;
    const c0 = n > 0 ? unitAt<W>(fp, fi) : 0;
    let te: i32;
    if (n == 1 && c0 == HASH) {
      // `#` must be the last level; it takes the rest of the topic, which must hold no wildcard.
      return fe == flen && !hasWildcardBytes(tp, ti, tlen);
    } else if (n == 1 && c0 == PLUS) {
      te = findByte(tp, ti, tlen, SLASH);
      if (hasWildcardBytes(tp, ti, te)) return false;
    } else if (patterns && n == 2 && c0 == PERCENT && (unitAt<W>(fp, fi + 1) == LOWER_U || unitAt<W>(fp, fi + 1) == LOWER_C)) {
      // Substitution as a whole level. The value may contain `/` and then spans several topic
      // levels, exactly as mosquitto's textual substitution would.
      const v = unitAt<W>(fp, fi + 1) == LOWER_U ? user : client;
      if (v === null) return false;
      const vlen = <i32>v.len;
      if (hasWildcardBytes(v.ptr, 0, vlen)) return false;
      if (tlen - ti < vlen || !bytesEqual(v.ptr, tp + <usize>ti, <usize>vlen)) return false;
      te = ti + vlen;
      if (te < tlen && <u32>load<u8>(tp + <usize>te) != SLASH) return false;
    } else {
      if (hasWildcardUnits<W>(fp, fi, fe)) return false; // e.g. `a+`, `#b`: invalid filter
      te = findByte(tp, ti, tlen, SLASH);
      if (matchLiteral<W>(fp, fi, fe, tp, ti, te) != te) return false;
    }
    if (fe == flen) return te == tlen;
    if (te == tlen) {
      // Topic exhausted, filter not: only a final `/#` still matches (`a/#` matches `a`).
      return flen - fe == 2 && unitAt<W>(fp, fe + 1) == HASH;
    }
    fi = fe + 1;
    ti = te + 1;
  }
}

/** True when `topic` matches the subscription filter `sub` (mosquitto semantics, no allocation). */
export function topicMatchesSub(sub: string, topic: Str): bool {
  return matchFilter<u16>(changetype<usize>(sub), sub.length, topic.ptr, <i32>topic.len, false, null, null);
}

/** {@link topicMatchesSub} with the filter given as UTF-8 bytes. */
export function topicMatchesSubStr(sub: Str, topic: Str): bool {
  return matchFilter<u8>(sub.ptr, <i32>sub.len, topic.ptr, <i32>topic.len, false, null, null);
}

/**
 * Asks the host (mosquitto_topic_matches_sub itself in the plugin): 1 match, 0 no match,
 * -1 invalid filter or topic. Costs a host call; meant for parity checks.
 */
export function hostTopicMatchesSub(sub: Str, topic: Str): i32 {
  return host_topic_matches_sub(sub.ptr, sub.len, topic.ptr, topic.len);
}

/**
 * mosquitto acl_file `pattern` matching: `pattern` is a topic filter in which a level that is
 * exactly `%u` stands for the username and `%c` for the client id (elsewhere `%u` is literal text).
 * A pattern using `%u`/`%c` never matches when that value is absent or contains `+` or `#`
 * (CVE-2017-7650). No allocation.
 */
export function topicMatchesPattern(pattern: string, topic: Str, username: Str | null, clientid: Str | null): bool {
  return matchFilter<u16>(changetype<usize>(pattern), pattern.length, topic.ptr, <i32>topic.len, true, username, clientid);
}

/** {@link topicMatchesPattern} with the pattern given as UTF-8 bytes. */
export function topicMatchesPatternStr(pattern: Str, topic: Str, username: Str | null, clientid: Str | null): bool {
  return matchFilter<u8>(pattern.ptr, <i32>pattern.len, topic.ptr, <i32>topic.len, true, username, clientid);
}
