// What one check learns about its topic and values, so that no rule pays again for what another
// rule already scanned: the end of a topic level (a `+` takes it) and whether the username or the
// client id occurs at a topic position (a %u or %c at that position). Without it a check costs
// the topic's length times the number of rules: 30 patterns `+/+/%c/N/#` and a 16,000-byte
// topic without `/` ran 10,000,000 units of fuel out, each `+` scanning the whole
// topic again. With it every level is scanned once per check and every value is compared once
// per position, so a check costs its fields' lengths plus a constant per rule token
// (assembly/README.md, "Cost of a check").
//
// The memo is a u32 per topic position, valid for one check: an entry holds the stamp of the
// check that wrote it, so starting a check (beginCheck) is one increment, not a clearing. Only
// the slow paths use it (a level longer than a word, a value longer than 16 bytes): the hot
// path never reaches this file. hot.ts starts a check on its first slow call.
import { hasWildcardSlow, lowBytes, wildBits } from "../../sdk/assembly/words";
import { HIGHS, ONES } from "../../sdk/assembly/words";

/** Topics up to this many bytes (MQTT's limit) use the memo; longer ones (never from the host) are rescanned. */
const MEMO_MAX_TOPIC: i32 = 65535;
/** One u32 per topic position. */
const MEMO_BYTES: usize = 65536 << 2;

// An entry: the check's stamp in the top 11 bits, then what is known at this position.
const STAMP_UNIT: u32 = 1 << 21;
const STAMP_MASK: u32 = 0xffe00000;
/** The end of the level from this position (the low 16 bits) is known. */
const LEVEL_KNOWN: u32 = 1 << 20;
const LEVEL_MASK: u32 = 0xffff;
/**
 * Whether the username (value 0) or client id (value 1) occurs here is known: VALUE_KNOWN << 2 *
 * value; the bit above it says that it does.
 */
const VALUE_KNOWN: u32 = 1 << 16;

let memo: usize = 0;
let stamp: u32 = 0;
// Per check: bit 2v set once value v's holding `+` or `#` is known, bit 2v + 1 when it holds one.
let wildKnown: u32 = 0;

/** Reserves the memo (256 KiB, once per instance): called when an acl_file is installed. */
export function memoInit(): void {
  if (memo != 0) return;
  memo = heap.alloc(MEMO_BYTES);
  memory.fill(memo, 0, MEMO_BYTES);
  stamp = STAMP_UNIT;
}

/**
 * Starts a check: forgets everything the memo knew (one increment; the table is cleared only
 * when the 11-bit stamp wraps, every 2,047 checks that reach a slow path).
 */
export function beginCheck(): void {
  wildKnown = 0;
  // No box, no period, for either value.
  store<u64>(VALUE_STATE, 0);
  store<u64>(VALUE_STATE, 0, 8);
  store<u64>(VALUE_STATE, 0, 16);
  store<u64>(VALUE_STATE, 0, 24);
  let s = stamp + STAMP_UNIT;
  if (s == 0) {
    if (memo != 0) memory.fill(memo, 0, MEMO_BYTES);
    s = STAMP_UNIT;
  }
  stamp = s;
}

// The memo entry of position `i` of a topic of `tlen` bytes, or 0 when there is none.
// @ts-ignore: decorator
@inline
function entryAt(tlen: i32, i: i32): usize {
  if (memo == 0 || tlen > MEMO_MAX_TOPIC) return 0;
  return memo + (<usize>i << 2);
}

// Its current value: the stamp alone when written by another check.
// @ts-ignore: decorator
@inline
function entryValue(e: usize): u32 {
  const x = load<u32>(e);
  return (x & STAMP_MASK) == stamp ? x : stamp;
}

/** `/` in every byte. */
export const SLASHES: u64 = 0x2f2f2f2f2f2f2f2f;

/**
 * Non-zero when a byte of `w` is `/`; its lowest set bit is exact (bit 7 of the first such byte),
 * the bits above it may be false alarms (the borrow), which nobody reads.
 */
// @ts-ignore: decorator
@inline
export function slashBits(w: u64): u64 {
  const x = w ^ SLASHES;
  return (x - ONES) & ~x & HIGHS;
}

/**
 * The end of the topic level holding position `i` (the next `/` from `i`, or `tlen`), when the
 * word at `i` holds no `/` (the caller looked). Scanned a word at a time, once per check and
 * level.
 */
// @ts-ignore: decorator
@inline
export function levelEndLong(tp: usize, tlen: i32, i: i32): i32 {
  return memoAt(tp, tlen, i, 0, -1, 0);
}

/**
 * True when the `m` bytes at `v` (value `which`: 0 the username, 1 the client id) occur at
 * position `i` of the topic (`tlen` bytes at `tp`; `tlen - i >= m` checked by the caller). Up to
 * 16 bytes: one or two word compares; longer values are compared once per position and check.
 */
