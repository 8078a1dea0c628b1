// The per-check memo (assembly/check/memo.ts) against direct answers: the end of a level, and whether a
// long value occurs at a position, asked at random positions in random order, over topics and
// values built from a few repeated patterns with defects (the inputs that make the box and the
// period records do their work), across many checks (the stamp) and a stamp wrap.
import { beginCheck, levelEndLong, memoInit, selfLcpOf, valueAtCall } from "../check/memo";
import { Str } from "../../sdk/assembly";
import { str } from "../../sdk/assembly/testing";

let seed: u32 = 0x9e3779b9;
function rnd(n: i32): i32 {
  seed ^= seed << 13;
  seed ^= seed >> 17;
  seed ^= seed << 5;
  return <i32>(seed % <u32>n);
}

// Fibonacci words have two periods that hold together on the longest prefix that does not
// have their gcd as a period (Fine and Wilf's bound is tight on them).
function fibonacci(n: i32): string {
  let a = "b";
  let b = "a";
  while (b.length < n) {
    const c = b + a;
    a = b;
    b = c;
  }
  return b.replaceAll("b", "/");
}

const UNITS: string[] = ["x/", "x", "ab/", "x/xx/", "/", "aaaaaaa/", "ab", fibonacci(89), fibonacci(34) + "a"];

// A string of `n` bytes: a unit repeated, with a few bytes replaced.
function periodic(n: i32, unit: string, defects: i32): string {
  let s = "";
  while (s.length < n) s += unit;
  s = s.substring(0, n);
  for (let k = 0; k < defects; k++) {
    const i = rnd(n);
    const c = rnd(3) == 0 ? "/" : rnd(2) == 0 ? "Y" : "x";
    s = s.substring(0, i) + c + s.substring(i + 1);
  }
  return s;
}

function occursAt(t: string, v: string, i: i32): bool {
  return t.substring(i, i + v.length) == v;
}

function levelEnd(t: string, i: i32): i32 {
  const k = t.indexOf("/", i);
  return k < 0 ? t.length : k;
}

describe("memo: values at many positions", () => {
  it("agrees with a direct compare, in any order of positions, check after check", () => {
    memoInit();
    let checked = 0;
    for (let round = 0; round < 300; round++) {
      const unit = UNITS[rnd(UNITS.length)];
      const tlen = 40 + rnd(400);
      const t = periodic(tlen, unit, rnd(3));
      const m = 17 + rnd(tlen - 20);
      // The value: a piece of the topic (so that it often occurs, or almost), or of the pattern.
      const from = rnd(tlen - m + 1);
      let v = rnd(3) == 0 ? periodic(m, rnd(2) == 0 ? unit : UNITS[rnd(UNITS.length)], rnd(2)) : t.substring(from, from + m);
      if (rnd(3) == 0) {
        const i = rnd(m);
        v = v.substring(0, i) + "Y" + v.substring(i + 1);
      }
      const ts = str(t);
      const vs = str(v);
      const which = rnd(2);
      beginCheck();
      const asks = 1 + rnd(40);
      for (let k = 0; k < asks; k++) {
        const i = rnd(tlen - m + 1);
        const want = occursAt(t, v, i);
        const got = valueAtCall(vs.ptr, m, which, ts.ptr, tlen, i);
        if (got != want) {
          expect(got).toBe(want, "topic \"" + t + "\" value \"" + v + "\" at " + i.toString());
        }
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(1000);
  });

  it("keeps the username's and the client id's answers apart", () => {
    memoInit();
    const t = periodic(300, "x/", 0);
    const u = str(periodic(41, "x/", 0));
    const c = str(periodic(40, "x/", 0) + "Y");
    const ts = str(t);
    beginCheck();
    for (let i = 0; i + 41 <= 300; i += 2) {
      expect(valueAtCall(u.ptr, 41, 0, ts.ptr, 300, i)).toBe(true);
      expect(valueAtCall(c.ptr, 41, 1, ts.ptr, 300, i)).toBe(false);
    }
  });
});

function selfLcp(v: string, d: i32): i32 {
  let k = 0;
  while (d + k < v.length && v.charCodeAt(d + k) == v.charCodeAt(k)) k++;
  return k;
}

const SHIFTS: i32[] = [1, 2, 3, 4, 5, 6, 8, 13, 21, 34, 55, 89, 144, 7, 10, 12, 26, 42, 68];

describe("memo: a value against itself (the period records)", () => {
  it("agrees with a direct compare for shifts asked in any order", () => {
    memoInit();
    for (let round = 0; round < 800; round++) {
      const m = 17 + rnd(300);
      let v = periodic(m, UNITS[rnd(UNITS.length)], 0);
      // A prefix that holds a period, then another pattern, or a defect.
      if (rnd(2) == 0) {
        const cut = rnd(m);
        v = v.substring(0, cut) + periodic(m - cut, UNITS[rnd(UNITS.length)], rnd(2));
      } else if (rnd(2) == 0) {
        const i = rnd(m);
        v = v.substring(0, i) + "Y" + v.substring(i + 1);
      }
      const vs = str(v);
      const which = rnd(2);
      beginCheck();
      for (let k = 0; k < 12; k++) {
        const d = rnd(3) == 0 ? 1 + rnd(m - 1) : SHIFTS[rnd(SHIFTS.length)];
        if (d >= m) continue;
        const want = selfLcp(v, d);
        const got = selfLcpOf(vs.ptr, m, which, d);
        if (got != want) expect(got).toBe(want, "\"" + v + "\" shifted by " + d.toString());
      }
    }
  });
});

describe("memo: level ends", () => {
  it("agrees with a direct scan, and forgets a topic when the next check starts", () => {
    memoInit();
    for (let round = 0; round < 200; round++) {
      const tlen = 9 + rnd(300);
      const t = periodic(tlen, UNITS[rnd(UNITS.length)], rnd(4));
      const ts: Str = str(t);
      beginCheck();
      for (let k = 0; k < 20; k++) {
        const i = rnd(tlen);
        // levelEndLong's contract: no `/` in the word at i.
        let clear = true;
        for (let j = i; j < i + 8 && j < tlen; j++) if (t.charCodeAt(j) == 0x2f) clear = false;
        if (!clear || i + 8 >= tlen) continue;
        expect(levelEndLong(ts.ptr, tlen, i)).toBe(levelEnd(t, i), t + " at " + i.toString());
      }
    }
  });

  it("stays right across the stamp's wrap (the table is cleared)", () => {
    memoInit();
    const a = str("xxxxxxxxxxxxxxxxxxxx/x");
    const b = str("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx/x");
    // The stamp has 11 bits: checks 2,047 apart carry the same one, with one wrap in between.
    for (let k = 0; k <= 3 * 2047; k++) {
      beginCheck();
      if (k % 2047 != 0) continue;
      const s = (k / 2047) % 2 == 0 ? a : b;
      expect(levelEndLong(s.ptr, <i32>s.len, 0)).toBe((k / 2047) % 2 == 0 ? 20 : 32);
    }
  });
});
