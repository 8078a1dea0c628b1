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

// Literal filter units [from, to) against topic bytes [off, end): offset after the match or -1.
function matchLiteral<W>(fp: usize, from: i32, to: i32, tp: usize, off: i32, end: i32): i32 {
  if (sizeof<W>() == 2) return matchUtf16(fp, from, to, tp, off, end);
  const n = to - from;
  if (end - off < n) return -1;
  return bytesEqual(fp + <usize>from, tp + <usize>off, <usize>n) ? off + n : -1;
}

/**
 * Core matcher. `fp/flen`: filter (units of W); `tp/tlen`: topic bytes. With `patterns`, every
 * `%u` / `%c` in the filter text stands for the username / client id bytes, anywhere in the
 * text (mosquitto 2.0.11 acl_file `pattern`: plain text substitution). Then a username or client
 * id holding a wildcard, or an absent value the filter uses, makes the filter never match.
 * The filter text itself must be a valid subscription filter (`+`/`#` whole levels, `#` last);
 * values hold no wildcard, so substitution cannot make a valid filter invalid.
 */
function matchFilter<W>(fp: usize, flen: i32, tp: usize, tlen: i32, patterns: bool, user: Str | null, client: Str | null): bool {
  if (flen == 0 || tlen == 0) return false;

  // `$` rule, applied to the filter as it reads after substitution (an empty value is skipped).
  let first: u32 = unitAt<W>(fp, 0);
  if (patterns) {
    // mosquitto refuses every pattern to a client whose username or client id holds `+`/`#`.
    if (user !== null && hasWildcardBytes(user.ptr, 0, <i32>user.len)) return false;
    if (client !== null && hasWildcardBytes(client.ptr, 0, <i32>client.len)) return false;
    let i = 0;
    while (first == PERCENT && i + 1 < flen) {
      const d = unitAt<W>(fp, i + 1);
      if (d != LOWER_U && d != LOWER_C) break;
      const v = d == LOWER_U ? user : client;
      if (v === null) return false;
      i += 2;
      if (v.len > 0) {
        first = <u32>load<u8>(v.ptr);
        break;
      }
      first = i < flen ? unitAt<W>(fp, i) : 0;
    }
  }
  if ((first == DOLLAR) != (<u32>load<u8>(tp) == DOLLAR)) return false;

  let fi = 0;
  let ti = 0;
  while (fi < flen) {
    const c = unitAt<W>(fp, fi);
    if (c == PLUS || c == HASH) {
      // Wildcards are whole levels of the filter text: `a+`, `+a`, `#/a` are invalid filters.
      if (fi > 0 && unitAt<W>(fp, fi - 1) != SLASH) return false;
      // `#` takes the rest of the topic, which must hold no wildcard.
      if (c == HASH) return fi == flen - 1 && !hasWildcardBytes(tp, ti, tlen);
      if (fi + 1 < flen && unitAt<W>(fp, fi + 1) != SLASH) return false;
      const te = findByte(tp, ti, tlen, SLASH);
      if (hasWildcardBytes(tp, ti, te)) return false;
      ti = te;
      fi++;
      continue;
    }
    if (patterns && c == PERCENT && fi + 1 < flen) {
      const d = unitAt<W>(fp, fi + 1);
      if (d == LOWER_U || d == LOWER_C) {
        // The value's bytes, wherever they fall: a `/` in it spans topic levels.
        const v = d == LOWER_U ? user : client;
        if (v === null) return false;
        const vlen = <i32>v.len;
        if (tlen - ti < vlen || !bytesEqual(v.ptr, tp + <usize>ti, <usize>vlen)) return false;
        ti += vlen;
        fi += 2;
        continue;
      }
    }
    // A literal run up to the next wildcard or substitution (a lone `%` is literal).
    let re = fi + 1;
    while (re < flen) {
      const u = unitAt<W>(fp, re);
      if (u == PLUS || u == HASH || (patterns && u == PERCENT)) break;
      re++;
    }
    // A run ending in "/" before the final `#`: the topic may also end where the "/" is
    // (`a/#` matches `a`).
    if (re == flen - 1 && unitAt<W>(fp, re) == HASH && unitAt<W>(fp, re - 1) == SLASH) {
      const o = matchLiteral<W>(fp, fi, re - 1, tp, ti, tlen);
      if (o < 0) return false;
      if (o == tlen) return true;
    }
    const o = matchLiteral<W>(fp, fi, re, tp, ti, tlen);
    if (o < 0) return false;
    ti = o;
    fi = re;
  }
  return ti == tlen;
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
 * mosquitto 2.0.11 acl_file `pattern` matching: every `%u` in `pattern` stands for the username
 * and every `%c` for the client id, substituted as plain text wherever they appear (as the broker
 * does: `mid%u/#` grants bob `midbob/1`, and a username `a/b` spans two topic levels); the result
 * is matched like {@link topicMatchesSub}. Never matches when the username or client id holds
 * `+` or `#` (mosquitto refuses every pattern to such a client, CVE-2017-7650), when the pattern
 * uses `%u`/`%c` and that value is absent, or when the pattern text is not a valid filter.
 * No allocation.
 */
export function topicMatchesPattern(pattern: string, topic: Str, username: Str | null, clientid: Str | null): bool {
  return matchFilter<u16>(changetype<usize>(pattern), pattern.length, topic.ptr, <i32>topic.len, true, username, clientid);
}

/** {@link topicMatchesPattern} with the pattern given as UTF-8 bytes. */
export function topicMatchesPatternStr(pattern: Str, topic: Str, username: Str | null, clientid: Str | null): bool {
  return matchFilter<u8>(pattern.ptr, <i32>pattern.len, topic.ptr, <i32>topic.len, true, username, clientid);
}

/** True when `topic` is `level` or lies below it (`level` itself, or `level/...`). */
export function topicUnder(topic: Str, level: string): bool {
  return topic.equals(level) || (topic.startsWith(level) && topic.byteAt(level.length) == SLASH);
}

/**
 * True when `s` can stand as one topic level of a topic or filter the policy builds (e.g. a
 * username in `users/<name>/inbox`): not empty, and no `/`, `+`, `#` or NUL.
 */
export function isTopicLevel(s: Str): bool {
  if (s.isEmpty()) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.byteAt(i);
    if (c == SLASH || c == PLUS || c == HASH || c == 0) return false;
  }
  return true;
}
