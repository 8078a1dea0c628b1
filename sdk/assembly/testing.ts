// Helpers for as-pect specs of policies: build the descriptors a host would pass to a hook.
// Everything here allocates blocks that are never freed; fine for tests, not for hot paths.
import { Str } from "./str";
import { Options } from "./options";

/** A Str holding the UTF-8 encoding of `s`. */
export function str(s: string): Str {
  return Str.fromString(s);
}

/** A Str holding the given bytes (e.g. a binary password). */
export function bytes(b: u8[]): Str {
  const a = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i++) a[i] = b[i];
  return Str.fromBytes(a);
}

/** An Options descriptor with `pairs` ([key, value] each) in order, laid out as the host does. */
export function options(pairs: string[][]): Options {
  const n = pairs.length;
  const block = heap.alloc(4 + <usize>n * 16);
  store<u32>(block, <u32>n);
  for (let i = 0; i < n; i++) {
    const pair = pairs[i];
    if (pair.length != 2) throw new Error("options(): each pair needs [key, value]");
    const k = Str.fromString(pair[0]);
    const v = Str.fromString(pair[1]);
    const e = block + 4 + <usize>i * 16;
    store<u32>(e, <u32>k.ptr);
    store<u32>(e, k.len, 4);
    store<u32>(e, <u32>v.ptr, 8);
    store<u32>(e, v.len, 12);
  }
  return changetype<Options>(block);
}