// @ts-ignore: decorator
@inline
export function valueAt(v: usize, m: i32, which: i32, tp: usize, tlen: i32, i: i32): bool {
  const t = tp + <usize>i;
  if (m <= 8) return ((load<u64>(v) ^ load<u64>(t)) & lowBytes(m)) == 0;
  if (m <= 16) {
    const k = <usize>(m - 8);
    return ((load<u64>(v) ^ load<u64>(t)) | (load<u64>(v + k) ^ load<u64>(t + k))) == 0;
  }
  return memoAt(tp, tlen, i, v, m, which) != 0;
}

// The first `/` at or after position `i` of the topic (`tlen` bytes at `tp`), or `tlen`: 32 bytes
// per step (one test for four words), then words. Loads stay below the topic's end plus the 8
// readable bytes past it.
function slashFrom(tp: usize, tlen: i32, i: i32): i32 {
  const stop = tp + <usize>tlen;
  let q = tp + <usize>i;
  while (q + 32 <= stop) {
    const a = load<u64>(q) ^ SLASHES;
    const b = load<u64>(q, 8) ^ SLASHES;
    const c = load<u64>(q, 16) ^ SLASHES;
    const d = load<u64>(q, 24) ^ SLASHES;
    if (((((a - ONES) & ~a) | ((b - ONES) & ~b) | ((c - ONES) & ~c) | ((d - ONES) & ~d)) & HIGHS) != 0) break;
    q += 32;
  }
  while (q < stop) {
    const z = slashBits(load<u64>(q));
    if (z != 0) {
      const k = <i32>(q - tp) + <i32>(ctz(z) >> 3);
      return k < tlen ? k : tlen;
    }
    q += 8;
  }
  return tlen;
}

/**
 * valueAt as a call (two callers, so the optimizer keeps it one), for the matcher's token loop,
 * whose every turn costs its size in fuel.
 */
export function valueAtCall(v: usize, m: i32, which: i32, tp: usize, tlen: i32, i: i32): bool {
  return valueAt(v, m, which, tp, tlen, i);
}

// levelEndLong (m < 0: returns the level's end) and valueAt for values over 16 bytes (returns 1
// when the value occurs at `i`, else 0), through the memo. One function with two callers, so
// that the optimizer keeps it a call: inlined into the matcher's token loop, it would make every
// turn of that loop cost its size in fuel.
function memoAt(tp: usize, tlen: i32, i: i32, v: usize, m: i32, which: i32): i32 {
  const e = entryAt(tlen, i);
  let x: u32 = 0;
  if (m < 0) {
    if (e != 0) {
      x = entryValue(e);
      if (x & LEVEL_KNOWN) return <i32>(x & LEVEL_MASK);
    }
    const end = slashFrom(tp, tlen, i + 8);
    if (e != 0) store<u32>(e, x | LEVEL_KNOWN | <u32>end);
    return end;
  }
  // Two calls of lcpAt (the same function), so that it is not inlined here either.
  if (e == 0) return <i32>(lcpAt(v, m, which, tp, i) == m);
  x = entryValue(e);
  const known = VALUE_KNOWN << (<u32>which << 1);
  if (x & known) return <i32>((x & (known << 1)) != 0);
  const eq = lcpAt(v, m, which, tp, i) == m;
  store<u32>(e, x | known | (eq ? known << 1 : 0));
  return <i32>eq;
}

// A value compared at many positions ------------------------------------------------------------
//
// The memo answers a value at a position it was compared at before. Distinct positions are the
// harder case: patterns `+/%c/#`, `+/+/%c/#`, ... (a %c at 30 depths) and a client id like
// "x/x/x/.../x/Y" with a topic "x/x/x/...": every depth compares ~65,000 bytes before the `Y`
// differs, 30 times. What one compare learned is reused for the next, exactly, with two facts
// per value and check:
// - a box: the topic from `bi` holds the value's first `bl` bytes (the longest match seen, by
//   where it ends); a position inside it, or just before it, is compared to the value through the
//   box, which turns most of the compare into one of the value with itself;
// - a period of the value's prefix: v[0..L) has period P, and L is maximal (v[L] != v[L - P], or
//   L = m). The value compared with itself shifted by a multiple d of P (d < L) then agrees on
//   exactly L - d bytes, without looking: for a topic and a value built from one repeated pattern,
//   every shift the box asks for is such a multiple.
// Every byte compare past a box's end moves that end right, so the bytes compared stay about the
// topic's length plus twice the value's length for such inputs, whatever the number of positions
// (tests/policies/fuel.test.ts measures it).

// Per value (16 bytes each, the username's then the client id's): box start, box length (0: no
// box), period P (0: none), L.
const VALUE_STATE: usize = memory.data(32);

