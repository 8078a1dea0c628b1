// The word-at-a-time comparisons (utf8.ts) against plain byte-by-byte references: every length up
// to three words, every position of the byte that matters, every alignment, and with memory
// pretended to end anywhere from the end of the range to a word past it (the last partial word
// is then loaded, or not). Mismatches are counted and checked once: an expect per case would
// make the spec take minutes.
import { str } from "../testing";
import { bytesEqualBelow, findByteBelow, hasWildcardBytesBelow, matchUtf16 } from "../utf8";

const MAX_LEN = 24;
const scratchA = heap.alloc(64);
const scratchB = heap.alloc(64);

function fill(p: usize, n: i32, seed: u32): void {
  for (let i = 0; i < n; i++) store<u8>(p + <usize>i, <u8>(0x61 + (seed + <u32>i * 7) % 26));
}

function refFind(p: usize, from: i32, end: i32, b: u32): i32 {
  let i = from;
  while (i < end && <u32>load<u8>(p + <usize>i) != b) i++;
  return i;
}

function refWild(p: usize, from: i32, end: i32): bool {
  for (let i = from; i < end; i++) {
    const c = <u32>load<u8>(p + <usize>i);
    if (c == 0x2b || c == 0x23) return true;
  }
  return false;
}

function refEqual(a: usize, b: usize, n: i32): bool {
  for (let i = 0; i < n; i++) if (load<u8>(a + <usize>i) != load<u8>(b + <usize>i)) return false;
  return true;
}

// Wrong answers of findByte and hasWildcardBytes on [p, p+n), a `/` and then a wildcard at
// every position, every start, memory ending `slack` bytes after the range.
function scanErrors(p: usize, n: i32, slack: i32): i32 {
  const limit = p + <usize>(n + slack);
  let bad = 0;
  fill(p, n, <u32>n);
  if (findByteBelow(p, 0, n, 0x2f, limit) != n) bad++;
  if (hasWildcardBytesBelow(p, 0, n, limit)) bad++;
  for (let k = 0; k < n; k++) {
    const keep = load<u8>(p + <usize>k);
    store<u8>(p + <usize>k, 0x2f);
    for (let from = 0; from <= n; from++) {
      if (findByteBelow(p, from, n, 0x2f, limit) != refFind(p, from, n, 0x2f)) bad++;
    }
    store<u8>(p + <usize>k, k & 1 ? 0x2b : 0x23);
    for (let from = 0; from <= n; from++) {
      if (hasWildcardBytesBelow(p, from, n, limit) != refWild(p, from, n)) bad++;
      if (hasWildcardBytesBelow(p, 0, from, limit) != refWild(p, 0, from)) bad++;
    }
    store<u8>(p + <usize>k, keep);
  }
  if (n > 0) {
    // Byte 0 (the masked-off bytes of a partial word are zero) and a value above 0xff.
    store<u8>(p + <usize>(n - 1), 0);
    if (findByteBelow(p, 0, n, 0, limit) != n - 1) bad++;
    if (findByteBelow(p, 0, n - 1, 0, limit) != n - 1) bad++;
  }
  if (findByteBelow(p, 0, n, 0x161, limit) != n) bad++;
  return bad;
}

// Wrong answers of bytesEqual on n bytes at a and b, a difference at every position.
function equalErrors(a: usize, b: usize, n: i32, slack: i32): i32 {
  const limit = (a > b ? a : b) + <usize>(n + slack);
  let bad = 0;
  fill(a, n, 3);
  memory.copy(b, a, <usize>n);
  if (!bytesEqualBelow(a, b, <usize>n, limit)) bad++;
  for (let k = 0; k < n; k++) {
    store<u8>(b + <usize>k, load<u8>(a + <usize>k) ^ 0x20);
    for (let m = 0; m <= n; m++) {
      if (bytesEqualBelow(a, b, <usize>m, limit) != refEqual(a, b, m)) bad++;
    }
    store<u8>(b + <usize>k, load<u8>(a + <usize>k));
  }
  return bad;
}

