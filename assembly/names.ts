// A map from names (usernames, as raw bytes) to a small record of i32 values: filled while a
// file is parsed, then looked up in place with a request's Str. Open addressing over a
// power-of-two slot table, kept at most half full.
import { ByteBuf, IntBuf, eqBytes, eqBytesLong, hashBytes, lowBytes } from "./buf";
import { Str } from "../sdk/assembly";

/** Name -> record of `width` i32 values. Lookups never allocate. */
export class NameTable {
  // Per entry: name offset in the arena, name length, then `width` values.
  private entries: IntBuf = new IntBuf();
  private slots: StaticArray<i32> = new StaticArray<i32>(8);
  private mask: u32 = 7;
  private stride: i32;
  // Set by seal(): the final arena and entry table, read by lookup().
  private sealedEntries: StaticArray<i32> | null = null;
  private sealedArena: StaticArray<u8> | null = null;
  /** After seal(): address of the entry table (read in place by hot.ts). */
  entriesPtr: usize = 0;
  /** After seal(): address of the name bytes. */
  arenaPtr: usize = 0;
  /** Number of names. */
  count: i32 = 0;

  /** Each name carries `width` i32 values. */
  constructor(public width: i32) {
    this.stride = 2 + width;
  }

  // Slot holding entry `i + 1` for these bytes, or the empty slot where it would go.
  private probe(base: usize, p: usize, n: i32): u32 {
    let s = hashBytes(p, n) & this.mask;
    while (true) {
      const v = unchecked(this.slots[s]);
      if (v == 0) return s;
      const e = (v - 1) * this.stride;
      if (this.entries.get(e + 1) == n && eqBytes(base + <usize>this.entries.get(e), p, n)) return s;
      s = (s + 1) & this.mask;
    }
  }

  private grow(base: usize): void {
    const cap = (this.mask + 1) << 1;
    this.slots = new StaticArray<i32>(cap);
    this.mask = cap - 1;
    for (let i = 0; i < this.count; i++) {
      const e = i * this.stride;
      const s = this.probe(base, base + <usize>this.entries.get(e), this.entries.get(e + 1));
      unchecked((this.slots[s] = i + 1));
    }
  }

  /** While building: index of the entry for the `n` bytes at `p` (arena `arena`), or -1. */
  find(arena: ByteBuf, p: usize, n: i32): i32 {
    return unchecked(this.slots[this.probe(arena.data.dataStart, p, n)]) - 1;
  }

  /** While building: adds a name (copied into `arena`) with all values 0; returns its index. */
  add(arena: ByteBuf, p: usize, n: i32): i32 {
    if ((this.count + 1) * 2 > <i32>this.mask + 1) this.grow(arena.data.dataStart);
    // Copy first: `p` may point into the arena, which append() can move.
    const off = arena.append(p, n);
    const base = arena.data.dataStart;
    const s = this.probe(base, base + <usize>off, n);
    this.entries.push(off);
    this.entries.push(n);
    for (let k = 0; k < this.width; k++) this.entries.push(0);
    unchecked((this.slots[s] = this.count + 1));
    return this.count++;
  }

  /** Value `k` of entry `i`. */
  value(i: i32, k: i32): i32 {
    return this.entries.get(i * this.stride + 2 + k);
  }

  /** Sets value `k` of entry `i`. */
  setValue(i: i32, k: i32, v: i32): void {
    this.entries.set(i * this.stride + 2 + k, v);
  }

  /** Name of entry `i` as text (for log lines); allocates. */
  nameOf(i: i32, arena: ByteBuf): string {
    const e = i * this.stride;
    return String.UTF8.decodeUnsafe(arena.data.dataStart + <usize>this.entries.get(e), <usize>this.entries.get(e + 1));
  }

  /** Ends building: `arena` holds the final bytes at the offsets used so far. */
  seal(arena: StaticArray<u8>): void {
    const entries = this.entries.finish();
    this.sealedEntries = entries;
    this.sealedArena = arena;
    this.entriesPtr = changetype<usize>(entries);
    this.arenaPtr = changetype<usize>(arena);
  }

  /** After seal(): address of the slot table (`slotMask + 1` i32s). */
  get slotsPtr(): usize {
    return changetype<usize>(this.slots);
  }

  /** After seal(): slot count minus one (a power of two minus one). */
  get slotMask(): u32 {
    return this.mask;
  }

  /** After seal(): bytes per entry. */
  get strideBytes(): i32 {
    return this.stride << 2;
  }

  /**
   * After seal(): address of the record (`width` i32 values) for `name`, or 0 when absent.
   * The address stays valid as long as this table lives.
   */
  lookup(name: Str): usize {
    if (this.count == 0) return 0;
    return lookupName(this.slotsPtr, this.mask, this.entriesPtr, this.stride << 2, this.arenaPtr, name.ptr, <i32>name.len);
  }
}

/**
 * The lookup itself, on a sealed table's addresses, so the hot path can call it without holding
 * a managed reference. Returns the record's address or 0.
 */
// @ts-ignore: decorator
@inline
export function lookupName(slots: usize, mask: u32, entries: usize, strideBytes: i32, arena: usize, p: usize, n: i32): usize {
  let s = hashBytes(p, n) & mask;
  while (true) {
    const v = load<i32>(slots + (<usize>s << 2));
    if (v == 0) return 0;
    const e = entries + <usize>(v - 1) * <usize>strideBytes;
    // Names up to 8 bytes: one masked word each (both have 8 readable bytes past their end: the
    // sealed arena, and a Str); longer ones 64 bytes per step.
    if (load<i32>(e, 4) == n) {
      const a = arena + <usize>load<i32>(e);
      if (n <= 8) {
        if (((load<u64>(a) ^ load<u64>(p)) & lowBytes(n)) == 0) return e + 8;
      } else if (eqBytesLong(a, p, n)) return e + 8;
    }
    s = (s + 1) & mask;
  }
}
