// RateLimiter: the token bucket's arithmetic on an injected clock (takeAt), forget, the LRU bound
// and the index surviving many clients coming and going.
import { RateLimiter } from "../ratelimit";
import { Str } from "../str";
import { allocations, setClock, str } from "../testing";

function id(i: i32): Str {
  return str("client-" + i.toString());
}

describe("RateLimiter", () => {
  it("allows a burst, then refills perSecond tokens per second, never above the burst", () => {
    const r = new RateLimiter(5, 5);
    const c = str("c1");
    for (let i = 0; i < 5; i++) expect(r.takeAt(c, 1000)).toBe(true);
    expect(r.takeAt(c, 1000)).toBe(false);
    expect(r.takeAt(c, 1100)).toBe(false);          // 0.5 token
    expect(r.takeAt(c, 1200)).toBe(true);           // 1 token after 200 ms
    expect(r.takeAt(c, 1200)).toBe(false);
    expect(r.denied).toBe(3);
    // A long pause refills up to the burst only.
    for (let i = 0; i < 5; i++) expect(r.takeAt(c, 100000)).toBe(true);
    expect(r.takeAt(c, 100000)).toBe(false);
    expect(r.denied).toBe(4);
    expect(r.size).toBe(1);
  });

  it("keeps clients apart", () => {
    const r = new RateLimiter(1, 2);
    const a = str("a");
    const b = str("b");
    expect(r.takeAt(a, 0)).toBe(true);
    expect(r.takeAt(a, 0)).toBe(true);
    expect(r.takeAt(a, 0)).toBe(false);
    expect(r.takeAt(b, 0)).toBe(true);
    expect(r.takeAt(b, 0)).toBe(true);
    expect(r.takeAt(b, 0)).toBe(false);
    expect(r.size).toBe(2);
  });

  it("charges a cost; a cost above the burst never passes and leaves the bucket as it was", () => {
    const r = new RateLimiter(10, 10);
    const c = str("c");
    expect(r.takeAt(c, 0, 11)).toBe(false);
    expect(r.takeAt(c, 0, 7)).toBe(true);
    expect(r.takeAt(c, 0, 4)).toBe(false);
    expect(r.takeAt(c, 0, 3)).toBe(true);
    expect(r.takeAt(c, 0, 0)).toBe(true);
    expect(r.takeAt(c, 0, -5)).toBe(true);          // counts as 0: adds nothing
    expect(r.takeAt(c, 0, 1)).toBe(false);
  });

  it("refills nothing for a clock that goes back or NaN, and resumes from the next time", () => {
    const r = new RateLimiter(1, 1);
    const c = str("c");
    expect(r.takeAt(c, 10000)).toBe(true);
    expect(r.takeAt(c, 5000)).toBe(false);
    expect(r.takeAt(c, 5999)).toBe(false);
    expect(r.takeAt(c, 6000)).toBe(true);
    // A NaN time refills nothing and does not stop later refills.
    expect(r.takeAt(c, NaN)).toBe(false);
    expect(r.takeAt(c, 7000)).toBe(true);
    const d = str("d");
    expect(r.takeAt(d, NaN)).toBe(true);
    expect(r.takeAt(d, NaN)).toBe(false);
    expect(r.takeAt(d, 1)).toBe(true);           // from -Infinity: refilled, up to the burst
    expect(r.takeAt(d, 1)).toBe(false);
  });

  it("a rate of 0 never refills; a burst of 0 allows nothing", () => {
    const r = new RateLimiter(0, 1);
    expect(r.takeAt(str("c"), 0)).toBe(true);
    expect(r.takeAt(str("c"), 1e9)).toBe(false);
    const z = new RateLimiter(100, 0);
    expect(z.takeAt(str("c"), 0)).toBe(false);
    expect(z.takeAt(str("c"), 1e9)).toBe(false);
  });

  it("forget drops a client, which then starts with a full bucket", () => {
    const r = new RateLimiter(1, 2);
    const c = str("gone");
    expect(r.takeAt(c, 0)).toBe(true);
    expect(r.takeAt(c, 0)).toBe(true);
    expect(r.takeAt(c, 0)).toBe(false);
    expect(r.has(c)).toBe(true);
    expect(r.forget(c)).toBe(true);
    expect(r.has(c)).toBe(false);
    expect(r.size).toBe(0);
    expect(r.forget(c)).toBe(false);
    expect(r.takeAt(c, 0)).toBe(true);
    expect(r.takeAt(c, 0)).toBe(true);
    expect(r.takeAt(c, 0)).toBe(false);
  });

  it("compares ids by all their bytes (prefixes, lengths, the empty id, ids longer than a word)", () => {
    const r = new RateLimiter(0, 1);
    const names = ["", "a", "ab", "abcdefgh", "abcdefghi", "abcdefgh-abcdefgh-abcdefgh", "abcdefgh-abcdefgh-abcdefgX"];
    for (let i = 0; i < names.length; i++) expect(r.takeAt(str(names[i]), 0)).toBe(true);
    for (let i = 0; i < names.length; i++) expect(r.takeAt(str(names[i]), 0)).toBe(false);
    expect(r.size).toBe(names.length);
  });

  it("evicts the least recently used client when full", () => {
    const r = new RateLimiter(0, 1, 3);
    expect(r.takeAt(str("a"), 0)).toBe(true);
    expect(r.takeAt(str("b"), 1)).toBe(true);
    expect(r.takeAt(str("c"), 2)).toBe(true);
    expect(r.takeAt(str("a"), 3)).toBe(false);      // a is now the most recent
    expect(r.takeAt(str("d"), 4)).toBe(true);       // evicts b
    expect(r.size).toBe(3);
    expect(r.evicted).toBe(1);
    expect(r.has(str("b"))).toBe(false);
    expect(r.has(str("a"))).toBe(true);
    expect(r.has(str("c"))).toBe(true);
    expect(r.takeAt(str("b"), 5)).toBe(true);       // back with a full bucket; evicts c
    expect(r.has(str("c"))).toBe(false);
    expect(r.takeAt(str("a"), 6)).toBe(false);      // a kept its empty bucket
    expect(r.evicted).toBe(2);
  });

  it("stays consistent through many clients coming, going and being evicted", () => {
    const max = 500;
    const r = new RateLimiter(0, 1, max);
    const n = 2000;
    const ids = new Array<Str>(n);
    for (let i = 0; i < n; i++) ids[i] = id(i);
    // Fill, forget every third, refill past the bound.
    for (let i = 0; i < max; i++) expect(r.takeAt(ids[i], <f64>i)).toBe(true);
    expect(r.size).toBe(max);
    let forgotten = 0;
    for (let i = 0; i < max; i += 3) { expect(r.forget(ids[i])).toBe(true); forgotten++; }
    expect(r.size).toBe(max - forgotten);
    for (let i = 0; i < max; i++) expect(r.has(ids[i])).toBe(i % 3 != 0);
    for (let i = max; i < n; i++) expect(r.takeAt(ids[i], <f64>i)).toBe(true);
    expect(r.size).toBe(max);
    expect(r.evicted).toBe(<u64>(n - max - forgotten));
    // The last `max` clients are the ones kept, each with its empty bucket.
    for (let i = 0; i < n - max; i++) expect(r.has(ids[i])).toBe(false);
    for (let i = n - max; i < n; i++) expect(r.takeAt(ids[i], <f64>n)).toBe(false);
    for (let i = n - max; i < n; i++) expect(r.forget(ids[i])).toBe(true);
    expect(r.size).toBe(0);
  });

  it("clear forgets everyone and zeroes the counters", () => {
    const r = new RateLimiter(0, 1, 2);
    r.takeAt(str("a"), 0);
    r.takeAt(str("a"), 0);
    r.takeAt(str("b"), 0);
    r.takeAt(str("c"), 0);
    r.clear();
    expect(r.size).toBe(0);
    expect(r.denied).toBe(0);
    expect(r.evicted).toBe(0);
    expect(r.takeAt(str("a"), 0)).toBe(true);
    expect(r.takeAt(str("b"), 0)).toBe(true);
    expect(r.size).toBe(2);
  });

  it("take reads the host clock (Date.now)", () => {
    const r = new RateLimiter(2, 3);
    const c = str("live");
    setClock(1.7e12);
    expect(r.take(c)).toBe(true);
    expect(r.take(c, 2)).toBe(true);
    expect(r.take(c)).toBe(false);
    setClock(1.7e12 + 499);
    expect(r.take(c)).toBe(false);
    setClock(1.7e12 + 500);
    expect(r.take(c)).toBe(true);
    expect(r.denied).toBe(2);
    setClock(NaN);
    expect(r.take(str("real"))).toBe(true);
  });

  it("allocates nothing for a client already tracked", () => {
    const r = new RateLimiter(1000, 1000);
    const c = str("hot-path-client-with-a-longer-id");
    r.takeAt(c, 0);
    const before = allocations();
    for (let i = 1; i < 100; i++) r.takeAt(c, <f64>i);
    r.has(c);
    expect(allocations()).toBe(before);
  });
});