describe("word-at-a-time byte scans", () => {
  it("find a byte and wildcards like a byte loop, at every alignment", () => {
    let bad = 0;
    for (let align = 0; align < 8; align++) {
      for (let n = 0; n <= MAX_LEN; n++) bad += scanErrors(scratchA + <usize>align, n, 8);
    }
    expect(bad).toBe(0);
  });

  it("do the same when memory ends within a word after the range", () => {
    let bad = 0;
    for (let slack = 0; slack < 8; slack++) {
      for (let n = 0; n <= MAX_LEN; n++) bad += scanErrors(scratchA + 3, n, slack);
    }
    expect(bad).toBe(0);
  });

  it("compare bytes like a byte loop, at every relative alignment and end of memory", () => {
    let bad = 0;
    for (let align = 0; align < 8; align++) {
      for (let n = 0; n <= MAX_LEN; n++) {
        bad += equalErrors(scratchA + <usize>align, scratchB + <usize>(7 - align), n, align);
        bad += equalErrors(scratchB + <usize>align, scratchA, n, 7 - align);
      }
    }
    expect(bad).toBe(0);
  });
});

// Every ASCII length and mismatch position, then a non-ASCII unit at every position (the
// hand-over from four-unit chunks to the general path).
describe("matchUtf16 in four-unit chunks", () => {
  it("matches ASCII strings of every length against their bytes", () => {
    const letters = "abcdefghijklmnopqrstuvwx";
    let bad = 0;
    for (let n = 0; n <= MAX_LEN; n++) {
      const s = letters.substring(0, n);
      const b = str(s);
      if (!b.equals(s) || !b.startsWith(s)) bad++;
      for (let k = 0; k < n; k++) {
        const t = s.substring(0, k) + "_" + s.substring(k + 1);
        if (b.equals(t) || b.startsWith(t)) bad++;
        if (!b.startsWith(s.substring(0, k))) bad++;
        if (str(s.substring(0, k)).startsWith(s)) bad++;
      }
    }
    expect(bad).toBe(0);
  });

  it("hands a non-ASCII unit at any position to the general path", () => {
    const letters = "abcdefghijklmnop";
    let bad = 0;
    for (let n = 1; n <= 16; n++) {
      for (let k = 0; k < n; k++) {
        const s = letters.substring(0, k) + "ü" + letters.substring(k + 1, n);
        const b = str(s);
        if (!b.equals(s)) bad++;
        if (b.equals(letters.substring(0, n)) || str(letters.substring(0, n)).equals(s)) bad++;
        const pair = letters.substring(0, k) + "𝄞" + letters.substring(k + 1, n);
        if (!str(pair).equals(pair) || str(pair).startsWith(s)) bad++;
      }
    }
    expect(bad).toBe(0);
  });

  it("stops at the end of the bytes and returns the offset after the match", () => {
    const b = str("users/alice");
    const s = "users";
    expect(matchUtf16(changetype<usize>(s), 0, 5, b.ptr, 0, 11)).toBe(5);
    expect(matchUtf16(changetype<usize>(s), 0, 5, b.ptr, 0, 4)).toBe(-1);
    expect(matchUtf16(changetype<usize>(s), 0, 5, b.ptr, 0, 5)).toBe(5);
    expect(matchUtf16(changetype<usize>(s), 1, 5, b.ptr, 1, 11)).toBe(5);
    expect(matchUtf16(changetype<usize>(s), 0, 0, b.ptr, 3, 11)).toBe(3);
  });

  it("reads topic levels of every length", () => {
    const letters = "abcdefghijklmnopqrst";
    let bad = 0;
    for (let n = 0; n <= 20; n++) {
      const level = letters.substring(0, n);
      const topic = str("x/" + level + "/y");
      if (!topic.levelEquals(1, level) || !topic.levelEqualsStr(1, str(level))) bad++;
      if (topic.levelStart(2) != 3 + n || topic.levelEnd(topic.levelStart(2)) != topic.length) bad++;
      if (topic.levelStart(1) != 2 || topic.levelEnd(2) != 2 + n || topic.levelStart(3) != -1) bad++;
      if (n > 0 && topic.levelEquals(1, level.substring(1))) bad++;
      if (n > 0 && topic.levelEqualsStr(1, str(level.substring(0, n - 1) + "_"))) bad++;
    }
    expect(bad).toBe(0);
  });
});
