// RateLimiter: a token bucket per client id, for policies that limit what a client may do per
// second (examples/rate-limit). Keyed by the client id's bytes, looked up in place: a check of a
// client already known allocates nothing.
import { Str } from "./str";
import { hashBytes, bytesEqual } from "./words";

/** No slot: the end of the LRU list, an empty index cell is 0 (cells hold slot + 1). */
const NONE: i32 = -1;

/**
 * A token bucket per client id: each client may spend `burst` tokens at once, and gets
 * `perSecond` tokens back per second (fractions accumulate), never more than `burst`. A client
 * seen for the first time starts with a full bucket.
 *
 * The clock: {@link take} reads the host's wall clock (`Date.now`, import `env.Date.now`). A
 * module importing it may not export `wasm_auth_acl_cacheable` (the gate refuses the load,
 * docs/ABI.md "Decision cache"), and that is right for a rate limit: the same request is allowed
 * or denied depending on when it comes, so no decision of such a policy may be cached.
 * {@link takeAt} takes the time as an argument instead (specs, or a policy that already read the
 * clock for this request). A clock that goes back refills nothing for the step back, and
 * refilling resumes from the new time; a NaN time refills nothing and is not remembered.
 *
 * Bounded: at most `maxClients` clients are tracked. A new client when the table is full evicts
 * the least recently used one (the one whose last {@link take} is oldest), rather than being
 * refused: refusing new keys would deny every client that comes after the table filled up,
 * whereas an eviction costs at most one extra burst for a client idle longer than all the others.
 * Call {@link forget} from `on_disconnect` so that clients that left do not take room; with that,
 * the table holds the connected clients that published, and eviction happens only when more than
 * `maxClients` of those are connected at once.
 *
 * Memory: about 40 bytes per tracked client plus its id (kept in a buffer of its own, reused when
 * the slot is), and an index of 4 bytes per cell, at least two cells per client. The index and the
 * per-slot arrays grow as clients come (up to `maxClients`) and do not shrink.
 */
export class RateLimiter {
  /** Number of {@link take} / {@link takeAt} calls refused since construction (or {@link clear}). */
  denied: u64 = 0;
  /** Number of clients evicted to make room for a new one (the table was full). */
  evicted: u64 = 0;

  private readonly perMs: f64;
  private readonly burst: f64;
  private readonly maxClients: i32;

  // Per slot: the bucket, the LRU links, the id's hash and bytes.
  private tokens: f64[] = [];
  private lastMs: f64[] = [];
  private prev: i32[] = [];
  private next: i32[] = [];
  private hashes: u32[] = [];
  private keys: ArrayBuffer[] = [];
  private keyLens: i32[] = [];
  private free: i32[] = [];
  private head: i32 = NONE;   // most recently used
  private tail: i32 = NONE;   // least recently used, evicted first
  private count: i32 = 0;

  // Open addressing, linear probing; cells hold slot + 1 (0 = empty); at most half full.
  private index: Int32Array = new Int32Array(16);

  /**
   * `perSecond` tokens come back per second (a negative or NaN rate counts as 0: nothing comes
   * back), up to `burst` (at least 0); at most `maxClients` (at least 1) clients are tracked.
   */
  constructor(perSecond: f64, burst: i32, maxClients: i32 = 100000) {
    this.perMs = perSecond > 0 ? perSecond / 1000.0 : 0.0;
    this.burst = burst > 0 ? <f64>burst : 0.0;
    this.maxClients = maxClients > 0 ? maxClients : 1;
  }

  /** Number of clients tracked now. */
  get size(): i32 {
    return this.count;
  }

  /**
   * Spends `cost` tokens of `clientid`'s bucket at the host clock's time: true if the bucket held
   * them, false (and {@link denied} counted) if not, the bucket then left as it was. A cost above
   * `burst` is never allowed; a negative cost counts as 0. Reads `Date.now` (see the class comment).
   */
  take(clientid: Str, cost: i32 = 1): bool {
    return this.takeAt(clientid, <f64>Date.now(), cost);
  }

  /** {@link take} at time `nowMs` (milliseconds, any origin as long as every call uses the same one). */
  takeAt(clientid: Str, nowMs: f64, cost: i32 = 1): bool {
    const h = hashBytes(clientid.ptr, <i32>clientid.len);
    let s = this.find(clientid, h);
    // A NaN time is no time: nothing refilled, nothing remembered (a NaN kept as the last time
    // would compare false with every later time and never refill again).
    const known = !isNaN(nowMs);
    if (s == NONE) {
      s = this.insert(clientid, h);
      unchecked(this.tokens[s] = this.burst);
      unchecked(this.lastMs[s] = known ? nowMs : -Infinity);
    } else {
      this.touch(s);
      const last = unchecked(this.lastMs[s]);
      // A clock that went back refills nothing; refilling resumes from the new time.
      if (nowMs > last) {
        let t = unchecked(this.tokens[s]) + (nowMs - last) * this.perMs;
        if (t > this.burst) t = this.burst;
        unchecked(this.tokens[s] = t);
      }
      if (known) unchecked(this.lastMs[s] = nowMs);
    }
    const c = cost > 0 ? <f64>cost : 0.0;
    const t = unchecked(this.tokens[s]);
    if (t >= c) {
      unchecked(this.tokens[s] = t - c);
      return true;
    }
    this.denied++;
    return false;
  }

