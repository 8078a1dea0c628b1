// The users the configuration names: one record per name, shared by password_file (its hash)
// and acl_file (its `topic` rules), found through an open-addressing hash table of record
// addresses (a power-of-two slot table, kept at most half full). Lookups never allocate; the
// hot path calls lookupUser() on the table's raw addresses.
import { Pages } from "./pages";
import { eqBytes, eqBytesLong, hashBytes, lowBytes } from "./buf";
import { Str } from "../sdk/assembly";

/** One user. The name's bytes follow the record (at `USER_NAME`). */
@unmanaged
export class UserRecord {
  /** The decoded password_file hash (passwd.ts HashRecord), or 0 when password_file does not list the user. */
  hash: usize;
  /** First of the user's acl_file `topic` rules (an index in Acl's rule table; deny rules first). */
  ruleStart: i32;
  /** First of those rules that grants. */
  ruleAllow: i32;
  /** End of the user's rules; equal to ruleStart when acl_file gives the user none. */
  ruleEnd: i32;
  /** Length of the name in bytes. */
  nameLen: i32;
}

/** Offset of a UserRecord's name bytes. */
export const USER_NAME: usize = offsetof<UserRecord>();

/** Name -> UserRecord. */
export class Users {
  private pages: Pages = new Pages();
  private slots: StaticArray<u32> = new StaticArray<u32>(8);
  private mask: u32 = 7;
  /** Number of names. */
  count: i32 = 0;

  /** Address of the slot table (`slotMask + 1` record addresses, 0 for empty), for lookupUser. */
  get slotsPtr(): usize {
    return changetype<usize>(this.slots);
  }

  /** Slot count minus one, for lookupUser. */
  get slotMask(): u32 {
    return this.mask;
  }

  /** Guest memory the table takes: records and slots. */
  get bytes(): usize {
    return this.pages.reserved + (<usize>(this.mask + 1) << 2);
  }

  /** Number of slots (for walking every record with atSlot). */
  get slotCount(): i32 {
    return <i32>this.mask + 1;
  }

  /** The record in slot `i`, or null. */
  atSlot(i: i32): UserRecord | null {
    return changetype<UserRecord | null>(<usize>unchecked(this.slots[i]));
  }

  /** The record of the `n` bytes at `p`, or null. */
  find(p: usize, n: i32): UserRecord | null {
    return changetype<UserRecord | null>(load<u32>(this.slotsPtr + (<usize>this.probe(p, n) << 2)));
  }

  /** The record of the `n` bytes at `p`, added (all fields 0) when absent. */
  findOrAdd(p: usize, n: i32): UserRecord {
    let s = this.probe(p, n);
    const v = unchecked(this.slots[s]);
    if (v != 0) return changetype<UserRecord>(v);
    if ((this.count + 1) * 2 > <i32>this.mask + 1) {
      this.grow();
      s = this.probe(p, n);
    }
    const rec = this.pages.alloc(<i32>USER_NAME + n);
    memory.copy(rec + USER_NAME, p, <usize>n);
    changetype<UserRecord>(rec).nameLen = n;
    unchecked((this.slots[s] = <u32>rec));
    this.count++;
    return changetype<UserRecord>(rec);
  }

  /** The record of `name`, or null (hot path: no allocation). */
  lookup(name: Str): UserRecord | null {
    return changetype<UserRecord | null>(lookupUser(this.slotsPtr, this.mask, name.ptr, <i32>name.len));
  }

  // The slot holding the record of these bytes, or the empty slot where it would go.
  private probe(p: usize, n: i32): u32 {
    let s = hashBytes(p, n) & this.mask;
    while (true) {
      const v = unchecked(this.slots[s]);
      // Byte-exact compare: a name being parsed may end its buffer (sameName reads words past it).
      if (v == 0 || (changetype<UserRecord>(v).nameLen == n && eqBytes(<usize>v + USER_NAME, p, n))) return s;
      s = (s + 1) & this.mask;
    }
  }

  private grow(): void {
    const old = this.slots;
    const cap = (this.mask + 1) << 1;
    this.slots = new StaticArray<u32>(cap);
    this.mask = cap - 1;
    for (let i = 0; i < old.length; i++) {
      const v = unchecked(old[i]);
      if (v == 0) continue;
      let s = hashBytes(<usize>v + USER_NAME, changetype<UserRecord>(v).nameLen) & this.mask;
      while (unchecked(this.slots[s]) != 0) s = (s + 1) & this.mask;
      unchecked((this.slots[s] = v));
    }
  }
}

// Whether record `rec` is named by the `n` bytes at `p`, a request's field (both have readable
// bytes past their end: pages.ts, and buf.ts "Word loads past the end of a value").
// @ts-ignore: decorator
@inline
function sameName(rec: usize, p: usize, n: i32): bool {
  if (changetype<UserRecord>(rec).nameLen != n) return false;
  const a = rec + USER_NAME;
  if (n <= 8) return ((load<u64>(a) ^ load<u64>(p)) & lowBytes(n)) == 0;
  return eqBytesLong(a, p, n);
}

/**
 * The record (an address) of the `n` bytes at `p` in the table whose slots are at `slots`, or 0.
 * On raw addresses so the hot path can call it without holding a managed reference.
 */
// @ts-ignore: decorator
@inline
export function lookupUser(slots: usize, mask: u32, p: usize, n: i32): usize {
  let s = hashBytes(p, n) & mask;
  while (true) {
    const v = <usize>load<u32>(slots + (<usize>s << 2));
    if (v == 0) return 0;
    if (sameName(v, p, n)) return v;
    s = (s + 1) & mask;
  }
}
