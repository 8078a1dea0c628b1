// The users the configuration names: one record per name, shared by password_file (its hash)
// and acl_file (its `topic` rules), found through an open-addressing hash table of record
// addresses (a power-of-two slot table, kept at most half full). Lookups never allocate; the
// hot path calls lookupUser() on the table's raw addresses. While a file is parsed the table is
// filled through findOrAddUser() on plain globals (pages.ts says why), between Users.begin() and
// Users.end().
import { Pages, allocRecord } from "./pages";
import { eqBytes, eqBytesLong, hashBytes, lowBytes } from "../../sdk/assembly/words";
import { Str } from "../../sdk/assembly";

/** One user. The name's bytes follow the record (at `USER_NAME`). */
@unmanaged
export class UserRecord {
  /** The decoded password_file hash (passwd.ts HashRecord), or 0 when password_file does not list the user. */
  hash: usize;
  /** First of the user's acl_file `topic` rules (an index in Acl's rule table; deny rules first). */
  ruleStart: i32;
  /** End of the user's rules; equal to ruleStart when acl_file gives the user none. */
  ruleEnd: i32;
  /** Length of the name in bytes. */
  nameLen: i32;
}

/** Offset of a UserRecord's name bytes. */
export const USER_NAME: usize = offsetof<UserRecord>();

// The table being filled.
let slots: usize = 0;
let mask: u32 = 0;
let count: i32 = 0;
let building: Users | null = null;

// Called through a variable: the table grows rarely (pages.ts, on cold paths).
let growCold = (): void => building!.grow();

/** The record of the `n` bytes at `p` in the table being filled, added (fields 0) when absent. */
export function findOrAddUser(p: usize, n: i32): UserRecord {
  let s = hashBytes(p, n) & mask;
  while (true) {
    const v = <usize>load<u32>(slots + (<usize>s << 2));
    if (v == 0) break;
    // Byte-exact compare: a name being parsed may end its buffer.
    if (changetype<UserRecord>(v).nameLen == n && eqBytes(v + USER_NAME, p, n)) return changetype<UserRecord>(v);
    s = (s + 1) & mask;
  }
  if ((count + 1) * 2 > <i32>mask + 1) {
    growCold();
    s = hashBytes(p, n) & mask;
    while (load<u32>(slots + (<usize>s << 2)) != 0) s = (s + 1) & mask;
  }
  const rec = allocRecord(<i32>USER_NAME + n);
  memory.copy(rec + USER_NAME, p, <usize>n);
  changetype<UserRecord>(rec).nameLen = n;
  store<u32>(slots + (<usize>s << 2), <u32>rec);
  count++;
  return changetype<UserRecord>(rec);
}

/** Name -> UserRecord. */
export class Users {
  private pages: Pages = new Pages();
  private slotArray: StaticArray<u32> = new StaticArray<u32>(8);
  /** Address of the slot table (`slotMask + 1` record addresses, 0 for empty), for lookupUser. */
  slotsPtr: usize = changetype<usize>(this.slotArray);
  /** Slot count minus one, for lookupUser. */
  slotMask: u32 = 7;
  /** Number of names. */
  count: i32 = 0;

  /** Guest memory the table takes: records (and whatever else its pages hold) and slots. */
  get bytes(): usize {
    return this.pages.reserved + (<usize>(this.slotMask + 1) << 2);
  }

  /** Makes findOrAddUser() and allocRecord() fill this table (until end()). */
  begin(): void {
    const b = building;
    if (b !== null && b !== this) b.end();
    building = this;
    slots = this.slotsPtr;
    mask = this.slotMask;
    count = this.count;
    this.pages.begin();
  }

  /** Ends filling: lookups see every name added since begin(). */
  end(): void {
    if (building !== this) return;
    this.slotsPtr = slots;
    this.slotMask = mask;
    this.count = count;
    building = null;
  }

  /** Doubles the slots of the table being filled. */
  grow(): void {
    const old = slots;
    const oldSlots = <i32>mask + 1;
    const next = new StaticArray<u32>(oldSlots << 1);
    this.slotArray = next;
    slots = changetype<usize>(next);
    mask = (mask << 1) | 1;
    for (let i = 0; i < oldSlots; i++) {
      const v = <usize>load<u32>(old + (<usize>i << 2));
      if (v == 0) continue;
      let s = hashBytes(v + USER_NAME, changetype<UserRecord>(v).nameLen) & mask;
      while (load<u32>(slots + (<usize>s << 2)) != 0) s = (s + 1) & mask;
      store<u32>(slots + (<usize>s << 2), <u32>v);
    }
  }

  /** Number of slots (for walking every record with atSlot). */
  get slotCount(): i32 {
    return <i32>this.slotMask + 1;
  }

  /** The record in slot `i`, or null. */
  atSlot(i: i32): UserRecord | null {
    return changetype<UserRecord | null>(<usize>load<u32>(this.slotsPtr + (<usize>i << 2)));
  }

  /** The record of `name`, or null (no allocation). */
  lookup(name: Str): UserRecord | null {
    return changetype<UserRecord | null>(lookupUser(this.slotsPtr, this.slotMask, name.ptr, <i32>name.len));
  }
}

// Whether record `rec` is named by the `n` bytes at `p`, a request's field (both have readable
// bytes past their end: pages.ts, and words.ts "Word loads past the end of a value").
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