  /** True when `clientid` is tracked. */
  has(clientid: Str): bool {
    return this.find(clientid, hashBytes(clientid.ptr, <i32>clientid.len)) != NONE;
  }

  /**
   * Drops `clientid`'s bucket (call it from `on_disconnect`); true if it was tracked. A client
   * that comes back starts with a full bucket.
   */
  forget(clientid: Str): bool {
    const h = hashBytes(clientid.ptr, <i32>clientid.len);
    const s = this.find(clientid, h);
    if (s == NONE) return false;
    this.removeSlot(s, h);
    return true;
  }

  /** Forgets every client and zeroes the counters (the buffers are kept for reuse). */
  clear(): void {
    this.index.fill(0);
    this.free.length = 0;
    for (let i = this.tokens.length - 1; i >= 0; i--) this.free.push(i);
    this.head = NONE;
    this.tail = NONE;
    this.count = 0;
    this.denied = 0;
    this.evicted = 0;
  }

  // The slot holding `id` (hash `h`), or NONE.
  private find(id: Str, h: u32): i32 {
    const index = this.index;
    const mask = index.length - 1;
    const n = <i32>id.len;
    let i = <i32>h & mask;
    while (true) {
      const cell = unchecked(index[i]);
      if (cell == 0) return NONE;
      const s = cell - 1;
      if (unchecked(this.hashes[s]) == h && unchecked(this.keyLens[s]) == n &&
          bytesEqual(changetype<usize>(unchecked(this.keys[s])), id.ptr, <usize>n)) {
        return s;
      }
      i = (i + 1) & mask;
    }
  }

  // A slot for a new client `id` (not tracked), linked as the most recent; evicts when full.
  private insert(id: Str, h: u32): i32 {
    let s: i32 = NONE;
    if (this.count >= this.maxClients) {
      s = this.tail;
      this.removeSlot(s, unchecked(this.hashes[s]));
      this.evicted++;
    }
    if (this.free.length > 0) {
      s = this.free.pop();
    } else {
      s = this.tokens.length;
      this.tokens.push(0);
      this.lastMs.push(0);
      this.prev.push(NONE);
      this.next.push(NONE);
      this.hashes.push(0);
      this.keys.push(new ArrayBuffer(<i32>id.len));
      this.keyLens.push(0);
    }
    const n = <i32>id.len;
    let key = unchecked(this.keys[s]);
    if (key.byteLength < n) {
      key = new ArrayBuffer(n);
      unchecked(this.keys[s] = key);
    }
    memory.copy(changetype<usize>(key), id.ptr, <usize>n);
    unchecked(this.keyLens[s] = n);
    unchecked(this.hashes[s] = h);
    this.count++;
    if (this.count * 2 > this.index.length) this.grow();
    this.place(s, h);
    this.linkFront(s);
    return s;
  }

  // Puts slot `s` (hash `h`) into the index, at the first empty cell of its probe sequence.
  private place(s: i32, h: u32): void {
    const index = this.index;
    const mask = index.length - 1;
    let i = <i32>h & mask;
    while (unchecked(index[i]) != 0) i = (i + 1) & mask;
    unchecked(index[i] = s + 1);
  }

  // Doubles the index and places every tracked slot again.
  private grow(): void {
    this.index = new Int32Array(this.index.length << 1);
    for (let s = this.head; s != NONE; s = unchecked(this.next[s])) this.place(s, unchecked(this.hashes[s]));
  }

  // Removes slot `s` (hash `h`) from the index and the LRU list and frees it.
  private removeSlot(s: i32, h: u32): void {
    const index = this.index;
    const mask = index.length - 1;
    let i = <i32>h & mask;
    while (unchecked(index[i]) != s + 1) i = (i + 1) & mask;
    // Backward-shift deletion: move later cells of the run into the hole when their home cell
    // does not lie between the hole and them, so no probe sequence is broken (no tombstones,
    // which would slow every lookup of a table whose clients come and go).
    let j = i;
    while (true) {
      j = (j + 1) & mask;
      const cell = unchecked(index[j]);
      if (cell == 0) break;
      const home = <i32>unchecked(this.hashes[cell - 1]) & mask;
      const stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
      if (!stays) {
        unchecked(index[i] = cell);
        i = j;
      }
    }
    unchecked(index[i] = 0);
    this.unlink(s);
    this.free.push(s);
    this.count--;
  }

  // Moves slot `s` to the front of the LRU list.
  private touch(s: i32): void {
    if (this.head == s) return;
    this.unlink(s);
    this.linkFront(s);
  }

  private linkFront(s: i32): void {
    unchecked(this.prev[s] = NONE);
    unchecked(this.next[s] = this.head);
    if (this.head != NONE) unchecked(this.prev[this.head] = s);
    this.head = s;
    if (this.tail == NONE) this.tail = s;
  }

  private unlink(s: i32): void {
    const p = unchecked(this.prev[s]);
    const n = unchecked(this.next[s]);
    if (p != NONE) unchecked(this.next[p] = n); else this.head = n;
    if (n != NONE) unchecked(this.prev[n] = p); else this.tail = p;
    unchecked(this.prev[s] = NONE);
    unchecked(this.next[s] = NONE);
  }
}
