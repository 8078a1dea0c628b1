// Grants: what a client may read and write, decided once per client (docs/ABI.md, "Grants").
// A cacheable policy exports
//
//   export function wasm_auth_acl_grants(clientid: Str, username: Str | null): Grants | null
//
// and the host matches every READ and WRITE check of that client against the filters natively,
// without calling the policy. The grants must answer exactly as acl_check would.
import { Access } from "./constants";
import { Str } from "./str";

/** How a check that no grant decides is answered. */
export enum Fallback {
  /** Refuse it. */
  Deny = 0,
  /** Allow it. */
  Allow = 1,
  /** Let the next plugin decide. */
  Defer = 2,
  /** Call acl_check for it. */
  Ask = 3,
}

// Bytes of one entry in the ABI: filter offset, filter length, access, deny, tier.
const ENTRY_BYTES: i32 = 12;

/**
 * A client's grants, built with {@link allow}, {@link deny}, {@link nextTier} and
 * {@link otherwise}, and returned from `wasm_auth_acl_grants`. Within a tier, a matching deny
 * beats a matching allow; the first tier with a match for the access decides; when none does,
 * the fallback for that access does. SUBSCRIBE and UNSUBSCRIBE are only decided by their
 * fallback. Everything not set asks acl_check.
 */
@final
export class Grants {
  // The ABI descriptor: the host reads these four fields at the object's address, in this order.
  private count: u32 = 0;
  private fallbacks: u32 = 0x03030303;
  private entriesPtr: usize = 0;
  private bytesPtr: usize = 0;
  // The blocks behind the two pointers, kept reachable for the garbage collector.
  private entries: StaticArray<u8> = new StaticArray<u8>(ENTRY_BYTES * 8);
  private bytes: StaticArray<u8> = new StaticArray<u8>(256);
  private used: i32 = 0;
  private tier: u16 = 0;
  private tierUsed: bool = false;

  constructor() {
    this.entriesPtr = changetype<usize>(this.entries);
    this.bytesPtr = changetype<usize>(this.bytes);
  }

  /** Number of grants so far. */
  get length(): i32 {
    return <i32>this.count;
  }

  /** Grants `access` (Access.Read, Access.Write or both, or'ed) on topics matching `filter`. */
  allow(filter: string, access: i32): Grants {
    return this.addString(filter, access, false);
  }

  /** Refuses `access` on topics matching `filter`, whatever else this tier allows. */
  deny(filter: string, access: i32): Grants {
    return this.addString(filter, access, true);
  }

  /** {@link allow} or {@link deny} with the filter as `len` UTF-8 bytes at `ptr` (copied). */
  addBytes(ptr: usize, len: i32, access: i32, deny: bool): Grants {
    const at = this.reserve(len);
    memory.copy(this.bytesPtr + <usize>at, ptr, <usize>len);
    this.push(at, len, access, deny);
    return this;
  }

  /** {@link allow} or {@link deny} with the filter as a Str (copied). */
  addStr(filter: Str, access: i32, deny: bool): Grants {
    return this.addBytes(filter.ptr, <i32>filter.len, access, deny);
  }

  /** Later grants form the next tier: consulted only for checks no earlier tier matched. */
  nextTier(): Grants {
    // An empty tier changes nothing; past 65,535 tiers the rest share the last one.
    if (this.tierUsed && this.tier < 0xffff) {
      this.tier++;
      this.tierUsed = false;
    }
    return this;
  }

  /** How checks of `access` that no grant decides are answered (default: Fallback.Ask). */
  otherwise(access: Access, fallback: Fallback): Grants {
    let shift: u32;
    switch (access) {
      case Access.Read: shift = 0; break;
      case Access.Write: shift = 8; break;
      case Access.Subscribe: shift = 16; break;
      case Access.Unsubscribe: shift = 24; break;
      default: return this;
    }
    this.fallbacks = (this.fallbacks & ~(<u32>0xff << shift)) | (<u32>fallback << shift);
    return this;
  }

  private addString(filter: string, access: i32, deny: bool): Grants {
    const len = String.UTF8.byteLength(filter);
    const at = this.reserve(len);
    String.UTF8.encodeUnsafe(changetype<usize>(filter), filter.length, this.bytesPtr + <usize>at);
    this.push(at, len, access, deny);
    return this;
  }

  // Room for len more filter bytes; returns where they go.
  private reserve(len: i32): i32 {
    const at = this.used;
    if (at + len > this.bytes.length) {
      let cap = this.bytes.length * 2;
      while (cap < at + len) cap *= 2;
      const grown = new StaticArray<u8>(cap);
      memory.copy(changetype<usize>(grown), this.bytesPtr, <usize>at);
      this.bytes = grown;
      this.bytesPtr = changetype<usize>(grown);
    }
    this.used = at + len;
    return at;
  }

  private push(at: i32, len: i32, access: i32, deny: bool): void {
    const n = <i32>this.count;
    if ((n + 1) * ENTRY_BYTES > this.entries.length) {
      const grown = new StaticArray<u8>(this.entries.length * 2);
      memory.copy(changetype<usize>(grown), this.entriesPtr, <usize>(n * ENTRY_BYTES));
      this.entries = grown;
      this.entriesPtr = changetype<usize>(grown);
    }
    const e = this.entriesPtr + <usize>(n * ENTRY_BYTES);
    store<u32>(e, <u32>at);
    store<u32>(e, <u32>len, 4);
    store<u8>(e, <u8>(access & 3), 8);
    store<u8>(e, deny ? 1 : 0, 9);
    store<u16>(e, this.tier, 10);
    this.count = n + 1;
    this.tierUsed = true;
  }
}