/** The index of the first byte where the `n` bytes at `a` and `b` differ, or `n` (4 words per step). */
function lcpBytes(a: usize, b: usize, n: i32): i32 {
  let i = 0;
  while (i + 32 <= n) {
    const p = a + <usize>i;
    const q = b + <usize>i;
    if (((load<u64>(p) ^ load<u64>(q)) | (load<u64>(p, 8) ^ load<u64>(q, 8)) |
         (load<u64>(p, 16) ^ load<u64>(q, 16)) | (load<u64>(p, 24) ^ load<u64>(q, 24))) != 0) break;
    i += 32;
  }
  while (i + 8 <= n) {
    const x = load<u64>(a + <usize>i) ^ load<u64>(b + <usize>i);
    if (x != 0) return i + <i32>(ctz(x) >> 3);
    i += 8;
  }
  const x = (load<u64>(a + <usize>i) ^ load<u64>(b + <usize>i)) & lowBytes(n - i);
  if (x != 0) return i + <i32>(ctz(x) >> 3);
  return n;
}

// lcp(v[d..m), v): how many bytes the value agrees with itself shifted by `d` (0 < d < m).
// Known without looking when the recorded period divides `d`; otherwise compared, and what the
// compare shows is recorded: a period repeated at least twice, or (Fine and Wilf) the gcd of two
// periods that hold together on a prefix at least as long as their sum, which is
// how the shifts of a periodic value's many positions come to need no compare at all.
function selfLcp(v: usize, m: i32, st: usize, d: i32): i32 {
  const P = load<i32>(st, 8);
  const L = load<i32>(st, 12);
  if (P != 0) {
    if (d % P == 0) {
      if (d < L) return L - d;
    }
  }
  const z = lcpBytes(v + <usize>d, v, m - d);
  // Candidates, each a period with the maximal length of the prefix it holds on (see above).
  let bestP = P;
  let bestL = L;
  if (z >= d && (P == 0 || d + z > L || (d + z == L && d < P))) {
    bestP = d;
    bestL = d + z;
  }
  if (P != 0 && z >= d) {
    // v[0..min(L, d + z)) has periods P and d; from P + d bytes on (Fine and Wilf: P + d - gcd
    // would do), also their gcd, and where one of them stops holding so does the gcd (the bytes
    // it compares are equal mod gcd).
    let a = P;
    let b = d;
    while (b != 0) {
      const r = a % b;
      a = b;
      b = r;
    }
    const both = L < d + z ? L : d + z;
    if (a < bestP && both >= P + d) {
      bestP = a;
      bestL = both;
    }
  }
  if (bestP != P) {
    store<i32>(st, bestP, 8);
    store<i32>(st, bestL, 12);
  }
  return z;
}

/** selfLcp of value `which` (for specs: the period records' bookkeeping, asked directly). */
export function selfLcpOf(v: usize, m: i32, which: i32, d: i32): i32 {
  return selfLcp(v, m, VALUE_STATE + (<usize>which << 4), d);
}

// lcp(topic[p..], v), at most m: the topic has at least m bytes from p (the caller checked).
function lcpAt(v: usize, m: i32, which: i32, tp: usize, p: i32): i32 {
  const st = VALUE_STATE + (<usize>which << 4);
  const t = tp + <usize>p;
  const bi = load<i32>(st);
  const bl = load<i32>(st, 4);
  let l: i32;
  if (bl > 0 && p > bi && p < bi + bl) {
    // Inside the box: topic[p..bi + bl) = v[d..bl).
    const d = p - bi;
    const c = bl - d;
    const z = selfLcp(v, m, st, d);
    if (z < c) return z;
    // topic[p..p + c) = v[0..c); compare on from the box's end.
    l = c + lcpBytes(t + <usize>c, v + <usize>c, m - c);
  } else if (bl > 0 && p < bi && bi - p < m) {
    // Just before the box: topic[p..bi) against v[0..d), then the box, as v[0..bl) against
    // v[d..d + bl).
    const d = bi - p;
    const e = lcpBytes(t, v, d);
    if (e < d) return e;
    const c = bl < m - d ? bl : m - d;
    const z = selfLcp(v, m, st, d);
    if (z < c) l = d + z;
    else if (c == m - d) l = m;
    else l = d + bl + lcpBytes(tp + <usize>(bi + bl), v + <usize>(d + bl), m - d - bl);
  } else {
    l = lcpBytes(t, v, m);
  }
  // The new match becomes the box when it reaches as far, or is as long.
  if (bl <= 0 || p + l >= bi + bl || l >= bl) {
    store<i32>(st, p);
    store<i32>(st, l, 4);
  }
  return l;
}

/**
 * True when the `m` bytes at `v` (value `which`) hold neither `+` nor `#`; longer values are
 * looked at once per check.
 */
export function valueClean(v: usize, m: i32, which: i32): bool {
  if (m <= 8) return wildBits(load<u64>(v) & lowBytes(m)) == 0;
  if (m <= 16) return (wildBits(load<u64>(v)) | wildBits(load<u64>(v + <usize>(m - 8)))) == 0;
  const known: u32 = 1 << (<u32>which << 1);
  if ((wildKnown & known) == 0) wildKnown |= hasWildcardSlow(v, m) ? known | (known << 1) : known;
  return (wildKnown & (known << 1)) == 0;
}
