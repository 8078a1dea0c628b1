// ACL topic filters matched in place: the token programs load/compile.ts writes (the format:
// rule.ts), against a PUBLISH topic.
//
// Matching is mosquitto 2.0.11's: `pattern` lines substitute `%u`/`%c` as plain text wherever
// they appear (checked against the real broker: `pattern read mid%u/#` grants `midbob/1` to bob,
// and a username "me/x" spans two levels), then match the result like
// mosquitto_topic_matches_sub: `+` takes one level (possibly empty), `#` the rest including the
// parent (`a/#` matches `a`), and a filter starting with `$` matches only topics starting with
// `$` and the other way round. Because the values are compared as byte runs, no substituted
// filter is ever built: the hot path allocates nothing. The SDK's topicMatchesPattern has the
// same semantics (a spec checks both against the broker's), but re-reads the pattern text on
// every call; the token program here is compiled once, which is what the hot path needs.
import { eqBytesLong, lowBytes } from "../../sdk/assembly/words";
import { levelEndLong, slashBits, valueAtCall } from "./memo";
import { PLUS_LEN_MASK, PLUS_RUNS_SHIFT, T_HASH, T_LIT_HASH, T_PLUS, T_USER } from "../rule";
import { Str } from "../../sdk/assembly";
import { DOLLAR, SLASH } from "../../sdk/assembly/utf8";


// 1 when the filter (its tokens from `p` to `stop`) as it reads after substitution starts with
// `$`, else 0 (empty filter too). Recursive over the leading empty values (rarely more than
// one): a recursive function is not inlined, and the matcher's size is charged on every call.
function dynamicDollar(p: usize, stop: usize, arena: usize, user: Str | null, client: Str | null): i32 {
  if (p >= stop) return 0;
  const kl = load<i32>(p);
  const kind = kl & 7;
  let c: u32 = 0;
  if (kind <= T_LIT_HASH) {
    // A LIT_HASH with an empty literal reads "/#".
    c = (kl >> 3) > 0 ? <u32>load<u8>(arena + <usize>load<i32>(p, 4)) : SLASH;
  } else if (kind >= T_USER) {
    const v = kind == T_USER ? user : client;
    if (v === null || v.len == 0) return dynamicDollar(p + 8, stop, arena, user, client);
    c = <u32>load<u8>(v.ptr);
  }
  return c == DOLLAR ? 1 : 0;
}

/**
 * True when the topic (`tlen > 0` bytes at `tp`; `topicDollar` 1 when it starts with `$`)
 * matches the compiled filter at `prog` (a pointer into the code table), with `%u`/`%c` standing
 * for `user`/`client`. The caller skips USER filters when `user` is null. The topic is a PUBLISH
 * topic (no wildcards: the broker checks that first). The caller has started the check's memo
 * (memo.ts beginCheck) since the topic or a value last changed.
 *
 * Each token costs a constant plus the bytes it compares, never a rescan: a `+` takes the level
 * up to the next `/` with one word test when the level is shorter than a word, else from the
 * memo (each level scanned once per check, whatever the number of rules); a literal compares its
 * own bytes (a masked word up to 8); a value compares once per position and check (memo.ts).
 * A call (the patterns' generic path): the fuel metering charges a loop by its size on every
 * turn, so the token loop stays small and the long cases are calls.
 */
export function matchFilter(prog: usize, arena: usize, tp: usize, tlen: i32, topicDollar: i32,
                            user: Str | null, client: Str | null): bool {
  const head = load<i32>(prog);
  let p = prog + 4;
  const stop = p + (<usize>(head >> 2) << 3);
  const dollar = head & 3;
  if (dollar != topicDollar) {
    if (dollar != 2) return false;
    if (dynamicDollar(p, stop, arena, user, client) != topicDollar) return false;
  }
  let ti = 0;
  while (p < stop) {
    const kl = load<i32>(p);
    const kind = kl & 7;
    if (kind >= T_HASH) {
      if (kind == T_HASH) return true;
      // The username or the client id (a call: memo.ts).
      const v = kind == T_USER ? user : client;
      if (v === null) return false;
      const m = <i32>v.len;
      if (tlen - ti < m) return false;
      if (!valueAtCall(v.ptr, m, kind - T_USER, tp, tlen, ti)) return false;
      ti += m;
    } else {
      if (kind == T_PLUS) {
        // A `+` always starts a level (a filter allows it only after a `/` or first), and takes
        // the bytes up to the next `/` or the end (none at the end: an empty level). `runs`
        // levels first, each followed by its "/".
        let runs = kl >>> PLUS_RUNS_SHIFT;
        while (true) {
          if (ti < tlen) {
            const z = slashBits(load<u64>(tp + <usize>ti));
            if (z != 0) {
              ti += <i32>(ctz(z) >> 3);
              if (ti > tlen) ti = tlen; // the `/` was past the end
            } else {
              ti = levelEndLong(tp, tlen, ti);
            }
          }
          if (runs == 0) break;
          if (ti >= tlen) return false; // no "/" after the level
          ti++;
          runs--;
        }
      }
      // The literal bytes (a PLUS's: those after its level, maybe none).
      const len = (kl >> 3) & PLUS_LEN_MASK;
      if (tlen - ti < len) return false;
      const a = arena + <usize>load<i32>(p, 4);
      if (len <= 8) {
        if (((load<u64>(a) ^ load<u64>(tp + <usize>ti)) & lowBytes(len)) != 0) return false;
      } else if (!eqBytesLong(a, tp + <usize>ti, len)) return false;
      ti += len;
      // "/#" matches the end of the topic, or a "/" and anything after it.
      if (kind == T_LIT_HASH) return ti == tlen || <u32>load<u8>(tp + <usize>ti) == SLASH;
    }
    p += 8;
  }
  return ti == tlen;
}
